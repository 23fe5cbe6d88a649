"""The sanctions era's posterior predictive check and its report (issue 15).

After the ABC-SMC (`fit`), `olsim calibrate params/targets_sanctions.toml` runs, in its folder:

- ``predictive/``: the history scenario, and the same world without the sanctions (the 2020-23 border closure
  kept), at ``draws`` posterior draws with fresh seeds (one replicate each, the fit's scale, per-host tables);
- ``prior_predictive/``: the same at draws of the prior (generation 0), to show what the fit narrowed;
- ``scale_check/``: the calibrated scenario at full scale and at the fit's scale, a few seeds each, so the
  report can say whether simulating a share of the workforce moves the fitted measures.

and writes ``report.md``, ``predictive.csv`` (every fit and held-out fact: its 5/50/95% over the posterior
draws, the reported value, whether it lies inside the 90% band), ``parameters.csv`` (prior against posterior),
``welfare.csv`` (the workers' welfare under the prior and the posterior) and ``plots/``. The held-out facts are
read here for the first time: nothing computed from them feeds back into the fit.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ...common.files import atomic_write
from ...common.formatting import number
from ...explore.plan import plan_experiment
from ...explore.runner import run_experiment
from ...results.outcomes import OUTCOMES, PREDICTIVE, REVENUE, WELFARE
from ..measures import RunTable
from ..targets import ROOT
from ...common.errors import ExperimentError
from ..scoring import score_table, skill
from ..smc import tolerance_drop
from .adequacy import adequacy_text
from .fit import STOPS, later_constraints
from .targets import SanctionsTargets, constrained

LEVEL = 0.9  # the bands: 5th to 95th percentile over the draws
CONSTANT = "constant world"  # the naive forecast the held-out facts are also scored under
OUTCOMES_RUN = list(PREDICTIVE)


def _no_sanctions_policies(targets: SanctionsTargets) -> list[dict]:
    """The fitted scenario's policies that are not sanctions (the border closure): the world without sanctions."""
    from ...core.params import read_params_file
    from ...core.policies import is_sanction

    raw = read_params_file(targets.scenario_path)
    return [p for p in raw.get("policies", []) if not is_sanction(p)]


def predictive_experiment(targets: SanctionsTargets, name: str, posterior: Path, draws: int) -> dict:
    s = targets.spec.smc
    return {
        "name": name,
        "base": str(targets.scenario_path.resolve()),
        "engine": "array",
        "seed": s.seed + 10_000,
        "seeds": "per_sample",
        "replicates": 1,
        "scale": s.scale,
        "hosts": True,
        "outcomes": OUTCOMES_RUN,
        "posterior": str(posterior.resolve()),
        "sampling": {"method": "posterior", "n": draws, "seed": s.seed + 1},
        "reference": "no_sanctions",
        "scenarios": [
            {"name": "history", "label": "history (fitted)"},
            {
                "name": "no_sanctions",
                "label": "no sanctions (border closure kept)",
                "policies": _no_sanctions_policies(targets),
                "without": ["policies.*"],
            },
        ],
    }


def fact_values(result, facts: dict, scale: float, scenario: str = "history") -> pd.DataFrame:
    """One row per run of ``scenario``, one column per fact: its measure from the run's per-host table."""
    columns = sorted({c for f in facts.values() for c in f.columns})
    hosts = result.hosts(columns)
    hosts = hosts[hosts["scenario"] == scenario]
    rows = []
    for rid, g in hosts.groupby("run_id", sort=True):
        table = RunTable(g)
        rows.append({"run_id": rid, **{k: table.measure(f, scale) for k, f in facts.items()}})
    return pd.DataFrame(rows)


