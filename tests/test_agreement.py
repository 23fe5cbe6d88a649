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
