"""The scoring rules of sim/calibration/scoring.py: the CRPS against its O(n^2) definition and the normal
distribution's closed form, the interval score by hand, and a score table whose winner is known."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from sim.calibration.scoring import (
    central_interval,
    crps_ensemble,
    ensemble_interval_score,
    interval_score,
    quantile_columns,
    score_summary,
    score_table,
    skill,
)

STANDARD = NormalDist()


def crps_by_definition(samples, y) -> float:
    """E|X - y| - 0.5 E|X - X'| over every pair of members (Gneiting & Raftery 2007, eq. 20), O(n^2)."""
    x = np.asarray(samples, dtype=float)
    return float(np.mean(np.abs(x - y)) - 0.5 * np.mean(np.abs(x[:, None] - x[None, :])))


def crps_normal(mu: float, s: float, y: float) -> float:
    """The CRPS of N(mu, s^2) at y in closed form (Gneiting & Raftery 2007, eq. 21)."""
    z = (y - mu) / s
    return s * (z * (2 * STANDARD.cdf(z) - 1) + 2 * STANDARD.pdf(z) - 1 / math.sqrt(math.pi))


def normal_quantiles(n: int) -> np.ndarray:
    """The standard normal's quantiles at the midpoints (i - 0.5)/n: an ensemble that is N(0, 1) to within 1/n."""
    return np.array([STANDARD.inv_cdf((i + 0.5) / n) for i in range(n)])


def test_crps_by_hand():
    # [1, 2, 3] at 2: E|X - y| = 2/3, E|X - X'| = (0+1+2 + 1+0+1 + 2+1+0)/9 = 8/9, so 2/3 - 4/9 = 2/9
    assert crps_ensemble([3.0, 1.0, 2.0], 2.0) == pytest.approx(2 / 9, rel=1e-15)
    # [0, 10] at 0: E|X - y| = 5, E|X - X'| = 10/2 = 5, so 5 - 2.5
    assert crps_ensemble([0.0, 10.0], 0.0) == pytest.approx(2.5, rel=1e-15)


