"""The figures the README and the ODD quote are the code's or the shipped results' (issue 19, item 6: docs that
cannot drift): the policy table is rendered from docs/results/*.csv (written by `olsim experiment
experiments/sanctions.toml`), the calibrations' tables and counts from docs/calibration/, the summary block and
ODD 8.4 from the runs they name, the docking and test counts from the suite. Timings the docs give as "about"
are measured by benchmarks/, not here."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT
from sim.explore import load_experiment
from sim.explore.analysis import answers_table
from sim.explore.structures import load_structures, robustness_flips

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_policy_table_is_the_shipped_policy_answers():
    plan = load_experiment(ROOT / "experiments" / "sanctions.toml")
    labels = {s.name: s.label or s.name for s in plan.spec.scenarios}
    answers = pd.read_csv(ROOT / "docs" / "results" / "sanctions_policy_answers.csv")
    ranks = pd.read_csv(ROOT / "docs" / "results" / "sanctions_ranks.csv")
    # the shipped tables are the experiment's: every scenario, every outcome, the planned draws
    assert list(dict.fromkeys(answers["scenario"])) == [s.name for s in plan.spec.scenarios]
    assert set(answers["outcome"]) == set(plan.spec.outcomes) and (answers["draws"] == plan.spec.sampling.n).all()
    # its robustness column: the shipped run of experiments/structures.toml over every policy of the table
    robustness = pd.read_csv(ROOT / "docs" / "results" / "sanctions_robustness.csv")
    structures = load_structures(ROOT / "experiments" / "structures.toml")
    policies = [s.name for s in plan.spec.scenarios if s.name != plan.reference]
    assert list(dict.fromkeys(robustness["scenario"])) == policies
    assert (robustness["variants"] == len(structures.plans) - 1).all()
    table = answers_table(answers, ranks, labels, plan.reference, plan.spec.scale, robustness)
    assert table in README, "the README's sanctions table differs from docs/results/*.csv: paste answers_table()"
    flips = robustness_flips(robustness, labels, structures.labels)
    assert flips in README, f"the README's list of flips differs from sanctions_robustness.csv; paste:\n{flips}"


def test_the_readme_agreement_of_the_runs_policy_answers_is_the_shipped_table():
    """The README's counts for the policy table over the three independent runs' posteriors
    (experiments/independent_runs.toml) are those of the shipped robustness table, which holds every policy
    and headline outcome over the file's runs."""
    table = pd.read_csv(ROOT / "docs" / "results" / "independent_runs_robustness.csv")
    runs = load_structures(ROOT / "experiments" / "independent_runs.toml")
    plan = load_experiment(ROOT / "experiments" / "sanctions.toml")
    assert list(dict.fromkeys(table["scenario"])) == [s.name for s in plan.spec.scenarios if s.name != plan.reference]
    assert set(table["outcome"]) == set(runs.spec.outcomes) and (table["variants"] == len(runs.plans) - 1).all()
    assert all(f"{v}.change_pct" in table for v in runs.plans)
    n, signs, ranks = len(table), int((table["sign_holds"] == 2).sum()), int((table["rank_holds"] == 2).sum())
    gaps = table[[f"{v}.change_pct" for v in runs.plans]].agg(["max", "min"], axis=1)
    text = re.sub(r"\s+", " ", README)
    assert (
        f"of the {n} answers (15 policies × revenue and what a worker keeps), the sign holds in both other runs "
        f"for {signs} and the rank (within one place) for {ranks}, and the medians of the changes differ by at "
        f"most {(gaps['max'] - gaps['min']).max():.1f} percentage points"
    ) in text
    # the flips the README names, and what it says of them: the shipped fit's interval holds 0 in each sign flip
    flips = table[table["sign_holds"] < 2]
    assert set(zip(flips["scenario"], flips["outcome"])) == {
        ("cash_interdiction", "revenue_delivered_per_year"),
        ("platform_checks", "revenue_delivered_per_year"),
        ("sector_ban", "revenue_delivered_per_year"),
    }, "the README's three sign flips are no longer the table's"
    assert (flips["as_fitted.sign"] == "~0").all()
    ranks = table[table["rank_holds"] < 2]
    assert set(zip(ranks["scenario"], ranks["outcome"])) == {
        ("permit_ban_as_fitted", "retained_per_worker_month"),
        ("permit_ban_full", "retained_per_worker_month"),
    }, "the README's two rank flips are no longer the table's"


