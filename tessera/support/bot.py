"""The answer bot: a personal answer from the fan's own data, else the help centre's best
entry (BM25, ``search.py``), else an honest "not sure" with a person on offer.

``route`` decides from the text alone (pure, used by the bench); ``answer`` reads the data.
Personal answers only ever read the asking account's own orders and tickets: an order
number that is not theirs is answered exactly like one that does not exist.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Max, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from tessera.core.errors import DomainError
from tessera.core.i18n import localized
from tessera.core.money import format_money
from tessera.support.search import Document, Index, tokens

# BM25 score below which the bot says it is not sure (scores of this index's scale: a
# question sharing two specific words with an entry scores ~6-10, a stray shared word ~2).
CONFIDENT_SCORE = 4.0

ORDER_NUMBER = re.compile(r"\bT\d{6}-[A-Z0-9]{6}\b", re.IGNORECASE)

_PERSONAL = re.compile(
    r"我的|\bmy (?:order|ticket|booking)s?\b|\bmine\b|这个订单|这张票|这笔订单|"
    r"我买的|\bthis order\b|\bthese tickets\b",
    re.IGNORECASE,
)
_I = re.compile(r"我|\bi\b|\bi'm\b|\bme\b", re.IGNORECASE)
_TICKET = re.compile(r"票|ticket|二维码|qr", re.IGNORECASE)
_WHERE = re.compile(
    r"在哪|哪里|找不到|看不到|没看到|查看|在什么地方|where|find|show me|see|can't find|cannot find|"
    r"没收到|didn't get|haven't got|did not get|看一下",
    re.IGNORECASE,
)
_REFUND = re.compile(r"退票|退款|退掉|退了|退钱|能退|可以退|refund|money back", re.IGNORECASE)
_GATE = re.compile(
    r"哪个门|几号门|哪个入口|哪个检票口|从哪.{0,3}进|which (?:gate|entrance|door)|my gate|"
    r"gate is mine|where do i (?:enter|go in)",
    re.IGNORECASE,
)
_SALE = re.compile(
    r"开售|开票|开抢|发售|开卖|什么时候卖|on sale|go on sale|sale open|sales open|sale start|"
    r"tickets release|released|when can i buy|when does the sale",
    re.IGNORECASE,
)
_HUMAN = re.compile(
    r"人工|真人|转人工|找客服|联系客服|客服电话|\bhuman\b|\bagent\b|real person|a person|"
    r"talk to (?:someone|somebody)|speak to (?:someone|somebody)",
    re.IGNORECASE,
)

MY_TICKETS = "my_tickets"
REFUND_QUOTE = "refund_quote"
SALE_OPEN = "sale_open"
WHICH_GATE = "which_gate"
HUMAN = "human"
FAQ = "faq"
UNSURE = "unsure"
PERSONAL_INTENTS = (MY_TICKETS, REFUND_QUOTE, WHICH_GATE)


@dataclass(frozen=True)
class Route:
    kind: str  # one of the intents above, FAQ or UNSURE
    faq_key: object = None  # the FAQ entry's key when kind is FAQ (or the best guess)
    score: float = 0.0
    order_number: str = ""


def detect_intent(text: str) -> str | None:
    """The personal or special question the text asks, if any."""
    personal = bool(_PERSONAL.search(text) or ORDER_NUMBER.search(text))
    me = personal or bool(_I.search(text))
    if _HUMAN.search(text):
        return HUMAN
    if _SALE.search(text) and not _REFUND.search(text):
        return SALE_OPEN
    if _REFUND.search(text) and personal:
        return REFUND_QUOTE
    if _GATE.search(text) and me:
        return WHICH_GATE
    if _TICKET.search(text) and _WHERE.search(text) and me:
        return MY_TICKETS
    return None


def route(text: str, index: Index) -> Route:
    """What the bot will answer ``text`` with, decided from the words alone."""
    number = ORDER_NUMBER.search(text)
    intent = detect_intent(text)
    hits = index.search(text, limit=2)
    best = hits[0] if hits else None
    if intent is not None:
        return Route(
            intent,
            faq_key=best.key if best else None,
            score=best.score if best else 0.0,
            order_number=number.group(0).upper() if number else "",
        )
    if best is None or best.score < CONFIDENT_SCORE:
        return Route(UNSURE, faq_key=best.key if best else None, score=best.score if best else 0.0)
    return Route(FAQ, faq_key=best.key, score=best.score)


# -- the index of published entries, per organization, rebuilt when the entries change -----

_INDEXES: dict[object, tuple[tuple, Index, dict]] = {}
_INDEX_LOCK = threading.Lock()


def documents_of(entries) -> list[Document]:
    """An entry as a document: its questions weigh most, then its search words, then its
    answers (both languages in one document, so either language finds it)."""
    return [
        Document(
            key=entry["slug"] if isinstance(entry, dict) else entry.pk,
            fields=[
                (_get(entry, "question"), 3.0),
                (_get(entry, "question_en"), 3.0),
                (_get(entry, "keywords"), 2.0),
                (_get(entry, "answer"), 0.5),
                (_get(entry, "answer_en"), 0.5),
            ],
        )
        for entry in entries
    ]


def _get(entry, name: str) -> str:
    return entry.get(name, "") if isinstance(entry, dict) else getattr(entry, name, "")


def index_for(organization_id: int | None) -> tuple[Index, dict]:
    """(the index, entries by pk) of the published platform entries and, given an
    organization, its own; rebuilt only when an entry was saved or deleted since."""
    from tessera.support.models import FaqEntry

    entries = FaqEntry.objects.filter(is_published=True).filter(
        Q(organization__isnull=True) | Q(organization_id=organization_id)
    )
    version = (*tuple(entries.aggregate(Max("updated_at"), Max("id")).values()), entries.count())
    cached = _INDEXES.get(organization_id)
    if cached is not None and cached[0] == version:
        return cached[1], cached[2]
    with _INDEX_LOCK:
        listed = list(entries)
        by_pk = {entry.pk: entry for entry in listed}
        index = Index.build(documents_of(listed))
        _INDEXES[organization_id] = (version, index, by_pk)
    return index, by_pk


# -- answers --------------------------------------------------------------------------------


@dataclass
class Answer:
    body: str
    intent: str
    is_confident: bool = True
    faq: object = None
    links: list[dict] = field(default_factory=list)
    order: object = None
    offers_person: bool = False
    suggestions: list = field(default_factory=list)


def _local(session, moment: datetime) -> str:
    from tessera.storefront.templatetags.storefront import fmt

    local = moment.astimezone(session.layout.venue.zone_info)
    return f"{fmt(local, 'long')} {fmt(local, 'H:i')}"


def _session_label(session) -> str:
    return f"{session.event.display_name} · {_local(session, session.starts_at)}"


def _order_link(order) -> dict:
    return {"label": order.number, "url": reverse("storefront:order", args=[order.number])}


def _active_orders(user, now: datetime):
    from tessera.orders.models import Order
    from tessera.orders.services import REFUNDABLE_ORDER_STATES

    return list(
        Order.objects.filter(
            user=user, status__in=REFUNDABLE_ORDER_STATES, session__starts_at__gte=now
        )
        .select_related("session__event", "session__layout__venue")
        .order_by("session__starts_at", "pk")[:10]
    )


def _find_order(user, number: str):
    """The user's own order with this number, or None (foreign numbers look unknown)."""
    from tessera.orders.models import Order

    return (
        Order.objects.filter(user=user, number=number.upper())
        .select_related("session__event", "session__layout__venue")
        .first()
    )


