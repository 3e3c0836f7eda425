"""Secrets at rest: private keys and other secrets kept in the database are sealed with
AES-256-GCM under a master key that never enters the database.

Master keys come from ``TESSERA_MASTER_KEY`` (settings ``MASTER_KEYS``) or, when that is
empty, from the file ``var/master_keys`` (created with mode 0600 on first need). Either holds
one or more entries ``<key id>:<32 bytes, urlsafe base64>``, separated by commas or new lines;
the FIRST entry is the current key (it seals), the others only open what they sealed before.

A sealed value is ``MAGIC | len(kid) | kid | nonce (12 bytes) | ciphertext and tag``. The
associated data binds it to its master key id and to its place (``context``, e.g.
``tickets.sessionkey.secret``), so a value copied into another column does not open.

Rotation (``manage.py rotate_master_key``): put a new key first (``--new-key`` writes one into
the file; with the environment, deploy ``new,old`` to every process first), re-seal every
value under it, then drop the old key (``--retire``). A process that meets a key id it does
not know reads its keys again once, so processes started before a rotation keep working.
"""

import base64
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from tessera.core.keyfiles import create_private_file, replace_private_file

MAGIC = b"TSV1"
NONCE_BYTES = 12
KEY_BYTES = 32
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class VaultError(Exception):
    """A value cannot be sealed or opened: no usable master key, an unknown key id, a value
    that was altered or that belongs to another place."""


@dataclass(frozen=True)
class MasterKey:
    kid: str
    key: bytes

    def line(self) -> str:
        return f"{self.kid}:{base64.urlsafe_b64encode(self.key).decode()}"


@dataclass(frozen=True)
class Keyring:
    keys: tuple[MasterKey, ...]
    source: str  # "environment" or the file's path
    stamp: tuple = ()  # what the source looked like when read (the file's mtime and size)

    @property
    def current(self) -> MasterKey:
        return self.keys[0]

    def get(self, kid: str) -> MasterKey | None:
        return next((k for k in self.keys if k.kid == kid), None)


def new_master_key() -> MasterKey:
    """A fresh random master key under a random id."""
    return MasterKey(kid=f"k{secrets.token_hex(4)}", key=AESGCM.generate_key(bit_length=256))


def parse_keys(text: str) -> tuple[MasterKey, ...]:
    """The entries of a master-key text, current first. Raises VaultError on a bad entry."""
    keys: list[MasterKey] = []
    for raw in re.split(r"[,\n]", text or ""):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        kid, sep, encoded = entry.partition(":")
        if not sep or not _KID.match(kid):
            raise VaultError("a master key entry is <key id>:<base64 key>")
        try:
            key = base64.urlsafe_b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4))
        except ValueError as exc:
            raise VaultError(f"master key {kid} is not base64") from exc
        if len(key) != KEY_BYTES:
            raise VaultError(f"master key {kid} must be {KEY_BYTES} bytes")
        if any(k.kid == kid for k in keys):
            raise VaultError(f"master key id {kid} appears twice")
        keys.append(MasterKey(kid=kid, key=key))
    return tuple(keys)


def format_keys(keys) -> str:
    return "".join(f"{key.line()}\n" for key in keys)


def key_file() -> Path:
    return Path(getattr(settings, "MASTER_KEY_FILE", Path(settings.VAR_DIR) / "master_keys"))


def keys_from_environment() -> bool:
    return bool((getattr(settings, "MASTER_KEYS", "") or "").strip())


def _file_stamp(path: Path) -> tuple:
    try:
        info = path.stat()
    except FileNotFoundError:
        return ()
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def _load() -> Keyring:
    configured = (getattr(settings, "MASTER_KEYS", "") or "").strip()
    if configured:
        keys = parse_keys(configured)
        if not keys:
            raise VaultError("TESSERA_MASTER_KEY holds no key")
        return Keyring(keys=keys, source="environment", stamp=("env", configured))
    path = key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        create_private_file(path, format_keys([new_master_key()]).encode())
    keys = parse_keys(path.read_text())
    if not keys:
        raise VaultError(f"{path} holds no master key")
    return Keyring(keys=keys, source=str(path), stamp=_file_stamp(path))


