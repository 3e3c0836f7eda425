"""Settings from the environment: a secret key generated once into TESSERA_VAR_DIR, DEBUG
off unless asked, SQLite in WAL mode, Argon2 first.

Settings are read once per process, so each case starts a fresh Python with a controlled
environment and a temporary var directory.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher, make_password

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal = cursor.fetchone()[0]
print(json.dumps({
    "key": settings.SECRET_KEY,
    "debug": settings.DEBUG,
    "journal": journal,
    "hasher": settings.PASSWORD_HASHERS[0],
    "database": str(settings.DATABASES["default"]["NAME"]),
}))
"""


def start(var_dir: Path, **env: str) -> dict:
    """Start Tessera's settings in a new process and report what they came to."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    environment.update(
        {"DJANGO_SETTINGS_MODULE": "tessera.settings", "TESSERA_VAR_DIR": str(var_dir), **env}
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and fixed code
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def first_start(tmp_path_factory) -> tuple[Path, dict]:
    """One start on an empty var directory with nothing configured."""
    var_dir = tmp_path_factory.mktemp("var")
    assert not (var_dir / "secret_key").exists()
    return var_dir, start(var_dir)


def test_secret_key_is_generated_private_and_reused(first_start):
    var_dir, first = first_start
    key_file = var_dir / "secret_key"

    assert key_file.read_text().strip() == first["key"]
    assert len(first["key"]) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = start(var_dir)
    assert second["key"] == first["key"]


def test_secret_key_from_the_environment_writes_nothing(tmp_path):
    report = start(tmp_path, TESSERA_SECRET_KEY="from-the-environment")
    assert report["key"] == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_debug_is_off_unless_asked(first_start, tmp_path):
    assert first_start[1]["debug"] is False
    assert start(tmp_path, TESSERA_DEBUG="1")["debug"] is True


def test_default_database_is_sqlite_in_var_in_wal_mode(first_start):
    var_dir, report = first_start
    assert report["database"] == str(var_dir / "tessera.sqlite3")
    assert report["journal"] == "wal"
    assert (var_dir / "tessera.sqlite3").is_file()


def test_argon2_is_the_first_password_hasher(first_start):
    assert first_start[1]["hasher"] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    encoded = make_password("correct horse battery staple")
    assert encoded.startswith("argon2$")
    assert identify_hasher(encoded).algorithm == "argon2"
    assert check_password("correct horse battery staple", encoded)
    assert not check_password("wrong", encoded)
