"""The search and the checks as experiments; what the accepted sets say; the calibrated file."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...core.params import make_params, read_params_file
from ...core.params_toml import params_toml
from ...explore.plan import expand_uncertainties, resolve_params
from ...results.outcomes import CALIBRATION_WELFARE, OUTCOMES
from ..folder import MARKER
from ..measures import distance, position
from ..targets import ROOT, Targets, TargetsFile, matches

MIN_ACCEPTED = 20  # accepted sets needed before a 5-95% spread (and a verdict) means anything
WELFARE = list(CALIBRATION_WELFARE)  # reported, not targeted


def _priors_as_uncertainties(spec: TargetsFile) -> dict:
    return {k: v.model_dump(exclude={"source"}, exclude_none=True) for k, v in spec.parameters.items()}


def search_experiment(targets: Targets, budget: int | None = None) -> dict:
    s = targets.spec.search
    raw = {
        "name": "search",
        "description": "calibration search: Latin hypercube over the priors",
        "base": str(targets.scenario_path.resolve()) if targets.scenario_path else None,
        "engine": "array",
        "seed": s.seed,
        "replicates": s.replicates,
        "scale": s.scale,
        "outcomes": list(dict.fromkeys(targets.outcomes + WELFARE)),
        "scenarios": [{"name": "calibration"}],
        "uncertainties": _priors_as_uncertainties(targets.spec),
        "sampling": {"method": "lhs", "n": budget or s.budget, "seed": s.seed},
    }
    if s.months is not None:
        raw["months"] = s.months
    return {k: v for k, v in raw.items() if v is not None}


def check_experiment(name: str, description: str, targets: Targets, scenarios: list[dict], hosts: bool) -> dict:
    c, s = targets.spec.check, targets.spec.search
    # fresh seeds: the chosen set was selected on the search's seeds, so judging it on them would flatter it
    return {
        "name": name,
        "description": description,
        "engine": "array",
        "seed": s.seed + s.replicates,
        "replicates": c.replicates,
        "scale": c.scale,
        "outcomes": list(dict.fromkeys(targets.outcomes + WELFARE)),
        "scenarios": scenarios,
        "hosts": hosts,
    }


@dataclass
class Analysis:
    """What the search found."""

    per_set: pd.DataFrame  # one row per parameter set: values, mean outcomes, positions, distance, accepted
    parameters: pd.DataFrame  # one row per parameter: prior, posterior spread, pinned or loose
    chosen: int  # the sample chosen
    accepted: int
    reachable: bool  # some set landed inside every range
    predictive: pd.DataFrame = field(default_factory=pd.DataFrame)  # untargeted outcomes: all sets against accepted
    tradeoffs: list = field(default_factory=list)  # (rho, a, b): the strongest rank correlations among accepted sets


def analyse_search(runs: pd.DataFrame, samples: pd.DataFrame, targets: Targets) -> Analysis:
    names = list(targets.spec.parameters)
    outcomes = list(dict.fromkeys(targets.outcomes + [w for w in WELFARE if w in runs]))
    means = runs.groupby("sample")[outcomes].mean()
    per_set = samples.set_index("sample").loc[means.index, names].join(means)
    pos = np.column_stack([[position(v, t) for v in per_set[t.outcome]] for t in targets.spec.targets.values()])
    for j, name in enumerate(targets.spec.targets):
        per_set[f"position_{name}"] = pos[:, j]
    per_set["distance"] = distance(pos)
    per_set["accepted"] = np.all(np.abs(pos) <= 1.0, axis=1)
    n_acc = int(per_set["accepted"].sum())
    pool = per_set[per_set["accepted"]] if n_acc else per_set
    chosen = int(pool["distance"].idxmin())
    per_set = per_set.reset_index()

    rows = []
    prior_q = per_set[names].quantile([0.05, 0.5, 0.95])
    post = per_set.loc[per_set["accepted"], names]
    post_q = post.quantile([0.05, 0.5, 0.95]) if len(post) else None
    for name in names:
        prior = targets.spec.parameters[name]
        # a lognormal prior's spread is judged on the log scale (its kind's log), where it is symmetric
        g = np.log if prior.kind.log else (lambda x: x)
        width = g(prior_q.loc[0.95, name]) - g(prior_q.loc[0.05, name])
        if post_q is not None and len(post) >= MIN_ACCEPTED:
            ratio = float((g(post_q.loc[0.95, name]) - g(post_q.loc[0.05, name])) / width) if width > 0 else math.nan
        else:
            ratio = math.nan
        verdict = (
            f"n/a (fewer than {MIN_ACCEPTED} accepted sets)"
            if ratio != ratio
            else "pinned"
            if ratio < 0.5
            else "narrowed"
            if ratio < 0.8
            else "loose"
        )
        # which target outcome moves most with this parameter, over all sets (Spearman's rho)
        rho = {t: float(per_set[name].corr(per_set[t], method="spearman")) for t in targets.outcomes}
        rho = {k: v for k, v in rho.items() if v == v}
        driver = max(rho, key=lambda k: abs(rho[k])) if rho else ""
        if driver and abs(rho[driver]) < 0.1:
            driver = ""  # no target moves with it
        rows.append(
            {
                "parameter": name,
                "prior": prior.describe(),
                "source": prior.source,
                "prior_p05": prior_q.loc[0.05, name],
                "prior_p50": prior_q.loc[0.5, name],
                "prior_p95": prior_q.loc[0.95, name],
                "posterior_p05": post_q.loc[0.05, name] if post_q is not None else math.nan,
                "posterior_p50": post_q.loc[0.5, name] if post_q is not None else math.nan,
                "posterior_p95": post_q.loc[0.95, name] if post_q is not None else math.nan,
                "width_ratio": ratio,
                "verdict": verdict,
                "calibrated": float(per_set.loc[per_set["sample"] == chosen, name].iloc[0]),
                "strongest_target": driver,
                "rho": rho.get(driver, math.nan),
            }
        )
    # what the targets leave uncertain: the untargeted outcomes over all sets and over the accepted ones
    # (totals per year scale with the workforce, so they are shown at full scale)
    pred = []
    acc = per_set[per_set["accepted"]]
    for w in [o for o in outcomes if o not in targets.outcomes]:
        k = 1.0 / targets.spec.search.scale if OUTCOMES[w].total else 1.0
        row = {"outcome": w, "what": OUTCOMES[w].what}
        for label, frame in (("all", per_set), ("accepted", acc)):
            q = (
                frame[w].quantile([0.05, 0.5, 0.95]) * k
                if len(frame)
                else pd.Series([math.nan] * 3, index=[0.05, 0.5, 0.95])
            )
            row.update({f"{label}_p05": q[0.05], f"{label}_p50": q[0.5], f"{label}_p95": q[0.95]})
        pred.append(row)
    tradeoffs = []
    if len(acc) >= 5 and len(names) > 1:
        c = acc[names].corr(method="spearman")
        tradeoffs = sorted(
            (
                (float(c.iloc[i, j]), names[j], names[i])
                for i in range(len(names))
                for j in range(i)
                if c.iloc[i, j] == c.iloc[i, j]
            ),
            key=lambda t: -abs(t[0]),
        )[:3]
    return Analysis(
        per_set=per_set,
        parameters=pd.DataFrame(rows),
        chosen=chosen,
        accepted=n_acc,
        reachable=n_acc > 0,
        predictive=pd.DataFrame(pred),
        tradeoffs=tradeoffs,
    )


def calibrated_params(targets: Targets, values: dict):
    """The targets' scenario (at full scale) with a parameter set's values applied: a `Params`."""
    raw = read_params_file(targets.scenario_path) if targets.scenario_path else {}
    resolved = resolve_params(raw, {}, 1.0, "scenario")
    overrides = expand_uncertainties(values, resolved, targets.spec.parameters)
    return make_params(resolve_params(resolved, overrides, 1.0, "calibrated")), overrides


def calibrated_toml(targets: Targets, analysis: Analysis, params, overrides: dict) -> str:
    from datetime import date

    rows = analysis.parameters.set_index("parameter")
    notes = {}
    for key in overrides:
        pattern = next((p for p in targets.spec.parameters if p == key or ("*" in p and matches(p, key))), key)
        r = rows.loc[pattern]
        notes[key] = (
            f"calibrated: {r['verdict']}; prior {r['prior']} ({r['source']}); accepted 90%: "
            f"{r['posterior_p05']:.4g} to {r['posterior_p95']:.4g}"
        )
    name = targets.path.name if targets.path else "targets.toml"
    header = (
        f"{MARKER} from {name} on {date.today().isoformat()}; regenerate with\n"
        f"    olsim calibrate {targets.path.relative_to(ROOT) if targets.path and targets.path.is_relative_to(ROOT) else name}\n"
        f"{targets.spec.scenario} with the searched parameters set to the "
        + (
            "accepted set nearest the centre of\nevery target range"
            if analysis.reachable
            else "set nearest the target ranges (NONE landed\ninside every range)"
        )
        + f" ({analysis.accepted} of {len(analysis.per_set)} sets accepted). Each calibrated value's comment gives\n"
        f"its prior, its source and the spread of the accepted sets; see docs/ODD.md, 'Calibration'."
    )
    params = params.model_copy(
        update={"description": f"Calibrated: {targets.spec.scenario} with the searched parameters fitted to {name}"}
    )
    return params_toml(params, header=header, notes=notes)


def plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v
