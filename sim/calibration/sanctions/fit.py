"""The sanctions era fitted by ABC-SMC, and what the fit writes.

Each batch of candidate parameter sets is planned as an experiment (every candidate a scenario of the history with
its values as overrides, ``smc.replicates`` seeds: common random numbers across candidates, at ``smc.scale``), so
its parameters and seeds are an experiment's; each candidate is then judged in one task, its replicates side by
side (`candidates.run_candidate`), on the local pool or a Dask cluster, and a batch resumes after an interruption
from its journal of finished candidates. A candidate's distance is the RMS of its fit facts' mean misses in tolerance
units (`sanctions.distance`); the held-out facts are not read. Each finished generation is saved as
``populations/gNN.parquet`` (values, weight, distance, tolerance), so a stopped calibration resumes from the
last one; the last is the posterior (``posterior.csv``, a file experiments sample: `sim.explore.posterior`), and
its central particle the calibrated history (`calibrated_scenario_toml`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ...common.errors import ExperimentError
from ...common.files import atomic_write
from ...core.fields import months_spanned
from ...core.params import Calendar
from ...explore.plan import expand_uncertainties, plan_experiment, resolve_params
from ...explore.posterior import Posterior, weighted_quantile, write_posterior
from ...explore.runner import execute_or_stop
from ...results.outcomes import REVENUE
from ..folder import MARKER, round_value
from ..smc import BUDGET, CONVERGED, LOW_ACCEPTANCE, Marginal, Population, abc_smc
from ..targets import ROOT, Fact, Prior, load_targets, matches
from .candidates import MECHANISM, RULED_OUT, Journal, Judge, other_candidates, run_candidate
from .targets import SanctionsTargets, constrained


STOPS = {
    CONVERGED: "converged (the tolerance fell by less than smc.min_drop in the last generation)",
    LOW_ACCEPTANCE: "acceptance below smc.min_acceptance",
    BUDGET: "on its budget (smc.generations), not converged",
}


def priors(targets: SanctionsTargets) -> dict[str, Prior]:
    """The response parameters' priors, then the no-sanctions ones of ``priors_from`` (searched jointly)."""
    out = dict(targets.spec.parameters)
    if targets.spec.priors_from:
        for k, v in load_targets(targets.path.parent / targets.spec.priors_from).spec.parameters.items():
            out.setdefault(k, v)
    return out


def _months_through(targets: SanctionsTargets, facts) -> int:
    """The history's months from its first through the last month any of ``facts`` reads."""
    calendar = Calendar.model_validate(targets.resolved_scenario.get("calendar", {}))
    return min(calendar.months, max(months_spanned(calendar.start, f.end) for f in facts))


def fit_months(targets: SanctionsTargets) -> int:
    """The months a candidate's run needs for its distance: from the scenario's first month through the last month
    any fit fact reads (2016-01 to 2020-03: 51 of the history's 120). A month's tables depend only on the months
    before it (each month's draws are keyed by the seed and the month, `sim.core.draws`), so the distance is the same
    as the whole run's, bit for bit (tests/test_recovery.py), at under half the cost."""
    return _months_through(targets, targets.spec.fit.values())


def later_constraints(targets: SanctionsTargets) -> dict[str, Fact]:
    """The constrained mechanisms that read past the fit's months (sending home once the border reopens, 2023-2025):
    checked only on the candidates that may matter (`candidates.Judge.needs_later`), whose runs go on to their last
    month."""
    n = fit_months(targets)
    return {k: m for k, m in constrained(targets.spec).items() if _months_through(targets, [m]) > n}


def screen_months(targets: SanctionsTargets) -> int:
    """The months a run needs to judge every fit fact and every constrained mechanism."""
    return _months_through(targets, [*targets.spec.fit.values(), *constrained(targets.spec).values()])


