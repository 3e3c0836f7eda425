"""The console's overview: each kind of partner sees its own sales per day, drawn as SVG."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tessera.accounts.models import Membership, Role
from tessera.accounts.tests.factories import make_organization, make_user
from tessera.aftersales.tests.factories import bought
from tessera.inventory.tests.factories import make_buyer, make_channel, make_sale
from tessera.orders.models import Order
from tessera.partners import charts, selectors
from tessera.partners.tests.factories import approved_partner

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales():
    """Three paid orders of one session: two days ago 2 seats (¥760), today 1 seat (¥380)
    through a distributor's channel, and today 1 seat of another session elsewhere."""
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=4, starts_at=now + timedelta(days=20))
    other = make_sale(sections=1, rows=1, seats_per_row=2, starts_at=now + timedelta(days=20))
    buyer = make_buyer()
    earlier = bought(sale, buyer, [1, 2], now - timedelta(days=2))
    today = bought(sale, buyer, [3], now)
    bought(other, buyer, [1], now)
    distributor = make_organization(kind="distributor")
    Order.objects.filter(pk=today.pk).update(channel=make_channel(organization=distributor))
    return sale, distributor, earlier, today, now


def _figures(organization, now):
    return {
        d.day: (d.tickets, d.gross)
        for d in selectors.sales_per_day(organization=organization, now=now)
        if d.tickets
    }


def test_each_kind_of_partner_sees_its_own_sales_per_day(sales):
    sale, distributor, earlier, _today, now = sales
    zone = selectors.sales_zone()
    day_today = now.astimezone(zone).date()
    day_earlier = earlier.paid_at.astimezone(zone).date()
    organizer = sale.session.event.organization
    venue_operator = sale.session.layout.venue.organization

    expected = {day_earlier: (2, Decimal("760.00")), day_today: (1, Decimal("380.00"))}
    assert _figures(organizer, now) == expected
    assert _figures(venue_operator, now) == expected
    assert _figures(distributor, now) == {day_today: (1, Decimal("380.00"))}
    assert _figures(make_organization(kind="distributor"), now) == {}
    days = selectors.sales_per_day(organization=organizer, now=now)
    assert len(days) == 30 and days[-1].day == day_today
    # orders paid before the window do not count
    assert _figures(organizer, now + timedelta(days=40)) == {}


def test_nice_ceiling_and_empty_chart():
    assert [charts.nice_ceiling(Decimal(v)) for v in ("0", "3", "7", "11", "760", "2400")] == [
        Decimal("1"),
        Decimal("5"),
        Decimal("10"),
        Decimal("20"),
        Decimal("1000"),
        Decimal("2500"),
    ]
    chart = charts.bar_chart([0] * 30, [str(i) for i in range(30)], titles=[""] * 30)
    assert chart.is_empty and all(b.height == 0 for b in chart.bars)
    chart = charts.bar_chart([0, 5, 10], ["a", "b", "c"], titles=["", "", ""], every=1)
    assert [b.height for b in chart.bars] == [0.0, 75.0, 150.0]
    assert [t.label for t in chart.ticks] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("en", ["Tickets", "Gross sales", "Contract", "Platform fee", "5.00%"]),
        ("zh-hans", ["门票", "销售额", "合同", "平台服务费", "5.00%"]),
    ],
)
def test_the_overview_page_draws_the_distributors_sales_and_contract(
    client, sales, language, texts
):
    _sale, _distributor, _earlier, today, _now = sales
    organization, owner = approved_partner()
    Order.objects.filter(pk=today.pk).update(channel=organization.sales_channels.get())
    client.force_login(owner)

    page = client.get(reverse("partners:console"), HTTP_ACCEPT_LANGUAGE=language)

    html = page.content.decode()
    assert page.status_code == 200
    assert all(text in html for text in texts), [t for t in texts if t not in html]
    assert html.count('rx="1.5" fill=') == 60  # 30 days x two charts
    assert 'id="chart-tickets"' in html and "<script" not in html.split("<main")[-1]
    assert page.context["tickets_total"] == 1
    assert page.context["gross_total"] == "¥380.00"
    assert "3.00%" in html and "4.50%" in html
    assert reverse("partners:members") in html


def test_a_member_of_another_partner_cannot_open_this_overview(client, sales):
    organization, _owner = approved_partner()
    other, other_owner = approved_partner(slug="other-one", contact_email="o@o.example")
    client.force_login(other_owner)
    assert client.get(f"{reverse('partners:console')}?org={organization.pk}").status_code == 403
    page = client.get(reverse("partners:console"))
    assert page.context["partner"] == other


def test_finance_members_read_the_overview(client):
    organization, _owner = approved_partner()
    accountant = make_user()
    Membership.objects.create(organization=organization, user=accountant, role=Role.FINANCE)
    client.force_login(accountant)
    assert client.get(reverse("partners:console")).status_code == 200
