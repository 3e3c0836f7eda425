"""Printable tickets: one A4 page per ticket, drawn with reportlab.

Chinese text uses reportlab's built-in CID font STSong-Light (Adobe's Song face, encoded
UniGB-UCS2-H): PDF readers carry it or substitute a Song face, so no font file ships with
Tessera. Runs of Western characters (cp1252, which Helvetica covers) use Helvetica. The QR
code is drawn module by module from the same segno matrix as the web page's SVG, so both
carry the identical code.
"""

import io
from collections.abc import Sequence

from django.utils.translation import gettext as _
from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from tessera.tickets.qr import QUIET_ZONE, make_qr
from tessera.tickets.selectors import TicketSummary

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
INK = HexColor("#1c1b2e")
MUTED = HexColor("#5b5a6e")
ACCENT = HexColor("#e5483b")
RULE = HexColor("#d9d8e3")
QR_SIZE = 66 * mm
MARGIN = 18 * mm

_registered = False


def _register_fonts() -> None:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        _registered = True


def _is_latin(ch: str) -> bool:
    """Whether Helvetica (WinAnsi encoding, i.e. cp1252) has the character: ASCII, ¥, é..."""
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _runs(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into runs Helvetica can draw and runs it cannot: (run, is_latin)."""
    runs: list[tuple[str, bool]] = []
    for ch in text:
        is_latin = _is_latin(ch)
        if runs and runs[-1][1] == is_latin:
            runs[-1] = (runs[-1][0] + ch, is_latin)
        else:
            runs.append((ch, is_latin))
    return runs


def _run_font(is_latin: bool, bold: bool) -> str:
    if is_latin:
        return LATIN_BOLD if bold else LATIN_FONT
    return CJK_FONT  # the CID font has no bold face; size carries the weight


def register_fonts() -> None:
    """Make the Chinese font known to reportlab (once per process), for any PDF of ours."""
    _register_fonts()


def font_runs(text: str, *, bold: bool = False) -> list[tuple[str, str]]:
    """``text`` cut into (run, font name) pieces: Helvetica where it can draw them, the
    Chinese font elsewhere; what every PDF of ours draws mixed text with."""
    return [(run, _run_font(is_latin, bold)) for run, is_latin in _runs(text)]


def _measure(text: str, size: float, bold: bool = False) -> float:
    return sum(
        pdfmetrics.stringWidth(run, _run_font(is_latin, bold), size)
        for run, is_latin in _runs(text)
    )


def _wrap(text: str, size: float, width: float, *, bold: bool = False) -> list[str]:
    """Greedy line breaks by measured width: at spaces where there are any, else between
    any two characters (Chinese has no spaces)."""
    lines: list[str] = []
    current = ""
    for ch in text:
        trial = current + ch
        if current and _measure(trial, size, bold) > width:
            cut = current.rfind(" ")
            if cut > 0 and not ch.isspace():
                lines.append(current[:cut])
                current = current[cut + 1 :] + ch
            else:
                lines.append(current.rstrip())
                current = ch.lstrip()
        else:
            current = trial
    if current.strip():
        lines.append(current.strip())
    return lines or [""]


def _text(
    canvas: Canvas,
    x: float,
    y: float,
    text: str,
    *,
    size: float,
    color=INK,
    bold: bool = False,
    align: str = "left",
) -> None:
    """Draw ``text`` with Helvetica for Western runs and STSong-Light for the rest."""
    if align == "right":
        x -= _measure(text, size, bold)
    elif align == "center":
        x -= _measure(text, size, bold) / 2
    canvas.setFillColor(color)
    for run, is_latin in _runs(text):
        font = _run_font(is_latin, bold)
        canvas.setFont(font, size)
        canvas.drawString(x, y, run)
        x += pdfmetrics.stringWidth(run, font, size)


def _draw_qr(canvas: Canvas, credential: str, x: float, y: float, size: float) -> None:
    """The QR code with its quiet zone, lower left corner at (x, y)."""
    rows = list(make_qr(credential).matrix_iter(border=QUIET_ZONE))
    module = size / len(rows)
    canvas.setFillColor(white)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(black)
    for r, row in enumerate(rows):
        top = y + size - (r + 1) * module
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                # A hair of overlap so viewers leave no seams between modules.
                canvas.rect(
                    x + start * module,
                    top,
                    (c - start) * module + 0.05,
                    module + 0.05,
                    stroke=0,
                    fill=1,
                )
            else:
                c += 1


def _draw_page(canvas: Canvas, ticket: TicketSummary, credential: str) -> None:
    width, height = A4
    left, right = MARGIN, width - MARGIN
    y = height - MARGIN

    # Brand band
    canvas.setFillColor(INK)
    canvas.rect(0, height - 14 * mm, width, 14 * mm, stroke=0, fill=1)
    _text(canvas, left, height - 9.5 * mm, "Tessera", size=14, color=white, bold=True)
    _text(canvas, left + 62, height - 9.5 * mm, "票仓", size=13, color=white)
    _text(canvas, right, height - 9.5 * mm, _("E-ticket"), size=11, color=white, align="right")
    y = height - 14 * mm - 14 * mm

    # Event, time, venue
    text_width = right - left
    for line in _wrap(ticket.event_name, 20, text_width, bold=True)[:3]:
        _text(canvas, left, y, line, size=20, bold=True)
        y -= 26
    y -= 2
    _text(canvas, left, y, ticket.starts_at_text, size=13)
    y -= 18
    local_time_note = _("Local time at the venue (%(zone)s)") % {"zone": ticket.time_zone}
    _text(canvas, left, y, local_time_note, size=9, color=MUTED)
    y -= 20
    _text(canvas, left, y, ticket.venue_name, size=13)
    y -= 16
    if ticket.venue_address:
        for line in _wrap(ticket.venue_address, 10, text_width)[:2]:
            _text(canvas, left, y, line, size=10, color=MUTED)
            y -= 14
    y -= 10
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(1)
    canvas.line(left, y, right, y)
    y -= 26

    # Place and ticket facts on the left, the QR code on the right
    qr_x = right - QR_SIZE
    qr_top = y + 8
    _draw_qr(canvas, credential, qr_x, qr_top - QR_SIZE, QR_SIZE)
    facts_width = qr_x - left - 12
    place_rows = [
        (_("Section"), ticket.section_name or ticket.section_code),
    ]
    if ticket.is_standing:
        place_rows.append((_("Place"), _("Standing")))
    else:
        place_rows += [(_("Row"), ticket.row_label), (_("Seat"), ticket.seat_label)]
    place_rows += [
        (_("Price zone"), ticket.zone_name),
        (_("Price"), ticket.price_text),
        (_("Holder"), ticket.holder_name),
        (_("Order number"), ticket.order_number),
        (_("Ticket number"), ticket.number),
    ]
    for label_text, value in place_rows:
        _text(canvas, left, y, label_text, size=9, color=MUTED)
        y -= 15
        for line in _wrap(value or "-", 14, facts_width, bold=True)[:2]:
            _text(canvas, left, y, line, size=14, bold=True)
            y -= 18
        y -= 6

    # Under the QR code: the ticket number, big enough to read out to gate staff
    _text(
        canvas,
        qr_x + QR_SIZE / 2,
        qr_top - QR_SIZE - 16,
        ticket.number,
        size=12,
        color=MUTED,
        align="center",
    )

    # Footer
    notes = [
        _("Show this QR code at the gate. Each ticket admits one person once."),
        _("Do not share or post pictures of this ticket: whoever scans it first gets in."),
    ]
    y = MARGIN + 24
    canvas.setStrokeColor(RULE)
    canvas.line(left, y + 16, right, y + 16)
    for note in notes:
        for line in _wrap(note, 9, text_width):
            _text(canvas, left, y, line, size=9, color=MUTED)
            y -= 13


def render_tickets_pdf(tickets: Sequence[tuple[TicketSummary, str]], *, title: str) -> bytes:
    """A PDF with one page per (ticket summary, credential) pair, in the active language."""
    _register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("Tessera")
    canvas.setSubject(_("Tickets"))
    canvas.setCreator("Tessera")
    for summary, credential in tickets:
        _draw_page(canvas, summary, credential)
        canvas.showPage()
    canvas.save()
    return out.getvalue()
