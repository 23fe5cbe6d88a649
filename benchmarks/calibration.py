"""Benchmark the sanctions calibration's candidates: what one batch of the ABC-SMC costs.

Run by hand, not by pytest:

    python benchmarks/calibration.py              # 200 candidates (a batch), 2 processes, 3 repeats (~3 minutes)
    python benchmarks/calibration.py --quick      # 40 candidates, 1 repeat
    python benchmarks/calibration.py --processes 1

Draws candidates from the priors of params/targets_sanctions.toml and times a batch of them exactly as the fit
runs one (`Simulator`: each candidate one task, its ``smc.replicates`` seeds side by side at ``smc.scale``, judged
at the last fit month and run on through 2025-12 where its later mechanisms matter), at generation 0's tolerance
(none: every candidate inside the early mechanisms is run on, as in the fit's first generation) and at a finite
tolerance (the later generations: few run on). Prints the median seconds of the repeats, milliseconds per
candidate, how many were run on, and the fit's projected time on these processes from the shipped fit's count of
candidates (the report's convergence table; ``--shipped-candidates``).

To compare with another version of the code (the same candidates: the distances must agree to the bit), run it
from a directory without sim/ with ``PYTHONPATH`` set to that version's checkout and ``--save FILE``, then
``--against FILE``.
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
    ap.add_argument("--quick", action="store_true", help="40 candidates, 1 repeat")
    ap.add_argument("--candidates", type=int, default=None, help="candidates a batch (default 200, the fit's)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=2.0, help="the later generations' tolerance (default 2.0)")
    ap.add_argument("--shipped-candidates", type=int, default=29000, help="candidates of the shipped fit (report)")
    ap.add_argument("--save", help="save the distances (.npy) to compare with another version of the code")
    ap.add_argument("--against", help="distances saved by --save: must be equal to the bit")
    a = ap.parse_args()
    n = a.candidates or (40 if a.quick else 200)
    repeats = a.repeats or (1 if a.quick else 3)

    import sim
    from sim.calibration.sanctions.fit import Simulator, priors
    from sim.calibration.sanctions.targets import load_sanctions_targets

    targets = load_sanctions_targets(ROOT / "params" / "targets_sanctions.toml")
    prior = priors(targets)
    names = list(prior)
    rng = np.random.default_rng(5)
    theta = np.array([[prior[k].frozen().ppf(rng.uniform()) for k in names] for _ in range(n)])
    s = targets.spec.smc
    rows, distances = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for label, tolerance in (("generation 0 (no tolerance)", np.inf), (f"tolerance {a.tolerance:g}", a.tolerance)):
            times = []
            for k in range(repeats):
                folder = Path(tmp) / f"{label[:5]}{k}"
                simulator = Simulator(targets, folder, names, prior, processes=a.processes)
                simulator.at_tolerance(1, tolerance)
                t0 = time.perf_counter()
                d = simulator(theta, 1, k)
                times.append(time.perf_counter() - t0)
                on = _run_on(folder)
                shutil.rmtree(folder, ignore_errors=True)
            distances.append(d)
            med = statistics.median(times)
            rows.append((label, med, 1000 * med / n, on))
    print(f"code: {Path(sim.__file__).parent.parent}")
    print(f"{n} candidates x {s.replicates} seeds at {s.scale:g} scale, {a.processes} processes, median of {repeats}")
    print(f"{'batch':<30}{'seconds':>9}{'ms a candidate':>16}{'run on':>8}")
    for label, med, ms, on in rows:
        print(f"{label:<30}{med:>9.2f}{ms:>16.0f}{on:>8}")
    per = statistics.mean(r[2] for r in rows) / 1000
    print(
        f"projected fit ({a.shipped_candidates:,} candidates, the two kinds of batch alike): "
        f"{a.shipped_candidates * per / 60:.0f} min on {a.processes} processes, runs only"
    )
    both = np.stack(distances)
    if a.save:
        np.save(a.save, both)
    if a.against:
        same = np.array_equal(np.load(a.against), both, equal_nan=True)
        print(f"same distances as {a.against}, to the bit: {same}")


def _run_on(folder: Path) -> int:
    """How many candidates of the batch had their later mechanisms measured."""
    import pandas as pd

    frame = pd.read_parquet(next(folder.glob("batches/*/misses.parquet")))
    later = [c for c in frame.columns if c.endswith("_later")]
    return int(frame[later].notna().any(axis=1).sum()) if later else 0


if __name__ == "__main__":
    main()
