"""Local stand-ins for the Alipay and WeChat Pay servers.

Each fake checks the signature of every request it receives with the merchant's public key
(answering the gateway's own error when it is wrong), answers with a response signed by the
platform's private key, and writes notifications of the shape the real gateways send.
Nothing here touches the network.
"""

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import rsa

from tessera.payments.providers import alipay, wechat
from tessera.payments.providers.base import HttpResult

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass
class FakeAlipay:
    app_public_key: rsa.RSAPublicKey
    alipay_private_key: rsa.RSAPrivateKey
    app_id: str
    trades: dict[str, str] = field(default_factory=dict)  # out_trade_no → trade_status
    refunds: dict[str, str] = field(default_factory=dict)  # out_request_no → amount
    requests: list[dict] = field(default_factory=list)
    tamper_responses: bool = False

    def send(self, method, url, *, headers, body):
        assert method == "POST"
        assert url == alipay.GATEWAY
        assert headers["Content-Type"].startswith("application/x-www-form-urlencoded")
        params = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True))
        self.requests.append(params)
        api = params["method"]
        member = api.replace(".", "_") + "_response"
        if params.get("app_id") != self.app_id or not alipay.rsa2_verify(
            self.app_public_key, alipay.sign_content(params), params.get("sign", "")
        ):
            return self._answer(
                member,
                {
                    "code": "40002",
                    "msg": "Invalid Arguments",
                    "sub_code": "isv.invalid-signature",
                    "sub_msg": "验签出错",
                },
                signed=False,
            )
        biz = json.loads(params["biz_content"])
        if api == "alipay.trade.precreate":
            self.trades[biz["out_trade_no"]] = "WAIT_BUYER_PAY"
            answer = {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": biz["out_trade_no"],
                "qr_code": f"https://qr.alipay.com/bax0{biz['out_trade_no'][:8]}",
            }
        elif api == "alipay.trade.query":
            status = self.trades.get(biz["out_trade_no"])
            if status is None:
                answer = {
                    "code": "40004",
                    "msg": "Business Failed",
                    "sub_code": "ACQ.TRADE_NOT_EXIST",
                    "sub_msg": "交易不存在",
                }
            else:
                answer = {
                    "code": "10000",
                    "msg": "Success",
                    "trade_status": status,
                    "out_trade_no": biz["out_trade_no"],
                    "trade_no": "2026112222001",
                }
        elif api == "alipay.trade.refund":
            if self.trades.get(biz["out_trade_no"]) != "TRADE_SUCCESS":
                answer = {
                    "code": "40004",
                    "msg": "Business Failed",
                    "sub_code": "ACQ.TRADE_STATUS_ERROR",
                    "sub_msg": "交易状态不合法",
                }
            else:
                fund_change = "N" if biz["out_request_no"] in self.refunds else "Y"
                self.refunds[biz["out_request_no"]] = biz["refund_amount"]
                answer = {
                    "code": "10000",
                    "msg": "Success",
                    "trade_no": "2026112222001",
                    "out_trade_no": biz["out_trade_no"],
                    "fund_change": fund_change,
                    "refund_fee": biz["refund_amount"],
                }
        else:
            raise AssertionError(f"unexpected API {api}")
        return self._answer(member, answer)

    def _answer(self, member: str, answer: dict, *, signed: bool = True) -> HttpResult:
        text = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        document = f'{{"{member}":{text}'
        if signed:
            signature = alipay.rsa2_sign(self.alipay_private_key, text)
            if self.tamper_responses:
                text = text.replace("10000", "10000 ")
                document = f'{{"{member}":{text}'
            document += f',"sign":"{signature}"'
        return HttpResult(
            200, {"Content-Type": "text/html;charset=utf-8"}, (document + "}").encode()
        )

    def notification(
        self,
        *,
        out_trade_no: str,
        total_amount: str = "380.00",
        trade_status: str = "TRADE_SUCCESS",
        notify_time: str = "2026-11-22 20:49:52",
        key: rsa.RSAPrivateKey | None = None,
        **overrides,
    ) -> bytes:
        """An asynchronous notification as Alipay posts it (form-encoded, RSA2-signed)."""
        params = {
            "gmt_create": "2026-11-22 20:49:31",
            "charset": "utf-8",
            "seller_email": "box-office@example.com",
            "subject": "演出 T261122-K7M3QX",
            "buyer_id": "2088102177846880",
            "invoice_amount": total_amount,
            "notify_id": "2026112200222204952048120508537331",
            "fund_bill_list": json.dumps(
                [{"amount": total_amount, "fundChannel": "ALIPAYACCOUNT"}]
            ),
            "notify_type": "trade_status_sync",
            "trade_status": trade_status,
            "receipt_amount": total_amount,
            "buyer_pay_amount": total_amount,
            "app_id": self.app_id,
            "seller_id": "2088102177649450",
            "gmt_payment": "2026-11-22 20:49:50",
            "notify_time": notify_time,
            "version": "1.0",
            "out_trade_no": out_trade_no,
            "total_amount": total_amount,
            "trade_no": "2026112222001446880500580401",
            "auth_app_id": self.app_id,
            "buyer_logon_id": "csq***@sandbox.com",
            "point_amount": "0.00",
        }
        params.update(overrides)
        content = alipay.sign_content(params, exclude=("sign", "sign_type"))
        params["sign"] = alipay.rsa2_sign(key or self.alipay_private_key, content)
        params["sign_type"] = "RSA2"
        return urlencode(params).encode("ascii")


