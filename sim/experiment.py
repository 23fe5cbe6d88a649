"""Experiments: scenarios x samples x replicates, run on any executor, streamed to disk.

An experiment file (TOML, see ``experiments/``) names, in the vocabulary of
exploratory modelling (EMA workbench):

- a **base** parameter file and overrides shared by every run;
- **scenarios**: named policy lists, parameter files and overrides;
- **uncertainties**: parameters with ranges or distributions, and a
  **sampling** method (grid, Latin hypercube, Sobol, Morris: SALib);
- **replicates**: seeds. Replicate k of every scenario and sample uses seed
  ``seed + k``, so differences between scenarios are paired (common random
  numbers: the model's draws are a pure function of seed, decision, month and
  agent, see sim/random.py);
- the **outcomes** to report, and the engine.

Every (scenario, sample, replicate) is one task with a stable ``run_id``. A
task is a pure function of its inputs (`run_task`), so any executor gives the
same results: in-process, a local process pool, or a Dask cluster. Results
are written by the coordinating process as each run finishes (`Store`), one
file per run, atomically; ``--resume`` runs only the ids that have no file.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import os
import re
import shutil
import signal
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .params import (
    Params,
    ParamsError,
    _suggest,
    apply_overrides,
    defaults_dict,
    first_per_key,
    format_validation_error,
    params_to_dict,
    plain_error_line,
    read_toml,
)
from .results import _jsonable

# ---------------------------------------------------------------- outcomes

OUTCOMES = {
    "revenue_delivered_per_year": "revenue that reaches the state, USD a year",
    "state_take_per_year": "what the state takes from the workers, USD a year (before losses on the way home)",
    "revenue_interdicted_per_year": "revenue seized on the way home, USD a year",
    "state_take_per_worker_month": "state take per worker-month, USD",
    "worker_share_kept": "share of gross earnings the worker keeps",
    "retained_per_worker_month": "what a worker keeps per month worked, USD",
    "net_gain_mean": "mean net gain of a worker over his posting (kept, less ledger forfeited, less entry bribe), USD",
    "net_gain_p10": "10th percentile of net gain of workers who left, USD",
    "net_gain_p50": "median net gain of workers who left, USD",
    "net_gain_p90": "90th percentile of net gain of workers who left, USD",
    "share_zero_retained_mean": "mean monthly share of workers who keep nothing",
    "hours_mean": "mean hours per day",
    "escapes_per_1000_worker_years": "successful escapes per 1,000 worker-years",
    "caught_per_1000_worker_years": "caught escaping per 1,000 worker-years",
    "deaths_per_10000_worker_years": "deaths per 10,000 worker-years",
    "sent_home_per_1000_worker_years": "sent home per 1,000 worker-years",
    "entry_bribe_median": "median entry bribe, USD",
    "workers_active_mean": "mean workers abroad",
    "workers_final": "workers abroad at the end",
}
DEFAULT_OUTCOMES = [
    "revenue_delivered_per_year", "state_take_per_worker_month", "worker_share_kept", "retained_per_worker_month",
    "net_gain_p50", "escapes_per_1000_worker_years", "deaths_per_10000_worker_years", "workers_active_mean",
]
QUANTILES = np.arange(0, 101)  # percentiles stored per run for the welfare distributions


def outcomes_of(result, names: list[str]) -> dict[str, float]:
    """The named outcomes of one run (a `Result`)."""
    s = result.summary
    m, w = result.monthly, result.workers
    months = len(m)
    worker_months = float(m["workers_working"].sum())
    extra = {
        "revenue_interdicted_per_year": float(m["revenue_interdicted"].sum()) / (months / 12.0) if months else math.nan,
        "retained_per_worker_month": float(m["worker_retained"].sum()) / worker_months if worker_months else math.nan,
        "net_gain_mean": float(w["net_gain"].mean()) if len(w) else math.nan,
        "share_zero_retained_mean": float(m["share_zero_retained"].mean()) if months else math.nan,
        "workers_active_mean": float(m["workers_active"].mean()) if months else math.nan,
        "workers_final": float(s["workers_final"]),
    }
    return {k: float(extra[k] if k in extra else s[k]) for k in names}


def distributions_of(result) -> pd.DataFrame:
    """Percentiles 0..100 of each worker's net gain (workers who left) and of what he kept per month abroad."""
    w = result.workers
    left = w.loc[w["status"] != "active", "net_gain"].to_numpy(float)
    abroad = w["months_abroad"].to_numpy(float)
    monthly = (w["retained_total"].to_numpy(float) / np.where(abroad > 0, abroad, 1.0))[abroad > 0]
    nan = np.full(len(QUANTILES), np.nan)
    return pd.DataFrame({
        "q": QUANTILES.astype("int64"),
        "net_gain": np.percentile(left, QUANTILES) if len(left) else nan,
        "retained_monthly": np.percentile(monthly, QUANTILES) if len(monthly) else nan,
    })


