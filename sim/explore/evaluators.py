"""Where tasks run: this process, a local process pool, or a Dask cluster.

Whatever the evaluator, ``on_done`` is called in the coordinating process as
each task finishes (in any order); the store writes from there.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import threading
import time
from typing import Callable

from ..common.errors import ExperimentError, raise_if_stopped, stop_requested
from .tasks import run_task


def cores() -> int:
    """Cores this process may use (the affinity mask, which containers and batch systems set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _pool_worker_init(coordinator: int):
    """A pool worker: Ctrl-C is the coordinator's to handle; and when the coordinator is gone (killed,
    out of memory, a batch system's time limit), the worker ends too instead of waiting for ever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch():
        while True:
            time.sleep(WATCH_SECONDS)
            try:
                os.kill(coordinator, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pragma: no cover - a pid reused by another user's process
                os._exit(1)

    threading.Thread(target=watch, name="olsim-coordinator-watch", daemon=True).start()


WATCH_SECONDS = 1.0  # how often a pool worker checks that its coordinator is alive


PRELOAD = ["sim.explore.preload"]  # imported once by the fork server: the model, and its compiled code loaded


def _forkserver_context():
    import multiprocessing as mp

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def prestart(processes: int | None = None) -> None:
    """Start the local pool's fork server now, if a pool will be used (``processes`` other than 1), so that it
    imports the model and loads the compiled code while this process reads and plans the experiment. Cheap to
    call; the pool later forks its workers from that server."""
    if (processes or cores()) <= 1:
        return
    from multiprocessing import forkserver

    _forkserver_context()
    forkserver.ensure_running()


def execute(
    tasks: list[dict],
    on_done: Callable[[dict], None],
    processes: int | None = None,
    scheduler: str | None = None,
    function: Callable[[dict], dict] | None = None,
) -> None:
    """Run tasks and call ``on_done(payload)`` in the calling process as each finishes (in any order).

    ``scheduler``: a Dask scheduler address (``tcp://host:port``) or a
    ``distributed.Client``; otherwise a local process pool of ``processes``
    workers (default: all cores), or this process alone when ``processes == 1``. ``function``: what runs a task
    (default: an experiment's run, `run_task`; the sanctions fit runs a candidate's replicates side by side, a
    module-level function the pool's workers import); each task has a ``run_id``.
    """
    if not tasks:
        return
    function = function or run_task  # looked up now: a test may stand in for it
    if scheduler is not None:
        _execute_dask(tasks, on_done, scheduler, function)
        return
    processes = processes or cores()
    if processes == 1 or len(tasks) == 1:
        for t in tasks:
            raise_if_stopped()
            on_done(function(t))
        return
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = _forkserver_context()
    pool = ProcessPoolExecutor(
        max_workers=min(processes, len(tasks)), mp_context=ctx, initializer=_pool_worker_init, initargs=(os.getpid(),)
    )
    try:
        # keep a short queue so that an interruption leaves little submitted work behind
        queue = iter(tasks)
        running = set()
        for t in itertools.islice(queue, 2 * processes):
            running.add(pool.submit(function, t))
        dead_since = None
        while running:
            finished, running = wait(running, timeout=WATCH_SECONDS, return_when=FIRST_COMPLETED)
            dead_since = _check_workers(pool, bool(finished), dead_since)
            for fut in finished:
                on_done(fut.result())  # a finished run is saved, stop or not
                if stop_requested():
                    continue  # submit nothing more
                nxt = next(queue, None)
                if nxt is not None:
                    running.add(pool.submit(function, nxt))
            raise_if_stopped()  # a stop whose interrupt was lost (in C code): within WATCH_SECONDS
    finally:
        _shut_down(pool)


def _pool_processes(pool) -> list:
    """A local pool's worker processes (none once the pool has let go of them)."""
    return list((getattr(pool, "_processes", None) or {}).values())


DEAD_WORKER_SECONDS = 10.0  # how long a pool may go on without reporting a worker killed by a signal


def _check_workers(pool, progress: bool, dead_since: float | None) -> float | None:
    """A worker killed while it sent a result leaves half a message in the pool's pipe, and the pool's own thread
    then waits for the rest for ever instead of reporting the pool broken (CPython's ProcessPoolExecutor): so the
    coordinator watches its workers itself. Returns since when a worker has been dead with no run finishing, and
    raises `BrokenProcessPool` once that has lasted `DEAD_WORKER_SECONDS`."""
    import time

    if progress:
        return None
    processes = _pool_processes(pool)
    if not any(p.exitcode is not None and p.exitcode < 0 for p in processes):
        return None
    now = time.monotonic()
    if dead_since is None:
        return now
    if now - dead_since > DEAD_WORKER_SECONDS:
        from concurrent.futures.process import BrokenProcessPool

        for p in processes:  # the survivors wait on the lock the dead one held: end them
            if p.exitcode is None:
                p.kill()
        for p in processes:
            p.join(timeout=5)
        _release_results_pipe(getattr(pool, "_result_queue", None))
        raise BrokenProcessPool("a worker process was killed and the pool did not notice")
    return dead_since


def _release_results_pipe(results) -> None:
    """Once every worker is gone: close this process's end of the pool's results pipe (``results``, its
    ``_result_queue``). A worker ended while it sent a result (killed, or terminated by `_shut_down` in the middle of
    a large one) leaves half a message in the pipe, and the pool's thread would wait for the rest for ever, and the
    interpreter for that thread at exit; with no writer left, it reads the end of the pipe instead and stops."""
    writer = getattr(results, "_writer", None)
    if writer is not None:
        writer.close()


def _shut_down(pool) -> None:
    """Stop a local pool now: cancel what has not started, end its worker processes, wait for them briefly."""
    procs = _pool_processes(pool)
    results = getattr(pool, "_result_queue", None)  # shutdown lets go of it
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
    if all(p.exitcode is not None for p in procs):
        _release_results_pipe(results)


def map_local(function: Callable, jobs: list[tuple], processes: int | None = None) -> list:
    """``[function(*job) for job in jobs]``, in order; on a local pool of up to ``processes`` workers forked from the
    fork server (`prestart`) when that is more than one, else in this process. For the figures of an experiment:
    each is drawn by itself, so on P cores they take about 1/P of the time."""
    processes = min(processes or cores(), len(jobs))
    if processes <= 1:
        return [function(*job) for job in jobs]
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        max_workers=processes, mp_context=_forkserver_context(), initializer=_pool_worker_init, initargs=(os.getpid(),)
    )
    try:
        futures = [pool.submit(function, *job) for job in jobs]
        return [f.result() for f in futures]
    finally:
        _shut_down(pool)


CONNECT_TIMEOUT = "20s"  # how long to try reaching a scheduler before giving up


def connect(address: str):
    """A Dask client for a scheduler address; `ExperimentError` (one line) if it cannot connect."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - a dependency
        raise ExperimentError(
            "--scheduler needs dask distributed, the 'cluster' extra: pip install 'overseas-labor-sim[cluster]'"
        ) from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except Exception as e:  # distributed raises OSError, TimeoutError or ValueError (a malformed address)
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ExperimentError(
            f"--scheduler {address}: cannot connect ({text}); start one with 'dask scheduler'"
        ) from None


NO_WORKERS_WARN_SECONDS = 60.0  # a cluster with no workers for this long, and nothing finished: say so


def _quiet_distributed() -> None:
    """Dask's own log records (a lost scheduler's reconnection tracebacks, some 35 lines) kept out of olsim's
    terminal from the first use of a cluster to the process's end (the client's reconnection loop outlives the
    experiment): olsim says what happened in one line of its own (`runner.failure`). A record of distributed.client
    propagates to the handlers of "distributed" whatever that logger's level, so it is dropped at the handlers
    (and at the root's, should dask's config not attach its own)."""
    import logging

    for h in [*logging.getLogger("distributed").handlers, *logging.getLogger().handlers]:
        if _drop_distributed not in h.filters:
            h.addFilter(_drop_distributed)


def _drop_distributed(record) -> bool:
    return not record.name.startswith("distributed")


def _execute_dask(
    tasks: list[dict], on_done: Callable[[dict], None], scheduler, function: Callable[[dict], dict]
) -> None:
    from distributed import wait

    _quiet_distributed()
    own = not hasattr(scheduler, "submit")
    client = connect(scheduler) if own else scheduler
    address = getattr(getattr(client, "scheduler", None), "address", None) or scheduler
    try:
        # pure=False: every stochastic task is its own key, never merged with another
        futures = [
            client.submit(function, t, pure=False, retries=2, key=f"olsim-{t['run_id']}-{os.urandom(4).hex()}")
            for t in tasks
        ]
        pending, quiet_since, warned = set(futures), time.monotonic(), False
        try:
            while pending:
                try:
                    finished, pending = wait(
                        pending, timeout=min(5.0, NO_WORKERS_WARN_SECONDS), return_when="FIRST_COMPLETED"
                    )
                except TimeoutError:
                    finished = set()
                for fut in sorted(finished, key=lambda f: f.key):
                    on_done(fut.result())
                raise_if_stopped()  # after saving what finished
                if finished:
                    quiet_since, warned = time.monotonic(), False
                elif (
                    not warned
                    and time.monotonic() - quiet_since >= NO_WORKERS_WARN_SECONDS
                    and not client.scheduler_info().get("workers")
                ):
                    print(
                        f"olsim: warning: the Dask scheduler {address} has had no workers for "
                        f"{time.monotonic() - quiet_since:.0f} s; waiting for some (start them with "
                        f"'dask worker {address}'), or Ctrl-C to stop (finished runs are kept)",
                        file=sys.stderr,
                        flush=True,
                    )
                    warned = True
        finally:
            client.cancel([f for f in futures if not f.done()])
    finally:
        if own:
            client.close()
