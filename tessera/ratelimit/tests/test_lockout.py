"""The sign-in lockout (accounts.throttle) still decides first under the default buckets:
a genuine fan mistyping a password meets the lockout's notice, not a 429."""

import pytest
from django.test import Client

from tessera.accounts.tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_the_lockout_still_locks_with_rate_limits_on(settings):
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_BACKEND = "memory"  # the default buckets of tessera/settings.py
    make_user(username="ann", password="right-pass-42")
    client = Client(headers={"Accept-Language": "en"})
    for _ in range(6):
        answer = client.post("/accounts/login/", {"username": "ann", "password": "wrong"})
        assert answer.status_code == 200
    locked = client.post("/accounts/login/", {"username": "ann", "password": "right-pass-42"})
    assert locked.status_code == 200
    assert "signing in is paused" in locked.content.decode()
    assert "_auth_user_id" not in client.session
