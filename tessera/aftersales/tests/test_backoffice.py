"""The back office of orders through the admin's HTTP client: scoping by organization, the
order page and its actions, the box office, the review queue, exports, stuck orders, rates."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.utils import timezone
from openpyxl import load_workbook

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.aftersales import backoffice, exchanges, services
from tessera.aftersales.models import ExchangeStatus, RefundRequest, RequestStatus
from tessera.aftersales.tests.exchange_factories import make_two_dates
from tessera.aftersales.tests.factories import bought
from tessera.catalog import services as catalog
from tessera.core.models import AuditEntry
from tessera.inventory import services as inventory
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.orders import services as orders
from tessera.orders.models import LineStatus, Order, OrderStatus
from tessera.payments import services as payments
from tessera.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from tessera.payments.providers import provider_names
from tessera.payments.providers.base import UnknownProvider
from tessera.payments.testing import pay_locally
from tessera.sale.choices import PlaceChoice
from tessera.sale.services import checkout
from tessera.tickets.models import Revocation, Ticket, TicketStatus

pytestmark = pytest.mark.django_db
D = Decimal
ORDERS = "/admin/orders/order/"
REQUESTS = "/admin/aftersales/refundrequest/"


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


def _sale(now, *, review: bool = False):
    sale = make_sale(sections=1, rows=1, seats_per_row=8, starts_at=now + timedelta(days=10))
    catalog.set_policy(
        event=sale.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        refunds_need_review=review,
        refund_cutoff_hours=2,
        tiers=[(168, 0), (0, 20)],
    )
    return sale


@pytest.fixture
def world(now):
    """Two organizers, each with a session and one paid order of two tickets."""
    a, b = _sale(now, review=True), _sale(now, review=True)
    fan = make_buyer(display_name="张三", email="zhang@example.com", phone="13800000000")
    order_a = bought(a, fan, [1, 2], now)
    order_b = bought(b, fan, [1, 2], now)
    org_a, org_b = a.session.event.organization, b.session.event.organization
    return {
        "a": a,
        "b": b,
        "fan": fan,
        "order_a": order_a,
        "order_b": order_b,
        "manager_a": make_member(
            organization=org_a, role=Role.MANAGER, is_staff=True, password=None
        ),
        "finance_a": make_member(
            organization=org_a, role=Role.FINANCE, is_staff=True, password=None
        ),
        "manager_b": make_member(
            organization=org_b, role=Role.MANAGER, is_staff=True, password=None
        ),
    }


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client, url, data=None):
    """A POST as the browser sends it; on-commit work (provider refunds) runs."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, data or {})


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))


# -- scoping -------------------------------------------------------------------------------------


def test_an_organizer_sees_and_acts_only_on_orders_of_their_organization(world):
    # given the manager of organization A
    client = client_for(world["manager_a"])
    order_a, order_b = world["order_a"], world["order_b"]

    # when they open the order list, then A's order is listed and B's is not
    listing = client.get(ORDERS).content.decode()
    assert order_a.number in listing
    assert order_b.number not in listing
    # and B's order page, PDF and actions answer as for an order that does not exist
    assert client.get(f"{ORDERS}{order_a.pk}/change/").status_code == 200
    assert client.get(f"{ORDERS}{order_b.pk}/change/").status_code == 302  # "does not exist"
    assert client.get(f"{ORDERS}{order_b.pk}/tickets.pdf").status_code == 404
    before = Order.objects.filter(pk=order_b.pk).values().get()
    assert post(client, f"{ORDERS}{order_b.pk}/resend/").status_code == 404
    assert post(client, f"{ORDERS}{order_b.pk}/cancel/", {"reason": "x"}).status_code == 404
    line_b = order_b.lines.first()
    response = post(client, f"{ORDERS}{order_b.pk}/correct/", {"line": line_b.pk, "name": "X"})
    assert response.status_code == 404
    assert Order.objects.filter(pk=order_b.pk).values().get() == before
    assert order_b.lines.get(pk=line_b.pk).attendee_name == "Fan 1"
    assert len(mail.outbox) == 0
    # and an export holds A's orders only
    rows = csv_rows(client.get(f"{ORDERS}export/?kind=orders&format=csv"))
    assert [row[0] for row in rows[1:]] == [order_a.number]


