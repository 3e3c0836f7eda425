"""Passes over HTTP: the passes on sale, buying one, your passes with their QR text, and
releasing one match of a pass. Errors answer ``{"error": {code, message, details}}``."""

from datetime import datetime
from decimal import Decimal

from ninja import Field, Path, Router, Schema, Status
from ninja.security import django_auth

from tessera.core.clock import now as clock_now
from tessera.core.idempotency import run_idempotent
from tessera.core.schemas import MAX_ID, Email, ErrorOut, Id, InputSchema
from tessera.passes import selectors, services
from tessera.passes.errors import PassProductNotFound
from tessera.passes.models import Pass, PassProduct

router = Router(tags=["passes"])

_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class CoveredOut(Schema):
    session_id: int
    event_name: str
    venue_name: str
    starts_at: datetime
    zone_name: str


class ProductOut(Schema):
    id: int
    name: str
    price: Decimal
    currency: str
    sale_starts_at: datetime
    sale_ends_at: datetime
    max_per_account: int
    credit_kind: str
    credit_value: Decimal
    sessions: list[CoveredOut]


class BuyIn(InputSchema):
    provider: str = Field("sandbox", min_length=1, max_length=20)
    holder_name: str = Field("", max_length=80)
    email: Email = ""


class EntryOut(Schema):
    session_id: int
    event_name: str
    venue_name: str
    starts_at: datetime
    place: str
    status: str
    credit: Decimal | None


class PassOut(Schema):
    id: int
    number: str
    product_id: int
    name: str
    status: str
    order_number: str
    holder_name: str
    credential: str | None
    credits_total: Decimal
    entries: list[EntryOut]


class BoughtOut(Schema):
    pass_id: int
    order_number: str
    total: Decimal
    currency: str
    cashier_url: str


class ReleaseIn(InputSchema):
    session_id: Id


class CreditOut(Schema):
    pass_id: int
    session_id: int
    amount: Decimal
    currency: str


def _venue(session) -> str:
    return session.layout.venue.display_name


def _product_out(product: PassProduct) -> dict:
    return {
        "id": product.pk,
        "name": product.display_name,
        "price": product.price,
        "currency": product.currency,
        "sale_starts_at": product.sale_starts_at,
        "sale_ends_at": product.sale_ends_at,
        "max_per_account": product.max_per_account,
        "credit_kind": product.credit_kind,
        "credit_value": product.credit_value,
        "sessions": [
            {
                "session_id": c.session_id,
                "event_name": c.session.event.display_name,
                "venue_name": _venue(c.session),
                "starts_at": c.session.starts_at,
                "zone_name": c.zone.display_name,
            }
            for c in product.coverage.all()
        ],
    }


def _pass_out(sold: Pass) -> dict:
    entries = list(sold.entries.all())
    credits = [getattr(e, "credit", None) for e in entries]
    return {
        "id": sold.pk,
        "number": sold.number,
        "product_id": sold.product_id,
        "name": sold.product.display_name,
        "status": sold.status,
        "order_number": sold.order.number,
        "holder_name": sold.holder_name,
        "credential": selectors.pass_credential(sold),
        "credits_total": sum((c.amount for c in credits if c), Decimal("0.00")),
        "entries": [
            {
                "session_id": e.session_id,
                "event_name": e.session.event.display_name,
                "venue_name": _venue(e.session),
                "starts_at": e.session.starts_at,
                "place": e.order_line.place_label,
                "status": e.status,
                "credit": c.amount if c else None,
            }
            for e, c in zip(entries, credits, strict=True)
        ],
    }


@router.get("/passes/products", response=list[ProductOut], summary="Passes on sale")
def list_products(request):
    """Passes on sale now, each with its covered sessions (any events, any venues)."""
    return [_product_out(p) for p in selectors.list_products_on_sale(now=clock_now())]


@router.get(
    "/passes/products/{product_id}",
    response={200: ProductOut, 404: ErrorOut},
    summary="A pass on sale",
)
def get_product(request, product_id: int = Path(..., ge=1, le=MAX_ID)):
    product = selectors.list_products_on_sale(now=clock_now()).filter(pk=product_id).first()
    if product is None:
        raise PassProductNotFound()
    return _product_out(product)


