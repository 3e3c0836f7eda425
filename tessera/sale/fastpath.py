"""The sale's transactions as a few PostgreSQL statements each.

The same steps as the apps' services (``inventory``, ``orders``, ``payments``, ``tickets``),
with the same rows, audit entries and guarantees, but merged into data-modifying CTEs so
that a purchase costs a handful of round trips instead of a hundred ORM statements. Every
statement here re-checks, inside the database, the rule it relies on (on sale, limits, the
places still free, the payment still open): nothing is trusted from a cache.

Each function either completes its step or *declines* (``Declined``) having changed nothing
that its transaction keeps: the caller then rolls back and runs the services' path, which
either succeeds (a race resolved meanwhile) or raises the precise error for the buyer. So
this module never decides what the buyer is told; it only makes the common case cheap.

Statements of the checkout (T1 in ``tessera.sale``):

1. ``SELECT pg_advisory_xact_lock(session, user)``: the account lock (``core.locks``);
2. *take*: rules, the account's count, the places (``FOR UPDATE [SKIP LOCKED]``), the hold
   row and the units' UPDATE, answering each place with its price and labels;
3. *record*: the order, its lines, the payment and the audit rows.
"""

from __future__ import annotations

import json
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import OperationalError, connection
from django.db.backends.utils import CursorDebugWrapper

from tessera.core import locks
from tessera.core.i18n import is_english
from tessera.core.money import round_money


class Declined(Exception):
    """The fast statements did not apply; nothing was kept. Run the services' path."""


class SoldOut(Exception):
    """Fewer places than asked are free where "any N" looked (nothing was taken)."""


class AccountLimit(Exception):
    """The account would pass the session's limit (nothing was taken)."""

    def __init__(self, already: int, limit: int):
        self.already, self.limit = already, limit
        super().__init__(already, limit)


class ServicesOnly(Declined):
    """The session has rules only the services apply (real-name tickets, purchase limits
    of ``tessera.limits``): nothing was taken, and trying other places would not help."""


class Conflict(Declined):
    """A deadlock detected or a lock wait given up (``lock_timeout``): the transaction is
    lost, nothing it did is kept; the caller rolls back (no further statement may run in
    it) and takes the services' path."""


_CONFLICTS = ("40P01", "55P03")


@contextmanager
def _declining_on_conflict():
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) in _CONFLICTS:
            raise Conflict from exc
        raise


@dataclass(frozen=True)
class Place:
    """A place just taken, with what its order line copies."""

    unit_id: int
    zone_id: int
    price: Decimal
    currency: str
    zone_name: str
    section_code: str
    section_name: str
    row_label: str
    seat_label: str


@dataclass
class Taken:
    hold_id: uuid.UUID
    expires_at: datetime
    organization_id: int
    places: list[Place] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.places[0].currency

    def total(self) -> Decimal:
        return round_money(sum((p.price for p in self.places), Decimal(0)), self.currency)


# -- how the statements run ------------------------------------------------------------------------


def _cursor_for_prepared():
    """A cursor whose statements are sent with server-side parameters and prepared once per
    connection, so PostgreSQL plans each of the sale's statements once instead of on every
    purchase (planning one of them costs about half a millisecond; Django's own cursors
    send parameters inside the text, which cannot be prepared). It is still Django's
    wrapper: the statements are logged, counted and their errors translated as any
    other's."""
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold != 0:
        raw.prepare_threshold = 0  # Django's own (client-side) cursors never prepare
    cursor = psycopg.Cursor(raw)
    if connection.queries_logged:
        return _PreparedDebugCursor(cursor, connection)
    return connection.make_cursor(cursor)


class _PreparedDebugCursor(CursorDebugWrapper):
    """Django's debug cursor, logging each statement as written (its parameters travel
    apart, so there is no "last executed query" text to read back)."""

    def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
        return super().debug_sql(sql, params, use_last_executed_query=False, many=many)


# -- statement 1: the account lock ----------------------------------------------------------------


def lock_account(*, session_id: int, user_id: int) -> None:
    locks.lock_account(session_id=session_id, user_id=user_id)


# -- statement 2: take the places -----------------------------------------------------------------

