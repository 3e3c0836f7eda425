"""The webhook pages in a real Chromium: a partner adds an endpoint, copies its secret, sends a
test ping and reads the delivery log. Screenshots at 1366 and 390 px, in Chinese and English
(``TESSERA_SHOTS_DIR``, default the test artifacts directory)."""

import os
from pathlib import Path

import pytest
from django.utils import translation

from tessera.accounts.models import OrganizationKind
from tessera.partners import signals
from tessera.webhooks import delivery
from tessera.webhooks.models import WebhookDelivery, WebhookEndpoint
from tessera.webhooks.tests.factories import make_partner

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
LOCALES = {"zh": "zh-CN", "en": "en-US"}


def text(language: str, message: str) -> str:
    with translation.override("zh-hans" if language == "zh" else "en"):
        return translation.gettext(message)


@pytest.fixture
def shots(artifacts_dir) -> Path:
    path = Path(os.environ.get("TESSERA_SHOTS_DIR") or artifacts_dir / "webhooks")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_partner_adds_an_endpoint_pings_it_and_reads_the_log(
    browser, live_server, receiver, shots, language
):
    from conftest import watch_csp

    org, user = make_partner(
        kind=OrganizationKind.DISTRIBUTOR, name="星河票务", name_en="Galaxy Tickets"
    )
    context = browser.new_context(locale=LOCALES[language], viewport=SIZES["desktop"])
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations = watch_csp(context, page)
    try:
        page.goto(f"{live_server.url}/accounts/login/?next=/partners/webhooks/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/partners/webhooks/")
        assert page.locator("#console-org").inner_text() == (
            "星河票务" if language == "zh" else "Galaxy Tickets"
        )

        page.fill("#endpoint-url", "https://10.0.0.5/hooks")
        page.click("#new-endpoint button[type=submit]")
        assert (
            text(language, "This URL cannot receive webhooks")
            in page.locator("#webhook-error").inner_text()
            or page.locator("#webhook-error").is_visible()
        )
        assert WebhookEndpoint.objects.count() == 0

        page.fill("#endpoint-url", receiver.url)
        page.fill("#endpoint-description", "ERP")
        page.click("#new-endpoint button[type=submit]")
        secret = page.locator("#webhook-secret").inner_text()
        endpoint = WebhookEndpoint.objects.get(organization=org)
        assert secret == bytes(endpoint.secret).decode()
        _shoot(page, shots, f"secret-{language}")

        page.click(f"a.button-primary:has-text('{text(language, 'Done')}')")
        assert secret not in page.content()
        # a few events: one answered at once, one failing once then answered
        receiver.fail_first = 1
        for n in (1, 2):
            signals.emit(
                kind="order.paid", organization_ids=[org.pk], payload={"n": n}, key=f"k{n}"
            )
        first = WebhookDelivery.objects.order_by("pk").first()
        delivery.deliver_due(now=first.next_attempt_at)
        page.reload()
        _shoot(page, shots, f"endpoints-{language}")

        page.click(f"text={text(language, 'Send a test ping')}")
        page.wait_for_url(f"**/partners/webhooks/{endpoint.pk}/deliveries/?org={org.pk}")
        assert receiver.requests[-1].headers["Tessera-Event"] == "ping"
        page.reload()
        assert page.locator("article.delivery").count() == 3
        assert "HTTP 500" in page.content() and "HTTP 200" in page.content()
        _shoot(page, shots, f"deliveries-{language}")

        page.goto(f"{live_server.url}/partners/webhooks/{endpoint.pk}/?org={org.pk}")
        _shoot(page, shots, f"edit-{language}")
    finally:
        page.goto("about:blank")
        context.close()
    assert not violations, f"Content-Security-Policy violations: {violations}"


def _shoot(page, shots: Path, name: str) -> None:
    page.set_viewport_size(SIZES["desktop"])
    page.screenshot(path=str(shots / f"{name}-1366.png"), full_page=True)
    page.set_viewport_size(SIZES["phone"])
    page.screenshot(path=str(shots / f"{name}-390.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{name}: {width} px wide at 390"
    page.set_viewport_size(SIZES["desktop"])
