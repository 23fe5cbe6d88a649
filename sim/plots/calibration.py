"""Figures of a calibration (a `sim.calibration.Calibration`): fit, posterior, profiles, validation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..results.columns import COL
from ..results.outcomes import OUTCOMES
from .sanctions import parameter_label
from .style import plt, save


def calibration_figures(cal, folder: str | Path) -> list[Path]:
    """The figures of a calibration (a `sim.calibration.Calibration`): fit, posterior, profiles, validation."""
    folder = Path(folder)
    out = [
        fit_figure(cal, folder / "fit.png"),
        posterior_figure(cal, folder / "posterior.png"),
        profiles_figure(cal, folder / "profiles.png"),
    ]
    if len(cal.validation) and "validation" in cal.stages:
        out.append(validation_figure(cal, folder / "validation.png"))
    return out


def _grid(n: int, width: float = 3.6, height: float = 2.5):
    cols = min(n, 3 if n <= 9 else 4)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _compact(x: float, _pos=None) -> str:
    """A tick label that stays short on a log axis: 0.5, 20, 500, 2k, 10k."""
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x / 1000:g}k"
    return f"{x:g}"


def fit_figure(cal, path: Path) -> Path:
    """Per target: its range, the search's sets (all and accepted), the calibrated and default means with 95% intervals."""
    targets = cal.targets.spec.targets
    sets = cal.analysis.per_set
    conf = cal.confirm.set_index("target")
    fig, axes = _grid(len(targets))
    rng = np.random.default_rng(0)
    for ax, (name, t) in zip(axes, targets.items()):
        v = sets[t.outcome].to_numpy(float)
        acc = sets["accepted"].to_numpy(bool)
        y = rng.uniform(-0.35, 0.35, len(v))  # jitter only: the vertical position means nothing
        ax.axvspan(t.low, t.high, color="#2ca02c", alpha=0.12, lw=0, label="target range")
        ax.scatter(v[~acc], 1 + y[~acc], s=6, color="0.6", label="search: rejected")
        ax.scatter(v[acc], 1 + y[acc], s=6, color="#1f77b4", label="search: accepted")
        r = conf.loc[name]
        for k, (scen, colour, yy) in enumerate((("calibrated", "k", 0.0), ("defaults", "#d62728", -0.5))):
            m, lo, hi = r[f"{scen}_mean"], r[f"{scen}_ci_low"], r[f"{scen}_ci_high"]
            ax.errorbar(
                [m],
                [yy],
                xerr=[[max(m - lo, 0)], [max(hi - m, 0)]] if lo == lo else None,
                fmt="o" if k == 0 else "s",
                color=colour,
                mfc=colour if k == 0 else "white",
                ms=5,
                capsize=3,
                label=f"{scen} (full check, 95% interval)",
            )
        if t.log:
            from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator

            if np.all(v[np.isfinite(v)] > 0):
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0), numticks=8))
            else:  # a rate some sets leave at 0: linear below the range's low end, logarithmic above it
                ax.set_xscale("symlog", linthresh=t.low, linscale=0.5)
                top = np.nanmax(np.r_[v, t.high])
                first = math.ceil(math.log10(t.low))  # 0, then the powers of ten from the range's low end
                ax.xaxis.set_major_locator(
                    FixedLocator([0.0] + [10.0**k for k in range(first, int(math.log10(top)) + 1)])
                )
            ax.xaxis.set_minor_formatter(plt.NullFormatter())
            ax.xaxis.set_major_formatter(FuncFormatter(_compact))
        ax.set_yticks([-0.5, 0, 1], ["defaults", "calibrated", "search"], fontsize=7)
        ax.set_ylim(-1, 1.6)
        ax.set_title(t.what or name, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=7, frameon=False)
    fig.suptitle(
        f"Calibration targets: {cal.analysis.accepted} of {len(sets)} searched sets inside every range", fontsize=10
    )
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return save(fig, path, tight=False)


