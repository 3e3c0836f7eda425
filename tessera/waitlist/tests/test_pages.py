"""The waiting-list pages: join by form, the position, leave; the offer page; the links from
the event and buy pages of a sold-out session; the organizer's figures, scoped; bad input
shows a clear message (422), never a 500."""

import pytest
from django.test import Client

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.inventory import services as inventory
from tessera.waitlist import services
from tessera.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tessera.waitlist.tests.factories import fan, make_soldout, now_

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def setup():
    now = now_()
    sale, holds = make_soldout(now=now, seats=4)
    user = fan()
    client = Client()
    client.force_login(user)
    return sale, holds, client, user


def test_join_by_form_see_the_position_and_leave(setup):
    sale, _, client, user = setup
    page = f"/waitlist/sessions/{sale.session.pk}/"
    services.join_waitlist(session=sale.session, user=fan(), quantity=1, now=now_())
    assert 'id="waitlist-join"' in client.get(page, **EN).content.decode()

    answer = client.post(page, {"action": "join", "zone": "any", "quantity": "2"}, **EN)

    assert answer.status_code == 302
    html = client.get(page, **ZH).content.decode()
    assert 'id="waitlist-position">2<' in html
    assert "候补任意票区 2 张。" in html
    entry = WaitlistEntry.objects.get(user=user)
    assert (entry.quantity, entry.zone_id, entry.max_price) == (2, None, None)
    client.post(page, {"action": "leave"}, **EN)
    assert WaitlistEntry.objects.get(user=user).status == EntryStatus.LEFT


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"zone": "any", "quantity": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"zone": "any", "quantity": "999999"}, "Ensure this value is less than or equal to 100."),
        ({"zone": "any", "quantity": "50"}, "You may wait for at most 4 places of this session."),
        ({"zone": "any", "quantity": "two"}, "Enter a whole number."),
        ({"zone": "A", "quantity": "1"}, "Please choose a price zone of this session."),
        ({"zone": "999999", "quantity": "1"}, "Please choose a price zone of this session."),
        ({"zone": "any", "quantity": "1", "max_price": "-1"}, "Ensure this value is greater"),
    ],
)
def test_bad_form_input_is_refused_with_a_message(setup, form, message):
    sale, _, client, _ = setup
    answer = client.post(f"/waitlist/sessions/{sale.session.pk}/", {"action": "join", **form}, **EN)
    assert answer.status_code == 422
    assert message in answer.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_unknown_sessions_and_other_fans_offers_are_not_found(setup):
    sale, [hold], client, _ = setup
    assert client.get("/waitlist/sessions/987654/").status_code == 404
    other = fan()
    services.join_waitlist(session=sale.session, user=other, quantity=1, now=now_())
    inventory.release_hold(hold=hold, user=None, now=now_())
    offer = WaitlistOffer.objects.get()
    assert client.get(f"/waitlist/offers/{offer.pk}/").status_code == 404
    assert client.post(f"/waitlist/offers/{offer.pk}/", {"action": "decline"}).status_code == 404
    assert WaitlistOffer.objects.get().status == OfferStatus.OPEN


def test_the_offer_page_leads_to_the_checkout_or_passes_the_offer_on(setup):
    sale, [hold], client, user = setup
    services.join_waitlist(session=sale.session, user=user, quantity=2, now=now_())
    inventory.release_hold(hold=hold, user=None, now=now_())
    offer = WaitlistOffer.objects.get(user=user)
    html = client.get(f"/waitlist/offers/{offer.pk}/", **EN).content.decode()
    assert f'href="/checkout/{offer.hold_id}/"' in html
    assert "¥760" in html
    session_page = client.get(f"/waitlist/sessions/{sale.session.pk}/", **EN).content.decode()
    assert f'href="/waitlist/offers/{offer.pk}/"' in session_page

    client.post(f"/waitlist/offers/{offer.pk}/", {"action": "decline"}, **EN)

    assert WaitlistOffer.objects.get(pk=offer.pk).status == OfferStatus.DECLINED
    assert 'id="offer-closed"' in client.get(f"/waitlist/offers/{offer.pk}/").content.decode()


def test_event_and_buy_pages_link_a_sold_out_session_to_its_waiting_list(setup):
    sale, [hold], client, _ = setup
    link = f'href="/waitlist/sessions/{sale.session.pk}/"'
    event = client.get(f"/events/{sale.session.event.slug}/", **EN).content.decode()
    buy = client.get(f"/sessions/{sale.session.pk}/buy/", **EN).content.decode()
    assert link in event and link in buy
    inventory.release_hold(hold=hold, user=None, now=now_())
    event = client.get(f"/events/{sale.session.event.slug}/", **EN).content.decode()
    buy = client.get(f"/sessions/{sale.session.pk}/buy/", **EN).content.decode()
    assert link not in event and link not in buy


def test_the_organizer_sees_figures_per_zone_of_their_own_sessions_only(setup):
    sale, [hold], _, _ = setup
    organization = sale.session.event.organization
    fans = [fan() for _ in range(3)]
    for f in fans:
        services.join_waitlist(
            session=sale.session, user=f, quantity=2, zone_id=sale.zones["A"].pk, now=now_()
        )
    inventory.release_hold(hold=hold, user=None, now=now_())  # 4 places: two offers
    staff = make_member(organization=organization, role=Role.STAFF, is_staff=True, password=None)
    stranger = make_member(
        organization=make_organization(kind=OrganizationKind.ORGANIZER),
        role=Role.OWNER,
        is_staff=True,
        password=None,
    )
    client = Client()
    client.force_login(staff)
    html = client.get("/admin/waitlist/waitlistentry/", **EN).content.decode()
    # fans waiting 1, offers open 2, made 2, bought 0, expired 0, declined 0
    assert "<td>1</td><td>2</td><td>2</td><td>0</td><td>0</td><td>0</td>" in html
    client.force_login(stranger)
    html = client.get("/admin/waitlist/waitlistentry/", **EN).content.decode()
    assert "Nobody is on a waiting list." in html