# Places of an expired hold are free unless the session's returned places are queued for
# its waiting list (``inventory.ReturnQueue``): an uncorrelated EXISTS, read once per statement.
_NOT_QUEUED = (
    "NOT EXISTS (SELECT 1 FROM inventory_returnqueue q WHERE q.session_id = %(session)s::bigint)"
)
_FREE = (
    "(u.status = 'available' OR (u.status = 'held' AND u.hold_expires_at < %(now)s::timestamptz"
    f" AND {_NOT_QUEUED}))"
)
_OPEN_POOL = "u.channel_id IS NULL"
# A channel's own places, and the open pool when the channel sells from it (read here, in
# the statement, so a channel switched to "its allocation only" stops at once).
_OF_CHANNEL = (
    "(u.channel_id = %(channel)s::bigint OR (u.channel_id IS NULL AND EXISTS ("
    "SELECT 1 FROM inventory_saleschannel c"
    " WHERE c.id = %(channel)s::bigint AND c.sells_open_pool)))"
)

_TAKE = """
WITH sess AS (
    SELECT s.hold_minutes, s.max_tickets_per_account AS max_account, e.organization_id,
           s.real_name_required OR EXISTS (
               SELECT 1 FROM limits_purchaselimits pl
                WHERE pl.event_id = s.event_id AND pl.is_limiting
                  AND (pl.session_id IS NULL OR pl.session_id = s.id)) AS real_name_required
      FROM catalog_session s JOIN catalog_event e ON e.id = s.event_id
     WHERE s.id = %(session)s::bigint AND s.status = 'scheduled' AND e.status = 'published'
       AND (s.on_sale_from IS NULL OR s.on_sale_from <= %(now)s::timestamptz)
       AND (s.on_sale_until IS NULL OR %(now)s::timestamptz < s.on_sale_until)
       AND %(quantity)s::int <= s.max_tickets_per_order
), owned AS (
    {owned}
), picked AS (
    {pick}
), allowed AS (
    SELECT sess.* FROM sess, owned
     WHERE owned.n + %(quantity)s::int <= sess.max_account
       AND NOT sess.real_name_required
       AND (SELECT count(*) FROM picked) = %(quantity)s::int
), hold AS (
    INSERT INTO inventory_hold
           (id, session_id, user_id, channel_id, status, quantity, created_at, expires_at,
            extensions)
    SELECT %(hold)s::uuid, %(session)s::bigint, %(user)s::bigint, %(channel)s::bigint,
           %(hold_status)s::text, %(quantity)s::int, %(now)s::timestamptz,
           %(now)s::timestamptz + make_interval(mins => allowed.hold_minutes), 0
      FROM allowed
    RETURNING id, expires_at
), taken AS (
    UPDATE inventory_inventoryunit t
       SET status = 'held', hold_id = hold.id, hold_expires_at = hold.expires_at
      FROM picked, hold
     WHERE t.id = picked.id
    RETURNING t.id, t.zone_id, t.section_id, t.seat_id, hold.expires_at
)
SELECT t.*, (SELECT count(*) FROM sess), (SELECT n FROM owned),
       (SELECT max_account FROM sess), (SELECT count(*) FROM picked),
       (%(zone)s::bigint IS NULL OR EXISTS (
            SELECT 1 FROM catalog_pricezone
             WHERE id = %(zone)s::bigint AND session_id = %(session)s::bigint))
       AND (%(section)s::bigint IS NULL OR EXISTS (
            SELECT 1 FROM venues_section vs JOIN catalog_session cs ON cs.layout_id = vs.layout_id
             WHERE vs.id = %(section)s::bigint AND cs.id = %(session)s::bigint)),
       coalesce((SELECT bool_or(real_name_required) FROM sess), false)
  FROM (SELECT 1) AS one
  LEFT JOIN (
    SELECT taken.id, taken.zone_id, z.price, z.currency,
           CASE WHEN %(english)s::boolean AND z.name_en <> '' THEN z.name_en ELSE z.name END,
           sec.code,
           CASE WHEN %(english)s::boolean AND sec.name_en <> '' THEN sec.name_en
                ELSE sec.name END,
           coalesce(r.label, ''), coalesce(st.label, ''),
           taken.expires_at, (SELECT organization_id FROM allowed),
           sec.sort_order AS section_order, r.sort_order AS row_order, st.position
      FROM taken
      JOIN catalog_pricezone z ON z.id = taken.zone_id
      JOIN venues_section sec ON sec.id = taken.section_id
      LEFT JOIN venues_seat st ON st.id = taken.seat_id
      LEFT JOIN venues_row r ON r.id = st.row_id
  ) AS t ON true
 ORDER BY t.section_order, t.row_order, t.position, t.id
"""

