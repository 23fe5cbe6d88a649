"""Benchmark the experiment executors and where an experiment's time goes.

Run by hand, not by pytest:

    python benchmarks/parallel.py                   # both parts below, 3 repeats each
    python benchmarks/parallel.py --quick           # 1 repeat, and the executors at 9,800 workers only
    python benchmarks/parallel.py --part experiments --repeats 5   # only the end-to-end experiments
    python benchmarks/parallel.py --scheduler tcp://HOST:8786   # the executors' tasks on a Dask cluster

1. The machine: the same pure-Python loop run once, then in P processes at once. Its throughput ratio is the
   most any P-process pool can gain here (cloud "cores" that share one physical core give about 1x, not P x).

2. Experiments end to end: ``olsim experiment FILE --processes P`` in a fresh process (as a user runs it), for
   experiments/quick.toml (15 runs at 2% scale with a 36-month warm-up) and a full-scale experiment of 8 runs
   (the baseline, 120 months, seeds 0..7), with 1 process and with P. The time is split by what the coordinator
   records in the experiment's manifest (``sessions[-1].seconds``): start-up (Python, imports, reading and
   planning the experiment, starting the pool's fork server), preparing the folder, the runs (the pool's start,
   every run, saving each finished run as it comes), finishing (runs.parquet, the manifest), loading the results,
   the analysis tables, the figures, and the rest (the printed report, exiting). Medians of the repeats, and the
   speed-up of P processes over 1, end to end and for the runs alone.

3. The executors alone (`sim.explore.evaluators.execute`, results returned, nothing written, the pool already
   warm): the baseline at 9,800 and 98,000 workers, 120 months, 8 runs, in this process alone (processes=1) and
   on a local pool of P processes; the speed-up, the parallel efficiency T1 / (P x TP), and the median seconds
   per run in each mode (a run slows down when P of them share the machine's memory and caches).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FULL_SCALE = """# benchmarks/parallel.py: the baseline at full scale, 8 runs
name = "bench_full_scale"
engine = "array"
seed = 0
replicates = 8
months = 120
scale = 1.0
outcomes = ["revenue_delivered_per_year", "net_gain_p50", "worker_share_kept"]
"""
STAGES = [
    ("start_up", "start-up"),
    ("prepare", "prepare"),
    ("runs", "runs"),
    ("saving_runs", "of which saving"),
    ("finishing", "finishing"),
    ("loading_results", "loading"),
    ("analysis", "analysis"),
    ("figures", "figures"),
    ("rest", "report, exit"),
]


# ---------------------------------------------------------------- 1. the machine's own ceiling
def _spin(n: int) -> float:
    t0 = time.perf_counter()
    s = 0
    for i in range(n):
        s += i * i
    return time.perf_counter() - t0


def machine_ceiling(processes: int, n: int = 4_000_000) -> tuple[float, float, float]:
    """(seconds of the loop alone, seconds of P loops at once, throughput ratio P x alone / together)."""
    import multiprocessing as mp

    alone = statistics.median(_spin(n) for _ in range(3))
    with mp.get_context("fork").Pool(processes) as pool:
        pool.map(_spin, [1000] * processes)
        t0 = time.perf_counter()
        pool.map(_spin, [n] * processes, chunksize=1)
        together = time.perf_counter() - t0
    return alone, together, processes * alone / together


# ---------------------------------------------------------------- 2. experiments end to end
def experiment_once(file: Path, processes: int, out: Path) -> dict:
    """One ``olsim experiment`` in a fresh process: its wall time and the coordinator's split of it."""
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "experiment",
            str(file),
            "--out",
            str(out),
            "--force",
            "-q",
            "--processes",
            str(processes),
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    seconds = json.loads((out / "manifest.json").read_text())["sessions"][-1].get("seconds", {})
    counted = sum(v for k, v in seconds.items() if k != "saving_runs")  # saving is inside the runs' time
    return {"total": wall, **seconds, "rest": wall - counted}