_lock = threading.Lock()
_keyring: Keyring | None = None


def forget_keyring() -> None:
    """Read the master keys again on next use (tests, after a rotation)."""
    global _keyring
    with _lock:
        _keyring = None


def keyring(*, fresh: bool = False) -> Keyring:
    """The master keys of this process. Re-read when asked, when the settings changed, or
    when the key file changed since it was read (a rotation by another process)."""
    global _keyring
    with _lock:
        ring = _keyring
        if ring is not None and not fresh:
            configured = (getattr(settings, "MASTER_KEYS", "") or "").strip()
            if configured:
                if ring.stamp == ("env", configured):
                    return ring
            elif ring.source == str(key_file()) and ring.stamp == _file_stamp(key_file()):
                return ring
        _keyring = _load()
        return _keyring


def _aad(kid: bytes, context: str) -> bytes:
    return MAGIC + kid + b"|" + context.encode()


def seal(plaintext: bytes, *, context: str) -> bytes:
    """``plaintext`` sealed under the current master key for the place ``context``."""
    key = keyring().current
    kid = key.kid.encode()
    nonce = os.urandom(NONCE_BYTES)
    body = AESGCM(key.key).encrypt(nonce, bytes(plaintext), _aad(kid, context))
    return MAGIC + bytes([len(kid)]) + kid + nonce + body


def is_sealed(value) -> bool:
    return value is not None and bytes(value[: len(MAGIC)]) == MAGIC


def sealed_kid(value) -> str | None:
    """The master key id a sealed value names, None for anything else."""
    if not is_sealed(value):
        return None
    data = bytes(value)
    size = data[len(MAGIC)] if len(data) > len(MAGIC) else 0
    kid = data[len(MAGIC) + 1 : len(MAGIC) + 1 + size]
    return kid.decode("ascii", "replace") if len(kid) == size and size else None


def open_sealed(value, *, context: str) -> bytes:
    """The plaintext of a sealed value. Raises VaultError for a value that is not sealed, a
    key id no master key has, or a value altered or moved from another place."""
    data = bytes(value)
    if not is_sealed(data) or len(data) <= len(MAGIC) + 1:
        raise VaultError("the value is not sealed")
    size = data[len(MAGIC)]
    start = len(MAGIC) + 1
    kid = data[start : start + size]
    nonce = data[start + size : start + size + NONCE_BYTES]
    body = data[start + size + NONCE_BYTES :]
    if len(kid) != size or len(nonce) != NONCE_BYTES or not body:
        raise VaultError("the sealed value is truncated")
    name = kid.decode("ascii", "replace")
    key = keyring().get(name) or keyring(fresh=True).get(name)
    if key is None:
        raise VaultError(f"no master key {name}")
    try:
        return AESGCM(key.key).decrypt(nonce, body, _aad(kid, context))
    except Exception as exc:  # cryptography's InvalidTag
        raise VaultError("the sealed value does not open (altered or moved)") from exc


# -- the key file during a rotation ----------------------------------------------------------


def add_key_to_file() -> MasterKey:
    """Write a new master key into the key file as the current one (the others stay to open
    older values). Refused when the keys come from the environment."""
    if keys_from_environment():
        raise VaultError(
            "master keys come from TESSERA_MASTER_KEY: put the new key first there and restart"
        )
    ring = keyring(fresh=True)
    key = new_master_key()
    replace_private_file(key_file(), format_keys([key, *ring.keys]).encode())
    forget_keyring()
    return key


def retire_old_keys_in_file() -> list[str]:
    """Drop every key but the current one from the key file -> the ids dropped."""
    if keys_from_environment():
        raise VaultError("master keys come from TESSERA_MASTER_KEY: remove old keys there")
    ring = keyring(fresh=True)
    dropped = [k.kid for k in ring.keys[1:]]
    if dropped:
        replace_private_file(key_file(), format_keys([ring.current]).encode())
        forget_keyring()
    return dropped
