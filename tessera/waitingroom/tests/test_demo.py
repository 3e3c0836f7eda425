from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.demo.loader import load_demo
from tessera.waitingroom.models import QueueEntry, RateMode, RoomStatus, WaitingRoom

pytestmark = pytest.mark.django_db


def test_the_demo_sells_the_galaxy_tour_beijing_nights_through_one_queue():
    now = timezone.now()
    load_demo(now=now)
    room = WaitingRoom.objects.get()
    slugs = set(room.sessions.values_list("event__slug", flat=True))
    assert slugs == {"lin-xia-galaxy-tour-beijing"}
    assert room.sessions.count() == 2
    assert (room.rate_mode, room.state_at(now)) == (RateMode.AUTOMATIC, RoomStatus.PREQUEUE)
    assert room.state_at(now + timedelta(minutes=5)) == RoomStatus.OPEN
    assert all(s.units.exists() for s in room.sessions.all())


def test_replaying_the_demo_on_sale_starts_a_fresh_queue_and_keeps_the_demo(backend):
    # given the demo whose sale opened hours ago, with a fan admitted in its queue
    from io import StringIO

    from django.core.management import call_command

    from tessera.accounts.tests.factories import make_user
    from tessera.catalog.models import Session
    from tessera.core import clock
    from tessera.waitingroom import services

    loaded_at = timezone.now() - timedelta(hours=3)
    load_demo(now=loaded_at)
    old = WaitingRoom.objects.get()
    services.join_queue(room=old, user=make_user(), now=loaded_at + timedelta(minutes=10))
    assert backend.counters(old.pk, with_entries=True).entries == 1
    sessions = set(Session.objects.values_list("id", flat=True))

    # when the operator replays the on-sale
    out = StringIO()
    call_command("replay_demo_onsale", stdout=out)
    now = clock.now()

    # then one new room governs the same two nights, pre-queue open, sale in five minutes
    room = WaitingRoom.objects.get()
    assert room.pk != old.pk
    assert set(room.sessions.values_list("event__slug", flat=True)) == {
        "lin-xia-galaxy-tour-beijing"
    }
    assert room.state_at(now) == RoomStatus.PREQUEUE
    assert timedelta(minutes=4) < room.opens_at - now <= timedelta(minutes=5)
    assert f"Queue page: /queue/{room.pk}/" in out.getvalue()
    # and nobody is in it, the old queue's data is gone, the rest of the demo is untouched
    assert backend.counters(room.pk, with_entries=True).entries == 0
    if backend.name == "redis":
        assert backend.counters(old.pk, with_entries=True).entries == 0
    assert not QueueEntry.objects.filter(room_id=old.pk).exists()
    assert set(Session.objects.values_list("id", flat=True)) == sessions


def test_replaying_without_the_demo_says_to_load_it():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="load_demo"):
        call_command("replay_demo_onsale")
    assert WaitingRoom.objects.count() == 0