def band_rows(values: pd.DataFrame, facts: dict, which: str) -> list[dict]:
    lo_q, hi_q = 0.5 - LEVEL / 2, 0.5 + LEVEL / 2
    rows = []
    for k, f in facts.items():
        v = values[k].to_numpy(float)
        v = v[np.isfinite(v)]
        lo, med, hi = (float(np.quantile(v, q)) for q in (lo_q, 0.5, hi_q)) if len(v) else (math.nan,) * 3
        is_range = f.reported is None
        r = math.sqrt(f.low * f.high) if is_range else float(f.reported)  # a range: its geometric centre
        at_least = getattr(f, "bound", "equal") == "at_least"
        # inside: the band holds the reported figure (reaches a floor; overlaps a range)
        inside = bool(hi >= r) if at_least else bool(lo <= f.high and hi >= f.low) if is_range else bool(lo <= r <= hi)
        unit = getattr(f, "unit", "") or (
            "share"
            if f.measure == "share"
            else "usd"
            if f.measure == "per_year"
            else "number"
            if f.measure in ("ratio", "weighted_mean")
            else "count"
        )
        rows.append(
            {
                "fact": k,
                "set": which,
                "what": f.what,
                "measure": f.measure,
                "unit": unit,
                "reported": math.nan if is_range else r,
                "low": f.low if is_range else math.nan,
                "high": f.high if is_range else math.nan,
                "centre": r,
                "p05": lo,
                "p50": med,
                "p95": hi,
                "inside": inside,
                "ratio_p50": med / r if r else math.nan,
                "bound": "at least" if at_least else "range" if is_range else "",
                "source": f.source,
            }
        )
    return rows


def predictive_table(post_result, prior_result, targets: SanctionsTargets) -> pd.DataFrame:
    scale = targets.spec.smc.scale
    spec = targets.spec
    facts = {**spec.fit, **spec.held_out}
    post = fact_values(post_result, facts, scale)
    prior = fact_values(prior_result, facts, scale)
    rows = band_rows(post, spec.fit, "fit") + band_rows(post, spec.held_out, "held out")
    prior_rows = {r["fact"]: r for r in band_rows(prior, facts, "")}
    for r in rows:
        p = prior_rows[r["fact"]]
        r.update({"prior_p05": p["p05"], "prior_p95": p["p95"], "prior_inside": p["inside"]})
    return pd.DataFrame(rows)


CONSTANT_YEAR = "2016"  # the constant world holds the workforce and revenue at their levels of this year


def constant_world_fact(fact):
    """The fact as a constant world forecasts it: the same measure in 2016, as if nothing had changed since (the
    workforce and revenue held at their 2016 values): a level read in the same month of 2016, a total of up to a
    year over the same months of 2016, a yearly rate over 2016."""
    if fact.measure == "level":
        return fact.model_copy(update={"end": f"{CONSTANT_YEAR}-{fact.end[5:]}"})
    if fact.measure == "per_year":
        return fact.model_copy(update={"start": f"{CONSTANT_YEAR}-01", "end": f"{CONSTANT_YEAR}-12"})
    assert fact.start is not None  # not a level: a first month (Fact checks)
    years = int(fact.end[:4]) - int(fact.start[:4])
    if fact.measure in ("total", "ratio", "weighted_mean", "share") and years == 0:
        return fact.model_copy(
            update={"start": f"{CONSTANT_YEAR}-{fact.start[5:]}", "end": f"{CONSTANT_YEAR}-{fact.end[5:]}"}
        )
    raise ExperimentError(f"held out: no constant-world forecast for a {fact.measure} over {fact.start} to {fact.end}")


def _centre(fact) -> float:
    """A reported figure, or a range's geometric centre."""
    if fact.reported is not None:
        return float(fact.reported)
    assert fact.low is not None and fact.high is not None  # no reported value: a range (Fact checks)
    return math.sqrt(fact.low * fact.high)


def held_out_scores(post_result, prior_result, targets: SanctionsTargets) -> pd.DataFrame:
    """Every held-out fact scored (CRPS and the 90% interval score, `scoring`) under three forecasts: the posterior
    predictive, the prior predictive and a constant world (each posterior draw's own 2016 value of the measure);
    skill against the constant world, and the posterior's CRPS skill against the prior's."""
    held = targets.spec.held_out
    scale = targets.spec.smc.scale
    observed = {k: _centre(f) for k, f in held.items()}
    post, prior = fact_values(post_result, held, scale), fact_values(prior_result, held, scale)
    const = fact_values(post_result, {k: constant_world_fact(f) for k, f in held.items()}, scale)
    ensembles = {
        name: {k: frame[k].to_numpy(float) for k in held}
        for name, frame in (("posterior", post), ("prior", prior), (CONSTANT, const))
    }
    table = score_table(observed, ensembles, reference=CONSTANT, level=LEVEL)
    crps = table.pivot(index="fact", columns="forecast", values="crps")
    table["crps_skill_vs_prior"] = [skill(c, crps.loc[f, "prior"]) for f, c in zip(table["fact"], table["crps"])]
    table["what"] = [held[f].what for f in table["fact"]]
    table["note"] = [held[f].note for f in table["fact"]]
    return table