class Simulator:
    """``simulate(theta, generation, batch)`` for `abc_smc`: one experiment per batch, in ``folder``."""

    def __init__(
        self,
        targets: SanctionsTargets,
        folder: Path,
        names: list[str],
        prior: dict[str, Prior],
        processes=None,
        scheduler=None,
    ):
        self.t, self.folder, self.names, self.prior = targets, folder, names, prior
        self.processes, self.scheduler = processes, scheduler
        self.resolved = targets.resolved_scenario
        self.constraints = constrained(targets.spec)
        self.later = later_constraints(targets)  # measured by running on, for a candidate that may matter
        self.early = {k: m for k, m in self.constraints.items() if k not in self.later}
        self.months = fit_months(targets)
        self.later_months = screen_months(targets)
        self.tolerance = math.inf  # this generation's (`at_tolerance`): who may be kept

    def at_tolerance(self, generation: int, tolerance: float) -> None:
        """`abc_smc`'s ``on_tolerance``: the tolerance the coming generation's candidates must meet."""
        self.tolerance = tolerance

    def overrides(self, row, months: int | None = None) -> dict:
        values = {k: float(v) for k, v in zip(self.names, row)}
        return {"calendar.months": months or self.months, **expand_uncertainties(values, self.resolved, self.prior)}

    def outside(self, theta: np.ndarray) -> np.ndarray:
        """Which candidates the model's parameters refuse (an unbounded prior's far tail, e.g. a lognormal's, can
        propose a median entry bribe past the $1,000,000 the model allows): they are not run, and their distance is
        infinite (rejected), as if the prior stopped at the model's bounds. Before, one such candidate stopped the
        whole calibration with a validation error."""
        out = np.zeros(len(theta), dtype=bool)
        for i, row in enumerate(theta):
            try:
                resolve_params(self.resolved, self.overrides(row), 1.0, "candidate")
            except ExperimentError:
                out[i] = True
        return out

    def experiment(self, theta: np.ndarray, generation: int, batch: int, skip=None, months: int | None = None) -> dict:
        """The batch as an experiment (a scenario per candidate, ``months`` long: default the fit's): what the
        candidates' tasks are planned from, so their parameters and seeds are an experiment's."""
        s = self.t.spec.smc
        months = months or self.months
        scenarios = []
        for i, row in enumerate(theta):
            if skip is None or not skip[i]:
                scenarios.append({"name": f"p{i:05d}", "overrides": self.overrides(row, months)})
        return {
            "name": f"smc-g{generation:02d}-b{batch:02d}",
            "base": str(self.t.scenario_path.resolve()),
            "engine": "array",
            "seed": s.seed,
            "replicates": s.replicates,
            "scale": s.scale,
            "hosts": True,
            "outcomes": [REVENUE],
            "scenarios": scenarios,
        }  # planned only (its tasks' parameters and seeds): a candidate is run and measured by `run_candidate`

    def _plan(self, theta: np.ndarray, generation: int, batch: int, skip=None, months: int | None = None):
        return plan_experiment(self.experiment(theta, generation, batch, skip, months), self.t.path.parent)

    def judge(self) -> Judge:
        """How this generation judges a candidate (`candidates.Judge`)."""
        return Judge(
            fit=dict(self.t.spec.fit),
            early=self.early,
            later=self.later,
            scale=self.t.spec.smc.scale,
            tolerance=self.tolerance,
            fit_months=self.months,
            later_months=self.later_months if self.later else self.months,
            constrained=bool(self.constraints),
        )

    def tasks(self, plan, judge: Judge) -> list[dict]:
        """A task per candidate the plan runs: its replicates' seeds side by side (`candidates.run_candidate`)."""
        by_candidate: dict[str, list[dict]] = {}
        for t in plan.tasks:
            by_candidate.setdefault(t["scenario"], []).append(t)
        tasks = []
        for name, runs in by_candidate.items():
            assert all(r["params"] == runs[0]["params"] for r in runs), "a candidate's replicates differ in seed only"
            tasks.append(
                {
                    "run_id": name,
                    "candidate": int(name[1:]),
                    "params": runs[0]["params"],
                    "seeds": [r["seed"] for r in sorted(runs, key=lambda r: r["replicate"])],
                    "judge": judge,
                }
            )
        return tasks

    def __call__(self, theta: np.ndarray, generation: int, batch: int) -> np.ndarray:
        """The candidates' distances (infinite: refused by the model or ruled out by a mechanism; NaN: failed),
        each candidate's row written to the batch's ``misses.parquet`` (mean misses over its replicates, fact by
        fact; its mechanisms). A batch already judged is read back; an interrupted one resumes from its journal."""
        out = self.folder / "batches" / f"g{generation:02d}-b{batch:02d}"
        known = _judged(out, theta, self.names)
        if known is not None:
            return known
        months = self.later_months if self.later else self.months  # the models' calendar; each runs what it needs
        outside = np.zeros(len(theta), dtype=bool)
        try:
            plan = self._plan(theta, generation, batch, months=months)
        except ExperimentError:  # a candidate the model refuses: plan the others (any other error is raised again)
            outside = self.outside(theta)
            if outside.all():
                return np.full(len(theta), math.inf)
            plan = self._plan(theta, generation, batch, skip=outside, months=months)
        judge = self.judge()
        journal = Journal(out, theta)
        todo = [t for t in self.tasks(plan, judge) if t["candidate"] not in journal.done]
        execute_or_stop(
            todo,
            lambda r: journal.add(r["candidate"], r["row"]),
            self.processes,
            self.scheduler,
            lambda: f"the {len(journal.done)} finished candidates of this batch are saved in {out}",
            function=run_candidate,
        )
        d = np.full(len(theta), math.nan)
        rows = []
        for i in range(len(theta)):
            values = {n: float(v) for n, v in zip(self.names, theta[i])}
            if outside[i]:  # not run: infinite, not ruled out by a mechanism
                row = {
                    "distance": math.inf,
                    **{k: math.nan for k in self.t.spec.fit},
                    **{f"{MECHANISM}{k}": math.nan for k in self.early},
                    **({RULED_OUT: False} if self.constraints else {}),
                    **{f"{MECHANISM}{k}": math.nan for k in self.later},
                }
            else:
                row = journal.done[i]
            d[i] = row["distance"]
            rows.append({"candidate": i, **values, **row})
        # every candidate's misses, fact by fact (mean over its replicates): the adequacy check reads generation 0's
        atomic_write(out / "misses.parquet", pd.DataFrame(rows).to_parquet(index=False))
        return d


