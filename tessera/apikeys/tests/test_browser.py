"""A distributor's owner creates a key in the console, sees it once, reloads and finds only
its prefix, reads its call log and revokes it, in a real Chromium; screenshots of the key
pages at 1366 and 390 px, in Chinese and English (test-artifacts/ and /work/shots/apikeys/
when that folder can be written)."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone, translation

from tessera.apikeys import calls, services
from tessera.apikeys.tests.factories import make_partner
from tessera.sale import channels
from tessera.sale.models import ChannelKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
LOCALES = {"zh": "zh-CN", "en": "en-US"}
ALL = [("zh", "desktop"), ("zh", "phone"), ("en", "desktop"), ("en", "phone")]
SHOTS = Path("/work/shots/apikeys")


def text(language: str, message: str) -> str:
    with translation.override("zh-hans" if language == "zh" else "en"):
        return translation.gettext(message)


@pytest.fixture
def tab(browser):
    from conftest import watch_csp

    opened = []

    def open_tab(language: str, size: str):
        context = browser.new_context(locale=LOCALES[language], viewport=SIZES[size])
        context.set_default_timeout(15_000)
        page = context.new_page()
        opened.append((context, watch_csp(context, page)))
        return page

    yield open_tab
    for context, violations in opened:
        for page in context.pages:
            page.goto("about:blank")
        context.close()
        assert not violations, f"Content-Security-Policy violations: {violations}"


def _shots(artifacts_dir):
    folders = [artifacts_dir]
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
        folders.append(SHOTS)
    except OSError:
        pass

    def shoot(page, name):
        for folder in folders:
            page.screenshot(path=folder / f"{name}.png", full_page=True)

    return shoot


@pytest.mark.parametrize(("language", "size"), ALL)
def test_an_owner_creates_a_key_sees_it_once_and_revokes_it(
    live_server, tab, artifacts_dir, language, size
):
    # given a distributor with a sales channel, an older key and a sandbox world
    partner = make_partner(slug=f"dist-{language}-{size}", name="星河票务")
    now = timezone.now()
    services.create_sandbox(partner=partner.org, actor=partner.owner, now=now)
    old, _old_secret = services.create_key(
        partner=partner.org,
        name="Old ERP",
        scopes=["orders"],
        rate_limit_per_minute=60,
        expires_at=now + timedelta(days=90),
        actor=partner.owner,
        now=now - timedelta(days=3),
    )
    services.take_reveal(key=old, user=partner.owner, now=now)
    shoot = _shots(artifacts_dir)
    page = tab(language, size)
    keys_url = f"{live_server.url}/partners/keys/"

    # when the owner signs in and opens the keys page
    page.goto(f"{live_server.url}/accounts/login/?next=/partners/keys/")
    page.fill("input[name=username]", partner.owner.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/partners/keys/"))
    assert page.locator("#key-table tbody tr").count() == 1
    shoot(page, f"keys-{language}-{size}")

    # and creates a key with two scopes and a rate
    page.fill("#id_name", "Ticket shop")
    page.uncheck("input[name=scopes][value=refunds]")
    page.uncheck("input[name=scopes][value=webhooks]")
    page.fill("#id_rate_limit_per_minute", "120")
    page.fill("#id_expires_on", (now + timedelta(days=30)).date().isoformat())
    page.click("#create-key")

    # then the key is shown once
    page.wait_for_url(re.compile(r"/partners/keys/\d+/new/"))
    secret = page.inner_text("#key-secret").strip()
    row = ChannelKey.objects.get(name="Ticket shop")
    assert secret.startswith(f"tsk_{row.prefix}_")
    assert channels.authenticate(secret, now=timezone.now()).key_id == row.pk
    assert row.scopes == ["catalog:read", "availability", "orders"]
    assert row.rate_limit_per_minute == 120
    warning = text(
        language,
        "Copy this key now and keep it somewhere safe. It is shown only this once: "
        "we keep only a fingerprint of it.",
    )
    assert page.inner_text("#shown-once") == warning
    shoot(page, f"key-shown-{language}-{size}")

    # and after a reload only its prefix is left
    page.reload()
    assert page.locator("#key-secret").count() == 0
    assert page.locator("#already-shown").is_visible()
    assert secret not in page.content() and row.prefix in page.content()
    shoot(page, f"key-shown-again-{language}-{size}")

    # when the key has been used, its call log shows the calls and the errors
    principal = channels.authenticate(secret, now=timezone.now())
    for status, code in ((201, ""), (201, ""), (409, "places_unavailable"), (429, "rate_limited")):
        calls.record(principal, endpoint="/api/v1/channel/orders", status=status, code=code)
    calls.flush()
    page.goto(keys_url)
    row_line = page.locator(f"#key-{row.pk}")
    assert row.prefix in row_line.inner_text()
    shoot(page, f"keys-list-{language}-{size}")
    row_line.get_by_role("link").first.click()
    page.wait_for_url(re.compile(rf"/partners/keys/{row.pk}/calls/"))
    assert "places_unavailable" in page.inner_text("#key-errors")
    shoot(page, f"key-calls-{language}-{size}")
    page.goto(f"{live_server.url}/partners/calls/")
    assert page.locator(".key-log").count() == 2
    shoot(page, f"calls-{language}-{size}")

    # and when the owner revokes it, it stops working
    page.goto(keys_url)
    page.click(f"#key-{row.pk} [data-revoke]")
    page.wait_for_url(re.compile(r"/partners/keys/"))
    row.refresh_from_db()
    assert row.revoked_at is not None
    with pytest.raises(channels.ChannelKeyInvalid):
        channels.authenticate(secret, now=timezone.now())
    status = page.inner_text(f"#key-{row.pk} .key-status")
    assert status == text(language, "revoked")
    shoot(page, f"keys-revoked-{language}-{size}")
