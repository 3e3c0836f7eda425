"""The fan's pass pages and the back office, through Django's test client (they read the
real clock, so the league is built around it)."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import Order
from tessera.passes.models import EntryStatus, Pass
from tessera.passes.tests.factories import buy_and_pay, make_league

pytestmark = pytest.mark.django_db


@pytest.fixture
def league():
    return make_league(matches=2, now=timezone.now())


def signed_in(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def test_the_list_shows_the_passes_on_sale_and_mine(league):
    sold, _text = buy_and_pay(league, now=timezone.now())
    page = signed_in(sold.user).get("/passes/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Star City season ticket" in html
    assert f"/passes/mine/{sold.pk}/" in html
    assert "Season and multi-venue passes" in html
    zh = signed_in(sold.user, "zh-hans").get("/passes/").content.decode()
    assert "季票与跨场馆通票" in zh and "星城季票" in zh


def test_buying_on_the_page_sends_the_fan_to_the_cashier(league):
    fan = make_buyer()
    client = signed_in(fan)
    assert client.get(f"/passes/{league.product.pk}/").status_code == 200
    response = client.post(f"/passes/{league.product.pk}/", {"holder_name": "王小明"})
    assert response.status_code == 302
    assert "/pay/sandbox/" in response["Location"]
    sold = Pass.objects.get(user=fan)
    assert sold.holder_name == "王小明"


def test_a_sold_out_session_is_explained_on_the_page_and_nothing_is_kept(league):
    InventoryUnit.objects.filter(session=league.sessions[0]).update(status=UnitStatus.BLOCKED)
    client = signed_in(make_buyer(), "zh-hans")
    response = client.post(f"/passes/{league.product.pk}/", {"holder_name": ""})
    assert response.status_code == 409
    assert "未保留任何座位" in response.content.decode()
    assert not Order.objects.exists()


def test_the_pass_page_shows_sessions_seats_and_the_qr_and_releases_a_match(league):
    sold, _text = buy_and_pay(league, now=timezone.now())
    client = signed_in(sold.user)
    html = client.get(f"/passes/mine/{sold.pk}/").content.decode()
    assert 'id="pass-qr"' in html and "<svg" in html
    for entry in sold.entries.all():
        assert entry.order_line.place_label in html
    first = league.sessions[0]
    response = client.post(f"/passes/mine/{sold.pk}/release/", {"session": str(first.pk)})
    assert response.status_code == 302
    assert sold.entries.get(session=first).status == EntryStatus.RELEASED
    after = client.get(f"/passes/mine/{sold.pk}/").content.decode()
    assert "The match is released" in after
    assert re.search(r"Credits so far: ¥\d", after)


@pytest.mark.parametrize("session", ["", "abc", "99999999999999999999", "-1", "１２"])
def test_a_bad_release_request_is_refused_with_a_message_not_a_500(league, session):
    sold, _text = buy_and_pay(league, now=timezone.now())
    client = signed_in(sold.user)
    response = client.post(f"/passes/mine/{sold.pk}/release/", {"session": session})
    assert response.status_code == 302
    assert not sold.entries.filter(status=EntryStatus.RELEASED).exists()


def test_someone_elses_or_an_unknown_pass_is_not_found(league):
    sold, _text = buy_and_pay(league, now=timezone.now())
    other = signed_in(make_buyer())
    assert other.get(f"/passes/mine/{sold.pk}/").status_code == 404
    assert other.post(f"/passes/mine/{sold.pk}/release/", {"session": "1"}).status_code == 404
    assert other.get("/passes/mine/99999999999999999999/").status_code == 404
    assert other.get("/passes/99999999999999999999/").status_code == 404
    assert other.get("/passes/123456/").status_code == 404


def test_the_back_office_shows_an_organizer_only_its_own_passes(league):
    sold, _text = buy_and_pay(league, now=timezone.now())
    mine = make_member(organization=league.organization, role=Role.MANAGER, is_staff=True)
    stranger = make_member(organization=make_organization(), role=Role.MANAGER, is_staff=True)
    own = signed_in(mine)
    assert own.get("/admin/passes/passproduct/").status_code == 200
    assert "Star City season ticket" in own.get("/admin/passes/passproduct/").content.decode()
    assert own.get(f"/admin/passes/pass/{sold.pk}/change/").status_code == 200
    other = signed_in(stranger)
    listed = other.get("/admin/passes/passproduct/").content.decode()
    assert "Star City season ticket" not in listed
    assert other.get(f"/admin/passes/pass/{sold.pk}/change/").status_code == 302


def _admin_form(league, **overrides):
    now = timezone.localtime()
    starts, ends = now, now + timezone.timedelta(days=20)
    data = {
        "organization": str(league.organization.pk),
        "name": "杯赛通票",
        "name_en": "Cup pass",
        "price": "500.00",
        "currency": "CNY",
        "sale_starts_at_0": starts.strftime("%Y-%m-%d"),
        "sale_starts_at_1": starts.strftime("%H:%M:%S"),
        "sale_ends_at_0": ends.strftime("%Y-%m-%d"),
        "sale_ends_at_1": ends.strftime("%H:%M:%S"),
        "max_per_account": "2",
        "credit_kind": "percent",
        "credit_value": "40",
        "is_active": "on",
        "coverage-TOTAL_FORMS": "2",
        "coverage-INITIAL_FORMS": "0",
        "coverage-MIN_NUM_FORMS": "0",
        "coverage-MAX_NUM_FORMS": "1000",
    }
    for i, sale in enumerate(league.sales):
        data[f"coverage-{i}-session"] = str(sale.session.pk)
        data[f"coverage-{i}-zone"] = str(sale.zones["A"].pk)
    data.update(overrides)
    return data


def test_an_organizer_defines_a_pass_in_the_back_office_and_it_gets_its_key(league):
    from tessera.passes.models import PassKey, PassProduct

    manager = make_member(organization=league.organization, role=Role.MANAGER, is_staff=True)
    client = signed_in(manager)
    bad = client.post(
        "/admin/passes/passproduct/add/",
        _admin_form(league, price="-1", **{"coverage-1-zone": str(league.sales[0].zones["A"].pk)}),
    )
    assert bad.status_code == 200
    assert "The price must be an amount above zero." in bad.content.decode()
    assert "Choose a price zone of this session." in bad.content.decode()
    response = client.post("/admin/passes/passproduct/add/", _admin_form(league))
    assert response.status_code == 302, response.content.decode()[:3000]
    product = PassProduct.objects.get(name_en="Cup pass")
    assert product.coverage.count() == 2
    assert PassKey.objects.filter(product=product).count() == 1


def test_an_unpaid_pass_can_be_paid_from_its_page_and_its_order_page_works(league):
    from tessera.passes import services

    fan = make_buyer()
    bought = services.buy_pass(
        product_id=league.product.pk, user=fan, provider="sandbox", now=timezone.now()
    )
    client = signed_in(fan)
    order_page = client.get(f"/orders/{bought.order.number}/")
    assert order_page.status_code == 200
    assert f"/passes/mine/{bought.sold_pass.pk}/" in order_page.content.decode()
    html = client.get(f"/passes/mine/{bought.sold_pass.pk}/").content.decode()
    assert 'id="pay-link"' in html and "/pay/sandbox/" in html
    assert 'id="pass-qr"' not in html


def test_a_pass_not_paid_in_time_says_so(league):
    from datetime import timedelta

    from tessera.passes import services

    fan = make_buyer()
    bought = services.buy_pass(
        product_id=league.product.pk,
        user=fan,
        provider="sandbox",
        now=timezone.now() - timedelta(hours=1),
    )
    client = signed_in(fan)
    assert client.get(f"/orders/{bought.order.number}/").status_code == 200
    html = client.get(f"/passes/mine/{bought.sold_pass.pk}/").content.decode()
    assert 'id="pass-lapsed"' in html and 'id="pay-link"' not in html
