"""The SMS adapters sign as the providers document: each signature is checked against the
worked example of the provider's own documentation, then a whole SendSms request is sent to a
recorded transport (no network) and its recorded answer read."""

import json
import urllib.parse
from datetime import UTC, datetime

import pytest

from tessera.notifications.errors import ProviderError
from tessera.notifications.providers import (
    AliyunSmsProvider,
    TencentSmsProvider,
    aliyun_signature,
    aliyun_string_to_sign,
    tc3_authorization,
    tc3_canonical_request,
    tc3_signature,
)

# Alibaba Cloud, "Signature mechanism" for RPC APIs (ECS DescribeRegions, AccessKeySecret
# "testsecret"): the documented StringToSign and signature.
ALIYUN_DOC_PARAMS = {
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "Format": "XML",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "SignatureVersion": "1.0",
    "Timestamp": "2016-02-23T12:46:24Z",
    "Version": "2014-05-26",
}
ALIYUN_DOC_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
    "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
    "%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z"
    "%26Version%3D2014-05-26"
)
ALIYUN_DOC_SIGNATURE = "OLeaidS1JvxuMvnyHOwuJ+uX5qY="

# Tencent Cloud API 3.0, "Signature v3" (CVM DescribeInstances, timestamp 1551113065,
# SecretKey "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"): the documented payload hash, hashed
# canonical request and signature.
TC3_DOC_PAYLOAD = (
    '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)
TC3_DOC_PAYLOAD_HASH = "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
TC3_DOC_CANONICAL_HASH = "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
TC3_DOC_SIGNATURE = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
TC3_DOC_SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
TC3_DOC_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"


def test_aliyun_signature_matches_the_documented_example():
    assert aliyun_string_to_sign("GET", ALIYUN_DOC_PARAMS) == ALIYUN_DOC_STRING_TO_SIGN
    assert aliyun_signature("GET", ALIYUN_DOC_PARAMS, "testsecret") == ALIYUN_DOC_SIGNATURE
    assert aliyun_signature("GET", ALIYUN_DOC_PARAMS, "othersecret") != ALIYUN_DOC_SIGNATURE


def test_tc3_signature_matches_the_documented_example():
    import hashlib

    canonical = tc3_canonical_request(
        host="cvm.tencentcloudapi.com",
        payload=TC3_DOC_PAYLOAD,
        content_type="application/json; charset=utf-8",
    )
    assert canonical.endswith(TC3_DOC_PAYLOAD_HASH)
    assert hashlib.sha256(canonical.encode()).hexdigest() == TC3_DOC_CANONICAL_HASH
    signature, scope = tc3_signature(
        secret_key=TC3_DOC_SECRET_KEY,
        service="cvm",
        timestamp=1551113065,
        canonical_request=canonical,
    )
    assert (signature, scope) == (TC3_DOC_SIGNATURE, "2019-02-25/cvm/tc3_request")
    assert tc3_authorization(
        secret_id=TC3_DOC_SECRET_ID,
        secret_key=TC3_DOC_SECRET_KEY,
        service="cvm",
        host="cvm.tencentcloudapi.com",
        payload=TC3_DOC_PAYLOAD,
        timestamp=1551113065,
    ) == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        f"tc3_request, SignedHeaders=content-type;host, Signature={TC3_DOC_SIGNATURE}"
    )


class Recorded:
    """A transport that keeps the request and answers with a recorded response."""

    def __init__(self, status: int, body: dict):
        self.status, self.body, self.requests = status, body, []

    def __call__(self, method, url, headers, body):
        self.requests.append((method, url, headers, body))
        return self.status, json.dumps(self.body).encode()