# ---------------------------------------------------------------- the file's schema


class ExperimentError(ValueError):
    """An invalid experiment or results folder; ``errors`` holds one line per problem."""

    def __init__(self, errors):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
DISTRIBUTIONS = ("uniform", "triangular", "normal", "truncnormal", "lognormal")
NEEDS = {
    "uniform": ("low", "high"), "triangular": ("low", "high", "mode"), "normal": ("mean", "sd"),
    "truncnormal": ("low", "high", "mean", "sd"), "lognormal": ("median", "sigma"),
}


class Uncertainty(Strict):
    distribution: Literal["uniform", "triangular", "normal", "truncnormal", "lognormal"] = "uniform"
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    sigma: float | None = None
    values: list[float | int | str | bool] | None = Field(None, description="the points of a grid (grid sampling only)")
    relative: bool = Field(False, description="the value multiplies the scenario's own value")

    @model_validator(mode="after")
    def _complete(self):
        if self.values is not None:
            if not self.values:
                raise ValueError("values: empty list")
            return self
        missing = [k for k in NEEDS[self.distribution] if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.distribution} distribution needs {', '.join(missing)} (or give values = [...] for a grid)")
        extra = [k for k in ("low", "high", "mode", "mean", "sd", "median", "sigma")
                 if getattr(self, k) is not None and k not in NEEDS[self.distribution]]
        if extra:
            raise ValueError(f"{', '.join(extra)}: not used by a {self.distribution} distribution (it takes {', '.join(NEEDS[self.distribution])})")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.mode is not None and not self.low <= self.mode <= self.high:
            raise ValueError(f"mode ({self.mode}) must lie between low and high")
        for k in ("sd", "sigma", "median"):
            if getattr(self, k) is not None and getattr(self, k) <= 0:
                raise ValueError(f"{k} must be above 0")
        return self

    def salib(self) -> tuple[str, list[float]]:
        """SALib's distribution name and bounds."""
        d = self.distribution
        if d == "uniform":
            return "unif", [self.low, self.high]
        if d == "triangular":
            return "triang", [self.low, self.high, (self.mode - self.low) / (self.high - self.low)]
        if d == "normal":
            return "norm", [self.mean, self.sd]
        if d == "truncnormal":
            return "truncnorm", [self.low, self.high, self.mean, self.sd]
        return "lognorm", [math.log(self.median), self.sigma]


class Sampling(Strict):
    method: Literal["none", "grid", "lhs", "sobol", "morris"] = Field("none", description="how the uncertainties are sampled")
    n: int = Field(0, ge=0, le=1_000_000, description="lhs: samples; sobol: base samples N (a power of 2; N(D+2) runs, N(2D+2) with second order); morris: trajectories")
    levels: int = Field(4, ge=2, le=1000, description="grid: points per uncertainty given by a range; morris: levels of the grid")
    second_order: bool = Field(False, description="sobol: also second-order indices")
    seed: int = Field(0, ge=0, description="seed of the sample (not of the model)")


class Scenario(Strict):
    name: str
    description: str = ""
    params: str | None = Field(None, description="a parameter file replacing the base (relative to the experiment file)")
    policies: list[dict[str, Any]] | None = Field(None, description="replaces the policies of the base")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted keys, e.g. 'hosts.russia.workers' = 5000")


