import itertools
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from tessera.accounts.tests.factories import make_organization
from tessera.catalog.models import Event, EventKind, EventStatus, PriceZone, Session
from tessera.venues.tests.factories import make_layout

_seq = itertools.count(1)


def make_event(*, organization=None, kind: str = EventKind.CONCERT,
               status: str = EventStatus.PUBLISHED, **fields) -> Event:
    n = next(_seq)
    return Event.objects.create(
        organization=organization or make_organization(), kind=kind, status=status,
        name=fields.pop("name", f"演出{n}"), name_en=fields.pop("name_en", f"Show {n}"),
        slug=fields.pop("slug", f"event-{n}"), **fields,
    )


def make_session(*, event=None, layout=None, starts_at=None, **fields) -> Session:
    starts_at = starts_at or timezone.now() + timedelta(days=30)
    return Session.objects.create(
        event=event or make_event(), layout=layout or make_layout(), starts_at=starts_at,
        ends_at=fields.pop("ends_at", starts_at + timedelta(hours=2)), **fields,
    )


def make_zone(*, session, code: str = "A", price: str = "380.00", **fields) -> PriceZone:
    return PriceZone.objects.create(
        session=session, code=code, name=fields.pop("name", f"{code}区"),
        name_en=fields.pop("name_en", f"Zone {code}"), price=Decimal(price), **fields,
    )
