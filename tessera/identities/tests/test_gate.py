"""At the gate: a real-name ticket's credential signs a salted digest of its document number,
the device bundle carries the name and masked number (never the number)."""

import json

import pytest

from tessera.checkin import selectors
from tessera.checkin.tests.factories import make_gates
from tessera.identities import services as identities
from tessera.identities.documents import mask
from tessera.identities.models import LineIdentity
from tessera.tickets import credentials
from tessera.tickets import services as ticket_services
from tessera.tickets.models import Ticket
from tessera.tickets.tests.factories import NOW

NUMBERS = ["11010519491231002X", "440524188001010014"]
NAMES = ["王小明", "Li Lei"]


def bind(gates):
    """Make the gates' session real-name and give its tickets identities (as a checkout
    would have); fresh credentials for them."""
    session = gates.session
    session.real_name_required = True
    session.save(update_fields=["real_name_required"])
    for ticket, number, name in zip(gates.tickets, NUMBERS, NAMES, strict=True):
        LineIdentity.objects.create(
            line=ticket.order_line,
            session=session,
            name=name,
            doc_type="resident_id",
            number=number.encode(),
            blind_index=identities.blind_index("resident_id", number),
            masked=mask(number),
        )
    fresh = Ticket.objects.filter(pk__in=[t.pk for t in gates.tickets]).order_by("pk")
    return [ticket_services.credential_for(ticket=t, now=NOW) for t in fresh]


@pytest.mark.django_db
def test_a_real_name_credential_carries_the_salted_digest_of_its_document():
    gates = make_gates(tickets=2, names=NAMES)
    plain = gates.credentials[0]
    first, second = bind(gates)
    payload, _signed, _signature = credentials.decode(first)
    ticket_id = gates.tickets[0].pk
    assert payload.holder_digest == credentials.identity_digest(NUMBERS[0], ticket_id)
    assert payload.holder_digest == credentials.identity_digest(" 11010519491231002x", ticket_id)
    assert payload.holder_digest != credentials.identity_digest(NUMBERS[1], ticket_id)
    # salted by the ticket: the same person's digest differs on another ticket
    assert credentials.identity_digest(NUMBERS[0], ticket_id) != credentials.identity_digest(
        NUMBERS[0], ticket_id + 1
    )
    # a plain session's credential keeps the name's digest
    assert credentials.decode(plain)[0].holder_digest == credentials.holder_digest(
        NAMES[0], ticket_id
    )
    assert credentials.decode(second)[0].holder_digest == credentials.identity_digest(
        NUMBERS[1], gates.tickets[1].pk
    )


@pytest.mark.django_db
def test_the_bundle_names_the_holders_masked_and_never_the_number():
    gates = make_gates(tickets=2, names=NAMES)
    bind(gates)
    with_names = selectors.device_bundle(session=gates.session, include_names=True, now=NOW)
    assert with_names["real_name"] is True
    assert with_names["identities"] == [
        [gates.tickets[0].pk, "王小明", "resident_id", "1101**********002X"],
        [gates.tickets[1].pk, "Li Lei", "resident_id", "4405**********0014"],
    ]
    text = json.dumps(with_names, ensure_ascii=False)
    assert all(number not in text for number in NUMBERS)
    without = selectors.device_bundle(session=gates.session, include_names=False, now=NOW)
    assert (without["real_name"], without["identities"]) == (True, [])