def mechanism_table(post_result, prior_result, targets: SanctionsTargets) -> pd.DataFrame:
    """The mechanisms (``[mechanisms.*]``: sending home, capture, contracts completed, the take) over the posterior's
    and the prior's draws, each against the range it must stay inside: ``inside`` (the posterior's 90% band within
    the range), ``median inside`` or ``outside``; and the share of posterior draws inside the range."""
    mech = targets.spec.mechanisms
    if not mech:
        return pd.DataFrame()
    scale = targets.spec.smc.scale
    post, prior = fact_values(post_result, mech, scale), fact_values(prior_result, mech, scale)
    rows = []
    for k, f in mech.items():
        assert f.low is not None and f.high is not None  # a mechanism is a range (the targets file checks)
        row: dict[str, str | float | bool] = {
            "mechanism": k,
            "what": f.what,
            "low": f.low,
            "high": f.high,
            "constrained": bool(targets.spec.smc.constrain_mechanisms and f.constrain),
            "source": f.source,
        }
        for name, frame in (("posterior", post), ("prior", prior)):
            v = frame[k].to_numpy(float)
            v = v[np.isfinite(v)]
            for q, tag in ((0.5 - LEVEL / 2, "p05"), (0.5, "p50"), (0.5 + LEVEL / 2, "p95")):
                row[f"{name}_{tag}"] = float(np.quantile(v, q)) if len(v) else math.nan
            row[f"{name}_share_inside"] = float(np.mean((v >= f.low) & (v <= f.high))) if len(v) else math.nan
        lo, mid, hi = (float(row[f"posterior_{q}"]) for q in ("p05", "p50", "p95"))
        row["verdict"] = (
            "inside" if lo >= f.low and hi <= f.high else "median inside" if f.low <= mid <= f.high else "outside"
        )
        rows.append(row)
    return pd.DataFrame(rows)


def welfare_table(post_result, prior_result, scale: float) -> pd.DataFrame:
    """The welfare outcomes (and revenue, at full scale) over the prior's and the posterior's draws."""
    lo_q, hi_q = 0.5 - LEVEL / 2, 0.5 + LEVEL / 2
    rows = []
    for o in [REVENUE, *WELFARE]:
        for scen in ("no_sanctions", "history"):
            row: dict[str, str | float] = {"outcome": o, "what": OUTCOMES[o].what, "scenario": scen}
            for name, res in (("prior", prior_result), ("posterior", post_result)):
                v = res.runs.loc[res.runs["scenario"] == scen, o].to_numpy(float)
                v = v[np.isfinite(v)] / (scale if OUTCOMES[o].total else 1.0)  # totals at full scale
                for q, tag in ((lo_q, "p05"), (0.5, "p50"), (hi_q, "p95")):
                    row[f"{name}_{tag}"] = float(np.quantile(v, q)) if len(v) else math.nan
            rows.append(row)
    return pd.DataFrame(rows)


def scale_check(
    targets: SanctionsTargets, calibrated: Path, folder: Path, processes, scheduler, resume
) -> pd.DataFrame:
    """The calibrated scenario at full scale and at the fit's scale (same seeds): each fit fact's mean at both,
    and their difference in the fit's tolerance units (the bias the fit's scale could carry)."""
    from .targets import tolerance_scale

    s = targets.spec.smc
    rows = {}
    for name, scale in (("full", 1.0), ("fit", s.scale)):
        raw = {
            "name": f"scale-{name}",
            "base": str(calibrated.resolve()),
            "engine": "array",
            "seed": s.seed + 20_000,
            "replicates": targets.spec.check.scale_seeds,
            "scale": scale,
            "hosts": True,
            "outcomes": [REVENUE],
        }
        res = run_experiment(
            plan_experiment(raw, folder),
            folder / "scale_check" / name,
            processes=processes,
            scheduler=scheduler,
            resume=resume and (folder / "scale_check" / name / "manifest.json").exists(),
            plots=False,
            progress=False,
        )
        rows[name] = fact_values(res, targets.spec.fit, scale, scenario="base")
    out = []
    for k, f in targets.spec.fit.items():
        full, fit = rows["full"][k].mean(), rows["fit"][k].mean()
        out.append(
            {
                "fact": k,
                "what": f.what,
                "full_scale": full,
                "fit_scale": fit,
                # in the distance's own units near the full-scale value (a floor and a range, too)
                "difference_units": (fit - full) / tolerance_scale(f, full),
            }
        )
    return pd.DataFrame(out)


