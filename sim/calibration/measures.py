"""Where a run's outcomes fall against the target ranges, and the validation facts' measures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..common.errors import ExperimentError
from ..core.fields import months_spanned
from .targets import Fact, Target, Targets


def miss(value: float, low: float, high: float) -> float:
    """0 inside [low, high]; outside, the miss relative to the range's near end (inf if the value is undefined)."""
    if value != value:
        return math.inf
    if value < low:
        return (low - value) / abs(low) if low else low - value
    if value > high:
        return (value - high) / abs(high) if high else value - high
    return 0.0


def position(value: float, target: Target) -> float:
    """Where a value sits in a target's range: -1 at the low end, 0 at the centre, +1 at the high end.

    On a log scale when the range spans more than a factor of 4 (a median
    bribe of $100-$3,000 is centred near $550, not $1,550). NaN is inf.
    """
    if value != value:
        return math.inf
    if target.log:
        if value <= 0:
            return -math.inf
        lo, hi, v = math.log(target.low), math.log(target.high), math.log(value)
    else:
        lo, hi, v = target.low, target.high, value
    return (v - (lo + hi) / 2) / ((hi - lo) / 2)


def distance(positions: np.ndarray) -> np.ndarray:
    """Root mean square of the positions (rows: sets, columns: targets); inside every range iff max |position| <= 1."""
    p = np.asarray(positions, dtype=float)
    return np.sqrt(np.mean(p**2, axis=-1))


def evaluate(outcomes: dict[str, float], targets: Targets) -> list[dict]:
    """One row per target: its range, the run's value, whether it is inside, the miss and the position."""
    rows = []
    for name, t in targets.spec.targets.items():
        value = float(outcomes[t.outcome])
        rows.append(
            {
                "target": name,
                "outcome": t.outcome,
                "low": t.low,
                "high": t.high,
                "value": value,
                "inside": bool(t.low <= value <= t.high),
                "miss": miss(value, t.low, t.high),
                "position": position(value, t),
                "source": t.source,
            }
        )
    return rows


def measure(hosts: pd.DataFrame, fact: Fact, scale: float = 1.0) -> float:
    """A fact's measure from one run's per-host monthly table (counts divided by the simulated scale)."""
    h = hosts if fact.host is None else hosts[hosts["host"] == fact.host]
    if fact.measure in ("ratio", "weighted_mean"):
        return _ratio(h, fact)
    by_date = h.groupby("date")[fact.column].sum()

    def level(d):
        if d not in by_date.index:
            raise ExperimentError(
                f"validation: month {d} is outside the run ({by_date.index.min()} to {by_date.index.max()})"
            )
        return float(by_date[d])

    def total(frame):
        sel = frame[(frame["date"] >= fact.start) & (frame["date"] <= fact.end)]
        return float(sel[fact.column].sum())

    for d in (fact.start, fact.end):
        if d is not None:
            level(d)  # inside the run
    if fact.measure == "level":
        return level(fact.end) / scale
    if fact.measure == "change":
        a = level(fact.start)
        return (level(fact.end) - a) / a if a else math.nan
    if fact.measure == "total":
        return total(h) / scale
    if fact.measure == "per_year":
        assert fact.start is not None  # every measure but level has a first month (Fact checks)
        months = months_spanned(fact.start, fact.end)
        return total(h) / scale / (months / 12.0)
    whole = total(hosts)
    return total(h) / whole if whole else math.nan


def _ratio(h: pd.DataFrame, fact: Fact) -> float:
    """ratio: factor x (sum of ``column``) / (sum of ``per``) over the months; weighted_mean: the mean of ``column``
    weighted by ``per`` (both independent of the simulated scale)."""
    dates = set(h["date"])
    for d in (fact.start, fact.end):
        if d not in dates:
            raise ExperimentError(f"validation: month {d} is outside the run ({min(dates)} to {max(dates)})")
    sel = h[(h["date"] >= fact.start) & (h["date"] <= fact.end)]
    cols = lambda c: [c] if isinstance(c, str) else list(c)  # noqa: E731
    if fact.measure == "weighted_mean":
        w = sel[fact.per].to_numpy(float)
        x = sel[fact.column].to_numpy(float)
        has = w > 0  # a host-month with nobody at work has no mean (NaN) and no weight: it is left out
        return float((x[has] * w[has]).sum() / w[has].sum()) if has.any() else math.nan
    top = float(sel[cols(fact.column)].to_numpy(float).sum())
    bottom = float(sel[cols(fact.per)].to_numpy(float).sum())
    return fact.factor * top / bottom if bottom > 0 else math.nan
