"""Two devices admitted the same tickets while offline and sync at the same moment through
the sync endpoint: every ticket gets one counted entry and one flagged scan (run on
PostgreSQL: TESSERA_DATABASE_URL=postgres://...)."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection
from django.test import Client

from tessera.checkin import services
from tessera.checkin.models import Presence, Scan
from tessera.checkin.tests.factories import NOW, at, make_gates

TICKETS = 6


def payload(g, gate, minutes):
    return {
        "scans": [
            {
                "uuid": str(uuid.uuid4()),
                "code": cred,
                "gate_id": gate.pk,
                "direction": "entry",
                "scanned_at": at(minutes + i).isoformat(),
                "accepted": True,
                "reason": "valid",
            }
            for i, cred in enumerate(g.credentials)
        ]
    }


@pytest.mark.django_db(transaction=True)
def test_two_devices_syncing_the_same_tickets_at_once_give_one_entry_and_one_flag_each():
    # given two devices that each admitted all six tickets offline, the south gate first
    g = make_gates(tickets=TICKETS, names=[f"Fan {i}" for i in range(TICKETS)])
    _second, token2 = services.register_device(
        organization=g.session.event.organization, name="Gate phone 2", now=NOW
    )
    bodies = [(g.token, payload(g, g.north, 2)), (token2, payload(g, g.south, 1))]
    barrier = threading.Barrier(len(bodies))

    def sync(args):
        token, body = args
        try:
            barrier.wait()
            deadline = time.monotonic() + 60
            while True:
                try:
                    response = Client().post(
                        f"/api/v1/checkin/sessions/{g.session.pk}/sync",
                        body,
                        content_type="application/json",
                        headers={"authorization": f"Bearer {token}"},
                    )
                    return response.status_code, response.json()
                except OperationalError as exc:
                    # SQLite locks the whole file: the loser retries its rolled-back sync.
                    if connection.vendor != "sqlite" or "locked" not in str(exc):
                        raise
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
        finally:
            connection.close()

    # when both sync at the same moment, from two threads
    with ThreadPoolExecutor(len(bodies)) as pool:
        results = list(pool.map(sync, bodies))

    # then both requests succeed, every ticket is inside once, the north scans are flagged
    assert [status for status, _ in results] == [200, 200]
    assert Scan.objects.count() == 2 * TICKETS
    assert Scan.objects.filter(counted=True).count() == TICKETS
    assert set(Scan.objects.filter(counted=True).values_list("gate_id", flat=True)) == {g.south.pk}
    assert (
        sorted(Scan.objects.exclude(flag="").values_list("flag", "gate_id"))
        == [("duplicate_entry", g.north.pk)] * TICKETS
    )
    assert sorted(Presence.objects.values_list("is_inside", "entries")) == [(True, 1)] * TICKETS
    flagged = {u for _status, body in results for u in (f["uuid"] for f in body["flagged"])}
    assert flagged == {str(u) for u in Scan.objects.exclude(flag="").values_list("uuid", flat=True)}
