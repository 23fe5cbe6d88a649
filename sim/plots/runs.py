"""Figures of runs: one run, or several scenarios side by side.

    python -m sim.plots RUN_FOLDER [RUN_FOLDER ...] -o overview.png

draws, for each run, the workforce, the state's revenue, what workers keep
(median and 10th-90th percentile band) and the catches of escapers, as simulated (say the scale in --title).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ..common.errors import OlsimError
from ..results.columns import COL
from ..results.result import Result
from .style import plt, save


def _dates(monthly: pd.DataFrame):
    return pd.to_datetime(monthly["date"], format="%Y-%m")


def overview(results: dict[str, Result], path: str | Path, title: str | None = None) -> Path:
    """Four panels comparing runs (label -> Result), totals as simulated (the title should say the scale);
    Okabe-Ito colours with a line style per run, every axis from zero, one legend below; returns the file."""
    from .report import scenario_styles

    fig, axes = plt.subplots(2, 2, figsize=(11.5, 7.6), sharex=True)
    (ax_w, ax_r), (ax_k, ax_e) = axes
    names = list(results)
    styles = scenario_styles(names, names[0] if names else None)
    for label, r in results.items():
        m, st = r.monthly, styles[label]
        c, ls = st["color"], st["ls"]
        t = _dates(m)
        shown = label.replace("_", " ")
        ax_w.plot(t, m[COL.workers_active] / 1000, color=c, ls=ls, lw=1.8, label=shown)
        ax_r.plot(t, m[COL.revenue_delivered] / 1e6, color=c, ls=ls, lw=1.8)
        ax_k.fill_between(t, m[COL.retained_p10], m[COL.retained_p90], color=c, alpha=0.12, lw=0)
        ax_k.plot(t, m[COL.retained_median], color=c, ls=ls, lw=1.8)
        ax_e.plot(t, m["caught"].rolling(12, min_periods=1).mean(), color=c, ls=ls, lw=1.8)
    ax_w.set_title("workers abroad, thousands")
    ax_r.set_title("revenue delivered home, $M a month")
    ax_k.set_title("what a worker keeps in a month, $\n(median; band: 10th-90th percentile)")
    ax_e.set_title("caught escaping, a month (12-month mean)")
    for ax in axes.flat:
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))  # from zero, or below it where the data go
    handles, labels = ax_w.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), frameon=False, fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
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
