"""Figures of runs: one run, or several scenarios side by side.

    python -m sim.plots RUN_FOLDER [RUN_FOLDER ...] -o overview.png

draws, for each run, the workforce, the state's revenue, what workers keep
(median and 10th-90th percentile band) and escapes, catches and send-homes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ..common.errors import OlsimError
from ..results.result import Result
from .style import plt, save


def _dates(monthly: pd.DataFrame):
    return pd.to_datetime(monthly["date"], format="%Y-%m")


def overview(results: dict[str, Result], path: str | Path, title: str | None = None) -> Path:
    """Four panels comparing runs (label -> Result); returns the file written."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    (ax_w, ax_r), (ax_k, ax_e) = axes
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, r) in enumerate(results.items()):
        m, c = r.monthly, colours[i % len(colours)]
        t = _dates(m)
        ax_w.plot(t, m["workers_active"] / 1000, color=c, label=label)
        ax_r.plot(t, m["revenue_delivered"] / 1e6, color=c, label=f"{label}: delivered")
        ax_r.plot(t, m["state_take"] / 1e6, color=c, ls=":", lw=1)
        ax_k.fill_between(t, m["retained_p10"], m["retained_p90"], color=c, alpha=0.15, lw=0)
        ax_k.plot(t, m["retained_median"], color=c, label=label)
        ax_e.plot(t, m["escaped"].rolling(6, min_periods=1).mean(), color=c, label=f"{label}: escaped")
        ax_e.plot(t, m["caught"].rolling(6, min_periods=1).mean(), color=c, ls="--", lw=1, label=f"{label}: caught")
    ax_w.set_title("workers abroad (thousands)")
    ax_r.set_title("revenue delivered home, $M/month (dotted: state take)")
    ax_k.set_title("what a worker keeps in a month, $ (median, p10-p90)")
    ax_e.set_title("escapes (solid) and catches (dashed), per month, 6-month mean")
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    ax_w.legend(fontsize=8)
    ax_e.legend(fontsize=7, ncol=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path, tight=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.plots", description="Plot one or more run folders side by side.")
    ap.add_argument("runs", nargs="+", help="run folders (as written by olsim run)")
    ap.add_argument("-o", "--output", default="overview.png", help="PNG file to write")
    ap.add_argument("--title", default=None)
    args = ap.parse_args(argv)
    results = {}
    for folder in args.runs:
        try:
            r = Result.load(folder)
        except OlsimError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        label = Path(r.manifest.get("params_file") or folder).stem
        results[label] = r
    print(overview(results, args.output, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
