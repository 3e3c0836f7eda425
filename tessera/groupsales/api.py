"""Group requests and boxes over HTTP.

``POST /sessions/{id}/group-requests`` (a signed-in contact asks for a block of places),
``GET /group-requests`` (the contact's requests with their quotes) and
``GET /sessions/{id}/boxes`` (the boxes on sale, for a seat map: their places, outline,
price and whether they can be bought now). Errors answer ``{"error": {code, message,
details}}`` in the caller's language.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Router, Schema, Status
from ninja.security import django_auth
from pydantic import Field, StrictInt

from tessera.core.clock import now as clock_now
from tessera.core.schemas import Email, ErrorOut, Id, InputSchema
from tessera.groupsales import selectors, services
from tessera.groupsales.models import GroupRequest

router = Router(tags=["group sales"])

_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
_Money = Annotated[Decimal, Field(ge=0, le=Decimal("9999999999.99"), decimal_places=2)]


class GroupRequestIn(InputSchema):
    zone: Id
    quantity: Annotated[StrictInt, Field(ge=1, le=services.MAX_GROUP_PLACES)]
    budget: _Money
    company_name: Annotated[str, Field(min_length=1, max_length=120)]
    invoice_title: Annotated[str, Field(min_length=1, max_length=120)]
    tax_number: Annotated[str, Field(min_length=15, max_length=40)]
    invoice_email: Email
    invoice_address: Annotated[str, Field(max_length=200)] = ""
    invoice_phone: Annotated[str, Field(max_length=40)] = ""
    invoice_bank: Annotated[str, Field(max_length=200)] = ""
    notes: Annotated[str, Field(max_length=2000)] = ""


class GroupRequestOut(Schema):
    id: int
    session_id: int
    zone: int
    quantity: int
    budget: Decimal
    currency: str
    company_name: str
    status: str
    status_label: str
    unit_price: Decimal | None
    total: Decimal | None
    pay_by_at: datetime | None
    names_by_at: datetime | None
    order_number: str | None
    created_at: datetime


class BoxOut(Schema):
    id: int
    name: str
    section: str
    capacity: int
    price: Decimal
    currency: str
    extras: str
    unit_ids: list[int]
    x: float
    y: float
    width: float
    height: float
    available: bool


def _out(request: GroupRequest) -> dict:
    return {
        "id": request.pk,
        "session_id": request.session_id,
        "zone": request.zone_id,
        "quantity": request.quantity,
        "budget": request.budget,
        "currency": request.currency,
        "company_name": request.company_name,
        "status": request.effective_status,
        "status_label": request.get_effective_status_display(),
        "unit_price": request.unit_price,
        "total": request.quote_total,
        "pay_by_at": request.pay_by_at,
        "names_by_at": request.names_by_at,
        "order_number": request.order.number if request.order_id else None,
        "created_at": request.created_at,
    }


@router.post(
    "/sessions/{session_id}/group-requests",
    auth=django_auth,
    response={201: GroupRequestOut, **_ERRORS},
    summary="Ask for a block of group tickets",
)
def submit(request, session_id: int, payload: GroupRequestIn):
    """A company's or group's request (团体购票): places of one price zone, a budget and the
    invoice details (tax number: the 18-character unified social credit code, or a 15- or
    20-character tax id). The organizer answers with a quote."""
    session = selectors.get_public_session(session_id)
    made = services.submit_group_request(
        session=session, contact=request.auth, data=payload.model_dump(), now=clock_now()
    )
    made.order = None
    return Status(201, _out(made))


@router.get(
    "/group-requests",
    auth=django_auth,
    response={200: list[GroupRequestOut], **_ERRORS},
    summary="Your group requests",
)
def mine(request):
    """Your group requests, newest first (at most 200), with their quotes."""
    return [_out(r) for r in selectors.list_requests_of_contact(request.auth)[:200]]


@router.get(
    "/sessions/{session_id}/boxes",
    response={200: list[BoxOut], **_ERRORS},
    summary="The boxes on sale in a session",
)
def boxes(request, session_id: int):
    """Boxes (包厢) sold whole: their places (unit ids, all in one section), their outline
    on the plan, price and extras, and whether one can be bought now."""
    session = selectors.get_public_session(session_id)
    return selectors.boxes_for_map(session=session, now=clock_now())
