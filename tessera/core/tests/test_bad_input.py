"""Bad input on the main endpoints and forms: never a server error, always the one error shape
(a page for forms), in the request's language, and nothing changed in the database.

Requests go through the served WSGI application (``tessera.wsgi.application``: the sale's
fast lane, then Django with every middleware), as a browser or an API client would send them.
"""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from tessera.accounts.models import User
from tessera.aftersales.models import RefundRequest
from tessera.core.models import AuditEntry
from tessera.core.testing import wsgi_call
from tessera.inventory import services as inventory
from tessera.inventory.models import Hold, InventoryUnit
from tessera.inventory.tests.factories import make_buyer, make_channel, make_sale
from tessera.orders import services as orders
from tessera.orders.models import Order, OrderLine
from tessera.payments.models import Payment
from tessera.sale import channels
from tessera.tickets.tests.factories import make_paid_order
from tessera.transfers.models import Transfer

pytestmark = pytest.mark.django_db

CSRF = "B" * 32
HUGE = 2**70
PAGE_HUGE = 4611686018427387904
NUL = "a\x00b"


@pytest.fixture
def world():
    now = timezone.now()
    sale = make_sale(sections=1, rows=1, seats_per_row=6, standing_capacity=4, now=now)
    buyer = make_buyer(email="fan@example.com", preferred_language="en")
    units = list(sale.units("S1").order_by("id").values_list("id", flat=True))
    hold = inventory.hold_units(session=sale.session, user=buyer, unit_ids=units[:2], now=now)
    other_hold = inventory.hold_units(
        session=sale.session, user=buyer, unit_ids=units[2:3], now=now
    )
    order = orders.place_order(hold=other_hold, user=buyer, now=now)
    paid = make_paid_order(user=buyer)
    channel = make_channel(organization=sale.session.event.organization, code="bad-input")
    _row, key = channels.issue_key(channel=channel, name="bad", actor=None, now=now)
    client = Client()
    client.force_login(buyer)
    return {
        "sale": sale,
        "hold": hold,
        "order": order,
        "paid": paid,
        "key": key,
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF},
        "buyer": buyer,
    }


