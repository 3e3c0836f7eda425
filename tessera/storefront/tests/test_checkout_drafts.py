"""What the fan typed in the checkout is kept per hold in ``CheckoutDraft`` rows, not in the
session: the session cookie carries only the sign-in (and messages)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tessera.accounts.tests.factories import make_user
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, InventoryUnit
from tessera.storefront import steps
from tessera.storefront.models import CheckoutDraft

pytestmark = pytest.mark.django_db

ALLOWED_SESSION_KEYS = {
    "_auth_user_id",
    "_auth_user_backend",
    "_auth_user_hash",
    "_messages",
    "_language",
}


def _hold(sale, user, seats, row="A", section="S1"):
    units = sale.seat_units(section, row, seats)
    return inventory.hold_units(
        session=sale.session, user=user, unit_ids=[u.id for u in units], now=timezone.now()
    )


def _request_of(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def _draft_writes(captured) -> list[str]:
    return [
        q["sql"].split(None, 1)[0]
        for q in captured.captured_queries
        if "storefront_checkoutdraft" in q["sql"] and not q["sql"].startswith("SELECT")
    ]


def test_the_checkout_keeps_names_and_places_in_a_draft_row_not_in_the_cookie(client, fan, sale):
    # given a hold of two seats
    hold = _hold(sale, fan, [1, 2])
    step2 = reverse("storefront:checkout", args=[hold.pk])

    # when the fan opens the attendees step, names the attendees and goes on
    client.get(step2)
    client.post(step2, {"action": "next", "attendee_0": "王芳", "attendee_1": "Li Lei"})

    # then one draft row holds what was typed, and the session cookie only the sign-in
    draft = CheckoutDraft.objects.get()
    assert (draft.hold_id, draft.user_id) == (hold.pk, fan.pk)
    assert draft.names == ["王芳", "Li Lei"]
    assert draft.email == ""
    assert draft.unit_ids == list(
        InventoryUnit.objects.filter(hold=hold).order_by("id").values_list("id", flat=True)
    )
    assert draft.recovered_from is None
    session = SessionStore(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    assert set(session.load()) <= ALLOWED_SESSION_KEYS
    assert {"_auth_user_id", "_auth_user_hash"} <= set(session.load())


def test_opening_a_step_again_writes_nothing(client, fan, sale):
    hold = _hold(sale, fan, [3])
    step2 = reverse("storefront:checkout", args=[hold.pk])

    with CaptureQueriesContext(connection) as first:
        client.get(step2)
    with CaptureQueriesContext(connection) as again:
        client.get(step2)

    assert _draft_writes(first) == ["INSERT", "DELETE"]  # stored, older drafts pruned
    assert _draft_writes(again) == []


def test_a_recovered_hold_starts_with_the_names_and_says_where_it_came_from(client, fan, sale):
    # given a named hold that expired
    hold = _hold(sale, fan, [1, 2])
    step2 = reverse("storefront:checkout", args=[hold.pk])
    client.post(step2, {"action": "next", "attendee_0": "王芳", "attendee_1": "Li Lei"})
    past = timezone.now() - timedelta(seconds=1)
    Hold.objects.filter(pk=hold.pk).update(expires_at=past)
    InventoryUnit.objects.filter(hold=hold).update(hold_expires_at=past)

    # when the fan takes the places again
    client.post(reverse("storefront:checkout_recover", args=[hold.pk]))

    # then the new hold's draft has the same names and points back at the old hold
    new_hold = Hold.objects.exclude(pk=hold.pk).get()
    draft = CheckoutDraft.objects.get(hold=new_hold)
    assert (draft.user_id, draft.names, draft.recovered_from) == (
        fan.pk,
        ["王芳", "Li Lei"],
        hold.pk,
    )


def test_only_the_owner_reads_a_draft(fan, sale):
    hold = _hold(sale, fan, [4])
    steps.save_draft(steps.get_draft(_request_of(fan), hold.pk), now=timezone.now(), names=["王芳"])
    other = make_user(password=None)

    theirs = steps.get_draft(_request_of(other), hold.pk)
    mine = steps.get_draft(_request_of(fan), hold.pk)

    assert (theirs.pk, theirs.names, theirs.user_id) == (None, [], other.pk)
    assert (mine.names, mine.user_id) == (["王芳"], fan.pk)


def test_a_fan_keeps_the_newest_five_drafts_and_others_keep_theirs(fan, sale):
    # given another fan's draft and six holds of this fan, saved one minute apart
    other = make_user(password=None)
    theirs = _hold(sale, other, [1], row="B", section="S2")
    start = timezone.now()
    steps.save_draft(steps.get_draft(_request_of(other), theirs.pk), now=start, names=["x"])
    holds = [_hold(sale, fan, [seat]) for seat in range(1, 7)]

    # when each gets a draft
    for minute, hold in enumerate(holds):
        steps.save_draft(
            steps.get_draft(_request_of(fan), hold.pk),
            now=start + timedelta(minutes=minute + 1),
            names=[f"fan {minute}"],
        )

    # then the oldest of the fan's drafts went; the other fan's stayed
    kept = list(
        CheckoutDraft.objects.filter(user=fan)
        .order_by("updated_at")
        .values_list("hold_id", flat=True)
    )
    assert steps.MAX_DRAFTS == 5
    assert kept == [hold.pk for hold in holds[1:]]
    assert CheckoutDraft.objects.filter(user=other).count() == 1


def test_saving_a_new_draft_for_a_hold_that_has_one_updates_it(fan, sale):
    # given a stored draft, and a second request that had read none before it was stored
    hold = _hold(sale, fan, [5])
    now = timezone.now()
    late = steps.get_draft(_request_of(fan), hold.pk)
    steps.save_draft(
        steps.get_draft(_request_of(fan), hold.pk), now=now, names=["王芳"], email="a@b.cn"
    )

    # when that request saves
    steps.save_draft(late, now=now + timedelta(seconds=1), names=["Li Lei"])

    # then the one row for the hold has its names
    draft = CheckoutDraft.objects.get(hold=hold)
    assert draft.names == ["Li Lei"]
    assert draft.updated_at == now + timedelta(seconds=1)
