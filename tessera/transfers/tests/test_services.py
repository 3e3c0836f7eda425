"""Transfers through their services: send by phone, email or link, accept, cancel, the
policy's limits and bad input (a clear error, nothing changed)."""

from datetime import timedelta

import pytest

from tessera.aftersales.models import RefundRequestLine
from tessera.catalog import services as catalog
from tessera.checkin.models import Presence
from tessera.core.models import AuditEntry
from tessera.tickets import credentials
from tessera.tickets import services as ticket_services
from tessera.tickets.models import Revocation, Ticket, TicketStatus
from tessera.tickets.selectors import revocation_list
from tessera.tickets.tests.factories import NOW, SESSION_START
from tessera.transfers import errors, guards, selectors, services
from tessera.transfers.models import Channel, Transfer, TransferStatus
from tessera.transfers.tests.factories import make_transferable

pytestmark = pytest.mark.django_db


def snapshot(ticket: Ticket) -> tuple:
    ticket.refresh_from_db()
    return (
        ticket.status,
        ticket.version,
        ticket.holder_id,
        ticket.holder_name,
        Transfer.objects.count(),
        Revocation.objects.count(),
        AuditEntry.objects.filter(action__startswith="transfer.").count(),
    )


def test_a_ticket_sent_by_phone_and_accepted_changes_hands_with_a_new_credential():
    # given 王小明's ticket and its QR code
    s = make_transferable()
    ticket = s.tickets[0]
    old_code = ticket_services.credential_for(ticket=ticket, now=NOW)

    # when he sends it to 李雷's phone number, written another way, and 李雷 accepts
    sent = services.send_transfer(
        ticket=ticket, sender=s.buyer, channel=Channel.PHONE, contact="139 0000 0002", now=NOW
    )
    assert sent.token == ""
    assert sent.transfer.recipient == s.friend
    assert sent.transfer.expires_at == NOW + timedelta(hours=72)
    assert selectors.open_transfer_ticket_ids([t.pk for t in s.tickets], now=NOW) == {ticket.pk}
    later = NOW + timedelta(hours=1)
    accepted = services.accept_transfer(
        transfer=sent.transfer, user=s.friend, holder_name=" 李雷 ", now=later
    )

    # then the ticket is 李雷's, version 2 for his name, and version 1 is on the revocation list
    ticket.refresh_from_db()
    assert accepted.status == TransferStatus.ACCEPTED
    assert (accepted.from_version, accepted.to_version) == (1, 2)
    assert (ticket.status, ticket.version, ticket.holder_id, ticket.holder_name) == (
        TicketStatus.VALID,
        2,
        s.friend.pk,
        "李雷",
    )
    assert revocation_list(s.session) == {(ticket.pk, 1)}
    new_code = ticket_services.credential_for(ticket=ticket, now=later)
    assert new_code != old_code
    assert credentials.decode(new_code)[0].version == 2
    assert ticket.is_held_by(s.friend) and not ticket.is_held_by(s.buyer)
    assert [t.pk for t in selectors.list_tickets_given_to(s.friend)] == [ticket.pk]
    assert selectors.open_transfer_ticket_ids([ticket.pk], now=later) == set()
    assert selectors.given_away_ticket_ids([t.pk for t in s.tickets]) == {ticket.pk}
    assert list(
        AuditEntry.objects.filter(action__startswith="transfer.")
        .order_by("at", "id")
        .values_list("action", flat=True)
    ) == ["transfer.sent", "transfer.accepted"]
    assert AuditEntry.objects.filter(action="ticket.reissued").count() == 1

    # and the buyer can no longer send it, while 李雷 can pass it on (the policy allows 2)
    with pytest.raises(errors.TicketNotFound):
        services.send_transfer(ticket=ticket, sender=s.buyer, channel=Channel.LINK, now=later)
    again = services.send_transfer(
        ticket=ticket, sender=s.friend, channel=Channel.EMAIL, contact="WANG@example.com", now=later
    )
    assert again.transfer.recipient == s.buyer
    services.accept_transfer(transfer=again.transfer, user=s.buyer, now=later)
    ticket.refresh_from_db()
    assert (ticket.version, ticket.holder_id, ticket.holder_name) == (3, s.buyer.pk, "王小明")
    assert selectors.given_away_ticket_ids([ticket.pk]) == set()

    # and a third transfer is over the limit
    with pytest.raises(errors.TransferLimitReached):
        services.send_transfer(ticket=ticket, sender=s.buyer, channel=Channel.LINK, now=later)


