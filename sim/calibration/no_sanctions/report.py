"""The calibration report (report.md, the CSV tables, the figures) and the terminal's summary."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from ...common.files import atomic_write
from ...common.formatting import fixed, number, percent
from ...plots.calibration import calibration_figures
from ...results.outcomes import OUTCOMES
from ..targets import ROOT


def _with_interval(r, scen: str, fmt) -> str:
    """'mean [low, high]' of a table row's <scen>_mean and interval, each formatted by fmt."""
    return f"{fmt(r[f'{scen}_mean'])} [{fmt(r[f'{scen}_ci_low'])}, {fmt(r[f'{scen}_ci_high'])}]"


def _fmt_value(x: float, outcome: str) -> str:
    return OUTCOMES[outcome].format(x, full=True)


def _fmt_fact(x: float, fct_measure: str) -> str:
    if fct_measure == "change":
        return percent(x, 0, sign=True)
    if fct_measure == "share":
        return percent(x, 0)
    if fct_measure == "per_year":
        return number(x, money=True, full=True)
    return fixed(x, "{:,.0f}")


def report_text(cal) -> str:
    """The calibration report in Markdown (report.md)."""
    a, spec = cal.analysis, cal.targets.spec
    s = spec.search
    n_sets = len(a.per_set)
    shown = cal.targets.path
    if shown is not None and shown.is_relative_to(ROOT):
        shown = shown.relative_to(ROOT)
    lines = [
        "# Calibration report",
        "",
        f"Targets: `{shown}`. Method: rejection ABC with a uniform kernel on the target ranges "
        f"(docs/ODD.md, 'Calibration'). Search: {n_sets} parameter sets (Latin hypercube over the priors) x "
        f"{s.replicates} replicates at {s.scale:g} of the workforce, array engine; a set is accepted when its "
        f"replicate mean lands inside every range.",
        "",
        f"**Accepted: {a.accepted} of {n_sets} sets ({100 * a.accepted / n_sets:.0f}%).** "
        + (
            "The calibrated file uses the accepted set nearest the centre of every range."
            if a.reachable
            else "No set landed inside every range: the calibrated file uses the set nearest to them, and the table "
            "below shows which targets it misses."
        ),
        "",
        f"## Targets (`{spec.scenario}`; check: {spec.check.replicates} fresh seeds at {spec.check.scale:g} scale)",
        "",
        "Intervals are 95% t intervals of the mean over the seeds: the model's noise for these parameters, not "
        "the parameters' uncertainty (for that, see 'What the targets leave uncertain').",
        "",
        "| target | range | calibrated: mean [95% interval] | inside | defaults: mean [95% interval] | inside | search sets inside | source |",
        "|---|---|---|---|---|---|---:|---|",
    ]
    for _, r in cal.confirm.iterrows():
        o = r["outcome"]
        fmt = partial(_fmt_value, outcome=o)
        if r["source"] == "not a target":
            continue
        lines.append(
            f"| {r['what'] or r['target']} | {_fmt_value(r['low'], o)}-{_fmt_value(r['high'], o)} | "
            f"{_with_interval(r, 'calibrated', fmt)} | {'yes' if r['calibrated_inside'] else '**no**'} | "
            f"{_with_interval(r, 'defaults', fmt)} | "
            f"{'yes' if r['defaults_inside'] else 'no'} | {100 * r['search_inside']:.0f}% | {r['source']} |"
        )
    lines += [
        "",
        "Not targeted, shown for what the calibration does to welfare and revenue:",
        "",
        "| outcome | calibrated | defaults |",
        "|---|---|---|",
    ]
    for _, r in cal.confirm[cal.confirm["source"] == "not a target"].iterrows():
        o = r["outcome"]
        lines.append(
            f"| {r['what']} | {_with_interval(r, 'calibrated', partial(_fmt_value, outcome=o))} | "
            f"{_fmt_value(r['defaults_mean'], o)} |"
        )
    lines += [
        "",
        "## Parameters: what the targets pin down",
        "",
        "Width ratio: the accepted sets' 5-95% range over the prior's (from the same sample). Below 0.5 the "
        "targets pin the parameter down; 0.5-0.8 they narrow it; above 0.8 they leave it loose. Strongest "
        "target: the targeted outcome with the largest Spearman correlation with the parameter over all sets.",
        "",
        "| parameter | prior | calibrated | accepted 5-95% | width ratio | verdict | strongest target (rho) | source |",
        "|---|---|---:|---|---:|---|---|---|",
    ]
    for _, r in a.parameters.iterrows():
        strongest = f"{r['strongest_target']} ({r['rho']:+.2f})" if r["strongest_target"] else "none (every rho < 0.1)"
        lines.append(
            f"| `{r['parameter']}` | {r['prior']} | {r['calibrated']:.4g} | {r['posterior_p05']:.4g} to "
            f"{r['posterior_p95']:.4g} | {r['width_ratio']:.2f} | {r['verdict']} | {strongest} | {r['source']} |"
        )
    if a.accepted:
        text = f"The accepted sets fill {100 * a.accepted / n_sets:.0f}% of the prior" + (
            ": the targets rule out the rest jointly, even where each parameter alone stays loose."
            if a.accepted < n_sets
            else ": the targets rule out nothing."
        )
        if a.tradeoffs:
            text += (
                " The strongest rank correlations among the accepted sets (Spearman's rho; below 0.3 in size, weak): "
                + "; ".join(f"`{x}` and `{y}` {r:+.2f}" for r, x, y in a.tradeoffs)
                + "."
            )
        lines += ["", text]
    if len(a.predictive):
        lines += [
            "",
            "## What the targets leave uncertain",
            "",
            f"Outcomes no target measures, over every searched set and over the accepted ones (5%, median, 95%; "
            f"search runs at {s.scale:g} scale, revenue scaled to the whole workforce). A policy figure that "
            "depends on them carries this spread.",
            "",
            "| outcome | all sets | accepted sets |",
            "|---|---|---|",
        ]
        for _, r in a.predictive.iterrows():
            o = r["outcome"]
            lines.append(
                f"| {r['what']} | {_fmt_value(r['all_p05'], o)}, {_fmt_value(r['all_p50'], o)}, "
                f"{_fmt_value(r['all_p95'], o)} | {_fmt_value(r['accepted_p05'], o)}, "
                f"{_fmt_value(r['accepted_p50'], o)}, {_fmt_value(r['accepted_p95'], o)} |"
            )
    if len(cal.validation):
        lines += [
            "",
            f"## Validation (out of sample): `{spec.validation_scenario}`",
            "",
            "These figures were not used in the fit. The scenario is run with the calibrated values and with "
            "the defaults, same seeds. The interval is over the seeds only (noise, not parameter uncertainty).",
            "",
            "| fact | period | reported | calibrated: mean [95% interval] | defaults | source | note |",
            "|---|---|---|---|---|---|---|",
        ]
        for _, r in cal.validation.iterrows():
            m = r["measure"]
            rep = _fmt_fact(r["reported"], m) if r["reported"] == r["reported"] else ""
            if r["reported_low"] == r["reported_low"]:
                rng = f"{_fmt_fact(r['reported_low'], m)}-{_fmt_fact(r['reported_high'], m)}"
                rep = f"{rep} ({rng})" if rep else rng
            lines.append(
                f"| {r['what']} | {r['period']} | {rep} | "
                f"{_with_interval(r, 'calibrated', partial(_fmt_fact, fct_measure=m))} | "
                f"{_fmt_fact(r['defaults_mean'], m)} | {r['source']} | {r['note']} |"
            )
    lines += [
        "",
        "## Files",
        "",
        "- `targets.csv`, `parameters.csv`, `predictive.csv`, `validation.csv`, `sets.csv` (every searched set: values, mean "
        "outcomes, positions, distance, accepted)",
        "- `plots/fit.png`, `plots/posterior.png`, `plots/profiles.png`"
        + (", `plots/validation.png`" if len(cal.validation) else ""),
        "- `calibrated.toml` (also written to the targets file's `output`)",
        "- `search/`, `confirm/`"
        + (", `validation/`" if len(cal.validation) else "")
        + ": the experiment folders (runs, monthly series, manifests)",
        "",
    ]
    return "\n".join(lines)


