"""The passes' services: define a product, buy a pass, complete its sale when paid, release
one match. Transactions and lock order: see the package docstring (``tessera.passes``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tessera.catalog.models import EventStatus, PriceZone, Session, SessionStatus
from tessera.checkin import services as checkin
from tessera.core import audit, locks
from tessera.core.dates import local_moment
from tessera.core.errors import DomainError, InvalidInput
from tessera.core.money import round_money
from tessera.inventory import services as inventory
from tessera.inventory.errors import PlacesUnavailable
from tessera.orders import services as orders
from tessera.orders.models import LineStatus, Order, OrderLine, OrderStatus
from tessera.passes.errors import (
    MatchNotReleasable,
    PassLimitReached,
    PassNotActive,
    PassNotFound,
    PassNotOnSale,
    PassNotReturnable,
    PassProductNotFound,
    PassSoldOut,
)
from tessera.passes.models import (
    CreditKind,
    EntryStatus,
    Pass,
    PassCoverage,
    PassCredit,
    PassEntry,
    PassKey,
    PassProduct,
    PassStatus,
)
from tessera.payments import services as payments
from tessera.payments.models import Payment
from tessera.payments.providers import get_provider, provider_names
from tessera.payments.providers.base import UnknownProvider
from tessera.tickets import services as tickets
from tessera.tickets.models import Ticket, TicketStatus
from tessera.tickets.pass_credentials import MAX_ENTRIES

PASS_HOLD_MINUTES = 15
RELEASE_REASON = "pass_release"
RETURN_REASON = "pass_return"
CANCEL_REASON = "pass_cancelled"
SESSION_CANCELLED_REASON = "session_cancelled"


# -- products -------------------------------------------------------------------------------


def create_product(
    *,
    organization,
    name: str,
    name_en: str = "",
    price: Decimal,
    currency: str = "CNY",
    sale_starts_at: datetime,
    sale_ends_at: datetime,
    coverage: list[tuple[Session, PriceZone]],
    max_per_account: int = 1,
    credit_kind: str = CreditKind.PERCENT,
    credit_value: Decimal = Decimal("0"),
    actor=None,
    now: datetime,
) -> PassProduct:
    """A pass product with its covered sessions (each with its zone, seated or standing).

    Raises InvalidInput for a price or credit out of range, an empty or oversized coverage,
    a zone that is not its session's, or sessions of another organization.
    """
    problems = clean_product(
        organization=organization,
        price=price,
        sale_starts_at=sale_starts_at,
        sale_ends_at=sale_ends_at,
        coverage=coverage,
        max_per_account=max_per_account,
        credit_kind=credit_kind,
        credit_value=credit_value,
    )
    if problems:
        raise InvalidInput(problems[0], details={"problems": [str(p) for p in problems]})
    with transaction.atomic():
        product = PassProduct.objects.create(
            organization=organization,
            name=name,
            name_en=name_en,
            price=round_money(price, currency),
            currency=currency,
            sale_starts_at=sale_starts_at,
            sale_ends_at=sale_ends_at,
            max_per_account=max_per_account,
            credit_kind=credit_kind,
            credit_value=credit_value,
        )
        PassCoverage.objects.bulk_create(
            PassCoverage(product=product, session=s, zone=z) for s, z in coverage
        )
        _create_key(product, now)
        audit.record(
            action="pass_product.created",
            obj=product,
            actor=actor,
            organization_id=organization.pk,
            now=now,
            data={"sessions": sorted(s.pk for s, _z in coverage), "price": str(product.price)},
        )
    return product


def clean_product(
    *,
    organization,
    price,
    sale_starts_at,
    sale_ends_at,
    coverage,
    max_per_account,
    credit_kind,
    credit_value,
) -> list[str]:
    """The reasons a product definition is refused (empty when it is fine); the admin form
    shows them too."""
    problems = []
    if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
        problems.append(_("The price must be an amount above zero."))
    if sale_starts_at and sale_ends_at and sale_ends_at <= sale_starts_at:
        problems.append(_("The sale must end after it starts."))
    if not 1 <= len(coverage) <= MAX_ENTRIES:
        problems.append(_("A pass covers between 1 and 255 sessions."))
    if len({s.pk for s, _z in coverage}) != len(coverage):
        problems.append(_("A session can be covered only once."))
    for session, zone in coverage:
        if zone.session_id != session.pk:
            problems.append(_("Each price zone must belong to its session."))
            break
        if session.event.organization_id != organization.pk:
            problems.append(_("A pass covers only its organization's sessions."))
            break
    if not isinstance(max_per_account, int) or not 1 <= max_per_account <= 20:
        problems.append(_("Passes per account must be between 1 and 20."))
    if credit_kind not in CreditKind.values:
        problems.append(_("Unknown credit policy."))
    elif not isinstance(credit_value, Decimal) or not credit_value.is_finite() or credit_value < 0:
        problems.append(_("The credit must be zero or more."))
    elif credit_kind == CreditKind.PERCENT and credit_value > 100:
        problems.append(_("A percentage credit is at most 100."))
    return problems


def ensure_product_key(*, product: PassProduct, now: datetime) -> PassKey:
    """The product's signing key, made on first need (a product saved in the back office)."""
    with transaction.atomic():
        locked = PassProduct.objects.select_for_update().get(pk=product.pk)
        key = PassKey.objects.filter(product=locked).order_by("-created_at").first()
        if key is not None:
            return key
        key = _create_key(locked, now)
        audit.record(
            action="pass_product.key_created",
            obj=locked,
            organization_id=locked.organization_id,
            now=now,
            data={"kid": key.kid},
        )
        return key


