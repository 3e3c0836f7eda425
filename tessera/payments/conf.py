"""Payment configuration, read from Django settings first and the environment second.

Every name here may be set in ``settings.py`` (tests override them there) or as an environment
variable of the same name; nothing in this module is required for the sandbox provider.
"""

import os
from pathlib import Path

from django.conf import settings

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def setting(name: str, default: str = "") -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value)


def public_url() -> str:
    """The address at which gateways and browsers reach this site, without a trailing slash
    (``TESSERA_PUBLIC_URL``, default ``http://127.0.0.1:8000``)."""
    return setting("TESSERA_PUBLIC_URL", DEFAULT_PUBLIC_URL).rstrip("/") or DEFAULT_PUBLIC_URL


def read_pem(name: str) -> bytes:
    """A PEM given inline in ``name`` or in the file named by ``name + '_FILE'``; empty when
    neither is set."""
    inline = setting(name)
    if inline:
        return inline.replace("\\n", "\n").encode()
    path = setting(f"{name}_FILE")
    return Path(path).read_bytes() if path else b""
