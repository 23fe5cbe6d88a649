"""Proper scoring rules for ensemble forecasts of the held-out facts, and skill against a reference forecast.

A forecast of a fact is an ensemble of values (one per posterior draw, one per prior draw, or a "constant
world" ensemble holding an earlier level). Each ensemble is scored against the reported value by the
continuous ranked probability score (CRPS) and by the interval score of its central interval (Gneiting &
Raftery 2007, "Strictly proper scoring rules, prediction, and estimation", JASA 102(477): 359-378); both are
negatively oriented (lower is better) and in the fact's own unit. Facts come in very different units
(workers, dollars), so forecasts are compared across facts by skill scores, ratios to a reference
forecast's score on the same fact.

Pure functions of numbers: nothing here runs the model or touches files.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..common.errors import ExperimentError


def _values(samples: ArrayLike) -> np.ndarray:
    """An ensemble as a flat float array with its NaN members dropped (a draw whose run could not measure the
    fact carries no information about it, so it is left out rather than counted as a value); the scores below
    are then those of the empirical distribution of the remaining members, as in Gneiting & Raftery (2007),
    section 4.2."""
    x = np.asarray(samples, dtype=float).ravel()
    return x[~np.isnan(x)]


def crps_ensemble(samples: ArrayLike, observed: float) -> float:
    """The continuous ranked probability score of an ensemble's empirical CDF at an observation,
    CRPS = E|X - y| - 0.5 E|X - X'| (Gneiting & Raftery 2007, eq. 20; lower is better, in the unit of the
    fact), computed exactly in O(n log n) from the sorted members x_(1) <= ... <= x_(n) through the identity
    E|X - X'| = (2/n^2) sum_i (2i - n - 1) x_(i) (the Gini mean difference of the empirical distribution;
    e.g. Jordan, Krueger & Lerch 2019, "Evaluating probabilistic forecasts with scoringRules", J. Stat.
    Softw. 90(12), section 2): CRPS = mean_i |x_i - y| - (1/n^2) sum_i (2i - n - 1) x_(i). The weights sum to
    zero, so the members are taken relative to the smallest one, which keeps the sum accurate for large
    counts with a small spread. This is the score of the empirical distribution itself (divisor n^2), not the
    "fair" ensemble CRPS (divisor n(n - 1)). NaN members are dropped; an ensemble with none left, or a NaN
    observation, scores NaN; a single value x scores |x - y|."""
    x = np.sort(_values(samples))
    y = float(observed)
    n = x.size
    if n == 0 or math.isnan(y):
        return math.nan
    weights = 2.0 * np.arange(1, n + 1) - n - 1
    half_spread = float(np.dot(weights, x - x[0])) / n**2
    return float(np.mean(np.abs(x - y))) - half_spread


def interval_score(lower: float, upper: float, observed: float, alpha: float) -> float:
    """The interval score of a central (1 - alpha) prediction interval [l, u] at an observation y,
    (u - l) + (2/alpha)(l - y) 1{y < l} + (2/alpha)(y - u) 1{y > u} (Gneiting & Raftery 2007, eq. 43; lower
    is better, in the unit of the fact): the interval's width plus a penalty, growing as alpha shrinks, for
    the distance by which the observation falls outside it. An observation on an end counts as inside. NaN in
    any of the three numbers gives NaN; alpha outside (0, 1) or lower > upper raises ValueError."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"interval_score: alpha must lie strictly between 0 and 1, not {alpha}")
    lo, hi, y = float(lower), float(upper), float(observed)
    if math.isnan(lo) or math.isnan(hi) or math.isnan(y):
        return math.nan
    if lo > hi:
        raise ValueError(f"interval_score: the lower end {lo} is above the upper end {hi}")
    penalty = (2.0 / alpha) * ((lo - y) if y < lo else (y - hi) if y > hi else 0.0)
    return (hi - lo) + penalty


def central_interval(samples: ArrayLike, level: float = 0.9) -> tuple[float, float]:
    """An ensemble's central interval at ``level``: its quantiles at 0.5 - level/2 and 0.5 + level/2 (the 5th
    and 95th percentiles at 0.9), by numpy's default linear interpolation between order statistics (Hyndman &
    Fan 1996, "Sample quantiles in statistical packages", Am. Stat. 50(4): 361-365, definition 7). NaN members
    are dropped; an empty ensemble gives (NaN, NaN); ``level`` outside (0, 1) raises ValueError."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"central_interval: level must lie strictly between 0 and 1, not {level}")
    x = _values(samples)
    if x.size == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(x, [0.5 - level / 2, 0.5 + level / 2])
    return float(lo), float(hi)


def ensemble_interval_score(samples: ArrayLike, observed: float, level: float = 0.9) -> float:
    """The interval score (Gneiting & Raftery 2007, eq. 43, with alpha = 1 - level) of an ensemble's central
    interval at ``level`` (``central_interval``: its quantiles at 0.5 - level/2 and 0.5 + level/2, Hyndman &
    Fan 1996 definition 7) at an observation; NaN members are dropped, an ensemble with none left scores
    NaN."""
    lo, hi = central_interval(samples, level)
    return interval_score(lo, hi, observed, 1.0 - level)


def skill(score_model: float, score_reference: float) -> float:
    """The skill score of a negatively oriented score against a reference forecast's score on the same
    observation, 1 - model/reference (Gneiting & Raftery 2007, eq. 16, with the optimum score 0, as for the
    CRPS and the interval score): positive when the model scores lower (better) than the reference, 1 at a
    perfect forecast, 0 when they are equal, negative when the model is worse. A ratio, so it compares
    forecasts across facts in different units. NaN if either score is NaN or the reference's is 0."""
    m, r = float(score_model), float(score_reference)
    if math.isnan(m) or math.isnan(r) or r == 0.0:
        return math.nan
    return 1.0 - m / r