def _create_key(product: PassProduct, now: datetime) -> PassKey:
    private = Ed25519PrivateKey.generate()
    secret = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    for _attempt in range(8):
        try:
            with transaction.atomic():
                return PassKey.objects.create(
                    product=product,
                    kid=secrets.randbelow(2**31) + 1,
                    secret=secret,
                    public_key=public,
                    created_at=now,
                )
        except IntegrityError:  # pragma: no cover - a 1 in 2**31 collision: draw again
            continue
    raise RuntimeError("no free pass key id")  # pragma: no cover


def shares(price: Decimal, count: int, currency: str) -> list[Decimal]:
    """The price shared among ``count`` sessions: equal shares rounded down to the minor
    unit, the remainder on the last, so the shares add up to the price exactly."""
    price = round_money(price, currency)
    share = (price / count).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return [share] * (count - 1) + [price - share * (count - 1)]


def credit_for(product: PassProduct, share: Decimal) -> Decimal:
    """The credit for releasing a match whose share of the price is ``share``."""
    if product.credit_kind == CreditKind.FIXED:
        return min(round_money(product.credit_value, product.currency), share)
    return round_money(share * product.credit_value / Decimal(100), product.currency)


# -- buying ---------------------------------------------------------------------------------


@dataclass
class BoughtPass:
    sold_pass: Pass
    order: Order
    payment: Payment