class Experiment(Strict):
    name: str = Field(description="names the results folder (results/experiments/NAME)")
    description: str = ""
    base: str | None = Field(None, description="base parameter file (relative to the experiment file); default: the built-in baseline")
    engine: Literal["array", "mesa"] = "array"
    seed: int = Field(0, ge=0, le=2**62, description="replicate k runs with seed + k in every scenario and sample")
    replicates: int = Field(1, ge=1, le=100_000)
    months: int | None = Field(None, ge=1, le=2400, description="overrides calendar.months")
    scale: float = Field(1.0, gt=0, le=1, description="share of every host's workers to simulate (rates are per worker)")
    overrides: dict[str, Any] = Field(default_factory=dict)
    outcomes: list[str] = Field(default_factory=lambda: list(DEFAULT_OUTCOMES))
    reference: str | None = Field(None, description="scenario the others are compared with (default: the first)")
    scenarios: list[Scenario] = Field(default_factory=lambda: [Scenario(name="base")])
    uncertainties: dict[str, Uncertainty] = Field(default_factory=dict)
    sampling: Sampling = Field(default_factory=Sampling)
    hosts: bool = Field(False, description="also keep each run's monthly table per host (hosts/RUN_ID.parquet)")

    @model_validator(mode="after")
    def _consistent(self):
        errors = []
        if not NAME_RE.match(self.name):
            errors.append(f"name: '{self.name}' must be letters, digits, _ and - (it names a folder)")
        if not self.scenarios:
            errors.append("scenarios: at least one is needed")
        names = [s.name for s in self.scenarios]
        for i, n in enumerate(names):
            if not NAME_RE.match(n):
                errors.append(f"scenarios[{i}].name: '{n}' must be letters, digits, _ and - (it is part of run ids)")
            elif names.index(n) != i:
                errors.append(f"scenarios[{i}].name: '{n}' is used twice")
        if self.reference is not None and self.reference not in names:
            errors.append(f"reference: no scenario named '{self.reference}' (scenarios: {', '.join(names)})")
        if not self.outcomes:
            errors.append("outcomes: at least one is needed")
        for o in self.outcomes:
            if o not in OUTCOMES:
                errors.append(f"outcomes: unknown outcome '{o}'{_suggest(o, OUTCOMES)} (outcomes: {', '.join(OUTCOMES)})")
        if len(set(self.outcomes)) != len(self.outcomes):
            errors.append("outcomes: an outcome is listed twice")
        method, n = self.sampling.method, self.sampling.n
        if self.uncertainties and method == "none":
            errors.append("sampling.method: uncertainties are given, so choose grid, lhs, sobol or morris")
        if not self.uncertainties and method != "none":
            errors.append(f"uncertainties: sampling.method is {method}, but no uncertainty is given")
        if method in ("lhs", "sobol", "morris") and n < 1:
            errors.append(f"sampling.n: {method} needs n >= 1")
        if method == "sobol" and n & (n - 1):
            errors.append(f"sampling.n: Sobol sampling needs a power of 2 (got {n}; try {1 << max(n - 1, 1).bit_length()})")
        if method in ("sobol", "morris") and len(self.uncertainties) < 2:
            errors.append(f"uncertainties: {method} analysis needs at least 2 uncertain parameters")
        lowered = [n.lower() for n in names]
        for i, n in enumerate(lowered):
            if lowered.index(n) != i and names.index(names[i]) == i:
                errors.append(f"scenarios[{i}].name: '{names[i]}' differs from '{names[lowered.index(n)]}' only in case "
                              f"(their files would collide on some systems)")
        if method == "morris" and self.sampling.levels % 2:
            errors.append(f"sampling.levels: Morris needs an even number of levels (got {self.sampling.levels})")
        for key, u in self.uncertainties.items():
            if method == "morris" and u.distribution in ("normal", "lognormal"):
                errors.append(f"uncertainties.{key}: Morris samples the ends of each range, so it needs a bounded "
                              f"distribution (uniform, triangular, truncnormal), not {u.distribution}")
            if u.values is not None and len({float if type(v) is int else type(v) for v in u.values}) > 1:
                errors.append(f"uncertainties.{key}.values: mixes types ({', '.join(sorted({type(v).__name__ for v in u.values}))}); give one kind")
            if u.values is not None and method != "grid":
                errors.append(f"uncertainties.{key}.values: a list of values is for grid sampling only (sampling.method = {method})")
            if method == "grid" and u.values is None and u.distribution != "uniform":
                errors.append(f"uncertainties.{key}: grid sampling takes a low-high range or values, not a {u.distribution} distribution")
        if errors:
            raise ValueError("\n".join(errors))
        return self


def _format(err: ValidationError, fields: dict) -> list[str]:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in e["loc"]).replace(".[", "[")
        key = re.sub(r"\.?(function-after\[[^\]]*\]|literal\[[^\]]*\])", "", key) or "(top level)"
        if e["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key{_suggest(e['loc'][-1], fields.get(len(e['loc']), []))}")
        elif e["type"] == "value_error":
            text = str(e.get("ctx", {}).get("error", e["msg"]))
            for line in text.splitlines():
                lines.append(line if key == "(top level)" else f"{key}: {line}")
        elif e["type"] == "missing":
            lines.append(f"{key}: required")
        else:
            lines.append(plain_error_line(key, e))
    return first_per_key(lines)


