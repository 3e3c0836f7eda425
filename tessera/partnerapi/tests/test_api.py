"""The distributor API, endpoint by endpoint, through HTTP with a channel's key."""

import json
from decimal import Decimal

import pytest
from django.test import Client

from tessera.aftersales.models import RefundRequest
from tessera.core.models import IdempotencyRecord
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.orders.models import Order, OrderStatus
from tessera.payments.models import Refund
from tessera.tickets.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db

BASE = "/api/v1/partner"


def get(dist, path, **params):
    return Client().get(BASE + path, params, **dist.auth)


def post(dist, path, body, key=None):
    headers = dict(dist.auth)
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return Client().post(BASE + path, json.dumps(body), content_type="application/json", **headers)


def order(dist, sale, key="o-1", **choice):
    body = {"session": sale.session.pk, **(choice or {"zone": sale.zones["A"].pk, "quantity": 2})}
    body.setdefault("buyer", {"name": "Wang Fang", "email": "wf@example.com"})
    return post(dist, "/orders", body, key=key)


def test_the_catalog_lists_what_the_channel_may_sell(world):
    a, b = world["a"], world["b"]
    answer = get(b, "/catalog")
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 2
    names = [e["name"] for e in body["items"]]
    assert names == ["Shared Gala", "BETA-ONLY Derby"]
    shared = body["items"][0]
    assert [s["id"] for s in shared["sessions"]] == [world["shared"].session.pk]
    zones = shared["sessions"][0]["zones"]
    assert [(z["code"], z["price"], z["currency"]) for z in zones] == [
        ("A", "380.00", "CNY"),
        ("B", "280.00", "CNY"),
        ("GA", "180.00", "CNY"),
    ]
    assert [e["name"] for e in get(a, "/catalog").json()["items"]] == [
        "Shared Gala",
        "ALPHA-ONLY Final",
    ]
    paged = get(a, "/catalog", page=2, page_size=1).json()
    assert (paged["count"], [e["name"] for e in paged["items"]]) == (2, ["ALPHA-ONLY Final"])


def test_a_session_the_channel_cannot_sell_is_not_found(world):
    a, b = world["a"], world["b"]
    a_only = world["a_only"].session
    assert get(a, f"/sessions/{a_only.pk}").status_code == 200
    for path in (f"/sessions/{a_only.pk}", f"/sessions/{a_only.pk}/availability"):
        answer = get(b, path)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "session_not_found"
    answer = get(b, f"/events/{a_only.event_id}")
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "event_not_found")
    event = get(a, f"/events/{a_only.event_id}").json()
    assert [s["id"] for s in event["sessions"]] == [a_only.pk]


def test_session_detail_has_zones_and_the_refund_policy(world):
    session = world["shared"].session
    body = get(world["b"], f"/sessions/{session.pk}").json()
    assert body["id"] == session.pk and body["event_name"] == "Shared Gala"
    assert body["refund_policy"] == {
        "is_refundable": True,
        "refund_cutoff_hours": 24,
        "refunds_need_review": False,
    }
    assert [z["code"] for z in body["zones"]] == ["A", "B", "GA"]


def test_availability_splits_allocation_and_open_pool(world, now):
    a, b = world["a"], world["b"]
    shared = world["shared"]
    # one place of A's block is sold to A
    assert order(a, shared, zone=shared.zones["A"].pk, quantity=1).status_code == 201
    rows = {
        z["code"]: z for z in get(a, f"/sessions/{shared.session.pk}/availability").json()["zones"]
    }
    assert {
        c: (z["allocated"], z["allocated_free"], z["open_pool_free"], z["available"])
        for c, z in rows.items()
    } == {
        "A": (10, 9, 0, 9),
        "B": (0, 0, 10, 10),
        "GA": (0, 0, 10, 10),
    }
    rows = {
        z["code"]: z for z in get(b, f"/sessions/{shared.session.pk}/availability").json()["zones"]
    }
    assert rows["A"]["available"] == 0 and rows["B"]["available"] == 10