_OWNED = """
    SELECT count(*) AS n
      FROM inventory_inventoryunit u JOIN inventory_hold h ON h.id = u.hold_id
     WHERE h.session_id = %(session)s::bigint AND h.user_id = %(user)s::bigint
       AND u.session_id = %(session)s::bigint
       AND (u.status = 'sold' OR (u.status = 'held' AND u.hold_expires_at >= %(now)s::timestamptz))
"""
_NOBODY_OWNS = "SELECT 0 AS n"

# Chosen places (found by primary key, whatever the statistics say), locked in ascending id
# order. A buyer's own choice waits for a place
# another buyer is locking right now (that buyer may roll back); a proposal of best
# available (``proposal``) skips it instead, so a transaction that tries several proposals
# never waits while holding the locks of an earlier one (no deadlock between two buyers
# whose proposals overlap).
_PICK_CHOSEN = """
    SELECT u.id
      FROM unnest(%(unit_ids)s::bigint[]) AS chosen(id)
      JOIN inventory_inventoryunit u ON u.id = chosen.id
     WHERE u.session_id = %(session)s::bigint AND {channel} AND {free}
     ORDER BY u.id FOR UPDATE OF u {skip}
"""

# Any N of a zone (and section): free places nobody else is locking right now, in id order
# from where this process last took places of the zone. The partial index on available
# places (session, zone, id) makes this a seek: the row comparison on its columns is an
# index condition the primary key cannot serve, so the planner walks the partial index
# (ordering by the ids alone, it may walk the primary key and filter, which grows with every
# place sold). Starting after the last place taken skips the index entries sold places
# leave behind until vacuum clears them, so the cost stays flat as the session fills. When
# nothing is left after that point the pick starts from the zone's first place, and only
# when too few are available does it look at places of expired holds (their own index).
_PICK_ANY = """
    SELECT u.id FROM inventory_inventoryunit u
     WHERE u.session_id = %(session)s::bigint AND u.zone_id = %(zone)s::bigint {section}
       AND (u.session_id, u.zone_id, u.id)
           > (%(session)s::bigint, %(zone)s::bigint, %(after)s::bigint)
       AND {channel} AND {status}
     ORDER BY u.session_id, u.zone_id, u.id LIMIT %(quantity)s::int FOR UPDATE SKIP LOCKED
"""
_AVAILABLE = "u.status = 'available'"
# The places of expired holds, found through their own small index (session, expiry).
_PICK_EXPIRED = """
    SELECT u.id FROM inventory_inventoryunit u
     WHERE u.session_id = %(session)s::bigint AND u.status = 'held'
       AND u.hold_expires_at < %(now)s::timestamptz
       AND u.zone_id = %(zone)s::bigint {section} AND {channel} AND {not_queued}
     ORDER BY u.session_id, u.hold_expires_at LIMIT %(quantity)s::int FOR UPDATE SKIP LOCKED
"""
_CURSOR_LIMIT = 100_000
_cursors: dict[tuple, int] = {}
_cursors_lock = threading.Lock()


def _cursor(key: tuple) -> int:
    with _cursors_lock:
        return _cursors.get(key, 0)


def _advance(key: tuple, unit_id: int) -> None:
    with _cursors_lock:
        if len(_cursors) > _CURSOR_LIMIT:
            _cursors.clear()
        _cursors[key] = unit_id


def _channel_sql(channel_id: int | None) -> str:
    return _OPEN_POOL if channel_id is None else _OF_CHANNEL


