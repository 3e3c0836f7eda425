"""Recovering from an expired hold or a lost seat, and the steps keeping what was typed."""

from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tessera.accounts.tests.factories import make_user
from tessera.inventory import services as inventory
from tessera.inventory.errors import PlacesUnavailable
from tessera.inventory.models import Hold, HoldStatus, InventoryUnit, UnitStatus
from tessera.orders import services as orders
from tessera.orders.models import Order, OrderStatus
from tessera.payments import services as payments
from tessera.payments.models import Payment, Refund
from tessera.payments.testing import pay_locally
from tessera.storefront import recovery

pytestmark = pytest.mark.django_db


def _expire(hold, now):
    past = now - timedelta(seconds=1)
    Hold.objects.filter(pk=hold.pk).update(expires_at=past)
    InventoryUnit.objects.filter(hold=hold).update(hold_expires_at=past)
    Order.objects.filter(hold=hold).update(expires_at=past)
    hold.refresh_from_db()


def _labels(hold):
    return [
        (u.section.code, u.seat.row.label if u.seat else "", u.seat.label if u.seat else "")
        for u in InventoryUnit.objects.filter(hold=hold, status=UnitStatus.HELD).order_by("id")
    ]


# -- the service -------------------------------------------------------------------------------


def test_expired_hold_gets_the_very_same_places_back(sale, fan):
    now = timezone.now()
    units = sale.seat_units("S1", "B", [3, 4])
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[u.id for u in units], now=now
    )
    _expire(hold, now)

    result = recovery.recover_places(
        hold=hold, user=fan, unit_ids=recovery.places_of_hold(hold), now=now
    )

    assert result.same_places is True
    assert result.hold.pk != hold.pk
    assert _labels(result.hold) == [("S1", "B", "3"), ("S1", "B", "4")]
    hold.refresh_from_db()
    assert hold.status == HoldStatus.RELEASED


def test_a_taken_seat_gives_the_best_block_of_the_same_size_in_the_same_zone(sale, fan):
    # given the fan's expired hold of S1, and a rival who took A-4 meanwhile
    now = timezone.now()
    units = sale.seat_units("S1", "A", [3, 4])
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[u.id for u in units], now=now
    )
    _expire(hold, now)
    rival = make_user()
    inventory.hold_units(session=sale.session, user=rival, unit_ids=[units[1].id], now=now)

    # when the fan recovers
    result = recovery.recover_places(hold=hold, user=fan, unit_ids=[u.id for u in units], now=now)

    # then two adjacent seats of zone A are held: row A keeps 1-3 and 5-6 free around the
    # rival's seat, so the block nearest the stage that strands no single seat is
    assert result.same_places is False
    assert _labels(result.hold) == [("S1", "A", "5"), ("S1", "A", "6")]
    assert {u.zone_id for u in InventoryUnit.objects.filter(hold=result.hold)} == {
        sale.zones["A"].pk
    }
    assert InventoryUnit.objects.get(pk=units[1].pk).hold.user == rival


def test_standing_places_come_back_as_the_same_number_in_the_zone(sale, fan):
    now = timezone.now()
    hold = inventory.hold_quantity(
        session=sale.session, user=fan, zone=sale.zones["GA"], quantity=3, now=now
    )
    first_ids = recovery.places_of_hold(hold)
    _expire(hold, now)
    rival = make_user()
    inventory.hold_units(session=sale.session, user=rival, unit_ids=first_ids[:1], now=now)

    result = recovery.recover_places(hold=hold, user=fan, unit_ids=first_ids, now=now)

    new_ids = list(
        InventoryUnit.objects.filter(hold=result.hold).order_by("id").values_list("id", flat=True)
    )
    ga_ids = list(sale.units("GA").values_list("id", flat=True))
    assert result.same_places is False
    # any 3 standing places in id order, skipping the one the rival took
    assert new_ids == [ga_ids[1], ga_ids[2], ga_ids[3]]


def test_nothing_left_raises_and_changes_no_place(sale, fan):
    now = timezone.now()
    hold = inventory.hold_quantity(
        session=sale.session, user=fan, zone=sale.zones["GA"], quantity=2, now=now
    )
    ids = recovery.places_of_hold(hold)
    _expire(hold, now)
    # two rivals take 9 of the 10 standing places: one is left, the fan needs two
    inventory.hold_quantity(
        session=sale.session, user=make_user(), zone=sale.zones["GA"], quantity=6, now=now
    )
    rival_hold = inventory.hold_quantity(
        session=sale.session, user=make_user(), zone=sale.zones["GA"], quantity=3, now=now
    )
    before = list(InventoryUnit.objects.order_by("id").values_list("id", "status", "hold_id"))

    with pytest.raises(PlacesUnavailable):
        recovery.recover_places(hold=hold, user=fan, unit_ids=ids, now=now)

    after = list(InventoryUnit.objects.order_by("id").values_list("id", "status", "hold_id"))
    assert [row for row in after if row[2] == rival_hold.pk] == [
        row for row in before if row[2] == rival_hold.pk
    ]
    assert Hold.objects.filter(user=fan).exclude(pk=hold.pk).count() == 0


