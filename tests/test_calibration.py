"""Calibration targets: the file, its validation, and the evaluation of a run against it."""

from __future__ import annotations

import math

import pytest

from conftest import ROOT, small_params
from sim import run
from sim.calibration import evaluate, load_targets, miss
from sim.experiment import ExperimentError, outcomes_of
from sim.results import TARGETS


def test_targets_file_matches_the_brief_and_the_summary():
    """params/targets.toml holds the brief's six patterns, with the ranges the run summary checks."""
    targets = load_targets()
    assert set(targets.spec.targets) == set(TARGETS)
    for name, t in targets.spec.targets.items():
        assert (t.low, t.high) == TARGETS[name][:2] and t.source.startswith("facts:")
    assert targets.scenario_path == ROOT / "params" / "no_sanctions.toml"


def test_evaluate_a_run():
    targets = load_targets()
    result = run(small_params(), engine="array", seed=3)
    rows = {r["target"]: r for r in evaluate(outcomes_of(result, [t.outcome for t in targets.spec.targets.values()]), targets)}
    for name, r in rows.items():
        assert r["inside"] == (r["low"] <= r["value"] <= r["high"]) and (r["miss"] == 0) == r["inside"], name
    assert rows["hours_mean"]["inside"]  # 13.2 h at the baseline, far inside 12-16


def test_miss_is_zero_inside_and_relative_outside():
    assert miss(0.2, 0.1, 0.35) == 0 and miss(0.7, 0.1, 0.35) == pytest.approx(1.0)
    assert miss(0.05, 0.1, 0.35) == pytest.approx(0.5) and math.isinf(miss(float("nan"), 0.1, 0.35))


@pytest.mark.parametrize("text,message", [
    ("[targets.a]\nlow = 1.0\nhigh = 0.5\noutcome = 'hours_mean'\nsource = 'x'", "low (1.0) must be below high (0.5)"),
    ("[targets.a]\nlow = 1.0\nhigh = 2.0\noutcome = 'hours'\nsource = 'x'", "unknown outcome 'hours'"),
    ("[targets.a]\nlow = 1.0\nhigh = 2.0\noutcome = 'hours_mean'", "targets.a.source: required"),
    ("targets = {}", "at least one target"),
    ("scenario = 'nope.toml'\n[targets.a]\nlow = 1.0\nhigh = 2.0\noutcome = 'hours_mean'\nsource = 'x'", "scenario: no such file"),
])
def test_bad_targets_files(tmp_path, text, message):
    p = tmp_path / "t.toml"
    p.write_text(text)
    with pytest.raises(ExperimentError) as e:
        load_targets(p)
    assert len(e.value.errors) == 1 and message in e.value.errors[0], e.value.errors
