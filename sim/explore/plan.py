"""An experiment planned: every (scenario, sample, replicate) as one task with a stable ``run_id``.

The plan validates every scenario x sample before the first run; the
samples come from SALib (Latin hypercube, Saltelli for Sobol indices, Morris)
or a grid. A task is a pure function of its inputs (`sim.explore.tasks`), so
any evaluator gives the same results.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pydantic import ValidationError

from ..common.errors import ExperimentError, ParamsError
from ..common.validation import format_validation_error, read_toml, suggest
from ..core.params import apply_overrides, defaults_dict, make_params, params_to_dict, read_params_file
from .spec import Experiment, Uncertainty


@dataclass
class Plan:
    """A validated experiment: its tasks, samples and what defines them."""

    spec: Experiment
    path: Path | None
    text: str
    base: dict  # resolved base parameters (no scenario), for the manifest
    scenario_params: dict[str, dict]  # resolved parameters of each scenario (before sampling)
    problem: dict | None  # SALib problem (names, dists, bounds), if sampled
    samples: pd.DataFrame  # one row per sample: 'sample' and each uncertainty's applied value
    raw_samples: np.ndarray | None  # the sampler's matrix (what SALib analyses)
    tasks: list[dict] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return self.spec.reference or self.spec.scenarios[0].name

    @property
    def fingerprint(self) -> str:
        """A hash of everything that determines the results (not of the executor)."""
        h = hashlib.sha256()
        for t in self.tasks:
            key = {k: t[k] for k in ("run_id", "seed", "engine", "params", "outcomes")}
            if t.get("hosts"):  # only when asked, so that earlier folders keep their fingerprints
                key["hosts"] = True
            h.update(json.dumps(key, sort_keys=True).encode())
        return h.hexdigest()[:16]


def policy_dates(plan: Plan) -> dict[str, list[dict]]:
    """Each scenario's policies as run, their months written as dates (for reports and figures)."""
    from ..core.params import Calendar

    out = {}
    for name, params in plan.scenario_params.items():
        cal = Calendar(**params["calendar"])

        def date(v):
            return v if v is None or isinstance(v, str) else cal.date(int(v))

        pols = []
        for p in params.get("policies") or []:
            q = dict(p)
            for k in ("start", "end", "deadline"):
                if k in q:
                    q[k] = date(q[k])
            q["schedule"] = [{**period, "start": date(period["start"])} for period in q.get("schedule") or []]
            pols.append(q)
        out[name] = pols
    return out


def run_id(scenario: str, sample: int, replicate: int) -> str:
    return f"{scenario}.s{sample:05d}.r{replicate:04d}"


def load_experiment(path: str | os.PathLike) -> Plan:
    """Read, validate and expand an experiment file; raises `ExperimentError` (one line per problem)."""
    p = Path(path)
    text, raw = read_toml(p, "an experiment file", ExperimentError)
    try:
        return plan_experiment(raw, p.parent, text=text, path=p)
    except ExperimentError as e:
        raise e.prefixed(f"{p}: ") from None


