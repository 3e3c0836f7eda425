"""The status check as the production server calls it: through ``tessera.wsgi.application``,
whose first layer answers ``/queue/-/status`` ahead of Django's middleware and passes every
other request on to Django."""

import json
from http.cookies import SimpleCookie
from wsgiref.util import setup_testing_defaults

import pytest
from django.test import Client
from django.utils import timezone

from tessera.inventory.admission import cookie_name
from tessera.inventory.tests.factories import make_buyer, make_sale
from tessera.waitingroom import services, status
from tessera.waitingroom.tests.factories import make_room
from tessera.wsgi import application

pytestmark = pytest.mark.django_db


def call(path: str, *, query: str = "", method: str = "GET", **headers) -> tuple[str, dict, bytes]:
    """One request through the WSGI application: (status line, headers, body)."""
    environ = {"PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": method}
    environ.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    setup_testing_defaults(environ)
    environ["HTTP_HOST"] = "127.0.0.1"
    answered = {}

    def start_response(status_line, response_headers, exc_info=None):
        answered["status"] = status_line
        answered["headers"] = response_headers

    body = b"".join(application(environ, start_response))
    return answered["status"], answered["headers"], body


def test_a_waiting_fan_gets_the_same_answer_as_from_the_django_view_without_a_query(
    backend, django_assert_num_queries
):
    now = timezone.now()
    room = make_room(sale=make_sale(), now=now, opens_in_minutes=-1, rate_per_minute=1)
    fans = [make_buyer() for _ in range(3)]
    joined = [services.join_queue(room=room, user=f, now=now) for f in fans]
    status.clear_views()
    from_django = Client().get("/queue/-/status", {"t": joined[2].token}).json()  # warms

    with django_assert_num_queries(0):
        line, headers, body = call("/queue/-/status", query=f"t={joined[2].token}")

    answer = json.loads(body)
    assert line == "200 OK"
    assert (answer["position"], answer["watermark"], answer["people_ahead"]) == (3, 1, 1)
    assert {k: v for k, v in answer.items() if k != "opens_in_seconds"} == {
        k: v for k, v in from_django.items() if k != "opens_in_seconds"
    }
    assert ("Cache-Control", "no-store") in headers
    assert ("Content-Type", "application/json") in headers
    assert not [v for k, v in headers if k == "Set-Cookie"]


def test_an_admitted_fan_gets_the_pass_cookie_of_each_session(backend):
    now = timezone.now()
    sale = make_sale()
    room = make_room(sale=sale, now=now, opens_in_minutes=-1, rate_per_minute=6000)
    joined = services.join_queue(room=room, user=make_buyer(), now=now)
    status.clear_views()

    line, headers, body = call("/queue/-/status", query=f"t={joined.token}")

    answer = json.loads(body)
    assert (line, answer["admitted"]) == ("200 OK", True)
    cookies = SimpleCookie()
    for name, value in headers:
        if name == "Set-Cookie":
            cookies.load(value)
    morsel = cookies[cookie_name(sale.session.pk)]
    assert morsel.value == answer["admission_pass"]
    assert (morsel["httponly"], morsel["samesite"], morsel["path"]) == (True, "Lax", "/")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"accept_language": "zh-CN,zh;q=0.9"}, "此排队凭证无效。"),
        ({"accept_language": "en-GB,en;q=0.8"}, "This queue ticket is not valid."),
        ({"accept_language": "en", "cookie": "django_language=zh-hans"}, "此排队凭证无效。"),
    ],
)
def test_a_tampered_token_is_refused_in_the_fans_language(headers, message):
    line, _headers, body = call(
        "/queue/-/status", query="t=q1.1.1.1.1.AAAAAAAAAAAAAAAAAAAAAA", **headers
    )

    error = json.loads(body)["error"]
    assert line == "400 Bad Request"
    assert (error["code"], error["message"]) == ("queue_token_invalid", message)


def test_other_requests_go_through_django():
    line, _headers, body = call("/queue/-/ping")
    assert (line, body) == ("200 OK", b'{"ok":true}')
    # a POST is Django's to answer: its CSRF check refuses it
    line, _headers, _body = call("/queue/-/status", method="POST")
    assert line.startswith("403")
