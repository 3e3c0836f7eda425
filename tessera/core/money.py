"""Money: Decimal amounts with a currency, rounded in one place."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings

# Minor units per currency; every currency Tessera sells in has two today.
_EXPONENT = {"CNY": 2, "HKD": 2, "USD": 2, "EUR": 2, "JPY": 0}


def default_currency() -> str:
    return settings.DEFAULT_CURRENCY


def round_money(amount: Decimal | int | str, currency: str = "CNY") -> Decimal:
    """Round half up to the currency's minor unit. Floats are refused."""
    if isinstance(amount, float):
        raise TypeError("money must not be a float")
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    exponent = _EXPONENT.get(currency.upper(), 2)
    return value.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal, currency: str = "CNY") -> int:
    """Integer minor units, used only at a payment provider's boundary."""
    exponent = _EXPONENT.get(currency.upper(), 2)
    return int(round_money(amount, currency).scaleb(exponent))


def format_money(amount: Decimal, currency: str = "CNY") -> str:
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$", "JPY": "¥"}.get(currency, "")
    value = round_money(amount, currency)
    text = f"{value:,.{_EXPONENT.get(currency, 2)}f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"
