"""The sale's services: the buyer's one-call checkout, holding places, the confirmation of a
payment. Transactions, locks and invariants: see the package docstring (``tessera.sale``).
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tessera.catalog.models import PriceZone, Session
from tessera.catalog.selectors import public_sessions
from tessera.core.errors import NotFound
from tessera.core.i18n import localized
from tessera.core.money import round_money, to_minor_units
from tessera.inventory import seatmap
from tessera.inventory import selectors as inventory_selectors
from tessera.inventory.admission import check_admission
from tessera.inventory.best_available import find_blocks
from tessera.inventory.errors import PlacesUnavailable, account_limit_reached, too_few_places
from tessera.inventory.models import InventoryUnit
from tessera.limits import services as limits
from tessera.orders import changes
from tessera.orders import services as orders
from tessera.orders.models import Order, OrderLine, OrderStatus
from tessera.payments import services as payments
from tessera.payments.conf import public_url
from tessera.payments.models import Payment, PaymentStatus
from tessera.payments.providers import get_provider
from tessera.payments.providers.base import (
    FAILED,
    SUCCEEDED,
    CallbackData,
    CallbackForged,
    ProviderError,
    ProviderUnavailable,
    UnknownProvider,
    minor_to_decimal,
    parse_payment_id,
)
from tessera.sale import fastpath, status
from tessera.sale.choices import PlaceChoice, hold_places, unit_ids_of
from tessera.tickets.services import get_or_create_signing_key
from tessera.venues.models import Section

__all__ = ["Checkout", "SessionNotFound", "checkout", "hold_places"]


class SessionNotFound(NotFound):
    code = "session_not_found"
    default_message = _("No such session.")


def public_session(session_id: int, *, include_sandbox: bool = False) -> Session:
    """The published, not cancelled session (of a sandbox world only with
    ``include_sandbox``: a sandbox API key's sale); raises SessionNotFound."""
    try:
        return (
            limits.with_limits_flag(public_sessions(include_sandbox=include_sandbox))
            .select_related("layout__venue__city")
            .prefetch_related("price_zones")
            .get(pk=session_id)
        )
    except Session.DoesNotExist as exc:
        raise SessionNotFound() from exc


@dataclass
class Checkout:
    """What the checkout produced: the order awaiting payment with its lines (in seating
    order), its payment with where to pay, and the token for reading the order's status."""

    order: Order
    lines: list[OrderLine]
    payment: Payment
    status_token: str


def checkout(
    *,
    session_id: int,
    user,
    choice: PlaceChoice,
    provider: str,
    now: datetime,
    attendees: list | None = None,
    email: str = "",
    phone: str = "",
    options: dict | None = None,
    admission_pass: str | None = None,
    buyer: limits.Buyer | None = None,
) -> Checkout:
    """Hold the places, place the order and start its payment, in one transaction (T1).

    The places of ``choice``, an order with one line per place (attendee names optional, as
    many as places), and a payment at ``provider`` of the order's total. A provider that
    prepares its cashier locally is prepared inside the transaction; one that must be asked
    over the network is asked after the commit (no transaction open).

    Raises whatever holding raises (NotOnSale, LimitExceeded, PlacesUnavailable, …),
    AttendeesInvalid, ContactInvalid, UnknownProvider / ProviderUnavailable (before
    anything is written), InvalidPaymentOptions, ProviderError (after commit: the order
    stands and can be paid again).
    """
    adapter = get_provider(provider)  # an unknown or unconfigured provider writes nothing
    options = payments.clean_options(provider=provider, options=options)
    email, phone = orders.clean_contact(email=email, phone=phone)
    request = _Request(
        session_id=session_id,
        user=user,
        choice=choice,
        adapter=adapter,
        options=options,
        attendees=attendees,
        email=email or user.email,
        phone=phone,
        now=now,
        admission_pass=admission_pass,
        buyer=buyer,
    )
    result = None
    if uses_fast_path():
        try:
            result = _checkout_fast(request)
        except fastpath.Declined:
            result = None
    for attempt in range(1, RUSH_ATTEMPTS + 1):
        if result is not None:
            break
        try:
            result = _checkout_with_services(request)
        except PlacesUnavailable:
            # Best available in a rush: every proposal went to faster buyers. While places
            # remain, look again (a fresh snapshot each time) before saying so.
            if not choice.best_available or attempt == RUSH_ATTEMPTS or not _any_free(request):
                raise
    payment = result.payment
    if not payment.cashier_url and not payment.qr_content:
        payment = payments.connect_payment(payment=payment, now=now)
    return Checkout(
        order=result.order,
        lines=result.lines,
        payment=payment,
        status_token=status.make_token(
            order_id=result.order.pk,
            number=result.order.number,
            user_id=user.pk,
            issued_at=time.time(),
        ),
    )


RUSH_ATTEMPTS = 3


def _any_free(request: _Request) -> bool:
    choice = request.choice
    units = InventoryUnit.objects.filter(session_id=request.session_id, channel__isnull=True)
    if choice.zone_id is not None:
        units = units.filter(zone_id=choice.zone_id)
    if choice.section_id is not None:
        units = units.filter(section_id=choice.section_id)
    return units.filter(inventory_selectors.holdable(request.now)).exists()


@dataclass
class _Request:
    session_id: int
    user: object
    choice: PlaceChoice
    adapter: object
    options: dict
    attendees: list | None
    email: str
    phone: str
    now: datetime
    admission_pass: str | None
    buyer: limits.Buyer | None = None


@dataclass
class _Result:
    order: Order
    lines: list[OrderLine]
    payment: Payment


def _checkout_with_services(request: _Request) -> _Result:
    """T1 through the apps' services (every database; the precise errors)."""
    session = public_session(request.session_id)
    user, now = request.user, request.now
    with transaction.atomic():
        hold = hold_places(
            session=session,
            user=user,
            choice=request.choice,
            now=now,
            admission_pass=request.admission_pass,
            buyer=request.buyer,
        )
        order = orders.place_order(
            hold=hold,
            user=user,
            attendees=request.attendees,
            email=request.email,
            phone=request.phone,
            now=now,
        )
        payment = payments.open_payment(
            order=order,
            provider=request.adapter.name,
            user=user,
            now=now,
            options=request.options,
        )
    return _Result(order=order, lines=list(order.lines.order_by("id")), payment=payment)


def _checkout_fast(request: _Request) -> _Result | None:
    """T1 as three statements (``fastpath``); declines to the services' path for what it
    does not cover or when a rule refuses."""
    choice, user, now = request.choice, request.user, request.now
    check_admission(
        session=Session(pk=request.session_id),
        user=user,
        admission_pass=request.admission_pass,
        now=now,
    )
    stub = Session(pk=request.session_id)
    unit_ids = unit_ids_of(stub, choice)
    candidates: list[list[int]]
    if unit_ids is not None:
        candidates = [unit_ids]
    elif choice.best_available:
        candidates = _best_candidates(request.session_id, choice, now)
    elif choice.zone_id is not None:
        candidates = []
    else:
        raise fastpath.Declined  # a standing section by itself: the services resolve its zone
    quantity = len(candidates[0]) if candidates else choice.quantity
    names = orders.clean_attendees(request.attendees, quantity)
    with transaction.atomic():
        fastpath.lock_account(session_id=request.session_id, user_id=user.pk)
        taken = None
        for round_ in range(PROPOSAL_ROUNDS if choice.best_available else 1):
            if round_:  # every proposal went to faster buyers: look again, now
                candidates = _best_candidates(request.session_id, choice, now)
            taken = _take_first(request, candidates or [None], quantity)
            if taken is not None:
                break
        if taken is None:
            raise fastpath.Declined
        number = orders.new_order_number(now)
        total = taken.total()
        payment_id = uuid.uuid4()
        prepared = _prepare(request, payment_id=payment_id, number=number, total=total, taken=taken)
        how = "units" if unit_ids is not None else ("best_available" if candidates else "quantity")
        recorded = fastpath.record_order(
            taken=taken,
            number=number,
            session_id=request.session_id,
            user_id=user.pk,
            channel_id=None,
            email=request.email,
            phone=request.phone,
            attendees=names,
            now=now,
            payment=prepared,
            audit=[
                (
                    "hold.created",
                    "inventory.hold",
                    str(taken.hold_id),
                    {
                        "how": how,
                        "units": sorted(p.unit_id for p in taken.places),
                        "channel": None,
                    },
                ),
                ("order.placed", "orders.order", "", {"total": str(total), "places": quantity}),
                (
                    "payment.started",
                    "payments.payment",
                    str(payment_id),
                    {
                        "order": number,
                        "provider": prepared.provider,
                        "amount": str(total),
                        "currency": taken.currency,
                    },
                ),
            ],
        )
        session_id = request.session_id
        transaction.on_commit(lambda: seatmap.bump_version(session_id))
    return _in_memory(request, taken, recorded, number, prepared, names)


# Best available in a rush: buyers arriving together would all propose the same best block,
# and all but one would fail on it. Each buyer tries the best blocks in an order shuffled
# among the first few (near-equal seats) and then the next ones in order, so concurrent
# buyers spread over the best seats instead of queueing on one.
PROPOSALS = 12
SHUFFLED_PROPOSALS = 4
PROPOSAL_ROUNDS = 3  # a fresh look at the seats after all proposals of a round were taken
_proposal_order = random.SystemRandom()


def _take_first(request: _Request, candidates: list, quantity: int) -> fastpath.Taken | None:
    """The first of ``candidates`` (unit ids, or None for "any N") that could be taken."""
    choice = request.choice
    for ids in candidates:
        try:
            return fastpath.take_places(
                session_id=request.session_id,
                user_id=request.user.pk,
                now=request.now,
                quantity=quantity,
                unit_ids=ids,
                zone_id=choice.zone_id,
                section_id=choice.section_id,
                proposal=choice.best_available,
            )
        except (fastpath.Conflict, fastpath.ServicesOnly):
            raise  # the transaction is lost, or only the services apply: roll it back
        except fastpath.Declined:
            continue
        except fastpath.SoldOut:
            raise too_few_places(quantity, zone_id=choice.zone_id) from None
        except fastpath.AccountLimit as refused:
            raise account_limit_reached(
                limit=refused.limit, already=refused.already, requested=quantity
            ) from None
    return None


def _best_candidates(session_id: int, choice: PlaceChoice, now: datetime) -> list[list[int]]:
    """Up to PROPOSALS best blocks of adjacent seats (``find_blocks`` over a snapshot read
    outside the transaction), the first SHUFFLED_PROPOSALS in a random order; declines when
    there is none (the services then decide about split seats and standing areas)."""
    session = _geometry_session(session_id)
    zone = PriceZone(pk=choice.zone_id) if choice.zone_id else None
    section = Section(pk=choice.section_id) if choice.section_id else None
    snapshot = inventory_selectors.seat_snapshot(
        session=session, now=now, zone=zone, section=section
    )
    focal = (session.layout.focal_x, session.layout.focal_y)
    blocks = find_blocks(snapshot, quantity=choice.quantity, focal=focal, limit=PROPOSALS)
    if not blocks:
        raise fastpath.Declined
    first = blocks[:SHUFFLED_PROPOSALS]
    _proposal_order.shuffle(first)
    return [sorted(block.unit_ids) for block in first + blocks[SHUFFLED_PROPOSALS:]]


_GEOMETRY_SECONDS = 60.0
_geometry_sessions: dict[int, tuple[float, Session]] = {}


def _geometry_session(session_id: int) -> Session:
    """The session as best available needs it (id, creation time, the layout's focal point),
    remembered a minute per process: none of it changes during a sale."""
    hit = _geometry_sessions.get(session_id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    session = (
        Session.objects.select_related("layout")
        .only("id", "created_at", "layout__focal_x", "layout__focal_y")
        .get(pk=session_id)
    )
    if len(_geometry_sessions) > 1000:
        _geometry_sessions.clear()
    _geometry_sessions[session_id] = (time.monotonic() + _GEOMETRY_SECONDS, session)
    return session


def _prepare(request: _Request, *, payment_id, number: str, total, taken) -> fastpath.Prepared:
    """The payment row's provider fields; where the buyer pays, when the provider computes
    that locally (no network, no database), so it goes into the same INSERT."""
    adapter = request.adapter
    prepared = fastpath.Prepared(
        payment_id=payment_id, provider=adapter.name, options=request.options
    )
    if not getattr(adapter, "prepares_locally", False):
        return prepared
    from tessera.payments.providers.base import TradeRequest

    subject, merchant = _trade_names(request.session_id)
    result = adapter.prepare(
        TradeRequest(
            payment_id=payment_id,
            amount_minor=to_minor_units(total, taken.currency),
            currency=taken.currency,
            order_number=number,
            subject=subject,
            merchant_name=merchant,
            return_url=_return_url(number),
            notify_url=payments.notify_url(adapter.name),
            options=request.options,
        )
    )
    return fastpath.Prepared(
        payment_id=payment_id,
        provider=adapter.name,
        options=request.options,
        cashier_url=result.redirect_url,
        qr_content=result.qr_content,
        provider_reference=result.provider_reference,
    )


_TRADE_NAMES_SECONDS = 60.0
_trade_names_cache: dict[int, tuple[float, str, str]] = {}


def _trade_names(session_id: int) -> tuple[str, str]:
    """(what the buyer pays for, who is paid) as the cashier shows them: the event's and
    the organizer's names, cached a minute per process."""
    hit = _trade_names_cache.get(session_id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1], hit[2]
    session = Session.objects.select_related("event__organization").get(pk=session_id)
    event = session.event
    names = (event.display_name, localized(event.organization, "name"))
    if len(_trade_names_cache) > 1000:
        _trade_names_cache.clear()
    _trade_names_cache[session_id] = (time.monotonic() + _TRADE_NAMES_SECONDS, *names)
    return names


def _return_url(number: str) -> str:
    """Where the cashier sends the buyer back: the order's page."""
    return public_url() + reverse("storefront:order", kwargs={"number": number})


def _in_memory(request, taken, recorded, number, prepared, names) -> _Result:
    """The order, lines and payment as just written, built from what is in hand."""
    order = Order(
        pk=recorded.order_id,
        number=number,
        user_id=request.user.pk,
        session_id=request.session_id,
        hold_id=taken.hold_id,
        status=OrderStatus.PENDING_PAYMENT,
        total=taken.total(),
        currency=taken.currency,
        email=request.email,
        phone=request.phone,
        created_at=request.now,
        expires_at=taken.expires_at,
    )
    lines = [
        OrderLine(
            pk=recorded.line_ids[place.unit_id],
            order_id=order.pk,
            unit_id=place.unit_id,
            zone_id=place.zone_id,
            section_code=place.section_code,
            section_name=place.section_name,
            row_label=place.row_label,
            seat_label=place.seat_label,
            zone_name=place.zone_name,
            price=round_money(place.price, taken.currency),
            currency=taken.currency,
            attendee_name=name,
        )
        for place, name in zip(taken.places, names, strict=True)
    ]
    payment = Payment(
        pk=prepared.payment_id,
        order_id=order.pk,
        provider=prepared.provider,
        status=PaymentStatus.CREATED,
        amount=order.total,
        currency=order.currency,
        created_at=request.now,
        options=prepared.options,
        cashier_url=prepared.cashier_url,
        qr_content=prepared.qr_content,
        provider_reference=prepared.provider_reference,
    )
    return _Result(order=order, lines=lines, payment=payment)


def uses_fast_path() -> bool:
    """Whether the sale's statements run merged (PostgreSQL) — see ``fastpath``."""
    return connection.vendor == "postgresql"


# -- T2: a provider's callback --------------------------------------------------------------------

MAX_CALLBACK_BYTES = 64 * 1024
_keyed_sessions: set[int] = set()


def accept_callback(*, provider: str, headers: dict, body: bytes, now: datetime) -> bool:
    """Apply one notification of ``provider``; True when it was authentic (whatever it
    changed), False when it was forged, malformed or too big — the gateway then delivers it
    again or gives up.

    A timely success is confirmed in one statement (``fastpath.confirm_sale``); everything
    else — failures, duplicates, late or lost sales, forgeries — goes through
    ``payments.services.handle_callback``, which logs it and applies its rules.
    Raises UnknownProvider / ProviderUnavailable for a provider not set up here.
    """
    adapter = get_provider(provider)
    if len(body) > MAX_CALLBACK_BYTES:
        return False
    data = None
    if uses_fast_path():
        try:
            data = adapter.verify_callback(headers, body, now=now)
        except CallbackForged:
            data = None  # the services' path logs the forgery
        else:
            if _confirm_fast(adapter, data, headers=headers, body=body, now=now) is not None:
                return True
    log = payments.handle_callback(
        provider=adapter.name, headers=headers, body=body, now=now, verified=data
    )
    return log.signature_valid


def _confirm_fast(adapter, data, *, headers: dict, body: bytes, now: datetime):
    payment_id = parse_payment_id(data.payment_id)
    if data.status != SUCCEEDED or payment_id is None:
        return None
    logged_headers, logged_body = payments.loggable(headers, body)
    try:
        with transaction.atomic():
            confirmed = fastpath.confirm_sale(
                payment_id=payment_id,
                provider=adapter.name,
                amount=minor_to_decimal(data.amount_minor, data.currency),
                currency=data.currency,
                provider_reference=data.provider_reference,
                sequence=data.sequence,
                payer_id=data.payer_id,
                headers=logged_headers,
                body=logged_body,
                now=now,
            )
    except fastpath.Declined:
        return None

    def after_commit() -> None:
        changes.board.record(confirmed.order_id, OrderStatus.FULFILLED)
        seatmap.bump_version(confirmed.session_id)
        _ensure_signing_key(confirmed.session_id, now)

    transaction.on_commit(after_commit)
    return confirmed


def _ensure_signing_key(session_id: int, now: datetime) -> None:
    """The session's credential key exists once its first tickets are issued (the services'
    path creates it while issuing; here once per session and process, after commit)."""
    if session_id in _keyed_sessions:
        return
    get_or_create_signing_key(session=Session.objects.get(pk=session_id), now=now)
    _keyed_sessions.add(session_id)


# -- reconciliation ------------------------------------------------------------------------------

RECONCILE_AFTER = timedelta(seconds=30)
RECONCILE_EVERY = timedelta(minutes=2)
RECONCILE_FOR = timedelta(hours=2)
RECONCILE_BATCH = 200


def reconcile_payments(*, now: datetime, limit: int = RECONCILE_BATCH) -> dict[str, int]:
    """Ask the providers about payments still open: a payment whose callback was lost (the
    gateway gave up, the process that would have applied it died) is completed from the
    provider's own answer (``query``), as its callback would have been; a failed one is
    marked failed. Payments are asked about once they are ``RECONCILE_AFTER`` old, then at
    most every ``RECONCILE_EVERY``, for ``RECONCILE_FOR``. No provider is asked inside a
    transaction. Returns counts by outcome.
    """
    counts = {"asked": 0, "succeeded": 0, "failed": 0, "pending": 0, "unreachable": 0}
    candidates = list(
        Payment.objects.filter(
            status=PaymentStatus.CREATED,
            created_at__lte=now - RECONCILE_AFTER,
            created_at__gte=now - RECONCILE_FOR,
        )
        .filter(Q(reconciled_at__isnull=True) | Q(reconciled_at__lte=now - RECONCILE_EVERY))
        .order_by("created_at")[:limit]
    )
    for payment in candidates:
        counts["asked"] += 1
        Payment.objects.filter(pk=payment.pk).update(reconciled_at=now)
        try:
            adapter = get_provider(payment.provider)
            state = adapter.query(payment)
        except (ProviderError, ProviderUnavailable, UnknownProvider):
            counts["unreachable"] += 1
            continue
        if state not in (SUCCEEDED, FAILED):
            counts["pending"] += 1
            continue
        counts[state] += 1
        data = CallbackData(
            payment_id=str(payment.pk),
            provider_reference=payment.provider_reference,
            status=state,
            amount_minor=to_minor_units(payment.amount, payment.currency),
            currency=payment.currency,
            sequence=payment.callback_sequence + 1,
            event_at=now,
        )
        headers = {"X-Tessera-Source": "reconciliation"}
        confirmed = (
            uses_fast_path()
            and state == SUCCEEDED
            and _confirm_fast(adapter, data, headers=headers, body=b"", now=now) is not None
        )
        if confirmed:
            continue
        payments.handle_callback(
            provider=adapter.name, headers=headers, body=b"", now=now, verified=data
        )
    return counts
