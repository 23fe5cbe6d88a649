"""Calibration: bring the no-sanctions run into the documented ranges, and say what that pins down.

The targets (params/targets.toml) are *ranges* gathered from sources that
disagree by up to a factor of ten, not point measurements with known errors.
So the method is rejection approximate Bayesian computation with a uniform
kernel on those ranges -- the "filtering" of pattern-oriented modelling
(Grimm et al. 2005) and the non-implausible set of history matching:

1. **search**: draw ``budget`` parameter sets from the priors (a Latin
   hypercube through SALib, one experiment), run each with ``replicates``
   seeds (common random numbers: replicate k uses seed + k for every set) at a
   reduced ``scale`` on the array engine;
2. **accept** every set whose replicate mean lands inside *every* range; the
   accepted sets are the posterior sample. Their spread against the prior's
   says which parameters the targets pin down and which they leave loose;
3. **choose** the accepted set nearest the centre of all ranges (the root mean
   square of each target's position in its range, -1 at the low end, +1 at the
   high end, on a log scale for ranges wider than a factor of 4) and write it
   as a complete parameter file (params/calibrated.toml);
4. **check** it at full scale with fresh seeds (confirm/): each target's mean
   and 95% interval, beside the uncalibrated defaults;
5. **validate** out of sample (validation/): the history scenario with the
   calibrated values against the reported figures of the 2017 resolutions'
   aftermath, which the search never saw.

Every stage is an experiment folder (sim.experiment), so it runs on the same
executors (in-process, a local pool, or Dask) and resumes the same way.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .experiment import OUTCOMES, ExperimentError, Uncertainty, _expand, _format, _resolve, plan_experiment, read_toml_file
from .params import ParamsError, _suggest, defaults_dict, parse_month, read_toml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGETS = ROOT / "params" / "targets.toml"
MARKER = "Written by `olsim calibrate`"  # first line of a calibrated parameter file: it may be rewritten
WIDE = 4.0  # a range wider than this factor is read on a log scale
MIN_ACCEPTED = 20  # accepted sets needed before a 5-95% spread (and a verdict) means anything
WELFARE = ["retained_per_worker_month", "net_gain_p50", "revenue_delivered_per_year"]  # reported, not targeted


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class Target(_Strict):
    low: float
    high: float
    outcome: str = Field(description="an outcome of sim.experiment.OUTCOMES")
    source: str = Field(min_length=1, description="the fact in facts.md, or 'assumption'")
    what: str = ""

    @model_validator(mode="after")
    def _check(self):
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome: unknown outcome '{self.outcome}'{_suggest(self.outcome, OUTCOMES)}")
        return self

    @property
    def log(self) -> bool:
        return self.low > 0 and self.high / self.low > WIDE


class Prior(Uncertainty):
    """An uncertain parameter's prior: a distribution (as in experiment files) and where it comes from."""

    source: str = Field(min_length=1, description="the fact in facts.md behind the range, or 'assumption'")

    @model_validator(mode="after")
    def _not_grid(self):
        if self.values is not None:
            raise ValueError("values: a prior is a distribution (uniform, triangular, normal, truncnormal, lognormal), not grid points")
        return self

    def describe(self) -> str:
        d = self.distribution
        if d == "uniform":
            body = f"uniform {self.low:g}-{self.high:g}"
        elif d == "triangular":
            body = f"triangular {self.low:g}-{self.high:g}, mode {self.mode:g}"
        elif d == "normal":
            body = f"normal {self.mean:g} +/- {self.sd:g}"
        elif d == "truncnormal":
            body = f"normal {self.mean:g} +/- {self.sd:g} in {self.low:g}-{self.high:g}"
        else:
            body = f"lognormal, median {self.median:g}, sigma {self.sigma:g}"
        return body + (" x the scenario's value" if self.relative else "")


class Search(_Strict):
    budget: int = Field(384, ge=4, le=100_000, description="parameter sets drawn from the priors (Latin hypercube)")
    replicates: int = Field(2, ge=1, le=1000, description="seeds per parameter set (common random numbers)")
    scale: float = Field(0.1, gt=0, le=1, description="share of every host's workers simulated in the search")
    months: int | None = Field(None, ge=1, le=2400, description="overrides calendar.months in the search")
    seed: int = Field(0, ge=0, le=2**40, description="seed of the sample and of replicate 0")


class Check(_Strict):
    replicates: int = Field(10, ge=2, le=1000, description="fresh seeds for the confirmation and the validation")
    scale: float = Field(1.0, gt=0, le=1, description="share of every host's workers in the confirmation and validation")