def run_predictive(
    targets: SanctionsTargets, folder: Path, calibrated: Path, processes=None, scheduler=None, resume=False, log=None
) -> dict:
    """The three checks (see the module's doc) on ``posterior.csv`` and ``prior.csv`` in ``folder``; returns the
    tables the report is made of."""
    draws = targets.spec.check.draws
    results = {}
    for name, post in (("predictive", folder / "posterior.csv"), ("prior_predictive", folder / "prior.csv")):
        raw = predictive_experiment(targets, name.replace("_", "-"), post, draws)
        plan = plan_experiment(raw, folder)
        if log:
            log(
                f"{name}: {len(plan.tasks)} runs ({draws} draws of the {'posterior' if post.stem == 'posterior' else 'prior'} "
                f"x 2 scenarios) at {targets.spec.smc.scale:g} scale, fresh seeds"
            )
        out = folder / name
        results[name] = run_experiment(
            plan,
            out,
            processes=processes,
            scheduler=scheduler,
            resume=resume and (out / "manifest.json").exists(),
            plots=False,
            progress=False,
        )
    seeds = targets.spec.check.scale_seeds
    if log and seeds:
        log(f"scale check: the calibrated scenario at full and at {targets.spec.smc.scale:g} scale, {seeds} seeds each")
    scale = scale_check(targets, calibrated, folder, processes, scheduler, resume) if seeds else pd.DataFrame()
    return {
        "predictive": predictive_table(results["predictive"], results["prior_predictive"], targets),
        "welfare": welfare_table(results["predictive"], results["prior_predictive"], targets.spec.smc.scale),
        "mechanisms": mechanism_table(results["predictive"], results["prior_predictive"], targets),
        "scores": held_out_scores(results["predictive"], results["prior_predictive"], targets),
        "scale": scale,
        "results": results,
    }


def _fmt(x: float, unit: str) -> str:
    """A fact's value as the report shows it, by its unit (share, usd, number, count)."""
    if x != x:
        return "n/a"
    if unit == "share":
        return f"{100 * x:.0f}%"
    if unit == "usd":
        return number(x, money=True)
    if unit == "number":
        return f"{x:.3g}"
    return f"{x:,.0f}"


def _reported(r) -> str:
    u = r["unit"]
    if r["bound"] == "range":
        return f"{_fmt(r['low'], u)} to {_fmt(r['high'], u)}"
    return ("at least " if r["bound"] == "at least" else "") + _fmt(r["reported"], u)


def beats(scores: pd.DataFrame, forecast: str, other: str) -> tuple[int, int]:
    """On how many held-out facts ``forecast`` has a lower CRPS than ``other``, and of how many scored by both."""
    crps = scores.pivot(index="fact", columns="forecast", values="crps")[[forecast, other]].dropna()
    return int((crps[forecast] < crps[other]).sum()), len(crps)


