"""三单一致: orders, money and tickets agree (issue 18, item 7).

The payment providers' daily statement files (Alipay's 业务明细 trade bill and WeChat Pay's
交易账单, CSV) are imported as ``ProviderStatement`` + ``ProviderStatementRow``
(``parsers.py``; ``services.import_statement``: the same file twice changes nothing, another
file for the same day replaces it, audited). ``services.reconcile_day`` compares, for one
provider and one Asia/Shanghai day, three flows:

- money: the provider's charges and refunds against our payments, the ledger's charges and
  our refunds (matched by the merchant order number = ``Payment.id.hex`` and the merchant
  refund number = ``Refund.id.hex``; a row found in the statement of the day before or after
  is a timing difference, not a mismatch);
- orders: each order touched that day is paid, refunded or unpaid as its money says;
- tickets: a paid order's active lines have live tickets, refunded lines and unpaid orders
  have none, and no refunded ticket was admitted at a gate.

Every difference is a ``Mismatch`` (kind, references, amounts) with the actions that resolve
it (issue the tickets, revoke them, refund a duplicate charge, book a refund the provider
made, or mark it explained with a note), each calling the owning app's service and audited.
A day with a statement and no open mismatch is reconciled; running a day again is safe
(mismatches are keyed, those no longer found are cleared, explained ones stay explained).

``generators.py`` writes statement files in both formats from our records or from the
sandbox gateway's trades, so the demo and the tests can reconcile a day.
"""
