"""Orders over HTTP: order from a hold, read, change attendees, cancel.

Writes need a signed-in buyer; the POST that creates an order honours ``Idempotency-Key``.
Money is a decimal string ("380.00"); errors answer ``{"error": {code, message, details}}``.
"""

from datetime import datetime
from uuid import UUID

from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from ninja.security import django_auth

from tessera.core.clock import now as clock_now
from tessera.core.idempotency import run_idempotent
from tessera.core.pagination import BoundedPagination
from tessera.core.schemas import Email, ErrorOut, InputSchema
from tessera.inventory.errors import HoldNotFound
from tessera.inventory.models import Hold
from tessera.orders import services
from tessera.orders.models import Order

router = Router(tags=["orders"])


_ERRORS = {400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class AttendeeIn(InputSchema):
    name: str = Field("", max_length=80)


class OrderIn(InputSchema):
    attendees: list[AttendeeIn] | None = Field(None, max_length=100)
    email: Email = ""
    phone: str = Field("", max_length=32)


class AttendeesIn(InputSchema):
    attendees: list[AttendeeIn] = Field(..., min_length=1, max_length=100)


class CancelIn(InputSchema):
    reason: str = Field("", max_length=200)


class OrderLineOut(Schema):
    id: int
    unit_id: int
    zone_id: int
    zone_name: str
    section_code: str
    section_name: str
    row_label: str
    seat_label: str
    price: str
    currency: str
    attendee_name: str
    status: str

    @staticmethod
    def resolve_price(obj) -> str:
        return str(obj.price)


class OrderOut(Schema):
    number: str
    status: str
    session_id: int
    hold_id: UUID | None
    total: str
    currency: str
    email: str
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    fulfilled_at: datetime | None
    closed_at: datetime | None
    close_reason: str
    lines: list[OrderLineOut]

    @staticmethod
    def resolve_total(obj) -> str:
        return str(obj.total)

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.all())


@router.post(
    "/holds/{hold_id}/order",
    auth=django_auth,
    response={201: OrderOut, **_ERRORS},
    summary="Place an order from a hold",
)
def place_order(request, hold_id: UUID, payload: OrderIn):
    """Order the places of one of your live holds, with one attendee per place (optional
    now, editable until payment). Ordering the same hold again answers the same order."""
    now = clock_now()
    user = request.auth

    def run():
        hold = Hold.objects.filter(pk=hold_id, user=user).first()
        if hold is None:
            raise HoldNotFound()
        attendees = [a.name for a in payload.attendees] if payload.attendees else None
        order = services.place_order(
            hold=hold,
            user=user,
            attendees=attendees,
            email=payload.email,
            phone=payload.phone,
            now=now,
        )
        return 201, {"number": order.number}

    status, body = run_idempotent(
        request,
        scope="orders.place",
        user_id=user.pk,
        payload=payload.model_dump(mode="json"),
        now=now,
        run=run,
    )
    return Status(status, services.get_order_for_user(number=body["number"], user=user))


@router.get("/orders", auth=django_auth, response=list[OrderOut], summary="Your orders")
@paginate(BoundedPagination)
def list_orders(request):
    return (
        Order.objects.filter(user=request.auth)
        .prefetch_related("lines")
        .order_by("-created_at", "-id")
    )


@router.get(
    "/orders/{number}",
    auth=django_auth,
    response={200: OrderOut, 404: ErrorOut},
    summary="One of your orders",
)
def get_order(request, number: str):
    return services.get_order_for_user(number=number[:20], user=request.auth)


@router.put(
    "/orders/{number}/attendees",
    auth=django_auth,
    response={200: OrderOut, **_ERRORS},
    summary="Change attendee names",
)
def update_attendees(request, number: str, payload: AttendeesIn):
    order = services.get_order_for_user(number=number[:20], user=request.auth)
    services.update_attendees(
        order=order,
        user=request.auth,
        attendees=[a.name for a in payload.attendees],
        now=clock_now(),
    )
    # The services locked and changed their own copy: answer a fresh read.
    return services.get_order_for_user(number=order.number, user=request.auth)


@router.post(
    "/orders/{number}/cancel",
    auth=django_auth,
    response={200: OrderOut, **_ERRORS},
    summary="Cancel an unpaid order",
)
def cancel_order(request, number: str, payload: CancelIn):
    order = services.get_order_for_user(number=number[:20], user=request.auth)
    services.cancel_order(
        order=order,
        actor=request.auth,
        reason=payload.reason or "cancelled by buyer",
        now=clock_now(),
    )
    # The services locked and changed their own copy: answer a fresh read.
    return services.get_order_for_user(number=order.number, user=request.auth)
