"""The statistics a run is judged by, on small hand-made tables, against values computed by hand here
(issue 19, item 2): the Gini coefficient, percentiles, and every summary rate and share of the outcome
registry. A rate per 1,000 instead of per 10,000, a Gini from another formula, a mean over months instead of
worker-months: each of these gives another number below."""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.results.outcomes import OUTCOMES, RunTables
from sim.results.columns import gini, percentile_sorted


def gini_by_hand(x) -> float:
    """The mean absolute difference over every ordered pair, over twice the mean: G = sum |xi - xj| / (2 n^2 mean)."""
    x = list(map(float, x))
    n = len(x)
    return sum(abs(a - b) for a, b in itertools.product(x, x)) / (2 * n * n * (sum(x) / n))


@pytest.mark.parametrize("values", [[1, 1, 1, 1], [0, 0, 0, 1], [1, 2, 3, 4], [5, 0, 2, 9, 9, 1, 0], [0.5, 100.0]])
def test_gini_is_the_mean_absolute_difference_over_twice_the_mean(values):
    assert gini(np.array(values)) == pytest.approx(gini_by_hand(values), abs=1e-12)
    assert gini(np.sort(np.array(values, dtype=float)), is_sorted=True) == pytest.approx(
        gini_by_hand(values), abs=1e-12
    )


def test_gini_of_known_cases():
    assert gini(np.array([3.0, 3.0, 3.0])) == 0.0
    assert gini(np.array([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75)  # one holds all: (n - 1) / n
    assert gini(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(0.25)  # 20 / (2 x 16 x 2.5)
    assert math.isnan(gini(np.zeros(3))) and math.isnan(gini(np.array([])))


@pytest.mark.parametrize("q, expected", [(0, 10.0), (25, 17.5), (50, 25.0), (90, 37.0), (100, 40.0)])
def test_percentiles_interpolate_between_ranks(q, expected):
    # four sorted values: the q-th percentile sits at rank q/100 x 3, between its neighbours
    ordered = np.array([10.0, 20.0, 30.0, 40.0])
    assert percentile_sorted(ordered, q) == pytest.approx(expected)


def _result():
    """Three months, a workforce of 100, 200 and 300 working (600 worker-months, 50 worker-years), and six
    workers, one of them still abroad."""
    monthly = pd.DataFrame(
        {
            "month": [0, 1, 2],
            "date": ["2016-01", "2016-02", "2016-03"],
            "workers_working": [100, 200, 300],
            "workers_active": [110, 210, 330],
            "deaths": [1, 0, 2],
            "escaped": [0, 1, 0],
            "caught": [2, 0, 0],
            "sent_home": [0, 0, 5],
            "state_take": [1000.0, 2000.0, 3000.0],
            "worker_retained": [100.0, 100.0, 100.0],
            "wages_gross": [500.0, 500.0, 500.0],
            "side_earnings": [100.0, 0.0, 0.0],
            "revenue_delivered": [12.0, 12.0, 12.0],
            "revenue_interdicted": [1.0, 2.0, 3.0],
            "hours_mean": [10.0, 12.0, 14.0],
            "share_zero_retained": [0.1, 0.2, 0.6],
        }
    )
    workers = pd.DataFrame(
        {
            "status": ["completed", "sent_home", "escaped", "dead", "completed", "active"],
            "net_gain": [-100.0, 0.0, 50.0, 200.0, 1000.0, 99999.0],
            "entry_bribe": [100.0, 300.0, 50.0, 1000.0, 200.0, 400.0],
            "months_abroad": [36, 0, 7, 0, 40, 3],
        }
    )
    return SimpleNamespace(monthly=monthly, workers=workers, hosts=pd.DataFrame(), manifest={})


@pytest.mark.parametrize(
    "name, expected",
    [
        # rates per worker-years: events / (worker-months / 12) x per
        ("deaths_per_10000_worker_years", 3 / 50 * 10_000),
        ("escapes_per_1000_worker_years", 1 / 50 * 1_000),
        ("caught_per_1000_worker_years", 2 / 50 * 1_000),
        ("sent_home_per_1000_worker_years", 5 / 50 * 1_000),
        # per worker-month: the sum over the sum of workers working
        ("state_take_per_worker_month", 6000 / 600),
        ("retained_per_worker_month", 300 / 600),
        # the share of gross earnings (wages and side jobs) kept
        ("worker_share_kept", 300 / 1600),
        # a year of three months: the total times 12 / 3
        ("revenue_delivered_per_year", 36 * 4),
        ("state_take_per_year", 6000 * 4),
        ("revenue_interdicted_per_year", 6 * 4),
        # hours: the month's mean weighted by the workers working
        ("hours_mean", (10 * 100 + 12 * 200 + 14 * 300) / 600),
        # monthly means
        ("share_zero_retained_mean", 0.3),
        ("workers_active_mean", 650 / 3),
        ("workers_final", 330),
        # the workers who left (not the one still abroad): linear interpolation between ranks
        ("net_gain_p50", 50.0),
        ("net_gain_p10", -100 + 0.4 * 100),  # rank 0.4 of 0..4
        ("net_gain_p90", 200 + 0.6 * 800),  # rank 3.6
        ("net_gain_mean", (-100 + 0 + 50 + 200 + 1000 + 99999) / 6),  # every worker, as the registry says
        ("entry_bribe_median", 250.0),  # every worker's entry bribe
        # the completed spells: the five who left served 36, 0, 7, 0 and 40 months (the one abroad is not counted)
        ("tenure_median_months", 7.0),
        ("left_in_first_month_share", 2 / 5),
    ],
)
def test_every_summary_statistic_on_a_hand_made_run(name, expected):
    assert OUTCOMES[name].compute(RunTables(_result())) == pytest.approx(expected)


def test_no_worker_month_gives_undefined_rates_not_zero():
    r = _result()
    r.monthly["workers_working"] = 0
    t = RunTables(r)
    for name in (
        "deaths_per_10000_worker_years",
        "escapes_per_1000_worker_years",
        "state_take_per_worker_month",
        "hours_mean",
    ):
        assert math.isnan(OUTCOMES[name].compute(t)), name
