"""The help chat, the large text mode and the accessibility check in a real Chromium."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import watch_csp
from tessera.accounts.tests.factories import make_member
from tessera.aftersales.tests.factories import bought
from tessera.catalog import services as catalog
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.support import services
from tessera.support.models import Conversation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"


def sign_in(page, base: str, next_path: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}{next_path}")


@pytest.fixture
def sale():
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=6, starts_at=now + timedelta(days=30))
    catalog.set_policy(
        event=sale.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        tiers=[(168, 10), (0, 20)],
    )
    return sale


def test_a_fan_asks_about_a_refund_and_a_person_answers(live_server, page, sale, artifacts_dir):
    # given a fan with a paid order of two tickets of 380
    now = timezone.now()
    fan = make_buyer()
    fan.set_password(PASSWORD)
    fan.save()
    order = bought(sale, fan, [1, 2], now)
    base = live_server.url
    sign_in(page, base, "/help/", fan.username)

    # when the fan opens the help window and asks, with the keyboard only
    page.click("#support-open")
    page.keyboard.type("我的订单能退吗？手续费多少")
    page.keyboard.press("Enter")
    bot = page.locator(".support-msg.from-bot").nth(1)
    bot.wait_for()
    # then the bot quotes the fee of the fan's own order
    assert order.number in bot.inner_text()
    assert "¥76.00" in bot.inner_text() and "¥684.00" in bot.inner_text()

    # when they ask for a person, an agent of the organizer answers in the back office
    page.click("#support-person")
    page.wait_for_selector("#support-status:has-text('…')")
    conversation = Conversation.objects.get(user=fan)
    assert conversation.organization_id == sale.session.event.organization_id
    agent = make_member(organization=sale.session.event.organization, is_staff=True)
    services.reply_as_agent(
        conversation=conversation,
        agent=agent,
        text="您好，我是客服小王，可以退。",
        now=timezone.now(),
    )
    # then the reply appears in the open window without a reload
    page.wait_for_selector(".support-msg.from-agent:has-text('客服小王')", timeout=10_000)
    page.screenshot(path=artifacts_dir / "support-handoff-1366-zh.png", full_page=False)

    # and after the agent closes it, the fan rates the help
    services.close(conversation=conversation, actor=agent, now=timezone.now())
    page.wait_for_selector("#support-rate:not([hidden])", timeout=10_000)
    page.click("#support-rate button[data-rating='5']")
    page.wait_for_function("() => document.getElementById('support-rate').hidden")
    conversation.refresh_from_db()
    assert conversation.rating == 5


def test_large_text_mode_on_the_buy_page_at_phone_width(
    live_server, phone_page, sale, artifacts_dir
):
    fan = make_buyer()
    fan.set_password(PASSWORD)
    fan.save()
    base = live_server.url
    buy = f"/sessions/{sale.session.pk}/buy/"
    sign_in(phone_page, base, buy, fan.username)
    assert phone_page.locator(".buy-form").count() == 0  # the seat map's page

    phone_page.click(".large-text-button")
    phone_page.wait_for_selector("html.large-text")
    # the simple buy: price zones and a number, best places chosen; big controls, no overflow
    phone_page.wait_for_selector(".buy-form input[name=zone]")
    assert phone_page.locator("input[name=mode][type=hidden]").input_value() == "best"
    assert phone_page.locator("input[name=seats]").count() == 0
    size = phone_page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 20
    height = phone_page.locator("#hold-button").bounding_box()["height"]
    assert height >= 48
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    phone_page.screenshot(path=artifacts_dir / "support-large-text-buy-390-zh.png", full_page=True)

    # the choice holds for the account: a new device of the same fan starts in large text
    phone_page.locator(".buy-form input[name=zone]").first.check()
    phone_page.click("#hold-button")
    phone_page.wait_for_url(f"{base}/checkout/**")
    assert phone_page.locator("html.large-text").count() == 1


def _axe(context, url: str) -> list[dict]:
    tab = context.new_page()
    tab.goto(url)
    tab.add_script_tag(path=str(AXE))
    found = tab.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
              .filter(v => v.impact === "serious" || v.impact === "critical")
              .map(v => ({
                id: v.id,
                impact: v.impact,
                nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
              }));
        }"""
    )
    tab.close()
    return found


@pytest.mark.parametrize("large_text", [False, True])
def test_the_main_fan_pages_pass_axe_core(live_server, browser, sale, large_text):
    # axe's own script cannot carry the page's nonce: this context alone bypasses the CSP
    # (the other browser tests keep checking it)
    fan = make_buyer()
    fan.set_password(PASSWORD)
    fan.save()
    now = timezone.now()
    order = bought(sale, fan, [3], now)
    base = live_server.url
    context = browser.new_context(
        locale="zh-CN", bypass_csp=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    try:
        if large_text:
            context.add_cookies([{"name": "tessera_large_text", "value": "1", "url": base}])
        anonymous = [
            "/",
            "/calendar/",
            "/search/",
            f"/events/{sale.session.event.slug}/",
            "/help/",
            "/accounts/login/",
        ]
        problems = {path: _axe(context, base + path) for path in anonymous}
        sign_in(context.new_page(), base, "/orders/", fan.username)
        for path in [f"/sessions/{sale.session.pk}/buy/", "/orders/", f"/orders/{order.number}/"]:
            problems[path] = _axe(context, base + path)
    finally:
        context.close()
    found = {path: found for path, found in problems.items() if found}
    assert found == {}, json.dumps(found, indent=1)


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
@pytest.mark.parametrize("width", [1366, 390])
def test_the_help_centre_and_chat_fit_the_screen(
    live_server, browser, locale, width, artifacts_dir
):
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 860})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    violations = watch_csp(context, tab)
    try:
        tab.goto(f"{live_server.url}/help/?q=parking")
        tab.wait_for_selector(".help-results details[open]")
        # the chat: opened by keyboard, answered, and inside the screen
        tab.focus("#support-open")
        tab.keyboard.press("Enter")
        tab.keyboard.type("停车场在哪" if locale == "zh-CN" else "Where can I park?")
        tab.keyboard.press("Enter")
        answer = tab.locator(".support-msg.from-bot").nth(1)
        answer.wait_for()
        assert "停车" in answer.inner_text() or "parking" in answer.inner_text()
        box = tab.locator("#support-panel").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
        lang = "zh" if locale == "zh-CN" else "en"
        tab.screenshot(path=artifacts_dir / f"support-help-{width}-{lang}.png", full_page=False)
        tab.keyboard.press("Escape")
        assert tab.locator("#support-panel").is_hidden()
        assert tab.evaluate("document.activeElement.id") == "support-open"
    finally:
        context.close()
    assert not violations, violations
