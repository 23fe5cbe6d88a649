"""Recovery of known truths: simulation-based calibration of the sanctions era's ABC-SMC.

Parameter sets are drawn from the fit's priors (`draw_truths`, a seed sequence of its own); the fitted scenario
is run at each (`synthetic_targets`), its fit facts are measured on that run like for like, and the fit is asked
to find the truth again from those synthetic facts, with the same pipeline (`fit_sanctions`) at a reduced budget
(`run_recovery`). If the posterior is honest, its 90% interval covers the truth about 90% of the time (Talts et
al. 2018's simulation-based calibration; Cook, Gelman and Rubin 2006); a parameter whose posterior stays as wide
as its prior whatever the truth is not identifiable from the fit facts at all (`recovery_summary`).

The synthetic facts are the real fit's facts at the truth run's values, each with the absolute unit of distance
it has in the real fit (`tolerance_scale` at its reported value or a range's centre), so the recovery tests the
fit the real data get: a floor and a range become a point (the synthetic world is known exactly), the held-out
facts are dropped (the recovery never reads them). A fact whose tolerance is relative to its reported value
(levels, totals, ratios) cannot report 0 (`FitFact`), yet a small world may post nobody on a permit in 2018: such
a value is reported as `ZERO` of its unit of distance, with the tolerance that keeps the unit, so it costs the
truth run a miss of one billionth of a unit. A fact the truth run cannot measure (NaN: a share of nothing) is
dropped from that truth's fit.

A fit constrained by its mechanisms (``smc.constrain_mechanisms``) draws from the prior restricted to their ranges,
so its truths are drawn from the same restricted prior: each prior draw is judged as its own fit would judge a
candidate (the mean of its mechanisms over the fit's replicate seeds, `truth_screen`) and kept as a truth only if
every one is inside its range; its synthetic facts come from a separate run at the truth's own seed, so they are
not conditioned on the screen. ``screened.csv`` records every draw screened, as it is screened (a resume reads it
and runs no draw twice). Truth numbers are the draws' own, so the kept truths are numbered with gaps.

Seeds: the truth's run takes a seed of at least 2**41, above every seed a fit's experiment uses (``smc.seed``
is at most 2**40, its replicates add at most 100), so the synthetic facts are never the fit's own random numbers;
each truth's fit gets its own ``smc.seed`` (so the truths' fits do not share common random numbers). Truth ``i``
depends only on (seed, i): a recovery of 3 truths is the first 3 of one of 20, and extends in place.

Files, in the recovery's folder: ``truths.csv`` (the drawn truths), ``recovery.json`` (the settings: a resumed
recovery must keep them), ``truth_NN/`` (one calibration folder each, as `fit_sanctions` writes it, with
``truth.json``: the truth, its seeds and the synthetic facts' values; and ``recovery.csv`` once its fit is done:
a finished truth is not fitted again, an interrupted one resumes from its saved generations), and
``recovery.csv``: every truth's parameters against its posterior.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ...common.errors import ExperimentError
from ...common.files import atomic_write
from ...common.formatting import percent
from ...core.params import Params, make_params
from ...engines import run
from ...explore.plan import expand_uncertainties, resolve_params
from ...explore.posterior import weighted_quantile
from ..measures import RunTable
from ..smc import Population
from .fit import MECHANISM, fit_months, fit_sanctions, priors, screen_months
from .targets import FitFact, SanctionsTargets, SMCSettings, all_inside, constrained, mechanism_means, tolerance_scale

STREAM = 0x7265636F76  # "recov": the truths' own seed sequence, apart from the SMC's (seed, generation, batch)
GENERATIONS = 4  # each truth's fit: a reduced budget (the shipped fit stopped after 5)
RUN_SEEDS = (2**41, 2**62)  # the truth runs' seeds: above any seed of a fit's experiment (smc.seed <= 2**40)
FIT_SEEDS = 2**31  # each truth's fit: smc.seed below this
ZERO = 1e-9  # a relative fact's 0 is reported as this share of its unit of distance
TIGHT, NARROWED = 0.5, 0.8  # a posterior 90% width under these shares of the prior's: identifiable, weakly
TARGET, FLOOR = 0.9, 0.8  # the coverage of an honest 90% interval, and the least the recovery accepts
COLUMNS = ["truth", "parameter", "value", "p05", "p50", "p95", "covered", "width", "rank", "ess"]
SETTINGS_BEFORE = {"constrain_mechanisms": False, "mechanism_ranges": None}  # recorded since session 22
SCREEN = 40  # a constrained recovery screens up to this many prior draws per truth (1 in 25-35 is inside)
FEW = 50  # a final population of fewer effective particles has too noisy a 5% and 95% to judge coverage by


def draw_truths(targets: SanctionsTargets, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` parameter sets drawn from the fit's priors (by inverse CDF), one row each: ``truth`` (its number),
    ``seed`` (its run's), ``fit_seed`` (its fit's ``smc.seed``) and the parameters in the priors' order. Row ``i``
    depends only on (``seed``, ``i``), never on the targets file's ``smc.seed``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ExperimentError(f"truths: a whole number of at least 1 (got {n!r})")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ExperimentError(f"seed: a whole number of at least 0 (got {seed!r})")
    frozen = {k: p.frozen() for k, p in priors(targets).items()}
    rows = []
    for i in range(n):
        rng = np.random.default_rng(np.random.SeedSequence([STREAM, seed, i]))
        u = rng.random(len(frozen))
        row: dict = {"truth": i, "seed": int(rng.integers(*RUN_SEEDS)), "fit_seed": int(rng.integers(FIT_SEEDS))}
        row.update({k: float(f.ppf(u[j])) for j, (k, f) in enumerate(frozen.items())})
        rows.append(row)
    return pd.DataFrame(rows)


def truth_params(targets: SanctionsTargets, values: dict, scale: float, months: int | None = None) -> Params:
    """The fitted scenario at ``values`` and ``scale``: the parameters the fit's experiment gives a candidate
    with those values (the scenario scaled, then the values as overrides on it, run through the last fit month, or
    through ``months``)."""
    scaled = resolve_params(targets.resolved_scenario, {}, scale, "truth")
    overrides = {
        "calendar.months": months or fit_months(targets),
        **expand_uncertainties(values, scaled, priors(targets)),
    }
    return make_params(resolve_params(scaled, overrides, 1.0, "truth"))


def _truth_table(targets: SanctionsTargets, values: dict, seed: int, scale: float) -> RunTable:
    s = targets.spec.smc
    if s.seed <= seed < s.seed + s.replicates:
        raise ExperimentError(f"seed: {seed} is a seed of the fit's own runs; the truth needs one of its own")
    return RunTable(run(truth_params(targets, values, scale), engine="array", seed=seed).hosts)


def truth_measures(targets: SanctionsTargets, values: dict, seed: int, scale: float) -> dict[str, float]:
    """Each fit fact measured on one run of the fitted scenario at ``values`` (array engine, ``scale``, ``seed``)."""
    table = _truth_table(targets, values, seed, scale)
    return {k: table.measure(f, scale) for k, f in targets.spec.fit.items()}


def truth_screen(targets: SanctionsTargets, values: dict, fit_seed: int, scale: float, replicates: int):
    """Whether the truth's own fit could ever keep ``values``: its constrained mechanisms (none unless
    ``smc.constrain_mechanisms``) measured as that fit measures a candidate's, the mean over ``replicates`` runs at
    its seeds (``fit_seed`` + r, common random numbers) at ``scale``, each inside its range. Returns the
    mechanisms' values and whether all are inside. A constrained fit draws from the prior restricted to that
    region, so a truth outside it is one it could never cover: the recovery's truths are drawn from the same
    restricted prior (`run_recovery` skips the others). The synthetic facts come from another run, at the truth's
    own seed, so they are not conditioned on the screen."""
    mech = constrained(targets.spec)
    if not mech:
        return {}, True
    # through the last month any constrained mechanism reads (the fit checks its later ones on a longer run)
    params = truth_params(targets, values, scale, screen_months(targets))
    tables = [RunTable(run(params, engine="array", seed=fit_seed + r).hosts) for r in range(replicates)]
    means = mechanism_means(tables, mech, scale)
    return means, all_inside(means, mech)


def relative(fact: FitFact) -> bool:
    """Whether a fact's unit of distance grows with its reported value (tolerance x |reported|), read off
    `tolerance_scale` itself (so the rule stays written once, in targets.py)."""
    probe = FitFact.model_validate({**fact.model_dump(), "reported": 2.0, "low": None, "high": None, "tolerance": 1.0})
    return tolerance_scale(probe, 2.0) == 2.0


def point_fact(fact: FitFact, value: float, note: str = "") -> FitFact:
    """``fact`` as an equal point fact at ``value``, with the unit of distance it has in the real fit
    (`tolerance_scale` at its centre); a relative fact's 0 (or anything smaller than `ZERO` of its unit) is
    reported as `ZERO` of its unit."""
    unit = tolerance_scale(fact, fact.centre)
    reported, tolerance, said = float(value), fact.tolerance, note
    if relative(fact):
        tiny = max(ZERO * unit, 1e-12)  # tolerance_scale reads |reported| as at least 1e-12
        if abs(reported) < tiny:
            said = f"{note}; {reported:.3g} reported as {tiny:.3g}, {ZERO:g} of its unit".lstrip("; ")
            reported = tiny
        tolerance = unit / abs(reported)
    return FitFact.model_validate(
        {
            **fact.model_dump(),
            "reported": reported,
            "low": None,
            "high": None,
            "tolerance": tolerance,
            "bound": "equal",
            "source": "synthetic: measured on a run at a known truth",
            "note": said,
        }
    )


def point_targets(targets: SanctionsTargets, measured: dict[str, float], smc: dict | None = None) -> SanctionsTargets:
    """A copy of ``targets`` whose fit facts are point facts at ``measured`` (`point_fact`; a NaN is dropped), with
    no held-out facts and ``smc`` changed in its settings; it keeps ``targets.path`` (the scenario and
    ``priors_from`` resolve as before) and is never written anywhere."""
    fit = {k: point_fact(f, measured[k]) for k, f in targets.spec.fit.items() if math.isfinite(measured[k])}
    if not fit:
        raise ExperimentError("the truth's run measures none of the fit facts (every one is NaN)")
    settings = SMCSettings.model_validate({**targets.spec.smc.model_dump(), **(smc or {})})
    spec = targets.spec.model_copy(update={"fit": fit, "held_out": {}, "smc": settings})
    return SanctionsTargets(targets.path, spec, "")


def synthetic_targets(targets: SanctionsTargets, truth_values: dict, seed: int, scale: float) -> SanctionsTargets:
    """The targets as the truth's world reports them: every fit fact measured on one run at ``truth_values``
    (`truth_measures`) and made a point fact with its real unit of distance (`point_targets`)."""
    return point_targets(targets, truth_measures(targets, truth_values, seed, scale))


def compare(truth: int, values: dict, pop: Population, names: list[str], prior: dict) -> pd.DataFrame:
    """One row per parameter: the truth's value against the population's weighted 5%, 50% and 95%; whether the
    90% interval covers it; the interval's width on the prior's CDF over 0.9 (1: as wide as the prior's); and
    the truth's rank, the posterior weight below it (ties count half): uniform over truths if the fit is
    calibrated; and the population's effective sample size (a few particles' 5% and 95% are a narrow interval)."""
    w = pop.weights / pop.weights.sum()
    rows = []
    for j, name in enumerate(names):
        x, v = pop.theta[:, j], float(values[name])
        p05, p50, p95 = (float(q) for q in weighted_quantile(x, w, [0.05, 0.5, 0.95]))
        cdf = prior[name].frozen().cdf
        rows.append(
            {
                "truth": truth,
                "parameter": name,
                "value": v,
                "p05": p05,
                "p50": p50,
                "p95": p95,
                "covered": bool(p05 <= v <= p95),
                "width": float(cdf(p95) - cdf(p05)) / 0.9,
                "rank": float(w[x < v].sum() + 0.5 * w[x == v].sum()),
                "ess": pop.ess(),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()


def _settings(folder: Path, settings: dict) -> None:
    """Record the recovery's settings, or check that a resumed one keeps them."""
    path = folder / "recovery.json"
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise ExperimentError(f"{folder}: recovery.json is unreadable; use another folder") from None
        old = {**SETTINGS_BEFORE, **old}  # a folder from before a setting was recorded had its default
        changed = sorted(k for k in set(settings) | set(old) if old.get(k) != settings.get(k))
        if changed:
            raise ExperimentError(
                f"{folder}: a recovery with other settings ({', '.join(changed)}: "
                + ", ".join(f"{old.get(k)!r}, not {settings[k]!r}" for k in changed)
                + "); use another folder"
            )
        return
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(settings, indent=1).encode())


