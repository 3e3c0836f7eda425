"""Readers of the providers' daily statement files (pure functions: bytes in, rows out).

Alipay's trade bill (``<pid>_<yyyymmdd>_业务明细.csv``, usually GBK): comment lines starting
with ``#`` (title, account, period, a dashed "业务明细列表" rule), one header line, the detail
lines (values often padded with a tab so spreadsheets keep long numbers as text), a dashed
"业务明细列表结束" rule and the summary lines ``#交易合计：N笔，商家实收：X元…`` and
``#退款合计：…``, then ``#导出时间：[…]``. Columns are found by name (支付宝交易号, 商户订单号,
业务类型 交易/退款, 完成时间, 订单金额（元）, 商家实收（元）, 退款批次号/请求号, 服务费（元）…).

WeChat Pay's trade bill (交易账单, bill type ALL, UTF-8): one header line (交易时间, 公众账号ID,
商户号, …, 微信订单号, 商户订单号, …, 交易状态 SUCCESS/REFUND, …, 微信退款单号, 商户退款单号,
退款金额, …, 手续费, 费率, 订单金额, 申请退款金额, 费率备注), detail lines whose every value
is prefixed with a backtick, then a summary header (总交易单数, 应结订单总金额, 退款总金额, …)
and its one line of values.

Both readers accept UTF-8 (with or without a byte-order mark) and GBK/GB18030, check the
summary against the rows, and raise ``StatementInvalid`` naming the first bad line; a file
that raises stores nothing.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from tessera.reconciliation.errors import StatementInvalid

BEIJING = ZoneInfo("Asia/Shanghai")
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_AMOUNT = Decimal("9999999999.99")
CHARGE = "charge"
REFUND = "refund"


@dataclass(frozen=True)
class ParsedRow:
    line_no: int
    kind: str  # CHARGE or REFUND
    trade_no: str
    merchant_order_no: str
    refund_no: str
    provider_refund_no: str
    amount: Decimal  # positive: what was charged, or what went back
    fee: Decimal  # positive: the fee charged, or the fee returned
    occurred_at: datetime
    subject: str = ""
    currency: str = "CNY"


@dataclass
class ParsedStatement:
    file_format: str
    encoding: str
    text: str
    rows: list[ParsedRow] = field(default_factory=list)
    account: str = ""
    period_start: datetime | None = None

    @property
    def charge_total(self) -> Decimal:
        return sum((r.amount for r in self.rows if r.kind == CHARGE), Decimal("0.00"))

    @property
    def refund_total(self) -> Decimal:
        return sum((r.amount for r in self.rows if r.kind == REFUND), Decimal("0.00"))

    @property
    def fee_total(self) -> Decimal:
        return sum((r.fee if r.kind == CHARGE else -r.fee for r in self.rows), Decimal("0.00"))


def _fail(line: int, problem: str) -> StatementInvalid:
    return StatementInvalid(
        _("Line %(line)d: %(problem)s") % {"line": line, "problem": problem},
        details={"line": line, "problem": problem},
    )


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and its encoding: UTF-8 (a byte-order mark is dropped), else GB18030
    (a superset of GBK). Raises StatementInvalid for an empty, oversized or binary file."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise _fail(1, _("the file is empty."))
    if len(data) > MAX_BYTES:
        raise _fail(1, _("the file is larger than 20 MB."))
    if data.startswith(b"\xef\xbb\xbf"):
        data, encoding = data[3:], "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        try:
            text, encoding = bytes(data).decode("gb18030"), "gbk"
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise _fail(line, _("the file is neither UTF-8 nor GBK text.")) from exc
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise _fail(line, _("the file holds binary data (a NUL character)."))
    return text, encoding


def detect_format(text: str) -> str | None:
    """ "alipay" or "wechat" from the header's column names, None when neither."""
    head = text[:4000]
    if "支付宝交易号" in head:
        return "alipay"
    if "微信订单号" in head:
        return "wechat"
    return None


def _money(value: str, line: int, column: str) -> Decimal:
    text = value.strip().replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise _fail(
            line,
            _("“%(value)s” in %(column)s is not an amount.")
            % {"value": value[:40], "column": column},
        )
    return amount


def _cents(amount: Decimal) -> Decimal:
    from tessera.core.money import round_money

    return round_money(amount, "CNY")


def _time(value: str, line: int, column: str) -> datetime:
    text = value.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=BEIJING)
        except ValueError:
            continue
    raise _fail(
        line,
        _("“%(value)s” in %(column)s is not a time.") % {"value": value[:40], "column": column},
    )


