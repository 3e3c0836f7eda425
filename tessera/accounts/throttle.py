"""Sign-in throttling: failed sign-ins are counted per account name and per network address
(and per account for two-step codes); past a free allowance each further failure locks that
name or address for a delay that doubles, up to an hour.

The counts live in ``SignInThrottle`` rows, so every web process on every machine sees the
same ones. A locked name or address is refused before its password is checked, with a
notice saying how long to wait; a successful sign-in clears the account's count (not the
address's: one good password must not reset an address that is guessing at others). Names
that have no account are counted like names that have one, so the answers tell nothing about
which accounts exist.
"""

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext, ngettext

from tessera.accounts.models import SignInThrottle, ThrottleScope


@dataclass(frozen=True)
class Rule:
    free_failures: int  # failures before the first lock
    first_delay_seconds: int  # the first lock; each further failure doubles it
    max_delay_seconds: int
    forget_after: timedelta  # a count with no failure for this long starts again


RULES = {
    ThrottleScope.ACCOUNT: Rule(5, 30, 3600, timedelta(hours=24)),
    # One address may be a whole office or a mobile carrier's gateway: more room.
    ThrottleScope.ADDRESS: Rule(20, 30, 3600, timedelta(hours=24)),
    ThrottleScope.SECOND_FACTOR: Rule(5, 60, 3600, timedelta(hours=24)),
}


def client_address(request) -> str:
    """The client's address, as a throttling key: an IPv6 address stands for its /64 (one
    subscriber's network). Behind a proxy, ``TESSERA_CLIENT_IP_HEADER`` names the header the
    proxy sets (e.g. ``HTTP_X_REAL_IP``); otherwise the connection's address."""
    header = getattr(settings, "CLIENT_IP_HEADER", "")
    raw = (request.META.get(header, "") if header else "") or request.META.get("REMOTE_ADDR", "")
    raw = raw.split(",")[0].strip()
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64] or "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _keys(*, username: str | None, address: str | None) -> list[tuple[str, str]]:
    keys = []
    if username:
        keys.append((ThrottleScope.ACCOUNT, username.strip().lower()[:160]))
    if address:
        keys.append((ThrottleScope.ADDRESS, address[:160]))
    return keys


def wait_seconds(*, keys: list[tuple[str, str]], now: datetime) -> int:
    """Seconds until none of ``keys`` is locked (0: go ahead)."""
    if not keys:
        return 0
    query = SignInThrottle.objects.none()
    for scope, key in keys:
        query = query | SignInThrottle.objects.filter(scope=scope, key=key, locked_until__gt=now)
    latest = max((row.locked_until for row in query), default=None)
    if latest is None:
        return 0
    return max(1, int((latest - now).total_seconds() + 0.999))


def _fail_one(scope: str, key: str, now: datetime) -> int:
    rule = RULES[scope]
    for _attempt in range(3):
        try:
            with transaction.atomic():
                row = (
                    SignInThrottle.objects.select_for_update().filter(scope=scope, key=key).first()
                )
                if row is None:
                    row = SignInThrottle.objects.create(
                        scope=scope, key=key, failures=0, last_failure_at=now
                    )
                if now - row.last_failure_at > rule.forget_after:
                    row.failures = 0
                row.failures += 1
                row.last_failure_at = now
                over = row.failures - rule.free_failures
                delay = 0
                if over >= 0:
                    delay = min(
                        rule.first_delay_seconds * 2 ** min(over, 20), rule.max_delay_seconds
                    )
                row.locked_until = now + timedelta(seconds=delay) if delay else None
                row.save()
                return delay
        except IntegrityError:
            continue  # a concurrent first failure created the row: count on it
    return 0


def record_failure(*, keys: list[tuple[str, str]], now: datetime) -> int:
    """Count one failure on each key -> seconds of the longest lock it caused (0: none)."""
    return max((_fail_one(scope, key, now) for scope, key in keys), default=0)


def clear(*, keys: list[tuple[str, str]]) -> None:
    for scope, key in keys:
        SignInThrottle.objects.filter(scope=scope, key=key).delete()


def sign_in_keys(*, username: str | None, request) -> list[tuple[str, str]]:
    return _keys(username=username, address=client_address(request) if request else None)


def account_key(username: str) -> list[tuple[str, str]]:
    return _keys(username=username, address=None)


def second_factor_key(user) -> list[tuple[str, str]]:
    return [(ThrottleScope.SECOND_FACTOR, str(user.pk))]


def lockout_message(seconds: int) -> str:
    """The notice a locked-out person reads, in the active language."""
    if seconds >= 90:
        minutes = (seconds + 59) // 60
        wait = ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    else:
        wait = ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    return gettext(
        "Too many failed attempts. For your security, signing in is paused: try again in %(wait)s."
    ) % {"wait": wait}
