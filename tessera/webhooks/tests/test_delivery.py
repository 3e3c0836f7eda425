"""Deliveries to a real HTTP receiver: signatures checked by the documented recipe, retries on
the exponential schedule, failure after 24 h, identical redeliveries."""

import itertools
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.partners import signals
from tessera.webhooks import delivery, services
from tessera.webhooks.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery
from tessera.webhooks.tests.factories import make_endpoint, make_partner

pytestmark = pytest.mark.django_db


def _emit(org, key="order.paid:1", payload=None):
    signals.emit(
        kind=signals.ORDER_PAID,
        organization_ids=[org.pk],
        payload=payload or {"order": "T0001", "total": "760.00", "currency": "CNY"},
        key=key,
    )
    return WebhookDelivery.objects.select_related("event", "endpoint").get(event__key=key)


@pytest.fixture
def partner(receiver):
    org, _user = make_partner()
    endpoint, secret = make_endpoint(org, url=receiver.url)
    return org, endpoint, secret


def test_a_delivery_is_signed_so_the_documented_recipe_accepts_it_and_refuses_forgeries(
    partner, receiver, recipe
):
    org, _endpoint, secret = partner
    sent = _emit(org)
    now = sent.next_attempt_at
    assert delivery.deliver_due(now=now).delivered == 1
    [got] = receiver.requests
    t = now.timestamp()
    assert got.headers["Tessera-Event"] == "order.paid"
    assert got.headers["Tessera-Webhook-Id"] == str(sent.uid)
    assert got.headers["Tessera-Timestamp"] == str(int(t))
    assert got.headers["Content-Type"] == "application/json; charset=utf-8"
    assert got.path == "/hooks/tessera"

    event = recipe.verify_webhook(body=got.body, headers=got.headers, secret=secret, now=t + 10)
    assert event["type"] == "order.paid"
    assert event["organization"] == org.pk
    assert event["data"] == {"order": "T0001", "total": "760.00", "currency": "CNY"}
    assert event["webhook_id"] == str(sent.uid)
    assert event["id"] == str(sent.event.uid)

    def refused(**changes):
        args = {"body": got.body, "headers": got.headers, "secret": secret, "now": t + 10}
        args.update(changes)
        with pytest.raises(recipe.WebhookInvalid) as caught:
            recipe.verify_webhook(**args)
        return str(caught.value)

    assert refused(body=got.body.replace(b"760.00", b"1.00")) == "signature does not match"
    assert refused(now=t + 301) == "timestamp outside the replay window"
    assert refused(now=t - 301) == "timestamp outside the replay window"
    assert refused(secret=secret + "x") == "signature does not match"
    assert refused(secret="whsec_" + "A" * 43) == "signature does not match"
    old = dict(got.headers, **{"Tessera-Timestamp": str(int(t) - 600)})
    assert refused(headers=old) == "timestamp headers differ"
    assert refused(headers={}) == "missing or malformed signature headers"
    with pytest.raises(recipe.WebhookDuplicate):
        recipe.verify_webhook(
            body=got.body, headers=got.headers, secret=secret, now=t, seen={str(sent.uid)}
        )


def test_a_failing_receiver_is_retried_on_the_exponential_schedule_until_it_answers(
    partner, receiver, recipe
):
    org, _endpoint, secret = partner
    receiver.fail_first = 3
    sent = _emit(org)
    t0 = sent.next_attempt_at

    assert delivery.deliver_due(now=t0).retrying == 1
    assert delivery.deliver_due(now=t0 + timedelta(seconds=59)).as_dict() == {
        "delivered": 0,
        "retrying": 0,
        "failed": 0,
    }
    assert delivery.deliver_due(now=t0 + timedelta(minutes=1)).retrying == 1
    assert delivery.deliver_due(now=t0 + timedelta(minutes=2, seconds=59)).retrying == 0
    assert delivery.deliver_due(now=t0 + timedelta(minutes=3)).retrying == 1
    sent.refresh_from_db()
    assert sent.next_attempt_at == t0 + timedelta(minutes=7)  # 1 + 2 + 4
    assert sent.status == DeliveryStatus.PENDING
    assert sent.last_response_code == 500
    assert delivery.deliver_due(now=t0 + timedelta(minutes=7)).delivered == 1

    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.last_response_code) == ("delivered", 4, 200)
    assert sent.delivered_at == t0 + timedelta(minutes=7)
    log = list(
        DeliveryAttempt.objects.filter(delivery=sent).values_list("number", "at", "response_code")
    )
    assert log == [
        (1, t0, 500),
        (2, t0 + timedelta(minutes=1), 500),
        (3, t0 + timedelta(minutes=3), 500),
        (4, t0 + timedelta(minutes=7), 200),
    ]
    assert len(receiver.requests) == 4
    assert {r.body for r in receiver.requests} == {sent.event.body.encode()}
    assert {r.headers["Tessera-Webhook-Id"] for r in receiver.requests} == {str(sent.uid)}
    for got, (_n, at, _code) in zip(receiver.requests, log, strict=True):
        recipe.verify_webhook(body=got.body, headers=got.headers, secret=secret, now=at.timestamp())
    assert delivery.deliver_due(now=t0 + timedelta(days=2)).as_dict()["delivered"] == 0