# ---------------------------------------------------------------- the plan of runs


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


def run_id(scenario: str, sample: int, replicate: int) -> str:
    return f"{scenario}.s{sample:05d}.r{replicate:04d}"


def read_toml_file(p: Path, kind: str) -> tuple[str, dict]:
    """A TOML file's text and contents; `ExperimentError` (one line) if it is missing, a folder, not text or malformed."""
    if not p.exists():
        raise ExperimentError(f"{p}: no such file")
    if p.is_dir():
        raise ExperimentError(f"{p}: is a folder, not {kind}")
    try:
        text = p.read_text(encoding="utf-8")
        return text, tomllib.loads(text)
    except UnicodeDecodeError:
        raise ExperimentError(f"{p}: not a text file") from None
    except tomllib.TOMLDecodeError as e:
        raise ExperimentError(f"{p}: malformed TOML: {e}") from None


def load_experiment(path: str | os.PathLike) -> Plan:
    """Read, validate and expand an experiment file; raises `ExperimentError` (one line per problem)."""
    p = Path(path)
    text, raw = read_toml_file(p, "an experiment file")
    try:
        return plan_experiment(raw, p.parent, text=text, path=p)
    except ExperimentError as e:
        raise ExperimentError([f"{p}: {line}" for line in e.errors]) from None


def plan_experiment(raw: dict, folder: str | os.PathLike = ".", text: str = "", path: Path | None = None) -> Plan:
    """Validate an experiment given as a dict and list its tasks."""
    fields = {1: list(Experiment.model_fields), 2: list(Sampling.model_fields) + list(Uncertainty.model_fields),
              3: list(Scenario.model_fields) + list(Uncertainty.model_fields)}
    try:
        spec = Experiment.model_validate(raw)
    except ValidationError as e:
        raise ExperimentError(_format(e, fields)) from None
    folder = Path(folder)

    def read(rel: str, key: str) -> dict:
        try:
            return read_toml(folder / rel)
        except ParamsError as e:
            raise ExperimentError([f"{key}: {line}" for line in e.errors]) from None

    base_raw = read(spec.base, "base") if spec.base else {}
    defaults = defaults_dict()
    common = dict(spec.overrides)
    if spec.months is not None:
        common["calendar.months"] = spec.months
    base = _resolve(base_raw, common, spec.scale, defaults, "overrides")

    scenario_raw, scenario_params = {}, {}
    for i, sc in enumerate(spec.scenarios):
        key = f"scenarios[{i}] ({sc.name})"
        r = read(sc.params, f"{key}.params") if sc.params else base_raw
        r = dict(r)
        if sc.policies is not None:
            r["policies"] = sc.policies
        ov = {**common, **sc.overrides}
        scenario_params[sc.name] = _resolve(r, ov, spec.scale, defaults, key)
        scenario_raw[sc.name] = (r, ov)

    n_samples, n_tasks = planned_size(spec)
    if n_samples * len(spec.scenarios) > MAX_SAMPLES or n_tasks > MAX_TASKS:
        raise ExperimentError(f"sampling: {n_samples:,} samples x {len(spec.scenarios)} scenarios x {spec.replicates} replicates "
                              f"= {n_tasks:,} runs is more than one experiment can plan (at most {MAX_SAMPLES:,} samples x "
                              f"scenarios and {MAX_TASKS:,} runs); split it into several experiments")
    samples, matrix, problem = _sample(spec)
    plan = Plan(spec=spec, path=path, text=text, base=base, scenario_params=scenario_params, problem=problem,
                samples=samples, raw_samples=matrix)
    failed: dict[tuple[str, str], list] = {}  # (scenario, problem) -> the samples that have it
    for sc in spec.scenarios:
        r, ov = scenario_raw[sc.name]
        resolved = scenario_params[sc.name]
        for j, row in enumerate(samples.to_dict("records")):
            values = {k: v for k, v in row.items() if k != "sample"}
            try:
                # on the scenario's resolved parameters, already scaled: a relative factor on hosts.*.workers
                # multiplies the simulated workers once
                params = _resolve(resolved, _expand(values, resolved, spec.uncertainties), 1.0, defaults, "")
            except ExperimentError as e:
                for line in e.errors:
                    problem = line.removeprefix(": ")
                    key = (sc.name, re.sub(r" \(got [^)]*\)$", "", problem))  # the same problem, other values
                    failed.setdefault(key, []).append((j, problem))
                continue
            for k in range(spec.replicates):
                plan.tasks.append({
                    "run_id": run_id(sc.name, j, k), "scenario": sc.name, "sample": j, "replicate": k,
                    "seed": spec.seed + k, "engine": spec.engine, "params": params, "outcomes": list(spec.outcomes),
                    "values": values, "hosts": spec.hosts,
                })
    if failed:
        lines = []
        for (scenario, _), cases in failed.items():
            (j, problem), more = cases[0], len(cases) - 1
            where = f"sample {j}" + (f" (and {more} more)" if more else "")
            lines.append(problem if problem.startswith("uncertainties.") else f"scenario {scenario}, {where}: {problem}")
        raise ExperimentError(list(dict.fromkeys(lines)))
    return plan


