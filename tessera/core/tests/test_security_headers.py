"""Security headers on every page: a Content-Security-Policy whose nonce changes per response
and matches the inline scripts, no 'unsafe-inline' for scripts, nosniff, Referrer-Policy,
Permissions-Policy, frame denial; HSTS and secure cookies when HTTPS is on."""

import re
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/admin/login/", "/checkin/scanner/"])
def test_every_page_carries_the_security_headers(path):
    response = Client().get(path)
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    (nonce,) = [s for s in policy["script-src"] if s.startswith("'nonce-")]
    assert policy["script-src"] == ["'self'", nonce]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=(self)" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response  # plain HTTP in tests


def test_the_nonce_is_new_for_each_response_and_every_inline_script_carries_it():
    client = Client()
    first = client.get("/")["Content-Security-Policy"]
    second = client.get("/")["Content-Security-Policy"]
    assert first != second
    # the templates: every <script> without src carries the nonce or is a data block
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for template in root.rglob("templates/**/*.html"):
        for tag in re.findall(r"<script\b[^>]*>", template.read_text()):
            if "src=" in tag or 'type="application/json"' in tag:
                continue
            if 'nonce="{{ csp_nonce }}"' not in tag:
                offenders.append(f"{template.relative_to(root)}: {tag}")
    assert offenders == []


HTTPS_PROBE = """
import json
import django
django.setup()
from django.conf import settings
print(json.dumps({
    "hsts": settings.SECURE_HSTS_SECONDS,
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "redirect": settings.SECURE_SSL_REDIRECT,
    "proxy": list(settings.SECURE_PROXY_SSL_HEADER or []),
}))
"""


def test_https_turns_on_hsts_secure_cookies_and_the_redirect(tmp_path, monkeypatch):
    from tessera.core.tests import test_settings

    monkeypatch.setattr(test_settings, "PROBE", HTTPS_PROBE)
    on = test_settings.start(tmp_path, TESSERA_HTTPS="1")
    assert on == {
        "hsts": 31536000,
        "session_secure": True,
        "csrf_secure": True,
        "redirect": True,
        "proxy": ["HTTP_X_FORWARDED_PROTO", "https"],
    }
    off = test_settings.start(tmp_path)
    assert off == {
        "hsts": 0,
        "session_secure": False,
        "csrf_secure": False,
        "redirect": False,
        "proxy": [],
    }


def test_hsts_header_over_https(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = Client().get("/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000"