def take_places(
    *,
    session_id: int,
    user_id: int,
    now: datetime,
    quantity: int,
    unit_ids: list[int] | None = None,
    zone_id: int | None = None,
    section_id: int | None = None,
    channel_id: int | None = None,
    check_account_limit: bool = True,
    hold_status: str = "ordered",
    proposal: bool = False,
) -> Taken:
    """Take ``unit_ids`` (all of them) or any ``quantity`` places of ``zone_id`` (and
    ``section_id``) for a new hold of ``user_id``, inside the caller's transaction. The hold
    is created with ``hold_status`` (ordered: its order follows in the same transaction).

    Declines, having changed nothing, when the session is not on sale, the quantity is over
    a limit, or the places are not all free.
    """
    locks.require_transaction()
    params = {
        "session": session_id,
        "user": user_id,
        "now": now,
        "quantity": quantity,
        "unit_ids": unit_ids,
        "zone": zone_id,
        "section": section_id,
        "channel": channel_id,
        "hold": uuid.uuid4(),
        "hold_status": hold_status,
        "english": is_english(),
    }
    channel = _channel_sql(channel_id)
    cursor_key = (session_id, zone_id, section_id, channel_id)
    if unit_ids is not None:
        if len(unit_ids) != quantity:
            raise Declined
        skip = "SKIP LOCKED" if proposal else ""
        picks = [(_PICK_CHOSEN.format(channel=channel, free=_FREE, skip=skip), 0)]
    else:
        section = "AND u.section_id = %(section)s::bigint" if section_id is not None else ""
        after = _cursor(cursor_key)
        starts = [after, 0] if after else [0]
        picks = [
            (_PICK_ANY.format(section=section, channel=channel, status=_AVAILABLE), start)
            for start in starts
        ]
        picks.append(
            (_PICK_EXPIRED.format(section=section, channel=channel, not_queued=_NOT_QUEUED), 0)
        )
    owned = _OWNED if check_account_limit else _NOBODY_OWNS
    for pick, start in picks:
        params["after"] = start
        with _declining_on_conflict(), _cursor_for_prepared() as cursor:
            cursor.execute(_TAKE.format(pick=pick, owned=owned), params)
            rows = cursor.fetchall()
        on_sale, owned_places, limit, picked, in_scope, real_name = rows[0][14:20]
        if real_name:
            # One attendee identity per ticket, or purchase limits: the services apply them.
            raise ServicesOnly
        if rows[0][0] is not None:
            if len(rows) != quantity:  # never: the hold is all or nothing
                raise RuntimeError("a partial hold was taken")
            break
        if not on_sale:
            raise Declined  # not on sale, or over the per-order limit: the services say which
        if owned_places + quantity > limit:
            raise AccountLimit(owned_places, limit)
    else:
        if unit_ids is None and picked < quantity and in_scope:
            raise SoldOut  # fewer free places than asked in this zone (or section)
        raise Declined
    if unit_ids is None:
        _advance(cursor_key, max(row[0] for row in rows))
    taken = Taken(hold_id=params["hold"], expires_at=rows[0][9], organization_id=rows[0][10])
    taken.places = [
        Place(
            unit_id=row[0],
            zone_id=row[1],
            price=row[2],
            currency=row[3],
            zone_name=row[4],
            section_code=row[5],
            section_name=row[6],
            row_label=row[7],
            seat_label=row[8],
        )
        for row in rows
    ]
    return taken


# -- statement 3: record the order and its payment ------------------------------------------------

_RECORD = """
WITH o AS (
    INSERT INTO orders_order
           (number, user_id, session_id, hold_id, channel_id, status, total, currency, email,
            phone, created_at, expires_at, close_reason)
    VALUES (%(number)s::text, %(user)s::bigint, %(session)s::bigint, %(hold)s::uuid,
            %(channel)s::bigint, %(order_status)s::text, %(total)s::numeric, %(currency)s::text,
            %(email)s::text, %(phone)s::text, %(now)s::timestamptz, %(expires)s::timestamptz, '')
    ON CONFLICT (number) DO NOTHING
    RETURNING id
), lines AS (
    INSERT INTO orders_orderline
           (order_id, unit_id, zone_id, status, section_code, section_name, row_label,
            seat_label, zone_name, price, currency, attendee_name, attendee_id_type,
            attendee_id_number)
    SELECT o.id, v.unit_id, v.zone_id, 'active', v.section_code, v.section_name, v.row_label,
           v.seat_label, v.zone_name, v.price, %(currency)s::text, v.attendee, '', ''
      FROM o, unnest(%(unit_ids)s::bigint[], %(zone_ids)s::bigint[], %(section_codes)s::text[],
                     %(section_names)s::text[], %(row_labels)s::text[], %(seat_labels)s::text[],
                     %(zone_names)s::text[], %(prices)s::numeric[], %(attendees)s::text[])
           WITH ORDINALITY AS v(unit_id, zone_id, section_code, section_name, row_label,
                                seat_label, zone_name, price, attendee, n)
     ORDER BY v.n
    RETURNING id, unit_id
), payment AS (
    INSERT INTO payments_payment
           (id, order_id, provider, status, amount, currency, provider_reference, created_at,
            failure_reason, options, cashier_url, qr_content, callback_sequence)
    SELECT %(payment)s::uuid, o.id, %(provider)s::text, 'created', %(total)s::numeric,
           %(currency)s::text, %(provider_reference)s::text, %(now)s::timestamptz, '',
           %(options)s::jsonb, %(cashier_url)s::text, %(qr_content)s::text, 0
      FROM o
     WHERE %(payment)s::uuid IS NOT NULL
), audit AS (
    INSERT INTO core_auditentry
           (at, actor_id, organization_id, action, object_type, object_id, data)
    SELECT %(now)s::timestamptz, %(actor)s::bigint, %(organization)s::bigint, a.action,
           a.object_type,
           CASE WHEN a.object_type = 'orders.order' THEN o.id::text ELSE a.object_id END,
           a.data::jsonb
      FROM o, unnest(%(audit_actions)s::text[], %(audit_types)s::text[],
                     %(audit_ids)s::text[], %(audit_data)s::text[])
           AS a(action, object_type, object_id, data)
)
SELECT o.id, lines.id, lines.unit_id FROM o JOIN lines ON true ORDER BY lines.id
"""


