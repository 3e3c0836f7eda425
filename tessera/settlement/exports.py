"""A statement as XLSX (openpyxl) and PDF (reportlab): both drawn from ``table``, so the two
files carry the same figures, as the page shows them.

Chinese text in the PDF uses reportlab's built-in CID font STSong-Light, Western runs
Helvetica (as ``tessera.tickets.pdf`` does): no font file ships with Tessera.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from tessera.core.i18n import is_english
from tessera.settlement.models import PartnerRole, Statement
from tessera.settlement.periods import SETTLEMENT_ZONE
from tessera.tickets.pdf import font_runs, register_fonts

INK = HexColor("#1c1b2e")
MUTED = HexColor("#5b5a6e")
RULE = HexColor("#d9d8e3")


def columns(role: str) -> list[tuple[str, str]]:
    """(field, heading) of the figure columns a statement of ``role`` shows."""
    cols = [
        ("orders", _("Orders")),
        ("tickets_sold", _("Tickets sold")),
        ("tickets_refunded", _("Tickets refunded")),
        ("gross", _("Gross")),
        ("refunds", _("Refunds")),
        ("fees", _("Refund fees kept")),
    ]
    if role == PartnerRole.ORGANIZER:
        cols.append(("platform_fee", _("Platform fee")))
    if role in (PartnerRole.ORGANIZER, PartnerRole.DISTRIBUTOR):
        cols.append(("commission", _("Commission")))
    cols.append(("net_payable", _("Net payable")))
    return cols


@dataclass
class Table:
    title: str
    facts: list[tuple[str, str]]
    header: list[str]
    rows: list[list]  # first cell: the session's label; then ints and Decimals
    total: list


def session_label(line) -> str:
    name = line.event_name_en if is_english() and line.event_name_en else line.event_name
    start = timezone.localtime(line.session_starts_at, SETTLEMENT_ZONE)
    return f"{name} · {start:%Y-%m-%d %H:%M}"


def sign_note(role: str) -> str:
    if role == PartnerRole.ORGANIZER:
        return _("Net payable: positive, the platform pays the organizer.")
    if role == PartnerRole.DISTRIBUTOR:
        return _(
            "Net payable: positive, the distributor pays the platform; negative, the platform "
            "pays the distributor."
        )
    return _("For information: no payment is due on this statement.")


def table(statement: Statement) -> Table:
    cols = columns(statement.role)
    rows = [
        [session_label(line)] + [getattr(line, name) for name, _h in cols]
        for line in statement.lines.all()
    ]
    total = [_("Total")] + [getattr(statement, name) for name, _h in cols]
    facts = [
        (_("Partner"), statement.organization.display_name),
        (_("Statement"), statement.number),
        (_("Period"), f"{statement.starts_on:%Y-%m-%d} – {statement.ends_on:%Y-%m-%d}"),
        (_("Status"), statement.get_status_display()),
        (_("Currency"), statement.currency),
    ]
    if statement.role == PartnerRole.ORGANIZER:
        facts.append((_("Platform fee (%)"), f"{statement.platform_fee_percent}"))
    if statement.payment_reference:
        facts.append((_("Payment reference"), statement.payment_reference))
        facts.append((_("Paid on"), f"{statement.paid_on:%Y-%m-%d}"))
    facts.append((_("Sign"), sign_note(statement.role)))
    return Table(
        title=_("Settlement statement"),
        facts=facts,
        header=[_("Event · session")] + [h for _n, h in cols],
        rows=rows,
        total=total,
    )


def render_xlsx(statement: Statement) -> bytes:
    t = table(statement)
    book = Workbook()
    sheet = book.active
    sheet.title = "statement"
    sheet.append([t.title])
    sheet["A1"].font = Font(bold=True, size=14)
    for label, value in t.facts:
        sheet.append([label, value])
    sheet.append([])
    sheet.append(t.header)
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    for row in t.rows:
        sheet.append(row)
    sheet.append(t.total)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=header_row + 1):
        for cell in row[1:]:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
    sheet.column_dimensions["A"].width = 44
    for letter in "BCDEFGHIJ":
        sheet.column_dimensions[letter].width = 14
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- PDF -----------------------------------------------------------------------------------


def _width(text: str, size: float) -> float:
    return sum(pdfmetrics.stringWidth(run, font, size) for run, font in font_runs(text))


def _fit(text: str, size: float, width: float) -> str:
    if _width(text, size) <= width:
        return text
    while text and _width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def _draw(canvas: Canvas, x: float, y: float, text: str, size: float, *, right=False, color=INK):
    if right:
        x -= _width(text, size)
    canvas.setFillColor(color)
    for run, font in font_runs(text):
        canvas.setFont(font, size)
        canvas.drawString(x, y, run)
        x += pdfmetrics.stringWidth(run, font, size)


def cell_text(value) -> str:
    """How the PDF and the page write a figure: amounts with two decimals and thousands
    separators, counts as integers."""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def render_pdf(statement: Statement) -> bytes:
    """The statement on landscape A4 pages, figures as in ``table``."""
    register_fonts()
    t = table(statement)
    out = io.BytesIO()
    page_w, page_h = landscape(A4)
    canvas = Canvas(out, pagesize=(page_w, page_h), pageCompression=1)
    canvas.setTitle(f"{t.title} {statement.number}")
    canvas.setAuthor("Tessera")
    canvas.setCreator("Tessera")
    margin = 14 * mm
    label_w = 86 * mm
    figure_w = (page_w - 2 * margin - label_w) / (len(t.header) - 1)
    size = 8.5

    def header(y: float) -> float:
        _draw(canvas, margin, y, t.title, 16)
        y -= 22
        for label, value in t.facts:
            _draw(canvas, margin, y, f"{label}: {value}", 9, color=MUTED)
            y -= 13
        y -= 6
        x = margin + label_w
        _draw(canvas, margin, y, t.header[0], size)
        for heading in t.header[1:]:
            x += figure_w
            _draw(canvas, x - 3, y, _fit(heading, size, figure_w - 6), size, right=True)
        canvas.setStrokeColor(RULE)
        canvas.line(margin, y - 5, page_w - margin, y - 5)
        return y - 18

    def row(y: float, cells: list) -> None:
        _draw(canvas, margin, y, _fit(str(cells[0]), size, label_w - 6), size)
        x = margin + label_w
        for value in cells[1:]:
            x += figure_w
            _draw(canvas, x - 3, y, cell_text(value), size, right=True)

    y = header(page_h - margin - 10)
    for cells in t.rows:
        if y < margin + 30:
            canvas.showPage()
            y = header(page_h - margin - 10)
        row(y, cells)
        y -= 14
    canvas.setStrokeColor(RULE)
    canvas.line(margin, y + 9, page_w - margin, y + 9)
    row(y - 4, t.total)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