def write_report(cal) -> list[Path]:
    f = cal.folder
    written = []
    for name, df in (
        ("targets.csv", cal.confirm),
        ("parameters.csv", cal.analysis.parameters),
        ("predictive.csv", cal.analysis.predictive),
        ("sets.csv", cal.analysis.per_set),
        ("validation.csv", cal.validation),
    ):
        if len(df):
            tmp = f / f".{name}.tmp"
            df.to_csv(tmp, index=False, float_format="%.6g")
            os.replace(tmp, f / name)
            written.append(f / name)
    written += calibration_figures(cal, f / "plots")
    atomic_write(f / "report.md", report_text(cal).encode())
    written.append(f / "report.md")
    return written


def summary_lines(cal) -> list[str]:
    """A short plain-text account for the terminal."""
    a = cal.analysis
    lines = [f"accepted {a.accepted} of {len(a.per_set)} parameter sets (inside every target range)"]
    for _, r in cal.confirm.iterrows():
        if r["source"] == "not a target":
            continue
        o = r["outcome"]
        lines.append(
            f"  {r['target']:<34} {_with_interval(r, 'calibrated', partial(_fmt_value, outcome=o)):>26}  "
            f"range {_fmt_value(r['low'], o)}-{_fmt_value(r['high'], o)}  {'inside' if r['calibrated_inside'] else 'OUTSIDE'}"
        )
    pinned = a.parameters.loc[a.parameters["verdict"] == "pinned", "parameter"].tolist()
    loose = a.parameters.loc[a.parameters["verdict"] == "loose", "parameter"].tolist()
    lines.append(f"  pinned: {', '.join(pinned) or 'none'}; loose: {', '.join(loose) or 'none'}")
    for _, r in cal.validation.iterrows():
        m = r["measure"]
        rep = (
            _fmt_fact(r["reported"], m)
            if r["reported"] == r["reported"]
            else f"{_fmt_fact(r['reported_low'], m)}-{_fmt_fact(r['reported_high'], m)}"
        )
        lines.append(f"  validation: {r['what']}: model {_fmt_fact(r['calibrated_mean'], m)}, reported {rep}")
    return lines
