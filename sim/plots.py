"""Figures of runs: one run, or several scenarios side by side.

    python -m sim.plots RUN_FOLDER [RUN_FOLDER ...] -o overview.png

draws, for each run, the workforce, the state's revenue, what workers keep
(median and 10th-90th percentile band) and escapes, catches and send-homes.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .results import Result  # noqa: E402


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path



# ---------------------------------------------------------------- experiments

SERIES = [
    ("workers_active", 1e3, "workers abroad (thousands)"),
    ("revenue_delivered", 1e6, "revenue delivered home, $M/month"),
    ("retained_mean", 1.0, "what a worker keeps in a month, $ (mean)"),
    ("escaped", 1.0, "escapes per month (6-month mean)"),
]
WELFARE = {"retained_per_worker_month", "net_gain_p50", "net_gain_mean", "worker_share_kept"}


def _colours(names):
    cycle = plt.get_cmap("tab10" if len(names) <= 10 else "tab20").colors
    return {n: cycle[i % len(cycle)] for i, n in enumerate(names)}


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def experiment_figures(result, folder: str | Path) -> list[Path]:
    """The figures of an experiment (an `ExperimentResult`): series, welfare, trade-off, sensitivity."""
    folder = Path(folder)
    scenarios = list(dict.fromkeys(result.runs["scenario"]))
    colours = _colours(scenarios)
    out = [series_figure(result, folder / "series.png", scenarios, colours),
           welfare_figure(result, folder / "welfare.png", scenarios, colours)]
    trade = tradeoff_figure(result, folder / "tradeoff.png", scenarios, colours)
    if trade is not None:
        out.append(trade)
    sens = sensitivity_figure(result, folder / "sensitivity.png")
    if sens is not None:
        out.append(sens)
    return out


def series_figure(result, path: Path, scenarios, colours) -> Path:
    """Monthly series per scenario: the mean over runs, and a band holding 95% of the runs."""
    m = result.monthly([c for c, _, _ in SERIES])
    m["escaped"] = m.groupby("run_id")["escaped"].transform(lambda s: s.rolling(6, min_periods=1).mean())
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5), sharex=True)
    for ax, (col, div, title) in zip(axes.flat, SERIES):
        for sc in scenarios:
            g = m[m["scenario"] == sc].groupby("date")[col]
            stat = pd.DataFrame({"mean": g.mean(), "lo": g.quantile(0.025), "hi": g.quantile(0.975)}).sort_index()
            t = pd.to_datetime(stat.index, format="%Y-%m")
            ax.fill_between(t, stat["lo"] / div, stat["hi"] / div, color=colours[sc], alpha=0.18, lw=0)
            ax.plot(t, stat["mean"] / div, color=colours[sc], lw=1.4, label=sc)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=2)
    runs = result.runs.groupby("scenario").size()
    fig.suptitle(f"{result.manifest['name']}: mean of {runs.min()}-{runs.max()} runs per scenario; "
                 f"band: 2.5-97.5% of runs", fontsize=11)
    return _save(fig, path)


def welfare_figure(result, path: Path, scenarios, colours) -> Path:
    """Distribution (ECDF) of net gain per worker and of what a worker keeps per month, per scenario.

    Each run stores its percentiles 0-100; the curve averages them over runs
    (Vincent averaging), so it is the typical run's distribution.
    """
    d = result.distributions()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, col, title in ((axes[0], "net_gain", "net gain of a worker over his posting, $ (workers who left)"),
                           (axes[1], "retained_monthly", "what a worker keeps per month abroad, $")):
        for sc in scenarios:
            q = d[d["scenario"] == sc].groupby("q")[col].mean()
            ax.plot(q.to_numpy(), q.index.to_numpy() / 100, color=colours[sc], lw=1.4, label=sc)
        ax.axvline(0, color="k", lw=0.6)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("share of workers at or below")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    return _save(fig, path)


def tradeoff_figure(result, path: Path, scenarios, colours) -> Path | None:
    """Revenue delivered against worker welfare, one point per scenario, with 95% intervals."""
    outcomes = result.outcomes
    welfare = [o for o in ("retained_per_worker_month", "net_gain_p50", "net_gain_mean", "worker_share_kept") if o in outcomes]
    if "revenue_delivered_per_year" not in outcomes or not welfare:
        return None
    s = result.summary().set_index(["scenario", "outcome"])
    fig, axes = plt.subplots(1, min(2, len(welfare)), figsize=(6 * min(2, len(welfare)), 4.8), squeeze=False)
    from .experiment import OUTCOMES

    for ax, w in zip(axes[0], welfare[:2]):
        for sc in scenarios:
            x, y = s.loc[(sc, "revenue_delivered_per_year")], s.loc[(sc, w)]
            ax.errorbar(x["mean"] / 1e6, y["mean"], xerr=[[(x["mean"] - x["ci_low"]) / 1e6], [(x["ci_high"] - x["mean"]) / 1e6]],
                        yerr=[[y["mean"] - y["ci_low"]], [y["ci_high"] - y["mean"]]], fmt="o", color=colours[sc], capsize=3)
            ax.annotate(sc, (x["mean"] / 1e6, y["mean"]), fontsize=7, xytext=(4, 3), textcoords="offset points")
        ax.set_xlabel("revenue delivered to the state, $M a year")
        ax.set_ylabel(OUTCOMES[w], fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("revenue versus worker welfare (means, 95% intervals over replicates)", fontsize=11)
    return _save(fig, path)


def sensitivity_figure(result, path: Path) -> Path | None:
    """Sobol S1 and ST (or Morris mu* and sigma) per parameter, one panel per scenario and outcome."""
    sens = result.sensitivity()
    if not len(sens):
        return None
    groups = list(sens.groupby(["scenario", "outcome"], sort=False))
    cols = min(2, len(groups))
    rows = math.ceil(len(groups) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 0.35 * len(groups[0][1]) * rows + 1.5 * rows), squeeze=False)
    sobol = "ST" in sens
    for ax, ((scenario, outcome), g) in zip(axes.flat, groups):
        g = g.sort_values("ST" if sobol else "mu_star")
        y = np.arange(len(g))
        if sobol:
            ax.barh(y - 0.2, g["S1"], 0.4, xerr=g["S1_conf"], label="first order S1", color="#4c72b0")
            ax.barh(y + 0.2, g["ST"], 0.4, xerr=g["ST_conf"], label="total ST", color="#dd8452")
        else:
            ax.barh(y - 0.2, g["mu_star"], 0.4, xerr=g["mu_star_conf"], label="mu*", color="#4c72b0")
            ax.barh(y + 0.2, g["sigma"], 0.4, label="sigma", color="#dd8452")
        ax.set_yticks(y, g["parameter"], fontsize=8)
        ax.set_title(f"{scenario}: {outcome}", fontsize=9)
        ax.grid(alpha=0.3, axis="x")
        ax.legend(fontsize=7)
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    fig.suptitle(("Sobol indices (95% bootstrap intervals)" if sobol else "Morris elementary effects"), fontsize=11)
    return _save(fig, path)


def calibration_figures(cal, folder: str | Path) -> list[Path]:
    """The figures of a calibration (a `sim.calibration.Calibration`): fit, posterior, profiles, validation."""
    folder = Path(folder)
    out = [fit_figure(cal, folder / "fit.png"), posterior_figure(cal, folder / "posterior.png"),
           profiles_figure(cal, folder / "profiles.png")]
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
            ax.errorbar([m], [yy], xerr=[[max(m - lo, 0)], [max(hi - m, 0)]] if lo == lo else None, fmt="o" if k == 0 else "s",
                        color=colour, mfc=colour if k == 0 else "white", ms=5, capsize=3,
                        label=f"{scen} (full check, 95% interval)")
        if t.log and np.all(v[np.isfinite(v)] > 0):
            from matplotlib.ticker import LogLocator, ScalarFormatter

            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_minor_formatter(plt.NullFormatter())
            ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_yticks([-0.5, 0, 1], ["defaults", "calibrated", "search"], fontsize=7)
        ax.set_ylim(-1, 1.6)
        ax.set_title(t.what or name, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=7, frameon=False)
    fig.suptitle(f"Calibration targets: {cal.analysis.accepted} of {len(sets)} searched sets inside every range", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return _save_tight(fig, path)


def _save_tight(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def posterior_figure(cal, path: Path) -> Path:
    """Per parameter: the prior sample against the accepted sets, the calibrated value, the verdict."""
    sets = cal.analysis.per_set
    pars = cal.analysis.parameters.set_index("parameter")
    names = list(cal.targets.spec.parameters)
    fig, axes = _grid(len(names), 3.2, 2.3)
    acc = sets["accepted"].to_numpy(bool)
    for ax, name in zip(axes, names):
        v = sets[name].to_numpy(float)
        lognorm = cal.targets.spec.parameters[name].distribution == "lognormal"
        bins = np.geomspace(v.min(), v.max(), 21) if lognorm and v.min() > 0 else np.linspace(v.min(), v.max(), 21)
        ax.hist(v, bins=bins, color="0.8", density=True, label="prior (all sets)")
        if acc.sum():
            ax.hist(v[acc], bins=bins, histtype="step", lw=1.5, color="#1f77b4", density=True, label="accepted")
        ax.axvline(pars.loc[name, "calibrated"], color="k", lw=1, label="calibrated")
        if lognorm:
            ax.set_xscale("log")
        r = pars.loc[name]
        ax.set_title(f"{name}\n{r['verdict']} (width ratio {r['width_ratio']:.2f})", fontsize=8)
        ax.set_yticks([])
        ax.tick_params(axis="x", labelsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.suptitle("What the targets pin down: prior against accepted parameter sets", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    return _save_tight(fig, path)


def profiles_figure(cal, path: Path) -> Path:
    """Spearman correlation of every parameter with every targeted outcome over all searched sets."""
    sets = cal.analysis.per_set
    names = list(cal.targets.spec.parameters)
    targets = cal.targets.spec.targets
    rho = np.array([[sets[p].corr(sets[t.outcome], method="spearman") for t in targets.values()] for p in names])
    fig, ax = plt.subplots(figsize=(1.2 * len(targets) + 3.5, 0.42 * len(names) + 1.8))
    im = ax.imshow(rho, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(targets)), [t.outcome.replace("_", " ") for t in targets.values()], rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    for i in range(len(names)):
        for j in range(len(targets)):
            if rho[i, j] == rho[i, j]:
                ax.text(j, i, f"{rho[i, j]:+.2f}", ha="center", va="center", fontsize=6,
                        color="white" if abs(rho[i, j]) > 0.6 else "black")
    fig.colorbar(im, ax=ax, label="Spearman's rho (all searched sets)")
    ax.set_title("Which target moves with which parameter", fontsize=10)
    return _save(fig, path)


def validation_figure(cal, path: Path) -> Path:
    """The validation scenario's workforce (all hosts, Russia, China) with the reported figures marked."""
    val = cal.stages["validation"]
    scale = cal.targets.spec.check.scale
    hosts = val.hosts(["workers_active"])
    facts = cal.targets.spec.validation
    panels = [("all hosts", None), ("russia", "russia"), ("china", "china")]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    colours = {"calibrated": "k", "defaults": "#d62728"}
    for ax, (title, host) in zip(axes, panels):
        h = hosts if host is None else hosts[hosts["host"] == host]
        per_run = h.groupby(["scenario", "run_id", "date"], sort=False)["workers_active"].sum().reset_index()
        for scen, g in per_run.groupby("scenario", sort=False):
            q = g.groupby("date")["workers_active"].quantile([0.025, 0.5, 0.975]).unstack() / scale
            x = pd.to_datetime(q.index, format="%Y-%m")
            ax.plot(x, q[0.5], color=colours.get(scen, "0.4"), lw=1.2, label=f"model, {scen}")
            ax.fill_between(x, q[0.025], q[0.975], color=colours.get(scen, "0.4"), alpha=0.15, lw=0)
        for f in facts.values():
            if f.measure == "level" and f.column == "workers_active" and f.host == host and f.reported is not None:
                ax.plot(pd.to_datetime(f.end, format="%Y-%m"), f.reported, "D", color="#ff7f0e", ms=6,
                        label="reported" if "reported" not in ax.get_legend_handles_labels()[1] else None)
        ax.set_title(f"workers abroad: {title}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"Out of sample: {cal.targets.spec.validation_scenario} against the reported figures", fontsize=10)
    return _save(fig, path)


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
        except FileNotFoundError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        label = Path(r.manifest.get("params_file") or folder).stem
        results[label] = r
    print(overview(results, args.output, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
