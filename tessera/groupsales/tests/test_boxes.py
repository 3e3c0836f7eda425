"""A box is never split: once on sale, every hold path of the fans refuses part of it (and
best available and quantity holds never pick its seats); buying it holds all its seats in
one step; paid, it gives one ticket per seat for the box price; places that come back are
set aside for the box again."""

from datetime import timedelta
from decimal import Decimal

import pytest

from tessera.accounts.tests.factories import make_member, make_organization
from tessera.core.errors import PermissionDenied
from tessera.groupsales import selectors, services
from tessera.groupsales.errors import BoxInvalid, BoxNotFound, BoxUnavailable
from tessera.groupsales.models import BoxSale
from tessera.groupsales.tests.factories import boxed, group_world, now_, pay
from tessera.inventory import services as inventory
from tessera.inventory.errors import LimitExceeded, PlacesUnavailable
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import OrderStatus
from tessera.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def box_states(unit_ids):
    return sorted(InventoryUnit.objects.filter(pk__in=unit_ids).values_list("status", flat=True))


def test_on_sale_a_box_is_set_aside_and_no_fan_hold_takes_part_of_it():
    now = now_()
    sale, organizer, _contact = group_world(
        now, max_tickets_per_order=30, max_tickets_per_account=60
    )
    _box, offer, unit_ids = boxed(sale, organizer, now)
    assert box_states(unit_ids) == [UnitStatus.BLOCKED] * 4
    fan = make_buyer()

    # chosen seats: part of the box, the whole box, a box seat with others: refused
    for ids in (unit_ids[:1], unit_ids[:2], unit_ids, [unit_ids[0], unit_ids[-1] + 1]):
        with pytest.raises(PlacesUnavailable):
            inventory.hold_units(session=sale.session, user=fan, unit_ids=ids, now=now)

    # best available and quantity holds of the zone take every other seat, never a box seat
    hold = inventory.hold_quantity(
        session=sale.session, user=fan, zone=sale.zones["A"], quantity=26, now=now
    )
    assert not set(hold.units.values_list("id", flat=True)) & set(unit_ids)
    with pytest.raises(PlacesUnavailable):
        inventory.hold_quantity(
            session=sale.session, user=make_buyer(), zone=sale.zones["A"], quantity=1, now=now
        )
    with pytest.raises(PlacesUnavailable):
        inventory.hold_best_available(
            session=sale.session, user=make_buyer(), zone=sale.zones["A"], quantity=1, now=now
        )
    # even after every hold lapsed, the box's seats are still not anyone's
    later = now + timedelta(hours=1)
    best = inventory.hold_best_available(
        session=sale.session,
        user=make_buyer(),
        section=sale.sections["S1"],
        quantity=26,
        accept_split=True,
        now=later,
    )
    assert not set(best.units.values_list("id", flat=True)) & set(unit_ids)
    assert box_states(unit_ids) == [UnitStatus.BLOCKED] * 4

    # the whole box, bought as a box: held in one step
    buyer = make_buyer()
    order = services.buy_box(offer=offer, user=buyer, now=later)
    assert box_states(unit_ids) == [UnitStatus.HELD] * 4
    assert set(InventoryUnit.objects.filter(pk__in=unit_ids).values_list("hold_id", flat=True)) == {
        order.hold_id
    }
    assert order.total == Decimal("2000.00") and order.lines.count() == 4


def test_a_bought_box_gives_a_ticket_per_seat_for_the_box_price():
    now = now_()
    sale, organizer, _contact = group_world(now)
    _box, offer, unit_ids = boxed(sale, organizer, now, seats=(1, 2, 3), price="1000.00")
    buyer = make_buyer()
    order = services.buy_box(offer=offer, user=buyer, now=now)
    # ¥1000 over 3 seats: 333.34 + 333.33 + 333.33
    assert sorted(order.lines.values_list("price", flat=True)) == [
        Decimal("333.33"),
        Decimal("333.33"),
        Decimal("333.34"),
    ]
    # a second buyer is refused and nothing of theirs is held
    other = make_buyer()
    with pytest.raises(BoxUnavailable):
        services.buy_box(offer=offer, user=other, now=now)
    assert not Hold.objects.filter(user=other).exists()
    order = pay(order, buyer, now)
    assert order.status == OrderStatus.FULFILLED
    assert box_states(unit_ids) == [UnitStatus.SOLD] * 3
    assert Ticket.objects.filter(order_line__order=order).count() == 3
    assert BoxSale.objects.get(offer=offer).order_id == order.pk
    assert selectors.boxes_for_map(session=sale.session, now=now)[0]["available"] is False


def test_a_lapsed_box_hold_is_set_aside_again_and_never_freed_seat_by_seat():
    now = now_()
    sale, organizer, _contact = group_world(now)
    _box, offer, unit_ids = boxed(sale, organizer, now)
    services.buy_box(offer=offer, user=make_buyer(), now=now)
    later = now + timedelta(minutes=sale.session.hold_minutes + 1)
    # lapsed, a fan still cannot take one of its seats
    with pytest.raises(PlacesUnavailable):
        inventory.hold_units(
            session=sale.session, user=make_buyer(), unit_ids=unit_ids[:1], now=later
        )
    # another buyer can take the whole box over at once
    second = services.buy_box(offer=offer, user=make_buyer(), now=later)
    assert box_states(unit_ids) == [UnitStatus.HELD] * 4
    # that one lapses too (past the grace for a late payment): the task sets it aside again
    much_later = later + timedelta(hours=2)
    services.settle_group_sales(now=much_later)
    assert box_states(unit_ids) == [UnitStatus.BLOCKED] * 4
    assert InventoryUnit.objects.filter(pk__in=unit_ids, hold_id=second.hold_id).count() == 0


