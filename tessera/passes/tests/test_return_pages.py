"""Returning a whole pass on its page and over the API, and the organizer cancelling passes
in the back office: each answers in the fan's language, refuses what it must and changes
nothing then."""

import json

import pytest
from django.test import Client, TestCase
from django.utils import timezone

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import Order, OrderStatus
from tessera.passes.models import EntryStatus, PassStatus
from tessera.passes.tests.factories import buy_and_pay, make_league

pytestmark = pytest.mark.django_db


@pytest.fixture
def league():
    return make_league(matches=2, price="300.00", now=timezone.now())


def signed_in(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def test_the_pass_page_offers_the_return_and_asks_to_confirm(league):
    league.product.return_fee_percent = 10
    league.product.save()
    sold, _text = buy_and_pay(league, now=timezone.now())
    client = signed_in(sold.user)
    html = client.get(f"/passes/mine/{sold.pk}/").content.decode()
    assert 'id="pass-return"' in html and "¥270.00" in html and "¥30.00" in html
    zh = signed_in(sold.user, "zh-hans").get(f"/passes/mine/{sold.pk}/").content.decode()
    assert "退回整张通票" in zh

    # without the box ticked nothing happens
    client.post(f"/passes/mine/{sold.pk}/return/", {})
    sold.refresh_from_db()
    assert sold.status == PassStatus.ACTIVE

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(f"/passes/mine/{sold.pk}/return/", {"confirm": "yes"})
    assert response.status_code == 302
    sold.refresh_from_db()
    assert sold.status == PassStatus.CANCELLED
    assert set(sold.entries.values_list("status", flat=True)) == {EntryStatus.REFUNDED}
    after = client.get(f"/passes/mine/{sold.pk}/").content.decode()
    assert "Your pass is returned" in after and 'id="pass-return"' not in after
    assert Order.objects.get(pk=sold.order_id).status == OrderStatus.REFUNDED


def test_another_fan_cannot_return_a_pass(league):
    sold, _text = buy_and_pay(league, now=timezone.now())
    other = signed_in(make_buyer())
    assert other.post(f"/passes/mine/{sold.pk}/return/", {"confirm": "yes"}).status_code == 404
    assert other.post(f"/api/v1/passes/{sold.pk}/return").status_code == 404
    sold.refresh_from_db()
    assert sold.status == PassStatus.ACTIVE


def test_the_api_quotes_and_returns_once(league):
    sold, _text = buy_and_pay(league, now=timezone.now())
    client = signed_in(sold.user)
    quote = client.get(f"/api/v1/passes/{sold.pk}/return").json()
    assert quote == {
        "pass_id": sold.pk,
        "shares": "300.00",
        "fee": "0.00",
        "refund": "300.00",
        "currency": "CNY",
        "sessions": 2,
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        done = client.post(f"/api/v1/passes/{sold.pk}/return")
    assert done.status_code == 200 and done.json()["refund"] == "300.00"
    again = signed_in(sold.user, "zh-hans").post(f"/api/v1/passes/{sold.pk}/return")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "pass_not_active"
    assert json.dumps(again.json(), ensure_ascii=False).count("通票") >= 1


def test_the_organizer_cancels_passes_in_the_back_office_with_a_reason(league):
    sold, _text = buy_and_pay(league, now=timezone.now())
    owner = make_member(organization=league.organization, role=Role.MANAGER, is_staff=True)
    stranger = make_member(organization=make_organization(), role=Role.MANAGER, is_staff=True)
    path = "/admin/passes/pass/"

    # a stranger does not see the pass, so the action does nothing to it
    signed_in(stranger).post(
        path, {"action": "cancel_selected", "_selected_action": [sold.pk], "reason": "x"}
    )
    sold.refresh_from_db()
    assert sold.status == PassStatus.ACTIVE

    client = signed_in(owner)
    form = client.post(path, {"action": "cancel_selected", "_selected_action": [sold.pk]})
    assert form.status_code == 200 and 'name="reason"' in form.content.decode()
    with TestCase.captureOnCommitCallbacks(execute=True):
        done = client.post(
            path,
            {"action": "cancel_selected", "_selected_action": [sold.pk], "reason": "赛季取消"},
        )
    assert done.status_code == 302
    sold.refresh_from_db()
    assert sold.status == PassStatus.CANCELLED
    assert Order.objects.get(pk=sold.order_id).status == OrderStatus.REFUNDED
