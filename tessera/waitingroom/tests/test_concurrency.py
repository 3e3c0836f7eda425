"""Many fans joining at once, each in its own thread and database connection: every
account gets one entry, every entry its own position, positions 1..n without a gap (run on
PostgreSQL to see real parallel joins; on SQLite writers queue for the lock)."""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.waitingroom import services
from tessera.waitingroom.models import QueueEntry, WaitingRoom
from tessera.waitingroom.tests.factories import make_room

pytestmark = pytest.mark.django_db(transaction=True)


def _retrying(call):
    """SQLite's in-memory test database shares one cache between threads, where a writer
    meets "table is locked" instead of waiting; back off with jitter so readers cannot
    starve it (a file database in WAL mode, as in production, waits on busy_timeout)."""
    deadline = time.monotonic() + 120
    pause = 0.002
    while True:
        try:
            return call()
        except OperationalError as exc:
            if connection.vendor != "sqlite" or "locked" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(pause * (1 + random.random()))
            pause = min(pause * 2, 0.05)


@pytest.mark.parametrize("opens_in_minutes", [-1, 5], ids=["open", "prequeue"])
def test_many_fans_join_at_once(backend, opens_in_minutes):
    now = timezone.now()
    sale = make_sale()
    room = make_room(sale=sale, now=now, opens_in_minutes=opens_in_minutes)
    fans = [make_buyer() for _ in range(24)]
    # every fan joins twice at the same moment (two tabs): 48 threads' worth of joins
    attempts = fans + fans
    start = threading.Barrier(16, timeout=30)

    def join(fan):
        try:
            if attempts.index(fan) < 16:
                start.wait()
            mine = _retrying(lambda: WaitingRoom.objects.get(pk=room.pk))
            joined = _retrying(lambda: services.join_queue(room=mine, user=fan, now=now))
            return fan.pk, joined.entry.entry_id, joined.entry.position
        finally:
            connection.close()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(join, attempts))

    entry_of = {}
    for user_id, entry_id, _position in results:
        # one entry per account, whichever tab got there first
        assert entry_of.setdefault(user_id, entry_id) == entry_id
    assert len(set(entry_of.values())) == 24
    if opens_in_minutes > 0:
        services.open_room(room=room, now=now + timedelta(minutes=opens_in_minutes))
    positions = sorted(backend.position_of(room.pk, e) for e in entry_of.values())
    assert positions == list(range(1, 25))
    assert backend.counters(room.pk, with_entries=True).entries == 24
    if backend.name == "database":
        assert QueueEntry.objects.filter(room=room).count() == 24
