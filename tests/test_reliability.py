"""Nothing lost, nothing hung, nothing leaked: the faults and inputs of issue 13, by class.

Each bad input ends with exit status 2 and one line naming what is wrong; a
replaced folder is kept until its replacement is complete; nothing is left
running after olsim is killed.
"""

from __future__ import annotations

import fcntl
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, small_params
from sim import ParamsError, load_params, run
from sim.cli import main

SMALL = [
    "--set",
    "hosts.china.workers=60",
    "--set",
    "hosts.russia.workers=40",
    "--set",
    "hosts.gulf.workers=10",
    "--set",
    "hosts.africa.workers=5",
    "--set",
    "hosts.asia.workers=5",
    "--set",
    "hosts.europe.workers=5",
]
EXPERIMENT = """
name = "tiny"
replicates = 6
months = 12
scale = 0.004
outcomes = ["revenue_delivered_per_year", "worker_share_kept"]
"""


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_error(capsys) -> str:
    """The single error line of the last command (and nothing like a traceback)."""
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("olsim: error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in "\n".join(err)
    return errors[0]


def tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- 1. --force replaces only what a run wrote


def test_run_force_never_deletes_a_folder_a_run_did_not_write(in_tmp, capsys):
    app = in_tmp / "app"
    app.mkdir()
    (app / "manifest.json").write_text("{}")
    (app / "index.html").write_text("keep")
    assert (
        main(["run", str(ROOT / "params/classroom.toml"), "--months", "2", "--out", "app", "--force", "--quiet"]) == 2
    )
    assert "not a run folder" in one_error(capsys)
    assert (app / "index.html").read_text() == "keep"
    # an earlier run with a file of the user's added is not replaced either
    assert main(["run", *SMALL, "--months", "2", "--out", "r", "--quiet"]) == 0
    (in_tmp / "r" / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["run", *SMALL, "--months", "2", "--out", "r", "--force", "--quiet"]) == 2
    assert (in_tmp / "r" / "notes.txt").exists()
    # an experiment folder is not a run's
    assert main(["experiment", _experiment(in_tmp), "--out", "exp", "--processes", "1", "--quiet"]) == 0
    before = tree(in_tmp / "exp")
    capsys.readouterr()
    assert main(["run", *SMALL, "--months", "2", "--out", "exp", "--force", "--quiet"]) == 2
    assert "not a run folder" in one_error(capsys)
    assert tree(in_tmp / "exp") == before


def test_run_force_through_a_symlink_replaces_its_target_and_leaves_no_debris(in_tmp, capsys):
    assert main(["run", *SMALL, "--months", "2", "--out", "target", "--quiet"]) == 0
    (in_tmp / "link").symlink_to(in_tmp / "target")
    old = (in_tmp / "target" / "manifest.json").read_text()
    assert main(["run", *SMALL, "--months", "3", "--out", "link", "--force", "--quiet"]) == 0
    assert (in_tmp / "link").is_symlink() and (in_tmp / "link").resolve() == in_tmp / "target"
    assert (in_tmp / "target" / "manifest.json").read_text() != old
    assert len(pd.read_parquet(in_tmp / "target" / "monthly.parquet")) == 3
    assert sorted(p.name for p in in_tmp.iterdir()) == ["link", "target"]  # no .target.old-PID, no temporary folder
    # a link to nothing: refused before running, nothing written
    (in_tmp / "dangling").symlink_to(in_tmp / "nowhere")
    capsys.readouterr()
    assert main(["run", *SMALL, "--months", "2", "--out", "dangling", "--quiet"]) == 2
    assert "does not exist" in one_error(capsys)
    assert not (in_tmp / "nowhere").exists() and not (in_tmp / "results").exists()


def test_a_run_folder_is_recognised_by_its_manifest(tmp_path):
    from sim.results.result import is_run_folder

    r = run(small_params(months=2), engine="array")
    r.save(tmp_path / "run")
    assert is_run_folder(tmp_path / "run")
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["kind"] == "run"
    (tmp_path / "run" / "manifest.json").write_text(json.dumps({"kind": "experiment"}))
    assert not is_run_folder(tmp_path / "run")


# ---------------------------------------------------------------- 2. experiment --force keeps the old one until done


def _experiment(folder: Path, text: str = EXPERIMENT) -> str:
    p = folder / "tiny.toml"
    p.write_text(text)
    return str(p)


def test_experiment_force_interrupted_keeps_the_earlier_results(in_tmp, capsys, monkeypatch):
    from sim.explore import evaluators

    exp = _experiment(in_tmp)
    assert main(["experiment", exp, "--out", "exp", "--processes", "1", "--quiet"]) == 0
    before = pd.read_parquet(in_tmp / "exp" / "runs.parquet")
    real, calls = evaluators.run_task, []

    def dies_on_the_third(task):
        calls.append(task["run_id"])
        if len(calls) == 3:
            raise KeyboardInterrupt  # as Ctrl-C or SIGTERM would, half-way
        return real(task)

    monkeypatch.setattr(evaluators, "run_task", dies_on_the_third)
    capsys.readouterr()
    assert main(["experiment", exp, "--out", "exp", "--processes", "1", "--force", "--quiet"]) == 130
    err = capsys.readouterr().err
    kept = [p for p in in_tmp.iterdir() if p.name.startswith(".exp.replaced-")]
    assert len(kept) == 1 and str(kept[0]) in err
    pd.testing.assert_frame_equal(pd.read_parquet(kept[0] / "runs.parquet"), before)
    assert len(pd.read_parquet(in_tmp / "exp" / "runs.parquet")) == 2  # the new one's finished runs, resumable
    # finished: the replaced experiment is removed
    monkeypatch.setattr(evaluators, "run_task", real)
    assert main(["experiment", exp, "--out", "exp", "--processes", "1", "--resume", "--quiet"]) == 0
    assert not [p for p in in_tmp.iterdir() if p.name.startswith(".exp.replaced-")]
    pd.testing.assert_frame_equal(pd.read_parquet(in_tmp / "exp" / "runs.parquet"), before)


def test_two_writers_of_one_experiment_are_refused(in_tmp, capsys):
    exp = _experiment(in_tmp)
    assert main(["experiment", exp, "--out", "exp", "--processes", "1", "--quiet"]) == 0
    manifest = (in_tmp / "exp" / "manifest.json").read_text()
    with open(in_tmp / "exp" / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another olsim at work
        capsys.readouterr()
        assert main(["experiment", exp, "--out", "exp", "--processes", "1", "--resume", "--quiet"]) == 2
        assert "another olsim is writing this experiment" in one_error(capsys)
    assert (in_tmp / "exp" / "manifest.json").read_text() == manifest


def test_an_experiment_stopped_at_once_is_still_an_experiment(in_tmp, capsys, monkeypatch):
    from sim.explore import evaluators

    def stop(task):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluators, "run_task", stop)
    assert main(["experiment", _experiment(in_tmp), "--out", "exp", "--processes", "1", "--quiet"]) == 130
    assert (in_tmp / "exp" / "runs.parquet").exists() and len(pd.read_parquet(in_tmp / "exp" / "runs.parquet")) == 0
    capsys.readouterr()
    # an experiment with no finished run yet: one line that says so (not exit 0 with nothing drawn), no traceback,
    # no "not a run folder"
    assert main(["plot", "exp"]) == 2
    assert "exp: no finished runs to draw yet" in one_error(capsys)
    assert not (in_tmp / "exp" / "plots").exists() or not list((in_tmp / "exp" / "plots").iterdir())


# ---------------------------------------------------------------- 3. plot -o


@pytest.mark.parametrize(
    "target, expected",
    [
        ("README.md", "must end in .png, .pdf, .svg"),
        ("existing.png", "already exists; add --force"),
        ("nowhere/x.png", "does not exist"),
        ("adir", "is a folder"),
    ],
)
def test_plot_output_is_checked_before_anything_is_written(in_tmp, capsys, target, expected):
    assert main(["run", *SMALL, "--months", "2", "--out", "r", "--quiet"]) == 0
    (in_tmp / "README.md").write_text("keep")
    (in_tmp / "existing.png").write_bytes(b"keep")
    (in_tmp / "adir").mkdir()
    before = tree(in_tmp)
    capsys.readouterr()
    assert main(["plot", "r", "-o", target]) == 2
    assert expected in one_error(capsys)
    assert tree(in_tmp) == before and not (in_tmp / "nowhere").exists() and not (in_tmp / "adir.png").exists()
    assert main(["plot", "r", "-o", "existing.png", "--force"]) == 0
    assert (in_tmp / "existing.png").read_bytes()[:4] == b"\x89PNG"


# ---------------------------------------------------------------- 5-7. exhaustion: large, deep and endless inputs


def test_too_many_hosts_is_one_line_and_quick(in_tmp, capsys):
    hosts = "\n".join(f"[hosts.h{i}]\nworkers = 1\nwage = 100.0" for i in range(20_000))
    (in_tmp / "many.toml").write_text(hosts)
    t0 = time.perf_counter()
    assert main(["validate", "many.toml"]) == 2
    assert "at most 250" in one_error(capsys)
    assert time.perf_counter() - t0 < 30  # refused before 20,000 hosts are built (a loose bound: any machine)


@pytest.mark.parametrize(
    "command",
    [
        ["validate", "deep.toml"],
        ["run", "deep.toml"],
        ["experiment", "deep.toml"],
        ["calibrate", "deep.toml"],
        ["run", "--set", "description=" + "[" * 600 + "]" * 600],
    ],
)
def test_deep_nesting_is_one_line(in_tmp, capsys, command):
    (in_tmp / "deep.toml").write_text("x = " + "[" * 600 + "]" * 600 + "\n")
    assert main(command) == 2
    assert "nested" in one_error(capsys)


def test_deep_nesting_from_python_is_refused():
    value = []
    for _ in range(100):
        value = [value]
    with pytest.raises(ParamsError, match="nested more than"):
        load_params(None, {"description": value})


@pytest.mark.parametrize(
    "command",
    [
        ["run", "/dev/zero"],
        ["validate", "/dev/zero"],
        ["experiment", "/dev/zero"],
        ["calibrate", "/dev/zero"],
        ["run", "fifo.toml"],
    ],
)
def test_endless_or_special_files_are_refused(in_tmp, capsys, command):
    os.mkfifo(in_tmp / "fifo.toml")
    assert main(command) == 2
    assert "not a regular file" in one_error(capsys)


def test_oversized_file_is_refused(in_tmp, capsys):
    (in_tmp / "big.toml").write_text("# padding\n" * 1_000_000)
    assert main(["validate", "big.toml"]) == 2
    assert "larger than 8 MiB" in one_error(capsys)


# ---------------------------------------------------------------- 8. nothing left running


def _marked_processes(mark: str) -> list[int]:
    """Processes whose environment carries ``mark`` (olsim and everything it started)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if mark.encode() in (d / "environ").read_bytes():
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def _running_experiment(tmp_path: Path):
    """`olsim experiment` on a 2-process pool in a subprocess whose environment carries a fresh marker, once two
    runs are done: (the process, the marker)."""
    exp = _experiment(tmp_path, EXPERIMENT.replace("replicates = 6", "replicates = 400").replace("0.004", "0.02"))
    mark = f"OLSIM_TEST_MARK={uuid.uuid4().hex}"
    env = {**os.environ, mark.split("=")[0]: mark.split("=")[1]}
    # stderr to a file, not a pipe: the pool workers inherit it, and a pipe nobody reads could fill and hold them up
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        proc = _start_experiment(exp, tmp_path, env, stderr)
    rows = tmp_path / "exp" / "rows"
    deadline = time.time() + 120
    while not (rows.exists() and len(list(rows.glob("*.json"))) >= 2):
        assert time.time() < deadline and proc.poll() is None, (tmp_path / "stderr.txt").read_text()[-2000:]
        time.sleep(0.2)
    return proc, mark


def _start_experiment(exp, tmp_path: Path, env: dict, stderr) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "experiment",
            exp,
            "--out",
            str(tmp_path / "exp"),
            "--processes",
            "2",
            "--quiet",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_experiment_leaves_nothing_running(tmp_path, sig):
    proc, mark = _running_experiment(tmp_path)
    assert len(_marked_processes(mark)) >= 3  # the coordinator, the forkserver, the pool
    proc.send_signal(sig)
    # the coordinator stops its pool first; on a loaded 2-core machine (the whole suite, a pool worker still
    # compiling) that took over 30 s twice: the property is that nothing is left, not how fast
    code = proc.wait(timeout=90)
    deadline = time.time() + 20  # pool workers check on their coordinator every second
    while _marked_processes(mark) and time.time() < deadline:
        time.sleep(0.2)
    assert _marked_processes(mark) == []
    if sig == signal.SIGTERM:  # interrupted (130), not run to its end with the signal lost (0)
        err = (tmp_path / "stderr.txt").read_text()
        assert code == 130 and "run the same command with --resume" in err, (code, err[-2000:])


LARGE_RESULTS = """
import signal, sys
from sim.cli import _terminate
from sim.explore.evaluators import execute

def large(task):  # a result far larger than a pipe's buffer: a worker spends most of its time sending it
    return {"run_id": task["run_id"], "blob": b"x" * 20_000_000}

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    def done(payload):
        print("done", flush=True)
    try:
        execute([{"run_id": str(i)} for i in range(10_000)], done, processes=2, function=large)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
"""


def test_a_stop_while_a_worker_sends_a_large_result_does_not_hang_the_exit(tmp_path):
    """The pool's workers are terminated on a stop; one ended halfway through sending a result left half a message in
    the results pipe, the pool's thread waited for the rest for ever and the interpreter for that thread at exit (the
    CI's SIGTERM test once timed out so, under load). With 20 MB results a worker is almost always mid-send: before
    the fix 4 of 5 such stops hung; three in a row must each end within 30 s (they take about 1 s)."""
    script = tmp_path / "large.py"
    script.write_text(LARGE_RESULTS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for attempt in range(3):
        proc = subprocess.Popen(
            [sys.executable, str(script)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        try:
            assert proc.stdout is not None
            with selectors.DefaultSelector() as ready:
                ready.register(proc.stdout, selectors.EVENT_READ)
                deadline = time.monotonic() + 120  # the pool's start on a loaded machine, then three results
                for _ in range(3):  # results are flowing
                    assert ready.select(timeout=max(0.0, deadline - time.monotonic())), "no result within 120 s"
                    assert proc.stdout.readline() == b"done\n"
            proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail(f"stop {attempt + 1}: the process did not end within 30 s of SIGTERM")
            assert b"interrupted" in out, (attempt, out[-200:])
        finally:
            if proc.poll() is None:  # a failed check leaves nothing running
                proc.kill()
                proc.communicate()


def test_a_stop_whose_interrupt_was_lost_is_raised_again_by_the_task_loop():
    """olsim's SIGTERM handler raises KeyboardInterrupt and notes the stop; an interrupt cleared inside C code (numpy,
    pandas, pyarrow calling back into Python) would be lost and the run go on to its end (once seen under the full
    suite's load: a SIGTERM with no "--resume" message), so the loop that runs the tasks raises it again at its next
    check, before it starts another task; a new olsim command clears a stop left by an earlier one."""
    from sim.cli import _terminate, main
    from sim.common import errors
    from sim.explore.evaluators import execute

    ran = []
    try:
        with pytest.raises(KeyboardInterrupt):
            _terminate(signal.SIGTERM, None)  # as if the interrupt it raises were then swallowed
        with pytest.raises(KeyboardInterrupt):
            execute([{"run_id": "a"}, {"run_id": "b"}], ran.append, processes=1)
        assert ran == []  # no task ran after the stop
        assert main([]) == 0  # a new command (bare olsim: its help) starts without the old stop
        try:
            errors.raise_if_stopped()
        except KeyboardInterrupt:
            pytest.fail("a new olsim command kept the stop of the one before")
    finally:
        errors.clear_stop()


def test_an_interrupted_olsim_call_leaves_no_stop_behind(monkeypatch):
    """olsim called from Python and stopped by SIGTERM returns 130 and leaves no stop set, so the caller's next
    library call (an experiment, a calibration) is not interrupted by it."""
    import sim.cli as cli
    from sim.common import errors

    def stopped(args):
        cli._terminate(signal.SIGTERM, None)

    monkeypatch.setattr(cli, "cmd_run", stopped)
    try:
        assert cli.main(["run"]) == 130
        assert not errors.stop_requested()
    finally:
        errors.clear_stop()


def test_terminated_classroom_frees_its_port(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mark = f"OLSIM_TEST_MARK={uuid.uuid4().hex}"
    env = {**os.environ, mark.split("=")[0]: mark.split("=")[1]}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "classroom", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    deadline = time.time() + 20
    while _marked_processes(mark) and time.time() < deadline:
        time.sleep(0.2)
    assert _marked_processes(mark) == []
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


# ---------------------------------------------------------------- 9. a cluster without workers says so


def test_dask_without_workers_says_so_and_goes_on_when_workers_come(tmp_path, capsys, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from sim.explore import evaluators
    from sim.explore.plan import load_experiment

    monkeypatch.setattr(evaluators, "NO_WORKERS_WARN_SECONDS", 1.0)
    plan = load_experiment(_experiment(tmp_path, EXPERIMENT.replace("replicates = 6", "replicates = 2")))
    done = []
    with (
        distributed.LocalCluster(
            n_workers=0, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=40
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        threading.Timer(4.0, lambda: cluster.scale(1)).start()
        evaluators.execute(plan.tasks, done.append, scheduler=client)
    err = capsys.readouterr().err
    assert "has had no workers" in err and cluster.scheduler_address in err
    assert sorted(p["row"]["run_id"] for p in done) == sorted(t["run_id"] for t in plan.tasks)


# ---------------------------------------------------------------- 10. failures as one line, finished runs kept


def test_killed_pool_worker_is_one_line_and_keeps_the_finished_runs(tmp_path):
    proc, mark = _running_experiment(tmp_path)

    def read(path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError:  # a short-lived marked process (a helper the pool started) exited while we looked
            return b""

    workers: list[int] = []
    deadline = time.time() + 30
    while not workers and time.time() < deadline:
        workers = [
            p
            for p in _marked_processes(mark)
            if b"forkserver" in read(f"/proc/{p}/cmdline")
            and (read(f"/proc/{p}/stat").split() or [b"", b"", b"", b""])[3] not in (b"", str(proc.pid).encode())
        ]  # the forkserver's children
    assert workers
    os.kill(workers[0], signal.SIGKILL)
    assert proc.wait(timeout=60) == 2
    err = [line for line in (tmp_path / "stderr.txt").read_text().splitlines() if line.strip()]
    assert len(err) == 1 and "a worker process of the local pool died" in err[0] and "--resume" in err[0], err
    assert len(pd.read_parquet(tmp_path / "exp" / "runs.parquet")) >= 2


def test_full_disk_during_an_experiment_is_one_line(in_tmp, capsys, monkeypatch):
    from sim.explore import store

    real, saved = store.Store.save_run, []

    def full(self, payload):
        if len(saved) == 2:
            raise OSError(28, "No space left on device")
        saved.append(payload["row"]["run_id"])
        real(self, payload)

    monkeypatch.setattr(store.Store, "save_run", full)
    assert main(["experiment", _experiment(in_tmp), "--out", "exp", "--processes", "1", "--quiet"]) == 2
    line = one_error(capsys)
    assert "No space left on device" in line and "2 finished runs are saved" in line


def test_integer_uncertainty_sampled_to_infinity_is_one_line(in_tmp, capsys):
    text = (
        EXPERIMENT
        + """
[sampling]
method = "lhs"
n = 4
[uncertainties]
"population.minder_ratio" = { distribution = "lognormal", median = 50, sigma = 400 }
"""
    )
    assert main(["experiment", _experiment(in_tmp, text), "--out", "exp", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert all(line.startswith("olsim: error:") for line in err), (
        err
    )  # one line per problem (also: too small, too large)
    assert any("beyond any whole number for population.minder_ratio" in line for line in err)
    assert not (in_tmp / "exp").exists()


def test_damaged_run_and_experiment_folders_are_one_line(in_tmp, capsys):
    assert main(["run", *SMALL, "--months", "2", "--out", "r", "--quiet"]) == 0
    (in_tmp / "r" / "monthly.parquet").write_bytes(b"PAR1 truncated")
    capsys.readouterr()
    assert main(["plot", "r", "-o", "o.png"]) == 2
    assert "damaged run folder" in one_error(capsys)
    (in_tmp / "r" / "manifest.json").write_text("{not json")
    assert main(["plot", "r", "-o", "o.png"]) == 2
    one_error(capsys)
    exp = _experiment(in_tmp)
    assert main(["experiment", exp, "--out", "exp", "--processes", "1", "--quiet"]) == 0
    first = sorted((in_tmp / "exp" / "monthly").glob("*.parquet"))[0]
    first.write_bytes(b"PAR1 truncated")
    capsys.readouterr()
    assert main(["plot", "exp"]) == 0  # drawn from the runs that check out; the damaged one named, left out
    err = capsys.readouterr().err
    assert f"1 run is damaged: {first.stem} (its monthly file is not the one written" in err and "Traceback" not in err
    # a damaged row is not a finished run: --resume runs it again and the experiment ends whole
    row = sorted((in_tmp / "exp" / "rows").glob("*.json"))[1]
    row.write_text('{"row": {"run_id": ')
    assert main(["experiment", exp, "--out", "exp", "--processes", "1", "--resume", "--quiet"]) == 0
    assert json.loads(row.read_text())["row"]["run_id"] == row.stem


def test_lost_dask_scheduler_is_one_line_and_keeps_the_finished_runs(in_tmp, capsys):
    distributed = pytest.importorskip("distributed")
    exp = _experiment(in_tmp, EXPERIMENT.replace("replicates = 6", "replicates = 200").replace("0.004", "0.01"))
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=50
    )
    address = cluster.scheduler_address

    def close_after_two_runs():
        rows = in_tmp / "exp" / "rows"
        deadline = time.time() + 120
        while not (rows.exists() and len(list(rows.glob("*.json"))) >= 2) and time.time() < deadline:
            time.sleep(0.1)
        cluster.close()

    closer = threading.Thread(target=close_after_two_runs)
    closer.start()
    # what dask itself logs reaches its handlers, which write to the terminal past capsys: a handler like them
    # records what would have been printed (the lost scheduler's reconnection tracebacks, some 35 lines)
    import logging

    printed: list[logging.LogRecord] = []
    spy = logging.Handler()
    spy.emit = printed.append  # type: ignore[method-assign]
    logging.getLogger("distributed").addHandler(spy)
    try:
        code = main(["experiment", exp, "--out", "exp", "--scheduler", address, "--quiet"])
        time.sleep(3)  # the client's reconnection loop outlives the experiment
    finally:
        closer.join()
        cluster.close()
        logging.getLogger("distributed").removeHandler(spy)
    assert code == 2
    line = one_error(capsys)
    assert address in line and "--resume" in line
    assert len(pd.read_parquet(in_tmp / "exp" / "runs.parquet")) >= 2
    assert not [r for r in printed if r.levelno >= logging.WARNING], [r.getMessage()[:80] for r in printed]


def test_lost_scheduler_and_broken_pool_read_as_words():
    from sim.explore.runner import failure

    class FutureCancelledError(Exception):
        pass

    class BrokenProcessPool(Exception):
        pass

    assert "Dask scheduler tcp://10.0.0.5:8786 cancelled" in failure(FutureCancelledError("x"), "tcp://10.0.0.5:8786")
    assert "worker process of the local pool died" in failure(BrokenProcessPool(), None)
    assert "No space left" in failure(OSError(28, "No space left on device"), None)


# ---------------------------------------------------------------- 11. a failed save is a failure


def test_failed_save_exits_non_zero_and_says_where_the_results_are(in_tmp, capsys, monkeypatch):
    from sim.results import result

    real = result.Result.save

    def disk_full_at(self, folder, force=False):
        if Path(folder).name == "wanted":
            raise OSError(28, f"{Path(folder).absolute()}: No space left on device")
        return real(self, folder, force)

    monkeypatch.setattr(result.Result, "save", disk_full_at)
    assert main(["run", *SMALL, "--months", "2", "--out", "wanted", "--quiet"]) == 2
    line = one_error(capsys)
    assert "No space left on device" in line and "saved to" in line
    kept = line.split("saved to ")[1].split(" instead")[0]
    assert (Path(kept) / "monthly.parquet").exists()


# ---------------------------------------------------------------- 12-13. seeds and names


@pytest.mark.parametrize("seed", ["18446744073709551616", "9223372036854775808", "-1"])
def test_cli_seeds_out_of_range_are_refused(in_tmp, capsys, seed):
    assert main(["run", *SMALL, "--months", "2", "--seed", seed, "--quiet"]) == 2
    assert "--seed" in one_error(capsys)


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True, 2**64, None])
@pytest.mark.parametrize("engine", ["array", "mesa"])
def test_python_seeds_must_be_whole_numbers_in_range(seed, engine):
    with pytest.raises(ParamsError, match="seed"):
        run(small_params(months=1), engine=engine, seed=seed)


def test_numpy_scalars_are_accepted_as_overrides():
    p = load_params(None, {"hosts.russia.workers": np.int64(500), "worker.loyalty_min": np.float64(0.5)})
    assert p.hosts["russia"].workers == 500 and p.worker.loyalty_min == 0.5
    r = run(small_params(months=1), engine="array", seed=np.int64(3))
    assert r.manifest["seed"] == 3


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[hosts."china\\n"]\nworkers = 5\nwage = 100.0\n', "host names must be lower-case"),
        ("[[policies]]\nkind = 'permit_ban'\nstart = \"2017-09\\n\"\n", "is not a month written YYYY-MM"),
        ('[calendar]\nstart = "2016-01\\n"\n', "is not a month written YYYY-MM"),
    ],
)
def test_names_and_months_with_a_trailing_newline_are_refused(in_tmp, capsys, text, expected):
    (in_tmp / "p.toml").write_text(text)
    assert main(["validate", "p.toml"]) == 2
    line = one_error(capsys)
    assert expected in line and "\\n" in line


def test_experiment_and_scenario_names_with_a_newline_are_refused(in_tmp, capsys):
    assert main(["experiment", _experiment(in_tmp, 'name = "tiny\\n"\n'), "--quiet"]) == 2
    assert "must be letters, digits" in one_error(capsys)
    assert main(["experiment", _experiment(in_tmp, 'name = "t"\n[[scenarios]]\nname = "a\\n"\n'), "--quiet"]) == 2
    assert "must be letters, digits" in one_error(capsys)


# ---------------------------------------------------------------- 14-15. every problem at once; partial host tables


def test_independent_problems_are_reported_together(in_tmp, capsys):
    (in_tmp / "p.toml").write_text(
        "[worker]\nloyalty_min = nan\nrisk_aversion_min = 0.9\nrisk_aversion_max = 0.1\n"
        "[work]\nhours_base = 'x'\n[minder]\nvigilance_min = 0.9\nvigilance_max = 0.1\n"
        "[calendar]\nmonths = 0\n"
    )
    assert main(["validate", "p.toml"]) == 2
    err = capsys.readouterr().err
    for expected in (
        "worker.loyalty_min: must be a finite number",
        "work.hours_base: input should be a valid number",
        "calendar.months",
        "worker.risk_aversion_min: must not exceed",
        "minder.vigilance_min: must not exceed",
    ):
        assert expected in err, err


def test_a_default_standing_in_for_a_bad_value_is_not_blamed(in_tmp, capsys):
    # hours_base is bad; its default (12) is above hours_max = 10, but that is not what the user wrote
    (in_tmp / "p.toml").write_text("[work]\nhours_base = 'x'\nhours_max = 10.0\n")
    assert main(["validate", "p.toml"]) == 2
    assert "hours_base" in one_error(capsys)


def test_partial_host_table_says_that_hosts_are_replaced(in_tmp, capsys):
    (in_tmp / "p.toml").write_text("[hosts.russia]\nworkers = 5000\n")
    assert main(["validate", "p.toml"]) == 2
    line = one_error(capsys)
    assert "hosts.russia.wage: required" in line and "replace the built-in hosts" in line and "--set" in line


def test_memory_estimate_counts_minders_camps_and_hosts():
    from sim.engines.runner import estimate_memory

    base = small_params(scale=20)
    dense = small_params(scale=20, population__minder_ratio=1, population__team_size=1, population__camp_size=1)
    for engine in ("array", "mesa"):
        workers, need_base = estimate_memory(base, engine)
        _, need_dense = estimate_memory(dense, engine)
        assert (
            need_dense > need_base + workers * 100
        )  # a minder and a camp per worker cost at least 100 bytes more each


# ---------------------------------------------------------------- Ctrl-C inside compiled code


def _disguised_interrupt():
    """What Python raises when a KeyboardInterrupt is raised while a numba dispatcher returns."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as ki:
        err = SystemError("CPUDispatcher(<function posted_counts>) returned a result with an exception set")
        err.__cause__ = ki
        return err


def test_ctrl_c_inside_compiled_code_is_an_interruption(monkeypatch):
    """A Ctrl-C that lands while a compiled loop returns surfaces as a SystemError caused by the
    KeyboardInterrupt (seen once in 30 interrupted experiments under load): `run` turns it back into a
    KeyboardInterrupt, so the CLI says 'interrupted' (exit 130), not 'a run failed' (exit 2)."""
    from sim.common.errors import interrupted
    from sim.engines.array.model import ArrayModel

    assert (
        interrupted(_disguised_interrupt()) and not interrupted(SystemError("other")) and not interrupted(ValueError())
    )

    def step(self):
        raise _disguised_interrupt()

    monkeypatch.setattr(ArrayModel, "step", step)
    with pytest.raises(KeyboardInterrupt):
        run(small_params(months=3), engine="array")
    monkeypatch.setattr(ArrayModel, "step", lambda self: (_ for _ in ()).throw(SystemError("a real fault")))
    with pytest.raises(SystemError):
        run(small_params(months=3), engine="array")


def test_experiment_interrupted_inside_compiled_code_can_resume(in_tmp, capsys, monkeypatch):
    """The same disguised Ctrl-C from an evaluator: exit 130 with the --resume hint, not a failure."""
    import sim.explore.runner as explore_runner

    def execute(todo, on_done, processes=None, scheduler=None):
        raise _disguised_interrupt()

    monkeypatch.setattr(explore_runner, "execute", execute)
    exp = in_tmp / "e.toml"
    exp.write_text(
        f'name = "e"\nreplicates = 1\nmonths = 3\nscale = 0.005\nreference = "none"\n'
        f'outcomes = ["worker_share_kept"]\n[[scenarios]]\nname = "none"\nparams = "{ROOT}/params/no_sanctions.toml"\n'
    )
    assert main(["experiment", str(exp), "--out", str(in_tmp / "out"), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "--resume" in err and "failed" not in err and "Traceback" not in err


# ---------------------------------------------------------------- issue 34: an experiment folder that checks itself


@pytest.fixture
def finished(in_tmp, capsys):
    """The tiny experiment, finished: its folder, its index and summary as written, and its file."""
    exp = _experiment(in_tmp)
    assert main(["experiment", exp, "--out", "exp", "--processes", "1", "--quiet"]) == 0
    capsys.readouterr()
    folder = in_tmp / "exp"
    return folder, pd.read_parquet(folder / "runs.parquet"), exp


def _damage(folder: Path, how: str) -> str:
    """Damage the second run in one way; return its id."""
    rid = sorted(p.stem for p in (folder / "rows").glob("*.json"))[1]
    row = folder / "rows" / f"{rid}.json"
    if how == "middle":  # bytes changed inside the file; its Parquet footer intact
        f = folder / "monthly" / f"{rid}.parquet"
        data = bytearray(f.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 8] = b"\x00" * 8
        f.write_bytes(bytes(data))
    elif how == "missing outcome":
        r = json.loads(row.read_text())
        del r["row"]["worker_share_kept"]
        row.write_text(json.dumps(r))
    elif how == "wrong type":
        r = json.loads(row.read_text())
        r["row"]["revenue_delivered_per_year"] = "lots"
        row.write_text(json.dumps(r))
    return rid


@pytest.mark.parametrize("how", ["middle", "missing outcome", "wrong type"])
def test_a_damaged_run_is_named_left_out_and_run_again_on_resume(finished, capsys, how):
    """A results file changed in the middle used to pass as finished (--resume then looped on it); a row without an
    outcome gave NaN under "6 of 6"; a row with a wrong type was a traceback. Each is now named by report, left out
    of what it counts, and run again by --resume, after which the experiment is the clean one's, to the bit."""
    folder, clean, exp = finished
    rid = _damage(folder, how)
    assert main(["report", str(folder)]) == 0
    err = capsys.readouterr().err
    assert f"1 run is damaged: {rid}" in err and "--resume" in err and "Traceback" not in err
    assert "5 of 6 runs are finished" in err
    assert rid not in set(pd.read_parquet(folder / "runs.parquet")["run_id"])
    assert main(["experiment", exp, "--out", "exp", "--processes", "1", "--resume", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"--resume: 1 run is damaged: {rid}" in err and "running them again" in err
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "runs.parquet"), clean, check_exact=True)
    assert main(["report", str(folder)]) == 0
    assert "damaged" not in capsys.readouterr().err


def test_report_and_plot_rebuild_a_stale_index_under_the_lock(finished, capsys):
    """The index (runs.parquet) used to be rebuilt only every 10 s while runs finished, so a folder killed between
    could say "no finished runs" with finished runs in it; report and plot now rebuild it from the runs."""
    folder, clean, _ = finished
    clean.iloc[:0].to_parquet(folder / "runs.parquet", index=False)  # stale: no run indexed
    assert main(["plot", str(folder)]) == 0
    assert "no finished runs" not in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "runs.parquet"), clean, check_exact=True)
    clean.iloc[:2].to_parquet(folder / "runs.parquet", index=False)
    assert main(["report", str(folder)]) == 0
    assert "of 6 runs" not in capsys.readouterr().err  # all six counted
    # and neither draws while another olsim holds the folder
    with open(folder / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["plot", str(folder)]) == 2
        assert "another olsim is writing" in one_error(capsys)


@pytest.mark.parametrize(
    "argv, suggestion",
    [
        (["experment", "x.toml"], "did you mean 'experiment'?"),
        (["run", "--sed", "3"], "did you mean '--seed'?"),
        (["experiment", "x.toml", "--proceses=2"], "did you mean '--processes'?"),
        (["calibrate", "--reprot", "d"], "did you mean '--report'?"),
    ],
)
def test_a_mistyped_command_or_option_gets_the_nearest_in_one_line(in_tmp, capsys, argv, suggestion):
    assert main(argv) == 2
    assert suggestion in one_error(capsys)


def test_an_option_nothing_resembles_gets_no_suggestion(in_tmp, capsys):
    assert main(["run", "--zzz"]) == 2
    assert "did you mean" not in one_error(capsys)


def test_a_full_disk_while_drawing_is_one_line_and_debug_shows_the_traceback(in_tmp, capsys, monkeypatch):
    """Issue 34: a full disk while plotting printed matplotlib's 64-line traceback."""
    import matplotlib.figure

    assert main(["run", *SMALL, "--months", "2", "--out", "r", "--quiet"]) == 0

    def full(self, fname, *args, **kwargs):
        raise OSError(28, "No space left on device", str(fname))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full)
    capsys.readouterr()
    assert main(["plot", "r", "-o", "o.png"]) == 2
    line = one_error(capsys)
    assert "o.png: No space left on device: free some space" in line
    with pytest.raises(OSError):
        main(["--debug", "plot", "r", "-o", "o2.png"])