def scores_text(scores: pd.DataFrame, targets: SanctionsTargets, units: dict[str, str]) -> list[str]:
    """The report's section on the held-out facts' proper scores, the frozen file's hash first."""
    spec = targets.spec
    frozen = (
        f"`{spec.held_out_file}`, SHA-256 `{targets.held_out_hash}`"
        if targets.held_out_hash
        else "the targets file (not frozen in a file of its own)"
    )
    n_prior, n = beats(scores, "posterior", "prior")
    n_const, _ = beats(scores, "posterior", CONSTANT)
    verdict = (
        "The fit beats both."
        if n_prior > n / 2 and n_const > n / 2
        else "The fit does not beat "
        + " or ".join(w for w, k in (("the prior", n_prior), ("the constant world", n_const)) if k <= n / 2)
        + " on most held-out facts."
    )
    lines = [
        "## Held-out facts, scored",
        "",
        f"The held-out facts: {frozen}, frozen before this fit. Each is scored under three forecasts: the posterior "
        f"predictive, the prior predictive and a constant world (the same measure in {CONSTANT_YEAR} on each "
        "posterior draw: the workforce and revenue held at their 2016 values). Scores: the continuous ranked "
        "probability score (CRPS) of the ensemble and the interval score of its 90% band (Gneiting & Raftery 2007), "
        "both lower-is-better and in the fact's unit.",
        "",
        f"- The posterior has a lower CRPS than the prior on {n_prior} of {n} facts, and than the constant world "
        f"on {n_const} of {n}. {verdict}",
        "",
        "| fact | reported | forecast | median [90% band] | CRPS | interval score | CRPS skill vs constant world |",
        "|---|---:|---|---|---:|---:|---:|",
    ]
    for _, r in scores.iterrows():
        m = units.get(r["fact"], "count")
        f = lambda x: _fmt(x, m)  # noqa: E731
        note = " (close to an input)" if r["note"].startswith("close to an input") else ""
        skill_word = "-" if r["forecast"] == CONSTANT else f"{r['crps_skill']:+.2f}"
        lines.append(
            f"| {r['what']}{note} | {f(r['observed'])} | {r['forecast']} | {f(r['p50'])} [{f(r['p05'])}, "
            f"{f(r['p95'])}] | {f(r['crps'])} | {f(r['interval_score'])} | {skill_word} |"
        )
    return lines + [
        "",
        "Skill: 1 - CRPS / the constant world's CRPS (above 0: better than holding 2016's values). Facts marked close "
        "to an input share a source with the model's inputs, so they test less.",
        "",
    ]


