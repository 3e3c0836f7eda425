"""``Idempotency-Key`` for POSTs: a client that retries after a lost answer gets the first
answer again instead of a second hold, order or payment.

Same user, scope and key with the same request → the stored response, nothing runs again.
The same key with a different request → ``IdempotencyKeyReused`` (422). Only successful
answers are stored: a refused request changed nothing, so running it again is harmless.

The look-up, the operation and the record share one transaction, serialised per key (a
PostgreSQL advisory lock; SQLite has one writer at a time), so a second request with the same
key waits for the first and then answers with its stored response; it never runs the
operation a second time. The unique constraint on the record is the backstop.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from tessera.core import locks
from tessera.core.errors import DomainError, InvalidInput
from tessera.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 120


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    default_message = _("This idempotency key was already used for a different request.")


class IdempotencyKeyInvalid(InvalidInput):
    code = "idempotency_key_invalid"
    default_message = _("The idempotency key must be 1 to 120 visible characters.")


def request_hash(*, method: str, path: str, payload: Any) -> str:
    """SHA-256 of the request as parsed: key order and spacing of the body do not count."""
    canonical = json.dumps(
        [method.upper(), path, payload],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key(request) -> str | None:
    """The request's key, None without one. Raises IdempotencyKeyInvalid."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise IdempotencyKeyInvalid()
    return key


def _replay(record: IdempotencyRecord, digest: str) -> tuple[int, Any]:
    if record.request_hash != digest:
        raise IdempotencyKeyReused()
    return record.status_code, record.response


def run_idempotent(
    request,
    *,
    scope: str,
    user_id: int,
    payload: Any,
    now: datetime,
    run: Callable[[], tuple[int, Any]],
) -> tuple[int, Any]:
    """Run ``run`` (returning ``(status, json-ready body)``) at most once per key.

    Without an ``Idempotency-Key`` header ``run`` simply runs. ``scope`` names the
    operation (at most 60 characters); ``payload`` is the parsed body.
    """
    key = idempotency_key(request)
    if key is None:
        return run()
    digest = request_hash(method=request.method, path=request.path, payload=payload)
    lookup = {"user_id": user_id, "scope": scope, "key": key}
    try:
        with transaction.atomic():
            locks.lock_name(f"{user_id}:{scope}:{key}")
            record = IdempotencyRecord.objects.filter(**lookup).first()
            if record is not None:
                return _replay(record, digest)
            status, body = run()
            if 200 <= status < 300:
                IdempotencyRecord.objects.create(
                    **lookup,
                    request_hash=digest,
                    status_code=status,
                    response=body,
                    created_at=now,
                )
    except IntegrityError:
        record = IdempotencyRecord.objects.filter(**lookup).first()
        if record is None:
            raise
        return _replay(record, digest)
    return status, body
