"""Real-name tickets (实名制): the attendees a fan keeps in the account, and the identity
bound to each ticket of a session that requires one.

A document number is sealed at rest (``core.vault``: AES-256-GCM under the master key, the
key id inside the sealed value, re-sealed by ``manage.py rotate_master_key``), found again
through a keyed blind index (HMAC-SHA256 under a key of its own, itself sealed in the
database, so rotating the master key leaves every index unchanged) and shown only masked.
The plain number exists only in memory while a request checks or binds it; it is never
logged, never written to the audit log and never sent back.

Binding (``services.bind_identities``) runs inside the transaction that places an order
(``orders.place_order``, so also the one-call checkout's transaction). When the event
limits tickets per identity across its sessions (``limits.PurchaseLimits.identity_per_event``,
0 = off): per identity, in ascending blind-index order, an advisory lock on (event, blind
index) on PostgreSQL (SQLite: one writer at a time), then a count of that identity's live
tickets in every session of the event against the limit (refusal ``limit_identity``). Then,
per identity in ascending blind-index order, a lock on (session, blind index) and a count of
its live tickets in the session (awaiting payment with the places still held, or paid)
against the session's ``max_tickets_per_identity``. A late payment's sale
(``late_sale_within_limits``) checks both the same way. Lock order of the purchase with it:

    account → places → identities per event (ascending blind index)
      → identities per session (ascending blind index)

No other flow takes an identity lock, so the order cannot cycle.
"""
