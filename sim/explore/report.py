"""The analyst's report of an experiment folder: ``report.html`` (one self-contained file), ``report.md``,
``report.xlsx`` and the figures in ``plots/`` (``olsim compare``, ``olsim report``).

The report says what was compared (each scenario's policies and compliance in words, scale, months,
replicates, seeds, version and commit), gives the headline table (per scenario, each outcome's level and its
paired change from the reference, with intervals; totals at full scale), the figures of `sim.plots.report`, how
to read them, and the assumptions that matter most (from the experiment's sensitivity indices when it has
them, else the compared files' assumed policy settings).
"""

from __future__ import annotations

import base64
import html
import math
import re
import time
from collections.abc import Set as AbstractSet
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.files import atomic_write
from ..common.formatting import number, percent
from ..results.outcomes import HEADLINE, KEPT, OUTCOMES, REPORTED, REVENUE, WORKERS_AT_END
from .analysis import CREDIBLE, POLICY_IN_UNIT, SUMMARY_IN_UNIT, ExperimentResult


# ------------------------------------------------------------------ the headline table
HEADLINE_IN_UNIT = ("level", "level_low", "level_high", "change", "change_low", "change_high")  # totals: full scale
HEADLINE_COLUMNS = (
    "scenario",
    "outcome",
    *HEADLINE_IN_UNIT,
    "change_pct",
    "change_pct_low",
    "change_pct_high",
    "p_below",
)


def headline(result: ExperimentResult) -> pd.DataFrame:
    """Per (scenario, outcome): level, level_low, level_high, change, change_low, change_high, change_pct,
    change_pct_low, change_pct_high, p_below (posterior only). Replicated experiments: the mean and the 95%
    t interval over replicates, the paired change (same seeds) and its 95% t interval; posterior experiments: the
    median and the 90% credible interval over the draws. Totals (USD a year, workers) at full scale."""
    if not len(result.runs):  # an experiment stopped before its first run: the table's columns, no rows
        return pd.DataFrame(columns=HEADLINE_COLUMNS)
    rows = []
    if result.is_posterior:
        a = result.policy_answers()
        for _, r in a.iterrows():
            rows.append(
                {
                    "scenario": r["scenario"],
                    "outcome": r["outcome"],
                    "level": r["median"],
                    "level_low": r["low"],
                    "level_high": r["high"],
                    "change": r["change_median"],
                    "change_low": r["change_low"],
                    "change_high": r["change_high"],
                    "change_pct": r["change_pct_median"],
                    "change_pct_low": r["change_pct_low"],
                    "change_pct_high": r["change_pct_high"],
                    "p_below": r["p_below_reference"],
                }
            )
    elif sampled(result):
        runs = result.runs
        ref = runs[runs["scenario"] == result.reference].set_index(["sample", "replicate"])
        for scenario, g in runs.groupby("scenario", sort=False):
            keyed = g.set_index(["sample", "replicate"])
            common = keyed.index.intersection(ref.index)
            for o in result.outcomes:
                v = g[o].to_numpy(float)
                v = v[np.isfinite(v)]
                d = (keyed.loc[common, o] - ref.loc[common, o]).to_numpy(float)
                d = d[np.isfinite(d)]
                base = abs(float(np.nanmean(ref.loc[common, o].to_numpy(float)))) if len(common) else math.nan
                q = lambda x, p: float(np.quantile(x, p)) if len(x) else math.nan  # noqa: E731
                pct = lambda x: 100 * x / base if base and base == base else math.nan  # noqa: E731
                mean_d = float(d.mean()) if len(d) else math.nan
                rows.append(
                    {
                        "scenario": scenario,
                        "outcome": o,
                        "level": float(v.mean()) if len(v) else math.nan,
                        "level_low": q(v, 0.025),
                        "level_high": q(v, 0.975),
                        "change": mean_d,
                        "change_low": q(d, 0.025),
                        "change_high": q(d, 0.975),
                        "change_pct": pct(mean_d),
                        "change_pct_low": pct(q(d, 0.025)),
                        "change_pct_high": pct(q(d, 0.975)),
                        "p_below": float((d < 0).mean()) if len(d) and scenario != result.reference else math.nan,
                    }
                )
    else:
        s = result.summary()
        ref = s[s["scenario"] == result.reference].set_index("outcome")["mean"]
        for _, r in s.iterrows():
            base = abs(ref.get(r["outcome"], math.nan))
            pct = lambda v: 100 * v / base if base and base == base else math.nan  # noqa: E731
            rows.append(
                {
                    "scenario": r["scenario"],
                    "outcome": r["outcome"],
                    "level": r["mean"],
                    "level_low": r["ci_low"],
                    "level_high": r["ci_high"],
                    "change": r["diff_mean"],
                    "change_low": r["diff_ci_low"],
                    "change_high": r["diff_ci_high"],
                    "change_pct": r["diff_pct"],
                    "change_pct_low": pct(r["diff_ci_low"]),
                    "change_pct_high": pct(r["diff_ci_high"]),
                    "p_below": math.nan,
                }
            )
    t = pd.DataFrame(rows)
    return result.full_scale(t, HEADLINE_IN_UNIT) if len(t) else t


