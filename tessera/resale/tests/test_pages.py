"""The resale pages without a browser: who may open what, a tampered price on the form,
bad input, and the links on the event, buy and order pages."""

import pytest
from django.test import Client
from django.utils import timezone

from tessera.inventory.tests.factories import make_buyer
from tessera.resale import services
from tessera.resale.models import Listing
from tessera.resale.tests.factories import make_resale

pytestmark = pytest.mark.django_db


def client_for(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def test_the_sell_form_refuses_a_tampered_price_in_both_languages():
    r = make_resale(timezone.now(), cap="0")
    path = f"/resale/tickets/{r.tickets[0].public_id}/sell/"
    en = client_for(r.seller, "en").post(path, {"price": "999"})
    zh = client_for(r.seller, "zh-hans").post(path, {"price": "999"})
    assert en.status_code == zh.status_code == 422
    assert "The price may be at most 380.00 CNY for this ticket." in en.content.decode()
    assert "此票的价格最高为 380.00 CNY。" in zh.content.decode()
    assert Listing.objects.count() == 0


@pytest.mark.parametrize("price", ["", "abc", "1e999999", "-1", "9" * 40, "1.001"])
def test_the_sell_form_answers_bad_prices_with_a_message(price):
    r = make_resale(timezone.now())
    answer = client_for(r.seller).post(
        f"/resale/tickets/{r.tickets[0].public_id}/sell/", {"price": price}
    )
    assert answer.status_code == 422
    assert 'id="resale-error"' in answer.content.decode()
    assert Listing.objects.count() == 0


def test_nul_characters_are_refused_before_the_view():
    r = make_resale(timezone.now())
    answer = client_for(r.seller).post(
        f"/resale/tickets/{r.tickets[0].public_id}/sell/", {"price": "1\x00"}
    )
    assert 400 <= answer.status_code < 500
    assert Listing.objects.count() == 0


def test_someone_elses_ticket_page_is_not_found_and_listing_it_does_nothing():
    r = make_resale(timezone.now())
    other = client_for(make_buyer())
    path = f"/resale/tickets/{r.tickets[0].public_id}/sell/"
    assert other.get(path).status_code == 404
    assert other.post(path, {"price": "100"}).status_code == 404
    assert Listing.objects.count() == 0
    assert Client().get(path).status_code == 302  # to sign in


def test_pages_link_to_the_resale_and_the_seller_lists_and_withdraws():
    now = timezone.now()
    r = make_resale(now)
    seller = client_for(r.seller)
    order_page = seller.get(f"/orders/{r.order.number}/").content.decode()
    assert f"/resale/tickets/{r.tickets[0].public_id}/sell/" in order_page
    answer = seller.post(f"/resale/tickets/{r.tickets[0].public_id}/sell/", {"price": "300"})
    assert answer.status_code == 302 and answer["Location"] == "/resale/"
    listing = Listing.objects.get()
    mine = seller.get("/resale/").content.decode()
    assert f'data-listing="{listing.pk}"' in mine and "300.00" in mine
    session = r.sale.session
    fan = client_for(make_buyer())
    for path in (f"/events/{session.event.slug}/", f"/sessions/{session.pk}/buy/"):
        answer = fan.get(path)
        assert answer.status_code == 200, path
        page = answer.content.decode()
        assert f"/resale/sessions/{session.pk}/" in page, path
        assert "Resale tickets (1)" in page, path
    browse = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(f"/resale/sessions/{session.pk}/")
    assert f'data-listing="{listing.pk}"' in browse.content.decode()
    # an anonymous buyer is sent to sign in, nothing is reserved
    anonymous = Client().post(f"/resale/listings/{listing.pk}/buy/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert Listing.objects.get().buyer_id is None
    # withdraw
    assert seller.post(f"/resale/listings/{listing.pk}/withdraw/").status_code == 302
    assert Listing.objects.get().status == "withdrawn"


def test_unknown_ids_are_not_found():
    r = make_resale(timezone.now())
    buyer = client_for(make_buyer())
    assert Client().get("/resale/sessions/999999999/").status_code == 404
    assert (
        buyer.post("/resale/listings/00000000-0000-0000-0000-000000000000/buy/").status_code == 404
    )
    assert buyer.get("/resale/tickets/not-a-uuid/sell/").status_code == 404
    listing = services.list_ticket(
        ticket_public_id=r.tickets[0].public_id, user=r.seller, price="380", now=timezone.now()
    )
    # a buyer's own-listing error shows as a message on the session page
    answer = client_for(r.seller).post(f"/resale/listings/{listing.pk}/buy/", follow=True)
    assert "You cannot buy your own listing." in answer.content.decode()