def test_out_of_memory_is_one_line(in_tmp, capsys, monkeypatch):
    import sim.engines

    def short(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(sim.engines, "run", short)  # what olsim run calls
    code = main(["run", *SMALL, "--months", "2", "--out", "m", "--quiet"])
    assert code == 2 and "out of memory" in one_error(capsys)


def test_a_new_host_from_the_command_line_needs_add_host(in_tmp, capsys):
    """Issue 34: `--set` used to create any host it named, so a typo ran as a host of its own. Now a host the file
    does not have needs --add-host NAME (and every field it needs); a near-miss also gets the host it resembles."""
    new = ["--set", "hosts.atlantis.workers=50", "--set", "hosts.atlantis.wage=600", "--set", "hosts.atlantis.plan=300"]
    assert main(["run", *new, "--months", "2", "--out", "a", "--quiet"]) == 2
    line = one_error(capsys)
    assert "no host named atlantis" in line and "--add-host atlantis" in line and not (in_tmp / "a").exists()
    assert main(["run", "--set", "hosts.rusia.workers=5", "--months", "2", "--out", "a", "--quiet"]) == 2
    assert "did you mean 'russia'?" in one_error(capsys)
    assert main(["validate", str(ROOT / "params" / "classroom.toml"), "--set", "hosts.china.workers=5"]) == 2
    assert "no host named china" in one_error(capsys)  # the classroom's only host is the gulf
    assert main(["run", "--add-host", "atlantis", *new, "--months", "2", "--out", "a", "--quiet"]) == 0
    hosts = pd.read_parquet(in_tmp / "a" / "hosts.parquet")
    assert "atlantis" in set(hosts["host"])


def test_a_killed_worker_that_the_pool_misses_still_breaks_the_experiment(monkeypatch):
    """A worker killed while it sends a result leaves half a message in the pool's pipe and CPython's pool then
    waits for ever (seen once in CI: the killed-worker test above timed out after 60 s). The coordinator watches
    its workers: a worker dead by a signal with no run finishing for `DEAD_WORKER_SECONDS` breaks the pool, so the
    usual one line follows. Broken on purpose (the watch returning None): fails."""
    from concurrent.futures.process import BrokenProcessPool
    from types import SimpleNamespace

    from sim.explore import evaluators

    ended = []

    def process(exitcode):
        return SimpleNamespace(exitcode=exitcode, kill=lambda: ended.append(exitcode), join=lambda timeout: None)

    alive, killed = process(None), process(-9)
    pool = SimpleNamespace(_processes={1: alive, 2: killed})
    healthy = SimpleNamespace(_processes={1: alive, 2: process(0)})
    assert evaluators._check_workers(healthy, False, None) is None  # a clean exit is not a death
    since = evaluators._check_workers(pool, False, None)
    assert since is not None
    assert evaluators._check_workers(pool, True, since) is None  # runs still finish: the pool will say so itself
    assert evaluators._check_workers(pool, False, since) == since  # not yet long enough
    monkeypatch.setattr(evaluators, "DEAD_WORKER_SECONDS", 0.0)
    with pytest.raises(BrokenProcessPool):
        evaluators._check_workers(pool, False, since - 1.0)
    assert ended == [None]  # the survivor, waiting on the dead one's lock, is ended


HALF_MESSAGE = """
import gc, os, struct, sys, time
from sim.explore import evaluators


def task(t):
    if t == 3:  # this worker writes half a result into the pool's pipe, then is killed
        import multiprocessing.queues as queues

        for q in [o for o in gc.get_objects() if isinstance(o, queues.SimpleQueue)]:
            try:
                q._writer._send(struct.pack("!i", 100000) + b"x" * 10)
            except Exception:
                pass
        os.kill(os.getpid(), 9)
    time.sleep(0.2)
    return {"t": t}


if __name__ == "__main__":
    evaluators.run_task = task
    evaluators.DEAD_WORKER_SECONDS = 2.0
    try:
        evaluators.execute(list(range(10)), lambda p: None, processes=2)
    except Exception as e:
        print("raised", type(e).__name__, flush=True)
"""


def test_a_worker_killed_halfway_through_a_result_does_not_hang_the_experiment(tmp_path):
    """The real thing: a pool worker writes half a result message and dies; CPython's pool would wait for the rest
    for ever (measured: still waiting after 20 s without the watch). With it, the coordinator raises
    BrokenProcessPool within seconds and the process exits (the pool's thread is released, so the interpreter does
    not wait for it at exit)."""
    script = tmp_path / "half_message.py"
    script.write_text(HALF_MESSAGE)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0 and "raised BrokenProcessPool" in proc.stdout, proc.stderr[-2000:]
