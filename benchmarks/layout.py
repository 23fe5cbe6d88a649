"""What bounds the array engine: one pass over many separate columns against one row-major array.

    python benchmarks/layout.py

Times a loop doing trivial arithmetic while reading 13 and writing 12 of 25 float columns (as phases 5-7
read and write about 25 per-worker columns), over separate 1-D arrays (the array engine's layout) and over
one row-major 2-D array, at several row counts; prints the median of 50 passes per cell. When the separate
columns take as long as the engine's phases 5-7 (`olsim run --profile`), the engine is bound by memory
streams, not by its arithmetic.
"""

from __future__ import annotations

import statistics
import time

import numba
import numpy as np


@numba.njit(cache=True)
def columns_pass(
    a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24
):
    for i in range(len(a0)):
        s = a0[i] + a1[i] * a2[i] + a3[i] - a4[i] + a5[i] * a6[i] + a7[i] + a8[i] + a9[i] + a10[i] + a11[i] + a12[i]
        a13[i] += s
        a14[i] = a13[i] * 0.5
        a15[i] += a1[i]
        a16[i] = s - a2[i]
        a17[i] += 1.0
        a18[i] = a3[i]
        a19[i] -= a4[i]
        a20[i] = s
        a21[i] += s * 0.1
        a22[i] = a0[i]
        a23[i] += a5[i]
        a24[i] = 0.0


@numba.njit(cache=True)
def rows_pass(r):
    for i in range(r.shape[0]):
        a = r[i]
        s = a[0] + a[1] * a[2] + a[3] - a[4] + a[5] * a[6] + a[7] + a[8] + a[9] + a[10] + a[11] + a[12]
        a[13] += s
        a[14] = a[13] * 0.5
        a[15] += a[1]
        a[16] = s - a[2]
        a[17] += 1.0
        a[18] = a[3]
        a[19] -= a[4]
        a[20] = s
        a[21] += s * 0.1
        a[22] = a[0]
        a[23] += a[5]
        a[24] = 0.0


def median_ms(function, *args, passes: int = 50) -> float:
    function(*args)
    times = []
    for _ in range(passes):
        t = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main():
    rng = np.random.default_rng(0)
    print("| rows | 25 separate columns, ms | one row-major array, ms | ns per row, columns | ns per row, rows |")
    print("|---:|---:|---:|---:|---:|")
    for n in (10_000, 100_000, 1_000_000):
        columns = [rng.random(n) for _ in range(25)]
        rows = rng.random((n, 25))
        c, r = median_ms(columns_pass, *columns), median_ms(rows_pass, rows)
        print(f"| {n:,} | {c:.2f} | {r:.2f} | {c * 1e6 / n:.1f} | {r * 1e6 / n:.1f} |")


if __name__ == "__main__":
    main()
