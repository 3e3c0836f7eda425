"""One partner never sees nor changes another's keys or call log; finance reads; a fan or
an organizer has no keys. Bad input gets a clear answer and changes nothing."""

import pytest
from django.urls import reverse

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization, make_user
from tessera.apikeys.errors import ChannelMissing
from tessera.apikeys.models import SandboxWorld
from tessera.apikeys.tests.factories import make_key
from tessera.sale import channels
from tessera.sale.models import ChannelKey

pytestmark = pytest.mark.django_db


def url(name, partner, *args):
    return reverse(name, args=args) + f"?org={partner.org.pk}"


def test_a_partner_never_reaches_another_partners_keys(client, partner, other, now):
    theirs, their_secret = make_key(other, now=now, name="Theirs")
    mine, _secret = make_key(partner, now=now, name="Mine")
    client.force_login(partner.owner)
    listing = client.get(url("apikeys:keys", partner))
    assert [k["row"] for k in listing.context["keys"]] == [mine]
    assert b"Theirs" not in listing.content and theirs.prefix.encode() not in listing.content
    # their key through my console: not found, and nothing changes
    for name in ("apikeys:shown", "apikeys:key_calls"):
        assert client.get(url(name, partner, theirs.pk)).status_code == 404
    for name in ("apikeys:revoke", "apikeys:rotate"):
        answer = client.post(url(name, partner, theirs.pk), {"overlap_hours": "1"})
        assert answer.status_code == 404
    # their console: refused
    for name in ("apikeys:keys", "apikeys:calls"):
        assert client.get(url(name, other)).status_code == 403
    assert client.post(url("apikeys:revoke", other, theirs.pk)).status_code == 403
    assert client.post(url("apikeys:sandbox", other)).status_code == 403
    theirs.refresh_from_db()
    assert theirs.revoked_at is None and theirs.expires_at is None
    assert ChannelKey.objects.count() == 2
    assert channels.authenticate(their_secret, now=now).key_id == theirs.pk
    assert not SandboxWorld.objects.exists()
    # the one-time page of their new key shows me nothing either
    assert client.get(url("apikeys:shown", partner, theirs.pk)).status_code == 404


def test_finance_reads_but_never_changes(client, partner, now):
    row, _secret = make_key(partner, now=now)
    client.force_login(partner.finance)
    page = client.get(url("apikeys:keys", partner))
    assert page.status_code == 200 and page.context["writer"] is False
    assert b'id="key-form"' not in page.content and b"data-revoke" not in page.content
    assert client.get(url("apikeys:key_calls", partner, row.pk)).status_code == 200
    made = client.post(
        url("apikeys:keys", partner),
        {"name": "x", "scopes": ["orders"], "rate_limit_per_minute": "1"},
    )
    assert made.status_code == 403
    assert client.post(url("apikeys:revoke", partner, row.pk)).status_code == 403
    assert (
        client.post(url("apikeys:rotate", partner, row.pk), {"overlap_hours": "1"}).status_code
        == 403
    )
    assert client.post(url("apikeys:sandbox", partner)).status_code == 403
    row.refresh_from_db()
    assert row.revoked_at is None and ChannelKey.objects.count() == 1


def test_an_organizer_has_no_keys_and_a_fan_no_console(client):
    organizer = make_organization(kind=OrganizationKind.ORGANIZER, slug="org-z")
    manager = make_member(organization=organizer, role=Role.OWNER)
    client.force_login(manager)
    page = client.get(reverse("apikeys:keys"))
    assert page.status_code == 200 and page.context["is_distributor"] is False
    assert b'id="not-distributor"' in page.content
    assert client.post(reverse("apikeys:keys"), {"name": "x"}).status_code == 403
    client.force_login(make_user(username="fan"))
    assert client.get(reverse("apikeys:keys")).status_code == 403
    assert client.get(reverse("apikeys:calls")).status_code == 403
    client.logout()
    assert client.get(reverse("apikeys:keys")).status_code == 302


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "a\x00b"},
        {"name": ""},
        {"name": "x" * 81},
        {"scopes": []},
        {"scopes": ["orders", "root"]},
        {"rate_limit_per_minute": "99999999999999999999999"},
        {"rate_limit_per_minute": "-1"},
        {"rate_limit_per_minute": "ten"},
        {"expires_on": "2026-13-45"},
        {"expires_on": "99999-01-01"},
        {"expires_on": "1999-01-01"},
        {"channel": "99999999999999999999"},
    ],
)
def test_bad_key_input_is_refused_clearly_and_changes_nothing(client, partner, fields):
    client.force_login(partner.owner)
    data = {"name": "ERP", "scopes": ["orders"], "rate_limit_per_minute": "60", **fields}
    answer = client.post(url("apikeys:keys", partner), data)
    assert answer.status_code in (400, 422), answer.status_code
    assert not ChannelKey.objects.exists()


@pytest.mark.parametrize("overlap", ["", "abc", "-5", "99999999999999999999", "\x00", "25"])
def test_bad_rotation_input_changes_nothing(client, partner, now, overlap):
    row, _secret = make_key(partner, now=now)
    client.force_login(partner.owner)
    answer = client.post(url("apikeys:rotate", partner, row.pk), {"overlap_hours": overlap})
    assert answer.status_code in (302, 400)
    assert ChannelKey.objects.count() == 1
    row.refresh_from_db()
    assert row.expires_at is None and row.revoked_at is None


@pytest.mark.parametrize("path", ["keys/99999999999999999999999/calls/", "keys/0/new/"])
def test_odd_key_ids_are_not_found(client, partner, path):
    client.force_login(partner.owner)
    assert client.get(f"/partners/{path}?org={partner.org.pk}").status_code == 404


def test_a_partner_without_a_channel_is_told_and_can_still_test(client, now):
    lonely = make_organization(kind=OrganizationKind.DISTRIBUTOR, slug="lonely")
    owner = make_member(organization=lonely, role=Role.OWNER)
    client.force_login(owner)
    page = client.get(reverse("apikeys:keys"))
    assert b'id="no-channel"' in page.content
    refused = client.post(
        reverse("apikeys:keys"), {"name": "x", "scopes": ["orders"], "rate_limit_per_minute": "5"}
    )
    assert refused.status_code == 422 and not ChannelKey.objects.exists()
    assert refused.context["form"].non_field_errors() == [str(ChannelMissing.default_message)]
    assert b'id="key-form-error"' in refused.content
    made = client.post(
        reverse("apikeys:keys"),
        {"name": "test", "scopes": ["orders"], "rate_limit_per_minute": "5", "sandbox": "on"},
    )
    assert made.status_code == 302
    key = ChannelKey.objects.get()
    assert key.is_sandbox and key.channel == SandboxWorld.objects.get(partner=lonely).channel
