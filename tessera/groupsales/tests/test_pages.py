"""The pages in both languages, through the test client: the request form, the contact's
list and request, the organizer's console page (one organizer never sees another's
requests), buying a box from the buy page; bad input is refused, never a 500."""

from datetime import timedelta

import pytest
from django.test import Client

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.groupsales import services
from tessera.groupsales.models import GroupRequest, GroupStatus
from tessera.groupsales.tests.factories import USCC, boxed, group_world, now_, quoted, request_data
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import Order

pytestmark = pytest.mark.django_db


def client_for(user, language="en"):
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


@pytest.mark.parametrize(("language", "title"), [("en", "Group booking"), ("zh-hans", "团体购票")])
def test_the_request_form_sends_a_request_in_both_languages(language, title):
    now = now_()
    sale, _organizer, contact = group_world(now)
    client = client_for(contact, language)
    url = f"/groups/sessions/{sale.session.pk}/request/"
    page = client.get(url)
    assert page.status_code == 200 and title in page.content.decode()
    data = request_data(sale.zones["A"], quantity="12")
    response = client.post(url, data)
    made = GroupRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/groups/requests/{made.pk}/"
    assert (made.quantity, made.tax_number, made.contact_id) == (12, USCC, contact.pk)
    listing = client.get("/groups/").content.decode()
    assert "星海科技有限公司" in listing


@pytest.mark.parametrize(
    "overrides",
    [
        {"tax_number": "123"},
        {"quantity": "99999999999999999999999"},
        {"budget": "12,5"},
        {"company_name": "a\x00b"},
        {"zone": "-1"},
        {"zone": "x" * 5000},
    ],
)
def test_bad_forms_are_refused_with_a_message_never_a_500(overrides):
    now = now_()
    sale, _organizer, contact = group_world(now)
    response = client_for(contact).post(
        f"/groups/sessions/{sale.session.pk}/request/", request_data(sale.zones["A"], **overrides)
    )
    assert response.status_code in (400, 422)
    assert not GroupRequest.objects.exists()


def test_the_organizer_quotes_in_the_console_and_another_organizer_sees_nothing():
    now = now_()
    sale, organizer, contact = group_world(now)
    req = services.submit_group_request(
        session=sale.session, contact=contact, data=request_data(sale.zones["A"]), now=now
    )
    # organizer B: no rows of A, cannot quote A's request
    other_org = make_organization()
    other = make_member(organization=other_org, role=Role.OWNER, password=None)
    page = client_for(other).get("/groups/manage/")
    assert page.status_code == 200 and "星海科技" not in page.content.decode()
    assert (
        client_for(other)
        .get(f"/groups/manage/?org={sale.session.event.organization_id}")
        .status_code
        == 403
    )
    refused = client_for(other).post(
        "/groups/manage/", {"request": req.pk, "action": "decline", "reason": "x"}
    )
    assert refused.status_code == 404
    req.refresh_from_db()
    assert req.status == GroupStatus.REQUESTED
    # a fan with no organization: 403
    assert client_for(make_buyer()).get("/groups/manage/").status_code == 403
    # organizer A sees it and quotes it
    client = client_for(organizer, "zh-hans")
    page = client.get("/groups/manage/").content.decode()
    assert "星海科技" in page and "团体" in page
    pay_by = (now + timedelta(days=2)).astimezone(sale.session.layout.venue.zone_info)
    names_by = pay_by + timedelta(days=1)
    bad = client.post(
        "/groups/manage/",
        {"request": req.pk, "action": "quote", "unit_price": "abc", "pay_by": "x", "names_by": ""},
    )
    assert bad.status_code == 422
    response = client.post(
        "/groups/manage/",
        {
            "request": req.pk,
            "action": "quote",
            "unit_price": "299.50",
            "pay_by": pay_by.strftime("%Y-%m-%dT%H:%M"),
            "names_by": names_by.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == GroupStatus.QUOTED and str(req.unit_price) == "299.50"
    assert InventoryUnit.objects.filter(hold_id=req.hold_id, status=UnitStatus.HELD).count() == 8
    # the contact accepts: into the normal payment step
    accepted = client_for(contact).post(f"/groups/requests/{req.pk}/", {"action": "accept"})
    assert accepted.status_code == 302
    assert accepted["Location"] == f"/checkout/{req.hold_id}/payment/"
    payment_page = client_for(contact).get(accepted["Location"]).content.decode()
    assert "2,396.00" in payment_page or "2396.00" in payment_page
    # another fan cannot open the contact's request
    assert client_for(make_buyer()).get(f"/groups/requests/{req.pk}/").status_code == 404


def test_names_page_after_payment():
    now = now_()
    sale, organizer, contact = group_world(now)
    req = quoted(sale, organizer, contact, now, quantity=2)
    from tessera.groupsales.tests.factories import pay

    pay(services.accept_quote(request=req, user=contact, now=now), contact, now)
    req.refresh_from_db()
    client = client_for(contact, "zh-hans")
    page = client.get(f"/groups/requests/{req.pk}/").content.decode()
    assert "已支付" in page
    tickets = services.group_tickets(req)
    response = client.post(
        f"/groups/requests/{req.pk}/",
        {"action": "names", f"name_{tickets[0].pk}": "李雷", f"name_{tickets[1].pk}": ""},
    )
    assert response.status_code == 302
    tickets[0].refresh_from_db()
    assert tickets[0].holder_name == "李雷"
    bad = client.post(f"/groups/requests/{req.pk}/", {"action": "names", "name_abc": "x"})
    assert bad.status_code == 422


def test_the_buy_page_shows_the_boxes_and_buys_one_whole():
    now = now_()
    sale, organizer, _contact = group_world(now)
    _box, offer, unit_ids = boxed(sale, organizer, now)
    fan = make_buyer()
    client = client_for(fan)
    page = client.get(f"/sessions/{sale.session.pk}/buy/").content.decode()
    assert 'id="seatmap-boxes"' in page and f'id="buy-box-{offer.pk}"' in page
    assert "Catering and parking included" in page
    api = client.get(f"/api/v1/sessions/{sale.session.pk}/boxes").json()
    assert api[0]["unit_ids"] == unit_ids and api[0]["available"] is True
    response = client.post(f"/groups/boxes/{offer.pk}/buy/")
    order = Order.objects.get(user=fan)
    assert response["Location"] == f"/checkout/{order.hold_id}/payment/"
    again = client_for(make_buyer()).post(f"/groups/boxes/{offer.pk}/buy/", follow=True)
    assert "no longer available" in again.content.decode()
    assert client.post("/groups/boxes/999999/buy/").status_code == 404


def test_the_api_takes_a_request_and_refuses_bad_bodies():
    now = now_()
    sale, _organizer, contact = group_world(now)
    client = client_for(contact)
    url = f"/api/v1/sessions/{sale.session.pk}/group-requests"
    body = request_data(sale.zones["A"], quantity=5, budget="1500.00")
    created = client.post(url, body, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "requested"
    for bad in ({**body, "quantity": "5"}, {**body, "tax_number": "x" * 16}, {**body, "extra": 1}):
        response = client.post(url, bad, content_type="application/json")
        assert response.status_code == 422
    assert GroupRequest.objects.count() == 1
    assert [r["id"] for r in client.get("/api/v1/group-requests").json()] == [created.json()["id"]]
    assert Client().get("/api/v1/group-requests").status_code == 401
