"""The figures of a comparison (``olsim compare``, ``olsim report``, ``olsim experiment``): figures for a brief.

Every figure here: human labels with units from the outcome registry, totals at full scale (a scaled run's
totals are divided by its scale, and the figure says so), colour-blind-safe colours (Okabe-Ito) with a marker or
line style per scenario, and legends outside the data. The figures take plain tables (the headline table of
`sim.explore.report`, an experiment's monthly and distribution tables), so this layer needs nothing above it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..results.columns import COL
from ..results.outcomes import CHANGES, OUTCOMES, REVENUE, WELFARE_AXES
from .style import plt, save

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency. The reference is black.
OKABE_ITO = ["#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":"]


def scenario_styles(scenarios: list[str], reference: str | None = None) -> dict[str, dict]:
    """Colour, marker and line style per scenario, the reference first (black, solid). Past eight scenarios the
    colours repeat with another line style, so no two scenarios look alike."""
    order = ([reference] if reference in scenarios else []) + [s for s in scenarios if s != reference]
    out = {}
    for i, sc in enumerate(order):
        second = (i // len(OKABE_ITO)) % len(LINESTYLES)
        out[sc] = {
            "color": OKABE_ITO[i % len(OKABE_ITO)],
            "marker": MARKERS[(i + 3 * second) % len(MARKERS)],
            "ls": LINESTYLES[second],
            "mfc": "white" if second else None,
        }
    return out


def _order(present, labels: dict[str, str]) -> list[str]:
    """The scenarios present, in the experiment's order (``labels``' keys), so every figure styles them alike."""
    present = list(dict.fromkeys(present))
    return [s for s in labels if s in present] + [s for s in present if s not in labels]


def scale_note(scale: float) -> str:
    """What the figures say about a scaled run's totals."""
    if scale >= 1:
        return "full scale"
    return f"simulated at {100 * scale:.3g}% of the workforce; totals shown at full scale (divided by {scale:g})"


# ------------------------------------------------------------------ forest plot of the paired changes
FOREST = [(o, OUTCOMES[o].change_in_percent) for o in CHANGES]  # (outcome, in percent of the reference?)
INK = "#0072B2"


def change_forest(
    table: pd.DataFrame, labels: dict[str, str], reference: str, interval: str, path: Path, title: str
) -> Path | None:
    """Per scenario, the change from the reference and its interval, one panel per outcome (revenue and what
    workers keep in percent of the reference, the rest in their units); rows ordered by the revenue change.
    ``table``: the headline table (scenario, outcome, change, change_low, change_high, change_pct, ...)."""
    outcomes = set(table["outcome"])
    panels = [(o, pct) for o, pct in FOREST if o in outcomes]
    others = [sc for sc in dict.fromkeys(table["scenario"]) if sc != reference]
    if not panels or not others:
        return None
    first, pct0 = panels[0]
    rev = table[table["outcome"] == first].set_index("scenario").loc[others]
    order = list(rev.sort_values("change_pct" if pct0 else "change", ascending=False).index)
    ncols = len(panels) if len(order) > 4 else min(3, len(panels))  # few rows: panels in two rows, readable
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(2.4 + 3.0 * ncols, nrows * (0.45 * len(order) + 1.5) + 0.9), sharey=True, squeeze=False
    )
    y = np.arange(len(order))[::-1]
    ref_label = labels.get(reference, reference)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (o, pct) in zip(axes.flat, panels):
        a = table[table["outcome"] == o].set_index("scenario").loc[order]
        key = "change_pct" if pct else "change"
        med, lo, hi = (a[k].to_numpy(float) for k in (key, f"{key}_low", f"{key}_high"))
        ax.hlines(y, lo, hi, color=INK, lw=2.4)
        ax.plot(med, y, "o", color=INK, ms=6.5)
        ax.axvline(0, color="#444444", lw=1.0)
        unit = f"% of {ref_label}" if pct else OUTCOMES[o].unit
        ax.set_title(f"{OUTCOMES[o].label}\nchange, {unit}", fontsize=10)
        ax.grid(alpha=0.3, axis="x")
        ax.tick_params(labelsize=9.5)
        ax.xaxis.set_major_locator(MaxNLocator(5))  # tick labels that never run into each other
        finite = np.r_[lo, hi, med, 0.0]
        finite = finite[np.isfinite(finite)]
        lo_all, hi_all = finite.min(), finite.max()
        pad = 0.08 * (hi_all - lo_all or 1)
        ax.set_xlim(lo_all - pad, hi_all + pad)
    for row in axes:
        row[0].set_yticks(y, [labels.get(sc, sc) for sc in order], fontsize=10)
        row[0].set_ylim(-0.6, len(order) - 0.4)
    import textwrap

    fig.suptitle(f"{title}\n" + "\n".join(textwrap.wrap(f"Change from '{ref_label}': {interval}", 120)), fontsize=10.5)
    return save(fig, path)