class Fact(_Strict):
    """A reported figure the fit never sees, computed from the per-host monthly tables of the validation scenario."""

    what: str = Field(min_length=1)
    measure: Literal["level", "change", "total", "share", "per_year"]
    column: str
    host: str | None = Field(None, description="a host, or none for all hosts together")
    start: str | None = Field(None, description="first month (YYYY-MM); not used by level")
    end: str = Field(description="last month (YYYY-MM)")
    reported: float | None = None
    low: float | None = None
    high: float | None = None
    source: str = Field(min_length=1)
    note: str = ""

    @model_validator(mode="after")
    def _check(self):
        from .results import HOST_COLUMNS

        numeric = [c for c in HOST_COLUMNS if c not in ("month", "date", "host")]
        if self.column not in numeric:
            raise ValueError(f"column: unknown column '{self.column}'{_suggest(self.column, numeric)}")
        for k in ("start", "end"):
            v = getattr(self, k)
            if v is not None:
                try:
                    parse_month(v)
                except ValueError as e:
                    raise ValueError(f"{k}: {e}") from None
        if self.measure == "level" and self.start is not None:
            raise ValueError("start: a level measure is read at its end month only; remove start")
        if self.measure != "level" and self.start is None:
            raise ValueError(f"start: a {self.measure} measure needs a first month")
        if self.start is not None and self.start > self.end:
            raise ValueError(f"start ({self.start}) must not be after end ({self.end})")
        if self.measure == "share" and self.host is None:
            raise ValueError("host: a share measure needs a host (its share of all hosts)")
        if self.reported is None and (self.low is None or self.high is None):
            raise ValueError("give reported, or low and high (a reported range)")
        if (self.low is None) != (self.high is None):
            raise ValueError("low and high: give both or neither")
        if self.low is not None and not self.low <= self.high:
            raise ValueError(f"low ({self.low}) must not be above high ({self.high})")
        return self


class TargetsFile(_Strict):
    description: str = ""
    scenario: str | None = Field(None, description="parameter file of the run the targets describe (relative to this file)")
    output: str = Field("calibrated.toml", min_length=1, description="where olsim calibrate writes the calibrated file (relative to this file)")
    targets: dict[str, Target]
    parameters: dict[str, Prior] = Field(default_factory=dict, description="the uncertain parameters searched, with priors")
    search: Search = Field(default_factory=Search)
    check: Check = Field(default_factory=Check)
    validation_scenario: str | None = Field(None, description="parameter file of the out-of-sample scenario (relative to this file)")
    validation: dict[str, Fact] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _some(self):
        if not self.targets:
            raise ValueError("targets: at least one target is needed")
        if self.validation and self.validation_scenario is None:
            raise ValueError("validation_scenario: the validation facts need the scenario they describe")
        for p in self.parameters:
            for q in self.parameters:
                if p != q and "*" in p and _matches(p, q):
                    raise ValueError(f"parameters: '{q}' is also covered by '{p}'; give one prior per parameter")
        return self


@dataclass
class Targets:
    path: Path | None
    spec: TargetsFile
    text: str = ""

    def _rel(self, name: str | None) -> Path | None:
        if name is None:
            return None
        base = self.path.parent if self.path else ROOT / "params"
        return base / name

    @property
    def scenario_path(self) -> Path | None:
        return self._rel(self.spec.scenario)

    @property
    def validation_path(self) -> Path | None:
        return self._rel(self.spec.validation_scenario)

    @property
    def output_path(self) -> Path:
        return self._rel(self.spec.output)

    @property
    def outcomes(self) -> list[str]:
        return list(dict.fromkeys(t.outcome for t in self.spec.targets.values()))


def load_targets(path: str | os.PathLike | None = None) -> Targets:
    """Read and validate a targets file (default params/targets.toml); `ExperimentError` lists the problems."""
    p = Path(path) if path is not None else DEFAULT_TARGETS
    text, raw = read_toml_file(p, "a targets file")
    try:
        spec = TargetsFile.model_validate(raw)
    except ValidationError as e:
        fields = {1: list(TargetsFile.model_fields),
                  2: list(Search.model_fields) + list(Check.model_fields),
                  3: list(Target.model_fields) + list(Prior.model_fields) + list(Fact.model_fields)}
        raise ExperimentError([f"{p}: {line}" for line in _format(e, fields)]) from None
    targets = Targets(path=p, spec=spec, text=text)
    for key, where in (("scenario", targets.scenario_path), ("validation_scenario", targets.validation_path)):
        if where is not None and not where.is_file():
            raise ExperimentError(f"{p}: {key}: no such file {where}")
    return targets


# ---------------------------------------------------------------- distances


def miss(value: float, low: float, high: float) -> float:
    """0 inside [low, high]; outside, the miss relative to the range's near end (inf if the value is undefined)."""
    if value != value:
        return math.inf
    if value < low:
        return (low - value) / abs(low) if low else low - value
    if value > high:
        return (value - high) / abs(high) if high else value - high
    return 0.0


def position(value: float, target: Target) -> float:
    """Where a value sits in a target's range: -1 at the low end, 0 at the centre, +1 at the high end.

    On a log scale when the range spans more than a factor of 4 (a median
    bribe of $100-$3,000 is centred near $550, not $1,550). NaN is inf.
    """
    if value != value:
        return math.inf
    if target.log:
        if value <= 0:
            return -math.inf
        lo, hi, v = math.log(target.low), math.log(target.high), math.log(value)
    else:
        lo, hi, v = target.low, target.high, value
    return (v - (lo + hi) / 2) / ((hi - lo) / 2)


def distance(positions: np.ndarray) -> np.ndarray:
    """Root mean square of the positions (rows: sets, columns: targets); inside every range iff max |position| <= 1."""
    p = np.asarray(positions, dtype=float)
    return np.sqrt(np.mean(p ** 2, axis=-1))


def evaluate(outcomes: dict[str, float], targets: Targets) -> list[dict]:
    """One row per target: its range, the run's value, whether it is inside, the miss and the position."""
    rows = []
    for name, t in targets.spec.targets.items():
        value = float(outcomes[t.outcome])
        rows.append({"target": name, "outcome": t.outcome, "low": t.low, "high": t.high, "value": value,
                     "inside": bool(t.low <= value <= t.high), "miss": miss(value, t.low, t.high),
                     "position": position(value, t), "source": t.source})
    return rows