def test_a_link_is_accepted_once_by_whoever_opens_it_signed_in():
    # given a one-time link for 王小明's second ticket
    s = make_transferable()
    ticket = s.tickets[1]
    sent = services.send_transfer(ticket=ticket, sender=s.buyer, channel=Channel.LINK, now=NOW)

    # then only the token's hash is stored
    assert len(sent.token) == 43
    assert sent.transfer.token_hash == selectors.hash_token(sent.token)
    assert sent.token not in str(Transfer.objects.values().get())

    # when the sender opens his own link, or someone types a wrong token, nothing happens
    with pytest.raises(errors.RecipientIsSender):
        services.accept_link(token=sent.token, user=s.buyer, now=NOW)
    with pytest.raises(errors.LinkNotValid):
        services.accept_link(token=sent.token[:-1] + "x", user=s.friend, now=NOW)
    with pytest.raises(errors.LinkNotValid):
        services.accept_link(token="\x00", user=s.friend, now=NOW)

    # when 李雷 accepts it (twice: a double click) and then a third account tries
    first = services.accept_link(token=sent.token, user=s.friend, now=NOW)
    second = services.accept_link(token=sent.token, user=s.friend, now=NOW)
    from tessera.accounts.tests.factories import make_user

    with pytest.raises(errors.LinkNotValid):
        services.accept_link(token=sent.token, user=make_user(password=None), now=NOW)

    # then it was accepted once, for 李雷's display name
    assert first.pk == second.pk
    ticket.refresh_from_db()
    assert (ticket.version, ticket.holder_id, ticket.holder_name) == (2, s.friend.pk, "李雷")
    assert Revocation.objects.filter(ticket_id=ticket.pk).count() == 1


def test_the_sender_cancels_before_acceptance_and_the_ticket_stays_his():
    s = make_transferable()
    ticket = s.tickets[0]
    sent = services.send_transfer(
        ticket=ticket, sender=s.buyer, channel=Channel.EMAIL, contact="li.lei@example.com", now=NOW
    )

    # when the recipient tries to cancel, then the sender cancels (twice)
    with pytest.raises(errors.TransferNotFound):
        services.cancel_transfer(transfer=sent.transfer, user=s.friend, now=NOW)
    cancelled = services.cancel_transfer(transfer=sent.transfer, user=s.buyer, now=NOW)
    assert (
        services.cancel_transfer(transfer=sent.transfer, user=s.buyer, now=NOW).pk == cancelled.pk
    )

    # then 李雷 can no longer accept, the ticket is unchanged, and a new transfer may start
    before = snapshot(ticket)
    with pytest.raises(errors.TransferNotOpen):
        services.accept_transfer(transfer=sent.transfer, user=s.friend, now=NOW)
    assert snapshot(ticket) == before
    assert (ticket.version, ticket.holder_id) == (1, None)
    assert cancelled.status == TransferStatus.CANCELLED
    services.send_transfer(ticket=ticket, sender=s.buyer, channel=Channel.LINK, now=NOW)


def test_one_open_transfer_per_ticket_and_an_accepted_one_cannot_be_cancelled():
    s = make_transferable()
    ticket = s.tickets[0]
    sent = services.send_transfer(ticket=ticket, sender=s.buyer, channel=Channel.LINK, now=NOW)
    before = snapshot(ticket)
    with pytest.raises(errors.AlreadyOffered):
        services.send_transfer(
            ticket=ticket, sender=s.buyer, channel=Channel.PHONE, contact="13900000002", now=NOW
        )
    assert snapshot(ticket) == before
    services.accept_link(token=sent.token, user=s.friend, now=NOW)
    with pytest.raises(errors.TransferNotOpen):
        services.cancel_transfer(transfer=sent.transfer, user=s.buyer, now=NOW)


