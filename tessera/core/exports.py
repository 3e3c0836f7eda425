"""Tables as files for finance: CSV (UTF-8 with a byte order mark, so spreadsheet programs
read Chinese right) and XLSX (openpyxl, write-only).

A text cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) would be
taken for a formula by a spreadsheet program; such cells are written with a leading
apostrophe so they stay text. Numbers (``Decimal``, ``int``) and datetimes are written as
themselves.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard(value):
    """The value as a cell: text that could start a formula is prefixed with ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal | int | datetime):
        return value
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def to_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([guard(h) for h in header])
    for row in rows:
        writer.writerow(
            [v.isoformat() if isinstance(v, datetime) else guard(v) for v in map(guard, row)]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence], *, title: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([guard(h) for h in header])
    for row in rows:
        cells = []
        for value in row:
            value = guard(value)
            if isinstance(value, datetime):
                value = value.replace(tzinfo=None)  # Excel has no zones: local time as given
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
