"""The experiment's statistics by value (issue 34, item 7: mutation testing reaches the analysis): the intervals,
the summary of replicated runs, the policy answers over posterior draws, the rank probabilities, the README's
policy table and the printed report, each worked out by hand here from a few synthetic runs (no simulation: the
mutation run, `benchmarks/mutation.py`, runs these against every mutant of `sim/explore/analysis.py`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim.plots.sanctions  # noqa: F401  (imported before mutation testing forks: see test_report_by_value)
from sim.explore import analysis as an
from sim.explore.analysis import ExperimentResult
from sim.results.outcomes import KEPT, OUTCOMES, REVENUE

DEATHS = "deaths_per_10000_worker_years"  # log scale, not money, not a total
SHARE = "worker_share_kept"  # logit scale
GAIN = "net_gain_p50"  # money, its change not in percent


def _half(x, level=0.95):
    x = np.asarray(x, float)
    return stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))


# ------------------------------------------------------------------ intervals
def test_the_t_interval_of_a_mean():
    m, lo, hi = an.t_interval(np.array([1.0, 2, 3, 4, math.nan, math.inf]))  # the non-finite left out
    h = _half([1, 2, 3, 4])
    assert (m, lo, hi) == pytest.approx((2.5, 2.5 - h, 2.5 + h), rel=1e-12)
    m, lo, hi = an.t_interval(np.array([1.0, 2, 3, 4]), level=0.9)
    assert hi - m == pytest.approx(_half([1, 2, 3, 4], 0.9), rel=1e-12)
    m, lo, hi = an.t_interval(np.array([7.0]))
    assert m == 7 and math.isnan(lo) and math.isnan(hi)
    assert all(math.isnan(v) for v in an.t_interval(np.array([math.nan])))
    m, lo, hi = an.t_interval(np.array([3, 5]))  # two values: one degree of freedom
    assert hi - m == pytest.approx(stats.t.ppf(0.975, 1) * math.sqrt(2) / math.sqrt(2), rel=1e-12)


def test_a_levels_interval_on_its_scale():
    x = [1.0, 2, 3, 4]
    h = _half(x)
    assert an.level_interval(np.array(x)) == pytest.approx((2.5, 2.5 - h, 2.5 + h))
    k = math.exp(h / 2.5)
    assert an.level_interval(np.array(x), "log") == pytest.approx((2.5, 2.5 / k, 2.5 * k))
    assert an.level_interval(np.array([0.0, 0, 0]), "log") == (0.0, 0.0, 0.0)
    assert an.level_interval(np.array([-1.0, -3]), "log") == pytest.approx(an.t_interval(np.array([-1.0, -3])))
    p = [0.2, 0.3, 0.4]
    h = _half(p)
    c, w = math.log(0.3 / 0.7), h / (0.3 * 0.7)
    lo, hi = 1 / (1 + math.exp(-(c - w))), 1 / (1 + math.exp(-(c + w)))
    assert an.level_interval(np.array(p), "logit") == pytest.approx((0.3, lo, hi))
    assert an.level_interval(np.array([1.0, 1, 1]), "logit") == (1.0, 1.0, 1.0)
    assert an.level_interval(np.array([0.0, 0]), "logit") == (0.0, 0.0, 0.0)
    assert an.level_interval(np.array([1.5, 2.5]), "logit") == pytest.approx(an.t_interval(np.array([1.5, 2.5])))
    m, lo, hi = an.level_interval(np.array([5.0]), "log")
    assert m == 5 and math.isnan(lo) and math.isnan(hi)
    h90 = _half(x, 0.9)
    assert an.level_interval(np.array(x), "log", level=0.9)[2] == pytest.approx(2.5 * math.exp(h90 / 2.5))
    # a half-width hundreds of times the mean: the exponent is capped, no overflow
    m, lo, hi = an.level_interval(np.array([1e-300, 0.0, 0.0, 1e-300, 0.0, 5.0]), "log")
    assert lo >= 0 and math.isfinite(hi)


@pytest.mark.parametrize(
    "pct, words",
    [(math.nan, ""), (-35.4, " (-35%)"), (0.0, " (+0%)"), (999.4, " (+999%)"), (1000.0, " (x11)"), (15030, " (x151)")],
)
def test_a_change_in_percent_in_words(pct, words):
    assert an.percent_words(pct) == words


# ------------------------------------------------------------------ the summary of replicated runs
def _runs():
    """Two scenarios x 2 samples x 3 replicates; the ban's sample 1, replicate 2 has no revenue (NaN)."""
    rows = []
    for sc, shift in (("base", 0.0), ("ban", -30.0)):
        for s in range(2):
            for k in range(3):
                rev = 100.0 + 10 * k + 5 * s + shift + (3.0 * k * k if sc == "ban" else 0)
                rows.append(
                    {
                        "scenario": sc,
                        "sample": s,
                        "replicate": k,
                        REVENUE: math.nan if (sc, s, k) == ("ban", 1, 2) else rev,
                        KEPT: 50.0 + k + (4.0 + s if sc == "ban" else 0),
                    }
                )
    return pd.DataFrame(rows)


