"""The waiting list (候补) of sold-out sessions.

A signed-in fan joins a session's list for ``quantity`` places of one price zone, or of any
zone up to a price (``services.join_waitlist``); one live entry per account and session; join
order is the entry's id. The fan sees their position (waiting entries ahead + 1) and may
leave.

Places that come back are offered in join order, never shown to the public first:
``inventory.services`` calls ``settings.PLACES_RETURNED_HOOKS`` inside the transaction that
freed them (a refund's ``return_sold_places``, ``release_hold`` of a cancelled or expired
order or offer, ``unblock_units``, an allocation back to the open pool,
``tidy_expired_holds``), and ``services.offer_returned_places`` is that hook: before the
transaction commits it holds free places for the earliest waiting fans whose request they
fit (the first eligible zone, by the zones' order, with enough free places), through
``inventory.services.hold_quantity`` (so the per-order and per-account limits apply under
the account lock, and the hold guard runs: ``guards.require_admission_or_offer`` lets the
offer's own hold through), records a ``WaitlistOffer`` and writes the ``waitlist_offer``
notification in the same transaction. A fan whose request does not fit is passed over for
this return and keeps their place; a fan the account limit refuses is passed over too.

An offer is a hold in the fan's name for ``settings.WAITLIST_OFFER_MINUTES`` (15): the offer
page leads into the normal checkout with that hold (``storefront:checkout``). The periodic
task ``settle_waitlist_offers`` closes offers: bought (the hold sold) → converted; run out
unclaimed → the hold is released (which calls the hook: the next fan gets the places) and
the entry expires; an order placed from the offer keeps it until the order is paid or
expires. The same task offers places freed without an event for sessions with waiting fans.
A hold that runs out (a buyer's, or an offer's) is not free to the public while fans wait:
joining turns on the session's ``inventory.ReturnQueue``, under which no hold statement (the
sale's one-statement checkout included) takes an expired hold's places; the housekeeping's
``tidy_expired_holds`` frees them and the hook offers them first, within a period of the
housekeeping. The task keeps exactly the sessions with waiting fans queued, so a session
nobody waits for any more lets the public take them at once again.

Lock order (after whatever the freeing flow holds: order → hold → the freed places):
``waitlist:<session>`` (``core.locks.lock_name``; serialises the session's list: join,
leave, offers, settling) → entry and offer rows → the fan's account lock (inside
``hold_quantity``) → free places (``SKIP LOCKED`` on PostgreSQL). The account lock of a fan
who is buying at that moment may be held by a transaction that waits for the freed places:
each offer is made in a savepoint, and a lock timeout or deadlock there passes that fan over
(the task offers again later) instead of failing the refund.
"""
