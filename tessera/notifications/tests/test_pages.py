"""The inbox with its unread count in the header, the choice of channels, the one-click
unsubscribe, and the organizer's announcement pages in the back office."""

import pytest
from django.db import transaction
from django.test import Client

from tessera.accounts.tests.factories import make_member, make_organization
from tessera.notifications import services
from tessera.notifications.models import Announcement, Message, Preference
from tessera.notifications.tests.factories import NOW, make_fan_with_tickets

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_wake(settings):
    settings.NOTIFICATIONS_WAKE_WORKER = False


def _client(user, language="zh-hans"):
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def _notify(setup, key, kind="session_postponed"):
    with transaction.atomic():
        services.notify(setup.fan, kind, {"session": setup.session.pk}, key=key, now=NOW)


def test_the_inbox_lists_messages_counts_unread_and_marks_them_read():
    setup = make_fan_with_tickets()
    _notify(setup, "a")
    _notify(setup, "b", kind="reminder_24h")
    client = _client(setup.fan)
    page = client.get("/messages/").content.decode()
    assert 'data-unread="2"' in page
    assert "2 条未读消息。" in page
    assert "延期：星光演唱会" in page and "明天：星光演唱会" in page
    assert "地铁2号线星光路站3号口" in page  # the reminder's match-day guide
    first = Message.objects.get(key="a:inbox")
    client.post("/messages/read/", {"message": str(first.pk)})
    assert services.unread_count(setup.fan) == 1
    assert 'data-unread="1"' in client.get("/").content.decode()
    # another person's message id changes nothing; junk ids are ignored
    other = make_fan_with_tickets()
    _notify(other, "c")
    client.post(
        "/messages/read/",
        {"message": [str(Message.objects.get(key="c:inbox").pk), "x\x00", "9" * 40]},
    )
    assert services.unread_count(other.fan) == 1
    client.post("/messages/read/")
    assert services.unread_count(setup.fan) == 0
    assert "data-unread" not in client.get("/messages/").content.decode()


def test_the_inbox_needs_a_signed_in_person():
    answer = Client().get("/messages/")
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")


def test_preferences_are_saved_and_decide_the_channels():
    setup = make_fan_with_tickets()
    client = _client(setup.fan, "en")
    page = client.get("/messages/preferences/").content.decode()
    assert "Always on: this is where your tickets and password links go." in page
    client.post("/messages/preferences/", {"sms_enabled": "on", "marketing_sms": "on"})
    preference = Preference.objects.get(user=setup.fan)
    assert (preference.sms_enabled, preference.marketing_email, preference.marketing_sms) == (
        True,
        False,
        True,
    )
    assert services.channels_for(setup.fan, is_marketing=True) == ["inbox", "sms"]


def test_one_click_unsubscribe_stops_marketing_only():
    setup = make_fan_with_tickets()
    token = services.unsubscribe_token(setup.fan)
    client = Client()
    client.cookies["django_language"] = "en"
    confirm = client.get(f"/messages/unsubscribe/{token}/").content.decode()
    assert "Stop sending me news and offers" in confirm
    assert not Preference.objects.filter(user=setup.fan).exists()  # a GET changes nothing
    done = client.post(f"/messages/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "you will get no more news or offers" in done.content.decode()
    assert services.channels_for(setup.fan, is_marketing=True) == ["inbox"]
    assert services.channels_for(setup.fan, is_marketing=False) == ["inbox", "email"]


def test_a_forged_unsubscribe_link_is_refused_and_changes_nothing():
    setup = make_fan_with_tickets()
    client = Client()
    client.cookies["django_language"] = "en"
    for token in ["x", services.unsubscribe_token(setup.fan)[:-2] + "zz", "a\x00b"]:
        answer = client.post(f"/messages/unsubscribe/{token}/")
        assert answer.status_code in (400, 404)
    assert not Preference.objects.exists()


def test_the_organizer_previews_and_sends_an_announcement_and_others_cannot_see_it(
    django_capture_on_commit_callbacks,
):
    setup = make_fan_with_tickets()
    organization = setup.session.event.organization
    owner = make_member(organization=organization)
    stranger = make_member(organization=make_organization())
    announcement = Announcement.objects.create(
        session=setup.session, subject="入场提示", body="请提前一小时到场。", created_at=NOW
    )
    client = _client(owner)
    preview = client.get(f"/admin/notifications/announcement/{announcement.pk}/preview/")
    assert preview.status_code == 200
    text = preview.content.decode()
    assert "入场提示" in text and "1 位持票人将收到。" in text
    outsider = _client(stranger)
    assert (
        outsider.get(f"/admin/notifications/announcement/{announcement.pk}/preview/").status_code
        == 404
    )
    assert (
        outsider.post(f"/admin/notifications/announcement/{announcement.pk}/send/").status_code
        == 404
    )
    assert Announcement.objects.get().status == "draft"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/notifications/announcement/{announcement.pk}/send/")
    announcement.refresh_from_db()
    # the tests' task backend runs the fan-out at once
    assert (announcement.status, announcement.done, announcement.total) == ("done", 1, 1)
    change = client.get(
        f"/admin/notifications/announcement/{announcement.pk}/change/"
    ).content.decode()
    assert 'id="announcement-progress"' in change and "1 / 1" in change.replace(
        "已记录 1 / 1", "1 / 1"
    )


def test_the_outbox_is_for_platform_operators_and_never_shows_a_reset_link():
    from tessera.accounts.tests.factories import make_user

    setup = make_fan_with_tickets()
    with transaction.atomic():
        services.notify(
            setup.fan,
            "password_reset",
            {"path": "/accounts/reset/MQ/secret-token/"},
            key="reset",
            now=NOW,
            channels=["email"],
        )
    message = Message.objects.get(kind="password_reset")
    operator = make_user(is_staff=True, is_superuser=True)
    page = _client(operator, "en").get(f"/admin/notifications/message/{message.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "wang@example.com" in text and "secret-token" not in text
    organizer = make_member(organization=setup.session.event.organization)
    assert _client(organizer).get("/admin/notifications/message/").status_code == 403
