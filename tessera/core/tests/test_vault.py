"""Sealing secrets under the master key: AES-256-GCM, key ids, place binding, key file."""

import base64
import os
import stat

import pytest

from tessera.core import vault


def entry(kid: str, byte: int) -> str:
    return f"{kid}:{base64.urlsafe_b64encode(bytes([byte]) * 32).decode()}"


@pytest.fixture
def env_keys(settings):
    settings.MASTER_KEYS = f"{entry('new', 2)},{entry('old', 1)}"
    vault.forget_keyring()
    yield
    vault.forget_keyring()


def test_a_sealed_value_opens_only_in_its_place(env_keys):
    sealed = vault.seal(b"private key bytes", context="tickets.sessionkey.secret")
    assert sealed.startswith(vault.MAGIC)
    assert b"private key bytes" not in sealed
    assert vault.sealed_kid(sealed) == "new"
    assert vault.open_sealed(sealed, context="tickets.sessionkey.secret") == b"private key bytes"
    with pytest.raises(vault.VaultError):
        vault.open_sealed(sealed, context="accounts.twofactor.secret")


def test_two_seals_of_one_value_differ(env_keys):
    first = vault.seal(b"same", context="c")
    assert first != vault.seal(b"same", context="c")


def test_an_altered_or_unsealed_value_is_refused(env_keys):
    sealed = bytearray(vault.seal(b"secret", context="c"))
    sealed[-1] ^= 1
    with pytest.raises(vault.VaultError):
        vault.open_sealed(bytes(sealed), context="c")
    with pytest.raises(vault.VaultError):
        vault.open_sealed(b"plain secret", context="c")


def test_an_older_key_still_opens_what_it_sealed(settings, env_keys):
    settings.MASTER_KEYS = entry("old", 1)
    sealed = vault.seal(b"secret", context="c")
    settings.MASTER_KEYS = f"{entry('new', 2)},{entry('old', 1)}"
    assert vault.open_sealed(sealed, context="c") == b"secret"
    settings.MASTER_KEYS = entry("new", 2)
    with pytest.raises(vault.VaultError, match="no master key old"):
        vault.open_sealed(sealed, context="c")


@pytest.mark.parametrize(
    "text",
    ["nocolon", "bad id!:" + entry("x", 1).split(":")[1], "short:AAAA", "a:%%%", ","],
)
def test_a_malformed_master_key_is_refused(settings, text):
    settings.MASTER_KEYS = text
    vault.forget_keyring()
    with pytest.raises(vault.VaultError):
        vault.seal(b"x", context="c")
    vault.forget_keyring()


def test_without_configured_keys_a_private_key_file_is_created_once(settings, tmp_path):
    # given no key in the environment and no key file yet, under the widest umask
    settings.MASTER_KEYS = ""
    settings.MASTER_KEY_FILE = tmp_path / "master_keys"
    vault.forget_keyring()
    previous = os.umask(0)
    try:
        sealed = vault.seal(b"secret", context="c")
    finally:
        os.umask(previous)
        vault.forget_keyring()
    # then the file holds one key, readable by its owner only, and it opens the value
    path = tmp_path / "master_keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (key,) = vault.parse_keys(path.read_text())
    assert vault.sealed_kid(sealed) == key.kid
    assert vault.open_sealed(sealed, context="c") == b"secret"
    vault.forget_keyring()
