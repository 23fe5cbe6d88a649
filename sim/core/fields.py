"""Schema building blocks shared by the parameter sections and the policy kinds."""

from __future__ import annotations

import re

from pydantic import Field

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def F(default, source: str, description: str = "", **constraints):
    """A field with its source recorded (shown in baseline.toml and the ODD)."""
    return Field(default, description=description, json_schema_extra={"source": source}, **constraints)


def parse_month(value: str) -> tuple[int, int]:
    m = MONTH_RE.fullmatch(value)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"{value!r} is not a month written YYYY-MM")
    if not 1900 <= int(m.group(1)) <= 2200:
        raise ValueError(f"{value!r}: year out of range (1900-2200)")
    return int(m.group(1)), int(m.group(2))


def months_spanned(start: str, end: str) -> int:
    """Months from ``start`` to ``end`` (YYYY-MM), both included: 2020-01 to 2024-12 is 60."""
    (y0, m0), (y1, m1) = parse_month(start), parse_month(end)
    return (y1 - y0) * 12 + (m1 - m0) + 1


def check_month(v):
    """A month given as an index or 'YYYY-MM' (a field validator)."""
    if isinstance(v, bool):
        raise ValueError("must be a month index or 'YYYY-MM', not true/false")
    if isinstance(v, str):
        parse_month(v)
    elif not -2400 <= v <= 2400:
        raise ValueError(f"month index {v} out of range (-2400 to 2400)")
    return v
