"""Can the model reach the fit facts at all, and together? History matching on what the ABC-SMC simulated.

Before the posterior is read as an answer, the check asks whether the model can produce the facts jointly, so that
a fact no parameter set reaches is reported as a model failure rather than absorbed by a degenerate corner of the
parameter space (issue 30, item 3). It uses history matching's implausibility (Craig et al. 1997; Vernon et al.
2010; Andrianakis et al. 2015):

    I_k(theta) = |model_k(theta) - reported_k| / sd_k

with sd_k one tolerance unit of the fact (`targets.tolerance_scale`). The tolerance is the model discrepancy and
the observation error together, as the targets file states them: how far off a run may be and still count as
describing the reported figure. ``model_k`` is the mean over a candidate's replicates (common random numbers), so
the ensemble variance is mostly out of I_k. A parameter set is ruled out when some I_k exceeds 3 (Pukelsheim's
three-sigma rule, the usual cut-off). A range is reached anywhere inside it (I = 0), a floor anywhere above it.

The candidates are those the fit simulated, read from the batches' ``misses.parquet`` (`fit.candidate_misses`):
generation 0 is a plain sample of the prior; all generations together explore where the fit looked. Per fact the
check reports how much of the prior reaches it, the nearest any candidate came, and whether it can be reached
while every other fact is within the cut-off. Verdicts:

- **reached**: some candidate is within the cut-off on this fact and on every other;
- **in conflict**: candidates reach it, and others reach all the rest, but none does both: the model cannot
  produce this fact together with the others;
- **reached alone**: candidates reach it, but none meets every other fact at once, so where the conflict lies is
  not this fact's row to say (some other fact is in conflict or a failure);
- **model failure**: no candidate comes within the cut-off: the model cannot produce it at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .fit import MECHANISM, RULED_OUT
from .targets import CUTOFF

VERDICTS = ("reached", "reached alone", "in conflict", "model failure")


def implausibility(candidates: pd.DataFrame, facts: list[str]) -> pd.DataFrame:
    """|miss| per candidate and fact (the misses are already in tolerance units: `targets.unit_miss`)."""
    missing = [k for k in facts if k not in candidates.columns]
    if missing:
        raise ValueError(f"adequacy: the candidates have no misses for {', '.join(missing)}")
    return candidates[facts].abs()


def allowed(candidates: pd.DataFrame) -> np.ndarray:
    """Which candidates the fit's constraints allow (every constrained mechanism inside its range: the fit's
    ``ruled_out`` column, `fit.RULED_OUT`); all of them when the fit was not constrained."""
    if RULED_OUT not in candidates.columns:
        return np.ones(len(candidates), dtype=bool)
    return ~candidates[RULED_OUT].to_numpy(dtype=bool)


def adequacy_table(prior: pd.DataFrame, explored: pd.DataFrame, facts: list[str]) -> pd.DataFrame:
    """One row per fact: the share of prior draws within the cut-off, the share of every explored candidate, the
    nearest any came (implausibility), how many explored candidates meet every other fact and the share of them
    that meet this one too, and the verdict. A candidate a constrained mechanism rules out (`allowed`) counts in
    the shares and the nearest, but in no verdict: a fact reached only through a mechanism outside its sourced range
    is not reached (a model failure, if no allowed candidate comes within the cut-off)."""
    ip, ie = implausibility(prior, facts), implausibility(explored, facts)
    within = ie.to_numpy() <= CUTOFF
    ok = within & allowed(explored)[:, None]  # the verdicts count only what the constraints allow
    rows = []
    for j, k in enumerate(facts):
        others = np.delete(ok, j, axis=1).all(axis=1)
        n_rest = int(others.sum())
        both = int((others & ok[:, j]).sum())
        if both:
            verdict = "reached"
        elif not ok[:, j].any():
            verdict = "model failure"
        else:  # reached alone: in conflict with the rest if they can be met together, else the conflict is elsewhere
            verdict = "in conflict" if n_rest else "reached alone"
        rows.append(
            {
                "fact": k,
                "prior_within": float((ip[k] <= CUTOFF).mean()) if len(ip) else np.nan,
                "explored_within": float(within[:, j].mean()) if len(within) else np.nan,
                "nearest": float(ie[k].min()) if len(ie) else np.nan,
                "rest_met": n_rest,
                "with_the_rest": both / n_rest if n_rest else np.nan,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def joint_summary(prior: pd.DataFrame, explored: pd.DataFrame, facts: list[str]) -> dict:
    """How much of the prior and of the explored space is not ruled out (every fact within the cut-off), how many
    candidates meet every fact within one tolerance, and the best candidate's largest implausibility."""
    ip, ie = implausibility(prior, facts).max(axis=1), implausibility(explored, facts).max(axis=1)
    ap, ae = allowed(prior), allowed(explored)
    ip, ie = ip.where(ap, np.inf), ie.where(ae, np.inf)  # ruled out by a mechanism: implausible whatever its misses
    out = {
        "prior_draws": len(ip),
        "prior_not_ruled_out": float((ip <= CUTOFF).mean()) if len(ip) else np.nan,
        "explored": len(ie),
        "explored_not_ruled_out": int((ie <= CUTOFF).sum()),
        "explored_within_one": int((ie <= 1.0).sum()),
        "best_max_implausibility": float(ie.min()) if len(ie) else np.nan,
    }
    if RULED_OUT in explored.columns:
        # inside every range measured on it and every range measured (a later mechanism is measured only where it
        # could matter: `candidates.Judge.needs_later`; a candidate it was not measured on is not counted inside)
        out["prior_inside_mechanisms"] = float((ap & _all_measured(prior)).mean()) if len(ap) else np.nan
        out["explored_inside_mechanisms"] = int((ae & _all_measured(explored)).sum())
    return out