def plan_experiment(raw: dict, folder: str | os.PathLike = ".", text: str = "", path: Path | None = None) -> Plan:
    """Validate an experiment given as a dict and list its tasks."""
    try:
        spec = Experiment.model_validate(raw)
    except ValidationError as e:
        raise ExperimentError(format_validation_error(e, Experiment)) from None
    folder = Path(folder)

    def read(rel: str, key: str) -> dict:
        try:
            return read_params_file(folder / rel)
        except ParamsError as e:
            raise ExperimentError([f"{key}: {line}" for line in e.errors]) from None

    base_raw = read(spec.base, "base") if spec.base else {}
    common = dict(spec.overrides)
    if spec.months is not None:
        common["calendar.months"] = spec.months
    base = resolve_params(base_raw, common, spec.scale, "overrides")

    scenario_raw, scenario_params = {}, {}
    for i, sc in enumerate(spec.scenarios):
        key = f"scenarios[{i}] ({sc.name})"
        r = read(sc.params, f"{key}.params") if sc.params else base_raw
        r = dict(r)
        if sc.policies is not None:
            r["policies"] = sc.policies
        ov = {**common, **sc.overrides}
        scenario_params[sc.name] = resolve_params(r, ov, spec.scale, key)
        scenario_raw[sc.name] = (r, ov)

    n_samples, n_tasks = planned_size(spec)
    if n_samples * len(spec.scenarios) > MAX_SAMPLES or n_tasks > MAX_TASKS:
        raise ExperimentError(
            f"sampling: {n_samples:,} samples x {len(spec.scenarios)} scenarios x {spec.replicates} replicates "
            f"= {n_tasks:,} runs is more than one experiment can plan (at most {MAX_SAMPLES:,} samples x "
            f"scenarios and {MAX_TASKS:,} runs); split it into several experiments"
        )
    posterior = None
    if spec.posterior is not None:
        from .posterior import read_posterior

        posterior = read_posterior(folder / spec.posterior)
        if (
            posterior.relative
            and posterior.scenario
            and spec.base
            and Path(spec.base).name != Path(posterior.scenario).name
        ):
            raise ExperimentError(
                f"base: the posterior was fitted on {Path(posterior.scenario).name} and its columns "
                f"{', '.join(sorted(posterior.relative))} multiply that file's values; use it as the "
                f"base (not {Path(spec.base).name})"
            )
        samples, matrix, problem = posterior_samples(posterior, spec.sampling.n, spec.sampling.seed), None, None
    else:
        samples, matrix, problem = sample_table(spec)
    plan = Plan(
        spec=spec,
        path=path,
        text=text,
        base=base,
        scenario_params=scenario_params,
        problem=problem,
        samples=samples,
        raw_samples=matrix,
    )
    failed: dict[tuple[str, str], list] = {}  # (scenario, problem) -> the samples that have it
    for sc in spec.scenarios:
        r, ov = scenario_raw[sc.name]
        resolved = scenario_params[sc.name]
        if posterior is not None:
            from .posterior import scenario_columns

            taken = scenario_columns(posterior, sc.without, resolved["policies"], sc.name)
            kinds: Mapping[str, Relative] = {k: SimpleNamespace(relative=k in posterior.relative) for k in taken}
            _no_override_under(taken, {**common, **sc.overrides}, sc.name)
        else:
            taken = [k for k in spec.uncertainties if not any(fnmatch.fnmatchcase(k, w) for w in sc.without)]
            kinds = spec.uncertainties
        for j, row in enumerate(samples.to_dict("records")):
            values = {k: v for k, v in row.items() if k != "sample"}
            applied = {k: values[k] for k in taken}
            if posterior is not None:  # runs.parquet records what was applied: a column this scenario left is NaN
                values = {k: (v if k in taken or k == "particle" else math.nan) for k, v in values.items()}
            try:
                # on the scenario's resolved parameters, already scaled: a relative factor on hosts.*.workers
                # multiplies the simulated workers once
                params = resolve_params(resolved, expand_uncertainties(applied, resolved, kinds), 1.0, "")
            except ExperimentError as e:
                for line in e.errors:
                    said = line.removeprefix(": ")
                    if posterior is not None and said.startswith("uncertainties."):
                        said = (
                            f"scenario {sc.name}: posterior column {said.removeprefix('uncertainties.')}; "
                            f"add it to the scenario's without = [...] if the scenario has no such parameter"
                        )
                    case = (sc.name, re.sub(r" \(got [^)]*\)$", "", said))  # the same problem, other values
                    failed.setdefault(case, []).append((j, said))
                continue
            for k in range(spec.replicates):
                plan.tasks.append(
                    {
                        "run_id": run_id(sc.name, j, k),
                        "scenario": sc.name,
                        "sample": j,
                        "replicate": k,
                        "seed": spec.seed + (j * spec.replicates if spec.seeds == "per_sample" else 0) + k,
                        "engine": spec.engine,
                        "params": params,
                        "outcomes": list(spec.outcomes),
                        "values": values,
                        "hosts": spec.hosts,
                    }
                )
    if failed:
        lines = []
        for (scenario, _), cases in failed.items():
            (j, problem), more = cases[0], len(cases) - 1
            where = f"sample {j}" + (f" (and {more} more)" if more else "")
            lines.append(
                problem
                if problem.startswith(("uncertainties.", "scenario "))
                else f"scenario {scenario}, {where}: {problem}"
            )
        raise ExperimentError(list(dict.fromkeys(lines)))
    return plan


def _no_override_under(columns: list[str], overrides: dict, scenario: str) -> None:
    """A posterior column must not silently replace an override the scenario sets itself (or one inside it)."""
    for c in columns:
        pattern = c.replace("*", "[!.]*")
        for k in overrides:
            if fnmatch.fnmatchcase(k, pattern) or k.startswith(c + ".") or c.startswith(k + "."):
                raise ExperimentError(
                    f"scenario {scenario}: overrides {k}, which the posterior column {c} would replace; "
                    f"add '{c}' to its without = [...] to keep the override"
                )


