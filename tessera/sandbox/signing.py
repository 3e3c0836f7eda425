"""The sandbox gateway's signatures: HMAC-SHA256 under the merchant secret, hex.

- Callbacks: over the exact JSON body, sent in the ``X-Sandbox-Signature`` header.
- Cashier links: over the link's parameters (the payment id included), sorted by name and
  percent-encoded as ``k=v&…`` so no value can move into its neighbour, after a
  ``page-pay`` prefix that keeps a link's signature from ever passing as a callback's.
"""

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from tessera.sandbox.conf import merchant_secret

SIGNATURE_HEADER = "X-Sandbox-Signature"
_PAGE_PAY = b"page-pay\n"


@dataclass(frozen=True)
class SignedCallback:
    """One notification as it travels: its headers and the exact body bytes."""

    headers: dict[str, str]
    body: bytes


def sign(body: bytes) -> str:
    return hmac.new(merchant_secret(), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(body), signature or "")


def signed_callback(body: bytes) -> SignedCallback:
    return SignedCallback({"Content-Type": "application/json", SIGNATURE_HEADER: sign(body)}, body)


def link_content(params: Mapping[str, str]) -> bytes:
    """The bytes a cashier link's signature covers."""
    return _PAGE_PAY + urlencode(sorted(params.items()), quote_via=quote).encode("ascii")


def sign_link(params: Mapping[str, str]) -> str:
    return hmac.new(merchant_secret(), link_content(params), hashlib.sha256).hexdigest()


def link_signature_valid(params: Mapping[str, str], signature: str) -> bool:
    return hmac.compare_digest(sign_link(params), signature or "")
