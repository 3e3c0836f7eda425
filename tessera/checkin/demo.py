"""Demo data of check-in: the next demo sessions get a north and a south gate (the south
gate lets only the first section in) and every organizer of them one scanner device whose
pairing code is ``DEMO-`` + the organization's slug in capitals (``DEMO-STARLIGHT-LIVE``,
``DEMO-HUAXIA-LEAGUE``) so the scanner can be tried at once."""

from __future__ import annotations

from datetime import datetime

from tessera.catalog.models import Session
from tessera.checkin.models import CheckinList, CheckinSettings, Device, Gate
from tessera.checkin.services import hash_token
from tessera.venues.models import Section

DEMO_SESSIONS = 6


def demo_token(organization) -> str:
    return f"DEMO-{organization.slug.upper()}"


def add_demo_checkin(*, now: datetime) -> list[Device]:
    sessions = list(
        Session.objects.filter(starts_at__gte=now)
        .select_related("event__organization")
        .order_by("starts_at")[:DEMO_SESSIONS]
    )
    devices: dict[int, Device] = {}
    for index, session in enumerate(sessions):
        CheckinSettings.objects.get_or_create(
            session=session,
            defaults={"is_reentry_allowed": index % 2 == 0, "uses_rotating_codes": index == 0},
        )
        north = Gate.objects.create(
            session=session, name="北门", name_en="North gate", sort_order=1
        )
        south = Gate.objects.create(
            session=session, name="南门", name_en="South gate", sort_order=2
        )
        everyone = CheckinList.objects.create(session=session, name="全场 All places")
        everyone.gates.add(north)
        first_section = Section.objects.filter(layout=session.layout).order_by("sort_order", "code")
        south_list = CheckinList.objects.create(session=session, name="南门 South stand")
        south_list.gates.add(south)
        if first_section.exists():
            south_list.sections.add(first_section.first())
        organization = session.event.organization
        if organization.pk not in devices:
            devices[organization.pk] = Device.objects.create(
                organization=organization,
                name="演示扫描器 Demo scanner",
                token_hash=hash_token(demo_token(organization)),
                token_hint=demo_token(organization)[:4],
                created_at=now,
            )
    return list(devices.values())