def restricted_widths(targets: SanctionsTargets, first, params: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """Per parameter: generation 0's 5% and 95% (the prior restricted to the mechanisms' ranges, equal weights) and
    the posterior's 90% width over theirs, both on the prior's cumulative probability."""
    from .fit import priors

    prior = priors(targets)
    out = {}
    for j, k in enumerate(prior):
        lo, hi = (float(v) for v in np.quantile(first.theta[:, j], [0.05, 0.95]))
        f = prior[k].frozen()
        width = float(f.cdf(hi) - f.cdf(lo))
        r = params.set_index("parameter").loc[k]
        post = float(r["posterior_cdf_p95"] - r["posterior_cdf_p05"])
        out[k] = (lo, hi, post / width if width > 0 else math.nan)
    return out


def report_text(
    targets: SanctionsTargets, pops, params: pd.DataFrame, checks: dict, calibrated_rel: str, posterior_rel: str
) -> str:
    from ...plots.sanctions import parameter_label

    spec = targets.spec
    s = spec.smc
    full = targets.path.resolve()
    shown = full.relative_to(ROOT) if full.is_relative_to(ROOT) else targets.path
    pred, welfare, scale = checks["predictive"], checks["welfare"], checks["scale"]
    held = pred[pred["set"] == "held out"]
    fit = pred[pred["set"] == "fit"]
    last = pops[-1]
    restricted = restricted_widths(targets, pops[0], params) if s.constrain_mechanisms else {}
    later = later_constraints(targets)
    lines = [
        "# The sanctions era: calibration and posterior predictive check",
        "",
        f"Targets: `{shown}` (scenario `{spec.scenario}`). Method: ABC-SMC over {len(params)} parameters "
        f"(the sanctions response and the no-sanctions parameters jointly), {len(last.theta)} particles x "
        f"{len(pops)} generations at {s.scale:g} of the workforce, distance = root mean square of the "
        f"{len(spec.fit)} fit facts' misses in tolerance units (docs/ODD.md 8.7). The {len(spec.held_out)} "
        f"held-out facts were not read by the fit; they are judged here for the first time.",
        "",
        "## Convergence",
        "",
        f"Each candidate ran {s.replicates} seed{'s' if s.replicates > 1 else ''} (common random numbers across "
        "candidates); its distance is that of the replicates' mean misses. The run stops once the tolerance falls by "
        f"less than {s.min_drop:.0%} in a generation (converged) or a generation keeps under {s.min_acceptance:.0%} of "
        f"its candidates, and at {s.generations} generations at most (its budget)."
        + (
            f" Constrained (smc.constrain_mechanisms): a candidate any of whose {len(constrained(spec))} mechanisms "
            f"({'; '.join(f.what for f in constrained(spec).values())}: the mean over its replicates) falls outside its "
            "sourced range is ruled out whatever its distance, so the fit starts from the prior restricted to those "
            f"ranges (generation 0 draws the prior until {s.particles} of its draws are inside) and no particle "
            "reaches a fact through a degenerate mechanism on the fit's own seeds (on fresh seeds: 'Is the fit "
            "reached through a degenerate mechanism?' below). The prior bands below are of that restricted prior; the "
            "parameters' width ratios are against the unrestricted one, so part of a parameter's narrowing may be the "
            "constraint's rather than the facts'."
            + (
                f" The mechanism{'s' if len(later) > 1 else ''} after the fit's window ("
                + "; ".join(f.what for f in later.values())
                + f") {'are' if len(later) > 1 else 'is'} measured by running the same seeds on, for the "
                "candidates their generation could keep "
                "(and those the adequacy verdicts could count): a candidate is kept only if its world stays inside "
                "them too, though no fact it is fitted to reads those years."
                if later
                else ""
            )
            if s.constrain_mechanisms
            else ""
        ),
        "",
        "| generation | tolerance | fall | simulated | acceptance | ESS |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for t, p in enumerate(pops):
        eps = "-" if math.isinf(p.epsilon) else f"{p.epsilon:.3g}"
        drop = tolerance_drop(pops, t)
        fall = "-" if drop != drop else f"{drop:.0%}"
        lines.append(f"| {t} | {eps} | {fall} | {p.simulated} | {p.acceptance:.0%} | {p.ess():.0f} |")
    why = last.extra.get("stop")
    lines += [
        "",
        f"Stopped: {STOPS[why] if why else 'not recorded (a calibration saved before the stopping rule)'}.",
        "",
        f"Posterior: {len(last.theta)} particles, distance {last.distances.min():.3g} to "
        f"{last.distances.max():.3g} tolerance units (1 = every fact missed by its tolerance). "
        f"Calibrated scenario: `{calibrated_rel}`; posterior draws: `{posterior_rel}`.",
        "",
    ]

    def fact_table(frame, title):
        out = [
            f"## {title}",
            "",
            f"90% band: the 5th to 95th percentile over {spec.check.draws} posterior draws (each draw its own fresh seed, one run each); "
            "prior: the same over draws of the prior.",
            "",
            "| fact | reported | posterior 50% [90% band] | inside | prior 90% band | source |",
            "|---|---:|---|---|---|---|",
        ]
        for _, r in frame.iterrows():
            m = r["unit"]
            rep = _reported(r)
            out.append(
                f"| {r['what']} | {rep} | {_fmt(r['p50'], m)} [{_fmt(r['p05'], m)}, {_fmt(r['p95'], m)}] | "
                f"{'yes' if r['inside'] else '**no**'} | [{_fmt(r['prior_p05'], m)}, {_fmt(r['prior_p95'], m)}] | "
                f"{r['source']} |"
            )
        return out + [""]

    if "adequacy" in checks and len(checks["adequacy"][0]):
        table, joint = checks["adequacy"]
        words = {k: f.what for k, f in {**spec.fit, **spec.mechanisms}.items()}
        lines += adequacy_text(table, joint, words, joint.get("mechanisms"))
    lines += fact_table(fit, f"Fit facts: {int(fit['inside'].sum())} of {len(fit)} inside the 90% band")
    mech = checks.get("mechanisms")
    if mech is not None and len(mech):
        bad = mech[mech["verdict"] != "inside"]
        lines += [
            "## Is the fit reached through a degenerate mechanism?",
            "",
            "Each mechanism over the posterior's draws (and the prior's), in its window, against the range it must "
            "stay inside; inside: the posterior's whole 90% band is in the range. Constrained: the fit rules out a "
            "candidate outside it (smc.constrain_mechanisms); checked only: a window the fit's runs do not reach, "
            "judged here for the first time. "
            + (
                "Every mechanism is inside its range."
                if not len(bad)
                else "Not inside: " + "; ".join(f"{r['what']} ({r['verdict']})" for _, r in bad.iterrows()) + "."
            ),
            "",
            "| mechanism | range | in the fit | posterior 50% [90% band] | posterior draws inside | prior 90% band | "
            "verdict | source |",
            "|---|---|---|---|---:|---|---|---|",
        ]
        for _, r in mech.iterrows():
            f = lambda x: f"{x:.3g}"  # noqa: E731
            verdict = r["verdict"] if r["verdict"] == "inside" else f"**{r['verdict']}**"
            lines.append(
                f"| {r['what']} | {f(r['low'])} to {f(r['high'])} | "
                f"{'constrained' if r.get('constrained', False) else 'checked only'} | "
                f"{f(r['posterior_p50'])} [{f(r['posterior_p05'])}, "
                f"{f(r['posterior_p95'])}] | {r['posterior_share_inside']:.0%} | [{f(r['prior_p05'])}, "
                f"{f(r['prior_p95'])}] | {verdict} | {r['source']} |"
            )
        lines.append("")
    lines += fact_table(
        held, f"Held-out facts (never fitted): {int(held['inside'].sum())} of {len(held)} inside the 90% band"
    )
    outside = held[~held["inside"]]
    if len(outside):
        lines += [
            "Outside the band: "
            + "; ".join(
                f"{r['what']} ({'above' if r['p05'] > (r['high'] if r['bound'] == 'range' else r['centre']) else 'below'}: "
                f"the model's median is "
                f"{r['ratio_p50']:.2f} x the reported figure{' (the centre of its range)' if r['bound'] == 'range' else ''})"
                for _, r in outside.iterrows()
            )
            + ".",
            "",
        ]
    scores = checks.get("scores")
    if scores is not None and len(scores):
        lines += scores_text(scores, targets, units=dict(zip(pred["fact"], pred["unit"])))
    lines += [
        "## What the sanctions era pins down",
        "",
        "Width ratio: the posterior's 90% interval over the prior's, both measured on the prior's cumulative "
        "probability (pinned < 0.5 <= narrowed < 0.8 <= loose)."
        + (
            " Against the restricted prior: the same ratio over the 90% interval of generation 0, the prior's draws "
            "inside the mechanisms' ranges (what the fit started from): the narrowing the facts did beyond the "
            "constraint's."
            if restricted
            else ""
        ),
        "",
        "| parameter | prior | prior 90% | posterior 50% [90%] | width ratio | verdict |"
        + (" restricted prior 90% | against the restricted prior |" if restricted else ""),
        "|---|---|---|---|---:|---|" + ("---|---:|" if restricted else ""),
    ]
    for _, r in params.sort_values("width_ratio").iterrows():
        extra = ""
        if restricted:
            lo, hi, ratio = restricted[r["parameter"]]
            extra = f" {lo:.3g} to {hi:.3g} | {ratio:.2f} |"
        lines.append(
            f"| {parameter_label(r['parameter'])} (`{r['parameter']}`) | {r['prior']} | {r['prior_p05']:.3g} to {r['prior_p95']:.3g} | "
            f"{r['posterior_p50']:.3g} [{r['posterior_p05']:.3g}, {r['posterior_p95']:.3g}] | "
            f"{r['width_ratio']:.2f} | {r['verdict']} |" + extra
        )
    lines += [
        "",
        "## The workers' welfare, jointly",
        "",
        "The no-sanctions parameters were searched jointly with the response, so the sanctions era also informs "
        "them. Each cell: median [90% band] over draws of the prior and of the posterior, in the world without "
        "sanctions (the border closure kept) and in the history.",
        "",
        "| outcome | world | prior | posterior |",
        "|---|---|---|---|",
    ]
    for _, r in welfare.iterrows():
        o = r["outcome"]
        f = lambda x: OUTCOMES[o].format(x)  # noqa: E731
        lines.append(
            f"| {OUTCOMES[o].label} | {r['scenario'].replace('_', ' ')} | {f(r['prior_p50'])} "
            f"[{f(r['prior_p05'])}, {f(r['prior_p95'])}] | {f(r['posterior_p50'])} "
            f"[{f(r['posterior_p05'])}, {f(r['posterior_p95'])}] |"
        )
    if len(scale) and scale["difference_units"].notna().any():
        worst = scale.loc[scale["difference_units"].abs().idxmax()]
        lines += [
            "",
            f"## Does the fit's scale ({s.scale:g}) bias the fitted measures?",
            "",
            f"The calibrated scenario at full scale and at {s.scale:g} scale, {spec.check.scale_seeds} seeds each "
            "(means; difference in the fit's tolerance units; counts at the fit's scale are divided by it).",
            "",
            "| fact | full scale | fit scale | difference (tolerance units) |",
            "|---|---:|---:|---:|",
        ]
        units = dict(zip(pred["fact"], pred["unit"]))
        for _, r in scale.iterrows():
            m = units[r["fact"]]
            lines.append(
                f"| {r['what']} | {_fmt(r['full_scale'], m)} | {_fmt(r['fit_scale'], m)} | "
                f"{r['difference_units']:+.2f} |"
            )
        lines += [
            "",
            f"Largest: {worst['what']}, {worst['difference_units']:+.2f} units "
            f"({'small against the posterior distances above' if abs(worst['difference_units']) < 0.5 else 'not small: read the fit with care'}).",
        ]
    lines += [
        "",
        "## Files",
        "",
        "In the calibration's own folder: "
        "`predictive.csv` (every fact: posterior and prior bands, inside or not), `adequacy.csv` (every fit "
        "fact: can the model reach it), `mechanisms.csv` (the mechanism bands), `scores.csv` (the held-out "
        "facts' scores), `parameters.csv` (prior against posterior), `welfare.csv`, `scale.csv`, `prior.csv` (the "
        "prior draws), `posterior.csv` (the draws), `history_calibrated.toml`, `populations/` (every generation), "
        "`batches/` (every candidate's misses and mechanisms), `predictive/`, `prior_predictive/` and `scale_check/` (the "
        "checks' runs), `plots/`. A copy of this report kept elsewhere (the repository's "
        "docs/calibration/sanctions/) keeps the tables and plots copied beside it; the calibrated scenario and "
        f"the posterior draws ship as `{calibrated_rel}` and `{posterior_rel}`.",
        "",
    ]
    return "\n".join(lines)


def write_report(
    targets: SanctionsTargets,
    folder: Path,
    pops,
    params: pd.DataFrame,
    checks: dict,
    calibrated_rel: str,
    posterior_rel: str,
) -> list[Path]:
    from ...plots.sanctions import sanctions_figures

    written = []
    for name, frame in (
        ("predictive", checks["predictive"]),
        ("parameters", params),
        ("welfare", checks["welfare"]),
        ("scale", checks["scale"]),
        ("mechanisms", checks.get("mechanisms", pd.DataFrame())),
        ("scores", checks.get("scores", pd.DataFrame())),
        ("adequacy", checks["adequacy"][0] if "adequacy" in checks else pd.DataFrame()),
    ):
        p = folder / f"{name}.csv"
        atomic_write(p, frame.to_csv(index=False, float_format="%.6g").encode())
        written.append(p)
    written += sanctions_figures(targets, checks, params, folder / "plots")
    text = report_text(targets, pops, params, checks, calibrated_rel, posterior_rel)
    text += "\n".join(f"![{p.stem}](plots/{p.name})" for p in written if p.suffix == ".png") + "\n"
    atomic_write(folder / "report.md", text.encode())
    return [folder / "report.md", *written]


AGREEMENT = "## Agreement of independent runs"
RECOVERY = "## Recovery of known truths"
CONVERGENCE = "## Convergence"


def set_section(report: Path, lines: list[str], after: tuple[str, ...] = (CONVERGENCE,)) -> None:
    """Set one section of a written report (``lines``, its heading first): it replaces the section of that heading,
    or goes after the last of the ``after`` sections the report has (else before its Files, else at the end). So
    checks run after the fit (independent runs compared, known truths recovered) are read where the fit's are."""
    if not lines or not lines[0].startswith("## "):
        raise ValueError("set_section: the lines must begin with their '## ' heading")
    text = report.read_text(encoding="utf-8").split("\n")
    new = [*lines, ""] if lines[-1] != "" else list(lines)

    def end(i: int) -> int:  # the line of the next section's heading (or the end)
        j = i + 1
        while j < len(text) and not text[j].startswith("## "):
            j += 1
        return j

    if lines[0] in text:
        i = text.index(lines[0])
        text[i : end(i)] = new
    else:
        present = [h for h in after if h in text]
        j = end(text.index(present[-1])) if present else text.index("## Files") if "## Files" in text else len(text)
        text[j:j] = new
    atomic_write(report, "\n".join(text).encode())