SCALE_TOLERANCE = 0.01  # a host's simulated workers may differ from its share of the scale by at most 1%


def _represented(workers: int, scale: float) -> bool:
    """Whether ``scale`` simulates a host of ``workers`` as whole workers within SCALE_TOLERANCE of its share."""
    share = workers * scale
    return round(share) >= 1 and abs(round(share) - share) <= SCALE_TOLERANCE * share


def _scales_that_work(workers: list[int], scale: float) -> tuple[float | None, float | None]:
    """The nearest scales below and above ``scale`` (multiples of 1 / the smallest host's workers) at which every
    host is represented; None where there is none."""
    unit = 1.0 / min(workers)
    ok = [k * unit for k in range(1, int(1.0 / unit) + 1) if all(_represented(w, k * unit) for w in workers)]
    below = [s for s in ok if s < scale]
    above = [s for s in ok if s > scale]
    return (below[-1] if below else None), (above[0] if above else None)


def check_scale(hosts: dict, scale: float) -> None:
    """Refuse (ParamsError, one line) a scale that cannot represent every host: each host's simulated workers
    (its workers x scale, rounded to whole workers) must be at least one and within 1% of its share, so that totals
    divided by the scale are the full workforce's (issue 34: rounded-up hosts made totals lie)."""
    sizes = {h: v["workers"] for h, v in hosts.items() if isinstance(v, dict) and type(v.get("workers")) is int}
    sizes = {h: w for h, w in sizes.items() if w > 0}
    bad = [h for h, w in sizes.items() if not _represented(w, scale)]
    if not bad:
        return
    h = min(bad, key=lambda k: sizes[k])
    share = sizes[h] * scale
    below, above = _scales_that_work(list(sizes.values()), scale)
    nearest = " or ".join(f"{s:.4g}" for s in (below, above) if s is not None)
    raise ParamsError(
        f"scale {scale:g}: host {h} would have {share:.3g} simulated workers ({sizes[h]:,} at full scale), "
        f"simulated as {max(1, round(share))}: its totals shown at full scale would be off by "
        f"{abs(max(1, round(share)) - share) / share:.0%}; every host needs at least one worker within 1% of its "
        f"share" + (f": try {nearest}" if nearest else "")
    )


def resolve_params(raw: dict, overrides: dict, scale: float = 1.0, where: str = "") -> dict:
    """Validated parameters (as a plain dict) from a raw dict, dotted overrides and a population scale
    (the share of every host's workers simulated; refused when a host cannot be represented: `check_scale`)."""
    try:
        overrides = dict(overrides)
        if scale != 1.0:
            hosts = apply_overrides(raw, overrides, defaults_dict()).get("hosts", defaults_dict()["hosts"])
            if isinstance(hosts, dict):  # anything malformed is left for validation to name
                check_scale(hosts, scale)
                overrides.update(
                    {
                        f"hosts.{h}.workers": round(v["workers"] * scale)
                        for h, v in hosts.items()
                        if isinstance(v, dict) and type(v.get("workers")) is int and v["workers"] > 0
                    }
                )
        return params_to_dict(make_params(raw, overrides))
    except ParamsError as e:
        raise ExperimentError([f"{where}: {line}" for line in e.errors]) from None


def _lookup(d: Any, dotted: str):
    for part in dotted.split("."):
        if isinstance(d, list) and part.isdigit() and int(part) < len(d):
            d = d[int(part)]
        elif isinstance(d, dict) and part in d:
            d = d[part]
        else:
            raise KeyError(dotted)
    return d


class Relative(Protocol):
    """What expanding a sample reads of an uncertainty (or of a posterior's column): whether it is relative."""

    @property
    def relative(self) -> bool: ...