def _sign_in_answer(intent: str) -> Answer:
    return Answer(
        body=_("Please sign in, and I can look at your own orders and tickets."),
        intent=intent,
        is_confident=True,
        links=[{"label": _("Sign in"), "url": reverse("login")}],
    )


def _answer_my_tickets(user, now: datetime) -> Answer:
    from tessera.tickets.models import Ticket, TicketStatus

    orders = _active_orders(user, now)
    received = (
        Ticket.objects.filter(holder=user, status=TicketStatus.VALID, session__starts_at__gte=now)
        .exclude(order_line__order__user=user)
        .count()
    )
    if not orders and not received:
        return Answer(
            body=_(
                "You have no tickets for upcoming sessions. Past orders are under "
                "My account → Orders."
            ),
            intent=MY_TICKETS,
            links=[{"label": _("My orders"), "url": reverse("storefront:my_orders")}],
        )
    lines = [_("Your tickets are on your order pages; show the QR code at the gate:")]
    links = []
    for order in orders:
        lines.append(f"• {order.number}: {_session_label(order.session)}")
        links.append(_order_link(order))
    if received:
        lines.append(_("Tickets sent to you by others: %(n)s (see Transfers).") % {"n": received})
        links.append({"label": _("Transfers"), "url": reverse("transfers:inbox")})
    return Answer(body="\n".join(lines), intent=MY_TICKETS, links=links)


