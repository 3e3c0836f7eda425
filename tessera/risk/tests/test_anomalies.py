"""Each anomaly rule flags a seeded case and leaves a clean one alone."""

from datetime import timedelta

import pytest

from tessera.core.models import AuditEntry
from tessera.inventory import services as inventory
from tessera.inventory.tests.factories import make_buyer
from tessera.orders import services as orders
from tessera.orders.models import Order
from tessera.risk import anomalies
from tessera.risk.models import CaseStatus, ReviewCase, RiskDecision
from tessera.risk.tasks import find_anomalies

pytestmark = pytest.mark.django_db

_seat = iter(range(1, 1000))


def order_for(sale, user, now, *, phone="", email="", section="S1"):
    """An order of one seat awaiting payment, as the sale makes it."""
    n = next(_seat)
    row, seat = "ABC"[(n - 1) // 10 % 3], (n - 1) % 10 + 1
    section = ("S1", "S2")[(n - 1) // 30 % 2]
    hold = inventory.hold_units(
        session=sale.session,
        user=user,
        unit_ids=[u.id for u in sale.seat_units(section, row, [seat])],
        now=now,
    )
    order = orders.place_order(hold=hold, user=user, attendees=["Fan"], now=now)
    Order.objects.filter(pk=order.pk).update(phone=phone, email=email)
    return Order.objects.get(pk=order.pk)


def old_buyer(now):
    return make_buyer(date_joined=now - timedelta(days=200))


def codes(found, order):
    return sorted(r["code"] for r in found.get(order.pk, []))


def test_many_accounts_on_one_payer(sale, now):
    shared = [order_for(sale, old_buyer(now), now, phone="138 0000 0001") for _ in range(3)]
    clean = [order_for(sale, old_buyer(now), now, phone=f"1390000000{n}") for n in range(3)]
    found = anomalies.find(now=now)
    assert [codes(found, o) for o in shared] == [["payer_accounts"]] * 3
    assert shared[0].pk in found and all(o.pk not in found for o in clean)
    assert found[shared[0].pk][0]["accounts"] == 3


def test_payment_velocity_and_amount_per_payer(sale, now, settings):
    settings.RISK_RULE_PAYER_ORDERS_PER_HOUR = 3
    settings.RISK_RULE_PAYER_AMOUNT = "1000.00"
    fan = old_buyer(now)
    fast = [order_for(sale, fan, now, email="Bot@Example.com") for _ in range(3)]
    calm = [order_for(sale, old_buyer(now), now, email="fan@example.com") for _ in range(2)]
    paid = Order.objects.filter(pk__in=[o.pk for o in fast + calm])
    paid.update(status="paid", paid_at=now)
    found = anomalies.find(now=now)
    # 3 × ¥380 = ¥1,140 by one payer within the hour; the calm payer: 2 orders, ¥760
    assert [codes(found, o) for o in fast] == [["payer_amount", "payer_velocity"]] * 3
    assert all(o.pk not in found for o in calm)


def test_a_burst_of_new_accounts_before_the_sale(sale, now, settings):
    settings.RISK_RULE_NEW_ACCOUNTS = 3
    fleet = [make_buyer(date_joined=now - timedelta(minutes=30 + n)) for n in range(3)]
    burst = [order_for(sale, user, now) for user in fleet]
    lone_new = order_for(sale, make_buyer(date_joined=now - timedelta(hours=20)), now)
    regular = order_for(sale, old_buyer(now), now)
    found = anomalies.find(now=now)
    assert [codes(found, o) for o in burst] == [["new_account_burst"]] * 3
    assert lone_new.pk not in found and regular.pk not in found


def decision(user, now, *, device="d:x", address="10.0.0.1", session=None):
    return RiskDecision.objects.create(
        at=now,
        purpose="hold",
        path="/",
        session=session,
        user=user,
        device_key=device,
        address=address,
        score=0,
        action="allow",
    )


def test_many_accounts_on_one_device(sale, now):
    fleet = [old_buyer(now) for _ in range(3)]
    for user in fleet:
        decision(user, now, device="d:bot-phone", address=f"10.{fleet.index(user)}.0.1")
    fan = old_buyer(now)
    decision(fan, now, device="d:fan-phone")
    flagged = [order_for(sale, user, now) for user in fleet]
    clean = order_for(sale, fan, now)
    found = anomalies.find(now=now)
    assert [codes(found, o) for o in flagged] == [["device_accounts"]] * 3
    assert clean.pk not in found


def test_orders_from_one_address_range(sale, now, settings):
    settings.RISK_RULE_RANGE_ACCOUNTS = 3
    fleet = [old_buyer(now) for _ in range(3)]
    for n, user in enumerate(fleet):
        decision(user, now, device=f"d:{n}", address=f"203.0.113.{n + 10}", session=sale.session)
    fan = old_buyer(now)
    decision(fan, now, device="d:fan", address="198.51.100.7", session=sale.session)
    flagged = [order_for(sale, user, now) for user in fleet]
    clean = order_for(sale, fan, now)
    found = anomalies.find(now=now)
    assert [codes(found, o) for o in flagged] == [["address_range"]] * 3
    assert found[flagged[0].pk][0]["range"] == "203.0.113.0/24"
    assert clean.pk not in found


def test_the_same_ticket_passed_on_again_and_again():
    from tessera.transfers import services as transfers
    from tessera.transfers.models import Channel
    from tessera.transfers.tests.factories import NOW, make_transferable

    setup = make_transferable(seats=2, max_transfers=3)
    passed, _kept = setup.tickets
    third = make_buyer(phone="13700000003")
    holder = setup.buyer
    for recipient in (setup.friend, third):
        sent = transfers.send_transfer(ticket=passed, sender=holder, channel=Channel.LINK, now=NOW)
        transfers.accept_link(token=sent.token, user=recipient, now=NOW)
        holder = recipient
        passed.refresh_from_db()
    found = anomalies.find(now=NOW)
    assert codes(found, setup.order) == ["repeated_transfer"]
    [reason] = found[setup.order.pk]
    assert (reason["ticket"], reason["transfers"]) == (str(passed.pk), 2)  # not the kept one


def test_the_periodic_task_flags_orders_once(sale, now):
    shared = [order_for(sale, old_buyer(now), now, phone="13800000001") for _ in range(3)]
    order_for(sale, old_buyer(now), now, phone="13900000009")
    assert find_anomalies.call() == 3
    assert find_anomalies.call() == 0
    cases = ReviewCase.objects.order_by("order_id")
    assert [(c.order_id, c.status, c.score) for c in cases] == [
        (o.pk, CaseStatus.OPEN, 40) for o in shared
    ]
    assert AuditEntry.objects.filter(action="risk.order_flagged").count() == 3
