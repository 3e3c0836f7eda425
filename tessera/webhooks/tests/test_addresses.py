"""Against server-side request forgery: only https:// to public addresses; http:// only to
localhost while developing; checked when saved and after resolving, before every delivery."""

import pytest
from django.utils import timezone

from tessera.webhooks import addresses, delivery
from tessera.webhooks.errors import UrlRefused
from tessera.webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from tessera.webhooks.tests.factories import make_endpoint, make_partner

REFUSED = [
    "http://hooks.example.com/x",
    "https://10.0.0.8/hook",
    "https://172.16.3.4/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/hook",
    "https://[fd00::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://intranet/hook",
    "https://printer.local/hook",
    "https://user:pw@hooks.example.com/",
    "ftp://hooks.example.com/",
    "javascript:alert(1)",
    "https://",
    "https://hooks.example.com:99999/",
    "https://hooks.example.com/" + "a" * 500,
    "",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_odd_urls_are_refused(url):
    with pytest.raises(UrlRefused):
        addresses.check_url(url)


def test_localhost_is_refused_unless_developing(settings):
    settings.WEBHOOKS_ALLOW_LOCALHOST = False
    for url in [
        "http://127.0.0.1:8080/",
        "https://127.0.0.1/",
        "https://localhost/",
        "https://[::1]/",
    ]:
        with pytest.raises(UrlRefused):
            addresses.check_url(url)
    # a name that resolves to a loopback address is refused after resolving
    with pytest.raises(UrlRefused):
        addresses.resolve("localhost", 443)
    settings.WEBHOOKS_ALLOW_LOCALHOST = True
    assert addresses.check_url("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"
    assert addresses.resolve("localhost", 443) == "127.0.0.1"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/tessera?x=1",
        "https://93.184.216.34/hook",
        "https://[2606:4700::1]/",
    ],
)
def test_public_https_urls_are_accepted(url):
    assert addresses.check_url(url) == url


@pytest.mark.django_db
def test_a_delivery_to_an_address_no_longer_allowed_is_refused_without_connecting(
    settings, receiver
):
    org, _ = make_partner()
    make_endpoint(org, url=receiver.url)
    from tessera.partners import signals

    signals.emit(kind="order.paid", organization_ids=[org.pk], payload={}, key="k")
    settings.WEBHOOKS_ALLOW_LOCALHOST = False
    sent = WebhookDelivery.objects.get()
    assert delivery.deliver_due(now=sent.next_attempt_at).retrying == 1
    assert receiver.requests == []
    attempt = DeliveryAttempt.objects.get()
    assert attempt.response_code is None
    assert attempt.error.startswith("refused")


@pytest.mark.django_db
def test_an_endpoint_with_a_private_url_is_not_created():
    org, _ = make_partner()
    with pytest.raises(UrlRefused):
        make_endpoint(org, url="https://10.1.2.3/hook", now=timezone.now())
    assert WebhookEndpoint.objects.count() == 0
