"""Heat figures of the seat map: taken places and section views over the last minutes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.inventory import demand
from tessera.inventory import services as inventory
from tessera.inventory.models import SectionViewCount
from tessera.inventory.tests.factories import make_buyer, make_sale

pytestmark = pytest.mark.django_db


def test_heat_combines_places_taken_and_views_in_the_window():
    now = timezone.now().replace(second=30, microsecond=0)
    sale = make_sale(sections=3, rows=1, seats_per_row=10, max_tickets_per_account=20, now=now)
    s1, s2, s3 = (sale.sections[c] for c in ("S1", "S2", "S3"))
    buyer = make_buyer()
    # S1: 4 places taken 5 minutes ago; S2: 2 places now; one place 20 minutes ago (outside)
    inventory.hold_units(
        session=sale.session,
        user=buyer,
        unit_ids=[u.pk for u in sale.units("S1")[:4]],
        now=now - timedelta(minutes=5),
    )
    inventory.hold_units(
        session=sale.session,
        user=buyer,
        unit_ids=[u.pk for u in sale.units("S2")[:2]],
        now=now,
    )
    inventory.hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=[sale.units("S3")[0].pk],
        now=now - timedelta(minutes=20),
    )
    # views: S2 three times this minute, once 2 minutes ago; S3 once; S1 once 16 minutes ago
    for _ in range(3):
        demand.record_section_view(session=sale.session, section=s2, now=now)
    demand.record_section_view(session=sale.session, section=s2, now=now - timedelta(minutes=2))
    demand.record_section_view(session=sale.session, section=s3, now=now)
    demand.record_section_view(session=sale.session, section=s1, now=now - timedelta(minutes=16))

    figures = demand.section_heat(session=sale.session, now=now, window_minutes=15)

    assert SectionViewCount.objects.get(section=s2, minute=now.replace(second=0)).views == 3
    from decimal import Decimal as D

    assert figures == {
        # (4/20 + 0/20) / 2, (2/20 + 4/20) / 2, (0/20 + 1/20) / 2: a quiet sale stays cool
        s1.pk: {"taken": 4, "views": 0, "taken_per_minute": D("0.27"), "heat": D("0.10")},
        s2.pk: {"taken": 2, "views": 4, "taken_per_minute": D("0.13"), "heat": D("0.15")},
        s3.pk: {"taken": 0, "views": 1, "taken_per_minute": D("0.00"), "heat": D("0.03")},
    }


def test_two_tickets_sold_are_not_hot_but_a_busy_section_is():
    from decimal import Decimal as D

    now = timezone.now().replace(second=30, microsecond=0)
    sale = make_sale(
        sections=2,
        rows=4,
        seats_per_row=10,
        max_tickets_per_order=40,
        max_tickets_per_account=40,
        now=now,
    )
    s1, s2 = sale.sections["S1"], sale.sections["S2"]
    # given a quiet sale: two tickets of S1 taken, S1 looked at twice
    inventory.hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=[u.pk for u in sale.units("S1")[:2]],
        now=now,
    )
    for _ in range(2):
        demand.record_section_view(session=sale.session, section=s1, now=now)

    # then S1 is the busiest section, but cool: (2/20 + 2/20) / 2
    quiet = demand.section_heat(session=sale.session, now=now)
    assert (quiet[s1.pk]["heat"], quiet[s2.pk]["heat"]) == (D("0.10"), D("0.00"))

    # when 30 places of S2 go and it is opened 25 times
    inventory.hold_units(
        session=sale.session,
        user=make_buyer(),
        unit_ids=[u.pk for u in sale.units("S2")[:30]],
        now=now,
    )
    for _ in range(25):
        demand.record_section_view(session=sale.session, section=s2, now=now)

    # then S2 is hot and S1 cooler still: (2/30 + 2/25) / 2
    busy = demand.section_heat(session=sale.session, now=now)
    assert (busy[s1.pk]["heat"], busy[s2.pk]["heat"]) == (D("0.07"), D("1.00"))


def test_no_activity_is_zero_heat_everywhere():
    now = timezone.now()
    sale = make_sale(sections=2, rows=1, seats_per_row=2, now=now)
    figures = demand.section_heat(session=sale.session, now=now)
    zero = {"taken": 0, "views": 0, "taken_per_minute": 0, "heat": 0}
    assert figures == {sale.sections["S1"].pk: zero, sale.sections["S2"].pk: zero}
