"""Figures of an experiment (an `ExperimentResult`): series, welfare, trade-off, sensitivity."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..results.outcomes import OUTCOMES
from .sanctions import parameter_label
from .style import colours as scenario_colours
from .style import plt, save

SERIES = [
    ("workers_active", 1e3, "workers abroad (thousands)"),
    ("revenue_delivered", 1e6, "revenue delivered home, $M/month"),
    ("retained_mean", 1.0, "what a worker keeps in a month, $ (mean)"),
    ("escaped", 1.0, "escapes per month (6-month mean)"),
]


def experiment_figures(result, folder: str | Path) -> list[Path]:
    """The figures of an experiment (an `ExperimentResult`): series, welfare, trade-off, sensitivity."""
    folder = Path(folder)
    scenarios = list(dict.fromkeys(result.runs["scenario"]))
    colours = scenario_colours(scenarios)
    out = [series_figure(result, folder / "series.png", scenarios, colours),
           welfare_figure(result, folder / "welfare.png", scenarios, colours)]
    trade = tradeoff_figure(result, folder / "tradeoff.png", scenarios, colours)
    if trade is not None:
        out.append(trade)
    sens = sensitivity_figure(result, folder / "sensitivity.png")
    if sens is not None:
        out.append(sens)
    forest = forest_figure(result, folder / "forest.png")
    if forest is not None:
        out.append(forest)
    return out


FOREST = [  # (outcome, in percent of the reference?) panels of the forest plot, when the experiment has them
    ("revenue_delivered_per_year", True), ("retained_per_worker_month", True), ("net_gain_p50", False),
    ("deaths_per_10000_worker_years", False), ("escapes_per_1000_worker_years", False),
]
INK = "#0072B2"  # Okabe-Ito blue: one colour, so nothing is read from hue


def scenario_labels(result) -> dict[str, str]:
    """Each scenario's label for figures: its ``label``, else its name with spaces."""
    return {s["name"]: s.get("label") or s["name"].replace("_", " ") for s in result.manifest["experiment"]["scenarios"]}


def forest_figure(result, path: Path) -> Path | None:
    """Posterior experiments: per scenario, the median change from the reference and its 90% credible interval
    over the posterior draws, one panel per outcome (revenue and what workers keep in percent, the rest in
    their units); rows ordered by the revenue change."""
    answers = result.policy_answers()
    if not len(answers):
        return None
    panels = [(o, pct) for o, pct in FOREST if o in result.outcomes]
    if not panels:
        return None
    labels = scenario_labels(result)
    ref = result.reference
    rev = answers[answers["outcome"] == panels[0][0]].set_index("scenario")
    order = [sc for sc in rev.sort_values("change_pct_median" if panels[0][1] else "change_median",
                                          ascending=False).index if sc != ref]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.3 + 2.6 * len(panels), 0.42 * len(order) + 1.9),
                             sharey=True, squeeze=False)
    y = np.arange(len(order))[::-1]
    for ax, (o, pct) in zip(axes[0], panels):
        a = answers[answers["outcome"] == o].set_index("scenario").loc[order]
        key = "change_pct_" if pct else "change_"
        med, lo, hi = (a[f"{key}{k}"].to_numpy(float) for k in ("median", "low", "high"))
        ax.hlines(y, lo, hi, color=INK, lw=2.2)
        ax.plot(med, y, "o", color=INK, ms=6)
        ax.axvline(0, color="#444444", lw=0.9)
        ax.set_title(f"{OUTCOMES[o].label}\n" + (f"change, % of {labels.get(ref, ref)}" if pct else f"change, {OUTCOMES[o].unit}"),
                     fontsize=9.5)
        ax.grid(alpha=0.3, axis="x")
        ax.tick_params(labelsize=9)
        lo_all, hi_all = np.nanmin(np.r_[lo, 0]), np.nanmax(np.r_[hi, 0])
        pad = 0.08 * (hi_all - lo_all or 1)
        ax.set_xlim(lo_all - pad, hi_all + pad)
    axes[0, 0].set_yticks(y, [labels.get(sc, sc) for sc in order], fontsize=9.5)
    m = result.manifest["experiment"]
    fig.suptitle(f"Change from '{labels.get(ref, ref)}': median and 90% credible interval over "
                 f"{m['sampling']['n']} posterior draws x {m['replicates']} replicates (paired within each draw: "
                 f"same parameters, same seeds)", fontsize=10.5)
    return save(fig, path)


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
    return save(fig, path)


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
    return save(fig, path)


