"""The partner side of the platform (issue 18): venues, organizers and distributors that plug
in, sell from the one inventory and are paid by clear rules.

This app holds what the partner apps share:

- ``models.Contract`` (one per partner organization: platform fee, settlement cycle, credit
  limit or prepaid balance) and ``models.CommissionRule`` (percentage or fixed per ticket,
  tiers by volume, per-event overrides). Settlement reads them; onboarding writes them.
- ``signals.partner_event``: what happened that a partner may want to hear (order paid,
  refunded, exchanged, session changed, allocation returned). Senders call
  ``signals.emit(...)`` inside their own transaction; receivers (the webhooks) write their
  rows in that same transaction, so an event is recorded exactly when its cause commits.
- ``console``: the partner console's scoping (``partner_organizations``,
  ``console_required``) and its base template ``partners/console/base.html``; each partner
  app adds its pages under ``/partners/`` and a link in ``settings.PARTNER_CONSOLE_LINKS``.
- API key scopes (``SCOPES``) checked by ``require_scope`` on a channel principal.

Onboarding lives here too: ``PartnerApplication`` (the unified social credit code checked
by ``licence.py``, the bank account sealed under the master key), the platform operators'
review (``services.approve_application`` creates the organization, its owner, contract,
commission rules and a distributor's sales channel in one transaction), ``Invitation``
(single-use signed tokens, kept as digests) and the members page, and the console's
overview (sales per day drawn as SVG by ``charts.py``). ``services.py`` states the locks.
"""