def _answer_refund(user, now: datetime, number: str) -> Answer:
    from tessera.aftersales.services import quote_refund

    if number:
        order = _find_order(user, number)
        if order is None:
            return Answer(
                body=_(
                    "I cannot find an order %(number)s among yours. Please check the number "
                    "on your order page."
                )
                % {"number": number.upper()},
                intent=REFUND_QUOTE,
                links=[{"label": _("My orders"), "url": reverse("storefront:my_orders")}],
            )
        candidates = [order]
    else:
        candidates = _active_orders(user, now)
        if not candidates:
            return Answer(
                body=_("You have no paid orders for upcoming sessions that could be refunded."),
                intent=REFUND_QUOTE,
                links=[{"label": _("My orders"), "url": reverse("storefront:my_orders")}],
            )
        if len(candidates) > 1:
            lines = [_("Which order? Ask again with its number, for example:")]
            for order in candidates:
                lines.append(f"• {order.number}: {_session_label(order.session)}")
            return Answer(
                body="\n".join(lines),
                intent=REFUND_QUOTE,
                links=[_order_link(order) for order in candidates],
            )
    order = candidates[0]
    head = f"{order.number}: {_session_label(order.session)}"
    try:
        quote = quote_refund(order=order, line_ids=None, now=now)
    except DomainError as refused:
        return Answer(
            body=f"{head}\n"
            + _("This order cannot be refunded now: %(reason)s") % {"reason": refused.message},
            intent=REFUND_QUOTE,
            order=order,
            links=[_order_link(order)],
        )
    lines = [
        head,
        _(
            "Yes, it can be refunded now: the fee is %(fee)s of %(price)s, so %(amount)s "
            "goes back to you."
        )
        % {
            "fee": format_money(quote.fee, quote.currency),
            "price": format_money(quote.price, quote.currency),
            "amount": format_money(quote.amount, quote.currency),
        },
    ]
    if quote.needs_review:
        lines.append(_("The organizer reviews refund requests for this event."))
    lines.append(_("Ask for it on the order page; the amount is confirmed there."))
    return Answer(
        body="\n".join(lines), intent=REFUND_QUOTE, order=order, links=[_order_link(order)]
    )


def _answer_gate(user, now: datetime, number: str) -> Answer:
    from tessera.checkin.models import CheckinList, Gate
    from tessera.tickets.models import Ticket, TicketStatus

    order = _find_order(user, number) if number else None
    if number and order is None:
        return Answer(
            body=_("I cannot find an order %(number)s among yours.") % {"number": number.upper()},
            intent=WHICH_GATE,
        )
    tickets = Ticket.objects.filter(status=TicketStatus.VALID, session__starts_at__gte=now).filter(
        Q(holder=user) | Q(holder__isnull=True, order_line__order__user=user)
    )
    if order is not None:
        tickets = tickets.filter(order_line__order=order)
    first = tickets.select_related("session__event", "session__layout__venue", "unit").order_by(
        "session__starts_at", "pk"
    )
    first = first.first()
    if first is None:
        return Answer(body=_("You have no tickets for upcoming sessions."), intent=WHICH_GATE)
    session = first.session
    session_tickets = list(
        tickets.filter(session=session).select_related("unit__section", "order_line")
    )
    gates = list(
        Gate.objects.filter(session=session, allows_entry=True).order_by("sort_order", "pk")
    )
    lists = list(
        CheckinList.objects.filter(session=session).prefetch_related("gates", "sections", "zones")
    )
    lines = [_session_label(session)]
    for ticket in session_tickets[:8]:
        place = ticket.order_line.place_label
        if lists:
            allowed = []
            for checkin_list in lists:
                sections = {s.pk for s in checkin_list.sections.all()}
                zones = {z.pk for z in checkin_list.zones.all()}
                if (
                    (not sections and not zones)
                    or ticket.unit.section_id in sections
                    or (ticket.unit.zone_id in zones)
                ):
                    allowed.extend(g for g in checkin_list.gates.all() if g.allows_entry)
            names = sorted({localized(g, "name") for g in allowed})
        else:
            names = [localized(g, "name") for g in gates]
        if names:
            lines.append(
                _("%(place)s: enter by %(gates)s") % {"place": place, "gates": ", ".join(names)}
            )
        else:
            lines.append(_("%(place)s: any gate") % {"place": place})
    if not gates:
        lines = [
            _session_label(session),
            _("The venue has not announced its gates yet; any entrance will direct you."),
        ]
    return Answer(body="\n".join(lines), intent=WHICH_GATE, order=first.order_line.order)