def _resolve(raw: dict, overrides: dict, scale: float, defaults: dict, where: str) -> dict:
    """Validated parameters (as a plain dict) from a raw dict, dotted overrides and a population scale."""
    from .params import _check_finite

    try:
        r = apply_overrides(raw, overrides, defaults)
        if scale != 1.0:
            hosts = r.get("hosts", defaults["hosts"])
            if isinstance(hosts, dict):  # anything malformed is left for validation to name
                r = apply_overrides(r, {f"hosts.{h}.workers": max(1, round(v["workers"] * scale)) for h, v in hosts.items()
                                        if isinstance(v, dict) and type(v.get("workers")) is int and v["workers"] > 0}, defaults)
        bad = _check_finite(r)
        if bad:
            raise ParamsError(bad)
        return params_to_dict(Params.model_validate(r))
    except ParamsError as e:
        raise ExperimentError([f"{where}: {line}" for line in e.errors]) from None
    except ValidationError as e:
        raise ExperimentError([f"{where}: {line}" for line in format_validation_error(e)]) from None


def _lookup(d: Any, dotted: str):
    for part in dotted.split("."):
        if isinstance(d, list) and part.isdigit() and int(part) < len(d):
            d = d[int(part)]
        elif isinstance(d, dict) and part in d:
            d = d[part]
        else:
            raise KeyError(dotted)
    return d


def _expand(values: dict, resolved: dict, uncertainties: dict[str, Uncertainty]) -> dict:
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
                hint = _suggest(last, list(siblings)) if isinstance(siblings, dict) else ""
                raise ExperimentError(f"uncertainties.{key}: no parameter {k}{hint}") from None
            v = value
            if uncertainties[key].relative:
                if isinstance(current, bool) or not isinstance(current, (int, float)):
                    raise ExperimentError(f"uncertainties.{key}: relative = true needs a number (the value at {k} is {current!r})")
                v = current * value
            if isinstance(current, int) and not isinstance(current, bool) and isinstance(v, float):
                v = int(round(v))  # an integer parameter (e.g. a ratio of workers) takes the nearest integer
            out[k] = v
    return out


MAX_SAMPLES = 100_000  # samples x scenarios planned at once (~25 kB of parameters each)
MAX_TASKS = 1_000_000


def planned_size(spec: Experiment) -> tuple[int, int]:
    """(samples, tasks) an experiment will have, computed without building them."""
    s, d = spec.sampling, len(spec.uncertainties)
    samples = {"none": 1, "lhs": s.n, "sobol": s.n * ((2 * d + 2) if s.second_order else (d + 2)), "morris": s.n * (d + 1),
               "grid": math.prod(len(u.values) if u.values is not None else s.levels for u in spec.uncertainties.values())}[s.method]
    return samples, samples * len(spec.scenarios) * spec.replicates


def _sample(spec: Experiment) -> tuple[pd.DataFrame, np.ndarray | None, dict | None]:
    """The sample table (one row per sample) and the sampler's matrix."""
    names = list(spec.uncertainties)
    method, s = spec.sampling.method, spec.sampling
    if method == "none":
        return pd.DataFrame({"sample": [0]}), None, None
    problem = None
    if method == "grid":
        axes = []
        for u in spec.uncertainties.values():
            axes.append(list(u.values) if u.values is not None else list(np.linspace(u.low, u.high, s.levels)))
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
    return {"num_vars": len(uncertainties), "names": list(uncertainties), "dists": list(dists), "bounds": [list(b) for b in bounds]}


