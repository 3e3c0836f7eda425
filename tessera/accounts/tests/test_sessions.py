"""Sessions are signed cookies; signing out ends every session of the account on every
device (``User.session_epoch`` is part of the session auth hash)."""

import pytest
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tessera.accounts import services
from tessera.accounts.models import MAX_SESSION_EPOCH, User
from tessera.accounts.tests.factories import make_user

pytestmark = pytest.mark.django_db

SIGNED_OUT_EN = "You are signed out on all your devices."
SIGNED_OUT_ZH = "你已在所有设备上退出登录。"
AUTH_KEYS = {"_auth_user_id", "_auth_user_backend", "_auth_user_hash"}


def signed_in(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def with_cookie(value: str) -> Client:
    """Another browser that was given a copy of a session cookie."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies[settings.SESSION_COOKIE_NAME] = value
    return client


def user_of(client: Client) -> User | None:
    response = client.get("/orders/")
    user = response.wsgi_request.user
    if user.is_authenticated:
        assert response.status_code == 200
        return user
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/orders/")
    return None


def test_the_session_is_a_signed_cookie_holding_only_the_sign_in():
    fan = make_user(password=None)
    client = signed_in(fan)

    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    data = SessionStore(session_key=cookie).load()

    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.signed_cookies"
    assert set(data) == AUTH_KEYS
    assert data["_auth_user_id"] == str(fan.pk)
    assert data[HASH_SESSION_KEY] == fan.get_session_auth_hash()


def test_a_signed_in_request_reads_no_session_row():
    fan = make_user(password=None)
    client = signed_in(fan)

    with CaptureQueriesContext(connection) as captured:
        assert user_of(client) == fan

    statements = [q["sql"] for q in captured.captured_queries]
    assert not [sql for sql in statements if "django_session" in sql]
    assert 'FROM "accounts_user"' in statements[0]


def test_a_cookie_copied_before_sign_out_is_refused_after_it_on_every_device():
    # given a fan signed in on a laptop, and a copy of that cookie in another browser
    fan = make_user(password=None)
    laptop = signed_in(fan)
    copy = with_cookie(laptop.cookies[settings.SESSION_COOKIE_NAME].value)
    phone = signed_in(fan)
    assert user_of(copy) == fan
    assert user_of(phone) == fan

    # when the fan signs out on the laptop
    response = laptop.post("/accounts/logout/")

    # then the page says so, and no cookie of the account works any more
    assert response.status_code == 200
    assert SIGNED_OUT_EN in response.content.decode()
    assert user_of(laptop) is None
    assert user_of(copy) is None
    assert user_of(phone) is None
    fan.refresh_from_db()
    assert fan.session_epoch == 1


def test_signing_out_leaves_other_accounts_signed_in():
    fan, other = make_user(password=None), make_user(password=None)
    leaving, staying = signed_in(fan), signed_in(other)

    leaving.post("/accounts/logout/")

    assert user_of(staying) == other
    other.refresh_from_db()
    assert other.session_epoch == 0


def test_the_signed_out_page_speaks_chinese_by_default():
    fan = make_user(password=None)
    client = Client()
    client.force_login(fan)

    response = client.post("/accounts/logout/")

    assert response.status_code == 200
    assert SIGNED_OUT_ZH in response.content.decode()


def test_signing_out_of_the_back_office_ends_the_sessions_too():
    staff = make_user(password=None, is_staff=True, is_superuser=True)
    admin, storefront = signed_in(staff), signed_in(staff)

    response = admin.post("/admin/logout/")

    assert response.status_code == 200
    assert SIGNED_OUT_EN in response.content.decode()
    assert user_of(storefront) is None
    staff.refresh_from_db()
    assert staff.session_epoch == 1


def test_a_new_password_keeps_the_session_that_set_it_and_ends_the_others():
    # given a fan signed in twice
    fan = make_user(password="old-Pass-word-42")
    here = signed_in(fan)
    elsewhere = signed_in(fan)

    # when the fan changes the password in one of them
    response = here.post(
        "/accounts/password_change/",
        {
            "old_password": "old-Pass-word-42",
            "new_password1": "new-Pass-word-77",
            "new_password2": "new-Pass-word-77",
        },
    )

    # then that session goes on (update_session_auth_hash), the other one ends
    assert (response.status_code, response["Location"]) == (302, "/accounts/password_change/done/")
    assert user_of(here) == fan
    assert user_of(elsewhere) is None
    fan.refresh_from_db()
    assert fan.session_epoch == 0


def test_the_session_hash_changes_with_the_epoch_and_the_password():
    fan = make_user(password=None)
    first = fan.get_session_auth_hash()
    assert fan.get_session_auth_hash() == first

    assert services.end_sessions(user=fan) == 1
    second = fan.get_session_auth_hash()
    assert second != first
    fan.refresh_from_db()
    assert (fan.session_epoch, fan.get_session_auth_hash()) == (1, second)

    fan.set_password("another-Pass-word-9")
    assert fan.get_session_auth_hash() not in (first, second)


def test_the_epoch_wraps_round_instead_of_overflowing():
    fan = make_user(password=None)
    User.objects.filter(pk=fan.pk).update(session_epoch=MAX_SESSION_EPOCH)
    fan.refresh_from_db()

    assert services.end_sessions(user=fan) == 0
    fan.refresh_from_db()
    assert fan.session_epoch == 0


def test_signing_out_when_not_signed_in_changes_nothing():
    fan = make_user(password=None)

    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/accounts/logout/")

    assert response.status_code == 200
    fan.refresh_from_db()
    assert fan.session_epoch == 0
