"""The API's one error shape: ``{"error": {"code", "message", "details"}}``, whatever went
wrong, with the message in the language the request asked for."""

import pytest
from django.utils import translation
from django.utils.translation import gettext

from tessera.catalog.models import EventStatus
from tessera.catalog.tests.factories import make_event

pytestmark = pytest.mark.django_db


def test_unknown_event_slug_is_a_not_found_error(client):
    response = client.get("/api/v1/events/no-such-event", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not found.", "details": {}}
    }


def test_draft_event_is_as_unknown_as_a_missing_one(client):
    make_event(slug="draft-show", status=EventStatus.DRAFT)
    response = client.get("/api/v1/events/draft-show", HTTP_ACCEPT_LANGUAGE="en")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_wrong_query_parameter_type_is_invalid_input_naming_the_field(client):
    response = client.get("/api/v1/calendar?year=twenty&month=7", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "invalid_input",
            "message": "The input is not valid.",
            "details": {
                "errors": [
                    {
                        "field": "query.year",
                        "message": "Input should be a valid integer, "
                        "unable to parse string as an integer",
                    }
                ]
            },
        }
    }


def test_wrong_path_parameter_type_is_invalid_input(client):
    response = client.get("/api/v1/sessions/first", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["error"]["details"]["errors"]] == [
        "path.session_id"
    ]


def test_out_of_range_id_is_invalid_input_not_a_server_error(client):
    response = client.get(f"/api/v1/sessions/{2**64}", HTTP_ACCEPT_LANGUAGE="en")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_input")


def _message_in(lang: str, text: str) -> str:
    with translation.override(lang):
        return gettext(text)


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("/api/v1/events/no-such-event", "Not found."),
        ("/api/v1/calendar?year=twenty", "The input is not valid."),
        ("/api/v1/events?date_from=soon", "The input is not valid."),
    ],
)
def test_message_follows_accept_language(client, url, text):
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert (english["Content-Language"], chinese["Content-Language"]) == ("en", "zh-hans")
    assert english.json()["error"]["message"] == text
    # The Chinese text is whatever the compiled zh-hans catalog says (the English text
    # until the translations are compiled); the code never changes with the language.
    assert chinese.json()["error"]["message"] == _message_in("zh-hans", text)
    assert chinese.json()["error"]["code"] == english.json()["error"]["code"]


def test_filter_field_messages_are_translated_too(client):
    response = client.get("/api/v1/sessions?date_from=soon", HTTP_ACCEPT_LANGUAGE="zh-hans")
    [error] = response.json()["error"]["details"]["errors"]
    assert error == {
        "field": "query.date_from",
        "message": _message_in("zh-hans", "Enter a valid date, for example 2026-12-25."),
    }
