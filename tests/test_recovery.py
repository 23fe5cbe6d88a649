"""Recovery of known truths (sim/calibration/sanctions/recovery.py): truths drawn from the prior, the synthetic
facts of a run at each, the units of distance they keep, the comparison with the posterior and its summary."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import ROOT
from sim import run
from sim.calibration.sanctions import recovery
from sim.calibration.sanctions.fit import Simulator, fit_months, priors, screen_months
from sim.calibration.sanctions.recovery import (
    COLUMNS,
    compare,
    draw_truths,
    point_targets,
    recovery_summary,
    recovery_text,
    run_recovery,
    synthetic_targets,
)
from sim.calibration.sanctions.targets import distance, fit_misses, load_sanctions_targets, tolerance_scale, unit_miss
from sim.calibration.smc import Population
from sim.common.errors import ExperimentError
from sim.core.params import make_params
from sim.explore.plan import plan_experiment, resolve_params

TARGETS = ROOT / "params" / "targets_sanctions.toml"
SCALE = 0.02


@pytest.fixture(scope="module")
def targets():
    t = load_sanctions_targets(TARGETS)
    object.__setattr__(t.spec.smc, "scale", SCALE)
    return t


@pytest.fixture(scope="module")
def truth(targets):
    """Truth 0 and its run, made the way the fit's own experiment makes a candidate (not through recovery.py)."""
    row = draw_truths(targets, 1, 0).iloc[0]
    names = list(priors(targets))
    values = {k: float(row[k]) for k in names}
    experiment = Simulator(targets, ROOT, names, priors(targets)).experiment(
        np.array([[values[k] for k in names]]), 0, 0
    )
    params = make_params(plan_experiment(experiment, targets.path.parent).tasks[0]["params"])
    hosts = run(params, engine="array", seed=int(row["seed"])).hosts
    return values, int(row["seed"]), params, hosts


def test_truths_are_prior_draws_reproducible_by_seed_and_apart_from_the_fits_seeds(targets):
    prior = priors(targets)
    a, b = draw_truths(targets, 3, 5), draw_truths(targets, 3, 5)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["truth", "seed", "fit_seed", *prior]
    other = draw_truths(targets, 3, 6)
    assert not np.any(a[list(prior)].to_numpy() == other[list(prior)].to_numpy())
    assert len(set(a["seed"]) | set(other["seed"])) == 6
    # truth i depends on (seed, i) only: two truths are the first two of three
    pd.testing.assert_frame_equal(draw_truths(targets, 2, 5), a.iloc[:2])
    # the truth runs' seeds are above any seed a fit's experiment uses (smc.seed <= 2**40, plus its replicates)
    assert (a["seed"] >= 2**41).all() and (a["fit_seed"] < 2**31).all()
    # the targets file's own smc.seed does not move them
    object.__setattr__(targets.spec.smc, "seed", 7)
    try:
        pd.testing.assert_frame_equal(draw_truths(targets, 3, 5), a)
    finally:
        object.__setattr__(targets.spec.smc, "seed", 0)
    # draws of the prior: each parameter's CDF values over 300 truths are uniform
    many = draw_truths(targets, 300, 1)
    for k, p in prior.items():
        u = p.frozen().cdf(many[k].to_numpy())
        assert stats.kstest(u, "uniform").pvalue > 1e-3, k
    with pytest.raises(ExperimentError, match="truths"):
        draw_truths(targets, 0, 1)