def _reference(value: str, line: int, column: str, *, required: bool) -> str:
    text = value.strip()
    if required and not text:
        raise _fail(line, _("%(column)s is empty.") % {"column": column})
    if len(text) > 80 or any(ord(c) < 32 for c in text):
        raise _fail(line, _("%(column)s is not a valid number.") % {"column": column})
    return text


def _split(line_text: str, line: int) -> list[str]:
    try:
        return next(csv.reader([line_text]))
    except (csv.Error, StopIteration) as exc:
        raise _fail(line, _("this is not a CSV line.")) from exc


def _columns(header: list[str], wanted: dict[str, tuple[str, ...]], line: int) -> dict[str, int]:
    names = [_normalise_name(h) for h in header]
    found: dict[str, int] = {}
    for key, aliases in wanted.items():
        for alias in aliases:
            if _normalise_name(alias) in names:
                found[key] = names.index(_normalise_name(alias))
                break
    return found


def _normalise_name(name: str) -> str:
    return name.strip().strip("`").strip().replace("(", "（").replace(")", "）").replace(" ", "")


def _require(found: dict[str, int], required: dict[str, str], line: int) -> None:
    missing = [label for key, label in required.items() if key not in found]
    if missing:
        raise _fail(
            line, _("the header lacks the columns %(columns)s.") % {"columns": "、".join(missing)}
        )


# -- Alipay ---------------------------------------------------------------------------------------

_ALIPAY_COLUMNS = {
    "trade_no": ("支付宝交易号",),
    "merchant_order_no": ("商户订单号",),
    "type": ("业务类型",),
    "subject": ("商品名称",),
    "finished_at": ("完成时间",),
    "created_at": ("创建时间",),
    "order_amount": ("订单金额（元）",),
    "received": ("商家实收（元）",),
    "refund_no": ("退款批次号/请求号",),
    "fee": ("服务费（元）",),
}
_ALIPAY_REQUIRED = {
    "trade_no": "支付宝交易号",
    "merchant_order_no": "商户订单号",
    "type": "业务类型",
    "finished_at": "完成时间",
    "order_amount": "订单金额（元）",
    "received": "商家实收（元）",
    "refund_no": "退款批次号/请求号",
    "fee": "服务费（元）",
}
_ALIPAY_TYPES = {"交易": CHARGE, "退款": REFUND}
_ALIPAY_TOTAL = re.compile(
    r"^#\s*(交易|退款)合计[：:]\s*(\d+)\s*笔\s*[，,]\s*商家实收[：:]\s*(-?[\d,]+(?:\.\d+)?)\s*元"
)
_ALIPAY_ACCOUNT = re.compile(r"^#\s*账号[：:]\s*\[?([^\]\s]*)\]?")
_ALIPAY_START = re.compile(r"起始日期[：:]\s*\[?(\d{4})年(\d{2})月(\d{2})日")


