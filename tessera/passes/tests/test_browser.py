"""Passes in a real Chromium: a fan buys a pass, pays at the sandbox cashier and sees the
pass with its sessions, seats and QR code; the gate scanner's verifier (verify.js) judges
pass codes exactly as the Python one does; screenshots of the pass pages at 1366 and 390
pixels in both languages (see the root conftest.py)."""

import json
import re
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone, translation

from tessera.accounts.tests.factories import make_user
from tessera.checkin import selectors as checkin_selectors
from tessera.checkin import services as checkin
from tessera.checkin.models import Scan
from tessera.passes import selectors, services
from tessera.passes.models import Pass, PassStatus
from tessera.passes.tests.factories import buy_and_pay, make_league
from tessera.tickets import pass_credentials

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
JUDGE_ALL = """async ([bundle, cases]) => {
  const m = await import("/static/checkin/verify.js");
  const ctx = await m.buildContext(bundle);
  const out = [];
  for (const [text, nowMs] of cases) out.push((await m.judge(ctx, text, { nowMs })).reason);
  return out;
}"""


def sign_in(page, base: str, next_path: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}{next_path}")


def test_a_fan_buys_a_pass_pays_and_sees_its_qr_and_sessions(
    live_server, page, artifacts_dir, settings
):
    # given a season ticket over three matches at three venues, on sale now (the sandbox
    # cashier served by this live server)
    settings.TESSERA_PUBLIC_URL = live_server.url
    league = make_league(matches=3, now=timezone.now())
    fan = make_user(username="wangxiaoming", password=PASSWORD, display_name="王小明")
    base = live_server.url

    # when the fan opens the passes, chooses the pass and buys it
    sign_in(page, base, "/passes/", fan.username)
    page.locator(f"a[href='/passes/{league.product.pk}/']").first.click()
    page.wait_for_selector("#buy-form")
    page.fill("#holder_name", "王小明")
    page.click("#buy-button")

    # and pays at the sandbox cashier
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    page.locator("button[value=pay]").click()
    page.wait_for_url(re.compile(r"/orders/"))
    page.wait_for_selector("#order-status")
    page.screenshot(path=artifacts_dir / "pass-order-zh.png", full_page=True)

    # then the order page says it is a pass and leads to it; the pass is active, and its
    # page shows the three sessions with their seats and the QR code
    sold = Pass.objects.get(user=fan)
    assert sold.status == PassStatus.ACTIVE
    page.locator("#order-pass a").click()
    page.wait_for_url(f"{base}/passes/mine/{sold.pk}/")
    page.wait_for_selector("#pass-qr svg")
    rows = page.locator("#pass-sessions li")
    assert rows.count() == 3
    places = page.locator(".pass-place").all_inner_texts()
    for entry, text in zip(sold.entries.all(), places, strict=True):
        assert entry.order_line.place_label in text
    assert page.locator("#pass-status").inner_text() == "有效"
    page.screenshot(path=artifacts_dir / "pass-bought-zh.png", full_page=True)

    # and releasing the first match takes it off the QR code
    page.locator("#pass-sessions li").first.locator("button").click()
    page.wait_for_selector(".site-messages")
    assert "已释放" in page.locator("#pass-sessions li").first.inner_text()
    fresh = selectors.pass_credential(selectors.get_pass(user=fan, pass_id=sold.pk))
    assert sorted(pass_credentials.sessions_of(fresh)) == sorted(s.pk for s in league.sessions[1:])


def ms(value) -> int:
    return int(value.timestamp() * 1000)


