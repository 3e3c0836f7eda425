"""A policy in plain words, in the active language: what the event page, the checkout's
payment step and the order page show, and the explanation of a quoted fee."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tessera.aftersales.fees import Fee, Terms
from tessera.catalog.models import AfterSalesPolicy, Session
from tessera.core.dates import local_moment
from tessera.core.money import format_money


def _hours(hours: int) -> str:
    if hours and hours % 24 == 0:
        days = hours // 24
        return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


def _percent(value: Decimal) -> str:
    text = f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"
    return f"{text.rstrip('0').rstrip('.') if '.' in text else text} %"


def _local(session: Session, moment: datetime) -> str:
    return local_moment(moment, session.layout.venue.zone_info)


def deadline(session: Session, hours: int) -> datetime:
    return session.starts_at - timedelta(hours=hours)


def schedule_lines(terms: Terms) -> list[str]:
    """The fee steps as phrases, from the earliest to the latest."""
    steps = sorted(terms.tiers, reverse=True)
    if not steps:
        return []
    if len(steps) == 1:
        return [_("any time: %(percent)s") % {"percent": _percent(steps[0][1])}]
    phrases = []
    for index, (hours, percent) in enumerate(steps):
        values = {"percent": _percent(percent), "from": _hours(hours)}
        if index == 0:
            phrases.append(_("%(from)s or more before the start: %(percent)s") % values)
        elif index == len(steps) - 1:
            values["until"] = _hours(steps[index - 1][0])
            phrases.append(_("under %(until)s: %(percent)s") % values)
        else:
            values["until"] = _hours(steps[index - 1][0])
            phrases.append(_("from %(from)s to %(until)s: %(percent)s") % values)
    return phrases


def describe(
    policy: AfterSalesPolicy, *, session: Session, now: datetime, currency: str = "CNY"
) -> list[str]:
    """What the policy lets a ticket holder do, sentence by sentence."""
    terms = Terms.of(policy)
    lines: list[str] = []
    # refunds
    if not policy.is_refundable:
        lines.append(_("Tickets for this session cannot be refunded."))
    else:
        until = deadline(session, policy.refund_cutoff_hours)
        if policy.refund_cutoff_hours:
            lines.append(
                _("Refunds until %(deadline)s (%(hours)s before the start).")
                % {"deadline": _local(session, until), "hours": _hours(policy.refund_cutoff_hours)}
            )
        else:
            lines.append(_("Refunds until the start."))
        steps = schedule_lines(terms)
        if steps:
            lines.append(_("Refund fee per ticket: %(steps)s.") % {"steps": "; ".join(steps)})
        elif not policy.has_demand_fee and not policy.fee_min:
            lines.append(_("Refunds have no fee."))
        if policy.fee_min and policy.fee_max is not None:
            lines.append(
                _("The fee is at least %(min)s and at most %(max)s per ticket.")
                % {
                    "min": format_money(policy.fee_min, currency),
                    "max": format_money(policy.fee_max, currency),
                }
            )
        elif policy.fee_min:
            lines.append(
                _("The fee is at least %(min)s per ticket.")
                % {"min": format_money(policy.fee_min, currency)}
            )
        elif policy.fee_max is not None:
            lines.append(
                _("The fee is at most %(max)s per ticket.")
                % {"max": format_money(policy.fee_max, currency)}
            )
        if policy.has_demand_fee:
            lines.append(
                _(
                    "When the session is in high demand (nearly sold out, or fans waiting), the "
                    "fee is at least %(floor)s and rises up to %(cap)s."
                )
                % {
                    "floor": _percent(Decimal(policy.demand_fee_floor)),
                    "cap": _percent(Decimal(policy.demand_fee_cap)),
                }
            )
        if policy.refunds_need_review:
            lines.append(_("The organizer reviews each refund request before the money goes back."))
        if now >= until:
            lines.append(_("The refund deadline has passed."))
    # exchanges
    if not policy.is_exchangeable:
        lines.append(_("Tickets cannot be exchanged."))
    else:
        until = deadline(session, policy.exchange_cutoff_hours)
        where = (
            _("for other seats of this session or a seat at another session of the event")
            if policy.exchange_to_other_sessions
            else _("for other seats of this session")
        )
        fee = (
            _("a fee of %(fee)s per ticket") % {"fee": format_money(policy.exchange_fee, currency)}
            if policy.exchange_fee
            else _("no fee")
        )
        lines.append(
            _("Tickets can be exchanged %(where)s until %(deadline)s, with %(fee)s.")
            % {"where": where, "deadline": _local(session, until), "fee": fee}
        )
        if now >= until:
            lines.append(_("The exchange deadline has passed."))
    # transfers
    if not policy.is_transferable or not policy.max_transfers:
        lines.append(_("Tickets cannot be transferred to someone else."))
    else:
        until = deadline(session, policy.transfer_cutoff_hours)
        times = ngettext(
            "once per ticket", "up to %(count)d times per ticket", policy.max_transfers
        ) % {"count": policy.max_transfers}
        lines.append(
            _("Tickets can be transferred to another account %(times)s, until %(deadline)s.")
            % {"times": times, "deadline": _local(session, until)}
        )
    note = policy.display_note.strip()
    if note:
        lines.append(note)
    return lines


def explain(fee: Fee, *, currency: str) -> list[str]:
    """Why the fee is what it is, for the fan about to confirm a refund."""
    values = {
        "fee": format_money(fee.fee, currency),
        "price": format_money(fee.price, currency),
        "refund": format_money(fee.refund, currency),
        "percent": _percent(fee.percent),
    }
    lines = []
    if fee.step is not None:
        start, until, is_last = fee.step
        if until is None and is_last:
            when = _("at any time")
        elif until is None:
            when = _("%(from)s or more before the start") % {"from": _hours(start)}
        elif is_last:
            when = _("less than %(until)s before the start") % {"until": _hours(until)}
        else:
            when = _("from %(from)s to %(until)s before the start") % {
                "from": _hours(start),
                "until": _hours(until),
            }
        lines.append(
            _("The schedule's fee now (%(when)s) is %(percent)s.")
            % {"when": when, "percent": _percent(fee.schedule_percent)}
        )
    if fee.demand_percent is not None:
        heat = int((fee.heat * 100).to_integral())
        lines.append(
            _(
                "Demand for this session is at %(heat)s %% of its peak: "
                "the demand fee is %(percent)s."
            )
            % {"heat": heat, "percent": _percent(fee.demand_percent)}
        )
    if fee.adjusted == "minimum":
        lines.append(_("The policy's minimum fee applies."))
    elif fee.adjusted == "maximum":
        lines.append(_("The policy's maximum fee applies."))
    elif fee.adjusted == "price":
        lines.append(_("The fee cannot be more than the price."))
    lines.append(
        _("Fee %(fee)s of %(price)s: %(refund)s goes back to you.") % values
        if fee.fee
        else _("No fee: all %(price)s goes back to you.") % values
    )
    return lines


def session_policy_lines(*, session: Session, now: datetime, currency: str = "") -> list[str]:
    """The policy that applies to ``session``, sentence by sentence (event page, the
    checkout's payment step, the order page)."""
    from tessera.catalog.selectors import policy_for

    currency = currency or session.price_zones.values_list("currency", flat=True).first() or "CNY"
    return describe(policy_for(session), session=session, now=now, currency=currency)
