"""Statement files in the providers' formats, written from records: from our payments and
refunds (what a provider's statement of the day should say), or from the sandbox gateway's
trades (the sandbox's own statement, so the demo can reconcile a day). The writers produce
exactly what ``parsers`` reads: Alipay's 业务明细 (GBK by default, tab-padded values, ``#``
comment and summary lines) and WeChat Pay's 交易账单 (UTF-8, backtick-prefixed values, a
summary section)."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from tessera.core.money import round_money
from tessera.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from tessera.reconciliation.parsers import BEIJING, CHARGE, REFUND
from tessera.sandbox.models import SandboxTrade, SandboxTradeStatus

DEFAULT_FEE_RATES = {"alipay": "0.006", "wechat": "0.006", "sandbox": "0"}

ALIPAY_HEADER = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
]
WECHAT_HEADER = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
]
WECHAT_SUMMARY = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
]


@dataclass(frozen=True)
class StatementLine:
    kind: str  # CHARGE or REFUND
    trade_no: str
    merchant_order_no: str
    amount: Decimal  # positive
    fee: Decimal  # positive
    occurred_at: datetime
    order_amount: Decimal  # the charge's amount (a refund's original payment)
    refund_no: str = ""
    provider_refund_no: str = ""
    subject: str = ""


def fee_rate(provider: str) -> Decimal | None:
    """The contract's fee rate at ``provider`` (``settings.RECONCILIATION_FEE_RATES``);
    None when none is agreed (fees are then not checked)."""
    rates = getattr(settings, "RECONCILIATION_FEE_RATES", DEFAULT_FEE_RATES)
    value = rates.get(provider)
    return None if value is None else Decimal(str(value))


def expected_fee(provider: str, amount: Decimal) -> Decimal:
    rate = fee_rate(provider) or Decimal(0)
    return round_money(amount * rate, "CNY")


def day_window(day_on: date) -> tuple[datetime, datetime]:
    """The Asia/Shanghai day as [start, end) aware datetimes."""
    start = datetime(day_on.year, day_on.month, day_on.day, tzinfo=BEIJING)
    return start, start + timedelta(days=1)


def _trade_no(payment: Payment) -> str:
    return payment.provider_reference or f"{payment.provider.upper()}{payment.id.hex[:20]}"


def lines_from_records(*, provider: str, day_on: date) -> list[StatementLine]:
    """What ``provider``'s statement of ``day_on`` should hold, from our payments (succeeded
    that day, at the amount the provider took) and refunds (succeeded that day)."""
    start, end = day_window(day_on)
    lines: list[StatementLine] = []
    payments = (
        Payment.objects.filter(
            provider=provider,
            status__in=(PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED),
            completed_at__gte=start,
            completed_at__lt=end,
        )
        .select_related("order")
        .order_by("completed_at", "id")
    )
    for payment in payments:
        taken = payment.amount if payment.received_amount is None else payment.received_amount
        lines.append(
            StatementLine(
                kind=CHARGE,
                trade_no=_trade_no(payment),
                merchant_order_no=payment.id.hex,
                amount=taken,
                fee=expected_fee(provider, taken),
                occurred_at=payment.completed_at,
                order_amount=taken,
                subject=payment.order.number,
            )
        )
    refunds = (
        Refund.objects.filter(
            payment__provider=provider,
            status=RefundStatus.SUCCEEDED,
            completed_at__gte=start,
            completed_at__lt=end,
        )
        .select_related("payment__order")
        .order_by("completed_at", "id")
    )
    for refund in refunds:
        payment = refund.payment
        lines.append(
            StatementLine(
                kind=REFUND,
                trade_no=_trade_no(payment),
                merchant_order_no=payment.id.hex,
                amount=refund.amount,
                fee=Decimal("0.00"),
                occurred_at=refund.completed_at,
                order_amount=payment.amount,
                refund_no=refund.pk.hex,
                provider_refund_no=refund.provider_reference[:80],
                subject=payment.order.number,
            )
        )
    return sorted(lines, key=lambda line: (line.occurred_at, line.kind, line.merchant_order_no))


def lines_from_sandbox(*, day_on: date) -> list[StatementLine]:
    """The sandbox gateway's statement of ``day_on``: its trades paid that day, and the
    refunds it made. The gateway keeps no refund times, so a refund is dated by the
    merchant's own record of it when there is one, else at the trade's decision."""
    start, end = day_window(day_on)
    lines: list[StatementLine] = []
    paid = SandboxTrade.objects.filter(status=SandboxTradeStatus.PAID)
    for trade in paid.filter(decided_at__gte=start, decided_at__lt=end).order_by("decided_at"):
        amount = Decimal(trade.amount_minor) / 100
        lines.append(
            StatementLine(
                kind=CHARGE,
                trade_no=trade.reference,
                merchant_order_no=trade.payment_id.hex,
                amount=amount,
                fee=expected_fee("sandbox", amount),
                occurred_at=trade.decided_at,
                order_amount=amount,
                subject=trade.order_number,
            )
        )
    refunded = paid.exclude(refunds={}).filter(decided_at__lt=end)
    numbers = [no for trade in refunded for no in trade.refunds]
    ids = []
    for number in numbers:
        try:
            ids.append(uuid.UUID(number))
        except ValueError:
            continue
    ours = dict(
        Refund.objects.filter(pk__in=ids)
        .filter(~Q(completed_at=None))
        .values_list("pk", "completed_at")
    )
    for trade in refunded:
        for number, minor in trade.refunds.items():
            try:
                at = ours.get(uuid.UUID(number), trade.decided_at)
            except ValueError:
                at = trade.decided_at
            if not start <= at < end:
                continue
            lines.append(
                StatementLine(
                    kind=REFUND,
                    trade_no=trade.reference,
                    merchant_order_no=trade.payment_id.hex,
                    amount=Decimal(int(minor)) / 100,
                    fee=Decimal("0.00"),
                    occurred_at=at,
                    order_amount=Decimal(trade.amount_minor) / 100,
                    refund_no=number,
                    provider_refund_no=f"SBXR-{number}"[:80],
                    subject=trade.order_number,
                )
            )
    return sorted(lines, key=lambda line: (line.occurred_at, line.kind, line.merchant_order_no))


def _local(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _cn_date(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y年%m月%d日 %H:%M:%S")


def _amount(value: Decimal) -> str:
    return f"{round_money(value, 'CNY'):.2f}"


def write_alipay(
    lines: list[StatementLine],
    *,
    day_on: date,
    account: str = "20881234567890120156",
    encoding: str = "gbk",
    exported_at: datetime | None = None,
) -> bytes:
    """An Alipay 业务明细 trade bill of ``day_on`` holding ``lines``."""
    start, end = day_window(day_on)
    out = io.StringIO()
    rule = "-" * 41
    out.write("#支付宝业务明细查询\r\n")
    out.write(f"#账号：[{account}]\r\n")
    out.write(f"#起始日期：[{_cn_date(start)}]   终止日期：[{_cn_date(end)}]\r\n")
    out.write(f"#{rule}业务明细列表{rule}\r\n")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ALIPAY_HEADER)
    received = {CHARGE: Decimal(0), REFUND: Decimal(0)}
    counts = {CHARGE: 0, REFUND: 0}
    for line in lines:
        merchant_received = line.amount if line.kind == CHARGE else -line.amount
        received[line.kind] += merchant_received
        counts[line.kind] += 1
        fee = -line.fee if line.kind == CHARGE else line.fee
        row = {
            "支付宝交易号": line.trade_no,
            "商户订单号": line.merchant_order_no,
            "业务类型": "交易" if line.kind == CHARGE else "退款",
            "商品名称": line.subject,
            "创建时间": _local(line.occurred_at),
            "完成时间": _local(line.occurred_at),
            "对方账户": "buyer***@example.com",
            "订单金额（元）": _amount(line.order_amount),
            "商家实收（元）": _amount(merchant_received),
            "支付宝红包（元）": "0.00",
            "集分宝（元）": "0.00",
            "支付宝优惠（元）": "0.00",
            "商家优惠（元）": "0.00",
            "券核销金额（元）": "0.00",
            "商家红包消费金额（元）": "0.00",
            "卡消费金额（元）": "0.00",
            "退款批次号/请求号": line.refund_no,
            "服务费（元）": _amount(fee),
            "分润（元）": "0.00",
        }
        # Alipay pads every value with a tab so spreadsheets keep long numbers as text.
        writer.writerow([f"{row.get(name, '')}\t" for name in ALIPAY_HEADER])
    out.write(f"#{rule}业务明细列表结束{rule}\r\n")
    out.write(
        f"#交易合计：{counts[CHARGE]}笔，商家实收：{_amount(received[CHARGE])}元，商家优惠：0.00元\r\n"
    )
    out.write(
        f"#退款合计：{counts[REFUND]}笔，商家实收：{_amount(received[REFUND])}元，商家优惠：0.00元\r\n"
    )
    out.write(f"#导出时间：[{_cn_date(exported_at or end + timedelta(hours=9))}]\r\n")
    return out.getvalue().encode(encoding)


def write_wechat(
    lines: list[StatementLine],
    *,
    day_on: date,
    mchid: str = "1900000109",
    appid: str = "wx2421b1c4370ec43b",
    bom: bool = False,
) -> bytes:
    """A WeChat Pay 交易账单 (bill type ALL) of ``day_on`` holding ``lines``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(WECHAT_HEADER)
    rate = fee_rate("wechat") or Decimal(0)
    settled = refunded = fees = ordered = asked = Decimal(0)
    for line in lines:
        charge = line.kind == CHARGE
        fee = line.fee if charge else -line.fee
        row = {
            "交易时间": _local(line.occurred_at),
            "公众账号ID": appid,
            "商户号": mchid,
            "特约商户号": "0",
            "设备号": "",
            "微信订单号": line.trade_no,
            "商户订单号": line.merchant_order_no,
            "用户标识": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            "交易类型": "NATIVE",
            "交易状态": "SUCCESS" if charge else "REFUND",
            "付款银行": "OTHERS",
            "货币种类": "CNY",
            "应结订单金额": _amount(line.amount if charge else Decimal(0)),
            "代金券金额": "0.00",
            "微信退款单号": "0" if charge else line.provider_refund_no,
            "商户退款单号": "0" if charge else line.refund_no,
            "退款金额": _amount(Decimal(0) if charge else line.amount),
            "充值券退款金额": "0.00",
            "退款类型": "" if charge else "ORIGINAL",
            "退款状态": "" if charge else "SUCCESS",
            "商品名称": line.subject,
            "商户数据包": "",
            "手续费": f"{fee:.5f}",
            "费率": f"{rate * 100:.2f}%",
            "订单金额": _amount(line.amount if charge else Decimal(0)),
            "申请退款金额": _amount(Decimal(0) if charge else line.amount),
            "费率备注": "",
        }
        if charge:
            settled += line.amount
            ordered += line.amount
        else:
            refunded += line.amount
            asked += line.amount
        fees += fee
        writer.writerow([f"`{row[name]}" for name in WECHAT_HEADER])
    writer.writerow(WECHAT_SUMMARY)
    writer.writerow(
        [
            f"`{len(lines)}",
            f"`{_amount(settled)}",
            f"`{_amount(refunded)}",
            "`0.00",
            f"`{fees:.5f}",
            f"`{_amount(ordered)}",
            f"`{_amount(asked)}",
        ]
    )
    text = out.getvalue()
    return ("\ufeff" + text).encode("utf-8") if bom else text.encode("utf-8")


def write(file_format: str, lines: list[StatementLine], *, day_on: date) -> bytes:
    if file_format == "alipay":
        return write_alipay(lines, day_on=day_on)
    return write_wechat(lines, day_on=day_on)


def statement_file(
    *, provider: str, day_on: date, file_format: str | None = None, source: str = "records"
) -> bytes:
    """The statement file of ``provider`` for ``day_on`` in ``file_format`` (by default the
    provider's own; the sandbox writes Alipay's), from our records or, for the sandbox, from
    the gateway's trades (``source="sandbox"``)."""
    file_format = file_format or ("wechat" if provider == "wechat" else "alipay")
    if source == "sandbox":
        lines = lines_from_sandbox(day_on=day_on)
    else:
        lines = lines_from_records(provider=provider, day_on=day_on)
    return write(file_format, lines, day_on=day_on)


__all__ = [
    "StatementLine",
    "day_window",
    "expected_fee",
    "lines_from_records",
    "lines_from_sandbox",
    "statement_file",
    "write_alipay",
    "write_wechat",
]
