"""Alipay (open platform, RSA2) written to its published signature rules, no SDK.

Signing a request: take every parameter except ``sign`` whose value is not empty, sort by
name, join as ``k=v`` with ``&`` (values not URL-encoded), sign the UTF-8 bytes with
SHA256withRSA (PKCS#1 v1.5) under the app's private key, base64.

Verifying an asynchronous notification: drop ``sign`` and ``sign_type``, build the same
string from what remains, verify with Alipay's public key. ``trade_status`` TRADE_SUCCESS and
TRADE_FINISHED mean paid, TRADE_CLOSED means closed unpaid, WAIT_BUYER_PAY means open.

Signed responses: the signature covers the exact JSON text of the ``<method>_response``
member, which is verified before anything in it is believed.

Configuration (settings or environment): ``TESSERA_ALIPAY_APP_ID``,
``TESSERA_ALIPAY_PRIVATE_KEY[_FILE]`` (the app's RSA private key, PEM),
``TESSERA_ALIPAY_PUBLIC_KEY[_FILE]`` (Alipay's public key, PEM), optionally
``TESSERA_ALIPAY_GATEWAY``, ``TESSERA_ALIPAY_SELLER_ID`` and ``TESSERA_ALIPAY_MODE``
(``page``: redirect to Alipay's cashier, the default; ``qr``: precreate a QR code).
"""

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tessera.core.money import to_minor_units
from tessera.payments.conf import read_pem, setting
from tessera.payments.providers.base import (
    FAILED,
    PENDING,
    SUCCEEDED,
    CallbackData,
    CallbackForged,
    CallbackResponse,
    CreateResult,
    PaymentProvider,
    ProviderError,
    ProviderNotConfigured,
    RefundResult,
    TradeRequest,
    epoch_micros,
    minor_to_decimal,
    out_trade_no,
    trade_request,
)

GATEWAY = "https://openapi.alipay.com/gateway.do"
BEIJING = ZoneInfo("Asia/Shanghai")
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_TRADE_STATUS = {
    "TRADE_SUCCESS": SUCCEEDED,
    "TRADE_FINISHED": SUCCEEDED,
    "TRADE_CLOSED": FAILED,
    "WAIT_BUYER_PAY": PENDING,
}


def sign_content(params: Mapping[str, str], *, exclude: tuple[str, ...] = ("sign",)) -> str:
    """The string Alipay signs: non-empty parameters but ``exclude``, sorted, ``k=v&…``."""
    return "&".join(
        f"{k}={params[k]}"
        for k in sorted(params)
        if k not in exclude and params[k] not in ("", None)
    )


