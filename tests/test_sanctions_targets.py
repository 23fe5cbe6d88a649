"""The sanctions era's targets (params/targets_sanctions.toml): a fit set, a held-out set the fit never reads,
and the distance in tolerance units."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

import pytest

from conftest import ROOT, small_params
from sim import run
from sim.calibration.sanctions import (FitFact, SanctionsTargetsFile, distance, fit_misses, load_sanctions_targets,
                                       unit_miss)
from sim.common.errors import ExperimentError, OlsimError
from sim.core.params import make_params, read_params_file
from sim.explore.plan import expand_uncertainties, resolve_params
from sim.explore.posterior import read_posterior

TARGETS = ROOT / "params" / "targets_sanctions.toml"


def test_the_file_splits_fit_and_held_out_as_the_issue_asks():
    t = load_sanctions_targets(TARGETS)
    assert set(t.spec.fit).isdisjoint(t.spec.held_out) and len(t.spec.fit) == 10 and len(t.spec.held_out) == 6
    held = {f.column for f in t.spec.held_out.values()}
    assert {"workers_active", "revenue_delivered", "deployed", "deployed_student"} == held
    # permit counts are fitted against permit holders, not against everyone abroad
    assert all(f.column == "permit_holders" for k, f in t.spec.fit.items() if "permits_" in k)


def test_a_fact_in_both_sets_is_refused_in_one_line(tmp_path):
    raw = read_params_file(TARGETS)
    raw["held_out"]["russia_permits_2017"] = raw["fit"]["russia_permits_2017"] | {}
    raw["held_out"]["russia_permits_2017"].pop("tolerance")
    with pytest.raises(Exception) as e:
        SanctionsTargetsFile.model_validate(raw)
    assert "russia_permits_2017 also in fit" in str(e.value)
    bad = tmp_path / "t.toml"
    bad.write_text('scenario = "nowhere.toml"\n[fit.x]\nwhat = "x"\nmeasure = "level"\ncolumn = "deployed"\n'
                   'end = "2018-01"\nreported = 1.0\ntolerance = 0.1\nsource = "x"\n')
    with pytest.raises(ExperimentError, match="scenario: no such file"):
        load_sanctions_targets(bad)


def _fact(**kw):
    base = dict(what="x", measure="level", column="permit_holders", end="2017-12", reported=30000.0, tolerance=0.1,
                source="x")
    return FitFact(**{**base, **kw})


def test_misses_in_tolerance_units():
    assert unit_miss(33000.0, _fact()) == pytest.approx(1.0)
    assert unit_miss(27000.0, _fact()) == pytest.approx(-1.0)
    share = _fact(measure="share", column="repatriated", host="russia", start="2017-12", reported=0.8, tolerance=0.1)
    assert unit_miss(0.6, share) == pytest.approx(-2.0)
    floor = _fact(measure="total", column="repatriated", start="2017-12", reported=3404.0, tolerance=0.25, bound="at_least")
    assert unit_miss(5000.0, floor) == 0.0 and unit_miss(3404 * 0.75, floor) == pytest.approx(-1.0)
    assert distance({"a": 3.0, "b": 4.0}) == pytest.approx((12.5) ** 0.5)
    assert distance([{"a": 1.0}, {"a": 3.0}]) == pytest.approx(2.0)  # the replicates' mean miss


def test_the_distance_never_reads_the_held_out_facts():
    """Changing every held-out figure changes nothing the fit sees."""
    t = load_sanctions_targets(TARGETS)
    hosts = run(small_params(scale=2, months=60, path="params/history.toml"), seed=1).hosts
    base = fit_misses(hosts, t.spec, scale=0.02)
    assert list(base) == list(t.spec.fit)
    other = copy.deepcopy(t.spec)
    for f in other.held_out.values():
        object.__setattr__(f, "reported", f.reported * 10)
    assert fit_misses(hosts, other, scale=0.02) == base


def test_every_prior_moves_its_parameter_in_the_history_scenario():
    t = load_sanctions_targets(TARGETS)
    raw = read_params_file(t.scenario_path)
    resolved = resolve_params(raw, {}, 1.0, "history")
    base = make_params(raw)
    for key, prior in t.spec.parameters.items():
        ends = []
        for value in (prior.low, prior.high):
            overrides = expand_uncertainties({key: value}, resolved, t.spec.parameters)
            ends.append(make_params(resolve_params(raw, overrides, 1.0, key)))
        assert ends[0] != ends[1], f"{key}: its prior's ends give the same parameters"
    with pytest.raises(OlsimError):
        make_params(resolve_params(raw, {"policies.1.schedule.0.compliance.russia": 1.5}, 1.0, "x"))


def _tiny(tmp_path):
    t = load_sanctions_targets(TARGETS)
    object.__setattr__(t.spec.smc, "scale", 0.005)
    object.__setattr__(t.spec.smc, "quantile", 0.9)  # a gentle tolerance: few batches in a test
    return t


def test_the_sanctions_fit_runs_resumes_and_reproduces(tmp_path):
    """ABC-SMC on the history (tiny: 0.5% scale, 8 particles): each generation is saved; a calibration
    stopped after two generations and resumed to three gives exactly the populations of one run straight to
    three; the posterior file holds the last generation; the tolerance shrinks."""
    from sim.calibration.sanctions_fit import fit_sanctions, priors

    t = _tiny(tmp_path)
    straight = fit_sanctions(t, tmp_path / "a", processes=1, particles=8, generations=3)
    fit_sanctions(t, tmp_path / "b", processes=1, particles=8, generations=2)
    resumed = fit_sanctions(t, tmp_path / "b", processes=1, particles=8, generations=3)
    for p, q in zip(straight, resumed):
        assert np.array_equal(p.theta, q.theta) and np.array_equal(p.weights, q.weights)
    assert straight[2].epsilon < straight[1].epsilon
    post = read_posterior(tmp_path / "a" / "posterior.csv")
    assert post.names == list(priors(t)) and len(post.frame) == 8
    assert np.allclose(post.frame[post.names].to_numpy(), straight[2].theta, rtol=1e-7)  # 8 significant figures
    assert post.frame["weight"].sum() == pytest.approx(1.0)
    assert (post.frame["distance"] <= straight[2].epsilon).all()
    assert post.scenario == "history.toml" and post.policies == {0: "permit_ban", 1: "repatriation", 2: "border_closure"}
    assert post.relative == {"hosts.*.wage", "hosts.*.plan"}


def test_olsim_calibrate_runs_the_sanctions_fit_and_resumes(tmp_path, capsys):
    from sim.cli import main

    text = TARGETS.read_text().replace('scenario = "history.toml"', f'scenario = "{ROOT / "params" / "history.toml"}"')
    text = text.replace('priors_from = "targets.toml"', f'priors_from = "{ROOT / "params" / "targets.toml"}"')
    text = text.replace("particles = 200", "particles = 10").replace("generations = 6", "generations = 2")
    text = text.replace("scale = 0.1", "scale = 0.005").replace("draws = 100", "draws = 5")
    text = text.replace("scale_seeds = 3", "scale_seeds = 0")
    targets = tmp_path / "t.toml"
    targets.write_text(text)
    out = tmp_path / "out"
    assert main(["calibrate", str(targets), "--out", str(out), "--processes", "1", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "posterior: 10 particles" in printed and "held out facts inside the 90% band" in printed
    # the file's own settings: the shipped files beside the targets file are written, and they are the folder's
    assert (tmp_path / "posterior_sanctions.csv").read_bytes() == (out / "posterior.csv").read_bytes()
    assert (tmp_path / "history_calibrated.toml").read_bytes() == (out / "history_calibrated.toml").read_bytes()
    first = (out / "posterior.csv").read_bytes()
    assert main(["calibrate", str(targets), "--out", str(out), "-q"]) == 2
    assert "already holds a calibration; add --resume" in capsys.readouterr().err
    assert main(["calibrate", str(targets), "--out", str(out), "--resume", "--processes", "1", "-q"]) == 0
    assert (out / "posterior.csv").read_bytes() == first  # nothing was run again


def test_resuming_with_other_parameters_is_refused(tmp_path):
    """Populations saved for one parameter list are not reused under another (even a prefix of it)."""
    from sim.calibration.sanctions_fit import _load, _save
    from sim.calibration.smc import Population

    pop = Population(np.ones((3, 2)), np.full(3, 1 / 3), np.zeros(3), float("inf"), 3, u=np.ones((3, 2)))
    _save(tmp_path, 0, pop, ["a", "b"])
    assert len(_load(tmp_path, ["a", "b"])) == 1
    with pytest.raises(ExperimentError, match="other parameters"):
        _load(tmp_path, ["a"])


def test_a_zero_count_cannot_be_fitted_with_a_relative_tolerance():
    with pytest.raises(Exception, match="0 cannot scale a relative tolerance"):
        _fact(reported=0.0)
