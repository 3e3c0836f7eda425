"""The outbox: messages recorded with the change that causes them, once per key, on the
channels the person chose; delivered by the worker exactly once even when it dies between
sending and marking."""

from datetime import timedelta

import pytest
from django.db import transaction

from tessera.notifications import delivery, services
from tessera.notifications.errors import NoRecipient, UnknownKind
from tessera.notifications.models import (
    AttemptOutcome,
    DeliveryAttempt,
    Message,
    MessageStatus,
    SmsSandboxRecord,
)
from tessera.notifications.providers import SandboxSmsProvider, SendResult
from tessera.notifications.tests.factories import NOW, make_fan_with_tickets

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_wake(settings):
    settings.NOTIFICATIONS_WAKE_WORKER = False
    settings.NOTIFICATIONS_SMS_PROVIDER = "sandbox"


@pytest.fixture
def fan_with_sms():
    setup = make_fan_with_tickets()
    services.set_preferences(
        user=setup.fan, sms_enabled=True, marketing_email=True, marketing_sms=False, now=NOW
    )
    return setup


def _notify(setup, key="k1", **kwargs):
    return services.notify(
        setup.fan,
        "session_postponed",
        {"session": setup.session.pk, "note": "因天气原因"},
        key=key,
        now=NOW,
        **kwargs,
    )


def test_a_message_of_a_rolled_back_change_is_never_recorded_nor_sent(fan_with_sms):
    with pytest.raises(RuntimeError), transaction.atomic():
        _notify(fan_with_sms)
        assert Message.objects.count() == 3
        raise RuntimeError("the change fails")
    assert Message.objects.count() == 0
    outcome = delivery.deliver_due(now=NOW + timedelta(minutes=1))
    assert outcome.as_dict() == {"sent": 0, "already_sent": 0, "failed": 0, "retrying": 0}
    assert SmsSandboxRecord.objects.count() == 0


def test_the_same_event_recorded_twice_is_one_message_per_channel(fan_with_sms):
    with transaction.atomic():
        _notify(fan_with_sms)
    with transaction.atomic():
        _notify(fan_with_sms)
    assert sorted(Message.objects.values_list("key", "channel", "status")) == [
        ("k1:email", "email", "pending"),
        ("k1:inbox", "inbox", "sent"),
        ("k1:sms", "sms", "pending"),
    ]


def test_channels_follow_the_persons_choices_and_transactional_always_goes(db):
    setup = make_fan_with_tickets()
    # no preference yet: inbox and email for both kinds
    assert services.channels_for(setup.fan, is_marketing=False) == ["inbox", "email"]
    assert services.channels_for(setup.fan, is_marketing=True) == ["inbox", "email"]
    services.set_preferences(
        user=setup.fan, sms_enabled=True, marketing_email=False, marketing_sms=False, now=NOW
    )
    assert services.channels_for(setup.fan, is_marketing=False) == ["inbox", "email", "sms"]
    assert services.channels_for(setup.fan, is_marketing=True) == ["inbox"]


def test_unknown_kinds_and_missing_recipients_are_refused_and_write_nothing(db):
    setup = make_fan_with_tickets()
    with pytest.raises(UnknownKind):
        services.notify(setup.fan, "bogus\x00", {}, key="x", now=NOW)
    with pytest.raises(NoRecipient):
        services.notify(None, "announcement", {}, key="y", now=NOW)
    assert Message.objects.count() == 0


def test_the_worker_delivers_email_and_text_and_logs_each_attempt(fan_with_sms, mailoutbox):
    with transaction.atomic():
        _notify(fan_with_sms)
    outcome = delivery.deliver_due(now=NOW)
    assert outcome.sent == 2
    assert set(Message.objects.values_list("channel", "status", "attempts")) == {
        ("email", "sent", 1),
        ("sms", "sent", 1),
        ("inbox", "sent", 0),
    }
    [mail] = mailoutbox
    assert mail.to == ["wang@example.com"]
    assert mail.subject == "延期：星光演唱会"
    [record] = SmsSandboxRecord.objects.all()
    assert record.key == "k1:sms" and record.phone == "13800000001"
    assert "星光演唱会" in record.text
    assert list(
        DeliveryAttempt.objects.order_by("provider").values_list("provider", "outcome")
    ) == [
        ("locmem", "sent"),
        ("sandbox", "sent"),
    ]
    assert delivery.deliver_due(now=NOW + timedelta(hours=1)).sent == 0
    assert len(mailoutbox) == 1


class WorkerDied(BaseException):
    """The process ends here: nothing after it runs (not an Exception the worker catches)."""


class DiesAfterSending(SandboxSmsProvider):
    def send(self, **kwargs) -> SendResult:
        result = super().send(**kwargs)
        raise WorkerDied(result.reference)


def test_a_worker_that_dies_after_sending_and_before_marking_sends_once(fan_with_sms, settings):
    with transaction.atomic():
        _notify(fan_with_sms, channels=["sms"])
    settings.NOTIFICATIONS_SMS_PROVIDER = f"{__name__}.DiesAfterSending"
    with pytest.raises(WorkerDied) as died:
        delivery.deliver_due(now=NOW)
    message = Message.objects.get()
    assert (message.status, message.attempts) == (MessageStatus.SENDING, 0)
    assert SmsSandboxRecord.objects.count() == 1
    settings.NOTIFICATIONS_SMS_PROVIDER = "sandbox"
    # another worker, while the dead one's claim still runs: leaves it alone
    assert delivery.deliver_due(now=NOW + timedelta(seconds=60)).as_dict()["sent"] == 0
    # after the claim expired: sends again with the same key; the provider had it already
    later = NOW + timedelta(seconds=delivery.claim_seconds() + 1)
    outcome = delivery.deliver_due(now=later)
    assert (outcome.sent, outcome.already_sent) == (0, 1)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.SENT, 1)
    assert message.provider_reference == died.value.args[0]
    [record] = SmsSandboxRecord.objects.all()
    assert record.reference == died.value.args[0]
    assert list(DeliveryAttempt.objects.values_list("outcome", flat=True)) == [
        AttemptOutcome.ALREADY_SENT
    ]


class RefusingProvider(SandboxSmsProvider):
    def send(self, **kwargs) -> SendResult:
        from tessera.notifications.errors import ProviderError

        raise ProviderError("isv.BUSINESS_LIMIT_CONTROL")


def test_failures_are_retried_later_then_marked_failed(fan_with_sms, settings):
    settings.NOTIFICATIONS_SMS_PROVIDER = f"{__name__}.RefusingProvider"
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    with transaction.atomic():
        _notify(fan_with_sms, channels=["sms"])
    assert delivery.deliver_due(now=NOW).retrying == 1
    message = Message.objects.get()
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.next_attempt_at == NOW + timedelta(minutes=1)
    assert message.last_error == "isv.BUSINESS_LIMIT_CONTROL"
    assert delivery.deliver_due(now=NOW + timedelta(seconds=30)).retrying == 0  # not yet due
    assert delivery.deliver_due(now=NOW + timedelta(minutes=1)).retrying == 1
    assert delivery.deliver_due(now=NOW + timedelta(minutes=3)).failed == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert DeliveryAttempt.objects.filter(outcome="failed").count() == 3
    assert delivery.deliver_due(now=NOW + timedelta(days=1)).as_dict()["failed"] == 0
