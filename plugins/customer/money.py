"""Money as the billing system counts it: integer minor units with an ISO currency.

How many minor units make a major one comes from CLDR (through Babel): 100 for EUR, 1 for JPY, 1000 for KWD.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision


def digits(currency: str) -> int:
    try:
        return int(get_currency_precision(currency.upper()))
    except Exception:  # an unknown code: the common case, two decimals
        return 2


def to_major(amount: int, currency: str) -> Decimal:
    """``999, "EUR"`` -> ``Decimal("9.99")`` (for display only: every computation stays in minor units)."""
    return Decimal(amount).scaleb(-digits(currency))


def from_float(amount: float, currency: str) -> int:
    """A decimal amount as a system that still sends floats gives it -> minor units."""
    return int((Decimal(str(amount)) * (10 ** digits(currency))).to_integral_value())
