"""Benchmark the engines: model time, time per worker-month against the memory bus, peak memory, phases.

Run by hand, not by pytest:

    python benchmarks/engines.py            # the full table (about 10 minutes here)
    python benchmarks/engines.py --quick    # 1 run each, small sizes (about a minute)

Each run is a fresh process (so its peak memory is its own), running the
baseline scaled to the given population for 120 months with seed 0. Prints
one table per engine and population: median seconds of the runs (the
model's run time, `sim.run`, without Python's start-up and imports), nanoseconds per
worker-month, the array engine's passes over the workers per month, and the cost of one pass over the workers'
state measured in the same process on the run's own columns (a compiled loop that reads every declared column and
writes the month's flows: what the memory bus allows), with the ratio of a worker-month to that many passes; peak
resident memory; the month's two passes alone over every row and over a slice of the table that fits in the
caches (about the same cost both ways means bound by arithmetic, not by the bus); the array/mesa ratio at 10,000 workers; a month's cost at 2,000 workers against one at the
default 98,000; `olsim run` end to end (warm); and the array engine's time per phase at the default population.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's sim/, installed or not


def scaled_overrides(workers: int, months: int) -> dict:
    from sim import Params

    base = Params().hosts
    total = sum(h.workers for h in base.values())
    ov = {f"hosts.{name}.workers": max(1, round(h.workers * workers / total)) for name, h in base.items()}
    ov["calendar.months"] = months
    return ov


def one_run(engine: str, workers: int, months: int, seed: int) -> dict:
    """In the child process: one run, reported as JSON on stdout."""
    sys.path.insert(0, str(ROOT))
    import sim.engines.array.model  # noqa: F401  (imports are start-up, not model time)
    import sim.engines.mesa.model  # noqa: F401
    from sim import load_params, run

    params = load_params(overrides=scaled_overrides(workers, months))
    # the compiled rulebook and loops are loaded from numba's cache (or compiled, on a cold cache) at first
    # use: a one-off cost of the process, like the imports, timed apart from the model
    t0 = time.perf_counter()
    run(load_params(overrides=scaled_overrides(60, 3)), engine=engine, seed=seed)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = run(params, engine=engine, seed=seed)
    wall = time.perf_counter() - t0
    worker_months = int(result.monthly["workers_working"].sum())
    phases = dict(getattr(result.model, "phase_seconds", {}) or {})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pass_ns = one_pass_ns(result.model) if engine == "array" else None
    passes = passes_ns(result.model) if engine == "array" else None
    return {
        "engine": engine,
        "workers": sum(h.workers for h in params.hosts.values()),
        "months": months,
        "wall": wall,
        "load": load,
        "worker_months": worker_months,
        "peak_mib": peak,
        "phases": phases,
        "pass_ns": pass_ns,
        "passes": passes,
    }


def one_pass_ns(model) -> float:
    """Nanoseconds per row of one pass over the workers' state, on the model's own columns: a compiled loop that
    reads every declared column (sim/core/workers.py) and writes the month's flows, as the engine's passes do."""
    import numba
    import numpy as np

    from sim.core import workers

    w = model.w
    reads = [f.name for f in workers.STORED if not f.month]
    writes = [f.name for f in workers.STORED if f.month and f.dtype == "f8"]
    # written out column by column (generated), as the engine's loops name each column
    source = (
        "def one_pass(W):\n    total = 0.0\n    for i in range(len(W.status)):\n"
        "        if W.status[i] != 0:\n            continue\n"
        f"        x = {' + '.join(f'W.{name}[i]' for name in reads)}\n"
        + "".join(f"        W.{name}[i] = x\n" for name in writes)
        + "        total += x\n    return total\n"
    )
    namespace = {}
    exec(source, namespace)
    one_pass = numba.njit(namespace["one_pass"])
    saved = {name: getattr(w, name).copy() for name in writes}
    one_pass(w)
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        one_pass(w)
        times.append(time.perf_counter() - t0)
    for name, values in saved.items():
        getattr(w, name)[:] = values
    return 1e9 * statistics.median(times) / max(int(np.count_nonzero(w.status == 0)), 1)


CACHE_ROWS = 16_000  # the workers' last rows that fit in this machine's caches (about 250 bytes a row: 4 MB)


def passes_ns(model) -> dict[str, float]:
    """Nanoseconds per posted worker of the month's two passes (`work_and_pay`, `watch_die_return`), run again on
    copies of the model's last state: over every row, and over its last ``CACHE_ROWS`` rows (a table that fits in the
    caches; all posted, the newest). About the same cost both ways means the passes are bound by their arithmetic
    and branches, not by the memory bus; a much lower cost in cache, by the bus."""
    import numpy as np

    from sim.engines.array import kernels
    from sim.engines.array.state import totals_bundle

    m = model
    w = m.w

    def timed(rows: slice) -> float:
        times = []
        for _ in range(7):
            W = type(w)(*[column[rows].copy() for column in w])
            T = totals_bundle(m.n_hosts, m.minders.n, m.next_team, m.rows, m._full_remap())
            t0 = time.perf_counter()
            n_sent = kernels.work_and_pay(W, m.minders.bundle, m.camps.bundle, m.hosts_now, m.month_keys, m.settings, T)
            kernels.watch_die_return(W, m.minders.bundle, m.hosts_now, m.month_keys, m.settings, T, n_sent)
            times.append(time.perf_counter() - t0)
        posted = int(np.count_nonzero(w.status[rows] == 0))
        return 1e9 * statistics.median(times[1:]) / max(posted, 1)

    out = {"all": timed(slice(None))}
    if len(w.status) > 2 * CACHE_ROWS:
        out["in_cache"] = timed(slice(len(w.status) - CACHE_ROWS, None))
    return out


def olsim_run_seconds(runs: int) -> list[float]:
    """`olsim run` end to end, the default run, warm (the compiled code cached by a first run)."""
    import tempfile

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 1):
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "sim.cli", "run", "-q", "--out", f"{tmp}/r", "--force"],
                check=True,
                cwd=ROOT,
                capture_output=True,
            )
            if i:  # the first run warms the cache
                out.append(time.perf_counter() - t0)
    return out


def measure(engine: str, workers: int, months: int, runs: int, env: dict | None = None) -> list[dict]:
    out = []
    for i in range(runs):
        proc = subprocess.run(
            [sys.executable, __file__, "--one", engine, str(workers), str(months), "0"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
        )
        if proc.returncode != 0:
            raise SystemExit(f"run failed: {engine} {workers}\n{proc.stderr}")
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(
            f"  {engine:5} {workers:>9,} workers  run {i + 1}/{runs}: {out[-1]['wall']:.2f} s",
            file=sys.stderr,
            flush=True,
        )
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one run each at 1k and 10k workers")
    ap.add_argument("--runs", type=int, default=3, help="runs per engine and size (default 3)")
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--one", nargs=4, metavar=("ENGINE", "WORKERS", "MONTHS", "SEED"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        engine, workers, months, seed = args.one
        print(json.dumps(one_run(engine, int(workers), int(months), int(seed))))
        return 0
    runs = 1 if args.quick else args.runs
    plan = [("array", 2_000), ("array", 10_000), ("mesa", 2_000), ("mesa", 10_000)]
    if not args.quick:
        plan += [("array", 98_000), ("array", 1_000_000)]
    results = {}
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as empty:  # a cold cache: numba compiles everything once
        cold = measure("array", 1_000, 3, 1, env={**os.environ, "NUMBA_CACHE_DIR": empty})[0]
    for engine, workers in plan:
        results[(engine, workers)] = measure(engine, workers, args.months, runs)
    end_to_end = olsim_run_seconds(runs)

    import numpy as np

    from sim.engines.array.kernels import PASSES_PER_MONTH

    print(
        f"\nmachine: {platform.machine()}, {platform.processor() or 'cpu'}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}, numpy {np.__version__}; {args.months} months, seed 0, "
        f"median of {runs} run(s)\n"
    )
    print(
        f"cold cache: compiling the rulebook and the array engine's loops took {cold['load']:.1f} s (once per install)\n"
    )
    print(
        "| engine | workers | median model s | min-max s | ns per worker-month | ms per month | passes per month "
        "| one pass, ns per worker | worker-month / passes | peak memory MiB | loading compiled code s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    per_wm, per_month = {}, {}
    for (engine, workers), rs in sorted(results.items(), key=lambda kv: (kv[0][0] != "array", kv[0][1])):
        walls = [r["wall"] for r in rs]
        med = statistics.median(walls)
        ns = 1e9 * med / rs[0]["worker_months"]
        per_wm[(engine, workers)] = ns
        per_month[(engine, workers)] = 1e3 * med / rs[0]["months"]
        peak = max(r["peak_mib"] for r in rs)
        load = statistics.median(r["load"] for r in rs)
        if engine == "array":
            pass_ns = statistics.median(r["pass_ns"] for r in rs)
            bus = f"{PASSES_PER_MONTH} | {pass_ns:.1f} | {ns / (PASSES_PER_MONTH * pass_ns):.1f}x"
        else:
            bus = "- | - | -"
        print(
            f"| {engine} | {rs[0]['workers']:,} | {med:.2f} | {min(walls):.2f}-{max(walls):.2f} | {ns:,.0f} "
            f"| {per_month[(engine, workers)]:.2f} | {bus} | {peak:,.0f} | {load:.2f} |"
        )
    print(
        f"\nthe month's two passes alone, ns per posted worker (run again on copies of the last month's state; "
        f"'in cache': its last {CACHE_ROWS:,} rows, about 4 MB), against two bare passes:\n"
    )
    print("| workers | two passes, every row | two passes, in cache | two bare passes |")
    print("|---:|---:|---:|---:|")
    for (engine, workers), rs in sorted(results.items()):
        if engine != "array":
            continue
        every = statistics.median(r["passes"]["all"] for r in rs)
        cached = [r["passes"]["in_cache"] for r in rs if "in_cache" in r["passes"]]
        bare = PASSES_PER_MONTH * statistics.median(r["pass_ns"] for r in rs)
        in_cache = f"{statistics.median(cached):.1f}" if cached else "-"
        print(f"| {rs[0]['workers']:,} | {every:.1f} | {in_cache} | {bare:.1f} |")
    if ("mesa", 10_000) in per_wm and ("array", 10_000) in per_wm:
        print(
            f"\narray engine speed-up over mesa at 10,000 workers (per worker-month): "
            f"{per_wm[('mesa', 10_000)] / per_wm[('array', 10_000)]:.0f}x"
        )
    if ("array", 98_000) in per_month:
        print(
            f"a month at 2,000 workers costs {100 * per_month[('array', 2_000)] / per_month[('array', 98_000)]:.1f}% "
            f"of a month at 98,000 (array engine)"
        )
    print(
        f"olsim run, end to end (warm): median {statistics.median(end_to_end):.2f} s "
        f"({min(end_to_end):.2f}-{max(end_to_end):.2f} s, {len(end_to_end)} runs)"
    )
    largest = max(w for (e, w) in results if e == "array" and w <= 98_000)
    rs = results[("array", largest)]
    median_run = sorted(rs, key=lambda r: r["wall"])[len(rs) // 2]
    phases = median_run["phases"]
    total = sum(phases.values())
    print(f"\narray engine, {median_run['workers']:,} workers, time per phase (median run):\n")
    print("| phase | seconds | share | ms per month |")
    print("|---|---:|---:|---:|")
    for name in phases:  # in the order of the month
        print(
            f"| {name} | {phases[name]:.3f} | {100 * phases[name] / total:.1f}% | {1000 * phases[name] / args.months:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