def test_a_quote_prices_places_and_writes_nothing(world):
    b, shared = world["b"], world["shared"]
    before = list(InventoryUnit.objects.order_by("id").values_list("status", "hold_id"))
    body = post(
        b, f"/sessions/{shared.session.pk}/quote", {"zone": shared.zones["B"].pk, "quantity": 3}
    ).json()
    assert (body["total"], body["currency"], body["quantity"], body["available"]) == (
        "840.00",
        "CNY",
        3,
        True,
    )
    # zone A is all A's: B cannot have it
    body = post(
        b, f"/sessions/{shared.session.pk}/quote", {"zone": shared.zones["A"].pk, "quantity": 1}
    ).json()
    assert (body["available"], body["reason"], body["total"]) == (False, "sold_out", "380.00")
    body = post(
        b, f"/sessions/{shared.session.pk}/quote", {"zone": shared.zones["B"].pk, "quantity": 7}
    ).json()
    assert (body["available"], body["reason"]) == (False, "over_order_limit")
    seat_a = shared.seat_unit("S1", "A", 1)
    seat_b = shared.seat_unit("S2", "A", 1)
    body = post(b, f"/sessions/{shared.session.pk}/quote", {"seat_ids": [seat_b.seat_id]}).json()
    assert (body["total"], body["available"], body["lines"][0]["unit_id"]) == (
        "280.00",
        True,
        seat_b.pk,
    )
    body = post(
        b, f"/sessions/{shared.session.pk}/quote", {"seat_ids": [seat_a.seat_id, seat_b.seat_id]}
    ).json()
    assert (body["total"], body["available"], body["reason"]) == ("660.00", False, "seats_taken")
    bad = post(b, f"/sessions/{shared.session.pk}/quote", {"zone": shared.zones["B"].pk})
    assert bad.status_code == 422
    assert list(InventoryUnit.objects.order_by("id").values_list("status", "hold_id")) == before


def test_an_order_its_tickets_and_the_channels_list(world):
    b, shared = world["b"], world["shared"]
    answer = order(b, shared, zone=shared.zones["B"].pk, quantity=2)
    assert answer.status_code == 201, answer.content
    number = answer.json()["order"]["number"]
    again = order(b, shared, zone=shared.zones["B"].pk, quantity=2)
    assert again.json() == answer.json() and again["Idempotent-Replayed"] == "true"
    missing_key = order(b, shared, key=None, zone=shared.zones["B"].pk, quantity=2)
    assert missing_key.status_code == 422
    assert Order.objects.filter(channel=b.channel).count() == 1

    listed = get(b, "/orders").json()
    assert (listed["count"], listed["items"][0]["number"], listed["items"][0]["total"]) == (
        1,
        number,
        "560.00",
    )
    detail = get(b, f"/orders/{number}").json()
    assert [line["status"] for line in detail["lines"]] == ["active", "active"]
    tickets = get(b, f"/orders/{number}/tickets").json()
    assert len(tickets) == 2 and all(t["credential"].startswith("TS1:") for t in tickets)
    assert {t["id"] for t in tickets} == {line["ticket_id"] for line in detail["lines"]}
    pdf = get(b, f"/tickets/{tickets[0]['id']}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    svg = get(b, f"/tickets/{tickets[0]['id']}/qr.svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content


def test_an_order_for_a_session_it_cannot_sell_is_not_found(world):
    b, a_only = world["b"], world["a_only"]
    answer = order(b, a_only, zone=a_only.zones["A"].pk, quantity=1)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "session_not_found")
    assert not Order.objects.filter(channel=b.channel).exists()


