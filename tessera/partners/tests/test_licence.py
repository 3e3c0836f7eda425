import pytest

from tessera.partners import licence


@pytest.mark.parametrize(
    "code",
    ["91350100M000100Y43", "91110108551385082Q", "91310000MA1FL4Q24A"],
)
def test_well_formed_codes_pass(code):
    assert licence.is_valid(code)


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91350100M000100Y44", "wrong check character"),
        ("91350100M000100Y4", "17 characters"),
        ("91350100M000100Y433", "19 characters"),
        ("91350100M00010OY43", "O is not in the alphabet"),
        ("9135A100M000100Y43", "region code with a letter"),
        ("", "empty"),
    ],
)
def test_malformed_codes_fail(code, why):
    assert not licence.is_valid(code), why


def test_normalise_drops_spaces_and_hyphens_and_upper_cases():
    assert licence.normalise(" 9135 0100-m000 100y43 ") == "91350100M000100Y43"


def test_check_character_of_31_is_written_0():
    # Σ = 0 → 31 - 0 = 31 → written "0"
    assert licence.check_character("0" * 17) == "0"