def _judged(out: Path, theta: np.ndarray, names: list[str]) -> np.ndarray | None:
    """A batch's distances from its ``misses.parquet``, if it was judged already (on these candidates)."""
    path = out / "misses.parquet"
    if not path.exists():
        return None
    frame = pd.read_parquet(path)
    if len(frame) != len(theta) or not np.array_equal(frame[names].to_numpy(dtype=float), theta):
        raise other_candidates(out)
    return frame["distance"].to_numpy(dtype=float)


def candidate_misses(folder: Path, generation: int) -> pd.DataFrame:
    """Every candidate simulated in a generation, its parameters, distance and misses (fact by fact, in tolerance
    units, mean over its replicates), from the batches' ``misses.parquet``; empty if none was saved."""
    paths = sorted((Path(folder) / "batches").glob(f"g{generation:02d}-b*/misses.parquet"))
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True) if paths else pd.DataFrame()


def _save(folder: Path, t: int, pop: Population, names: list[str]) -> None:
    frame = pd.DataFrame(pop.theta, columns=names)
    frame["weight"], frame["distance"] = pop.weights, pop.distances
    assert pop.u is not None  # every population the SMC makes or reads back has its u
    for k, name in enumerate(names):  # the kernel's coordinates, so a resumed calibration continues exactly
        frame[f"u:{name}"] = pop.u[:, k]
    path = folder / "populations" / f"g{t:02d}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, frame.to_parquet(index=False))
    meta = {
        "generation": t,
        "epsilon": None if math.isinf(pop.epsilon) else pop.epsilon,
        "simulated": pop.simulated,
        "particles": len(pop.theta),
        "ess": pop.ess(),
        "stop": pop.extra.get("stop"),
    }
    atomic_write(path.with_suffix(".json"), json.dumps(meta, indent=1).encode())


def _load(folder: Path, names: list[str]) -> list[Population]:
    pops = []
    for t in range(1000):
        path = folder / "populations" / f"g{t:02d}.parquet"
        if not path.exists() or not path.with_suffix(".json").exists():
            break
        frame, meta = pd.read_parquet(path), json.loads(path.with_suffix(".json").read_text())
        values = [c for c in frame.columns if c not in ("weight", "distance") and not c.startswith("u:")]
        if values != names:
            raise ExperimentError(f"{folder}: its populations are of other parameters; use another --out or --force")
        eps = math.inf if meta["epsilon"] is None else meta["epsilon"]
        pops.append(
            Population(
                np.ascontiguousarray(frame[names].to_numpy(dtype=float)),
                np.ascontiguousarray(frame["weight"].to_numpy(dtype=float)),
                np.ascontiguousarray(frame["distance"].to_numpy(dtype=float)),
                eps,
                meta["simulated"],
                u=np.ascontiguousarray(frame[[f"u:{n}" for n in names]].to_numpy(dtype=float)),
                extra={"stop": meta["stop"]} if meta.get("stop") else {},
            )
        )
    return pops