CLOCK = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_aliyun_send_sms_posts_a_signed_request_and_reads_the_biz_id():
    transport = Recorded(
        200,
        {
            "Message": "OK",
            "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
            "Code": "OK",
            "BizId": "900619746936498440^0",
        },
    )
    provider = AliyunSmsProvider(
        access_key_id="testid",
        access_key_secret="testsecret",
        sign_name="票仓",
        transport=transport,
        clock=lambda: CLOCK,
        nonce=lambda: "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    )
    result = provider.send(
        key="order_paid:7:sms",
        phone="13800000001",
        text="",
        template="SMS_1",
        params={"order": "T1"},
    )
    assert result.reference == "900619746936498440^0" and not result.already_sent
    [(method, url, _headers, body)] = transport.requests
    assert (method, url) == ("POST", "https://dysmsapi.aliyuncs.com/")
    sent = dict(urllib.parse.parse_qsl(body.decode()))
    assert sent["OutId"] == "order_paid:7:sms"
    assert sent["SignName"] == "票仓" and sent["TemplateParam"] == '{"order":"T1"}'
    assert sent["Timestamp"] == "2026-12-01T02:00:00Z"
    signature = sent.pop("Signature")
    assert signature == aliyun_signature("POST", sent, "testsecret")


def test_aliyun_refusal_becomes_a_provider_error():
    transport = Recorded(
        200,
        {
            "Message": "触发分钟级流控Permits:1",
            "RequestId": "x",
            "Code": "isv.BUSINESS_LIMIT_CONTROL",
        },
    )
    provider = AliyunSmsProvider(
        access_key_id="i", access_key_secret="s", sign_name="票仓", transport=transport
    )
    with pytest.raises(ProviderError, match=r"isv\.BUSINESS_LIMIT_CONTROL"):
        provider.send(key="k", phone="13800000001", text="", template="SMS_1", params={})


def test_tencent_send_sms_posts_a_signed_request_and_reads_the_serial_number():
    transport = Recorded(
        200,
        {
            "Response": {
                "SendStatusSet": [
                    {
                        "SerialNo": "5000:1045710669157053657849499619",
                        "PhoneNumber": "+8613800000001",
                        "Fee": 1,
                        "SessionContext": "order_paid:7:sms",
                        "Code": "Ok",
                        "Message": "send success",
                        "IsoCode": "CN",
                    }
                ],
                "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279",
            }
        },
    )
    provider = TencentSmsProvider(
        secret_id="AKIDexample",
        secret_key="secret",
        sdk_app_id="1400006666",
        sign_name="票仓",
        transport=transport,
        clock=lambda: CLOCK,
    )
    result = provider.send(
        key="order_paid:7:sms",
        phone="13800000001",
        text="",
        template="449739",
        params={"order": "T1"},
    )
    assert result.reference == "5000:1045710669157053657849499619"
    [(method, url, headers, body)] = transport.requests
    assert (method, url) == ("POST", "https://sms.tencentcloudapi.com/")
    payload = json.loads(body)
    assert payload["PhoneNumberSet"] == ["+8613800000001"]
    assert payload["SessionContext"] == "order_paid:7:sms"
    assert payload["TemplateParamSet"] == ["T1"]
    assert headers["X-TC-Action"] == "SendSms" and headers["X-TC-Version"] == "2021-01-11"
    assert headers["X-TC-Timestamp"] == str(int(CLOCK.timestamp()))
    assert headers["Authorization"] == tc3_authorization(
        secret_id="AKIDexample",
        secret_key="secret",
        service="sms",
        host="sms.tencentcloudapi.com",
        payload=body.decode(),
        timestamp=int(CLOCK.timestamp()),
    )


def test_tencent_errors_become_provider_errors():
    transport = Recorded(
        200,
        {
            "Response": {
                "Error": {
                    "Code": "AuthFailure.SignatureFailure",
                    "Message": "The provided credentials could not be validated.",
                },
                "RequestId": "x",
            }
        },
    )
    provider = TencentSmsProvider(
        secret_id="i", secret_key="s", sdk_app_id="1", sign_name="票仓", transport=transport
    )
    with pytest.raises(ProviderError, match=r"AuthFailure\.SignatureFailure"):
        provider.send(key="k", phone="+8613800000001", text="", template="1", params={})