# ------------------------------------------------------------------ revenue against welfare
def _point(ax, x, y, st, label, zorder=3):
    """One scenario: its marker at (x, y) = (mid, low, high) each, with thin translucent interval bars."""
    (xm, xl, xh), (ym, yl, yh) = x, y
    ax.errorbar(
        xm,
        ym,
        xerr=[[max(xm - xl, 0)], [max(xh - xm, 0)]],
        yerr=[[max(ym - yl, 0)], [max(yh - ym, 0)]],
        fmt="none",
        ecolor=st["color"],
        elinewidth=1.6,
        capsize=3,
        alpha=0.55,
        zorder=zorder,
    )
    edge = "#000000" if st["color"] == "#F0E442" else (st["color"] if st["mfc"] else "white")  # yellow needs an edge
    ax.plot(
        xm,
        ym,
        st["marker"],
        color=st["color"],
        ms=10,
        mec=edge,
        mfc=st["mfc"] or st["color"],
        mew=1.6 if st["mfc"] else 0.9,
        label=label,
        zorder=zorder + 1,
        ls="none",
    )


def tradeoff(
    table: pd.DataFrame,
    labels: dict[str, str],
    reference: str,
    interval: str,
    path: Path,
    title: str,
    welfare: str | None = None,
) -> Path | None:
    """Revenue delivered against what a worker keeps, one marker per scenario with its interval: on the left the
    levels (both axes from zero), on the right the paired changes from the reference in percent (the reference at
    0, 0), which strip out what the scenarios share (the same parameters and seeds). The region better on both
    counts than the reference is shaded; a legend beside the axes. ``interval``: what the markers and bars are."""
    t = table.set_index(["scenario", "outcome"])
    scenarios = _order(table["scenario"], labels)
    have = set(table["outcome"])
    welfare = welfare or next((w for w in WELFARE_AXES if w in have), None)
    rev = REVENUE  # the x axis, left less for the state; the welfare axis up more for the workers
    if rev not in have or welfare not in have or reference not in scenarios:
        return None
    assert welfare is not None  # one of the outcomes it has (above)
    styles = scenario_styles(scenarios, reference)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(14, 5.6))
    ref_label = labels.get(reference, reference)
    xs, ys, lows = [], [], []
    for sc in scenarios:
        x, y = t.loc[(sc, rev)], t.loc[(sc, welfare)]
        xv = tuple(x[k] / 1e6 for k in ("level", "level_low", "level_high"))
        yv = tuple(y[k] for k in ("level", "level_low", "level_high"))
        _point(ax, xv, yv, styles[sc], labels.get(sc, sc))
        xs += [xv[0], xv[2]]  # the level, and its interval's top where there is one (not with one replicate)
        ys += [yv[0], yv[2]]
        lows += [yv[0], yv[1]]
        if sc != reference:
            cx = tuple(x[k] for k in ("change_pct", "change_pct_low", "change_pct_high"))
            cy = tuple(y[k] for k in ("change_pct", "change_pct_low", "change_pct_high"))
            _point(bx, cx, cy, styles[sc], None)
    bx.plot(0, 0, styles[reference]["marker"], color=styles[reference]["color"], ms=10, mec="white", zorder=5)

    def finite(v):
        v = np.asarray(v, dtype=float)
        return v[np.isfinite(v)]

    xmax, ymax, ymin = (finite(xs).max(initial=0.0), finite(ys).max(initial=0.0), finite(lows).min(initial=0.0))
    ax.set_xlim(0, xmax * 1.08 if xmax > 0 else 1)
    top = ymax * 1.12 if ymax > 0 else 1
    bottom = min(0.0, ymin * 1.12)  # a net gain can be below zero
    ax.set_ylim(bottom, top)
    rx, ry = t.loc[(reference, rev), "level"] / 1e6, t.loc[(reference, welfare), "level"]
    if np.isfinite(rx) and np.isfinite(ry):
        ax.fill_between([0, rx], ry, top, color="#009E73", alpha=0.08, lw=0, zorder=0)
    bx.axhline(0, color="#444444", lw=0.9)
    bx.axvline(0, color="#444444", lw=0.9)
    x0, x1 = bx.get_xlim()
    y0, y1 = bx.get_ylim()
    bx.set_xlim(min(x0, -5), max(x1, 5))
    bx.set_ylim(min(y0, -5), max(y1, 5))
    bx.fill_between([bx.get_xlim()[0], 0], 0, bx.get_ylim()[1], color="#009E73", alpha=0.08, lw=0, zorder=0)
    for a in (ax, bx):
        a.text(
            0.015,
            0.975,
            f"shaded: better on both counts than '{ref_label}'",
            transform=a.transAxes,
            va="top",
            ha="left",
            fontsize=9,
            color="#1b5e4a",
        )
        a.grid(alpha=0.3)
        a.tick_params(labelsize=9.5)
    unit = {"USD": "$", "USD a year": "$ a year"}.get(OUTCOMES[welfare].unit, OUTCOMES[welfare].unit)
    ax.set_xlabel("revenue delivered to the state, $M a year\n(left: less for the state)", fontsize=10.5)
    ax.set_ylabel(f"{OUTCOMES[welfare].label}, {unit}\n(up: more for workers)", fontsize=10.5)
    ax.set_title("levels\n", fontsize=10.5)
    bx.set_xlabel(f"change in revenue delivered, % of '{ref_label}'", fontsize=10.5)
    bx.set_ylabel(f"change in {OUTCOMES[welfare].label}, %", fontsize=10.5)
    bx.set_title(f"paired changes from '{ref_label}'\n(same parameters, same seeds)", fontsize=10.5)
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="center right", fontsize=9.5, frameon=False, title="scenario", title_fontsize=10)
    fig.suptitle(f"{title}\n{interval}", fontsize=11)
    width = max(len(n) for n in names) * 0.0045 + 0.06  # the legend's share of the figure's width
    fig.tight_layout(rect=(0, 0, 1 - width, 0.93))
    return save(fig, path, tight=False)


