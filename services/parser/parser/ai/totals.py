"""The deterministic half of the AI path: find the totals a document prints, so the sum of what
the model extracted can be checked against them: extracted numbers are never trusted alone."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

_TOTAL_LINE = re.compile(
    r"\b(grand\s+total|sub-?total|total|amount\s+due|balance\s+due|amount\s+paid)\b", re.I
)
_AMOUNT = re.compile(r"(?<![\d.,])(?:US\$|\$|USD\s*)?(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,6})?(?![\d,])")


def printed_totals(text: str) -> list[Decimal]:
    """Amounts on lines that name a total, as printed (with their own number of decimals)."""
    found: list[Decimal] = []
    for line in text.splitlines():
        if not _TOTAL_LINE.search(line):
            continue
        for whole, fraction in _AMOUNT.findall(line):
            if fraction:  # whole numbers on a total line are usually counts or dates
                found.append(Decimal(whole.replace(",", "") + fraction))
    return found


def matches_a_total(amount: Decimal, totals: list[Decimal]) -> bool:
    """True when amount, rounded to a printed total's precision, equals that total."""
    for total in totals:
        places = total.as_tuple().exponent
        if not isinstance(places, int):  # NaN or infinity: no printed total looks like that
            continue
        exponent = Decimal(1).scaleb(places)
        if amount.quantize(exponent, rounding=ROUND_HALF_UP) == total:
            return True
    return False
