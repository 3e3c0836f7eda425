"""A distributor's client of the Tessera partner API, with the Python standard library only.

Run it against a server with a channel API key:

    python docs/examples/partner_client.py https://tickets.example.com tsk_…

It walks the whole flow once: catalog → availability → quote → order → tickets (and the
first ticket's PDF) → cancel. The test suite runs it against a live server
(tessera/partnerapi/tests/test_client_example.py), so it stays correct.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


class PartnerError(Exception):
    """An error answer: ``{"error": {"code", "message", "details"}}`` and its HTTP status."""

    def __init__(self, status: int, code: str, message: str, details: dict):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details


class PartnerClient:
    """One channel's calls. Every call retries after a 429 as long as ``Retry-After`` says
    (at most ``retries`` times); a write is retried with the same ``Idempotency-Key``, so a
    retry never orders or cancels twice."""

    def __init__(self, base_url: str, key: str, *, timeout: float = 30, retries: int = 3):
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError("base_url must be an http(s) address")
        self.base = base_url.rstrip("/") + "/api/v1/partner"
        self.key = key
        self.timeout = timeout
        self.retries = retries

    # -- transport ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, body=None, query=None, idempotency_key=None):
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.key}", "Accept-Language": "en"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        for attempt in range(self.retries + 1):
            # the scheme is checked in __init__: http(s) only
            request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                    content = answer.read()
                    kind = answer.headers.get("Content-Type", "")
                    return json.loads(content) if kind.startswith("application/json") else content
            except urllib.error.HTTPError as error:
                if error.code == 429 and attempt < self.retries:
                    time.sleep(float(error.headers.get("Retry-After") or 1))
                    continue
                try:
                    problem = json.loads(error.read())["error"]
                except (ValueError, KeyError, TypeError):
                    problem = {"code": "http_error", "message": str(error), "details": {}}
                raise PartnerError(
                    error.code, problem["code"], problem["message"], problem["details"]
                ) from None
        raise AssertionError("unreachable")

    # -- catalog (scope catalog:read) --------------------------------------------------------

    def catalog(self, page: int = 1, page_size: int = 20) -> dict:
        return self._call("GET", "/catalog", query={"page": page, "page_size": page_size})

    def session(self, session_id: int) -> dict:
        return self._call("GET", f"/sessions/{session_id}")

    # -- availability and quotes (scope availability) -----------------------------------------

    def availability(self, session_id: int) -> dict:
        return self._call("GET", f"/sessions/{session_id}/availability")

    def quote(self, session_id: int, *, zone: int, quantity: int) -> dict:
        body = {"zone": zone, "quantity": quantity}
        return self._call("POST", f"/sessions/{session_id}/quote", body=body)

    # -- orders and tickets (scope orders) ----------------------------------------------------

    def order(
        self, session_id: int, *, zone: int, quantity: int, buyer: dict, idempotency_key: str
    ) -> dict:
        body = {"session": session_id, "zone": zone, "quantity": quantity, "buyer": buyer}
        return self._call("POST", "/orders", body=body, idempotency_key=idempotency_key)

    def get_order(self, number: str) -> dict:
        return self._call("GET", f"/orders/{urllib.parse.quote(number)}")

    def tickets(self, number: str) -> list:
        return self._call("GET", f"/orders/{urllib.parse.quote(number)}/tickets")

    def ticket_pdf(self, ticket_id: int) -> bytes:
        return self._call("GET", f"/tickets/{ticket_id}.pdf")

    # -- cancel (scope refunds) ---------------------------------------------------------------

    def cancel(self, number: str, *, ticket_ids=None, reason: str = "", idempotency_key: str):
        body = {"reason": reason}
        if ticket_ids:
            body["ticket_ids"] = ticket_ids
        path = f"/orders/{urllib.parse.quote(number)}/cancel"
        return self._call("POST", path, body=body, idempotency_key=idempotency_key)


def run_flow(base_url: str, key: str, *, quantity: int = 2) -> dict:
    """Catalog → availability → quote → order → tickets → cancel, on the first session with
    enough places; returns what happened."""
    client = PartnerClient(base_url, key)
    found = None
    for event in client.catalog()["items"]:
        for session in event["sessions"]:
            for zone in client.availability(session["id"])["zones"]:
                if zone["available"] >= quantity:
                    found = (event, session, zone)
                    break
            if found:
                break
        if found:
            break
    if found is None:
        raise SystemExit("nothing to sell")
    event, session, zone = found
    quote = client.quote(session["id"], zone=zone["zone_id"], quantity=quantity)
    if not quote["available"]:
        raise SystemExit(f"not available: {quote['reason']}")
    order_key = f"order-{uuid.uuid4()}"  # keep it with your order, reuse it on retries
    buyer = {"name": "Wang Fang", "email": "wang.fang@example.com", "phone": "13800000000"}
    placed = client.order(
        session["id"],
        zone=zone["zone_id"],
        quantity=quantity,
        buyer=buyer,
        idempotency_key=order_key,
    )
    again = client.order(
        session["id"],
        zone=zone["zone_id"],
        quantity=quantity,
        buyer=buyer,
        idempotency_key=order_key,
    )
    number = placed["order"]["number"]
    tickets = client.tickets(number)
    pdf = client.ticket_pdf(tickets[0]["id"])
    cancel_key = f"cancel-{uuid.uuid4()}"
    try:
        cancelled = client.cancel(
            number,
            ticket_ids=[tickets[0]["id"]],
            reason="Buyer cancelled",
            idempotency_key=cancel_key,
        )
    except PartnerError as error:  # e.g. refund_not_allowed, refund_too_late
        cancelled = {"refused": error.code}
    return {
        "event": event["name"],
        "session": session["id"],
        "zone": zone["code"],
        "quote_total": quote["total"],
        "order": number,
        "order_total": placed["order"]["total"],
        "same_order_again": again["order"]["number"] == number,
        "tickets": [t["id"] for t in tickets],
        "credentials": [t["credential"] for t in tickets],
        "pdf_bytes": len(pdf),
        "pdf_is_pdf": pdf[:4] == b"%PDF",
        "cancel": cancelled,
        "order_after": client.get_order(number)["status"],
    }


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: partner_client.py BASE_URL API_KEY")
    print(json.dumps(run_flow(sys.argv[1], sys.argv[2]), indent=2, ensure_ascii=False))