def test_a_finance_member_reads_and_exports_but_cannot_act(world):
    # given a finance member of organization A
    client = client_for(world["finance_a"])
    order = world["order_a"]

    # then the order page opens without actions, and exports work
    page = client.get(f"{ORDERS}{order.pk}/change/").content.decode()
    assert order.number in page
    assert "/resend/" not in page and "/cancel/" not in page
    assert client.get(f"{ORDERS}export/?kind=tickets&format=xlsx").status_code == 200
    # when they try the actions anyway, then each is forbidden and nothing changed
    assert post(client, f"{ORDERS}{order.pk}/resend/").status_code == 403
    assert post(client, f"{ORDERS}{order.pk}/cancel/", {"reason": "no"}).status_code == 403
    assert client.get(f"{ORDERS}box-office/").status_code == 403
    assert len(mail.outbox) == 0
    assert Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLED


# -- the order page and its actions ----------------------------------------------------------


def test_the_order_page_shows_lines_payments_and_a_timeline_in_time_order(world, now):
    order = world["order_a"]
    page = client_for(world["manager_a"]).get(f"{ORDERS}{order.pk}/change/").content.decode()
    assert "Fan 1" in page and "Fan 2" in page
    assert "sandbox" in page.lower()
    # the timeline: placed, payment started, paid, tickets issued; the provider's callback
    timeline = page[page.index("order.placed") :]
    positions = [
        timeline.index(action)
        for action in ("order.placed", "payment.started", "order.paid", "tickets.issued")
    ]
    assert positions == sorted(positions)
    assert "callback.applied" in timeline


def test_an_order_is_found_by_number_name_phone_attendee_and_seat(world):
    client = client_for(world["manager_a"])
    order = world["order_a"]
    line = order.lines.order_by("pk").first()
    seat = f"{line.section_code}-{line.row_label}-{line.seat_label}"
    for term in (order.number, "张三", "13800000000", "zhang@example.com", "Fan 2", seat):
        listing = client.get(ORDERS, {"q": term}).content.decode()
        assert order.number in listing, term
    assert order.number not in client.get(ORDERS, {"q": "Nobody"}).content.decode()
    assert order.number not in client.get(ORDERS, {"q": "S1-A-99"}).content.decode()


def test_sending_the_tickets_again_mails_the_pdf_and_is_audited(world):
    order = world["order_a"]
    response = post(client_for(world["manager_a"]), f"{ORDERS}{order.pk}/resend/")
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["zhang@example.com"]
    assert order.number in message.subject
    [(_filename, content, mimetype)] = message.attachments
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")
    entry = AuditEntry.objects.get(action="order.tickets_sent", object_id=str(order.pk))
    assert entry.actor == world["manager_a"] and entry.data == {"to": "zhang@example.com"}


def test_correcting_a_name_reissues_the_ticket_within_the_policy(world):
    client = client_for(world["manager_a"])
    order = world["order_a"]
    line = order.lines.order_by("pk").first()
    ticket = Ticket.objects.get(order_line=line)
    url = f"{ORDERS}{order.pk}/correct/"

    # when the manager corrects the name
    post(client, url, {"line": line.pk, "name": "李四"})

    # then the line and the ticket carry it, the old credential version is revoked
    line.refresh_from_db()
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert line.attendee_name == "李四"
    assert (fresh.holder_name, fresh.version, fresh.status) == ("李四", 2, TicketStatus.VALID)
    assert Revocation.objects.filter(ticket_id=ticket.pk, version=1).exists()
    assert AuditEntry.objects.filter(action="ticket.name_corrected").count() == 1

    # and an invalid name changes nothing
    response = client.post(url, {"line": line.pk, "name": "bad\x00name"}, follow=True)
    assert Ticket.objects.get(pk=ticket.pk).version == 2
    assert "attendee name" in response.content.decode() or "姓名" in response.content.decode()

    # and after two corrections the policy refuses a third, with nothing changed
    post(client, url, {"line": line.pk, "name": "王五"})
    response = client.post(url, {"line": line.pk, "name": "赵六"}, follow=True)
    assert Ticket.objects.get(pk=ticket.pk).holder_name == "王五"
    assert Ticket.objects.get(pk=ticket.pk).version == 3
    assert "corrected too often" in response.content.decode() or "更正" in (
        response.content.decode()
    )


def test_cancelling_with_refund_needs_a_reason_then_refunds_everything(world):
    client = client_for(world["manager_a"])
    order = world["order_a"]
    url = f"{ORDERS}{order.pk}/cancel/"
    assert client.get(url).status_code == 200

    # when the reason is missing, then the form says so and nothing changed
    response = post(client, url, {"reason": ""})
    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLED

    # when a reason is given, then the order is refunded in full and its tickets revoked
    assert post(client, url, {"reason": "Duplicate order"}).status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert set(order.lines.values_list("status", flat=True)) == {LineStatus.REFUNDED}
    assert set(Ticket.objects.filter(order_line__order=order).values_list("status", flat=True)) == {
        TicketStatus.REVOKED
    }
    request = RefundRequest.objects.get(order=order)
    assert (request.status, request.amount, request.fee) == (
        RequestStatus.APPROVED,
        D("760.00"),
        D("0.00"),
    )


