import pytest
from django.test import RequestFactory

from tessera.core import device


@pytest.mark.django_db
def test_first_response_sets_a_signed_cookie_that_names_the_device_afterwards(client):
    first = client.get("/")
    value = first.cookies[device.COOKIE].value
    device_id = device.verify(value)
    assert device_id and value.startswith(device_id + ".")
    again = client.get("/")
    assert device.COOKIE not in again.cookies  # kept, not renewed
    assert device.device_from_environ({"HTTP_COOKIE": f"a=b; {device.COOKIE}={value}"}) == device_id


def test_a_forged_or_altered_cookie_names_no_device():
    _, value = device.new_cookie_value()
    device_id, _, tag = value.partition(".")
    assert device.verify(f"{device_id}x.{tag}") is None
    flipped = ("B" if tag[0] == "A" else "A") + tag[1:]
    assert device.verify(f"{device_id}.{flipped}") is None
    assert device.verify("") is None and device.verify("nodot") is None
    assert device.verify("a" * 100 + "." + tag) is None
    assert device.device_from_environ({"HTTP_COOKIE": '\x00;;=="bad'}) is None


def test_without_a_cookie_the_key_is_the_address_and_the_headers():
    rf = RequestFactory()
    one = rf.get("/", HTTP_USER_AGENT="Bot/1.0", REMOTE_ADDR="203.0.113.9").META
    other_agent = rf.get("/", HTTP_USER_AGENT="Bot/2.0", REMOTE_ADDR="203.0.113.9").META
    assert device.device_key(one).startswith("s:203.0.113.9/")
    assert device.device_key(one) == device.device_key(dict(one))
    assert device.device_key(one) != device.device_key(other_agent)
    _, value = device.new_cookie_value()
    with_cookie = rf.get("/", HTTP_COOKIE=f"{device.COOKIE}={value}").META
    assert device.device_key(with_cookie) == "d:" + value.partition(".")[0]
