"""Benchmark data: a stadium of any size with a session on sale, and many buyers.

Written through the apps' own services (``venues.generator``, ``inventory.services``) where
they exist, and with bulk inserts for plain rows (users); sign-ins are session cookies made
by the session engine itself.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count

from tessera.accounts.models import Organization, OrganizationKind, User
from tessera.catalog.models import Event, EventKind, EventStatus, PriceZone, Session, ZoneAssignment
from tessera.inventory.models import InventoryUnit
from tessera.inventory.services import generate_units
from tessera.venues.generator import LayoutSpec, generate_layout
from tessera.venues.models import City, Layout, Section, SectionKind, Venue

BUYER_PASSWORD = "bench-Pass-2718"  # noqa: S105 - throw-away bench users
MAX_RULE = 32_767  # the limits are PositiveSmallIntegerFields
ZONES = (  # code, name, name_en, price: nearest third of the blocks is A, then B, C
    ("A", "A区", "Zone A", "880.00"),
    ("B", "B区", "Zone B", "580.00"),
    ("C", "C区", "Zone C", "380.00"),
    ("T", "站立看台", "Terrace", "180.00"),
)


def stadium_spec(places: int) -> LayoutSpec:
    """A two-tier stadium (the shape of ``LayoutSpec.stadium_60k``) of exactly ``places``
    places: seated blocks for about 97 % or less, one standing terrace for the rest."""
    base = LayoutSpec.stadium_60k()
    scale = math.sqrt(places / 60_000)
    rows = tuple(max(3, round(r * scale)) for r in base.rows)
    sections = [max(2, round(s * scale)) for s in base.sections_per_tier]
    while True:
        spec = replace(base, sections_per_tier=tuple(sections), rows=rows, terrace_capacity=1)
        if spec.seat_count <= places * 0.97 or sections == [1, 1]:
            break
        sections = [max(1, s - 1) for s in sections]
    if spec.seat_count >= places:
        raise SystemExit(f"{places} places are too few for a stadium (at least {spec.seat_count})")
    return replace(spec, terrace_capacity=places - spec.seat_count)


@dataclass
class Sale:
    session: Session
    layout: Layout
    zones: dict[str, PriceZone]
    capacity: int
    seated: int
    standing: int

    def zone_capacity(self) -> dict[str, int]:
        """Units per zone code."""
        by_id = dict(
            InventoryUnit.objects.filter(session=self.session)
            .values("zone_id")
            .annotate(n=Count("id"))
            .values_list("zone_id", "n")
        )
        return {code: by_id.get(zone.pk, 0) for code, zone in self.zones.items()}


_tag = secrets.token_hex(3)


def make_stadium(*, places: int, label: str) -> tuple[Venue, Layout, LayoutSpec]:
    """A venue with a generated stadium layout of ``places`` places."""
    operator = Organization.objects.create(
        kind=OrganizationKind.VENUE_OPERATOR,
        name=f"基准场馆方{label}",
        name_en=f"Bench venue operator {label}",
        slug=f"bench-operator-{label}-{_tag}",
    )
    city = City.objects.create(name="基准市", name_en="Bench City", slug=f"bench-{label}-{_tag}")
    venue = Venue.objects.create(
        organization=operator,
        city=city,
        name=f"基准体育场{label}",
        name_en=f"Bench Stadium {label}",
        slug=f"bench-stadium-{label}-{_tag}",
    )
    spec = stadium_spec(places)
    return venue, generate_layout(venue=venue, spec=spec), spec


def open_sale(*, layout: Layout, label: str, now: datetime, hold_minutes: int = 15) -> Sale:
    """A published session of ``layout``, on sale from an hour ago, with four price zones
    (blocks nearest the pitch are A, then B, C; the terrace is T), limits raised so any
    buyer may buy, and its inventory units."""
    organizer = Organization.objects.create(
        kind=OrganizationKind.ORGANIZER,
        name=f"基准主办方{label}",
        name_en=f"Bench organizer {label}",
        slug=f"bench-organizer-{label}-{_tag}",
    )
    event = Event.objects.create(
        organization=organizer,
        kind=EventKind.MATCH,
        status=EventStatus.PUBLISHED,
        name=f"基准赛{label}",
        name_en=f"Bench match {label}",
        slug=f"bench-match-{label}-{_tag}",
    )
    starts_at = now + timedelta(days=30)
    session = Session.objects.create(
        event=event,
        layout=layout,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        on_sale_from=now - timedelta(hours=1),
        max_tickets_per_order=100,
        max_tickets_per_account=MAX_RULE,
        hold_minutes=hold_minutes,
    )
    zones = {
        code: PriceZone.objects.create(
            session=session, code=code, name=name, name_en=name_en, price=price, sort_order=i
        )
        for i, (code, name, name_en, price) in enumerate(ZONES)
    }
    sections = list(Section.objects.filter(layout=layout))
    seated = [s for s in sections if s.kind != SectionKind.STANDING]
    seated.sort(
        key=lambda s: (math.hypot(s.label_x - layout.focal_x, s.label_y - layout.focal_y), s.pk)
    )
    assignments = []
    for i, section in enumerate(seated):
        assignments.append(
            ZoneAssignment(
                session=session, section=section, zone=zones["ABC"[3 * i // len(seated)]]
            )
        )
    assignments.extend(
        ZoneAssignment(session=session, section=s, zone=zones["T"])
        for s in sections
        if s.kind == SectionKind.STANDING
    )
    ZoneAssignment.objects.bulk_create(assignments)
    created = generate_units(session=session, now=now)
    standing = InventoryUnit.objects.filter(session=session, seat__isnull=True).count()
    return Sale(
        session=session,
        layout=layout,
        zones=zones,
        capacity=created,
        seated=created - standing,
        standing=standing,
    )


def make_buyers(*, count: int, prefix: str) -> list[User]:
    """``count`` fans with one known password (hashed once: Argon2 costs ~0.5 s a hash)."""
    password = make_password(BUYER_PASSWORD)
    users = [
        User(username=f"{prefix}{i:06d}", password=password, email=f"{prefix}{i:06d}@bench.test")
        for i in range(count)
    ]
    before = User.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with transaction.atomic():
        User.objects.bulk_create(users, batch_size=2_000)
    return list(User.objects.filter(id__gt=before, username__startswith=prefix).order_by("id"))


def sign_in_sessions(*, users: list[User], now: datetime) -> dict[int, str]:
    """A signed-in Django session for each user, as ``auth.login`` leaves it; returns
    user id → session cookie value. (Checking an Argon2 password costs ~0.5 s of CPU, so
    thousands of fans cannot sign in over HTTP on two cores in any useful time; they sign
    in before the on-sale, which is what this stands for.)

    The value comes from ``settings.SESSION_ENGINE``'s own store: with the signed-cookie
    engine it is the signed session itself and nothing is written to the database. Such a
    cookie carries the real time it was signed at (it lasts ``SESSION_COOKIE_AGE`` from
    then), not ``now``.
    """
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    backend = "django.contrib.auth.backends.ModelBackend"
    keys: dict[int, str] = {}
    for user in users:
        store = store_class()
        store.update(
            {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: backend,
                HASH_SESSION_KEY: user.get_session_auth_hash(),
            }
        )
        store.save()
        keys[user.pk] = store.session_key
    return keys
