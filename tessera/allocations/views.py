"""The allocation pages of the partner console (``console_required``).

An organizer sees its events' sessions, each session's allocations with their counts, the
forms to allocate and to return, and the seat map coloured by channel. A distributor sees
the allocations of its own channels and sells from them ("sell from my allocation") through
``sale.channels.channel_order``, the service of the channel API. Every row is found
through ``request.partner``, never through a raw id alone: another partner's session or
allocation is a 404.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tessera.accounts.models import OrganizationKind
from tessera.allocations import selectors, services
from tessera.allocations.errors import AllocationEnded, AllocationInvalid, ChannelNotAllocatable
from tessera.allocations.models import Allocation, AllocationKind, AllocationStatus
from tessera.allocations.seatmap import build_channel_map
from tessera.catalog.models import PriceZone, Session
from tessera.core import clock
from tessera.core.dates import local_moment
from tessera.core.errors import DomainError
from tessera.core.models import IdempotencyRecord
from tessera.partners.console import can_write, console_required
from tessera.sale import channels
from tessera.sale.choices import PlaceChoice
from tessera.tickets.qr import qr_svg_inline
from tessera.venues.models import Section

_MAX_ID = 2**63 - 1
MAX_SELL = 100


def _int(value, *, low: int = 1, high: int = _MAX_ID) -> int | None:
    """A whole number typed in a form, None when empty or not one (or out of range)."""
    value = (value or "").strip() if isinstance(value, str) else ""
    if not value or len(value) > 19 or not value.isdigit():
        return None
    number = int(value)
    return number if low <= number <= high else None


def _ints(values) -> list[int]:
    return sorted({n for n in (_int(v) for v in values[:500]) if n is not None})


def _org_url(name: str, request, *args, **query) -> str:
    params = "&".join(f"{k}={v}" for k, v in {"org": request.partner.pk, **query}.items())
    return f"{reverse(name, args=args)}?{params}"


def _is_organizer(request) -> bool:
    return request.partner.kind == OrganizationKind.ORGANIZER


def _is_distributor(request) -> bool:
    return request.partner.kind == OrganizationKind.DISTRIBUTOR


def _require_write(request) -> None:
    if not can_write(request.user, request.partner):
        raise PermissionDenied


def _session_of(request, session_id: int) -> Session:
    """The partner's own session (an organizer's event's), else 404."""
    if not _is_organizer(request):
        raise Http404
    session = selectors.sessions_of_organizer(request.partner.pk).filter(pk=session_id).first()
    if session is None:
        raise Http404
    return session


def _when(session: Session) -> str:
    return local_moment(session.starts_at, session.layout.venue.zone_info)


def _session_label(session: Session) -> str:
    return f"{session.event.display_name} · {_when(session)}"


def _describe(allocation: Allocation, zones: dict, sections: dict) -> str:
    if allocation.kind == AllocationKind.SEATS:
        labels = allocation.seat_labels
        more = len(labels) - 6
        text = ", ".join(labels[:6])
        return text + (_(" and %(n)d more") % {"n": more} if more > 0 else "")
    where = [zones[z] for z in allocation.zone_ids if z in zones]
    where += [sections[s] for s in allocation.section_ids if s in sections]
    place = " · ".join(where) or _("anywhere")
    if allocation.requested is None:
        return _("All free places: %(where)s") % {"where": place}
    return _("%(n)d places: %(where)s") % {"n": allocation.requested, "where": place}


# -- the console's allocation page -------------------------------------------------------------


@never_cache
@console_required
def console(request):
    """The organizer's sessions and allocations, or the distributor's allocations."""
    if _is_organizer(request):
        return _organizer_page(request)
    if _is_distributor(request):
        return _distributor_page(request)
    return render(request, "allocations/other.html", {"partner": request.partner})


def _organizer_page(request, *, session=None, error=None, form=None, status=200):
    now = clock.now()
    sessions = list(selectors.sessions_of_organizer(request.partner.pk))
    if session is None:
        wanted = _int(request.GET.get("session"))
        session = next((s for s in sessions if s.pk == wanted), None)
        if wanted is not None and session is None:
            raise Http404
        if session is None:
            session = next((s for s in sessions if s.starts_at >= now), None) or (
                sessions[0] if sessions else None
            )
    context = {
        "partner": request.partner,
        "sessions": [(s, _session_label(s)) for s in sessions],
        "session": session,
        "error": error,
        "form": form or {},
        "kinds": AllocationKind.choices,
        "can_write": can_write(request.user, request.partner),
    }
    if session is not None:
        zones = {z.pk: z.display_name for z in PriceZone.objects.filter(session=session)}
        sections = {
            s.pk: s.code
            for s in Section.objects.filter(layout_id=session.layout_id).order_by(
                "sort_order", "code"
            )
        }
        rows = selectors.with_counts(selectors.allocations_of_session(session), now=now)
        context.update(
            {
                "session_label": _session_label(session),
                "rows": [(row, _describe(row.allocation, zones, sections)) for row in rows],
                "zones": zones.items(),
                "sections": sections.items(),
                "channels": list(selectors.allocatable_channels()),
                "zone_tz": session.layout.venue.time_zone,
            }
        )
    return render(request, "allocations/organizer.html", context, status=status)