def buy_pass(
    *,
    product_id: int,
    user,
    provider: str,
    now: datetime,
    holder_name: str = "",
    email: str = "",
) -> BoughtPass:
    """Take one place in every covered session, place one order and start its payment, in
    one transaction (B in the package docstring): all places or none.

    Raises PassProductNotFound, PassNotOnSale, PassLimitReached, PassSoldOut (naming the
    session without a place; nothing is held), UnknownProvider / ProviderUnavailable (before
    anything is written), ContactInvalid.
    """
    if provider not in provider_names():  # the box office is not paid online
        raise UnknownProvider()
    get_provider(provider)  # an unknown or unconfigured provider writes nothing
    email, _phone = orders.clean_contact(email=email, phone="")
    holder_name = " ".join((holder_name or "").split())[:80]
    with transaction.atomic():
        product = (
            PassProduct.objects.filter(pk=product_id, is_active=True)
            .select_related("organization")
            .first()
        )
        if product is None:
            raise PassProductNotFound()
        if not product.is_on_sale(now):
            raise PassNotOnSale()
        locks.lock_name(f"pass:{product.pk}:{user.pk}")
        if _live_passes(product, user, now) >= product.max_per_account:
            raise PassLimitReached(details={"limit": product.max_per_account})
        coverage = list(
            PassCoverage.objects.filter(product=product)
            .select_related("session__event", "session__layout__venue", "zone")
            .order_by("session_id")
        )
        for covered in coverage:
            session = covered.session
            if (
                session.status == SessionStatus.CANCELLED
                or session.event.status != EventStatus.PUBLISHED
                or session.starts_at <= now
            ):
                raise PassNotOnSale(
                    _("%(session)s is cancelled or over: this pass is no longer sold.")
                    % {"session": _session_label(session)},
                    details={"session": session.pk},
                )
        expires_at = now + _hold_time()
        holds = []
        for covered in coverage:
            try:
                holds.append(
                    inventory.hold_for_pass(
                        session=covered.session,
                        user=user,
                        zone=covered.zone,
                        expires_at=expires_at,
                        now=now,
                    )
                )
            except PlacesUnavailable:
                raise PassSoldOut(
                    _(
                        "No place is left in %(zone)s for %(session)s: the pass cannot be "
                        "sold and nothing was held."
                    )
                    % {
                        "zone": covered.zone.display_name,
                        "session": _session_label(covered.session),
                    },
                    details={"session": covered.session_id, "zone": covered.zone_id},
                ) from None
        holder_name = holder_name or user.get_full_name() or user.get_username()
        order = orders.place_pass_order(
            attendee_name=holder_name,
            holds=holds,
            user=user,
            prices=shares(product.price, len(holds), product.currency),
            currency=product.currency,
            email=email,
            now=now,
        )
        pass_ = Pass.objects.create(
            product=product,
            user=user,
            order=order,
            holder_name=holder_name,
            created_at=now,
        )
        lines = {line.unit_id: line for line in order.lines.all()}
        units = dict(
            inventory.InventoryUnit.objects.filter(hold__in=holds).values_list("hold_id", "id")
        )
        PassEntry.objects.bulk_create(
            PassEntry(
                sold_pass=pass_,
                session_id=hold.session_id,
                hold=hold,
                unit_id=units[hold.pk],
                order_line=lines[units[hold.pk]],
            )
            for hold in holds
        )
        payment = payments.open_payment(order=order, provider=provider, user=user, now=now)
        audit.record(
            action="pass.bought",
            obj=pass_,
            actor=user,
            organization_id=product.organization_id,
            now=now,
            data={"order": order.number, "sessions": [h.session_id for h in holds]},
        )
    if not payment.cashier_url and not payment.qr_content:
        payment = payments.connect_payment(payment=payment, now=now)
    return BoughtPass(sold_pass=pass_, order=order, payment=payment)


def _hold_time() -> timedelta:
    return timedelta(minutes=PASS_HOLD_MINUTES)


def _session_label(session: Session) -> str:
    zone = session.layout.venue.zone_info
    return f"{session.event.display_name} · {local_moment(session.starts_at, zone)}"


def _live_passes(product: PassProduct, user, now: datetime) -> int:
    """The account's passes of this product that count towards its limit: active, or
    awaiting a payment that may still come."""
    return (
        Pass.objects.filter(product=product, user=user)
        .exclude(status=PassStatus.CANCELLED)
        .exclude(
            status=PassStatus.PENDING,
            order__status__in=[OrderStatus.EXPIRED, OrderStatus.CANCELLED],
        )
        .exclude(status=PassStatus.PENDING, order__expires_at__lte=now)
        .count()
    )


# -- payment --------------------------------------------------------------------------------


def sell_pass_places(*, order: Order, lines, now: datetime) -> bool:
    """``settings.ORDER_PLACE_SELLERS``: when ``order`` is a pass's, sell each entry's hold
    to its line (``inventory.sell_hold``: all or nothing; HoldLost rolls the payment's
    transaction back and the payment is refunded). False for any other order."""
    pass_ = Pass.objects.filter(order=order).first()
    if pass_ is None:
        return False
    line_ids = {line.pk for line in lines}
    for entry in (
        PassEntry.objects.filter(sold_pass=pass_).select_related("hold").order_by("session_id")
    ):
        if entry.hold is None or entry.order_line_id not in line_ids:
            raise inventory.HoldLost(details={"order": order.number, "session": entry.session_id})
        inventory.sell_hold(
            hold=entry.hold, line_ids_by_unit={entry.unit_id: entry.order_line_id}, now=now
        )
    return True


