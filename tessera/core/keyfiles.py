"""Private files in ``var/`` (the secret key, the master keys): created readable by the owner
only from their first byte, and replaced atomically.

No Django inside: ``settings.py`` uses this before Django is set up.

A file is written to a new temporary name opened with ``os.open(..., 0o600)`` (``O_EXCL``,
so never an existing file or a planted link), flushed to disk, then put in place in one
step: ``os.link`` when it must not exist yet (two processes starting at once: the second
finds the first's file and reads it), ``os.replace`` when it replaces a file. At no moment
does a file with the secret exist with wider rights, whatever the umask.
"""

import contextlib
import os
import secrets
from pathlib import Path

PRIVATE_MODE = 0o600


def _write_temporary(directory: Path, content: bytes) -> Path:
    temporary = directory / f".{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, PRIVATE_MODE)
    try:
        # The umask can only take rights away; make the 0600 exact anyway.
        os.fchmod(descriptor, PRIVATE_MODE)
        view = memoryview(content)
        while view:
            written = os.write(descriptor, view)
            view = view[written:]
        os.fsync(descriptor)
    except BaseException:
        os.close(descriptor)
        temporary.unlink(missing_ok=True)
        raise
    os.close(descriptor)
    return temporary


def create_private_file(path: Path, content: bytes) -> bool:
    """Create ``path`` with ``content`` and mode 0600 unless it exists -> True when this call
    created it, False when the file was already there (its content is left alone)."""
    path = Path(path)
    if path.exists():
        return False
    temporary = _write_temporary(path.parent, content)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


def replace_private_file(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` (mode 0600) in one step: readers see the old file or the
    new one, never a half-written one."""
    path = Path(path)
    temporary = _write_temporary(path.parent, content)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def read_or_create_secret(path: Path, make) -> str:
    """The text in ``path``; created first from ``make()`` (mode 0600) when missing."""
    path = Path(path)
    if not path.exists():
        create_private_file(path, make().encode())
    return path.read_text().strip()
