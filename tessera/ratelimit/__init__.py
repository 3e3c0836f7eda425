"""Rate limits (token buckets per address, account and device) and verified contacts.

``buckets.py``: the bucket rule (GCRA, the token bucket written as one number per bucket,
its "theoretical arrival time") and its three backends: Redis (one Lua script, one round
trip for all the buckets of a request), the database (one ``INSERT … ON CONFLICT DO UPDATE
… RETURNING`` over all of them) and process memory. ``limits.py``: which requests are which
action (``ACTION_PATHS``), the check callable with a WSGI environ (``refusal``: the sale's
fast lane and the queue status layer call it ahead of Django's middleware) and the
middleware that applies it to every other request; a refused request answers 429 with
``Retry-After`` (JSON for the API, a page otherwise).

Each bucket of a request is taken on its own: a request passes when every bucket it counts
against had a token, and takes one from each that had one. A refused request therefore
still spends its tokens in the buckets that were not empty (a client that hammers an empty
bucket keeps its other buckets low as well).

``verification.py`` (verified phone or email before a first purchase, for sessions that
require it): one-time codes (six digits, hashed, expiring, a few attempts, resends rate
limited) sent through the notification providers; a verified contact is a
``VerifiedContact`` row; the hold guard ``verification.require_verified_contact``
(``settings.HOLD_GUARDS``) refuses an unverified fan in a session with a
``VerificationRequirement``.
"""
