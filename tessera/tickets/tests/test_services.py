from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.db import connection

from tessera.accounts.tests.factories import make_user
from tessera.core.errors import InvalidInput
from tessera.core.models import AuditEntry
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.orders.models import LineStatus, OrderStatus
from tessera.tickets import credentials as cred
from tessera.tickets import services
from tessera.tickets.models import KeyPurpose, Revocation, SessionKey, Ticket, TicketStatus
from tessera.tickets.tests.factories import NOW, make_paid_order, make_ticketed_session

pytestmark = pytest.mark.django_db

DURING = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)


def verify_now(text: str, session, *, now=DURING) -> cred.Payload:
    """Verify as a gate would, from the session's published keys and revocations."""
    return cred.verify(
        text,
        public_keys=services.public_keys_for_session(session),
        is_revoked=services.revocation_list(session),
        now=now,
    )


def refusal(text: str, session, *, now=DURING) -> str:
    with pytest.raises(cred.CredentialError) as info:
        verify_now(text, session, now=now)
    return info.value.reason


# -- keys --------------------------------------------------------------------------------


def test_a_session_gets_one_signing_key_whose_public_half_is_published():
    # given a session without keys
    session, _zone = make_ticketed_session()
    # when the signing key is asked for twice
    key = services.get_or_create_signing_key(session=session, now=NOW)
    again = services.get_or_create_signing_key(session=session, now=NOW + timedelta(hours=1))
    # then one key exists, and its public half matches its private half
    assert again.pk == key.pk
    assert SessionKey.objects.filter(session=session).count() == 1
    assert (key.purpose, key.created_at, key.retired_at) == (KeyPurpose.SIGNING, NOW, None)
    private = Ed25519PrivateKey.from_private_bytes(bytes(key.secret))
    assert private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == bytes(
        key.public_key
    )
    assert services.public_keys_for_session(session) == {key.kid: bytes(key.public_key)}
    assert AuditEntry.objects.filter(action="tickets.signing_key_created").count() == 1


def test_key_ids_are_unique_across_sessions_and_purposes():
    first, _ = make_ticketed_session()
    second, _ = make_ticketed_session()
    a = services.get_or_create_signing_key(session=first, now=NOW)
    b = services.get_or_create_signing_key(session=second, now=NOW)
    c = services.get_or_create_rotation_key(session=first, now=NOW)
    assert len({a.kid, b.kid, c.kid}) == 3
    assert sorted([a.kid, b.kid, c.kid]) == list(range(a.kid, a.kid + 3))
    assert services.public_keys_for_session(first) == {a.kid: bytes(a.public_key)}


def test_rotating_the_signing_key_keeps_old_credentials_valid():
    # given a ticket whose credential is signed by the first key
    order = make_paid_order(seats=1)
    (ticket,) = services.issue_tickets(order=order, now=NOW)
    old_text = services.credential_for(ticket=ticket, now=NOW)
    old_key = SessionKey.objects.get(session=order.session, purpose=KeyPurpose.SIGNING)
    # when the key is rotated
    later = NOW + timedelta(days=1)
    new_key = services.rotate_signing_key(session=order.session, now=later)
    # then new credentials use the new key and both keys verify
    new_text = services.credential_for(ticket=ticket, now=later)
    old_key.refresh_from_db()
    assert old_key.retired_at == later
    assert new_key.kid != old_key.kid
    assert set(services.public_keys_for_session(order.session)) == {old_key.kid, new_key.kid}
    assert verify_now(old_text, order.session).key_id == old_key.kid
    assert verify_now(new_text, order.session).key_id == new_key.kid


@pytest.mark.django_db(transaction=True)
def test_parallel_key_creation_gives_unique_kids_and_one_key_per_session():
    # given six sessions, each asked for its signing key by two workers at once
    sessions = [make_ticketed_session(seats=1)[0] for _ in range(6)]
    # SQLite serialises writers, so there the same calls run one after another.
    workers = 12 if connection.vendor == "postgresql" else 1

    def create(session):
        try:
            return services.get_or_create_signing_key(session=session, now=NOW).kid
        finally:
            connection.close()

    with ThreadPoolExecutor(workers) as pool:
        kids = list(pool.map(create, sessions + sessions))
    # then each session has exactly one key, both workers got it, and no kid repeats
    keys = SessionKey.objects.filter(purpose=KeyPurpose.SIGNING)
    assert keys.count() == 6
    assert len(set(keys.values_list("kid", flat=True))) == 6
    by_session = dict(keys.values_list("session_id", "kid"))
    assert kids == [by_session[s.pk] for s in sessions + sessions]
    assert AuditEntry.objects.filter(action="tickets.signing_key_created").count() == 6


# -- issuance ----------------------------------------------------------------------------