def fit_sanctions(
    targets: SanctionsTargets, folder, processes=None, scheduler=None, particles=None, generations=None, log=None
) -> list[Population]:
    """Run (or resume) the ABC-SMC of the sanctions era into ``folder``; returns every generation."""
    folder = Path(folder)
    s = targets.spec.smc
    prior = priors(targets)
    names = list(prior)
    simulate = Simulator(targets, folder, names, prior, processes, scheduler)

    def saved(t, pop):
        _save(folder, t, pop, names)
        if log is not None:
            why = pop.extra.get("stop")
            if t == 0 and len(pop.theta) < (particles or s.particles):
                log(
                    f"generation 0 kept only {len(pop.theta)} of the {particles or s.particles} prior draws it needs "
                    f"({pop.simulated} simulated): too few inside the constraints; its files will not be shipped"
                )
            log(
                f"generation {t}: {len(pop.theta)} particles, tolerance {pop.epsilon:.3g}, "
                f"{pop.simulated} simulated, ESS {pop.ess():.0f}" + (f"; stopped: {STOPS[why]}" if why else "")
            )

    try:
        pops = abc_smc(
            simulate,
            [Marginal(k, p) for k, p in prior.items()],
            particles or s.particles,
            generations or s.generations,
            quantile=s.quantile,
            seed=s.seed,
            start=_load(folder, names),
            on_generation=saved,
            min_drop=s.min_drop,
            min_acceptance=s.min_acceptance,
            kernel=s.kernel,
            defensive=s.defensive,
            on_tolerance=simulate.at_tolerance,
        )
    except RuntimeError as e:  # too few particles within the tolerance: say so in one line
        raise ExperimentError(f"{targets.path}: {e}; raise smc.particles or smc.quantile") from None
    write_posterior_file(targets, folder / "posterior.csv", pops, names, prior)
    return pops


def fitted_policies(targets: SanctionsTargets) -> dict[int, str]:
    """The kinds of the fitted scenario's policies, by index (what a ``policies.N.*`` column belongs to)."""
    return {i: p["kind"] for i, p in enumerate(targets.resolved_scenario["policies"])}


def write_population_file(
    targets: SanctionsTargets, path: Path, pop: Population, names: list[str], prior: dict[str, Prior], header: str
) -> Path:
    """A population as the posterior CSV the experiment machinery samples from (`sim.explore.posterior`)."""
    frame = pd.DataFrame(pop.theta, columns=names)
    frame.insert(0, "distance", pop.distances)
    frame.insert(0, "weight", pop.weights)
    frame.insert(0, "particle", np.arange(len(frame)))
    return write_posterior(
        path,
        frame,
        targets.spec.scenario,
        fitted_policies(targets),
        [k for k, p in prior.items() if p.relative],
        [f"{MARKER} from {targets.path.name}: {header}"],
    )


def write_posterior_file(
    targets: SanctionsTargets, path: Path, pops: list[Population], names: list[str], prior: dict[str, Prior]
) -> Path:
    """The last generation: the posterior."""
    last = pops[-1]
    return write_population_file(
        targets,
        path,
        last,
        names,
        prior,
        f"the sanctions era's posterior, ABC-SMC generation {len(pops) - 1} ({len(last.theta)} particles, tolerance "
        f"{last.epsilon:.4g} in the fit's units, ESS {last.ess():.0f}). Sample it from an experiment with posterior = "
        f'"..." and [sampling] method = "posterior" (docs/ODD.md 8.7).',
    )


def write_prior_file(targets: SanctionsTargets, folder: Path, pops: list[Population]) -> Path:
    """Generation 0 (draws of the prior, equal weights): the prior predictive's draws."""
    return write_population_file(
        targets,
        folder / "prior.csv",
        pops[0],
        list(priors(targets)),
        priors(targets),
        "draws of the prior (generation 0), equal weights"
        + (
            ", restricted to the mechanisms' ranges (smc.constrain_mechanisms: the prior the fit starts from)"
            if targets.spec.smc.constrain_mechanisms
            else ""
        ),
    )


