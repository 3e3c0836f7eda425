"""Invoice details of a Chinese company: the unified social credit code (统一社会信用代码,
GB 32100-2015: 18 characters with a check character) or an older tax id (15 or 20
characters)."""

from __future__ import annotations

import re

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_OLD_TAX_ID = re.compile(r"^[0-9A-Z]{15}$|^[0-9A-Z]{20}$")


def uscc_is_valid(code: str) -> bool:
    """An 18-character unified social credit code whose check character is right."""
    if len(code) != 18 or any(c not in _USCC_CHARS for c in code):
        return False
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(code[:17], _USCC_WEIGHTS, strict=True))
    check = (31 - total % 31) % 31
    return _USCC_CHARS[check] == code[17]


def clean_tax_number(value: str) -> str | None:
    """The tax number upper-cased without spaces, or None when it is neither a valid
    unified social credit code nor a 15/20-character tax id."""
    code = re.sub(r"[\s-]", "", value or "").upper()
    if len(code) == 18:
        return code if uscc_is_valid(code) else None
    return code if _OLD_TAX_ID.match(code) else None