@dataclass(frozen=True)
class Prepared:
    """The payment to insert with the order, and where its buyer pays (when the provider
    prepares that locally)."""

    payment_id: uuid.UUID
    provider: str
    options: dict
    cashier_url: str = ""
    qr_content: str = ""
    provider_reference: str = ""


@dataclass(frozen=True)
class Recorded:
    order_id: int
    line_ids: dict[int, int]  # unit id → line id


def record_order(
    *,
    taken: Taken,
    number: str,
    session_id: int,
    user_id: int,
    channel_id: int | None,
    email: str,
    phone: str,
    attendees: list[str],
    now: datetime,
    payment: Prepared | None,
    audit: list[tuple[str, str, str, dict]],
    order_status: str = "pending_payment",
    actor_id: int | None = None,
) -> Recorded:
    """Insert the order of ``taken`` (its places, in seating order, one line each, names
    from ``attendees``), its payment and the ``audit`` rows (action, object type, object id
    (ignored for the order, whose id is not known yet), data). Declines on an order number
    that is already taken (the caller rolls back and draws again)."""
    locks.require_transaction()
    places = taken.places
    total = taken.total()
    params = {
        "number": number,
        "user": user_id,
        "session": session_id,
        "hold": taken.hold_id,
        "channel": channel_id,
        "order_status": order_status,
        "total": total,
        "currency": taken.currency,
        "email": email,
        "phone": phone,
        "now": now,
        "expires": taken.expires_at,
        "unit_ids": [p.unit_id for p in places],
        "zone_ids": [p.zone_id for p in places],
        "section_codes": [p.section_code for p in places],
        "section_names": [p.section_name for p in places],
        "row_labels": [p.row_label for p in places],
        "seat_labels": [p.seat_label for p in places],
        "zone_names": [p.zone_name for p in places],
        "prices": [round_money(p.price, taken.currency) for p in places],
        "attendees": attendees,
        "payment": payment.payment_id if payment else None,
        "provider": payment.provider if payment else "",
        "options": json.dumps(payment.options if payment else {}),
        "cashier_url": payment.cashier_url if payment else "",
        "qr_content": payment.qr_content[:500] if payment else "",
        "provider_reference": payment.provider_reference[:80] if payment else "",
        "actor": user_id if actor_id is None else actor_id,
        "organization": taken.organization_id,
        "audit_actions": [a[0] for a in audit],
        "audit_types": [a[1] for a in audit],
        "audit_ids": [a[2] for a in audit],
        "audit_data": [json.dumps(a[3], default=str) for a in audit],
    }
    with _declining_on_conflict(), _cursor_for_prepared() as cursor:
        cursor.execute(_RECORD, params)
        rows = cursor.fetchall()
    if not rows:
        raise Declined
    if len(rows) != len(places):
        raise RuntimeError("an order was recorded without all its lines")
    return Recorded(order_id=rows[0][0], line_ids={unit: line for _o, line, unit in rows})


# -- T2: the confirmation of a successful payment -------------------------------------------------