def activate_paid_pass(*, order: Order, payment, now: datetime) -> None:
    """``settings.ORDER_PAID_HOOKS``: the pass of a paid ``order`` becomes active, each entry
    linked to its session's ticket. Nothing for any other order; idempotent."""
    pass_ = Pass.objects.select_for_update().filter(order=order).first()
    if pass_ is None or pass_.status == PassStatus.ACTIVE:
        return
    issued = dict(Ticket.objects.filter(order_line__order=order).values_list("order_line_id", "id"))
    entries = list(PassEntry.objects.filter(sold_pass=pass_))
    for entry in entries:
        entry.ticket_id = issued[entry.order_line_id]
    PassEntry.objects.bulk_update(entries, ["ticket"])
    pass_.status = PassStatus.ACTIVE
    pass_.activated_at = now
    pass_.save(update_fields=["status", "activated_at"])
    audit.record(
        action="pass.activated",
        obj=pass_,
        now=now,
        organization_id=order.session.event.organization_id,
        data={"order": order.number, "tickets": sorted(issued.values())},
    )


# -- giving places back: a released match, a returned or cancelled pass ----------------------


def _refund_entries(
    *,
    order: Order,
    entries: list[PassEntry],
    kept: dict[int, Decimal],
    status: str,
    reason: str,
    reference: str,
    now: datetime,
    actor=None,
) -> Decimal:
    """Inside the caller's transaction, which holds the order's lock and the entries':
    each entry's ticket revoked (its attendance locked first: an entry used at the gate
    raises MatchNotReleasable), its place back on sale unless its session is cancelled, its
    order line refunded in the ledger keeping ``kept[entry.pk]`` (a fee or what the policy
    does not pay back), the entry marked ``status``; then the money (price − kept, summed)
    opened as provider refunds of the pass's payment. Returns the amount sent back."""
    locks.require_transaction()
    entries = sorted(entries, key=lambda e: (e.session_id, e.pk))
    for entry in entries:
        if entry.ticket_id is not None:
            presence = checkin.lock_attendance(
                session_id=entry.session_id, ticket_ids=[entry.ticket_id]
            )
            if presence[entry.ticket_id].entries > 0:
                raise MatchNotReleasable(details={"session": entry.session_id, "entered": True})
    by_line: dict[int, Decimal] = {}
    for entry in entries:
        if entry.ticket_id is not None:
            tickets.revoke_ticket(ticket=entry.ticket, reason=reason, now=now, actor=actor)
        if entry.session.status != SessionStatus.CANCELLED:
            inventory.return_sold_places(
                session_id=entry.session_id,
                line_ids=[entry.order_line_id],
                reason=reason,
                now=now,
                actor=actor,
            )
        price = entry.order_line.price
        by_line[entry.order_line_id] = min(max(kept.get(entry.pk, Decimal(0)), Decimal(0)), price)
    price_total, fee_total = orders.refund_lines(
        order=order, fees=by_line, reference=reference, reason=reason, now=now
    )
    PassEntry.objects.filter(pk__in=[e.pk for e in entries]).update(
        status=status,
        released_at=now if status == EntryStatus.RELEASED else None,
        refunded_at=now if status == EntryStatus.REFUNDED else None,
    )
    back = price_total - fee_total
    if back > 0:
        payments.open_refunds(order=order, amount=back, reason=reason, now=now, is_booked=True)
    return back


def _locked_pass(pass_id: int, **owner) -> tuple[Order, Pass]:
    """Order → pass, locked in that order (R in the package docstring)."""
    order_id = Pass.objects.filter(pk=pass_id, **owner).values_list("order_id", flat=True).first()
    if order_id is None:
        raise PassNotFound()
    order = locks.lock_rows(Order.objects).get(pk=order_id)
    pass_ = locks.lock_rows(Pass.objects.select_related("product")).get(pk=pass_id)
    return order, pass_


def _locked_entries(pass_: Pass, **filters) -> list[PassEntry]:
    return list(
        locks.lock_rows(
            PassEntry.objects.select_related("session", "order_line", "ticket").filter(
                sold_pass=pass_, **filters
            )
        ).order_by("session_id")
    )