def _release_at(text: str, session: Session) -> datetime | None:
    """A ``datetime-local`` value in the venue's time zone; None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text[:32])
    except ValueError:
        raise AllocationInvalid(
            _("The release date could not be read."), details={"release_at": "invalid"}
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=session.layout.venue.zone_info)
    return moment


@require_POST
@console_required
def allocate(request, session_id: int):
    session = _session_of(request, session_id)
    _require_write(request)
    post = request.POST
    form = {
        "channel": _int(post.get("channel")),
        "kind": post.get("kind", ""),
        "zones": _ints(post.getlist("zones")),
        "sections": _ints(post.getlist("sections")),
        "quantity": (post.get("quantity") or "").strip()[:20],
        "seats": (post.get("seats") or "")[: services.MAX_LABELS_TEXT],
        "release_at": (post.get("release_at") or "").strip()[:32],
        "note": (post.get("note") or "")[:400],
    }
    try:
        channel = selectors.allocatable_channels().filter(pk=form["channel"] or 0).first()
        if channel is None:
            raise ChannelNotAllocatable()
        quantity = None
        if form["quantity"]:
            quantity = _int(form["quantity"], high=services.MAX_QUANTITY)
            if quantity is None:
                raise AllocationInvalid(
                    _("The number of places must be between 1 and %(max)d.")
                    % {"max": services.MAX_QUANTITY}
                )
        allocation = services.allocate(
            session=session,
            channel=channel,
            kind=form["kind"],
            actor=request.user,
            now=clock.now(),
            zone_ids=form["zones"],
            section_ids=form["sections"],
            seats=form["seats"],
            quantity=quantity,
            release_at=_release_at(form["release_at"], session),
            note=form["note"],
        )
    except DomainError as exc:
        return _organizer_page(
            request, session=session, error=exc.message, form=form, status=exc.status
        )
    messages.success(
        request,
        _("%(n)d places allocated to %(channel)s.")
        % {"n": allocation.allocated, "channel": channel.display_name},
    )
    return redirect(_org_url("allocations:console", request, session=session.pk))


@require_POST
@console_required
def return_places(request, allocation_id: int):
    if not _is_organizer(request):
        raise Http404
    allocation = (
        Allocation.objects.filter(pk=allocation_id, organization=request.partner)
        .select_related("session", "channel")
        .first()
    )
    if allocation is None:
        raise Http404
    _require_write(request)
    text = (request.POST.get("quantity") or "").strip()
    try:
        quantity = None
        if request.POST.get("all") != "1":
            quantity = _int(text, high=services.MAX_QUANTITY)
            if quantity is None:
                raise AllocationInvalid(_("Say how many places to return, or return all."))
        returned = services.return_places(
            allocation=allocation, actor=request.user, now=clock.now(), quantity=quantity
        )
    except DomainError as exc:
        return _organizer_page(
            request, session=allocation.session, error=exc.message, status=exc.status
        )
    messages.success(request, _("%(n)d places returned to the open pool.") % {"n": returned})
    return redirect(_org_url("allocations:console", request, session=allocation.session_id))


@never_cache
@console_required
def seat_map(request, session_id: int):
    session = _session_of(request, session_id)
    now = clock.now()
    channel_map = build_channel_map(session=session, now=now)
    return render(
        request,
        "allocations/map.html",
        {
            "partner": request.partner,
            "session": session,
            "session_label": _session_label(session),
            "map": channel_map,
        },
    )


# -- the distributor's pages ---------------------------------------------------------------------


def _distributor_page(request):
    now = clock.now()
    rows = selectors.with_counts(selectors.allocations_of_distributor(request.partner.pk), now=now)
    return render(
        request,
        "allocations/distributor.html",
        {
            "partner": request.partner,
            "rows": [(row, _session_label(row.allocation.session)) for row in rows],
            "can_write": can_write(request.user, request.partner),
        },
    )


def _own_allocation(request, allocation_id) -> Allocation | None:
    if allocation_id is None:
        return None
    return selectors.allocations_of_distributor(request.partner.pk).filter(pk=allocation_id).first()


@never_cache
@console_required
def sell(request):
    """Sell places of one of the distributor's allocations to a buyer: the order is paid on
    the channel's account and its tickets shown, as the channel API answers."""
    if not _is_distributor(request):
        raise Http404
    now = clock.now()
    chosen = _own_allocation(
        request, _int(request.POST.get("allocation") or request.GET.get("allocation"))
    )
    if (request.POST.get("allocation") or request.GET.get("allocation")) and chosen is None:
        raise Http404
    if request.method == "POST":
        _require_write(request)
        return _sell(request, chosen, now)
    return _sell_page(request, chosen, now)


