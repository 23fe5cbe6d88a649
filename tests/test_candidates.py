"""The sanctions fit's candidates judged in one task each (sim/calibration/sanctions/candidates.py): the same
distances, misses and mechanisms as the candidate's replicates run separately and measured by hand, on every
executor; an interrupted batch resumes from its journal; a judged batch is read back, never run again."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import run
from sim.calibration.measures import RunTable
from sim.calibration.sanctions import fit as fit_module
from sim.calibration.sanctions.candidates import JOURNAL, MECHANISM, RULED_OUT
from sim.calibration.sanctions.fit import Simulator, candidate_misses, fit_months, priors
from sim.calibration.sanctions.targets import SanctionsTargets, distance, load_sanctions_targets, unit_miss
from sim.common.errors import ExperimentError
from sim.explore import runner as runner_module
from sim.core.params import make_params
from sim.explore.plan import plan_experiment

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "params" / "targets_sanctions.toml"


@pytest.fixture(scope="module")
def setting():
    """The shipped targets at 2% scale with the mechanisms' ranges wide open (the prior's draws would all be ruled
    out otherwise; ruling out: tests/test_sanctions_targets.py); three candidates: the prior's quartiles and
    median."""
    shipped = load_sanctions_targets(TARGETS)
    mech = {
        k: type(f).model_validate({**f.model_dump(), "low": 0.0, "high": 1e9})
        for k, f in shipped.spec.mechanisms.items()
    }
    smc = shipped.spec.smc.model_copy(update={"scale": 0.02})
    targets = SanctionsTargets(shipped.path, shipped.spec.model_copy(update={"smc": smc, "mechanisms": mech}), "")
    prior = priors(targets)
    names = list(prior)
    theta = np.array([[prior[k].frozen().ppf(q) for k in names] for q in (0.25, 0.5, 0.75)])
    return targets, prior, names, theta


def _batch(setting, folder: Path, processes=1, scheduler=None, tolerance=math.inf):
    targets, prior, names, theta = setting
    s = Simulator(targets, folder, names, prior, processes=processes, scheduler=scheduler)
    s.at_tolerance(0, tolerance)
    return s(theta, 0, 0), candidate_misses(folder, 0)


def test_a_candidates_row_is_its_replicates_run_separately_and_measured_by_hand(setting, tmp_path):
    """Each candidate's distance and mean misses equal those of its replicate runs made apart (`sim.run`, through the
    last fit month, at the fit's seeds) and measured by hand; its later mechanism that of runs
    through 2025-12. A local pool of two gives the same rows to the bit."""
    targets, prior, names, theta = setting
    d, rows = _batch(setting, tmp_path / "one")
    s = targets.spec.smc
    sim = Simulator(targets, tmp_path / "x", names, prior)
    for i in range(len(theta)):
        task = plan_experiment(sim.experiment(theta[i : i + 1], 0, 0), targets.path.parent).tasks[0]
        params = make_params(task["params"])
        assert params.calendar.months == fit_months(targets) == 51
        tables = [RunTable(run(params, engine="array", seed=s.seed + r).hosts) for r in range(s.replicates)]
        misses = [{k: unit_miss(t.measure(f, s.scale), f) for k, f in targets.spec.fit.items()} for t in tables]
        row = rows.iloc[i]
        assert [float(row[k]) for k in targets.spec.fit] == [
            float(np.mean([m[k] for m in misses])) for k in targets.spec.fit
        ]
        assert d[i] == distance(misses) and float(row["distance"]) == d[i] and not row[RULED_OUT]
        later = float(row[f"{MECHANISM}sent_home_later"])
        long = make_params({**task["params"], "calendar": {**task["params"]["calendar"], "months": 120}})
        by_hand = [RunTable(run(long, engine="array", seed=s.seed + r).hosts) for r in range(s.replicates)]
        fact = targets.spec.mechanisms["sent_home_later"]
        assert later == float(np.mean([t.measure(fact, s.scale) for t in by_hand]))  # the same runs: to the bit
    # generation 0 (no tolerance): every candidate, all with finite distances, has its later mechanism measured
    assert np.isfinite(d).all() and rows[f"{MECHANISM}sent_home_later"].notna().all()
    _, pooled = _batch(setting, tmp_path / "pool", processes=2)
    pd.testing.assert_frame_equal(pooled, rows)


def test_a_batch_on_a_dask_cluster_gives_the_same_rows(setting, tmp_path):
    import distributed

    _, rows = _batch(setting, tmp_path / "one")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=40
    ) as cluster:
        _, on_dask = _batch(setting, tmp_path / "dask", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(on_dask, rows)


def test_an_interrupted_batch_resumes_from_its_journal_and_a_judged_one_is_read_back(setting, tmp_path, monkeypatch):
    targets, prior, names, theta = setting
    d, rows = _batch(setting, tmp_path / "straight")
    real = runner_module.execute

    def one_then_stop(tasks, on_done, **kw):
        real(tasks[:1], on_done, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner_module, "execute", one_then_stop)
    folder = tmp_path / "stopped"
    with pytest.raises(KeyboardInterrupt):
        _batch(setting, folder)
    journal = folder / "batches" / "g00-b00" / JOURNAL
    assert len(journal.read_text().splitlines()) == 1 and not (journal.parent / "misses.parquet").exists()
    with open(journal, "a") as f:
        f.write('{"candidate": 1, "values": [0.5, ')  # a line cut short by the interruption
    ran = []

    def counting(tasks, on_done, **kw):
        ran.extend(t["candidate"] for t in tasks)
        real(tasks, on_done, **kw)

    monkeypatch.setattr(runner_module, "execute", counting)
    resumed, resumed_rows = _batch(setting, folder)
    assert sorted(ran) == [1, 2]  # the journal's first candidate was not run again; the cut line was dropped
    assert np.array_equal(resumed, d, equal_nan=True)
    pd.testing.assert_frame_equal(resumed_rows, rows)
    # judged: read back from misses.parquet, nothing run
    ran.clear()
    again, _ = _batch(setting, folder)
    assert ran == [] and np.array_equal(again, d, equal_nan=True)
    # a folder of other candidates is refused in one line, its files untouched
    other = theta.copy()
    other[0, 0] = float(np.nextafter(other[0, 0], np.inf))
    sim = Simulator(targets, folder, names, prior, processes=1)
    before = (journal.parent / "misses.parquet").read_bytes()
    with pytest.raises(ExperimentError, match="holds other candidates"):
        sim(other, 0, 0)
    assert (journal.parent / "misses.parquet").read_bytes() == before
    (journal.parent / "misses.parquet").unlink()
    with pytest.raises(ExperimentError, match="holds other candidates"):
        sim(other, 0, 0)
    # the cut line was dropped when the batch resumed: the journal is whole lines, a candidate each
    assert [json.loads(line)["candidate"] for line in journal.read_text().splitlines()] == [0, 1, 2]


def test_the_host_table_alone_is_the_one_the_tables_make():
    """`MonthAggregator.hosts_frame` (what a candidate is measured on) equals the host table of `frames`: with the
    engine's hosts as cells (host group x sector, added up: every run's), before any month and after some; and
    over plain hosts (an aggregator of unexpanded parameters), by the rows of tests/test_tables_by_value.py."""
    from sim.core.params import load_params
    from sim.engines.runner import make_model
    from sim.explore.plan import resolve_params
    from test_tables_by_value import _aggregator, _month

    params = make_params(resolve_params(load_params().model_dump(), {"calendar.months": 4}, 0.01, "test"))
    model = make_model(params, "array", 3)
    assert model.aggregator.cells is not None
    pd.testing.assert_frame_equal(model.aggregator.hosts_frame(), model.aggregator.frames()[1])
    for _ in range(4):
        model.step()
    alone, made = model.aggregator.hosts_frame(), model.aggregator.frames()[1]
    assert len(alone) == 4 * len(params.hosts) and alone.equals(made)
    # made alone (`hosts_only`, as a candidate's models make it) and with the levers shared with another model of
    # the same parameters (another seed): the same host table, no monthly rows; each month's levers made once
    only, other = make_model(params, "array", 3), make_model(params, "array", 4)
    only.aggregator.hosts_only = True
    only.levers_cache = other.levers_cache = {}
    for _ in range(4):
        other.step()
        only.step()
        assert only.lv is other.lv
    assert only.aggregator.hosts_frame().equals(made) and only.aggregator.monthly == []
    plain = _aggregator()
    assert plain.cells is None
    _month(plain)
    _month(plain, month=15)
    assert len(plain.hosts_frame()) == 4 and plain.hosts_frame().equals(plain.frames()[1])


def test_a_candidate_that_fails_stops_the_batch_in_one_line_and_the_others_are_kept(setting, tmp_path, monkeypatch):
    """A candidate's run that raises (here the second of three) stops the calibration with one line naming what
    failed and how to resume (not a traceback); the candidates finished before it are in the journal, and the
    resumed batch equals one never interrupted."""
    _, straight = _batch(setting, tmp_path / "straight")
    real = fit_module.run_candidate

    def fails_on_one(task):
        if task["candidate"] == 1:
            raise RuntimeError("the model broke\nsecond line")
        return real(task)

    monkeypatch.setattr(fit_module, "run_candidate", fails_on_one)
    folder = tmp_path / "failed"
    with pytest.raises(ExperimentError) as e:
        _batch(setting, folder)
    text = str(e.value)
    assert "\n" not in text and "RuntimeError: the model broke" in text and "--resume" in text
    assert "1 finished candidates of this batch are saved" in text
    journal = folder / "batches" / "g00-b00" / JOURNAL
    assert [json.loads(line)["candidate"] for line in journal.read_text().splitlines()] == [0]
    monkeypatch.setattr(fit_module, "run_candidate", real)
    _, resumed = _batch(setting, folder)
    pd.testing.assert_frame_equal(resumed, straight)
