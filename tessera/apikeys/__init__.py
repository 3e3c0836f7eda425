"""Partners' API keys, their call log and the sandbox world (issue 18 item 2).

The keys themselves are ``tessera.sale.models.ChannelKey`` rows (the sale authenticates
them: ``sale.channels.authenticate``); this app is what a partner does with them from the
console, ``/partners/keys/``:

- create a key for one of the partner's sales channels: name, scopes
  (``partners.scopes.SCOPES``), expiry date, requests per minute. The key is shown once,
  on the next page, from a ``KeyReveal`` row sealed under the master key (``core.vault``)
  and deleted as it is shown (or after ``REVEAL_MINUTES``); only its SHA-256 digest stays.
- revoke a key (every process stops accepting it within ``channels.KEY_CACHE_SECONDS``);
- rotate a key without downtime: a new key with the same name, scopes, rate and world, and
  the old key set to expire after the overlap the partner chooses; both work meanwhile.

Per-key rate limits: ``calls.admit`` is ``settings.CHANNEL_KEY_GUARD``, called by
``channels.authenticate`` on every authenticated call (the Django routes and the sale's
fast lane alike): a token from the key's own bucket (``ratelimit.buckets``, the configured
backend, action ``partner_api``, scope ``key``), else 429 ``rate_limited`` with
``Retry-After``. A key's rate of 0 has no bucket and costs nothing.

The call log (``calls.py``): every authenticated partner API call is counted per key, hour,
endpoint (path template) and status class, and its errors (status, code, time, path) are
kept, the last ``ERRORS_PER_KEY`` per key. A call only adds to a counter in this process's
memory (the channel order's statement budget has no room for a write); a thread writes the
counts every ``APIKEYS_FLUSH_SECONDS`` with one upsert per (key, hour, endpoint, class).

The sandbox (``services.create_sandbox``, ``manage.py partner_sandbox``, the console's
button): per partner a ``SandboxWorld``: an organization with ``is_sandbox`` (its events are
never on the storefront, search or calendar: ``catalog.selectors.public_sessions``), a
venue layout, an event with two sessions, price zones and places all allocated to the
partner's sandbox channel (so no fan's sale and no other channel reaches them). Sandbox
keys (``tsk_test_…``) sell only sandbox sessions; live keys never do
(``sale.channels.check_world``). Settlement leaves sandbox orders out through
``selectors.is_sandbox_order`` / ``selectors.live_orders``.
"""
