"""The adequacy check (sim/calibration/sanctions/adequacy.py): history matching on the candidates the fit
simulated, on constructed candidates whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.calibration.sanctions.adequacy import CUTOFF, adequacy_table, adequacy_text, joint_summary

FACTS = ["a", "b", "c", "d"]


def frame(rows):
    return pd.DataFrame(rows, columns=FACTS)


# a: reached with the rest by candidate 0; b: reached alone by candidate 1 (which misses c), never with a, c and d;
# c: reached by every candidate but 1; d: never within the cut-off (nearest 3.5)
EXPLORED = frame(
    [
        [0.5, 4.0, -1.0, 3.5],  # meets a and c; b, d out
        [2.0, -0.2, 9.0, -4.0],  # meets a, b; c, d out
        [-2.9, 3.1, 0.0, 5.0],  # meets a, c (a at -2.9: inside, signs do not matter)
    ]
)


def test_a_fact_never_within_the_cut_off_is_a_model_failure():
    t = adequacy_table(EXPLORED, EXPLORED, FACTS).set_index("fact")
    assert t.loc["d", "verdict"] == "model failure" and t.loc["d", "nearest"] == pytest.approx(3.5)
    # nothing meets every other fact but d's, so a, b and c cannot be reached jointly either
    assert set(t.loc[["a", "b", "c"], "verdict"]) <= {"reached alone", "in conflict"}


def test_a_fact_the_others_exclude_is_in_conflict_and_jointly_reached_ones_are_reached():
    facts = ["a", "b", "c"]  # without d: candidates 0 and 2 meet a and c; only candidate 1 meets b, and it misses c
    t = adequacy_table(EXPLORED, EXPLORED, facts).set_index("fact")
    assert t.loc["b", "verdict"] == "in conflict"
    assert t.loc["b", "rest_met"] == 2 and t.loc["b", "with_the_rest"] == 0.0
    # a: every candidate meeting b and c meets a too? none meets both b and c, so a is not reached jointly either
    assert t.loc["a", "rest_met"] == 0 and t.loc["a", "verdict"] == "reached alone"
    ok = adequacy_table(EXPLORED, EXPLORED, ["a", "c"]).set_index("fact")
    assert (ok["verdict"] == "reached").all()
    assert ok.loc["c", "explored_within"] == pytest.approx(2 / 3) and ok.loc["a", "explored_within"] == 1.0


def test_the_cut_off_is_three_tolerance_units_inclusive():
    assert CUTOFF == 3.0
    t = adequacy_table(frame([[3.0, 0, 0, 0]]), frame([[3.0, 0, 0, 0], [3.0001, 0, 0, 0]]), FACTS).set_index("fact")
    assert t.loc["a", "prior_within"] == 1.0 and t.loc["a", "explored_within"] == 0.5


def test_the_joint_summary_counts_what_is_not_ruled_out():
    prior = frame([[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 3.2], [1.5, 0.0, 0.0, 0.0], [9, 9, 9, 9]])
    j = joint_summary(prior, prior, FACTS)
    assert j["prior_not_ruled_out"] == pytest.approx(0.5)  # rows 0 and 2
    assert j["explored_not_ruled_out"] == 2 and j["explored_within_one"] == 1  # only row 0 within one on every fact
    assert j["best_max_implausibility"] == pytest.approx(0.5)


def test_missing_misses_are_a_one_line_error_and_the_text_names_the_failures():
    with pytest.raises(ValueError, match="no misses for e"):
        adequacy_table(EXPLORED, EXPLORED, [*FACTS, "e"])
    t = adequacy_table(EXPLORED, EXPLORED, FACTS)
    text = "\n".join(adequacy_text(t, joint_summary(EXPLORED, EXPLORED, FACTS), {"d": "the fact d"}))
    assert "the fact d (model failure)" in text and "**model failure**" in text


def test_a_candidate_a_mechanism_rules_out_meets_no_fact_jointly():
    """The fit constrained by its mechanisms (`fit.RULED_OUT`): a candidate outside a mechanism's range counts as
    ruled out in the joint summary and in the verdicts, however near it comes on every fact; the mechanism rows give
    each range's share of the prior's draws and of every candidate inside it, by hand."""
    from sim.calibration.sanctions.adequacy import mechanism_rows
    from sim.calibration.sanctions.fit import MECHANISM, RULED_OUT
    from sim.calibration.targets import Fact

    facts = ["a", "c"]  # candidates 0 and 2 reach both (see EXPLORED); rule candidate 0 out, then 2 as well
    one = EXPLORED.assign(**{RULED_OUT: [True, False, False], f"{MECHANISM}m": [80.0, 10.0, 50.0]})
    t = adequacy_table(one, one, facts).set_index("fact")
    assert (t["verdict"] == "reached").all() and t.loc["a", "rest_met"] == 1  # only candidate 2 now
    both = one.assign(**{RULED_OUT: [True, False, True]})
    t = adequacy_table(both, both, facts).set_index("fact")
    # only candidate 1 is allowed: it reaches a but misses c, which only ruled-out candidates reach
    assert t.loc["a", "verdict"] == "reached alone" and t.loc["c", "verdict"] == "model failure"
    assert list(t["rest_met"]) == [0, 1] and t.loc["c", "explored_within"] == pytest.approx(2 / 3)
    j = joint_summary(both, both, facts)
    assert j["explored_not_ruled_out"] == 0 and j["prior_inside_mechanisms"] == pytest.approx(1 / 3)
    # the best allowed candidate's largest miss: candidate 1's, the only one allowed
    assert j["explored_inside_mechanisms"] == 1 and j["best_max_implausibility"] == 9.0
    assert "prior_inside_mechanisms" not in joint_summary(EXPLORED, EXPLORED, facts)  # an unconstrained fit
    m = Fact.model_validate(
        {
            "what": "m",
            "measure": "total",
            "column": "sent_home",
            "start": "2016-01",
            "end": "2019-12",
            "low": 0.5,
            "high": 50.0,
            "source": "x",
        }
    )
    rows = mechanism_rows(one.iloc[:2], one, {"m": m, "absent": m})
    assert list(rows["mechanism"]) == ["m"]  # a mechanism the fit did not measure has no row
    assert rows.loc[0, "prior_inside"] == pytest.approx(0.5) and rows.loc[0, "explored_inside"] == pytest.approx(2 / 3)
    text = "\n".join(adequacy_text(t.reset_index(), j, {"m": "sending home"}, rows))
    assert "33% of the prior draws, 1 of the explored candidates" in text
    assert "| sending home | 0.5 to 50 | 50% of 2 | 67% of 3 |" in text
    # a mechanism measured on some candidates only (a later one: NaN where not measured) is judged on those
    later = one.assign(**{f"{MECHANISM}m": [1.0, np.nan, 99.0]})
    rows = mechanism_rows(later.iloc[:2], later, {"m": m})
    assert rows.loc[0, "prior_measured"] == 1 and rows.loc[0, "prior_inside"] == 1.0
    assert rows.loc[0, "explored_measured"] == 2 and rows.loc[0, "explored_inside"] == pytest.approx(0.5)
    # allowed but not measured on a later mechanism: not counted inside every range (candidate 1 of 3 here)
    j = joint_summary(later, later, facts)
    assert j["explored_inside_mechanisms"] == 1 and j["prior_inside_mechanisms"] == pytest.approx(1 / 3)


def test_a_share_under_one_percent_is_not_shown_as_none():
    """The joint summary's shares: 12 prior draws in 6,200 not ruled out read 0.2%, not 0%."""
    from sim.calibration.sanctions.adequacy import _share

    assert _share(12 / 6200) == "0.2%" and _share(0.0) == "0%" and _share(0.15) == "15%"