def sampled(result: ExperimentResult) -> bool:
    """An experiment over samples of uncertain parameters (lhs, sobol, morris, grid), not a posterior's."""
    return result.manifest["sampling"]["method"] not in ("none", "posterior")


def interval_words(result: ExperimentResult) -> str:
    m = result.manifest["experiment"]
    if sampled(result):
        return (
            f"mean and the range holding 95% of the {len(result.runs) // max(1, result.runs['scenario'].nunique()):,} "
            f"runs per scenario ({m['sampling']['method']} samples of the uncertain parameters x {m['replicates']} "
            f"replicate{'s' if m['replicates'] != 1 else ''}; changes paired run by run: same sample, same seeds)"
        )
    if result.is_posterior:
        return (
            f"median and {CREDIBLE:.0%} credible interval over {m['sampling']['n']} posterior draws x "
            f"{m['replicates']} replicates (paired within each draw: same parameters, same seeds)"
        )
    return (
        f"mean and 95% interval over {m['replicates']} replicates (seeds {m['seed']} to "
        f"{m['seed'] + m['replicates'] - 1}; a level's interval on the log scale for what cannot be negative and "
        f"the logit for a share, so no bound is impossible; changes paired run by run: same seeds)"
    )


def interval_short(result: ExperimentResult) -> str:
    """One line for a figure: what its markers and bars are."""
    m = result.manifest["experiment"]
    if sampled(result):
        return f"markers: mean; bars: the range of 95% of the runs over {m['sampling']['method']} samples"
    if result.is_posterior:
        return f"markers: median; bars: {CREDIBLE:.0%} credible interval over {m['sampling']['n']} posterior draws"
    return f"markers: mean; bars: 95% interval over {m['replicates']} replicates"


def _fmt(o: str, v: float, sign: bool = False) -> str:
    if v != v:
        return "n/a"
    out = OUTCOMES[o]
    if out.unit == "share":
        return percent(v, sign=sign)
    if out.money:
        text = number(abs(v), money=True)
        return ("-" if v < 0 else "+" if sign else "") + text
    text = number(abs(v)) if out.total else f"{abs(v):,.2f}" if abs(v) < 10 else f"{abs(v):,.1f}"
    return ("-" if v < 0 else "+" if sign else "") + text