def quantile_columns(level: float = 0.9) -> tuple[str, str, str]:
    """The names of ``score_table``'s quantile columns at ``level``: the lower end, the median and the upper
    end of the central interval as percentiles, ``("p05", "p50", "p95")`` at 0.9 and ``("p10", "p50",
    "p90")`` at 0.8 (a non-integer percentile keeps its decimals: ``"p2.5"`` at 0.95); the interval is
    ``central_interval``'s (Hyndman & Fan 1996, definition 7)."""
    low = 100.0 * (0.5 - level / 2)
    high = 100.0 * (0.5 + level / 2)
    return f"p{round(low, 6):02g}", "p50", f"p{round(high, 6):02g}"


def score_table(
    facts: dict[str, float],
    ensembles: dict[str, dict[str, ArrayLike]],
    reference: str,
    level: float = 0.9,
) -> pd.DataFrame:
    """One row per (fact, forecast), facts in the order of ``facts`` and forecasts in the order of
    ``ensembles``: the columns fact, forecast, observed, the central interval's ends and median
    (``quantile_columns(level)``, p05/p50/p95 at 0.9), crps (``crps_ensemble``, Gneiting & Raftery 2007
    eq. 20), interval_score (``ensemble_interval_score``, their eq. 43 with alpha = 1 - level), covered
    (whether the observation lies in the closed interval) and crps_skill and interval_skill (``skill``, their
    eq. 16, against the ``reference`` forecast's score on the same fact; the reference's own rows are 0, or
    NaN where its score is 0). ``facts`` maps a fact's name to its observed value, ``ensembles`` a forecast's
    name to its samples of each fact (facts it has beyond ``facts`` are ignored). A reference not among the
    forecasts, or a fact missing from a forecast, raises ``ExperimentError`` (a ValueError), one line per
    problem naming the forecast and the fact."""
    problems: list[str] = []
    if reference not in ensembles:
        problems.append(f"reference forecast {reference!r} is not among the forecasts {sorted(ensembles)}")
    for forecast, by_fact in ensembles.items():
        problems += [f"fact {fact!r} is missing from forecast {forecast!r}" for fact in facts if fact not in by_fact]
    if problems:
        raise ExperimentError(problems)
    low, mid, high = quantile_columns(level)
    rows = []
    for fact, observed in facts.items():
        y = float(observed)
        ref = ensembles[reference][fact]
        ref_crps = crps_ensemble(ref, y)
        ref_interval = ensemble_interval_score(ref, y, level)
        for forecast, by_fact in ensembles.items():
            samples = _values(by_fact[fact])
            lo, hi = central_interval(samples, level)
            crps = crps_ensemble(samples, y)
            interval = ensemble_interval_score(samples, y, level)
            rows.append(
                {
                    "fact": fact,
                    "forecast": forecast,
                    "observed": y,
                    low: lo,
                    mid: float(np.median(samples)) if samples.size else math.nan,
                    high: hi,
                    "crps": crps,
                    "interval_score": interval,
                    "covered": bool(lo <= y <= hi),
                    "crps_skill": skill(crps, ref_crps),
                    "interval_skill": skill(interval, ref_interval),
                }
            )
    columns = ["fact", "forecast", "observed", low, mid, high, "crps", "interval_score", "covered"]
    return pd.DataFrame(rows, columns=columns + ["crps_skill", "interval_skill"])


def score_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per forecast of a ``score_table`` (in its order): facts (the number of facts scored), covered (how many
    observations lie in its central interval), median_crps_skill (the median over facts of its CRPS skill
    score against the table's reference, Gneiting & Raftery 2007 eqs. 16 and 20; facts where it is NaN left
    out) and beats_reference (on how many facts its CRPS is lower than the reference's: exactly the facts
    where its CRPS skill is positive, since the CRPS is never negative; the reference itself beats it on
    none)."""
    rows = []
    for forecast, rows_of in table.groupby("forecast", sort=False):
        skills = rows_of["crps_skill"].astype(float)
        rows.append(
            {
                "forecast": forecast,
                "facts": int(rows_of["fact"].nunique()),
                "covered": int(rows_of["covered"].sum()),
                "median_crps_skill": float(skills.median()) if skills.notna().any() else math.nan,
                "beats_reference": int((skills > 0).sum()),
            }
        )
    return pd.DataFrame(rows, columns=["forecast", "facts", "covered", "median_crps_skill", "beats_reference"])
