"""Each outcome carries its meaning on its declaration (issue 27, item 3): which way is better, whether it is a
headline question, whether experiments measure it by default, whether its change reads in percent; the
rankings, the report, the figures and the defaults read them from there."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.results import outcomes
from sim.results.outcomes import OUTCOMES, Outcome


def test_the_two_headline_questions_and_their_directions():
    from sim.explore.analysis import RANKED

    assert outcomes.HEADLINE == ("revenue_delivered_per_year", "retained_per_worker_month")
    assert (outcomes.REVENUE, outcomes.KEPT) == outcomes.HEADLINE
    assert RANKED == {"revenue_delivered_per_year": False, "retained_per_worker_month": True}
    assert (
        OUTCOMES["deaths_per_10000_worker_years"].better == "down"
        and OUTCOMES["escapes_per_1000_worker_years"].better == "neither"
    )
    assert {o.better for o in OUTCOMES.values()} == {"up", "down", "neither"}


def test_one_list_of_default_outcomes():
    from sim import ema
    from sim.explore import spec

    assert outcomes.DEFAULT_OUTCOMES == (
        "revenue_delivered_per_year",
        "state_take_per_worker_month",
        "worker_share_kept",
        "retained_per_worker_month",
        "net_gain_p50",
        "escapes_per_1000_worker_years",
        "deaths_per_10000_worker_years",
        "workers_active_mean",
    )
    assert spec.DEFAULT_OUTCOMES is outcomes.DEFAULT_OUTCOMES and ema.DEFAULT_OUTCOMES is outcomes.DEFAULT_OUTCOMES
    assert spec.Experiment.model_fields["outcomes"].default_factory() == list(outcomes.DEFAULT_OUTCOMES)


def test_selections_name_declared_outcomes_and_percent_changes():
    from sim.plots.report import FOREST

    for name in (
        "REPORTED",
        "COMPARED",
        "CHANGES",
        "WELFARE",
        "WELFARE_AXES",
        "RUN_SUMMARY",
        "NET_GAIN_QUANTILES",
        "CALIBRATION_WELFARE",
        "PREDICTIVE",
    ):
        selection = getattr(outcomes, name)
        assert set(selection) <= set(OUTCOMES) and len(set(selection)) == len(selection), name
    assert [o for o in OUTCOMES if OUTCOMES[o].change_in_percent] == [
        "revenue_delivered_per_year",
        "state_take_per_year",
        "retained_per_worker_month",
        "it_revenue_per_year",
        "factory_revenue_per_year",
    ]
    assert FOREST == [
        ("revenue_delivered_per_year", True),
        ("retained_per_worker_month", True),
        ("net_gain_p50", False),
        ("deaths_per_10000_worker_years", False),
        ("escapes_per_1000_worker_years", False),
    ]


def test_a_ranking_follows_the_declared_direction():
    """rank_probabilities ranks by `better`: flipping an outcome's direction flips who ranks first."""
    from sim.explore.analysis import rank_probabilities

    runs = pd.DataFrame(
        {
            "scenario": ["ref", "a", "b"] * 2,
            "sample": [0, 0, 0, 1, 1, 1],
            "revenue_delivered_per_year": [10.0, 4.0, 6.0, 10.0, 5.0, 7.0],
            "retained_per_worker_month": [1.0, 2.0, 3.0, 1.0, 2.0, 3.0],
        }
    )
    r = rank_probabilities(runs, "ref").set_index(["scenario", "outcome"])
    assert r.loc[("a", "revenue_delivered_per_year"), "p_first"] == 1.0  # the larger cut
    assert r.loc[("b", "retained_per_worker_month"), "p_first"] == 1.0  # the workers keep more
    assert r.loc[("a", "revenue_delivered_per_year"), "better"] == "less"


def test_a_bad_declaration_is_refused():
    with pytest.raises(ValueError, match="better must be one of up, down, neither"):
        Outcome("x", "x", "x", "USD", lambda r: 0.0, better="higher")
    with pytest.raises(ValueError, match="a headline outcome is ranked"):
        Outcome("x", "x", "x", "USD", lambda r: 0.0, headline=True)
