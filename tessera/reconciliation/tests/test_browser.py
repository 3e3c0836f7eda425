"""The reconciliation in a real Chromium: platform finance uploads a provider's statement,
reads the day's mismatches and issues the missing tickets from the page; the days list and
the day page at 1366 and 390 px in both languages (screenshots, no sideways scrolling)."""

import dataclasses
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import watch_csp
from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_member, make_organization
from tessera.reconciliation.models import Mismatch, MismatchKind, MismatchStatus
from tessera.reconciliation.parsers import CHARGE
from tessera.reconciliation.tests.factories import make_day
from tessera.tickets.models import Ticket, TicketStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-42"
SHOTS = Path("/work/shots/reconciliation")


@pytest.mark.parametrize(("language", "locale"), [("zh", "zh-CN"), ("en", "en-US")])
@pytest.mark.parametrize(("size", "width", "height"), [("1366", 1366, 900), ("390", 390, 844)])
def test_finance_uploads_a_statement_and_issues_missing_tickets(
    live_server, browser, artifacts_dir, language, locale, size, width, height
):
    base = live_server.url
    day = make_day("alipay")
    Ticket.objects.filter(order_line__order=day.paid).delete()
    lines = day.lines()
    foreign = dataclasses.replace(
        next(ln for ln in lines if ln.kind == CHARGE),
        merchant_order_no=uuid.uuid4().hex,
        trade_no="2026112222001404470299999999",
        amount=Decimal("50.00"),
        order_amount=Decimal("50.00"),
        fee=Decimal("0.30"),
    )
    data = day.file([*lines, foreign])
    platform = make_organization(kind=OrganizationKind.PLATFORM, name="平台", name_en="Platform")
    finance = make_member(organization=platform, role=Role.FINANCE, password=PASSWORD)

    context = browser.new_context(
        locale=locale,
        viewport={"width": width, "height": height},
        **(
            {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}
            if size == "390"
            else {}
        ),
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations = watch_csp(context, page)
    out = SHOTS if SHOTS.parent.exists() else artifacts_dir

    def snap(name: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=out / f"reconciliation-{name}-{size}-{language}.png", full_page=True)

    page.goto(f"{base}/accounts/login/?next=/reconciliation/")
    page.fill("input[name=username]", finance.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/reconciliation/")
    snap("empty")

    # when finance uploads the day's Alipay statement
    page.select_option("#id_provider", "alipay")
    page.fill("#id_day", "2026-11-22")
    page.set_input_files(
        "#id_file",
        {
            "name": "20881234567890120156_20261122_业务明细.csv",
            "mimeType": "text/csv",
            "buffer": data,
        },
    )
    page.click("#import-form button[type=submit]:not([name])")
    page.wait_for_url(f"{base}/reconciliation/alipay/2026-11-22/")

    # then the day is open with the order without tickets and the foreign charge
    kinds = page.eval_on_selector_all(
        "#mismatches tr[data-kind]", "rows => rows.map(r => r.dataset.kind)"
    )
    assert sorted(kinds) == [
        MismatchKind.PAID_WITHOUT_TICKETS,
        MismatchKind.PROVIDER_CHARGE_WITHOUT_ORDER,
    ]
    snap("day")

    # when finance issues the missing tickets
    missing = Mismatch.objects.get(kind=MismatchKind.PAID_WITHOUT_TICKETS)
    page.click(f"#mismatch-{missing.pk} form button")
    page.wait_for_selector(f"#mismatch-{missing.pk} .badge-resolved")
    missing.refresh_from_db()
    assert missing.status == MismatchStatus.RESOLVED
    assert Ticket.objects.filter(order_line__order=day.paid, status=TicketStatus.VALID).count() == 2

    # and explains the foreign charge: the day is reconciled
    foreign_row = Mismatch.objects.get(kind=MismatchKind.PROVIDER_CHARGE_WITHOUT_ORDER)
    page.fill(f"#mismatch-{foreign_row.pk} input[name=note]", "另一商户号的收款 / another merchant")
    page.click(f"#mismatch-{foreign_row.pk} form button")
    page.wait_for_selector("#day-status.badge-reconciled")
    snap("reconciled")
    page.goto(f"{base}/reconciliation/")
    snap("days")
    context.close()
    assert not violations