def test_a_transfer_expires_after_72_hours_or_at_the_deadline():
    # given a session 50 hours away with transfers until 2 hours before the start
    s = make_transferable(starts_at=NOW + timedelta(hours=50))
    ticket = s.tickets[0]
    sent = services.send_transfer(ticket=ticket, sender=s.buyer, channel=Channel.LINK, now=NOW)

    # then the link expires at the deadline, not after 72 hours
    assert sent.transfer.expires_at == NOW + timedelta(hours=48)
    late = NOW + timedelta(hours=48)
    before = snapshot(ticket)
    with pytest.raises(errors.TransferNotOpen):
        services.accept_link(token=sent.token, user=s.friend, now=late)
    assert snapshot(ticket) == before
    assert selectors.open_transfer_ticket_ids([ticket.pk], now=late) == set()
    assert sent.transfer.status_at(late) == TransferStatus.EXPIRED

    # and past the deadline nothing can be sent; the tidy-up marks the old one expired
    with pytest.raises(errors.TransferTooLate):
        services.send_transfer(ticket=ticket, sender=s.buyer, channel=Channel.LINK, now=late)
    assert services.expire_transfers(now=late) == 1
    assert Transfer.objects.get().status == TransferStatus.EXPIRED


def test_an_expired_transfer_does_not_block_a_new_one():
    s = make_transferable()
    ticket = s.tickets[0]
    services.send_transfer(ticket=ticket, sender=s.buyer, channel=Channel.LINK, now=NOW)
    later = NOW + timedelta(hours=73)
    services.send_transfer(ticket=ticket, sender=s.buyer, channel=Channel.LINK, now=later)
    assert sorted(Transfer.objects.values_list("status", flat=True)) == ["expired", "pending"]


@pytest.mark.parametrize(
    ("policy", "error"),
    [
        ({"is_transferable": False}, errors.TransferNotAllowed),
        ({"max_transfers": 0}, errors.TransferNotAllowed),
    ],
)
def test_the_policy_can_forbid_transfers(policy, error):
    s = make_transferable(**policy)
    before = snapshot(s.tickets[0])
    with pytest.raises(error) as caught:
        services.send_transfer(ticket=s.tickets[0], sender=s.buyer, channel=Channel.LINK, now=NOW)
    assert str(caught.value) == "Tickets for this session cannot be transferred."
    assert snapshot(s.tickets[0]) == before


def test_past_the_cutoff_a_transfer_is_refused_with_its_deadline():
    s = make_transferable(cutoff_hours=24)
    at = SESSION_START - timedelta(hours=23)
    before = snapshot(s.tickets[0])
    with pytest.raises(errors.TransferTooLate) as caught:
        services.send_transfer(ticket=s.tickets[0], sender=s.buyer, channel=Channel.LINK, now=at)
    assert caught.value.details == {"deadline": (SESSION_START - timedelta(hours=24)).isoformat()}
    assert snapshot(s.tickets[0]) == before


def test_a_policy_changed_after_sending_is_applied_at_acceptance():
    s = make_transferable()
    sent = services.send_transfer(
        ticket=s.tickets[0], sender=s.buyer, channel=Channel.LINK, now=NOW
    )
    catalog.set_policy(event=s.session.event, actor=None, now=NOW, is_transferable=False)
    before = snapshot(s.tickets[0])
    with pytest.raises(errors.TransferNotAllowed):
        services.accept_link(token=sent.token, user=s.friend, now=NOW)
    assert snapshot(s.tickets[0]) == before


def test_bad_senders_and_recipients_are_refused_and_nothing_changes():
    s = make_transferable()
    ticket = s.tickets[0]
    before = snapshot(ticket)
    cases = [
        (s.friend, Channel.LINK, "", errors.TicketNotFound),  # someone else's ticket
        (s.buyer, Channel.PHONE, "13800000001", errors.RecipientIsSender),
        (s.buyer, Channel.EMAIL, "wang@example.com", errors.RecipientIsSender),
        (s.buyer, Channel.EMAIL, "nobody@example.com", errors.RecipientUnknown),
        (s.buyer, Channel.PHONE, "13700000000", errors.RecipientUnknown),
        (s.buyer, Channel.PHONE, "139\x0000000002", errors.ContactInvalid),
        (s.buyer, Channel.EMAIL, "li.lei@exam\x00ple.com", errors.ContactInvalid),
        (s.buyer, Channel.EMAIL, "not-an-email", errors.ContactInvalid),
        (s.buyer, Channel.PHONE, "call me", errors.ContactInvalid),
        (s.buyer, Channel.EMAIL, "x" * 300 + "@example.com", errors.ContactInvalid),
        (s.buyer, Channel.EMAIL, ["li.lei@example.com"], errors.ContactInvalid),
        (s.buyer, "pigeon", "", errors.ChannelInvalid),
    ]
    for sender, channel, contact, error in cases:
        with pytest.raises(error):
            services.send_transfer(
                ticket=ticket, sender=sender, channel=channel, contact=contact, now=NOW
            )
        assert snapshot(ticket) == before, (channel, contact)
    assert errors.RecipientUnknown().message.startswith("No account has this phone number")