def database_state() -> dict:
    """Everything bad input could write, as plain values."""
    return {
        "users": list(User.objects.order_by("pk").values_list("pk", "username", "email")),
        "holds": list(Hold.objects.order_by("pk").values_list("pk", "status", "expires_at")),
        "units": list(InventoryUnit.objects.order_by("pk").values_list("pk", "status", "hold_id")),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status", "email")),
        "lines": list(OrderLine.objects.order_by("pk").values_list("pk", "attendee_name")),
        "payments": Payment.objects.count(),
        "refunds": RefundRequest.objects.count(),
        "transfers": Transfer.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def in_language(language: str, text: str) -> str:
    with translation.override(language):
        return gettext(text)


def send(world, method, path, body, *, language="en", query="", auth=None):
    from tessera import wsgi

    headers = {"X-CSRFToken": CSRF, "Accept-Language": language}
    if auth:
        headers["Authorization"] = f"Bearer {auth}"
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return wsgi_call(
        wsgi.application,
        method,
        path,
        body=raw,
        query=query,
        headers=headers,
        cookies=world["cookies"],
        with_headers=True,
    )


def api_cases(world):
    """(method, path, body, auth) of the endpoints that take a body, each with bad bodies."""
    session = world["sale"].session.pk
    zone = world["sale"].zones["A"].pk
    hold, order = world["hold"].pk, world["order"].number
    endpoints = [
        (
            "POST",
            f"/api/v1/sessions/{session}/checkout",
            {"zone": zone, "quantity": 1, "provider": "sandbox"},
            None,
        ),
        (
            "POST",
            f"/api/v1/holds/{hold}/order",
            {"attendees": [{"name": "x"}, {"name": "y"}]},
            None,
        ),
        ("PUT", f"/api/v1/orders/{order}/attendees", {"attendees": [{"name": "x"}]}, None),
        ("POST", f"/api/v1/orders/{order}/cancel", {"reason": "changed my mind"}, None),
        ("POST", f"/api/v1/orders/{order}/payments", {"provider": "sandbox"}, None),
        ("POST", f"/api/v1/orders/{world['paid'].number}/refunds", {"reason": "ill"}, None),
        (
            "POST",
            "/api/v1/channel/orders",
            {"session": session, "zone": zone, "quantity": 1},
            world["key"],
        ),
    ]
    for method, path, good, auth in endpoints:
        bad_bodies = [
            [],
            "text",
            None,
            7,
            {**good, "unexpected": 1},
            dict.fromkeys(good, True),
            dict.fromkeys(good, HUGE),
            dict.fromkeys(good, -HUGE),
            dict.fromkeys(good, NUL),
            dict.fromkeys(good, "x" * 100_000),
            {key: [{"name": NUL}] for key in good},
        ]
        for body in bad_bodies:
            yield method, path, body, auth
        yield method, path, b'{"reason": "\xff\xfe"}', auth  # not UTF-8
        yield method, path, b'{"email": "a\\u0000b"', auth  # not JSON
        yield method, path, b"[" * 100_000, auth  # nested too deep for a parser's stack
        yield method, path, json.dumps({"reason": "x" * (10 * 1024 * 1024)}).encode(), auth


def test_bad_bodies_on_api_endpoints_are_refused_in_the_one_shape_and_change_nothing(world):
    before = database_state()
    seen = set()
    for method, path, body, auth in api_cases(world):
        for language in ("en", "zh-hans"):
            status, answer, headers = send(world, method, path, body, language=language, auth=auth)
            label = (method, path, repr(body)[:80], language)
            assert 400 <= status < 500, (label, status, answer)
            assert set(answer) == {"error"}, label
            error = answer["error"]
            assert set(error) == {"code", "message", "details"}, label
            assert headers["Content-Language"] == language, label
            if language == "en":
                english = error["message"]
            else:
                assert error["message"] == in_language("zh-hans", english), label
            seen.add((status, error["code"]))
    assert database_state() == before
    # the refusals seen are the documented kinds, not one catch-all
    assert {code for _status, code in seen} >= {"invalid_input", "invalid_json"}


@pytest.mark.parametrize(
    "body",
    [
        {"attendees": [{"name": NUL}, {"name": "y"}]},
        {"email": "a\x00b@example.com"},
        {"phone": "138\x000000"},
        {"email": "not-an-email"},
        {"attendees": [{"name": "\ud800"}, {"name": "y"}]},
    ],
)
def test_order_from_a_hold_refuses_nul_and_bad_email_naming_the_field(world, body):
    before = database_state()
    status, answer, _headers = send(world, "POST", f"/api/v1/holds/{world['hold'].pk}/order", body)
    assert status == 422
    assert answer["error"]["code"] == "invalid_input"
    assert answer["error"]["message"] == "The input is not valid."
    assert database_state() == before


def test_a_nul_escaped_in_json_is_refused_before_any_view(world):
    before = database_state()
    raw = b'{"attendees": [{"name": "a\\u0000b"}]}'
    status, answer, _ = send(
        world, "PUT", f"/api/v1/orders/{world['order'].number}/attendees", raw, language="zh-hans"
    )
    assert status == 422
    [error] = answer["error"]["details"]["errors"]
    assert error["field"] == "request"
    assert error["message"] == in_language(
        "zh-hans",
        "The request contains characters that are not allowed (control characters such as "
        "NUL, or bytes that are not UTF-8).",
    )
    assert not error["message"].startswith("The request")  # translated
    assert database_state() == before


@pytest.mark.parametrize("quantity", [True, "1", 1.0, 0, -1, HUGE])
def test_checkout_quantity_must_be_a_real_count(world, quantity):
    body = {"zone": world["sale"].zones["A"].pk, "quantity": quantity, "provider": "sandbox"}
    before = database_state()
    status, answer, _ = send(
        world, "POST", f"/api/v1/sessions/{world['sale'].session.pk}/checkout", body
    )
    assert (status, answer["error"]["code"]) == (422, "invalid_input")
    assert database_state() == before


@pytest.mark.parametrize(
    "path", ["/api/v1/events", "/api/v1/sessions", "/api/v1/venues", "/api/v1/orders"]
)
@pytest.mark.parametrize("page", [PAGE_HUGE, -1, 0, "x"])
def test_list_pages_out_of_range_are_invalid_input(world, path, page):
    status, answer, _ = send(world, "GET", path, b"", query=f"page={page}")
    assert (status, answer["error"]["code"]) == (422, "invalid_input")
    assert answer["error"]["details"]["errors"][0]["field"] == "query.page"


@pytest.mark.parametrize("query", ["q=a%00b", "q=%ff%fe", "city=%01", "q=a\x7fb"])
def test_control_characters_and_bad_utf8_in_a_query_are_refused(world, query):
    status, answer, _ = send(world, "GET", "/api/v1/events", b"", query=query)
    assert (status, answer["error"]["code"]) == (422, "invalid_input")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/venues/a\x00b", (422, "invalid_input")),
        ("/api/v1/layouts/1/sections/A\x1a", (422, "invalid_input")),
        # Django percent-encodes bytes that are not UTF-8 again ("%FF"): an unknown number
        ("/api/v1/orders/\xff", (404, "order_not_found")),
    ],
)
def test_control_characters_and_bad_utf8_in_a_path_are_refused(world, path, expected):
    status, answer, _ = send(world, "GET", path, b"")
    assert (status, answer["error"]["code"]) == expected


def test_an_id_beyond_a_bigint_is_invalid_input(world):
    status, answer, _ = send(world, "GET", f"/api/v1/layouts/{2**120}/sections/A", b"")
    assert (status, answer["error"]["code"]) == (422, "invalid_input")