def expand_uncertainties(values: dict, resolved: dict, uncertainties: Mapping[str, Relative]) -> dict:
    """Dotted overrides of one sample: 'hosts.*.x' for every host, relative values times the scenario's own."""
    out = {}
    for key, value in values.items():
        keys = [key.replace("*", h) for h in resolved["hosts"]] if "*" in key else [key]
        for k in keys:
            try:
                current = _lookup(resolved, k)
            except KeyError:
                parent, _, last = k.rpartition(".")
                try:
                    siblings = _lookup(resolved, parent) if parent else resolved
                except KeyError:
                    siblings = resolved
                hint = suggest(last, list(siblings)) if isinstance(siblings, dict) else ""
                raise ExperimentError(f"uncertainties.{key}: no parameter {k}{hint}") from None
            v = value
            if uncertainties[key].relative:
                if isinstance(current, bool) or not isinstance(current, (int, float)):
                    raise ExperimentError(
                        f"uncertainties.{key}: relative = true needs a number (the value at {k} is {current!r})"
                    )
                v = current * value
            if isinstance(current, int) and not isinstance(current, bool) and isinstance(v, float):
                if not math.isfinite(v) or abs(v) > 2**53:
                    raise ExperimentError(
                        f"uncertainties.{key}: samples beyond any whole number for {k}, which takes "
                        f"one; narrow the distribution (got {v:g})"
                    )
                v = int(round(v))  # an integer parameter (e.g. a ratio of workers) takes the nearest integer
            out[k] = v
    return out


MAX_SAMPLES = 100_000  # samples x scenarios planned at once (~25 kB of parameters each)
MAX_TASKS = 1_000_000


def posterior_samples(posterior, n: int, seed: int) -> pd.DataFrame:
    """The sample table of a posterior experiment: draw j is particle ``particle`` of the posterior file."""
    rows = posterior.draws(n, seed)
    table = posterior.frame.iloc[rows][posterior.names].reset_index(drop=True)
    ids = posterior.frame["particle"].to_numpy()[rows] if "particle" in posterior.frame else rows
    table.insert(0, "particle", np.asarray(ids).astype("int64"))
    table.insert(0, "sample", np.arange(n, dtype="int64"))
    return table


def planned_size(spec: Experiment) -> tuple[int, int]:
    """(samples, tasks) an experiment will have, computed without building them."""
    s, d = spec.sampling, len(spec.uncertainties)
    samples = {
        "none": 1,
        "posterior": s.n,
        "lhs": s.n,
        "sobol": s.n * ((2 * d + 2) if s.second_order else (d + 2)),
        "morris": s.n * (d + 1),
        "grid": math.prod(len(u.values) if u.values is not None else s.levels for u in spec.uncertainties.values()),
    }[s.method]
    return samples, samples * len(spec.scenarios) * spec.replicates


def sample_table(spec: Experiment) -> tuple[pd.DataFrame, np.ndarray | None, dict | None]:
    """The sample table (one row per sample) and the sampler's matrix."""
    names = list(spec.uncertainties)
    method, s = spec.sampling.method, spec.sampling
    if method == "none":
        return pd.DataFrame({"sample": [0]}), None, None
    problem = None
    if method == "grid":
        axes = []
        for u in spec.uncertainties.values():
            if u.values is not None:
                axes.append(list(u.values))
            else:
                assert u.low is not None and u.high is not None  # a grid's range is a uniform's (Experiment checks)
                axes.append(list(np.linspace(u.low, u.high, s.levels)))
        rows = list(itertools.product(*axes))
        table = pd.DataFrame(rows, columns=names)
        matrix = None
    else:
        problem = salib_problem(spec.uncertainties)
        matrix = sample_matrix(problem, method, s.n, levels=s.levels, second_order=s.second_order, seed=s.seed)
        table = pd.DataFrame(matrix, columns=names)
    table.insert(0, "sample", np.arange(len(table), dtype="int64"))
    return table, matrix, problem


def salib_problem(uncertainties: dict[str, Uncertainty]) -> dict:
    dists, bounds = zip(*(u.salib() for u in uncertainties.values()))
    return {
        "num_vars": len(uncertainties),
        "names": list(uncertainties),
        "dists": list(dists),
        "bounds": [list(b) for b in bounds],
    }


def sample_matrix(
    problem: dict, method: str, n: int, levels: int = 4, second_order: bool = False, seed: int = 0
) -> np.ndarray:
    """SALib's sample of a problem: lhs (n rows), sobol (Saltelli, N(D+2) or N(2D+2) rows), morris (n(D+1) rows)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib's notes on sample sizes; n is checked above
        if method == "lhs":
            from SALib.sample import latin

            return latin.sample(problem, n, seed=seed)
        if method == "sobol":
            from SALib.sample import sobol

            return sobol.sample(problem, n, calc_second_order=second_order, seed=seed)
        if method == "morris":
            from SALib.sample import morris

            return morris.sample(problem, n, num_levels=levels, seed=seed)
    raise ValueError(f"unknown sampling method {method}")