# ---------------------------------------------------------------- validation measures


def measure(hosts: pd.DataFrame, fact: Fact, scale: float = 1.0) -> float:
    """A fact's measure from one run's per-host monthly table (counts divided by the simulated scale)."""
    h = hosts if fact.host is None else hosts[hosts["host"] == fact.host]
    by_date = h.groupby("date")[fact.column].sum()

    def level(d):
        if d not in by_date.index:
            raise ExperimentError(f"validation: month {d} is outside the run ({by_date.index.min()} to {by_date.index.max()})")
        return float(by_date[d])

    def total(frame):
        sel = frame[(frame["date"] >= fact.start) & (frame["date"] <= fact.end)]
        return float(sel[fact.column].sum())

    for d in (fact.start, fact.end):
        if d is not None:
            level(d)  # inside the run
    if fact.measure == "level":
        return level(fact.end) / scale
    if fact.measure == "change":
        a = level(fact.start)
        return (level(fact.end) - a) / a if a else math.nan
    if fact.measure == "total":
        return total(h) / scale
    if fact.measure == "per_year":
        y0, m0 = parse_month(fact.start)
        y1, m1 = parse_month(fact.end)
        months = (y1 - y0) * 12 + (m1 - m0) + 1
        return total(h) / scale / (months / 12.0)
    whole = total(hosts)
    return total(h) / whole if whole else math.nan


# ---------------------------------------------------------------- the stages as experiments


def _priors_as_uncertainties(spec: TargetsFile) -> dict:
    return {k: v.model_dump(exclude={"source"}, exclude_none=True) for k, v in spec.parameters.items()}


def search_experiment(targets: Targets, budget: int | None = None) -> dict:
    s = targets.spec.search
    raw = {"name": "search", "description": "calibration search: Latin hypercube over the priors",
           "base": str(targets.scenario_path.resolve()) if targets.scenario_path else None, "engine": "array",
           "seed": s.seed, "replicates": s.replicates, "scale": s.scale,
           "outcomes": list(dict.fromkeys(targets.outcomes + WELFARE)),
           "scenarios": [{"name": "calibration"}], "uncertainties": _priors_as_uncertainties(targets.spec),
           "sampling": {"method": "lhs", "n": budget or s.budget, "seed": s.seed}}
    if s.months is not None:
        raw["months"] = s.months
    return {k: v for k, v in raw.items() if v is not None}


def _check_experiment(name: str, description: str, targets: Targets, scenarios: list[dict], hosts: bool) -> dict:
    c, s = targets.spec.check, targets.spec.search
    # fresh seeds: the chosen set was selected on the search's seeds, so judging it on them would flatter it
    return {"name": name, "description": description, "engine": "array", "seed": s.seed + s.replicates,
            "replicates": c.replicates, "scale": c.scale, "outcomes": list(dict.fromkeys(targets.outcomes + WELFARE)),
            "scenarios": scenarios, "hosts": hosts}


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
        # a lognormal prior's spread is judged on the log scale, where it is symmetric
        g = np.log if prior.distribution == "lognormal" else (lambda x: x)
        width = g(prior_q.loc[0.95, name]) - g(prior_q.loc[0.05, name])
        if post_q is not None and len(post) >= MIN_ACCEPTED:
            ratio = float((g(post_q.loc[0.95, name]) - g(post_q.loc[0.05, name])) / width) if width > 0 else math.nan
        else:
            ratio = math.nan
        verdict = f"n/a (fewer than {MIN_ACCEPTED} accepted sets)" if ratio != ratio else \
            "pinned" if ratio < 0.5 else "narrowed" if ratio < 0.8 else "loose"
        # which target outcome moves most with this parameter, over all sets (Spearman's rho)
        rho = {t: float(per_set[name].corr(per_set[t], method="spearman")) for t in targets.outcomes}
        rho = {k: v for k, v in rho.items() if v == v}
        driver = max(rho, key=lambda k: abs(rho[k])) if rho else ""
        if driver and abs(rho[driver]) < 0.1:
            driver = ""  # no target moves with it
        rows.append({
            "parameter": name, "prior": prior.describe(), "source": prior.source,
            "prior_p05": prior_q.loc[0.05, name], "prior_p50": prior_q.loc[0.5, name], "prior_p95": prior_q.loc[0.95, name],
            "posterior_p05": post_q.loc[0.05, name] if post_q is not None else math.nan,
            "posterior_p50": post_q.loc[0.5, name] if post_q is not None else math.nan,
            "posterior_p95": post_q.loc[0.95, name] if post_q is not None else math.nan,
            "width_ratio": ratio, "verdict": verdict, "calibrated": float(per_set.loc[per_set["sample"] == chosen, name].iloc[0]),
            "strongest_target": driver, "rho": rho.get(driver, math.nan),
        })
    # what the targets leave uncertain: the untargeted outcomes over all sets and over the accepted ones
    # (totals per year scale with the workforce, so they are shown at full scale)
    pred = []
    acc = per_set[per_set["accepted"]]
    for w in [o for o in outcomes if o not in targets.outcomes]:
        k = 1.0 / targets.spec.search.scale if w in ("revenue_delivered_per_year", "state_take_per_year") else 1.0
        row = {"outcome": w, "what": OUTCOMES[w]}
        for label, frame in (("all", per_set), ("accepted", acc)):
            q = frame[w].quantile([0.05, 0.5, 0.95]) * k if len(frame) else pd.Series([math.nan] * 3, index=[0.05, 0.5, 0.95])
            row.update({f"{label}_p05": q[0.05], f"{label}_p50": q[0.5], f"{label}_p95": q[0.95]})
        pred.append(row)
    tradeoffs = []
    if len(acc) >= 5 and len(names) > 1:
        c = acc[names].corr(method="spearman")
        tradeoffs = sorted(((float(c.iloc[i, j]), names[j], names[i]) for i in range(len(names)) for j in range(i)
                            if c.iloc[i, j] == c.iloc[i, j]), key=lambda t: -abs(t[0]))[:3]
    return Analysis(per_set=per_set, parameters=pd.DataFrame(rows), chosen=chosen, accepted=n_acc, reachable=n_acc > 0,
                    predictive=pd.DataFrame(pred), tradeoffs=tradeoffs)


