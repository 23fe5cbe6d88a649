"""The figures the README quotes from shipped results are the results' (issue 19, item 6: docs that cannot
drift): the policy table is rendered from docs/results/*.csv (written by `olsim experiment
experiments/sanctions.toml`), and the calibration's counts from docs/calibration/sanctions/predictive.csv."""

from __future__ import annotations

import re

import pandas as pd

from conftest import ROOT
from sim.explore import load_experiment
from sim.explore.analysis import answers_table

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_policy_table_is_the_shipped_policy_answers():
    plan = load_experiment(ROOT / "experiments" / "sanctions.toml")
    labels = {s.name: s.label or s.name for s in plan.spec.scenarios}
    answers = pd.read_csv(ROOT / "docs" / "results" / "sanctions_policy_answers.csv")
    ranks = pd.read_csv(ROOT / "docs" / "results" / "sanctions_ranks.csv")
    # the shipped tables are the experiment's: every scenario, every outcome, the planned draws
    assert list(dict.fromkeys(answers["scenario"])) == [s.name for s in plan.spec.scenarios]
    assert set(answers["outcome"]) == set(plan.spec.outcomes) and (answers["draws"] == plan.spec.sampling.n).all()
    table = answers_table(answers, ranks, labels, plan.reference, plan.spec.scale)
    assert table in README, "the README's sanctions table differs from docs/results/*.csv: paste answers_table()"


def test_the_readme_counts_of_facts_inside_their_bands_are_the_reports():
    pred = pd.read_csv(ROOT / "docs" / "calibration" / "sanctions" / "predictive.csv")
    fit, held = pred[pred["set"] == "fit"], pred[pred["set"] == "held out"]
    quoted = re.search(r"\*\*Held out: (\d+) of (\d+) inside", README), re.search(r"\*\*Fit: (\d+) of (\d+) inside", README)
    assert quoted[0] and quoted[1], "the README no longer quotes the counts"
    assert (int(quoted[0][1]), int(quoted[0][2])) == (int(held["inside"].sum()), len(held))
    assert (int(quoted[1][1]), int(quoted[1][2])) == (int(fit["inside"].sum()), len(fit))
    report = (ROOT / "docs" / "calibration" / "sanctions" / "report.md").read_text(encoding="utf-8")
    assert f"Held-out facts (never fitted): {int(held['inside'].sum())} of {len(held)} inside" in report


def test_the_odd_counts_the_docking_configurations_the_tests_run():
    import test_docking

    odd = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    words = {w: i for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                                         "ten", "eleven", "twelve"])}
    m = re.search(r"`tests/test_docking.py` runs both on (\d+) configurations", odd)
    assert m and int(m[1]) == len(test_docking.CONFIGS)
    m = re.search(r"on (\w+) of them it compares the two engines' state after every", re.sub(r"\s+", " ", odd))
    assert m and words[m[1]] == len(test_docking.PHASE_CONFIGS)
