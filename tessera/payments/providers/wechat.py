"""WeChat Pay API v3 written to its published rules, no SDK.

Requests: the signature string is ``METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n`` (URL is the
path with its query; BODY empty for GET), signed SHA256-RSA (PKCS#1 v1.5) with the merchant's
private key, sent as ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",
signature="…",timestamp="…",serial_no="…"``.

Responses and callbacks are signed by the platform: headers ``Wechatpay-Timestamp``,
``Wechatpay-Nonce``, ``Wechatpay-Signature`` and ``Wechatpay-Serial``; the message is
``TIMESTAMP\\nNONCE\\nBODY\\n``, verified with the public key of the platform certificate named
by the serial. Timestamps more than five minutes away from now are refused (replays).
A callback's ``resource`` is encrypted with AEAD_AES_256_GCM under the APIv3 key, with the
resource's ``nonce`` and ``associated_data``.

Configuration (settings or environment): ``TESSERA_WECHAT_MCHID``, ``TESSERA_WECHAT_APPID``,
``TESSERA_WECHAT_SERIAL_NO`` (the merchant certificate's serial),
``TESSERA_WECHAT_PRIVATE_KEY[_FILE]`` (PEM), ``TESSERA_WECHAT_APIV3_KEY`` (32 characters),
``TESSERA_WECHAT_PLATFORM_SERIAL`` and ``TESSERA_WECHAT_PLATFORM_PUBLIC_KEY[_FILE]`` (PEM),
optionally ``TESSERA_WECHAT_BASE_URL``.
"""

import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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
    HttpResult,
    PaymentProvider,
    ProviderError,
    ProviderNotConfigured,
    RefundResult,
    amount_minor,
    epoch_micros,
    header,
    out_trade_no,
)

BASE_URL = "https://api.mch.weixin.qq.com"
SCHEMA = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW_SECONDS = 300
_TRADE_STATE = {
    "SUCCESS": SUCCEEDED,
    "REFUND": SUCCEEDED,  # paid, then (partly) refunded
    "CLOSED": FAILED,
    "REVOKED": FAILED,
    "PAYERROR": FAILED,
    "NOTPAY": PENDING,
    "USERPAYING": PENDING,
}
_REFUND_STATUS = {"SUCCESS": SUCCEEDED, "PROCESSING": PENDING}


def request_message(method: str, url_path: str, timestamp: str, nonce: str, body: str) -> str:
    return f"{method}\n{url_path}\n{timestamp}\n{nonce}\n{body}\n"


def response_message(timestamp: str, nonce: str, body: str) -> str:
    return f"{timestamp}\n{nonce}\n{body}\n"


