"""The buyer's status read: has my payment gone through, are my tickets issued?

The checkout answers a signed *order token*: ``<order id>.<order number>.<user id>.<issued at
(unix seconds)>.<mac>``. Presenting it is enough to read the order's status (no session, no
cookie): the MAC (HMAC-SHA256 under SECRET_KEY, ``salted_hmac``) proves the server issued it
for that order. The read is answered without the database whenever this process knows the
answer (``orders.changes``): a change it heard, or, for an order placed after its listener
started, the fact that nothing has changed yet. A read may wait (``wait`` seconds, at most
``MAX_WAIT_SECONDS``) for the next change, so one request returns the outcome of a payment
as soon as the provider's callback has been applied.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import threading
import time
from dataclasses import dataclass

from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from tessera.core.errors import InvalidInput
from tessera.orders import changes
from tessera.orders.models import Order, OrderStatus

SALT = "tessera.sale.order-token"
MAX_WAIT_SECONDS = 25
# A token issued this long after the listener started is covered by what it heard (allows
# for clocks of several web machines that differ by up to this much).
CLOCK_MARGIN_SECONDS = 2.0
FINAL = frozenset(
    {
        OrderStatus.FULFILLED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
        OrderStatus.REFUNDED,
        OrderStatus.PARTIALLY_REFUNDED,
    }
)
# A failed payment attempt ends a wait too: the buyer may pay again.
PAYMENT_FAILED = "payment_failed"
STOP = FINAL | {PAYMENT_FAILED}
# Waiting readers per process: all but two of its server threads (``TESSERA_WEB_THREADS``,
# set by ``manage.py serve``), so threads stay free for the callbacks the readers wait for;
# beyond that a reader is answered at once and told to ask again shortly (``retry_after``).
MAX_WAITERS = max(1, int(os.environ.get("TESSERA_WEB_THREADS") or 8) - 2)
RETRY_AFTER_SECONDS = 1
_waiters = threading.BoundedSemaphore(MAX_WAITERS)

STATUS_LABELS = {
    OrderStatus.PENDING_PAYMENT: _("Waiting for payment"),
    OrderStatus.PAID: _("Paid; issuing tickets"),
    OrderStatus.FULFILLED: _("Paid; your tickets are ready"),
    OrderStatus.EXPIRED: _("Expired: not paid in time"),
    OrderStatus.CANCELLED: _("Cancelled"),
    OrderStatus.PARTIALLY_REFUNDED: _("Partly refunded"),
    OrderStatus.REFUNDED: _("Refunded"),
    PAYMENT_FAILED: _("The payment did not go through; you can pay again"),
}


class TokenInvalid(InvalidInput):
    code = "order_token_invalid"
    status = 404
    default_message = _("This order status link is not valid.")


@dataclass(frozen=True)
class OrderToken:
    order_id: int
    number: str
    user_id: int
    issued_at: int


def _mac(body: str) -> str:
    digest = salted_hmac(SALT, body, algorithm="sha256").digest()[:18]
    return base64.urlsafe_b64encode(digest).decode()


def make_token(*, order_id: int, number: str, user_id: int, issued_at: float) -> str:
    body = f"{order_id}.{number}.{user_id}.{int(issued_at)}"
    return f"{body}.{_mac(body)}"


def read_token(token: str) -> OrderToken:
    """The token's fields; raises TokenInvalid for anything not issued by this server."""
    if not isinstance(token, str) or len(token) > 200:
        raise TokenInvalid()
    body, _dot, mac = token.rpartition(".")
    parts = body.split(".")
    if (
        len(parts) != 4
        or not parts[0].isdigit()
        or not parts[2].isdigit()
        or not parts[3].isdigit()
        or not constant_time_compare(_mac(body), mac)
    ):
        raise TokenInvalid()
    return OrderToken(int(parts[0]), parts[1], int(parts[2]), int(parts[3]))


@dataclass(frozen=True)
class StatusAnswer:
    number: str
    status: str
    is_final: bool
    from_database: bool
    # a wait was asked for and not given (every waiting place taken): ask again after this
    retry_after: int | None = None

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "status": self.status,
            "status_label": str(STATUS_LABELS.get(self.status, self.status)),
            "is_final": self.is_final,
        }


def _answer(token: OrderToken, status: str, *, from_database: bool) -> StatusAnswer:
    return StatusAnswer(token.number, status, status in FINAL, from_database)


def _read(token: OrderToken) -> str:
    status = (
        Order.objects.filter(pk=token.order_id, user_id=token.user_id)
        .values_list("status", flat=True)
        .first()
    )
    if status is None:
        raise TokenInvalid()
    return status


def _known(token: OrderToken) -> str | None:
    """What this process knows of the order without reading it, None if nothing."""
    heard = changes.board.heard(token.order_id)
    if heard is not None:
        return heard
    since = changes.board.listening_since
    if since is not None and token.issued_at >= since + CLOCK_MARGIN_SECONDS:
        return OrderStatus.PENDING_PAYMENT  # placed after we started listening: unchanged
    return None


def order_status(*, token: str, wait: float = 0) -> StatusAnswer:
    """The order's status for the holder of its token, waiting up to ``wait`` seconds for a
    final one. Raises TokenInvalid."""
    parsed = read_token(token)
    wait = max(0.0, min(float(wait), MAX_WAIT_SECONDS))
    listening = changes.ensure_listening()
    known = _known(parsed)
    if known is None:
        known = _read(parsed)
        from_database = True
    else:
        from_database = False
    if known in STOP or wait <= 0:
        return _answer(parsed, known, from_database=from_database)
    if not _waiters.acquire(blocking=False):
        answer = _answer(parsed, known, from_database=from_database)
        return dataclasses.replace(answer, retry_after=RETRY_AFTER_SECONDS)
    try:
        deadline = time.monotonic() + wait
        while known not in STOP and (left := deadline - time.monotonic()) > 0:
            # Without a listener only this process's own changes arrive: look again often.
            heard = changes.board.wait(
                parsed.order_id, unless=known, timeout=left if listening else min(left, 0.25)
            )
            if heard is not None:
                known = heard
            elif not listening or changes.board.listening_since is None:
                known, from_database = _read(parsed), True
        return _answer(parsed, known, from_database=from_database)
    finally:
        _waiters.release()
