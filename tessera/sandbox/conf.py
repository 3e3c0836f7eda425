"""The sandbox gateway's configuration: its address, its merchant secret and how it delivers
callbacks. Nothing here needs setting up for the gateway to work."""

import hashlib
import hmac
import os

from django.conf import settings

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
DELIVERY_MODES = ("pool", "inline")


def public_url() -> str:
    """Where buyers reach the gateway's cashier, without a trailing slash: the site's public
    address (``TESSERA_PUBLIC_URL`` in settings or the environment), as the gateway is served
    by the same site."""
    value = getattr(settings, "TESSERA_PUBLIC_URL", None)
    if value is None:
        value = os.environ.get("TESSERA_PUBLIC_URL", DEFAULT_PUBLIC_URL)
    return str(value).rstrip("/") or DEFAULT_PUBLIC_URL


def merchant_secret() -> bytes:
    """The key the gateway and its one merchant share: it signs cashier links and callbacks.
    Derived from SECRET_KEY, so it needs no configuration and changes when the secret key
    does. (The derivation label predates the gateway's own app and is kept so links and
    callbacks signed before stay valid.)"""
    return hmac.new(
        settings.SECRET_KEY.encode(), b"tessera.payments.sandbox.merchant-secret", hashlib.sha256
    ).digest()


def delivery_mode() -> str:
    """``pool`` (callbacks POSTed from background threads, retried) or ``inline`` (POSTed at
    once in the thread whose decision committed; for tests that need determinism)."""
    return getattr(settings, "SANDBOX_DELIVERY", "pool")
