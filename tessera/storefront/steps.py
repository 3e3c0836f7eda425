"""The checkout after the hold, one step a page: places → attendees → payment → done.

Step 1 (choosing places) is the buy page. Step 2 shows the held places with their prices and
asks for the attendees; leaving it places the order (or updates its names), so going back
shows them again. Step 3 chooses a payment method and sends the fan to the provider's
cashier; step 4 is the order page with the tickets. Every step shows the hold's countdown
and, once the hold has run out, says so and offers the same places again or the nearest
alternative (``recovery.recover_places``).

What the fan typed is also kept per hold in a ``CheckoutDraft`` row (names, email, the
places), so a recovered hold starts with the same names and a tidied hold still knows its
places. (The session is a signed cookie and holds only the sign-in.)
"""

from datetime import UTC

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Subquery
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tessera.aftersales.policies import session_policy_lines
from tessera.catalog.models import EventStatus, Session
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.core.schemas import CONTROL_CHARACTERS
from tessera.identities import services as identities
from tessera.inventory import admission
from tessera.inventory import selectors as inventory_selectors
from tessera.inventory import services as inventory
from tessera.inventory.errors import HoldNotFound
from tessera.inventory.models import Hold
from tessera.limits import services as limits
from tessera.orders import services as orders
from tessera.orders.models import Order, OrderStatus
from tessera.payments import services as payments
from tessera.payments.models import Provider
from tessera.payments.providers import get_provider, provider_names
from tessera.payments.providers.base import ProviderUnavailable
from tessera.storefront import recovery
from tessera.storefront.models import CheckoutDraft

MAX_DRAFTS = 5  # holds remembered per fan; older drafts go when a new one is saved
# The countdown turns into a warning this many seconds before the hold runs out.
WARN_SECONDS = 150
STEP_ATTENDEES = "attendees"
STEP_PAYMENT = "payment"


# -- what the fan typed, per hold -------------------------------------------------------------


def get_draft(request, hold_id) -> CheckoutDraft:
    """The signed-in fan's draft for the hold, or a new, unsaved one. Another account's
    draft is never read."""
    draft = CheckoutDraft.objects.filter(hold_id=hold_id, user=request.user).first()
    return draft if draft is not None else CheckoutDraft(hold_id=hold_id, user=request.user)


def _without_controls(value):
    if isinstance(value, str):
        return CONTROL_CHARACTERS.sub("", value)
    if isinstance(value, list):
        return [_without_controls(item) for item in value]
    return value


def save_draft(draft: CheckoutDraft, *, now, **values) -> None:
    """Store ``values`` (``names``, ``email``, ``unit_ids``, ``recovered_from``) in the draft.

    A stored draft is written only when something changed. A new one is written in one
    statement that also covers a draft stored meanwhile by a parallel request for the same
    hold; the fan's drafts beyond the newest ``MAX_DRAFTS`` are then deleted. Control
    characters are left out of the stored texts (PostgreSQL's JSON cannot hold a NUL); the
    order itself refuses them with the form's error.
    """
    values = {name: _without_controls(value) for name, value in values.items()}
    changed = [name for name, value in values.items() if getattr(draft, name) != value]
    if not values or (draft.pk is not None and not changed):
        return
    for name in changed:
        setattr(draft, name, values[name])
    draft.updated_at = now
    if draft.pk is not None:
        draft.save(update_fields=[*changed, "updated_at"])
        return
    fields = ["user", "names", "email", "unit_ids", "recovered_from", "updated_at"]
    CheckoutDraft.objects.bulk_create(
        [draft], update_conflicts=True, unique_fields=["hold"], update_fields=fields
    )
    newest = CheckoutDraft.objects.filter(user_id=draft.user_id).order_by("-updated_at", "-id")
    CheckoutDraft.objects.filter(user_id=draft.user_id).exclude(
        pk__in=Subquery(newest.values("pk")[:MAX_DRAFTS])
    ).delete()


# -- shared by the steps -----------------------------------------------------------------------


def countdown_strings() -> dict:
    """The countdown's texts, rendered into the page as JSON for countdown.js."""
    return {
        "warning": _("Less than two and a half minutes left: finish now or ask for more time."),
        "expired": _("Your hold has expired. Your places are free for other fans now."),
        "reloading": _("Showing your options…"),
    }


def _session_of(hold: Hold) -> Session:
    session = (
        Session.objects.filter(pk=hold.session_id, event__status=EventStatus.PUBLISHED)
        .select_related("event", "layout__venue__city")
        .first()
    )
    if session is None:
        raise Http404(_("No such session."))
    return session


def _own_hold(request, hold_id) -> Hold:
    try:
        return inventory_selectors.get_hold_for_user(hold_id=hold_id, user=request.user)
    except HoldNotFound:
        raise Http404(_("No such hold.")) from None


def configured_providers() -> list[tuple[str, str]]:
    """(name, label) of the payment providers this installation can take money with."""
    labels = dict(Provider.choices)
    found = []
    for name in provider_names():
        try:
            get_provider(name)
        except ProviderUnavailable:
            continue
        found.append((name, str(labels.get(name, name))))
    return found


