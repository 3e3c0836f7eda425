"""A session at the gates: paid tickets, two gates, a device and its token."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tessera.checkin import services
from tessera.checkin.models import CheckinSettings, Device, Gate
from tessera.tickets import services as ticket_services
from tessera.tickets.models import Ticket
from tessera.tickets.tests.factories import (
    NOW,
    SESSION_START,
    make_paid_order,
    make_ticketed_session,
)

# Inside the credentials' validity (issued at NOW, valid until start + 12 h).
AT_GATE = SESSION_START - timedelta(hours=1)


@dataclass
class Gates:
    session: object
    zone: object
    tickets: list[Ticket]
    credentials: list[str]
    north: Gate
    south: Gate
    device: Device
    token: str
    settings: CheckinSettings


def make_gates(*, tickets: int = 3, names: list[str] | None = None, **settings) -> Gates:
    session, zone = make_ticketed_session(seats=max(tickets, 1))
    order = make_paid_order(
        session=session, zone=zone, seats=tickets, attendee_names=names or ["王小明", "Li Lei"]
    )
    issued = ticket_services.issue_tickets(order=order, now=NOW)
    creds = [ticket_services.credential_for(ticket=t, now=NOW) for t in issued]
    north = Gate.objects.create(session=session, name="北门", name_en="North gate", sort_order=1)
    south = Gate.objects.create(session=session, name="南门", name_en="South gate", sort_order=2)
    checkin_settings = CheckinSettings.objects.create(session=session, **settings)
    device, token = services.register_device(
        organization=session.event.organization, name="Gate phone 1", now=NOW
    )
    return Gates(session, zone, issued, creds, north, south, device, token, checkin_settings)


def at(minutes: float) -> datetime:
    return AT_GATE + timedelta(minutes=minutes)


__all__ = ["AT_GATE", "NOW", "UTC", "Gates", "at", "make_gates"]