def test_the_readme_counts_of_facts_inside_their_bands_are_the_reports():
    pred = pd.read_csv(ROOT / "docs" / "calibration" / "sanctions" / "predictive.csv")
    fit, held = pred[pred["set"] == "fit"], pred[pred["set"] == "held out"]
    quoted = (
        re.search(r"\*\*Held out: (\d+) of (\d+) inside", README),
        re.search(r"\*\*Fit: (\d+) of (\d+) inside", README),
    )
    assert quoted[0] and quoted[1], "the README no longer quotes the counts"
    assert (int(quoted[0][1]), int(quoted[0][2])) == (int(held["inside"].sum()), len(held))
    assert (int(quoted[1][1]), int(quoted[1][2])) == (int(fit["inside"].sum()), len(fit))
    report = (ROOT / "docs" / "calibration" / "sanctions" / "report.md").read_text(encoding="utf-8")
    assert f"Held-out facts (never fitted): {int(held['inside'].sum())} of {len(held)} inside" in report


def test_the_odd_counts_the_docking_configurations_the_tests_run():
    import test_docking

    odd = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    words = {
        w: i
        for i, w in enumerate(
            ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
        )
    }
    m = re.search(r"`tests/test_docking.py` runs both on (\d+) configurations", odd)
    assert m and int(m[1]) == len(test_docking.CONFIGS)
    m = re.search(r"on (\w+) of them it compares the two engines' state after every", re.sub(r"\s+", " ", odd))
    assert m and words[m[1]] == len(test_docking.PHASE_CONFIGS)


# ------------------------------------------------- the summaries quoted from runs are the runs'
def _summary_block(params, seed=0):
    from sim import run
    from sim.cli import summary_table

    return summary_table(run(params, seed=seed).summary)


def test_the_readme_summary_block_is_olsim_runs():
    """The README's example summary is `olsim run`'s (full scale, array engine, seed 0), line for line."""
    from sim import load_params

    block = _summary_block(load_params())
    m = re.search(r"its last lines put the model beside magnitudes.*?\n```\n(.*?)```", README, re.S)
    assert m, "the README no longer shows the summary block"
    assert m[1].rstrip("\n") == block, f"the README's summary block is stale; paste:\n{block}"


ODD_SMALL = {
    "hosts.china.workers": 5000,
    "hosts.russia.workers": 3000,
    "hosts.gulf.workers": 800,
    "hosts.africa.workers": 500,
    "hosts.asia.workers": 400,
    "hosts.europe.workers": 100,
}
ODD_ROWS = {
    "share of earnings the worker keeps": "worker_share_kept",
    "state take per worker-month": "state_take_per_worker_month",
    "successful escapes per 1,000 worker-years": "escapes_per_1000_worker_years",
    "deaths per 10,000 worker-years": "deaths_per_10000_worker_years",
    "mean hours per day": "hours_mean",
    "median entry bribe": "entry_bribe_median",
}


def test_the_odd_current_values_are_the_two_runs_it_names():
    """ODD 8.4's table and its other figures are those of the two commands it gives (10% baseline, classroom)."""
    from sim import load_params, run
    from sim.results.outcomes import OUTCOMES
    from sim.common.formatting import format_money

    odd = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    section = odd[odd.index("### 8.4 Calibration: current values") : odd.index("### 8.5")]
    small = run(load_params(None, ODD_SMALL), seed=0)
    cls = run(load_params(ROOT / "params" / "classroom.toml"), seed=0)
    for label, key in ODD_ROWS.items():
        want = f"| {label} | "
        row = next((line for line in section.splitlines() if line.startswith(want)), None)
        assert row, f"ODD 8.4 has no row '{label}'"
        cells = [c.strip() for c in row.strip("|").split("|")]
        fmt = OUTCOMES[key].format
        assert cells[2:] == [fmt(small.summary[key]), fmt(cls.summary[key])], f"ODD 8.4 row '{label}' is stale"
    text = re.sub(r"\s+", " ", section)
    for r in (small, cls):
        s = r.summary
        for key in ("caught_per_1000_worker_years", "sent_home_per_1000_worker_years"):
            assert OUTCOMES[key].format(s[key]) in text, f"ODD 8.4: {key} is stale"
        gains = " / ".join(format_money(s[f"net_gain_p{q}"]) for q in (10, 50, 90))
        assert gains in text, f"ODD 8.4: net gain {gains} is not quoted"
        assert f"{s['workers_initial']:,} / {s['workers_final']:,}" in text
        assert format_money(s["revenue_delivered_per_year"]) in text
    interdicted = small.monthly["revenue_interdicted"]
    assert f"{format_money(interdicted.iloc[0])} to {format_money(interdicted.iloc[-1])}" in text