def sample_matrix(problem: dict, method: str, n: int, levels: int = 4, second_order: bool = False, seed: int = 0) -> np.ndarray:
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


# ---------------------------------------------------------------- one task


def run_task(task: dict) -> dict:
    """Run one (scenario, sample, replicate): a pure function of the task, on any executor."""
    from .run import run

    t0 = time.perf_counter()
    params = Params.model_validate(task["params"])
    result = run(params, engine=task["engine"], seed=task["seed"])
    ids = {"run_id": task["run_id"], "scenario": task["scenario"], "sample": task["sample"], "replicate": task["replicate"]}
    row = {**ids, "seed": task["seed"], **task["values"], **outcomes_of(result, task["outcomes"])}
    monthly = result.monthly.copy()
    for i, (k, v) in enumerate(ids.items()):
        monthly.insert(i, k, v)
    dist = distributions_of(result)
    for i, (k, v) in enumerate(ids.items()):
        dist.insert(i, k, v)
    payload = {"row": row, "monthly": monthly, "distributions": dist, "seconds": time.perf_counter() - t0,
               "host": os.uname().nodename, "pid": os.getpid()}
    if task.get("hosts"):
        hosts = result.hosts.copy()
        for i, (k, v) in enumerate(ids.items()):
            hosts.insert(i, k, v)
        payload["hosts"] = hosts
    return payload


# ---------------------------------------------------------------- the results folder


