"""The help centre per organizer: its own entries on its page and in the bot's answers,
edited in the back office by that organizer only; Markdown shown without raw HTML."""

import pytest
from django.test import Client
from django.utils import timezone

from tessera.accounts.tests.factories import make_member, make_organization
from tessera.support import bot
from tessera.support.models import Conversation, FaqEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def organizer():
    return make_organization(slug="galaxy-live", name="银河演艺", name_en="Galaxy Live")


@pytest.fixture
def own_entry(organizer):
    return FaqEntry.objects.create(
        organization=organizer,
        slug="shuttle-bus",
        topic="parking",
        question="有接驳巴士吗？",
        question_en="Is there a shuttle bus?",
        answer="演出当天 **17:00** 起从地铁站发车。<script>alert(1)</script>",
        answer_en="On show days from **17:00** at the metro station. <script>alert(1)</script>",
        keywords="班车 接驳 shuttle bus",
    )


def test_the_organizers_page_shows_its_entries_first_and_no_raw_html(client, own_entry):
    page = client.get("/help/o/galaxy-live/", headers={"Accept-Language": "en"})
    text = page.content.decode()
    assert "Help: Galaxy Live" in text
    assert text.index("Is there a shuttle bus?") < text.index("Is there parking at the venue?")
    assert "On show days from <strong>17:00</strong> at the metro station." in text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert client.get("/help/o/no-such-organizer/").status_code == 404


def test_the_bot_uses_an_organizers_entries_only_in_its_context(own_entry, organizer):
    now = timezone.now()
    there = bot.answer("Is there a shuttle bus?", user=None, organization_id=organizer.pk, now=now)
    assert there.faq == own_entry
    elsewhere = bot.answer("Is there a shuttle bus?", user=None, organization_id=None, now=now)
    assert elsewhere.faq != own_entry


def test_an_unknown_organization_in_the_chat_is_ignored(client):
    answered = client.post(
        "/api/v1/support/messages",
        {"text": "停车", "organization": 999_999},
        content_type="application/json",
    )
    assert answered.status_code == 200
    assert Conversation.objects.get().organization_id is None


def test_organizers_edit_only_their_own_entries_in_the_back_office(own_entry, organizer):
    member = make_member(organization=organizer, is_staff=True)
    stranger = make_member(organization=make_organization(), is_staff=True)
    mine = Client()
    mine.force_login(member)
    listing = mine.get("/admin/support/faqentry/").content.decode()
    assert "有接驳巴士吗？" in listing
    assert "场馆有停车场吗？" not in listing  # platform entries are the platform's
    platform_entry = FaqEntry.objects.get(slug="parking", organization__isnull=True)
    assert mine.get(f"/admin/support/faqentry/{platform_entry.pk}/change/").status_code in (
        302,
        403,
        404,
    )

    other = Client()
    other.force_login(stranger)
    assert "有接驳巴士吗？" not in other.get("/admin/support/faqentry/").content.decode()
    assert other.get(f"/admin/support/faqentry/{own_entry.pk}/change/").status_code in (
        302,
        403,
        404,
    )


def test_an_agent_records_that_the_fan_asked_for_elder_friendly_help(own_entry, organizer):
    from tessera.inventory.tests.factories import make_buyer
    from tessera.support import services
    from tessera.support.models import SupportPreference

    fan = make_buyer()
    conversation, _asked, _answer = services.ask(
        conversation=None,
        user=fan,
        text="转人工",
        organization_id=organizer.pk,
        language="zh-hans",
        now=timezone.now(),
    )
    services.escalate(conversation=conversation, now=timezone.now())
    agent = make_member(organization=organizer, is_staff=True)
    inbox = Client()
    inbox.force_login(agent)
    url = f"/admin/support/conversation/{conversation.pk}/change/"
    assert (
        "The fan asked for elder-friendly help"
        in inbox.get(url, headers={"Accept-Language": "en"}).content.decode()
    )
    inbox.post(url, {"action": "assist"})
    assert SupportPreference.objects.get(user=fan).needs_assistance is True
    # a finance member reads but cannot change anything
    reader = make_member(organization=organizer, role="finance", is_staff=True)
    finance = Client()
    finance.force_login(reader)
    assert finance.post(url, {"action": "close"}).status_code == 403
    conversation.refresh_from_db()
    assert conversation.status == "waiting"