def _sell_page(request, chosen, now, *, error=None, form=None, status=200):
    active = [
        row
        for row in selectors.with_counts(
            selectors.allocations_of_distributor(request.partner.pk).filter(
                status=AllocationStatus.ACTIVE
            ),
            now=now,
        )
        if row.free > 0
    ]
    if chosen is None and active:
        chosen = active[0].allocation
    zones = []
    if chosen is not None:
        free = selectors.free_by_zone(chosen, now=now)
        zones = [
            (z, free.get(z.pk, 0))
            for z in PriceZone.objects.filter(session_id=chosen.session_id).order_by(
                "sort_order", "pk"
            )
            if free.get(z.pk)
        ]
    return render(
        request,
        "allocations/sell.html",
        {
            "partner": request.partner,
            "active": [(row, _session_label(row.allocation.session)) for row in active],
            "chosen": chosen,
            "chosen_label": _session_label(chosen.session) if chosen else "",
            "zones": zones,
            "error": error,
            "form": form or {},
            "token": uuid.uuid4().hex,
            "max_sell": MAX_SELL,
        },
        status=status,
    )


def _sell(request, allocation, now):
    post = request.POST
    form = {
        "zone": _int(post.get("zone")),
        "quantity": (post.get("quantity") or "").strip()[:10],
        "buyer_name": (post.get("buyer_name") or "")[:200],
        "email": (post.get("email") or "")[:300],
        "phone": (post.get("phone") or "")[:40],
    }
    token = (post.get("token") or "")[:64]
    try:
        if allocation is None:
            raise AllocationInvalid(_("Choose one of your allocations."))
        if not allocation.is_active:
            raise AllocationEnded()
        quantity = _int(form["quantity"], high=MAX_SELL)
        if quantity is None:
            raise AllocationInvalid(
                _("Please choose between 1 and %(max)d places.") % {"max": MAX_SELL}
            )
        if not token.isalnum() or not 8 <= len(token) <= 64:
            raise AllocationInvalid(_("This form has expired; please try again."))
        sale = _sell_from_allocation(allocation, form, quantity, token, now)
    except DomainError as exc:
        return _sell_page(request, allocation, now, error=exc.message, form=form, status=exc.status)
    return render(
        request,
        "allocations/sold.html",
        {
            "partner": request.partner,
            "allocation": allocation,
            "session_label": _session_label(allocation.session),
            "order": sale.order,
            "lines": sale.lines,
            "tickets": [
                {
                    "ticket": t,
                    "line": line,
                    "qr": mark_safe(qr_svg_inline(t.credential, title=t.number)),  # noqa: S308
                }
                for t, line in zip(
                    sorted(sale.tickets, key=lambda t: t.line_id),
                    sorted(sale.lines, key=lambda ln: ln.pk),
                    strict=False,
                )
            ],
            "replayed": sale.replayed,
        },
        status=201,
    )


def _sell_from_allocation(allocation, form, quantity, token, now):
    """Places of the allocation (its own units, never the open pool) sold through
    ``channel_order``; places taken meanwhile by the channel's other sales are picked
    again, up to three times."""
    from tessera.inventory.errors import PlacesUnavailable, too_few_places

    principal = channels.principal_for_channel(allocation.channel)
    key = f"console-{token}"
    payload = {
        "allocation": allocation.pk,
        "zone": form["zone"],
        "quantity": quantity,
        "buyer_name": form["buyer_name"],
        "email": form["email"],
        "phone": form["phone"],
    }

    def order(unit_ids):
        return channels.channel_order(
            principal=principal,
            session_id=allocation.session_id,
            choice=PlaceChoice(unit_ids=tuple(unit_ids)),
            idempotency_key=key,
            digest=channels.request_digest(payload),
            now=now,
            buyer_name=form["buyer_name"],
            email=form["email"],
            phone=form["phone"],
        )

    if IdempotencyRecord.objects.filter(
        user_id=principal.account_id, scope=channels.SCOPE, key=key
    ).exists():
        return order([0])  # the form was sent before: its order again (or a reused key)
    for _attempt in range(3):
        unit_ids = selectors.free_units_of_allocation(
            allocation, zone_id=form["zone"], quantity=quantity, now=now
        )
        if len(unit_ids) < quantity:
            raise too_few_places(quantity, zone_id=form["zone"])
        try:
            return order(unit_ids)
        except PlacesUnavailable:
            now = clock.now()
    raise PlacesUnavailable()