def test_an_unconfigured_provider_is_a_clear_client_error(world, settings):
    settings.TESSERA_ALIPAY_APP_ID = ""
    before = database_state()
    body = {"zone": world["sale"].zones["A"].pk, "quantity": 1, "provider": "alipay"}
    status, answer, _ = send(
        world, "POST", f"/api/v1/sessions/{world['sale'].session.pk}/checkout", body
    )
    assert status == 422
    assert answer["error"]["code"] == "provider_not_configured"
    assert answer["error"]["message"] == (
        "This payment method is not offered here; please choose another."
    )
    assert database_state() == before
    status, answer, _ = send(world, "POST", "/api/v1/payments/callbacks/alipay", b"a=1")
    assert (status, answer["error"]["code"]) == (422, "provider_not_configured")


def test_a_body_over_the_limit_is_413_in_the_one_shape(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    before = database_state()
    raw = json.dumps({"reason": "x" * (2 * 1024 * 1024)}).encode()
    for path in [
        f"/api/v1/orders/{world['order'].number}/cancel",  # Django
        f"/api/v1/sessions/{world['sale'].session.pk}/checkout",  # the fast lane
    ]:
        status, answer, headers = send(world, "POST", path, raw, language="zh-hans")
        assert status == 413
        assert answer["error"]["code"] == "body_too_large"
        assert answer["error"]["message"] == in_language("zh-hans", "The request is too large.")
        assert "default-src" in headers["Content-Security-Policy"]
    assert database_state() == before


def test_multipart_without_a_boundary_is_unreadable_not_a_server_error(world):
    for path in [
        f"/api/v1/orders/{world['order'].number}/cancel",
        f"/api/v1/sessions/{world['sale'].session.pk}/checkout",
    ]:
        from tessera import wsgi

        status, answer = wsgi_call(
            wsgi.application,
            "POST",
            path,
            body=b"{}",
            headers={"Content-Type": "multipart/form-data", "X-CSRFToken": CSRF},
            cookies=world["cookies"],
        )
        assert (status, answer["error"]["code"]) == (400, "invalid_json")


def test_the_fast_lane_sends_the_security_headers(world):
    _status, _answer, headers = send(
        world, "POST", f"/api/v1/sessions/{world['sale'].session.pk}/checkout", []
    )
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "camera=" in headers["Permissions-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


# -- forms ---------------------------------------------------------------------------------------


def form_cases(world):
    """(path, form data, the message the form shows) for control characters in forms."""
    hold, paid = world["hold"].pk, world["paid"].number
    return [
        (
            f"/checkout/{hold}/",
            {"action": "next", "attendee_0": NUL, "attendee_1": "y"},
            "Please give one attendee name (at most 80 characters) per ticket.",
        ),
        (
            f"/checkout/{hold}/",
            {"action": "next", "email": "a\x00b@example.com"},
            "Please give a valid email address.",
        ),
        (
            "/signup/",
            {
                "username": NUL,
                "email": "x@example.com",
                "password1": "Aa-123456789x",
                "password2": "Aa-123456789x",
            },
            "Null characters are not allowed.",
        ),
        (
            "/accounts/login/",
            {"username": NUL, "password": "x"},
            "Null characters are not allowed.",
        ),
        (
            f"/orders/{paid}/refund/",
            {"step": "confirm", "line": "1\x00", "reason": NUL},
            "Choose tickets of this order that are still valid.",
        ),
    ]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_forms_refuse_control_characters_with_a_translated_error(world, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(world["buyer"])
    before = database_state()
    for path, data, message in form_cases(world):
        for encoded in (False, True):  # multipart, then as a browser sends a form
            if encoded:
                response = client.post(
                    path, urlencode(data), content_type="application/x-www-form-urlencoded"
                )
            else:
                response = client.post(path, data)
            text = response.content.decode()
            print(path, encoded, response.status_code, text[text.find('class="form-error') :][:300])
            assert response.status_code in (200, 409, 422), path
            assert in_language(language, message) in text, (path, encoded)
    assert database_state() == before


def test_a_form_body_over_the_limit_is_a_413_page(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(world["buyer"])
    before = database_state()
    response = client.post(
        f"/checkout/{world['hold'].pk}/",
        urlencode({"action": "next", "attendee_0": "x" * (2 * 1024**2)}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert in_language("zh-hans", "The request is too large.") in response.content.decode()
    assert database_state() == before


@pytest.mark.parametrize("value", [str(HUGE), str(-HUGE), "1e400", "NaN", "1.5"])
def test_huge_numbers_in_the_buy_form_are_form_errors(world, value):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world["buyer"])
    before = database_state()
    response = client.post(
        f"/sessions/{world['sale'].session.pk}/buy/",
        {"mode": "any", "zone": value, "quantity": value},
    )
    assert response.status_code < 500
    assert database_state() == before