def test_after_24_hours_of_failures_the_delivery_is_failed(partner, receiver):
    org, _endpoint, _secret = partner
    receiver.fail_first = None
    receiver.fail_code = 503
    sent = _emit(org)
    t0 = sent.next_attempt_at
    now = t0
    while True:
        delivery.deliver_due(now=now)
        sent.refresh_from_db()
        if sent.status != DeliveryStatus.PENDING:
            break
        now = sent.next_attempt_at

    attempts = list(DeliveryAttempt.objects.filter(delivery=sent).order_by("number"))
    waits = [(b.at - a.at) for a, b in itertools.pairwise(attempts)]
    assert [w.total_seconds() / 60 for w in waits[:7]] == [1, 2, 4, 8, 16, 32, 60]
    assert set(waits[6:]) == {timedelta(minutes=60)}
    assert sent.status == DeliveryStatus.FAILED
    assert attempts[-1].at <= t0 + timedelta(hours=24) < attempts[-1].at + timedelta(minutes=60)
    assert len(attempts) == 29  # 63 minutes for the first 7, then hourly up to 24 h
    assert {a.response_code for a in attempts} == {503}
    assert len(receiver.requests) == 29
    assert delivery.deliver_due(now=now + timedelta(days=3)).as_dict() == {
        "delivered": 0,
        "retrying": 0,
        "failed": 0,
    }


def test_a_redelivery_sends_the_identical_body_and_webhook_id_with_a_new_signature(
    partner, receiver, recipe
):
    org, _endpoint, secret = partner
    sent = _emit(org, payload={"order": "T0002", "名字": "星光演唱会", "total": "380.00"})
    t0 = sent.next_attempt_at
    delivery.deliver_due(now=t0)
    later = t0 + timedelta(hours=30)
    services.redeliver(delivery=sent, actor=None, now=later)
    assert delivery.deliver_due(now=later).delivered == 1
    first, second = receiver.requests
    assert first.body == second.body == sent.event.body.encode()
    assert "星光演唱会".encode() in first.body
    assert first.headers["Tessera-Webhook-Id"] == second.headers["Tessera-Webhook-Id"]
    assert first.headers["Tessera-Timestamp"] != second.headers["Tessera-Timestamp"]
    assert first.headers["Tessera-Signature"] != second.headers["Tessera-Signature"]
    recipe.verify_webhook(
        body=second.body, headers=second.headers, secret=secret, now=later.timestamp()
    )
    with pytest.raises(recipe.WebhookDuplicate):
        recipe.verify_webhook(
            body=second.body,
            headers=second.headers,
            secret=secret,
            now=later.timestamp(),
            seen={first.headers["Tessera-Webhook-Id"]},
        )
    sent.refresh_from_db()
    assert (sent.status, sent.attempts) == ("delivered", 2)


def test_after_a_rotation_both_secrets_sign_for_a_day_then_only_the_new_one(
    partner, receiver, recipe
):
    org, endpoint, old_secret = partner
    now = timezone.now()
    new_secret = services.rotate_secret(endpoint=endpoint, actor=None, now=now)
    assert new_secret != old_secret and new_secret.startswith("whsec_")
    sent = _emit(org)
    now = sent.next_attempt_at
    delivery.deliver_due(now=now)
    got = receiver.requests[-1]
    assert got.headers["Tessera-Signature"].count("v1=") == 2
    for secret in (new_secret, old_secret):
        recipe.verify_webhook(
            body=got.body, headers=got.headers, secret=secret, now=now.timestamp()
        )

    later = now + timedelta(hours=25)
    services.redeliver(delivery=sent, actor=None, now=later)
    delivery.deliver_due(now=later)
    got = receiver.requests[-1]
    assert got.headers["Tessera-Signature"].count("v1=") == 1
    recipe.verify_webhook(
        body=got.body, headers=got.headers, secret=new_secret, now=later.timestamp()
    )
    with pytest.raises(recipe.WebhookInvalid):
        recipe.verify_webhook(
            body=got.body, headers=got.headers, secret=old_secret, now=later.timestamp()
        )


def test_the_body_is_the_documented_json(partner):
    org, _endpoint, _secret = partner
    sent = _emit(org)
    body = json.loads(sent.event.body)
    assert set(body) == {"id", "type", "created_at", "organization", "data"}
    assert body["created_at"].endswith("Z")