def run_recovery(
    targets: SanctionsTargets,
    folder,
    truths: int = 20,
    particles: int = 100,
    generations: int = GENERATIONS,
    processes=None,
    scheduler=None,
    seed: int = 0,
    scale: float | None = None,
    replicates: int | None = None,
    keep_batches: bool = False,
    log=None,
) -> pd.DataFrame:
    """Draw ``truths`` truths (`draw_truths`), fit each one's synthetic facts with `fit_sanctions` (``particles``,
    ``generations``; ``scale`` and ``replicates``: the targets file's ``smc`` if None) into ``folder/truth_NN``,
    and compare its last population with the truth (`compare`); writes ``folder/recovery.csv`` and
    ``folder/truths.csv`` and returns the comparison. Resumable: a finished truth is read back, an interrupted
    one continues from its saved generations; more truths than before add to the same folder. A finished
    truth's ``batches/`` (its candidates' journals and misses) is removed unless ``keep_batches``: its
    populations, posterior and synthetic facts stay."""
    folder = Path(folder)
    s = targets.spec.smc
    scale = s.scale if scale is None else scale
    replicates = s.replicates if replicates is None else replicates
    screen = bool(constrained(targets.spec))
    drawn = draw_truths(targets, truths * SCREEN if screen else truths, seed)
    prior = priors(targets)
    names = list(prior)
    budget = {"scale": scale, "replicates": replicates}
    SMCSettings.model_validate({**s.model_dump(), **budget})  # checked before anything is written
    settings = {
        "targets": str(targets.path.resolve()),
        "seed": seed,
        "particles": particles,
        "generations": generations,
        **budget,
        "constrain_mechanisms": screen,
        "mechanism_ranges": {k: [f.low, f.high] for k, f in constrained(targets.spec).items()} or None,
    }
    _settings(folder, settings)
    frames: list[pd.DataFrame] = []
    used: list[dict] = []
    path = folder / "screened.csv"
    screened = pd.read_csv(path).set_index("truth") if screen and path.exists() else pd.DataFrame()
    for row in drawn.to_dict("records"):
        if len(used) == truths:
            break
        i = int(row["truth"])
        values = {k: float(row[k]) for k in names}
        sub = folder / f"truth_{i:02d}"
        done = sub / "recovery.csv"
        record = sub / "truth.json"
        if screen and i in screened.index:
            inside = bool(screened.loc[i, "inside"])
        elif screen:  # screened as its own fit would judge it; written at once, so a resume never runs it again
            mech, inside = truth_screen(targets, values, int(row["fit_seed"]), scale, replicates)
            line = pd.DataFrame([{"truth": i, **{f"{MECHANISM}{k}": v for k, v in mech.items()}, "inside": inside}])
            screened = pd.concat([screened, line.set_index("truth")]).sort_index()
            atomic_write(path, _csv(screened.reset_index()))
        else:
            inside = True
        if not inside:
            continue
        if not record.exists():
            measured = truth_measures(targets, values, int(row["seed"]), scale)
            sub.mkdir(parents=True, exist_ok=True)
            kept = {"truth": i, "seed": int(row["seed"]), "fit_seed": int(row["fit_seed"]), "values": values}
            atomic_write(record, json.dumps({**kept, "measured": measured}, indent=1).encode())
        used.append(row)
        if done.exists():
            frames.append(pd.read_csv(done))
            continue
        say = (lambda line, n=len(used): log(f"truth {n}/{truths}: {line}")) if log is not None else None
        t0 = time.perf_counter()
        kept = json.loads(record.read_text())
        if kept["values"] != values or kept["seed"] != row["seed"]:
            raise ExperimentError(f"{sub}: holds another truth; use another folder")
        measured = kept["measured"]
        synthetic = point_targets(targets, measured, {**budget, "seed": int(row["fit_seed"])})
        pops = fit_sanctions(synthetic, sub, processes, scheduler, particles, generations, log=say)
        frame = compare(i, values, pops[-1], names, prior)
        atomic_write(done, _csv(frame))
        if not keep_batches:
            shutil.rmtree(sub / "batches", ignore_errors=True)
        frames.append(frame)
        if say is not None:
            say(f"done in {time.perf_counter() - t0:.0f} s; covered {int(frame['covered'].sum())}/{len(frame)}")
    if len(used) < truths:
        raise ExperimentError(
            f"{folder}: only {len(used)} of {len(drawn)} prior draws keep their mechanisms inside the ranges "
            f"(smc.constrain_mechanisms); {truths} truths need more: ask for fewer"
        )
    atomic_write(folder / "truths.csv", _csv(pd.DataFrame(used, columns=drawn.columns)))
    out = pd.concat(frames, ignore_index=True)[COLUMNS]
    atomic_write(folder / "recovery.csv", _csv(out))
    return out


