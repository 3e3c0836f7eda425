"""The statement readers on realistic files: GBK and UTF-8 with a byte-order mark, tab-padded
Alipay values, backtick-prefixed WeChat values, summary lines; broken files name their line."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tessera.reconciliation import generators, parsers
from tessera.reconciliation.errors import StatementInvalid
from tessera.reconciliation.parsers import BEIJING, CHARGE, REFUND

DAY = date(2026, 11, 22)

ALIPAY_GBK = (
    "#支付宝业务明细查询\r\n"
    "#账号：[20881234567890120156]\r\n"
    "#起始日期：[2026年11月22日 00:00:00]   终止日期：[2026年11月23日 00:00:00]\r\n"
    "#-----------------------------------------业务明细列表----------------------------------------\r\n"
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
    "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
    "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
    "退款批次号/请求号,服务费（元）,分润（元）,备注\r\n"
    "2026112222001404470200346421\t,6f1c1e0a9d8b4c6e8f00112233445566\t,交易\t,周杰伦演唱会 北京站\t,"  # noqa: E501
    "2026-11-22 10:00:00\t,2026-11-22 10:00:05\t,\t,\t,\t,\t,zha***@163.com\t,760.00\t,760.00\t,"
    "0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,\t,-4.56\t,0.00\t,\r\n"
    "2026112222001404470200346421\t,6f1c1e0a9d8b4c6e8f00112233445566\t,退款\t,周杰伦演唱会 北京站\t,"  # noqa: E501
    "2026-11-22 15:00:00\t,2026-11-22 15:00:02\t,\t,\t,\t,\t,zha***@163.com\t,760.00\t,-380.00\t,"
    "0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,a1b2c3d4e5f60718293a4b5c6d7e8f90\t,2.28\t,0.00\t,\r\n"
    "#-----------------------------------------业务明细列表结束------------------------------------\r\n"
    "#交易合计：1笔，商家实收：760.00元，商家优惠：0.00元\r\n"
    "#退款合计：1笔，商家实收：-380.00元，商家优惠：0.00元\r\n"
    "#导出时间：[2026年11月23日 09:12:45]\r\n"
)

WECHAT = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n"
    "`2026-11-22 10:00:05,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200001234202611221234567890,"
    "`6f1c1e0a9d8b4c6e8f00112233445566,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`CMB_CREDIT,"
    "`CNY,`760.00,`0.00,`0,`0,`0.00,`0.00,`,`,`周杰伦演唱会 北京站,`,`4.56000,`0.60%,`760.00,`0.00,`\r\n"  # noqa: E501
    "`2026-11-22 15:00:00,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200001234202611221234567890,"
    "`6f1c1e0a9d8b4c6e8f00112233445566,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`REFUND,`CMB_CREDIT,"
    "`CNY,`0.00,`0.00,`50300001234202611221234567890,`a1b2c3d4e5f60718293a4b5c6d7e8f90,`380.00,"
    "`0.00,`ORIGINAL,`SUCCESS,`周杰伦演唱会 北京站,`,`-2.28000,`0.60%,`0.00,`380.00,`\r\n"
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n"
    "`2,`760.00,`380.00,`0.00,`2.28000,`760.00,`380.00\r\n"
)


def _check_rows(statement):
    charge, refund = statement.rows
    assert (charge.kind, charge.amount, charge.fee) == (CHARGE, Decimal("760.00"), Decimal("4.56"))
    assert charge.merchant_order_no == "6f1c1e0a9d8b4c6e8f00112233445566"
    assert charge.subject == "周杰伦演唱会 北京站"
    assert (refund.kind, refund.amount, refund.refund_no) == (
        REFUND,
        Decimal("380.00"),
        "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    )
    assert refund.occurred_at.astimezone(UTC) == datetime(2026, 11, 22, 7, 0, tzinfo=UTC) or (
        refund.occurred_at.astimezone(UTC) == datetime(2026, 11, 22, 7, 0, 2, tzinfo=UTC)
    )
    assert statement.charge_total == Decimal("760.00")
    assert statement.refund_total == Decimal("380.00")


def test_an_alipay_bill_in_gbk_with_tab_padding_and_summary_lines():
    statement = parsers.parse_alipay(ALIPAY_GBK.encode("gbk"))
    assert statement.encoding == "gbk"
    assert statement.account == "20881234567890120156"
    assert statement.period_start == datetime(2026, 11, 22, tzinfo=BEIJING)
    _check_rows(statement)
    assert statement.rows[0].trade_no == "2026112222001404470200346421"
    assert statement.rows[0].line_no == 6
    assert statement.rows[0].occurred_at == datetime(2026, 11, 22, 10, 0, 5, tzinfo=BEIJING)


def test_an_alipay_bill_in_utf8_with_a_byte_order_mark():
    statement = parsers.parse(b"\xef\xbb\xbf" + ALIPAY_GBK.encode("utf-8"))
    assert (statement.file_format, statement.encoding) == ("alipay", "utf-8-sig")
    _check_rows(statement)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_a_wechat_bill_with_backticks_and_a_summary(encoding):
    statement = parsers.parse(WECHAT.encode(encoding))
    assert statement.file_format == "wechat"
    _check_rows(statement)
    assert statement.rows[0].trade_no == "4200001234202611221234567890"
    assert statement.rows[1].provider_refund_no == "50300001234202611221234567890"


def test_the_writers_produce_what_the_readers_read():
    lines = [
        generators.StatementLine(
            kind=CHARGE,
            trade_no="T1",
            merchant_order_no="a" * 32,
            amount=Decimal("12.30"),
            fee=Decimal("0.07"),
            occurred_at=datetime(2026, 11, 22, 1, 0, tzinfo=UTC),
            order_amount=Decimal("12.30"),
            subject='票,"引号"',
        ),
        generators.StatementLine(
            kind=REFUND,
            trade_no="T1",
            merchant_order_no="a" * 32,
            amount=Decimal("2.30"),
            fee=Decimal("0.00"),
            occurred_at=datetime(2026, 11, 22, 2, 0, tzinfo=UTC),
            order_amount=Decimal("12.30"),
            refund_no="b" * 32,
            provider_refund_no="R1",
        ),
    ]
    for data in (
        generators.write_alipay(lines, day_on=DAY),
        generators.write_alipay(lines, day_on=DAY, encoding="utf-8"),
        generators.write_wechat(lines, day_on=DAY, bom=True),
    ):
        statement = parsers.parse(data)
        assert [(r.kind, r.amount, r.merchant_order_no, r.refund_no) for r in statement.rows] == [
            (CHARGE, Decimal("12.30"), "a" * 32, ""),
            (REFUND, Decimal("2.30"), "a" * 32, "b" * 32),
        ]
        assert statement.rows[0].subject == '票,"引号"'
        assert statement.rows[0].fee == Decimal("0.07")


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b"", 1, "empty"),
        (b"\x00\x01\x02binary", 1, "NUL"),
        (b"\xff\xfe\xfa\xfb\xfc", 1, "neither UTF-8 nor GBK"),
        (b"hello,world\r\n1,2\r\n", 1, "neither an Alipay nor a WeChat Pay"),
        (ALIPAY_GBK.replace("760.00\t,760.00", "七百\t,760.00").encode("gbk"), 6, "not an amount"),
        (ALIPAY_GBK.replace(",交易\t", ",转账\t").encode("gbk"), 6, "unknown business type"),
        (ALIPAY_GBK.replace("#交易合计：1笔", "#交易合计：2笔").encode("gbk"), 9, "summary says 2"),
        (ALIPAY_GBK.replace("2026-11-22 10:00:05", "yesterday").encode("gbk"), 6, "not a time"),
        (ALIPAY_GBK.replace("商户订单号,", "订单号,", 1).encode("gbk"), 5, "商户订单号"),
        (WECHAT.replace("`SUCCESS", "`PAYING").encode(), 2, "unknown trade state"),
        (WECHAT.replace("`2,`760.00", "`3,`760.00").encode(), 5, "summary says 3"),
        (
            WECHAT.replace("`380.00,`0.00,`ORIGINAL", "`999.00,`0.00,`ORIGINAL").encode(),
            5,
            "summary",
        ),
        (WECHAT.split("总交易单数")[0].encode(), 3, "summary"),
        (WECHAT.replace(",`CNY,`760.00", ",`CNY").encode(), 2, "columns where the header"),
        (
            WECHAT.replace("`6f1c1e0a9d8b4c6e8f00112233445566", "`", 1).encode(),
            2,
            "商户订单号 is empty",
        ),
        (
            WECHAT.replace("`760.00,`0.00,`0,", "`1e999,`0.00,`0,")
            .replace("`760.00,`0.00,`", "`1e999,`0.00,`")
            .encode(),
            2,
            "not an amount",
        ),
    ],
)
def test_a_broken_file_names_its_line(data, line, words):
    with pytest.raises(StatementInvalid) as caught:
        parsers.parse(data)
    assert caught.value.details["line"] == line, caught.value.message
    assert words in str(caught.value.message)
    assert str(caught.value.message).startswith(f"Line {line}:")
