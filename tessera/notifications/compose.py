"""What a message says, in the recipient's language, composed when it is delivered (or
shown in the inbox) from the ids its ``context`` carries, so the texts follow the latest
translations and the tickets' current credentials.

``compose(message)`` gives a ``Composed``: subject, paragraphs, facts (label, value), an
action link, the session's match-day guide (观赛包: venue address, map link, gates, what to
bring) and, for a paid order, its valid tickets with their QR codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from tessera.core.i18n import localized


@dataclass
class TicketPart:
    title: str
    place: str
    holder: str
    cid: str
    credential: str


@dataclass
class Composed:
    subject: str
    greeting: str
    paragraphs: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    action: tuple[str, str] | None = None
    guide: list[tuple[str, str]] = field(default_factory=list)
    map_url: str = ""
    tickets: list[TicketPart] = field(default_factory=list)
    sms_text: str = ""
    sms_params: dict = field(default_factory=dict)


def absolute(path: str) -> str:
    base = (
        getattr(settings, "TESSERA_PUBLIC_URL", None)
        or getattr(settings, "NOTIFICATIONS_PUBLIC_URL", None)
        or "http://127.0.0.1:8000"
    ).rstrip("/")
    return f"{base}{path}"


def _when(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return parse_datetime(value) if value else None


def _local_text(session, moment: datetime | None = None) -> str:
    from tessera.tickets.selectors import _format_local

    moment = moment or session.starts_at
    return _format_local(moment.astimezone(session.layout.venue.zone_info))


def _session(session_id):
    from tessera.catalog.models import Session

    return Session.objects.select_related("event", "layout__venue").filter(pk=session_id).first()


def map_url(venue) -> str:
    name = localized(venue, "name")
    if venue.latitude is None or venue.longitude is None:
        return ""
    if translation.get_language() == "en":
        return "https://www.openstreetmap.org/?" + urlencode(
            {"mlat": venue.latitude, "mlon": venue.longitude, "zoom": 16}
        )
    return "https://uri.amap.com/marker?" + urlencode(
        {"position": f"{venue.longitude},{venue.latitude}", "name": name}
    )


def _session_facts(composed: Composed, session, *, with_guide: bool) -> None:
    venue = session.layout.venue
    composed.facts += [
        (_("Event"), session.event.display_name),
        (_("Starts"), _local_text(session)),
        (_("Venue"), localized(venue, "name")),
    ]
    if not with_guide:
        return
    address = localized(venue, "address")
    if address:
        composed.guide.append((_("Address"), address))
    composed.map_url = map_url(venue)
    gates = [localized(gate, "name") for gate in session.gates.order_by("name")]
    if gates:
        composed.guide.append(
            (
                _("Gates"),
                "、".join(gates) if translation.get_language() != "en" else ", ".join(gates),
            )
        )
    from tessera.notifications.models import MatchDayGuide

    guide = MatchDayGuide.objects.filter(session=session).first()
    if guide is not None:
        if localized(guide, "getting_there"):
            composed.guide.append((_("Getting there"), localized(guide, "getting_there")))
        if localized(guide, "what_to_bring"):
            composed.guide.append((_("What to bring"), localized(guide, "what_to_bring")))


def _order(order_id):
    from tessera.orders.models import Order

    return (
        Order.objects.select_related("session__event", "session__layout__venue")
        .filter(pk=order_id)
        .first()
    )


def _tickets(order, now: datetime) -> list[TicketPart]:
    from tessera.tickets import selectors, services

    parts = []
    for ticket in selectors.list_order_tickets(order, valid_only=True):
        summary = selectors.summarize_ticket(ticket)
        parts.append(
            TicketPart(
                title=summary.event_name,
                place=str(summary.place_text),
                holder=summary.holder_name,
                cid=f"ticket-{ticket.public_id.hex}",
                credential=services.credential_for(ticket=ticket, now=now),
            )
        )
    return parts


def compose(message, *, now: datetime, with_tickets: bool = True, language: str = "") -> Composed:
    """The message in ``language`` (the page's, in the inbox), else the recipient's."""
    with translation.override(language or message.language or settings.LANGUAGE_CODE):
        return _compose(message, now=now, with_tickets=with_tickets)


def _name(message) -> str:
    user = message.user
    if user is None:
        return ""
    return user.display_name or user.get_username()


def _compose(message, *, now: datetime, with_tickets: bool) -> Composed:
    ctx = message.context or {}
    kind = message.kind
    name = _name(message)
    greeting = _("Hello %(name)s,") % {"name": name} if name else _("Hello,")
    c = Composed(subject="", greeting=greeting)

    if kind in ("order_paid", "payment_failed", "hold_expiring"):
        order = _order(ctx.get("order"))
        if order is None:
            c.subject = _("An order")
            c.paragraphs.append(_("This order no longer exists."))
            return c
        session = order.session
        c.facts.append((_("Order"), order.number))
        order_url = absolute(reverse("storefront:order", args=[order.number]))
        if kind == "order_paid":
            c.subject = _("Your tickets for %(event)s (order %(number)s)") % {
                "event": session.event.display_name,
                "number": order.number,
            }
            c.paragraphs.append(
                _(
                    "Your payment arrived and your tickets are ready. "
                    "Show each ticket's QR code at the gate."
                )
            )
            c.action = (_("Open the order"), order_url)
            if with_tickets:
                c.tickets = _tickets(order, now)
            c.sms_text = _(
                "Tessera: order %(number)s is paid, your tickets for %(event)s are ready."
            ) % {
                "number": order.number,
                "event": session.event.display_name,
            }
            c.sms_params = {"order": order.number}
        elif kind == "payment_failed":
            c.subject = _("Payment for order %(number)s did not go through") % {
                "number": order.number
            }
            c.paragraphs.append(
                _(
                    "The payment failed; nothing was charged. "
                    "While the places are held you can pay again from the order page."
                )
            )
            c.action = (_("Pay again"), order_url)
            c.sms_text = _(
                "Tessera: the payment for order %(number)s failed; nothing was charged."
            ) % {"number": order.number}
            c.sms_params = {"order": order.number}
        else:
            expires = _when(ctx.get("expires_at")) or order.expires_at
            c.subject = _("Your places for %(event)s are held until %(time)s") % {
                "event": session.event.display_name,
                "time": _local_text(session, expires)[-5:],
            }
            c.paragraphs.append(
                _("Pay before %(time)s, or the places go back on sale.")
                % {"time": _local_text(session, expires)}
            )
            c.action = (_("Pay now"), order_url)
            c.sms_text = _(
                "Tessera: pay order %(number)s before %(time)s or the places are released."
            ) % {
                "number": order.number,
                "time": _local_text(session, expires)[-5:],
            }
            c.sms_params = {"order": order.number, "time": _local_text(session, expires)[-5:]}
        _session_facts(c, session, with_guide=False)
        return c

    if kind in ("refund_approved", "refund_rejected"):
        number = ctx.get("order_number", "")
        url = absolute(reverse("storefront:order", args=[number])) if number else ""
        if kind == "refund_approved":
            c.subject = _("Refund approved for order %(number)s") % {"number": number}
            c.paragraphs.append(
                _(
                    "%(amount)s will go back to the way you paid; "
                    "the refunded tickets no longer admit."
                )
                % {"amount": ctx.get("amount", "")}
            )
            c.sms_text = _("Tessera: refund of %(amount)s for order %(number)s approved.") % {
                "amount": ctx.get("amount", ""),
                "number": number,
            }
        else:
            c.subject = _("Refund refused for order %(number)s") % {"number": number}
            c.paragraphs.append(
                _("The organizer refused the refund: %(reason)s")
                % {"reason": ctx.get("reason", "")}
            )
            c.sms_text = _("Tessera: the refund for order %(number)s was refused.") % {
                "number": number
            }
        c.sms_params = {"order": number}
        c.facts.append((_("Order"), number))
        if url:
            c.action = (_("Open the order"), url)
        return c

    if kind == "exchange_completed":
        number = ctx.get("order_number", "")
        c.subject = _("Exchange completed: order %(number)s") % {"number": number}
        c.paragraphs.append(_("Your new tickets are ready; the old ones no longer admit."))
        if number:
            c.action = (_("Open the order"), absolute(reverse("storefront:order", args=[number])))
        c.facts.append((_("New order"), number))
        c.sms_text = _("Tessera: your exchange is done, new tickets in order %(number)s.") % {
            "number": number
        }
        c.sms_params = {"order": number}
        return c

    if kind == "transfer_received":
        session = _session(ctx.get("session"))
        c.subject = _("%(sender)s is sending you a ticket") % {"sender": ctx.get("sender", "")}
        c.paragraphs.append(_("Accept it before it expires to get your own ticket."))
        c.action = (_("See the ticket"), absolute(reverse("transfers:inbox")))
        if session is not None:
            _session_facts(c, session, with_guide=False)
        c.sms_text = _(
            "Tessera: %(sender)s is sending you a ticket; accept it in your account."
        ) % {"sender": ctx.get("sender", "")}
        c.sms_params = {"sender": ctx.get("sender", "")}
        return c

    if kind in (
        "waitlist_offer",
        "session_postponed",
        "session_cancelled",
        "session_moved",
        "reminder_24h",
        "reminder_2h",
    ):
        session = _session(ctx.get("session"))
        event = session.event.display_name if session else ""
        if kind == "waitlist_offer":
            until = _when(ctx.get("until"))
            c.subject = _("Tickets are available for you: %(event)s") % {"event": event}
            c.paragraphs.append(
                _(
                    "Places came free and you are next on the waiting list. "
                    "The offer holds until %(time)s."
                )
                % {"time": _local_text(session, until) if (session and until) else ""}
            )
            if ctx.get("url"):
                c.action = (_("Take the offer"), absolute(ctx["url"]))
            c.sms_text = _(
                "Tessera: tickets for %(event)s are waiting for you; see your inbox."
            ) % {"event": event}
        elif kind == "session_postponed":
            c.subject = _("Postponed: %(event)s") % {"event": event}
            c.paragraphs.append(
                _("The session is postponed. Your tickets stay valid for the new date.")
            )
            if ctx.get("new_starts_at") and session:
                c.facts.append((_("New date"), _local_text(session, _when(ctx["new_starts_at"]))))
            c.sms_text = _("Tessera: %(event)s is postponed; details in your inbox.") % {
                "event": event
            }
        elif kind == "session_cancelled":
            c.subject = _("Cancelled: %(event)s") % {"event": event}
            c.paragraphs.append(
                _("The session is cancelled. Your payment will be refunded in full.")
            )
            c.sms_text = _("Tessera: %(event)s is cancelled; you will be refunded in full.") % {
                "event": event
            }
        elif kind == "session_moved":
            c.subject = _("New venue or time: %(event)s") % {"event": event}
            c.paragraphs.append(_("The session has moved. Check the new details below."))
            c.sms_text = _("Tessera: %(event)s has moved; details in your inbox.") % {
                "event": event
            }
        else:
            hours = 24 if kind == "reminder_24h" else 2
            c.subject = (
                _("Tomorrow: %(event)s") if hours == 24 else _("In two hours: %(event)s")
            ) % {"event": event}
            c.paragraphs.append(
                _("Your match-day guide: how to get there, which gate, what to bring.")
            )
            c.action = (_("My tickets"), absolute(reverse("storefront:my_orders")))
            c.sms_text = _("Tessera: %(event)s starts %(time)s; have your QR code ready.") % {
                "event": event,
                "time": _local_text(session) if session else "",
            }
        if ctx.get("note"):
            c.paragraphs.append(str(ctx["note"]))
        if session is not None:
            _session_facts(
                c, session, with_guide=kind in ("reminder_24h", "reminder_2h", "session_moved")
            )
        c.sms_params = {"event": event[:20]}
        return c

    if kind == "password_reset":
        c.subject = _("Choose a new password for Tessera")
        c.paragraphs.append(
            _(
                "Someone asked to reset the password of this account. If it was you, "
                "choose a new one with the link below; if not, ignore this email."
            )
        )
        c.action = (_("Choose a new password"), absolute(ctx.get("path", "/")))
        return c

    if kind == "partner_application":
        name = ctx.get("name", "")
        if translation.get_language() == "en" and ctx.get("name_en"):
            name = ctx["name_en"]
        if ctx.get("decision") == "approved":
            c.subject = _("Welcome to Tessera: %(name)s is approved") % {"name": name}
            c.paragraphs.append(
                _(
                    "Your partner application is approved. Your organization, its contract "
                    "and your owner access are ready in the partner console."
                )
            )
            c.action = (_("Open the partner console"), absolute(reverse("partners:console")))
        else:
            c.subject = _("Your partner application for %(name)s") % {"name": name}
            c.paragraphs.append(
                _("We could not approve the application: %(reason)s")
                % {"reason": ctx.get("reason", "")}
            )
            c.action = (_("See the application"), absolute(reverse("partners:apply")))
        return c

    if kind == "partner_invitation":
        from tessera.accounts.models import Organization, Role

        organization = Organization.objects.filter(pk=ctx.get("organization")).first()
        org_name = organization.display_name if organization else ""
        c.subject = _("%(inviter)s invites you to %(organization)s on Tessera") % {
            "inviter": ctx.get("inviter", ""),
            "organization": org_name,
        }
        c.paragraphs.append(
            _(
                "You are invited to join %(organization)s in the Tessera partner console. "
                "The link works once and for seven days; sign in or create an account with "
                "this email address to accept."
            )
            % {"organization": org_name}
        )
        if ctx.get("role") in Role.values:
            c.facts.append((_("Role"), str(Role(ctx["role"]).label)))
        c.action = (_("Accept the invitation"), absolute(ctx.get("path", "/")))
        return c

    if kind == "announcement":
        from tessera.notifications.models import Announcement

        announcement = (
            Announcement.objects.select_related("session__event", "session__layout__venue")
            .filter(pk=ctx.get("announcement"))
            .first()
        )
        if announcement is None:
            c.subject = _("Announcement")
            return c
        c.subject = localized(announcement, "subject")
        c.paragraphs += [p for p in localized(announcement, "body").split("\n") if p.strip()]
        _session_facts(c, announcement.session, with_guide=False)
        c.sms_text = f"Tessera: {c.subject}"
        c.sms_params = {"subject": c.subject[:20]}
        return c

    c.subject = _("A message from Tessera")
    return c
