"""Benchmark the sanctions calibration's candidates: what one batch of the ABC-SMC costs.

Run by hand, not by pytest:

    python benchmarks/calibration.py            # 20 candidates x the file's replicates, 3 repeats (~2 minutes)
    python benchmarks/calibration.py --quick    # 6 candidates, 1 repeat

Draws candidates from the priors of params/targets_sanctions.toml and times a batch of them exactly as the fit
runs one (`Simulator`: an experiment on one local process at ``smc.scale``, per-host tables, the misses
computed), once with each run stopping at the last month a fit fact reads (what the fit does) and once running
the scenario's whole calendar (what it did before). Prints the median seconds of the repeats, milliseconds per
run, the ratio, whether both gave the same distances (they must, to the last bit), and the fit's projected time
on P processes from the shipped fit's count of candidates (the report's convergence table).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="6 candidates, 1 repeat")
    ap.add_argument("--candidates", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--shipped-candidates", type=int, default=6000, help="candidates of the shipped fit (report)")
    ap.add_argument("--processes", type=int, default=2, help="for the projection only: the fit's processes")
    a = ap.parse_args()
    n = a.candidates or (6 if a.quick else 20)
    repeats = a.repeats or (1 if a.quick else 3)

    from sim.calibration.sanctions.fit import Simulator, fit_months, priors
    from sim.calibration.sanctions.targets import load_sanctions_targets

    targets = load_sanctions_targets(ROOT / "params" / "targets_sanctions.toml")
    prior = priors(targets)
    names = list(prior)
    rng = np.random.default_rng(5)
    theta = np.array([[prior[k].frozen().ppf(rng.uniform()) for k in names] for _ in range(n)])
    s = targets.spec.smc
    runs = n * s.replicates
    whole = int(targets.resolved_scenario["calendar"]["months"])
    rows = []
    distances = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, months in (("to the last fit month", fit_months(targets)), ("the whole calendar", whole)):
            folder = Path(tmp) / label.replace(" ", "_")
            sim = Simulator(targets, folder, names, prior, processes=1)
            sim.months = months
            sim(theta[:1], 0, 99)  # the compiled engine loaded, the pool's start paid
            times = []
            for k in range(repeats):
                t0 = time.perf_counter()
                distances[label] = sim(theta, 0, k)
                times.append(time.perf_counter() - t0)
            shutil.rmtree(folder, ignore_errors=True)
            med = statistics.median(times)
            rows.append((label, months, med, 1000 * med / runs))
    print(f"{n} candidates x {s.replicates} seeds at {s.scale:g} scale, one process, median of {repeats}")
    print(f"{'runs':<24}{'months':>8}{'batch s':>10}{'ms a run':>10}")
    for label, months, med, ms in rows:
        print(f"{label:<24}{months:>8}{med:>10.2f}{ms:>10.0f}")
    print(f"ratio: {rows[1][2] / rows[0][2]:.2f}x faster to the last fit month")
    same = np.array_equal(distances["to the last fit month"], distances["the whole calendar"], equal_nan=True)
    print(f"same distances to the last bit: {same}")
    fit_s = a.shipped_candidates * s.replicates * rows[0][3] / 1000 / a.processes
    print(
        f"projected fit ({a.shipped_candidates:,} candidates on {a.processes} processes, runs only): "
        f"{fit_s / 60:.0f} min (was {a.shipped_candidates * s.replicates * rows[1][3] / 1000 / a.processes / 60:.0f})"
    )


if __name__ == "__main__":
    main()
