"""Purchase limits per person, not only per account.

A session (or a whole event) can limit the tickets bought from one phone number (the
account's), one device (``core.device.device_key``), one network address range (IPv4 /24,
IPv6 /48), one payment account (the payer id the provider reports in its callback) and, across
an event, one account. Per account per session (``Session.max_tickets_per_account``,
``inventory``) and per identity per session (``identities``) stay where they are.

Per identity across an event (``identity_per_event``, real-name sessions): configured here,
enforced by ``identities.bind_identities`` in the order's transaction (not at the hold), so it
is not part of ``is_limiting``: real-name sessions are off the fast path already, and the
event's other sessions need not leave it for a limit they never check.

Configuration: ``PurchaseLimits``, one row per event (``session`` empty) and optionally one per
session that overrides the event's per-session limits; 0 is off. Per-event limits count every
session of the event and are read from the event's row.

Counting: what a buyer "already" has is the places of live holds and sold places of the
session (or event) whose hold carries a ``PurchaseMark`` of the same kind and key. Marks are
written in the hold's transaction and hold an HMAC of the key, never the phone or address.

Locks (advisory on PostgreSQL, ``core.locks.lock_name`` on ``limits:<event>:<kind>:<hash>``;
SQLite's ``BEGIN IMMEDIATE`` serialises writers). A hold in a limited session takes, in this
order, before the inventory's own locks::

    device → phone → address → account (per event) → account (per session, inventory)
      → places → identities per event → identities per session (real-name sessions, at
        the order; each in ascending blind-index order)

The payer is known only at the payment's confirmation; ``check_payer`` takes the payer's
lock inside the confirmation's transaction, after the payment, order and hold rows. A
payment over the payer limit is booked and refunded like a payment for lost places.

The sale's fast path declines (``fastpath.ServicesOnly``) every session with a limit on
(``PurchaseLimits.is_limiting``), so sessions without limits keep their statements.
"""
