"""The fan's waiting-list pages: join / position / leave for a session, and an offer.

Views parse the form, call one service and redirect or render; a refused request shows the
service's message in the fan's language and changes nothing.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.inventory.models import HoldStatus
from tessera.waitlist import selectors, services
from tessera.waitlist.errors import SessionNotFound
from tessera.waitlist.models import OfferStatus, WaitlistOffer

ANY_ZONE = "any"


class JoinForm(forms.Form):
    zone = forms.CharField(max_length=20, label=gettext_lazy("Price zone"))
    max_price = forms.DecimalField(
        required=False,
        min_value=0.01,
        max_digits=12,
        decimal_places=2,
        label=gettext_lazy("Highest price per ticket"),
        help_text=gettext_lazy("For any zone: the most you would pay per ticket (empty: any)."),
    )
    quantity = forms.IntegerField(
        min_value=1, max_value=100, label=gettext_lazy("Number of tickets")
    )

    def clean_zone(self):
        value = self.cleaned_data["zone"].strip()
        if value == ANY_ZONE:
            return None
        try:
            return int(value)
        except ValueError:
            raise forms.ValidationError(_("Please choose a price zone of this session.")) from None


def _venue_time(session, moment):
    """``moment`` in the venue's zone (times on these pages are the venue's, as elsewhere)."""
    return moment.astimezone(session.layout.venue.zone_info)


def _session_or_404(session_id):
    try:
        return selectors.get_public_session(session_id)
    except SessionNotFound:
        raise Http404(_("No such session.")) from None


@login_required
@require_http_methods(["GET", "POST"])
def session_waitlist(request, session_id: int):
    """Join the session's waiting list, or see your position and leave it."""
    now = clock.now()
    session = _session_or_404(session_id)
    entry = selectors.get_live_entry(session_id=session.pk, user=request.user)
    limit = services.quantity_limit(session=session, user=request.user, now=now)
    form = JoinForm(
        request.POST or None, initial={"zone": ANY_ZONE, "quantity": min(2, limit) or 1}
    )
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "leave" and entry is not None:
                services.leave_waitlist(entry=entry, user=request.user, now=now)
                messages.success(request, _("You have left the waiting list."))
                return redirect("waitlist:session", session_id=session.pk)
            if action == "join" and entry is None and form.is_valid():
                data = form.cleaned_data
                services.join_waitlist(
                    session=session,
                    user=request.user,
                    quantity=data["quantity"],
                    zone_id=data["zone"],
                    max_price=data["max_price"] if data["zone"] is None else None,
                    now=now,
                )
                return redirect("waitlist:session", session_id=session.pk)
        except DomainError as exc:
            error = str(exc.message)
    offer = selectors.open_offer_of(entry) if entry else None
    return render(
        request,
        "waitlist/session.html",
        {
            "session": session,
            "entry": entry,
            "position": selectors.position_of(entry) if entry else None,
            "offer": offer,
            "offer_until": _venue_time(session, offer.expires_at) if offer else None,
            "form": form,
            "zones": list(session.price_zones.all()),
            "limit": limit,
            "error": error,
            "is_on_sale": services.is_open(session, now),
        },
        status=422 if error or (request.method == "POST" and form.errors) else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def offer_detail(request, offer_id: int):
    """An offer made to you: its places, how long they are held, buy or pass."""
    now = clock.now()
    offer = (
        WaitlistOffer.objects.filter(pk=offer_id, user=request.user)
        .select_related("session__event", "session__layout__venue", "zone", "hold", "entry")
        .first()
    )
    if offer is None:
        raise Http404(_("No such offer among yours."))
    if request.method == "POST" and request.POST.get("action") == "decline":
        services.leave_waitlist(entry=offer.entry, user=request.user, now=now)
        messages.success(request, _("You passed on the offer: the places go to the next fan."))
        return redirect("waitlist:session", session_id=offer.session_id)
    hold = offer.hold
    is_live = offer.status == OfferStatus.OPEN and hold is not None and hold.is_live(now)
    bought = offer.status == OfferStatus.CONVERTED or (
        hold is not None and hold.status == HoldStatus.SOLD
    )
    return render(
        request,
        "waitlist/offer.html",
        {
            "offer": offer,
            "session": offer.session,
            "is_live": is_live,
            "bought": bought,
            "total": offer.zone.price * offer.quantity,
            "until": _venue_time(offer.session, hold.expires_at if hold else offer.expires_at),
        },
    )