def test_issue_tickets_gives_each_active_line_a_ticket_for_its_holder():
    # given a paid order of two seats and one standing place, one named attendee
    order = make_paid_order(seats=2, standing=1, attendee_names=["李雷"])
    lines = list(order.lines.order_by("id"))
    # when tickets are issued
    tickets = services.issue_tickets(order=order, now=NOW)
    # then one valid ticket per line, holder = attendee or else the buyer
    assert [t.order_line_id for t in tickets] == [line.pk for line in lines]
    assert [t.holder_name for t in tickets] == ["李雷", "王小明", "王小明"]
    assert [t.unit_id for t in tickets] == [line.unit_id for line in lines]
    assert {(t.status, t.version, t.issued_at, t.session_id) for t in tickets} == {
        (TicketStatus.VALID, 1, NOW, order.session_id)
    }
    entry = AuditEntry.objects.get(action="tickets.issued")
    assert entry.data == {"tickets": [t.pk for t in tickets]}
    assert entry.object_id == str(order.pk)
    assert (
        SessionKey.objects.filter(
            session=order.session, purpose=KeyPurpose.SIGNING, retired_at__isnull=True
        ).count()
        == 1
    )


def test_issue_tickets_twice_returns_the_same_tickets_and_creates_none():
    order = make_paid_order(seats=2)
    first = services.issue_tickets(order=order, now=NOW)
    second = services.issue_tickets(order=order, now=NOW + timedelta(minutes=1))
    assert [t.pk for t in second] == [t.pk for t in first]
    assert [t.issued_at for t in second] == [NOW, NOW]
    assert Ticket.objects.count() == 2
    assert AuditEntry.objects.filter(action="tickets.issued").count() == 1


def test_a_refunded_line_gets_no_ticket():
    order = make_paid_order(seats=2)
    refunded = order.lines.order_by("id").first()
    refunded.status = LineStatus.REFUNDED
    refunded.save()
    tickets = services.issue_tickets(order=order, now=NOW)
    assert [t.order_line_id for t in tickets] == [order.lines.order_by("id").last().pk]


def test_the_buyer_name_falls_back_to_the_full_name_then_the_username():
    named = make_user(username="fan-a", first_name="Lei", last_name="Li")
    bare = make_user(username="fan-b")
    a = services.issue_tickets(order=make_paid_order(seats=1, user=named), now=NOW)
    b = services.issue_tickets(order=make_paid_order(seats=1, user=bare), now=NOW)
    assert (a[0].holder_name, b[0].holder_name) == ("Lei Li", "fan-b")


def test_an_unpaid_order_gets_no_tickets():
    order = make_paid_order(seats=2, status=OrderStatus.PENDING_PAYMENT)
    with pytest.raises(services.OrderNotPaid) as info:
        services.issue_tickets(order=order, now=NOW)
    assert info.value.code == "order_not_paid"
    assert Ticket.objects.count() == 0
    assert not AuditEntry.objects.filter(action="tickets.issued").exists()


def test_a_place_not_sold_to_its_line_stops_the_whole_issue():
    # given a paid order whose second place was never marked sold
    order = make_paid_order(seats=2)
    second = order.lines.order_by("id").last()
    InventoryUnit.objects.filter(pk=second.unit_id).update(
        status=UnitStatus.AVAILABLE, order_line_id=None
    )
    # when tickets are issued, then nothing is issued
    with pytest.raises(services.PlaceNotSold) as info:
        services.issue_tickets(order=order, now=NOW)
    assert info.value.details == {"line": second.pk}
    assert Ticket.objects.count() == 0
    assert SessionKey.objects.count() == 0


# -- credentials -------------------------------------------------------------------------


def test_the_credential_names_the_ticket_place_window_and_holder():
    # given an issued ticket of a session ending 2026-12-25 13:30 UTC
    order = make_paid_order(seats=1, attendee_names=["李雷"])
    (ticket,) = services.issue_tickets(order=order, now=NOW + timedelta(seconds=42))
    # when its credential is made and checked as a gate would
    text = services.credential_for(ticket=ticket)
    payload = verify_now(text, order.session)
    # then it carries the ticket, valid from issuance to the end + 6 h
    key = SessionKey.objects.get(session=order.session, purpose=KeyPurpose.SIGNING)
    assert payload == cred.Payload(
        ticket_id=ticket.pk,
        session_id=order.session_id,
        unit_id=ticket.unit_id,
        not_before=NOW,
        not_after=datetime(2026, 12, 25, 19, 30, tzinfo=UTC),
        holder_digest=cred.holder_digest("李雷", ticket.pk),
        version=1,
        key_id=key.kid,
    )
    assert payload.holder_matches("李 雷")
    assert text == services.credential_for(ticket=ticket)  # deterministic
    assert refusal(text, order.session, now=datetime(2026, 12, 25, 19, 30, tzinfo=UTC)) == (
        "expired"
    )
    assert refusal(text, order.session, now=NOW - timedelta(minutes=1)) == "not_yet_valid"


def test_without_an_end_time_the_credential_runs_to_start_plus_12_hours():
    session, zone = make_ticketed_session(seats=1, standing_capacity=1, ends_at=None)
    order = make_paid_order(session=session, zone=zone, seats=1)
    (ticket,) = services.issue_tickets(order=order, now=NOW)
    payload = verify_now(services.credential_for(ticket=ticket), session)
    assert payload.not_after == datetime(2026, 12, 25, 23, 30, tzinfo=UTC)


