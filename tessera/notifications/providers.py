"""Who carries a message: email through Django's mail backend (SMTP, or a file under
``var/`` in development), text messages through an ``SmsProvider``: the sandbox, Alibaba
Cloud SMS or Tencent Cloud SMS.

Every ``send`` takes the message's idempotency key. The sandbox keeps the keys it accepted
and answers a repeated key with the first send's reference and ``already_sent`` — so a
worker that died after sending and before marking the message sent cannot send it twice.
Alibaba Cloud receives the key as ``OutId`` and Tencent Cloud as ``SessionContext``: they
come back on delivery receipts, but neither provider refuses a repeated key, so with them a
crash in that window can send the text twice (docs/notifications.md). SMTP has no
idempotency either: the key becomes the ``Message-ID``, the same on every attempt, which mail
clients use to fold duplicates.

The adapters sign requests by the providers' published rules (Alibaba Cloud RPC signature
V1: HMAC-SHA1 over the percent-encoded canonical query; Tencent Cloud API 3.0:
TC3-HMAC-SHA256) and send them through a ``transport`` callable, so tests give recorded
responses and never touch the network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from tessera.notifications.errors import ProviderError


@dataclass(frozen=True)
class SendResult:
    reference: str
    already_sent: bool = False


# -- transport ------------------------------------------------------------------------------


def http_transport(method: str, url: str, headers: dict, body: bytes | None) -> tuple[int, bytes]:
    """POST/GET over HTTPS with a 10 s timeout; (status, body)."""
    if not url.startswith("https://"):
        raise ProviderError("only https is allowed")
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError as exc:
        raise ProviderError(f"network: {exc}") from exc


# -- email ----------------------------------------------------------------------------------


def message_id_for(key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = getattr(settings, "NOTIFICATIONS_MESSAGE_ID_DOMAIN", "tessera.local")
    return f"<{digest}@{domain}>"


def send_email(email, *, key: str) -> SendResult:
    """Hand a built ``EmailMultiAlternatives`` to the mail backend; its Message-ID is derived
    from ``key``. Raises ProviderError when the server refuses or cannot be reached."""
    email.extra_headers["Message-ID"] = message_id_for(key)
    try:
        sent = email.send(fail_silently=False)
    except (OSError, Exception) as exc:  # smtplib errors are OSError or SMTPException
        raise ProviderError(f"email: {exc}") from exc
    if not sent:
        raise ProviderError("email: the backend sent nothing")
    return SendResult(reference=message_id_for(key))


def email_backend_name() -> str:
    return settings.EMAIL_BACKEND.rsplit(".", 2)[-2][:40]


# -- text messages --------------------------------------------------------------------------


class SmsProvider:
    name = "sms"

    def send(self, *, key: str, phone: str, text: str, template: str, params: dict) -> SendResult:
        raise NotImplementedError


class SandboxSmsProvider(SmsProvider):
    """Accepts every text and keeps it (``SmsSandboxRecord``), once per idempotency key.
    Writes in its own transaction (it stands for a remote system)."""

    name = "sandbox"

    def send(self, *, key: str, phone: str, text: str, template: str, params: dict) -> SendResult:
        from tessera.notifications.models import SmsSandboxRecord

        existing = SmsSandboxRecord.objects.filter(key=key).first()
        if existing is not None:
            return SendResult(reference=existing.reference, already_sent=True)
        reference = f"sbx-{uuid.uuid4().hex[:16]}"
        try:
            with transaction.atomic():
                SmsSandboxRecord.objects.create(
                    key=key,
                    phone=phone,
                    text=text,
                    reference=reference,
                    accepted_at=datetime.now(UTC),
                )
        except IntegrityError:
            first = SmsSandboxRecord.objects.get(key=key)
            return SendResult(reference=first.reference, already_sent=True)
        return SendResult(reference=reference)


def aliyun_percent_encode(value) -> str:
    """RFC 3986 percent-encoding as Alibaba Cloud signs it: only A-Z a-z 0-9 - _ . ~ stay."""
    return urllib.parse.quote(str(value), safe="-_.~")


def aliyun_string_to_sign(method: str, params: dict) -> str:
    canonical = "&".join(
        f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in sorted(params.items())
    )
    return f"{method}&{aliyun_percent_encode('/')}&{aliyun_percent_encode(canonical)}"


def aliyun_signature(method: str, params: dict, secret: str) -> str:
    """Base64(HMAC-SHA1(secret + "&", StringToSign))."""
    digest = hmac.new(
        f"{secret}&".encode(), aliyun_string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsProvider(SmsProvider):
    """Alibaba Cloud SMS ``SendSms`` (dysmsapi 2017-05-25), RPC style, signature V1."""

    name = "aliyun"
    endpoint = "https://dysmsapi.aliyuncs.com/"

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        transport=http_transport,
        clock=lambda: datetime.now(UTC),
        nonce=lambda: str(uuid.uuid4()),
    ):
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.transport = transport
        self.clock = clock
        self.nonce = nonce

    def signed_params(self, *, key: str, phone: str, template: str, params: dict) -> dict:
        query = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": key[:64],
            "PhoneNumbers": phone,
            "RegionId": "cn-hangzhou",
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self.nonce(),
            "SignatureVersion": "1.0",
            "TemplateCode": template,
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        query["Signature"] = aliyun_signature("POST", query, self.access_key_secret)
        return query

    def send(self, *, key: str, phone: str, text: str, template: str, params: dict) -> SendResult:
        query = self.signed_params(key=key, phone=phone, template=template, params=params)
        body = "&".join(
            f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in query.items()
        ).encode()
        status, raw = self.transport(
            "POST",
            self.endpoint,
            {"Content-Type": "application/x-www-form-urlencoded"},
            body,
        )
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise ProviderError(f"aliyun: HTTP {status}, not JSON") from exc
        if status != 200 or answer.get("Code") != "OK":
            raise ProviderError(f"aliyun: {answer.get('Code')}: {answer.get('Message')}")
        return SendResult(reference=str(answer.get("BizId", ""))[:120])


def tc3_signature(
    *, secret_key: str, service: str, timestamp: int, canonical_request: str
) -> tuple[str, str]:
    """(signature hex, credential scope) of Tencent Cloud API 3.0 TC3-HMAC-SHA256."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    signing_key = mac(mac(mac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest(), scope


