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
from tessera.core.errors import InvalidInput
from tessera.core.money import round_money
from tessera.inventory import services as inventory
from tessera.inventory.errors import PlacesUnavailable
from tessera.orders import services as orders
from tessera.orders.models import Order, OrderStatus
from tessera.passes.errors import (
    MatchNotReleasable,
    PassLimitReached,
    PassNotActive,
    PassNotFound,
    PassNotOnSale,
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
from tessera.tickets.models import Ticket
from tessera.tickets.pass_credentials import MAX_ENTRIES

PASS_HOLD_MINUTES = 15
RELEASE_REASON = "pass_release"


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


# -- releasing a match ----------------------------------------------------------------------


def release_match(*, pass_id: int, session_id: int, user, now: datetime) -> PassCredit:
    """Give one covered session back to sale: the pass's ticket there is revoked (the pass
    credential no longer admits at that session), its place goes back on sale and the
    credit of the product's policy is booked in the pass ledger. One transaction (R).

    Raises PassNotFound (not the user's), PassNotActive, MatchNotReleasable (not covered,
    released already, started, or entered with the pass).
    """
    with transaction.atomic():
        found = Pass.objects.filter(pk=pass_id, user=user).values_list("order_id", flat=True)
        order_id = found.first()
        if order_id is None:
            raise PassNotFound()
        order = locks.lock_rows(Order.objects).get(pk=order_id)
        pass_ = Pass.objects.select_related("product").get(pk=pass_id)
        if pass_.status != PassStatus.ACTIVE:
            raise PassNotActive()
        entry = (
            locks.lock_rows(PassEntry.objects.select_related("session", "order_line", "ticket"))
            .filter(sold_pass=pass_, session_id=session_id)
            .first()
        )
        if entry is None or entry.status != EntryStatus.ACTIVE or entry.ticket_id is None:
            raise MatchNotReleasable()
        if entry.session.starts_at <= now:
            raise MatchNotReleasable()
        presence = checkin.lock_attendance(session_id=session_id, ticket_ids=[entry.ticket_id])
        if presence[entry.ticket_id].entries > 0:
            raise MatchNotReleasable()
        tickets.revoke_ticket(ticket=entry.ticket, reason=RELEASE_REASON, now=now, actor=user)
        inventory.return_sold_places(
            session_id=session_id,
            line_ids=[entry.order_line_id],
            reason=RELEASE_REASON,
            now=now,
            actor=user,
        )
        entry.status = EntryStatus.RELEASED
        entry.released_at = now
        entry.save(update_fields=["status", "released_at"])
        product = pass_.product
        credit = PassCredit.objects.create(
            sold_pass=pass_,
            entry=entry,
            amount=credit_for(product, entry.order_line.price),
            currency=product.currency,
            at=now,
            memo=f"{product.get_credit_kind_display()} {product.credit_value}"[:200],
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


__all__ = [
    "BoughtPass",
    "activate_paid_pass",
    "buy_pass",
    "create_product",
    "credit_for",
    "release_match",
    "sell_pass_places",
    "shares",
]