def rsa2_sign(private_key: rsa.RSAPrivateKey, content: str) -> str:
    signature = private_key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def rsa2_verify(public_key: rsa.RSAPublicKey, content: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, in the charset it names (UTF-8 unless
    ``charset`` says otherwise, as Alipay's notifications do)."""
    text = body.decode("ascii")
    pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8")
    charset = dict(pairs).get("charset", "utf-8") or "utf-8"
    if charset.lower() not in ("utf-8", "utf8"):
        pairs = parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict")
    return dict(pairs)


def _beijing_time(text: str) -> datetime:
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=BEIJING)


def extract_signed_text(raw: str, member: str) -> str | None:
    """The exact JSON text of ``member`` in a response body, as it was signed."""
    key = f'"{member}"'
    start = raw.find(key)
    if start < 0:
        return None
    colon = raw.find(":", start + len(key))
    if colon < 0:
        return None
    value_start = colon + 1
    while value_start < len(raw) and raw[value_start] in " \t\r\n":
        value_start += 1
    try:
        _value, end = json.JSONDecoder().raw_decode(raw, value_start)
    except json.JSONDecodeError:
        return None
    return raw[value_start:end]


@dataclass
class AlipayProvider(PaymentProvider):
    name = "alipay"
    app_id: str = ""
    private_key: rsa.RSAPrivateKey | None = None
    alipay_public_key: rsa.RSAPublicKey | None = None
    gateway: str = GATEWAY
    seller_id: str = ""
    mode: str = "page"

    @classmethod
    def from_settings(cls) -> "AlipayProvider":
        app_id = setting("TESSERA_ALIPAY_APP_ID")
        private_pem = read_pem("TESSERA_ALIPAY_PRIVATE_KEY")
        public_pem = read_pem("TESSERA_ALIPAY_PUBLIC_KEY")
        if not (app_id and private_pem and public_pem):
            raise ProviderNotConfigured(details={"reason": "Alipay is not configured"})
        return cls(
            app_id=app_id,
            private_key=serialization.load_pem_private_key(private_pem, password=None),
            alipay_public_key=serialization.load_pem_public_key(public_pem),
            gateway=setting("TESSERA_ALIPAY_GATEWAY", GATEWAY),
            seller_id=setting("TESSERA_ALIPAY_SELLER_ID"),
            mode=setting("TESSERA_ALIPAY_MODE", "page"),
        )

    # -- requests ---------------------------------------------------------------------------

    def signed_params(self, method: str, biz: dict, **extra: str) -> dict[str, str]:
        """The complete, signed parameter set of one API call."""
        params = {
            "app_id": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "version": "1.0",
            "timestamp": self.clock().astimezone(BEIJING).strftime(_TIME_FORMAT),
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
            **{k: v for k, v in extra.items() if v},
        }
        params["sign"] = rsa2_sign(self.private_key, sign_content(params))
        return params

    def call(self, method: str, biz: dict, **extra: str) -> dict:
        """POST one API call and return its verified ``<method>_response`` object."""
        body = urlencode(self.signed_params(method, biz, **extra)).encode("ascii")
        result = self.transport.send(
            "POST",
            self.gateway,
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            body=body,
        )
        if result.status != 200:
            raise ProviderError(details={"reason": f"HTTP {result.status}"})
        raw = result.body.decode("utf-8")
        member = method.replace(".", "_") + "_response"
        signed = extract_signed_text(raw, member)
        document = result.json()
        response = document.get(member)
        if signed is None or not isinstance(response, dict):
            raise ProviderError(details={"reason": "unexpected response"})
        signature = document.get("sign", "")
        if signature and not rsa2_verify(self.alipay_public_key, signed, signature):
            raise ProviderError(details={"reason": "response signature invalid"})
        if not signature and response.get("code") == "10000":
            raise ProviderError(details={"reason": "unsigned success response"})
        return response

    @property
    def prepares_locally(self) -> bool:
        """Page pay is a signed redirect built here; precreate (QR) asks Alipay."""
        return self.mode != "qr"

    def _biz(self, trade: TradeRequest) -> dict:
        return {
            "out_trade_no": trade.payment_id.hex,
            "total_amount": str(minor_to_decimal(trade.amount_minor, trade.currency)),
            "subject": f"{trade.subject} {trade.order_number}"[:128],
        }

    def prepare(self, trade: TradeRequest) -> CreateResult:
        """``alipay.trade.page.pay``: the signed parameters, as the URL of Alipay's cashier."""
        if not self.prepares_locally:
            raise NotImplementedError("Alipay's QR mode opens trades with create()")
        biz = {**self._biz(trade), "product_code": "FAST_INSTANT_TRADE_PAY"}
        params = self.signed_params(
            "alipay.trade.page.pay", biz, notify_url=trade.notify_url, return_url=trade.return_url
        )
        return CreateResult(redirect_url=f"{self.gateway}?{urlencode(params)}")

    def create(self, payment, *, return_url: str, notify_url: str) -> CreateResult:
        trade = trade_request(payment, return_url=return_url, notify_url=notify_url)
        if self.prepares_locally:
            return self.prepare(trade)
        response = self.call("alipay.trade.precreate", self._biz(trade), notify_url=notify_url)
        if response.get("code") != "10000" or not response.get("qr_code"):
            raise ProviderError(
                details={"reason": response.get("sub_msg") or response.get("msg", "")}
            )
        return CreateResult(qr_content=response["qr_code"])

    def query(self, payment) -> str:
        response = self.call("alipay.trade.query", {"out_trade_no": out_trade_no(payment)})
        if response.get("code") != "10000":
            if response.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return PENDING
            raise ProviderError(details={"reason": response.get("sub_msg", "")})
        return _TRADE_STATUS.get(response.get("trade_status", ""), PENDING)

    def refund(self, payment, amount: Decimal, reason: str, *, refund_id: str) -> RefundResult:
        minor = to_minor_units(amount, payment.currency)
        response = self.call(
            "alipay.trade.refund",
            {
                "out_trade_no": out_trade_no(payment),
                "refund_amount": str(minor_to_decimal(minor, payment.currency)),
                "refund_reason": reason[:256],
                "out_request_no": refund_id[:64],
            },
        )
        if response.get("code") != "10000":
            return RefundResult(FAILED, detail=response.get("sub_msg") or response.get("msg", ""))
        return RefundResult(SUCCEEDED, provider_reference=response.get("trade_no", ""))

    # -- notifications ------------------------------------------------------------------------

    def verify_callback(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> CallbackData:
        try:
            params = _parse_form(body)
        except (UnicodeError, LookupError, ValueError) as exc:
            raise CallbackForged("malformed body") from exc
        signature = params.get("sign", "")
        content = sign_content(params, exclude=("sign", "sign_type"))
        if not signature or not rsa2_verify(self.alipay_public_key, content, signature):
            raise CallbackForged("signature does not match")
        if params.get("app_id") != self.app_id:
            raise CallbackForged("notification for another app")
        if self.seller_id and params.get("seller_id") != self.seller_id:
            raise CallbackForged("notification for another seller")
        try:
            status = _TRADE_STATUS[params["trade_status"]]
            amount = to_minor_units(Decimal(params["total_amount"]), "CNY")
            notified_at = _beijing_time(params["notify_time"])
            paid_at = (
                _beijing_time(params["gmt_payment"]) if params.get("gmt_payment") else notified_at
            )
            payment_id = params["out_trade_no"]
        except (KeyError, ValueError, InvalidOperation) as exc:
            raise CallbackForged("malformed body") from exc
        return CallbackData(
            payment_id=payment_id,
            provider_reference=params.get("trade_no", ""),
            status=status,
            amount_minor=amount,
            currency=params.get("trans_currency") or "CNY",
            sequence=epoch_micros(notified_at),
            event_at=paid_at,
            payer_id=(params.get("buyer_id") or params.get("buyer_open_id") or "")[:128],
        )

    def callback_response(self, ok: bool) -> CallbackResponse:
        # Alipay stops retrying when the body is exactly "success".
        return CallbackResponse(200, "text/plain", b"success" if ok else b"fail")
