"""Anomaly rules over recent orders: each rule returns ``{order_id: [reason, …]}``.

A reason is ``{"code", "weight", …detail}``; an order's score is the sum of its reasons'
weights (at most 100). ``find_and_flag`` runs every rule over the orders of the last
``RISK_SCAN_HOURS`` and flags each order with a reason into the review queue
(``services.flag_order``; an order already flagged is left alone). Thresholds are settings
(``RISK_RULE_*``) so each organizer's scale can be matched.

The payer of an order is what the provider tells us of the account that paid when stored,
else the order's phone, else its email (``payer_key``).
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count

from tessera.orders.models import Order, OrderStatus

LIVE = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.FULFILLED)
PAID = (OrderStatus.PAID, OrderStatus.FULFILLED)


def _setting(name: str, default):
    return type(default)(getattr(settings, f"RISK_RULE_{name}", default))


def payer_key(order: Order) -> str:
    digits = re.sub(r"\D", "", order.phone or "")
    if digits:
        return f"phone:{digits[-11:]}"
    if order.email:
        return f"email:{order.email.strip().lower()}"
    return ""


def _add(found: dict, order_id: int, reason: dict) -> None:
    found[order_id].append(reason)


def many_accounts_per_payer(orders: list[Order]) -> dict[int, list[dict]]:
    """One payer paying for several accounts' orders."""
    limit = _setting("PAYER_ACCOUNTS", 3)
    by_payer: dict[str, list[Order]] = defaultdict(list)
    for order in orders:
        key = payer_key(order)
        if key:
            by_payer[key].append(order)
    found: dict[int, list[dict]] = defaultdict(list)
    for key, group in by_payer.items():
        accounts = {o.user_id for o in group}
        if len(accounts) >= limit:
            for order in group:
                _add(
                    found,
                    order.pk,
                    {
                        "code": "payer_accounts",
                        "weight": 40,
                        "payer": key,
                        "accounts": len(accounts),
                    },
                )
    return found


def payer_velocity(orders: list[Order]) -> dict[int, list[dict]]:
    """Paid orders per payer: too many in an hour, or too much money in the scan window."""
    count_limit = _setting("PAYER_ORDERS_PER_HOUR", 5)
    amount_limit = Decimal(str(getattr(settings, "RISK_RULE_PAYER_AMOUNT", "20000.00")))
    by_payer: dict[str, list[Order]] = defaultdict(list)
    for order in orders:
        key = payer_key(order)
        if key and order.status in PAID:
            by_payer[key].append(order)
    found: dict[int, list[dict]] = defaultdict(list)
    for key, group in by_payer.items():
        group.sort(key=lambda o: o.paid_at or o.created_at)
        times = [o.paid_at or o.created_at for o in group]
        start = 0
        burst: set[int] = set()
        for end in range(len(group)):
            while times[end] - times[start] > timedelta(hours=1):
                start += 1
            if end - start + 1 >= count_limit:
                burst.update(o.pk for o in group[start : end + 1])
        total = sum((o.total for o in group), Decimal("0"))
        for order in group:
            if order.pk in burst:
                _add(found, order.pk, {"code": "payer_velocity", "weight": 30, "payer": key})
            if total >= amount_limit:
                _add(
                    found,
                    order.pk,
                    {"code": "payer_amount", "weight": 30, "payer": key, "amount": str(total)},
                )
    return found


def new_account_burst(orders: list[Order]) -> dict[int, list[dict]]:
    """Several accounts created within an hour of each other, shortly before they bought
    places of the same session (a fleet registered for the on-sale)."""
    limit = _setting("NEW_ACCOUNTS", 5)
    hours = _setting("NEW_ACCOUNT_HOURS", 48)
    by_session: dict[int, list[Order]] = defaultdict(list)
    for order in orders:
        joined = order.user.date_joined
        if timedelta(0) <= order.created_at - joined <= timedelta(hours=hours):
            by_session[order.session_id].append(order)
    found: dict[int, list[dict]] = defaultdict(list)
    for group in by_session.values():
        group.sort(key=lambda o: o.user.date_joined)
        start = 0
        burst: set[int] = set()
        for end in range(len(group)):
            while group[end].user.date_joined - group[start].user.date_joined > timedelta(hours=1):
                start += 1
            if len({o.user_id for o in group[start : end + 1]}) >= limit:
                burst.update(o.pk for o in group[start : end + 1])
        for order in group:
            if order.pk in burst:
                _add(
                    found,
                    order.pk,
                    {
                        "code": "new_account_burst",
                        "weight": 35,
                        "joined_at": order.user.date_joined.isoformat(),
                    },
                )
    return found