def test_the_synthetic_facts_are_the_truth_runs_measures(targets, truth):
    values, seed, params, hosts = truth
    assert recovery.truth_params(targets, values, SCALE) == params  # the run the fit would make at the truth
    syn = synthetic_targets(targets, values, seed, SCALE)
    fit = syn.spec.fit
    # three facts recomputed here from the per-host table, by hand
    h = hosts
    russia = h[h["host"] == "russia"]
    assert (
        fit["russia_permits_2018"].reported == russia.loc[russia["date"] == "2018-12", "permit_holders"].sum() / SCALE
    )
    early = h[(h["date"] >= "2016-01") & (h["date"] <= "2017-08")]
    escapes = 12000 * early["escaped"].sum() / early["workers_working"].sum()
    assert fit["pattern_escapes"].reported == pytest.approx(escapes, rel=1e-12)
    window = lambda f: f[(f["date"] >= "2017-12") & (f["date"] <= "2019-12")]  # noqa: E731
    share = window(russia)["repatriated"].sum() / window(h)["repatriated"].sum()
    assert fit["russia_share_of_repatriated"].reported == pytest.approx(share, rel=1e-12)
    assert fit["russia_share_of_repatriated"].reported != targets.spec.fit["russia_share_of_repatriated"].reported
    # every fact is an equal point fact; nothing held out; the targets file's path kept, the original untouched
    assert set(fit) == set(targets.spec.fit) and syn.spec.held_out == {} and syn.path == targets.path
    assert all(f.bound == "equal" and not f.is_range for f in fit.values())
    assert targets.spec.fit["pattern_escapes"].is_range and targets.spec.held_out
    # another seed is another world: the truth is the run at its own seed
    again = synthetic_targets(targets, values, seed + 1, SCALE)
    assert any(again.spec.fit[k].reported != f.reported for k, f in fit.items())
    with pytest.raises(ExperimentError, match="seed of the fit's own runs"):
        synthetic_targets(targets, values, targets.spec.smc.seed, SCALE)


def test_the_fits_runs_stop_at_the_last_fit_month_and_measure_as_the_whole_run(targets, truth):
    """A candidate runs 2016-01 to 2020-03 (the last month a fit fact reads), not the history's 120 months: the
    months it runs are the whole run's to the last bit, so every miss is the same (and a run cut a month short
    could not measure the 2020-03 facts)."""
    from sim.calibration.measures import measure

    values, seed, params, hosts = truth
    assert fit_months(targets) == 51 and params.calendar.months == 51
    assert max(f.end for f in targets.spec.fit.values()) == "2020-03" == hosts["date"].max()
    whole = make_params(resolve_params(params.model_dump(mode="json", exclude_none=True), {"calendar.months": 120}))
    full = run(whole, engine="array", seed=seed).hosts
    assert full["date"].max() == "2025-12"
    pd.testing.assert_frame_equal(full[full["month"] < 51].reset_index(drop=True), hosts, check_exact=True)
    assert {k: measure(full, f, SCALE) for k, f in targets.spec.fit.items()} == {
        k: measure(hosts, f, SCALE) for k, f in targets.spec.fit.items()
    }
    short = make_params(resolve_params(params.model_dump(mode="json", exclude_none=True), {"calendar.months": 50}))
    with pytest.raises(ExperimentError, match="2020-03 is outside the run"):
        fit_misses(run(short, engine="array", seed=seed).hosts, targets.spec, SCALE)


def test_the_units_of_distance_are_the_real_fits_even_at_zero(targets, truth):
    _, _, _, hosts = truth
    from sim.calibration.measures import measure

    measured = {k: measure(hosts, f, SCALE) for k, f in targets.spec.fit.items()}
    measured["russia_permits_2020"] = 0.0  # a level: its tolerance is relative to the reported value
    measured["pattern_escapes"] = 0.0  # a range of a ratio
    measured["russia_share_of_repatriated"] = 0.0  # a share: its tolerance is absolute
    measured["pattern_deaths"] = math.nan  # not measurable in that world: dropped
    syn = point_targets(targets, measured)
    assert "pattern_deaths" not in syn.spec.fit
    for k, new in syn.spec.fit.items():
        old = targets.spec.fit[k]
        unit = tolerance_scale(old, old.centre)
        assert tolerance_scale(new, new.centre) == pytest.approx(unit, rel=1e-9), k
        v = measured[k]
        assert unit_miss(v, new) == pytest.approx(0.0, abs=1e-8), k  # the truth's value misses by nothing
        assert unit_miss(v + unit, new) == pytest.approx(1.0, rel=1e-8), k  # one real unit is one unit
        assert unit_miss(v - 2 * unit, new) == pytest.approx(-2.0, rel=1e-8), k  # both ways: no floor is left
    assert syn.spec.fit["russia_share_of_repatriated"].reported == 0.0  # a share may report 0 as it is
    assert syn.spec.fit["russia_permits_2020"].reported == pytest.approx(1e-9 * 0.5 * 500)  # ZERO of the unit
    assert unit_miss(-1e-30, syn.spec.fit["russia_permits_2020"]) == pytest.approx(0.0, abs=2e-9)


