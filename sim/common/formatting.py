"""Numbers as people read them: in the terminal, the reports and the classroom page.

`number` is the one formatter; NaN is always "n/a".

- compact (the default): ``$536.6M``, ``$12.3k``, ``$950`` for money;
  ``1.23B``, ``10.7M``, ``12.3k``, ``950``, ``1.23``, ``0.123`` otherwise;
- ``full=True``: every digit of counts, ``30,023``, ``1,234``, ``12.3``
  (tables of workers, where 23.9k would hide the figure), money above a
  million still as ``$536.6M``;
- ``sign=True`` puts ``+`` before positive values (changes).
"""

from __future__ import annotations


def number(x: float, *, money: bool = False, full: bool = False, sign: bool = False) -> str:
    if x != x:
        return "n/a"
    text = _full(x, money) if full else _compact_money(x) if money else _compact(x)
    return ("+" + text) if sign and x >= 0 else text


def percent(share: float, decimals: int = 1, sign: bool = False) -> str:
    """A share as a percentage: 0.282 -> '28.2%'."""
    if share != share:
        return "n/a"
    return f"{100 * share:{'+' if sign else ''}.{decimals}f}%"


def fixed(x: float, spec: str) -> str:
    """``spec.format(x)``, or n/a for NaN: '{:.2f}', '${:,.0f}' (a negative amount of money as -$12)."""
    if x != x:
        return "n/a"
    if spec.startswith("$") and x < 0:
        return "-" + spec.format(-x)
    return spec.format(x)


def format_money(x: float) -> str:
    """$1.4M, $12.3k, $950; n/a for NaN."""
    return number(x, money=True)


def _compact_money(x: float) -> str:
    sign, a = ("-" if x < 0 else ""), abs(x)  # -$353, not $-353
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if a >= div:
            return f"{sign}${a / div:,.1f}{unit}"
    return f"{sign}${a:,.0f}"


def _compact(x: float) -> str:
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:.2f}B"
    if a >= 1e6:
        return f"{x / 1e6:.1f}M"
    if a >= 1e4:
        return f"{x / 1e3:.1f}k"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def _full(x: float, money: bool) -> str:
    sign, a, cur = ("-" if x < 0 else ""), abs(x), ("$" if money else "")
    if money and a >= 1e6:
        return f"{sign}${a / 1e6:,.1f}M"
    if a >= 1000:
        return f"{sign}{cur}{a:,.0f}"
    if a >= 100:
        return f"{sign}{cur}{a:.0f}"
    if a >= 10:
        return f"{sign}{cur}{a:.1f}"
    return f"{sign}{cur}{a:.3g}"