def test_the_summary_of_replicated_runs_by_hand():
    runs = _runs()
    s = an.scenario_summary(runs, [REVENUE, KEPT], "base").set_index(["scenario", "outcome"])
    assert list(s.index) == [("base", REVENUE), ("base", KEPT), ("ban", REVENUE), ("ban", KEPT)]
    ban = runs[runs["scenario"] == "ban"]
    v = ban[REVENUE].dropna().to_numpy()
    r = s.loc[("ban", REVENUE)]
    assert (r["runs"], r["mean"], r["sd"]) == pytest.approx((5, v.mean(), v.std(ddof=1)))
    assert (r["p2_5"], r["p97_5"]) == pytest.approx((np.percentile(v, 2.5), np.percentile(v, 97.5)))
    per_rep = ban.groupby("replicate")[REVENUE].mean().to_numpy()  # replicate 2: sample 0 alone (NaN skipped)
    lvl = an.level_interval(per_rep, "log")  # revenue's interval is on the log scale
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(lvl[1:])
    base = runs[runs["scenario"] == "base"].set_index(["sample", "replicate"])[REVENUE]
    d = (ban.set_index(["sample", "replicate"])[REVENUE] - base).dropna()
    dm = d.groupby(level="replicate").mean().to_numpy()
    assert r["pairs"] == 5 and r["diff_mean"] == pytest.approx(d.mean())
    assert (r["diff_ci_low"], r["diff_ci_high"]) == pytest.approx((dm.mean() - _half(dm), dm.mean() + _half(dm)))
    assert r["diff_pct"] == pytest.approx(100 * d.mean() / base.mean())
    k = s.loc[("ban", KEPT)]  # a linear scale; the change the same in every run but one sample's
    per_rep = ban.groupby("replicate")[KEPT].mean().to_numpy()
    assert (k["ci_low"], k["ci_high"]) == pytest.approx(
        (per_rep.mean() - _half(per_rep), per_rep.mean() + _half(per_rep))
    )
    assert (k["diff_mean"], k["diff_ci_low"], k["diff_ci_high"]) == pytest.approx((4.5, 4.5, 4.5))
    ref = s.loc[("base", REVENUE)]
    assert (ref["diff_mean"], ref["diff_ci_low"], ref["diff_ci_high"], ref["pairs"]) == (0.0, 0.0, 0.0, 6)
    assert ref["diff_pct"] == 0


def test_a_summary_against_a_zero_reference_or_none_has_no_percent():
    runs = pd.DataFrame(
        {"scenario": ["a", "a", "b", "b"], "sample": 0, "replicate": [0, 1, 0, 1], REVENUE: [0.0, 0.0, 1.0, 2.0]}
    )
    s = an.scenario_summary(runs, [REVENUE], "a").set_index("scenario")
    assert math.isnan(s.loc["b", "diff_pct"]) and s.loc["b", "diff_mean"] == 1.5
    s = an.scenario_summary(runs, [REVENUE], "nobody").set_index("scenario")  # no reference run: nothing paired
    assert s.loc["b", "pairs"] == 0 and math.isnan(s.loc["b", "diff_mean"]) and math.isnan(s.loc["b", "diff_pct"])
    one = an.scenario_summary(runs.iloc[2:3], [REVENUE], "a")
    assert one["runs"].iloc[0] == 1 and math.isnan(one["sd"].iloc[0])