def test_cancel_refunds_within_the_policy_to_the_channels_account(world):
    b, shared = world["b"], world["shared"]
    number = order(b, shared, zone=shared.zones["B"].pk, quantity=2).json()["order"]["number"]
    tickets = get(b, f"/orders/{number}/tickets").json()
    first = post(
        b,
        f"/orders/{number}/cancel",
        {"ticket_ids": [tickets[0]["id"]], "reason": "Buyer cancelled"},
        key="c-1",
    )
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["order"]["status"] == OrderStatus.PARTIALLY_REFUNDED
    assert (
        body["refund"]["status"],
        body["refund"]["price"],
        body["refund"]["fee"],
        body["refund"]["amount"],
    ) == ("approved", "280.00", "14.00", "266.00")
    assert body["refund"]["ticket_ids"] == [tickets[0]["id"]]
    # the same key answers the first answer again, nothing more is refunded
    again = post(
        b,
        f"/orders/{number}/cancel",
        {"ticket_ids": [tickets[0]["id"]], "reason": "Buyer cancelled"},
        key="c-1",
    )
    assert again.status_code == 200 and again.json() == body
    assert RefundRequest.objects.filter(order__number=number).count() == 1
    # money: booked on the channel's order, nothing sent to a provider
    placed = Order.objects.get(number=number)
    assert list(placed.ledger.order_by("id").values_list("kind", "amount", "reference")) == [
        ("charge", Decimal("560.00"), "channel:dist-b"),
        ("refund", Decimal("-280.00"), f"refund-request:{RefundRequest.objects.get().pk.hex}"),
        ("fee", Decimal("14.00"), f"refund-request:{RefundRequest.objects.get().pk.hex}"),
    ]
    assert not Refund.objects.exists()
    assert Ticket.objects.get(pk=tickets[0]["id"]).status == TicketStatus.REVOKED
    unit = InventoryUnit.objects.get(pk=tickets[0]["unit_id"])
    assert unit.status == UnitStatus.AVAILABLE
    # the refunded ticket has no credential and no files any more
    listed = {t["id"]: t for t in get(b, f"/orders/{number}/tickets").json()}
    assert listed[tickets[0]["id"]]["credential"] is None
    assert get(b, f"/tickets/{tickets[0]['id']}.pdf").status_code == 409
    # the rest of the order
    rest = post(b, f"/orders/{number}/cancel", {}, key="c-2").json()
    assert (rest["order"]["status"], rest["refund"]["ticket_ids"]) == (
        "refunded",
        [tickets[1]["id"]],
    )
    assert len(get(b, f"/orders/{number}").json()["refunds"]) == 2


