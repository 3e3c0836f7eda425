"""Reads of the group and box sales used by the pages, the API and the storefront's map."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from tessera.catalog.models import EventStatus, Session
from tessera.core.money import round_money
from tessera.groupsales.errors import RequestNotFound, SessionNotFound
from tessera.groupsales.models import BoxOffer, GroupRequest, GroupTicketName
from tessera.inventory.models import InventoryUnit, UnitStatus


def get_public_session(session_id: int) -> Session:
    session = (
        Session.objects.filter(pk=session_id, event__status=EventStatus.PUBLISHED)
        .select_related("event", "layout__venue")
        .first()
    )
    if session is None:
        raise SessionNotFound()
    return session


def list_requests_of_contact(user) -> QuerySet[GroupRequest]:
    return GroupRequest.objects.filter(contact=user).select_related(
        "session__event", "session__layout__venue", "zone", "order"
    )


def get_request_of_contact(*, request_id: int, user) -> GroupRequest:
    found = list_requests_of_contact(user).filter(pk=request_id).first()
    if found is None:
        raise RequestNotFound()
    return found


def list_requests_of_organization(organization_id: int) -> QuerySet[GroupRequest]:
    return GroupRequest.objects.filter(organization_id=organization_id).select_related(
        "session__event", "session__layout__venue", "zone", "contact", "order"
    )


def ticket_names(request: GroupRequest) -> dict[int, str]:
    return dict(GroupTicketName.objects.filter(request=request).values_list("ticket_id", "name"))


def boxes_for_map(*, session: Session, now: datetime) -> list[dict]:
    """The boxes on sale in the session, for the seat map: each with its section, its
    places (unit ids), its outline (the seats' bounds on the plan), price and whether a
    buyer could take it now."""
    offers = list(
        BoxOffer.objects.filter(session=session, is_on_sale=True)
        .select_related("box__section")
        .order_by("box__name")
    )
    if not offers:
        return []
    found = []
    for offer in offers:
        box = offer.box
        units = list(
            InventoryUnit.objects.filter(session=session, seat__in=box.seats.all()).values_list(
                "id", "status", "block_reason", "seat__x", "seat__y"
            )
        )
        if not units:
            continue
        xs = [u[3] for u in units]
        ys = [u[4] for u in units]
        free = all(u[1] == UnitStatus.BLOCKED and u[2] == box.reason for u in units)
        found.append(
            {
                "id": offer.pk,
                "name": box.display_name,
                "section": box.section.code,
                "section_id": box.section_id,
                "capacity": box.capacity,
                "price": str(round_money(offer.price, offer.currency)),
                "currency": offer.currency,
                "extras": offer.display_extras,
                "unit_ids": sorted(u[0] for u in units),
                "x": round(min(xs), 2),
                "y": round(min(ys), 2),
                "width": round(max(xs) - min(xs), 2),
                "height": round(max(ys) - min(ys), 2),
                "available": free,
            }
        )
    return found
