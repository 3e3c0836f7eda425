"""Money: Decimal only, rounded half up to the currency's minor unit in one helper."""

from decimal import Decimal

import pytest

from tessera.core.money import format_money, round_money, to_minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.345", "CNY", "2.35"),
        ("2.344", "CNY", "2.34"),
        ("2.355", "CNY", "2.36"),  # half up, not half even (which would give 2.36 too)
        ("2.365", "CNY", "2.37"),  # half even would give 2.36
        ("-2.345", "CNY", "-2.35"),  # away from zero
        ("380", "CNY", "380.00"),
        (Decimal("0.005"), "usd", "0.01"),
        (7, "CNY", "7.00"),
        ("100.5", "JPY", "101"),
        ("100.4", "JPY", "100"),
    ],
)
def test_round_money_half_up(amount, currency, expected):
    result = round_money(amount, currency)
    assert isinstance(result, Decimal)
    assert str(result) == expected


def test_floats_are_refused():
    with pytest.raises(TypeError, match="float"):
        round_money(0.1)
    with pytest.raises(TypeError):
        to_minor_units(19.99)


def test_text_that_is_no_amount_is_refused():
    with pytest.raises(ValueError, match="not an amount"):
        round_money("twelve")


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.34", "CNY", 1234),
        ("0.005", "CNY", 1),
        ("380", "CNY", 38000),
        ("1500", "JPY", 1500),
        ("1500.5", "JPY", 1501),
        ("-0.01", "CNY", -1),
    ],
)
def test_minor_units(amount, currency, minor):
    result = to_minor_units(Decimal(amount), currency)
    assert (result, type(result)) == (minor, int)


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("1280", "CNY", "¥1,280.00"),
        ("9.995", "USD", "$10.00"),
        ("1500", "JPY", "¥1,500"),
        ("12.5", "GBP", "12.50 GBP"),
    ],
)
def test_format_money(amount, currency, text):
    assert format_money(Decimal(amount), currency) == text
