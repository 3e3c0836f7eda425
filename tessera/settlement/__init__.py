"""Commission and settlement statements (issue 18 item 6).

A statement is one partner organization's figures for one settlement period (weekly, Monday to
Sunday, or monthly, per ``partners.Contract.settlement_cycle``; dates in Asia/Shanghai, so a
period is ``[start 00:00 +08:00, end + 1 day 00:00 +08:00)``), with one line per session and
totals. Every money figure is summed from ``orders.LedgerEntry`` rows whose ``at`` falls in the
period and whose currency is the contract's (never from order totals):

- gross = Σ charge entries; refunds = −Σ refund entries (shown positive: the full price of
  the tickets given back, and money-only refunds of extra payments); fees = Σ fee entries
  (the refund fees kept: the buyer got price − fee back, so that money stays).
- tickets sold = the lines of the orders whose sale charge (the charge booked when the order
  was paid: ``at == order.paid_at``) is in the period; tickets refunded = the lines named by
  the ``order.lines_refunded`` audit entry of each refund entry (same order, same
  reference). Money-only refunds carry no tickets and no commission.

Commission (a distributor = the organization of an order's ``SalesChannel``, with a contract):
per ticket sold through its channels, the rule of the ticket's event if the contract has rules
for that event, else its general rules; among them the tier with the highest ``min_tickets``
reached by the distributor's *net* tickets of the distributor's own period containing the sale
(tickets sold in that period and not refunded before its end, so refunding does not buy a
tier). Percent: ``round(price × value / 100)``; per ticket: ``value``; rounded half up to the
cent per ticket, so a refund reverses exactly what its ticket earned: the reversal uses the rate
of the sale's period and is booked in the period of the refund.

Net payable, per line and in total (the total is the sum of the lines' rounded figures):

- organizer (sessions of its events, every channel): gross − refunds + fees − platform fee −
  commission, where platform fee = round((gross − refunds) × ``platform_fee_percent`` / 100)
  per line (negative when a period's refunds exceed its sales: the fee is given back) and
  commission = what distributors earned on its events. Positive: the platform pays the
  organizer.
- distributor (orders of its channels): gross − refunds + fees − commission: what it
  collected from its buyers (it refunded them price − fee) less what it earned. Positive: the
  distributor pays the platform; negative: the platform pays the distributor.
- venue operator (sessions at its venues): the same gross/refunds/fees for information; net
  payable 0, since no contract term gives a venue a share of sales.

``figures.tie_to_ledger`` re-sums the ledger with one aggregate query and proves a statement's
gross, refunds and fees equal it to the cent (and that its lines add up to its totals).

Statements go draft → approved (a finance member or owner of the organization, or a platform
operator) → paid (with a payment reference and date). Generating is idempotent (one row per
organization, cycle and period start); regenerating a draft replaces its figures; an approved
or paid statement is frozen. ``tasks.generate_due_statements`` (periodic) drafts the last
ended period of every partner with a contract. Every change is audited.
"""
