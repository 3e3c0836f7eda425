"""Tickets per identity across a whole event (``limits.PurchaseLimits.identity_per_event``):
one person's document, whichever account buys, in any session of the event; checked where the
identities are bound, in the order's transaction, under a lock per (event, identity)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.aftersales import services as aftersales
from tessera.core.errors import DomainError
from tessera.core.testing import race
from tessera.identities import services as identities
from tessera.identities.models import LineIdentity
from tessera.identities.tests.test_real_name_sale import (
    NUMBER,
    OTHER,
    attendee,
    buy,
    real_name_sale,
)
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer
from tessera.limits.models import PurchaseLimits
from tessera.limits.tests.factories import set_limits
from tessera.orders.models import Order, OrderStatus
from tessera.payments.models import Refund
from tessera.sale.tests.conftest import deliver, gateway_callbacks, sale_rows
from tessera.tickets.models import Ticket


def two_dates(now, *, per_event: int, per_session: int = 1):
    """Two real-name sessions (dates) of one event, the event limiting each identity."""
    first = real_name_sale(now, max_tickets_per_identity=per_session)
    second = real_name_sale(
        now,
        event=first.session.event,
        starts_at=first.session.starts_at + timedelta(days=1),
        max_tickets_per_identity=per_session,
    )
    set_limits(event=first.session.event, identity_per_event=per_event)
    return first, second


def pay(result, now):
    [callback] = gateway_callbacks(result.payment.pk, now)
    assert deliver(Client(), callback).status_code == 200
    order = Order.objects.get(pk=result.order.pk)
    assert order.status == OrderStatus.FULFILLED
    return order


@pytest.mark.django_db
def test_the_event_limit_refuses_the_same_id_in_another_session_of_the_event():
    now = timezone.now()
    first, second = two_dates(now, per_event=1)
    fan, other = make_buyer(), make_buyer(preferred_language="en")
    buy(first, fan, [attendee(fan).pk], now)
    before = sale_rows(second.session)

    with translation.override("en"), pytest.raises(DomainError) as refused:
        buy(second, other, [attendee(other).pk], now)

    assert (refused.value.code, refused.value.status) == ("limit_identity", 409)
    assert str(refused.value.message) == (
        "Li Lei (1101**********002X) already holds 1 of the 1 tickets one person may have for "
        "this event, across all its dates."
    )
    details = refused.value.details
    assert {k: details[k] for k in ("limit", "already", "left", "requested", "scope")} == {
        "limit": 1,
        "already": 1,
        "left": 0,
        "requested": 1,
        "scope": "event",
    }
    after = sale_rows(second.session)
    assert after["units"] == before["units"] and after["orders"] == before["orders"]
    # someone else's document is still sold in that session
    assert buy(second, other, [attendee(other, OTHER, "Han Meimei").pk], now).order.number


@pytest.mark.django_db
def test_the_refusal_is_translated():
    now = timezone.now()
    first, second = two_dates(now, per_event=1)
    fan, other = make_buyer(), make_buyer()
    buy(first, fan, [attendee(fan).pk], now)
    with translation.override("zh-hans"), pytest.raises(DomainError) as refused:
        buy(second, other, [attendee(other).pk], now)
    assert str(refused.value.message) == (
        "Li Lei（1101**********002X）在本演出的所有场次中已持有 1 张票，每人最多 1 张。"
    )


@pytest.mark.django_db
def test_within_the_event_limit_each_date_still_keeps_its_own_limit():
    now = timezone.now()
    first, second = two_dates(now, per_event=3, per_session=2)
    fan = make_buyer()
    li = attendee(fan)
    buy(first, fan, [li.pk, li.pk], now)
    with pytest.raises(DomainError) as per_event:  # 2 + 2 > 3
        buy(second, fan, [li.pk, li.pk], now)
    assert per_event.value.code == "limit_identity"
    assert per_event.value.details["already"] == 2
    assert buy(second, fan, [li.pk], now).order.number  # 2 + 1 = 3
    with pytest.raises(DomainError) as again:
        buy(first, fan, [li.pk], now)
    assert again.value.code == "limit_identity"


@pytest.mark.django_db
def test_a_refunded_ticket_no_longer_counts_against_the_event_limit():
    now = timezone.now()
    first, second = two_dates(now, per_event=1)
    fan, other = make_buyer(), make_buyer()
    order = pay(buy(first, fan, [attendee(fan).pk], now), now)
    theirs = attendee(other)
    with pytest.raises(DomainError) as refused:
        buy(second, other, [theirs.pk], now)
    assert refused.value.code == "limit_identity"

    manager = make_member(organization=first.session.event.organization, role=Role.MANAGER)
    aftersales.refund_order_in_full(order=order, actor=manager, reason="refund", now=now)

    index = identities.blind_index("resident_id", NUMBER)
    event_id = first.session.event_id
    assert identities.live_tickets(event_id=event_id, index=index, now=now) == 0
    assert buy(second, other, [theirs.pk], now).order.number


@pytest.mark.django_db
def test_an_expired_unpaid_order_frees_the_identity_across_the_event():
    now = timezone.now()
    first, second = two_dates(now, per_event=1)
    fan, other = make_buyer(), make_buyer()
    buy(first, fan, [attendee(fan).pk], now)
    later = now + timedelta(minutes=first.session.hold_minutes + 1)
    assert buy(second, other, [attendee(other).pk], later).order.number


@pytest.mark.django_db
def test_another_event_and_an_event_without_the_limit_are_not_affected():
    now = timezone.now()
    first, second = two_dates(now, per_event=1)
    elsewhere = real_name_sale(now)  # another event: its own limits only
    fan = make_buyer()
    li = attendee(fan)
    buy(first, fan, [li.pk], now)
    assert buy(elsewhere, fan, [li.pk], now).order.number
    # turned off (0): the event's dates keep only their own per-session limits
    PurchaseLimits.objects.filter(event=first.session.event).update(identity_per_event=0)
    assert buy(second, fan, [li.pk], now).order.number


@pytest.mark.django_db
def test_the_identity_limit_alone_keeps_the_event_off_the_hold_limits():
    now = timezone.now()
    first, _ = two_dates(now, per_event=2)
    row = PurchaseLimits.objects.get(event=first.session.event)
    assert row.is_limiting is False
    row.device_per_session = 3
    row.save()
    assert row.is_limiting is True


# -- races on PostgreSQL -------------------------------------------------------------------------

THREADS = 8


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limit", [1, 2])
def test_one_identity_buying_from_many_accounts_in_two_dates_at_once_never_passes_the_event_limit(
    limit,
):
    now = timezone.now()
    first, second = two_dates(now, per_event=limit, per_session=limit)
    fans = [make_buyer() for _ in range(THREADS)]
    picks = [(first if i % 2 else second, fan, attendee(fan).pk) for i, fan in enumerate(fans)]

    results = race(
        *(
            lambda sale=sale, fan=fan, attendee_id=attendee_id: (
                buy(sale, fan, [attendee_id], now).order.number
            )
            for sale, fan, attendee_id in picks
        )
    )

    won = [number for number, error in results if error is None]
    refused = sorted(error.code for _, error in results if error is not None)
    assert len(won) == limit
    assert refused == ["limit_identity"] * (THREADS - limit)
    sessions = [first.session, second.session]
    assert LineIdentity.objects.filter(session__in=sessions).count() == limit
    held = InventoryUnit.objects.filter(session__in=sessions, status=UnitStatus.HELD).count()
    assert held == limit


@pytest.mark.django_db(transaction=True)
def test_a_late_payment_cannot_take_an_identity_past_the_event_limit():
    # given a first buyer whose hold on the first date ran out before paying
    now = timezone.now()
    first, second = two_dates(now, per_event=1)
    early, meanwhile = make_buyer(), make_buyer()
    late = buy(first, early, [attendee(early).pk], now)
    past = now - timedelta(seconds=1)
    Hold.objects.filter(pk=late.order.hold_id).update(expires_at=past)
    InventoryUnit.objects.filter(hold_id=late.order.hold_id).update(hold_expires_at=past)
    Order.objects.filter(pk=late.order.pk).update(expires_at=past)
    # and another account that bought and paid for the same person on the second date
    pay(buy(second, meanwhile, [attendee(meanwhile).pk], now), now)

    # when the first buyer's payment arrives after all
    [callback] = gateway_callbacks(late.payment.pk, now)
    assert deliver(Client(), callback).status_code == 200

    # then it sells nothing: the identity keeps one ticket in the event, the money goes back
    assert Order.objects.get(pk=late.order.pk).status != OrderStatus.FULFILLED
    assert not Ticket.objects.filter(order_line__order_id=late.order.pk).exists()
    index = identities.blind_index("resident_id", NUMBER)
    event_id = first.session.event_id
    assert identities.live_tickets(event_id=event_id, index=index, now=now) == 1
    assert Refund.objects.filter(payment_id=late.payment.pk).count() == 1
