"""Experiments: files, executors, streaming and resume, summaries, sensitivity analysis."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.common.errors import ExperimentError
from sim.explore import load_experiment, plan_experiment, run_experiment
from sim.explore.analysis import ExperimentResult, morris_indices, scenario_summary, sobol_indices, t_interval
from sim.explore.plan import salib_problem, sample_matrix, sample_table
from sim.explore.spec import Experiment

from conftest import ROOT

# a small experiment: 2 scenarios x 4 replicates of ~600 workers for 2 years
SMALL = f"""
name = "small"
replicates = 4
seed = 7
months = 24
scale = 0.006
reference = "none"
outcomes = ["revenue_delivered_per_year", "worker_share_kept", "net_gain_p50", "escapes_per_1000_worker_years"]

[[scenarios]]
name = "none"
params = "{ROOT}/params/no_sanctions.toml"

[[scenarios]]
name = "history"
params = "{ROOT}/params/history.toml"
"""


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def frames_equal(a: Path, b: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_parquet(a / "runs.parquet"), pd.read_parquet(b / "runs.parquet"))
    ma = pd.read_parquet(a / "monthly").sort_values(["run_id", "month"]).reset_index(drop=True)
    mb = pd.read_parquet(b / "monthly").sort_values(["run_id", "month"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(ma, mb)


@pytest.fixture(scope="module")
def small_done(tmp_path_factory):
    """The small experiment run in this process, uninterrupted: the reference for the other executors."""
    folder = tmp_path_factory.mktemp("small") / "out"
    plan = load_experiment(write(folder.parent, SMALL))
    result = run_experiment(plan, folder, processes=1)
    return folder, result


# ---------------------------------------------------------------- sampling and analysis


def test_sobol_recovers_ishigami_indices():
    """Saltelli sampling + Sobol analysis on the Ishigami function (a=7, b=0.1), whose indices are known analytically.

    Tolerance 0.04: with N=4096 base samples the estimators' standard error is
    ~0.01 (SALib's own bootstrap intervals are ~0.02 wide), so 0.04 is about
    four standard errors.
    """
    spec = Experiment.model_validate(
        {
            "name": "ishigami",
            "uncertainties": {f"x{i}": {"low": -math.pi, "high": math.pi} for i in (1, 2, 3)},
            "sampling": {"method": "sobol", "n": 4096, "seed": 1},
        }
    )
    samples, matrix, problem = sample_table(spec)
    x = samples[["x1", "x2", "x3"]].to_numpy()
    assert np.array_equal(x, matrix)
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    si = sobol_indices(problem, y, seed=2).set_index("parameter")
    # analytic values (Ishigami & Homma 1990; Saltelli et al. 2008, table 4.x)
    s1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
    st = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
    for p in s1:
        assert si.loc[p, "S1"] == pytest.approx(s1[p], abs=0.04), p
        assert si.loc[p, "ST"] == pytest.approx(st[p], abs=0.04), p


def test_morris_recovers_linear_effects():
    """For y = 3a - 2b + 0c on [0,1]^3 every elementary effect is exact: mu* = |coefficient|, sigma = 0."""
    problem = salib_problem(
        Experiment.model_validate(
            {
                "name": "linear",
                "uncertainties": {k: {"low": 0.0, "high": 1.0} for k in "abc"},
                "sampling": {"method": "morris", "n": 20},
            }
        ).uncertainties
    )
    x = sample_matrix(problem, "morris", 20, levels=4, seed=3)
    y = 3 * x[:, 0] - 2 * x[:, 1]
    m = morris_indices(problem, x, y, levels=4).set_index("parameter")
    assert m["mu_star"].to_dict() == pytest.approx({"a": 3.0, "b": 2.0, "c": 0.0}, abs=1e-9)
    assert m["sigma"].max() == pytest.approx(0.0, abs=1e-9)


def test_grid_and_lhs_sampling():
    grid = Experiment.model_validate(
        {
            "name": "g",
            "sampling": {"method": "grid", "levels": 3},
            "uncertainties": {
                "escape.attempt_rate": {"low": 0.0, "high": 0.1},
                "remittance.rule": {"values": ["plan", "share"]},
            },
        }
    )
    table, _, _ = sample_table(grid)
    assert len(table) == 6 and sorted(set(table["remittance.rule"])) == ["plan", "share"]
    assert sorted(set(table["escape.attempt_rate"])) == pytest.approx([0.0, 0.05, 0.1])
    lhs = Experiment.model_validate(
        {
            "name": "l",
            "sampling": {"method": "lhs", "n": 10, "seed": 4},
            "uncertainties": {"a": {"low": 2.0, "high": 3.0}, "b": {"low": 0.0, "high": 1.0}},
        }
    )
    table, _, _ = sample_table(lhs)
    # one point in each tenth of each range: the Latin hypercube property
    for col, lo in (("a", 2.0), ("b", 0.0)):
        assert sorted(np.floor((table[col] - lo) * 10).astype(int)) == list(range(10))


def test_t_interval_and_paired_difference():
    runs = pd.DataFrame(
        {
            "scenario": ["ref"] * 4 + ["b"] * 4,
            "sample": [0] * 8,
            "replicate": [0, 1, 2, 3] * 2,
            "y": [10.0, 12.0, 11.0, 13.0, 7.0, 9.1, 7.9, 10.2],
        }
    )
    s = scenario_summary(runs, ["y"], "ref").set_index("scenario")
    mean, lo, hi = t_interval(np.array([10.0, 12.0, 11.0, 13.0]))
    # t(0.975, 3) = 3.182; sd = 1.291; half-width = 3.182 * 1.291 / 2
    assert (mean, hi - mean) == pytest.approx((11.5, 3.1824 * 1.29099 / 2), rel=1e-4)
    d = np.array([-3.0, -2.9, -3.1, -2.8])
    assert s.loc["b", "diff_mean"] == pytest.approx(d.mean())
    assert s.loc["b", "diff_ci_high"] - s.loc["b", "diff_mean"] == pytest.approx(3.1824 * d.std(ddof=1) / 2, rel=1e-4)
    # pairing: the paired interval is far narrower than the spread of either scenario
    assert s.loc["b", "diff_ci_high"] - s.loc["b", "diff_ci_low"] < 0.2 * (s.loc["b", "ci_high"] - s.loc["b", "ci_low"])


def test_relative_and_wildcard_uncertainties(tmp_path):
    plan = plan_experiment(
        {
            "name": "w",
            "scale": 0.01,
            "months": 12,
            "uncertainties": {
                "hosts.*.wage": {"low": 0.5, "high": 1.5, "relative": True},
                "population.minder_ratio": {"low": 10.0, "high": 90.0},
            },
            "sampling": {"method": "lhs", "n": 3, "seed": 0},
        }
    )
    base_wage = plan.scenario_params["base"]["hosts"]["russia"]["wage"]
    assert plan.scenario_params["base"]["hosts"]["china"]["workers"] == 500  # 50,000 x 0.01
    for t in plan.tasks:
        factor = t["values"]["hosts.*.wage"]
        assert t["params"]["hosts"]["russia"]["wage"] == pytest.approx(base_wage * factor)
        assert isinstance(t["params"]["population"]["minder_ratio"], int)  # an integer parameter is rounded


# ---------------------------------------------------------------- executors, streaming, resume


def test_small_experiment_outputs(small_done):
    folder, result = small_done
    runs = pd.read_parquet(folder / "runs.parquet")
    assert len(runs) == 8 and list(runs["run_id"]) == [
        f"{s}.s00000.r{k:04d}" for s in ("none", "history") for k in range(4)
    ]
    # common random numbers: replicate k uses seed 7 + k in every scenario
    assert list(runs["seed"]) == [7, 8, 9, 10] * 2
    monthly = pd.read_parquet(folder / "monthly")
    assert len(monthly) == 8 * 24 and set(monthly["run_id"]) == set(runs["run_id"])
    dist = pd.read_parquet(folder / "distributions")
    assert (
        len(dist) == 8 * 101 and (dist.groupby("run_id")["net_gain"].apply(lambda s: s.is_monotonic_increasing)).all()
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["complete"] and manifest["runs_done"] == 8 and manifest["base_params"]["calendar"]["months"] == 24
    summary = pd.read_csv(folder / "summary.csv")
    assert set(summary["scenario"]) == {"none", "history"}
    for name in ("series.png", "welfare.png", "tradeoff.png"):
        assert (folder / "plots" / name).stat().st_size > 10_000
    # sanctions cut revenue; the paired interval says so
    s = result.summary().set_index(["scenario", "outcome"])
    assert s.loc[("history", "revenue_delivered_per_year"), "diff_ci_high"] < 0


def test_process_pool_gives_identical_results(small_done, tmp_path):
    folder, _ = small_done
    plan = load_experiment(write(tmp_path, SMALL))
    run_experiment(plan, tmp_path / "pool", processes=2)
    frames_equal(folder, tmp_path / "pool")


def test_dask_cluster_gives_identical_results(small_done, tmp_path):
    import distributed

    folder, _ = small_done
    plan = load_experiment(write(tmp_path, SMALL))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=40
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        code = main(
            [
                "experiment",
                str(plan.path),
                "--out",
                str(tmp_path / "dask"),
                "--scheduler",
                cluster.scheduler_address,
                "--quiet",
            ]
        )
    assert code == 0
    frames_equal(folder, tmp_path / "dask")
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["sessions"][-1]["executor"].startswith("dask tcp://127.0.0.1")


def _default_sigint():
    # a shell's background job inherits SIGINT ignored, and Python then keeps it ignored: give olsim Ctrl-C back
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# olsim, stopping itself (SIGSTOP) once it has saved N runs: the test's own patch of the store, so that no hook
# for tests lives in what users run (issue 34: an environment variable used to change `olsim experiment`)
STOPPER = """
import os, signal, sys
from sim.explore import store
n = int(sys.argv[1])
save = store.Store.save_run
def save_then_stop(self, payload):
    save(self, payload)
    if self._saved == n:
        os.kill(os.getpid(), signal.SIGSTOP)
store.Store.save_run = save_then_stop
from sim.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _olsim(*args, stop_after: int | None = None, **kw):
    how = ["-m", "sim.cli"] if stop_after is None else ["-c", STOPPER, str(stop_after)]
    return subprocess.Popen(
        [sys.executable, *how, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,
        **kw,
    )


def _stopped_after_saving(proc) -> None:
    """Wait for ``proc`` (started with ``stop_after=N``) to stop itself once N runs are saved: an event
    (waitpid), not a poll of the folder, so the run cannot finish first."""
    pid, status = os.waitpid(proc.pid, os.WUNTRACED)
    if not os.WIFSTOPPED(status):
        proc.returncode = os.waitstatus_to_exitcode(status)
        raise AssertionError(f"ended (exit {proc.returncode}) before stopping: {proc.communicate()}")


@pytest.mark.parametrize("how", ["kill", "interrupt"])
def test_interrupted_experiment_resumes_to_the_same_results(small_done, tmp_path, how):
    """Killed (SIGKILL, nothing can clean up) or interrupted (Ctrl-C) half-way, then --resume:
    no finished run is lost or run again, and the results equal an uninterrupted run's."""
    folder, _ = small_done
    exp = write(tmp_path, SMALL)
    out = tmp_path / "out"
    proc = _olsim(
        "experiment",
        str(exp),
        "--out",
        str(out),
        "--processes",
        "1",
        "--quiet",
        stop_after=3,
    )
    _stopped_after_saving(proc)
    assert len(list((out / "rows").glob("*.json"))) == 3
    os.killpg(proc.pid, signal.SIGKILL if how == "kill" else signal.SIGINT)
    os.killpg(proc.pid, signal.SIGCONT)  # a stopped process takes its SIGINT once continued
    _, err = proc.communicate(timeout=60)
    if how == "interrupt":
        assert proc.returncode == 130 and "--resume" in err and "Traceback" not in err
    done = {p.name: p.stat().st_mtime_ns for p in (out / "rows").glob("*.json")}
    assert len(done) == 3
    # without --resume the finished runs are not touched
    again = _olsim("experiment", str(exp), "--out", str(out), "--quiet")
    _, err = again.communicate(timeout=60)
    assert again.returncode == 2 and "--resume" in err and len(err.strip().splitlines()) == 1
    resumed = _olsim("experiment", str(exp), "--out", str(out), "--resume", "--quiet")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    for name, mtime in done.items():
        assert (out / "rows" / name).stat().st_mtime_ns == mtime, f"{name} was run again"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sessions"][-1]["runs_run"] == 8 - len(done) and manifest["complete"]
    frames_equal(folder, out)
    assert not list(out.rglob(".*.tmp"))  # no half-written file left behind


def test_resume_of_a_complete_experiment_runs_nothing(small_done, tmp_path, capsys):
    folder, _ = small_done
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    exp = write(tmp_path, SMALL)
    assert main(["experiment", str(exp), "--out", str(copy), "--resume", "--quiet"]) == 0
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["sessions"][-1]["runs_run"] == 0 and manifest["complete"]
    assert "history" in capsys.readouterr().out
    frames_equal(folder, copy)


def test_resume_refuses_a_different_experiment(small_done, tmp_path, capsys):
    folder, _ = small_done
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    exp = write(tmp_path, SMALL.replace("seed = 7", "seed = 8"))
    assert main(["experiment", str(exp), "--out", str(copy), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different experiment" in err[0]
    frames_equal(folder, copy)  # nothing was touched


def test_plot_command_redraws_figures(small_done, tmp_path, capsys):
    folder, _ = small_done
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    shutil.rmtree(copy / "plots")
    assert main(["plot", str(copy)]) == 0
    assert (copy / "plots" / "welfare.png").exists() and "series.png" in capsys.readouterr().out
    assert main(["plot", str(tmp_path / "nowhere")]) == 2


# ---------------------------------------------------------------- bad files


BAD = [
    ("name = 'x'\nreplicates = ", "malformed TOML"),
    ("name = 'x'\nreplicate = 3", "replicate: unknown key (did you mean 'replicates'?)"),
    ("replicates = 3", "name: required"),
    ("name = 'x'\nreplicates = 0", "replicates: input should be greater than or equal to 1"),
    ("name = 'x'\nreplicates = 2.5", "replicates: input should be a valid integer"),
    ("name = 'a b'", "name: 'a b' must be letters, digits"),
    ("name = 'x'\noutcomes = ['revenue']", "outcomes: unknown outcome 'revenue'"),
    ("name = 'x'\n[[scenarios]]\nname = 'a'\n[[scenarios]]\nname = 'a'", "scenarios[1].name: 'a' is used twice"),
    ("name = 'x'\nreference = 'b'\n[[scenarios]]\nname = 'a'", "reference: no scenario named 'b'"),
    ("name = 'x'\n[[scenarios]]\nname = 'a'\nparams = 'nope.toml'", "scenarios[0] (a).params:"),
    ("name = 'x'\n[[scenarios]]\nname = 'a'\noverrides = {'worker.nope' = 1}", "worker.nope: unknown key"),
    (
        "name = 'x'\n[uncertainties]\n'escape.attempt_rate' = {low = 0.0, high = 0.1}",
        "sampling.method: uncertainties are given",
    ),
    (
        "name = 'x'\n[sampling]\nmethod = 'sobol'\nn = 100\n[uncertainties]\na = {low = 0.0, high = 1.0}\nb = {low = 0.0, high = 1.0}",
        "sampling.n: Sobol sampling needs a power of 2 (got 100; try 128)",
    ),
    (
        "name = 'x'\n[sampling]\nmethod = 'lhs'\nn = 4\n[uncertainties]\n'escape.attempt_rate' = {low = 0.5, high = 0.1}",
        "uncertainties.escape.attempt_rate: low (0.5) must be below high (0.1)",
    ),
    (
        "name = 'x'\n[sampling]\nmethod = 'lhs'\nn = 4\n[uncertainties]\n'escape.attempt_rate' = {low = 0.5}",
        "a uniform distribution needs high",
    ),
    (
        "name = 'x'\n[sampling]\nmethod = 'lhs'\nn = 4\n[uncertainties]\n'escape.nope' = {low = 0.0, high = 1.0}",
        "uncertainties.escape.nope: no parameter escape.nope",
    ),
    (
        "name = 'x'\n[sampling]\nmethod = 'lhs'\nn = 4\n[uncertainties]\n'escape.attempt_rate' = {low = 0.5, high = 2.0}",
        "escape.attempt_rate: input should be less than or equal to 1",
    ),
    ("name = 'x'\nscale = 0", "scale: input should be greater than 0"),
    (
        "name = 'x'\n[sampling]\nmethod = 'grid'\nlevels = 1000\n[uncertainties]\na = {low = 0.0, high = 1.0}\n"
        "b = {low = 0.0, high = 1.0}\nc = {low = 0.0, high = 1.0}",
        "sampling: 1,000,000,000 samples x 1 scenarios",
    ),
    ("name = 'x'\nscale = 0.1\n[overrides]\n'hosts.china' = 3", "hosts.china"),
    ("name = 'x'\nscale = 0.1\n[overrides]\n'hosts.russia.workers' = 'many'", "hosts.russia.workers"),
    (
        "name = 'x'\n[sampling]\nmethod = 'morris'\nn = 4\n[uncertainties]\n'population.minder_ratio' = {distribution = 'normal', mean = 50.0, sd = 5.0}\n"
        "'escape.attempt_rate' = {low = 0.0, high = 0.1}",
        "Morris samples the ends of each range",
    ),
    (
        "name = 'x'\n[sampling]\nmethod = 'morris'\nn = 4\nlevels = 3\n[uncertainties]\na = {low = 0.0, high = 1.0}\nb = {low = 0.0, high = 1.0}",
        "sampling.levels: Morris needs an even number of levels (got 3)",
    ),
    (
        "name = 'x'\n[sampling]\nmethod = 'grid'\n[uncertainties]\n'policies.0.start' = {values = [3, '2017-09']}",
        "values: mixes types",
    ),
    ("name = 'x'\n[[scenarios]]\nname = 'a'\n[[scenarios]]\nname = 'A'", "differs from 'a' only in case"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_experiment_files_are_rejected_in_one_line(tmp_path, capsys, text, message):
    exp = write(tmp_path, text)
    out = tmp_path / "out"
    assert main(["experiment", str(exp), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert message in err[0] and err[0].startswith("olsim: error: ") and str(exp) in err[0]
    assert not out.exists()


def _closed_port() -> int:
    """A port nothing listens on: one the system just handed out and that is closed again."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--processes", "0"], "--processes 0: must be 1 or more"),
        (["--resume", "--force"], "choose one"),
        (["--processes", "2", "--scheduler", "tcp://127.0.0.1:PORT"], "choose one"),
        (["--scheduler", "tcp://127.0.0.1:PORT"], "--scheduler tcp://127.0.0.1:PORT: cannot connect"),
        (["--scheduler", "foo"], "--scheduler foo: cannot connect"),
    ],
)
def test_bad_flags_are_rejected(tmp_path, capsys, monkeypatch, flags, message):
    monkeypatch.setattr("sim.explore.evaluators.CONNECT_TIMEOUT", "2s")  # no scheduler to wait 20 s for
    port = str(_closed_port())
    flags = [f.replace("PORT", port) for f in flags]
    message = message.replace("PORT", port)
    exp = write(tmp_path, SMALL)
    assert main(["experiment", str(exp), "--out", str(tmp_path / "out"), "--quiet", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists()  # nothing written


def test_out_below_a_file_is_one_line(tmp_path, capsys):
    exp = write(tmp_path, SMALL)
    (tmp_path / "afile").write_text("x")
    assert main(["experiment", str(exp), "--out", str(tmp_path / "afile" / "sub"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and (tmp_path / "afile").read_text() == "x"


def test_relative_workers_are_scaled_once():
    plan = plan_experiment(
        {
            "name": "w",
            "scale": 0.005,
            "months": 12,
            "uncertainties": {
                "hosts.*.workers": {"low": 0.5, "high": 1.5, "relative": True},
                "escape.attempt_rate": {"low": 0.0, "high": 0.1},
            },
            "sampling": {"method": "lhs", "n": 4, "seed": 0},
        }
    )
    assert plan.scenario_params["base"]["hosts"]["china"]["workers"] == 250  # 50,000 x 0.005
    for t in plan.tasks:
        assert t["params"]["hosts"]["china"]["workers"] == round(250 * t["values"]["hosts.*.workers"])


def test_percent_change_keeps_its_sign_against_a_negative_reference():
    runs = pd.DataFrame(
        {
            "scenario": ["ref"] * 3 + ["b"] * 3,
            "sample": [0] * 6,
            "replicate": [0, 1, 2] * 2,
            "y": [-60.0, -58.0, -62.0, -30.0, -29.0, -31.0],
        }
    )
    s = scenario_summary(runs, ["y"], "ref").set_index("scenario")
    assert s.loc["b", "diff_mean"] == pytest.approx(30.0) and s.loc["b", "diff_pct"] == pytest.approx(50.0)


def test_intervals_count_replicates_not_samples():
    """Runs of one replicate share a seed across samples: the interval is over the replicates' means."""
    runs = pd.DataFrame(
        {
            "scenario": ["a"] * 6,
            "sample": [0, 1, 2] * 2,
            "replicate": [0, 0, 0, 1, 1, 1],
            "y": [1.0, 2.0, 3.0, 1.5, 2.5, 3.5],
        }
    )
    s = scenario_summary(runs, ["y"], "a").set_index("scenario")
    mean, lo, hi = t_interval(np.array([2.0, 2.5]))
    assert (s.loc["a", "ci_low"], s.loc["a", "ci_high"]) == pytest.approx((lo, hi))
    assert s.loc["a", "mean"] == pytest.approx(2.25) and s.loc["a", "runs"] == 6


def test_out_folder_holding_other_things_is_never_touched(tmp_path, capsys):
    exp = write(tmp_path, SMALL)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    for flags in ([], ["--force"], ["--resume"]):
        assert main(["experiment", str(exp), "--out", str(out), "--quiet", *flags]) == 2
    assert (out / "notes.txt").read_text() == "keep me" and len(list(out.iterdir())) == 1
    assert "not an experiment folder" in capsys.readouterr().err


def test_shipped_experiments_are_valid():
    from sim.explore.structures import load_structures

    files = sorted((ROOT / "experiments").glob("*.toml"))
    assert {f.stem for f in files} >= {"quick", "sanctions", "sensitivity", "structures"}
    names, plans = [], {}
    for f in files:
        if f.stem in ("structures", "independent_runs"):  # not experiments: variants of one (test_structures.py)
            assert load_structures(f).plans
            continue
        plans[f.stem] = plan = load_experiment(f)
        assert plan.tasks, f
        names.append(plan.spec.name)
    assert len(set(names)) == len(names), f"two shipped experiments share a results folder: {names}"
    sanctions = plans["sanctions"]
    # every sanction over the shipped posterior: no sanctions, the history, each resolution as fitted and at
    # full compliance, both at full compliance, the five other kinds alone, and the four sectoral scenarios
    assert sanctions.spec.sampling.method == "posterior" and sanctions.spec.sampling.n >= 40
    assert len(sanctions.spec.scenarios) == 16 and sanctions.spec.scale == 1.0
    assert sum(h["workers"] for h in sanctions.scenario_params["no_sanctions"]["hosts"].values()) == 98_000
    # every scenario keeps the border closure (the world as it happened), and the reference has no sanction
    for name, p in sanctions.scenario_params.items():
        assert "border_closure" in [q["kind"] for q in p["policies"]], name
    assert [q["kind"] for q in sanctions.scenario_params["no_sanctions"]["policies"]] == ["border_closure"]
    first = {t["scenario"]: t["params"] for t in sanctions.tasks if t["sample"] == 0 and t["replicate"] == 0}
    # the switched-off resolution is inert (compliance 0), the other as the draw has it
    assert first["permit_ban_as_fitted"]["policies"][1]["compliance"] == 0.0
    assert first["permit_ban_as_fitted"]["policies"][0] == first["history"]["policies"][0]
    assert first["repatriation_as_fitted"]["policies"][1] == first["history"]["policies"][1]
    assert (
        first["full_compliance"]["policies"][0]["compliance"] == 1.0
        and first["full_compliance"]["policies"][0]["evasion"] == 0.0
    )
    sens = load_experiment(ROOT / "experiments" / "sensitivity.toml")
    assert sens.spec.sampling.method == "sobol" and len(sens.spec.uncertainties) >= 6


def test_quick_experiment_runs_under_the_cli(tmp_path, capsys):
    out = tmp_path / "quick"
    assert main(["experiment", str(ROOT / "experiments" / "quick.toml"), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "no sanctions" in text and "full compliance" in text and "paired" in text
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == len(load_experiment(ROOT / "experiments" / "quick.toml").tasks)
    with pytest.raises(ExperimentError):
        ExperimentResult.load(tmp_path)


def test_a_morris_folder_without_its_matrix_says_so_in_one_line(tmp_path):
    """A Morris experiment's indices need the sample matrix it saved; a folder that lost it gets a one-line error
    naming the file (it failed inside SALib before)."""
    from sim.common.errors import ExperimentError

    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0], [0.0, 1.0]]}
    x = sample_matrix(problem, "morris", 4, levels=4, seed=3)
    runs = pd.DataFrame({"scenario": "s", "sample": range(len(x)), "y": x[:, 0] * 2 + x[:, 1]})
    manifest = {
        "sampling": {"method": "morris", "seed": 3, "levels": 4},
        "problem": problem,
        "runs_total": len(x),
        "experiment": {"outcomes": ["y"]},
        "reference": "s",
    }
    result = ExperimentResult(tmp_path, manifest, runs, pd.DataFrame({"sample": range(len(x))}), sample_matrix=x)
    assert set(result.sensitivity()["parameter"]) == {"a", "b"}  # with the matrix: the indices
    result.sample_matrix = None
    with pytest.raises(ExperimentError, match="without its sample_matrix.npy"):
        result.sensitivity()


@pytest.mark.parametrize(
    "scale, words",
    [
        (0.0001, ["host europe would have 0.1 simulated workers", "off by 900%", "try 0.001"]),
        (0.0015, ["host europe would have 1.5 simulated workers", "simulated as 2", "try 0.001 or 0.002"]),
        (1e-300, ["host europe would have", "try 0.001"]),
    ],
)
def test_a_scale_that_cannot_represent_every_host_is_refused_with_scales_that_work(scale, words, tmp_path, capsys):
    """Issue 34: every host used to be rounded up to one simulated worker while totals were divided by the nominal
    scale, so at 0.0001 Europe's one worker counted as 10,000 (and 1e-300 gave totals of 1e296). Refused now, in
    one line, before anything runs, naming the host and the nearest scales that work."""
    with pytest.raises(ExperimentError) as e:
        plan_experiment({"name": "s", "scale": scale, "months": 2})
    assert all(w in str(e.value) for w in words), str(e.value)
    argv = ["compare", "no_sanctions", "history", "--scale", repr(scale), "--out", str(tmp_path / "c"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words[0] in err[0] and not (tmp_path / "c").exists()


def test_totals_at_small_scales_are_the_full_workforces_across_seeds():
    """Totals divided by the scale are full-scale totals: the workforce exactly (every host represented: 98,000 at
    1% and at 0.1%), revenue delivered within a stated tolerance of the full run's, over three seeds each.
    Tolerance: 1.5% at 1% scale and 3% at 0.1%. Measured over these 36 months: each seed within 0.5% and 0.9% of
    full scale (means 0.1% and 0.2% below). Over 120 months the means fall 0.5% and 1.7% below: the recruitment
    pipeline takes whole candidates, and a month's intake of 2.3 at 0.1% scale cannot absorb lumps of exits
    (docs/ODD.md 5, on scale)."""
    from sim import run
    from sim.core.params import make_params
    from sim.explore.plan import resolve_params

    full = run(make_params(resolve_params({}, {"calendar.months": 36}, 1.0)), seed=0).summary
    assert full["workers_initial"] == 98_000
    for scale, tolerance in ((0.01, 0.015), (0.001, 0.03)):
        runs = [run(make_params(resolve_params({}, {"calendar.months": 36}, scale)), seed=s).summary for s in range(3)]
        assert all(r["workers_initial"] / scale == pytest.approx(98_000, abs=1e-6) for r in runs)
        revenue = np.mean([r["revenue_delivered_per_year"] / scale for r in runs])
        assert abs(revenue / full["revenue_delivered_per_year"] - 1) < tolerance, (scale, revenue)


def test_a_level_interval_respects_what_the_outcome_can_be():
    """Issue 32: deaths of 12.0 [-5.87, 29.9] per 10,000 worker-years (a rate cannot be negative). A level's 95%
    interval is now the t interval of the mean on the outcome's scale (delta method): log for what cannot be
    negative, logit for a share, as it was for what can be negative. By hand: mean 12, sd 16.643, se 9.609,
    t(2) 4.303: linear 12 -+ 41.34; log 12 x exp(-+ 41.34 / 12)."""
    from sim.explore.analysis import level_interval

    x = np.array([0.0, 5.0, 31.0])
    m, lo, hi = level_interval(x, "linear")
    assert (m, lo, hi) == pytest.approx((12.0, 12 - 41.3443, 12 + 41.3443), abs=1e-3)
    m, lo, hi = level_interval(x, "log")
    assert (lo, hi) == pytest.approx((12 / math.exp(41.3443 / 12), 12 * math.exp(41.3443 / 12)), rel=1e-4)
    s = np.array([0.02, 0.01, 0.05])  # a share: logit(0.0267) -+ t se / (m (1 - m)), back in (0, 1)
    m, lo, hi = level_interval(s, "logit")
    half = 4.302653 * s.std(ddof=1) / math.sqrt(3) / (m * (1 - m))
    logit = math.log(m / (1 - m))
    assert (lo, hi) == pytest.approx((1 / (1 + math.exp(half - logit)), 1 / (1 + math.exp(-logit - half))), rel=1e-5)
    assert 0 < lo < m < hi < 1
    assert level_interval(np.zeros(3), "log")[1:] == (0.0, 0.0)
    # in a summary: deaths and revenue on the log scale, a share on the logit, the net gain as it was
    runs = pd.DataFrame(
        {
            "scenario": ["a"] * 3,
            "sample": [0] * 3,
            "replicate": [0, 1, 2],
            "deaths_per_10000_worker_years": x,
            "worker_share_kept": s,
            "net_gain_p50": x - 20,
        }
    )
    outcomes = ["deaths_per_10000_worker_years", "worker_share_kept", "net_gain_p50"]
    summary = scenario_summary(runs, outcomes, "a").set_index("outcome")
    assert summary.loc["deaths_per_10000_worker_years", "ci_low"] == pytest.approx(12 / math.exp(41.3443 / 12))
    assert summary.loc["worker_share_kept", "ci_low"] > 0
    assert summary.loc["net_gain_p50", "ci_low"] == pytest.approx(-8 - 41.3443, abs=1e-3)


def test_a_change_of_a_thousand_percent_or_more_is_said_as_a_multiple():
    """Issue 32: the terminal summary printed "+18948%" for sending home that rose from near zero; a change of
    1,000% or more of its reference is now a multiple (x190), a smaller one a percentage, an undefined one nothing."""
    from sim.explore.analysis import percent_words

    assert percent_words(18948.0) == " (x190)"
    assert percent_words(999.0) == " (+999%)" and percent_words(-35.4) == " (-35%)"
    assert percent_words(-1000.0) == " (x-9)" and percent_words(math.nan) == ""  # the sign flips: -9 times it
    runs = pd.DataFrame(
        {
            "scenario": ["ref"] * 3 + ["b"] * 3,
            "sample": [0] * 6,
            "replicate": [0, 1, 2] * 2,
            "sent_home_per_1000_worker_years": [0.5, 0.7, 0.6, 110.0, 115.0, 120.0],
        }
    )
    s = scenario_summary(runs, ["sent_home_per_1000_worker_years"], "ref").set_index("scenario")
    assert percent_words(s.loc["b", "diff_pct"]) == " (x192)"  # 115 / 0.6
