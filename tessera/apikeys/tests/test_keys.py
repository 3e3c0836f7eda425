"""A key's life: created in the console, shown once, stored as a digest, expiring, revoked
and rotated with an overlap in which both keys work."""

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse

from tessera.apikeys import services
from tessera.apikeys.errors import KeyInputInvalid, KeyNotUsable
from tessera.apikeys.models import KeyReveal
from tessera.apikeys.tests.factories import make_key
from tessera.core.models import AuditEntry
from tessera.sale import channels
from tessera.sale.models import ChannelKey

pytestmark = pytest.mark.django_db


def keys_url(partner):
    return reverse("apikeys:keys") + f"?org={partner.org.pk}"


def create_in_console(client, partner, **fields):
    data = {
        "name": "Box office sync",
        "scopes": ["orders", "catalog:read"],
        "expires_on": "",
        "rate_limit_per_minute": "120",
        **fields,
    }
    return client.post(keys_url(partner), data)


def test_a_key_made_in_the_console_is_shown_once_and_kept_as_a_digest(client, partner, now):
    client.force_login(partner.owner)
    made = create_in_console(client, partner)
    assert made.status_code == 302
    row = ChannelKey.objects.get()
    assert made["Location"] == reverse("apikeys:shown", args=[row.pk]) + f"?org={partner.org.pk}"
    assert (row.name, row.scopes, row.rate_limit_per_minute) == (
        "Box office sync",
        ["catalog:read", "orders"],
        120,
    )
    assert row.channel == partner.channel and row.created_by == partner.owner

    page = client.get(made["Location"])
    secret = page.context["secret"]
    assert secret.startswith(f"tsk_{row.prefix}_") and secret.encode() in page.content
    assert page["Cache-Control"].startswith("max-age=0")
    # the database holds the digest only: not in the key's row, not in any sealed copy
    row.refresh_from_db()
    assert row.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert not KeyReveal.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT digest, prefix, name FROM sale_channelkey")
        assert secret not in repr(cursor.fetchall())
    # shown once: the same page again has only the prefix
    again = client.get(made["Location"])
    assert again.context["secret"] is None
    assert secret.encode() not in again.content and row.prefix.encode() in again.content
    listing = client.get(keys_url(partner))
    assert secret.encode() not in listing.content and row.prefix.encode() in listing.content
    # the key works
    principal = channels.authenticate(secret, now=now)
    assert (principal.channel_id, principal.scopes) == (
        partner.channel.pk,
        ("catalog:read", "orders"),
    )
    assert principal.rate_limit_per_minute == 120
    assert AuditEntry.objects.filter(action="channel_key.shown").count() == 1


def test_the_sealed_copy_is_only_for_its_creator_and_only_for_minutes(partner, now):
    row, _secret = make_key(partner, now=now)
    assert services.take_reveal(key=row, user=partner.finance, now=now) is None
    late = now + timedelta(minutes=services.REVEAL_MINUTES + 1)
    assert services.take_reveal(key=row, user=partner.owner, now=late) is None
    assert not KeyReveal.objects.exists()