def tc3_canonical_request(*, host: str, payload: str, content_type: str) -> str:
    return "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload.encode()).hexdigest(),
        ]
    )


def tc3_authorization(
    *, secret_id: str, secret_key: str, service: str, host: str, payload: str, timestamp: int
) -> str:
    content_type = "application/json; charset=utf-8"
    canonical = tc3_canonical_request(host=host, payload=payload, content_type=content_type)
    signature, scope = tc3_signature(
        secret_key=secret_key, service=service, timestamp=timestamp, canonical_request=canonical
    )
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


class TencentSmsProvider(SmsProvider):
    """Tencent Cloud SMS ``SendSms`` (API 2021-01-11), TC3-HMAC-SHA256."""

    name = "tencent"
    host = "sms.tencentcloudapi.com"

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        region: str = "ap-guangzhou",
        transport=http_transport,
        clock=lambda: datetime.now(UTC),
    ):
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.region = region
        self.transport = transport
        self.clock = clock

    def request(self, *, key: str, phone: str, template: str, params: dict):
        payload = json.dumps(
            {
                "PhoneNumberSet": [phone if phone.startswith("+") else f"+86{phone}"],
                "SmsSdkAppId": self.sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": template,
                "TemplateParamSet": [str(value) for value in params.values()],
                "SessionContext": key[:512],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        timestamp = int(self.clock().timestamp())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self.secret_id,
                secret_key=self.secret_key,
                service="sms",
                host=self.host,
                payload=payload,
                timestamp=timestamp,
            ),
            "Content-Type": "application/json; charset=utf-8",
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": self.region,
        }
        return headers, payload

    def send(self, *, key: str, phone: str, text: str, template: str, params: dict) -> SendResult:
        headers, payload = self.request(key=key, phone=phone, template=template, params=params)
        status, raw = self.transport("POST", f"https://{self.host}/", headers, payload.encode())
        try:
            answer = json.loads(raw)["Response"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError(f"tencent: HTTP {status}, unexpected answer") from exc
        if "Error" in answer:
            error = answer["Error"]
            raise ProviderError(f"tencent: {error.get('Code')}: {error.get('Message')}")
        statuses = answer.get("SendStatusSet") or [{}]
        first = statuses[0]
        if first.get("Code") != "Ok":
            raise ProviderError(f"tencent: {first.get('Code')}: {first.get('Message')}")
        return SendResult(reference=str(first.get("SerialNo", ""))[:120])


def sms_provider() -> SmsProvider:
    """The configured provider: ``NOTIFICATIONS_SMS_PROVIDER`` (sandbox, aliyun, tencent or
    a dotted path to a class) with its credentials from the environment."""
    choice = getattr(settings, "NOTIFICATIONS_SMS_PROVIDER", "sandbox")
    options = getattr(settings, "NOTIFICATIONS_SMS_OPTIONS", {})
    if choice == "sandbox":
        return SandboxSmsProvider()
    if choice == "aliyun":
        return AliyunSmsProvider(**options)
    if choice == "tencent":
        return TencentSmsProvider(**options)
    return import_string(choice)(**options)
