"""Two-step sign-in (TOTP, RFC 6238): the algorithm against the RFC's test values, enrolment
with a QR code and a first code, recovery codes, each code good once, wrong codes throttled,
the back office behind the second step, required for platform operators."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from tessera.accounts import services, totp
from tessera.accounts.errors import InvalidSecondFactor, SecondFactorLocked, SecondFactorRequired
from tessera.accounts.models import OrganizationKind, RecoveryCode, Role, TwoFactorDevice
from tessera.accounts.tests.factories import make_member, make_organization, make_user
from tessera.core import vault

NOW = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)


def code_now(device, when=NOW) -> str:
    return totp.code_at(device.secret, totp.time_step(when.timestamp()))


@pytest.mark.parametrize(
    ("unix", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_codes_match_rfc_6238_sha1_test_values(unix, expected):
    secret = b"12345678901234567890"
    assert totp.code_at(secret, totp.time_step(unix), digits=8) == expected


def test_the_provisioning_address_names_the_issuer_and_the_secret():
    uri = totp.provisioning_uri(b"12345678901234567890", account="ann lee")
    assert uri == (
        "otpauth://totp/Tessera%3Aann%20lee?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        "&issuer=Tessera&algorithm=SHA1&digits=6&period=30"
    )


@pytest.mark.django_db
def test_enrolment_confirms_with_a_code_and_gives_recovery_codes():
    # given a staff member who started enrolment
    user = make_user(is_staff=True)
    device = services.start_two_factor(user=user, now=NOW)
    assert not device.is_confirmed
    # when a wrong code and then the app's code are entered
    with pytest.raises(InvalidSecondFactor):
        services.confirm_two_factor(user=user, code="000000", now=NOW)
    codes = services.confirm_two_factor(user=user, code=code_now(device), now=NOW)
    # then it is on, with ten single-use recovery codes stored as digests only
    device.refresh_from_db()
    assert device.confirmed_at == NOW
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in codes)
    assert RecoveryCode.objects.filter(user=user).count() == 10
    assert not RecoveryCode.objects.filter(digest__in=codes).exists()
    # and the secret is sealed in the database
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_twofactordevice WHERE id = %s", [device.pk])
        raw = bytes(cursor.fetchone()[0])
    assert vault.is_sealed(raw) and device.secret not in raw


@pytest.mark.django_db
def test_a_code_is_good_once_and_a_recovery_code_once():
    user = make_user(is_staff=True)
    device = services.start_two_factor(user=user, now=NOW)
    codes = services.confirm_two_factor(user=user, code=code_now(device), now=NOW)
    # the code used to confirm cannot sign in again
    with pytest.raises(InvalidSecondFactor):
        services.verify_second_factor(user=user, code=code_now(device), now=NOW)
    # the next step's code can, once
    later = NOW + timedelta(seconds=30)
    assert services.verify_second_factor(user=user, code=code_now(device, later), now=later) == (
        "totp"
    )
    with pytest.raises(InvalidSecondFactor):
        services.verify_second_factor(user=user, code=code_now(device, later), now=later)
    # a recovery code works once, typed loosely
    loose = codes[0].upper().replace("-", " ")
    assert services.verify_second_factor(user=user, code=loose, now=later) == "recovery"
    with pytest.raises(InvalidSecondFactor):
        services.verify_second_factor(user=user, code=codes[0], now=later)
    assert services.unused_recovery_codes(user) == 9


@pytest.mark.django_db
def test_wrong_codes_are_throttled():
    user = make_user(is_staff=True)
    device = services.start_two_factor(user=user, now=NOW)
    services.confirm_two_factor(user=user, code=code_now(device), now=NOW)
    for _ in range(4):
        with pytest.raises(InvalidSecondFactor):
            services.verify_second_factor(user=user, code="123456", now=NOW)
    with pytest.raises(SecondFactorLocked):
        services.verify_second_factor(user=user, code="123456", now=NOW)
    # while locked even the right code is refused
    later = NOW + timedelta(seconds=30)
    with pytest.raises(SecondFactorLocked):
        services.verify_second_factor(user=user, code=code_now(device, later), now=later)


@pytest.mark.django_db
def test_platform_operators_cannot_turn_it_off():
    platform = make_organization(kind=OrganizationKind.PLATFORM)
    operator = make_member(organization=platform, role=Role.STAFF)
    device = services.start_two_factor(user=operator, now=NOW)
    services.confirm_two_factor(user=operator, code=code_now(device), now=NOW)
    later = NOW + timedelta(seconds=30)
    with pytest.raises(SecondFactorRequired):
        services.disable_two_factor(user=operator, code=code_now(device, later), now=later)
    assert TwoFactorDevice.objects.filter(user=operator).exists()


@pytest.mark.django_db
def test_an_organizer_may_turn_it_off_with_a_code():
    user = make_member(organization=make_organization(), role=Role.MANAGER)
    device = services.start_two_factor(user=user, now=NOW)
    services.confirm_two_factor(user=user, code=code_now(device), now=NOW)
    later = NOW + timedelta(seconds=30)
    services.disable_two_factor(user=user, code=code_now(device, later), now=later)
    assert not TwoFactorDevice.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(user=user).exists()


# -- the back office behind the second step ------------------------------------------------


@pytest.mark.django_db
def test_a_platform_operator_must_enrol_before_the_back_office(settings):
    settings.TWO_FACTOR_REQUIRED_FOR_OPERATORS = True  # as in production (settings.py)
    # given a superuser without two-step sign-in, signed in
    admin_user = make_user(username="root", is_staff=True, is_superuser=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin_user)
    # when they open the back office they are sent to set it up
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/?next=%2Fadmin%2F"
    page = client.get(response["Location"]).content.decode()
    assert "must set up two-step sign-in" in page
    assert "<svg" in page  # the QR code
    # when they confirm with the app's code, the back office opens
    device = TwoFactorDevice.objects.get(user=admin_user)
    response = client.post(
        "/accounts/two-factor/",
        {"do": "confirm", "code": code_now(device, datetime.now(UTC)), "next": "/admin/"},
    )
    assert response.status_code == 200
    assert len(re.findall(r"<li>[a-z2-9]{5}-[a-z2-9]{5}</li>", response.content.decode())) == 10
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_an_enrolled_staff_member_enters_a_code_once_per_sign_in():
    user = make_member(organization=make_organization(), role=Role.MANAGER)
    # (the pages read the real clock: enrol now, sign in with the next step's code)
    now = datetime.now(UTC)
    device = services.start_two_factor(user=user, now=now)
    services.confirm_two_factor(user=user, code=code_now(device, now), now=now)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    response = client.get("/admin/catalog/event/")
    assert response["Location"] == "/accounts/two-factor/verify/?next=%2Fadmin%2Fcatalog%2Fevent%2F"
    # a wrong code: a translated error, still outside
    response = client.post(response["Location"], {"code": "000000"})
    assert "That code is not right" in response.content.decode()
    assert client.get("/admin/").status_code == 302
    # the right code opens the back office for this session
    response = client.post(
        "/accounts/two-factor/verify/",
        {"code": code_now(device, now + timedelta(seconds=30)), "next": "/admin/catalog/event/"},
    )
    assert response["Location"] == "/admin/catalog/event/"
    assert client.get("/admin/catalog/event/").status_code == 200
    # signing in again asks again
    client.force_login(user)
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_staff_without_two_step_sign_in_keep_using_the_back_office():
    user = make_member(organization=make_organization(), role=Role.MANAGER)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_verify_page_refuses_to_send_people_elsewhere():
    user = make_member(organization=make_organization(), role=Role.MANAGER)
    # (the pages read the real clock: enrol now, sign in with the next step's code)
    now = datetime.now(UTC)
    device = services.start_two_factor(user=user, now=now)
    services.confirm_two_factor(user=user, code=code_now(device, now), now=now)
    client = Client()
    client.force_login(user)
    response = client.post(
        "/accounts/two-factor/verify/",
        {"code": code_now(device, now + timedelta(seconds=30)), "next": "https://evil.example/"},
    )
    assert response["Location"] == "/admin/"