def release_match(*, pass_id: int, session_id: int, user, now: datetime) -> PassCredit:
    """Give one covered session back to sale: the pass's ticket there is revoked (the pass
    credential no longer admits at that session), its place goes back on sale and the
    credit of the product's policy is paid back to the pass's payment (a provider refund of
    the credit; the rest of the match's share is kept), recorded in the pass ledger. One
    transaction (R).

    Raises PassNotFound (not the user's), PassNotActive, MatchNotReleasable (not covered,
    released already, started, or entered with the pass).
    """
    with transaction.atomic():
        order, pass_ = _locked_pass(pass_id, user=user)
        if pass_.status != PassStatus.ACTIVE:
            raise PassNotActive()
        found = _locked_entries(pass_, session_id=session_id)
        entry = found[0] if found else None
        if entry is None or entry.status != EntryStatus.ACTIVE or entry.ticket_id is None:
            raise MatchNotReleasable()
        if entry.session.starts_at <= now or entry.session.status == SessionStatus.CANCELLED:
            raise MatchNotReleasable()
        product = pass_.product
        share = entry.order_line.price
        amount = credit_for(product, share)
        reference = f"pass-release:{entry.pk}"
        _refund_entries(
            order=order,
            entries=[entry],
            kept={entry.pk: share - amount},
            status=EntryStatus.RELEASED,
            reason=RELEASE_REASON,
            reference=reference,
            now=now,
            actor=user,
        )
        credit = PassCredit.objects.create(
            sold_pass=pass_,
            entry=entry,
            amount=amount,
            currency=product.currency,
            at=now,
            memo=f"{product.get_credit_kind_display()} {product.credit_value}"[:200],
            reference=reference,
        )
        audit.record(
            action="pass.match_released",
            obj=pass_,
            actor=user,
            organization_id=product.organization_id,
            now=now,
            data={
                "order": order.number,
                "session": session_id,
                "ticket": entry.ticket_id,
                "credit": str(credit.amount),
            },
        )
    return credit


@dataclass
class ReturnQuote:
    """What returning a whole pass gives back: the shares of the matches still held, less
    the product's return fee."""

    shares: Decimal
    fee: Decimal
    refund: Decimal
    currency: str
    sessions: int


def _return_fees(product: PassProduct, entries: list[PassEntry], percent: Decimal) -> dict:
    """The fee kept per entry: ``percent`` of its share, rounded to the minor unit."""
    return {
        e.pk: round_money(e.order_line.price * percent / Decimal(100), product.currency)
        for e in entries
    }


def quote_return(*, pass_: Pass, now: datetime) -> ReturnQuote:
    """What the holder gets back for returning ``pass_`` now. Raises PassNotActive,
    PassNotReturnable (the product does not allow it, or a covered match has started)."""
    if pass_.status != PassStatus.ACTIVE:
        raise PassNotActive()
    product = pass_.product
    entries = list(
        pass_.entries.select_related("session", "order_line").filter(status=EntryStatus.ACTIVE)
    )
    _check_returnable(product, pass_, entries, now)
    fees = _return_fees(product, entries, product.return_fee_percent)
    shares = sum((e.order_line.price for e in entries), Decimal(0))
    fee = sum(fees.values(), Decimal(0))
    return ReturnQuote(
        shares=shares,
        fee=fee,
        refund=shares - fee,
        currency=product.currency,
        sessions=len(entries),
    )


def _check_returnable(product: PassProduct, pass_: Pass, entries, now: datetime) -> None:
    if not product.holder_may_return:
        raise PassNotReturnable()
    first = (
        PassEntry.objects.filter(sold_pass=pass_)
        .exclude(session__status=SessionStatus.CANCELLED)
        .order_by("session__starts_at")
        .values_list("session__starts_at", flat=True)
        .first()
    )
    if first is not None and first <= now:
        raise PassNotReturnable(details={"started": True})
    if not entries:
        raise PassNotReturnable(details={"sessions": 0})


def return_pass(*, pass_id: int, user, now: datetime) -> ReturnQuote:
    """The holder returns the whole pass before its first covered match: every match still
    held is given back to sale, its ticket revoked, and its share refunded to the pass's
    payment less the product's return fee; the pass is cancelled. One transaction (R).

    Raises PassNotFound, PassNotActive, PassNotReturnable, MatchNotReleasable (an entry was
    used at a gate)."""
    with transaction.atomic():
        order, pass_ = _locked_pass(pass_id, user=user)
        if pass_.status != PassStatus.ACTIVE:
            raise PassNotActive()
        product = pass_.product
        entries = _locked_entries(pass_, status=EntryStatus.ACTIVE)
        _check_returnable(product, pass_, entries, now)
        fees = _return_fees(product, entries, product.return_fee_percent)
        back = _refund_entries(
            order=order,
            entries=entries,
            kept=fees,
            status=EntryStatus.REFUNDED,
            reason=RETURN_REASON,
            reference=f"pass-return:{pass_.pk}",
            now=now,
            actor=user,
        )
        _cancel(pass_)
        fee = sum(fees.values(), Decimal(0))
        audit.record(
            action="pass.returned",
            obj=pass_,
            actor=user,
            organization_id=product.organization_id,
            now=now,
            data={"order": order.number, "refund": str(back), "fee": str(fee)},
        )
    return ReturnQuote(
        shares=back + fee,
        fee=fee,
        refund=back,
        currency=product.currency,
        sessions=len(entries),
    )