def posterior_figure(cal, path: Path) -> Path:
    """Per parameter: the prior sample against the accepted sets, the calibrated value, the verdict."""
    sets = cal.analysis.per_set
    pars = cal.analysis.parameters.set_index("parameter")
    names = list(cal.targets.spec.parameters)
    fig, axes = _grid(len(names), 3.2, 2.3)
    acc = sets["accepted"].to_numpy(bool)
    for ax, name in zip(axes, names):
        v = sets[name].to_numpy(float)
        lognorm = cal.targets.spec.parameters[name].kind.log  # a lognormal prior: log bins
        bins = np.geomspace(v.min(), v.max(), 21) if lognorm and v.min() > 0 else np.linspace(v.min(), v.max(), 21)
        ax.hist(v, bins=bins, color="0.8", density=True, label="prior (all sets)")
        if acc.sum():
            ax.hist(v[acc], bins=bins, histtype="step", lw=1.5, color="#1f77b4", density=True, label="accepted")
        ax.axvline(pars.loc[name, "calibrated"], color="k", lw=1, label="calibrated")
        if lognorm:
            ax.set_xscale("log")
        r = pars.loc[name]
        ax.set_title(f"{parameter_label(name)}\n{r['verdict']} (width ratio {r['width_ratio']:.2f})", fontsize=8)
        ax.set_yticks([])
        ax.tick_params(axis="x", labelsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.suptitle("What the targets pin down: prior against accepted parameter sets", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    return save(fig, path, tight=False)


def profiles_figure(cal, path: Path) -> Path:
    """Spearman correlation of every parameter with every targeted outcome over all searched sets."""
    sets = cal.analysis.per_set
    names = list(cal.targets.spec.parameters)
    targets = cal.targets.spec.targets
    rho = np.array([[sets[p].corr(sets[t.outcome], method="spearman") for t in targets.values()] for p in names])
    fig, ax = plt.subplots(figsize=(1.2 * len(targets) + 3.5, 0.42 * len(names) + 1.8))
    im = ax.imshow(rho, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(
        range(len(targets)),
        [OUTCOMES[t.outcome].label for t in targets.values()],
        rotation=30,
        ha="right",
        fontsize=7,
    )
    ax.set_yticks(range(len(names)), [parameter_label(n) for n in names], fontsize=7)
    for i in range(len(names)):
        for j in range(len(targets)):
            if rho[i, j] == rho[i, j]:
                ax.text(
                    j,
                    i,
                    f"{rho[i, j]:+.2f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if abs(rho[i, j]) > 0.6 else "black",
                )
    fig.colorbar(im, ax=ax, label="Spearman's rho (all searched sets)")
    ax.set_title("Which target moves with which parameter", fontsize=10)
    return save(fig, path)


def validation_figure(cal, path: Path) -> Path:
    """The validation scenario's workforce (all hosts, Russia, China) with the reported figures marked."""
    val = cal.stages["validation"]
    scale = cal.targets.spec.check.scale
    hosts = val.hosts([COL.workers_active])
    facts = cal.targets.spec.validation
    panels = [("all hosts", None), ("russia", "russia"), ("china", "china")]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    colours = {"calibrated": "k", "defaults": "#d62728"}
    for ax, (title, host) in zip(axes, panels):
        h = hosts if host is None else hosts[hosts["host"] == host]
        per_run = h.groupby(["scenario", "run_id", "date"], sort=False)[COL.workers_active].sum().reset_index()
        for scen, g in per_run.groupby("scenario", sort=False):
            q = g.groupby("date")[COL.workers_active].quantile([0.025, 0.5, 0.975]).unstack() / scale
            x = pd.to_datetime(q.index, format="%Y-%m")
            ax.plot(x, q[0.5], color=colours.get(scen, "0.4"), lw=1.2, label=f"model, {scen}")
            ax.fill_between(x, q[0.025], q[0.975], color=colours.get(scen, "0.4"), alpha=0.15, lw=0)
        for f in facts.values():
            if f.measure == "level" and f.column == COL.workers_active and f.host == host and f.reported is not None:
                ax.plot(
                    pd.to_datetime(f.end, format="%Y-%m"),
                    f.reported,
                    "D",
                    color="#ff7f0e",
                    ms=6,
                    label="reported" if "reported" not in ax.get_legend_handles_labels()[1] else None,
                )
        ax.set_title(f"workers abroad: {title}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"Out of sample: {cal.targets.spec.validation_scenario} against the reported figures", fontsize=10)
    return save(fig, path)