def test_the_truth_run_is_at_distance_zero_from_its_synthetic_facts(targets, truth):
    values, seed, _, hosts = truth
    syn = synthetic_targets(targets, values, seed, SCALE)
    assert distance(fit_misses(hosts, syn.spec, SCALE)) == pytest.approx(0.0, abs=1e-8)
    other = run(recovery.truth_params(targets, values, SCALE), engine="array", seed=seed + 1).hosts
    assert distance(fit_misses(other, syn.spec, SCALE)) > 0.01  # and a run at another seed is not


def test_compare_by_hand(targets):
    prior = priors(targets)
    names = list(prior)[:2]  # policies.0.compliance.china, uniform 0-0.6; policies.0.compliance.russia 0.5-1
    x = np.array([[0.1, 0.6], [0.2, 0.7], [0.3, 0.8], [0.4, 0.9]])
    w = np.array([0.1, 0.2, 0.3, 0.4])
    pop = Population(x, w, np.zeros(4), 1.0, 4)
    frame = compare(3, {names[0]: 0.3, names[1]: 0.95}, pop, names, prior)
    assert list(frame.columns) == COLUMNS and (frame["truth"] == 3).all()
    a, b = frame.iloc[0], frame.iloc[1]
    # midpoint weighted CDF at the particles: 0.05, 0.2, 0.45, 0.8; its inverse at 0.05 and 0.95 is 0.1 and 0.4
    assert (a["p05"], a["p95"]) == pytest.approx((0.1, 0.4)) and a["p50"] == pytest.approx(0.3 + 0.1 * 0.05 / 0.35)
    assert a["covered"] and a["rank"] == pytest.approx(0.1 + 0.2 + 0.3 / 2)  # a tie counts half
    assert a["width"] == pytest.approx((0.4 - 0.1) / 0.6 / 0.9)  # on the uniform 0-0.6 prior's CDF
    assert not b["covered"] and b["rank"] == pytest.approx(1.0) and b["width"] == pytest.approx(0.3 / 0.5 / 0.9)
    assert frame["ess"].tolist() == pytest.approx(
        [1 / (0.01 + 0.04 + 0.09 + 0.16)] * 2
    )  # Kish: 1 / sum of squared weights


def _frame(covered: dict[str, list[bool]], widths: dict[str, list[float]], ess=lambda i: 100.0) -> pd.DataFrame:
    rows = []
    for k in covered:
        for i, (c, wd) in enumerate(zip(covered[k], widths[k])):
            rows.append(
                {"truth": i, "parameter": k, "value": 0.0, "p05": 0, "p50": 0, "p95": 0, "covered": c, "width": wd}
                | {"rank": 0.5, "ess": ess(i)}
            )
    return pd.DataFrame(rows)


def test_the_summary_counts_coverage_by_hand():
    frame = _frame(
        {"a": [True] * 9 + [False], "b": [True] * 7 + [False] * 3, "c": [True] * 10},
        {"a": [0.3] * 10, "b": [0.6, 0.7, 0.9, 0.9, 0.9, 0.7, 0.6, 0.75, 0.7, 0.9], "c": [1.0] * 10},
        ess=lambda i: 60.0 + 2 * i,
    )
    s = recovery_summary(frame).set_index("parameter")
    assert list(s.index) == ["a", "b", "c", "all"]
    assert list(s["coverage"]) == [0.9, 0.7, 1.0, 26 / 30]
    assert list(s["covered"]) == [9, 7, 10, 26] and list(s["pairs"]) == [10, 10, 10, 30]
    assert list(s["truths"]) == [10, 10, 10, 10]
    assert s.loc["b", "median_width"] == pytest.approx(0.725)  # (0.7 + 0.75) / 2
    assert list(s["verdict"]) == ["identifiable", "weakly", "not identifiable", ""]
    assert (s["median_ess"] == 69.0).all()  # the truths' ESS: 60, 62, ..., 78
    # Clopper-Pearson for 26 of 30, from the beta distribution
    assert s.loc["all", "ci_low"] == pytest.approx(stats.beta.ppf(0.025, 26, 5))
    assert s.loc["all", "ci_high"] == pytest.approx(stats.beta.ppf(0.975, 27, 4))
    text = recovery_text(recovery_summary(frame))
    assert "26 of 30 parameter-truth pairs, 86.7%" in text and "consistent with 90%" in text
    assert "Identifiable (median posterior 90% width under 50% of the prior's): `a`." in text
    assert "Weakly identifiable (under 80%): `b`." in text and "Not identifiable" in text and "`c`." in text
    assert "fewer than 80% of the truths: `b` (70%)" in text and "effective sample size" not in text
    low = recovery_text(recovery_summary(_frame({"a": [True] * 7 + [False] * 3}, {"a": [0.3] * 10})))
    assert "below the 80% floor" in low
    high = recovery_text(recovery_summary(_frame({"a": [True] * 60}, {"a": [0.3] * 60}, ess=lambda i: 7.0 + i % 2)))
    assert "conservative" in high
    # a final population of few effective particles: the text says the coverage is the budget's to judge
    assert "median effective sample size is 8 particles" in high and "outside all 8 with probability 2/9, 22%" in high


