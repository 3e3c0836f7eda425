"""Where a webhook may be sent (against server-side request forgery).

A URL must be ``https://`` to a public address. ``http://`` is allowed only to
``localhost``/``127.0.0.1``/``[::1]`` and only when ``settings.WEBHOOKS_ALLOW_LOCALHOST`` (on
with ``DEBUG``, and in tests). A URL is checked when it is saved (its host's form) and again
before every delivery, after resolving the host: every address it resolves to must be public
(not private, loopback, link-local, shared, multicast or reserved), and the connection is made
to the address that was checked, so a name that resolves elsewhere a moment later (DNS
rebinding) is not followed. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from tessera.webhooks.errors import UrlRefused

LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
MAX_URL_LENGTH = 500


def allow_localhost() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_LOCALHOST", settings.DEBUG))


def is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def _local_allowed(host: str) -> bool:
    return host in LOCAL_NAMES and allow_localhost()


def parse(url: str):
    """(scheme, host, port, path with query) of an acceptable URL; raises UrlRefused."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UrlRefused()
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UrlRefused() from None
    host = (parts.hostname or "").lower().rstrip(".")
    if (
        parts.scheme not in ("https", "http")
        or not host
        or parts.username is not None
        or parts.password is not None
        or any(c.isspace() or ord(c) < 32 for c in url)
    ):
        raise UrlRefused()
    if parts.scheme == "http" and not _local_allowed(host):
        raise UrlRefused()
    if not _local_allowed(host):
        if host == "localhost" or host.endswith(".localhost") or host.endswith(".local"):
            raise UrlRefused()
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if "." not in host:  # a single-label name resolves inside the platform's network
                raise UrlRefused() from None
        else:
            if not is_public(host):
                raise UrlRefused()
    port = port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, host, port, path


def check_url(url: str) -> str:
    """The URL, stripped, when it may be saved; raises UrlRefused."""
    parse(url)
    return url.strip()


def resolve(host: str, port: int) -> str:
    """The address to connect to: every address of ``host`` must be public (or the host is
    a local name allowed for development). Raises UrlRefused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UrlRefused(details={"reason": "unresolved"}) from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise UrlRefused(details={"reason": "unresolved"})
    if _local_allowed(host):
        local = [a for a in addresses if ipaddress.ip_address(a.split("%", 1)[0]).is_loopback]
        if not local:
            raise UrlRefused()
        return local[0]
    if not all(is_public(a) for a in addresses):
        raise UrlRefused(details={"reason": "private address"})
    return addresses[0]
