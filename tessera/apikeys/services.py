"""What partners do with their API keys, and the sandbox world.

Each entry point is one transaction, audited (``sale.channels`` audits issue, revoke and
expiry; this module the reveal and the sandbox). A partner's key is a ``ChannelKey`` of one
of its sales channels (``SalesChannel.organization`` = the partner) or of its sandbox
channel (``SandboxWorld.channel``); ``selectors.partner_keys`` is the one scoping.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from tessera.accounts.models import Organization, OrganizationKind
from tessera.apikeys.errors import (
    ChannelMissing,
    KeyInputInvalid,
    KeyNotUsable,
    NotADistributor,
)
from tessera.apikeys.models import KeyReveal, SandboxWorld
from tessera.catalog.models import (
    Event,
    EventKind,
    EventStatus,
    PriceZone,
    Session,
    ZoneAssignment,
)
from tessera.core import audit
from tessera.inventory.models import InventoryUnit, SalesChannel
from tessera.inventory.services import allocate_channel, generate_units
from tessera.partners.scopes import ALL_SCOPES
from tessera.sale import channels
from tessera.sale.models import ChannelKey
from tessera.venues.generator import LayoutSpec, generate_layout
from tessera.venues.models import City, Venue

REVEAL_MINUTES = 10
MAX_RATE_PER_MINUTE = 100_000
MAX_OVERLAP_HOURS = 24 * 30
NAME_LENGTH = 80


def _require_distributor(partner: Organization) -> None:
    if partner.kind != OrganizationKind.DISTRIBUTOR or partner.is_sandbox:
        raise NotADistributor()


def _clean_name(name) -> str:
    if not isinstance(name, str):
        raise KeyInputInvalid(details={"field": "name"})
    name = name.strip()
    if not name or len(name) > NAME_LENGTH:
        raise KeyInputInvalid(details={"field": "name"})
    return name


def _clean_scopes(scopes) -> list[str]:
    if not isinstance(scopes, list | tuple) or not scopes:
        raise KeyInputInvalid(details={"field": "scopes"})
    chosen = set(scopes)
    if not chosen <= set(ALL_SCOPES):
        raise KeyInputInvalid(details={"field": "scopes"})
    return [s for s in ALL_SCOPES if s in chosen]


def _clean_rate(rate) -> int:
    if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= MAX_RATE_PER_MINUTE:
        raise KeyInputInvalid(details={"field": "rate_limit_per_minute"})
    return rate


def live_channels(partner: Organization):
    """The partner's own sales channels (never a sandbox one)."""
    return SalesChannel.objects.filter(organization=partner, is_active=True).order_by("code")


def create_key(
    *,
    partner: Organization,
    name: str,
    scopes: list[str],
    rate_limit_per_minute: int,
    expires_at: datetime | None,
    actor,
    now: datetime,
    channel: SalesChannel | None = None,
    sandbox: bool = False,
) -> tuple[ChannelKey, str]:
    """A new key of the partner: for ``channel`` (one of the partner's; default its first)
    or, with ``sandbox``, for its sandbox channel (the world is created when missing). The
    key is kept sealed for its creator to see once (``take_reveal``).

    Raises NotADistributor, ChannelMissing, KeyInputInvalid (name, scopes, rate, an expiry
    in the past)."""
    _require_distributor(partner)
    name = _clean_name(name)
    scopes = _clean_scopes(scopes)
    rate = _clean_rate(rate_limit_per_minute)
    if expires_at is not None and expires_at <= now:
        raise KeyInputInvalid(details={"field": "expires_on"})
    if sandbox:
        channel = create_sandbox(partner=partner, actor=actor, now=now).channel
    elif channel is None:
        channel = live_channels(partner).first()
        if channel is None:
            raise ChannelMissing()
    elif channel.organization_id != partner.pk or not channel.is_active:
        raise ChannelMissing()
    with transaction.atomic():
        row, key = channels.issue_key(
            channel=channel,
            name=name,
            actor=actor,
            now=now,
            expires_at=expires_at,
            scopes=scopes,
            rate_limit_per_minute=rate,
            is_sandbox=sandbox,
        )
        _keep_for_reveal(row, key, actor, now)
    return row, key


