"""Sign-in throttling on the site and in the back office: failures counted per account name
and per address in the database, a growing lock with a translated notice, the right password
refused while locked, success clearing the account's count."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tessera.accounts import throttle
from tessera.accounts.models import SignInThrottle, ThrottleScope
from tessera.accounts.tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-42"
SITE = "/accounts/login/"
ADMIN = "/admin/login/"


def attempt(client, url, username, password, address="203.0.113.7", language="en"):
    return client.post(
        url,
        {"username": username, "password": password, "next": "/"},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE=language,
    )


def test_the_sixth_wrong_password_locks_the_account_with_a_notice():
    # given an account
    make_user(username="ann", password=PASSWORD)
    client = Client()
    # when the password is wrong five times: plain errors, the fifth starts a 30 s lock
    for n in range(4):
        response = attempt(client, SITE, "ann", f"wrong{n}")
        assert response.status_code == 200
        assert "Too many failed attempts" not in response.content.decode()
    response = attempt(client, SITE, "ann", "wrong4")
    assert "try again in 30 seconds" in response.content.decode()
    # then even the right password is refused while locked, and no session starts
    response = attempt(client, SITE, "ann", PASSWORD)
    assert response.status_code == 200
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    row = SignInThrottle.objects.get(scope=ThrottleScope.ACCOUNT, key="ann")
    assert row.failures == 5


def test_the_lockout_notice_is_translated():
    make_user(username="bo", password=PASSWORD)
    client = Client()
    for n in range(5):
        response = attempt(client, SITE, "bo", f"wrong{n}", language="zh-hans")
    text = response.content.decode()
    assert "失败次数过多" in text
    assert "30 秒" in text


def test_the_lock_grows_and_ends_and_success_clears_the_count():
    user = make_user(username="cy", password=PASSWORD)
    now = timezone.now()
    keys = throttle.account_key("cy")
    assert [throttle.record_failure(keys=keys, now=now) for _ in range(4)] == [0, 0, 0, 0]
    assert throttle.record_failure(keys=keys, now=now) == 30
    assert throttle.record_failure(keys=keys, now=now) == 60
    assert throttle.record_failure(keys=keys, now=now) == 120
    assert throttle.wait_seconds(keys=keys, now=now) == 120
    assert throttle.wait_seconds(keys=keys, now=now + timedelta(seconds=121)) == 0
    # a long run of failures is capped at an hour
    for _ in range(20):
        last = throttle.record_failure(keys=keys, now=now)
    assert last == 3600
    # once the lock is over the right password signs in and clears the count
    SignInThrottle.objects.update(locked_until=now - timedelta(seconds=1))
    client = Client()
    response = attempt(client, SITE, "cy", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert not SignInThrottle.objects.filter(scope=ThrottleScope.ACCOUNT, key="cy").exists()


def test_one_address_guessing_many_accounts_is_locked():
    # given an address that tried twenty different names (each below its own limit)
    make_user(username="dee", password=PASSWORD)
    client = Client()
    for n in range(20):
        attempt(client, SITE, f"nobody{n}", "guess", address="198.51.100.9")
    # then that address cannot sign in even to a real account with its password
    response = attempt(client, SITE, "dee", PASSWORD, address="198.51.100.9")
    assert "Too many failed attempts" in response.content.decode()
    # and another address can
    response = attempt(Client(), SITE, "dee", PASSWORD, address="198.51.100.10")
    assert response.status_code == 302


def test_the_admin_sign_in_is_throttled_too():
    make_user(username="eve", password=PASSWORD, is_staff=True)
    client = Client()
    for n in range(5):
        attempt(client, ADMIN, "eve", f"wrong{n}")
    response = attempt(client, ADMIN, "eve", PASSWORD)
    assert response.status_code == 200
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # failures in the back office and on the site count together
    assert SignInThrottle.objects.get(scope=ThrottleScope.ACCOUNT, key="eve").failures == 5


def test_an_unknown_name_is_counted_like_a_known_one():
    for n in range(5):
        attempt(Client(), SITE, "ghost", f"wrong{n}")
    response = attempt(Client(), SITE, "ghost", "any")
    assert "Too many failed attempts" in response.content.decode()


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("", "unknown"),
    ],
)
def test_addresses_are_keyed_by_host_or_ipv6_network(rf, remote, expected):
    assert throttle.client_address(rf.get("/", REMOTE_ADDR=remote)) == expected