_CONFIRM = """
WITH p AS (
    UPDATE payments_payment
       SET status = 'succeeded', completed_at = %(now)s::timestamptz, failure_reason = '',
           provider_reference = CASE WHEN %(reference)s::text <> '' THEN %(reference)s::text
                                     ELSE provider_reference END,
           callback_sequence = GREATEST(callback_sequence, %(sequence)s::bigint),
           payer_id = CASE WHEN %(payer)s::text <> '' THEN %(payer)s::text ELSE payer_id END
     WHERE id = %(payment)s::uuid AND provider = %(provider)s::text AND status = 'created'
       AND upper(currency) = %(currency)s::text AND amount = %(amount)s::numeric
    RETURNING id, order_id, amount, currency
), o AS (
    UPDATE orders_order t
       SET status = 'fulfilled', paid_at = %(now)s::timestamptz, fulfilled_at = %(now)s::timestamptz
      FROM p
     WHERE t.id = p.order_id AND t.status = 'pending_payment'
       AND t.expires_at > %(now)s::timestamptz
       AND t.total = p.amount AND t.currency = p.currency AND t.hold_id IS NOT NULL
       -- a payer limit (tessera.limits) is checked by the services' confirmation
       AND NOT EXISTS (
           SELECT 1 FROM limits_purchaselimits pl JOIN catalog_session cs
                  ON cs.event_id = pl.event_id
            WHERE cs.id = t.session_id AND (pl.session_id IS NULL OR pl.session_id = cs.id)
              AND (pl.payer_per_session > 0 OR pl.payer_per_event > 0))
    RETURNING t.id, t.number, t.hold_id, t.session_id, t.user_id, t.total, t.currency
), h AS (
    UPDATE inventory_hold t SET status = 'sold'
      FROM o
     WHERE t.id = o.hold_id AND t.status = 'ordered'
    RETURNING t.id, t.quantity
), ln AS (
    SELECT l.id, l.unit_id, l.attendee_name
      FROM orders_orderline l JOIN o ON l.order_id = o.id
     WHERE l.status = 'active'
), u AS (
    UPDATE inventory_inventoryunit t
       SET status = 'sold', hold_expires_at = NULL, order_line_id = ln.id
      FROM ln, h
     WHERE t.id = ln.unit_id AND t.hold_id = h.id AND t.status = 'held'
    RETURNING t.id
), buyer AS (
    SELECT coalesce(nullif(btrim(usr.display_name), ''),
                    nullif(btrim(usr.first_name || ' ' || usr.last_name), ''),
                    usr.username) AS name
      FROM accounts_user usr JOIN o ON usr.id = o.user_id
), org AS (
    SELECT e.organization_id AS id
      FROM o JOIN catalog_session s ON s.id = o.session_id
      JOIN catalog_event e ON e.id = s.event_id
), charge AS (
    INSERT INTO orders_ledgerentry (order_id, kind, amount, currency, payment_id, reference, at,
                                    memo)
    SELECT o.id, 'charge', o.total, o.currency, %(payment)s::uuid, '', %(now)s::timestamptz, ''
      FROM o
), tickets AS (
    INSERT INTO tickets_ticket (public_id, order_line_id, session_id, unit_id, holder_name,
                                status, version, issued_at)
    SELECT gen_random_uuid(), ln.id, o.session_id, ln.unit_id,
           left(coalesce(nullif(btrim(ln.attendee_name), ''), buyer.name), 80), 'valid', 1,
           %(now)s::timestamptz
      FROM ln, o, buyer
     ORDER BY ln.id
    RETURNING id
), log AS (
    INSERT INTO payments_callbacklog (provider, payment_id, received_at, headers, body,
                                      signature_valid, outcome, detail)
    SELECT %(provider)s::text, p.id, %(now)s::timestamptz, %(headers)s::jsonb, %(body)s::text,
           true, 'applied', 'succeeded'
      FROM p
), audit AS (
    INSERT INTO core_auditentry (at, actor_id, organization_id, action, object_type,
                                 object_id, data)
    SELECT %(now)s::timestamptz, NULL, org.id, a.action, a.object_type, a.object_id, a.data
      FROM o, org, LATERAL (VALUES
        ('order.paid', 'orders.order', o.id::text,
         jsonb_build_object('payment', %(payment_text)s::text, 'amount', o.total::text)),
        ('hold.sold', 'inventory.hold', o.hold_id::text,
         jsonb_build_object('units', (SELECT jsonb_agg(ln.unit_id ORDER BY ln.unit_id) FROM ln))),
        ('tickets.issued', 'orders.order', o.id::text,
         jsonb_build_object('tickets', (SELECT jsonb_agg(id ORDER BY id) FROM tickets))),
        ('order.fulfilled', 'orders.order', o.id::text, '{}'::jsonb),
        ('payment.succeeded', 'payments.payment', %(payment_text)s::text,
         jsonb_build_object('order', o.number, 'amount', o.total::text))
      ) AS a(action, object_type, object_id, data)
), note AS (
    SELECT pg_notify('tessera_order', o.id || ':fulfilled') FROM o
)
SELECT (SELECT count(*) FROM p), o.id, o.session_id, (SELECT quantity FROM h),
       (SELECT count(*) FROM u), (SELECT count(*) FROM ln), (SELECT count(*) FROM tickets),
       (SELECT count(*) FROM note)
  FROM (SELECT 1) one LEFT JOIN o ON true
"""


