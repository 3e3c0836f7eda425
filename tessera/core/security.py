"""Security headers on every response Django answers: a Content-Security-Policy with a fresh
nonce per request, and a Permissions-Policy.

Scripts run only from this site's own files or from an inline ``<script nonce="{{ csp_nonce }}">``
(the ``csp_nonce`` context processor); no ``'unsafe-inline'`` and no ``eval`` for scripts.
Inline ``style`` attributes stay allowed (zone colours on the seat map's legend): a style
cannot run code. Django's ``SecurityMiddleware`` and ``XFrameOptionsMiddleware`` add
``X-Content-Type-Options: nosniff``, ``Referrer-Policy``, ``Cross-Origin-Opener-Policy``,
``X-Frame-Options: DENY`` and, with ``TESSERA_HTTPS``, HSTS (see settings.py).

Settings: ``CSP_FORM_ACTION`` (extra origins a form may post or redirect to: a payment
provider's gateway), ``CSP_IMG_SRC`` (extra image origins), ``CSP_REPORT_URI``.
"""

import secrets

from django.conf import settings

PERMISSIONS_POLICY = (
    "camera=(self), microphone=(), geolocation=(), payment=(), usb=(), serial=(), "
    "bluetooth=(), hid=(), midi=(), magnetometer=(), gyroscope=(), accelerometer=(), "
    "display-capture=(), browsing-topics=(), interest-cohort=()"
)


def content_security_policy(nonce: str) -> str:
    """The policy for one response whose inline scripts carry ``nonce``."""
    form_action = " ".join(["'self'", *getattr(settings, "CSP_FORM_ACTION", [])])
    img_src = " ".join(["'self'", "data:", "blob:", *getattr(settings, "CSP_IMG_SRC", [])])
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {img_src}",
        "font-src 'self' data:",
        "connect-src 'self'",
        "media-src 'self' blob:",
        "worker-src 'self'",
        "manifest-src 'self'",
        "frame-src 'none'",
        "object-src 'none'",
        "base-uri 'self'",
        f"form-action {form_action}",
        "frame-ancestors 'none'",
    ]
    report = getattr(settings, "CSP_REPORT_URI", "")
    if report:
        directives.append(f"report-uri {report}")
    return "; ".join(directives)


class SecurityHeadersMiddleware:
    """Gives each request a nonce (``request.csp_nonce``) and each response the policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        nonce = secrets.token_urlsafe(18)
        request.csp_nonce = nonce
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy(nonce)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


def csp_nonce(request) -> dict:
    """Template context: ``csp_nonce`` for ``<script nonce="…">``."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