@pytest.mark.parametrize("seed", range(8))
def test_crps_equals_its_quadratic_definition_on_random_ensembles(seed):
    # Both sides are exact formulas for the same number and differ only by rounding: sums of at most n^2
    # terms, each no larger than the ensemble's range, with the CRPS a sizeable share of that range (no
    # cancellation), so their relative difference is of order n * 2.2e-16 < 1e-13 for n <= 400; 1e-12 leaves
    # room for that and is far below any formula error (a divisor n(n - 1) for n^2 moves it by ~1/n).
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    centre, spread = rng.choice([0.0, 100_000.0, 3e7]), rng.choice([0.01, 1.0, 5_000.0])
    x = centre + spread * (rng.standard_normal(n) if seed % 2 else rng.lognormal(0.0, 1.0, n))
    if seed % 3 == 0:
        x[: n // 3] = x[0]  # ties
    for y in (centre, centre + 3 * spread, float(np.median(x)), float(x[1])):
        assert crps_ensemble(x, y) == pytest.approx(crps_by_definition(x, y), rel=1e-12, abs=0)


@pytest.mark.parametrize(
    ("mu", "s", "y"), [(0.0, 1.0, 0.0), (3.0, 2.0, 4.5), (100_000.0, 5_000.0, 91_000.0), (0.0, 1.0, -3.0)]
)
def test_crps_of_a_large_normal_ensemble_matches_the_closed_form(mu, s, y):
    # The ensemble mu + s * (the N(0, 1) quantiles at (i - 0.5)/n) is N(mu, s^2) up to steps of 1/n in its CDF
    # and tails cut at z = +/-3.9. Measured, that moves the CRPS by at most 4e-7 s at n = 10^4 for |z| <= 3
    # (9e-9 s at the centre); the tolerance, 2e-6 s, is 25 times smaller than the 5.6e-5 s by which the
    # "fair" ensemble CRPS (divisor n(n - 1)) or any error of order 1/n would miss.
    z = normal_quantiles(10_000)
    assert abs(crps_ensemble(mu + s * z, y) - crps_normal(mu, s, y)) < 2e-6 * s


def test_a_single_value_scores_its_absolute_error():
    assert crps_ensemble([7.5], 10.0) == 2.5
    assert crps_ensemble(np.array([-3.0]), -3.0) == 0.0
    assert crps_ensemble([4.0, 4.0, 4.0], 1.0) == 3.0  # a point mass, however many members


def test_nan_members_are_dropped_and_nothing_left_is_nan():
    assert crps_ensemble([1.0, math.nan, 3.0, math.nan], 2.5) == crps_ensemble([1.0, 3.0], 2.5)
    # [1, 3] at 2.5: E|X - y| = (1.5 + 0.5)/2 = 1, E|X - X'| = (0 + 2 + 2 + 0)/4 = 1, so 1 - 0.5
    assert crps_ensemble([1.0, math.nan, 3.0], 2.5) == pytest.approx(0.5, rel=1e-15)
    assert math.isnan(crps_ensemble([math.nan, math.nan], 1.0))
    assert math.isnan(crps_ensemble([], 1.0))
    assert math.isnan(crps_ensemble([1.0, 2.0], math.nan))
    assert ensemble_interval_score([*range(101), math.nan], 50.0) == ensemble_interval_score(range(101), 50.0)
    assert math.isnan(ensemble_interval_score([math.nan], 1.0))


def test_interval_score_by_hand():
    # [2, 6] at alpha 0.1: width 4, and 2/alpha = 20 per unit outside
    assert interval_score(2.0, 6.0, 3.0, 0.1) == pytest.approx(4.0)  # inside
    assert interval_score(2.0, 6.0, 2.0, 0.1) == pytest.approx(4.0)  # on an end: inside
    assert interval_score(2.0, 6.0, 1.0, 0.1) == pytest.approx(4.0 + 20 * 1)  # 1 below
    assert interval_score(2.0, 6.0, 8.0, 0.1) == pytest.approx(4.0 + 20 * 2)  # 2 above
    assert interval_score(2.0, 6.0, 8.0, 0.5) == pytest.approx(4.0 + 4 * 2)  # a 50% interval is penalised less
    assert math.isnan(interval_score(2.0, 6.0, math.nan, 0.1))
    with pytest.raises(ValueError, match="alpha"):
        interval_score(2.0, 6.0, 3.0, 1.0)
    with pytest.raises(ValueError, match="lower end"):
        interval_score(6.0, 2.0, 3.0, 0.1)


def test_ensemble_interval_score_uses_the_central_quantiles():
    x = np.arange(101.0)  # 0, 1, ..., 100: the 5th and 95th percentiles are 5 and 95
    assert central_interval(x, 0.9) == pytest.approx((5.0, 95.0), rel=1e-12)  # 0.5 - 0.45 is 0.04999...
    assert central_interval(x, 0.5) == pytest.approx((25.0, 75.0), rel=1e-12)
    assert ensemble_interval_score(x, 50.0) == pytest.approx(90.0)
    assert ensemble_interval_score(x, 0.0) == pytest.approx(90.0 + 20 * 5)  # 5 below the 5th percentile
    assert ensemble_interval_score(x, 100.0, level=0.5) == pytest.approx(50.0 + 4 * 25)
    assert quantile_columns(0.9) == ("p05", "p50", "p95")
    assert quantile_columns(0.8) == ("p10", "p50", "p90")


def test_skill():
    assert skill(1.0, 2.0) == 0.5
    assert skill(2.0, 2.0) == 0.0
    assert skill(3.0, 2.0) == -0.5
    assert skill(0.0, 2.0) == 1.0
    assert math.isnan(skill(1.0, 0.0))
    assert math.isnan(skill(math.nan, 1.0))
    assert math.isnan(skill(1.0, math.nan))


# Two facts in different units; each forecast is the truth shifted and scaled by a fact's own unit, from the
# same standard ensemble Z (symmetric, so its median is 0): the posterior sharp and centred, the prior wide and
# centred, the constant world sharp but 3 units off.
FACTS = {"workers_abroad_2019": 100_000.0, "remittances_2019_usd": 5e8}
UNIT = {"workers_abroad_2019": 10_000.0, "remittances_2019_usd": 1e8}
Z = normal_quantiles(2_000)
SHAPE = {"posterior": (0.0, 0.1), "prior": (0.0, 5.0), "constant": (-3.0, 0.1)}  # (shift, scale) in units


def ensembles(reversed_facts: bool = False) -> dict:
    names = list(FACTS)[::-1] if reversed_facts else list(FACTS)
    return {
        forecast: {f: FACTS[f] + UNIT[f] * (shift + scale * Z) for f in names}
        for forecast, (shift, scale) in SHAPE.items()
    }


def test_score_table_ranks_a_sharp_centred_ensemble_first():
    table = score_table(FACTS, ensembles(reversed_facts=True), reference="prior")
    assert list(table.columns) == [
        "fact",
        "forecast",
        "observed",
        "p05",
        "p50",
        "p95",
        "crps",
        "interval_score",
        "covered",
        "crps_skill",
        "interval_skill",
    ]
    assert list(zip(table["fact"], table["forecast"])) == [(f, k) for f in FACTS for k in SHAPE]
    row = table.set_index(["fact", "forecast"])
    z05, z95 = central_interval(Z, 0.9)
    for fact, y in FACTS.items():
        u = UNIT[fact]
        post, prior, const = (row.loc[(fact, k)] for k in ("posterior", "prior", "constant"))
        assert post["observed"] == y and post["p50"] == pytest.approx(y, abs=1e-9 * y)
        assert post["p05"] == pytest.approx(y + 0.1 * u * z05) and post["p95"] == pytest.approx(y + 0.1 * u * z95)
        assert const["p50"] == pytest.approx(y - 3 * u)
        # the CRPS of a centred ensemble scales with its spread: the posterior's is 0.1/5 of the prior's
        assert post["crps_skill"] == pytest.approx(1 - 0.1 / 5, rel=1e-9)
        assert post["crps"] == pytest.approx(0.1 * u * crps_ensemble(Z, 0.0), rel=1e-9)
        # a central interval's score is its width when it covers: 0.1/5 of the prior's again
        assert post["interval_skill"] == pytest.approx(1 - 0.1 / 5, rel=1e-9)
        assert post["interval_score"] == pytest.approx(0.1 * u * (z95 - z05), rel=1e-9)
        # the reference against itself
        assert prior["crps_skill"] == 0.0 and prior["interval_skill"] == 0.0
        # the constant world misses by 3 units: worse than the wide prior (whose CRPS is about 1.17 units)
        assert const["crps"] == pytest.approx(crps_ensemble(y - 3 * u + 0.1 * u * Z, y))
        assert const["crps"] > prior["crps"] > post["crps"]
        assert const["crps_skill"] < 0 and const["interval_skill"] < 0
        # the truth lies 3 units less 0.1 z95 above its interval's upper end: width + (2/0.1) times that
        assert const["interval_score"] == pytest.approx(0.1 * u * (z95 - z05) + 20 * (3 * u - 0.1 * u * z95))
        assert (post["covered"], prior["covered"], const["covered"]) == (True, True, False)

    summary = score_summary(table).set_index("forecast")
    assert list(summary.index) == ["posterior", "prior", "constant"]
    assert summary["facts"].to_dict() == {"posterior": 2, "prior": 2, "constant": 2}
    assert summary["covered"].to_dict() == {"posterior": 2, "prior": 2, "constant": 0}
    assert summary["beats_reference"].to_dict() == {"posterior": 2, "prior": 0, "constant": 0}
    assert summary.loc["posterior", "median_crps_skill"] == pytest.approx(0.98, rel=1e-9)
    assert summary.loc["prior", "median_crps_skill"] == 0.0
    assert summary.loc["constant", "median_crps_skill"] < 0

    # against the constant world instead, both centred forecasts beat it on both facts
    by_constant = score_summary(score_table(FACTS, ensembles(), reference="constant")).set_index("forecast")
    assert by_constant["beats_reference"].to_dict() == {"posterior": 2, "prior": 2, "constant": 0}


def test_the_summary_takes_the_median_skill_over_facts():
    # centred ensembles with spreads 0.1, 2.5 and 4 against a reference of spread 5: CRPS skills 0.98, 0.5 and
    # 0.2 (the CRPS of a centred ensemble scales with its spread), so the median is 0.5 (the mean would be 0.56)
    facts = {"a": 1.0, "b": 2.0, "c": 3.0}
    spread = {"a": 0.1, "b": 2.5, "c": 4.0}
    given = {
        "model": {f: y + spread[f] * Z for f, y in facts.items()},
        "wide": {f: y + 5 * Z for f, y in facts.items()},
    }
    table = score_table(facts, given, reference="wide")
    assert table[table["forecast"] == "model"]["crps_skill"].tolist() == pytest.approx([0.98, 0.5, 0.2], rel=1e-9)
    summary = score_summary(table).set_index("forecast")
    assert summary.loc["model", "median_crps_skill"] == pytest.approx(0.5, rel=1e-9)
    assert summary.loc["model", "beats_reference"] == 3 and summary.loc["model", "facts"] == 3


def test_the_level_names_the_quantile_columns_and_sets_the_interval():
    table = score_table(FACTS, ensembles(), reference="prior", level=0.8)
    assert {"p10", "p50", "p90"} <= set(table.columns) and "p05" not in table.columns
    post = table[table["forecast"] == "posterior"].iloc[0]
    y, u = FACTS[post["fact"]], UNIT[post["fact"]]
    assert post["p90"] == pytest.approx(y + 0.1 * u * central_interval(Z, 0.8)[1])
    assert post["interval_score"] == pytest.approx(ensemble_interval_score(y + 0.1 * u * Z, y, level=0.8))


def test_an_observation_on_an_end_of_the_interval_is_covered():
    # 0, 1, ..., 100 at the 50% level: the interval is exactly [25, 75]
    table = score_table({"f": 25.0}, {"wide": {"f": np.arange(101.0)}}, reference="wide", level=0.5)
    assert (table.loc[0, "p25"], table.loc[0, "p75"]) == (25.0, 75.0)
    assert bool(table.loc[0, "covered"]) and table.loc[0, "interval_score"] == 50.0
    assert not score_table({"f": 24.9}, {"wide": {"f": np.arange(101.0)}}, reference="wide", level=0.5).loc[
        0, "covered"
    ]


def test_a_missing_fact_names_the_fact_and_the_forecast():
    given = ensembles()
    del given["constant"]["remittances_2019_usd"]
    with pytest.raises(ValueError) as caught:
        score_table(FACTS, given, reference="prior")
    message = str(caught.value)
    assert message == "fact 'remittances_2019_usd' is missing from forecast 'constant'"
    assert "\n" not in message


def test_a_reference_not_among_the_forecasts_is_refused():
    with pytest.raises(ValueError, match="reference forecast 'naive' is not among the forecasts"):
        score_table(FACTS, ensembles(), reference="naive")
