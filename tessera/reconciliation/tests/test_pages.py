"""The reconciliation pages: platform finance imports, reconciles and resolves; an organizer
sees only its own orders' mismatches, read-only; both languages; bad input never a 5xx."""

import dataclasses
import uuid
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization, make_user
from tessera.reconciliation import services
from tessera.reconciliation.models import (
    DayStatus,
    Mismatch,
    MismatchKind,
    MismatchStatus,
    ProviderStatement,
    ReconciliationDay,
)
from tessera.reconciliation.parsers import CHARGE
from tessera.reconciliation.tests.factories import DAY, EVENING, make_day
from tessera.tickets.models import Ticket

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
DAY_URL = "/reconciliation/alipay/2026-11-22/"


@pytest.fixture
def finance(db):
    platform = make_organization(kind=OrganizationKind.PLATFORM, name="平台", name_en="Platform")
    return make_member(organization=platform, role=Role.FINANCE)


def _upload(data: bytes, name="bill.csv"):
    return SimpleUploadedFile(name, data, content_type="text/csv")


def _two_organizers_with_mismatches():
    """Two organizers' sales on the same Alipay day; each has an order without tickets."""
    first = make_day()
    second = make_day(organization=make_organization(name="乙方", name_en="Second"))
    for day in (first, second):
        Ticket.objects.filter(order_line__order=day.paid).delete()
    lines = first.lines()
    foreign = dataclasses.replace(
        next(ln for ln in lines if ln.kind == CHARGE),
        merchant_order_no=uuid.uuid4().hex,
        amount=Decimal("50.00"),
        order_amount=Decimal("50.00"),
        fee=Decimal("0.30"),
    )
    record = first.reconcile(first.file([*lines, foreign]))
    return first, second, record


def test_finance_imports_a_file_and_sees_the_day(client, finance):
    day = make_day()
    client.force_login(finance)
    response = client.post(
        "/reconciliation/import/",
        {"provider": "alipay", "day": "2026-11-22", "file": _upload(day.file())},
        **EN,
    )
    assert response.status_code == 302 and response["Location"] == DAY_URL
    page = client.get(DAY_URL, **EN).content.decode()
    assert "Reconciled" in page
    assert "Orders, money and tickets agree: nothing to resolve." in page
    assert ReconciliationDay.objects.get().status == DayStatus.RECONCILED


def test_the_days_page_in_both_languages(client, finance):
    _two_organizers_with_mismatches()
    client.force_login(finance)
    en = client.get("/reconciliation/", **EN).content.decode()
    zh = client.get("/reconciliation/", **ZH).content.decode()
    assert "Reconciliation: orders, money and tickets" in en
    assert "Import a provider" in en and "daily statement" in en
    assert "三单对账：订单、资金与票" in zh
    assert "导入渠道日对账单" in zh
    assert "2026-11-22" in en and "2026-11-22" in zh
    day_zh = client.get(DAY_URL, **ZH).content.decode()
    assert "已付款但无有效票" in day_zh and "渠道有收款但无已付订单" in day_zh
    assert "出票" in day_zh and "标记为已说明" in day_zh


def test_a_broken_file_is_refused_with_its_line_and_nothing_is_stored(client, finance):
    client.force_login(finance)
    broken = "#支付宝业务明细查询\n支付宝交易号,商户订单号\n".encode("gbk")
    response = client.post(
        "/reconciliation/import/",
        {"provider": "alipay", "day": "2026-11-22", "file": _upload(broken)},
        **ZH,
    )
    assert response.status_code == 422
    assert "第 2 行：表头缺少列" in response.content.decode()
    assert ProviderStatement.objects.count() == 0
    assert ReconciliationDay.objects.count() == 0


@pytest.mark.parametrize(
    "form",
    [
        {"provider": "alipay", "day": "2026-11-22"},
        {"provider": "paypal", "day": "2026-11-22", "file": b"x"},
        {"provider": "alipay", "day": "99999-01-01", "file": b"x"},
        {"provider": "alipay", "day": "1900-01-01", "file": b"x"},
        {"provider": "alipay", "day": "2026-11-22", "generate": "1"},
        {"provider": "alipay", "day": "2026-11-22", "file": b"\x00\x00\x00"},
        {"provider": "alipay", "day": "2026-11-22", "file": b"\xff\xfe\xfd"},
    ],
)
def test_bad_imports_never_fail_the_server(client, finance, form):
    client.force_login(finance)
    data = dict(form)
    if "file" in data:
        data["file"] = _upload(data["file"])
    response = client.post("/reconciliation/import/", data, **EN)
    assert response.status_code == 422
    assert ProviderStatement.objects.count() == 0