def test_a_live_hold_is_not_recovered(sale, fan):
    now = timezone.now()
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[sale.seat_unit("S1", "A", 1).id], now=now
    )
    with pytest.raises(recovery.NothingToRecover):
        recovery.recover_places(hold=hold, user=fan, unit_ids=[1], now=now)
    assert Hold.objects.count() == 1


def test_an_expired_order_is_cancelled_and_its_places_ordered_again(sale, fan):
    now = timezone.now()
    units = sale.seat_units("S2", "A", [1, 2])
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[u.id for u in units], now=now
    )
    order = orders.place_order(hold=hold, user=fan, attendees=["王芳", "李雷"], now=now)
    _expire(hold, now)

    result = recovery.recover_places(
        hold=hold, user=fan, unit_ids=recovery.places_of_hold(hold), now=now
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert result.same_places is True
    assert _labels(result.hold) == [("S2", "A", "1"), ("S2", "A", "2")]


# -- through the pages -------------------------------------------------------------------------


def test_back_from_payment_shows_the_names_and_keeps_them_on_the_order(client, fan, sale):
    now = timezone.now()
    units = sale.seat_units("S1", "A", [1, 2])
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[u.id for u in units], now=now
    )
    step2 = reverse("storefront:checkout", args=[hold.pk])
    response = client.post(
        step2, {"action": "next", "attendee_0": "王芳", "attendee_1": "Li Lei", "email": ""}
    )
    assert response["Location"] == reverse("storefront:checkout_payment", args=[hold.pk])
    payment_page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{step2}"' in payment_page  # the Back link
    assert 'value="sandbox" checked' in payment_page
    assert "Pay ¥760.00" in payment_page

    back = client.get(step2).content.decode()
    assert 'value="王芳"' in back and 'value="Li Lei"' in back
    assert 'value="fan@example.com" autocomplete="email" maxlength="254" readonly' in back
    assert "no-store" in client.get(step2)["Cache-Control"]

    # changing a name on the way back updates the same order, no second one
    client.post(step2, {"action": "next", "attendee_0": "王芳", "attendee_1": "韩梅梅"})
    order = Order.objects.get()
    assert list(order.lines.order_by("id").values_list("attendee_name", flat=True)) == [
        "王芳",
        "韩梅梅",
    ]


