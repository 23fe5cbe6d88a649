"""Independent calibrations compared (sim/calibration/sanctions/agreement.py): medians on the prior's CDF, agreement
within 10% of its range, on constructed posteriors whose answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration.sanctions.agreement import TOLERANCE, agreement_lines, agreement_table, read_runs
from sim.calibration.targets import Prior
from sim.common.errors import ExperimentError
from sim.explore.posterior import Posterior

PRIOR = {"a": Prior(low=0.0, high=1.0, source="x"), "b": Prior(low=0.0, high=10.0, source="x")}


def post(a, b, w=None):
    n = len(a)
    frame = pd.DataFrame({"particle": range(n), "weight": w if w is not None else np.full(n, 1 / n), "distance": 0.0})
    frame["a"], frame["b"] = a, b
    return Posterior(Path("x.csv"), frame)


def test_medians_within_ten_percent_of_the_prior_agree_and_farther_ones_do_not():
    one = post([0.40, 0.50, 0.60], [2.0, 3.0, 4.0])
    two = post([0.45, 0.55, 0.65], [6.0, 7.0, 8.0])  # a: medians 0.50 and 0.55 (gap 0.05); b: 3 and 7 (gap 0.4)
    t = agreement_table({"s0": one, "s1": two}, PRIOR).set_index("parameter")
    assert t.loc["a", "gap"] == pytest.approx(0.05) and bool(t.loc["a", "agree"])
    assert t.loc["b", "gap"] == pytest.approx(0.4) and not bool(t.loc["b", "agree"])
    assert t.loc["b", "s1_p50"] == pytest.approx(7.0) and TOLERANCE == 0.10
    text = "\n".join(agreement_lines(t.reset_index(), ["s0", "s1"]))
    assert "agree (within 10% of the prior's range of each other) on 1 of 2 parameters" in text


def test_weights_decide_the_median():
    heavy = post([0.1, 0.9, 0.9], [5.0, 5.0, 5.0], w=np.array([0.9, 0.05, 0.05]))
    even = post([0.1, 0.9, 0.9], [5.0, 5.0, 5.0])
    t = agreement_table({"heavy": heavy, "even": even}, PRIOR).set_index("parameter")
    assert t.loc["a", "heavy_p50"] < 0.2 < 0.8 < t.loc["a", "even_p50"] and not bool(t.loc["a", "agree"])


def test_bad_comparisons_are_one_line_errors(tmp_path):
    one = post([0.5], [5.0])
    with pytest.raises(ExperimentError, match="at least two"):
        agreement_table({"s0": one}, PRIOR)
    other = Posterior(Path("y.csv"), one.frame.rename(columns={"b": "c"}))
    with pytest.raises(ExperimentError, match="other parameters"):
        agreement_table({"s0": one, "s1": other}, PRIOR)
    with pytest.raises(ExperimentError, match="no posterior.csv"):
        read_runs([tmp_path])


def test_a_posterior_file_stands_for_its_folder():
    from conftest import ROOT

    shipped = ROOT / "params" / "posterior_sanctions.csv"
    runs = read_runs([shipped])
    assert list(runs) == ["posterior_sanctions"] and len(runs["posterior_sanctions"].frame) == 200
    from sim.calibration.sanctions.agreement import run_summary

    said = run_summary(runs["posterior_sanctions"])
    assert said.startswith("ABC-SMC generation ") and "200 particles" in said and "ESS" in said
    from sim.calibration.sanctions.fit import priors
    from sim.calibration.sanctions.targets import load_sanctions_targets

    prior = priors(load_sanctions_targets(ROOT / "params" / "targets_sanctions.toml"))
    t = agreement_table({"a": runs["posterior_sanctions"], "b": runs["posterior_sanctions"]}, prior)
    assert t["agree"].all() and (t["gap"] == 0).all()  # a run against itself
    lines = agreement_lines(t, ["a", "b"], {"a": said, "b": ""})
    assert f"- a: {said}" in lines and not any(line.startswith("- b:") for line in lines)


def test_a_section_is_set_after_convergence_and_replaced_in_place(tmp_path):
    from sim.calibration.sanctions.report import AGREEMENT, CONVERGENCE, RECOVERY, set_section

    report = tmp_path / "report.md"
    report.write_text("# Fit\n\n## Convergence\n\ntable\n\n## Adequacy\n\nx\n\n## Files\n\n`a.csv`\n![p](p.png)\n")
    set_section(report, [RECOVERY, "", "covered 9 of 10"], (CONVERGENCE, AGREEMENT))
    set_section(report, [AGREEMENT, "", "agree on 3 of 4"])
    text = report.read_text()
    assert text.index(CONVERGENCE) < text.index(AGREEMENT) < text.index(RECOVERY) < text.index("## Adequacy")
    set_section(report, [AGREEMENT, "", "agree on 4 of 4"])  # again: replaced, not added
    again = report.read_text()
    assert again.count(AGREEMENT) == 1 and "agree on 4 of 4" in again and "3 of 4" not in again
    assert again.replace("4 of 4", "3 of 4") == text and again.endswith("![p](p.png)\n")
    bare = tmp_path / "bare.md"
    bare.write_text("# Fit\n\n## Files\n\n`a.csv`\n")
    set_section(bare, [AGREEMENT, "", "agree"])  # no convergence: before the Files
    assert bare.read_text() == f"# Fit\n\n{AGREEMENT}\n\nagree\n\n## Files\n\n`a.csv`\n"
    with pytest.raises(ValueError, match="heading"):
        set_section(bare, ["agree"])


def test_the_median_error_is_the_sampling_noise_and_grows_as_the_ess_falls():
    from scipy import stats as st

    from sim.calibration.sanctions.agreement import median_error

    rng = np.random.default_rng(1)
    x = rng.uniform(size=400)
    even = median_error(x, np.ones(400), lambda v: v)
    # the median of n uniform draws: standard error sqrt(0.25 / n) = 0.025; 400 bootstrap resamples estimate a
    # standard deviation within about 7% (1/sqrt(2 x 399)), and one sample's bootstrap is itself off by ~10%: 25%
    assert even == pytest.approx(0.025, rel=0.25)
    w = np.where(np.arange(400) < 40, 1.0, 0.01)  # an effective sample size of about 45
    assert median_error(x, w, lambda v: v) > 2 * even
    assert median_error(x, np.ones(400), st.uniform(0, 2).cdf) == pytest.approx(even / 2)  # on the prior's CDF


def test_a_gap_within_the_noise_is_told_from_one_beyond_it():
    rng = np.random.default_rng(2)
    n = 30  # few particles: a median error of about 0.09 on a
    a0, a1 = rng.uniform(0.0, 1.0, n), rng.uniform(0.0, 1.0, n) + 0.05
    b0, b1 = rng.normal(2.0, 0.02, n), rng.normal(5.0, 0.02, n)  # tight and far apart
    t = agreement_table({"s0": post(a0, b0), "s1": post(a1, b1)}, PRIOR).set_index("parameter")
    assert 0.05 < t.loc["a", "noise"] < 0.2 and t.loc["b", "noise"] < 0.01
    assert bool(t.loc["b", "agree"]) is False and bool(t.loc["b", "within_noise"]) is False
    assert t.loc["a", "within_noise"] == (t.loc["a", "gap"] <= 2 * t.loc["a", "noise"])
    text = "\n".join(agreement_lines(t.reset_index(), ["s0", "s1"]))
    assert "| **no** |" in text and "differ by more (the runs found different posteriors there)" in text


def test_each_run_is_named_with_the_seed_it_was_started_with(tmp_path):
    """A compared calibration's line says its generation, particles, tolerance and ESS (its posterior's first
    comment) and, from its folder's calibration.json, its seed, so that the comparison can be run again."""
    import json

    from sim.calibration.sanctions.agreement import run_summary

    header = (
        "# from targets: the posterior, ABC-SMC generation 9 (200 particles, tolerance 1.2 in the fit's units, ESS 45)."
    )
    p = Posterior(tmp_path / "posterior.csv", post([0.5], [1.0]).frame, header=[header])
    (tmp_path / "calibration.json").write_text(json.dumps({"kind": "calibration", "seed": 7}))
    assert run_summary(p) == "ABC-SMC generation 9 (200 particles, tolerance 1.2 in the fit's units, ESS 45)"
    assert run_summary(p, tmp_path).endswith("ESS 45), seed 7")
    (tmp_path / "calibration.json").write_text("not json")
    assert run_summary(p, tmp_path).endswith("ESS 45)")  # an unreadable record: no seed, no error
