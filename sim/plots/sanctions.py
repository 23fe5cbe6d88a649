"""Figures of the sanctions era's calibration: facts against their bands, series with bands, prior vs posterior.

Colours are Okabe-Ito (colour-blind safe); fit and held-out facts differ in marker shape as well as colour.
Counts are at full scale (a run's counts divided by its simulated share), and the figures say so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..core.fields import months_spanned
from ..results.columns import COL
from .style import plt, save

POSTERIOR = "#0072B2"  # blue
PRIOR = "#999999"  # grey
FIT = "#D55E00"  # vermillion, filled circles
HELD = "#009E73"  # bluish green, open diamonds
EVENTS = [
    ("2017-09", "permit ban"),
    ("2017-12", "repatriation order"),
    ("2019-12", "deadline"),
    ("2020-02", "border closed"),
    ("2023-08", "reopened"),
]


def sanctions_figures(targets, checks: dict, params: pd.DataFrame, folder: Path) -> list[Path]:
    folder = Path(folder)
    return [
        facts_figure(checks["predictive"], folder / "facts.png", targets.spec.check.draws),
        series_figure(targets, checks["results"], folder / "series.png"),
        parameters_figure(params, folder / "parameters.png"),
    ]


def facts_figure(pred: pd.DataFrame, path: Path, draws: int) -> Path:
    """Each fact's 90% band (posterior, and the prior's) as a ratio to the reported figure, on a log axis."""
    rows = pred.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(12, 0.42 * len(rows) + 2.4))
    y = np.arange(len(rows))
    ratios = np.r_[
        rows["prior_p05"] / rows["centre"],
        rows["p05"] / rows["centre"],
        rows["prior_p95"] / rows["centre"],
        rows["p95"] / rows["centre"],
    ]
    positive = ratios[np.isfinite(ratios) & (ratios > 0)]
    left = max(min(positive.min() if len(positive) else 0.5, 0.5) * 0.7, 1e-3)
    right = min(max(positive.max() if len(positive) else 2.0, 2.0) * 1.3, 1e3)
    clip = lambda v: min(max(v, left), right)  # noqa: E731  a 0 (nobody posted) sits at the left edge
    for i, r in rows.iterrows():
        rep = r["centre"]
        if r["bound"] == "range":  # the reported range, as a bracket around the row
            ax.plot([clip(r["low"] / rep), clip(r["high"] / rep)], [i + 0.32, i + 0.32], color="k", lw=1.2)
            for end in (r["low"], r["high"]):
                ax.plot([clip(end / rep)] * 2, [i + 0.2, i + 0.44], color="k", lw=1.2)
        ax.hlines(i, clip(r["prior_p05"] / rep), clip(r["prior_p95"] / rep), color=PRIOR, lw=7, alpha=0.45)
        ax.hlines(i, clip(r["p05"] / rep), clip(r["p95"] / rep), color=POSTERIOR, lw=3)
        held = r["set"] == "held out"
        ax.plot(
            clip(r["p50"] / rep),
            i,
            "D" if held else "o",
            ms=7,
            color=HELD if held else FIT,
            mfc="white" if held else FIT,
            mew=1.8,
            clip_on=False,
            zorder=5,
        )
        if r["p50"] / rep < left:
            ax.annotate("median 0", (left, i), xytext=(8, 5), textcoords="offset points", fontsize=8, color="#333333")
    ax.axvline(1, color="k", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(left, right)
    labels = [
        ("" if r["set"] == "fit" else "held out: ")
        + r["what"]
        + (" (a floor)" if r["bound"] == "at least" and "floor" not in r["what"] else "")
        + (" (a range)" if r["bound"] == "range" else "")
        for _, r in rows.iterrows()
    ]
    ax.set_yticks(y, labels, fontsize=9)
    ax.set_xlabel(
        "model / reported, log scale (1 = the reported figure, or a range's centre with its ends as a "
        "bracket;\na median of 0 sits at the left edge)",
        fontsize=9.5,
    )
    ax.grid(alpha=0.3, axis="x", which="both")
    from matplotlib.lines import Line2D

    fig.legend(
        handles=[
            Line2D([], [], color=PRIOR, lw=7, alpha=0.45, label="prior, 90% band"),
            Line2D([], [], color=POSTERIOR, lw=3, label="posterior, 90% band"),
            Line2D([], [], color=FIT, marker="o", ls="", label="posterior median: fitted fact"),
            Line2D([], [], color=HELD, marker="D", mfc="white", mew=1.8, ls="", label="posterior median: held out"),
        ],
        fontsize=9,
        loc="lower center",
        ncol=4,
        frameon=False,
    )
    ax.set_title(f"Every fact against the model ({draws} draws each)", fontsize=11)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return save(fig, path, tight=False)


def _band(hosts: pd.DataFrame, column: str, scale: float, host=None, transform=None) -> pd.DataFrame:
    h = hosts if host is None else hosts[hosts["host"] == host]
    per_run = h.groupby(["run_id", "date"])[column].sum().unstack("run_id").sort_index() / scale
    if transform is not None:
        per_run = transform(per_run)
    return pd.DataFrame(
        {"lo": per_run.quantile(0.05, axis=1), "mid": per_run.median(axis=1), "hi": per_run.quantile(0.95, axis=1)}
    )


def series_figure(targets, results: dict, path: Path) -> Path:
    """Six series with their 90% bands over the draws (posterior, and the prior's faint), reported points on top."""
    scale = targets.spec.smc.scale
    cols = [
        COL.permit_holders,
        "repatriated",
        COL.workers_active,
        COL.revenue_delivered,
        COL.deployed,
        COL.deployed_student,
    ]
    post = results["predictive"].hosts(cols)
    prior = results["prior_predictive"].hosts(cols)
    post, prior = post[post["scenario"] == "history"], prior[prior["scenario"] == "history"]
    cumulative = lambda f: f.loc[f.index >= "2017-12"].cumsum()  # noqa: E731
    yearly = lambda f: f.rolling(12).sum()  # noqa: E731
    panels = [
        (COL.permit_holders, "russia", None, 1e3, "work-permit holders in Russia (thousands)"),
        ("repatriated", None, cumulative, 1e3, "repatriated since Dec 2017, all hosts (thousands)"),
        (COL.workers_active, None, None, 1e3, "workers abroad, all hosts (thousands)"),
        (COL.workers_active, "china", None, 1e3, "workers in China (thousands)"),
        (COL.deployed, "russia", yearly, 1e3, "postings to Russia, past 12 months (thousands)"),
        (COL.revenue_delivered, None, yearly, 1e6, "revenue delivered to the state, past 12 months ($M)"),
    ]
    facts = {
        **{k: ("fit", f) for k, f in targets.spec.fit.items()},
        **{k: ("held", f) for k, f in targets.spec.held_out.items()},
    }
    fig, axes = plt.subplots(3, 2, figsize=(12, 10.5), sharex=True)
    for ax, (col, host, tf, div, title) in zip(axes.flat, panels):
        for frame, colour, alpha in ((prior, PRIOR, 0.25), (post, POSTERIOR, 0.35)):
            b = _band(frame, col, scale, host, tf)
            t = pd.to_datetime(b.index, format="%Y-%m")
            ax.fill_between(t, b["lo"] / div, b["hi"] / div, color=colour, alpha=alpha, lw=0)
        ax.plot(t, b["mid"] / div, color=POSTERIOR, lw=1.6)
        for _, (which, f) in facts.items():
            if (
                f.column != col
                or f.host != host
                or f.measure not in ("level", "total", "per_year")
                or f.reported is None
            ):
                continue
            if f.measure == "level":
                when, value = f.end, f.reported
            elif tf is cumulative and f.start == "2017-12":
                when, value = f.end, f.reported
            elif tf is yearly and f.measure == "total" and months_spanned(f.start, f.end) == 12:
                when, value = f.end, f.reported
            elif tf is yearly and f.measure == "per_year":
                when, value = f.end, f.reported
            else:
                continue
            held = which == "held"
            ax.plot(
                pd.to_datetime(when, format="%Y-%m"),
                value / div,
                "D" if held else "o",
                ms=8,
                color=HELD if held else FIT,
                mfc="white" if held else FIT,
                mew=2,
                zorder=5,
            )
        for d, _ in EVENTS:
            ax.axvline(pd.to_datetime(d, format="%Y-%m"), color="#555555", lw=0.7, ls=":")
        ax.set_ylim(bottom=0)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=9)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig.legend(
        handles=[
            Patch(color=POSTERIOR, alpha=0.35, label="posterior, 90% band (line: median)"),
            Patch(color=PRIOR, alpha=0.25, label="prior, 90% band"),
            Line2D([], [], color=FIT, marker="o", ls="", ms=8, label="reported, fitted"),
            Line2D([], [], color=HELD, marker="D", mfc="white", mew=2, ls="", ms=8, label="reported, held out"),
            Line2D(
                [],
                [],
                color="#555555",
                ls=":",
                label="permit ban, repatriation order, deadline, border closed, reopened",
            ),
        ],
        loc="lower center",
        ncol=3,
        fontsize=9,
        frameon=False,
    )
    fig.suptitle(
        f"The history scenario over {targets.spec.check.draws} posterior draws (simulated at {scale:g} of the "
        f"workforce; counts shown at full scale)",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return save(fig, path, tight=False)


LABELS = {  # short human names of the calibrated parameters (the dotted key is in parameters.csv)
    "hosts.*.wage": "wages (x each host's)",
    "hosts.*.plan": "plans (x each host's)",
    "hosts.*.detect_tourist": "detection of tourist-visa workers",
    "hosts.*.detect_student": "detection of student-visa workers",
    "state.plan_cut": "plan cut when out of reach",
    "state.plan_reach": "share of workers short before a plan is cut",
    "state.workforce_growth": "growth of the workforce target",
    "state.evasion_flow": "sanctions brake the flow (1) or cap the stock (0)",
    "remittance.fees_share": "fees share of the take",
    "remittance.ledger_monthly": "ledger credit a month",
    "minder.side_bribe_share": "minders' share of side earnings",
    "work.hours_base": "base hours a day",
    "escape.attempt_rate": "escape attempt rate",
    "state.reprisal_severity": "weight of reprisals on families",
    "deaths.rate": "death hazard",
    "worker.entry_bribe_median": "median entry bribe",
    "recruitment.veteran_share": "share of completers posted again",
    "hosts.russia.workers": "Russia's workers in 2016 (x 30,000)",
}
POLICY_LABELS = {0: "permit ban (UNSCR 2375)", 1: "repatriation (UNSCR 2397)"}


def parameter_label(key: str) -> str:
    """A calibrated parameter's name for a figure: 'repatriation (UNSCR 2397): compliance, Russia, from 2020'."""
    if key in LABELS:
        return LABELS[key]
    parts = key.split(".")
    if parts[0] == "policies" and parts[1].isdigit():
        policy = POLICY_LABELS.get(int(parts[1]), f"policy {parts[1]}")
        rest = parts[2:]
        when = ""
        if rest[:1] == ["schedule"]:
            when, rest = ", after the deadline", rest[2:]
        if rest[:1] == ["compliance"]:
            host = rest[1].capitalize() if len(rest) > 1 else "every host"
            return f"{policy}: compliance, {host}{when}"
        if rest == ["evasion"]:
            return f"{policy}: evasion share{when}"
        if rest == ["after_deadline"]:
            return f"{policy}: yearly enforcement after the deadline"
    return key


def parameters_figure(params: pd.DataFrame, path: Path) -> Path:
    """Each parameter's posterior 90% interval and median on its prior's CDF (the prior's 90% range is 0.05 to 0.95)."""
    rows = params.sort_values("width_ratio", ascending=False).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(11, 0.36 * len(rows) + 1.9))
    for i, r in rows.iterrows():
        ax.hlines(i, 0.05, 0.95, color=PRIOR, lw=7, alpha=0.45)
        ax.hlines(i, r["posterior_cdf_p05"], r["posterior_cdf_p95"], color=POSTERIOR, lw=3)
        ax.plot(r["posterior_cdf_p50"], i, "o", color=POSTERIOR, ms=5)
    ax.set_yticks(
        range(len(rows)),
        [f"{parameter_label(p)}  ({v})" for p, v in zip(rows["parameter"], rows["verdict"])],
        fontsize=8.5,
    )
    ax.set_xlim(0, 1)
    ax.set_xlabel(
        "position on the prior (cumulative probability)\ngrey: the prior's 90% range; blue: the posterior's, dot its median",
        fontsize=9.5,
    )
    ax.grid(alpha=0.3, axis="x")
    ax.set_title("What the fit pins down: each parameter's posterior on its prior", fontsize=11)
    return save(fig, path)