def parse_alipay(data: bytes) -> ParsedStatement:
    """Read an Alipay 业务明细 trade bill. Raises StatementInvalid naming the bad line."""
    text, encoding = decode(data)
    statement = ParsedStatement(file_format="alipay", encoding=encoding, text=text)
    lines = text.splitlines()
    header_at = None
    for index, raw in enumerate(lines):
        stripped = raw.strip()
        if stripped.startswith("#"):
            if match := _ALIPAY_ACCOUNT.match(stripped):
                statement.account = match.group(1)[:40]
            if match := _ALIPAY_START.search(stripped):
                year, month, day = (int(g) for g in match.groups())
                try:
                    statement.period_start = datetime(year, month, day, tzinfo=BEIJING)
                except ValueError as exc:
                    raise _fail(index + 1, _("the period's start is not a date.")) from exc
            continue
        if stripped:
            header_at = index
            break
    if header_at is None:
        raise _fail(len(lines) or 1, _("no header line (支付宝交易号, 商户订单号, …) was found."))
    header = _split(lines[header_at], header_at + 1)
    columns = _columns(header, _ALIPAY_COLUMNS, header_at + 1)
    _require(columns, _ALIPAY_REQUIRED, header_at + 1)
    received_by_kind = {CHARGE: Decimal(0), REFUND: Decimal(0)}
    totals: dict[str, tuple[int, Decimal, int]] = {}
    ended = False
    for index in range(header_at + 1, len(lines)):
        line_no = index + 1
        stripped = lines[index].strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            ended = True
            if match := _ALIPAY_TOTAL.match(stripped):
                kind = CHARGE if match.group(1) == "交易" else REFUND
                totals[kind] = (
                    int(match.group(2)),
                    _money(match.group(3), line_no, match.group(1) + "合计"),
                    line_no,
                )
            continue
        if ended:
            raise _fail(line_no, _("a detail line after the end of the list."))
        if len(statement.rows) >= MAX_ROWS:
            raise _fail(line_no, _("the file has more than 200,000 lines."))
        values = _split(lines[index], line_no)
        if len(values) < len(header):
            raise _fail(
                line_no,
                _("%(found)d columns where the header has %(wanted)d.")
                % {"found": len(values), "wanted": len(header)},
            )
        cell = {key: values[i].strip() for key, i in columns.items()}
        kind = _ALIPAY_TYPES.get(cell["type"])
        if kind is None:
            raise _fail(
                line_no, _("unknown business type “%(type)s”.") % {"type": cell["type"][:20]}
            )
        received = _money(cell["received"], line_no, "商家实收（元）")
        fee = abs(_money(cell["fee"], line_no, "服务费（元）"))
        if kind == CHARGE:
            amount = _money(cell["order_amount"], line_no, "订单金额（元）")
        else:
            amount = abs(received)
        if amount <= 0:
            raise _fail(line_no, _("the amount must be above zero."))
        received_by_kind[kind] += received
        statement.rows.append(
            ParsedRow(
                line_no=line_no,
                kind=kind,
                trade_no=_reference(cell["trade_no"], line_no, "支付宝交易号", required=True),
                merchant_order_no=_reference(
                    cell["merchant_order_no"], line_no, "商户订单号", required=True
                ),
                refund_no=_reference(
                    cell["refund_no"], line_no, "退款批次号/请求号", required=kind == REFUND
                )
                if kind == REFUND
                else "",
                provider_refund_no="",
                amount=_cents(amount),
                fee=_cents(fee),
                occurred_at=_time(cell["finished_at"], line_no, "完成时间"),
                subject=cell.get("subject", "")[:200],
            )
        )
    for kind, (count, total, line_no) in totals.items():
        rows = [r for r in statement.rows if r.kind == kind]
        if count != len(rows) or _cents(total) != _cents(received_by_kind[kind]):
            raise _fail(
                line_no,
                _(
                    "the summary says %(count)d lines of %(total)s, the lines add up to "
                    "%(found)d of %(sum)s."
                )
                % {
                    "count": count,
                    "total": _cents(total),
                    "found": len(rows),
                    "sum": _cents(received_by_kind[kind]),
                },
            )
    return statement


# -- WeChat Pay -------------------------------------------------------------------------------

_WECHAT_COLUMNS = {
    "at": ("交易时间",),
    "trade_no": ("微信订单号",),
    "merchant_order_no": ("商户订单号",),
    "state": ("交易状态",),
    "currency": ("货币种类",),
    "settled": ("应结订单金额", "总金额"),
    "provider_refund_no": ("微信退款单号",),
    "refund_no": ("商户退款单号",),
    "refund_amount": ("退款金额",),
    "subject": ("商品名称",),
    "fee": ("手续费",),
    "order_amount": ("订单金额",),
}
_WECHAT_REQUIRED = {
    "at": "交易时间",
    "trade_no": "微信订单号",
    "merchant_order_no": "商户订单号",
    "state": "交易状态",
    "refund_no": "商户退款单号",
    "refund_amount": "退款金额",
    "fee": "手续费",
}
_WECHAT_STATES = {"SUCCESS": CHARGE, "REFUND": REFUND}


def _unquote(value: str) -> str:
    value = value.strip()
    return value[1:] if value.startswith("`") else value