# ------------------------------------------------------------------ over posterior draws
def _draws():
    rows = []
    for s in range(10):
        for k in range(2):
            rows.append({"scenario": "ref", "sample": s, "replicate": k, REVENUE: 100.0 + s + k, KEPT: 50.0 + k})
            rows.append({"scenario": "cut", "sample": s, "replicate": k, REVENUE: 60.0 + 2 * s * k, KEPT: 50.0 + s})
    return pd.DataFrame(rows)


def test_the_policy_answers_over_draws_by_hand():
    runs = _draws()
    means = runs.groupby(["scenario", "sample"], sort=False)[[REVENUE, KEPT]].mean()
    pd.testing.assert_frame_equal(an.draw_means(runs, [REVENUE, KEPT]), means.reset_index())
    a = an.posterior_summary(runs, [REVENUE, KEPT], "ref").set_index(["scenario", "outcome"])
    v = means.loc["cut", REVENUE].to_numpy()
    ref = means.loc["ref", REVENUE].to_numpy()
    d, pct = v - ref, 100 * (v - ref) / ref
    r = a.loc[("cut", REVENUE)]
    q = lambda x: (np.median(x), np.quantile(x, 0.05), np.quantile(x, 0.95))  # noqa: E731
    assert r["draws"] == 10
    assert (r["median"], r["low"], r["high"]) == pytest.approx(q(v))
    assert (r["change_median"], r["change_low"], r["change_high"]) == pytest.approx(q(d))
    assert (r["change_pct_median"], r["change_pct_low"], r["change_pct_high"]) == pytest.approx(q(pct))
    assert r["p_below_reference"] == pytest.approx((d < 0).mean())
    k = a.loc[("cut", KEPT)]  # changes s - 0.5: one draw of ten below 0
    assert k["p_below_reference"] == pytest.approx(0.1) and k["change_low"] == pytest.approx(
        np.quantile(np.arange(10) - 0.5, 0.05)
    )
    assert math.isnan(a.loc[("ref", REVENUE), "p_below_reference"]) and a.loc[("ref", REVENUE), "change_median"] == 0
    wide = an.posterior_summary(runs, [REVENUE], "ref", level=0.5).set_index(["scenario", "outcome"])
    assert wide.loc[("cut", REVENUE), "low"] == pytest.approx(np.quantile(v, 0.25))


def test_policy_answers_against_a_zero_reference_leave_the_percent_out():
    runs = _draws()
    runs.loc[(runs["scenario"] == "ref") & (runs["sample"] < 4), REVENUE] = 0.0
    runs.loc[(runs["scenario"] == "cut") & (runs["sample"] == 9), REVENUE] = math.nan
    a = an.posterior_summary(runs, [REVENUE], "ref").set_index(["scenario", "outcome"]).loc[("cut", REVENUE)]
    assert a["draws"] == 9
    means = an.draw_means(runs, [REVENUE]).set_index(["scenario", "sample"])[REVENUE]
    pct = [100 * (means["cut", s] - means["ref", s]) / means["ref", s] for s in range(4, 9)]
    assert a["change_pct_median"] == pytest.approx(np.median(pct))


