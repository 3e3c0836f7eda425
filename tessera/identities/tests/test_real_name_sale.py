"""Real-name sessions: one attendee per ticket, at most N live tickets per identity, enforced in
the checkout's (and the order's) transaction; plain sessions keep their statements."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tessera.core.errors import DomainError
from tessera.identities import services as identities
from tessera.identities.models import LineIdentity
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.inventory.tests.test_concurrency import waiting_for_the_lock
from tessera.orders.models import Order, OrderLine, OrderStatus
from tessera.orders.services import AttendeesFixed, update_attendees
from tessera.payments.models import Refund
from tessera.sale import services
from tessera.sale.choices import PlaceChoice
from tessera.sale.tests.conftest import deliver, gateway_callbacks, sale_rows
from tessera.tickets.models import Ticket

NUMBER = "11010519491231002X"
OTHER = "440524188001010014"


def real_name_sale(now, **fields):
    sale = make_sale(sections=1, rows=2, seats_per_row=10, now=now, **fields)
    sale.session.real_name_required = True
    sale.session.save(update_fields=["real_name_required"])
    return sale


def attendee(fan, number=NUMBER, name="Li Lei"):
    return identities.add_attendee(
        user=fan, name=name, doc_type="resident_id", number=number, now=timezone.now()
    )


def buy(sale, fan, attendee_ids, now):
    return services.checkout(
        session_id=sale.session.pk,
        user=fan,
        choice=PlaceChoice.parse({"zone": sale.zones["A"].pk, "quantity": len(attendee_ids)}),
        provider="sandbox",
        attendees=[{"attendee_id": i} for i in attendee_ids],
        now=now,
    )


@pytest.mark.django_db
def test_a_real_name_checkout_binds_each_ticket_to_its_attendee():
    now = timezone.now()
    sale = real_name_sale(now)
    fan = make_buyer()
    li, han = attendee(fan), attendee(fan, OTHER, "Han Meimei")
    result = buy(sale, fan, [li.pk, han.pk], now)
    lines = list(OrderLine.objects.filter(order=result.order).order_by("id"))
    assert [(x.attendee_name, x.attendee_id_type, x.attendee_id_number) for x in lines] == [
        ("Li Lei", "resident_id", "1101**********002X"),
        ("Han Meimei", "resident_id", "4405**********0014"),
    ]
    bound = {b.line_id: b for b in LineIdentity.objects.all()}
    assert bytes(bound[lines[0].pk].number) == NUMBER.encode()
    assert bound[lines[1].pk].blind_index == han.blind_index
    # the names cannot change afterwards: the identities are bound
    with pytest.raises(AttendeesFixed):
        update_attendees(order=result.order, user=fan, attendees=["X", "Y"], now=now)


@pytest.mark.django_db
def test_the_same_identity_from_another_account_is_refused_and_nothing_is_kept():
    now = timezone.now()
    sale = real_name_sale(now)
    first, second = make_buyer(), make_buyer(preferred_language="en")
    buy(sale, first, [attendee(first).pk], now)
    before = sale_rows(sale.session)
    with pytest.raises(DomainError) as refused:
        buy(sale, second, [attendee(second).pk], now)
    assert refused.value.code == "identity_limit_reached"
    assert str(refused.value.message) == (
        "Li Lei (1101**********002X) already holds 1 of the 1 tickets one person may have "
        "for this session."
    )
    assert refused.value.details == {
        "attendee_id": refused.value.details["attendee_id"],
        "limit": 1,
        "already": 1,
        "requested": 1,
    }
    after = sale_rows(sale.session)
    assert after["units"] == before["units"] and after["orders"] == before["orders"]


@pytest.mark.django_db
def test_one_identity_twice_in_one_order_passes_only_within_the_limit():
    now = timezone.now()
    sale = real_name_sale(now)
    fan = make_buyer()
    li = attendee(fan)
    with pytest.raises(DomainError) as refused:
        buy(sale, fan, [li.pk, li.pk], now)
    assert refused.value.code == "identity_limit_reached"
    sale.session.max_tickets_per_identity = 2
    sale.session.save(update_fields=["max_tickets_per_identity"])
    assert len(buy(sale, fan, [li.pk, li.pk], now).lines) == 2


@pytest.mark.django_db
def test_an_expired_unpaid_order_frees_the_identity():
    now = timezone.now()
    sale = real_name_sale(now)
    first, second = make_buyer(), make_buyer()
    buy(sale, first, [attendee(first).pk], now)
    later = now + timezone.timedelta(minutes=sale.session.hold_minutes + 1)
    assert buy(sale, second, [attendee(second).pk], later).order.status == "pending_payment"


@pytest.mark.django_db
def test_a_real_name_checkout_needs_an_attendee_of_ones_own_per_ticket():
    now = timezone.now()
    sale = real_name_sale(now)
    fan, other = make_buyer(), make_buyer()
    theirs = attendee(other)
    before = sale_rows(sale.session)
    with pytest.raises(DomainError) as no_attendees:
        services.checkout(
            session_id=sale.session.pk,
            user=fan,
            choice=PlaceChoice.parse({"zone": sale.zones["A"].pk, "quantity": 1}),
            provider="sandbox",
            attendees=["Li Lei"],
            now=now,
        )
    assert no_attendees.value.code == "attendees_required"
    with pytest.raises(DomainError) as not_mine:
        buy(sale, fan, [theirs.pk], now)
    assert not_mine.value.code == "attendee_not_found"
    assert sale_rows(sale.session) == before


@pytest.mark.django_db(transaction=True)
def test_the_checkout_api_takes_attendee_ids_and_explains_a_refusal():
    now = timezone.now()
    sale = real_name_sale(now)
    first, second = make_buyer(preferred_language="en"), make_buyer(preferred_language="en")
    answers = []
    for fan in (first, second):
        client = Client()
        client.force_login(fan)
        answers.append(
            client.post(
                f"/api/v1/sessions/{sale.session.pk}/checkout",
                json.dumps(
                    {
                        "zone": sale.zones["A"].pk,
                        "quantity": 1,
                        "provider": "sandbox",
                        "attendees": [{"attendee_id": attendee(fan).pk}],
                    }
                ),
                content_type="application/json",
            )
        )
    assert answers[0].status_code == 201
    assert answers[0].json()["order"]["lines"][0]["attendee_name"] == "Li Lei"
    assert answers[1].status_code == 409
    assert answers[1].json()["error"]["code"] == "identity_limit_reached"
    assert NUMBER not in answers[0].content.decode() + answers[1].content.decode()
    # a paid real-name ticket still counts
    [callback] = gateway_callbacks(answers[0].json()["payment"]["id"], now)
    Client().post(
        "/api/v1/payments/callbacks/sandbox",
        callback.body,
        content_type="application/json",
        HTTP_X_SANDBOX_SIGNATURE=callback.headers["X-Sandbox-Signature"],
    )
    order = Order.objects.get(number=answers[0].json()["order"]["number"])
    assert order.status == OrderStatus.FULFILLED
    assert order.lines.get().ticket.holder_name == "Li Lei"
    assert (
        identities.live_tickets(
            session_id=sale.session.pk, index=identities.blind_index("resident_id", NUMBER), now=now
        )
        == 1
    )


@pytest.mark.django_db(transaction=True)
def test_a_wrong_attendee_id_type_is_refused_by_the_api():
    now = timezone.now()
    sale = real_name_sale(now)
    client = Client()
    client.force_login(make_buyer())
    for bad in ("1", 1.0, True, 0, -3, 2**63):
        answer = client.post(
            f"/api/v1/sessions/{sale.session.pk}/checkout",
            json.dumps(
                {
                    "zone": sale.zones["A"].pk,
                    "quantity": 1,
                    "provider": "sandbox",
                    "attendees": [{"attendee_id": bad}],
                }
            ),
            content_type="application/json",
        )
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, "invalid_input")
    assert Order.objects.count() == 0


# -- plain sessions keep their statements --------------------------------------------------------


def _checkout_statements(sale, fan) -> int:
    client = Client()
    client.force_login(fan)
    body = {"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"}
    client.post(  # warm the process's caches (signing key, prepared statements)
        f"/api/v1/sessions/{sale.session.pk}/checkout",
        json.dumps(body),
        content_type="application/json",
    )
    with CaptureQueriesContext(connection) as captured:
        answer = client.post(
            f"/api/v1/sessions/{sale.session.pk}/checkout",
            json.dumps(body),
            content_type="application/json",
        )
    assert answer.status_code == 201
    return len(captured.captured_queries)


# What a plain session's checkout cost before real-name tickets (BEGIN and COMMIT included),
# measured on this branch's parent: real-name tickets add nothing to it.
PLAIN_CHECKOUT = {"postgresql": 6, "sqlite": 31}


@pytest.mark.django_db(transaction=True)
def test_a_plain_sessions_checkout_runs_exactly_its_old_statements():
    sale = make_sale(sections=1, rows=2, seats_per_row=10)
    assert _checkout_statements(sale, make_buyer()) == PLAIN_CHECKOUT[connection.vendor]


@pytest.mark.django_db(transaction=True)
def test_a_real_name_checkout_costs_a_few_statements_more():
    now = timezone.now()
    sale = real_name_sale(now)
    fan = make_buyer()
    ids = [attendee(fan).pk, attendee(fan, OTHER, "Han Meimei").pk]
    client = Client()
    client.force_login(fan)
    with CaptureQueriesContext(connection) as captured:
        answer = client.post(
            f"/api/v1/sessions/{sale.session.pk}/checkout",
            json.dumps(
                {
                    "zone": sale.zones["A"].pk,
                    "quantity": 2,
                    "provider": "sandbox",
                    "attendees": [{"attendee_id": i} for i in ids],
                }
            ),
            content_type="application/json",
        )
    assert answer.status_code == 201
    assert len(captured.captured_queries) <= 60


# -- races on PostgreSQL -------------------------------------------------------------------------

THREADS = 12


def race(call, args: list) -> list:
    parallel = connection.vendor == "postgresql"
    start = threading.Barrier(len(args) if parallel else 1, timeout=60)

    def one(arg):
        try:
            start.wait()
            return waiting_for_the_lock(lambda: call(arg))
        except DomainError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(args) if parallel else 1) as pool:
        return list(pool.map(one, args))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limit", [1, 2])
def test_one_identity_buying_from_many_accounts_at_once_never_passes_its_limit(limit):
    now = timezone.now()
    sale = real_name_sale(now)
    sale.session.max_tickets_per_identity = limit
    sale.session.save(update_fields=["max_tickets_per_identity"])
    fans = [make_buyer() for _ in range(THREADS)]
    picks = [(fan, attendee(fan).pk) for fan in fans]

    def one(pick):
        fan, attendee_id = pick
        return buy(sale, fan, [attendee_id], now).order.number

    results = race(one, picks)
    won = [r for r in results if r.startswith("T")]
    assert len(won) == limit
    assert sorted(r for r in results if not r.startswith("T")) == ["identity_limit_reached"] * (
        THREADS - limit
    )
    assert LineIdentity.objects.filter(session=sale.session).count() == limit
    held = InventoryUnit.objects.filter(session=sale.session, status=UnitStatus.HELD).count()
    assert held == limit


@pytest.mark.django_db(transaction=True)
def test_a_late_payment_cannot_take_an_identity_past_its_limit():
    # given a first buyer whose hold ran out before paying
    now = timezone.now()
    sale = real_name_sale(now)
    first, second = make_buyer(), make_buyer()
    late = buy(sale, first, [attendee(first).pk], now)
    past = now - timezone.timedelta(seconds=1)
    Hold.objects.filter(pk=late.order.hold_id).update(expires_at=past)
    InventoryUnit.objects.filter(hold_id=late.order.hold_id).update(hold_expires_at=past)
    Order.objects.filter(pk=late.order.pk).update(expires_at=past)
    # and a second account that bought and paid for the same person meanwhile
    paid = buy(sale, second, [attendee(second).pk], now)
    [callback] = gateway_callbacks(paid.payment.pk, now)
    assert deliver(Client(), callback).status_code == 200

    # when the first buyer's payment arrives after all
    [callback] = gateway_callbacks(late.payment.pk, now)
    assert deliver(Client(), callback).status_code == 200

    # then it sells nothing: the identity keeps one ticket, the late order is refunded
    late_order = Order.objects.get(pk=late.order.pk)
    assert late_order.status != OrderStatus.FULFILLED
    assert not Ticket.objects.filter(order_line__order=late_order).exists()
    assert Ticket.objects.filter(session=sale.session).count() == 1
    index = identities.blind_index("resident_id", NUMBER)
    assert identities.live_tickets(session_id=sale.session.pk, index=index, now=now) == 1
    assert Refund.objects.filter(payment_id=late.payment.pk).count() == 1


@pytest.mark.django_db
def test_erasing_a_person_forgets_their_attendees_and_ticket_identities():
    now = timezone.now()
    sale = real_name_sale(now)
    fan, other = make_buyer(), make_buyer()
    buy(sale, fan, [attendee(fan).pk], now)
    buy(sale, other, [attendee(other, OTHER, "Han Meimei").pk], now)
    assert identities.forget_person(user=fan) == 2
    assert list(LineIdentity.objects.values_list("name", flat=True)) == ["Han Meimei"]
    assert list(identities.list_attendees(user=fan)) == []
    assert len(identities.list_attendees(user=other)) == 1