def _all_measured(candidates: pd.DataFrame) -> np.ndarray:
    """Which candidates have every mechanism the fit recorded measured (none NaN)."""
    cols = [c for c in candidates.columns if c.startswith(MECHANISM)]
    return candidates[cols].notna().all(axis=1).to_numpy() if cols else np.ones(len(candidates), dtype=bool)


def mechanism_rows(prior: pd.DataFrame, explored: pd.DataFrame, mechanisms: dict) -> pd.DataFrame:
    """Per constrained mechanism (the fit's ``mechanism:`` columns): its range, how many of the prior's draws and of
    the explored candidates it was measured on, and the share of those inside it (mean over the candidate's
    replicates). A mechanism after the fit's window is measured only where it could matter (`fit.Simulator`:
    candidates inside the earlier ranges that the generation may keep or the verdicts may count); NaN is not
    measured."""
    rows = []
    for k, f in mechanisms.items():
        col = f"{MECHANISM}{k}"
        if col not in explored.columns:
            continue
        measured = lambda c: c[col].dropna() if col in c.columns else pd.Series(dtype=float)  # noqa: E731
        share = lambda v: float(v.between(f.low, f.high).mean()) if len(v) else np.nan  # noqa: E731
        p, e = measured(prior), measured(explored)
        rows.append(
            {
                "mechanism": k,
                "low": f.low,
                "high": f.high,
                "prior_measured": len(p),
                "prior_inside": share(p),
                "explored_measured": len(e),
                "explored_inside": share(e),
            }
        )
    return pd.DataFrame(rows)


def _share(x: float) -> str:
    """A share as a percentage, with a decimal under 1% (so a few candidates in thousands do not read as none)."""
    return f"{x:.1%}" if 0 < x < 0.01 else f"{x:.0%}"


def adequacy_text(
    table: pd.DataFrame, joint: dict, words: dict[str, str], mechanisms: pd.DataFrame | None = None
) -> list[str]:
    """The report's section: the joint summary in words, then the table (``words``: each fact's and mechanism's
    description); with ``mechanisms`` (`mechanism_rows`), how much of the prior the fit's constraints keep."""
    failures = table.loc[table["verdict"] != "reached", "fact"].tolist()
    lines = [
        "## Can the model reach the facts? (adequacy, before the posterior is read)",
        "",
        "History matching (Vernon et al. 2010) on every candidate the fit simulated: a fact's implausibility is its "
        "miss in tolerance units (the tolerance stands for the model discrepancy and the observation error together), "
        f"and a parameter set is ruled out when any fact's exceeds {CUTOFF:g}. Generation 0 is a sample of the prior; "
        "all generations together are where the fit looked.",
        "",
        f"- Prior draws not ruled out: {_share(joint['prior_not_ruled_out'])} of {joint['prior_draws']:,}.",
        f"- Explored candidates not ruled out: {joint['explored_not_ruled_out']:,} of {joint['explored']:,}; within one "
        f"tolerance on every fact: {joint['explored_within_one']:,}. "
        + (
            f"The best candidate's largest miss: {joint['best_max_implausibility']:.2f} tolerance units."
            if np.isfinite(joint["best_max_implausibility"])
            else "No candidate the constraints allow."
        ),
        *(
            [
                f"- Inside every constrained mechanism's range (smc.constrain_mechanisms: a candidate outside one is "
                f"ruled out whatever its misses): {_share(joint['prior_inside_mechanisms'])} of the prior "
                f"draws, {joint['explored_inside_mechanisms']:,} of the explored candidates (each range measured on it). The "
                "counts of candidates not "
                "ruled out above and the verdicts below count only those; the shares within 3 and the nearest misses "
                "in the table count every candidate."
            ]
            if "prior_inside_mechanisms" in joint
            else []
        ),
        "- "
        + (
            "Every fit fact is reached together with all the others."
            if not failures
            else "Not reached jointly (a model failure or a conflict, not a fit to trust on these): "
            + "; ".join(f"{words.get(k, k)} ({v})" for k, v in zip(table["fact"], table["verdict"]) if k in failures)
            + "."
        ),
        "",
        "| fact | prior draws within 3 | explored within 3 | nearest (units) | with every other fact within 3 | verdict |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for _, r in table.iterrows():
        rest = "n/a" if r["rest_met"] == 0 else f"{r['with_the_rest']:.0%} of {r['rest_met']:,}"
        verdict = r["verdict"] if r["verdict"] == "reached" else f"**{r['verdict']}**"
        lines.append(
            f"| {words.get(r['fact'], r['fact'])} | {r['prior_within']:.0%} | {r['explored_within']:.0%} | "
            f"{r['nearest']:.2f} | {rest} | {verdict} |"
        )
    if mechanisms is not None and len(mechanisms):
        lines += [
            "",
            "| constrained mechanism | range | prior draws inside (of those measured) | explored inside (of those "
            "measured) |",
            "|---|---|---:|---:|",
        ]
        pct = lambda v: "n/a" if not np.isfinite(v) else f"{v:.0%}"  # noqa: E731
        for _, r in mechanisms.iterrows():
            lines.append(
                f"| {words.get(r['mechanism'], r['mechanism'])} | {r['low']:g} to {r['high']:g} | "
                f"{pct(r['prior_inside'])} of {r['prior_measured']:,} | "
                f"{pct(r['explored_inside'])} of {r['explored_measured']:,} |"
            )
        lines += [
            "",
            "A mechanism after the fit's window is measured by running the candidate on, and only where it could matter: "
            "on the candidates inside the earlier ranges that their generation could keep (within its tolerance) or "
            "that the verdicts could count (at most one fact beyond 3).",
        ]
    return lines + [""]