def tradeoff_figure(result, path: Path, scenarios, colours) -> Path | None:
    """Revenue delivered against worker welfare, one point per scenario, with 95% intervals."""
    outcomes = result.outcomes
    welfare = [o for o in ("retained_per_worker_month", "net_gain_p50", "net_gain_mean", "worker_share_kept") if o in outcomes]
    if "revenue_delivered_per_year" not in outcomes or not welfare:
        return None
    s = result.summary().set_index(["scenario", "outcome"])
    fig, axes = plt.subplots(1, min(2, len(welfare)), figsize=(6 * min(2, len(welfare)), 4.8), squeeze=False)
    for ax, w in zip(axes[0], welfare[:2]):
        for sc in scenarios:
            x, y = s.loc[(sc, "revenue_delivered_per_year")], s.loc[(sc, w)]
            ax.errorbar(x["mean"] / 1e6, y["mean"], xerr=[[(x["mean"] - x["ci_low"]) / 1e6], [(x["ci_high"] - x["mean"]) / 1e6]],
                        yerr=[[y["mean"] - y["ci_low"]], [y["ci_high"] - y["mean"]]], fmt="o", color=colours[sc], capsize=3)
            ax.annotate(sc, (x["mean"] / 1e6, y["mean"]), fontsize=7, xytext=(4, 3), textcoords="offset points")
        ax.set_xlabel("revenue delivered to the state, $M a year")
        ax.set_ylabel(OUTCOMES[w].what, fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("revenue versus worker welfare (means, 95% intervals over replicates)", fontsize=11)
    return save(fig, path)


def sensitivity_figure(result, path: Path) -> Path | None:
    """Sobol S1 and ST (or Morris mu* and sigma) per parameter, one panel per scenario and outcome."""
    sens = result.sensitivity()
    if not len(sens):
        return None
    if (sens["of"] == "change").any():  # what a policy answer hinges on: only the paired changes' indices
        sens = sens[sens["of"] == "change"]
    groups = list(sens.groupby(["scenario", "outcome", "of"], sort=False))
    long_labels = max(len(parameter_label(p)) for p in sens["parameter"]) > 30
    cols = 1 if long_labels else min(2, len(groups))  # long parameter names need the figure's width
    rows = math.ceil(len(groups) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10 if long_labels else 6.5 * cols,
                                                  0.35 * len(groups[0][1]) * rows + 1.5 * rows), squeeze=False)
    sobol = "ST" in sens
    for ax, ((scenario, outcome, of), g) in zip(axes.flat, groups):
        g = g.sort_values("ST" if sobol else "mu_star")
        y = np.arange(len(g))
        if sobol:
            ax.barh(y - 0.2, g["S1"], 0.4, xerr=g["S1_conf"], label="first order S1", color="#4c72b0")
            ax.barh(y + 0.2, g["ST"], 0.4, xerr=g["ST_conf"], label="total ST", color="#dd8452")
        else:
            ax.barh(y - 0.2, g["mu_star"], 0.4, xerr=g["mu_star_conf"], label="mu*", color="#4c72b0")
            ax.barh(y + 0.2, g["sigma"], 0.4, label="sigma", color="#dd8452")
        ax.set_yticks(y, [parameter_label(p) for p in g["parameter"]], fontsize=8)
        labels = scenario_labels(result)
        what = OUTCOMES[outcome].label if of == "level" else \
            f"change in {OUTCOMES[outcome].label} from {labels.get(result.reference, result.reference)}"
        ax.set_title(f"{labels.get(scenario, scenario)}: {what}", fontsize=9)
        ax.grid(alpha=0.3, axis="x")
        ax.legend(fontsize=7)
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    fig.suptitle(("Sobol indices (95% bootstrap intervals)" if sobol else "Morris elementary effects"), fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_size_inches()[1]))  # room for the title above the panels
    return save(fig, path, tight=False)