class Store:
    """An experiment's folder. Each finished run is three files, written atomically:

    ``monthly/RUN_ID.parquet`` and ``distributions/RUN_ID.parquet`` first, then
    ``rows/RUN_ID.json``, which marks the run done. ``runs.parquet`` is rebuilt
    from the rows (in task order) as runs finish and at the end.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder).absolute()

    # where things go
    def path(self, *parts) -> Path:
        return self.folder.joinpath(*parts)

    def done(self) -> set[str]:
        rows = self.path("rows")
        return {p.stem for p in rows.glob("*.json")} if rows.exists() else set()

    def prepare(self, plan: Plan, resume: bool, force: bool, executor: str) -> set[str]:
        """Check the folder and write the manifest; return the run ids already done."""
        f = self.folder
        samples_bytes = io.BytesIO()
        plan.samples.to_parquet(samples_bytes, index=False)  # fails here, before the folder is touched
        try:
            return self._prepare(plan, resume, force, executor, samples_bytes.getvalue())
        except OSError as e:
            raise ExperimentError(f"--out {f}: {e.strerror or e}") from None

    def _prepare(self, plan: Plan, resume: bool, force: bool, executor: str, samples_bytes: bytes) -> set[str]:
        f = self.folder
        manifest = f / "manifest.json"
        if f.exists() and not f.is_dir():
            raise ExperimentError(f"--out {f}: exists and is not a folder; nothing was written")
        existing = f.exists() and any(f.iterdir())
        old = None
        if existing:
            if not manifest.exists():
                raise ExperimentError(f"--out {f}: exists and is not an experiment folder (no manifest.json); nothing was written")
            try:
                old = json.loads(manifest.read_text())
            except (OSError, json.JSONDecodeError):
                raise ExperimentError(f"--out {f}: manifest.json is unreadable; nothing was written") from None
            if old.get("kind") != "experiment":
                raise ExperimentError(f"--out {f}: holds a single run, not an experiment; choose another folder")
            if resume:
                if old.get("fingerprint") != plan.fingerprint:
                    raise ExperimentError(f"--resume: {f} holds results of a different experiment (its runs, seeds, "
                                          f"parameters or outcomes differ); use another --out, or --force to replace them")
            elif force:
                shutil.rmtree(f)
            else:
                n = len(self.done())
                raise ExperimentError(f"--out {f}: already holds {n} runs of an experiment; add --resume to finish it, "
                                      f"--force to replace it, or choose another --out")
        for sub in ("rows", "monthly", "distributions", *(("hosts",) if plan.spec.hosts else ())):
            (f / sub).mkdir(parents=True, exist_ok=True)
        done = self.done() if resume else set()
        ids = {t["run_id"] for t in plan.tasks}
        stray = done - ids
        if stray:
            raise ExperimentError(f"--resume: {len(stray)} runs in {f} are not in this experiment (e.g. {sorted(stray)[0]})")
        from .run import _git_commit, versions

        commit = _git_commit()
        if resume and old and done and old.get("git_commit") and commit and old["git_commit"] != commit:
            # the inputs are the same, but the code that ran the finished runs may not be
            print(f"olsim: warning: --resume: the finished runs in {f} were made by commit {old['git_commit'][:10]}, "
                  f"this code is {commit[:10]}; if the model changed in between, the runs are not comparable",
                  file=sys.stderr)
        info = {
            "kind": "experiment", "name": plan.spec.name, "fingerprint": plan.fingerprint,
            "experiment_file": str(plan.path) if plan.path else None, "experiment": plan.spec.model_dump(mode="json"),
            "experiment_text": plan.text, "base_params": plan.base, "reference": plan.reference,
            "problem": plan.problem, "sampling": plan.spec.sampling.model_dump(mode="json"),
            "runs_total": len(plan.tasks), "versions": versions(), "git_commit": commit,
            "sessions": (old or {}).get("sessions", []) if resume else [],
        }
        info["sessions"].append({"started": _now(), "executor": executor, "runs_done_before": len(done)})
        self.write_json("manifest.json", info)
        if plan.path is not None:
            _atomic_write(f / "experiment.toml", plan.text.encode())
        _atomic_write(f / "samples.parquet", samples_bytes)
        if plan.raw_samples is not None:
            np.save(f / ".sample_matrix.npy", plan.raw_samples)
            os.replace(f / ".sample_matrix.npy", f / "sample_matrix.npy")
        return done

    def save_run(self, payload: dict) -> None:
        rid = payload["row"]["run_id"]
        for sub in ("monthly", "distributions", "hosts"):
            if sub not in payload:
                continue
            tmp = self.path(sub, f".{rid}.parquet.tmp")
            payload[sub].to_parquet(tmp, index=False)
            os.replace(tmp, self.path(sub, f"{rid}.parquet"))
        self.write_json(f"rows/{rid}.json", {"row": payload["row"], "seconds": payload["seconds"], "host": payload["host"]})

    def write_json(self, rel: str, obj) -> None:
        _atomic_write(self.path(rel), (json.dumps(_jsonable(obj), indent=1) + "\n").encode())

    def read_rows(self) -> list[dict]:
        out = []
        for p in sorted(self.path("rows").glob("*.json")):
            out.append(json.loads(p.read_text()))
        return out

    def consolidate(self, plan: Plan) -> pd.DataFrame:
        """Rebuild runs.parquet from the finished runs, in task order; return it."""
        order = {t["run_id"]: i for i, t in enumerate(plan.tasks)}
        rows = [r["row"] for r in self.read_rows() if r["row"]["run_id"] in order]
        rows.sort(key=lambda r: order[r["run_id"]])
        columns = ["run_id", "scenario", "sample", "replicate", "seed", *plan.samples.columns[1:], *plan.spec.outcomes]
        df = pd.DataFrame(rows, columns=columns)
        for c in ("sample", "replicate", "seed"):
            df[c] = df[c].astype("int64")
        for c in plan.spec.outcomes:
            df[c] = df[c].astype(float)
        tmp = self.path(".runs.parquet.tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, self.path("runs.parquet"))
        return df

    def finish(self, plan: Plan, wall: float, ran: int, complete: bool) -> None:
        info = json.loads(self.path("manifest.json").read_text())
        rows = self.read_rows()
        seconds = [r["seconds"] for r in rows]
        info["sessions"][-1].update({"finished": _now(), "wall_seconds": wall, "runs_run": ran, "complete": complete})
        info["runs_done"] = len(rows)
        info["complete"] = complete
        info["timings"] = {
            "run_seconds_total": float(np.sum(seconds)) if seconds else 0.0,
            "run_seconds_median": float(np.median(seconds)) if seconds else None,
            "run_seconds_max": float(np.max(seconds)) if seconds else None,
            "wall_seconds_total": float(sum(s.get("wall_seconds", 0.0) for s in info["sessions"])),
            "hosts": sorted({r.get("host") for r in rows if r.get("host")}),
        }
        self.write_json("manifest.json", info)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# ---------------------------------------------------------------- executors


def cores() -> int:
    """Cores this process may use (the affinity mask, which containers and batch systems set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _ignore_sigint():  # pool workers: Ctrl-C is the coordinator's to handle
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def execute(tasks: list[dict], on_done: Callable[[dict], None], processes: int | None = None,
            scheduler: str | None = None) -> None:
    """Run tasks and call ``on_done(payload)`` in the calling process as each finishes (in any order).

    ``scheduler``: a Dask scheduler address (``tcp://host:port``) or a
    ``distributed.Client``; otherwise a local process pool of ``processes``
    workers (default: all cores), or this process alone when ``processes == 1``.
    """
    if not tasks:
        return
    if scheduler is not None:
        _execute_dask(tasks, on_done, scheduler)
        return
    processes = processes or cores()
    if processes == 1 or len(tasks) == 1:
        for t in tasks:
            on_done(run_task(t))
        return
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.experiment", "sim.arrays", "sim.run"])
    pool = ProcessPoolExecutor(max_workers=min(processes, len(tasks)), mp_context=ctx, initializer=_ignore_sigint)
    try:
        # keep a short queue so that an interruption leaves little submitted work behind
        queue = iter(tasks)
        running = set()
        for t in itertools.islice(queue, 2 * processes):
            running.add(pool.submit(run_task, t))
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                on_done(fut.result())
                nxt = next(queue, None)
                if nxt is not None:
                    running.add(pool.submit(run_task, nxt))
    finally:
        procs = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)