@dataclass(frozen=True)
class Confirmed:
    order_id: int
    session_id: int
    tickets: int


def confirm_sale(
    *,
    payment_id: uuid.UUID,
    provider: str,
    amount: Decimal,
    currency: str,
    provider_reference: str,
    sequence: int,
    headers: dict,
    body: str,
    now: datetime,
    payer_id: str = "",
) -> Confirmed:
    """The money of an open payment arrived in time: payment succeeded, order fulfilled,
    hold and places sold, the ledger charge, one ticket per line, the callback's log and
    the audit rows, and the announcement of the order's new status (sent at commit), in one
    statement inside the caller's transaction.

    Declines — the caller rolls back — when anything is not as a plain, timely payment
    leaves it: the payment not open, a wrong amount, the order not awaiting payment or past
    its pay-before time, a place no longer the hold's, a payer limit on the session
    (``tessera.limits``: the services' confirmation checks it).
    """
    locks.require_transaction()
    params = {
        "payment": payment_id,
        "payment_text": str(payment_id),
        "provider": provider,
        "amount": amount,
        "currency": currency.upper(),
        "reference": provider_reference[:80],
        "sequence": sequence,
        "payer": payer_id[:128],
        "headers": json.dumps(headers),
        "body": body,
        "now": now,
    }
    with _declining_on_conflict(), _cursor_for_prepared() as cursor:
        cursor.execute(_CONFIRM, params)
        paid, order_id, session_id, quantity, sold, lines, tickets, _noted = cursor.fetchone()
    if not (paid == 1 and order_id is not None and quantity == sold == lines == tickets):
        raise Declined
    return Confirmed(order_id=order_id, session_id=session_id, tickets=tickets)


# -- T5: a sales channel's order, paid on account -------------------------------------------------

_RECORD_SOLD = """
WITH o AS (
    INSERT INTO orders_order
           (number, user_id, session_id, hold_id, channel_id, status, total, currency, email,
            phone, created_at, expires_at, paid_at, fulfilled_at, close_reason)
    VALUES (%(number)s::text, %(account)s::bigint, %(session)s::bigint, %(hold)s::uuid,
            %(channel)s::bigint, 'fulfilled', %(total)s::numeric, %(currency)s::text,
            %(email)s::text, %(phone)s::text, %(now)s::timestamptz, %(expires)s::timestamptz,
            %(now)s::timestamptz, %(now)s::timestamptz, '')
    ON CONFLICT (number) DO NOTHING
    RETURNING id
), lines AS (
    INSERT INTO orders_orderline
           (order_id, unit_id, zone_id, status, section_code, section_name, row_label,
            seat_label, zone_name, price, currency, attendee_name, attendee_id_type,
            attendee_id_number)
    SELECT o.id, v.unit_id, v.zone_id, 'active', v.section_code, v.section_name, v.row_label,
           v.seat_label, v.zone_name, v.price, %(currency)s::text, v.attendee, '', ''
      FROM o, unnest(%(unit_ids)s::bigint[], %(zone_ids)s::bigint[], %(section_codes)s::text[],
                     %(section_names)s::text[], %(row_labels)s::text[], %(seat_labels)s::text[],
                     %(zone_names)s::text[], %(prices)s::numeric[], %(attendees)s::text[])
           WITH ORDINALITY AS v(unit_id, zone_id, section_code, section_name, row_label,
                                seat_label, zone_name, price, attendee, n)
     ORDER BY v.n
    RETURNING id, unit_id, attendee_name
), sold AS (
    UPDATE inventory_inventoryunit t
       SET status = 'sold', hold_expires_at = NULL, order_line_id = lines.id
      FROM lines
     WHERE t.id = lines.unit_id AND t.hold_id = %(hold)s::uuid AND t.status = 'held'
    RETURNING t.id
), hold AS (
    UPDATE inventory_hold SET status = 'sold' WHERE id = %(hold)s::uuid AND EXISTS (SELECT 1 FROM o)
), charge AS (
    INSERT INTO orders_ledgerentry (order_id, kind, amount, currency, payment_id, reference,
                                    at, memo)
    SELECT o.id, 'charge', %(total)s::numeric, %(currency)s::text, NULL, %(reference)s::text,
           %(now)s::timestamptz, ''
      FROM o
), tickets AS (
    INSERT INTO tickets_ticket (public_id, order_line_id, session_id, unit_id, holder_name,
                                status, version, issued_at)
    SELECT gen_random_uuid(), lines.id, %(session)s::bigint, lines.unit_id,
           left(coalesce(nullif(btrim(lines.attendee_name), ''), %(holder)s::text), 80), 'valid', 1,
           %(now)s::timestamptz
      FROM lines
     ORDER BY lines.id
    RETURNING id, order_line_id, unit_id, holder_name
), audit AS (
    INSERT INTO core_auditentry (at, actor_id, organization_id, action, object_type,
                                 object_id, data)
    SELECT %(now)s::timestamptz, %(account)s::bigint, %(organization)s::bigint, a.action,
           a.object_type, a.object_id, a.data
      FROM o, LATERAL (VALUES
        ('hold.created', 'inventory.hold', %(hold_text)s::text, %(hold_data)s::jsonb),
        ('order.placed', 'orders.order', o.id::text,
         jsonb_build_object('total', %(total_text)s::text, 'places', %(quantity)s::int)),
        ('order.paid', 'orders.order', o.id::text,
         jsonb_build_object('account', %(reference)s::text, 'amount', %(total_text)s::text)),
        ('hold.sold', 'inventory.hold', %(hold_text)s::text,
         jsonb_build_object('units', (SELECT jsonb_agg(unit_id ORDER BY unit_id) FROM lines))),
        ('tickets.issued', 'orders.order', o.id::text,
         jsonb_build_object('tickets', (SELECT jsonb_agg(id ORDER BY id) FROM tickets))),
        ('order.fulfilled', 'orders.order', o.id::text, '{}'::jsonb)
      ) AS a(action, object_type, object_id, data)
)
SELECT o.id, (SELECT count(*) FROM sold), t.id, t.order_line_id, t.unit_id, t.holder_name
  FROM o JOIN tickets t ON true
 ORDER BY t.order_line_id
"""