def test_a_small_recovery_runs_and_resumes_without_refitting(tmp_path, monkeypatch):
    """2 truths, 8 particles, 2 generations at 0.5% scale: every file, the columns; run again, nothing is fitted;
    a truth interrupted after its first generation resumes from it to the same result."""
    targets = load_sanctions_targets(TARGETS)
    object.__setattr__(targets.spec.smc, "quantile", 0.9)  # a gentle tolerance: few batches in a test
    object.__setattr__(targets.spec.smc, "constrain_mechanisms", False)  # every draw a truth (the next test: not)
    budget = dict(truths=2, particles=8, generations=2, processes=1, scale=0.005, replicates=1, seed=0)
    out = run_recovery(targets, tmp_path, **budget)
    assert list(out.columns) == COLUMNS and len(out) == 2 * len(priors(targets))
    assert sorted(set(out["truth"])) == [0, 1] and out["rank"].between(0, 1).all()
    for name in ("recovery.csv", "truths.csv", "recovery.json"):
        assert (tmp_path / name).is_file(), name
    for i in (0, 1):
        sub = tmp_path / f"truth_{i:02d}"
        for name in ("truth.json", "recovery.csv", "posterior.csv", "populations/g01.parquet"):
            assert (sub / name).is_file(), f"{sub.name}/{name}"
        assert not (sub / "batches").exists()  # a finished truth's runs are not kept
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "recovery.csv"), out)
    truths = pd.read_csv(tmp_path / "truths.csv")
    pd.testing.assert_frame_equal(truths, draw_truths(targets, 2, 0))
    values = out.pivot(index="truth", columns="parameter", values="value")[list(priors(targets))]
    assert np.array_equal(values.to_numpy(), truths[list(priors(targets))].to_numpy())

    def refit(*args, **kwargs):
        raise AssertionError("a finished truth was fitted again")

    with monkeypatch.context() as m:
        m.setattr(recovery, "fit_sanctions", refit)
        pd.testing.assert_frame_equal(run_recovery(targets, tmp_path, **budget), out)
    # interrupted after generation 0: it resumes from it (generation 0 not rerun), simulates generation 1 again and
    # gives the same result
    sub = tmp_path / "truth_01"
    first = (sub / "populations" / "g00.parquet").stat().st_mtime_ns
    for name in ("recovery.csv", "posterior.csv", "populations/g01.parquet", "populations/g01.json"):
        (sub / name).unlink()
    pd.testing.assert_frame_equal(run_recovery(targets, tmp_path, **budget), out)
    assert (sub / "populations" / "g00.parquet").stat().st_mtime_ns == first
    with pytest.raises(ExperimentError, match="other settings"):
        run_recovery(targets, tmp_path, **{**budget, "particles": 13})


