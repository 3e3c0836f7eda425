import itertools
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from tessera.accounts.tests.factories import make_organization
from tessera.catalog.models import Event, EventKind, EventStatus, PriceZone, Session
from tessera.venues.tests.factories import make_layout

_seq = itertools.count(1)


def make_event(
    *,
    organization=None,
    kind: str = EventKind.CONCERT,
    status: str = EventStatus.PUBLISHED,
    **fields,
) -> Event:
    n = next(_seq)
    return Event.objects.create(
        organization=organization or make_organization(),
        kind=kind,
        status=status,
        name=fields.pop("name", f"演出{n}"),
        name_en=fields.pop("name_en", f"Show {n}"),
        slug=fields.pop("slug", f"event-{n}"),
        **fields,
    )


def make_session(*, event=None, layout=None, starts_at=None, **fields) -> Session:
    starts_at = starts_at or timezone.now() + timedelta(days=30)
    return Session.objects.create(
        event=event or make_event(),
        layout=layout or make_layout(),
        starts_at=starts_at,
        ends_at=fields.pop("ends_at", starts_at + timedelta(hours=2)),
        **fields,
    )


def make_zone(*, session, code: str = "A", price: str = "380.00", **fields) -> PriceZone:
    return PriceZone.objects.create(
        session=session,
        code=code,
        name=fields.pop("name", f"{code}区"),
        name_en=fields.pop("name_en", f"Zone {code}"),
        price=Decimal(price),
        **fields,
    )


# -- added by the catalog engineer -------------------------------------------------------


def make_tag(**fields):
    from tessera.catalog.models import Tag

    n = next(_seq)
    return Tag.objects.create(
        slug=fields.pop("slug", f"tag-{n}"),
        name=fields.pop("name", f"标签{n}"),
        name_en=fields.pop("name_en", f"Tag {n}"),
        **fields,
    )


def make_competition(*, organization=None, **fields):
    from tessera.catalog.models import Competition, CompetitionKind

    n = next(_seq)
    return Competition.objects.create(
        organization=organization or make_organization(),
        kind=fields.pop("kind", CompetitionKind.LEAGUE),
        name=fields.pop("name", f"联赛{n}"),
        name_en=fields.pop("name_en", f"League {n}"),
        slug=fields.pop("slug", f"league-{n}"),
        **fields,
    )


def make_season(*, competition=None, **fields):
    from datetime import date

    from tessera.catalog.models import Season

    return Season.objects.create(
        competition=competition or make_competition(),
        name=fields.pop("name", "2025赛季"),
        name_en=fields.pop("name_en", "2025 season"),
        starts_on=fields.pop("starts_on", date(2025, 3, 1)),
        ends_on=fields.pop("ends_on", date(2025, 11, 30)),
        **fields,
    )


def make_team(*, organization=None, **fields):
    from tessera.catalog.models import Team

    n = next(_seq)
    return Team.objects.create(
        organization=organization or make_organization(),
        name=fields.pop("name", f"球队{n}"),
        name_en=fields.pop("name_en", f"Team {n}"),
        slug=fields.pop("slug", f"team-{n}"),
        **fields,
    )


def make_artist(**fields):
    from tessera.catalog.models import Artist

    n = next(_seq)
    return Artist.objects.create(
        name=fields.pop("name", f"歌手{n}"),
        name_en=fields.pop("name_en", f"Singer {n}"),
        slug=fields.pop("slug", f"artist-{n}"),
        **fields,
    )


def make_tour(*, organization=None, artist=None, **fields):
    from tessera.catalog.models import Tour

    n = next(_seq)
    return Tour.objects.create(
        organization=organization or make_organization(),
        artist=artist or make_artist(),
        name=fields.pop("name", f"巡演{n}"),
        name_en=fields.pop("name_en", f"Tour {n}"),
        slug=fields.pop("slug", f"tour-{n}"),
        **fields,
    )