# ------------------------------------------------------------------ monthly series
SERIES = [  # (column, divisor, label, a total?)
    (COL.workers_active, 1e3, "workers abroad, thousands", True),
    (COL.revenue_delivered, 1e6, "revenue delivered home, $M a month", True),
    (COL.retained_median, 1.0, "what the median worker keeps in a month, $", False),
    ("escaped", 1.0, "escapes a month (12-month mean)", True),
]


def _events(policies: dict[str, list[dict]]) -> tuple[list[tuple[str, str]], list[tuple[str, str | None]]]:
    """From each scenario's policies (kind, start, end as dates, label): the distinct sanction starts (date, what)
    and the periods of the facts of the world, such as the border closure (start, end): a kind whose class in
    POLICY_CLASSES is not a sanction."""
    from ..core.policies import is_sanction

    starts: dict[str, set[str]] = {}
    closures: set[tuple[str, str | None]] = set()  # (start, end: None while it lasts)
    for pols in policies.values():
        for p in pols:
            if not is_sanction(p):
                closures.add((p["start"], p.get("end")))
            else:
                starts.setdefault(p["start"], set()).add(p.get("label") or p["kind"].replace("_", " "))
    return sorted((d, ", ".join(sorted(w))) for d, w in starts.items()), sorted(closures, key=lambda c: c[0])