# -- box office ----------------------------------------------------------------------------


def test_the_box_office_sells_places_for_cash_and_prints_the_tickets(world):
    client = client_for(world["manager_a"])
    sale = world["a"]
    zone = sale.zones["A"]
    assert client.get(f"{ORDERS}box-office/").status_code == 200

    # when staff sell two places of zone A for cash
    response = post(
        client,
        f"{ORDERS}box-office/",
        {
            "session": sale.session.pk,
            "zone": zone.pk,
            "quantity": 2,
            "buyer_name": "王小明",
            "phone": "13900000000",
            "method": "cash",
        },
    )

    # then a fulfilled order paid at the box office in cash has two tickets for the buyer
    assert response.status_code == 302
    order = Order.objects.exclude(pk__in=[world["order_a"].pk, world["order_b"].pk]).get()
    assert order.status == OrderStatus.FULFILLED
    assert (order.phone, order.total) == ("13900000000", D("760.00"))
    [payment] = Payment.objects.filter(order=order)
    assert (payment.provider, payment.status, payment.options["method"]) == (
        "box_office",
        PaymentStatus.SUCCEEDED,
        "cash",
    )
    tickets = Ticket.objects.filter(order_line__order=order)
    assert [t.holder_name for t in tickets] == ["王小明", "王小明"]
    assert InventoryUnit.objects.filter(session=sale.session, status=UnitStatus.SOLD).count() == 4
    entry = AuditEntry.objects.get(action="order.box_office_sale")
    assert (entry.actor, entry.data["method"]) == (world["manager_a"], "cash")
    # and the printable PDF is there
    pdf = client.get(f"{ORDERS}{order.pk}/tickets.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_the_box_office_sells_chosen_seats_by_card_and_refuses_bad_input(world):
    client = client_for(world["manager_a"])
    sale = world["a"]
    units = InventoryUnit.objects.filter(session=sale.session)
    sold_before = units.filter(status=UnitStatus.SOLD).count()
    url = f"{ORDERS}box-office/"
    base = {"session": sale.session.pk, "buyer_name": "Li", "phone": "", "method": "card"}

    # a seat already sold, no buyer name, and a seat that does not exist change nothing
    for data in (
        {**base, "seats": "S1-A-1"},
        {**base, "seats": "S1-A-5", "buyer_name": ""},
        {**base, "seats": "S1-A-99"},
        {**base, "seats": "S1-A-5", "method": "cheque"},
    ):
        response = post(client, url, data)
        assert response.status_code == 200, data
        assert units.filter(status=UnitStatus.SOLD).count() == sold_before
    assert Order.objects.count() == 2

    # chosen seats by card
    assert post(client, url, {**base, "seats": "S1-A-5, S1-A-6"}).status_code == 302
    order = Order.objects.order_by("-pk").first()
    assert Payment.objects.get(order=order).options["method"] == "card"
    assert sorted(order.lines.values_list("seat_label", flat=True)) == ["5", "6"]


def test_buyers_cannot_pay_with_the_box_office(world, now):
    # the box office is offered to nobody online, and a checkout with it writes nothing
    assert "box_office" not in provider_names()
    sale, fan = world["a"], make_buyer()
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[sale.seat_unit("S1", "A", 7).pk], now=now
    )
    order = orders.place_order(hold=hold, user=fan, now=now)
    with pytest.raises(UnknownProvider):
        payments.start_payment(order=order, provider="box_office", user=fan, now=now)
    assert not Payment.objects.filter(order=order).exists()
    # the one-call checkout refuses it before writing anything
    orders_before = Order.objects.count()
    with pytest.raises(UnknownProvider):
        checkout(
            session_id=sale.session.pk,
            user=make_buyer(),
            choice=PlaceChoice.parse({"seat_labels": "S1-A-8"}),
            provider="box_office",
            now=now,
        )
    assert Order.objects.count() == orders_before
    assert sale.seat_unit("S1", "A", 8).status == UnitStatus.AVAILABLE


