from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.demo.loader import load_demo
from tessera.waitingroom.models import RateMode, RoomStatus, WaitingRoom

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
