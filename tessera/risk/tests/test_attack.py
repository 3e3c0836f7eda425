"""Under attack, joins and holds need a proof of work: through Django and the fast lane."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tessera.core.models import AuditEntry
from tessera.core.testing import wsgi_call
from tessera.inventory.models import Hold
from tessera.inventory.tests.factories import make_buyer
from tessera.orders.models import Order
from tessera.risk import gate, pow, services, state
from tessera.risk.models import Action, AttackSource, RiskDecision, UnderAttack
from tessera.waitingroom.models import QueueEntry
from tessera.waitingroom.tests.factories import make_room

pytestmark = pytest.mark.django_db

CSRF = "A" * 32


def hold_path(sale):
    return f"/api/v1/sessions/{sale.session.pk}/holds"


def hold(client, sale, proof=None):
    headers = {"HTTP_X_TESSERA_PROOF": proof} if proof else {}
    return client.post(
        hold_path(sale),
        json.dumps({"zone": sale.zones["A"].pk, "quantity": 1}),
        content_type="application/json",
        **headers,
    )


def proof_of(answer) -> str:
    details = answer.json()["error"]["details"]
    assert details["algorithm"] == "sha256"
    return f"{details['challenge']}:{pow.solve(details['challenge'], details['difficulty'])}"


@pytest.fixture
def fan(buyer):
    client = Client()
    client.force_login(buyer)
    return client


@pytest.fixture
def organizer_switch(sale, now):
    return services.set_under_attack(actor=None, on=True, now=now, session=sale.session)


def test_quiet_holds_need_no_proof(risk_on, fan, sale):
    assert hold(fan, sale).status_code == 201
    assert RiskDecision.objects.count() == 0


def test_under_attack_a_hold_needs_a_proof_used_once(risk_on, fan, sale, organizer_switch):
    first = hold(fan, sale)
    assert first.status_code == 428
    assert first.json()["error"]["code"] == "challenge_required"
    assert Hold.objects.count() == 0
    proof = proof_of(first)
    assert hold(fan, sale, proof).status_code == 201
    assert Hold.objects.count() == 1
    replayed = hold(fan, sale, proof)
    assert replayed.status_code == 428  # spent: a new challenge, nothing held
    assert replayed.json()["error"]["details"]["challenge"] != proof.split(":")[0]
    assert Hold.objects.count() == 1
    forged = hold(fan, sale, "bm90LW91cnM.AAAA:12")
    assert (forged.status_code, forged.json()["error"]["code"]) == (403, "challenge_invalid")
    assert Hold.objects.count() == 1
    actions = list(RiskDecision.objects.order_by("id").values_list("action", "proof"))
    assert actions == [
        (Action.CHALLENGE, ""),
        (Action.ALLOW, "valid"),  # kept: its score reached the challenge threshold
        (Action.CHALLENGE, "invalid"),
        (Action.CHALLENGE, "invalid"),
    ]
    allowed = RiskDecision.objects.get(action=Action.ALLOW)
    assert [(r["code"], r["weight"]) for r in allowed.reasons] == [
        ("new_account", 30),
        ("under_attack", 0),
        ("no_browser_features", 25),
    ]
    assert allowed.score == 55 and allowed.under_attack


def test_another_accounts_proof_is_refused(risk_on, fan, sale, organizer_switch):
    other = Client()
    other.force_login(make_buyer())
    proof = proof_of(hold(other, sale))
    answer = hold(fan, sale, proof)
    assert answer.status_code == 428
    assert Hold.objects.count() == 0


def test_switching_off_lets_holds_through_again(risk_on, fan, sale, organizer_switch, now):
    assert hold(fan, sale).status_code == 428
    services.set_under_attack(actor=None, on=False, now=now, session=sale.session)
    assert hold(fan, sale).status_code == 201
    assert list(
        AuditEntry.objects.filter(action__startswith="risk.under_attack")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["risk.under_attack_on", "risk.under_attack_off"]


def test_the_fast_lane_checkout_needs_the_proof_too(risk_on, sale, buyer, organizer_switch):
    from tessera import wsgi

    client = Client()
    client.force_login(buyer)
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}
    body = {"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"}
    path = f"/api/v1/sessions/{sale.session.pk}/checkout"
    headers = {"X-CSRFToken": CSRF, "Content-Type": "application/json"}
    status, answer = wsgi_call(
        wsgi.application, "POST", path, body=body, headers=headers, cookies=cookies
    )
    assert (status, answer["error"]["code"]) == (428, "challenge_required")
    assert Order.objects.count() == 0
    details = answer["error"]["details"]
    proof = f"{details['challenge']}:{pow.solve(details['challenge'], details['difficulty'])}"
    status, answer = wsgi_call(
        wsgi.application,
        "POST",
        path,
        body=body,
        headers={**headers, "X-Tessera-Proof": proof},
        cookies=cookies,
    )
    assert status == 201, answer
    assert Order.objects.count() == 1
    status, answer = wsgi_call(
        wsgi.application,
        "POST",
        path,
        body=body,
        headers={**headers, "X-Tessera-Proof": proof},
        cookies=cookies,
    )
    assert status == 428
    assert Order.objects.count() == 1


def test_a_room_under_attack_needs_a_proof_to_join(risk_on, fan, sale, buyer, now):
    room = make_room(sale=sale, now=now)
    services.set_under_attack(actor=None, on=True, now=now, room=room)
    path = f"/api/v1/waitingrooms/{room.pk}/entries"
    first = fan.post(path, content_type="application/json")
    assert first.status_code == 428
    assert QueueEntry.objects.count() == 0
    second = fan.post(path, content_type="application/json", HTTP_X_TESSERA_PROOF=proof_of(first))
    assert second.status_code == 201
    assert QueueEntry.objects.filter(user_id=buyer.pk).count() == 1
    # the room's sessions are under attack too: their holds need a proof
    assert state.is_under_attack(session_id=sale.session.pk)


def test_the_queue_pages_form_is_checked_in_the_browser(risk_on, fan, sale, buyer, now):
    room = make_room(sale=sale, now=now)
    services.set_under_attack(actor=None, on=True, now=now, room=room)
    page = fan.post(f"/queue/{room.pk}/")
    assert page.status_code == 428
    html = page.content.decode()
    assert 'id="risk-form"' in html and "risk/check.js" in html
    challenge = page.context["challenge"]
    nonce = pow.solve(challenge, page.context["difficulty"])
    done = fan.post(f"/queue/{room.pk}/", {"tessera_proof": f"{challenge}:{nonce}"})
    assert done.status_code == 302
    assert QueueEntry.objects.filter(user_id=buyer.pk).count() == 1


def test_a_high_request_rate_puts_the_session_under_attack(risk_on, fan, sale, settings):
    settings.RISK_ATTACK_RATE = 3
    settings.RISK_WINDOW_SECONDS = 3600  # one window for the whole test, however slow
    codes = [hold(fan, sale).status_code for _ in range(4)]
    assert codes[:3] == [201, 201, 201]  # each hold replaces the fan's previous one
    assert codes[3] == 428
    switch = UnderAttack.objects.get()
    assert (switch.source, switch.session_id, switch.rate) == (
        AttackSource.AUTOMATIC,
        sale.session.pk,
        4,
    )
    assert AuditEntry.objects.filter(action="risk.under_attack_detected").count() == 1
    # more load, more work: the difficulty grows with the rate
    assert state.difficulty(4 * 3) > state.difficulty(3) == settings.RISK_POW_BITS


def test_not_under_attack_the_check_costs_no_statement(risk_on, sale, now):
    buyer = make_buyer(date_joined=now - timedelta(days=30))
    environ = {"REMOTE_ADDR": "10.0.0.1", "PATH_INFO": hold_path(sale)}
    gate.check(environ, purpose="hold", user=buyer, session_id=sale.session.pk)  # view read
    with CaptureQueriesContext(connection) as captured:
        for _ in range(50):
            gate.check(environ, purpose="hold", user=buyer, session_id=sale.session.pk)
    assert captured.captured_queries == []


def test_the_fast_lane_slows_a_high_score_with_retry_after(risk_on, sale, settings):
    from tessera import wsgi

    settings.RISK_SLOW_SCORE = 30  # a new account alone scores 30
    client = Client()
    client.force_login(make_buyer())
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}
    status, answer, headers = wsgi_call(
        wsgi.application,
        "POST",
        f"/api/v1/sessions/{sale.session.pk}/checkout",
        body={"zone": sale.zones["A"].pk, "quantity": 1, "provider": "sandbox"},
        headers={"X-CSRFToken": CSRF, "Content-Type": "application/json"},
        cookies=cookies,
        with_headers=True,
    )
    assert (status, headers.get("Retry-After")) == (429, "5"), answer
    assert answer["error"]["code"] == "rate_limited"
    assert answer["error"]["details"] == {"retry_after": 5, "scope": "risk"}
    assert Order.objects.count() == 0
    assert RiskDecision.objects.get().action == Action.SLOW


def test_the_buy_pages_form_needs_the_proof_too(risk_on, fan, sale, organizer_switch):
    form = {"mode": "best", "zone": sale.zones["A"].pk, "quantity": 2}
    page = fan.post(f"/sessions/{sale.session.pk}/buy/", form)
    assert page.status_code == 428
    assert Hold.objects.count() == 0
    # the check page posts the same fields again, with the proof
    fields = dict(page.context["fields"])
    assert fields == {"mode": "best", "zone": str(sale.zones["A"].pk), "quantity": "2"}
    challenge = page.context["challenge"]
    proof = f"{challenge}:{pow.solve(challenge, page.context['difficulty'])}"
    done = fan.post(f"/sessions/{sale.session.pk}/buy/", {**fields, "tessera_proof": proof})
    assert done.status_code == 302 and "/checkout/" in done["Location"]
    assert Hold.objects.count() == 1