def test_the_raw_sealed_column_does_not_hold_the_key(partner, now):
    row, secret = make_key(partner, now=now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM apikeys_keyreveal WHERE key_id = %s", [row.pk])
        (raw,) = cursor.fetchone()
    assert secret.encode() not in bytes(raw)
    assert services.take_reveal(key=row, user=partner.owner, now=now) == secret


def test_an_expired_key_stops_working(partner, now):
    row, secret = make_key(partner, now=now, expires_at=now + timedelta(hours=1))
    assert channels.authenticate(secret, now=now + timedelta(minutes=59)).key_id == row.pk
    with pytest.raises(channels.ChannelKeyInvalid):
        channels.authenticate(secret, now=now + timedelta(hours=1))


def test_an_expiry_in_the_past_is_refused_and_nothing_is_made(client, partner, now):
    client.force_login(partner.owner)
    yesterday = (now - timedelta(days=2)).date().isoformat()
    page = create_in_console(client, partner, expires_on=yesterday)
    assert page.status_code == 422
    assert "expires_on" in page.context["form"].errors
    assert not ChannelKey.objects.exists()
    with pytest.raises(KeyInputInvalid):
        make_key(partner, now=now, expires_at=now - timedelta(seconds=1))


def test_an_expiry_date_ends_with_that_day(client, partner, now):
    client.force_login(partner.owner)
    day = (now + timedelta(days=10)).date()
    assert create_in_console(client, partner, expires_on=day.isoformat()).status_code == 302
    row = ChannelKey.objects.get()
    from django.utils import timezone

    local = row.expires_at.astimezone(timezone.get_current_timezone())
    assert (local.date(), local.hour, local.minute) == (day + timedelta(days=1), 0, 0)


def test_revoking_stops_the_key_here_at_once_and_in_other_processes_within_the_cache_time(
    client, partner, now, monkeypatch
):
    row, secret = make_key(partner, now=now)
    channels.authenticate(secret, now=now)  # remembered by this process
    # another process revokes it: this one still has it in memory...
    ChannelKey.objects.filter(pk=row.pk).update(revoked_at=now)
    assert channels.authenticate(secret, now=now).key_id == row.pk
    # ...for at most KEY_CACHE_SECONDS
    import time

    later = time.monotonic() + channels.KEY_CACHE_SECONDS + 0.01
    monkeypatch.setattr(channels.time, "monotonic", lambda: later)
    with pytest.raises(channels.ChannelKeyInvalid):
        channels.authenticate(secret, now=now)


def test_revoking_in_the_console(client, partner, now):
    row, secret = make_key(partner, now=now)
    channels.authenticate(secret, now=now)
    client.force_login(partner.owner)
    answer = client.post(reverse("apikeys:revoke", args=[row.pk]) + f"?org={partner.org.pk}")
    assert answer.status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None
    with pytest.raises(channels.ChannelKeyInvalid):  # this process forgot it at once
        channels.authenticate(secret, now=now)
    listing = client.get(keys_url(partner))
    assert [k["status"] for k in listing.context["keys"]] == ["revoked"]
    assert AuditEntry.objects.filter(action="channel_key.revoked", actor=partner.owner).exists()


def test_rotation_keeps_both_keys_working_for_the_overlap(client, partner, now):
    old, old_secret = make_key(partner, now=now, scopes=["orders"], rate=30, name="ERP")
    client.force_login(partner.owner)
    answer = client.post(
        reverse("apikeys:rotate", args=[old.pk]) + f"?org={partner.org.pk}",
        {"overlap_hours": "24"},
    )
    new = ChannelKey.objects.exclude(pk=old.pk).get()
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("apikeys:shown", args=[new.pk]))
    new_secret = client.get(answer["Location"]).context["secret"]
    assert new_secret and new_secret != old_secret
    assert (new.name, new.scopes, new.rate_limit_per_minute, new.channel_id) == (
        "ERP",
        ["orders"],
        30,
        partner.channel.pk,
    )
    assert new.rotated_from_id == old.pk and new.expires_at is None
    old.refresh_from_db()
    assert old.revoked_at is None
    assert abs((old.expires_at - (now + timedelta(hours=24))).total_seconds()) < 60
    # both work during the overlap
    during = now + timedelta(hours=23)
    assert channels.authenticate(old_secret, now=during).key_id == old.pk
    assert channels.authenticate(new_secret, now=during).key_id == new.pk
    # then only the new one
    after = now + timedelta(hours=24, minutes=2)
    with pytest.raises(channels.ChannelKeyInvalid):
        channels.authenticate(old_secret, now=after)
    assert channels.authenticate(new_secret, now=after).key_id == new.pk
    statuses = {k["row"].pk: k["status"] for k in client.get(keys_url(partner)).context["keys"]}
    assert statuses == {old.pk: "rotating", new.pk: "active"}


def test_rotation_without_overlap_stops_the_old_key_now(partner, now):
    old, old_secret = make_key(partner, now=now)
    channels.authenticate(old_secret, now=now)
    new, new_secret = services.rotate_key(key=old, overlap_hours=0, actor=partner.owner, now=now)
    with pytest.raises(channels.ChannelKeyInvalid):
        channels.authenticate(old_secret, now=now)
    assert channels.authenticate(new_secret, now=now).key_id == new.pk


def test_rotation_keeps_a_later_expiry_and_refuses_a_dead_key(partner, now):
    ends = now + timedelta(days=30)
    old, _secret = make_key(partner, now=now, expires_at=ends)
    new, _new_secret = services.rotate_key(key=old, overlap_hours=1, actor=None, now=now)
    assert new.expires_at == ends
    old.refresh_from_db()
    assert abs((old.expires_at - (now + timedelta(hours=1))).total_seconds()) < 1
    services.revoke_key(key=new, actor=None, now=now)
    with pytest.raises(KeyNotUsable):
        services.rotate_key(key=new, overlap_hours=1, actor=None, now=now)
    with pytest.raises(KeyInputInvalid):
        services.rotate_key(key=old, overlap_hours=10**9, actor=None, now=now)
    assert ChannelKey.objects.count() == 2


def test_the_periodic_tidy_forgets_unseen_keys_and_old_counts(partner, now):
    from tessera.apikeys import tasks
    from tessera.apikeys.models import KeyCallCount

    row, _secret = make_key(partner, now=now - timedelta(minutes=services.REVEAL_MINUTES + 1))
    fresh, _fresh_secret = make_key(partner, now=now, name="fresh")
    KeyCallCount.objects.create(
        key=row, hour=now - timedelta(days=91), endpoint="/x", status_class="2xx", count=3
    )
    kept = KeyCallCount.objects.create(
        key=row, hour=now - timedelta(days=6), endpoint="/x", status_class="2xx", count=2
    )
    assert tasks.tidy_key_rows.call() == 2
    assert list(KeyReveal.objects.values_list("key_id", flat=True)) == [fresh.pk]
    assert list(KeyCallCount.objects.all()) == [kept]