def _keep_for_reveal(row: ChannelKey, key: str, actor, now: datetime) -> None:
    if getattr(actor, "pk", None):
        KeyReveal.objects.create(key=row, user=actor, secret=key.encode(), created_at=now)


def take_reveal(*, key: ChannelKey, user, now: datetime) -> str | None:
    """The key, once, for the user who created it within REVEAL_MINUTES; None after that
    (the sealed copy is deleted either way)."""
    with transaction.atomic():
        reveal = KeyReveal.objects.select_for_update().filter(key=key, user=user).first()
        if reveal is None:
            return None
        secret = bytes(reveal.secret).decode()
        KeyReveal.objects.filter(pk=reveal.pk).delete()
        fresh = reveal.created_at > now - timedelta(minutes=REVEAL_MINUTES)
        audit.record(
            action="channel_key.shown",
            obj=key,
            actor=user,
            organization_id=key.channel.organization_id,
            now=now,
            data={"prefix": key.prefix, "shown": fresh},
        )
    return secret if fresh else None


def forget_stale_reveals(*, now: datetime) -> int:
    """Delete sealed keys nobody came to see (a periodic tidy; reading refuses them anyway)."""
    deleted, _ = KeyReveal.objects.filter(
        created_at__lte=now - timedelta(minutes=REVEAL_MINUTES)
    ).delete()
    return deleted


CALL_COUNT_DAYS = 90


def prune_call_counts(*, now: datetime) -> int:
    """Delete call counts older than CALL_COUNT_DAYS (the console shows the last week)."""
    from tessera.apikeys.models import KeyCallCount

    deleted, _ = KeyCallCount.objects.filter(
        hour__lt=now - timedelta(days=CALL_COUNT_DAYS)
    ).delete()
    return deleted


def revoke_key(*, key: ChannelKey, actor, now: datetime) -> ChannelKey:
    """Revoke now (every process within ``channels.KEY_CACHE_SECONDS``)."""
    return channels.revoke_key(key=key, actor=actor, now=now)


def rotate_key(
    *, key: ChannelKey, overlap_hours: int, actor, now: datetime
) -> tuple[ChannelKey, str]:
    """A new key with the old one's channel, name, scopes, rate and world; the old key keeps
    working for ``overlap_hours`` (0: it stops now) and then expires. The new key keeps the
    old one's expiry when that lies after the overlap, else it has none.

    Raises KeyNotUsable (revoked or expired), KeyInputInvalid (overlap)."""
    if (
        isinstance(overlap_hours, bool)
        or not isinstance(overlap_hours, int)
        or not 0 <= overlap_hours <= MAX_OVERLAP_HOURS
    ):
        raise KeyInputInvalid(details={"field": "overlap_hours"})
    with transaction.atomic():
        old = ChannelKey.objects.select_for_update().select_related("channel").get(pk=key.pk)
        if not old.is_usable(now):
            raise KeyNotUsable()
        overlap_ends = now + timedelta(hours=overlap_hours)
        keeps = old.expires_at if old.expires_at and old.expires_at > overlap_ends else None
        row, secret = channels.issue_key(
            channel=old.channel,
            name=old.name,
            actor=actor,
            now=now,
            expires_at=keeps,
            scopes=list(old.scopes or []),
            rate_limit_per_minute=old.rate_limit_per_minute,
            is_sandbox=old.is_sandbox,
            rotated_from=old,
        )
        if overlap_hours == 0:
            channels.revoke_key(key=old, actor=actor, now=now)
        else:
            channels.expire_key(key=old, expires_at=overlap_ends, actor=actor, now=now)
        _keep_for_reveal(row, secret, actor, now)
    return row, secret


# -- the sandbox world ----------------------------------------------------------------------------

SANDBOX_SPEC = LayoutSpec(
    kind="theatre",
    tiers=1,
    sections_per_tier=2,
    rows=4,
    seats_per_row=10,
    accessible_every=0,
    restricted_every=0,
)
SANDBOX_ZONES = (("A", "A区", "Zone A", "280.00"), ("B", "B区", "Zone B", "180.00"))


