"""The purchase flow for fans: choose places → hold (with a countdown) → attendees → pay at
the provider's cashier → the order page with tickets.

Views parse the form, call one service and redirect or render; a refused request shows the
service's message in the fan's language and changes nothing.
"""

from datetime import UTC

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from tessera.accounts.models import User
from tessera.catalog.models import EventStatus, Session
from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.inventory import admission
from tessera.inventory import selectors as inventory_selectors
from tessera.inventory import services as inventory
from tessera.inventory.errors import HoldNotFound
from tessera.inventory.models import HoldStatus
from tessera.orders import services as orders
from tessera.orders.models import Order, OrderStatus
from tessera.payments import services as payments
from tessera.tickets.models import TicketStatus
from tessera.venues.models import SectionKind
from tessera.waitingroom.guards import waitingroom_redirect

MODE_ANY = "any"
MODE_BEST = "best"
MODE_SEATS = "seats"


def _public_session(session_id: int) -> Session:
    session = (
        Session.objects.filter(pk=session_id, event__status=EventStatus.PUBLISHED)
        .select_related("event", "layout__venue__city")
        .first()
    )
    if session is None:
        raise Http404(_("No such session."))
    return session


def _zone_rows(session: Session, now) -> list[dict]:
    """Each zone with its price, free places and whether it is standing only."""
    free = inventory_selectors.availability_by_zone(session=session, now=now)
    standing_zone_ids = set(
        session.zone_assignments.filter(section__kind=SectionKind.STANDING).values_list(
            "zone_id", flat=True
        )
    )
    seated_zone_ids = set(
        session.zone_assignments.filter(section__kind=SectionKind.SEATED).values_list(
            "zone_id", flat=True
        )
    )
    return [
        {
            "zone": zone,
            "free": free.get(zone.id, 0),
            "standing_only": zone.id in standing_zone_ids and zone.id not in seated_zone_ids,
        }
        for zone in session.price_zones.all()
    ]


class BuyForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[
            (MODE_BEST, gettext_lazy("Best available seats together")),
            (MODE_ANY, gettext_lazy("Any places in the zone (standing)")),
            (MODE_SEATS, gettext_lazy("These seats")),
        ],
        initial=MODE_BEST,
        widget=forms.RadioSelect,
        label=gettext_lazy("How to choose"),
    )
    zone = forms.IntegerField(required=False, label=gettext_lazy("Price zone"))
    quantity = forms.IntegerField(
        min_value=1, max_value=100, initial=2, label=gettext_lazy("Number of tickets")
    )
    accept_split = forms.BooleanField(
        required=False, label=gettext_lazy("Seats may be split if no block is left")
    )
    seats = forms.CharField(
        required=False,
        max_length=400,
        label=gettext_lazy("Seats"),
        help_text=gettext_lazy("Section-row-seat, separated by commas, e.g. 101-5-12, 101-5-13"),
    )


