"""A buyer's tickets of a session whose policy allows transfers, and a second account."""

from dataclasses import dataclass

from tessera.accounts.tests.factories import make_user
from tessera.catalog import services as catalog
from tessera.catalog.models import Session
from tessera.orders.models import Order
from tessera.tickets import services as tickets
from tessera.tickets.models import Ticket
from tessera.tickets.tests.factories import NOW, make_paid_order, make_ticketed_session


@dataclass
class Setup:
    session: Session
    order: Order
    tickets: list[Ticket]
    buyer: object
    friend: object


def make_transferable(
    *,
    seats: int = 2,
    max_transfers: int = 2,
    cutoff_hours: int = 2,
    is_transferable: bool = True,
    password: str | None = None,
    **session_fields,
) -> Setup:
    """王小明 bought ``seats`` seats of 星光演唱会 (2026-12-25 19:30 Shanghai); 李雷 has an
    account with an email and a phone number. The event's policy allows transfers."""
    session, zone = make_ticketed_session(seats=max(seats, 1), **session_fields)
    buyer = make_user(
        password=password,
        display_name="王小明",
        email="wang@example.com",
        phone="13800000001",
    )
    friend = make_user(
        password=password,
        display_name="李雷",
        email="li.lei@example.com",
        phone="+86 139-0000-0002",
    )
    catalog.set_policy(
        event=session.event,
        actor=None,
        now=NOW,
        is_transferable=is_transferable,
        max_transfers=max_transfers,
        transfer_cutoff_hours=cutoff_hours,
    )
    order = make_paid_order(
        session=session, zone=zone, user=buyer, seats=seats, attendee_names=["王小明", "韩梅梅"]
    )
    issued = tickets.issue_tickets(order=order, now=NOW)
    return Setup(session, order, issued, buyer, friend)
