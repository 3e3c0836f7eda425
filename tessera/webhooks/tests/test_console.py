"""The console's webhook pages: a partner's own endpoints only, the secret shown once, the
delivery log with its attempts, redeliver and ping; bad input is refused, never a 500."""

import pytest
from django.urls import reverse

from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.core.models import AuditEntry
from tessera.partners import signals
from tessera.webhooks import delivery
from tessera.webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tessera.webhooks.tests.factories import make_endpoint, make_partner

pytestmark = pytest.mark.django_db


def _page(client, name, *args, org, method="get", **data):
    url = reverse(name, args=args) + f"?org={org.pk}"
    return getattr(client, method)(url, data)


@pytest.fixture
def a(client):
    org, user = make_partner(name="甲分销")
    client.force_login(user)
    return org


def test_an_endpoint_is_created_and_its_secret_shown_once(client, a):
    page = _page(
        client,
        "webhooks:console",
        org=a,
        method="post",
        url="https://erp.example.com/hooks",
        description="ERP",
        kinds=["order.paid", "order.refunded"],
    )
    assert page.status_code == 200
    endpoint = WebhookEndpoint.objects.get(organization=a)
    secret = bytes(endpoint.secret).decode()
    assert secret in page.content.decode()
    assert endpoint.kinds == ["order.paid", "order.refunded"]
    listing = _page(client, "webhooks:console", org=a).content.decode()
    assert "https://erp.example.com/hooks" in listing
    assert secret not in listing
    assert AuditEntry.objects.filter(action="webhook_endpoint.created").count() == 1

    rotated = _page(client, "webhooks:rotate", endpoint.pk, org=a, method="post")
    endpoint.refresh_from_db()
    new_secret = bytes(endpoint.secret).decode()
    assert new_secret != secret and new_secret in rotated.content.decode()
    assert bytes(endpoint.previous_secret).decode() == secret


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "https://10.0.0.1/x", "kinds": ["order.paid"]}, "public address"),
        ({"url": "http://erp.example.com/x", "kinds": ["order.paid"]}, "https://"),
        ({"url": "https://erp.example.com/x", "kinds": ["order.stolen"]}, "at least one event"),
        ({"url": "https://erp.example.com/x"}, "at least one event"),
        ({"url": "https://erp.example.com/" + "x" * 2000, "kinds": ["order.paid"]}, "https://"),
        ({"url": ["a", "b"], "kinds": "order.paid"}, "https://"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(client, a, fields, message):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = _page(client, "webhooks:console", org=a, method="post", **fields)
    assert page.status_code == 422
    assert message in page.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_an_edit_with_bad_input_changes_nothing(client, a):
    endpoint, _ = make_endpoint(a)
    page = _page(
        client, "webhooks:edit", endpoint.pk, org=a, method="post", url="https://192.168.0.2/"
    )
    assert page.status_code == 422
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/tessera"
    page = _page(
        client,
        "webhooks:edit",
        endpoint.pk,
        org=a,
        method="post",
        url="https://hooks2.example.com/t",
        kinds=["session.changed"],
        description="新的",
    )
    assert page.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.kinds, endpoint.is_active) == (
        "https://hooks2.example.com/t",
        ["session.changed"],
        False,
    )


def test_the_refusal_is_said_in_chinese_too(client, a):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    page = _page(client, "webhooks:console", org=a, method="post", url="https://10.0.0.1/x")
    assert page.status_code == 422
    assert "该网址不能接收推送" in page.content.decode()
    assert "添加推送地址" in page.content.decode()