def _unique_slug(model, base: str, length: int) -> str:
    base = (slugify(base) or "partner")[: length - 8]
    slug, n = base, 1
    while model.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_sandbox(*, partner: Organization, actor, now: datetime) -> SandboxWorld:
    """The partner's sandbox world, created when missing (idempotent): a sandbox
    organization, a small theatre, an event with two sessions (in 30 and 31 days), two
    price zones and every place allocated to the partner's sandbox channel.

    Raises NotADistributor."""
    _require_distributor(partner)
    found = SandboxWorld.objects.filter(partner=partner).select_related("channel").first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            Organization.objects.select_for_update().get(pk=partner.pk)
            found = SandboxWorld.objects.filter(partner=partner).first()
            if found is not None:
                return found
            world = _build_world(partner, actor, now)
    except IntegrityError:  # created meanwhile by another request
        return SandboxWorld.objects.select_related("channel").get(partner=partner)
    return world


def _build_world(partner: Organization, actor, now: datetime) -> SandboxWorld:
    english = partner.name_en or partner.name
    org = Organization.objects.create(
        kind=OrganizationKind.ORGANIZER,
        name=f"{partner.name}（沙箱）"[:120],
        name_en=f"{english} (sandbox)"[:120],
        slug=_unique_slug(Organization, f"sandbox-{partner.slug}", 60),
        is_sandbox=True,
    )
    channel = SalesChannel.objects.create(
        organization=org,
        code=_unique_code(f"sandbox-{partner.slug}"),
        name=f"{partner.name} 沙箱渠道"[:80],
        name_en=f"{english} sandbox"[:80],
    )
    city = City.objects.order_by("pk").first() or City.objects.create(
        name="沙箱市", name_en="Sandbox City", slug=_unique_slug(City, "sandbox-city", 60)
    )
    venue = Venue.objects.create(
        organization=org,
        city=city,
        name="沙箱剧场",
        name_en="Sandbox Theatre",
        slug=_unique_slug(Venue, f"sandbox-{partner.slug}", 80),
    )
    layout = generate_layout(
        venue=venue, spec=SANDBOX_SPEC, name="沙箱", name_en="Sandbox", actor=actor
    )
    event = Event.objects.create(
        organization=org,
        kind=EventKind.CONCERT,
        status=EventStatus.PUBLISHED,
        name="沙箱演出",
        name_en="Sandbox concert",
        slug=_unique_slug(Event, f"sandbox-{partner.slug}", 120),
        description="仅用于接口测试，不会对外销售。",
        description_en="For API tests only; never sold to the public.",
    )
    zone = ZoneInfo(venue.time_zone)
    sections = list(layout.sections.order_by("sort_order", "pk"))
    for days in (30, 31):
        day = (now + timedelta(days=days)).astimezone(zone).date()
        starts_at = datetime.combine(day, time(19, 30), tzinfo=zone)
        session = Session.objects.create(
            event=event, layout=layout, starts_at=starts_at, ends_at=starts_at + timedelta(hours=2)
        )
        for i, (code, name, name_en, price) in enumerate(SANDBOX_ZONES):
            price_zone = PriceZone.objects.create(
                session=session, code=code, name=name, name_en=name_en, price=price, sort_order=i
            )
            for section in sections[i :: len(SANDBOX_ZONES)]:
                ZoneAssignment.objects.create(session=session, zone=price_zone, section=section)
        generate_units(session=session, now=now, actor=actor)
        allocate_channel(
            session=session,
            unit_ids=list(
                InventoryUnit.objects.filter(session=session).values_list("pk", flat=True)
            ),
            channel=channel,
            actor=actor,
            now=now,
        )
    world = SandboxWorld.objects.create(
        partner=partner, organization=org, channel=channel, created_at=now
    )
    audit.record(
        action="apikeys.sandbox_created",
        obj=world,
        actor=actor,
        organization_id=partner.pk,
        now=now,
        data={"organization": org.slug, "channel": channel.code, "event": event.slug},
    )
    return world


def _unique_code(base: str) -> str:
    base = (slugify(base) or "sandbox")[:32]
    code, n = base, 1
    while SalesChannel.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    return code
