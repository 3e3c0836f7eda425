"""Moving a session to another venue (跨场馆): places mapped by price zone (and by section
where the organizer maps one), groups kept side by side, tickets reissued (the gate refuses
the old credentials, accepts the new), fans told and offered a full refund until a deadline;
refused up front when the new layout is short of places; idempotent."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import TestCase
from django.utils import timezone

from tessera.accounts.tests.factories import make_member
from tessera.aftersales import changes
from tessera.aftersales.errors import MoveInvalid, MoveShortfall, NoRefundOffered
from tessera.aftersales.models import ChangeStatus, SessionChange, SessionChangeOrder
from tessera.aftersales.tests.factories import bought
from tessera.catalog import services as catalog
from tessera.catalog.models import Session
from tessera.checkin import services as checkin
from tessera.inventory import selectors as inventory_selectors
from tessera.inventory import services as inventory
from tessera.inventory.errors import PlacesUnavailable
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_channel, make_sale
from tessera.notifications.models import Message
from tessera.orders.models import LedgerEntry, Order, OrderLine, OrderStatus
from tessera.payments import services as payments
from tessera.sale import services as sale_services
from tessera.sale.choices import PlaceChoice
from tessera.tickets.models import Revocation, Ticket, TicketStatus
from tessera.tickets.services import credential_for
from tessera.venues.models import Section
from tessera.venues.tests.factories import make_layout, make_venue

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def sale(now):
    # zone A = section S1 (380.00), zone B = section S2 (280.00), one row of 8 seats each
    sale = make_sale(sections=2, rows=1, seats_per_row=8, starts_at=now + timedelta(days=10))
    catalog.set_policy(
        event=sale.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        refund_cutoff_hours=2,
        tiers=[(0, 20)],
        fee_min=D("5.00"),
    )
    return sale


@pytest.fixture
def organizer(sale):
    return make_member(organization=sale.session.event.organization, role="owner")


@pytest.fixture
def arena():
    """The other venue: three sections S1..S3 of two rows of six seats."""
    layout = make_layout(
        venue=make_venue(name="星光体育馆", name_en="Starlight Arena"),
        sections=3,
        rows=2,
        seats_per_row=6,
    )
    return {s.code: s for s in Section.objects.filter(layout=layout)} | {"layout": layout}


def sold(sale, now):
    """fan 1: S1 seats 6-7 (zone A); fan 2: S1 seat 8 (A); fan 3: S2 seats 1-3 (B)."""
    return [
        bought(sale, make_buyer(), [6, 7], now),
        bought(sale, make_buyer(), [8], now),
        bought(sale, make_buyer(), [1, 2, 3], now, section="S2"),
    ]


def places(order) -> list[tuple[str, str, str]]:
    return list(
        OrderLine.objects.filter(order=order)
        .order_by("pk")
        .values_list("section_code", "row_label", "seat_label")
    )


def scan(sale, device, text, now):
    return checkin.scan_online(
        device=device,
        session=Session.objects.get(pk=sale.session.pk),
        gate_id=None,
        direction="entry",
        text=text,
        scan_uuid=uuid.uuid4(),
        now=now,
    )


def start(sale, arena, organizer, now, **overrides):
    values = {
        "session": sale.session,
        "layout": arena["layout"],
        "zones": {
            arena["S1"].pk: sale.zones["A"].pk,
            arena["S2"].pk: sale.zones["B"].pk,
            arena["S3"].pk: sale.zones["B"].pk,
        },
        "section_map": {sale.sections["S2"].pk: arena["S3"].pk},
        "refund_until": now + timedelta(days=3),
        "actor": organizer,
        "reason": "Roof repairs",
        "now": now,
    }
    return changes.start_move(**(values | overrides))


def run_all(change, now):
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes.run_change(change_id=change.pk, clock=lambda: now, limit=2)


def test_a_move_maps_places_by_zone_and_section_and_reissues_the_tickets(
    sale, arena, organizer, now
):
    # given three paid orders and their credentials at the old venue
    paid = sold(sale, now)
    old_texts = [credential_for(ticket=t, now=now) for t in Ticket.objects.order_by("pk")]

    # when the organizer moves the session to the arena (old S2 mapped to the arena's S3)
    change = start(sale, arena, organizer, now)
    session = Session.objects.get(pk=sale.session.pk)
    assert session.layout_id == arena["layout"].pk
    assert (change.kind, change.total, change.status) == ("move", 3, ChangeStatus.RUNNING)
    run_all(change, now)

    # then zone A's orders sit in the arena's S1, side by side, in order; zone B's in S3
    assert places(paid[0]) == [("S1", "A", "1"), ("S1", "A", "2")]
    assert places(paid[1]) == [("S1", "A", "3")]
    assert places(paid[2]) == [("S3", "A", "1"), ("S3", "A", "2"), ("S3", "A", "3")]
    # prices, zones and the money stay as they were
    assert [o.status for o in Order.objects.filter(pk__in=[o.pk for o in paid])] == [
        OrderStatus.FULFILLED
    ] * 3
    assert LedgerEntry.objects.filter(kind="refund").count() == 0
    # the sold places are the arena's, the old venue's all withdrawn
    new_units = InventoryUnit.objects.filter(session=sale.session, section__layout=arena["layout"])
    assert new_units.filter(status=UnitStatus.SOLD).count() == 6
    assert new_units.filter(status=UnitStatus.AVAILABLE).count() == 36 - 6
    assert set(
        InventoryUnit.objects.filter(session=sale.session, section__layout=sale.layout)
        .values_list("status", "block_reason")
        .distinct()
    ) == {(UnitStatus.BLOCKED, "moved")}
    # each ticket has its new place and its next version; the old one is revoked
    for ticket in Ticket.objects.select_related("order_line"):
        assert (ticket.status, ticket.version) == (TicketStatus.VALID, 2)
        assert ticket.unit_id == ticket.order_line.unit_id
    assert Revocation.objects.filter(session=sale.session, reason="moved").count() == 6
    # at the new venue's gate the old credentials are refused, the new accepted
    device, _token = checkin.register_device(
        organization=sale.session.event.organization, name="arena gate", now=now
    )
    at_gate = sale.session.starts_at - timedelta(hours=1)
    assert {scan(sale, device, text, at_gate).reason for text in old_texts} == {"revoked"}
    new_texts = [credential_for(ticket=t, now=now) for t in Ticket.objects.order_by("pk")]
    results = [scan(sale, device, text, at_gate) for text in new_texts]
    assert {r.reason for r in results} == {"valid"}
    assert "S1" in results[0].place or "Block 1" in results[0].place or "1区" in results[0].place
    # the progress is complete and every fan was told once, with both venues
    assert changes.progress(change)["status"] == "done"
    assert (
        sorted(SessionChangeOrder.objects.filter(change=change).values_list("outcome", flat=True))
        == ["moved"] * 3
    )
    told = Message.objects.filter(kind="session_moved", channel="inbox")
    assert sorted(told.values_list("user_id", flat=True)) == sorted(o.user_id for o in paid)
    assert told.first().context["new_venue"] in ("星光体育馆", "Starlight Arena")


def test_the_fans_see_the_move_and_may_refund_in_full_until_the_deadline(
    sale, arena, organizer, now
):
    # given a moved session
    paid = sold(sale, now)
    change = start(sale, arena, organizer, now)
    run_all(change, now)

    # then the order page's notice names both venues and offers the refund
    notice = changes.order_notice(paid[0], now)
    assert notice.kind == "move" and notice.can_refund
    assert "Starlight Arena" in notice.headline or "星光体育馆" in notice.headline

    # when the first fan takes the refund before the deadline
    changes.refund_after_change(order=paid[0], user=paid[0].user, now=now + timedelta(days=1))

    # then the order is refunded in full, its places and tickets freed, its ledger at zero
    order = Order.objects.get(pk=paid[0].pk)
    assert order.status == OrderStatus.REFUNDED
    assert sum(LedgerEntry.objects.filter(order=order).values_list("amount", flat=True)) == 0
    assert set(Ticket.objects.filter(order_line__order=order).values_list("status", flat=True)) == {
        TicketStatus.REVOKED
    }
    # and after the deadline the others can no longer
    with pytest.raises(NoRefundOffered):
        changes.refund_after_change(order=paid[1], user=paid[1].user, now=now + timedelta(days=4))
    assert Order.objects.get(pk=paid[1].pk).status == OrderStatus.FULFILLED
    assert payments.check_ledgers(now=now).differences == 0


def test_running_or_starting_a_move_again_changes_nothing_more(sale, arena, organizer, now):
    # given a move that ran to the end
    sold(sale, now)
    change = start(sale, arena, organizer, now)
    run_all(change, now)
    before = {
        "units": list(InventoryUnit.objects.order_by("pk").values()),
        "tickets": list(Ticket.objects.order_by("pk").values()),
        "lines": list(OrderLine.objects.order_by("pk").values()),
        "revocations": Revocation.objects.count(),
        "markers": list(SessionChangeOrder.objects.order_by("pk").values()),
    }

    # when it runs again and is started again
    run_all(change, now)
    again = start(sale, arena, organizer, now)

    # then it is the same change and nothing more changed
    assert again.pk == change.pk
    assert SessionChange.objects.count() == 1
    assert before == {
        "units": list(InventoryUnit.objects.order_by("pk").values()),
        "tickets": list(Ticket.objects.order_by("pk").values()),
        "lines": list(OrderLine.objects.order_by("pk").values()),
        "revocations": Revocation.objects.count(),
        "markers": list(SessionChangeOrder.objects.order_by("pk").values()),
    }


def test_a_move_stopped_halfway_resumes_with_the_orders_still_pending(sale, arena, organizer, now):
    # given a move whose job dealt with one batch of two orders and stopped
    paid = sold(sale, now)
    change = start(sale, arena, organizer, now)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert changes.run_batch(change_id=change.pk, now=now, limit=2) == 1
    assert places(paid[2]) == [("S2", "A", "1"), ("S2", "A", "2"), ("S2", "A", "3")]

    # when it runs again
    run_all(change, now)

    # then the last order is moved too, each ticket reissued once
    assert places(paid[2]) == [("S3", "A", "1"), ("S3", "A", "2"), ("S3", "A", "3")]
    assert set(Ticket.objects.values_list("version", flat=True)) == {2}
    assert Revocation.objects.filter(reason="moved").count() == 6


def test_a_move_to_a_layout_short_of_places_is_refused_with_the_shortfall(sale, organizer, now):
    # given 3 places sold in zone A and 3 in zone B, and a small hall of one 2-seat section
    sold(sale, now)
    hall = make_layout(
        venue=make_venue(name="小剧场", name_en="Small Hall"), sections=1, rows=1, seats_per_row=2
    )
    section = Section.objects.get(layout=hall)
    session_before = Session.objects.filter(pk=sale.session.pk).values().get()
    units_before = list(InventoryUnit.objects.order_by("pk").values())

    # when the organizer moves the session there with both zones in that section
    with pytest.raises(MoveShortfall) as refused:
        changes.start_move(
            session=sale.session,
            layout=hall,
            zones={section.pk: sale.zones["A"].pk},
            section_map={},
            refund_until=None,
            actor=organizer,
            reason="Smaller crowd",
            now=now,
        )

    # then the error lists each zone short of places, and nothing changed
    assert refused.value.details == {
        "zone:A": {"sold": 3, "places": 2},
        "zone:B": {"sold": 3, "places": 0},
    }
    assert "3" in str(refused.value.message) and "2" in str(refused.value.message)
    assert not SessionChange.objects.exists()
    assert Session.objects.filter(pk=sale.session.pk).values().get() == session_before
    assert list(InventoryUnit.objects.order_by("pk").values()) == units_before


def test_a_move_with_bad_input_is_refused(sale, arena, organizer, now):
    sold(sale, now)
    for overrides in (
        {"layout": sale.layout},  # its own layout
        {"zones": {}},
        {"zones": {arena["S1"].pk: 999999}},  # not a zone of the session
        {"zones": {sale.sections["S1"].pk: sale.zones["A"].pk}},  # not a section of the arena
        {"section_map": {arena["S1"].pk: arena["S2"].pk}},  # not an old section
        {"zones": {"x": "y"}},
    ):
        with pytest.raises(MoveInvalid):
            start(sale, arena, organizer, now, **overrides)
    assert not SessionChange.objects.exists()
    assert Session.objects.get(pk=sale.session.pk).layout_id == sale.layout.pk


def test_while_a_move_runs_the_new_venues_places_are_kept_for_the_ticket_holders(
    sale, arena, organizer, now
):
    # given a full zone B at the old venue (8 sold) and a move not yet run by a worker
    holders = [bought(sale, make_buyer(), [seat], now, section="S2") for seat in range(1, 9)]
    change = start(sale, arena, organizer, now, section_map={})
    buyer = make_buyer()
    zone_b = sale.zones["B"]

    # when a buyer asks for zone B places before the job has moved anyone
    with pytest.raises(PlacesUnavailable):
        inventory.hold_quantity(session=sale.session, user=buyer, zone=zone_b, quantity=2, now=now)
    with pytest.raises(PlacesUnavailable):
        sale_services.checkout(
            session_id=sale.session.pk,
            user=buyer,
            choice=PlaceChoice.parse({"zone": zone_b.pk, "quantity": 2}),
            now=now,
            provider="sandbox",
        )

    # then nothing was taken; once the job is done every holder has a place at the arena
    assert not Hold.objects.filter(user=buyer).exists()
    run_all(change, now)
    assert changes.progress(change)["status"] == "done"
    for order in holders:
        assert places(order)[0][0] in ("S2", "S3")
        assert OrderLine.objects.get(order=order).unit.section.layout_id == arena["layout"].pk
    # and the arena's other places are on sale
    held = inventory.hold_quantity(
        session=sale.session, user=buyer, zone=zone_b, quantity=2, now=now
    )
    assert held.quantity == 2
    assert not InventoryUnit.objects.filter(session=sale.session, block_reason="moving").exists()


def test_a_moved_place_keeps_its_buyer_channel_and_allocation(sale, arena, organizer, now):
    # given a fan's two places, and a place a distributor sold from its allocation
    paid = sold(sale, now)
    channel = make_channel(organization=sale.session.event.organization, code="move-dist")
    line_ids = list(OrderLine.objects.filter(order=paid[1]).values_list("pk", flat=True))
    InventoryUnit.objects.filter(order_line_id__in=line_ids).update(
        channel=channel, allocation_id=77
    )
    fan = paid[0].user
    assert inventory_selectors.count_account_units(session=sale.session, user=fan, now=now) == 2

    # when the session moves
    run_all(start(sale, arena, organizer, now), now)

    # then the fan's places still count against the per-account limit
    assert inventory_selectors.count_account_units(session=sale.session, user=fan, now=now) == 2
    # and the distributor's sold place is still its own, the old place no longer
    [moved] = InventoryUnit.objects.filter(order_line_id__in=line_ids)
    assert moved.section.layout_id == arena["layout"].pk
    assert (moved.channel_id, moved.allocation_id) == (channel.pk, 77)
    assert not InventoryUnit.objects.filter(
        session=sale.session, section__layout=sale.layout, allocation_id=77
    ).exists()
