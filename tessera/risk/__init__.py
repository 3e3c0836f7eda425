"""Risk control (issue 16 items 4 and 5): bot defence on joins and holds, and the review of
anomalous orders.

Bot defence (``gate.py``): every join (waiting room) and hold (holds, the seat map's hold,
checkout) passes ``gate.check`` — from ``middleware.RiskMiddleware`` in Django, and from the
sale's fast lane through ``settings.REQUEST_GUARDS`` (``gate.fast_lane_guard``). It counts the
request rate per session/room (``state.py``: process memory, or Redis when configured) and
reads a per-process view of which sessions and rooms are under attack (refreshed at most once
a second; nothing else), so a request that is not under attack and scores low costs no SQL.
Under attack, or when the request's risk score (``scoring.py``: timing regularity, browser
features, devices shared by accounts, new accounts) is high, a proof of work is required
(``pow.py``: HMAC-signed challenges bound to purpose, device and account, two minutes,
single use). Decisions worth explaining are recorded as ``RiskDecision`` rows.

Review (``anomalies.py``, ``services.py``): a periodic task runs the rules over orders and
flags them into ``ReviewCase`` rows; staff release, cancel and refund (through
``aftersales.services.cancel_order``) or block the account (``AccountBlock`` + inactive
account). Every action is one transaction with an audit entry.
"""
