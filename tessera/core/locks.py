"""Every lock the sale takes, in one place.

A lock taken outside a transaction would be released at once, so every helper asserts that
it runs inside one (``TransactionRequired``). None of them waits for ever: PostgreSQL
connections carry a ``lock_timeout`` (settings) and SQLite a busy timeout, so a stuck
holder turns into an error for the waiter, never a hung request.

The order in which the sale takes these locks is written in ``tessera.sale`` (its module
docstring); every flow that takes more than one follows it, so two flows never wait on each
other in a cycle:

    limits  →  account  →  payment  →  order  →  hold  →  places (units, ascending id)

(``limits``: a purchase-limited session's keys, ``lock_name`` per event and key, device →
phone → address → account across the event; see ``tessera.limits``. The payer's key is
taken last, in the payment's confirmation.)

- ``lock_account``: a transaction-level advisory lock on (session, account) on PostgreSQL.
  SQLite runs every write transaction ``BEGIN IMMEDIATE`` (one writer at a time), which
  already serialises them.
- ``lock_rows``: ``SELECT … FOR UPDATE`` of the rows of one table (payment, order, hold,
  ticket), joined rows left unlocked.
- ``lock_name``: an advisory lock on an arbitrary string (idempotency keys).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet


class TransactionRequired(RuntimeError):
    """A lock helper was called with no transaction open."""


def require_transaction() -> None:
    """Raise TransactionRequired unless a transaction is open on the default connection."""
    if not connection.in_atomic_block:
        raise TransactionRequired("a lock is only held inside a transaction")


def int4(value: int) -> int:
    """Fold an id into PostgreSQL's signed 32-bit range (a collision only serialises)."""
    return (value + 2**31) % 2**32 - 2**31


def lock_account(*, session_id: int, user_id: int) -> None:
    """Serialise one account's purchases in one session until the transaction ends."""
    require_transaction()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s::integer, %s::integer)",
                [int4(session_id), int4(user_id)],
            )


def account_lock_sql() -> str:
    """The SQL expression ``lock_account`` runs, for statements that take the lock together
    with a read (parameters: session id, user id, both folded with ``int4``)."""
    return "pg_advisory_xact_lock(%s::integer, %s::integer)"


def lock_name(name: str) -> None:
    """Serialise everything that locks the same ``name`` until the transaction ends."""
    require_transaction()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])


def lock_rows(queryset: QuerySet, *, of: tuple[str, ...] = ("self",)) -> QuerySet:
    """``queryset`` locked ``FOR UPDATE`` (the rows of its own table unless ``of`` says
    otherwise); evaluate it inside the transaction."""
    require_transaction()
    return queryset.select_for_update(of=of)