def _parse_seat_labels(session: Session, text: str) -> list[int]:
    """Unit ids for labels ``section-row-seat`` (one query); raises DomainError naming the
    first bad label."""
    from tessera.inventory.models import InventoryUnit

    labels = [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
    if not labels:
        raise DomainError(_("Please enter at least one seat."))
    wanted: list[tuple[str, tuple[str, ...]]] = []
    for label in labels[:100]:
        parts = tuple(label.split("-"))
        if len(parts) != 3 or not all(parts):
            raise DomainError(
                _("“%(label)s” is not a seat: use section-row-seat, e.g. 101-5-12.")
                % {"label": label}
            )
        wanted.append((label, parts))
    match = Q()
    for _label, (section, row, seat) in wanted:
        match |= Q(section__code=section, seat__row__label=row, seat__label=seat)
    found = {
        (section, row, seat): unit_id
        for unit_id, section, row, seat in InventoryUnit.objects.filter(
            match, session=session
        ).values_list("id", "section__code", "seat__row__label", "seat__label")
    }
    for label, parts in wanted:
        if parts not in found:
            raise DomainError(_("There is no seat %(label)s in this session.") % {"label": label})
    return [found[parts] for _label, parts in wanted]


@login_required
@require_http_methods(["GET", "POST"])
def buy(request, session_id: int):
    """Choose places for a session and hold them."""
    now = clock.now()
    session = _public_session(session_id)
    if redirect_to_queue := waitingroom_redirect(request, session):
        return redirect_to_queue
    form = BuyForm(
        request.POST or None, initial={"quantity": min(2, session.max_tickets_per_order)}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        admission_pass = admission.pass_from_request(request, session.pk)
        try:
            zone = None
            if data["zone"] is not None:
                zone = session.price_zones.filter(pk=data["zone"]).first()
                if zone is None:
                    raise DomainError(_("Please choose a price zone of this session."))
            if data["mode"] == MODE_SEATS:
                hold = inventory.hold_units(
                    session=session,
                    user=request.user,
                    unit_ids=_parse_seat_labels(session, data["seats"]),
                    now=now,
                    admission_pass=admission_pass,
                )
            elif zone is None:
                raise DomainError(_("Please choose a price zone."))
            elif data["mode"] == MODE_ANY:
                hold = inventory.hold_quantity(
                    session=session,
                    user=request.user,
                    zone=zone,
                    quantity=data["quantity"],
                    now=now,
                    admission_pass=admission_pass,
                )
            else:
                hold = inventory.hold_best_available(
                    session=session,
                    user=request.user,
                    zone=zone,
                    quantity=data["quantity"],
                    accept_split=data["accept_split"],
                    now=now,
                    admission_pass=admission_pass,
                )
        except DomainError as exc:
            form.add_error(None, str(exc.message))
        else:
            return redirect("storefront:checkout", hold_id=hold.pk)
    return render(
        request,
        "storefront/buy.html",
        {
            "session": session,
            "form": form,
            "zones": _zone_rows(session, now),
            "now": now,
            "is_on_sale": session.is_on_sale(now),
        },
    )


def _attendee_names(request, count: int) -> list[str]:
    return [request.POST.get(f"attendee_{i}", "").strip() for i in range(count)]


@login_required
@require_http_methods(["GET", "POST"])
def checkout(request, hold_id):
    """The held places with their countdown; attendees; on to payment."""
    now = clock.now()
    try:
        hold = inventory_selectors.get_hold_for_user(hold_id=hold_id, user=request.user)
    except HoldNotFound:
        raise Http404(_("No such hold.")) from None
    order = Order.objects.filter(hold=hold).first()
    if order is not None and order.status != OrderStatus.PENDING_PAYMENT:
        return redirect("storefront:order", number=order.number)
    session = _public_session(hold.session_id)
    units = list(inventory_selectors.list_hold_units(hold))
    is_live = hold.is_live(now) and hold.status in (HoldStatus.ACTIVE, HoldStatus.ORDERED)
    error = None
    if request.method == "POST" and is_live:
        action = request.POST.get("action", "pay")
        try:
            if action == "release":
                if order is not None:
                    orders.cancel_order(
                        order=order, actor=request.user, reason="released by buyer", now=now
                    )
                else:
                    inventory.release_hold(hold=hold, user=request.user, now=now)
                messages.info(request, _("Your places were released."))
                return redirect("storefront:buy", session_id=session.pk)
            if action == "extend":
                if order is not None:
                    orders.extend_order(order=order, user=request.user, now=now)
                else:
                    inventory.extend_hold(hold=hold, user=request.user, now=now)
                messages.success(
                    request,
                    _("You have %(minutes)s more minutes.") % {"minutes": session.hold_minutes},
                )
                return redirect("storefront:checkout", hold_id=hold.pk)
            names = _attendee_names(request, len(units))
            if order is None:
                order = orders.place_order(
                    hold=hold,
                    user=request.user,
                    attendees=names,
                    email=request.POST.get("email", "")[:254],
                    now=now,
                )
            else:
                orders.update_attendees(order=order, user=request.user, attendees=names, now=now)
            payment = payments.start_payment(
                order=order, provider="sandbox", user=request.user, now=now
            )
            target = payment.cashier_url or payments.cashier_url(payment)
            return redirect(target)
        except DomainError as exc:
            error = str(exc.message)
    names = [line.attendee_name for line in order.lines.order_by("id")] if order else []
    rows = [
        {"unit": unit, "index": index, "name": names[index] if index < len(names) else ""}
        for index, unit in enumerate(units)
    ]
    total = sum((unit.zone.price for unit in units), start=0)
    return render(
        request,
        "storefront/checkout.html",
        {
            "hold": hold,
            "deadline": hold.expires_at.astimezone(UTC).isoformat(),
            "session": session,
            "rows": rows,
            "total": total,
            "order": order,
            "is_live": is_live,
            "error": error,
            "now": now,
            "can_extend": is_live and hold.extensions == 0,
            "currency": units[0].zone.currency if units else "CNY",
        },
    )


@login_required
def order_detail(request, number: str):
    try:
        order = orders.get_order_for_user(number=number[:20], user=request.user)
    except DomainError:
        raise Http404(_("No such order.")) from None
    tickets = []
    if order.status in (OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED):
        from tessera.tickets.models import Ticket

        tickets = list(
            Ticket.objects.filter(order_line__order=order)
            .select_related("order_line")
            .order_by("id")
        )
    return render(
        request,
        "storefront/order.html",
        {
            "order": order,
            "lines": list(order.lines.all()),
            "tickets": tickets,
            "valid_status": TicketStatus.VALID,
            "is_waiting": order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID),
        },
    )


@login_required
def my_orders(request):
    rows = (
        Order.objects.filter(user=request.user)
        .select_related("session__event", "session__layout__venue")
        .order_by("-created_at")[:100]
    )
    return render(request, "storefront/my_orders.html", {"orders": rows})


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, label=gettext_lazy("Email"))

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


@require_http_methods(["GET", "POST"])
def signup(request):
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(next_url)
    return render(request, "registration/signup.html", {"form": form, "next": next_url})
