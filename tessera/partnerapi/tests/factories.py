"""A small partner world: two organizers' sessions and two distributors with keys."""

from __future__ import annotations

from dataclasses import dataclass, field

from tessera.accounts.models import OrganizationKind
from tessera.accounts.tests.factories import make_organization
from tessera.catalog.services import set_policy
from tessera.inventory.models import SalesChannel
from tessera.inventory.services import allocate_channel
from tessera.inventory.tests.factories import SaleSetup, make_channel, make_sale
from tessera.sale import channels


@dataclass
class Distributor:
    organization: object
    channel: SalesChannel
    key: str
    keys_by_scope: dict[str, str] = field(default_factory=dict)

    @property
    def auth(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.key}"}


def make_distributor(*, code: str, name: str, now, scopes: list[str] | None = None) -> Distributor:
    org = make_organization(kind=OrganizationKind.DISTRIBUTOR, name=name, name_en=name)
    channel = make_channel(organization=org, code=code, name=name, name_en=name)
    _row, key = channels.issue_key(channel=channel, name="ERP", actor=None, now=now, scopes=scopes)
    return Distributor(organization=org, channel=channel, key=key)


def make_partner_sale(*, name: str, now, organization=None, **fields) -> SaleSetup:
    """A session on sale (zones A ¥380 and B ¥280 of 2 × 5 seats, standing GA ¥180 of 10)
    whose event is called ``name``; refundable up to 24 hours before, fee 5 %."""
    sale = make_sale(sections=2, rows=2, seats_per_row=5, standing_capacity=10, now=now, **fields)
    event = sale.session.event
    event.name = event.name_en = name
    if organization is not None:
        event.organization = organization
    event.save()
    set_policy(
        event=event,
        actor=None,
        now=now,
        is_refundable=True,
        refund_cutoff_hours=24,
        tiers=[(0, "5")],
    )
    return sale


def allocate(sale: SaleSetup, channel: SalesChannel | None, *, section: str | None, now) -> int:
    units = sale.units(section) if section else sale.units()
    return allocate_channel(
        session=sale.session,
        unit_ids=list(units.values_list("id", flat=True)),
        channel=channel,
        actor=None,
        now=now,
    )
