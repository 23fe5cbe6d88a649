"""The sensitivity figure of an experiment (an `ExperimentResult`). The comparison figures (changes, trade-off,
series, welfare) are `sim.plots.report`'s, drawn by `sim.explore.report.figures`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.ticker import FuncFormatter

from ..common.formatting import number, percent
from ..results.outcomes import OUTCOMES
from .sanctions import parameter_label
from .style import plt, save


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
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(10 if long_labels else 6.5 * cols, 0.35 * len(groups[0][1]) * rows + 1.5 * rows),
        squeeze=False,
    )
    sobol = "ST" in sens
    for ax, ((scenario, outcome, of), g) in zip(axes.flat, groups):
        g = g.sort_values("ST" if sobol else "mu_star")
        y = np.arange(len(g))
        if sobol:
            ax.barh(y - 0.2, g["S1"], 0.4, xerr=g["S1_conf"], label="first order S1", color="#0072B2")
            ax.barh(y + 0.2, g["ST"], 0.4, xerr=g["ST_conf"], label="total ST", color="#D55E00")
        else:
            ax.barh(y - 0.2, g["mu_star"], 0.4, xerr=g["mu_star_conf"], label="mu*", color="#0072B2")
            ax.barh(y + 0.2, g["sigma"], 0.4, label="sigma", color="#D55E00")
        ax.set_yticks(y, [parameter_label(p) for p in g["parameter"]], fontsize=8)
        labels = result.labels
        what = (
            OUTCOMES[outcome].label
            if of == "level"
            else f"change in {OUTCOMES[outcome].label} from {labels.get(result.reference, result.reference)}"
        )
        ax.set_title(f"{labels.get(scenario, scenario)}: {what}", fontsize=9)
        if sobol:
            ax.set_xlabel("share of the outcome's variance", fontsize=8)
        else:  # effects in the outcome's unit (a total's at full scale: `ExperimentResult.sensitivity`), no offset
            out = OUTCOMES[outcome]
            ax.xaxis.set_major_formatter(
                FuncFormatter(
                    lambda v, _, share=out.unit == "share", money=out.money: (
                        percent(v, 0) if share else number(v, money=money)
                    )
                )
            )
            ax.set_xlabel(f"effect on it, {out.unit}" + (" (full scale)" if out.total else ""), fontsize=8)
        ax.grid(alpha=0.3, axis="x")
        ax.legend(fontsize=7)
    for ax in axes.flat[len(groups) :]:
        ax.set_visible(False)
    fig.suptitle(("Sobol indices (95% bootstrap intervals)" if sobol else "Morris elementary effects"), fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_size_inches()[1]))  # room for the title above the panels
    return save(fig, path, tight=False)