def test_the_sandbox_statement_can_be_generated_from_the_page(client, finance):
    make_day("sandbox")
    client.force_login(finance)
    response = client.post(
        "/reconciliation/import/", {"provider": "sandbox", "day": "2026-11-22", "generate": "1"}
    )
    assert response.status_code == 302
    record = ReconciliationDay.objects.get(provider="sandbox", day_on=DAY)
    assert (record.status, record.statement.row_count) == (DayStatus.RECONCILED, 3)


def test_finance_resolves_a_mismatch_from_the_page(client, finance):
    first, _second, record = _two_organizers_with_mismatches()
    client.force_login(finance)
    mismatch = record.mismatches.get(kind=MismatchKind.PAID_WITHOUT_TICKETS, order=first.paid)
    response = client.post(
        f"/reconciliation/mismatches/{mismatch.pk}/resolve/", {"action": "issue_tickets"}, **EN
    )
    assert response.status_code == 302
    mismatch.refresh_from_db()
    assert (mismatch.status, mismatch.resolved_by) == (MismatchStatus.RESOLVED, finance)
    assert Ticket.objects.filter(order_line__order=first.paid).count() == 2
    # an explanation without a note is refused, with the reason shown, and changes nothing
    foreign = record.mismatches.get(kind=MismatchKind.PROVIDER_CHARGE_WITHOUT_ORDER)
    response = client.post(
        f"/reconciliation/mismatches/{foreign.pk}/resolve/",
        {"action": "explain", "note": ""},
        follow=True,
        **EN,
    )
    assert "Say why" in response.content.decode()
    foreign.refresh_from_db()
    assert foreign.status == MismatchStatus.OPEN
    response = client.post(
        f"/reconciliation/mismatches/{foreign.pk}/resolve/",
        {"action": "refund_charge"},
        follow=True,
        **EN,
    )
    assert "This action does not resolve this mismatch." in response.content.decode()


def test_an_organizer_sees_only_its_own_mismatches_and_cannot_act(client):
    first, second, _record = _two_organizers_with_mismatches()
    services.reconcile_day(provider="alipay", day_on=DAY, now=EVENING)
    member = make_member(organization=second.organization, role=Role.MANAGER)
    client.force_login(member)
    days = client.get("/reconciliation/", **EN).content.decode()
    assert "2026-11-22" in days and "Import a provider" not in days
    page = client.get(DAY_URL, **EN).content.decode()
    assert second.paid.number in page
    assert first.paid.number not in page
    assert "Provider charge without a paid order" not in page  # no organizer's
    assert "Orders paid" not in page  # platform-wide figures
    theirs = Mismatch.objects.get(order=second.paid)
    mine = Mismatch.objects.get(order=first.paid)
    for target in (theirs, mine):
        response = client.post(
            f"/reconciliation/mismatches/{target.pk}/resolve/", {"action": "issue_tickets"}
        )
        assert response.status_code == 403
    assert client.post("/reconciliation/import/", {"provider": "alipay"}).status_code == 403
    assert client.post("/reconciliation/run/", {"provider": "alipay"}).status_code == 403
    assert set(Mismatch.objects.values_list("status", flat=True)) == {MismatchStatus.OPEN}


def test_an_organizer_without_mismatches_that_day_gets_404(client):
    _two_organizers_with_mismatches()
    other = make_member(organization=make_organization(), role=Role.OWNER)
    client.force_login(other)
    assert client.get(DAY_URL).status_code == 404
    assert "2026-11-22" not in client.get("/reconciliation/").content.decode()


def test_strangers_and_visitors(client):
    assert client.get("/reconciliation/").status_code == 302
    assert client.get(DAY_URL).status_code == 302
    client.force_login(make_user())
    assert client.get("/reconciliation/").status_code == 403
    assert client.get(DAY_URL).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/reconciliation/alipay/2026-13-45/",
        "/reconciliation/paypal/2026-11-22/",
        "/reconciliation/alipay/99999999999999999999/",
        "/reconciliation/alipay/2026-11-23/",
    ],
)
def test_bad_paths_are_not_found(client, finance, path):
    client.force_login(finance)
    assert client.get(path).status_code == 404


def test_bad_resolutions_never_fail_the_server(client, finance):
    _first, _second, record = _two_organizers_with_mismatches()
    client.force_login(finance)
    mismatch = record.mismatches.first()
    url = f"/reconciliation/mismatches/{mismatch.pk}/resolve/"
    assert client.post(url, {"action": "explain", "note": "x" * 501}).status_code == 302
    assert client.post(url, {"action": "explain", "note": "a\x00b"}).status_code in (400, 302)
    assert client.post(url, {"action": "nonsense"}).status_code == 302
    assert (
        client.post("/reconciliation/mismatches/999999/resolve/", {"action": "explain"}).status_code
        == 404
    )
    assert (
        client.post("/reconciliation/run/", {"provider": "alipay", "day": "x"}).status_code == 422
    )
    mismatch.refresh_from_db()
    assert mismatch.status == MismatchStatus.OPEN