def cancel_pass(*, pass_: Pass, actor, reason: str, now: datetime) -> Decimal:
    """The organizer cancels a pass: every match not yet played (still held, session not
    started) is refunded in full, its ticket revoked and its place put back on sale;
    matches played or released are not refunded again. The pass is cancelled. An unpaid
    pass's order is cancelled (its holds go back). Idempotent: a cancelled pass returns 0.
    One transaction (R). Raises MatchNotReleasable when a match to refund was entered."""
    reason = " ".join(str(reason or "").replace("\x00", "").split())[:200]
    if not reason:
        raise InvalidInput(_("Give a reason."))
    with transaction.atomic():
        order, locked = _locked_pass(pass_.pk)
        if locked.status == PassStatus.CANCELLED:
            return Decimal(0)
        back = Decimal(0)
        if locked.status == PassStatus.PENDING:
            if order.status == OrderStatus.PENDING_PAYMENT:
                orders.cancel_order(order=order, actor=actor, reason=reason, now=now)
        else:
            entries = [
                e
                for e in _locked_entries(locked, status=EntryStatus.ACTIVE)
                if e.session.starts_at > now or e.session.status == SessionStatus.CANCELLED
            ]
            if entries:
                back = _refund_entries(
                    order=order,
                    entries=entries,
                    kept={},
                    status=EntryStatus.REFUNDED,
                    reason=CANCEL_REASON,
                    reference=f"pass-cancel:{locked.pk}",
                    now=now,
                    actor=actor,
                )
        _cancel(locked)
        audit.record(
            action="pass.cancelled",
            obj=locked,
            actor=actor,
            organization_id=locked.product.organization_id,
            now=now,
            data={"order": order.number, "refund": str(back), "reason": reason},
        )
    return back


def _cancel(pass_: Pass) -> None:
    pass_.status = PassStatus.CANCELLED
    pass_.save(update_fields=["status"])


def refund_cancelled_session(*, entry_ids: list[int], change_id: int, now: datetime) -> int:
    """A covered session was cancelled (``passes.changes``): each of these entries, still
    held, is refunded its full share and its ticket revoked; an unpaid pass is cancelled
    (its holds go back). Each entry is marked with the change, and counted on it, in the
    transaction that deals with it (one per pass, its order's lock first), so a second run
    or a run after a killed worker does nothing twice. An entry used at the gate is counted
    as failed. Returns how many entries were refunded."""

    done = 0
    pass_ids = sorted(
        set(PassEntry.objects.filter(pk__in=entry_ids).values_list("sold_pass_id", flat=True))
    )
    for pass_id in pass_ids:
        try:
            with transaction.atomic():
                order, pass_ = _locked_pass(pass_id)
                entries = [
                    e
                    for e in _locked_entries(pass_, pk__in=entry_ids)
                    if e.last_change_id != change_id
                ]
                if not entries:
                    continue
                if pass_.status == PassStatus.PENDING:
                    if order.status == OrderStatus.PENDING_PAYMENT:
                        orders.cancel_order(
                            order=order, actor=None, reason=SESSION_CANCELLED_REASON, now=now
                        )
                    _cancel(pass_)
                to_refund = [
                    e
                    for e in entries
                    if e.status == EntryStatus.ACTIVE and pass_.status == PassStatus.ACTIVE
                ]
                if to_refund:
                    _refund_entries(
                        order=order,
                        entries=to_refund,
                        kept={},
                        status=EntryStatus.REFUNDED,
                        reason=SESSION_CANCELLED_REASON,
                        reference=f"pass-session:{change_id}:{pass_.pk}",
                        now=now,
                    )
                    done += len(to_refund)
                _mark_changed(entries, change_id, done=len(entries), failed=0)
        except DomainError as error:
            with transaction.atomic():
                failed = list(
                    PassEntry.objects.filter(pk__in=entry_ids, sold_pass_id=pass_id).exclude(
                        last_change_id=change_id
                    )
                )
                _mark_changed(failed, change_id, done=0, failed=len(failed))
                audit.record(
                    action="pass.session_refund_failed",
                    obj=Pass(pk=pass_id),
                    now=now,
                    data={"change": change_id, "code": error.code},
                )
    return done