def test_a_partner_never_sees_anothers_endpoints_deliveries_or_events(client, a, receiver):
    b, b_user = make_partner(name="乙分销")
    endpoint_a, _ = make_endpoint(a, url=receiver.url)
    signals.emit(kind="order.paid", organization_ids=[a.pk], payload={"x": 1}, key="k1")
    sent = WebhookDelivery.objects.get()
    client.force_login(b_user)

    listing = _page(client, "webhooks:console", org=b).content.decode()
    assert receiver.url not in listing
    for name in ("webhooks:edit", "webhooks:deliveries"):
        assert _page(client, name, endpoint_a.pk, org=b).status_code == 404
    for name in ("webhooks:rotate", "webhooks:ping", "webhooks:delete"):
        assert _page(client, name, endpoint_a.pk, org=b, method="post").status_code == 404
    assert (
        client.post(
            reverse("webhooks:redeliver", args=[endpoint_a.pk, sent.uid]) + f"?org={b.pk}"
        ).status_code
        == 404
    )
    # B's own endpoint with A's delivery id: 404 too
    endpoint_b, _ = make_endpoint(b)
    assert (
        client.post(
            reverse("webhooks:redeliver", args=[endpoint_b.pk, sent.uid]) + f"?org={b.pk}"
        ).status_code
        == 404
    )
    # asking for A's organization in the console: refused
    assert _page(client, "webhooks:console", org=a).status_code == 403
    assert WebhookEndpoint.objects.filter(pk=endpoint_a.pk).exists()
    assert list(WebhookEvent.objects.values_list("organization_id", flat=True)) == [a.pk]
    assert sent.attempts == 0 and sent.status == "pending"


def test_out_of_range_ids_are_404(client, a):
    assert client.get("/partners/webhooks/99999999999999999999999/").status_code == 404
    assert client.get("/partners/webhooks/9223372036854775808/deliveries/").status_code == 404
    assert client.post("/partners/webhooks/1/deliveries/not-a-uuid/redeliver/").status_code == 404


def test_a_finance_member_reads_but_does_not_write(client):
    org, _ = make_partner()
    reader = make_member(organization=org, role=Role.FINANCE)
    endpoint, _ = make_endpoint(org)
    client.force_login(reader)
    assert _page(client, "webhooks:deliveries", endpoint.pk, org=org).status_code == 200
    assert _page(client, "webhooks:rotate", endpoint.pk, org=org, method="post").status_code == 403
    page = _page(
        client,
        "webhooks:console",
        org=org,
        method="post",
        url="https://x.example.com/",
        kinds=["order.paid"],
    )
    assert page.status_code == 403
    assert WebhookEndpoint.objects.count() == 1


def test_the_log_shows_attempts_and_codes_and_redeliver_and_ping_send_now(
    client, a, receiver, django_capture_on_commit_callbacks
):
    endpoint, _ = make_endpoint(a, url=receiver.url)
    receiver.fail_first = 1
    signals.emit(kind="order.paid", organization_ids=[a.pk], payload={"n": 1}, key="k1")
    sent = WebhookDelivery.objects.get()
    delivery.deliver_due(now=sent.next_attempt_at)
    page = _page(client, "webhooks:deliveries", endpoint.pk, org=a).content.decode()
    assert "HTTP 500" in page and str(sent.uid) in page

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            reverse("webhooks:redeliver", args=[endpoint.pk, sent.uid]) + f"?org={a.pk}"
        )
    assert answer.status_code == 302
    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.last_response_code) == ("delivered", 2, 200)
    assert receiver.requests[0].body == receiver.requests[1].body

    with django_capture_on_commit_callbacks(execute=True):
        _page(client, "webhooks:ping", endpoint.pk, org=a, method="post")
    assert receiver.requests[-1].headers["Tessera-Event"] == "ping"
    page = _page(client, "webhooks:deliveries", endpoint.pk, org=a).content.decode()
    assert page.count("HTTP 200") == 2
    assert list(DeliveryAttempt.objects.order_by("pk").values_list("response_code", flat=True)) == [
        500,
        200,
        200,
    ]
    _page(client, "webhooks:delete", endpoint.pk, org=a, method="post")
    assert WebhookEndpoint.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0