def _step_context(request, *, hold: Hold, order: Order | None, now) -> dict:
    """Places, names, total and countdown of a hold, the same on every step."""
    session = _session_of(hold)
    draft = get_draft(request, hold.pk)
    is_live = hold.is_live(now)
    unit_ids = None
    if order is not None:
        lines = list(order.lines.select_related("zone").order_by("id"))
        rows = [
            {
                "index": index,
                "section": line.section_name,
                "row": line.row_label,
                "seat": line.seat_label,
                "zone": line.zone,
                "zone_name": line.zone_name,
                "price": line.price,
                "currency": line.currency,
                "name": line.attendee_name,
                "masked": line.attendee_id_number,  # real-name lines: the masked number
            }
            for index, line in enumerate(lines)
        ]
        total, currency = order.total, order.currency
    else:
        names = list(draft.names)
        units = list(inventory_selectors.list_hold_units(hold)) if is_live else []
        if is_live:
            unit_ids = [unit.pk for unit in units]
        rows = [
            {
                "index": index,
                "section": unit.section.display_name,
                "row": unit.seat.row.label if unit.seat else "",
                "seat": unit.seat.label if unit.seat else "",
                "zone": unit.zone,
                "zone_name": unit.zone.display_name,
                "price": unit.zone.price,
                "currency": unit.zone.currency,
                "name": names[index] if index < len(names) else "",
            }
            for index, unit in enumerate(units)
        ]
        total = sum((row["price"] for row in rows), start=0)
        currency = rows[0]["currency"] if rows else "CNY"
    return {
        "hold": hold,
        "order": order,
        "session": session,
        "rows": rows,
        "total": total,
        "currency": currency,
        "is_live": is_live,
        "deadline": hold.expires_at.astimezone(UTC).isoformat(),
        "warn_seconds": WARN_SECONDS,
        "can_extend": is_live and hold.extensions == 0,
        "countdown_strings": countdown_strings(),
        "email": (order.email if order else draft.email) or request.user.email,
        "now": now,
        "draft": draft,
        "unit_ids": unit_ids,  # the live hold's places, for the draft
    }


def _finished_order(hold: Hold) -> tuple[Order | None, bool]:
    """The hold's order and whether the fan belongs on the order page instead (paid,
    or closed by a lost sale)."""
    order = Order.objects.filter(hold=hold).first()
    if order is None:
        return None, False
    return order, order.status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED)


def _attendee_ids_from(request, count: int) -> list[dict]:
    """The attendee chosen for each place of a real-name session (``None`` where none or
    not a number: the order service refuses it with a clear message)."""
    chosen = []
    for i in range(count):
        raw = request.POST.get(f"attendee_id_{i}", "")
        value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
        chosen.append({"attendee_id": value})
    return chosen


def _names_from(request, count: int) -> list[str]:
    return [request.POST.get(f"attendee_{i}", "").strip()[:80] for i in range(count)]


def _extend(request, *, hold: Hold, order: Order | None, session: Session, now) -> None:
    if order is not None:
        orders.extend_order(order=order, user=request.user, now=now)
    else:
        inventory.extend_hold(hold=hold, user=request.user, now=now)
    messages.success(
        request,
        _("You have %(minutes)s more minutes.") % {"minutes": session.hold_minutes},
    )


def _render_step(request, template: str, context: dict, status: int = 200):
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"  # back/forward re-asks: names and time stay true
    return response


# -- step 2: the held places and the attendees -------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def checkout(request, hold_id):
    """Review the held places, name the attendees, go on to payment."""
    now = clock.now()
    hold = _own_hold(request, hold_id)
    order, finished = _finished_order(hold)
    if finished:
        return redirect("storefront:order", number=order.number)
    context = _step_context(request, hold=hold, order=order, now=now)
    context["error"] = None
    real_name = context["session"].real_name_required
    if real_name:
        context["real_name"] = True
        context["attendee_choices"] = identities.list_attendees(user=request.user)
        context["max_per_identity"] = context["session"].max_tickets_per_identity
    remembered = {} if context["unit_ids"] is None else {"unit_ids": context["unit_ids"]}
    if request.method != "POST":
        save_draft(context["draft"], now=now, **remembered)
    else:
        action = request.POST.get("action", "next")
        names = _names_from(request, len(context["rows"]))
        email = request.POST.get("email", "").strip()[:254]
        if context["rows"]:
            remembered.update(names=names, email=email)
        save_draft(context["draft"], now=now, **remembered)
        if not context["is_live"]:
            context["error"] = _("Your hold has expired: nothing was saved to an order.")
            return _render_step(request, "storefront/checkout.html", context, status=409)
        try:
            if action == "release":
                if order is not None:
                    orders.cancel_order(
                        order=order, actor=request.user, reason="released by buyer", now=now
                    )
                else:
                    inventory.release_hold(hold=hold, user=request.user, now=now)
                messages.info(request, _("Your places were released."))
                return redirect("storefront:buy", session_id=hold.session_id)
            if action == "extend":
                _extend(request, hold=hold, order=order, session=context["session"], now=now)
                return redirect("storefront:checkout", hold_id=hold.pk)
            if order is None:
                orders.place_order(
                    hold=hold,
                    user=request.user,
                    attendees=_attendee_ids_from(request, len(context["rows"]))
                    if real_name
                    else names,
                    email=email,
                    now=now,
                )
            elif real_name:
                pass  # the identities are bound to the order: nothing to change
            else:
                # The order keeps the email it was placed with (orders has no service to
                # change it yet); only the names can still change.
                orders.update_attendees(order=order, user=request.user, attendees=names, now=now)
            return redirect("storefront:checkout_payment", hold_id=hold.pk)
        except DomainError as exc:
            context["error"] = str(exc.message)
            chosen = _attendee_ids_from(request, len(context["rows"])) if real_name else []
            for row, name in zip(context["rows"], names, strict=False):
                row["name"] = name
            for row, item in zip(context["rows"], chosen, strict=False):
                row["attendee_id"] = item["attendee_id"]
            context["email"] = email
            return _render_step(request, "storefront/checkout.html", context, status=422)
    return _render_step(request, "storefront/checkout.html", context)