def test_a_bad_holder_name_is_refused_at_acceptance():
    s = make_transferable()
    sent = services.send_transfer(
        ticket=s.tickets[0], sender=s.buyer, channel=Channel.LINK, now=NOW
    )
    before = snapshot(s.tickets[0])
    for name in ("李\x00雷", "x" * 81, 42):
        with pytest.raises(errors.HolderNameInvalid):
            services.accept_link(token=sent.token, user=s.friend, holder_name=name, now=NOW)
    assert snapshot(s.tickets[0]) == before


def test_tickets_used_revoked_or_being_refunded_are_not_transferred():
    s = make_transferable(seats=3)
    used, revoked, claimed = s.tickets
    Presence.objects.create(session=s.session, ticket_id=used.pk, entries=1, is_inside=True)
    ticket_services.revoke_ticket(ticket=revoked, reason="refund", now=NOW)
    from tessera.aftersales.models import RefundRequest

    request = RefundRequest.objects.create(
        order=s.order, currency="CNY", price="380.00", fee="0.00", amount="380.00", created_at=NOW
    )
    RefundRequestLine.objects.create(
        request=request, line=claimed.order_line, price="380.00", fee="0.00", percent="0"
    )
    for ticket, error in (
        (used, errors.TicketUsed),
        (revoked, errors.TicketNotTransferable),
        (claimed, errors.RefundPending),
    ):
        before = snapshot(ticket)
        with pytest.raises(error):
            services.send_transfer(ticket=ticket, sender=s.buyer, channel=Channel.LINK, now=NOW)
        assert snapshot(ticket) == before


def test_a_ticket_that_entered_after_sending_is_not_handed_over():
    s = make_transferable()
    sent = services.send_transfer(
        ticket=s.tickets[0], sender=s.buyer, channel=Channel.LINK, now=NOW
    )
    Presence.objects.create(session=s.session, ticket_id=s.tickets[0].pk, entries=1)
    before = snapshot(s.tickets[0])
    with pytest.raises(errors.TicketUsed):
        services.accept_link(token=sent.token, user=s.friend, now=NOW)
    assert snapshot(s.tickets[0]) == before


def refuse_everyone(**kwargs):
    from tessera.core.errors import PermissionDenied

    raise PermissionDenied("identity required", details={"step": kwargs["step"]})


def test_transfer_guards_can_refuse_the_recipient(settings):
    # given the identity hook that refuses every recipient at acceptance
    s = make_transferable()
    sent = services.send_transfer(
        ticket=s.tickets[0], sender=s.buyer, channel=Channel.LINK, now=NOW
    )
    settings.TRANSFER_GUARDS = ["tessera.transfers.tests.test_services.refuse_everyone"]
    before = snapshot(s.tickets[0])

    # then acceptance is refused and nothing moves
    with pytest.raises(Exception, match="identity required") as caught:
        services.accept_link(token=sent.token, user=s.friend, now=NOW)
    assert caught.value.details == {"step": "accept"}
    assert snapshot(s.tickets[0]) == before


def test_the_refund_guard_refuses_tickets_in_transfer_or_given_away():
    s = make_transferable()
    first, second = s.tickets
    sent = services.send_transfer(ticket=first, sender=s.buyer, channel=Channel.LINK, now=NOW)
    with pytest.raises(errors.TicketInTransfer) as caught:
        guards.refuse_tickets_in_transfer(ticket_ids=[first.pk, second.pk], now=NOW)
    assert caught.value.details == {"tickets": [first.pk]}
    services.accept_link(token=sent.token, user=s.friend, now=NOW)
    with pytest.raises(errors.TicketGivenAway):
        guards.refuse_tickets_in_transfer(ticket_ids=[first.pk, second.pk], now=NOW)
    guards.refuse_tickets_in_transfer(ticket_ids=[second.pk], now=NOW)
