"""The console's statements: the list and the distributor's chart, a statement's page, its
XLSX and PDF read back with the same figures, approve and mark paid, tenancy (another
partner's statement is a 404, downloads too) and bad input (never a 500)."""

import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.inventory.tests.factories import make_channel
from tessera.partners.models import Contract
from tessera.settlement import exports, selectors, services
from tessera.settlement.models import Statement, StatementStatus
from tessera.settlement.tests.factories import at, make_world, monday_weeks_ago
from tessera.settlement.tests.pdftext import strings_by_page

pytestmark = pytest.mark.django_db
D = Decimal
EN = {"Accept-Language": "en"}


@pytest.fixture
def world():
    w = make_world(distributor_rules=[("percent", "5", 0, None), ("percent", "8", 3, None)])
    w.day = monday_weeks_ago(2)
    order = w.sell(at(w.day), 3)
    w.sell(at(w.day, 14), 1, zone="B")
    w.refund(order, at(w.day, 16), {w.active_lines(order)[0].pk: D("38.00")})
    now = timezone.now()
    w.statement = services.generate_statement(organization=w.distributor, starts_on=w.day, now=now)
    return w


def url(statement, suffix=""):
    return f"/partners/statements/{statement.pk}/{suffix}?org={statement.organization_id}"


def read_xlsx(body: bytes) -> dict:
    sheet = load_workbook(io.BytesIO(body)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header_at = next(
        i for i, r in enumerate(rows) if r and r[0] in ("Event · session", "活动 · 场次")
    )
    return {"header": rows[header_at], "lines": rows[header_at + 1 : -1], "total": rows[-1]}


def test_the_statement_page_and_its_files_show_the_same_figures(client, world):
    s = world.statement
    finance = make_member(organization=world.distributor, role=Role.FINANCE)
    client.force_login(finance)
    page = client.get(url(s), headers=EN)
    assert page.status_code == 200
    body = page.content.decode()
    assert f'data-value="{s.net_payable}"' in body and 'id="approve"' in body
    # 3 × ¥380 + ¥280 = 1420 gross, one ¥380 refunded with ¥38 kept; 3 net tickets → 8 %
    assert (s.gross, s.refunds, s.fees) == (D("1420.00"), D("380.00"), D("38.00"))
    assert s.commission == D("30.40") * 3 + D("22.40") - D("30.40")
    expected = [s.orders, s.tickets_sold, s.tickets_refunded, s.gross, s.refunds, s.fees]
    expected += [s.commission, s.net_payable]

    xlsx = client.get(url(s, "statement.xlsx"), headers=EN)
    assert xlsx["Content-Disposition"] == f'attachment; filename="{s.number}.xlsx"'
    sheet = read_xlsx(xlsx.content)
    assert sheet["header"][-1] == "Net payable"
    assert sheet["total"][0] == "Total"
    assert [D(str(v)) for v in sheet["total"][1:]] == [D(str(v)) for v in expected]
    line = s.lines.get()
    assert [D(str(v)) for v in sheet["lines"][0][1:]] == [
        D(str(getattr(line, n))) for n, _h in exports.columns(s.role)
    ]

    pdf = client.get(url(s, "statement.pdf"), headers=EN)
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    shown = strings_by_page(pdf.content)[-1]
    total_at = len(shown) - 1 - shown[::-1].index("Total")
    assert shown[total_at + 1 : total_at + 1 + len(expected)] == [
        exports.cell_text(v) for v in expected
    ]


def test_the_pdf_draws_chinese_with_the_cid_font(client, world):
    client.force_login(make_member(organization=world.distributor, role=Role.FINANCE))
    pdf = client.get(url(world.statement, "statement.pdf"), headers={"Accept-Language": "zh-hans"})
    assert b"/Encoding /UniGB-UCS2-H" in pdf.content
    shown = strings_by_page(pdf.content)[0]
    assert "合计" in shown
    assert world.distributor.name in "".join(shown)


def test_a_finance_member_approves_and_marks_paid_from_the_page(client, world):
    s = world.statement
    client.force_login(make_member(organization=world.distributor, role=Role.FINANCE))
    assert client.post(url(s, "approve/")).status_code == 302
    assert Statement.objects.get(pk=s.pk).status == StatementStatus.APPROVED
    today = timezone.localdate()
    response = client.post(url(s, "paid/"), {"reference": "BANK-42", "paid_on": str(today)})
    assert response.status_code == 302
    paid = Statement.objects.get(pk=s.pk)
    assert (paid.status, paid.payment_reference, paid.paid_on) == ("paid", "BANK-42", today)


def test_a_staff_member_sees_no_buttons_and_cannot_approve(client, world):
    s = world.statement
    client.force_login(make_member(organization=world.distributor, role=Role.STAFF))
    page = client.get(url(s), headers=EN).content.decode()
    assert 'id="approve"' not in page and 'id="download-xlsx"' in page
    client.post(url(s, "approve/"))
    assert Statement.objects.get(pk=s.pk).status == StatementStatus.DRAFT


def test_another_distributor_never_sees_the_statement(client, world):
    # given distributor B, with its own channel, contract and statement
    other = make_organization(kind=OrganizationKind.DISTRIBUTOR)
    make_channel(organization=other)
    Contract.objects.create(organization=other, settlement_cycle="weekly", starts_on=world.day)
    theirs = services.generate_statement(
        organization=other, starts_on=world.day, now=timezone.now()
    )
    member = make_member(organization=other, role=Role.OWNER)
    client.force_login(member)
    s = world.statement
    # then A's statement, its files and its actions are not found for B
    for suffix in ("", "statement.xlsx", "statement.pdf"):
        assert client.get(f"/partners/statements/{s.pk}/{suffix}").status_code == 404
        assert client.get(url(theirs, suffix)).status_code == 200
    assert client.post(f"/partners/statements/{s.pk}/approve/").status_code == 404
    assert (
        client.post(
            f"/partners/statements/{s.pk}/paid/", {"reference": "x", "paid_on": "2020-01-01"}
        ).status_code
        == 404
    )
    assert Statement.objects.get(pk=s.pk).status == StatementStatus.DRAFT
    # and A's organization cannot be chosen in B's console
    assert client.get(f"/partners/statements/?org={world.distributor.pk}").status_code == 403
    listed = client.get("/partners/statements/").context["statements"]
    assert [x.pk for x in listed] == [theirs.pk]


@pytest.mark.parametrize(
    "path",
    [
        "/partners/statements/99999999999999999999999/",
        "/partners/statements/0/statement.pdf",
        "/partners/statements/?org=abc",
        "/partners/statements/?org=99999999999999999999999",
    ],
)
def test_bad_paths_never_fail(client, world, path):
    client.force_login(make_member(organization=world.distributor, role=Role.OWNER))
    assert client.get(path).status_code in (200, 403, 404)


@pytest.mark.parametrize(
    "data",
    [
        {"reference": "B", "paid_on": "not a date"},
        {"reference": "B" * 500, "paid_on": "2020-01-01"},
        {"reference": "", "paid_on": "2020-01-01"},
        {"reference": "B", "paid_on": "9999-12-31"},
        {"reference": "B", "paid_on": "99999-01-01"},
        {},
    ],
)
def test_bad_payment_input_changes_nothing(client, world, data):
    s = world.statement
    owner = make_member(organization=world.distributor, role=Role.OWNER)
    services.approve_statement(statement=s, actor=owner, now=timezone.now())
    client.force_login(owner)
    response = client.post(url(s, "paid/"), data, follow=True, headers=EN)
    assert response.status_code == 200
    assert Statement.objects.get(pk=s.pk).status == StatementStatus.APPROVED
    assert "payment" in response.content.decode().lower()


def test_the_distributors_list_has_twelve_weeks_of_commission(client, world):
    client.force_login(make_member(organization=world.distributor, role=Role.STAFF))
    page = client.get("/partners/statements/", headers=EN).content.decode()
    assert page.count('class="week"') == 12
    bars = selectors.commission_by_week(organization=world.distributor, now=timezone.now())
    week = next(b for b in bars if b.period.starts_on == world.day)
    assert week.commission == world.statement.commission
    assert f'data-commission="{week.commission}"' in page
    assert f'id="statement-{world.statement.pk}"' in page