def central_particle(post: Posterior, prior: dict[str, Prior]) -> int:
    """The particle nearest the posterior's centre: the weighted median of each parameter, measured on its prior's
    CDF (so every parameter counts on the same 0-1 scale); a real particle, so its combination was simulated."""
    names = post.names
    z = np.column_stack([prior[k].frozen().cdf(post.frame[k].to_numpy(float)) for k in names])
    w = post.weights
    centre = np.array([weighted_quantile(z[:, j], w, 0.5)[0] for j in range(len(names))])
    return int(np.argmin(np.sum((z - centre) ** 2, axis=1)))


def verdict(post_width: float, prior_width: float) -> str:
    """How much the data narrowed a parameter: its posterior 90% width against its prior's."""
    r = post_width / prior_width if prior_width > 0 else math.nan
    return "pinned" if r < 0.5 else "narrowed" if r < 0.8 else "loose"


def parameter_table(post: Posterior, prior: dict[str, Prior]) -> pd.DataFrame:
    """Per parameter: prior and posterior 5/50/95%, the ratio of the 90% widths and the verdict."""
    q = post.quantiles([0.05, 0.5, 0.95])
    rows = []
    for k in post.names:
        f = prior[k].frozen()
        p05, p50, p95 = (float(v) for v in f.ppf([0.05, 0.5, 0.95]))
        a, m, b = (float(q.loc[x, k]) for x in (0.05, 0.5, 0.95))
        ca, cm, cb = (float(v) for v in f.cdf([a, m, b]))
        # widths on the prior's CDF: the same as raw widths for a uniform prior, fair for a lognormal one
        rows.append(
            {
                "parameter": k,
                "prior": prior[k].describe(),
                "source": prior[k].source,
                "prior_p05": p05,
                "prior_p50": p50,
                "prior_p95": p95,
                "posterior_p05": a,
                "posterior_p50": m,
                "posterior_p95": b,
                "posterior_cdf_p05": ca,
                "posterior_cdf_p50": cm,
                "posterior_cdf_p95": cb,
                "width_ratio": (cb - ca) / 0.9,
                "verdict": verdict(cb - ca, 0.9),
            }
        )
    return pd.DataFrame(rows)


def calibrated_scenario_toml(targets: SanctionsTargets, post: Posterior, prior: dict[str, Prior]) -> tuple[str, dict]:
    """The history scenario at the posterior's central particle, as a complete parameter file with provenance
    comments; and the particle's values."""
    from datetime import date

    from ...core.params import make_params
    from ...core.params_toml import params_toml

    i = central_particle(post, prior)
    values = {k: round_value(float(post.frame[k].iloc[i])) for k in post.names}
    resolved = targets.resolved_scenario
    overrides = expand_uncertainties(values, resolved, prior)
    params = make_params(resolve_params(resolved, overrides, 1.0, "calibrated"))
    table = parameter_table(post, prior).set_index("parameter")
    notes = {}
    for key in overrides:
        pattern = next(p for p in prior if p == key or ("*" in p and matches(p, key)))
        r = table.loc[pattern]
        notes[key] = (
            f"calibrated ({r['verdict']}): prior {r['prior']} ({r['source']}); posterior 90%: "
            f"{r['posterior_p05']:.4g} to {r['posterior_p95']:.4g}"
        )
    full = targets.path.resolve()
    rel = full.relative_to(ROOT) if full.is_relative_to(ROOT) else targets.path
    header = (
        f"{MARKER} from {targets.path.name} on {date.today().isoformat()}; regenerate with\n"
        f"    olsim calibrate {rel}\n"
        f"{targets.spec.scenario} with the {len(values)} calibrated parameters set to particle {i} of the posterior "
        f"({len(post.frame)} particles),\nthe one nearest the weighted median of every parameter (on its prior's "
        f"scale); its distance\n{float(post.frame['distance'].iloc[i]):.3g} tolerance units. The posterior's draws "
        f"are in {targets.spec.posterior}; each calibrated\nvalue's comment gives its prior, source and posterior "
        f"90% interval (docs/ODD.md 8.7)."
    )
    params = params.model_copy(
        update={
            "description": f"History, calibrated: {targets.spec.scenario} at the centre of "
            f"the sanctions-era posterior ({targets.path.name})"
        }
    )
    return params_toml(params, header=header, notes=notes), values
