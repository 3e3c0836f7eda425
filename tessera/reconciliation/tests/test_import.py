"""Importing statements: idempotent by content, replaced by another file (audited), refused
whole with the bad line named; the import command."""

import dataclasses
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from tessera.core.models import AuditEntry
from tessera.reconciliation import services
from tessera.reconciliation.errors import StatementInvalid, UnknownStatementProvider
from tessera.reconciliation.models import (
    DayStatus,
    ProviderStatement,
    ProviderStatementRow,
    ReconciliationDay,
)
from tessera.reconciliation.tests.factories import DAY, EVENING, make_day

pytestmark = pytest.mark.django_db


def test_the_same_file_twice_is_imported_once():
    day = make_day()
    data = day.file()
    first, created = services.import_statement(
        provider="alipay", day_on=DAY, data=data, now=EVENING
    )
    again, created_again = services.import_statement(
        provider="alipay", day_on=DAY, data=data, now=EVENING + timedelta(hours=1)
    )
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert ProviderStatement.objects.count() == 1
    assert ProviderStatementRow.objects.count() == 3
    assert AuditEntry.objects.filter(action="reconciliation.statement_imported").count() == 1
    assert first.encoding == "gbk" and first.file_format == "alipay"


def test_another_file_for_the_day_replaces_the_first_and_is_audited():
    day = make_day("wechat")
    first, _ = services.import_statement(
        provider="wechat", day_on=DAY, data=day.file(day.lines()[:1]), now=EVENING
    )
    second, created = services.import_statement(
        provider="wechat", day_on=DAY, data=day.file(), now=EVENING + timedelta(hours=1)
    )
    first.refresh_from_db()
    assert created and (first.is_current, second.is_current) == (False, True)
    assert first.replaced_at == EVENING + timedelta(hours=1)
    entry = AuditEntry.objects.get(action="reconciliation.statement_replaced")
    assert entry.data["replaced"] == first.sha256
    assert ReconciliationDay.objects.get(provider="wechat", day_on=DAY).statement == second


@pytest.mark.parametrize("provider", ["alipay", "wechat"])
def test_a_line_of_another_day_refuses_the_whole_file(provider):
    day = make_day(provider)
    lines = day.lines()
    lines[1] = dataclasses.replace(lines[1], occurred_at=lines[1].occurred_at + timedelta(days=1))
    data = day.file(lines)
    with pytest.raises(StatementInvalid) as caught:
        services.import_statement(provider=provider, day_on=DAY, data=data, now=EVENING)
    assert "is not on 2026-11-22" in str(caught.value.message)
    assert ProviderStatement.objects.count() == 0
    assert ReconciliationDay.objects.count() == 0


def test_an_alipay_bill_of_another_day_is_refused():
    day = make_day()
    data = day.file(day.lines()[:0])
    with pytest.raises(StatementInvalid) as caught:
        services.import_statement(
            provider="alipay", day_on=DAY + timedelta(days=1), data=data, now=EVENING
        )
    assert "statement of 2026-11-22" in str(caught.value.message)
    assert ProviderStatement.objects.count() == 0


def test_a_wechat_file_is_not_taken_as_an_alipay_statement():
    day = make_day("wechat")
    with pytest.raises(StatementInvalid) as caught:
        services.import_statement(provider="alipay", day_on=DAY, data=day.file(), now=EVENING)
    assert caught.value.details["line"] == 1
    assert ProviderStatement.objects.count() == 0


def test_an_unknown_provider_is_refused():
    with pytest.raises(UnknownStatementProvider):
        services.import_statement(provider="paypal", day_on=DAY, data=b"x", now=EVENING)


def test_the_import_command(tmp_path, capsys):
    day = make_day()
    path = tmp_path / "20881234567890120156_20261122_业务明细.csv"
    path.write_bytes(day.file())
    call_command("import_bill", "--provider", "alipay", "--date", "2026-11-22", str(path))
    out = capsys.readouterr().out
    assert "alipay 2026-11-22: imported, 3 lines; reconciled, 0 open mismatches" in out
    record = ReconciliationDay.objects.get(provider="alipay", day_on=DAY)
    assert record.status == DayStatus.RECONCILED
    call_command("import_bill", "--provider", "alipay", "--date", "2026-11-22", str(path))
    assert "already imported" in capsys.readouterr().out


def test_the_import_command_refuses_bad_input(tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_bytes("#支付宝业务明细查询\n支付宝交易号,商户订单号\n".encode("gbk"))
    with pytest.raises(CommandError, match="Line 2: the header lacks the columns"):
        call_command("import_bill", "--provider", "alipay", "--date", "2026-11-22", str(broken))
    with pytest.raises(CommandError, match="is not a date"):
        call_command("import_bill", "--provider", "alipay", "--date", "2026-02-30", str(broken))
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_bill", "--provider", "alipay", "--date", "2026-11-22", "/nope.csv")
    assert ProviderStatement.objects.count() == 0
