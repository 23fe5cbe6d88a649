"""The whole experiment: plan, evaluate what is missing, store, analyse."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable

from ..common.errors import ExperimentError, interrupted
from ..common.provenance import process_seconds
from .analysis import ExperimentResult
from .evaluators import connect, cores, execute
from .plan import Plan
from .report import analyse
from .store import Store


def run_experiment(
    plan: Plan,
    out: str | os.PathLike,
    processes: int | None = None,
    scheduler=None,
    resume: bool = False,
    force: bool = False,
    progress: bool = False,
    plots: bool = True,
):
    """Run what is missing of an experiment into ``out``; return its results (analysed).

    Interrupted (Ctrl-C, a killed process, a lost worker), it loses no
    finished run: run it again with ``resume=True``.
    """
    start_up = process_seconds()  # this process's start-up, imports and planning, to here
    store = Store(out)
    executor = (
        f"dask {scheduler if isinstance(scheduler, str) else 'client'}"
        if scheduler is not None
        else f"local pool of {processes or cores()}"
        if (processes or cores()) > 1
        else "in-process"
    )
    own_client = isinstance(scheduler, str)
    if own_client:
        scheduler = connect(scheduler)  # before anything is written
    try:
        return _run(plan, store, executor, processes, scheduler, resume, force, progress, plots, start_up)
    finally:
        if own_client:
            scheduler.close()


def _run(plan, store, executor, processes, scheduler, resume, force, progress, plots=True, start_up=0.0):
    seconds = {"start_up": start_up, "saving_runs": 0.0}  # where this session's time went (the manifest's session)
    t_prepare = time.perf_counter()
    done = store.prepare(plan, resume=resume, force=force, executor=executor)
    seconds["prepare"] = time.perf_counter() - t_prepare
    todo = [t for t in plan.tasks if t["run_id"] not in done]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=len(plan.tasks),
            initial=len(done),
            unit="run",
            desc=plan.spec.name,
            file=sys.stderr,
            dynamic_ncols=True,
            smoothing=0.05,
            disable=not sys.stderr.isatty(),
        )  # a bar only on a terminal
    t0 = time.perf_counter()
    ran = 0
    last = [time.monotonic()]

    def on_done(payload):
        nonlocal ran
        t = time.perf_counter()
        store.save_run(payload)
        seconds["saving_runs"] += time.perf_counter() - t
        ran += 1
        if bar is not None:
            bar.update(1)
        if time.monotonic() - last[0] > 10:  # runs.parquet follows the finished runs (their files checked at the end)
            store.consolidate(plan, check_files=False)
            last[0] = time.monotonic()

    complete = False
    try:
        execute_or_stop(
            todo,
            on_done,
            processes,
            scheduler,
            lambda: f"the {len(store.done())} finished runs are saved in {store.folder}",
        )
        complete = True
    finally:
        seconds["runs"] = time.perf_counter() - t0  # saving each finished run included
        if bar is not None:
            bar.close()
        t_finish = time.perf_counter()
        try:
            good = store.verify(list(plan.spec.outcomes))[0]
            store.consolidate(plan, good=good)
            store.finish(plan, time.perf_counter() - t0, ran, complete and len(good) == len(plan.tasks), good)
        except OSError:
            if complete:
                raise
        store.release()
        seconds["finishing"] = time.perf_counter() - t_finish
        if store.replaced is not None:
            print(
                f"olsim: the experiment this one replaces is kept in {store.replaced} until this one is complete",
                file=sys.stderr,
            )
    t_load = time.perf_counter()
    result = ExperimentResult.load(store.folder)
    seconds["loading_results"] = time.perf_counter() - t_load
    analyse(result, plots=plots, seconds=seconds, processes=processes if scheduler is None else 1)
    result.seconds = seconds
    store.record_seconds(seconds)
    return result


def _unguarded_script() -> str:
    """The name of the user's Python script this process runs, if it does ("" for olsim, pytest or an interactive
    session): the local pool's workers import it (Python's forkserver does), and a script whose calls are not
    under a main guard starts the work again in every worker, which then dies."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if not path:
        return ""  # an interactive session or a notebook: nothing to import
    file = Path(path).resolve()
    package = Path(__file__).resolve().parents[1]  # sim/: python -m sim.cli runs sim/cli.py
    ours = file.is_relative_to(package) or file.name in ("__main__.py", "pytest") or file.name.startswith("olsim")
    return file.name if file.suffix == ".py" and not ours else ""


def execute_or_stop(tasks, on_done, processes, scheduler, kept: Callable[[], str], **how) -> None:
    """`execute` (``how``: its ``function``), any failure but an `ExperimentError` (an evaluator, a task, the disk)
    said in one line: what failed, ``kept()`` (what the finished tasks left, and where), and how to resume."""
    try:
        execute(tasks, on_done, processes=processes, scheduler=scheduler, **how)
    except ExperimentError:
        raise
    except Exception as e:  # the finished tasks are kept; say so in one line
        if interrupted(e):  # Ctrl-C while compiled code was returning (a SystemError caused by it)
            raise KeyboardInterrupt from None
        raise ExperimentError(
            f"{failure(e, scheduler)}; {kept()}; run the same command with --resume to finish"
        ) from None


def failure(e: Exception, scheduler) -> str:
    """What went wrong, in words, from an evaluator's or the disk's exception."""
    name = type(e).__name__
    if name == "BrokenProcessPool":
        script = _unguarded_script()
        if script:
            return (
                "a worker process of the local pool died (killed, or out of memory; or your script "
                f"{script} starts the work outside 'if __name__ == \"__main__\":', and the workers, which import "
                "it, start it again: put its calls under that guard, or pass processes=1)"
            )
        return "a worker process of the local pool died (killed, or out of memory)"
    if name in ("CancelledError", "FutureCancelledError", "FuturesCancelledError", "CommClosedError"):
        address = getattr(getattr(scheduler, "scheduler", None), "address", None) or scheduler
        return f"the Dask scheduler {address} cancelled the runs (lost, or restarted)"
    if isinstance(e, OSError):
        return f"cannot write the results ({e.strerror or e})"
    first = str(e).splitlines()[0] if str(e) else ""
    return f"a run failed ({name}: {first})"
