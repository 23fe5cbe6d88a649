"""Where a run's outcomes fall against the target ranges, and the validation facts' measures."""

from __future__ import annotations

import math
from typing import cast

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


class RunTable:
    """One run's per-host monthly table as numpy columns, for measuring many facts on it: ``RunTable(hosts).
    measure(fact, scale)`` equals `measure` (hosts, fact, scale) to the bit (the same values summed in the same
    order, as pandas sums them: tests/test_calibration_measures.py compares them on runs) at a tenth of its cost,
    which the calibration pays for every fact of every candidate's run. A measure it does not do itself (a level
    or change over all hosts, which pandas sums with compensation) or a month outside the run goes to `measure`."""

    def __init__(self, hosts: pd.DataFrame):
        self.frame = hosts
        self.date = hosts["date"].to_numpy(dtype=str)
        self.host = hosts["host"].to_numpy(dtype=str)
        self._cols: dict[str, np.ndarray] = {}
        self._rows: dict[str | None, tuple[np.ndarray, dict[str, int]]] = {}

    def _col(self, name: str) -> np.ndarray:
        a = self._cols.get(name)
        if a is None:
            a = self._cols[name] = self.frame[name].to_numpy()
        return a

    def _of(self, host: str | None) -> tuple[np.ndarray, dict[str, int]]:
        """A host's rows (all rows for None) and, for a host, the row of each month."""
        got = self._rows.get(host)
        if got is None:
            rows = np.arange(len(self.date)) if host is None else np.flatnonzero(self.host == host)
            at = {d: int(i) for d, i in zip(self.date[rows], rows)}
            got = self._rows[host] = (rows, at)
        return got

    def _total(self, rows: np.ndarray, column: str, fact: Fact) -> float:
        """pandas' Series.sum over the rows in the fact's window: NaN counted as 0, the rest summed by numpy."""
        d = self.date[rows]
        v = self._col(column)[rows[(d >= fact.start) & (d <= fact.end)]]
        if v.dtype.kind == "f":
            v = np.where(np.isnan(v), 0.0, v)
        return float(v.sum())

    def measure(self, fact: Fact, scale: float = 1.0) -> float:
        rows, at = self._of(fact.host)
        column = cast(str, fact.column)  # one column, but for a ratio (Fact checks)
        if (fact.host is None and fact.measure in ("level", "change")) or any(
            d is not None and d not in at for d in (fact.start, fact.end)
        ):
            return measure(self.frame, fact, scale)
        if fact.measure in ("ratio", "weighted_mean"):
            return self._ratio(rows, fact)

        def level(d: str) -> float:  # one row a month: pandas' groupby sum of it is the value (NaN: 0)
            v = self._col(column)[at[d]]
            return 0.0 if v != v else float(v)

        if fact.measure == "level":
            return level(fact.end) / scale
        if fact.measure == "change":
            a = level(cast(str, fact.start))
            return (level(fact.end) - a) / a if a else math.nan
        if fact.measure == "total":
            return self._total(rows, column, fact) / scale
        if fact.measure == "per_year":
            assert fact.start is not None
            return self._total(rows, column, fact) / scale / (months_spanned(fact.start, fact.end) / 12.0)
        whole = self._total(self._of(None)[0], column, fact)
        return self._total(rows, column, fact) / whole if whole else math.nan

    def _ratio(self, rows: np.ndarray, fact: Fact) -> float:
        d = self.date[rows]
        sel = rows[(d >= fact.start) & (d <= fact.end)]
        if fact.measure == "weighted_mean":
            w = self._col(cast(str, fact.per))[sel].astype(float)
            x = self._col(cast(str, fact.column))[sel].astype(float)
            has = w > 0
            return float((x[has] * w[has]).sum() / w[has].sum()) if has.any() else math.nan

        def summed(c) -> float:
            # DataFrame.to_numpy(float) of these columns is column-major: numpy sums column after column
            names = [c] if isinstance(c, str) else list(c)
            return float(np.stack([self._col(n)[sel].astype(float) for n in names]).T.sum())

        top, bottom = summed(fact.column), summed(fact.per)
        return fact.factor * top / bottom if bottom > 0 else math.nan


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
