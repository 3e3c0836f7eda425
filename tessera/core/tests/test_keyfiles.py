"""Private files in var/: mode 0600 from the first byte, never a window, atomic."""

import os
import stat

import pytest

from tessera.core import keyfiles


@pytest.fixture
def open_umask():
    """The widest umask: a file created with default rights would be world-readable."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_secret_file_is_private_even_under_an_open_umask(tmp_path, open_umask):
    path = tmp_path / "secret_key"
    assert keyfiles.create_private_file(path, b"s3cret") is True
    assert path.read_bytes() == b"s3cret"
    assert mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no temporary left


def test_the_secret_is_never_on_disk_with_wider_rights(tmp_path, open_umask, monkeypatch):
    # given a spy on every file creation and on the moment the file gets its name
    created_modes = []
    real_open, real_link = os.open, os.link

    def spy_open(path, flags, mode_=0o777, *args, **kwargs):
        descriptor = real_open(path, flags, mode_, *args, **kwargs)
        if flags & os.O_CREAT:
            created_modes.append(stat.S_IMODE(os.fstat(descriptor).st_mode))
        return descriptor

    def spy_link(source, target, *args, **kwargs):
        created_modes.append(mode(source))
        return real_link(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "link", spy_link)
    # when the file is created
    keyfiles.create_private_file(tmp_path / "secret_key", b"x" * 64)
    # then it was 0600 when opened (before a byte was written) and when it got its name
    assert created_modes == [0o600, 0o600]


def test_an_existing_secret_file_is_kept(tmp_path):
    path = tmp_path / "secret_key"
    keyfiles.create_private_file(path, b"first")
    assert keyfiles.create_private_file(path, b"second") is False
    assert keyfiles.read_or_create_secret(path, lambda: "third") == "first"


def test_replacing_a_secret_file_keeps_it_private(tmp_path, open_umask):
    path = tmp_path / "master_keys"
    path.write_text("old")
    os.chmod(path, 0o644)
    keyfiles.replace_private_file(path, b"new")
    assert path.read_bytes() == b"new"
    assert mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master_keys"]
