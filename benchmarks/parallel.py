"""Benchmark the experiment executors: parallel efficiency of a local process pool.

Run by hand, not by pytest:

    python benchmarks/parallel.py                   # 3 repeats of 8 runs at 10,000 and at 98,000 workers
    python benchmarks/parallel.py --quick           # 1 repeat of 4 runs at 10,000 workers
    python benchmarks/parallel.py --scheduler tcp://HOST:8786   # the same tasks on a Dask cluster

For each population, the same tasks (the baseline, 120 months, seeds 0..n-1)
are run in this process alone (processes=1) and on a local pool of P
processes (sim.explore.evaluators.execute, results returned, nothing written to
disk). Prints the median wall time of each, the speed-up and the parallel
efficiency = T1 / (P x TP), and the median seconds per run in each mode
(a run slows down when P of them share the machine's memory and caches).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def tasks(workers: int, runs: int, months: int) -> list[dict]:
    from sim.explore.plan import plan_experiment

    plan = plan_experiment({"name": "bench", "replicates": runs, "months": months, "scale": workers / 98_000,
                            "outcomes": ["revenue_delivered_per_year", "net_gain_p50"]})
    return plan.tasks


def timed(task_list, processes=None, scheduler=None) -> tuple[float, list[float]]:
    from sim.explore.evaluators import execute

    seconds = []
    t0 = time.perf_counter()
    execute(task_list, lambda payload: seconds.append(payload["seconds"]), processes=processes, scheduler=scheduler)
    return time.perf_counter() - t0, seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--processes", type=int, default=os.cpu_count())
    ap.add_argument("--scheduler", default=None)
    args = ap.parse_args(argv)
    sizes = [10_000] if args.quick else [10_000, 98_000]
    repeats, runs = (1, 4) if args.quick else (3, 8)
    p = args.processes
    print(f"# parallel efficiency, {os.cpu_count()} cores, {runs} runs of 120 months per measurement, "
          f"median of {repeats} repeats; pool = {'Dask ' + args.scheduler if args.scheduler else f'{p} local processes'}")
    print(f"| workers | serial s | pool s | speed-up | efficiency | s/run serial | s/run in pool |")
    print(f"|---:|---:|---:|---:|---:|---:|---:|")
    timed(tasks(1_000, 2, 12), processes=p, scheduler=args.scheduler)  # warm the pool's imports and the disk cache
    for workers in sizes:
        t = tasks(workers, runs, 120)
        serial, pool, per_serial, per_pool = [], [], [], []
        for _ in range(repeats):
            wall, secs = timed(t, processes=1)
            serial.append(wall)
            per_serial += secs
            wall, secs = timed(t, processes=p, scheduler=args.scheduler)
            pool.append(wall)
            per_pool += secs
        t1, tp = statistics.median(serial), statistics.median(pool)
        width = p if args.scheduler is None else p
        print(f"| {workers:,} | {t1:.1f} | {tp:.1f} | {t1 / tp:.2f} | {t1 / (width * tp):.2f} | "
              f"{statistics.median(per_serial):.2f} | {statistics.median(per_pool):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
