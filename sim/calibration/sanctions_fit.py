"""The sanctions era fitted by ABC-SMC on the experiment machinery (issue 15: in progress).

Each batch of candidate parameter sets is one experiment: every candidate a scenario of the history with its
values as overrides, run with ``smc.replicates`` seeds (common random numbers across candidates) at
``smc.scale``, per-host tables kept; so a batch runs on the local pool or a Dask cluster and resumes after an
interruption like any experiment. A candidate's distance is the RMS of its fit facts' mean misses in tolerance
units (`sanctions.distance`); the held-out facts are not read. Each finished generation is saved as
``populations/gNN.parquet`` (values, weight, distance, tolerance), so a stopped calibration resumes from the
last one; the last is the posterior (``posterior.parquet``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import ExperimentError
from ..common.files import atomic_write
from ..core.params import read_params_file
from ..explore.plan import expand_uncertainties, plan_experiment, resolve_params
from ..explore.runner import run_experiment
from .measures import measure
from .sanctions import SanctionsTargets, distance, unit_miss
from .smc import Marginal, Population, abc_smc
from .targets import Prior, load_targets


def priors(targets: SanctionsTargets) -> dict[str, Prior]:
    """The response parameters' priors, then the no-sanctions ones of ``priors_from`` (searched jointly)."""
    out = dict(targets.spec.parameters)
    if targets.spec.priors_from:
        for k, v in load_targets(targets.path.parent / targets.spec.priors_from).spec.parameters.items():
            out.setdefault(k, v)
    return out


def marginal(name: str, p: Prior) -> Marginal:
    return Marginal(name, p.distribution, p.low, p.high, p.mode, p.mean, p.sd, p.median, p.sigma)


class Simulator:
    """``simulate(theta, generation, batch)`` for `abc_smc`: one experiment per batch, in ``folder``."""

    def __init__(self, targets: SanctionsTargets, folder: Path, names: list[str], prior: dict[str, Prior],
                 processes=None, scheduler=None):
        self.t, self.folder, self.names, self.prior = targets, folder, names, prior
        self.processes, self.scheduler = processes, scheduler
        self.raw = read_params_file(targets.scenario_path)
        self.resolved = resolve_params(self.raw, {}, 1.0, "scenario")
        self.columns = sorted({f.column for f in targets.spec.fit.values()})

    def experiment(self, theta: np.ndarray, generation: int, batch: int) -> dict:
        s = self.t.spec.smc
        scenarios = []
        for i, row in enumerate(theta):
            values = {k: float(v) for k, v in zip(self.names, row)}
            scenarios.append({"name": f"p{i:05d}", "overrides": expand_uncertainties(values, self.resolved, self.prior)})
        return {"name": f"smc-g{generation:02d}-b{batch:02d}", "base": str(self.t.scenario_path.resolve()),
                "engine": "array", "seed": s.seed, "replicates": s.replicates, "scale": s.scale, "hosts": True,
                "outcomes": ["revenue_delivered_per_year"], "scenarios": scenarios}

    def __call__(self, theta: np.ndarray, generation: int, batch: int) -> np.ndarray:
        out = self.folder / "batches" / f"g{generation:02d}-b{batch:02d}"
        plan = plan_experiment(self.experiment(theta, generation, batch), self.t.path.parent)
        result = run_experiment(plan, out, processes=self.processes, scheduler=self.scheduler,
                                resume=(out / "manifest.json").exists(), plots=False)
        hosts = result.hosts(self.columns)
        per_run = {rid: g for rid, g in hosts.groupby("run_id", sort=False)}
        scale = self.t.spec.smc.scale
        d = np.full(len(theta), math.nan)
        for i in range(len(theta)):
            ids = result.runs.loc[result.runs["scenario"] == f"p{i:05d}", "run_id"]
            misses = [{k: unit_miss(measure(per_run[r], f, scale), f) for k, f in self.t.spec.fit.items()} for r in ids]
            d[i] = distance(misses) if misses else math.nan
        return d


def _save(folder: Path, t: int, pop: Population, names: list[str]) -> None:
    frame = pd.DataFrame(pop.theta, columns=names)
    frame["weight"], frame["distance"] = pop.weights, pop.distances
    for k, name in enumerate(names):  # the kernel's coordinates, so a resumed calibration continues exactly
        frame[f"u:{name}"] = pop.u[:, k]
    path = folder / "populations" / f"g{t:02d}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, frame.to_parquet(index=False))
    meta = {"generation": t, "epsilon": None if math.isinf(pop.epsilon) else pop.epsilon, "simulated": pop.simulated,
            "particles": len(pop.theta), "ess": pop.ess()}
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
        pops.append(Population(np.ascontiguousarray(frame[names].to_numpy(dtype=float)),
                               np.ascontiguousarray(frame["weight"].to_numpy(dtype=float)),
                               np.ascontiguousarray(frame["distance"].to_numpy(dtype=float)), eps, meta["simulated"],
                               u=np.ascontiguousarray(frame[[f"u:{n}" for n in names]].to_numpy(dtype=float))))
    return pops


def fit_sanctions(targets: SanctionsTargets, folder, processes=None, scheduler=None, particles=None,
                  generations=None, log=None) -> list[Population]:
    """Run (or resume) the ABC-SMC of the sanctions era into ``folder``; returns every generation."""
    folder = Path(folder)
    s = targets.spec.smc
    prior = priors(targets)
    names = list(prior)
    simulate = Simulator(targets, folder, names, prior, processes, scheduler)
    def saved(t, pop):
        _save(folder, t, pop, names)
        if log is not None:
            log(f"generation {t}: {len(pop.theta)} particles, tolerance {pop.epsilon:.3g}, "
                f"{pop.simulated} simulated, ESS {pop.ess():.0f}")

    try:
        pops = abc_smc(simulate, [marginal(k, p) for k, p in prior.items()], particles or s.particles,
                       generations or s.generations, quantile=s.quantile, seed=s.seed, start=_load(folder, names),
                       on_generation=saved)
    except RuntimeError as e:  # too few particles within the tolerance: say so in one line
        raise ExperimentError(f"{targets.path}: {e}; raise smc.particles or smc.quantile") from None
    last = pd.read_parquet(folder / "populations" / f"g{len(pops) - 1:02d}.parquet")
    last = last[[c for c in last.columns if not c.startswith("u:")]]
    atomic_write(folder / "posterior.parquet", last.to_parquet(index=False))
    return pops