def test_a_refund_of_a_box_office_sale_waits_for_an_operator_to_give_the_cash_back(world, now):
    from tessera.sale.box_office import sell_at_box_office

    sale = world["a"]
    order = sell_at_box_office(
        session=sale.session,
        choice=PlaceChoice.parse({"seat_labels": "S1-A-8"}),
        buyer_name="Li",
        phone="",
        method="cash",
        actor=world["manager_a"],
        now=now,
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.cancel_order(order=order, actor=world["manager_a"], reason="asked", now=now)
    [refund] = Refund.objects.filter(payment__order=order)
    assert refund.status == RefundStatus.FAILED  # waits for the counter (or an operator)
    assert "at the counter" in refund.last_error
    url = f"{ORDERS}{order.pk}/refunds/{refund.pk}/returned/"
    page = client_for(world["manager_a"]).get(f"{ORDERS}{order.pk}/change/").content.decode()
    assert url in page

    # finance may not confirm it; another organization's manager does not find it
    assert post(client_for(world["finance_a"]), url).status_code == 403
    assert post(client_for(world["manager_b"]), url).status_code == 404
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.FAILED

    # when staff give the cash back and confirm it, then the refund is done and booked
    post(client_for(world["manager_a"]), url)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.provider_reference.startswith("by hand: ")
    ledger = sum(order.ledger.values_list("amount", flat=True), D(0))
    assert ledger == D("0.00")


# -- review queue --------------------------------------------------------------------------


def _ask(world, key: str, now):
    order = world[f"order_{key}"]
    line = order.lines.order_by("pk").first()
    quote = services.quote_refund(order=order, line_ids=[line.pk], now=now)
    return services.request_refund(
        order=order,
        user=world["fan"],
        line_ids=[line.pk],
        expected_fee=str(quote.fee),
        now=now,
    )


def test_bulk_approval_decides_the_organizations_requests_only(world, now):
    request_a, request_b = _ask(world, "a", now), _ask(world, "b", now)
    assert request_a.status == request_b.status == RequestStatus.REQUESTED
    client = client_for(world["manager_a"])
    listing = client.get(REQUESTS).content.decode()
    assert world["order_a"].number in listing and world["order_b"].number not in listing

    # when A's manager approves both (B's id smuggled into the form)
    post(
        client,
        REQUESTS,
        {"action": "approve_selected", "_selected_action": [request_a.pk, request_b.pk]},
    )

    # then A's request is approved and refunded, B's untouched
    assert RefundRequest.objects.get(pk=request_a.pk).status == RequestStatus.APPROVED
    assert RefundRequest.objects.get(pk=request_b.pk).status == RequestStatus.REQUESTED
    assert world["order_a"].lines.filter(status=LineStatus.REFUNDED).count() == 1


def test_bulk_rejection_asks_for_a_reason_first(world, now):
    request_a = _ask(world, "a", now)
    client = client_for(world["manager_a"])
    form = post(client, REQUESTS, {"action": "reject_selected", "_selected_action": [request_a.pk]})
    assert form.status_code == 200 and world["order_a"].number in form.content.decode()
    assert RefundRequest.objects.get(pk=request_a.pk).status == RequestStatus.REQUESTED

    post(
        client,
        REQUESTS,
        {
            "action": "reject_selected",
            "_selected_action": [request_a.pk],
            "reason": "Outside the policy",
        },
    )
    rejected = RefundRequest.objects.get(pk=request_a.pk)
    assert (rejected.status, rejected.decision_note) == (
        RequestStatus.REJECTED,
        "Outside the policy",
    )


def test_finance_cannot_decide_requests(world, now):
    request_a = _ask(world, "a", now)
    client = client_for(world["finance_a"])
    assert world["order_a"].number in client.get(REQUESTS).content.decode()
    post(client, REQUESTS, {"action": "approve_selected", "_selected_action": [request_a.pk]})
    assert RefundRequest.objects.get(pk=request_a.pk).status == RequestStatus.REQUESTED


# -- exports, stuck orders, rates ------------------------------------------------------------


def test_exports_hold_the_rows_and_guard_against_formulas(world, now):
    order = world["order_a"]
    line = order.lines.order_by("pk").first()
    line.attendee_name = "=HYPERLINK(1)"
    line.save(update_fields=["attendee_name"])
    Ticket.objects.filter(order_line=line).update(holder_name="=HYPERLINK(1)")
    client = client_for(world["manager_a"])

    rows = csv_rows(client.get(f"{ORDERS}export/?kind=tickets&format=csv"))
    assert len(rows) == 3
    holders = sorted(row[10] for row in rows[1:])
    assert holders == ["'=HYPERLINK(1)", "Fan 2"]
    assert {row[0] for row in rows[1:]} == {order.number}
    assert {row[8] for row in rows[1:]} == {"380.00"}

    orders_rows = csv_rows(client.get(f"{ORDERS}export/?kind=orders&format=csv"))
    assert orders_rows[1][0] == order.number
    assert orders_rows[1][9:13] == ["760.00", "760.00", "0.00", "CNY"]

    workbook = load_workbook(
        io.BytesIO(client.get(f"{ORDERS}export/?kind=tickets&format=xlsx").content)
    )
    sheet = workbook.active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 3
    assert sorted(v[10] for v in values[1:]) == ["'=HYPERLINK(1)", "Fan 2"]
    assert all(cell.data_type == "s" for cell in sheet[2] if isinstance(cell.value, str))

    # the after-sales export lists the organization's requests
    _ask(world, "a", now)
    _ask(world, "b", now)
    client.cookies["django_language"] = "en"
    after = csv_rows(client.get(f"{ORDERS}export/?kind=aftersales&format=csv"))
    assert [(row[0], row[2]) for row in after[1:]] == [("Refund", order.number)]
    # an export filtered like the list: another status leaves nothing
    empty = csv_rows(client.get(f"{ORDERS}export/?kind=orders&format=csv&status__exact=expired"))
    assert len(empty) == 1


def test_an_order_whose_payment_got_no_callback_is_listed_as_stuck(world, now):
    sale, fan = world["a"], make_buyer()
    past = now - timedelta(minutes=30)
    hold = inventory.hold_units(
        session=sale.session, user=fan, unit_ids=[sale.seat_unit("S1", "A", 7).pk], now=past
    )
    order = orders.place_order(hold=hold, user=fan, now=past)
    payments.start_payment(order=order, provider="sandbox", user=fan, now=past)
    client = client_for(world["manager_a"])

    listing = client.get(ORDERS, {"stuck": "waiting"}).content.decode()
    assert order.number in listing and world["order_a"].number not in listing
    index = client.get("/admin/").content.decode()
    assert "?stuck=waiting" in index
    assert "1 order: payment started, no callback" in index or "1 个订单" in index
    # organization B's manager does not see it
    other = client_for(world["manager_b"]).get(ORDERS, {"stuck": "waiting"}).content.decode()
    assert order.number not in other


def test_rates_per_event_count_refunded_tickets_and_fees(world, now):
    request = _ask(world, "a", now)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.approve_refund(request=request, actor=world["manager_a"], now=now)
    page = client_for(world["manager_a"]).get(f"{ORDERS}rates/").content.decode()
    event = world["a"].session.event
    assert event.name in page or event.name_en in page
    assert "50.0 %" in page
    assert f"{request.amount} CNY" in page
    assert world["b"].session.event.name_en not in page


def test_a_completed_exchange_counts_in_the_rates_the_export_and_the_timeline(now):
    # given an order of two tickets, one exchanged for a seat of the second date (fee 10.00)
    dates = make_two_dates(now, fee="10.00")
    fan = make_buyer()
    order = bought(dates.first, fan, [1, 2], now, section="S2")
    line = order.lines.order_by("pk").first()
    hold = inventory.hold_units(
        session=dates.second,
        user=fan,
        unit_ids=[dates.unit(dates.second, "S2", 5).pk],
        now=now,
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        exchange = exchanges.confirm_exchange(
            order=order,
            user=fan,
            line_ids=[line.pk],
            hold=hold,
            expected_difference="10.00",
            now=now,
        )
    if exchange.status != ExchangeStatus.COMPLETED:  # the fee is owed: paid at the cashier
        payment = exchanges.pay_difference(request=exchange, user=fan, now=now)
        with TestCase.captureOnCommitCallbacks(execute=True):
            pay_locally(payment_id=payment.pk, now=now)
        exchange.refresh_from_db()
    assert exchange.status == ExchangeStatus.COMPLETED
    manager = make_member(
        organization=dates.first.session.event.organization,
        role=Role.FINANCE,
        is_staff=True,
        password=None,
    )
    client = client_for(manager)
    client.cookies["django_language"] = "en"

    # then the rates count one exchanged ticket of the two sold (the new place included)
    [rates] = backoffice.rates_by_event(Order.objects.all())
    assert (rates.sold, rates.exchanged, rates.exchange_fees) == (2, 1, D("10.00"))
    assert rates.exchange_rate == D("50.0")
    page = client.get(f"{ORDERS}rates/").content.decode()
    assert "50.0 %" in page and "10.00 CNY" in page
    # and the after-sales export has the exchange with its new order
    rows = csv_rows(client.get(f"{ORDERS}export/?kind=aftersales&format=csv"))
    [row] = rows[1:]
    assert (row[0], row[2], row[11]) == ("Exchange", order.number, exchange.new_order.number)
    # and both orders' timelines show it
    for each in (order, exchange.new_order):
        actions = [item.action for item in backoffice.order_timeline(each)]
        assert "exchange.completed" in actions