@dataclass(frozen=True)
class Sold:
    order_id: int
    line_ids: dict[int, int]  # unit id → line id
    tickets: list[tuple[int, int, int, str]]  # (ticket id, line id, unit id, holder)


def record_sold_order(
    *,
    taken: Taken,
    number: str,
    session_id: int,
    account_id: int,
    channel_id: int,
    email: str,
    phone: str,
    attendees: list[str],
    holder_fallback: str,
    reference: str,
    now: datetime,
    audit_hold: dict,
) -> Sold:
    """Insert the fulfilled order of ``taken`` for a channel's account, its lines, sell its
    places to them, charge the ledger on account (``reference``), issue one ticket per line
    (holder: the attendee, else ``holder_fallback``) and the audit rows — one statement in
    the caller's transaction. Declines on a taken order number or a place that is not the
    hold's any more."""
    locks.require_transaction()
    places = taken.places
    total = taken.total()
    params = {
        "number": number,
        "account": account_id,
        "session": session_id,
        "hold": taken.hold_id,
        "hold_text": str(taken.hold_id),
        "hold_data": json.dumps(audit_hold),
        "channel": channel_id,
        "total": total,
        "total_text": str(total),
        "quantity": len(places),
        "currency": taken.currency,
        "email": email,
        "phone": phone,
        "now": now,
        "expires": taken.expires_at,
        "unit_ids": [p.unit_id for p in places],
        "zone_ids": [p.zone_id for p in places],
        "section_codes": [p.section_code for p in places],
        "section_names": [p.section_name for p in places],
        "row_labels": [p.row_label for p in places],
        "seat_labels": [p.seat_label for p in places],
        "zone_names": [p.zone_name for p in places],
        "prices": [round_money(p.price, taken.currency) for p in places],
        "attendees": attendees,
        "holder": holder_fallback,
        "reference": reference[:80],
        "organization": taken.organization_id,
    }
    with _declining_on_conflict(), _cursor_for_prepared() as cursor:
        cursor.execute(_RECORD_SOLD, params)
        rows = cursor.fetchall()
    if len(rows) != len(places) or rows[0][1] != len(places):
        raise Declined
    return Sold(
        order_id=rows[0][0],
        line_ids={unit: line for _o, _s, _t, line, unit, _h in rows},
        tickets=[(t, line, unit, holder) for _o, _s, t, line, unit, holder in rows],
    )