def move_for_change(*, entry_ids: list[int], change, now: datetime) -> int:
    """A covered session moved to another venue (``passes.changes``): each of these entries
    of a paid pass, still held, gets a place at the new venue by the move's rules
    (``aftersales.changes.move_lines``: its price zone, the mapped section), its order line
    relabelled and its ticket reissued (the pass's QR code then carries the new place; the
    old version is refused). Each entry is marked with the change, and counted on it, in
    the transaction that deals with it (one per pass, its order's lock first), so a second
    run or a run after a killed worker does nothing twice. An entry for which no place is
    left is counted as failed (audited); an unpaid pass's entry is left as it is (its hold
    on the old venue's place is lost, as a plain order's). Returns how many entries moved."""
    from tessera.aftersales.changes import move_lines

    moved = 0
    pass_ids = sorted(
        set(PassEntry.objects.filter(pk__in=entry_ids).values_list("sold_pass_id", flat=True))
    )
    for pass_id in pass_ids:
        with transaction.atomic():
            _order, pass_ = _locked_pass(pass_id)
            entries = [
                e for e in _locked_entries(pass_, pk__in=entry_ids) if e.last_change_id != change.pk
            ]
            if not entries:
                continue
            to_move = [
                e
                for e in entries
                if e.status == EntryStatus.ACTIVE
                and pass_.status == PassStatus.ACTIVE
                and e.order_line_id is not None
            ]
            lines = list(
                OrderLine.objects.filter(
                    pk__in=[e.order_line_id for e in to_move], status=LineStatus.ACTIVE
                )
                .exclude(unit__section__layout_id=change.new_layout_id)
                .order_by("pk")
                .values_list("pk", "pk", "zone_id", "unit__section_id")
            )
            targets, no_place = move_lines(
                change=change, lines=lines, groups=[line for line, *_rest in lines], now=now
            )
            for entry in to_move:
                if entry.order_line_id in targets:
                    entry.unit_id = targets[entry.order_line_id]
                    entry.save(update_fields=["unit"])
            if no_place:
                audit.record(
                    action="pass.session_move_failed",
                    obj=pass_,
                    now=now,
                    organization_id=pass_.product.organization_id,
                    data={"change": change.pk, "lines": no_place},
                )
            moved += len(targets)
            _mark_changed(
                entries, change.pk, done=len(entries) - len(no_place), failed=len(no_place)
            )
    return moved


def _mark_changed(entries, change_id: int, *, done: int, failed: int) -> None:
    from django.db.models import F

    from tessera.aftersales.models import SessionChange

    PassEntry.objects.filter(pk__in=[e.pk for e in entries]).update(last_change_id=change_id)
    if done or failed:
        SessionChange.objects.filter(pk=change_id).update(
            done=F("done") + done, failed=F("failed") + failed
        )


def redate_for_change(*, entry_ids: list[int], change_id: int, now: datetime) -> int:
    """A covered session was postponed to a new date: the tickets of these entries get
    their next credential version (the pass's QR code then carries the new dates), each
    entry marked with the change. One transaction. Returns how many tickets."""
    with transaction.atomic():
        entries = list(
            locks.lock_rows(
                PassEntry.objects.filter(pk__in=entry_ids).exclude(last_change_id=change_id)
            )
            .order_by("pk")
            .values_list("pk", "ticket_id", "status")
        )
        ticket_ids = [t for _pk, t, status in entries if t and status == EntryStatus.ACTIVE]
        found = locks.lock_rows(
            Ticket.objects.filter(pk__in=ticket_ids, status=TicketStatus.VALID)
        ).order_by("pk")
        count = 0
        for ticket in found:
            tickets.reissue_ticket(ticket=ticket, holder_name=ticket.holder_name, now=now)
            count += 1
        _mark_changed(
            [PassEntry(pk=pk) for pk, _t, _s in entries], change_id, done=len(entries), failed=0
        )
    return count


__all__ = [
    "BoughtPass",
    "activate_paid_pass",
    "buy_pass",
    "cancel_pass",
    "create_product",
    "credit_for",
    "move_for_change",
    "quote_return",
    "redate_for_change",
    "refund_cancelled_session",
    "release_match",
    "return_pass",
    "sell_pass_places",
    "shares",
]
