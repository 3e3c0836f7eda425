"""Passes across sessions and venues (season tickets, tournament and tour passes).

An organizer defines a ``PassProduct``: the covered sessions (any events, any venues), a
price zone per covered session (a seat, or a standing place in a standing zone), a price,
an on-sale window, a per-account limit and a release policy.

Transactions and locks (one ``transaction.atomic`` per service)
---------------------------------------------------------------
B  buy (``services.buy_pass``): lock (product, account) → count the account's passes →
   per covered session in ascending session id: a hold of one place
   (``inventory.hold_for_pass``: the sale's conditional UPDATE; "any 1 of the zone" with
   ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) → the order with a line per covered session
   (``orders.place_pass_order``) → the pass and its entries → the payment (sandbox or any
   provider) → commit. One session without a free place raises ``PassSoldOut`` and the whole
   transaction rolls back: nothing is held, no order.
P  payment (``payments.complete_payment``): ``orders.mark_order_paid`` finds no hold on the
   order and asks ``settings.ORDER_PLACE_SELLERS`` → ``sell_pass_places`` sells each
   entry's hold (``inventory.sell_hold``, all or nothing), tickets are issued (one per
   covered session, each in its own session), then ``settings.ORDER_PAID_HOOKS`` →
   ``activate_paid_pass`` links the tickets and activates the pass.
R  release a match (``services.release_match``): order → entry → attendance
   (``checkin.lock_attendance``) → ticket (revoked: the pass credential's entry for that
   session is refused at the gate) → the place back on sale
   (``inventory.return_sold_places``) → the credit in the pass ledger (``PassCredit``).

A pass's tickets are neither refunded, exchanged nor transferred one by one
(``guards``: ``settings.TICKET_RETURN_GUARDS``, ``settings.TRANSFER_GUARDS``), and a
session that live passes cover is not cancelled (``settings.SESSION_CANCEL_GUARDS``).

Credentials: ``tessera.tickets.pass_credentials`` (``TP1:``), signed with the product's
``PassKey``; the gates learn the keys through ``settings.CHECKIN_TRUSTED_ISSUERS``.
"""
