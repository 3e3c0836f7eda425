"""The cashier page: shown from the signed link, decided in one press, refusing changed links."""

from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from django.utils import timezone, translation

from tessera.core.testing import wsgi_call
from tessera.sandbox import pagepay, views
from tessera.sandbox.models import SandboxTrade
from tessera.sandbox.tests.conftest import NOW, PAYMENT_ID, make_terms

REFUSED_EN = (
    "This payment link is not valid: it was changed after the shop made it, "
    "or it is incomplete. Please go back to the shop and start the payment again."
)


def _params(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.fixture
def link(db) -> str:
    return _path(pagepay.page_pay_url(make_terms()))


def test_the_cashier_shows_the_trade_from_the_link_and_writes_nothing(
    client, link, django_assert_num_queries
):
    with django_assert_num_queries(1):  # is the trade decided already?
        response = client.get(link, HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1 id="cashier-title" class="merchant">星光文化</h1>' in html
    assert '<p class="amount" data-testid="amount">¥760.00</p>' in html
    assert 'data-testid="order-number">T261122-K7M3QX</dd>' in html
    assert "<dd>周杰伦 2026 嘉年华 · 上海站</dd>" in html
    assert 'data-testid="reference"' not in html  # no trade number before the buyer decides
    with translation.override("en"):
        qr = views.qr_svg(f"http://127.0.0.1:8000{link}")
    assert qr.startswith('<svg viewBox="0 0 ') and qr in html  # the QR of this very link
    assert 'name="choice" value="pay"' in html
    assert 'name="choice" value="fail"' in html
    assert 'class="site-header"' not in html  # the gateway's page, not the shop's
    assert SandboxTrade.objects.count() == 0


def test_pressing_pay_decides_the_trade_and_sends_the_buyer_back_to_the_shop(
    client, link, django_capture_on_commit_callbacks, django_assert_num_queries
):
    with (
        django_capture_on_commit_callbacks(execute=False) as deliveries,
        django_assert_num_queries(1),  # the INSERT … ON CONFLICT, nothing else
    ):
        response = client.post(link, {"choice": "pay"})

    trade = SandboxTrade.objects.get()
    assert (response.status_code, response["Location"]) == (
        303,
        "http://127.0.0.1:8000/orders/T261122-K7M3QX/",
    )
    assert (trade.payment_id, trade.status, trade.sequence) == (PAYMENT_ID, "paid", 2)
    assert len(deliveries) == 1


def test_the_link_shows_the_gateways_result_once_decided(client, link):
    client.post(link, {"choice": "pay"})

    page = client.get(link, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    trade = SandboxTrade.objects.get()
    assert "Payment complete. The shop is being notified." in page
    assert f'data-testid="reference">{trade.reference}</dd>' in page
    assert 'name="choice"' not in page and "cashier-qr" not in page
    assert '<a class="back" href="http://127.0.0.1:8000/orders/T261122-K7M3QX/">' in page


def test_without_a_return_url_the_buyer_stays_on_the_gateways_result(client, db):
    link = _path(pagepay.page_pay_url(make_terms(return_url="")))

    response = client.post(link, {"choice": "fail"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert response.redirect_chain == [(link, 303)]
    assert "The payment failed. No money was taken." in response.content.decode()
    assert SandboxTrade.objects.get().status == "failed"


def test_pressing_twice_changes_nothing_and_says_so(client, link):
    client.post(link, {"choice": "fail"})
    before = SandboxTrade.objects.values_list("status", "sequence", "decided_at").get()

    response = client.post(link, {"choice": "pay"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert response.redirect_chain == [(link, 303)]
    assert SandboxTrade.objects.values_list("status", "sequence", "decided_at").get() == before
    assert (
        "This payment has already been completed at the sandbox gateway."
        in response.content.decode()
    )


def test_an_unknown_choice_changes_nothing(client, link):
    response = client.post(link, {"choice": "steal"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert response.redirect_chain == [(link, 303)]
    assert "Please press one of the buttons." in response.content.decode()
    assert SandboxTrade.objects.count() == 0


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "name", ["amount", "currency", "order", "subject", "merchant", "notify_url", "return_url"]
)
def test_a_changed_link_is_refused_with_a_clear_page_and_nothing_written(client, db, method, name):
    url = pagepay.page_pay_url(make_terms(switches={"duplicates": 2}))
    params = [(k, "9" + v if k == name else v) for k, v in _params(url)]
    changed = f"{urlsplit(url).path}?{urlencode(params, quote_via=quote)}"

    response = getattr(client, method)(changed, {"choice": "pay"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert f'<p role="alert" data-testid="refusal">{REFUSED_EN}</p>' in response.content.decode()
    assert SandboxTrade.objects.count() == 0


def test_a_changed_switch_is_refused_too(client, db):
    url = pagepay.page_pay_url(make_terms(switches={"fail": True}))
    params = [p for p in _params(url) if p[0] != "fail"]  # the buyer tries to make it succeed

    response = client.post(
        f"{urlsplit(url).path}?{urlencode(params, quote_via=quote)}", {"choice": "pay"}
    )

    assert response.status_code == 400
    assert SandboxTrade.objects.count() == 0


def test_the_refusal_speaks_chinese_to_a_chinese_browser(client, link):
    response = client.get(link.replace("amount=76000", "amount=1"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    html = response.content.decode()
    assert response.status_code == 400
    assert '<h1 id="refused-title" class="result bad">无法在此完成该笔支付</h1>' in html
    assert (
        '<p role="alert" data-testid="refusal">该支付链接无效：它在商户生成后被改动过，'
        "或者不完整。请返回商户重新发起支付。</p>"
    ) in html


def test_an_unknown_trade_without_a_link_is_404(client, db):
    response = client.get(f"/pay/sandbox/{PAYMENT_ID}/", HTTP_ACCEPT_LANGUAGE="en")
    pressed = client.post(f"/pay/sandbox/{PAYMENT_ID}/", {"choice": "pay"})

    assert (response.status_code, pressed.status_code) == (404, 404)
    assert "This payment does not exist at the sandbox gateway." in response.content.decode()
    assert SandboxTrade.objects.count() == 0


def test_a_trade_opened_before_links_carried_terms_is_paid_at_its_old_address(client, db):
    SandboxTrade.objects.create(
        reference="SBX20261122OLD0000000000001",
        payment_id=PAYMENT_ID,
        merchant_name="星光文化",
        order_number="T261122-K7M3QX",
        subject="周杰伦",
        amount_minor=76000,
        currency="CNY",
        notify_url="http://127.0.0.1:8000/api/v1/payments/callbacks/sandbox",
        return_url="http://127.0.0.1:8000/orders/T261122-K7M3QX/",
        created_at=NOW,
    )
    old = f"/pay/sandbox/{PAYMENT_ID}/"

    shown = client.get(old, HTTP_ACCEPT_LANGUAGE="en")
    pressed_from = timezone.now()
    pressed = client.post(old, {"choice": "pay"})

    assert 'name="choice" value="pay"' in shown.content.decode()
    assert (pressed.status_code, pressed["Location"]) == (
        303,
        "http://127.0.0.1:8000/orders/T261122-K7M3QX/",
    )
    trade = SandboxTrade.objects.get()
    assert (trade.reference, trade.status, trade.sequence, trade.created_at) == (
        "SBX20261122OLD0000000000001",
        "paid",
        2,
        NOW,
    )
    assert pressed_from <= trade.decided_at <= timezone.now()


# -- the buttons through the served application (the fast lane) -------------------------------

CSRF = "B" * 32


def _press_served(link: str, choice: str, *, csrf: str = CSRF):
    from tessera import wsgi

    path, _, query = link.partition("?")
    return wsgi_call(
        wsgi.application,
        "POST",
        path,
        query=query,
        body=urlencode({"choice": choice, "csrfmiddlewaretoken": csrf}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        cookies={"csrftoken": CSRF},
        with_headers=True,
    )


def test_the_served_pay_button_answers_as_the_page_does(link, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as deliveries:
        status, _body, headers = _press_served(link, "pay")
    assert (status, headers["Location"]) == (303, "http://127.0.0.1:8000/orders/T261122-K7M3QX/")
    assert SandboxTrade.objects.get().status == "paid"
    assert len(deliveries) == 1


@pytest.mark.parametrize(("choice", "csrf"), [("maybe", CSRF), ("pay", "C" * 32)])
def test_what_the_served_button_cannot_take_goes_to_the_page(link, choice, csrf):
    status, _body, headers = _press_served(link, choice, csrf=csrf)
    # the page itself answers: a bad choice back to the cashier, a bad CSRF token refused
    assert status in (303, 403)
    if status == 303:
        assert headers["Location"] == link
    assert SandboxTrade.objects.count() == 0


def test_a_second_served_press_changes_nothing(link):
    _press_served(link, "pay")
    status, _body, headers = _press_served(link, "fail")
    assert (status, headers["Location"]) == (303, link)  # the page says it was decided
    assert list(SandboxTrade.objects.values_list("status", flat=True)) == ["paid"]