def parse_wechat(data: bytes) -> ParsedStatement:
    """Read a WeChat Pay 交易账单 (bill type ALL). Raises StatementInvalid naming the bad line."""
    text, encoding = decode(data)
    statement = ParsedStatement(file_format="wechat", encoding=encoding, text=text)
    lines = text.splitlines()
    header_at = next((i for i, raw in enumerate(lines) if raw.strip()), None)
    if header_at is None or "交易时间" not in lines[header_at]:
        raise _fail((header_at or 0) + 1, _("no header line (交易时间, 公众账号ID, …) was found."))
    header = _split(lines[header_at], header_at + 1)
    columns = _columns(header, _WECHAT_COLUMNS, header_at + 1)
    _require(columns, _WECHAT_REQUIRED, header_at + 1)
    summary: tuple[list[str], list[str], int] | None = None
    index = header_at + 1
    while index < len(lines):
        line_no = index + 1
        raw = lines[index]
        index += 1
        if not raw.strip():
            continue
        if raw.strip().startswith("总交易单数"):
            names = _split(raw, line_no)
            while index < len(lines) and not lines[index].strip():
                index += 1
            if index >= len(lines):
                raise _fail(line_no, _("the summary header has no line of figures after it."))
            values = [_unquote(v) for v in _split(lines[index], index + 1)]
            summary = ([_normalise_name(n) for n in names], values, index + 1)
            index += 1
            for rest in range(index, len(lines)):
                if lines[rest].strip():
                    raise _fail(rest + 1, _("a line after the summary."))
            break
        if len(statement.rows) >= MAX_ROWS:
            raise _fail(line_no, _("the file has more than 200,000 lines."))
        values = _split(raw, line_no)
        if len(values) < len(header):
            raise _fail(
                line_no,
                _("%(found)d columns where the header has %(wanted)d.")
                % {"found": len(values), "wanted": len(header)},
            )
        cell = {key: _unquote(values[i]) for key, i in columns.items()}
        kind = _WECHAT_STATES.get(cell["state"].upper())
        if kind is None:
            raise _fail(
                line_no, _("unknown trade state “%(state)s”.") % {"state": cell["state"][:20]}
            )
        if kind == CHARGE:
            source = "order_amount" if cell.get("order_amount", "") else "settled"
            if source not in cell:
                raise _fail(line_no, _("the line has no order amount."))
            amount = _money(
                cell[source], line_no, "订单金额" if source == "order_amount" else "应结订单金额"
            )
        else:
            amount = _money(cell["refund_amount"], line_no, "退款金额")
        amount = abs(amount)
        if amount <= 0:
            raise _fail(line_no, _("the amount must be above zero."))
        currency = (cell.get("currency") or "CNY").upper()
        if len(currency) != 3 or not currency.isalpha():
            raise _fail(line_no, _("“%(value)s” is not a currency.") % {"value": currency[:10]})
        statement.rows.append(
            ParsedRow(
                line_no=line_no,
                kind=kind,
                trade_no=_reference(cell["trade_no"], line_no, "微信订单号", required=True),
                merchant_order_no=_reference(
                    cell["merchant_order_no"], line_no, "商户订单号", required=True
                ),
                refund_no=_reference(cell["refund_no"], line_no, "商户退款单号", required=True)
                if kind == REFUND
                else "",
                provider_refund_no=_reference(
                    cell.get("provider_refund_no", ""), line_no, "微信退款单号", required=False
                )
                if kind == REFUND
                else "",
                amount=_cents(amount),
                fee=_cents(abs(_money(cell["fee"], line_no, "手续费"))),
                occurred_at=_time(cell["at"], line_no, "交易时间"),
                subject=cell.get("subject", "")[:200],
                currency=currency,
            )
        )
    if summary is None:
        raise _fail(len(lines), _("the summary (总交易单数, …) is missing at the end."))
    names, values, line_no = summary
    figures = dict(zip(names, values, strict=False))
    if "总交易单数" not in figures or not figures["总交易单数"].strip().isdigit():
        raise _fail(line_no, _("the summary's 总交易单数 is not a number."))
    count = int(figures["总交易单数"])
    refunds = _money(figures.get("退款总金额", "0"), line_no, "退款总金额")
    if count != len(statement.rows) or _cents(refunds) != statement.refund_total:
        raise _fail(
            line_no,
            _(
                "the summary says %(count)d lines and %(refunds)s refunded, the lines add up "
                "to %(found)d and %(sum)s."
            )
            % {
                "count": count,
                "refunds": _cents(refunds),
                "found": len(statement.rows),
                "sum": statement.refund_total,
            },
        )
    return statement


def parse(data: bytes, file_format: str | None = None) -> ParsedStatement:
    """Read a statement in ``file_format`` ("alipay"/"wechat"), or the one its header shows."""
    if file_format is None:
        text, _encoding = decode(data)
        file_format = detect_format(text)
        if file_format is None:
            raise _fail(1, _("this is neither an Alipay nor a WeChat Pay trade bill."))
    if file_format == "alipay":
        return parse_alipay(data)
    if file_format == "wechat":
        return parse_wechat(data)
    raise _fail(1, _("this is neither an Alipay nor a WeChat Pay trade bill."))
