"""A fan with a paid order of two tickets of 星光演唱会 (19:30 Shanghai, 2026-12-25), its
tickets issued, at a venue with an address, coordinates, two gates and a match-day guide."""

from dataclasses import dataclass
from decimal import Decimal

from tessera.accounts.tests.factories import make_user
from tessera.catalog.models import Session
from tessera.checkin.models import Gate
from tessera.notifications.models import MatchDayGuide
from tessera.orders.models import Order
from tessera.tickets import services as tickets
from tessera.tickets.tests.factories import NOW, make_paid_order, make_ticketed_session
from tessera.venues.models import Venue

__all__ = ["NOW", "Setup", "make_fan_with_tickets"]


@dataclass
class Setup:
    session: Session
    order: Order
    fan: object


def make_fan_with_tickets(*, language: str = "zh-hans", phone: str = "13800000001") -> Setup:
    session, zone = make_ticketed_session(seats=2)
    Venue.objects.filter(pk=session.layout.venue_id).update(
        latitude=Decimal("31.2304"), longitude=Decimal("121.4737")
    )
    Gate.objects.create(session=session, name="东门", name_en="East gate")
    Gate.objects.create(session=session, name="西门", name_en="West gate")
    MatchDayGuide.objects.create(
        session=session,
        what_to_bring="身份证、手机上的电子票",
        what_to_bring_en="Your ID card and the e-ticket on your phone",
        getting_there="地铁2号线星光路站3号口",
        getting_there_en="Metro line 2, Starlight Road, exit 3",
    )
    fan = make_user(
        display_name="王小明",
        email="wang@example.com",
        phone=phone,
        preferred_language=language,
    )
    order = make_paid_order(
        session=session, zone=zone, user=fan, attendee_names=["王小明", "韩梅梅"]
    )
    tickets.issue_tickets(order=order, now=NOW)
    session.refresh_from_db()
    return Setup(session, order, fan)