def identifiability(width: float) -> str:
    """A parameter's verdict from its median posterior 90% width (a share of the prior's)."""
    return "identifiable" if width < TIGHT else "weakly" if width < NARROWED else "not identifiable"


def recovery_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per parameter (in the frame's order), then ``all`` (every parameter-truth pair): the truths, the pairs, how
    many were covered, the coverage with its binomial 95% interval (Clopper-Pearson), the median width, the
    identifiability verdict (none for ``all``) and the final populations' median effective sample size."""
    from scipy.stats import binomtest

    def row(name: str, g: pd.DataFrame, verdict: bool = True) -> dict:
        k, n = int(g["covered"].sum()), len(g)
        ci = binomtest(k, n).proportion_ci(0.95)
        width = float(g["width"].median())
        return {
            "parameter": name,
            "truths": int(g["truth"].nunique()),
            "pairs": n,
            "covered": k,
            "coverage": k / n,
            "ci_low": float(ci.low),
            "ci_high": float(ci.high),
            "median_width": width,
            "verdict": identifiability(width) if verdict else "",
            "median_ess": float(g.groupby("truth")["ess"].first().median()) if "ess" in g else math.nan,
        }

    if frame.empty:
        raise ExperimentError("recovery: no truths to summarise")
    rows = [row(str(name), g) for name, g in frame.groupby("parameter", sort=False)]
    rows.append(row("all", frame, verdict=False))
    return pd.DataFrame(rows)


def coverage_verdict(coverage: float, low: float, high: float) -> str:
    """Coverage against the 80% floor and the 90% target (with its 95% interval ``low``-``high``)."""
    if coverage < FLOOR:
        return "below the 80% floor: the posterior's intervals are too narrow to trust"
    if low > TARGET:
        return "above 90% beyond doubt: the intervals are wider than they need be (conservative), but honest"
    if high < TARGET:
        return "above the 80% floor but, beyond doubt, short of 90%: the intervals are a little narrow"
    return "at or above the 80% floor and consistent with 90%: well calibrated"


def recovery_text(summary: pd.DataFrame, budget: dict | None = None) -> str:
    """A markdown section: the overall coverage against the 90% target and the 80% floor, and which parameters the
    fit facts identify; with ``budget`` (particles, generations, scale, replicates), the budget each truth's fit had."""
    by = summary.set_index("parameter")
    a = by.loc["all"]
    params = by.drop(index="all")

    def named(verdict: str) -> str:
        keys = [f"`{k}`" for k in params.index[params["verdict"] == verdict]]
        return ", ".join(keys) if keys else "none"

    low = [f"`{k}` ({percent(r['coverage'], 0)})" for k, r in params.iterrows() if r["coverage"] < FLOOR]
    lines = [
        "## Recovery of known truths",
        "",
        f"{int(a['truths'])} parameter sets drawn from the prior"
        + (
            f" restricted to the mechanisms' ranges (the fit's constraint: the first {int(a['truths'])} of "
            f"{budget['screened']:,} prior draws its fit could keep: every mechanism inside its range, measured "
            "as the fit measures a candidate's)"
            if budget and budget.get("screened")
            else ""
        )
        + f", each fitted from the facts of its own run: the "
        f"posterior's 90% interval covered the truth in {int(a['covered'])} of {int(a['pairs'])} parameter-truth "
        f"pairs, {percent(a['coverage'])} (95% interval {percent(a['ci_low'])} to {percent(a['ci_high'])}; the "
        f"pairs of one truth share a fit, so the interval is somewhat too narrow). Target about 90%, floor 80%: "
        f"{coverage_verdict(a['coverage'], a['ci_low'], a['ci_high'])}.",
        "",
    ]
    if budget is not None:
        lines += [
            f"Each truth's run and fit at {budget['scale']:g} of the workforce, {budget['replicates']} seed"
            f"{'s' if budget['replicates'] != 1 else ''} a candidate, {budget['particles']} particles x "
            f"{budget['generations']} generations (a reduced budget: the pipeline is the fit's own).",
            "",
        ]
    ess = float(a.get("median_ess", math.nan))
    if ess < FEW:
        n = max(int(round(ess)), 1)
        lines += [
            f"The final populations' median effective sample size is {ess:.0f} particles, under {FEW}: so few "
            f"particles' own 5% and 95% quantiles are a narrow interval by chance (a truth drawn like them falls "
            f"outside all {n} with probability 2/{n + 1}, {percent(2 / (n + 1), 0)}), so a low coverage here may be "
            f"the budget's, not the fit's. Raise the particles before judging it.",
            "",
        ]
    lines += [
        f"- Identifiable (median posterior 90% width under {percent(TIGHT, 0)} of the prior's): {named('identifiable')}.",
        f"- Weakly identifiable (under {percent(NARROWED, 0)}): {named('weakly')}.",
        f"- Not identifiable (the posterior about as wide as the prior): {named('not identifiable')}.",
        f"- Covered in fewer than {percent(FLOOR, 0)} of the truths: {', '.join(low) if low else 'none'}.",
        "",
        "| parameter | truths | coverage | median width | verdict |",
        "|---|---:|---:|---:|---|",
    ]
    for k, r in params.iterrows():
        lines.append(
            f"| `{k}` | {int(r['truths'])} | {percent(r['coverage'], 0)} | {percent(r['median_width'], 0)} | "
            f"{r['verdict']} |"
        )
    return "\n".join(lines) + "\n"
