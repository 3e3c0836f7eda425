"""The fan's purchase flow through the pages: choose → hold → attendees → cashier → order."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tessera.accounts.tests.factories import make_user
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.orders.models import Order, OrderStatus
from tessera.payments.models import Payment
from tessera.payments.testing import pay_locally
from tessera.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_buy_page_needs_sign_in(client, sale):
    response = client.get(reverse("storefront:buy", args=[sale.session.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_best_available_hold_leads_to_checkout_with_prices(client, fan, sale):
    # when the fan asks for the best 2 seats in zone A
    response = client.post(
        reverse("storefront:buy", args=[sale.session.pk]),
        {"mode": "best", "zone": sale.zones["A"].pk, "quantity": 2},
    )
    # then the seats are held and the checkout shows them with the total and a countdown
    hold = Hold.objects.get(user=fan)
    assert response.status_code == 302
    assert response["Location"] == reverse("storefront:checkout", args=[hold.pk])
    assert hold.quantity == 2
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="countdown"' in html
    assert f'data-deadline="{hold.expires_at.isoformat()}"' in html
    assert "760.00" in html
    assert html.count('class="place-row"') == 2


def test_seats_by_label_and_clear_errors_for_bad_labels(client, fan, sale):
    url = reverse("storefront:buy", args=[sale.session.pk])
    response = client.post(
        url, {"mode": "seats", "seats": "S1-A-3, S1-ZZ-1", "quantity": 2}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "There is no seat S1-ZZ-1 in this session." in response.content.decode()
    assert not Hold.objects.exists()

    response = client.post(url, {"mode": "seats", "seats": "S1-A-3，S1-A-4", "quantity": 2})
    hold = Hold.objects.get()
    assert response.status_code == 302
    labels = sorted(InventoryUnit.objects.filter(hold=hold).values_list("seat__label", flat=True))
    assert labels == ["3", "4"]


def test_a_seat_taken_by_someone_else_is_explained_and_nothing_is_held(client, fan, sale):
    rival = make_user()
    unit = sale.seat_unit("S1", "A", 5)
    inventory.hold_units(session=sale.session, user=rival, unit_ids=[unit.id], now=timezone.now())
    response = client.post(
        reverse("storefront:buy", args=[sale.session.pk]),
        {"mode": "seats", "seats": "S1-A-5", "quantity": 1},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "no longer available" in response.content.decode()
    assert Hold.objects.filter(user=fan).count() == 0


def test_standing_quantity_then_pay_at_the_sandbox_gives_tickets(client, fan, sale):
    # given a standing hold of 3 places
    client.post(
        reverse("storefront:buy", args=[sale.session.pk]),
        {"mode": "any", "zone": sale.zones["GA"].pk, "quantity": 3},
    )
    hold = Hold.objects.get(user=fan)
    # when the fan names the attendees and continues
    response = client.post(
        reverse("storefront:checkout", args=[hold.pk]),
        {
            "action": "next",
            "attendee_0": "王芳",
            "attendee_1": "李雷",
            "attendee_2": "",
            "email": "fan@example.com",
        },
    )
    # then an order awaits payment and the payment step comes next
    order = Order.objects.get(user=fan)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert list(order.lines.values_list("attendee_name", flat=True)) == ["王芳", "李雷", ""]
    assert response.status_code == 302
    assert response["Location"] == reverse("storefront:checkout_payment", args=[hold.pk])
    assert not Payment.objects.exists()
    # when they choose the sandbox and pay
    response = client.post(
        reverse("storefront:checkout_payment", args=[hold.pk]),
        {"action": "pay", "provider": "sandbox"},
    )
    payment = Payment.objects.get(order=order)
    assert payment.provider == "sandbox"
    assert response.status_code == 302
    assert response["Location"] == payment.cashier_url
    # when the buyer pays and the gateway's signed callback arrives
    pay_locally(payment_id=payment.pk, now=timezone.now())
    deliver_pending = Payment.objects.get(pk=payment.pk)
    order.refresh_from_db()
    # then the order is fulfilled, with tickets on the order page
    assert deliver_pending.status == "succeeded"
    assert order.status == OrderStatus.FULFILLED
    assert Ticket.objects.filter(order_line__order=order).count() == 3
    page = client.get(reverse("storefront:order", args=[order.number]))
    html = page.content.decode()
    assert html.count(reverse("tickets:detail", args=[Ticket.objects.first().public_id])) == 1
    assert reverse("tickets:order_pdf", args=[order.number]) in html
    assert InventoryUnit.objects.filter(status=UnitStatus.SOLD).count() == 3


def test_expired_hold_offers_to_choose_again_and_cannot_pay(client, fan, sale):
    now = timezone.now()
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[sale.seat_unit("S2", "B", 1).id], now=now
    )
    Hold.objects.filter(pk=hold.pk).update(expires_at=now)
    InventoryUnit.objects.filter(hold=hold).update(hold_expires_at=now)
    url = reverse("storefront:checkout", args=[hold.pk])
    page = client.get(url)
    html = page.content.decode()
    assert 'id="hold-expired"' in html
    assert reverse("storefront:checkout_recover", args=[hold.pk]) in html
    response = client.post(url, {"action": "next", "attendee_0": "x"})
    assert response.status_code == 409
    assert not Order.objects.exists()


def test_other_peoples_holds_and_orders_are_not_found(client, fan, sale):
    other = make_user()
    hold = inventory.hold_units(
        session=sale.session,
        user=other,
        unit_ids=[sale.seat_unit("S1", "A", 1).id],
        now=timezone.now(),
    )
    assert client.get(reverse("storefront:checkout", args=[hold.pk])).status_code == 404
    assert client.get(reverse("storefront:order", args=["T000000-AAAAAA"])).status_code == 404


def test_extend_gives_more_time_once(client, fan, sale):
    client.post(
        reverse("storefront:buy", args=[sale.session.pk]),
        {"mode": "best", "zone": sale.zones["B"].pk, "quantity": 1},
    )
    hold = Hold.objects.get(user=fan)
    before = hold.expires_at
    client.post(reverse("storefront:checkout", args=[hold.pk]), {"action": "extend"})
    hold.refresh_from_db()
    assert hold.expires_at - before == timezone.timedelta(minutes=sale.session.hold_minutes)
    page = client.get(reverse("storefront:checkout", args=[hold.pk]))
    assert 'id="extend-button"' not in page.content.decode()


def test_signup_creates_an_account_and_signs_in(client):
    response = client.post(
        reverse("storefront:signup"),
        {
            "username": "newfan",
            "email": "new@example.com",
            "password1": "a-Long-passw0rd!",
            "password2": "a-Long-passw0rd!",
            "next": "/orders/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/orders/"
    assert client.get("/orders/").status_code == 200