# -- step 3: payment ---------------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def checkout_payment(request, hold_id):
    """Choose how to pay and go to the provider's cashier."""
    now = clock.now()
    hold = _own_hold(request, hold_id)
    order, finished = _finished_order(hold)
    if finished:
        return redirect("storefront:order", number=order.number)
    if order is None and hold.is_live(now):
        return redirect("storefront:checkout", hold_id=hold.pk)
    context = _step_context(request, hold=hold, order=order, now=now)
    providers = configured_providers()
    chosen = request.POST.get("provider") or (providers[0][0] if providers else "")
    context.update(
        {
            "providers": providers,
            "chosen": chosen,
            "error": None,
            "qr_svg": "",
            "payment": None,
            "policy": session_policy_lines(session=context["session"], now=now),
        }
    )
    if request.method == "POST" and order is not None and request.POST.get("action") == "release":
        # From the order page after a failed payment: cancel, say so where the fan lands.
        try:
            orders.cancel_order(
                order=order, actor=request.user, reason="released by buyer", now=now
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(
                request,
                _(
                    "Your places were released and order %(number)s is cancelled; "
                    "nothing was charged."
                )
                % {"number": order.number},
            )
        return redirect("storefront:order", number=order.number)
    if request.method == "POST" and order is not None:
        if not context["is_live"]:
            context["error"] = _("Your hold has expired before the payment started.")
            return _render_step(request, "storefront/checkout_payment.html", context, status=409)
        try:
            if request.POST.get("action") == "extend":
                _extend(request, hold=hold, order=order, session=context["session"], now=now)
                return redirect("storefront:checkout_payment", hold_id=hold.pk)
            if chosen not in dict(providers):
                raise DomainError(_("Please choose a payment method."))
            payment = payments.start_payment(
                order=order, provider=chosen, user=request.user, now=now
            )
        except DomainError as exc:
            context["error"] = str(exc.message)
            return _render_step(request, "storefront/checkout_payment.html", context, status=422)
        if payment.cashier_url:
            return redirect(payment.cashier_url)
        context["payment"] = payment
        context["qr_svg"] = segno.make(payment.qr_content, error="m").svg_inline(
            scale=5, title=_("Scan to pay")
        )
    return _render_step(request, "storefront/checkout_payment.html", context)


# -- recovery ----------------------------------------------------------------------------------


@login_required
@require_POST
def checkout_recover(request, hold_id):
    """Take the places of an expired or lost hold again, or the nearest alternative."""
    now = clock.now()
    hold = _own_hold(request, hold_id)
    draft = get_draft(request, hold.pk)
    unit_ids = recovery.places_of_hold(hold, remembered=draft.unit_ids)
    names, email = list(draft.names), draft.email
    order = Order.objects.filter(hold=hold).first()
    if order is not None and not names:
        names = [line.attendee_name for line in order.lines.order_by("id")]
        email = order.email
    try:
        result = recovery.recover_places(
            hold=hold,
            user=request.user,
            unit_ids=unit_ids,
            now=now,
            admission_pass=admission.pass_from_request(request, hold.session_id),
            buyer=limits.buyer_from_meta(request.META),
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        if order is not None:
            return redirect("storefront:order", number=order.number)
        return redirect("storefront:checkout", hold_id=hold.pk)
    save_draft(
        CheckoutDraft(hold=result.hold, user=request.user),
        now=now,
        names=names,
        email=email,
        recovered_from=hold.pk,
    )
    if result.same_places:
        messages.success(request, _("You have the same places again."))
    else:
        messages.warning(
            request,
            _(
                "Your places were taken, so we held the nearest alternative: the same number "
                "of places in the same price zone. Please check them."
            ),
        )
    return redirect(reverse("storefront:checkout", kwargs={"hold_id": result.hold.pk}))


def forget_drafts(*, user) -> int:
    """Delete everything ``user`` typed into checkouts (names, email): a deletion request."""
    deleted, _by_model = CheckoutDraft.objects.filter(user=user).delete()
    return deleted