def test_the_browser_verifier_judges_pass_codes_as_the_python_one(live_server, page):
    # given a paid pass over two matches, the first one released afterwards (its old code
    # is revoked there), a forged and a malformed code
    now = timezone.now()
    league = make_league(matches=3, now=now)
    sold, text = buy_and_pay(league, now=now)
    payload, _sig, _signed = pass_credentials.decode(text)
    forged = pass_credentials.sign(payload, Ed25519PrivateKey.generate())
    services.release_match(
        pass_id=sold.pk, session_id=league.sessions[0].pk, user=sold.user, now=now
    )
    fresh = selectors.pass_credential(selectors.get_pass(user=sold.user, pass_id=sold.pk))
    at_gate = league.sessions[0].starts_at - timedelta(hours=1)
    cases = [text, fresh, forged, text[:-2], "TP1:" + text[6:]]
    page.goto(f"{live_server.url}/checkin/scanner/")
    for session, expected in [
        (league.sessions[0], ["revoked", "wrong_session", "forged", "malformed", "malformed"]),
        (league.sessions[1], ["valid", "valid", "forged", "malformed", "malformed"]),
        (league.outsider.session, ["unknown_key"] * 3 + ["malformed"] * 2),
    ]:
        rules = checkin.load_rules(session)
        python = [
            checkin.judge_code(c, rules=rules, gate_id=None, direction="entry", now=at_gate).reason
            for c in cases
        ]
        bundle = checkin_selectors.device_bundle(session=session, include_names=False, now=now)
        browser = page.evaluate(
            JUDGE_ALL, [json.loads(json.dumps(bundle)), [[c, ms(at_gate)] for c in cases]]
        )
        assert python == expected
        assert browser == expected


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("width", [1366, 390])
def test_pass_pages_fit_and_are_captured(live_server, browser, artifacts_dir, language, width):
    now = timezone.now()
    league = make_league(matches=3, now=now)
    fan = make_user(username=f"fan-{width}-{language}", password=PASSWORD, display_name="Li Lei")
    sold, _text = buy_and_pay(league, user=fan, now=now)
    services.release_match(pass_id=sold.pk, session_id=league.sessions[0].pk, user=fan, now=now)
    context = browser.new_context(
        locale="zh-CN" if language == "zh-hans" else "en-US",
        viewport={"width": width, "height": 900},
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        base = live_server.url
        sign_in(tab, base, "/passes/", fan.username)
        for name, path in [
            ("list", "/passes/"),
            ("product", f"/passes/{league.product.pk}/"),
            ("pass", f"/passes/mine/{sold.pk}/"),
        ]:
            tab.goto(base + path)
            overflow = tab.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} overflows by {overflow}px at {width}px"
            tab.screenshot(
                path=artifacts_dir / f"pass-{name}-{width}-{language}.png", full_page=True
            )
    finally:
        context.close()


def scan(page, code: str) -> str:
    """Type a code into the wedge input and press Enter, as a handheld scanner does."""
    n = page.evaluate("window.__scans = (window.__scans || 0) + 1")
    page.fill("#code", code)
    page.press("#code", "Enter")
    page.wait_for_function(
        "([n]) => document.getElementById('result').dataset.seq === String(n)", arg=[n]
    )
    return page.get_attribute("#result", "data-reason")


def test_an_offline_gate_phone_admits_the_pass_for_its_session_with_the_seat(
    live_server, page, artifacts_dir
):
    # given a paid pass over three matches and a gate phone of the organizer
    now = timezone.now()
    league = make_league(matches=3, now=now)
    sold, text = buy_and_pay(league, now=now)
    second = league.sessions[1]
    entry = sold.entries.get(session=second)
    _device, token = checkin.register_device(
        organization=league.organization, name="Gate phone", now=now
    )

    # when the phone downloads the second match and goes offline
    page.goto(f"{live_server.url}/checkin/scanner/")
    page.fill("#token", token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#setup:not([hidden])")
    page.select_option("#session", str(second.pk))
    page.click("#load")
    page.wait_for_selector("#scan:not([hidden])")
    page.context.set_offline(True)

    # then the pass is admitted there, showing its seat for that match, and only once
    assert scan(page, text) == "valid"
    with translation.override("zh-hans"):
        place = checkin.place_text(
            section=entry.order_line.section_name,
            row=entry.order_line.row_label,
            seat=entry.order_line.seat_label,
        )
    assert page.inner_text("#result-place") == place
    page.screenshot(path=artifacts_dir / "pass-scanner-valid.png", full_page=True)
    assert scan(page, text) == "already_entered"

    # and back online, the scans sync and the server counts the entry for that ticket
    page.context.set_offline(False)
    page.wait_for_selector("#notice[data-synced='1']")
    assert list(Scan.objects.filter(counted=True).values_list("session_id", "ticket_id")) == [
        (second.pk, entry.ticket_id)
    ]


def test_a_holder_returns_the_whole_pass_on_its_page(live_server, page, artifacts_dir):
    now = timezone.now()
    league = make_league(matches=2, price="300.00", now=now)
    league.product.return_fee_percent = 10
    league.product.save()
    fan = make_user(username="returning-fan", password=PASSWORD, display_name="Han Meimei")
    sold, _text = buy_and_pay(league, user=fan, now=now)
    base = live_server.url
    sign_in(page, base, f"/passes/mine/{sold.pk}/", fan.username)
    assert "¥270.00" in page.inner_text("#pass-return")
    page.check("#return-confirm")
    page.click("#return-button")
    page.wait_for_selector(".site-messages")
    assert "¥270.00" in page.inner_text(".site-messages")
    page.screenshot(path=artifacts_dir / "pass-returned.png", full_page=True)
    sold.refresh_from_db()
    assert sold.status == PassStatus.CANCELLED
    assert page.locator("#pass-qr").count() == 0
    assert page.locator("#pass-return").count() == 0