def test_cancel_is_refused_when_the_policy_says_no(world, now):
    from tessera.catalog.services import set_policy

    b, shared = world["b"], world["shared"]
    number = order(b, shared, zone=shared.zones["B"].pk, quantity=1).json()["order"]["number"]
    set_policy(event=shared.session.event, actor=None, now=now, is_refundable=False)
    answer = post(b, f"/orders/{number}/cancel", {}, key="c-1")
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "refund_not_allowed")
    set_policy(
        event=shared.session.event,
        actor=None,
        now=now,
        is_refundable=True,
        refund_cutoff_hours=24 * 365,
    )
    answer = post(b, f"/orders/{number}/cancel", {}, key="c-2")
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "refund_too_late")
    assert "deadline" in answer.json()["error"]["details"]
    assert Order.objects.get(number=number).status == OrderStatus.FULFILLED
    assert not RefundRequest.objects.exists()
    assert not IdempotencyRecord.objects.filter(scope="partnerapi.cancel").exists()
    no_key = post(b, f"/orders/{number}/cancel", {})
    assert (no_key.status_code, no_key.json()["error"]["code"]) == (422, "idempotency_key_invalid")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/orders/%00", None),
        ("GET", "/orders/" + "T" * 41, None),
        ("GET", f"/tickets/{2**70}.pdf", None),
        ("GET", "/sessions/0", None),
        ("GET", "/catalog?page=0", None),
        ("GET", "/orders?page_size=1000", None),
        ("POST", "/sessions/{s}/quote", {"zone": True, "quantity": "1"}),
        ("POST", "/sessions/{s}/quote", {"seat_ids": [2**70]}),
        ("POST", "/sessions/{s}/quote", {"seat_ids": [1], "zone": 1, "quantity": 1}),
        ("POST", "/sessions/{s}/quote", {"zone": 1, "quantity": 10**30}),
        ("POST", "/sessions/{s}/quote", []),
        ("POST", "/sessions/{s}/quote", "text"),
        ("POST", "/sessions/{s}/quote", {"zone": 999999, "quantity": 1}),
        ("POST", "/sessions/{s}/quote", {"seat_ids": [999999]}),
        ("POST", "/orders", {"session": "x", "zone": 1, "quantity": 1}),
        ("POST", "/orders", {"session": 1, "zone": 1, "quantity": 1, "buyer": {"name": "\x00"}}),
        ("POST", "/orders/T1/cancel", {"ticket_ids": "all"}),
        ("POST", "/orders/T1/cancel", {"reason": "x" * 501}),
        ("POST", "/orders/T1/cancel", {"ticket_ids": [1], "extra": 1}),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(world, method, path, body):
    b, shared = world["b"], world["shared"]
    path = path.replace("{s}", str(shared.session.pk))
    before = (
        Order.objects.count(),
        RefundRequest.objects.count(),
        IdempotencyRecord.objects.count(),
    )
    if method == "GET":
        answer = Client().get(BASE + path, **b.auth)
    else:
        answer = Client().post(
            BASE + path,
            json.dumps(body),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="bad-1",
            **b.auth,
        )
    assert answer.status_code in (400, 404, 422), answer.content
    assert set(answer.json()["error"]) == {"code", "message", "details"}
    after = (
        Order.objects.count(),
        RefundRequest.objects.count(),
        IdempotencyRecord.objects.count(),
    )
    assert after == before


def test_errors_speak_the_callers_language(world):
    b = world["b"]
    answer = Client().get(f"{BASE}/sessions/999999", HTTP_ACCEPT_LANGUAGE="zh-hans", **b.auth)
    assert answer.json()["error"] == {
        "code": "session_not_found",
        "message": "本销售渠道没有这个场次。",
        "details": {},
    }


def test_a_live_code_only_session_has_no_printable_ticket(world):
    from tessera.checkin.models import CheckinSettings

    b, shared = world["b"], world["shared"]
    number = order(b, shared, zone=shared.zones["B"].pk, quantity=1).json()["order"]["number"]
    CheckinSettings.objects.create(
        session=shared.session, uses_rotating_codes=True, is_static_credential_allowed=False
    )
    (ticket,) = get(b, f"/orders/{number}/tickets").json()
    assert ticket["credential"].startswith("TS1:")
    assert (ticket["pdf_url"], ticket["qr_svg_url"]) == (None, None)
    for path in (f"/tickets/{ticket['id']}.pdf", f"/tickets/{ticket['id']}/qr.svg"):
        answer = get(b, path)
        assert (answer.status_code, answer.json()["error"]["code"]) == (
            409,
            "static_ticket_not_allowed",
        )


def test_a_real_name_session_is_quoted_as_not_for_channels(world):
    b, shared = world["b"], world["shared"]
    shared.session.real_name_required = True
    shared.session.save()
    body = post(
        b, f"/sessions/{shared.session.pk}/quote", {"zone": shared.zones["B"].pk, "quantity": 1}
    ).json()
    assert (body["available"], body["reason"], body["total"]) == (
        False,
        "real_name_required",
        "280.00",
    )