@dataclass
class FakeWeChatPay:
    merchant_public_key: rsa.RSAPublicKey
    platform_private_key: rsa.RSAPrivateKey
    platform_serial: str
    mchid: str
    apiv3_key: bytes
    clock: object
    trades: dict[str, str] = field(default_factory=dict)  # out_trade_no → trade_state
    refunds: dict[str, dict] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    sign_responses: bool = True

    def send(self, method, url, *, headers, body):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == wechat.BASE_URL
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        text = body.decode("utf-8") if body else ""
        auth = wechat.parse_authorization(headers.get("Authorization", ""))
        self.requests.append({"method": method, "path": path, "body": text, "auth": auth})
        message = wechat.request_message(
            method, path, auth.get("timestamp", ""), auth.get("nonce_str", ""), text
        )
        if auth.get("mchid") != self.mchid or not wechat.rsa_verify(
            self.merchant_public_key, message, auth.get("signature", "")
        ):
            return self._answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})
        payload = json.loads(text) if text else {}
        if method == "POST" and path == "/v3/pay/transactions/native":
            self.trades[payload["out_trade_no"]] = "NOTPAY"
            return self._answer(200, {"code_url": "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"})
        if method == "GET" and path.startswith("/v3/pay/transactions/out-trade-no/"):
            number = parts.path.rsplit("/", 1)[1]
            if number not in self.trades:
                return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
            return self._answer(
                200,
                {"mchid": self.mchid, "out_trade_no": number, "trade_state": self.trades[number]},
            )
        if method == "POST" and path == "/v3/refund/domestic/refunds":
            if self.trades.get(payload["out_trade_no"]) not in ("SUCCESS", "REFUND"):
                return self._answer(403, {"code": "TRADE_STATE_ERROR", "message": "订单状态错误"})
            self.refunds.setdefault(payload["out_refund_no"], payload)
            self.trades[payload["out_trade_no"]] = "REFUND"
            return self._answer(
                200,
                {
                    "refund_id": "50000000382019052709732678859",
                    "out_refund_no": payload["out_refund_no"],
                    "status": "SUCCESS",
                },
            )
        raise AssertionError(f"unexpected request {method} {path}")

    def signed_headers(
        self,
        text: str,
        *,
        timestamp: int | None = None,
        key: rsa.RSAPrivateKey | None = None,
        serial: str | None = None,
    ) -> dict:
        timestamp = int(self.clock().timestamp()) if timestamp is None else timestamp
        nonce = secrets.token_hex(16)
        signature = wechat.rsa_sign(
            key or self.platform_private_key, wechat.response_message(str(timestamp), nonce, text)
        )
        return {
            "Wechatpay-Timestamp": str(timestamp),
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature,
            "Wechatpay-Serial": serial or self.platform_serial,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    def _answer(self, status: int, payload: dict) -> HttpResult:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        headers = {"Content-Type": "application/json"}
        if self.sign_responses:
            headers |= self.signed_headers(text)
        return HttpResult(status, headers, text.encode("utf-8"))

    def transaction(
        self,
        *,
        out_trade_no: str,
        total: int = 38000,
        trade_state: str = "SUCCESS",
        mchid: str | None = None,
        success_time: str = "2026-11-22T20:49:50+08:00",
    ) -> dict:
        return {
            "mchid": mchid or self.mchid,
            "appid": "wxd678efh567hg6787",
            "out_trade_no": out_trade_no,
            "transaction_id": "4200000000202611220000000001",
            "trade_type": "NATIVE",
            "trade_state": trade_state,
            "trade_state_desc": "支付成功",
            "bank_type": "OTHERS",
            "attach": "",
            "success_time": success_time,
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {
                "total": total,
                "payer_total": total,
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }

    def notification(
        self,
        transaction: dict,
        *,
        apiv3_key: bytes | None = None,
        event_type: str = "TRANSACTION.SUCCESS",
    ) -> bytes:
        """The body of a payment notification: the transaction encrypted under the APIv3 key."""
        nonce = secrets.token_hex(6)
        ciphertext = wechat.encrypt_resource(
            apiv3_key or self.apiv3_key,
            nonce=nonce,
            associated_data="transaction",
            plaintext=json.dumps(transaction, ensure_ascii=False).encode("utf-8"),
        )
        created = datetime.fromtimestamp(int(self.clock().timestamp()), BEIJING)
        return json.dumps(
            {
                "id": "EV-2018022511223320873",
                "create_time": created.isoformat(),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": "支付成功",
                "resource": {
                    "original_type": "transaction",
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": ciphertext,
                    "associated_data": "transaction",
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        ).encode("utf-8")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
