"""Transfers racing other writers, from real threads (meant for PostgreSQL:
TESSERA_DATABASE_URL=postgres://...; on SQLite the file lock serialises them and the loser
retries): acceptance against cancellation, two accounts accepting one link, acceptance
against a scan at the gate. Whatever the interleaving, exactly one wins and no seat has two
credentials that verify."""

import uuid
from datetime import timedelta

import pytest

from tessera.accounts.tests.factories import make_user
from tessera.checkin import services as checkin
from tessera.checkin.models import Presence
from tessera.core.testing import race
from tessera.tickets import credentials
from tessera.tickets.models import Revocation, Ticket, TicketStatus
from tessera.tickets.selectors import revocation_list
from tessera.tickets.services import credential_for
from tessera.tickets.tests.factories import NOW
from tessera.transfers import errors, services
from tessera.transfers.models import Channel, Transfer, TransferStatus
from tessera.transfers.tests.factories import make_transferable

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 6


def valid_versions(ticket: Ticket) -> list[int]:
    """The credential versions of the ticket that a synced scanner would still accept."""
    ticket.refresh_from_db()
    revoked = dict(revocation_list(ticket.session))
    up_to = revoked.get(ticket.pk, 0)
    return [v for v in range(1, ticket.version + 1) if v > up_to and ticket.is_valid]


def test_acceptance_racing_cancellation_one_of_them_wins():
    s = make_transferable(seats=ROUNDS, max_transfers=1)
    outcomes = []
    for ticket in s.tickets:
        sent = services.send_transfer(
            ticket=ticket, sender=s.buyer, channel=Channel.PHONE, contact="13900000002", now=NOW
        )
        (_accepted, accept_error), (cancelled, cancel_error) = race(
            lambda t=sent.transfer: services.accept_transfer(transfer=t, user=s.friend, now=NOW),
            lambda t=sent.transfer: services.cancel_transfer(transfer=t, user=s.buyer, now=NOW),
        )
        transfer = Transfer.objects.get(pk=sent.transfer.pk)
        ticket.refresh_from_db()
        if accept_error is None:
            assert isinstance(cancel_error, errors.TransferNotOpen), cancel_error
            assert transfer.status == TransferStatus.ACCEPTED
            assert (ticket.version, ticket.holder_id) == (2, s.friend.pk)
        else:
            assert cancel_error is None and cancelled.status == TransferStatus.CANCELLED
            assert isinstance(accept_error, errors.TransferNotOpen), accept_error
            assert transfer.status == TransferStatus.CANCELLED
            assert (ticket.version, ticket.holder_id) == (1, None)
        assert len(valid_versions(ticket)) == 1
        outcomes.append(accept_error is None)
    assert len(outcomes) == ROUNDS


def test_two_accounts_accepting_one_link_at_once_one_gets_the_ticket():
    s = make_transferable(seats=ROUNDS, max_transfers=1)
    for ticket in s.tickets:
        sent = services.send_transfer(ticket=ticket, sender=s.buyer, channel=Channel.LINK, now=NOW)
        others = [make_user(password=None, display_name=f"Fan {n}") for n in range(3)]
        results = race(
            *[
                lambda u=user, token=sent.token: services.accept_link(token=token, user=u, now=NOW)
                for user in others
            ]
        )
        winners = [r for r, e in results if e is None]
        losers = [e for r, e in results if e is not None]
        assert len(winners) == 1, results
        assert all(isinstance(e, errors.LinkNotValid | errors.TransferNotOpen) for e in losers), (
            losers
        )
        ticket.refresh_from_db()
        assert ticket.holder_id == winners[0].recipient_id
        assert ticket.version == 2
        assert Revocation.objects.filter(ticket_id=ticket.pk).count() == 1
        assert valid_versions(ticket) == [2]


def test_acceptance_racing_a_scan_either_admits_the_old_code_or_hands_over_never_both():
    s = make_transferable(seats=ROUNDS, max_transfers=1)
    device, _token = checkin.register_device(
        organization=s.session.event.organization, name="gate", now=NOW
    )
    at_gate = s.session.starts_at - timedelta(hours=3)
    accept_at = at_gate - timedelta(minutes=1)  # before the 2-hour cutoff
    outcomes = []
    for ticket in s.tickets:
        code = credential_for(ticket=ticket, now=NOW)
        sent = services.send_transfer(
            ticket=ticket, sender=s.buyer, channel=Channel.LINK, now=accept_at - timedelta(hours=1)
        )

        (_accepted, accept_error), (scan, scan_error) = race(
            lambda token=sent.token: services.accept_link(
                token=token, user=s.friend, now=accept_at
            ),
            lambda c=code: checkin.scan_online(
                device=device,
                session=s.session,
                gate_id=None,
                direction="entry",
                text=c,
                scan_uuid=uuid.uuid4(),
                now=at_gate,
            ),
        )

        assert scan_error is None, scan_error
        ticket.refresh_from_db()
        presence = Presence.objects.filter(ticket_id=ticket.pk).first()
        if scan.reason == "valid":
            # the old code entered: the transfer is refused and nothing moved
            assert isinstance(accept_error, errors.TicketUsed), accept_error
            assert (ticket.version, ticket.holder_id) == (1, None)
            assert presence.entries == 1
            assert Transfer.objects.get(pk=sent.transfer.pk).status == TransferStatus.PENDING
        else:
            # the transfer won: the old code is refused, the new one would enter
            assert accept_error is None, accept_error
            assert scan.reason == "revoked", scan.reason
            assert (ticket.version, ticket.holder_id) == (2, s.friend.pk)
            assert presence is None or presence.entries == 0
            new = credential_for(ticket=ticket, now=accept_at)
            assert credentials.decode(new)[0].version == 2
        assert ticket.status == TicketStatus.VALID
        assert len(valid_versions(ticket)) == 1
        outcomes.append(scan.reason)
    assert len(outcomes) == ROUNDS
