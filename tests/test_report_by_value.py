"""The analyst's report by value (issue 34, item 7: mutation testing reaches the report's numbers): the headline
table of each kind of experiment worked out by hand from a few synthetic runs, each number's formatting, the
findings' sentences, the words and the provenance, and what report.md, report.html, report.xlsx and report.docx
hold, cell for cell. No simulation runs: the experiments are written here, so each test takes milliseconds (the
mutation run, `benchmarks/mutation.py`, runs these against every mutant of `sim/explore/report.py`, in a process
forked for each mutant and limited to about twice the tests' time: what the report imports when it writes is imported
here, once, so that no mutant's run pays for the imports)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import docx  # imported here, before mutation testing forks a process per mutant (see above)
import matplotlib
import numpy as np
import openpyxl
import pandas as pd
import pytest
from scipy import stats

import sim.explore.evaluators  # noqa: F401
import sim.explore.plan  # noqa: F401
import sim.plots.report  # noqa: F401
import sim.plots.sanctions  # noqa: F401
from sim.explore import report as rp
from sim.explore.analysis import ExperimentResult
from sim.results.outcomes import KEPT, REVENUE, WORKERS_AT_END

SHARE = "worker_share_kept"  # a share
DEATHS = "deaths_per_10000_worker_years"  # a rate: neither money nor a total
OUTS = [REVENUE, KEPT, WORKERS_AT_END, SHARE, DEATHS]
BAN = {
    "start": "2017-12",
    "hosts": "all",
    "sectors": "all",
    "compliance": {"china": 0.25, "russia": 0.8},
    "label": "UNSCR 2397",
    "schedule": [],
    "kind": "repatriation",
    "deadline": "2019-12",
    "evasion": 0.3,
    "after_deadline": 0.3,
}
LAST = "2017-12"  # the last month the synthetic experiments ran (2016-01 + 24 months)
OFF = {"start": "2018-01", "hosts": "all", "sectors": "all", "compliance": 0.0, "kind": "cash_interdiction"}
LATE = {"start": "2030-01", "hosts": "all", "sectors": "all", "compliance": 0.5, "kind": "cash_interdiction"}


def _result(tmp_path, method: str, runs: pd.DataFrame, *, scale=0.01, n=0, replicates=4, name="trial", total=None):
    scenarios = [
        {"name": "base", "label": "no sanctions", "description": ""},
        {"name": "ban", "label": "a ban", "description": "the ban"},
    ]
    manifest = {
        "kind": "experiment",
        "name": name,
        "experiment": {
            "name": name,
            "seed": 7,
            "seeds": "shared",
            "replicates": replicates,
            "months": 24,
            "scale": scale,
            "outcomes": OUTS,
            "reference": "base",
            "scenarios": scenarios,
            "sampling": {"method": method, "n": n},
            "posterior": "posterior.csv" if method == "posterior" else None,
            "engine": "array",
        },
        "reference": "base",
        "sampling": {"method": method, "n": n},
        "runs_total": len(runs) if total is None else total,
        "scenario_policies": {"base": [OFF], "ban": [BAN, OFF, LATE]},
        "base_params": {"calendar": {"start": "2016-01", "months": 24, "warmup": 12}},
        "versions": {"package": "9.9", "python": "3.12.1", "numpy": "2.5.0", "mesa": "3.5.1"},
        "git_commit": "0123456789abcdef0123",
    }
    samples = pd.DataFrame({"sample": sorted(set(runs["sample"]))})
    # written as an experiment folder is, so that the suite's last test (test_zz_every_report) can load it too
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    runs.to_parquet(tmp_path / "runs.parquet")
    samples.to_parquet(tmp_path / "samples.parquet")
    return ExperimentResult(tmp_path, manifest, runs, samples, None)


def _replicated(tmp_path, **kw) -> ExperimentResult:
    """Two scenarios, four replicates (sample 0), at 1% scale."""
    base = {REVENUE: [100, 110, 120, 130], KEPT: [50, 52, 54, 56], WORKERS_AT_END: [900, 910, 920, 930]}
    ban = {REVENUE: [60, 70, 75, 95], KEPT: [55, 58, 59, 60], WORKERS_AT_END: [800, 810, 820, 830]}
    base |= {SHARE: [0.2, 0.22, 0.24, 0.26], DEATHS: [3.0, 3.2, 3.4, 3.6]}
    ban |= {SHARE: [0.25, 0.2, 0.3, 0.21], DEATHS: [3.0, 3.4, 3.2, 3.6]}
    rows = [
        {"scenario": sc, "sample": 0, "replicate": k, **{o: v[o][k] for o in OUTS}}
        for sc, v in (("base", base), ("ban", ban))
        for k in range(4)
    ]
    return _result(tmp_path, "none", pd.DataFrame(rows), **kw)


def _t(d):
    d = np.asarray(d, float)
    h = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return d.mean() - h, d.mean() + h


def _row(t, sc, o):
    r = t[(t["scenario"] == sc) & (t["outcome"] == o)]
    assert len(r) == 1
    return r.iloc[0]


# ------------------------------------------------------------------ the headline table, three kinds of experiment
def test_a_replicated_headline_is_the_paired_t_intervals_at_full_scale(tmp_path):
    result = _replicated(tmp_path)
    t = rp.headline(result)
    assert list(t.columns) == [
        "scenario",
        "outcome",
        "level",
        "level_low",
        "level_high",
        "change",
        "change_low",
        "change_high",
        "change_pct",
        "change_pct_low",
        "change_pct_high",
        "p_below",
    ]
    assert len(t) == 2 * len(OUTS)
    s = result.summary()
    r = _row(t, "ban", REVENUE)  # a total: divided by the 1% scale
    lo, hi = _t([-40, -40, -45, -35])
    assert r["level"] == pytest.approx(7500) and r["change"] == pytest.approx(-4000)
    assert (r["change_low"], r["change_high"]) == pytest.approx((100 * lo, 100 * hi))
    assert r["change_pct"] == pytest.approx(-40 / 115 * 100)
    assert (r["change_pct_low"], r["change_pct_high"]) == pytest.approx((100 * lo / 115, 100 * hi / 115))
    level = _row(s, "ban", REVENUE)
    assert (r["level_low"], r["level_high"]) == pytest.approx((100 * level["ci_low"], 100 * level["ci_high"]))
    assert r["level_low"] < r["level"] < r["level_high"] and math.isnan(r["p_below"])
    k = _row(t, "ban", KEPT)  # per worker: as simulated
    lo, hi = _t([5, 6, 5, 4])
    assert (k["level"], k["change"], k["change_low"], k["change_high"]) == pytest.approx((58, 5, lo, hi))
    assert (k["change_pct_low"], k["change_pct_high"]) == pytest.approx((100 * lo / 53, 100 * hi / 53))
    ref = _row(t, "base", REVENUE)
    assert (ref["level"], ref["change"], ref["change_low"], ref["change_high"]) == pytest.approx((11500, 0, 0, 0))


def test_a_sampled_headline_is_the_range_of_the_runs_paired_on_common_samples(tmp_path):
    """lhs samples: the level over the finite runs, the change over the samples both scenarios ran (a NaN left
    out), the share of paired changes below 0; totals at full scale (50% here)."""
    rows = [
        {"scenario": "base", "sample": s, "replicate": 0, REVENUE: 10.0 * (s + 1), KEPT: 40.0 + s} for s in range(5)
    ] + [
        {"scenario": "ban", "sample": s, "replicate": 0, REVENUE: v, KEPT: 50.0 + 2 * s}
        for s, v in enumerate([5.0, 25.0, math.nan, 30.0])
    ]
    runs = pd.DataFrame(rows)
    for o in OUTS[2:]:
        runs[o] = 1.0
    result = _result(tmp_path, "lhs", runs, scale=0.5, n=5, replicates=1)
    t = rp.headline(result)
    r = _row(t, "ban", REVENUE)
    v, d = np.array([5.0, 25, 30]), np.array([-5.0, 5, -10])
    assert r["level"] == pytest.approx(2 * 20)
    assert (r["level_low"], r["level_high"]) == pytest.approx((2 * np.quantile(v, 0.025), 2 * np.quantile(v, 0.975)))
    assert r["change"] == pytest.approx(2 * -10 / 3)
    assert (r["change_low"], r["change_high"]) == pytest.approx((2 * np.quantile(d, 0.025), 2 * np.quantile(d, 0.975)))
    assert r["change_pct"] == pytest.approx(100 * (-10 / 3) / 25)  # against the common samples' mean, 25 (not 30)
    assert (r["change_pct_low"], r["change_pct_high"]) == pytest.approx(
        (100 * np.quantile(d, 0.025) / 25, 100 * np.quantile(d, 0.975) / 25)
    )
    assert r["p_below"] == pytest.approx(2 / 3)
    k = _row(t, "ban", KEPT)  # not a total; every change positive
    assert (k["level"], k["change"], k["p_below"]) == pytest.approx((53, 11.5, 0))
    ref = _row(t, "base", REVENUE)
    assert ref["level"] == pytest.approx(60) and ref["change"] == 0 and math.isnan(ref["p_below"])


def test_a_posterior_headline_is_the_policy_answers_column_for_column(tmp_path):
    rng = np.random.default_rng(3)
    rows = [
        {"scenario": sc, "sample": s, "replicate": k, **{o: rng.normal(100 if sc == "base" else 80, 10) for o in OUTS}}
        for sc in ("base", "ban")
        for s in range(12)
        for k in range(2)
    ]
    result = _result(tmp_path, "posterior", pd.DataFrame(rows), scale=0.1, n=12, replicates=2)
    t = rp.headline(result).set_index(["scenario", "outcome"])
    a = result.policy_answers(full_scale=True).set_index(["scenario", "outcome"])
    pairs = {
        "level": "median",
        "level_low": "low",
        "level_high": "high",
        "change": "change_median",
        "change_low": "change_low",
        "change_high": "change_high",
        "change_pct": "change_pct_median",
        "change_pct_low": "change_pct_low",
        "change_pct_high": "change_pct_high",
        "p_below": "p_below_reference",
    }
    for mine, theirs in pairs.items():
        pd.testing.assert_series_equal(t[mine], a.loc[t.index, theirs], check_names=False)
    # and the answers are at full scale: a revenue's median is ten times the simulated draws' median
    sim = result.policy_answers().set_index(["scenario", "outcome"])
    assert t.loc[("ban", REVENUE), "level"] == pytest.approx(10 * sim.loc[("ban", REVENUE), "median"])
    assert t.loc[("ban", KEPT), "level"] == pytest.approx(sim.loc[("ban", KEPT), "median"])


def test_an_experiment_without_runs_has_an_empty_headline(tmp_path):
    runs = _replicated(tmp_path).runs.iloc[:0]
    assert len(rp.headline(_result(tmp_path, "none", runs, total=8))) == 0


# ------------------------------------------------------------------ numbers and cells in words
@pytest.mark.parametrize(
    "o, v, sign, text",
    [
        (REVENUE, 1_234_567, False, "$1.2M"),
        (REVENUE, 1_234_567, True, "+$1.2M"),
        (REVENUE, -1_234_567, True, "-$1.2M"),
        (REVENUE, -950, False, "-$950"),
        (REVENUE, 0.0, False, "$0"),  # no change is not a fall
        (REVENUE, 0.0, True, "+$0"),
        (KEPT, 0.6, False, "$1"),
        (DEATHS, 0.0, True, "+0.00"),
        (DEATHS, 0.5, False, "0.50"),
        (SHARE, 0.282, False, "28.2%"),
        (SHARE, 0.282, True, "+28.2%"),
        (SHARE, -0.05, False, "-5.0%"),
        (WORKERS_AT_END, 93_000, False, "93.0k"),
        (WORKERS_AT_END, 93_000, True, "+93.0k"),
        (WORKERS_AT_END, -93_000, False, "-93.0k"),
        (DEATHS, 3.456, False, "3.46"),
        (DEATHS, 9.994, True, "+9.99"),
        (DEATHS, 10.0, False, "10.0"),
        (DEATHS, 12_345.67, False, "12,345.7"),
        (DEATHS, -3.456, True, "-3.46"),
        (DEATHS, -12.34, False, "-12.3"),
        (DEATHS, math.nan, True, "n/a"),
        (REVENUE, math.nan, False, "n/a"),
    ],
)
def test_a_number_is_written_in_its_outcomes_unit(o, v, sign, text):
    assert rp._fmt(o, v, sign) == text


def _table(rows):
    cols = ["level", "level_low", "level_high", "change", "change_low", "change_high"]
    cols += ["change_pct", "change_pct_low", "change_pct_high"]
    return pd.DataFrame([{"scenario": sc, "outcome": o, **dict(zip(cols, v))} for sc, o, v in rows])


TABLE = _table(
    [
        ("base", REVENUE, (2e6, 1.9e6, 2.1e6, 0, 0, 0, 0, 0, 0)),
        ("ban", REVENUE, (1.5e6, 1.4e6, 1.6e6, -5e5, -6e5, -4e5, -25.2, -30.4, -19.6)),
        ("ban", KEPT, (58, 57, 59, 5, -1, 11, 9.4, math.nan, 20.8)),
        ("ban", DEATHS, (3.3, 3.1, 3.5, -0.1, -0.3, 0.1, -3, -9, 3)),
        ("ban", WORKERS_AT_END, (8100, 8000, 8200, -900, -1000, -800, -10, -11, -9)),
        ("ban", SHARE, (0.25, 0.2, 0.3, 0.01, 0.0, 0.02, 4.0, 0.0, 8.0)),
        ("gone", REVENUE, (2e6, 1.9e6, 2.1e6, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)),
    ]
)


def test_each_cell_is_a_level_with_its_interval_and_a_change_in_percent_or_in_units():
    cells = rp._cells(TABLE, "base")
    assert cells[("base", REVENUE)] == ("$2.0M [$1.9M, $2.1M]", "reference")
    assert cells[("ban", REVENUE)] == ("$1.5M [$1.4M, $1.6M]", "-25% [-30%, -20%]")
    assert cells[("ban", KEPT)] == ("$58 [$57, $59]", "+9% [n/a, +21%] (n.d.)")  # its interval includes 0
    assert cells[("ban", DEATHS)] == ("3.30 [3.10, 3.50]", "-0.10 [-0.30, +0.10] (n.d.)")  # not in percent
    assert cells[("ban", WORKERS_AT_END)] == ("8100 [8000, 8200]", "-900 [-1000, -800]")
    assert cells[("ban", SHARE)] == ("25.0% [20.0%, 30.0%]", "+1.0% [+0.0%, +2.0%] (n.d.)")  # 0 is inside
    assert cells[("gone", REVENUE)] == ("$2.0M [$1.9M, $2.1M]", "n/a [n/a, n/a]")
    assert len(cells) == len(TABLE)


def test_the_findings_say_each_scenarios_changes_in_words():
    labels = {"base": "no sanctions", "ban": "a ban"}
    said = rp.findings(TABLE, "base", labels, replicated=True)
    assert said[0] == (
        "Against no sanctions, a ban: the revenue that reaches the state falls by 25% [20%, 30%], to $1.5M a year; "
        "what a worker keeps per month worked does not change distinguishably ($58 a month against $53); "
        "the workers abroad at the end fall by 900 [800, 1000], to 8100."
    )
    assert said[1] == (
        "With these replicates, a ban's change in kept per month worked and deaths per 10,000 worker-years and "
        "share of earnings the worker keeps cannot be told from no change (n.d.): more replicates, or a larger "
        "scale, would resolve it or show it is none."
    )
    assert len(said) == 2  # "gone" has no change to say (NaN), and NaN is no interval around 0
    # a posterior or a sweep: no sentence about replicates; rising values; a change in units when not in percent
    up = _table(
        [
            ("ban", REVENUE, (2.5e6, 2.4e6, 2.6e6, 5e5, 4e5, 6e5, math.nan, math.nan, math.nan)),
            ("ban", WORKERS_AT_END, (9100, 9000, 9200, 900, 800, 1000, 11, 9, 12)),
            ("ban", KEPT, (58, 57, 59, -5, -7, -3, -8, -11, -5)),
        ]
    )
    assert rp.findings(up, "base", {}, replicated=False) == [
        "Against base, ban: the revenue that reaches the state rises by $500.0k [$400.0k, $600.0k], to $2.5M a "
        "year; what a worker keeps per month worked falls by 8% [5%, 11%], to $58 a month; the workers abroad at "
        "the end rise by 900 [800, 1000], to 9100."
    ]
    assert rp.findings(up[up["outcome"] == DEATHS], "base", {}, replicated=True) == []


def test_the_words_for_the_intervals_and_the_titles(tmp_path):
    rep = _replicated(tmp_path)
    assert rp.interval_words(rep) == (
        "mean and 95% interval over 4 replicates (seeds 7 to 10; a level's interval on the log scale for what cannot "
        "be negative and the logit for a share, so no bound is impossible; changes paired run by run: same seeds)"
    )
    assert rp.interval_short(rep) == "markers: mean; bars: 95% interval over 4 replicates"
    assert not rp.sampled(rep) and rp.report_title(rep, rep.labels) == "trial"
    runs = pd.DataFrame({"scenario": ["base", "base", "ban", "ban"], "sample": [0, 1, 0, 1], "replicate": 0})
    lhs = _result(tmp_path, "lhs", runs, n=2, replicates=1)
    assert rp.sampled(lhs)
    assert rp.interval_words(lhs) == (
        "mean and the range holding 95% of the 2 runs per scenario (lhs samples of the uncertain parameters x 1 "
        "replicate; changes paired run by run: same sample, same seeds)"
    )
    assert rp.interval_short(lhs) == "markers: mean; bars: the range of 95% of the runs over lhs samples"
    post = _result(tmp_path, "posterior", runs, n=2, replicates=3, name="compare-base-ban")
    assert not rp.sampled(post)
    assert rp.interval_words(post) == (
        "median and 90% credible interval over 2 posterior draws x 3 replicates (paired within each draw: same "
        "parameters, same seeds)"
    )
    assert rp.interval_short(post) == "markers: median; bars: 90% credible interval over 2 posterior draws"
    assert rp.report_title(post, post.labels) == "no sanctions vs a ban"  # a comparison of files
    post.manifest["experiment"]["scenarios"] *= 3  # six files: too many for a title
    assert rp.report_title(post, post.labels) == "compare-base-ban"
    assert rp.outcome_title(REVENUE) == "revenue delivered per year, $"
    assert rp.outcome_title(SHARE) == "share of earnings the worker keeps, %"
    assert rp.outcome_title(DEATHS) == "deaths per 10,000 worker-years"  # a rate says its unit already
    assert rp.outcome_title(WORKERS_AT_END) == "workers abroad at the end, workers"
    assert rp.outcome_title("hours_mean") == "mean hours per day, hours a day"


def test_markdown_escapes_only_markup():
    assert rp._md("a | b * c `d` <e>") == "a \\| b \\* c \\`d\\` \\<e\\>"
    assert rp._md("[1, 2] stays; snake_case stays; _x_ and x] (y) ]: z") == (
        "[1, 2] stays; snake_case stays; \\_x\\_ and x] (y) \\]: z"
    )
    assert rp._md("a](b") == "a\\](b" and rp._md("a][b") == "a\\][b"
    assert rp._md("# heading") == "\\# heading" and rp._md("a # b") == "a # b"
    assert rp._md("back\\slash") == "back\\\\slash" and rp._md(12) == "12"


def test_a_policy_every_host_ignores_is_not_in_effect():
    assert rp._all_levels(BAN) == [0.25, 0.8]
    assert rp._all_levels({"compliance": 0.0, "schedule": [{"compliance": {"a": 0.0, "b": 0.3}}]}) == [0, 0, 0.3]
    assert rp._all_levels({}) == [1.0]
    assert rp.in_effect(BAN) and rp.in_effect({}) and not rp.in_effect(OFF)
    assert rp.in_effect({"compliance": 0.0, "schedule": [{"compliance": 0.2}]})  # switched on later
    assert not rp.in_effect({"compliance": {"a": 0.0}, "schedule": [{"compliance": -0.1}]})


def test_the_provenance_says_what_was_run(tmp_path, monkeypatch):
    monkeypatch.setattr(rp.time, "strftime", lambda f: f"at {f}")
    result = _replicated(tmp_path)
    assert rp._provenance(result) == [
        ("runs", "8 of 8"),
        ("scale", "1% of every host's workers; totals shown at full scale"),
        ("months", "24 from 2016-01, after a warm-up of 12 months left out of the tables"),
        ("replicates", "4 (seeds from 7, shared by every scenario)"),
        ("sampling", "none"),
        ("engine", "array"),
        ("version", "overseas-labor-sim 9.9, python 3.12.1, numpy 2.5.0, mesa 3.5.1"),
        ("commit", "0123456789ab"),
        ("written", "at %Y-%m-%d %H:%M"),
    ]
    m = result.manifest
    m["runs_total"], m["experiment"]["scale"], m["experiment"]["seeds"] = 10, 1.0, "per_sample"
    m["sampling"] = m["experiment"]["sampling"] = {"method": "posterior", "n": 5}
    m["experiment"]["posterior"] = "posterior.csv"
    m["base_params"], m["versions"], m["git_commit"] = {}, {}, None
    del m["experiment"]["engine"], m["experiment"]["scale"]  # the defaults: the array engine, full scale
    assert dict(rp._provenance(result)) | {"written": ""} == {
        "runs": "8 of 10 (incomplete: finish with --resume)",
        "scale": "100% of every host's workers",
        "months": "24, no warm-up",
        "replicates": "4 (seeds from 7, fresh per draw)",
        "sampling": "posterior, 5 draws from posterior.csv",
        "engine": "array",
        "version": "overseas-labor-sim ?, python ?, numpy ?, mesa ?",
        "commit": "not a git checkout",  # it said "not a git ch" (cut to a commit's 12 characters)
        "written": "",
    }
    m["experiment"]["months"], m["experiment"]["engine"] = None, "mesa"  # the months from the base parameters
    m["base_params"] = {"calendar": {"start": "2015-01", "months": 36, "warmup": 0}}
    prov = dict(rp._provenance(result))
    assert (prov["months"], prov["engine"]) == ("36 from 2015-01, no warm-up", "mesa")


def test_drawn_fields_are_the_policy_columns_a_posterior_scenario_took(tmp_path):
    runs = pd.DataFrame(
        {
            "scenario": ["base", "ban", "ban"],
            "sample": [0, 0, 1],
            "replicate": 0,
            "policies.0.compliance": [math.nan, 0.5, 0.6],
            "policies.1.evasion": [0.2, math.nan, math.nan],
            "policies.x.evasion": [0.1, 0.1, 0.1],
            "policies.0": [1, 1, 1],
        }
    )
    post = _result(tmp_path, "posterior", runs, n=2)
    assert rp.drawn_fields(post, "ban") == {0: {"compliance"}}
    assert rp.drawn_fields(post, "base") == {1: {"evasion"}}
    assert rp.drawn_fields(_result(tmp_path, "none", runs), "ban") == {}


def test_what_the_answer_hinges_on_lists_each_assumed_setting_once_with_its_scenarios(tmp_path):
    result = _replicated(tmp_path)
    twice = {"base": [OFF], "ban": [BAN, OFF], "again": [dict(BAN, schedule=[{"start": "2020-01", "compliance": 0.1}])]}
    lines = rp.assumptions(result, twice, {"ban": "a ban", "again": "ban again"})
    head = "Send all workers home within 2 years (UNSCR 2397)"
    assert lines == [
        f"a ban: {head}, the hosts' compliance: china 25%, russia 80% (assumed in the scenario file)",
        f"a ban and ban again: {head}, share of the permit holders a complying host would send home who are "
        "relabelled (student, tourist, other) instead, and of the postings the mandate closes that still arrive "
        "that way: 30% (assumed in the scenario files)",
        f"a ban and ban again: {head}, yearly chance a permit holder still there after the deadline is sent home, "
        "at full compliance: 30% a year (assumed in the scenario files)",
        f"ban again: {head}, the hosts' compliance: china 25%, russia 80%, then as scheduled (assumed in the "
        "scenario file)",
    ]
    # a posterior: the drawn compliance is not an assumption, and the draws are said to vary
    runs = pd.DataFrame({"scenario": ["ban"], "sample": [0], "replicate": 0, "policies.0.compliance": [0.4]})
    post = _result(tmp_path, "posterior", runs, n=1)
    lines = rp.assumptions(post, {"ban": [BAN, {"kind": "no_such_kind", "compliance": 1.0}]}, {})
    assert len(lines) == 3 and not any("compliance: china" in x for x in lines)
    assert lines[0].startswith(f"ban: {head}, share of the permit holders")
    assert lines[-1].startswith("Compliance, evasion and the other fitted parameters vary over the posterior")


def test_what_the_answer_hinges_on_is_the_top_sensitivity_indices_when_there_are_some(tmp_path, monkeypatch):
    result = _replicated(tmp_path)
    rows = [
        ("ban", REVENUE, "change", p, st) for p, st in (("a", 0.1), ("b", 0.5), ("c", 0.3), ("d", 0.2), ("e", 0.05))
    ]
    rows += [("ban", REVENUE, "level", "z", 0.9), ("ban", DEATHS, "change", "y", 0.9)]
    sens = pd.DataFrame(rows, columns=["scenario", "outcome", "of", "parameter", "ST"])
    monkeypatch.setattr(ExperimentResult, "sensitivity", lambda self: sens)
    import sim.plots.sanctions as sp

    monkeypatch.setattr(sp, "parameter_label", lambda p: p.upper())
    assert rp.assumptions(result, {}, {"ban": "a ban", "base": "none"}) == [
        "a ban, revenue delivered per year (its change from 'none'): B; C; D; A"
    ]
    mu = sens[sens["of"] == "level"].rename(columns={"ST": "mu_star"})
    mu = pd.concat([mu, mu.assign(parameter="w", mu_star=0.95)])
    monkeypatch.setattr(ExperimentResult, "sensitivity", lambda self: mu)
    assert rp.assumptions(result, {}, {}) == ["ban, revenue delivered per year: W; Z"]


def test_the_headline_grid_and_the_workbooks_number_formats():
    cells = rp._cells(TABLE, "base")
    grid = rp.headline_grid(["base", "ban"], [REVENUE], cells, {"ban": "a ban"})
    assert grid == [
        ["outcome", "base", "a ban"],
        ["revenue delivered per year, $", "$2.0M [$1.9M, $2.1M]", "$1.5M [$1.4M, $1.6M]"],
        ["change", "reference", "-25% [-30%, -20%]"],
    ]
    assert rp.headline_grid(["ban"], [KEPT, DEATHS], cells, {}) == [
        ["outcome", "ban"],
        ["kept per month worked, $", "$58 [$57, $59]"],
        ["change", "+9% [n/a, +21%] (n.d.)"],
        ["deaths per 10,000 worker-years", "3.30 [3.10, 3.50]"],
        ["change", "-0.10 [-0.30, +0.10] (n.d.)"],
    ]
    assert rp.number_format("USD a year") == '"$"#,##0;-"$"#,##0' and rp.number_format("USD") == '"$"#,##0;-"$"#,##0'
    assert rp.number_format("share") == "0.0%" and rp.number_format("workers") == "#,##0"
    assert rp.number_format("per 1,000 worker-years") == "#,##0.00"


def test_policies_are_read_from_the_manifest_else_from_the_experiment_file_else_none(tmp_path):
    from conftest import ROOT

    result = _replicated(tmp_path)
    assert rp.scenario_policies(result) == {"base": [OFF], "ban": [BAN, OFF, LATE]}
    m = result.manifest
    del m["scenario_policies"]  # a folder written before they were recorded: the experiment file, re-planned
    m["experiment_file"] = str(ROOT / "experiments" / "quick.toml")
    m["experiment_text"] = (ROOT / "experiments" / "quick.toml").read_text(encoding="utf-8")
    again = rp.scenario_policies(result)
    assert list(again) == ["no_sanctions", "history", "full_compliance"] and again["no_sanctions"] == []
    assert [p["label"] for p in again["history"]][:2] == ["UNSCR 2375", "UNSCR 2397"]
    assert again["history"][1]["start"] == "2017-12" and again["history"][1]["deadline"] == "2019-12"
    m["experiment_file"] = str(tmp_path / "moved" / "quick.toml")  # its parameter files are not beside it
    assert rp.scenario_policies(result) == {}


def _png(path):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    plt.imsave(path, np.arange(16, dtype=float).reshape(4, 4))
    return path


def _written(tmp_path, **kw):
    result = _replicated(tmp_path, **kw)
    result.manifest["experiment"]["scenarios"][1]["description"] = "the ban <draft>"
    for key in ("welfare", "changes"):
        _png(tmp_path / "plots" / f"{key}.png")
    files = rp.write_report(result, draw=False)
    assert [f.name for f in files] == ["report.md", "report.html", "report.xlsx", "report.docx"]
    assert all(f.is_file() for f in files) and not list(tmp_path.glob(".*.tmp"))
    return result


def _expected(result):
    table = rp.headline(result)
    table = table[table["outcome"].isin(rp.REPORTED)]
    return table, rp._cells(table, "base"), rp.findings(table, "base", result.labels, replicated=True)


def test_report_md_holds_the_findings_the_compared_policies_the_provenance_and_the_headline(tmp_path):
    result = _written(tmp_path)
    table, cells, found = _expected(result)
    md = (tmp_path / "report.md").read_text(encoding="utf-8").splitlines()
    assert [x for x in md if x.startswith("#")] == [
        "# trial",
        "## What it finds",
        "## What was compared",
        "## Headline",
        "## Paired changes from the reference, with intervals",
        "## Who gains and who loses",
        "## How to read this",
        "## What the answer hinges on",
    ]
    lo, hi = sorted(abs(100 * x / 115) for x in _t([-40, -40, -45, -35]))
    assert found[0].startswith(
        f"Against no sanctions, a ban: the revenue that reaches the state falls by 35% [{lo:.0f}%, {hi:.0f}%], to "
        "$7.5k a year; what a worker keeps per month worked rises by 9% ["
    )
    at = md.index("## What it finds")
    assert md[at + 2 : at + 2 + len(found)] == [f"- {rp._md(f)}" for f in found] and len(found) >= 2
    at = md.index("## What was compared")
    assert md[at + 2 : at + 7] == [
        "- **no sanctions (reference)**",
        "  - no sanctions or other policies",  # its one policy is switched off
        "- **a ban** (the ban \\<draft\\>)",
        f"  - {rp._md(rp.describe_policy(BAN))}",  # from 2017-12, the last month run: it acts
        "",  # the policy switched off and the one from 2030 are not said
    ]
    assert "| runs | 8 of 8 |" in md and "| scale | 1% of every host's workers; totals shown at full scale |" in md
    assert f"Each cell: {rp.interval_words(result)}. Below each level, the change from 'no sanctions'." in md
    at = md.index("| outcome | no sanctions | a ban |")
    assert md[at + 1] == "|---|---:|---:|"
    rows = []
    for o in (REVENUE, KEPT, DEATHS, WORKERS_AT_END):  # the reported outcomes, in the report's order
        rows.append(
            f"| {rp._md(rp.outcome_title(o))} | {rp._md(cells[('base', o)][0])} | {rp._md(cells[('ban', o)][0])} |"
        )
        rows.append(f"| change | reference | {rp._md(cells[('ban', o)][1])} |")
    assert md[at + 2 : at + 10] == rows and md[at + 10] == ""
    assert cells[("ban", REVENUE)][0].startswith("$7.5k [") and "worker share" not in "\n".join(md)
    assert "![Paired changes from the reference, with intervals](plots/changes.png)" in md
    assert "![Who gains and who loses](plots/welfare.png)" in md and not any("tradeoff" in x for x in md)
    assert rp.HOW_TO_READ_REPLICATES in md
    hinges = rp.assumptions(result, rp.scenario_policies(result), result.labels, LAST)
    at = md.index("## What the answer hinges on")
    assert md[at + 2 : at + 2 + len(hinges)] == [f"- {rp._md(h)}" for h in hinges] and len(hinges) == 3
    assert len(rp.assumptions(result, rp.scenario_policies(result), result.labels)) == 4  # and the one from 2030
    assert md[-1].startswith("Files: `summary.csv` (every outcome, level and paired change; totals at full scale)")


def test_a_report_before_the_reference_ran_says_so_and_how_to_read_a_sweep(tmp_path):
    result = _replicated(tmp_path)
    result.runs = result.runs[result.runs["scenario"] == "ban"]
    result.manifest["sampling"] = {"method": "lhs", "n": 1}
    result.manifest["experiment"]["sampling"] = {"method": "lhs", "n": 1}
    rp.write_report(result, draw=False)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "**The reference 'no sanctions' has no finished runs yet**: no changes can be computed" in md
    assert rp.HOW_TO_READ_SAMPLED in md and rp.HOW_TO_READ_REPLICATES not in md
    assert "- (no sensitivity indices in this experiment)" not in md  # the policies' assumptions are said
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert rp.HOW_TO_READ_SAMPLED in html.replace("&#x27;", "'") and "<img" not in html


def test_report_html_is_one_file_with_the_same_cells_and_the_figures_embedded(tmp_path):
    import base64
    import html as h

    result = _written(tmp_path)
    table, cells, found = _expected(result)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>trial</title>")
    assert "<ul id='findings'>" + "".join(f"<li>{h.escape(f)}</li>" for f in found) + "</ul>" in page
    assert (
        "<li><b>a ban</b> (the ban &lt;draft&gt;)<ul><li>" + h.escape(rp.describe_policy(BAN)) + "</li></ul></li>"
        in page
    )
    assert "<li><b>no sanctions (reference)</b><ul><li>no sanctions or other policies</li></ul></li>" in page
    assert "<tr><th>runs</th><td>8 of 8</td></tr>" in page
    assert "<table id='headline'><tr><th>outcome</th><th>no sanctions</th><th>a ban</th></tr>" in page
    row = "".join(f"<td class='num'>{h.escape(cells[(s, REVENUE)][0])}</td>" for s in ("base", "ban"))
    assert f"<tr><td>revenue delivered per year, $</td>{row}</tr>" in page
    change = f"<tr class='change'><td>change</td><td class='num'>reference</td><td class='num'>{h.escape(cells[('ban', KEPT)][1])}</td></tr>"
    assert change in page
    data = base64.b64encode((tmp_path / "plots" / "changes.png").read_bytes()).decode()
    assert f"<img id='fig-changes' alt='Paired changes from the reference' src='data:image/png;base64,{data}'>" in page
    assert page.index("fig-changes") < page.index("fig-welfare") and "fig-tradeoff" not in page
    assert "<figcaption>" + h.escape(rp.FIGURE_CAPTIONS["welfare"][1]) + "</figcaption>" in page
    hinges = rp.assumptions(result, rp.scenario_policies(result), result.labels, LAST)
    assert "<ul>" + "".join(f"<li>{h.escape(x)}</li>" for x in hinges) + "</ul>" in page
    assert page.endswith("<code>runs.parquet</code>, <code>monthly/</code>.</p></body></html>\n")
    assert "src='http" not in page and "<link" not in page and "<script" not in page  # nothing fetched


def test_report_xlsx_holds_the_headline_as_text_and_the_numbers_in_their_units(tmp_path):

    result = _written(tmp_path)
    result.manifest["experiment"]["scenarios"][1]["label"] = "=SUM(A1)"  # a label that looks like a formula
    rp.write_report(result, draw=False)
    table, cells, _ = _expected(result)
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert book.sheetnames == ["headline", "headline numbers", "scenarios", "about", "summary"]
    assert all(ws.freeze_panes == "B2" for ws in book.worksheets)
    head = book["headline"]
    assert [c.value for c in head[1]] == ["outcome", "no sanctions", "=SUM(A1)"] and head["C1"].data_type == "s"
    grid = rp.headline_grid(["base", "ban"], [REVENUE, KEPT, DEATHS, WORKERS_AT_END], cells, result.labels)
    assert [[c.value for c in r] for r in head.iter_rows(min_row=2)] == grid[1:]
    assert head.column_dimensions["A"].width == min(max(10, max(len(r[0]) for r in grid) + 2), 60)
    nums = book["headline numbers"]
    header = [c.value for c in nums[1]]
    assert header == ["scenario", "outcome", "unit", *rp.HEADLINE_NUMBERS.values()]
    rows = {(r[0].value, r[1].value): r for r in nums.iter_rows(min_row=2)}
    rev = rows[("=SUM(A1)", "revenue delivered per year, $")]
    assert rev[2].value == "USD a year" and rev[0].data_type == "s"
    col = {name: header.index(name) for name in header}
    assert rev[col["level"]].value == pytest.approx(7500) and rev[col["change"]].value == pytest.approx(-4000)
    assert rev[col["level"]].number_format == '"$"#,##0;-"$"#,##0'
    assert rev[col["change, % of reference"]].number_format == rp.PERCENT_CHANGE
    assert rev[col["change, % of reference"]].value == pytest.approx(-40 / 115 * 100)
    dead = rows[("=SUM(A1)", "deaths per 10,000 worker-years")]
    assert dead[col["level"]].number_format == "#,##0.00"
    workers = rows[("no sanctions", "workers abroad at the end, workers")]
    assert workers[col["level"]].number_format == "#,##0" and workers[col["level"]].value == pytest.approx(91500)
    summary = book["summary"]
    sh = [c.value for c in summary[1]]
    srow = {(r[0].value, r[1].value): r for r in summary.iter_rows(min_row=2)}
    share = srow[("no sanctions", "share of earnings the worker keeps, %")]
    assert share[sh.index("mean")].number_format == "0.0%" and share[sh.index("runs")].number_format == "#,##0"
    assert share[sh.index("mean")].value == pytest.approx(0.23)
    rev = srow[("no sanctions", "revenue delivered per year, $")]
    assert rev[sh.index("mean")].value == pytest.approx(11500)  # the summary at full scale too
    about = {r[0].value: r[1].value for r in book["about"].iter_rows(min_row=2)}
    assert about["each headline cell"] == rp.interval_words(result) and about["runs"] == "8 of 8"
    assert about["totals"] == "revenue a year and workers at full scale"
    scen = [[c.value for c in r] for r in book["scenarios"].iter_rows(min_row=2)]
    assert scen == [
        ["no sanctions (reference)", None, "no sanctions or other policies"],
        ["=SUM(A1)", "the ban <draft>", rp.describe_policy(BAN)],
    ]


def test_a_posterior_workbook_has_the_policy_answers_and_the_chances_in_percent(tmp_path):

    rng = np.random.default_rng(5)
    rows = [
        {"scenario": sc, "sample": s, "replicate": 0, **{o: rng.normal(100 if sc == "base" else 80, 10) for o in OUTS}}
        for sc in ("base", "ban")
        for s in range(6)
    ]
    result = _result(tmp_path, "posterior", pd.DataFrame(rows), scale=0.1, n=6, replicates=1)
    rp.write_report(result, draw=False)
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert book.sheetnames == ["headline", "headline numbers", "scenarios", "about", "summary", "policy answers"]
    nums = book["headline numbers"]
    header = [c.value for c in nums[1]]
    r = next(r for r in nums.iter_rows(min_row=2) if r[0].value == "a ban")
    assert r[header.index("chance the change is below 0")].number_format == "0%"
    answers = book["policy answers"]
    ah = [c.value for c in answers[1]]
    r = next(r for r in answers.iter_rows(min_row=2) if r[0].value == "a ban" and r[2].value == "USD a year")
    assert r[ah.index("draws")].number_format == "#,##0" and r[ah.index("median")].number_format.startswith('"$"')
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert rp.HOW_TO_READ_POSTERIOR in md and "vary over the posterior's draws" in md


def test_a_sensitivity_sheet_is_written_in_plain_decimals(tmp_path, monkeypatch):

    result = _replicated(tmp_path)
    sens = pd.DataFrame({"scenario": ["ban"], "outcome": [DEATHS], "of": ["change"], "parameter": ["a"], "ST": [0.25]})
    monkeypatch.setattr(ExperimentResult, "sensitivity", lambda self: sens)
    rp.write_report(result, draw=False)
    ws = openpyxl.load_workbook(tmp_path / "report.xlsx")["sensitivity"]
    assert ws["E2"].value == 0.25 and ws["E2"].number_format == "0.000"
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "- (no sensitivity indices in this experiment)" in md  # none of a headline outcome


def test_report_docx_holds_the_same_parts_in_a_landscape_page(tmp_path):
    from docx.shared import Inches, Pt

    result = _written(tmp_path)
    table, cells, found = _expected(result)
    doc = docx.Document(str(tmp_path / "report.docx"))
    sec = doc.sections[0]
    assert sec.page_width > sec.page_height and sec.orientation == 1  # landscape
    assert all(getattr(sec, s) == Inches(0.7) for s in ("left_margin", "right_margin", "top_margin", "bottom_margin"))
    assert doc.styles["Normal"].font.size == Pt(10)
    paras = [(p.style.name, p.text) for p in doc.paragraphs]
    assert paras[0] == ("Title", "trial")
    heads = [t for s, t in paras if s.startswith("Heading")]
    assert heads == [
        "What it finds",
        "What was compared",
        "Headline",
        "Paired changes from the reference",
        "Who gains and who loses",
        "How to read this",
        "What the answer hinges on",
    ]
    bullets = [t for s, t in paras if s == "List Bullet"]
    assert bullets[: len(found)] == found
    assert bullets[len(found) : len(found) + 2] == ["no sanctions (reference)", "a ban (the ban <draft>)"]
    assert [t for s, t in paras if s == "List Bullet 2"] == ["no sanctions or other policies", rp.describe_policy(BAN)]
    assert ("Normal", rp.FIGURE_CAPTIONS["changes"][1]) in paras and ("Normal", rp.HOW_TO_READ_REPLICATES) in paras
    assert ("Normal", f"Each cell: {rp.interval_words(result)}.") in paras
    about, head = doc.tables
    assert [[c.text for c in r.cells] for r in about.rows][:2] == [["runs", "8 of 8"], list(rp._provenance(result)[1])]
    grid = rp.headline_grid(["base", "ban"], [REVENUE, KEPT, DEATHS, WORKERS_AT_END], cells, result.labels)
    assert [[c.text for c in r.cells] for r in head.rows] == grid
    runs = [(i, run) for i, r in enumerate(head.rows) for c in r.cells for run in c.paragraphs[0].runs]
    assert all(run.font.bold == (i == 0) and run.font.size == Pt(8.5) for i, run in runs)
    assert len(doc.inline_shapes) == 2 and doc.inline_shapes[0].width == Inches(8.5)
    hinges = rp.assumptions(result, rp.scenario_policies(result), result.labels, LAST)
    assert bullets[-len(hinges) :] == hinges


def test_the_figures_are_drawn_for_what_applies_and_stale_ones_removed(tmp_path, monkeypatch):
    result = _replicated(tmp_path)
    calls = []

    def draw(key, res, args):
        calls.append((key, args))
        return None if key == "tradeoff" else tmp_path / "plots" / f"{key}.png"

    monkeypatch.setattr(rp, "draw_figure", draw)
    stale = _png(tmp_path / "plots" / "tradeoff.png")
    got = rp.figures(result)
    assert list(got) == ["changes", "series", "welfare"] and not stale.exists()  # in FIGURES' order
    assert [k for k, _ in calls] == ["series", "tradeoff", "changes", "welfare"]  # the longest first
    args = dict(calls)
    policies = {"base": [], "ban": [BAN, LATE]}  # those in effect
    assert args["series"] == (0.01, policies, tmp_path / "plots" / "series.png", "trial: month by month")
    table = rp.headline(result)
    t, labels, ref, short, path, title = args["tradeoff"]
    pd.testing.assert_frame_equal(t, table)
    assert (labels, ref, short) == (result.labels, "base", rp.interval_short(result))
    assert (path.name, title) == ("tradeoff.png", "trial: revenue against what workers keep")
    assert args["changes"][1:] == (
        result.labels,
        "base",
        rp.interval_words(result),
        tmp_path / "plots" / "changes.png",
        "trial: paired changes",
    )
    assert args["welfare"] == (tmp_path / "plots" / "welfare.png", "trial: who gains and who loses")
    calls.clear()
    result.runs = result.runs[result.runs["scenario"] == "ban"]  # the reference not run yet: the series alone
    assert list(rp.figures(result)) == ["series"] and [k for k, _ in calls] == ["series"]
    result.runs = result.runs.iloc[:0]
    assert rp.figures(result) == {} and len(calls) == 1


def test_each_figure_is_drawn_by_its_function_with_what_it_reads(tmp_path, monkeypatch):
    import sim.plots.report as fig

    result = _replicated(tmp_path)
    seen = {}
    for name in ("series", "welfare_differences", "tradeoff", "change_forest"):
        monkeypatch.setattr(fig, name, lambda *a, _n=name: seen.setdefault(_n, a) and _n)
    monkeypatch.setattr(ExperimentResult, "monthly", lambda self, cols: ("monthly", tuple(cols)))
    monkeypatch.setattr(ExperimentResult, "distributions", lambda self: "distributions")
    assert rp.draw_figure("series", result, (1, 2)) == "series"
    assert seen["series"] == (("monthly", tuple(c for c, _, _, _ in fig.SERIES)), result.labels, "base", 1, 2)
    assert rp.draw_figure("welfare", result, (3,)) == "welfare_differences"
    assert seen["welfare_differences"] == ("distributions", result.labels, "base", 3)
    assert rp.draw_figure("tradeoff", result, (4, 5)) == "tradeoff" and seen["tradeoff"] == (4, 5)
    assert rp.draw_figure("changes", result, (6,)) == "change_forest" and seen["change_forest"] == (6,)


def test_analyse_writes_the_tables_then_the_figures_and_times_both(tmp_path, monkeypatch):
    result = _replicated(tmp_path)
    order = []
    monkeypatch.setattr(
        ExperimentResult, "write_analysis", lambda self, plots: order.append(("tables", plots)) or [Path("a")]
    )
    monkeypatch.setattr(ExperimentResult, "write_analysis_figures", lambda self: order.append("own") or [Path("b")])
    monkeypatch.setattr(rp, "figures", lambda res, processes: order.append(("figures", processes)) or {"x": Path("c")})
    seconds = {}
    assert rp.analyse(result, seconds=seconds, processes=3) == [Path("a"), Path("b"), Path("c")]
    assert order == [("tables", False), "own", ("figures", 3)] and set(seconds) == {"analysis", "figures"}
    assert all(v >= 0 for v in seconds.values())
    order.clear()
    assert rp.analyse(result, plots=False) == [Path("a")] and order == [("tables", False)]
    result.runs = result.runs.iloc[:0]
    assert rp.analyse(result) == [Path("a")]


# ------------------------------------------------------------------ the edges mutation testing found unpinned
CASH = {"start": "2017-06", "hosts": "all", "sectors": "all", "compliance": 0.5, "kind": "cash_interdiction"}
SOON = dict(CASH, start="2018-01", compliance=0.7)  # the month after the last one run (2017-12)
FILES = (
    "Files: `summary.csv` (every outcome, level and paired change; totals at full scale), `report.xlsx` (these "
    "tables, totals at full scale), `report.docx` (this report, for pasting), `runs.parquet` (one row per run, at "
    "the simulated scale), `monthly/` (every run's months, simulated scale)."
)


def test_report_md_line_for_line(tmp_path, monkeypatch):
    monkeypatch.setattr(rp.time, "strftime", lambda f: f)
    result = _replicated(tmp_path)
    result.manifest["scenario_policies"]["ban"] = [BAN, CASH, SOON, OFF]
    for key in rp.FIGURES:
        _png(tmp_path / "plots" / f"{key}.png")
    rp.write_report(result, draw=False)
    table, cells, found = _expected(result)
    hinges = rp.assumptions(result, rp.scenario_policies(result), result.labels, LAST)
    rows = []
    for o in (REVENUE, KEPT, DEATHS, WORKERS_AT_END):
        rows.append(
            f"| {rp._md(rp.outcome_title(o))} | {rp._md(cells[('base', o)][0])} | {rp._md(cells[('ban', o)][0])} |"
        )
        rows.append(f"| change | reference | {rp._md(cells[('ban', o)][1])} |")
    figures = []
    for key, caption in (
        ("changes", "Paired changes from the reference, with intervals"),
        ("tradeoff", "Revenue against what workers keep"),
        ("series", "Month by month"),
        ("welfare", "Who gains and who loses"),
    ):
        figures += ["", f"## {caption}", "", f"![{caption}](plots/{key}.png)"]
    expected = [
        "# trial",
        "",
        "## What it finds",
        "",
        *[f"- {rp._md(f)}" for f in found],
        "",
        "## What was compared",
        "",
        "- **no sanctions (reference)**",
        "  - no sanctions or other policies",
        "- **a ban** (the ban)",
        f"  - {rp._md(rp.describe_policy(BAN))}",
        f"  - {rp._md(rp.describe_policy(CASH))}",  # not the one from 2018-01, after the months run
        "",
        "| | |",
        "|---|---|",
        *[f"| {rp._md(k)} | {rp._md(v)} |" for k, v in rp._provenance(result)],
        "",
        "## Headline",
        "",
        f"Each cell: {rp.interval_words(result)}. Below each level, the change from 'no sanctions'.",
        "",
        "| outcome | no sanctions | a ban |",
        "|---|---:|---:|",
        *rows,
        *figures,
        "",
        "## How to read this",
        "",
        rp.HOW_TO_READ_REPLICATES,
        "",
        "## What the answer hinges on",
        "",
        *[f"- {rp._md(h)}" for h in hinges],
        "",
        FILES,
    ]
    assert (tmp_path / "report.md").read_text(encoding="utf-8") == "\n".join(expected) + "\n"
    assert "| written | %Y-%m-%d %H:%M |" in expected and len(hinges) == 4
    assert any("compliance: 50%" in h for h in hinges) and not any("compliance: 70%" in h for h in hinges)


def test_what_was_compared_follows_the_months_run(tmp_path):
    result = _replicated(tmp_path)
    result.manifest["scenario_policies"]["ban"] = [BAN, SOON, LATE]

    def said():
        rp.write_report(result, draw=False)
        md = (tmp_path / "report.md").read_text(encoding="utf-8").splitlines()
        at = md.index("- **a ban** (the ban)")
        return md[at + 1 : md.index("", at)]

    words = [f"  - {rp._md(rp.describe_policy(p))}" for p in (BAN, SOON, LATE)]
    assert said() == words[:1]  # 2016-01 + 24 months: to 2017-12
    result.manifest["base_params"]["calendar"]["start"] = "2015-01"
    assert said() == ["  - no sanctions or other policies"]  # to 2016-12: the ban of 2017-12 is not run
    result.manifest["base_params"]["calendar"] = {"start": "2016-01"}  # no months recorded: every policy said
    assert said() == words
    result.manifest["base_params"] = {}
    assert said() == words


def test_report_html_line_by_line_parts(tmp_path):
    result = _replicated(tmp_path)
    result.manifest["scenario_policies"]["ban"] = [BAN, CASH]
    rp.write_report(result, draw=False)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    e = __import__("html").escape
    assert (
        "<h2>What was compared</h2><ul>\n<li><b>no sanctions (reference)</b><ul><li>no sanctions or other policies"
        f"</li></ul></li>\n<li><b>a ban</b> (the ban)<ul><li>{e(rp.describe_policy(BAN))}</li><li>"
        f"{e(rp.describe_policy(CASH))}</li></ul></li>\n</ul><table id='provenance'><tr><th>runs</th><td>8 of 8</td>"
        "</tr><tr><th>scale</th>"
    ) in page
    assert "</td></tr>\n</table></div>\n<h2>How to read this</h2>" in page
    assert "Below each level (shaded), the change from 'no sanctions'.</p><div class='scroll'>" in page
    assert page.endswith(
        "</ul>\n<p>Files beside this report: <code>summary.csv</code>, <code>report.xlsx</code>, <code>report.docx</code>, "
        "<code>runs.parquet</code>, <code>monthly/</code>.</p></body></html>\n"
    )


def test_a_report_without_assumptions_says_so_in_every_format(tmp_path):
    import docx

    result = _replicated(tmp_path)
    result.manifest["scenario_policies"] = {"base": [OFF], "ban": [OFF]}  # nothing in effect: nothing assumed
    rp.write_report(result, draw=False)
    md = (tmp_path / "report.md").read_text(encoding="utf-8").splitlines()
    assert md[md.index("## What the answer hinges on") + 2] == "- (no sensitivity indices in this experiment)"
    doc = docx.Document(str(tmp_path / "report.docx"))
    paras = [(p.style.name, p.text) for p in doc.paragraphs]
    assert paras[-1] == ("List Bullet", "(no sensitivity indices in this experiment)")
    assert paras[0][0] == "Title" and all(
        st == "Heading 1" for st, t in paras if t in ("What it finds", "What was compared", "Headline")
    )
    assert [t.style.name for t in doc.tables] == ["Table Grid", "Table Grid"]
    heads = [(st, t) for st, t in paras if st.startswith("Heading")]
    assert len(heads) == 5 and {st for st, _ in heads} == {"Heading 1"}


def test_markdown_escaping_leaves_other_letters_alone():
    assert rp._md("XXX xx") == "XXX xx"


def test_the_workbooks_text_cells_widths_and_sheets(tmp_path):
    import openpyxl

    result = _replicated(tmp_path)
    result.manifest["scenario_policies"]["ban"] = [BAN, CASH]
    rp.write_report(result, draw=False)
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert book["headline"]["B2"].number_format == "General"  # text is not given a number's format
    assert [c.value for c in book["scenarios"][1]] == ["scenario", "description", "policies"]
    assert book["scenarios"]["C3"].value == f"{rp.describe_policy(BAN)}; {rp.describe_policy(CASH)}"
    assert book["scenarios"].column_dimensions["C"].width == 60  # capped
    assert [c.value for c in book["about"][1]] == ["what", "value"]
    summary = book["summary"]
    header = [c.value for c in summary[1]]
    letter = summary.cell(1, header.index("runs") + 1).column_letter
    assert summary.column_dimensions[letter].width == 10  # 'runs' and '4': at least 10
    narrow = book["scenarios"].column_dimensions["B"].width  # 'description' (11 letters) + 2
    assert narrow == 13
    assert book["headline numbers"].column_dimensions["C"].width == 25  # 'per 10,000 worker-years' + 2


def test_a_narrow_column_is_ten_wide(tmp_path):
    import openpyxl

    result = _replicated(tmp_path)
    result.manifest["experiment"]["scenarios"][0]["label"] = "a"
    result.manifest["experiment"]["scenarios"][1]["label"] = "b"
    rp.write_report(result, draw=False)
    ws = openpyxl.load_workbook(tmp_path / "report.xlsx")["headline numbers"]
    assert ws["A1"].value == "scenario" and ws.column_dimensions["A"].width == 10


def test_an_experiment_without_runs_writes_its_reports_headers(tmp_path):
    import openpyxl

    result = _result(tmp_path, "none", _replicated(tmp_path).runs.iloc[:0], total=8)
    assert list(rp.headline(result).columns) == list(rp.HEADLINE_COLUMNS)
    rp.write_report(result, draw=False)
    ws = openpyxl.load_workbook(tmp_path / "report.xlsx")["headline numbers"]
    assert [c.value for c in ws[1]] == ["scenario", "outcome", "unit", *rp.HEADLINE_NUMBERS.values()]
    assert ws.max_row == 1
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# trial\n") and "has no finished runs yet" in md


def test_a_posterior_report_says_what_the_draws_set_and_gives_full_scale_answers(tmp_path):
    import openpyxl

    rng = np.random.default_rng(5)
    rows = [
        {
            "scenario": sc,
            "sample": s,
            "replicate": 0,
            "policies.0.compliance": 0.5 if sc == "ban" else math.nan,
            **{o: rng.normal(100 if sc == "base" else 80, 10) for o in OUTS},
        }
        for sc in ("base", "ban")
        for s in range(6)
    ]
    result = _result(tmp_path, "posterior", pd.DataFrame(rows), scale=0.1, n=6, replicates=1)
    rp.write_report(result, draw=False)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"  - {rp._md(rp.describe_policy(BAN, {'compliance'}))}" in md.splitlines()
    assert "compliance as drawn from the posterior" in rp.describe_policy(BAN, {"compliance"})
    assert "With these replicates" not in md  # a posterior's intervals are not the replicates'
    ws = openpyxl.load_workbook(tmp_path / "report.xlsx")["policy answers"]
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "a ban" and r[2].value == "USD a year")
    sim = result.policy_answers().set_index(["scenario", "outcome"])
    assert row[header.index("median")].value == pytest.approx(10 * sim.loc[("ban", REVENUE), "median"])


def test_a_report_drawn_now_draws_its_figures_from_the_result(tmp_path, monkeypatch):
    result = _replicated(tmp_path, name="compare-base-ban")
    seen = []
    monkeypatch.setattr(rp, "figures", lambda res: seen.append(res) or {"changes": _png(tmp_path / "plots" / "c.png")})
    files = rp.write_report(result)
    assert seen == [result] and files[-1].name == "c.png" and len(files) == 5
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# no sanctions vs a ban\n") and "(plots/c.png)" in md


def test_analyse_hands_the_result_to_the_figures_and_times_in_seconds(tmp_path, monkeypatch):
    result = _replicated(tmp_path)
    got = []
    monkeypatch.setattr(ExperimentResult, "write_analysis", lambda self, plots: [])
    monkeypatch.setattr(ExperimentResult, "write_analysis_figures", lambda self: [])
    monkeypatch.setattr(rp, "figures", lambda res, processes: got.append((res, processes)) or {})
    seconds = {}
    rp.analyse(result, seconds=seconds)
    assert got == [(result, 1)] and all(0 <= v < 60 for v in seconds.values())


def test_the_assumptions_name_three_scenarios_in_order_and_stop_at_eight(tmp_path, monkeypatch):
    result = _replicated(tmp_path)
    pols = {sc: [dict(BAN)] for sc in ("x", "y", "z")}
    lines = rp.assumptions(result, pols, {})
    assert lines[0].startswith("x, y and z: Send all workers home")
    nocomp = {k: v for k, v in CASH.items() if k != "compliance"}  # complies fully unless said
    assert (
        rp.assumptions(result, {"x": [nocomp]}, {})[0]
        == "x: Seize cash at the border, the hosts' compliance: 100% (assumed in the scenario file)"
    )
    runs = pd.DataFrame({"scenario": ["x"], "sample": [0], "replicate": 0, "policies.0.compliance": [0.4]})
    post = _result(tmp_path, "posterior", runs, n=1)
    assert rp.assumptions(post, {}, {})[-1] == (
        "Compliance, evasion and the other fitted parameters vary over the posterior's draws: the intervals above "
        "include them. The sensitivity experiment (experiments/sensitivity_sanctions.toml) says which matter most."
    )
    # sensitivity indices: groups in the table's order, a non-headline outcome skipped (not the end), eight at most
    rows = [("zed", DEATHS, "change", "q", 0.5)]
    rows += [(f"s{9 - i}", REVENUE, "change", "p", 0.5) for i in range(9)]
    sens = pd.DataFrame(rows, columns=["scenario", "outcome", "of", "parameter", "ST"])
    monkeypatch.setattr(ExperimentResult, "sensitivity", lambda self: sens)
    lines = rp.assumptions(result, {}, {})
    assert len(lines) == 8 and lines[0].startswith("s9, ") and lines[-1].startswith("s2, ")


def test_figures_titles_and_scale_from_the_manifest(tmp_path, monkeypatch):
    result = _replicated(tmp_path, name="compare-base-ban")
    del result.manifest["experiment"]["scale"]
    calls = {}
    monkeypatch.setattr(rp, "draw_figure", lambda key, res, args: calls.setdefault(key, args) and None)
    rp.figures(result)
    assert calls["series"][0] == 1.0 and calls["series"][3] == "no sanctions vs a ban: month by month"


def test_the_findings_edges_of_no_change():
    edge = _table(
        [
            ("a", REVENUE, (100, 90, 110, 2, 0.0, 4, 2, 0.0, 4)),  # the interval touches 0 from above: n.d.
            ("a", KEPT, (50, 49, 51, -2, -4, 0.0, -4, -8, 0.0)),  # ... from below: n.d.
            ("a", WORKERS_AT_END, (900, 890, 910, 0.5, 0.2, 0.8, math.nan, math.nan, math.nan)),  # a small rise
            ("b", WORKERS_AT_END, (900, 890, 910, 0.5, 0.2, 2, math.nan, math.nan, math.nan)),  # includes 1, not 0
            ("c", WORKERS_AT_END, (900, 890, 910, 1, -1, 2, math.nan, math.nan, math.nan)),  # n.d., plural
        ]
    )
    said = rp.findings(edge, "ref", {}, replicated=True)
    assert said[0] == (
        "Against ref, a: the revenue that reaches the state does not change distinguishably ($100 a year against "
        "$98); what a worker keeps per month worked does not change distinguishably ($50 a month against $52); the "
        "workers abroad at the end rise by 0.5 [0.2, 0.8], to 900."
    )
    assert said[1].startswith(
        "With these replicates, a's change in revenue delivered per year and kept per month worked cannot"
    )
    assert said[2] == "Against ref, b: the workers abroad at the end rise by 0.5 [0.2, 2.00], to 900."
    assert said[3] == "Against ref, c: the workers abroad at the end do not change distinguishably (900 against 899)."
    assert said[4].startswith("With these replicates, c's change in workers abroad at the end cannot")
    cells = rp._cells(edge, "ref")
    assert cells[("a", KEPT)][1].endswith("(n.d.)") and cells[("a", REVENUE)][1].endswith("(n.d.)")
    assert not cells[("b", WORKERS_AT_END)][1].endswith("(n.d.)")


def test_headline_edges_a_zero_change_a_zero_reference_and_the_scenarios_order(tmp_path):
    rows = [{"scenario": "zz", "sample": s, "replicate": 0, REVENUE: 0.0, KEPT: 10.0} for s in range(4)]
    rows += [
        {"scenario": "ban", "sample": s, "replicate": 0, REVENUE: v, KEPT: 10.0 + d}
        for s, (v, d) in enumerate([(1.0, 0.0), (2.0, 0.5), (3.0, -1.0), (4.0, 2.0)])
    ]
    runs = pd.DataFrame(rows)
    for o in OUTS[2:]:
        runs[o] = 1.0
    result = _result(tmp_path, "lhs", runs, scale=1.0, n=4, replicates=1)
    result.manifest["reference"] = "zz"
    t = rp.headline(result)
    assert list(dict.fromkeys(t["scenario"])) == ["zz", "ban"]  # as run, not sorted
    r = _row(t, "ban", REVENUE)
    assert r["change"] == pytest.approx(2.5) and math.isnan(r["change_pct"]) and math.isnan(r["change_pct_low"])
    assert _row(t, "ban", KEPT)["p_below"] == pytest.approx(0.25)  # 0 and 0.5 are not below 0


def test_interval_words_count_runs_per_scenario_and_replicates(tmp_path):
    runs = pd.DataFrame({"scenario": ["s"] * 6, "sample": [0, 1, 2, 0, 1, 2], "replicate": [0, 0, 0, 1, 1, 1]})
    lhs = _result(tmp_path, "lhs", runs, n=3, replicates=2)
    assert rp.interval_words(lhs).startswith(
        "mean and the range holding 95% of the 6 runs per scenario (lhs samples of the uncertain parameters x 2 "
        "replicates;"
    )


def test_a_comparison_of_four_files_is_titled_by_them_and_of_five_by_its_name(tmp_path):
    result = _replicated(tmp_path, name="compare-four")
    result.manifest["experiment"]["scenarios"] = [{"name": n} for n in ("a", "b", "c", "d_e")]
    assert rp.report_title(result, result.labels) == "a vs b vs c vs d e"
    result.manifest["experiment"]["scenarios"].append({"name": "f"})
    assert rp.report_title(result, result.labels) == "compare-four"
