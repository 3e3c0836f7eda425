"""The audit log: one append-only entry per change, written by services."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser

from tessera.accounts.models import User
from tessera.accounts.tests.factories import make_organization, make_user
from tessera.core import audit
from tessera.core.models import AuditEntry

pytestmark = pytest.mark.django_db

AT = datetime(2025, 6, 1, 4, 0, tzinfo=UTC)


def test_record_writes_who_what_when_and_data():
    actor = make_user(username="auditor", password=None)
    org = make_organization()

    entry = audit.record(
        action="organization.renamed",
        obj=org,
        actor=actor,
        organization_id=org.pk,
        now=AT,
        data={"from": "甲", "to": "乙"},
    )

    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.at, stored.actor, stored.organization_id, stored.action) == (
        AT,
        actor,
        org.pk,
        "organization.renamed",
    )
    assert (stored.object_type, stored.object_id, stored.data) == (
        "accounts.organization",
        str(org.pk),
        {"from": "甲", "to": "乙"},
    )
    assert str(stored) == f"2025-06-01 04:00 organization.renamed accounts.organization#{org.pk}"


@pytest.mark.parametrize("actor", [None, AnonymousUser(), User(username="unsaved")])
def test_record_without_a_stored_actor(actor):
    org = make_organization()
    entry = audit.record(action="x.done", obj=org, actor=actor, now=AT)
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.actor_id, stored.organization_id, stored.data) == (None, None, {})


def test_entries_read_newest_first():
    org = make_organization()
    older = audit.record(action="a", obj=org, now=AT)
    newer = audit.record(action="b", obj=org, now=AT.replace(hour=5))
    same_time = audit.record(action="c", obj=org, now=AT.replace(hour=5))
    assert list(AuditEntry.objects.all()) == [same_time, newer, older]