def test_rotation_keys_differ_per_ticket_and_stay_stable():
    order = make_paid_order(seats=2)
    first, second = services.issue_tickets(order=order, now=NOW)
    key_one = services.ticket_rotation_key(ticket=first, now=NOW)
    assert services.ticket_rotation_key(ticket=first, now=NOW) == key_one
    assert services.ticket_rotation_key(ticket=second, now=NOW) != key_one
    code = cred.rotating_code(key_one, DURING)
    assert cred.check_rotating_code(key_one, code, DURING + timedelta(seconds=30))
    assert SessionKey.objects.filter(purpose=KeyPurpose.ROTATION).count() == 1


# -- revocation and reissue --------------------------------------------------------------


def test_revoking_a_ticket_puts_its_credential_on_the_revocation_list():
    # given an issued ticket and its credential
    order = make_paid_order(seats=1)
    (ticket,) = services.issue_tickets(order=order, now=NOW)
    text = services.credential_for(ticket=ticket, now=NOW)
    # when it is revoked for a refund
    later = NOW + timedelta(days=2)
    services.revoke_ticket(ticket=ticket, reason="refund", now=later)
    # then the ticket is revoked, its version bumped, and gates refuse the credential
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version, ticket.revoked_at) == (TicketStatus.REVOKED, 2, later)
    assert list(Revocation.objects.values_list("ticket_id", "version", "reason", "at")) == [
        (ticket.pk, 1, "refund", later)
    ]
    assert services.revocation_list(order.session) == {(ticket.pk, 1)}
    assert refusal(text, order.session) == "revoked"
    with pytest.raises(services.TicketRevoked):
        services.credential_for(ticket=ticket)
    assert AuditEntry.objects.get(action="ticket.revoked").data == {
        "reason": "refund",
        "revoked_version": 1,
    }


def test_revoking_twice_changes_nothing_the_second_time():
    order = make_paid_order(seats=1)
    (ticket,) = services.issue_tickets(order=order, now=NOW)
    services.revoke_ticket(ticket=ticket, reason="refund", now=NOW)
    again = services.revoke_ticket(ticket=ticket, reason="refund", now=NOW + timedelta(hours=1))
    assert (again.version, again.revoked_at) == (2, NOW)
    assert Revocation.objects.count() == 1
    assert AuditEntry.objects.filter(action="ticket.revoked").count() == 1


def test_a_revocation_needs_a_short_reason():
    order = make_paid_order(seats=1)
    (ticket,) = services.issue_tickets(order=order, now=NOW)
    for reason in ("", "   ", "x" * 41):
        with pytest.raises(InvalidInput):
            services.revoke_ticket(ticket=ticket, reason=reason, now=NOW)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version) == (TicketStatus.VALID, 1)
    assert Revocation.objects.count() == 0


def test_reissuing_for_a_new_holder_revokes_the_old_credential_only():
    # given a ticket and its credential for 王小明
    order = make_paid_order(seats=1)
    (ticket,) = services.issue_tickets(order=order, now=NOW)
    old_text = services.credential_for(ticket=ticket, now=NOW)
    # when it is transferred to 韩梅梅
    services.reissue_ticket(ticket=ticket, holder_name="  韩梅梅 ", now=NOW + timedelta(days=1))
    # then the new version is valid for her and the old one refused
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version, ticket.holder_name) == (TicketStatus.VALID, 2, "韩梅梅")
    new_payload = verify_now(services.credential_for(ticket=ticket), order.session)
    assert new_payload.version == 2
    assert new_payload.holder_matches("韩梅梅")
    assert not new_payload.holder_matches("王小明")
    assert refusal(old_text, order.session) == "revoked"
    assert list(Revocation.objects.values_list("version", "reason")) == [(1, "reissued")]
    # and a later refund revokes the new version too
    services.revoke_ticket(ticket=ticket, reason="refund", now=NOW + timedelta(days=2))
    assert services.revocation_list(order.session) == {(ticket.pk, 2)}


def test_a_revoked_ticket_cannot_be_reissued_and_a_name_is_required():
    order = make_paid_order(seats=2)
    revoked, valid = services.issue_tickets(order=order, now=NOW)
    services.revoke_ticket(ticket=revoked, reason="refund", now=NOW)
    with pytest.raises(services.TicketRevoked):
        services.reissue_ticket(ticket=revoked, holder_name="韩梅梅", now=NOW)
    for name in ("", "  ", "名" * 81):
        with pytest.raises(InvalidInput):
            services.reissue_ticket(ticket=valid, holder_name=name, now=NOW)
    valid.refresh_from_db()
    revoked.refresh_from_db()
    assert (valid.version, valid.holder_name) == (1, "王小明")
    assert (revoked.version, revoked.holder_name) == (2, "王小明")
    assert Revocation.objects.count() == 1