def _cells(t: pd.DataFrame, reference: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(scenario, outcome) -> (level [interval], change [interval] or '' for the reference)."""
    out = {}
    for _, r in t.iterrows():
        o = r["outcome"]
        level = f"{_fmt(o, r['level'])} [{_fmt(o, r['level_low'])}, {_fmt(o, r['level_high'])}]"
        if r["scenario"] == reference:
            change = "reference"
        elif OUTCOMES[o].change_in_percent and r["change_pct"] == r["change_pct"]:
            p = lambda v: f"{v:+.0f}%" if v == v else "n/a"  # noqa: E731
            change = f"{p(r['change_pct'])} [{p(r['change_pct_low'])}, {p(r['change_pct_high'])}]"
        else:
            change = (
                f"{_fmt(o, r['change'], True)} [{_fmt(o, r['change_low'], True)}, {_fmt(o, r['change_high'], True)}]"
            )
        if r["scenario"] != reference and r["change_low"] <= 0 <= r["change_high"]:
            change += f" {NOT_DISTINGUISHABLE}"  # its interval includes no change (the how-to-read says so)
        out[(r["scenario"], o)] = (level, change)
    return out


NOT_DISTINGUISHABLE = "(n.d.)"  # a change whose interval includes 0: not distinguishable from no change


def findings(t: pd.DataFrame, reference: str, labels: dict[str, str], replicated: bool) -> list[str]:
    """One plain sentence per scenario (issue 32): what it does to the revenue that reaches the state, to what a
    worker keeps per month worked and to the workers abroad at the end, each with its interval, from the headline
    table; then, for replicated experiments, the outcomes whose change the replicates cannot tell from none."""
    rows = {(r["scenario"], r["outcome"]): r for _, r in t.iterrows()}
    ref = labels.get(reference, reference)
    said = []

    def part(sc: str, o: str, what: str, after: str = "", plural: bool = False) -> str | None:
        r = rows.get((sc, o))
        if r is None or r["change"] != r["change"]:
            return None
        pct = OUTCOMES[o].change_in_percent and r["change_pct"] == r["change_pct"]
        if r["change_low"] <= 0 <= r["change_high"]:
            return (
                f"{what} {'do' if plural else 'does'} not change distinguishably ({_fmt(o, r['level'])}{after} against "
                f"{_fmt(o, r['level'] - r['change'])})"
            )
        way = ("fall" if plural else "falls") if r["change"] < 0 else ("rise" if plural else "rises")
        if pct:
            lo, hi = sorted((abs(r["change_pct_low"]), abs(r["change_pct_high"])))
            size = f"by {abs(r['change_pct']):.0f}% [{lo:.0f}%, {hi:.0f}%]"
        else:
            lo, hi = sorted((abs(r["change_low"]), abs(r["change_high"])))
            size = f"by {_fmt(o, abs(r['change']))} [{_fmt(o, lo)}, {_fmt(o, hi)}]"
        return f"{what} {way} {size}, to {_fmt(o, r['level'])}{after}"

    for sc in dict.fromkeys(t["scenario"]):
        if sc == reference:
            continue
        bits = [
            b
            for b in (
                part(sc, REVENUE, "the revenue that reaches the state", " a year"),
                part(sc, KEPT, "what a worker keeps per month worked", " a month"),
                part(sc, WORKERS_AT_END, "the workers abroad at the end", "", plural=True),
            )
            if b
        ]
        if bits:
            said.append(f"Against {ref}, {labels.get(sc, sc)}: " + "; ".join(bits) + ".")
        if replicated:
            unresolved = [
                OUTCOMES[o].label for (s, o), r in rows.items() if s == sc and r["change_low"] <= 0 <= r["change_high"]
            ]
            if unresolved:
                said.append(
                    f"With these replicates, {labels.get(sc, sc)}'s change in {' and '.join(unresolved)} cannot be told "
                    f"from no change (n.d.): more replicates, or a larger scale, would resolve it or show it is none."
                )
    return said


def _md(text: str) -> str:
    """Text for a Markdown table cell or list item: only what Markdown would read as markup escaped, so that the
    text pastes cleanly (an interval's "[a, b]" stays as it is: brackets are a link only before "(", "[" or ":";
    an underscore inside a word is no emphasis; "#" is a heading only at the start)."""
    out = str(text).replace("\\", "\\\\")
    for ch in "|*`<>":
        out = out.replace(ch, "\\" + ch)
    out = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", out)
    out = re.sub(r"\](?=[(\[:])", r"\\]", out)
    return "\\" + out if out.startswith("#") else out


def outcome_title(o: str) -> str:
    out = OUTCOMES[o]
    unit = {"USD a year": "$", "USD": "$", "share": "%"}.get(out.unit, out.unit)
    return out.label if out.label.endswith(("worker-years",)) else f"{out.label}, {unit}"


# ------------------------------------------------------------------ what was compared, in words
def _all_levels(p: dict) -> list[float]:
    out = []
    for c in [p.get("compliance", 1.0), *(q["compliance"] for q in p.get("schedule") or [])]:
        out += list(c.values()) if isinstance(c, dict) else [c]
    return out


def in_effect(p: dict) -> bool:
    """False for a policy every host ignores (compliance 0 throughout): a scenario's way of switching it off."""
    return any(v > 0 for v in _all_levels(p))


def acts_by(p: dict, last: str | None) -> bool:
    """Whether policy ``p`` (months as dates) starts by ``last``, the last month run (None: not known, so it may)."""
    return last is None or p["start"] <= last


def describe_policy(p: dict, drawn: AbstractSet[str] = frozenset()) -> str:
    """One policy (a resolved ``[[policies]]`` entry, months as dates) in a sentence, every field said with its
    unit as its kind declares it (`sim.core.policies.describe`); the fields in ``drawn`` (e.g. 'compliance',
    'evasion') vary over a posterior's draws and are said to."""
    from ..core.policies import describe

    return describe(p, drawn)


def drawn_fields(result: ExperimentResult, scenario: str) -> dict[int, set[str]]:
    """Posterior experiments: per policy index, the fields this scenario took from the draws (compliance,
    evasion, ...), read from the columns runs.parquet records as applied (NaN where the scenario kept its own)."""
    if not result.is_posterior:
        return {}
    runs = result.runs[result.runs["scenario"] == scenario]
    out: dict[int, set[str]] = {}
    for c in runs.columns:
        parts = c.split(".")
        if len(parts) >= 3 and parts[0] == "policies" and parts[1].isdigit() and runs[c].notna().any():
            out.setdefault(int(parts[1]), set()).add(parts[2])
    return out


def scenario_policies(result: ExperimentResult) -> dict[str, list[dict]]:
    """Each scenario's policies as run (from the manifest; folders written before it was recorded: from the
    experiment file, re-read)."""
    stored = result.manifest.get("scenario_policies")
    if stored is not None:
        return stored
    try:
        import tomllib

        from .plan import plan_experiment, policy_dates

        path = result.manifest.get("experiment_file")
        folder = Path(path).parent if path else result.folder
        plan = plan_experiment(tomllib.loads(result.manifest["experiment_text"]), folder)
        return policy_dates(plan)
    except Exception:  # the experiment file's neighbours moved: say nothing rather than guess
        return {}


def assumptions(
    result: ExperimentResult, policies: dict[str, list[dict]], labels: dict[str, str], last: str | None = None
) -> list[str]:
    """What the answer hinges on: the top parameters of the sensitivity indices of the paired changes (when the
    experiment has them), else the compared scenarios' policy settings that are assumptions (of the policies that
    start by ``last``, the last month run, when it is given: one that never acted assumes nothing)."""
    sens = result.sensitivity()
    lines = []
    if len(sens):
        from ..plots.sanctions import parameter_label

        key = "ST" if "ST" in sens else "mu_star"
        of = "change" if (sens["of"] == "change").any() else "level"
        for (sc, o), g in sens[sens["of"] == of].groupby(["scenario", "outcome"], sort=False):
            if o not in HEADLINE:
                continue
            top = g.sort_values(key, ascending=False).head(4)
            what = OUTCOMES[o].label + (
                f" (its change from '{labels.get(result.reference, result.reference)}')" if of == "change" else ""
            )
            lines.append(f"{labels.get(sc, sc)}, {what}: " + "; ".join(parameter_label(p) for p in top["parameter"]))
        return lines[:8]
    from ..core.policies import POLICY_CLASSES, assumed_settings, field_words, is_sanction, levels_in_words

    # each assumed setting once, with the scenarios that make it (in the scenarios' order): a reader with three
    # scenarios sees which assumption belongs to which
    settings: dict[str, list[str]] = {}
    for sc, pols in policies.items():
        drawn = drawn_fields(result, sc)
        label = labels.get(sc, sc)
        for i, p in enumerate(pols):
            cls = POLICY_CLASSES.get(p["kind"])
            if cls is None or not in_effect(p) or not is_sanction(p):  # a fact of the world is not a lever
                continue
            if not acts_by(p, last):
                continue
            taken = drawn.get(i, set())
            said = []
            if "compliance" not in taken:
                said.append(
                    f"{cls.heading()}, the hosts' compliance: {levels_in_words(p.get('compliance', 1.0))}"
                    + (", then as scheduled" if p.get("schedule") else "")
                )
            said += [f"{cls.heading()}, {field_words(cls, k, p[k])}" for k in assumed_settings(p) if k not in taken]
            for text in said:
                names = settings.setdefault(text, [])
                if label not in names:
                    names.append(label)
    for text, names in settings.items():
        who = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        lines.append(f"{who}: {text} (assumed in the scenario file{'s' if len(names) > 1 else ''})")
    if result.is_posterior:
        lines.append(
            "Compliance, evasion and the other fitted parameters vary over the posterior's draws: the "
            "intervals above include them. The sensitivity experiment (experiments/sensitivity_sanctions.toml) "
            "says which matter most."
        )
    return lines


# ------------------------------------------------------------------ the report
HOW_TO_READ_REPLICATES = (
    "Each scenario was run with the same seeds (common random numbers), so the change from the reference is taken "
    "run by run and its interval is far narrower than the two levels' intervals would suggest. The intervals are the "
    "model's noise over the replicates, given the parameters in the files: they do not include the uncertainty of "
    "those parameters (a posterior experiment or a sweep does; see the README's Experiments section). A change whose "
    "interval includes 0 is not distinguishable from no change at this number of replicates: it is marked (n.d.)."
)
HOW_TO_READ_SAMPLED = (
    "Each run drew the uncertain parameters from their ranges (the experiment's samples); every scenario ran on the "
    "same samples with the same seeds, so the change from the reference is taken run by run. The ranges hold 95% of the "
    "runs: they show what the answer could be across the parameters' ranges (and the model's noise), not a confidence "
    "interval of a mean. A change whose range includes 0 depends on the assumptions (marked (n.d.): not "
    "distinguishable from no change): see what it hinges on, below."
)
HOW_TO_READ_POSTERIOR = (
    "Each posterior draw is a parameter set the calibration found consistent with the facts; every scenario ran on "
    "the same draws with the same seeds, so the change from the reference is taken draw by draw. The intervals hold "
    "90% of the draws: the calibrated uncertainty of the parameters as well as the model's noise. A change whose "
    "interval includes 0 is not a robust answer: it is marked (n.d.), not distinguishable from no change."
)


def report_title(result: ExperimentResult, labels: dict[str, str]) -> str:
    """'no sanctions vs history' for a comparison of files; the experiment's name otherwise."""
    names = [s["name"] for s in result.manifest["experiment"]["scenarios"]]
    if result.manifest["name"].startswith("compare-") and len(names) <= 4:
        return " vs ".join(labels.get(s, s) for s in names)
    return result.manifest["name"]


def analyse(
    result: ExperimentResult, plots: bool = True, seconds: dict | None = None, processes: int | None = 1
) -> list[Path]:
    """Everything an experiment folder gets once its runs are in: the tables (summary.csv, sensitivity.csv,
    policy_answers.csv, ranks.csv) and, with ``plots``, every figure in plots/. Returns the files written.
    ``seconds``: a dict that gets the time of the tables ("analysis") and of the figures ("figures");
    ``processes``: of the local pool that draws the figures side by side (1: this process draws them)."""
    t0 = time.perf_counter()
    written = result.write_analysis(plots=False)
    t1 = time.perf_counter()
    if plots and len(result.runs):
        written += result.write_analysis_figures()
        written += list(figures(result, processes).values())
    if seconds is not None:
        seconds.update(analysis=t1 - t0, figures=time.perf_counter() - t1)
    return written


FIGURES = ("changes", "tradeoff", "series", "welfare")


def figures(result: ExperimentResult, processes: int | None = 1) -> dict[str, Path]:
    """Draw the comparison figures into the folder's plots/: changes (forest plot of the paired changes),
    tradeoff, series, welfare (differences from the reference); those that apply. Returns name -> file.
    ``processes`` above 1: each figure drawn by a process of the local pool (`evaluators.map_local`), side by side
    (the same files: matplotlib draws the same pixels in any process)."""
    plots = result.folder / "plots"
    labels = result.labels
    table = headline(result)
    if not len(table):
        return {}
    has_reference = result.reference in set(result.runs["scenario"])  # not yet, in an interrupted experiment
    policies = {sc: [p for p in pols if in_effect(p)] for sc, pols in scenario_policies(result).items()}
    m = result.manifest["experiment"]
    ref = result.reference
    words = interval_words(result)
    scale = float(m.get("scale", 1.0))
    name = report_title(result, labels)
    for key in FIGURES:  # a figure that no longer applies is not left over from an earlier drawing
        (plots / f"{key}.png").unlink(missing_ok=True)
    jobs: list[tuple[str, ExperimentResult, tuple]] = [  # the longest first
        ("series", result, (scale, policies, plots / "series.png", f"{name}: month by month"))
    ]
    if has_reference:
        jobs += [
            (
                "tradeoff",
                result,
                (
                    table,
                    labels,
                    ref,
                    interval_short(result),
                    plots / "tradeoff.png",
                    f"{name}: revenue against what workers keep",
                ),
            ),
            ("changes", result, (table, labels, ref, words, plots / "changes.png", f"{name}: paired changes")),
            ("welfare", result, (plots / "welfare.png", f"{name}: who gains and who loses")),
        ]
    from .evaluators import map_local

    drawn = dict(zip([key for key, _, _ in jobs], map_local(draw_figure, jobs, processes)))
    return {key: drawn[key] for key in FIGURES if drawn.get(key)}


def draw_figure(key: str, result: ExperimentResult, args: tuple) -> Path | None:
    """One figure of `figures`, in whatever process draws it (matplotlib is imported there; the series and the
    distributions are read there)."""
    from ..plots import report as fig

    if key == "series":
        monthly = result.monthly([c for c, _, _, _ in fig.SERIES])
        return fig.series(monthly, result.labels, result.reference, *args)
    if key == "welfare":
        return fig.welfare_differences(result.distributions(), result.labels, result.reference, *args)
    return {"tradeoff": fig.tradeoff, "changes": fig.change_forest}[key](*args)


def _provenance(result: ExperimentResult) -> list[tuple[str, str]]:
    man, m = result.manifest, result.manifest["experiment"]
    v = man.get("versions") or {}
    scale = float(m.get("scale", 1.0))
    months = m.get("months") or (man.get("base_params") or {}).get("calendar", {}).get("months")
    start = (man.get("base_params") or {}).get("calendar", {}).get("start")
    warm = (man.get("base_params") or {}).get("calendar", {}).get("warmup", 0)
    return [
        (
            "runs",
            f"{len(result.runs):,} of {man['runs_total']:,}"
            + ("" if result.complete else " (incomplete: finish with --resume)"),
        ),
        (
            "scale",
            f"{100 * scale:.3g}% of every host's workers" + ("" if scale >= 1 else "; totals shown at full scale"),
        ),
        (
            "months",
            (f"{months} from {start}" if start else str(months))
            + (f", after a warm-up of {warm} months left out of the tables" if warm else ", no warm-up"),
        ),
        (
            "replicates",
            f"{m['replicates']} (seeds from {m['seed']}, {'fresh per draw' if m.get('seeds') == 'per_sample' else 'shared by every scenario'})",
        ),
        (
            "sampling",
            f"{m['sampling']['method']}"
            + (f", {m['sampling']['n']} draws from {m.get('posterior')}" if result.is_posterior else ""),
        ),
        ("engine", m.get("engine", "array")),
        (
            "version",
            f"overseas-labor-sim {v.get('package', '?')}, python {v.get('python', '?')}, numpy {v.get('numpy', '?')}, mesa {v.get('mesa', '?')}",
        ),
        ("commit", (man.get("git_commit") or "")[:12] or "not a git checkout"),
        ("written", time.strftime("%Y-%m-%d %H:%M")),
    ]


def write_report(result: ExperimentResult, draw: bool = True) -> list[Path]:
    """report.md, report.html, report.xlsx, report.docx in the folder, with the figures of `figures` (drawn now, or with
    ``draw=False`` those already in plots/). Returns the files written."""
    folder = result.folder
    labels = result.labels
    descriptions = {s["name"]: s.get("description") or "" for s in result.manifest["experiment"]["scenarios"]}
    ref = result.reference
    table = headline(result)
    table = table[table["outcome"].isin(REPORTED)] if len(table) else table
    policies = scenario_policies(result)
    pictures = (
        figures(result)
        if draw
        else {k: folder / "plots" / f"{k}.png" for k in FIGURES if (folder / "plots" / f"{k}.png").exists()}
    )
    outcomes = [o for o in REPORTED if o in set(table["outcome"])]
    scenarios = list(dict.fromkeys(table["scenario"]))
    cells = _cells(table, ref)
    words = interval_words(result)
    how = (
        HOW_TO_READ_POSTERIOR
        if result.is_posterior
        else HOW_TO_READ_SAMPLED
        if sampled(result)
        else HOW_TO_READ_REPLICATES
    )
    prov = _provenance(result)
    title = report_title(result, labels)
    cal = (result.manifest.get("base_params") or {}).get("calendar") or {}
    last = None
    if cal.get("start") and cal.get("months"):
        from ..core.params import Calendar

        last = Calendar(start=cal["start"], months=int(cal["months"])).date(int(cal["months"]) - 1)
    hinges = assumptions(result, policies, labels, last)
    what = []
    for sc in scenarios:
        fields = drawn_fields(result, sc)
        pols = [
            describe_policy(p, fields.get(i, set()))
            for i, p in enumerate(policies.get(sc, []))
            if in_effect(p) and acts_by(p, last)
        ]  # what acts within the months run
        text = pols or ["no sanctions or other policies"]
        what.append((labels.get(sc, sc) + (" (reference)" if sc == ref else ""), descriptions.get(sc, ""), text))
    written = []
    # Markdown
    found = findings(table, ref, labels, replicated=not (result.is_posterior or sampled(result)))
    md = (
        [f"# {_md(title)}", "", "## What it finds", ""]
        + [f"- {_md(f)}" for f in found]
        + ["", "## What was compared", ""]
    )
    for lab, desc, pols in what:
        md.append(f"- **{_md(lab)}**{' (' + _md(desc) + ')' if desc else ''}")
        md += [f"  - {_md(p)}" for p in pols]
    md += ["", "| | |", "|---|---|"] + [f"| {_md(k)} | {_md(v)} |" for k, v in prov]
    if result.reference not in set(result.runs["scenario"]):
        md += [
            "",
            f"**The reference '{_md(labels.get(ref, ref))}' has no finished runs yet**: no changes can be "
            f"computed; finish the experiment with --resume.",
        ]
    md += [
        "",
        "## Headline",
        "",
        f"Each cell: {words}. Below each level, the change from '{labels.get(ref, ref)}'.",
        "",
    ]
    md.append("| outcome | " + " | ".join(_md(labels.get(s, s)) for s in scenarios) + " |")
    md.append("|---" + "|---:" * len(scenarios) + "|")
    for o in outcomes:
        md.append(f"| {_md(outcome_title(o))} | " + " | ".join(_md(cells[(s, o)][0]) for s in scenarios) + " |")
        md.append("| change | " + " | ".join(_md(cells[(s, o)][1]) for s in scenarios) + " |")
    for key, caption in (
        ("changes", "Paired changes from the reference, with intervals"),
        ("tradeoff", "Revenue against what workers keep"),
        ("series", "Month by month"),
        ("welfare", "Who gains and who loses"),
    ):
        if key in pictures:
            md += ["", f"## {caption}", "", f"![{caption}](plots/{pictures[key].name})"]
    md += ["", "## How to read this", "", how, "", "## What the answer hinges on", ""]
    md += [f"- {_md(h)}" for h in hinges] or ["- (no sensitivity indices in this experiment)"]
    md += [
        "",
        "Files: `summary.csv` (every outcome, level and paired change; totals at full scale), `report.xlsx` "
        "(these tables, totals at full scale), `report.docx` (this report, for pasting), `runs.parquet` (one row per run, at the simulated scale), "
        "`monthly/` (every run's months, simulated scale).",
    ]
    atomic_write(folder / "report.md", ("\n".join(md) + "\n").encode())
    written.append(folder / "report.md")
    # HTML: one file, figures embedded, no network
    atomic_write(
        folder / "report.html",
        _html(title, what, prov, words, labels, ref, scenarios, outcomes, cells, pictures, how, hinges, found).encode(),
    )
    written.append(folder / "report.html")
    grid = headline_grid(scenarios, outcomes, cells, labels)
    written.append(_xlsx(folder / "report.xlsx", result, table, labels, what, prov, grid, words))
    written.append(
        _docx(folder / "report.docx", title, found, what, prov, grid, f"Each cell: {words}.", pictures, how, hinges)
    )
    return written + ([] if not draw else list(pictures.values()))


# the figures in the order the reports show them, with their captions
FIGURE_CAPTIONS = {
    "changes": (
        "Paired changes from the reference",
        "Each row a scenario; dot: the change; bar: its interval; the vertical line is no change.",
    ),
    "tradeoff": (
        "Revenue against what workers keep",
        "Up and to the left is better for workers and worse for the state; both axes start at zero.",
    ),
    "series": ("Month by month", "Dashed lines: a sanction starts; grey: North Korea's border closed."),
    "welfare": (
        "Who gains and who loses",
        "The difference from the reference at each percentile of workers, poorest on the left.",
    ),
}


def _docx(path: Path, title, found, what, prov, grid, words, pictures, how, hinges) -> Path:
    """report.docx (python-docx): what it finds, what was compared, the headline table as the HTML shows it (cell
    for cell), the figures with their captions, how to read it and what the answer hinges on; for pasting into a
    brief. Written to a temporary file and moved into place."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.shared import Inches, Pt

    doc = docx.Document()
    section = doc.sections[0]  # landscape: the headline table has a column per scenario
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Inches(0.7))
    doc.styles["Normal"].font.size = Pt(10)
    doc.add_heading(title, level=0)
    doc.add_heading("What it finds", level=1)
    for f in found:
        doc.add_paragraph(f, style="List Bullet")
    doc.add_heading("What was compared", level=1)
    for lab, desc, pols in what:
        doc.add_paragraph(lab + (f" ({desc})" if desc else ""), style="List Bullet")
        for p in pols:
            doc.add_paragraph(p, style="List Bullet 2")
    about = doc.add_table(rows=0, cols=2, style="Table Grid")
    for k, v in prov:
        cells = about.add_row().cells
        cells[0].text, cells[1].text = k, v
    doc.add_heading("Headline", level=1)
    doc.add_paragraph(words)
    table = doc.add_table(rows=len(grid), cols=len(grid[0]), style="Table Grid")
    for i, row in enumerate(grid):
        for j, text in enumerate(row):
            cell = table.cell(i, j)
            cell.text = text
            for run in cell.paragraphs[0].runs:
                run.font.size = Pt(8.5)
                run.font.bold = i == 0
    for key, (caption, note) in FIGURE_CAPTIONS.items():
        if key in pictures:
            doc.add_heading(caption, level=1)
            doc.add_picture(str(pictures[key]), width=Inches(8.5))
            doc.add_paragraph(note)
    doc.add_heading("How to read this", level=1)
    doc.add_paragraph(how)
    doc.add_heading("What the answer hinges on", level=1)
    for h in hinges or ["(no sensitivity indices in this experiment)"]:
        doc.add_paragraph(h, style="List Bullet")
    tmp = path.with_name(f".{path.name}.tmp")
    doc.save(str(tmp))
    tmp.replace(path)
    return path


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:1180px;margin:24px auto;
padding:0 20px;color:#1a1a1a;line-height:1.45;font-size:16px}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}
th{background:#f2f2f2;text-align:left}td.num{text-align:right;white-space:nowrap}tr.change td{color:#333;font-size:.93em;
background:#fafafa}img{max-width:100%;height:auto;border:1px solid #eee}figure{margin:1em 0}figcaption{color:#444;
font-size:.92em}.scroll{overflow-x:auto}ul{padding-left:1.3em}
@media print{body{max-width:none;font-size:11pt}h2{page-break-after:avoid}figure{page-break-inside:avoid}}
"""


def _html(title, what, prov, words, labels, ref, scenarios, outcomes, cells, figures, how, hinges, found=()) -> str:
    e = html.escape
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        "<h2>What it finds</h2><ul id='findings'>" + "".join(f"<li>{e(f)}</li>" for f in found) + "</ul>",
        "<h2>What was compared</h2><ul>",
    ]
    for lab, desc, pols in what:
        parts.append(
            f"<li><b>{e(lab)}</b>{' (' + e(desc) + ')' if desc else ''}<ul>"
            + "".join(f"<li>{e(p)}</li>" for p in pols)
            + "</ul></li>"
        )
    parts.append(
        "</ul><table id='provenance'>"
        + "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in prov)
        + "</table>"
    )
    parts.append(
        f"<h2>Headline</h2><p>Each cell: {e(words)}. Below each level (shaded), the change from "
        f"'{e(labels.get(ref, ref))}'.</p><div class='scroll'><table id='headline'><tr><th>outcome</th>"
        + "".join(f"<th>{e(labels.get(s, s))}</th>" for s in scenarios)
        + "</tr>"
    )
    for o in outcomes:
        parts.append(
            f"<tr><td>{e(outcome_title(o))}</td>"
            + "".join(f"<td class='num'>{e(cells[(s, o)][0])}</td>" for s in scenarios)
            + "</tr>"
        )
        parts.append(
            "<tr class='change'><td>change</td>"
            + "".join(f"<td class='num'>{e(cells[(s, o)][1])}</td>" for s in scenarios)
            + "</tr>"
        )
    parts.append("</table></div>")
    captions = FIGURE_CAPTIONS
    for key, (cap, note) in captions.items():
        if key in figures:
            data = base64.b64encode(Path(figures[key]).read_bytes()).decode()
            parts.append(
                f"<h2>{e(cap)}</h2><figure><img id='fig-{key}' alt='{e(cap)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{e(note)}</figcaption></figure>"
            )
    parts.append(
        f"<h2>How to read this</h2><p>{e(how)}</p><h2>What the answer hinges on</h2><ul>"
        + "".join(f"<li>{e(h)}</li>" for h in hinges)
        + "</ul>"
    )
    parts.append(
        "<p>Files beside this report: <code>summary.csv</code>, <code>report.xlsx</code>, <code>report.docx</code>, "
        "<code>runs.parquet</code>, <code>monthly/</code>.</p></body></html>\n"
    )
    return "\n".join(parts)


