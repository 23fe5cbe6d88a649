"""The adequacy check (sim/calibration/sanctions/adequacy.py): history matching on the candidates the fit
simulated, on constructed candidates whose answer is known by construction."""

from __future__ import annotations

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