def _answer_sale_open(text: str, now: datetime) -> Answer | None:
    """On-sale times of the upcoming sessions of the event the text names (None: none named)."""
    from tessera.catalog.models import Session

    words = set(tokens(text))
    upcoming = list(
        Session.objects.filter(starts_at__gte=now)
        .select_related("event", "layout__venue")
        .order_by("starts_at", "pk")[:300]
    )
    best, best_overlap = None, 0
    for session in upcoming:
        names = set(tokens(session.event.name)) | set(tokens(session.event.name_en or ""))
        overlap = len(words & names)
        if overlap > best_overlap:
            best, best_overlap = session.event, overlap
    if best is None or best_overlap < 2:
        return None
    lines = [best.display_name]
    for session in [s for s in upcoming if s.event_id == best.pk][:6]:
        when = _local(session, session.starts_at)
        if session.on_sale_from and session.on_sale_from > now:
            lines.append(
                _("%(when)s: on sale from %(opens)s")
                % {"when": when, "opens": _local(session, session.on_sale_from)}
            )
        elif session.is_on_sale(now):
            lines.append(_("%(when)s: on sale now") % {"when": when})
        else:
            lines.append(_("%(when)s: not on sale") % {"when": when})
    return Answer(
        body="\n".join(lines),
        intent=SALE_OPEN,
        links=[{"label": best.display_name, "url": reverse("storefront:event", args=[best.slug])}],
    )


def _faq_answer(entry, *, intent: str = FAQ) -> Answer:
    from tessera.support.markdown import render_plain

    return Answer(
        body=render_plain(entry.display_answer),
        intent=intent,
        faq=entry,
        links=[
            {"label": entry.display_question, "url": reverse("support:help") + f"#{entry.slug}"}
        ],
    )


def answer(text: str, *, user, organization_id: int | None, now: datetime) -> Answer:
    """The bot's answer to ``text`` for ``user`` (None or anonymous: no personal data)."""
    index, entries = index_for(organization_id)
    found = route(text, index)
    signed_in = bool(user is not None and getattr(user, "is_authenticated", False))
    best = entries.get(found.faq_key)
    if found.kind == HUMAN:
        return Answer(
            body=_("Of course. Press “Talk to a person” and an agent will reply here."),
            intent=HUMAN,
            offers_person=True,
        )
    if found.kind in PERSONAL_INTENTS:
        if not signed_in:
            reply = _sign_in_answer(found.kind)
            if best is not None:
                reply.body += "\n\n" + _faq_answer(best).body
                reply.faq = best
            return reply
        if found.kind == MY_TICKETS:
            return _answer_my_tickets(user, now)
        if found.kind == REFUND_QUOTE:
            return _answer_refund(user, now, found.order_number)
        return _answer_gate(user, now, found.order_number)
    if found.kind == SALE_OPEN:
        reply = _answer_sale_open(text, now)
        if reply is not None:
            return reply
        sale_entry = next((e for e in entries.values() if e.slug == "sale-opening"), best)
        if sale_entry is not None:
            return _faq_answer(sale_entry, intent=SALE_OPEN)
    if found.kind == FAQ and best is not None:
        return _faq_answer(best)
    suggestions = [entries[hit.key] for hit in index.search(text, limit=3) if hit.key in entries]
    return Answer(
        body=_(
            "I am not sure I understood. Perhaps one of these helps; or press “Talk to a "
            "person” and an agent will answer."
        ),
        intent=UNSURE,
        is_confident=False,
        offers_person=True,
        suggestions=suggestions,
        links=[
            {"label": entry.display_question, "url": reverse("support:help") + f"#{entry.slug}"}
            for entry in suggestions
        ],
    )