def test_a_channel_without_the_open_pool_sees_only_its_allocation(world):
    from tessera.inventory.models import SalesChannel

    # B sells only what it was allocated
    SalesChannel.objects.filter(code="dist-b").update(sells_open_pool=False)
    b, shared = world["b"], world["shared"]
    assert [e["name"] for e in get(b, "/catalog").json()["items"]] == ["BETA-ONLY Derby"]
    assert get(b, f"/sessions/{shared.session.pk}").status_code == 404
    zones = get(b, f"/sessions/{world['b_only'].session.pk}/availability").json()
    assert zones["sells_open_pool"] is False
    assert {z["code"]: z["open_pool_free"] for z in zones["zones"]} == {"A": 0, "B": 0, "GA": 0}
    assert {z["code"]: z["available"] for z in zones["zones"]} == {"A": 10, "B": 10, "GA": 10}


def test_a_retried_order_is_answered_again_after_the_sale_closed(world, now):
    from datetime import timedelta

    b, shared = world["b"], world["shared"]
    first = order(b, shared, key="o-late", zone=shared.zones["B"].pk, quantity=1)
    assert first.status_code == 201
    shared.session.on_sale_until = now - timedelta(minutes=1)
    shared.session.save()
    again = order(b, shared, key="o-late", zone=shared.zones["B"].pk, quantity=1)
    assert (again.status_code, again.json()) == (201, first.json())
    fresh = order(b, shared, key="o-new", zone=shared.zones["B"].pk, quantity=1)
    assert (fresh.status_code, fresh.json()["error"]["code"]) == (404, "session_not_found")
    assert Order.objects.filter(channel=b.channel).count() == 1


def test_a_sandbox_key_sees_only_its_sandbox_world_and_a_live_key_never_does(world, now):
    from datetime import timedelta

    from tessera.apikeys import services as apikeys

    a = world["a"]
    sandbox = apikeys.create_sandbox(partner=a.organization, actor=None, now=now)
    _row, test_key = apikeys.create_key(
        partner=a.organization,
        name="tests",
        scopes=["catalog:read", "availability", "orders"],
        rate_limit_per_minute=0,
        expires_at=None,
        actor=None,
        now=now,
        sandbox=True,
    )
    sandbox_names = {"Sandbox concert", "沙箱演出"}

    class Key:
        auth = {"HTTP_AUTHORIZATION": f"Bearer {test_key}"}

    # the sandbox sessions go on sale at once (the world opens them in 30 days' time at most)
    from tessera.catalog.models import Session

    Session.objects.filter(event__organization=sandbox.channel.organization).update(
        on_sale_from=now - timedelta(days=1)
    )
    in_sandbox = {e["name"] for e in get(Key, "/catalog").json()["items"]}
    live = {e["name"] for e in get(a, "/catalog").json()["items"]}
    assert in_sandbox and in_sandbox <= sandbox_names
    assert live and not (live & sandbox_names)


def test_a_partner_subscribes_lists_and_removes_a_webhook_endpoint(world):
    a = world["a"]
    created = post(
        a,
        "/webhooks",
        {"url": "https://erp.example.com/hooks", "kinds": ["order.paid"], "description": "ERP"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"] and body["kinds"] == ["order.paid"]
    listed = get(a, "/webhooks").json()
    assert [e["url"] for e in listed] == ["https://erp.example.com/hooks"]
    assert "secret" not in listed[0]
    # private addresses and unknown events are refused, nothing is written
    for bad in (
        {"url": "https://127.0.0.1/hooks", "kinds": ["order.paid"]},
        {"url": "http://erp.example.com/hooks", "kinds": ["order.paid"]},
        {"url": "https://erp.example.com/h", "kinds": ["order.stolen"]},
        {"url": "https://erp.example.com/h", "kinds": []},
        {"url": "https://erp.example.com/h\x00", "kinds": ["order.paid"]},
    ):
        assert post(a, "/webhooks", bad).status_code in (400, 422), bad
    assert len(get(a, "/webhooks").json()) == 1
    gone = Client().delete(f"{BASE}/webhooks/{body['id']}", **a.auth)
    assert gone.status_code == 204
    assert get(a, "/webhooks").json() == []
    again = Client().delete(f"{BASE}/webhooks/{body['id']}", **a.auth)
    assert again.status_code == 404