def test_places_that_come_back_are_set_aside_for_the_box_again():
    now = now_()
    sale, organizer, _contact = group_world(now)
    box, offer, unit_ids = boxed(sale, organizer, now)
    # an organizer unblocks two seats of the box: they go back to the box at once
    inventory.unblock_units(session=sale.session, unit_ids=unit_ids[:2], actor=organizer, now=now)
    assert box_states(unit_ids) == [UnitStatus.BLOCKED] * 4
    # a box order cancelled: its places go back to the box, not to the fans
    buyer = make_buyer()
    order = services.buy_box(offer=offer, user=buyer, now=now)
    from tessera.orders import services as orders

    orders.cancel_order(order=order, actor=buyer, reason="changed mind", now=now)
    assert box_states(unit_ids) == [UnitStatus.BLOCKED] * 4
    # taken off sale, its seats are sold one by one again
    services.offer_box(
        box=box, session=sale.session, price="2000", actor=organizer, now=now, on_sale=False
    )
    assert box_states(unit_ids) == [UnitStatus.AVAILABLE] * 4
    with pytest.raises(BoxNotFound):
        services.buy_box(offer=offer, user=buyer, now=now)
    hold = inventory.hold_units(session=sale.session, user=buyer, unit_ids=unit_ids[:1], now=now)
    assert hold.quantity == 1
    # and it cannot go on sale whole while one of its seats is held
    with pytest.raises(BoxUnavailable):
        services.offer_box(box=box, session=sale.session, price="2000", actor=organizer, now=now)
    assert box_states(unit_ids) == [UnitStatus.AVAILABLE] * 3 + [UnitStatus.HELD]


def test_boxes_are_checked():
    now = now_()
    sale, organizer, _contact = group_world(now)
    s1 = sale.seat_units("S1", "A", [1, 2])
    s2 = sale.seat_units("S2", "A", [1])
    with pytest.raises(BoxInvalid):  # seats of two sections
        services.create_box(
            layout=sale.layout,
            section=sale.sections["S1"],
            name="X",
            seat_ids=[u.seat_id for u in s1 + s2],
            actor=None,
            now=now,
        )
    for bad_seats in ([], ["1"], [True], [10**12]):
        with pytest.raises(BoxInvalid):
            services.create_box(
                layout=sale.layout,
                section=sale.sections["S1"],
                name="X",
                seat_ids=bad_seats,
                actor=None,
                now=now,
            )
    box, _offer, _ids = boxed(sale, organizer, now, seats=(1, 2))
    with pytest.raises(BoxInvalid):  # a seat of another box
        services.create_box(
            layout=sale.layout,
            section=sale.sections["S1"],
            name="Y",
            seat_ids=[s1[0].seat_id],
            actor=None,
            now=now,
        )
    for price in ("0", "-1", "abc", "1e30", "1.234"):
        with pytest.raises(BoxInvalid):
            services.offer_box(box=box, session=sale.session, price=price, actor=organizer, now=now)
    stranger = make_member(organization=make_organization(), password=None)
    with pytest.raises(PermissionDenied):
        services.offer_box(box=box, session=sale.session, price="10", actor=stranger, now=now)


def test_a_box_ignores_the_per_order_limit_but_not_the_waiting_room_or_sale_window():
    now = now_()
    sale, organizer, _contact = group_world(now, max_tickets_per_order=2)
    _box, offer, _unit_ids = boxed(sale, organizer, now)
    with pytest.raises(LimitExceeded):
        inventory.hold_quantity(
            session=sale.session, user=make_buyer(), zone=sale.zones["A"], quantity=4, now=now
        )
    order = services.buy_box(offer=offer, user=make_buyer(), now=now)
    assert order.lines.count() == 4
    sale.session.on_sale_until = now
    sale.session.save()
    from tessera.inventory.errors import NotOnSale

    with pytest.raises(NotOnSale):
        services.buy_box(offer=offer, user=make_buyer(), now=now + timedelta(hours=1))


def test_a_box_is_refunded_whole_or_not_at_all_and_goes_back_on_sale_whole():
    from django.test import TestCase

    from tessera.aftersales import services as aftersales
    from tessera.catalog import services as catalog
    from tessera.groupsales.errors import BoxSplit
    from tessera.groupsales.tests.factories import pay

    now = now_()
    sale, organizer, _contact = group_world(now)
    catalog.set_policy(event=sale.session.event, actor=None, now=now, is_refundable=True)
    _box, offer, unit_ids = boxed(sale, organizer, now)
    buyer = make_buyer()
    order = pay(services.buy_box(offer=offer, user=buyer, now=now), buyer, now)
    one_line = order.lines.order_by("pk").first()
    # one seat of the box: refused, nothing changes
    with pytest.raises(BoxSplit):
        aftersales.request_refund(order=order, user=buyer, line_ids=[one_line.pk], now=now)
    assert box_states(unit_ids) == [UnitStatus.SOLD] * 4
    # the whole order: the box's places go back to the box, not to the fans one by one
    with TestCase.captureOnCommitCallbacks(execute=True):
        aftersales.refund_order_in_full(order=order, actor=organizer, reason="test", now=now)
    assert box_states(unit_ids) == [UnitStatus.BLOCKED] * 4
    again = services.buy_box(offer=offer, user=make_buyer(), now=now)
    assert again.lines.count() == 4