@router.post(
    "/passes/products/{product_id}/buy",
    auth=django_auth,
    response={201: BoughtOut, **_ERRORS},
    summary="Buy a pass",
)
def buy_pass(request, payload: BuyIn, product_id: int = Path(..., ge=1, le=MAX_ID)):
    """Take one place in every covered session and start the payment: all places or none
    (``pass_sold_out`` names the session without a place). Pay at ``cashier_url``; the pass
    is active, with its QR, once paid. Honours ``Idempotency-Key``."""
    now = clock_now()
    user = request.auth

    def run():
        bought = services.buy_pass(
            product_id=product_id,
            user=user,
            provider=payload.provider,
            holder_name=payload.holder_name,
            email=payload.email,
            now=now,
        )
        return 201, {
            "pass_id": bought.sold_pass.pk,
            "order_number": bought.order.number,
            "total": str(bought.order.total),
            "currency": bought.order.currency,
            "cashier_url": bought.payment.cashier_url or "",
        }

    status, body = run_idempotent(
        request,
        scope="passes.buy",
        user_id=user.pk,
        payload={"product": product_id, **payload.model_dump(mode="json")},
        now=now,
        run=run,
    )
    return Status(status, body)


@router.get("/passes", auth=django_auth, response={200: list[PassOut], 401: ErrorOut})
def list_passes(request):
    """Your passes, newest first, with their sessions, seats and QR text (``TP1:…``)."""
    return [_pass_out(p) for p in selectors.list_passes(user=request.auth)[:50]]


@router.get(
    "/passes/{pass_id}", auth=django_auth, response={200: PassOut, 401: ErrorOut, 404: ErrorOut}
)
def get_pass(request, pass_id: int = Path(..., ge=1, le=MAX_ID)):
    return _pass_out(selectors.get_pass(user=request.auth, pass_id=pass_id))


@router.post(
    "/passes/{pass_id}/release",
    auth=django_auth,
    response={200: CreditOut, **_ERRORS},
    summary="Release one match of a pass",
)
def release(request, payload: ReleaseIn, pass_id: int = Path(..., ge=1, le=MAX_ID)):
    """Give one covered session back to sale before it starts: the pass no longer admits
    there, and the credit of the pass's policy is booked."""
    now = clock_now()
    credit = services.release_match(
        pass_id=pass_id, session_id=payload.session_id, user=request.auth, now=now
    )
    return {
        "pass_id": pass_id,
        "session_id": payload.session_id,
        "amount": credit.amount,
        "currency": credit.currency,
    }


class ReturnOut(Schema):
    pass_id: int
    shares: Decimal
    fee: Decimal
    refund: Decimal
    currency: str
    sessions: int


def _return_out(pass_id: int, quote) -> dict:
    return {
        "pass_id": pass_id,
        "shares": quote.shares,
        "fee": quote.fee,
        "refund": quote.refund,
        "currency": quote.currency,
        "sessions": quote.sessions,
    }


@router.get(
    "/passes/{pass_id}/return",
    auth=django_auth,
    response={200: ReturnOut, **_ERRORS},
    summary="What returning a whole pass would give back",
)
def quote_return(request, pass_id: int = Path(..., ge=1, le=MAX_ID)):
    """The shares of the matches still held, the return fee and the refund, if the pass
    can be returned now (before its first match)."""
    sold = selectors.get_pass(user=request.auth, pass_id=pass_id)
    return _return_out(pass_id, services.quote_return(pass_=sold, now=clock_now()))


@router.post(
    "/passes/{pass_id}/return",
    auth=django_auth,
    response={200: ReturnOut, **_ERRORS},
    summary="Return a whole pass",
)
def return_pass(request, pass_id: int = Path(..., ge=1, le=MAX_ID)):
    """Give every match still held back to sale before the first one starts: the tickets
    are revoked, the pass cancelled, and the shares less the return fee refunded."""
    result = services.return_pass(pass_id=pass_id, user=request.auth, now=clock_now())
    return _return_out(pass_id, result)