def test_the_readme_calibration_table_is_the_shipped_report():
    """The README's no-sanctions calibration table and counts are docs/calibration/*.csv's (`olsim calibrate`)."""
    from sim.results.outcomes import OUTCOMES

    targets = pd.read_csv(ROOT / "docs" / "calibration" / "targets.csv")
    targets = targets[~targets["target"].str.startswith("(")]
    head = "| target | range | calibrated (full scale, 10 seeds) | defaults |"
    assert head in README
    lines = README[README.index(head) :].splitlines()[2:]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[: len(targets)]]
    for row, (_, t) in zip(rows, targets.iterrows()):
        fmt = OUTCOMES[t["outcome"]].format
        calibrated = row[2].split(" [")
        assert calibrated[0] == fmt(t["calibrated_mean"]), f"README calibration table: {row[0]} is stale"
        if len(calibrated) > 1:
            assert (
                row[2] == f"{fmt(t['calibrated_mean'])} [{fmt(t['calibrated_ci_low'])}, {fmt(t['calibrated_ci_high'])}]"
            )
        assert row[3] == fmt(t["defaults_mean"]), f"README calibration table: {row[0]}'s default is stale"
    sets = pd.read_csv(ROOT / "docs" / "calibration" / "sets.csv")
    n, inside = len(sets), int(sets["accepted"].sum())
    assert f"{inside} of {n} sets ({inside / n:.0%}) land inside every range" in README


def test_the_readme_counts_the_tests(request):
    """The README's test count is the suite's (checked when the whole suite runs, as `.ci/run` runs it)."""
    config = request.config
    if (
        config.option.keyword
        or config.option.markexpr
        or config.option.deselect
        or any(not Path(a).resolve() == ROOT / "tests" and not Path(a).resolve() == ROOT for a in config.args)
    ):
        pytest.skip("the count is checked on a run of the whole suite")
    m = re.search(r"runs the test suite \(about [\d.]+ minutes, (\d+) tests\)", README)
    assert m, "the README no longer gives the test count"
    assert int(m[1]) == request.session.testscollected, (
        f"the README says {m[1]} tests; the suite has {request.session.testscollected}"
    )


def test_the_readme_fault_table_names_tests_that_exist():
    """Each case of the README's reliability table names the test that guards it: the file and the function exist
    (a row "...[param]" continues the test named above it), and the count below the table is the rows'."""
    section = README[README.index("## Reliability: faults") : README.index("## How it is built")]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| case ")]
    last = None
    for row in rows:
        cell = row.rstrip(" |").rsplit("|", 1)[1].strip().strip("`")
        if cell.startswith("...") or cell == "the same test":
            assert last is not None, row
            continue
        path, name = cell.split("::")
        source = (ROOT / "tests" / path).read_text(encoding="utf-8")
        assert f"def {name.split('[')[0]}(" in source, f"README reliability table: no test {cell}"
        last = cell
    assert f"{len(rows)} cases." in section


def test_the_readme_adequacy_figures_are_the_reports():
    """The README's claims about whether the model reaches the sanctions era's facts (how many candidates meet all of
    them, of how many, and that every fact is reached) are the shipped report's (docs/calibration/sanctions/)."""
    report = (ROOT / "docs" / "calibration" / "sanctions" / "report.md").read_text(encoding="utf-8")
    adequacy = pd.read_csv(ROOT / "docs" / "calibration" / "sanctions" / "adequacy.csv")
    m = re.search(r"Explored candidates not ruled out: ([\d,]+) of ([\d,]+)", report)
    assert m, "the report no longer gives the explored candidates not ruled out"
    text = re.sub(r"\s+", " ", README)
    assert (
        f"of the {m[2]} candidates, {m[1]} come within 3 tolerance units of all {len(adequacy)} facts" in text.lower()
    )
    if (adequacy["verdict"] == "reached").all():
        assert "The model now reaches every fit fact at once." in text
    else:
        assert "The model now reaches every fit fact at once." not in text, "the README claims what adequacy.csv denies"
