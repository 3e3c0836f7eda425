"""Official resale, capped (issue 17 item 3): a fan who cannot go lists a paid ticket at no
more than its face value plus the organizer's cap; a buyer buys it through the normal
checkout, and the payment's transaction hands the place over (the seller's ticket revoked,
the buyer's issued, the seller paid out as a refund of the original payment less the resale
fee). The lock order and the ledger rules are in ``services.py``."""
