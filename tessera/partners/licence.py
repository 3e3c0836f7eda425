"""The unified social credit code (统一社会信用代码, GB 32100-2015) of a business licence.

Eighteen characters from 0-9 and the capitals without I, O, Z, S and V: the registering
authority (1), the kind of entity (1), the region code (6 digits, GB/T 2260), the
organization code (9) and a check character. The check character is
``31 - (Σ value(cᵢ) · 3ⁱ mod 31) mod 31`` over the first seventeen, with the weights
3⁰ … 3¹⁶ taken mod 31, written in the same alphabet (31 → 0).
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {char: index for index, char in enumerate(ALPHABET)}
WEIGHTS = [pow(3, i, 31) for i in range(17)]
LENGTH = 18


def normalise(text: str) -> str:
    """Upper case, spaces and hyphens dropped (how people type it from a licence)."""
    return "".join(ch for ch in str(text).upper() if ch not in " -\u3000\t")


def check_character(first17: str) -> str:
    total = sum(VALUES[ch] * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """True when ``code`` (already normalised) is a well-formed code with its check character."""
    if len(code) != LENGTH or any(ch not in VALUES for ch in code):
        return False
    if not code[2:8].isdigit():
        return False
    return check_character(code[:17]) == code[17]