def _decisions_since(since: datetime):
    from tessera.risk.models import RiskDecision

    return RiskDecision.objects.filter(at__gte=since, user__isnull=False)


def many_accounts_per_device(orders: list[Order], since: datetime) -> dict[int, list[dict]]:
    """One device seen with several accounts (risk decisions), and those accounts' orders."""
    limit = _setting("DEVICE_ACCOUNTS", 3)
    shared = {
        row["device_key"]: row["n"]
        for row in _decisions_since(since)
        .values("device_key")
        .annotate(n=Count("user_id", distinct=True))
        .filter(n__gte=limit)
    }
    if not shared:
        return {}
    users: dict[int, tuple[str, int]] = {}
    for device, user_id in (
        _decisions_since(since)
        .filter(device_key__in=list(shared))
        .values_list("device_key", "user_id")
        .distinct()
    ):
        users[user_id] = (device, shared[device])
    found: dict[int, list[dict]] = defaultdict(list)
    for order in orders:
        if order.user_id in users:
            device, n = users[order.user_id]
            _add(
                found,
                order.pk,
                {"code": "device_accounts", "weight": 40, "device": device[:40], "accounts": n},
            )
    return found


def _range(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # already a network (IPv6 /64) or unknown
    return str(ipaddress.ip_network(f"{ip}/24", strict=False))


def orders_from_one_range(orders: list[Order], since: datetime) -> dict[int, list[dict]]:
    """Several accounts buying one session from one address range (IPv4 /24, IPv6 /64),
    the addresses taken from their requests' risk decisions."""
    limit = _setting("RANGE_ACCOUNTS", 5)
    seen: dict[tuple[int, int], str] = {}
    for session_id, user_id, address in _decisions_since(since).values_list(
        "session_id", "user_id", "address"
    ):
        if session_id:
            seen[(session_id, user_id)] = _range(address)
    accounts: dict[tuple[int, str], set[int]] = defaultdict(set)
    for (session_id, user_id), network in seen.items():
        accounts[(session_id, network)].add(user_id)
    found: dict[int, list[dict]] = defaultdict(list)
    for order in orders:
        network = seen.get((order.session_id, order.user_id))
        if network and len(accounts[(order.session_id, network)]) >= limit:
            _add(
                found,
                order.pk,
                {
                    "code": "address_range",
                    "weight": 30,
                    "range": network,
                    "accounts": len(accounts[(order.session_id, network)]),
                },
            )
    return found


def repeated_transfers(orders: list[Order], since: datetime) -> dict[int, list[dict]]:
    """The same tickets passed on again and again (accepted transfers per ticket)."""
    from tessera.transfers.models import Transfer, TransferStatus

    limit = _setting("TRANSFERS_PER_TICKET", 2)
    rows = (
        Transfer.objects.filter(status=TransferStatus.ACCEPTED)
        .values("ticket_id", "order_id")
        .annotate(n=Count("id"))
        .filter(n__gte=limit)
    )
    found: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        _add(
            found,
            row["order_id"],
            {
                "code": "repeated_transfer",
                "weight": 35,
                "ticket": str(row["ticket_id"]),
                "transfers": row["n"],
            },
        )
    return found


def find(*, now: datetime) -> dict[int, list[dict]]:
    """Every rule over the orders of the scan window: ``{order_id: reasons}``."""
    since = now - timedelta(hours=_setting("SCAN_HOURS", 24))
    orders = list(
        Order.objects.filter(created_at__gte=since, status__in=LIVE).select_related("user")
    )
    results: dict[int, list[dict]] = defaultdict(list)
    for found in (
        many_accounts_per_payer(orders),
        payer_velocity(orders),
        new_account_burst(orders),
        many_accounts_per_device(orders, since),
        orders_from_one_range(orders, since),
        repeated_transfers(orders, since),
    ):
        for order_id, reasons in found.items():
            results[order_id].extend(reasons)
    return dict(results)


def find_and_flag(*, now: datetime) -> int:
    """Flag every order a rule finds; the number of new cases."""
    from tessera.risk.services import flag_order

    found = find(now=now)
    flagged = 0
    for order in Order.objects.filter(pk__in=list(found)).exclude(risk_cases__isnull=False):
        reasons = found[order.pk]
        case = flag_order(
            order=order, score=sum(r["weight"] for r in reasons), reasons=reasons, now=now
        )
        flagged += case is not None
    return flagged
