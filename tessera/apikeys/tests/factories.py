"""Partners with channels, members and keys for the key pages' tests."""

from dataclasses import dataclass

from django.utils import timezone

from tessera.accounts.models import Organization, OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.apikeys import services
from tessera.inventory.models import SalesChannel
from tessera.inventory.tests.factories import make_channel
from tessera.partners.scopes import ALL_SCOPES
from tessera.sale.models import ChannelKey


@dataclass
class Partner:
    org: Organization
    channel: SalesChannel
    owner: object
    finance: object


def make_partner(*, slug: str, name: str | None = None) -> Partner:
    org = make_organization(
        kind=OrganizationKind.DISTRIBUTOR, name=name or f"分销商{slug}", slug=slug, name_en=slug
    )
    return Partner(
        org=org,
        channel=make_channel(organization=org, code=f"{slug}-api"),
        owner=make_member(organization=org, role=Role.OWNER, username=f"{slug}-owner"),
        finance=make_member(organization=org, role=Role.FINANCE, username=f"{slug}-finance"),
    )


def make_key(
    partner: Partner, *, now=None, scopes=None, rate=0, sandbox=False, expires_at=None, name="ERP"
) -> tuple[ChannelKey, str]:
    return services.create_key(
        partner=partner.org,
        name=name,
        scopes=list(ALL_SCOPES) if scopes is None else scopes,
        rate_limit_per_minute=rate,
        expires_at=expires_at,
        sandbox=sandbox,
        actor=partner.owner,
        now=now or timezone.now(),
    )
