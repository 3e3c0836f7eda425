"""Cashier links: how a merchant sends the buyer to the sandbox gateway to pay.

Like Alipay's ``alipay.trade.page.pay``, the merchant does not ask the gateway to open a trade
beforehand; it builds a redirect URL that carries the trade's terms and signs it with the
merchant secret (``signing.sign_link``). The gateway believes the terms only once the signature
checks out, and the trade comes into existence when the buyer decides on the cashier page.
Building a link needs no network and no database.

A link is ``/pay/sandbox/<payment id>/?`` with these parameters (percent-encoded):

- ``amount`` (minor units, > 0), ``currency`` (3 letters), ``order`` (the merchant's order
  number), ``subject`` (what is bought), ``merchant`` (the name the buyer sees),
  ``notify_url`` (where callbacks go, http or https), ``return_url`` (optional: where the
  buyer goes after deciding);
- the switches, when set: ``fail=1``, ``delay_seconds`` (0–3600), ``duplicates`` (1–10),
  ``out_of_order=1`` (see ``tessera.sandbox.services``);
- ``sign``: the signature over all the others and the payment id.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from uuid import UUID

from django.urls import Resolver404, resolve, reverse

from tessera.sandbox import signing
from tessera.sandbox.conf import public_url
from tessera.sandbox.errors import CashierLinkInvalid

SWITCH_NAMES = ("fail", "delay_seconds", "duplicates", "out_of_order")
MAX_DUPLICATES = 10
MAX_DELAY_SECONDS = 3600
MAX_AMOUNT_MINOR = 10**12
# Longest text the gateway keeps of each parameter (its trade record's columns).
MAX_LENGTH = {"merchant": 120, "order": 40, "subject": 200, "notify_url": 500, "return_url": 500}
_BOOLEAN_SWITCHES = ("fail", "out_of_order")
_NUMBER_SWITCHES = {"delay_seconds": (0, MAX_DELAY_SECONDS), "duplicates": (1, MAX_DUPLICATES)}
_REQUIRED = ("amount", "currency", "order", "subject", "merchant", "notify_url")
_KNOWN = {*_REQUIRED, "return_url", *SWITCH_NAMES, "sign"}


@dataclass(frozen=True)
class TradeTerms:
    """What a cashier link says about the trade."""

    payment_id: UUID
    amount_minor: int
    currency: str
    order_number: str
    subject: str
    merchant_name: str
    notify_url: str
    return_url: str = ""
    switches: dict = field(default_factory=dict)

    @classmethod
    def of_trade(cls, trade) -> "TradeTerms":
        """The terms a stored trade was opened with."""
        return cls(
            payment_id=trade.payment_id,
            amount_minor=trade.amount_minor,
            currency=trade.currency,
            order_number=trade.order_number,
            subject=trade.subject,
            merchant_name=trade.merchant_name,
            notify_url=trade.notify_url,
            return_url=trade.return_url,
            switches={k: v for k, v in (trade.switches or {}).items() if k in SWITCH_NAMES},
        )


def link_params(terms: TradeTerms) -> dict[str, str]:
    """The link's parameters, before signing; text cut to what the gateway keeps."""
    params = {
        "amount": str(terms.amount_minor),
        "currency": terms.currency,
        "order": terms.order_number[: MAX_LENGTH["order"]],
        "subject": terms.subject[: MAX_LENGTH["subject"]],
        "merchant": terms.merchant_name[: MAX_LENGTH["merchant"]],
        "notify_url": terms.notify_url,
    }
    if terms.return_url:
        params["return_url"] = terms.return_url
    for name in _BOOLEAN_SWITCHES:
        if terms.switches.get(name):
            params[name] = "1"
    for name in _NUMBER_SWITCHES:
        if terms.switches.get(name) is not None:
            params[name] = str(int(terms.switches[name]))
    return params


def page_pay_url(terms: TradeTerms) -> str:
    """The signed cashier link the merchant redirects the buyer to."""
    params = link_params(terms)
    signature = signing.sign_link({"payment_id": str(terms.payment_id), **params})
    path = reverse("sandbox:cashier", args=[terms.payment_id])
    query = urlencode([*params.items(), ("sign", signature)], quote_via=quote)
    return f"{public_url()}{path}?{query}"


def terms_from_query(payment_id: UUID, pairs: Iterable[tuple[str, str]]) -> TradeTerms:
    """The terms of a cashier link, from its payment id and query parameters.

    Raises CashierLinkInvalid when a parameter is unknown, repeated or missing, when the
    signature does not cover exactly these values, or when a value is out of range.
    """
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in _KNOWN:
            raise CashierLinkInvalid(f"unknown parameter {name[:40]}")
        if name in params:
            raise CashierLinkInvalid(f"repeated parameter {name}")
        params[name] = value
    signature = params.pop("sign", "")
    if not signature:
        raise CashierLinkInvalid("not signed")
    if not signing.link_signature_valid({"payment_id": str(payment_id), **params}, signature):
        raise CashierLinkInvalid("signature does not match")
    missing = [name for name in _REQUIRED if not params.get(name)]
    if missing:
        raise CashierLinkInvalid(f"missing {', '.join(missing)}")
    return TradeTerms(
        payment_id=payment_id,
        amount_minor=_amount(params["amount"]),
        currency=_currency(params["currency"]),
        order_number=_text(params, "order"),
        subject=_text(params, "subject"),
        merchant_name=_text(params, "merchant"),
        notify_url=_url(params, "notify_url"),
        return_url=_url(params, "return_url") if "return_url" in params else "",
        switches=_switches(params),
    )


def terms_from_url(url: str) -> TradeTerms:
    """The terms of a whole cashier link (as the cashier page reads them). Raises
    CashierLinkInvalid, also for a URL that is not a cashier page of this gateway."""
    parts = urlsplit(url)
    try:
        match = resolve(parts.path)
    except Resolver404 as exc:
        raise CashierLinkInvalid("not a cashier link") from exc
    if match.view_name != "sandbox:cashier":
        raise CashierLinkInvalid("not a cashier link")
    return terms_from_query(
        match.kwargs["payment_id"], parse_qsl(parts.query, keep_blank_values=True)
    )


def _amount(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_AMOUNT_MINOR:
        raise CashierLinkInvalid("amount out of range")
    return int(text)


def _currency(text: str) -> str:
    if len(text) != 3 or not (text.isascii() and text.isalpha() and text.isupper()):
        raise CashierLinkInvalid("currency is not a 3-letter code")
    return text


def _text(params: Mapping[str, str], name: str) -> str:
    value = params[name]
    if len(value) > MAX_LENGTH[name]:
        raise CashierLinkInvalid(f"{name} longer than {MAX_LENGTH[name]}")
    return value


def _url(params: Mapping[str, str], name: str) -> str:
    value = _text(params, name)
    if not value.startswith(("http://", "https://")):
        raise CashierLinkInvalid(f"{name} is not an http(s) URL")
    return value


def _switches(params: Mapping[str, str]) -> dict:
    switches: dict = {}
    for name in _BOOLEAN_SWITCHES:
        if name in params:
            if params[name] != "1":
                raise CashierLinkInvalid(f"{name} must be 1")
            switches[name] = True
    for name, (low, high) in _NUMBER_SWITCHES.items():
        if name in params:
            text = params[name]
            if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
                raise CashierLinkInvalid(f"{name} out of range")
            switches[name] = int(text)
    return switches
