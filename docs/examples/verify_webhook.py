"""Verify a Tessera webhook delivery (docs/webhooks.md). Standard library only.

from verify_webhook import WebhookInvalid, verify_webhook

try:
    event = verify_webhook(body=request_body_bytes, headers=request_headers,
                           secret="whsec_...", seen=already_processed_ids)
except WebhookDuplicate:
    return 200          # a retry of something already handled
except WebhookInvalid:
    return 400          # not from Tessera, altered or too old: ignore it
handle(event)           # then remember event["webhook_id"] in already_processed_ids
return 200
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Container, Mapping

TOLERANCE_SECONDS = 300  # the replay window: 5 minutes either way


class WebhookInvalid(Exception):
    """The delivery is not to be trusted; the message says why."""


class WebhookDuplicate(WebhookInvalid):
    """This Tessera-Webhook-Id was processed before (a retry or a redelivery)."""


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def verify_webhook(
    *,
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
    seen: Container[str] | None = None,
) -> dict:
    """The event of a genuine delivery, with ``webhook_id`` added; raises WebhookInvalid.

    ``body`` must be the raw bytes received (not re-encoded JSON)."""
    signature = _header(headers, "Tessera-Signature")
    timestamp_header = _header(headers, "Tessera-Timestamp")
    webhook_id = _header(headers, "Tessera-Webhook-Id")
    timestamp = None
    candidates = []
    for part in signature.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            candidates.append(value)
    if not timestamp or not timestamp.isdigit() or not candidates or not webhook_id:
        raise WebhookInvalid("missing or malformed signature headers")
    if timestamp_header and timestamp_header != timestamp:
        raise WebhookInvalid("timestamp headers differ")
    t = int(timestamp)
    current = time.time() if now is None else now
    if abs(current - t) > tolerance:
        raise WebhookInvalid("timestamp outside the replay window")
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise WebhookInvalid("signature does not match")
    if seen is not None and webhook_id in seen:
        raise WebhookDuplicate(webhook_id)
    event = json.loads(body)
    event["webhook_id"] = webhook_id
    return event
