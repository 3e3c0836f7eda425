"""The sale: from the places a buyer chooses to the tickets in their hands.

This app is the one home of the purchase. The apps below it each own their rows
(``inventory``: places and holds; ``orders``: orders, lines, the ledger; ``payments``:
payments and callbacks; ``tickets``: tickets) and their single-table rules; this app owns the
flow across them: which places a request means (``choices``), the buyer's one-call checkout,
the confirmation of a payment, the status read, the sales channels' one-call order, and the
transactions, locks and invariants below. Pages (storefront) and the API call these services
alike.

Transactions (PostgreSQL, READ COMMITTED; SQLite runs every write transaction
``BEGIN IMMEDIATE``, one writer at a time)
------------------------------------------------------------------------------------------

T1  checkout (``services.checkout``), one transaction:
      lock the account → count its places → take the places (one conditional UPDATE; "any N"
      picks with ``FOR UPDATE SKIP LOCKED``) → insert hold, order with its lines (prices
      copied), payment (with the provider's cashier URL when the provider prepares it
      locally) and audit rows → commit.
    A provider that must be asked over the network is asked after the commit, with no
    transaction open, and its answer stored in a second, one-row transaction.
T2  confirmation of a successful payment (``services.confirm_payment``, from the provider's
    callback or from reconciliation), one transaction:
      payment created→succeeded → order pending→fulfilled → hold ordered→sold → the hold's
      places held→sold (each to its line) → insert the ledger charge, the tickets, the
      callback log and audit rows → commit.
    A payment that arrives after the hold expired takes the account lock first (the sale
    may not take the account past its limit), then the same order of locks. When a place was
    lost meanwhile, or the order was closed, the whole sale rolls back; the charge is booked
    on the closed order and refunded after commit (``payments.services``).
T3  the status read: no transaction (a signed order token, answered from what this process
    heard of the order, or one read).
T4  release, cancel, expiry: order → hold → places.
T5  a sales channel's order (``services.channel_order``): take the places (of the channel's
    allocation or the open pool) → insert hold, order, lines, ledger charge on the channel's
    account, tickets, audit → commit, in one transaction, before the answer.

Lock order
----------
Every flow that takes more than one lock takes them in this order (helpers in
``tessera.core.locks``), so no two flows wait on each other in a cycle:

    purchase limits (advisory, per event and key: device → phone → address → account across
      the event; sessions with ``tessera.limits`` on)
      →  account (advisory, per session and user)  →  payment  →  order  →  hold
      →  places (ascending id; "any N" picks skip places others have locked)
      →  identities (real-name sessions: advisory, per session and blind index, ascending)
      →  payer (payer-limited sessions, in the payment's confirmation: ``tessera.limits``)

Invariants (each guarded by the database, not only by this code)
----------------------------------------------------------------
- A place is taken only by a conditional UPDATE whose row count is checked: all of a
  request's places or none. Unique (session, seat) is the backstop against duplicate places.
- A place is sold to at most one order line; a sold place always has its line, its line a
  paid order with one ledger charge per provider payment (unique constraint), and one
  ticket (unique per line).
- An account's live held and sold places in a session never exceed the session's limit:
  counted under the account lock.
- In a real-name session an identity's live tickets never exceed the session's
  ``max_tickets_per_identity``: counted under the identity's lock when the order is placed
  (``identities.services.bind_identities``); the fast path declines such sessions.
- No provider is called while a transaction is open.
- Expiry is lazy: an expired hold's places are free to anyone; no sweeper is needed for
  correctness (housekeeping tidies rows).

PostgreSQL runs T1, T2 and T5 as a few statements each (``fastpath``); any case they do not
cover (SQLite, a late payment, a lost race, a refusal) runs the same steps through the apps'
services, which also produce the precise error for the buyer.
"""
