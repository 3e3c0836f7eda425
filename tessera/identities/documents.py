"""Identity documents of real-name tickets: types, normalisation, validation, masking.

Pure Python (no Django models): what a document number must look like before it is sealed,
and how it is shown afterwards.

- Mainland resident identity card (GB 11643-1999): 17 digits and a check character. The
  first two digits name a province-level region, digits 7-14 the birth date (YYYYMMDD, a
  real date between 1800-01-01 and today), the last character is
  ``(12 - sum(digit_i * 2^(17-i) mod 11) mod 11) mod 11`` written as ``0-9`` or ``X``.
- Passport: 5 to 17 letters and digits with at least one digit (mainland passports are
  ``E`` + 8 digits or ``E`` + a letter + 7 digits; other countries' vary).
- Hong Kong / Macau residents' travel permit to the mainland: ``H`` or ``M`` + 8 digits
  (10 digits on older permits).
- Taiwan residents' travel permit to the mainland: 8 digits (10 on older permits).

Numbers are compared after NFKC (full-width digits become ASCII), upper case and removal of
spaces and hyphens, so ``１１０１０５…x`` and ``110105…X`` are the same identity.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Mainland resident ID card")
    PASSPORT = "passport", _("Passport")
    HK_MACAU_PERMIT = "hk_macau_permit", _("Hong Kong/Macau travel permit")
    TAIWAN_PERMIT = "taiwan_permit", _("Taiwan travel permit")


# Province-level codes of GB/T 2260 (81/82/83: residence permits of Hong Kong, Macau and
# Taiwan residents, which use the same 18-character number).
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
        "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
        "63", "64", "65", "71", "81", "82", "83",
    }
)  # fmt: skip
_WEIGHTS = tuple(2 ** (17 - i) % 11 for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
_CHECK_CHARACTERS = "10X98765432"  # indexed by the weighted sum mod 11

_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_PASSPORT = re.compile(r"^(?=.*\d)[A-Z0-9]{5,17}$")
_HK_MACAU = re.compile(r"^[HM](\d{8}|\d{10})$")
_TAIWAN = re.compile(r"^(\d{8}|\d{10})$")
MAX_RAW_LENGTH = 40


class DocumentInvalid(ValueError):
    """A document number that is not one of its type; ``reason`` says why (a stable code)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def normalise(number: str) -> str:
    """NFKC, upper case, spaces and hyphens removed."""
    text = unicodedata.normalize("NFKC", number).upper()
    return re.sub(r"[\s\-]", "", text)


def check_character(first17: str) -> str:
    """The GB 11643 check character of 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def resident_id_birth_date(number: str) -> date:
    """The birth date written in a (normalised) resident ID number; raises DocumentInvalid."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise DocumentInvalid("birth_date") from None


def validate(doc_type: str, number, *, today: date) -> str:
    """The normalised number when it is a valid number of ``doc_type``; raises
    DocumentInvalid with a reason: ``type``, ``format``, ``region``, ``birth_date``,
    ``check_digit``."""
    if doc_type not in DocumentType.values:
        raise DocumentInvalid("type")
    if not isinstance(number, str) or len(number) > MAX_RAW_LENGTH or "\x00" in number:
        raise DocumentInvalid("format")
    value = normalise(number)
    if doc_type == DocumentType.RESIDENT_ID:
        if not _RESIDENT_ID.match(value):
            raise DocumentInvalid("format")
        if value[:2] not in PROVINCE_CODES or value[2:6] == "0000":
            raise DocumentInvalid("region")
        born = resident_id_birth_date(value)
        if born.year < 1800 or born > today:
            raise DocumentInvalid("birth_date")
        if check_character(value[:17]) != value[17]:
            raise DocumentInvalid("check_digit")
        return value
    pattern = {
        DocumentType.PASSPORT: _PASSPORT,
        DocumentType.HK_MACAU_PERMIT: _HK_MACAU,
        DocumentType.TAIWAN_PERMIT: _TAIWAN,
    }[DocumentType(doc_type)]
    if not pattern.match(value):
        raise DocumentInvalid("format")
    return value


def mask(number: str) -> str:
    """The number as shown anywhere: ``1101**********1234`` (18 characters: the first and
    last four kept), shorter numbers keep their first character and last three."""
    if len(number) >= 15:
        return number[:4] + "*" * (len(number) - 8) + number[-4:]
    if len(number) <= 4:
        return "*" * len(number)
    return number[:1] + "*" * (len(number) - 4) + number[-3:]


def clean_name(name) -> str:
    """A holder's name: 1-40 printable characters after trimming; raises DocumentInvalid."""
    if not isinstance(name, str):
        raise DocumentInvalid("name")
    text = " ".join(name.split())
    if not text or len(text) > 40 or not text.isprintable():
        raise DocumentInvalid("name")
    return text
