"""Schema building blocks shared by the parameter sections and the policy kinds."""

from __future__ import annotations

import functools
import re

from pydantic import Field
from pydantic.json_schema import JsonDict

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


# the units a field may declare, and how a value in each is said (`in_words`)
UNITS = ("share", "share a year", "hours a day", "month", "yes/no", "USD", "USD a month", "workers", "months", "number")


def F(default, source: str, description: str = "", *, unit: str | None = None, **constraints):
    """A field with its source recorded (shown in baseline.toml and the ODD), and its unit when it has one
    (a policy's own fields must: the reports describe a policy from them)."""
    extra: JsonDict = {"source": source}
    if unit is not None:
        extra["unit"] = _checked_unit(unit)
    return Field(default, description=description, json_schema_extra=extra, **constraints)


def U(default=..., description: str = "", *, unit: str, **constraints):
    """A field with a unit and no source of its own (a required month, for instance)."""
    return Field(default, description=description, json_schema_extra={"unit": _checked_unit(unit)}, **constraints)


def _checked_unit(unit: str) -> str:
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r}: not one of {', '.join(UNITS)}")
    return unit


def unit_of(field) -> str | None:
    """The unit a field (a pydantic FieldInfo) declares, or None."""
    extra = field.json_schema_extra
    return extra.get("unit") if isinstance(extra, dict) else None


def source_of(field) -> str:
    """The source a field (a pydantic FieldInfo) cites, or ''."""
    extra = field.json_schema_extra
    return str(extra.get("source", "")) if isinstance(extra, dict) else ""


def in_words(value, unit: str | None) -> str:
    """A value as a sentence says it in its unit: 0.5 share -> '50%', 0.3 share a year -> '30% a year',
    10 hours a day -> '10 hours a day', True yes/no -> 'yes', month 24 -> 'month 24', '2019-12' -> '2019-12'."""
    if isinstance(value, bool) or unit == "yes/no":
        return "yes" if value else "no"
    if unit in ("share", "share a year") and isinstance(value, (int, float)):
        return f"{100 * value:.3g}%" + (" a year" if unit == "share a year" else "")
    if unit == "month":
        return f"month {value}" if isinstance(value, int) else str(value)
    if unit in ("USD", "USD a month") and isinstance(value, (int, float)):
        return f"${value:,.0f}" + (" a month" if unit == "USD a month" else "")
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{value} {unit}" if unit and unit != "number" else str(value)


@functools.lru_cache(maxsize=4096)  # called for every policy, host and month of a run: parse each text once
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
