"""Identity documents: GB 11643 resident ID numbers, the other documents' formats, masking."""

from datetime import date

import pytest

from tessera.identities import documents
from tessera.identities.documents import DocumentInvalid, check_character, mask, validate

TODAY = date(2026, 12, 6)

# The two example numbers printed in GB 11643-1999 itself.
KNOWN_VALID = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("number", KNOWN_VALID)
def test_the_standards_own_examples_are_valid(number):
    assert validate("resident_id", number, today=TODAY) == number


def test_a_lower_case_x_full_width_digits_and_spaces_are_the_same_number():
    given = "１１０１０５ 19491231 002x"
    assert validate("resident_id", given, today=TODAY) == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "check_digit"),  # last character changed
        ("11010519491231003X", "check_digit"),  # sequence changed, check kept
        ("99010519491231002X", "region"),  # no province 99
        ("110105194902300028", "birth_date"),  # 30 February
        ("110105179912310022", "birth_date"),  # before 1800
        ("110105203001010025", "birth_date"),  # born in the future
        ("11010519491231002", "format"),  # 17 characters
        ("1101051949123100XX", "format"),
        ("", "format"),
    ],
)
def test_bad_resident_ids_are_refused_with_the_reason(number, reason):
    with pytest.raises(DocumentInvalid) as refused:
        validate("resident_id", number, today=TODAY)
    assert refused.value.reason == reason


def test_every_single_digit_change_breaks_the_check_digit():
    number = KNOWN_VALID[1]
    for position in range(17):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            changed = number[:position] + digit + number[position + 1 :]
            assert check_character(changed[:17]) != changed[17]


def test_the_check_character_follows_the_weights():
    # 4*7 + 4*9 + 0 + 5*5 + 2*8 + 4*4 + 1*2 + 8*1 + 8*6 + 0 + 0 + 1*9 + 0 + 1*5 + 0 + 0 + 1*2
    # = 195; 195 mod 11 = 8, and position 8 of "10X98765432" is "4".
    digits = "44052418800101001"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(digits, weights, strict=True))
    assert "10X98765432"[total % 11] == check_character(digits) == "4"


@pytest.mark.parametrize(
    ("doc_type", "number", "expected"),
    [
        ("passport", "E12345678", "E12345678"),
        ("passport", "ea1234567", "EA1234567"),
        ("hk_macau_permit", "H12345678", "H12345678"),
        ("hk_macau_permit", "M1234567890", "M1234567890"),
        ("taiwan_permit", "12345678", "12345678"),
        ("taiwan_permit", "1234567890", "1234567890"),
    ],
)
def test_other_documents_are_checked_by_format(doc_type, number, expected):
    assert validate(doc_type, number, today=TODAY) == expected


@pytest.mark.parametrize(
    ("doc_type", "number", "reason"),
    [
        ("passport", "ABCDEFGH", "format"),  # no digit
        ("passport", "E123", "format"),  # too short
        ("passport", "E12345678\x00", "format"),
        ("hk_macau_permit", "C12345678", "format"),
        ("hk_macau_permit", "H1234567", "format"),
        ("taiwan_permit", "1234567", "format"),
        ("taiwan_permit", "T12345678", "format"),
        ("driving_licence", "12345678", "type"),
        ("resident_id", 11010519491231002, "format"),  # not a string
        ("resident_id", "1" * 41, "format"),
    ],
)
def test_bad_documents_are_refused(doc_type, number, reason):
    with pytest.raises(DocumentInvalid) as refused:
        validate(doc_type, number, today=TODAY)
    assert refused.value.reason == reason


def test_masks_keep_only_the_ends():
    assert mask("11010519491231002X") == "1101**********002X"
    assert mask("E12345678") == "E*****678"
    assert mask("1234") == "****"


@pytest.mark.parametrize("name", ["", "   ", "a" * 41, "Li\x00Lei", 42])
def test_names_must_be_printable_and_short(name):
    with pytest.raises(DocumentInvalid):
        documents.clean_name(name)


def test_a_name_is_trimmed_and_its_spaces_collapsed():
    assert documents.clean_name("  Li   Lei ") == "Li Lei"