def rsa_sign(private_key: rsa.RSAPrivateKey, message: str) -> str:
    raw = private_key.sign(message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode("ascii")


def rsa_verify(public_key: rsa.RSAPublicKey, message: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def parse_authorization(value: str) -> dict[str, str]:
    """The fields of an ``Authorization: WECHATPAY2-SHA256-RSA2048 k="v",…`` header."""
    schema, _space, rest = value.partition(" ")
    if schema != SCHEMA:
        return {}
    fields = {}
    for part in rest.split(","):
        key, _eq, raw = part.strip().partition("=")
        fields[key] = raw.strip('"')
    return fields


def decrypt_resource(
    apiv3_key: bytes, *, nonce: str, ciphertext: str, associated_data: str
) -> bytes:
    """AEAD_AES_256_GCM: ``ciphertext`` is base64 of the encrypted bytes followed by the
    16-byte tag. Raises InvalidTag when the key, nonce, data or associated data differ."""
    return AESGCM(apiv3_key).decrypt(
        nonce.encode("utf-8"), base64.b64decode(ciphertext), associated_data.encode("utf-8") or None
    )


def encrypt_resource(
    apiv3_key: bytes, *, nonce: str, plaintext: bytes, associated_data: str
) -> str:
    """The inverse of ``decrypt_resource`` (what the platform does), base64."""
    sealed = AESGCM(apiv3_key).encrypt(
        nonce.encode("utf-8"), plaintext, associated_data.encode("utf-8") or None
    )
    return base64.b64encode(sealed).decode("ascii")


@dataclass
class WeChatPayProvider(PaymentProvider):
    name = "wechat"
    mchid: str = ""
    appid: str = ""
    serial_no: str = ""
    private_key: rsa.RSAPrivateKey | None = None
    apiv3_key: bytes = b""
    # Platform certificate serial → its public key (several during a certificate rotation).
    platform_keys: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)
    base_url: str = BASE_URL

    @classmethod
    def from_settings(cls) -> "WeChatPayProvider":
        mchid = setting("TESSERA_WECHAT_MCHID")
        private_pem = read_pem("TESSERA_WECHAT_PRIVATE_KEY")
        platform_pem = read_pem("TESSERA_WECHAT_PLATFORM_PUBLIC_KEY")
        apiv3_key = setting("TESSERA_WECHAT_APIV3_KEY").encode()
        platform_serial = setting("TESSERA_WECHAT_PLATFORM_SERIAL")
        if not (
            mchid and private_pem and platform_pem and platform_serial and len(apiv3_key) == 32
        ):
            raise ProviderNotConfigured(details={"reason": "WeChat Pay is not configured"})
        return cls(
            mchid=mchid,
            appid=setting("TESSERA_WECHAT_APPID"),
            serial_no=setting("TESSERA_WECHAT_SERIAL_NO"),
            private_key=serialization.load_pem_private_key(private_pem, password=None),
            apiv3_key=apiv3_key,
            platform_keys={platform_serial: serialization.load_pem_public_key(platform_pem)},
            base_url=setting("TESSERA_WECHAT_BASE_URL", BASE_URL),
        )

    # -- requests ---------------------------------------------------------------------------

    def authorization(
        self, method: str, url_path: str, body: str, *, timestamp: str, nonce: str
    ) -> str:
        signature = rsa_sign(
            self.private_key, request_message(method, url_path, timestamp, nonce, body)
        )
        return (
            f'{SCHEMA} mchid="{self.mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{self.serial_no}"'
        )

    def call(self, method: str, url_path: str, payload: dict | None = None) -> dict:
        """Send one signed request; returns the verified JSON answer (``{}`` for 204)."""
        body = (
            ""
            if payload is None
            else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        )
        timestamp = str(int(self.clock().timestamp()))
        nonce = secrets.token_hex(16)
        headers = {
            "Authorization": self.authorization(
                method, url_path, body, timestamp=timestamp, nonce=nonce
            ),
            "Accept": "application/json",
            "User-Agent": "tessera",
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        result = self.transport.send(
            method,
            self.base_url + url_path,
            headers=headers,
            body=body.encode("utf-8") if payload is not None else None,
        )
        if 200 <= result.status < 300:
            try:
                self.verify_signed(result.headers, result.body, now=self.clock())
            except CallbackForged as exc:
                raise ProviderError(details={"reason": f"response: {exc.reason}"}) from exc
            return result.json() if result.body else {}
        raise ProviderError(details={"reason": _error_text(result)})

    def create(self, payment, *, return_url: str, notify_url: str) -> CreateResult:
        order = payment.order
        answer = self.call(
            "POST",
            "/v3/pay/transactions/native",
            {
                "appid": self.appid,
                "mchid": self.mchid,
                "description": f"{order.session.event.display_name} {order.number}"[:127],
                "out_trade_no": out_trade_no(payment),
                "notify_url": notify_url,
                "amount": {"total": amount_minor(payment), "currency": payment.currency},
            },
        )
        code_url = answer.get("code_url")
        if not code_url:
            raise ProviderError(details={"reason": "no code_url"})
        return CreateResult(qr_content=code_url)

    def query(self, payment) -> str:
        path = (
            f"/v3/pay/transactions/out-trade-no/{out_trade_no(payment)}?mchid={quote(self.mchid)}"
        )
        answer = self.call("GET", path)
        return _TRADE_STATE.get(answer.get("trade_state", ""), PENDING)

    def refund(self, payment, amount: Decimal, reason: str, *, refund_id: str) -> RefundResult:
        try:
            answer = self.call(
                "POST",
                "/v3/refund/domestic/refunds",
                {
                    "out_trade_no": out_trade_no(payment),
                    "out_refund_no": refund_id[:64],
                    "reason": reason[:80],
                    "amount": {
                        "refund": to_minor_units(amount, payment.currency),
                        "total": amount_minor(payment),
                        "currency": payment.currency,
                    },
                },
            )
        except ProviderError as exc:
            return RefundResult(FAILED, detail=exc.details.get("reason", ""))
        return RefundResult(
            _REFUND_STATUS.get(answer.get("status", ""), FAILED),
            provider_reference=answer.get("refund_id", ""),
            detail=answer.get("status", ""),
        )

    # -- signatures from the platform -----------------------------------------------------------

    def verify_signed(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> None:
        """Check a platform-signed message (a response or a callback); raises CallbackForged."""
        timestamp = header(headers, "Wechatpay-Timestamp")
        nonce = header(headers, "Wechatpay-Nonce")
        signature = header(headers, "Wechatpay-Signature")
        serial = header(headers, "Wechatpay-Serial")
        if not (timestamp and nonce and signature and serial):
            raise CallbackForged("signature headers missing")
        if signature.startswith("WECHATPAY/SIGNTEST/"):
            raise CallbackForged("signature probe")
        public_key = self.platform_keys.get(serial)
        if public_key is None:
            raise CallbackForged("unknown platform certificate")
        try:
            sent_at = int(timestamp)
        except ValueError as exc:
            raise CallbackForged("malformed timestamp") from exc
        if abs(int(now.timestamp()) - sent_at) > MAX_CLOCK_SKEW_SECONDS:
            raise CallbackForged("timestamp outside five minutes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CallbackForged("malformed body") from exc
        if not rsa_verify(public_key, response_message(timestamp, nonce, text), signature):
            raise CallbackForged("signature does not match")

    def verify_callback(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> CallbackData:
        self.verify_signed(headers, body, now=now)
        try:
            notice = json.loads(body.decode("utf-8"))
            resource = notice["resource"]
            if resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise CallbackForged("unsupported algorithm")
            plaintext = decrypt_resource(
                self.apiv3_key,
                nonce=resource["nonce"],
                ciphertext=resource["ciphertext"],
                associated_data=resource.get("associated_data", ""),
            )
        except InvalidTag as exc:
            raise CallbackForged("resource does not decrypt") from exc
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise CallbackForged("malformed body") from exc
        try:
            trade = json.loads(plaintext)
            if trade.get("mchid") != self.mchid:
                raise CallbackForged("notification for another merchant")
            amount = trade["amount"]
            moment = datetime.fromisoformat(trade.get("success_time") or notice["create_time"])
            status = _TRADE_STATE[trade["trade_state"]]
            total = amount["total"]
            if type(total) is not int:
                raise CallbackForged("malformed amount")
            return CallbackData(
                payment_id=trade["out_trade_no"],
                provider_reference=trade.get("transaction_id", ""),
                status=status,
                amount_minor=total,
                currency=amount.get("currency", "CNY"),
                sequence=epoch_micros(moment),
                event_at=moment,
                payer_id=str((trade.get("payer") or {}).get("openid") or "")[:128],
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CallbackForged("malformed resource") from exc

    def callback_response(self, ok: bool) -> CallbackResponse:
        if ok:
            return CallbackResponse(
                200, "application/json", json.dumps({"code": "SUCCESS", "message": "OK"}).encode()
            )
        return CallbackResponse(
            400, "application/json", json.dumps({"code": "FAIL", "message": "FAIL"}).encode()
        )


def _error_text(result: HttpResult) -> str:
    try:
        answer = json.loads(result.body.decode("utf-8"))
        return f"HTTP {result.status} {answer.get('code', '')}: {answer.get('message', '')}"
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return f"HTTP {result.status}"
