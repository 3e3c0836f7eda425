"""The seat map's availability encoding and payload."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.inventory import seatmap
from tessera.inventory import services as inventory
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.seatmap import CLOSED, FREE, HELD, SOLD, decode_states, encode_states
from tessera.inventory.tests.factories import make_buyer, make_channel, make_sale


@pytest.fixture(autouse=True)
def _fresh_order_cache():
    seatmap.clear_order_cache()
    yield
    seatmap.clear_order_cache()


def test_every_state_round_trips_and_packs_four_seats_a_byte():
    states = [FREE, HELD, SOLD, CLOSED, CLOSED, SOLD, HELD, FREE, HELD]
    text = encode_states(states)
    assert base64.b64decode(text) == bytes([0b11100100, 0b00011011, 0b00000001])
    assert text == "5BsB"
    assert decode_states(text, len(states)) == states


@pytest.mark.parametrize("count", [0, 1, 3, 4, 5, 8, 1001])
def test_lengths_that_are_not_multiples_of_four_round_trip(count):
    states = [(i * 7 + i // 3) % 4 for i in range(count)]
    assert decode_states(encode_states(states), count) == states


def test_empty_and_bad_input():
    assert encode_states([]) == ""
    assert decode_states("", 0) == []
    with pytest.raises(ValueError):
        encode_states([4])
    with pytest.raises(ValueError):
        decode_states("5BsB", 20)


def test_sixty_thousand_seats_fit_in_twenty_thousand_characters():
    text = encode_states([FREE] * 60_000)
    assert len(text) == 20_000
    assert decode_states(text, 60_000) == [FREE] * 60_000


@pytest.mark.django_db
def test_payload_marks_held_sold_blocked_channel_and_expired_seats():
    now = timezone.now()
    sale = make_sale(sections=1, rows=2, seats_per_row=4, standing_capacity=5, now=now)
    buyer, other = make_buyer(), make_buyer()
    a1, a2, a3, _a4 = sale.seat_units("S1", "A", [1, 2, 3, 4])
    b1, _b2, _b3, b4 = sale.seat_units("S1", "B", [1, 2, 3, 4])
    inventory.hold_units(session=sale.session, user=buyer, unit_ids=[a1.pk], now=now)
    InventoryUnit.objects.filter(pk=a2.pk).update(status=UnitStatus.SOLD, order_line_id=1)
    InventoryUnit.objects.filter(pk=a3.pk).update(status=UnitStatus.BLOCKED)
    InventoryUnit.objects.filter(pk=b1.pk).update(channel=make_channel())
    # a hold that expired a minute ago leaves its seat free
    expired = inventory.hold_units(
        session=sale.session, user=other, unit_ids=[b4.pk], now=now - timedelta(minutes=11)
    )
    assert expired.expires_at < now
    inventory.hold_quantity(
        session=sale.session, user=other, zone=sale.zones["GA"], quantity=2, now=now
    )

    payload = seatmap.build_availability(session=sale.session, now=now, version=7)

    s1, ga = str(sale.sections["S1"].pk), str(sale.sections["GA"].pk)
    assert payload == {
        "session_id": sale.session.pk,
        "version": 7,
        "sections": {
            s1: {"free": 4, "total": 8, "states": encode_states([1, 2, 3, 0, 3, 0, 0, 0])},
            ga: {"free": 3, "total": 5},
        },
    }


@pytest.mark.django_db
def test_holds_and_sales_bump_the_version_after_commit(django_capture_on_commit_callbacks):
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=4, now=now)
    before = seatmap.get_version(sale.session.pk)
    with django_capture_on_commit_callbacks(execute=True):
        hold = inventory.hold_units(
            session=sale.session, user=make_buyer(), unit_ids=[sale.units()[0].pk], now=now
        )
    assert seatmap.get_version(sale.session.pk) == before + 1
    with django_capture_on_commit_callbacks(execute=True):
        inventory.release_hold(hold=hold, user=hold.user, now=now)
    assert seatmap.get_version(sale.session.pk) == before + 2


@pytest.mark.django_db
def test_blocking_and_unblocking_bump_the_version(django_capture_on_commit_callbacks):
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=4, now=now)
    unit = sale.units()[0].pk
    before = seatmap.get_version(sale.session.pk)
    with django_capture_on_commit_callbacks(execute=True):
        inventory.block_units(
            session=sale.session, unit_ids=[unit], reason="camera", actor=None, now=now
        )
    assert seatmap.get_version(sale.session.pk) == before + 1
    with django_capture_on_commit_callbacks(execute=True):
        inventory.unblock_units(session=sale.session, unit_ids=[unit], actor=None, now=now)
    assert seatmap.get_version(sale.session.pk) == before + 2


@pytest.mark.django_db
def test_section_seats_come_in_the_order_of_the_states():
    sale = make_sale(sections=1, rows=2, seats_per_row=2)
    section = sale.sections["S1"]
    from tessera.venues.models import Seat

    Seat.objects.filter(section=section, row__label="B", label="2").update(
        is_accessible=True, is_restricted_view=True
    )
    zone = sale.zones["A"].pk
    ids = [u.pk for u in sale.seat_units("S1", "A", [1, 2]) + sale.seat_units("S1", "B", [1, 2])]
    data = seatmap.section_seats(session=sale.session, section_id=section.pk)
    rows = section.rows.order_by("sort_order")
    assert data == {
        "section_id": section.pk,
        "pitch": 20.0,
        "rows": [
            {
                "id": rows[0].pk,
                "label": "A",
                "seats": [[50.0, 60.0, "1", 0, ids[0], zone], [70.0, 60.0, "2", 0, ids[1], zone]],
            },
            {
                "id": rows[1].pk,
                "label": "B",
                "seats": [[50.0, 80.0, "1", 0, ids[2], zone], [70.0, 80.0, "2", 3, ids[3], zone]],
            },
        ],
    }