def series(
    monthly: pd.DataFrame,
    labels: dict[str, str],
    reference: str,
    scale: float,
    policies: dict[str, list[dict]],
    path: Path,
    title: str,
    bands: bool | None = None,
) -> Path:
    """Monthly series per scenario: the mean over runs and (for up to four scenarios) the band holding 90% of
    runs; totals at full scale; each distinct sanction start a dashed line, the border closure shaded."""
    m = monthly.copy()
    # a 12-month mean (from the 6th month on: a mean of fewer months is mostly noise at small scales)
    m["escaped"] = m.groupby("run_id")["escaped"].transform(lambda s: s.rolling(12, min_periods=6).mean())
    scenarios = _order(m["scenario"], labels)
    styles = scenario_styles(scenarios, reference)
    bands = len(scenarios) <= 4 if bands is None else bands
    starts, closures = _events(policies)
    first, final = m["date"].min(), m["date"].max()
    starts = [(d, w) for d, w in starts if first <= d <= final]  # only what happens within the months shown
    closures = [(a, b) for a, b in closures if a <= final and (b is None or b >= first)]
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.6), sharex=True)
    for ax, (col, div, what, total) in zip(axes.flat, SERIES):
        f = div * (scale if total else 1.0)
        for sc in sorted(scenarios, key=lambda x: x != reference):  # the reference first, then the experiment's order
            g = m[m["scenario"] == sc].groupby("date")[col]
            stat = pd.DataFrame({"mid": g.mean(), "lo": g.quantile(0.05), "hi": g.quantile(0.95)}).sort_index()
            t = pd.to_datetime(stat.index, format="%Y-%m")
            st = styles[sc]
            if bands:
                ax.fill_between(t, stat["lo"] / f, stat["hi"] / f, color=st["color"], alpha=0.13, lw=0)
            ax.plot(
                t,
                stat["mid"] / f,
                color=st["color"],
                ls=st["ls"],
                lw=2.0 if sc == reference else 1.6,
                label=labels.get(sc, sc),
            )
        ax.set_title(what, fontsize=11)
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))  # from zero, or below it where the data go
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=9.5)
        last = m["date"].max()
        for a, b in closures:
            if a > last:
                continue
            ax.axvspan(
                pd.to_datetime(a, format="%Y-%m"),
                pd.to_datetime(min(b or last, last), format="%Y-%m"),
                color="#999999",
                alpha=0.15,
                lw=0,
            )
        for d, _ in starts:
            ax.axvline(pd.to_datetime(d, format="%Y-%m"), color="#555555", ls=(0, (4, 3)), lw=1.0)
    notes = []
    if starts:
        notes.append("dashed lines: a sanction starts (" + "; ".join(f"{d} {w}" for d, w in starts) + ")")
    if closures:
        notes.append("grey: North Korea's border closed")
    band = "lines: mean of the runs; bands: 90% of the runs" if bands else "lines: mean of the runs"
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        names,
        loc="lower center",
        ncol=min(4, len(names)),
        fontsize=9.5,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
    )
    rows = -(-len(names) // 4)
    fig.suptitle(f"{title}\n{band}; {scale_note(scale)}", fontsize=11)
    import textwrap

    foot = "\n".join(textwrap.wrap("; ".join(notes), 150)) if notes else ""
    if foot:
        fig.text(0.5, 0.035 + 0.028 * rows, foot, ha="center", va="bottom", fontsize=8.5, color="#333333")
    bottom = 0.07 + 0.03 * rows + (0.03 * (foot.count("\n") + 1) if foot else 0)
    fig.tight_layout(rect=(0, bottom, 1, 0.95))
    return save(fig, path, tight=False)


# ------------------------------------------------------------------ welfare as differences from the reference
WELFARE = [
    ("net_gain", "net gain of a posting, $ (workers who left)"),
    ("retained_monthly", "what a worker keeps per month abroad, $"),
]


def welfare_differences(
    distributions: pd.DataFrame, labels: dict[str, str], reference: str, path: Path, title: str
) -> Path | None:
    """Each scenario's distribution of net gain and of what a worker keeps per month, as the difference from the
    reference at each percentile of workers (paired run by run: same sample, same seed), averaged over the pairs;
    with up to four scenarios, a band holding 90% of the pairs. Where the curves of the levels would lie on top
    of each other, their differences show what changes, and for whom (the poorest on the left)."""
    d = distributions
    scenarios = [sc for sc in _order(d["scenario"], labels) if sc != reference]
    if reference not in set(d["scenario"]) or not scenarios:
        return None
    styles = scenario_styles(_order(d["scenario"], labels), reference)
    key = ["sample", "replicate", "q"]
    ref = d[d["scenario"] == reference].set_index(key)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.9))
    bands = len(scenarios) <= 4
    for ax, (col, what) in zip(axes, WELFARE):
        for sc in scenarios:
            g = d[d["scenario"] == sc].set_index(key)
            common = g.index.intersection(ref.index)
            diff = (g.loc[common, col] - ref.loc[common, col]).reset_index()
            diff = diff[(diff["q"] >= 5) & (diff["q"] <= 95)]
            s = diff.groupby("q")[col]
            mid, lo, hi = s.mean(), s.quantile(0.05), s.quantile(0.95)
            st = styles[sc]
            if bands:
                ax.fill_between(mid.index, lo, hi, color=st["color"], alpha=0.13, lw=0)
            ax.plot(mid.index, mid.to_numpy(), color=st["color"], ls=st["ls"], lw=1.8, label=labels.get(sc, sc))
        ax.axhline(0, color="#000000", lw=1.0)
        ax.set_title(f"{what}\ndifference from '{labels.get(reference, reference)}'", fontsize=10.5)
        ax.set_xlabel("workers ranked from the poorest (5th percentile) to the richest (95th)", fontsize=10)
        ax.set_xlim(5, 95)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=9.5)
    axes[0].set_ylabel("difference, $ (above 0: better off)", fontsize=10)
    handles, names = axes[0].get_legend_handles_labels()
    rows = -(-len(names) // 4)
    fig.legend(handles, names, loc="lower center", ncol=min(4, len(names)), fontsize=9.5, frameon=False)
    band = "; bands: 90% of the paired runs" if bands else ""
    fig.suptitle(f"{title}\nlines: mean over paired runs (same parameters, same seeds){band}", fontsize=11)
    fig.tight_layout(rect=(0, 0.06 + 0.04 * rows, 1, 0.93))
    return save(fig, path, tight=False)
