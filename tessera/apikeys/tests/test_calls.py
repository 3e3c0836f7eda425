"""Every authenticated partner API call is counted per key, hour, endpoint and status
class; errors are kept (the last fifty per key); the console shows both."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tessera.apikeys import calls
from tessera.apikeys.models import KeyCallCount, KeyCallError
from tessera.apikeys.tests.factories import make_key
from tessera.core.testing import wsgi_call as call
from tessera.sale import channels
from tessera.sale.models import ChannelKey

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/channel/orders"


def order(app, sale, secret, idem, quantity=1):
    return call(
        app,
        "POST",
        ORDERS,
        body={"session": sale.session.pk, "zone": sale.zones["A"].pk, "quantity": quantity},
        headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": idem},
    )


def counts(key):
    return {(c.endpoint, c.status_class): c.count for c in KeyCallCount.objects.filter(key=key)}


def test_calls_are_counted_in_memory_and_written_by_the_flush(wsgi_apps, sale, partner, now):
    row, secret = make_key(partner, now=now)
    assert order(wsgi_apps["lane"], sale, secret, "a")[0] == 201
    assert order(wsgi_apps["django"], sale, secret, "b")[0] == 201
    assert order(wsgi_apps["lane"], sale, secret, "c", quantity=500)[0] == 422
    assert order(wsgi_apps["django"], sale, secret, "d", quantity=100)[0] in (409, 422)
    assert order(wsgi_apps["lane"], sale, "tsk_0123456789_nobody", "e")[0] == 401  # no key
    assert calls.pending() == 4 and not KeyCallCount.objects.exists()
    assert calls.flush() == 4
    assert counts(row) == {(ORDERS, "2xx"): 2, (ORDERS, "4xx"): 2}
    hour = KeyCallCount.objects.filter(key=row).values_list("hour", flat=True).first()
    assert (hour.minute, hour.second) == (0, 0)
    errors = list(KeyCallError.objects.filter(key=row).order_by("at", "id"))
    assert [e.status for e in errors] in ([422, 409], [422, 422])
    assert {e.endpoint for e in errors} == {ORDERS}
    assert errors[0].code == "invalid_input"
    row.refresh_from_db()
    assert row.last_used_at is not None
    # one upsert adds to the same row
    assert order(wsgi_apps["lane"], sale, secret, "f")[0] == 201
    calls.flush()
    assert counts(row)[(ORDERS, "2xx")] == 3


def test_a_refused_call_of_a_known_key_is_counted_too(wsgi_apps, sale, partner, now):
    row, secret = make_key(partner, now=now, scopes=["catalog:read"])
    assert order(wsgi_apps["django"], sale, secret, "a")[0] == 403
    calls.flush()
    assert counts(row) == {(ORDERS, "4xx"): 1}
    assert KeyCallError.objects.get(key=row).code == "scope_missing"


def test_only_the_last_fifty_errors_of_a_key_are_kept(partner, now):
    row, secret = make_key(partner, now=now)
    principal = channels.authenticate(secret, now=now)
    for n in range(70):
        calls.record(
            principal, endpoint=ORDERS, status=409, code=f"c{n}", now=now + timedelta(seconds=n)
        )
    calls.flush()
    for n in range(70, 75):
        calls.record(
            principal, endpoint=ORDERS, status=500, code=f"c{n}", now=now + timedelta(seconds=n)
        )
    calls.flush()
    kept = list(KeyCallError.objects.filter(key=row).order_by("at").values_list("code", flat=True))
    assert kept == [f"c{n}" for n in range(25, 75)]
    assert counts(row) == {(ORDERS, "4xx"): 70, (ORDERS, "5xx"): 5}


def test_a_flush_skips_deleted_keys_and_a_failed_flush_keeps_the_counts(partner, now, monkeypatch):
    row, secret = make_key(partner, now=now)
    gone, gone_secret = make_key(partner, now=now, name="gone")
    calls.record(channels.authenticate(secret, now=now), endpoint=ORDERS, status=201)
    calls.record(channels.authenticate(gone_secret, now=now), endpoint=ORDERS, status=201)
    ChannelKey.objects.filter(pk=gone.pk).delete()
    # the store refuses the write: nothing is lost, the next flush writes it
    monkeypatch.setattr(calls, "_UPSERT", "INSERT INTO apikeys_nowhere VALUES (%s, %s, %s, %s, %s)")
    assert calls.flush() == 0
    assert calls.pending() == 2
    monkeypatch.undo()
    assert calls.flush() == 1
    assert counts(row) == {(ORDERS, "2xx"): 1}


def test_the_console_shows_the_call_log(client, wsgi_apps, sale, partner, other, now):
    row, secret = make_key(partner, now=now)
    _theirs, their_secret = make_key(other, now=now, name="Theirs")
    order(wsgi_apps["lane"], sale, secret, "a")
    order(wsgi_apps["lane"], sale, secret, "b", quantity=500)
    order(wsgi_apps["lane"], sale, their_secret, "c")
    calls.flush()
    client.force_login(partner.finance)  # finance reads
    page = client.get(reverse("apikeys:calls") + f"?org={partner.org.pk}")
    assert page.status_code == 200
    (log,) = page.context["logs"]
    assert (log.key, log.total, log.failed) == (row, 2, 1)
    assert [e.code for e in log.errors] == ["invalid_input"]
    assert b"Theirs" not in page.content
    detail = client.get(reverse("apikeys:key_calls", args=[row.pk]) + f"?org={partner.org.pk}")
    assert detail.status_code == 200
    assert [(e.endpoint, e.ok, e.client_errors) for e in detail.context["log"].endpoints] == [
        (ORDERS, 1, 1)
    ]
    assert sum(total for _hour, total, _failed in detail.context["hours"]) == 2