def calibrated_params(targets: Targets, values: dict):
    """The targets' scenario (at full scale) with a parameter set's values applied: a `Params`."""
    from .params import Params

    defaults = defaults_dict()
    raw = read_toml(targets.scenario_path) if targets.scenario_path else {}
    resolved = _resolve(raw, {}, 1.0, defaults, "scenario")
    overrides = _expand(values, resolved, targets.spec.parameters)
    return Params.model_validate(_resolve(resolved, overrides, 1.0, defaults, "calibrated")), overrides


def calibrated_toml(targets: Targets, analysis: Analysis, params, overrides: dict) -> str:
    from datetime import date

    from .tomlio import params_toml

    rows = analysis.parameters.set_index("parameter")
    notes = {}
    for key in overrides:
        pattern = next((p for p in targets.spec.parameters if p == key or ("*" in p and _matches(p, key))), key)
        r = rows.loc[pattern]
        notes[key] = (f"calibrated: {r['verdict']}; prior {r['prior']} ({r['source']}); accepted 90%: "
                      f"{r['posterior_p05']:.4g} to {r['posterior_p95']:.4g}")
    name = targets.path.name if targets.path else "targets.toml"
    header = (f"{MARKER} from {name} on {date.today().isoformat()}; regenerate with\n"
              f"    olsim calibrate {targets.path.relative_to(ROOT) if targets.path and targets.path.is_relative_to(ROOT) else name}\n"
              f"{targets.spec.scenario} with the searched parameters set to the " +
              ("accepted set nearest the centre of\nevery target range" if analysis.reachable else
               "set nearest the target ranges (NONE landed\ninside every range)") +
              f" ({analysis.accepted} of {len(analysis.per_set)} sets accepted). Each calibrated value's comment gives\n"
              f"its prior, its source and the spread of the accepted sets; see docs/ODD.md, 'Calibration'.")
    params = params.model_copy(update={"description": f"Calibrated: {targets.spec.scenario} with the searched parameters fitted to {name}"})
    return params_toml(params, header=header, notes=notes)


def _matches(pattern: str, key: str) -> bool:
    a, b = pattern.split("."), key.split(".")
    return len(a) == len(b) and all(x == "*" or x == y for x, y in zip(a, b))


# ---------------------------------------------------------------- the calibration folder


