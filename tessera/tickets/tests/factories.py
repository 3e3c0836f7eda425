"""Builders of paid orders with sold places, straight through the ORM (the inventory and
orders services are tested in their own apps)."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tessera.accounts.tests.factories import make_user
from tessera.catalog.tests.factories import make_event, make_session, make_zone
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.orders.models import Order, OrderLine, OrderStatus
from tessera.venues.models import Seat, Section, SectionKind
from tessera.venues.tests.factories import make_layout, make_venue

_seq = itertools.count(1)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
# 19:30 in Shanghai on 2026-12-25.
SESSION_START = datetime(2026, 12, 25, 11, 30, tzinfo=UTC)


def make_ticketed_session(
    *, seats: int = 4, standing_capacity: int = 0, starts_at=None, **session_fields
):
    """A session at a venue in Shanghai with one seated block of ``seats`` seats in row A
    (and a standing area), one price zone ¥380 and the Chinese event name 星光演唱会."""
    venue = make_venue(
        name="星光体育馆",
        name_en="Starlight Arena",
        time_zone="Asia/Shanghai",
        address="上海市浦东新区星光路1号",
        address_en="1 Starlight Road, Shanghai",
    )
    layout = make_layout(
        venue=venue, sections=1, rows=1, seats_per_row=seats, standing_capacity=standing_capacity
    )
    event = make_event(name="星光演唱会", name_en="Starlight Concert")
    starts_at = starts_at or SESSION_START
    session = make_session(event=event, layout=layout, starts_at=starts_at, **session_fields)
    zone = make_zone(session=session, code="A", price="380.00", name="看台A区", name_en="Stand A")
    return session, zone


def make_paid_order(
    *,
    session=None,
    zone=None,
    user=None,
    seats: int = 2,
    standing: int = 0,
    attendee_names: list[str] | None = None,
    status: str = OrderStatus.PAID,
    now: datetime = NOW,
) -> Order:
    """An order of ``seats`` seats then ``standing`` standing places, every place sold to
    its line. ``attendee_names`` fill the lines' attendee names in that order."""
    if session is None:
        session, zone = make_ticketed_session(
            seats=max(seats, 1), standing_capacity=max(standing, 1)
        )
    user = user or make_user(display_name="王小明")
    layout_sections = Section.objects.filter(layout=session.layout)
    taken = set(
        InventoryUnit.objects.filter(session=session, seat__isnull=False).values_list(
            "seat_id", flat=True
        )
    )
    free_seats = [
        seat
        for seat in Seat.objects.filter(section__layout=session.layout)
        .select_related("row", "section")
        .order_by("id")
        if seat.pk not in taken
    ]
    standing_section = layout_sections.filter(kind=SectionKind.STANDING).first()
    places = [(seat.section, seat) for seat in free_seats[:seats]]
    places += [(standing_section, None)] * standing
    n = next(_seq)
    order = Order.objects.create(
        number=f"T{n:09d}",
        user=user,
        session=session,
        status=status,
        total=zone.price * len(places),
        currency="CNY",
        email="buyer@example.com",
        created_at=now - timedelta(minutes=5),
        expires_at=now + timedelta(minutes=10),
        paid_at=now if status != OrderStatus.PENDING_PAYMENT else None,
    )
    names = list(attendee_names or [])
    for i, (section, seat) in enumerate(places):
        unit = InventoryUnit.objects.create(session=session, zone=zone, section=section, seat=seat)
        line = OrderLine.objects.create(
            order=order,
            unit=unit,
            zone=zone,
            section_code=section.code,
            section_name=section.name,
            row_label=seat.row.label if seat else "",
            seat_label=seat.label if seat else "",
            zone_name=zone.name,
            price=Decimal(zone.price),
            currency="CNY",
            attendee_name=names[i] if i < len(names) else "",
        )
        if status != OrderStatus.PENDING_PAYMENT:
            InventoryUnit.objects.filter(pk=unit.pk).update(
                status=UnitStatus.SOLD, order_line_id=line.pk
            )
    return order