def test_a_constrained_recovery_draws_its_truths_from_the_restricted_prior(tmp_path, monkeypatch):
    """With smc.constrain_mechanisms (shipped on) the fit can only reach parameter sets whose mechanisms are inside
    their ranges, so a truth outside them is one it could never cover: the truths are the first prior draws its own
    fit could keep (the mechanisms' mean over the fit's replicate seeds inside every range; checked here by running
    each draw by hand), each fit is constrained as the real one, the synthetic facts are the truth's own run (not
    the screen's), screened.csv records every draw screened, a resume screens nothing again, and a resume with the
    constraint off is refused. The fits themselves are replaced by a stand-in that returns the prior's draws (the
    previous test runs real ones)."""
    from sim.calibration.measures import RunTable
    from sim.calibration.sanctions.fit import MECHANISM
    from sim.calibration.sanctions.targets import constrained, outside_range
    from sim.calibration.smc import Marginal, sample_prior, to_u

    targets = load_sanctions_targets(TARGETS)
    assert targets.spec.smc.constrain_mechanisms
    # the plan reach narrowed to where sending home after the border reopens is more often inside its range (session
    # 23: 37% of the prior at 0.05, 10% at 0.5), so the screen keeps its 3 truths within ~35 draws, not ~60
    reach = targets.spec.parameters["state.plan_reach"]
    targets.spec.parameters["state.plan_reach"] = reach.model_copy(update={"high": 0.05})
    seen = []

    def stand_in(synthetic, sub, processes, scheduler, particles, generations, log=None):
        seen.append(synthetic.spec.smc.constrain_mechanisms and bool(synthetic.spec.mechanisms))
        prior = priors(synthetic)
        theta = sample_prior([Marginal(k, p) for k, p in prior.items()], 10, np.random.default_rng(0))
        u = to_u([Marginal(k, p) for k, p in prior.items()], theta)
        return [Population(theta, np.full(10, 0.1), np.zeros(10), 1.0, 10, u=u)]

    monkeypatch.setattr(recovery, "fit_sanctions", stand_in)
    budget = dict(truths=3, particles=8, generations=2, processes=1, scale=0.02, replicates=2, seed=0)
    out = run_recovery(targets, tmp_path, **budget)
    assert seen == [True, True, True]  # every truth's fit is constrained like the real one
    screened = pd.read_csv(tmp_path / "screened.csv")
    kept = sorted(set(out["truth"]))
    assert kept == screened.loc[screened["inside"], "truth"].tolist() and len(kept) == 3
    assert len(screened) > 3 and screened["truth"].tolist() == list(range(len(screened)))  # draws until 3 inside
    # by hand: the first four screened draws and every kept one, each at its fit's two seeds, the mechanisms' mean
    # against their ranges (the first four: draws screened out as well as in)
    mech = constrained(targets.spec)
    assert not screened["inside"].head(4).all()
    for row in draw_truths(targets, len(screened), 0).to_dict("records"):
        if int(row["truth"]) >= 4 and int(row["truth"]) not in kept:
            continue
        values = {k: float(row[k]) for k in priors(targets)}
        # through the last month a constrained mechanism reads (sending home after the reopening: 2025-12)
        params = recovery.truth_params(targets, values, 0.02, screen_months(targets))
        tables = [RunTable(run(params, engine="array", seed=int(row["fit_seed"]) + r).hosts) for r in (0, 1)]
        got = {k: float(np.mean([t.measure(f, 0.02) for t in tables])) for k, f in mech.items()}
        line = screened.set_index("truth").loc[int(row["truth"])]
        assert bool(line["inside"]) == (not any(outside_range(v, mech[k]) for k, v in got.items()))
        assert all(line[f"{MECHANISM}{k}"] == v for k, v in got.items())
        if int(row["truth"]) == kept[0]:  # its facts: the run at the truth's own seed, not the screen's
            record = json.loads((tmp_path / f"truth_{kept[0]:02d}" / "truth.json").read_text())
            assert record["measured"] == recovery.truth_measures(
                targets, {k: float(row[k]) for k in priors(targets)}, int(row["seed"]), 0.02
            )
    assert pd.read_csv(tmp_path / "truths.csv")["truth"].tolist() == kept
    # resumed after an interruption (the last truth's fit not done): the same truths, no draw screened again
    (tmp_path / f"truth_{kept[-1]:02d}" / "recovery.csv").unlink()
    with monkeypatch.context() as m:
        m.setattr(recovery, "truth_screen", lambda *a, **k: pytest.fail("a draw was screened again"))
        pd.testing.assert_frame_equal(run_recovery(targets, tmp_path, **budget), out)
    object.__setattr__(targets.spec.smc, "constrain_mechanisms", False)
    with pytest.raises(ExperimentError, match="other settings .constrain_mechanisms, mechanism_ranges"):
        run_recovery(targets, tmp_path, **budget)
    object.__setattr__(targets.spec.smc, "constrain_mechanisms", True)
    monkeypatch.setattr(recovery, "SCREEN", 1)
    object.__setattr__(targets.spec.mechanisms["sent_home"], "high", 0.6)  # a range almost nothing meets
    with pytest.raises(ExperimentError, match="only 0 of 3 prior draws keep their mechanisms inside"):
        run_recovery(targets, tmp_path / "few", **budget)


