"""Statements in a real Chromium: a finance member opens the distributor's statement,
downloads the XLSX and the PDF (both read back show the page's net payable), approves it and
marks it paid. Then the list (with the commission chart) and the statement's page at 1366
and 390 px in both languages (screenshots, no sideways scrolling)."""

from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from conftest import watch_csp
from tessera.accounts.models import Role
from tessera.accounts.tests.factories import make_member
from tessera.settlement import exports, services
from tessera.settlement.models import Statement, StatementStatus
from tessera.settlement.tests.factories import at, make_world, monday_weeks_ago
from tessera.settlement.tests.pdftext import strings_by_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
D = Decimal


def sign_in(page, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


def statement_world():
    world = make_world(distributor_rules=[("percent", "5", 0, None), ("percent", "8", 3, None)])
    for weeks in (6, 4, 3):
        day = monday_weeks_ago(weeks)
        world.sell(at(day), 2)
        world.sell(at(day, 15), weeks % 3 + 1, zone="B")
    day = monday_weeks_ago(2)
    order = world.sell(at(day), 3)
    world.sell(at(day, 15), 1, zone="B")
    world.refund(order, at(day, 16), {world.active_lines(order)[0].pk: D("38.00")})
    statement = services.generate_statement(
        organization=world.distributor, starts_on=day, now=timezone.now()
    )
    finance = make_member(
        organization=world.distributor, role=Role.FINANCE, username="caiwu", password=PASSWORD
    )
    return world, statement, finance


def test_a_finance_member_downloads_the_statement_approves_and_marks_it_paid(
    live_server, page, tmp_path
):
    _world, statement, _finance = statement_world()
    base = live_server.url
    sign_in(page, base, "caiwu", "/partners/statements/")
    page.click(f"#statement-{statement.pk} a")
    page.wait_for_selector("#net-payable")
    shown = page.get_attribute("#net-payable", "data-value")
    assert D(shown) == statement.net_payable

    with page.expect_download() as info:
        page.click("#download-xlsx")
    xlsx = tmp_path / info.value.suggested_filename
    info.value.save_as(xlsx)
    assert xlsx.name == f"{statement.number}.xlsx"
    rows = list(load_workbook(xlsx).active.iter_rows(values_only=True))
    assert D(str(rows[-1][-1])) == D(shown)

    with page.expect_download() as info:
        page.click("#download-pdf")
    pdf = tmp_path / info.value.suggested_filename
    info.value.save_as(pdf)
    drawn = strings_by_page(pdf.read_bytes())[-1]
    assert drawn[-1] == exports.cell_text(D(shown))

    page.click("#approve")
    page.wait_for_selector("#paid-form")
    assert page.get_attribute("#statement", "data-status") == "approved"
    page.fill("#id_reference", "ICBC-20260301-7781")
    page.click("#mark-paid")
    page.wait_for_selector("#statement[data-status=paid]")
    paid = Statement.objects.get(pk=statement.pk)
    assert (paid.status, paid.payment_reference) == (StatementStatus.PAID, "ICBC-20260301-7781")


@pytest.mark.parametrize(("language", "locale"), [("zh", "zh-CN"), ("en", "en-US")])
@pytest.mark.parametrize(("size", "width", "height"), [("desktop", 1366, 900), ("phone", 390, 844)])
def test_the_statement_pages_fit_the_screen(
    live_server, browser, artifacts_dir, language, locale, size, width, height
):
    world, statement, _finance = statement_world()
    base = live_server.url
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations = watch_csp(context, page)

    def snap(name: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(
            path=artifacts_dir / f"settlement-{name}-{size}-{language}.png", full_page=True
        )

    sign_in(page, base, "caiwu", "/partners/statements/")
    assert page.locator("#commission-chart .week").count() == 12
    snap("list")
    page.goto(f"{base}/partners/statements/{statement.pk}/?org={world.distributor.pk}")
    page.wait_for_selector("#statement-lines")
    snap("statement")
    context.close()
    assert not violations, violations
