"""The gate scanner in a real Chromium: the JS verifier against credentials made by the
Python code, and a device that signs in, goes offline, scans, comes back and syncs; the
organizer's live dashboard."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.checkin import selectors, services
from tessera.checkin.models import Presence, Scan
from tessera.checkin.tests.factories import make_gates
from tessera.checkin.tests.test_services import tampered
from tessera.tickets import credentials
from tessera.tickets import services as ticket_services
from tessera.tickets.tests.factories import NOW

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
JUDGE_ALL = """async ([bundle, cases]) => {
  const m = await import("/static/checkin/verify.js");
  const ctx = await m.buildContext(bundle);
  const out = [];
  for (const [text, nowMs] of cases) out.push((await m.judge(ctx, text, { nowMs })).reason);
  return out;
}"""


def ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def test_the_browser_verifier_agrees_with_the_python_one(live_server, page):
    # given tickets of a session with rotating codes (printed codes still allowed)
    g = make_gates(uses_rotating_codes=True, is_static_credential_allowed=True)
    at = datetime(2026, 12, 25, 10, 30, 5, tzinfo=UTC)
    valid, revoked_cred, third = g.credentials
    ticket_services.revoke_ticket(ticket=g.tickets[1], reason="refund", now=NOW)
    payload, _s, _b = credentials.decode(valid)
    other_key = credentials.sign(payload, Ed25519PrivateKey.generate())
    unknown = credentials.sign(
        credentials.Payload(**{**payload.__dict__, "key_id": 99_999}),
        Ed25519PrivateKey.generate(),
    )
    key = ticket_services.ticket_rotation_key(ticket=g.tickets[2], now=NOW)
    live = credentials.rotating_text(third, credentials.rotating_code(key, at, 30))
    until = ticket_services.credential_valid_until(g.session)
    cases = [
        (valid, at),
        (tampered(valid, 3), at),
        (tampered(valid, 90), at),
        (other_key, at),
        (unknown, at),
        (revoked_cred, at),
        (valid, NOW - timedelta(minutes=3)),
        (valid, until + timedelta(minutes=2)),
        (live, at),
        (live, at + timedelta(seconds=30)),
        (live, at + timedelta(seconds=61)),
        (live, at - timedelta(seconds=61)),
        (live[:-6] + "000000" if not live.endswith("000000") else live[:-6] + "111111", at),
        (valid[:-2], at),
        ("TS1:" + valid[5:], at),
        ("0000000001", at),  # the ticket number, typed by hand
        (" 0000 0000 01 ", at),
    ]
    expected = [
        "valid",
        "forged",
        "forged",
        "forged",
        "unknown_key",
        "revoked",
        "not_yet_valid",
        "expired",
        "valid",
        "valid",
        "code_expired",
        "code_expired",
        "code_expired",
        "malformed",
        "malformed",
        "ticket_number",
        "ticket_number",
    ]
    bundle = selectors.device_bundle(session=g.session, include_names=False, now=at)
    rules = services.load_rules(g.session)
    python = [
        services.judge_code(text, rules=rules, gate_id=None, direction="entry", now=when).reason
        for text, when in cases
    ]
    assert python == expected

    # when the scanner's module judges the same codes in Chromium (WebCrypto)
    page.goto(f"{live_server.url}/checkin/scanner/")
    browser = page.evaluate(
        JUDGE_ALL, [json.loads(json.dumps(bundle)), [[t, ms(w)] for t, w in cases]]
    )

    # then it gives exactly the same reasons
    assert browser == expected


def scan(page, code: str) -> str:
    """Type a code into the wedge input and press Enter, as a handheld scanner does."""
    n = page.evaluate("window.__scans = (window.__scans || 0) + 1")
    page.fill("#code", code)
    page.press("#code", "Enter")
    page.wait_for_function(
        "([n]) => document.getElementById('result').dataset.seq === String(n)", arg=[n]
    )
    return page.get_attribute("#result", "data-reason")


def test_a_device_scans_offline_and_syncs_then_the_dashboard_shows_it(
    live_server, page, artifacts_dir
):
    # given a session with two gates, three tickets and a registered device
    g = make_gates(tickets=3, names=["王小明", "Li Lei", "韩梅梅"])
    context = page.context
    page.goto(f"{live_server.url}/checkin/scanner/")

    # when the device signs in with its token and downloads the session with names
    page.fill("#token", g.token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#setup:not([hidden])")
    page.check("#names")
    page.click("#load")
    page.wait_for_selector("#scan:not([hidden])")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)") is True

    # and goes offline: the app shell comes from the service worker, data from IndexedDB
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#scan:not([hidden])")
    assert page.get_attribute("#net", "data-online") == "0"
    messages = json.loads(page.inner_text("#checkin-messages"))

    # then a valid code is green with the holder's name, a forged one and a second scan red
    assert scan(page, g.credentials[0]) == "valid"
    assert page.get_attribute("#result", "class") == "scan-result scan-result-ok"
    assert page.inner_text("#result-title") == messages["valid"]
    holder = messages["holder"].replace("%(name)s", "王小明")
    assert page.inner_text("#result-detail") == f"#{g.tickets[0].pk:010d} · {holder}"
    page.screenshot(path=artifacts_dir / "checkin-scanner-green.png", full_page=True)
    assert scan(page, tampered(g.credentials[1], 4)) == "forged"
    assert page.get_attribute("#result", "class") == "scan-result scan-result-bad"
    page.screenshot(path=artifacts_dir / "checkin-scanner-red.png", full_page=True)
    assert scan(page, g.credentials[0]) == "already_entered"
    assert page.inner_text("#result-title") == messages["already_entered"]
    assert page.get_attribute("#queued", "data-count") == "3"
    assert Scan.objects.count() == 0

    # when it comes back online, the queue syncs by itself
    context.set_offline(False)
    page.wait_for_selector("#notice[data-synced='1']")
    assert page.get_attribute("#queued", "data-count") == "0"
    reasons = sorted(Scan.objects.values_list("reason", "is_accepted", "counted", "is_offline"))
    assert reasons == [
        ("already_entered", False, False, True),
        ("forged", False, False, True),
        ("valid", True, True, True),
    ]
    assert list(Presence.objects.filter(is_inside=True).values_list("ticket_id", flat=True)) == [
        g.tickets[0].pk
    ]

    # and an online scan is judged by the server: the synced entry counts there too
    assert scan(page, g.credentials[0]) == "already_entered"
    assert scan(page, g.credentials[1]) == "valid"
    assert Scan.objects.filter(is_offline=False, counted=True).count() == 1

    # a refund reaches the device with its next sync: offline, the old code is refused
    ticket_services.revoke_ticket(ticket=g.tickets[2], reason="refund", now=NOW)
    page.evaluate("delete document.getElementById('notice').dataset.synced")
    page.click("#sync")
    page.wait_for_selector("#notice[data-synced='1']")
    context.set_offline(True)
    assert scan(page, g.credentials[2]) == "revoked"
    page.evaluate("delete document.getElementById('notice').dataset.synced")
    context.set_offline(False)
    page.wait_for_selector("#notice[data-synced='1']")
    assert Scan.objects.get(reason="revoked").is_accepted is False

    # the organizer's dashboard shows the entries per gate and the people inside
    make_member(
        organization=g.session.event.organization,
        role=Role.MANAGER,
        username="boss",
        password=PASSWORD,
        is_staff=True,
    )
    page.goto(f"{live_server.url}/accounts/login/?next=/checkin/sessions/{g.session.pk}/dashboard/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector("body[data-dashboard-loaded='1']")
    assert page.inner_text("#dash-inside") == "2"
    assert page.inner_text("#dash-entered") == "2 / 2"  # of the valid tickets
    assert page.get_attribute(f"[data-gate='{g.north.pk}']", "data-total") == "2"
    page.screenshot(path=artifacts_dir / "checkin-dashboard.png", full_page=True)


def test_the_fan_sees_a_live_code_that_follows_the_time_steps(live_server, page, artifacts_dir):
    # given a ticket of a session whose gates take only live codes
    g = make_gates(uses_rotating_codes=True, is_static_credential_allowed=False, tickets=1)
    fan = g.tickets[0].order_line.order.user
    fan.set_password(PASSWORD)
    fan.save()
    path = f"/tickets/{g.tickets[0].public_id}/"

    # when the fan opens the ticket page
    page.goto(f"{live_server.url}/accounts/login/?next={path}")
    page.fill("input[name=username]", fan.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{path}")

    # then the page shows the frame of the current time step and offers no printable copy
    page.wait_for_selector("#ticket-qr[data-from] svg")
    start = page.get_attribute("#ticket-qr", "data-from")
    now_ms = page.evaluate("Date.now()")
    step_ms = 30_000
    assert ms(datetime.fromisoformat(start)) == now_ms // step_ms * step_ms or (
        ms(datetime.fromisoformat(start)) == (now_ms // step_ms - 1) * step_ms
    )
    assert page.locator("#ticket-no-print").count() == 1
    assert page.locator("a[href*='/pdf']").count() == 0
    page.screenshot(path=artifacts_dir / "checkin-live-ticket.png", full_page=True)

    # and the camera path reads that live code (jsQR from npm) and the scanner admits it,
    # while the static code of the same ticket is refused for this session
    png = page.locator("#ticket-qr svg").screenshot()
    bundle = selectors.device_bundle(session=g.session, include_names=False, now=NOW)
    page.goto(f"{live_server.url}/checkin/scanner/")
    page.add_script_tag(url="/checkin/vendor/jsqr.js")
    reasons = page.evaluate(
        """async ([png, bundle, staticCode]) => {
          const img = new Image();
          img.src = "data:image/png;base64," + png;
          await img.decode();
          const pad = 40, canvas = document.createElement("canvas");
          canvas.width = img.width + 2 * pad; canvas.height = img.height + 2 * pad;
          const g = canvas.getContext("2d");
          g.fillStyle = "#fff"; g.fillRect(0, 0, canvas.width, canvas.height);
          g.drawImage(img, pad, pad);
          const found = jsQR(g.getImageData(0, 0, canvas.width, canvas.height).data,
                             canvas.width, canvas.height);
          const m = await import("/static/checkin/verify.js");
          const ctx = await m.buildContext(bundle);
          return [found.data.slice(0, 4), (await m.judge(ctx, found.data)).reason,
                  (await m.judge(ctx, staticCode)).reason];
        }""",
        [base64.b64encode(png).decode(), json.loads(json.dumps(bundle)), g.credentials[0]],
    )
    assert reasons == ["TR1:", "valid", "static_not_allowed"]