# number formats of the workbook's cells, by the outcome's unit (issue 32: no General-formatted raw floats)
PERCENT_CHANGE = '+0.0"%";-0.0"%";0.0"%"'  # a change in percent of the reference (values in percent)


def number_format(unit: str) -> str:
    """The Excel number format of a value in ``unit`` (an outcome's)."""
    if unit.startswith("USD"):
        return '"$"#,##0;-"$"#,##0'
    if unit == "share":
        return "0.0%"
    if unit == "workers":
        return "#,##0"
    return "#,##0.00"


# the workbook's numeric columns, with their human headings: those in an outcome's unit, and the others' formats
HEADLINE_NUMBERS = {
    "level": "level",
    "level_low": "level, low",
    "level_high": "level, high",
    "change": "change",
    "change_low": "change, low",
    "change_high": "change, high",
    "change_pct": "change, % of reference",
    "change_pct_low": "change, % low",
    "change_pct_high": "change, % high",
    "p_below": "chance the change is below 0",
}
SUMMARY_NUMBERS = {
    "runs": "runs",
    "mean": "mean",
    "ci_low": "95% interval, low",
    "ci_high": "95% interval, high",
    "sd": "standard deviation over runs",
    "p2_5": "2.5th percentile of runs",
    "p97_5": "97.5th percentile of runs",
    "pairs": "paired runs",
    "diff_mean": "change from reference",
    "diff_ci_low": "change, 95% interval low",
    "diff_ci_high": "change, 95% interval high",
    "diff_pct": "change, % of reference",
}
POLICY_NUMBERS = {
    "draws": "draws",
    "median": "median",
    "low": "90% credible, low",
    "high": "90% credible, high",
    "change_median": "change, median",
    "change_low": "change, low",
    "change_high": "change, high",
    "change_pct_median": "change, % of reference",
    "change_pct_low": "change, % low",
    "change_pct_high": "change, % high",
    "p_below_reference": "chance the change is below 0",
}
IN_UNIT = {*HEADLINE_IN_UNIT, *POLICY_IN_UNIT, *SUMMARY_IN_UNIT}
PERCENT_COLUMNS = {"change_pct", "change_pct_low", "change_pct_high", "change_pct_median", "diff_pct"}
COUNT_COLUMNS = {"runs", "pairs", "draws"}
CHANCE_COLUMNS = {"p_below", "p_below_reference"}