class Folder:
    """A calibration's folder: calibration.json marks it; search/, confirm/, validation/ are experiment folders."""

    def __init__(self, path: Path):
        self.path = Path(path).absolute()
        self.replace = False

    def read_mark(self) -> dict:
        mark = self.path / "calibration.json"
        try:
            old = json.loads(mark.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise ExperimentError(f"--out {self.path}: calibration.json is unreadable; nothing was written") from None
        if not isinstance(old, dict) or old.get("kind") != "calibration":
            raise ExperimentError(f"--out {self.path}: calibration.json is not a calibration's; nothing was written")
        return old

    def prepare(self, targets: Targets, resume: bool, force: bool, inputs: list[Path]) -> dict:
        """Check the folder (refusing what is not a calibration's); return what an earlier session recorded."""
        f, mark = self.path, self.path / "calibration.json"
        if f.exists() and not f.is_dir():
            raise ExperimentError(f"--out {f}: exists and is not a folder; nothing was written")
        for p in inputs:
            if p is not None and p.resolve().is_relative_to(f.resolve()):
                raise ExperimentError(f"--out {f}: holds an input of the calibration ({p}); choose another --out")
        old = {}
        if f.exists() and any(f.iterdir()):
            if not mark.exists():
                raise ExperimentError(f"--out {f}: exists and is not a calibration folder (no calibration.json); nothing was written")
            old = self.read_mark()
            if force:
                self.replace = True  # removed by mark(), once every other check has passed
                old = {}
            elif not resume:
                raise ExperimentError(f"--out {f}: already holds a calibration; add --resume to finish it, --force to "
                                      f"replace it, or choose another --out")
            elif old.get("targets_text") != targets.text:
                raise ExperimentError(f"--resume: {f} holds a calibration to another targets file; use another --out, "
                                      f"or --force to replace it")
        return old

    def mark(self, targets: Targets, info: dict) -> None:
        from .experiment import _atomic_write

        try:
            if self.replace:
                shutil.rmtree(self.path)
                self.replace = False
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ExperimentError(f"--out {self.path}: {e.strerror or e}") from None
        _atomic_write(self.path / "calibration.json",
                      (json.dumps({"kind": "calibration", "targets_file": str(targets.path), "targets_text": targets.text,
                                   **info}, indent=1) + "\n").encode())


@dataclass
class Calibration:
    folder: Path
    targets: Targets
    analysis: Analysis
    confirm: pd.DataFrame  # per target: range, calibrated and default means with 95% intervals
    validation: pd.DataFrame  # per fact: reported, calibrated and default values with 95% intervals
    params_file: Path | None
    stages: dict = field(default_factory=dict)

    def report(self) -> str:
        return report_text(self)


def check_output_file(targets: Targets, force: bool) -> Path:
    """The calibrated file's path; refuses an input of the calibration, and a file `olsim calibrate` did not write (without --force)."""
    out = targets.output_path
    for name, p in (("the targets file", targets.path), ("scenario", targets.scenario_path),
                    ("validation_scenario", targets.validation_path)):
        if p is not None and out.exists() and p.exists() and out.resolve() == p.resolve():
            raise ExperimentError(f"output: {out} is {name}, an input of the calibration; choose another output")
    if out.exists():
        if out.is_dir():
            raise ExperimentError(f"output: {out} is a folder")
        first = out.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
        if MARKER not in first and not force:
            raise ExperimentError(f"output: {out} exists and was not written by olsim calibrate; move it, change "
                                  f"'output' in the targets file, or add --force")
    elif not out.parent.is_dir():
        raise ExperimentError(f"output: folder {out.parent} does not exist")
    return out


def _check_validation(targets: Targets) -> None:
    """The validation scenario loads, and every fact's host and months are in it (before anything is written)."""
    from .params import Params

    spec = targets.spec
    if not spec.validation:
        return
    try:
        raw = read_toml(targets.validation_path)
        params = Params.model_validate(_resolve(raw, {}, 1.0, defaults_dict(), "validation_scenario"))
    except ExperimentError as e:
        raise ExperimentError([f"{targets.path}: {line}" for line in e.errors]) from None
    except ParamsError as e:
        raise ExperimentError([f"{targets.path}: validation_scenario: {line}" for line in e.errors]) from None
    first = params.calendar.start
    y, m = parse_month(first)
    last_index = params.calendar.months - 1
    last = f"{y + (m - 1 + last_index) // 12:04d}-{(m - 1 + last_index) % 12 + 1:02d}"
    searched = set(calibrated_params(targets, {})[0].hosts)
    for k, fct in spec.validation.items():
        if fct.host is not None and fct.host not in params.hosts:
            raise ExperimentError(f"{targets.path}: validation.{k}.host: no host '{fct.host}' in "
                                  f"{targets.validation_path.name}{_suggest(fct.host, params.hosts)}")
        for key in ("start", "end"):
            d = getattr(fct, key)
            if d is not None and not first <= d <= last:
                raise ExperimentError(f"{targets.path}: validation.{k}.{key}: {d} is outside the validation scenario's "
                                      f"calendar ({first} to {last})")
    missing = searched - set(params.hosts)
    if missing and any(p.startswith("hosts.") for p in spec.parameters):
        raise ExperimentError(f"{targets.path}: validation_scenario: lacks the host(s) {', '.join(sorted(missing))} "
                              f"of the scenario, so the calibrated values cannot be applied to it")


def run_calibration(targets: Targets, out: str | os.PathLike, budget: int | None = None, processes: int | None = None,
                    scheduler=None, resume: bool = False, force: bool = False, progress: bool = False,
                    log=None) -> Calibration:
    """Search, choose, confirm and validate; write the calibrated file and the report. Resumable stage by stage."""
    log = log or (lambda msg: None)
    spec = targets.spec
    if not spec.parameters:
        raise ExperimentError(f"{targets.path}: parameters: no parameter to search (add [parameters.\"KEY\"] tables)")
    if targets.scenario_path is None:
        raise ExperimentError(f"{targets.path}: scenario: the calibration needs the scenario the targets describe")
    try:
        search_plan = plan_experiment(search_experiment(targets, budget), targets.path.parent)
    except ExperimentError as e:
        raise ExperimentError([f"{targets.path}: {line.replace('uncertainties.', 'parameters.')}" for line in e.errors]) from None
    folder = Folder(out)
    old = folder.prepare(targets, resume, force, [targets.path, targets.scenario_path, targets.validation_path])
    # only a calibration with the file's own settings replaces its output (a --budget trial writes the report folder only)
    official = budget is None or budget == spec.search.budget
    out_file = check_output_file(targets, force or old.get("force_output", False)) if official else None
    _check_validation(targets)
    own_client = isinstance(scheduler, str)
    if own_client:
        from .experiment import connect

        scheduler = connect(scheduler)  # before anything is written
    try:
        folder.mark(targets, {"force_output": bool(force or old.get("force_output", False))})
        return _calibrate(targets, folder, search_plan, out_file, processes, scheduler, resume, progress, log)
    finally:
        if own_client:
            scheduler.close()


def _calibrate(targets, folder, search_plan, out_file, processes, scheduler, resume, progress, log) -> Calibration:
    from .experiment import _atomic_write, run_experiment

    spec = targets.spec
    f = folder.path
    log(f"search: {len(search_plan.samples)} parameter sets x {spec.search.replicates} replicates at "
        f"{spec.search.scale:g} scale = {len(search_plan.tasks)} runs")
    search = run_experiment(search_plan, f / "search", processes=processes, scheduler=scheduler, resume=resume,
                            progress=progress, plots=False)
    if not search.complete:  # pragma: no cover - run_experiment raises or completes
        raise ExperimentError("search: incomplete; run again with --resume")
    analysis = analyse_search(search.runs, search.samples, targets)
    chosen_values = {k: _round(_plain(v)) for k, v in
                     analysis.per_set.loc[analysis.per_set["sample"] == analysis.chosen, list(spec.parameters)].iloc[0].items()}
    params, overrides = calibrated_params(targets, chosen_values)
    text = calibrated_toml(targets, analysis, params, overrides)
    _atomic_write(f / "calibrated.toml", text.encode())

    scen_rel = str(targets.scenario_path.resolve())
    confirm_raw = _check_experiment("confirm", "the calibrated parameters and the defaults, fresh seeds", targets, [
        {"name": "calibrated", "params": str((f / "calibrated.toml"))},
        {"name": "defaults", "params": scen_rel}], hosts=False)
    confirm_plan = plan_experiment(confirm_raw, f)
    log(f"confirm: {len(confirm_plan.tasks)} runs at {spec.check.scale:g} scale, fresh seeds")
    confirm = run_experiment(confirm_plan, f / "confirm", processes=processes, scheduler=scheduler, resume=resume,
                             progress=progress, plots=False)
    rows = []
    for name, t in spec.targets.items():
        row = {"target": name, "what": t.what, "outcome": t.outcome, "low": t.low, "high": t.high, "source": t.source}
        for scen in ("calibrated", "defaults"):
            row.update(_interval_columns(scen, confirm.runs.loc[confirm.runs["scenario"] == scen, t.outcome]))
            m = row[f"{scen}_mean"]
            row.update({f"{scen}_inside": bool(t.low <= m <= t.high), f"{scen}_position": position(m, t)})
        s = analysis.per_set[t.outcome]
        row.update({"search_p05": s.quantile(0.05), "search_p95": s.quantile(0.95),
                    "search_inside": float(((s >= t.low) & (s <= t.high)).mean())})
        rows.append(row)
    for w in WELFARE:
        row = {"target": f"({w})", "what": OUTCOMES[w], "outcome": w, "low": math.nan, "high": math.nan, "source": "not a target"}
        for scen in ("calibrated", "defaults"):
            row.update(_interval_columns(scen, confirm.runs.loc[confirm.runs["scenario"] == scen, w]))
        rows.append(row)
    confirm_table = pd.DataFrame(rows)

    validation_table = pd.DataFrame()
    stages = {"search": search, "confirm": confirm}
    if spec.validation:
        val_rel = str(targets.validation_path.resolve())
        val_raw = _check_experiment("validation", "out of sample: the validation scenario, calibrated and with the defaults",
                                    targets, [{"name": "calibrated", "params": val_rel, "overrides": overrides},
                                              {"name": "defaults", "params": val_rel}], hosts=True)
        val_plan = plan_experiment(val_raw, f)
        log(f"validation: {len(val_plan.tasks)} runs at {spec.check.scale:g} scale")
        val = run_experiment(val_plan, f / "validation", processes=processes, scheduler=scheduler, resume=resume,
                             progress=progress, plots=False)
        validation_table = validation_rows(val, targets)
        stages["validation"] = val

    if out_file is not None and analysis.reachable:
        _atomic_write(out_file, text.encode())
    elif out_file is not None:
        log(f"no parameter set reached every range: {out_file} is left as it was; the nearest set is in {f}/calibrated.toml")
        out_file = None
    cal = Calibration(folder=f, targets=targets, analysis=analysis, confirm=confirm_table, validation=validation_table,
                      params_file=out_file, stages=stages)
    write_report(cal)
    return cal


def validation_rows(val, targets: Targets) -> pd.DataFrame:

    scale = targets.spec.check.scale
    cols = sorted({fct.column for fct in targets.spec.validation.values()})
    hosts = val.hosts(cols)
    per_run = {rid: g for rid, g in hosts.groupby("run_id", sort=False)}
    rows = []
    for name, fct in targets.spec.validation.items():
        row = {"fact": name, "what": fct.what, "measure": fct.measure, "host": fct.host or "all",
               "period": fct.end if fct.measure == "level" else f"{fct.start} to {fct.end}",
               "reported": fct.reported if fct.reported is not None else math.nan,
               "reported_low": fct.low if fct.low is not None else math.nan,
               "reported_high": fct.high if fct.high is not None else math.nan, "source": fct.source, "note": fct.note}
        for scen in ("calibrated", "defaults"):
            ids = val.runs.loc[val.runs["scenario"] == scen, "run_id"]
            row.update(_interval_columns(scen, [measure(per_run[r], fct, scale) for r in ids]))
            m = row[f"{scen}_mean"]
            if fct.low is not None:
                row[f"{scen}_inside"] = bool(fct.low <= m <= fct.high)
            if fct.reported:
                row[f"{scen}_ratio"] = m / fct.reported
        rows.append(row)
    return pd.DataFrame(rows)


def _interval_columns(scen: str, values) -> dict:
    """<scen>_mean, <scen>_ci_low, <scen>_ci_high: the mean over seeds and its 95% t interval."""
    from .analysis import t_interval

    m, lo, hi = t_interval(np.asarray(values, dtype=float))
    return {f"{scen}_mean": m, f"{scen}_ci_low": lo, f"{scen}_ci_high": hi}


def _with_interval(r, scen: str, fmt) -> str:
    """'mean [low, high]' of a table row's <scen>_mean and interval, each formatted by fmt."""
    return f"{fmt(r[f'{scen}_mean'])} [{fmt(r[f'{scen}_ci_low'])}, {fmt(r[f'{scen}_ci_high'])}]"


def _round(v):
    """Four significant figures: the file reads plainly, and the check runs the rounded values."""
    return float(f"{v:.4g}") if isinstance(v, float) else v


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


# ---------------------------------------------------------------- the report


def _num(x: float, money: bool = False) -> str:
    if x != x:
        return "n/a"
    sign, a, cur = ("-" if x < 0 else ""), abs(x), ("$" if money else "")
    if money and a >= 1e6:
        return f"{sign}${a / 1e6:,.1f}M"
    if a >= 1000:
        return f"{sign}{cur}{a:,.0f}"
    if a >= 100:
        return f"{sign}{cur}{a:.0f}"
    if a >= 10:
        return f"{sign}{cur}{a:.1f}"
    return f"{sign}{cur}{a:.3g}"


def _fmt_value(x: float, outcome: str) -> str:
    if outcome == "worker_share_kept":
        return "n/a" if x != x else f"{100 * x:.1f}%"
    money = outcome in ("state_take_per_worker_month", "entry_bribe_median", "retained_per_worker_month", "net_gain_p50",
                        "revenue_delivered_per_year")
    return _num(x, money)


def _fmt_fact(x: float, fct_measure: str) -> str:
    if x != x:
        return "n/a"
    if fct_measure in ("change", "share"):
        return f"{100 * x:+.0f}%" if fct_measure == "change" else f"{100 * x:.0f}%"
    if fct_measure == "per_year":
        return _num(x, money=True)
    return f"{x:,.0f}"


def report_text(cal: Calibration) -> str:
    """The calibration report in Markdown (report.md)."""
    a, spec = cal.analysis, cal.targets.spec
    s = spec.search
    n_sets = len(a.per_set)
    shown = cal.targets.path
    if shown is not None and shown.is_relative_to(ROOT):
        shown = shown.relative_to(ROOT)
    lines = ["# Calibration report", "",
             f"Targets: `{shown}`. Method: rejection ABC with a uniform kernel on the target ranges "
             f"(docs/ODD.md, 'Calibration'). Search: {n_sets} parameter sets (Latin hypercube over the priors) x "
             f"{s.replicates} replicates at {s.scale:g} of the workforce, array engine; a set is accepted when its "
             f"replicate mean lands inside every range.", "",
             f"**Accepted: {a.accepted} of {n_sets} sets ({100 * a.accepted / n_sets:.0f}%).** " +
             ("The calibrated file uses the accepted set nearest the centre of every range." if a.reachable else
              "No set landed inside every range: the calibrated file uses the set nearest to them, and the table "
              "below shows which targets it misses."), "",
             f"## Targets (`{spec.scenario}`; check: {spec.check.replicates} fresh seeds at {spec.check.scale:g} scale)", "",
             "Intervals are 95% t intervals of the mean over the seeds: the model's noise for these parameters, not "
             "the parameters' uncertainty (for that, see 'What the targets leave uncertain').", "",
             "| target | range | calibrated: mean [95% interval] | inside | defaults: mean [95% interval] | inside | search sets inside | source |",
             "|---|---|---|---|---|---|---:|---|"]
    for _, r in cal.confirm.iterrows():
        o = r["outcome"]
        fmt = partial(_fmt_value, outcome=o)
        if r["source"] == "not a target":
            continue
        lines.append(f"| {r['what'] or r['target']} | {_fmt_value(r['low'], o)}-{_fmt_value(r['high'], o)} | "
                     f"{_with_interval(r, 'calibrated', fmt)} | {'yes' if r['calibrated_inside'] else '**no**'} | "
                     f"{_with_interval(r, 'defaults', fmt)} | "
                     f"{'yes' if r['defaults_inside'] else 'no'} | {100 * r['search_inside']:.0f}% | {r['source']} |")
    lines += ["", "Not targeted, shown for what the calibration does to welfare and revenue:", "",
              "| outcome | calibrated | defaults |", "|---|---|---|"]
    for _, r in cal.confirm[cal.confirm["source"] == "not a target"].iterrows():
        o = r["outcome"]
        lines.append(f"| {r['what']} | {_with_interval(r, 'calibrated', partial(_fmt_value, outcome=o))} | "
                     f"{_fmt_value(r['defaults_mean'], o)} |")
    lines += ["", "## Parameters: what the targets pin down", "",
              "Width ratio: the accepted sets' 5-95% range over the prior's (from the same sample). Below 0.5 the "
              "targets pin the parameter down; 0.5-0.8 they narrow it; above 0.8 they leave it loose. Strongest "
              "target: the targeted outcome with the largest Spearman correlation with the parameter over all sets.", "",
              "| parameter | prior | calibrated | accepted 5-95% | width ratio | verdict | strongest target (rho) | source |",
              "|---|---|---:|---|---:|---|---|---|"]
    for _, r in a.parameters.iterrows():
        strongest = f"{r['strongest_target']} ({r['rho']:+.2f})" if r["strongest_target"] else "none (every rho < 0.1)"
        lines.append(f"| `{r['parameter']}` | {r['prior']} | {r['calibrated']:.4g} | {r['posterior_p05']:.4g} to "
                     f"{r['posterior_p95']:.4g} | {r['width_ratio']:.2f} | {r['verdict']} | {strongest} | {r['source']} |")
    if a.accepted:
        text = (f"The accepted sets fill {100 * a.accepted / n_sets:.0f}% of the prior" +
                (": the targets rule out the rest jointly, even where each parameter alone stays loose." if a.accepted < n_sets
                 else ": the targets rule out nothing."))
        if a.tradeoffs:
            text += (" The strongest rank correlations among the accepted sets (Spearman's rho; below 0.3 in size, weak): " +
                     "; ".join(f"`{x}` and `{y}` {r:+.2f}" for r, x, y in a.tradeoffs) + ".")
        lines += ["", text]
    if len(a.predictive):
        lines += ["", "## What the targets leave uncertain", "",
                  f"Outcomes no target measures, over every searched set and over the accepted ones (5%, median, 95%; "
                  f"search runs at {s.scale:g} scale, revenue scaled to the whole workforce). A policy figure that "
                  "depends on them carries this spread.", "",
                  "| outcome | all sets | accepted sets |", "|---|---|---|"]
        for _, r in a.predictive.iterrows():
            o = r["outcome"]
            lines.append(f"| {r['what']} | {_fmt_value(r['all_p05'], o)}, {_fmt_value(r['all_p50'], o)}, "
                         f"{_fmt_value(r['all_p95'], o)} | {_fmt_value(r['accepted_p05'], o)}, "
                         f"{_fmt_value(r['accepted_p50'], o)}, {_fmt_value(r['accepted_p95'], o)} |")
    if len(cal.validation):
        lines += ["", f"## Validation (out of sample): `{spec.validation_scenario}`", "",
                  "These figures were not used in the fit. The scenario is run with the calibrated values and with "
                  "the defaults, same seeds. The interval is over the seeds only (noise, not parameter uncertainty).", "",
                  "| fact | period | reported | calibrated: mean [95% interval] | defaults | source | note |",
                  "|---|---|---|---|---|---|---|"]
        for _, r in cal.validation.iterrows():
            m = r["measure"]
            rep = _fmt_fact(r["reported"], m) if r["reported"] == r["reported"] else ""
            if r["reported_low"] == r["reported_low"]:
                rng = f"{_fmt_fact(r['reported_low'], m)}-{_fmt_fact(r['reported_high'], m)}"
                rep = f"{rep} ({rng})" if rep else rng
            lines.append(f"| {r['what']} | {r['period']} | {rep} | "
                         f"{_with_interval(r, 'calibrated', partial(_fmt_fact, fct_measure=m))} | "
                         f"{_fmt_fact(r['defaults_mean'], m)} | {r['source']} | {r['note']} |")
    lines += ["", "## Files", "",
              "- `targets.csv`, `parameters.csv`, `predictive.csv`, `validation.csv`, `sets.csv` (every searched set: values, mean "
              "outcomes, positions, distance, accepted)",
              "- `plots/fit.png`, `plots/posterior.png`, `plots/profiles.png`" + (", `plots/validation.png`" if len(cal.validation) else ""),
              "- `calibrated.toml` (also written to the targets file's `output`)",
              "- `search/`, `confirm/`" + (", `validation/`" if len(cal.validation) else "") + ": the experiment folders (runs, monthly series, manifests)",
              ""]
    return "\n".join(lines)


def write_report(cal: Calibration) -> list[Path]:
    from .experiment import _atomic_write

    f = cal.folder
    written = []
    for name, df in (("targets.csv", cal.confirm), ("parameters.csv", cal.analysis.parameters),
                     ("predictive.csv", cal.analysis.predictive),
                     ("sets.csv", cal.analysis.per_set), ("validation.csv", cal.validation)):
        if len(df):
            tmp = f / f".{name}.tmp"
            df.to_csv(tmp, index=False, float_format="%.6g")
            os.replace(tmp, f / name)
            written.append(f / name)
    from .plots import calibration_figures

    written += calibration_figures(cal, f / "plots")
    _atomic_write(f / "report.md", report_text(cal).encode())
    written.append(f / "report.md")
    return written


def summary_lines(cal: Calibration) -> list[str]:
    """A short plain-text account for the terminal."""
    a = cal.analysis
    lines = [f"accepted {a.accepted} of {len(a.per_set)} parameter sets (inside every target range)"]
    for _, r in cal.confirm.iterrows():
        if r["source"] == "not a target":
            continue
        o = r["outcome"]
        lines.append(f"  {r['target']:<34} {_with_interval(r, 'calibrated', partial(_fmt_value, outcome=o)):>26}  "
                     f"range {_fmt_value(r['low'], o)}-{_fmt_value(r['high'], o)}  {'inside' if r['calibrated_inside'] else 'OUTSIDE'}")
    pinned = a.parameters.loc[a.parameters["verdict"] == "pinned", "parameter"].tolist()
    loose = a.parameters.loc[a.parameters["verdict"] == "loose", "parameter"].tolist()
    lines.append(f"  pinned: {', '.join(pinned) or 'none'}; loose: {', '.join(loose) or 'none'}")
    for _, r in cal.validation.iterrows():
        m = r["measure"]
        rep = _fmt_fact(r["reported"], m) if r["reported"] == r["reported"] else \
            f"{_fmt_fact(r['reported_low'], m)}-{_fmt_fact(r['reported_high'], m)}"
        lines.append(f"  validation: {r['what']}: model {_fmt_fact(r['calibrated_mean'], m)}, reported {rep}")
    return lines