def connect(address: str):
    """A Dask client for a scheduler address; `ExperimentError` (one line) if it cannot connect."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - a dependency
        raise ExperimentError("--scheduler needs dask distributed: pip install 'dask[distributed]'") from None
    try:
        return Client(address, timeout="20s")
    except Exception as e:  # distributed raises OSError, TimeoutError or ValueError (a malformed address)
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ExperimentError(f"--scheduler {address}: cannot connect ({text}); start one with 'dask scheduler'") from None


def _execute_dask(tasks: list[dict], on_done: Callable[[dict], None], scheduler) -> None:
    from distributed import as_completed

    own = not hasattr(scheduler, "submit")
    client = connect(scheduler) if own else scheduler
    try:
        # pure=False: every stochastic task is its own key, never merged with another
        futures = [client.submit(run_task, t, pure=False, retries=2, key=f"olsim-{t['run_id']}-{os.urandom(4).hex()}")
                   for t in tasks]
        try:
            for fut in as_completed(futures):
                on_done(fut.result())
        finally:
            client.cancel([f for f in futures if not f.done()])
    finally:
        if own:
            client.close()


# ---------------------------------------------------------------- the whole experiment


def run_experiment(plan: Plan, out: str | os.PathLike, processes: int | None = None, scheduler=None,
                   resume: bool = False, force: bool = False, progress: bool = False, plots: bool = True):
    """Run what is missing of an experiment into ``out``; return its results (analysed).

    Interrupted (Ctrl-C, a killed process, a lost worker), it loses no
    finished run: run it again with ``resume=True``.
    """
    store = Store(out)
    executor = f"dask {scheduler if isinstance(scheduler, str) else 'client'}" if scheduler is not None \
        else f"local pool of {processes or cores()}" if (processes or cores()) > 1 else "in-process"
    own_client = isinstance(scheduler, str)
    if own_client:
        scheduler = connect(scheduler)  # before anything is written
    try:
        return _run(plan, store, executor, processes, scheduler, resume, force, progress, plots)
    finally:
        if own_client:
            scheduler.close()


def _run(plan, store, executor, processes, scheduler, resume, force, progress, plots=True):
    done = store.prepare(plan, resume=resume, force=force, executor=executor)
    todo = [t for t in plan.tasks if t["run_id"] not in done]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(plan.tasks), initial=len(done), unit="run", desc=plan.spec.name, file=sys.stderr,
                   dynamic_ncols=True, smoothing=0.05)
    t0 = time.perf_counter()
    ran = 0
    last = [time.monotonic()]

    def on_done(payload):
        nonlocal ran
        store.save_run(payload)
        ran += 1
        if bar is not None:
            bar.update(1)
        if time.monotonic() - last[0] > 10:  # runs.parquet follows the finished runs
            store.consolidate(plan)
            last[0] = time.monotonic()

    complete = False
    try:
        execute(todo, on_done, processes=processes, scheduler=scheduler)
        complete = True
    finally:
        if bar is not None:
            bar.close()
        store.consolidate(plan)
        store.finish(plan, time.perf_counter() - t0, ran, complete and len(store.done()) == len(plan.tasks))
    from .analysis import ExperimentResult

    result = ExperimentResult.load(store.folder)
    result.write_analysis(plots=plots)
    return result
