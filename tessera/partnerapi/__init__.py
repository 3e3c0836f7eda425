"""The distributor API (issue 18, item 4): what a distributor's system calls with its channel
API key (``Authorization: Bearer tsk_…``), mounted at ``/api/v1/partner/``.

- catalog (scope ``catalog:read``): the events and sessions the channel may sell — on sale,
  and with places allocated to the channel or, when the channel sells the open pool, places
  of the open pool. Any other session answers 404, so its id says nothing.
- availability and quotes (scope ``availability``): free places per price zone in the
  channel's allocation and in the open pool; the price of places, with no hold and no write.
- orders (scope ``orders``): the one-call paid order of ``sale.channels.channel_order`` (the
  same request, answer and idempotency as ``POST /api/v1/channel/orders``), the channel's own
  orders and their tickets (JSON with credentials, PDF, QR SVG).
- cancel (scope ``refunds``): tickets of the channel's order refunded within the session's
  after-sales policy, through ``aftersales.services.request_refund`` on the channel's
  account. A channel order has no provider payment: its charge is booked in the ledger under
  ``channel:<code>``, and the refund (with the fee kept) on the same order, so the order's
  ledger sum is what the channel owes for it; no provider refund is opened.

Every read is scoped by the key's channel (``selectors``); another channel's order or ticket
answers 404. Every endpoint first checks its scope (``partners.scopes.require_scope``). This
app has no models: it reads and calls the apps below it.
"""