def test_olsim_calibrate_recovery_writes_its_report_and_refuses_bad_counts(tmp_path, capsys):
    """`olsim calibrate TARGETS --recovery N`: one tiny truth end to end (recovery.md with the coverage line);
    a count out of range and --recovery on the no-sanctions targets are one-line errors."""
    import re

    from sim.cli import main

    text = TARGETS.read_text().replace('scenario = "history.toml"', f'scenario = "{ROOT / "params" / "history.toml"}"')
    text = text.replace('priors_from = "targets.toml"', f'priors_from = "{ROOT / "params" / "targets.toml"}"')
    text = text.replace('"held_out_sanctions.toml"', f'"{ROOT / "params" / "held_out_sanctions.toml"}"')
    for key, value in (("scale", 0.005), ("replicates", 1), ("quantile", 0.9)):
        text, n = re.subn(rf"(?m)^{key} = \S+", f"{key} = {value}", text)
        assert n == 1, key
    # a fit this small finds its restricted prior only where it is not rare: the plan reach where most draws keep
    # sending home inside its range after the border reopens (session 23: 89% at 0.02, 10% at 0.5)
    text, n = re.subn(r'(\[parameters\."state\.plan_reach"\]\nlow = 0\.01\nhigh = )0\.5', r"\g<1>0.03", text)
    assert n == 1
    t = tmp_path / "t.toml"
    t.write_text(text)
    out = tmp_path / "rec"
    argv = ["calibrate", str(t), "--recovery", "1", "--budget", "10", "--out", str(out), "--processes", "1", "-q"]
    assert main([*argv, "--scale", "0.004"]) == 0  # the budget's scale: the file's own (0.005) not used
    report = (out / "recovery.md").read_text()
    assert "## Recovery of known truths" in report and "1 parameter sets drawn from the prior" in report
    screened = len(pd.read_csv(out / "screened.csv"))  # the shipped fit is constrained: so are its truths
    assert f"restricted to the mechanisms' ranges (the fit's constraint: the first 1 of {screened:,} prior" in report
    assert "at 0.004 of the workforce, 1 seed a candidate, 10 particles x 4 generations" in report
    assert json.loads((out / "recovery.json").read_text())["scale"] == 0.004
    assert main([*argv, "--scale", "0.005"]) == 2  # resumed with another budget: refused, nothing overwritten
    assert "other settings" in capsys.readouterr().err and (out / "recovery.md").read_text() == report
    assert main(["calibrate", str(t), "--scale", "0.5", "--out", str(tmp_path / "x")]) == 2
    assert "only with --recovery" in capsys.readouterr().err
    assert main([*argv, "--replicates", "0"]) == 2
    assert "--replicates 0: must be 1 to 100" in capsys.readouterr().err
    assert len(pd.read_csv(out / "recovery.csv")) == len(priors(load_sanctions_targets(t)))
    capsys.readouterr()
    assert main(["calibrate", str(t), "--recovery", "0", "--out", str(out)]) == 2
    assert "--recovery 0: must be 1 to 1,000" in capsys.readouterr().err
    assert main(["calibrate", "--recovery", "3"]) == 2
    assert "only for the sanctions era" in capsys.readouterr().err


def test_an_interrupted_recovery_says_what_it_kept(tmp_path, capsys, monkeypatch):
    """Ctrl-C or SIGTERM during `olsim calibrate --recovery`: exit 130 and a line saying the finished truths and
    batches are kept and the same command goes on (not the generic "nothing was written": a recovery of hours
    stopped at a session's end keeps them, session 28)."""
    from sim.cli import main

    def stopped(*args, **kwargs):
        (tmp_path / "rec").mkdir()
        raise KeyboardInterrupt

    monkeypatch.setattr(recovery, "run_recovery", stopped)
    out = tmp_path / "rec"
    assert main(["calibrate", str(TARGETS), "--recovery", "2", "--out", str(out), "-q"]) == 130
    err = capsys.readouterr().err
    assert f"the finished truths and their fits' finished batches are saved in {out}/" in err
    assert "run the same command to go on" in err and "nothing was written" not in err
