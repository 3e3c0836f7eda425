"""An organizer's session on sale, a distributor with a channel, and their members."""

from dataclasses import dataclass

from django.utils import timezone

from tessera.accounts.models import Membership, Organization, OrganizationKind, Role
from tessera.accounts.tests.factories import make_organization, make_user
from tessera.catalog.tests.factories import make_event
from tessera.inventory.models import SalesChannel
from tessera.inventory.tests.factories import SaleSetup, make_channel, make_sale

PASSWORD = "pass-word-42"


@dataclass
class World:
    sale: SaleSetup
    organizer: Organization
    distributor: Organization
    channel: SalesChannel

    @property
    def session(self):
        return self.sale.session


def member(org: Organization, username: str, role: str = Role.STAFF, **fields):
    user = make_user(username=username, password=PASSWORD, **fields)
    Membership.objects.create(user=user, organization=org, role=role)
    return user


def make_distributor(
    name: str = "大麦分销",
    *,
    name_en: str = "Damai Resale",
    sells_open_pool: bool = True,
    code=None,
):
    org = make_organization(kind=OrganizationKind.DISTRIBUTOR, name=name, name_en=name_en)
    channel = make_channel(
        organization=org,
        code=code,
        name=f"{name}渠道",
        name_en=f"{name_en} channel",
        sells_open_pool=sells_open_pool,
    )
    return org, channel


def make_world(*, sells_open_pool: bool = True, now=None, **sale_fields) -> World:
    """Blocks S1 (zone A) and S2 (zone B) of 3 rows × 10 seats and a standing area GA
    (zone GA) of 20 places, of an organizer's event on sale; a distributor and its channel."""
    now = now or timezone.now()
    organizer = make_organization(kind=OrganizationKind.ORGANIZER, name="星光演艺")
    event = make_event(organization=organizer, name="星光演唱会", name_en="Starlight Live")
    sale = make_sale(
        sections=2,
        rows=3,
        seats_per_row=10,
        standing_capacity=20,
        now=now,
        event=event,
        **sale_fields,
    )
    distributor, channel = make_distributor(sells_open_pool=sells_open_pool)
    return World(sale=sale, organizer=organizer, distributor=distributor, channel=channel)