def test_payment_with_an_unknown_method_is_refused_and_starts_nothing(client, fan, sale):
    now = timezone.now()
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[sale.seat_unit("S1", "A", 1).id], now=now
    )
    client.post(reverse("storefront:checkout", args=[hold.pk]), {"action": "next"})
    response = client.post(
        reverse("storefront:checkout_payment", args=[hold.pk]),
        {"action": "pay", "provider": "bitcoin"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert "Please choose a payment method." in response.content.decode()
    assert not Payment.objects.exists()


def test_recovering_from_the_page_keeps_the_names_for_the_new_hold(client, fan, sale):
    now = timezone.now()
    units = sale.seat_units("S1", "A", [1, 2])
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[u.id for u in units], now=now
    )
    step2 = reverse("storefront:checkout", args=[hold.pk])
    client.get(step2)  # the checkout remembers the places
    client.post(step2, {"action": "next", "attendee_0": "王芳", "attendee_1": "Li Lei"})
    _expire(hold, timezone.now())

    expired_page = client.get(
        reverse("storefront:checkout_payment", args=[hold.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Your hold has expired" in expired_page
    response = client.post(
        reverse("storefront:checkout_recover", args=[hold.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    new_hold = Hold.objects.exclude(pk=hold.pk).get()
    assert response["Location"] == reverse("storefront:checkout", args=[new_hold.pk])
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "You have the same places again." in page
    assert 'value="王芳"' in page and 'value="Li Lei"' in page
    assert _labels(new_hold) == [("S1", "A", "1"), ("S1", "A", "2")]


def test_a_lost_seat_order_explains_the_refund_and_offers_an_alternative(client, fan, sale):
    # given the fan's order whose hold expired, a rival who took one seat, then the payment
    now = timezone.now()
    units = sale.seat_units("S1", "B", [2, 3])
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[u.id for u in units], now=now
    )
    order = orders.place_order(hold=hold, user=fan, attendees=["王芳", ""], now=now)
    payment = payments.start_payment(order=order, provider="sandbox", user=fan, now=now)
    _expire(hold, now)
    inventory.hold_units(session=sale.session, user=make_user(), unit_ids=[units[0].id], now=now)
    pay_locally(payment_id=payment.pk, now=now)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert Refund.objects.filter(payment=payment).count() == 1

    # when the fan opens the order page
    html = client.get(
        reverse("storefront:order", args=[order.number]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    # then it says the money goes back and offers the nearest alternative
    assert 'id="order-lost"' in html
    refund = Refund.objects.get(payment=payment)
    expected = (
        "is being refunded to the way you paid"
        if refund.status == "pending"
        else "has been refunded to the way you paid"
    )
    assert expected in html
    assert "Your money (¥760.00)" in html
    assert reverse("storefront:checkout_recover", args=[hold.pk]) in html
    response = client.post(reverse("storefront:checkout_recover", args=[hold.pk]))
    new_hold = Hold.objects.filter(user=fan).exclude(pk=hold.pk).get()
    assert response["Location"] == reverse("storefront:checkout", args=[new_hold.pk])
    assert len(_labels(new_hold)) == 2
    assert {u.zone_id for u in InventoryUnit.objects.filter(hold=new_hold)} == {sale.zones["A"].pk}


def test_order_page_while_paying_shows_the_countdown_then_the_expiry_and_recovery(
    client, fan, sale
):
    now = timezone.now()
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[sale.seat_unit("S2", "B", 6).id], now=now
    )
    order = orders.place_order(hold=hold, user=fan, attendees=["王芳"], now=now)
    payments.start_payment(order=order, provider="sandbox", user=fan, now=now)
    url = reverse("storefront:order", args=[order.number])

    waiting = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-deadline="{order.expires_at.astimezone(UTC).isoformat()}"' in waiting
    assert 'http-equiv="refresh"' not in waiting  # the status is watched by order-status.js
    assert f'data-order-url="/api/v1/orders/{order.number}"' in waiting
    assert 'id="hold-expired"' not in waiting

    _expire(hold, now)
    expired = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="countdown"' not in expired
    assert 'id="order-watch"' not in expired
    assert 'id="hold-expired"' in expired
    assert reverse("storefront:checkout_recover", args=[hold.pk]) in expired
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT  # reading the page changes nothing


def test_after_a_failed_payment_the_order_page_offers_to_pay_again_and_release(client, fan, sale):
    # given an order whose payment the gateway reported as failed
    now = timezone.now()
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[sale.seat_unit("S1", "A", 2).id], now=now
    )
    order = orders.place_order(hold=hold, user=fan, attendees=["王芳"], now=now)
    payment = payments.start_payment(order=order, provider="sandbox", user=fan, now=now)
    pay_locally(payment_id=payment.pk, now=now, choice="fail")
    url = reverse("storefront:order", args=[order.number])

    # when the fan opens the order page
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # then it shows the failure, the countdown and the way back to paying
    assert 'id="payment-failed"' in page
    assert 'id="payment-waiting"' not in page
    assert 'id="countdown"' in page
    assert reverse("storefront:checkout_payment", args=[hold.pk]) in page
    assert 'data-payment-status="failed"' in page

    # when they release the places, they land on the order page, which says what happened
    released = client.post(
        reverse("storefront:checkout_payment", args=[hold.pk]),
        {"action": "release"},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert released.redirect_chain == [(url, 302)]
    assert (
        f"Your places were released and order {order.number} is cancelled; nothing was charged."
        in released.content.decode()
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert InventoryUnit.objects.filter(status=UnitStatus.HELD).count() == 0


def test_release_of_a_paid_order_is_refused_and_changes_nothing(client, fan, sale):
    # given a paid and fulfilled order
    now = timezone.now()
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[sale.seat_unit("S1", "A", 3).id], now=now
    )
    order = orders.place_order(hold=hold, user=fan, attendees=["王芳"], now=now)
    payment = payments.start_payment(order=order, provider="sandbox", user=fan, now=now)
    pay_locally(payment_id=payment.pk, now=now)
    order.refresh_from_db()
    status_before = order.status

    # when a release is posted for it anyway
    response = client.post(
        reverse("storefront:checkout_payment", args=[hold.pk]), {"action": "release"}
    )

    # then the fan is sent to the order page and nothing changed
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("storefront:order", args=[order.number])
    order.refresh_from_db()
    assert order.status == status_before != OrderStatus.CANCELLED
    assert InventoryUnit.objects.filter(status=UnitStatus.SOLD).count() == 1
