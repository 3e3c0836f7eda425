"""Each join/hold is scored with its reasons; high scores are challenged, slowed or refused."""

import json
from datetime import timedelta

import pytest
from django.test import Client

from tessera.core import device
from tessera.inventory.models import Hold
from tessera.inventory.tests.factories import make_buyer
from tessera.risk import pow, scoring, services
from tessera.risk.models import Action, RiskDecision

pytestmark = pytest.mark.django_db


def test_timing_regularity_is_a_reason(now):
    fan = make_buyer(date_joined=now - timedelta(days=90))
    script = [
        scoring.observe(device_key="d:a", user=fan, at=100 + n * 0.5, now=now) for n in range(6)
    ]
    # five requests (four equal intervals) are enough to tell
    assert [s.value for s in script] == [0, 0, 0, 0, 30, 30]
    assert script[-1].reasons == [{"code": "timing_regular", "weight": 30, "cv": 0.0}]
    person = make_buyer(date_joined=now - timedelta(days=90))
    gaps = [0, 1.2, 4.0, 4.9, 9.5, 10.1]
    human = [scoring.observe(device_key="d:b", user=person, at=200 + g, now=now) for g in gaps]
    assert all(s.value == 0 for s in human)


def test_one_device_many_accounts_and_new_accounts_are_reasons(now):
    accounts = [make_buyer(date_joined=now - timedelta(minutes=10)) for _ in range(6)]
    scores = [
        scoring.observe(device_key="d:phone", user=u, at=50.0 + n * 7.3 ** (n % 3), now=now)
        for n, u in enumerate(accounts)
    ]
    assert [r["code"] for r in scores[1].reasons] == ["new_account"]
    assert scores[2].reasons[0] == {"code": "device_shared", "weight": 25, "accounts": 3}
    assert scores[5].reasons[0] == {"code": "device_shared", "weight": 45, "accounts": 6}
    assert scores[5].value == 75  # 45 shared device + 30 new account
    # an address (no signed cookie) is never counted as a shared device: NAT
    shared_address = [
        scoring.observe(device_key="s:10.0.0.1/abc", user=u, at=9.0, now=now) for u in accounts
    ]
    assert "device_shared" not in {r["code"] for r in shared_address[-1].reasons}


def hold(client, sale, proof=None):
    headers = {"HTTP_X_TESSERA_PROOF": proof} if proof else {}
    return client.post(
        f"/api/v1/sessions/{sale.session.pk}/holds",
        json.dumps({"zone": sale.zones["A"].pk, "quantity": 1}),
        content_type="application/json",
        **headers,
    )


def test_a_webdriver_browser_is_refused_and_the_decision_explained(risk_on, sale, now):
    fan = make_buyer()
    client = Client()
    client.force_login(fan)
    services.set_under_attack(actor=None, on=True, now=now, session=sale.session)
    given = hold(client, sale).json()["error"]["details"]
    # the page fetches its challenge with its features signed in: navigator.webdriver is set
    challenge = client.get(
        "/api/v1/risk/challenge",
        {
            "purpose": "hold",
            "session": sale.session.pk,
            "at_least": given["difficulty"],
            "wd": 1,
            "lang": 2,
            "scr": "1366x768",
            "tch": 0,
        },
    ).json()
    assert challenge["difficulty"] >= given["difficulty"]
    proof = f"{challenge['challenge']}:{pow.solve(challenge['challenge'], challenge['difficulty'])}"
    answer = hold(client, sale, proof)
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "risk_refused")
    assert Hold.objects.count() == 0
    refused = RiskDecision.objects.get(action=Action.REFUSE)
    assert [(r["code"], r["weight"]) for r in refused.reasons] == [
        ("new_account", 30),
        ("under_attack", 0),
        ("webdriver", 60),
    ]
    assert (refused.score, refused.user, refused.purpose) == (90, fan, "hold")
    assert refused.device_key.startswith("d:")


def test_a_real_browser_with_features_passes(risk_on, sale, now):
    fan = make_buyer(date_joined=now - timedelta(days=90))
    client = Client()
    client.force_login(fan)
    services.set_under_attack(actor=None, on=True, now=now, session=sale.session)
    given = hold(client, sale).json()["error"]["details"]
    challenge = client.get(
        "/api/v1/risk/challenge",
        {
            "purpose": "hold",
            "session": sale.session.pk,
            "at_least": given["difficulty"],
            "wd": 0,
            "lang": 2,
            "scr": "390x844",
            "tch": 5,
        },
    ).json()
    proof = f"{challenge['challenge']}:{pow.solve(challenge['challenge'], challenge['difficulty'])}"
    assert hold(client, sale, proof).status_code == 201


def test_a_fleet_on_one_device_is_challenged_harder_then_slowed(risk_on, sale, now):
    _, cookie = device.new_cookie_value()
    answers = []
    for _ in range(6):
        client = Client()
        client.cookies[device.COOKIE] = cookie
        client.force_login(make_buyer(date_joined=now - timedelta(days=90)))
        answers.append(hold(client, sale))
    codes = [a.status_code for a in answers]
    # 3-4 accounts on the device score 25 (below the challenge's 40); the 5th too, unless the
    # loop's requests were regular enough to add timing_regular; the 6th scores 45 at least
    assert codes[:4] == [201, 201, 201, 201] and codes[5] == 428
    assert answers[5].json()["error"]["details"]["difficulty"] == 8 + 4  # harder
    decision = RiskDecision.objects.filter(action=Action.CHALLENGE).latest("id")
    assert decision.reasons[0] == {"code": "device_shared", "weight": 45, "accounts": 6}
    assert decision.score == sum(r["weight"] for r in decision.reasons) >= 45
    # a new account on that device now: 45 + 30 → slowed, with Retry-After (the loop's
    # timing history is forgotten so that only these two reasons count)
    scoring._times.clear()
    client = Client()
    client.cookies[device.COOKIE] = cookie
    client.force_login(make_buyer())
    slowed = hold(client, sale)
    assert slowed.status_code == 429 and slowed["Retry-After"] == "5"
    assert slowed.json()["error"]["details"] == {"retry_after": 5, "scope": "risk"}
    assert RiskDecision.objects.filter(action=Action.SLOW).get().score == 75
