import itertools
from dataclasses import dataclass, field

from django.utils import timezone

from tessera.accounts.models import OrganizationKind
from tessera.accounts.tests.factories import make_organization, make_user
from tessera.catalog.models import PriceZone, Session, ZoneAssignment
from tessera.catalog.tests.factories import make_session, make_zone
from tessera.inventory.models import InventoryUnit, SalesChannel
from tessera.inventory.services import generate_units
from tessera.venues.models import Layout, Section
from tessera.venues.tests.factories import make_layout

_seq = itertools.count(1)


@dataclass
class SaleSetup:
    """A session on sale with its zones and units.

    Sections S1, S2, … each make one zone (codes A, B, …, section-level assignments); the
    standing area GA, when asked for, is zone "GA".
    """

    session: Session
    layout: Layout
    zones: dict[str, PriceZone]
    sections: dict[str, Section]
    units_created: int
    extra: dict = field(default_factory=dict)

    def units(self, section: str | None = None):
        qs = InventoryUnit.objects.filter(session=self.session)
        if section is not None:
            qs = qs.filter(section=self.sections[section])
        return qs.order_by("id")

    def seat_unit(self, section: str, row: str, seat: int) -> InventoryUnit:
        """The unit of seat ``row``-``seat`` (label, 1-based) of ``section``."""
        return InventoryUnit.objects.get(
            session=self.session,
            section=self.sections[section],
            seat__row__label=row,
            seat__label=str(seat),
        )

    def seat_units(self, section: str, row: str, seats) -> list[InventoryUnit]:
        return [self.seat_unit(section, row, n) for n in seats]


def make_sale(
    *,
    sections: int = 2,
    rows: int = 3,
    seats_per_row: int = 10,
    standing_capacity: int = 0,
    generate: bool = True,
    now=None,
    **session_fields,
) -> SaleSetup:
    """A published session on a small layout (``make_layout``), one price zone per section
    and, with ``generate``, its inventory units."""
    now = now or timezone.now()
    layout = make_layout(
        sections=sections,
        rows=rows,
        seats_per_row=seats_per_row,
        standing_capacity=standing_capacity,
    )
    session = make_session(layout=layout, **session_fields)
    zones: dict[str, PriceZone] = {}
    by_code = {s.code: s for s in Section.objects.filter(layout=layout)}
    for i in range(sections):
        code = chr(ord("A") + i)
        zones[code] = make_zone(
            session=session, code=code, price=f"{380 - 100 * i}.00", sort_order=i
        )
        ZoneAssignment.objects.create(
            session=session, zone=zones[code], section=by_code[f"S{i + 1}"]
        )
    if standing_capacity:
        zones["GA"] = make_zone(session=session, code="GA", price="180.00", sort_order=sections)
        ZoneAssignment.objects.create(session=session, zone=zones["GA"], section=by_code["GA"])
    created = generate_units(session=session, now=now) if generate else 0
    return SaleSetup(
        session=session, layout=layout, zones=zones, sections=by_code, units_created=created
    )


def make_channel(*, organization=None, code: str | None = None, **fields) -> SalesChannel:
    n = next(_seq)
    return SalesChannel.objects.create(
        organization=organization or make_organization(kind=OrganizationKind.DISTRIBUTOR),
        code=code or f"channel-{n}",
        name=fields.pop("name", f"渠道{n}"),
        name_en=fields.pop("name_en", f"Channel {n}"),
        **fields,
    )


def make_buyer(**fields):
    """A fan who never signs in with a password (tests use force_login): no Argon2 cost."""
    return make_user(password=None, **fields)
