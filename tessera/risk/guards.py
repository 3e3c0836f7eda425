"""The hold guard (``settings.HOLD_GUARDS``): a blocked account holds nothing.

A block makes the account inactive (``services.block_account``), so the check reads the
account in hand and costs no statement."""

from __future__ import annotations

from datetime import datetime

from tessera.risk.errors import AccountBlocked


def refuse_blocked_accounts(*, session, user, admission_pass, now: datetime) -> None:
    if user is not None and getattr(user, "pk", None) and not user.is_active:
        raise AccountBlocked()