def headline_grid(scenarios, outcomes, cells, labels) -> list[list[str]]:
    """The headline table as the HTML shows it, row by row (its header first): an outcome's level row, then its
    change row; one column per scenario."""
    rows = [["outcome", *(labels.get(s, s) for s in scenarios)]]
    for o in outcomes:
        rows.append([outcome_title(o), *(cells[(s, o)][0] for s in scenarios)])
        rows.append(["change", *(cells[(s, o)][1] for s in scenarios)])
    return rows


def _xlsx(path: Path, result: ExperimentResult, table: pd.DataFrame, labels: dict, what, prov, grid, words) -> Path:
    """report.xlsx: the headline as the HTML shows it (text, cell for cell), then the numbers behind it (at full
    scale, each formatted in its outcome's unit), the scenarios, the provenance, the summary (full scale) and the
    sensitivity indices; headers frozen, columns sized, nothing a formula."""
    tmp = path.with_name(f".{path.name}.tmp")

    def numbers(t: pd.DataFrame, columns: dict) -> pd.DataFrame:
        if not len(t):
            return pd.DataFrame(columns=["scenario", "outcome", "unit", *columns.values()])
        out = pd.DataFrame(
            {
                "scenario": t["scenario"].map(lambda s: labels.get(s, s)),
                "outcome": t["outcome"].map(outcome_title),
                "unit": t["outcome"].map(lambda o: OUTCOMES[o].unit if o in OUTCOMES else ""),
            }
        )
        for c, heading in columns.items():
            if c in t.columns:
                out[heading] = t[c].to_numpy()
        return out

    with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        pd.DataFrame(grid[1:], columns=grid[0]).to_excel(xl, sheet_name="headline", index=False)
        numbers(table, HEADLINE_NUMBERS).to_excel(xl, sheet_name="headline numbers", index=False)
        pd.DataFrame(
            [(lab, desc, "; ".join(pols)) for lab, desc, pols in what], columns=["scenario", "description", "policies"]
        ).to_excel(xl, sheet_name="scenarios", index=False)
        about = [*prov, ("each headline cell", words), ("totals", "revenue a year and workers at full scale")]
        pd.DataFrame(about, columns=["what", "value"]).to_excel(xl, sheet_name="about", index=False)
        numbers(result.summary(full_scale=True), SUMMARY_NUMBERS).to_excel(xl, sheet_name="summary", index=False)
        if result.is_posterior:
            answers = result.policy_answers(full_scale=True)
            numbers(answers, POLICY_NUMBERS).to_excel(xl, sheet_name="policy answers", index=False)
        sens = result.sensitivity()
        if len(sens):
            sens.to_excel(xl, sheet_name="sensitivity", index=False)
        formats = {
            heading: c
            for columns in (HEADLINE_NUMBERS, SUMMARY_NUMBERS, POLICY_NUMBERS)
            for c, heading in columns.items()
        }
        for ws in xl.book.worksheets:
            ws.freeze_panes = "B2"  # the header row and the first column stay in view
            header = [c.value for c in ws[1]]
            unit_at = header.index("unit") if "unit" in header else None
            for i, row in enumerate(ws.iter_rows()):
                unit = str(row[unit_at].value or "") if unit_at is not None else ""
                for j, cell in enumerate(row):
                    # text is text: a label a user wrote that begins with "=" is not a formula in the workbook (the
                    # header row too: the wide headline's headers are the scenarios' labels)
                    if cell.data_type == "f":
                        cell.data_type = "s"
                    if i and isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                        column = formats.get(header[j], "")
                        cell.number_format = (
                            PERCENT_CHANGE
                            if column in PERCENT_COLUMNS
                            else "#,##0"
                            if column in COUNT_COLUMNS
                            else "0%"
                            if column in CHANCE_COLUMNS
                            else number_format(unit)
                            if column in IN_UNIT
                            else "0.000"
                        )
            for col in ws.columns:  # readable column widths
                width = max(len(str(c.value)) if c.value is not None else 0 for c in col)
                ws.column_dimensions[col[0].column_letter].width = min(max(10, width + 2), 60)
    tmp.replace(path)
    return path


__all__ = ["headline", "write_report", "describe_policy", "interval_words"]
