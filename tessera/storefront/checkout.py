"""The purchase flow for fans, step 1: choose places and hold them; the steps after the hold
live in ``steps`` (attendees, payment) and ``account`` (the order page); and signing up.

Views parse the form, call one service and redirect or render; a refused request shows the
service's message in the fan's language and changes nothing.
"""

from django import forms
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
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
from tessera.limits import services as limits
from tessera.ratelimit.verification import verification_redirect
from tessera.sale import services as sale
from tessera.sale.choices import PlaceChoice
from tessera.venues.models import SectionKind
from tessera.waitingroom.guards import waitingroom_redirect

MODE_ANY = "any"
MODE_BEST = "best"
MODE_SEATS = "seats"


def _public_session(session_id: int) -> Session:
    session = (
        limits.with_limits_flag(
            Session.objects.filter(
                pk=session_id,
                event__status=EventStatus.PUBLISHED,
                event__organization__is_sandbox=False,
            )
        )
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


def _choice(data: dict, session: Session) -> PlaceChoice:
    """The buy form's choice as the sale understands it; raises DomainError with the
    message the form shows."""
    if data["mode"] == MODE_SEATS:
        return PlaceChoice.parse({"seat_labels": data["seats"] or ""})
    if data["zone"] is None:
        raise DomainError(_("Please choose a price zone."))
    if not session.price_zones.filter(pk=data["zone"]).exists():
        raise DomainError(_("Please choose a price zone of this session."))
    return PlaceChoice.parse(
        {
            "zone": data["zone"],
            "quantity": data["quantity"],
            "best_available": data["mode"] == MODE_BEST,
            "accept_split": data["mode"] == MODE_BEST and data["accept_split"],
        }
    )


@login_required
@require_http_methods(["GET", "POST"])
def buy(request, session_id: int):
    """Choose places for a session and hold them."""
    now = clock.now()
    session = _public_session(session_id)
    if redirect_to_queue := waitingroom_redirect(request, session):
        return redirect_to_queue
    if redirect_to_verify := verification_redirect(request, session):
        return redirect_to_verify
    form = BuyForm(
        request.POST or None, initial={"quantity": min(2, session.max_tickets_per_order)}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        admission_pass = admission.pass_from_request(request, session.pk)
        try:
            hold = sale.hold_places(
                session=session,
                user=request.user,
                choice=_choice(data, session),
                now=now,
                admission_pass=admission_pass,
                buyer=limits.buyer_from_meta(request.META),
            )
        except DomainError as exc:
            form.add_error(None, str(exc.message))
        else:
            return redirect("storefront:checkout", hold_id=hold.pk)
    zones = _zone_rows(session, now)
    is_on_sale = session.is_on_sale(now)
    return render(
        request,
        "storefront/buy.html",
        {
            "session": session,
            "form": form,
            "zones": zones,
            "now": now,
            "is_on_sale": is_on_sale,
            # every zone gone: the waiting list is offered (tessera.waitlist)
            "is_sold_out": is_on_sale and bool(zones) and not any(z["free"] for z in zones),
        },
    )


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