def experiments(processes: int, repeats: int, tmp: Path) -> None:
    full = tmp / "full_scale.toml"
    full.write_text(FULL_SCALE)
    cases = [("quick.toml (15 runs, 2%)", ROOT / "experiments" / "quick.toml"), ("full scale (8 runs)", full)]
    head = " | ".join(f"{label} s" for _, label in STAGES)
    print(f"\n## experiments end to end: olsim experiment in a fresh process, median of {repeats}")
    print(f"| experiment | processes | total s | {head} |")
    print("|---|---:|---:|" + "---:|" * len(STAGES))
    for name, file in cases:
        medians = {}
        for p in (1, processes):
            # interleave the repeats of 1 and P processes, so a busier moment of the machine hits both alike
            medians[p] = []
        for _ in range(repeats):
            for p in medians:
                medians[p].append(experiment_once(file, p, tmp / f"out-{p}"))
        rows = {}
        for p, runs in medians.items():
            rows[p] = {k: statistics.median(r.get(k, float("nan")) for r in runs) for k in ["total", *dict(STAGES)]}
            cells = " | ".join(f"{rows[p][k]:.2f}" for k, _ in STAGES)
            print(f"| {name} | {p} | {rows[p]['total']:.2f} | {cells} |", flush=True)
        one, many = rows[1], rows[processes]
        print(
            f"|  | speed-up {processes}/1 | {one['total'] / many['total']:.2f}x | "
            + " | ".join(f"{one[k] / many[k]:.2f}x" if k == "runs" else "" for k, _ in STAGES)
            + " |",
            flush=True,
        )


# ---------------------------------------------------------------- 3. the executors alone
FULL_WORKERS = 98_000  # the baseline's workforce; a scale must give every host whole workers (plan.check_scale)


def tasks(workers: int, runs: int, months: int) -> list[dict]:
    from sim.explore.plan import plan_experiment

    plan = plan_experiment(
        {
            "name": "bench",
            "replicates": runs,
            "months": months,
            "scale": workers / FULL_WORKERS,  # 1,000 / 9,800 / 98,000: scales that represent every host
            "outcomes": ["revenue_delivered_per_year", "net_gain_p50"],
        }
    )
    return plan.tasks


def timed(task_list, processes=None, scheduler=None) -> tuple[float, list[float]]:
    from sim.explore.evaluators import execute

    seconds = []
    t0 = time.perf_counter()
    execute(task_list, lambda payload: seconds.append(payload["seconds"]), processes=processes, scheduler=scheduler)
    return time.perf_counter() - t0, seconds


def executors(p: int, repeats: int, runs: int, sizes: list[int], scheduler: str | None) -> None:
    print(
        f"\n## the executors alone: {runs} runs of 120 months per measurement, median of {repeats}; "
        f"pool = {'Dask ' + scheduler if scheduler else f'{p} local processes'}"
    )
    print("| workers | serial s | pool s | speed-up | efficiency | s/run serial | s/run in pool |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    timed(tasks(980, 2, 12), processes=p, scheduler=scheduler)  # warm the pool's imports and the disk cache
    for workers in sizes:
        t = tasks(workers, runs, 120)
        serial, pool, per_serial, per_pool = [], [], [], []
        for _ in range(repeats):
            wall, secs = timed(t, processes=1)
            serial.append(wall)
            per_serial += secs
            wall, secs = timed(t, processes=p, scheduler=scheduler)
            pool.append(wall)
            per_pool += secs
        t1, tp = statistics.median(serial), statistics.median(pool)
        print(
            f"| {workers:,} | {t1:.1f} | {tp:.1f} | {t1 / tp:.2f} | {t1 / (p * tp):.2f} | "
            f"{statistics.median(per_serial):.2f} | {statistics.median(per_pool):.2f} |",
            flush=True,
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 repeat; the executors at 9,800 workers only")
    ap.add_argument("--processes", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=None, help="repeats of each measurement (default 3, --quick 1)")
    ap.add_argument("--part", choices=("all", "experiments", "executors"), default="all")
    ap.add_argument("--scheduler", default=None, help="the executors' part on a Dask cluster")
    args = ap.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    p = args.processes
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# {os.cpu_count()} cores, pool of {p}; load average {load:.2f} at the start "
        f"({'busy: the figures below are not of an idle machine' if load > 0.5 else 'idle'})"
    )
    alone, together, ratio = machine_ceiling(p)
    print(
        f"machine: a pure-Python loop takes {alone:.2f} s alone and {together:.2f} s as {p} at once: "
        f"{p} processes do {ratio:.2f}x the work of one (the most any {p}-process pool can gain here)"
    )
    with tempfile.TemporaryDirectory(prefix="olsim-bench-") as tmp:
        if args.part in ("all", "experiments"):
            experiments(p, repeats, Path(tmp))
    if args.part in ("all", "executors"):
        executors(p, repeats, 4 if args.quick else 8, [9_800] if args.quick else [9_800, FULL_WORKERS], args.scheduler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
