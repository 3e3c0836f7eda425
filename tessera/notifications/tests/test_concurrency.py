"""Workers racing for the same due messages (real threads, each with its own database
connection; on PostgreSQL with TESSERA_DATABASE_URL): every message is claimed by one of
them and each text reaches the provider once."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from django.db import OperationalError, connection, transaction

from tessera.notifications import delivery, services
from tessera.notifications.models import DeliveryAttempt, Message, SmsSandboxRecord
from tessera.notifications.tests.factories import NOW, make_fan_with_tickets

pytestmark = pytest.mark.django_db(transaction=True)


def test_four_workers_deliver_forty_texts_each_exactly_once(settings):
    settings.NOTIFICATIONS_WAKE_WORKER = False
    settings.NOTIFICATIONS_SMS_PROVIDER = "sandbox"
    setup = make_fan_with_tickets()
    with transaction.atomic():
        for n in range(40):
            services.notify(
                setup.fan,
                "session_moved",
                {"session": setup.session.pk},
                key=f"moved:{n}",
                now=NOW,
                channels=["sms"],
            )
    barrier = Barrier(4)

    def work(_):
        try:
            barrier.wait()
            deadline = time.monotonic() + 60
            while True:
                try:
                    return delivery.deliver_due(now=NOW, limit=5).as_dict()
                except OperationalError as exc:
                    # SQLite's shared in-memory test database locks whole tables
                    if connection.vendor != "sqlite" or "locked" not in str(exc):
                        raise
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(work, range(4)))
    if connection.vendor == "postgresql":
        assert sum(o["sent"] for o in outcomes) == 40
        assert sum(o["already_sent"] + o["retrying"] for o in outcomes) == 0
        assert Message.objects.filter(status="sent", attempts=1).count() == 40
        assert DeliveryAttempt.objects.count() == 40
    else:
        # lock errors count as failed attempts there: what is left goes in a later round
        later = NOW + timedelta(hours=2)
        delivery.deliver_due(now=later)
        assert Message.objects.filter(status="sent").count() == 40
    assert SmsSandboxRecord.objects.count() == 40
    assert (
        DeliveryAttempt.objects.filter(outcome="sent").count()
        + DeliveryAttempt.objects.filter(outcome="already_sent").count()
        == 40
    )
