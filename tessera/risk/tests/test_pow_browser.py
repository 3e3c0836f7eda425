"""Under attack, a fan in a real Chromium still joins the queue and holds seats: the pages
solve the proof of work (static/risk/pow.js) and say only "checking your browser"."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from tessera.accounts.tests.factories import make_user
from tessera.inventory.models import Hold, InventoryUnit
from tessera.inventory.tests.factories import make_sale
from tessera.risk import services
from tessera.risk.models import Action, RiskDecision, UsedProof
from tessera.waitingroom.models import QueueEntry
from tessera.waitingroom.tests.factories import make_room

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHECKOUT = re.compile(r"/checkout/([0-9a-f-]{36})/$")
PASSWORD = "pass-word-42"


def test_under_attack_a_fan_still_joins_and_holds(live_server, page, risk_on):
    # given an open room over one session, the room under attack (the organizer's switch),
    # and a fan whose browser is an ordinary one (Playwright's automation flag hidden: the
    # flag alone would score 60, "slowed")
    now = timezone.now()
    risk_on.RISK_POW_BITS = 12
    sale = make_sale(sections=1, rows=2, seats_per_row=6)
    room = make_room(sale=sale, now=now, opens_in_minutes=-1, rate_per_minute=6000)
    services.set_under_attack(actor=None, on=True, now=now, room=room)
    fan = make_user(username="fan", password=PASSWORD, date_joined=now - timedelta(days=60))
    page.add_init_script("Object.defineProperty(navigator, 'webdriver', {get: () => false})")
    answers: list[tuple[str, str, int]] = []
    page.on(
        "response", lambda r: answers.append((r.request.method, urlsplit(r.url).path, r.status))
    )
    page.goto(f"{live_server.url}/accounts/login/?next=/queue/{room.pk}/")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/queue/{room.pk}/")

    # when they join the queue
    page.click("#join-button")

    # then a "checking your browser" page solves the challenge and joins them
    page.wait_for_url(f"{live_server.url}/sessions/{sale.session.pk}/buy/", timeout=60_000)
    assert QueueEntry.objects.filter(room=room, user_id=fan.pk).count() == 1
    queue_posts = [a for a in answers if a[:2] == ("POST", f"/queue/{room.pk}/")]
    assert [a[2] for a in queue_posts] == [428, 302]

    # when they pick a seat on the map and hold it
    page.wait_for_selector("#seatmap[data-ready='1']")
    page.click(".sm-section[data-section='S1']")
    [a3] = sale.seat_units("S1", "A", [3])
    page.locator(f".sm-seat[data-unit='{a3.pk}']").click()
    page.click("#sm-hold")

    # then the hold is asked for a proof, pow.js solves it (in a worker) and the hold is made
    page.wait_for_url(CHECKOUT, timeout=60_000)
    hold_id = CHECKOUT.search(page.url).group(1)
    assert list(InventoryUnit.objects.filter(hold_id=hold_id).values_list("id", flat=True)) == [
        a3.pk
    ]
    assert Hold.objects.get(pk=hold_id).user == fan
    hold_posts = [a for a in answers if a[0] == "POST" and a[1].endswith("/seatmap/hold")]
    assert [a[2] for a in hold_posts] == [428, 201]
    assert any(a[1] == "/api/v1/risk/challenge" and a[2] == 200 for a in answers)
    # both proofs were spent; each request was first challenged, none refused
    assert UsedProof.objects.count() == 2
    assert not RiskDecision.objects.filter(action__in=[Action.REFUSE, Action.SLOW]).exists()


def test_the_production_difficulty_is_solved_in_about_a_second(live_server, page, artifacts_dir):
    # given the production base difficulty (RISK_POW_BITS 14: 16,384 hashes on average)
    page.goto(f"{live_server.url}/")
    # when the page's solver (a Web Worker, WebCrypto) solves eight fresh challenges
    timings = page.evaluate(
        """async () => {
          const { solve } = await import("/static/risk/pow.js");
          const out = [];
          for (let i = 0; i < 8; i++) {
            const started = performance.now();
            await solve(`bench-${i}-${Math.random()}`, 14);
            out.push(performance.now() - started);
          }
          return out;
        }"""
    )
    mean = sum(timings) / len(timings)
    (artifacts_dir / "pow-timings.txt").write_text(
        "ms per solve at 14 bits: "
        + ", ".join(f"{t:.0f}" for t in timings)
        + f"; mean {mean:.0f}\n"
    )
    # then a solve takes about a second on this machine's shared cores (a phone's is slower
    # per hash, hence the base of 14 bits and not more)
    assert mean < 3000, timings


@pytest.mark.parametrize(
    ("locale", "width"), [("zh-CN", 1366), ("zh-CN", 390), ("en-US", 1366), ("en-US", 390)]
)
def test_the_checking_page_on_any_screen(
    live_server, browser, artifacts_dir, risk_on, locale, width
):
    # given a room under attack whose proof is made slow on purpose (24 bits), so the page
    # that checks the browser stays on screen
    now = timezone.now()
    risk_on.RISK_POW_BITS = 24
    risk_on.RISK_POW_MAX_BITS = 24
    sale = make_sale(sections=1, rows=1, seats_per_row=4)
    room = make_room(sale=sale, now=now, opens_in_minutes=-1, rate_per_minute=6000)
    services.set_under_attack(actor=None, on=True, now=now, room=room)
    make_user(username="fan", password=PASSWORD, date_joined=now - timedelta(days=60))
    context = browser.new_context(
        locale=locale, viewport={"width": width, "height": 800}, is_mobile=width < 500
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/?next=/queue/{room.pk}/")
        page.fill("input[name=username]", "fan")
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/queue/{room.pk}/")
        # when they join
        page.click("#join-button")
        # then a short note says the browser is being checked, and nothing else
        note = page.locator("#risk-note")
        note.wait_for()
        english = locale.startswith("en")
        assert page.locator("main h1").inner_text() == (
            "Checking your browser" if english else "正在检查您的浏览器"
        )
        assert note.inner_text() == (
            "This takes a second or two. You keep your place."
            if english
            else "只需一两秒，您的位置会保留。"
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        tag = f"{'en' if english else 'zh-hans'}-{width}"
        page.screenshot(path=artifacts_dir / f"risk-checking-{tag}.png", full_page=True)
    finally:
        context.close()
