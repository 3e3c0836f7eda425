"""Group and corporate sales (团体购票) and boxes (包厢) sold whole.

Group requests. A signed-in contact asks for ``quantity`` places of a price zone of a
session on sale, with a budget and the company's invoice details (``validators``: the
18-character unified social credit code or a 15/20-character tax id). The organizer (a
writing member of the event's organization) answers with a quote: a group unit price, a
payment deadline and a names cut-off; quoting holds the places at once
(``inventory.hold_for_group``: open-pool places of the zone, in the contact's name, until the
payment deadline; it cannot be extended and is not bounded by the per-order or per-account
limits). The contact accepts: an order at the quoted price (``orders.place_order`` with
``prices``) paid through the normal payment step (``storefront:checkout_payment`` and the
provider's cashier); paying issues the tickets in the buyer's name. A request's state is
``status`` plus its order's: ``effective_status`` reads a paid order as paid at once, and
``tasks.settle_group_sales`` (periodic) records it, and past the deadline cancels the unpaid
order (its hold released: the places go back, the waiting list first) and marks the quote
expired. The contact names each ticket before the names cut-off (``name_group_tickets``:
the credential is reissued with the holder's name, which its holder digest signs); after the
cut-off names are locked. Real-name sessions take no group requests (their identities are
bound when the order is placed).

Boxes. A ``Box`` is a set of seats of one section of a venue layout; a ``BoxOffer`` puts it
on sale for one session at its own price. The mechanism that keeps a box whole is its
inventory status, not a check on every hold: putting an offer on sale sets the box's places
aside (``inventory.reserve_units``: blocked with the reason ``box:<id>``, all or none), so
no hold path of the fans (chosen seats, best available, any N in a zone, the one-statement
checkout, channels) can take any of them: they all take only available places or places
of expired holds. Buying the box (``buy_box``) holds every place set aside under its reason
in one conditional UPDATE (``inventory.hold_reserved_units``: all or none; two buyers
racing, one wins) with a unit expiry far in the future, so a lapsed box hold never frees its
places one by one; the order has one line per seat and the box price split over them (the
rounding cents on the first). Places that come back (a refund, a release, an organizer's
unblock) are set aside again by ``keep_boxes_whole``, the first of
``settings.PLACES_RETURNED_HOOKS`` (before the waiting list can offer them), and lapsed box
holds by the periodic task. Taking an offer off sale puts its places back one by one.
Real-name sessions take no boxes either.

Lock order: a flow here takes the inventory's rows (through its services) and then the
order's (``orders.place_order``), as the checkout does; it never holds a group request's
row while calling a payment provider.
"""