def test_the_chance_of_ranking_first_shares_ties_and_ranks_by_what_is_better():
    runs = pd.DataFrame(
        {
            "scenario": ["ref"] * 3 + ["a"] * 3 + ["b"] * 3,
            "sample": [0, 1, 2] * 3,
            "replicate": 0,
            REVENUE: [9.0, 9, 9, 1, 2, 2, 1, 3, 3],  # less is better: a wins draws 1 and 2, draw 0 a tie
            KEPT: [0.0, 0, 0, 5, 5, 1, 5, 6, math.nan],  # more is better; draw 2 lacks b: left out
        }
    )
    r = an.rank_probabilities(runs, "ref").set_index(["scenario", "outcome"])
    assert list(r.index) == [("a", REVENUE), ("b", REVENUE), ("a", KEPT), ("b", KEPT)]
    assert r.loc[("a", REVENUE), "p_first"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert r.loc[("b", REVENUE), "p_first"] == pytest.approx(0.5 / 3)
    assert r.loc[("a", REVENUE), "mean_rank"] == pytest.approx((1.5 + 1 + 1) / 3)
    assert r.loc[("b", REVENUE), "mean_rank"] == pytest.approx((1.5 + 2 + 2) / 3)
    assert (r.loc[("a", REVENUE), "better"], r.loc[("a", KEPT), "better"]) == ("less", "more")
    assert r.loc[("a", KEPT), "draws"] == 2 and r.loc[("a", REVENUE), "draws"] == 3
    assert r.loc[("a", KEPT), "p_first"] == pytest.approx(0.25) and r.loc[("b", KEPT), "p_first"] == pytest.approx(0.75)
    custom = an.rank_probabilities(runs, "ref", {KEPT: False, "absent": True})
    assert set(custom["outcome"]) == {KEPT} and custom.set_index("scenario").loc["a", "p_first"] == pytest.approx(0.75)
    alone = an.rank_probabilities(runs[runs["scenario"] == "ref"], "ref")
    assert len(alone) == 0 and list(alone.columns) == ["scenario", "outcome", "better", "draws", "p_first", "mean_rank"]
    none = runs.copy()
    none.loc[none["scenario"] == "b", KEPT] = math.nan
    n = an.rank_probabilities(none, "ref", {KEPT: True})
    assert (n["draws"] == 0).all() and n["p_first"].isna().all() and n["mean_rank"].isna().all()


# ------------------------------------------------------------------ the README's policy table
def _answers():
    rows = []
    for sc, rev, kept in (("ref", 500e6, 100.0), ("cut", 300e6, 110.0)):
        for o, level in ((REVENUE, rev), (KEPT, kept), (DEATHS, 12.34), ("workers_final", 9.0)):
            ch = 0.0 if sc == "ref" else level / 10
            rows.append(
                {
                    "scenario": sc,
                    "outcome": o,
                    "median": level,
                    "low": level * 0.9,
                    "high": level * 1.1,
                    "change_median": -ch,
                    "change_low": -2 * ch,
                    "change_high": ch / 2,
                    "change_pct_median": -40.4,
                    "change_pct_low": -50.6,
                    "change_pct_high": 4.5,
                }
            )
    return pd.DataFrame(rows)


def test_the_policy_table_line_for_line():
    ranks = pd.DataFrame(
        {"scenario": ["cut", "cut"], "outcome": [REVENUE, KEPT], "p_first": [0.875, 0.5], "better": ["less", "more"]}
    )
    table = an.answers_table(_answers(), ranks, {"cut": "a cut"}, "ref")
    assert table.splitlines() == [
        "| scenario | revenue delivered, $M a year | change | a worker keeps, $ per month worked | change | deaths per "
        "10,000 worker-years | change | P(largest revenue cut) | P(workers keep most) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        "| ref | 500 [450, 550] |  | 100 [90, 110] |  | 12.3 [11.1, 13.6] |  |  |  |",
        "| a cut | 300 [270, 330] | -40% [-51%, +4%] | 110 [99, 121] | -40% [-51%, +4%] | 12.3 [11.1, 13.6] | "
        "-1.2 [-2.5, +0.6] | 88% | 50% |",
    ]
    # at the simulated scale: the totals' levels divided by it (not their changes in percent, not a rate)
    half = an.answers_table(_answers(), ranks.iloc[:0], {}, "ref", scale=0.5).splitlines()
    assert half[0].endswith("| deaths per 10,000 worker-years | change |")  # no ranks: no P(...) columns
    assert half[3].startswith("| cut | 600 [540, 660] | -40% [-51%, +4%] | 110 [99, 121] |")
    robust = pd.DataFrame(
        {
            "scenario": ["cut", "cut"],
            "outcome": [REVENUE, KEPT],
            "variants": [8, 8],
            "sign_holds": [8.0, 5.0],
            "rank_holds": [7, 6],
        }
    )
    rows = an.answers_table(_answers(), ranks, {}, "ref", robustness=robust).splitlines()
    assert rows[0].endswith(
        "| revenue delivered per year: sign, rank hold in k of 8 structures | kept per month worked: sign, rank hold "
        "in k of 8 structures |"
    )
    assert rows[2].endswith("|  |  |  |  |") and rows[3].endswith("| 88% | 50% | 8, 7 | 5, 6 |")
    rows = an.answers_table(_answers(), ranks, {}, "ref", robustness=robust.iloc[:1]).splitlines()
    assert rows[3].endswith("| 8, 7 | not run |")
    assert an.holds_counts({"sign_holds": 3.0, "rank_holds": 2.9}) == "3, 2"


def test_each_outcomes_format_in_the_policy_table():
    level, what, change = an._answer_formats(OUTCOMES[REVENUE])
    assert (level(1.5e9), what, change(-12.5)) == ("1,500", "change_pct_", "-12%")
    level, what, change = an._answer_formats(OUTCOMES[GAIN])
    assert (level(1234.5), what, change(-1234.5), change(5)) == ("1,234", "change_", "-1,234", "+5")
    level, what, change = an._answer_formats(OUTCOMES[DEATHS])
    assert (level(12.34), what, change(0.25)) == ("12.3", "change_", "+0.2")
    level, what, change = an._answer_formats(OUTCOMES["workers_final"])  # no format declared: two decimals
    assert (level(12.3456), what, change(0.5)) == ("12.35", "change_", "+0.50")


# ------------------------------------------------------------------ the folder's result: scale and the printed report
def _result(tmp_path, method, runs, outcomes, scale=0.1, name="trial"):
    manifest = {
        "kind": "experiment",
        "name": name,
        "experiment": {
            "replicates": int(runs["replicate"].nunique()),
            "scale": scale,
            "outcomes": outcomes,
            "scenarios": [
                {"name": "ref", "label": "no sanctions"},
                {"name": "cut_all"},
                {"name": "base"},
                {"name": "ban"},
            ],
            "sampling": {"method": method, "n": int(runs["sample"].nunique()), "seed": 0},
        },
        "reference": "ref" if "ref" in set(runs["scenario"]) else "base",
        "sampling": {"method": method, "n": int(runs["sample"].nunique()), "seed": 0},
        "runs_total": len(runs) + 2,
    }
    return ExperimentResult(tmp_path, manifest, runs, pd.DataFrame({"sample": sorted(set(runs["sample"]))}), None)


def test_totals_at_full_scale_and_everything_else_as_simulated(tmp_path):
    result = _result(tmp_path, "none", _runs(), [REVENUE, KEPT])
    assert result.scale == 0.1 and not result.is_posterior and not result.complete
    t = pd.DataFrame({"outcome": [REVENUE, KEPT, "mystery"], "mean": [1, 2, 3], "runs": [4, 4, 4]})
    got = result.full_scale(t, ("mean", "not_there"))
    assert got["mean"].tolist() == pytest.approx([10, 2, 3]) and got["runs"].tolist() == [4, 4, 4]
    assert t["mean"].tolist() == [1, 2, 3]  # the caller's table untouched
    result.manifest["experiment"]["scale"] = 1.0
    assert result.full_scale(t, ("mean",))["mean"].tolist() == [1, 2, 3]
    result.manifest["experiment"]["scale"] = 0.1
    s, full = result.summary(), result.summary(full_scale=True)
    i = (s["outcome"] == REVENUE).to_numpy()
    for c in an.SUMMARY_IN_UNIT:
        assert full.loc[i, c].to_numpy() == pytest.approx(10 * s.loc[i, c].to_numpy(), nan_ok=True)
        assert full.loc[~i, c].to_numpy() == pytest.approx(s.loc[~i, c].to_numpy(), nan_ok=True)
    assert (full["runs"] == s["runs"]).all() and (full["diff_pct"].fillna(0) == s["diff_pct"].fillna(0)).all()
    assert len(result.policy_answers()) == 0 and len(result.ranks()) == 0
    assert result.labels == {"ref": "no sanctions", "cut_all": "cut all", "base": "base", "ban": "ban"}


def test_the_printed_report_of_replicated_runs(tmp_path):
    runs = _runs()
    runs["scenario"] = runs["scenario"].map({"base": "ref", "ban": "cut_all"})
    result = _result(tmp_path, "none", runs, [REVENUE, KEPT])
    s = result.summary(full_scale=True).set_index(["scenario", "outcome"])
    n = an.number
    r, k = s.loc[("cut_all", REVENUE)], s.loc[("cut_all", KEPT)]
    b = s.loc[("ref", REVENUE)]
    assert result.report().splitlines() == [
        "trial: 12 of 14 runs; mean [95% interval]; change vs no sanctions (paired, same seeds) [95% interval]; "
        "simulated at 10% scale, totals shown at full scale",
        "  revenue that reaches the state, USD a year",
        f"    {'no sanctions':<22} {n(b['mean']):>10} [{n(b['ci_low'])}, {n(b['ci_high'])}]",
        f"    {'cut all':<22} {n(r['mean']):>10} [{n(r['ci_low'])}, {n(r['ci_high'])}]   {n(r['diff_mean'], sign=True)} "
        f"[{n(r['diff_ci_low'])}, {n(r['diff_ci_high'])}]{an.percent_words(r['diff_pct'])}",
        "  what a worker keeps per month worked, USD",
        f"    {'no sanctions':<22} {n(s.loc[('ref', KEPT), 'mean']):>10} [{n(s.loc[('ref', KEPT), 'ci_low'])}, "
        f"{n(s.loc[('ref', KEPT), 'ci_high'])}]",
        f"    {'cut all':<22} {n(k['mean']):>10} [{n(k['ci_low'])}, {n(k['ci_high'])}]   +4.50 [4.50, 4.50] (+9%)",
    ]
    assert result.report([KEPT]).count("\n") == 3  # the outcomes asked for alone
    result.manifest["experiment"]["scale"] = 1.0
    assert result.report().splitlines()[0].endswith("(paired, same seeds) [95% interval]")


def test_the_printed_report_over_posterior_draws(tmp_path):
    runs = _draws()
    result = _result(tmp_path, "posterior", runs, [REVENUE, KEPT], scale=0.5)
    a = result.policy_answers(full_scale=True).set_index(["scenario", "outcome"])
    n = an.number
    r = a.loc[("cut", REVENUE)]
    b = a.loc[("ref", REVENUE)]
    lines = result.report().splitlines()
    assert lines[0] == (
        "trial: 40 of 42 runs over 10 posterior draws x 2 replicates; median [90% credible interval] over the draws; "
        "change vs no sanctions (paired within a draw, same seeds); simulated at 50% scale, totals shown at full scale"
    )
    assert lines[1] == "  revenue that reaches the state, USD a year"
    assert lines[2] == f"    {'no sanctions':<22} {n(b['median']):>10} [{n(b['low'])}, {n(b['high'])}]"
    assert lines[3] == (
        f"    {'cut':<22} {n(r['median']):>10} [{n(r['low'])}, {n(r['high'])}]   {n(r['change_median'], sign=True)} "
        f"[{n(r['change_low'], sign=True)}, {n(r['change_high'], sign=True)}] ({r['change_pct_median']:+.0f}% "
        f"[{r['change_pct_low']:+.0f}, {r['change_pct_high']:+.0f}])"
    )
    ranks = result.ranks().set_index(["scenario", "outcome"])
    assert lines[-2:] == [
        f"  ranks first on the largest cut in revenue delivered per year: cut {ranks.loc[('cut', REVENUE), 'p_first']:.0%}",
        f"  ranks first on the most kept per month worked: cut {ranks.loc[('cut', KEPT), 'p_first']:.0%}",
    ]
    # a reference whose interval reaches 0: its percentages say nothing and are left out
    runs.loc[runs["scenario"] == "ref", KEPT] = runs.loc[runs["scenario"] == "ref", "sample"] - 4.0
    kept = [x for x in _result(tmp_path, "posterior", runs, [KEPT]).report().splitlines() if x.startswith("    cut")]
    assert len(kept) == 1 and "%" not in kept[0]
    # a change of 1,000% or more is left out too (the reference near 0)
    runs.loc[runs["scenario"] == "ref", KEPT] = 0.01
    kept = [x for x in _result(tmp_path, "posterior", runs, [KEPT]).report().splitlines() if x.startswith("    cut")]
    assert "%" not in kept[0]


def test_the_printed_report_names_what_the_answers_hinge_on(tmp_path, monkeypatch):
    runs = _runs()
    result = _result(tmp_path, "sobol", runs, [REVENUE, KEPT], scale=0.5)
    sens = pd.DataFrame(
        {
            "scenario": ["ban"] * 4 + ["base"],
            "outcome": [REVENUE] * 4 + [KEPT],
            "of": ["change"] * 4 + ["level"],
            "method": "sobol",
            "parameter": ["a", "b", "c", "d", "e"],
            "ST": [0.1, 0.4, 0.3, 0.2, 0.9],
        }
    )
    monkeypatch.setattr(ExperimentResult, "sensitivity", lambda self: sens)
    monkeypatch.setattr(sim.plots.sanctions, "parameter_label", lambda p: p.upper())
    tail = result.report().splitlines()[-3:]
    assert tail == [
        "  sensitivity (sobol; ranked by the total Sobol index ST, a share of the variance):",
        "    ban / change in revenue delivered per year from base: B 0.40; C 0.30; D 0.20",
        "    base / kept per month worked: E 0.90",
    ]
    morris = sens.rename(columns={"ST": "mu_star"}).assign(method="morris")
    monkeypatch.setattr(ExperimentResult, "sensitivity", lambda self: morris)
    tail = result.report().splitlines()[-3:]
    assert tail[0] == "  sensitivity (morris; ranked by Morris' mu*, in the outcome's unit, totals at full scale):"
    assert tail[1] == "    ban / change in revenue delivered per year from base: B $0; C $0; D $0"


def test_the_analysis_files_of_a_posterior_experiment(tmp_path):
    result = _result(tmp_path, "posterior", _draws(), [REVENUE, KEPT], scale=0.5)
    written = result.write_analysis(plots=False)
    assert [p.name for p in written] == ["summary.csv", "policy_answers.csv", "ranks.csv"]
    answers = pd.read_csv(tmp_path / "policy_answers.csv").set_index(["scenario", "outcome"])
    sim_scale = result.policy_answers().set_index(["scenario", "outcome"])
    assert answers.loc[("cut", REVENUE), "median"] == pytest.approx(
        2 * sim_scale.loc[("cut", REVENUE), "median"], rel=1e-5
    )
    assert answers.loc[("cut", KEPT), "median"] == pytest.approx(sim_scale.loc[("cut", KEPT), "median"], rel=1e-5)
    md = result.answers_markdown()
    assert md == an.answers_table(
        result.policy_answers(full_scale=True),
        result.ranks(),
        {"ref": "no sanctions", "cut_all": "cut_all", "base": "base", "ban": "ban"},
        "ref",
    )
    assert result.write_analysis_figures() == []  # no indices, no figure
    empty = _result(tmp_path / "e", "none", _runs().iloc[:0], [REVENUE])
    (tmp_path / "e").mkdir()
    assert empty.write_analysis(plots=True) == []


# ------------------------------------------------------------------ the edges mutation testing found unpinned
def test_the_sensitivity_indices_are_salibs_column_for_column():
    from SALib.analyze import morris, sobol
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0], [0.0, 1.0]]}
    x = sobol_sample.sample(problem, 16, calc_second_order=False, seed=1)
    y = 3 * x[:, 0] + x[:, 1] ** 2
    got = an.sobol_indices(problem, y, seed=4)
    want = sobol.analyze(problem, y, calc_second_order=False, seed=4)
    assert list(got.columns) == ["parameter", "S1", "S1_conf", "ST", "ST_conf"] and list(got["parameter"]) == ["a", "b"]
    for c in ("S1", "S1_conf", "ST", "ST_conf"):
        assert got[c].to_numpy() == pytest.approx(np.asarray(want[c]))
    assert got.loc[0, "ST"] > got.loc[1, "ST"]  # a matters most
    x = morris_sample.sample(problem, 6, num_levels=4, seed=2)
    y = 3 * x[:, 0] + x[:, 1] ** 2
    got = an.morris_indices(problem, x, y, levels=4, seed=5)
    want = morris.analyze(problem, x, y, num_levels=4, seed=5)
    assert list(got.columns) == ["parameter", "mu_star", "mu_star_conf", "mu", "sigma"]
    for c in ("mu_star", "mu_star_conf", "mu", "sigma"):
        assert got[c].to_numpy() == pytest.approx(np.asarray(want[c]))
    assert got.loc[0, "mu_star"] == pytest.approx(3.0)  # a's elementary effect, exactly linear


def test_the_policy_tables_edges():
    level, _, _ = an._answer_formats(OUTCOMES[REVENUE])
    assert level(3_500_001) == "4"  # millions, rounded: 3.500001
    ranks = pd.DataFrame({"scenario": ["cut"], "outcome": [REVENUE], "p_first": [0.875], "better": ["less"]})
    lines = an.answers_table(_answers(), ranks, {}, "ref").splitlines()
    assert lines[3].endswith("| 88% |  |")  # no rank for what workers keep: an empty cell
    no_kept = _answers()[lambda t: t["outcome"] != KEPT]
    assert (
        an.answers_table(no_kept, ranks, {}, "ref")
        .splitlines()[0]
        .endswith("| P(largest revenue cut) | P(workers keep most) |")
    )
    robust = pd.DataFrame(
        {"scenario": ["cut"], "outcome": [REVENUE], "variants": [8], "sign_holds": [8], "rank_holds": [7]}
    )
    head = an.answers_table(_answers(), ranks.iloc[:0], {}, "ref", robustness=robust).splitlines()[0]
    assert head == (
        "| scenario | revenue delivered, $M a year | change | a worker keeps, $ per month worked | change | deaths per "
        "10,000 worker-years | change | revenue delivered per year: sign, rank hold in k of 8 structures | kept per "
        "month worked: sign, rank hold in k of 8 structures |"
    )


def test_posterior_answers_against_a_reference_of_one_and_a_change_of_zero():
    runs = pd.DataFrame(
        {
            "scenario": ["ref", "ref", "cut", "cut"],
            "sample": [0, 1, 0, 1],
            "replicate": 0,
            REVENUE: [1.0, 2.0, 1.5, 2.0],  # a reference of exactly 1: +50%; and a change of exactly 0
        }
    )
    a = an.posterior_summary(runs, [REVENUE], "ref").set_index("scenario").loc["cut"]
    assert a["change_pct_low"] == pytest.approx(np.quantile([50.0, 0.0], 0.05))
    assert a["p_below_reference"] == 0  # 0 is no fall


def test_a_summary_of_two_runs_has_their_spread():
    runs = pd.DataFrame({"scenario": ["a", "a"], "sample": 0, "replicate": [0, 1], REVENUE: [1.0, 3.0]})
    s = an.scenario_summary(runs, [REVENUE], "a")
    assert s["sd"].iloc[0] == pytest.approx(math.sqrt(2))
