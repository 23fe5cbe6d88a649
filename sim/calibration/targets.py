"""The targets file (params/targets.toml): the patterns, the priors searched, the search and
check settings, and the out-of-sample facts of the validation scenario."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal, cast

from pydantic import Field, ValidationError, model_validator

from ..common import shipped
from ..common.errors import ExperimentError
from ..common.validation import Strict, format_validation_error, read_toml, suggest
from ..core.distributions import KIND_NAMES
from ..core.fields import parse_month
from ..explore.spec import Uncertainty
from ..results.outcomes import OUTCOMES
from ..results.columns import HOST_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TARGETS = shipped.folder("params") / "targets.toml"
WIDE = 4.0  # a range wider than this factor is read on a log scale


class Target(Strict):
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
            raise ValueError(f"outcome: unknown outcome '{self.outcome}'{suggest(self.outcome, OUTCOMES)}")
        return self

    @property
    def log(self) -> bool:
        return self.low > 0 and self.high / self.low > WIDE


class Prior(Uncertainty):
    """An uncertain parameter's prior: a distribution (`sim.core.distributions`, as in experiment files) and where
    it comes from."""

    source: str = Field(min_length=1, description="the fact in facts.md behind the range, or 'assumption'")

    missing_hint: ClassVar[str] = ""

    @model_validator(mode="after")
    def _not_grid(self):
        if self.values is not None:
            raise ValueError(f"values: a prior is a distribution ({', '.join(KIND_NAMES)}), not grid points")
        return self

    def describe(self) -> str:
        return super().describe() + (" x the scenario's value" if self.relative else "")


class Search(Strict):
    budget: int = Field(384, ge=4, le=100_000, description="parameter sets drawn from the priors (Latin hypercube)")
    replicates: int = Field(2, ge=1, le=1000, description="seeds per parameter set (common random numbers)")
    scale: float = Field(0.1, gt=0, le=1, description="share of every host's workers simulated in the search")
    months: int | None = Field(None, ge=1, le=2400, description="overrides calendar.months in the search")
    seed: int = Field(0, ge=0, le=2**40, description="seed of the sample and of replicate 0")


class Check(Strict):
    replicates: int = Field(10, ge=2, le=1000, description="fresh seeds for the confirmation and the validation")
    scale: float = Field(
        1.0, gt=0, le=1, description="share of every host's workers in the confirmation and validation"
    )


class Fact(Strict):
    """A reported figure the fit never sees, computed from the per-host monthly tables of the validation scenario."""

    what: str = Field(min_length=1)
    measure: Literal["level", "change", "total", "share", "per_year", "ratio", "weighted_mean"]
    column: str | list[str] = Field(description="a column of the per-host table (ratio: the columns summed on top)")
    per: str | list[str] | None = Field(
        None, description="ratio: the columns summed below; weighted_mean: the weight column"
    )
    factor: float = Field(
        1.0,
        gt=0,
        description="ratio: multiplies the ratio (1000 for a rate per 1,000 worker-years of 12 months: 12000)",
    )
    host: str | None = Field(None, description="a host, or none for all hosts together")
    start: str | None = Field(None, description="first month (YYYY-MM); not used by level")
    end: str = Field(description="last month (YYYY-MM)")
    reported: float | None = None
    low: float | None = None
    high: float | None = None
    source: str = Field(min_length=1)
    note: str = ""

    @property
    def columns(self) -> list[str]:
        """Every column the measure reads."""
        out = []
        for c in (self.column, self.per):
            out += [] if c is None else [c] if isinstance(c, str) else list(c)
        return out

    @model_validator(mode="after")
    def _check(self):
        numeric = [c for c in HOST_COLUMNS if c not in ("month", "date", "host")]
        for key in ("column", "per"):
            for c in [getattr(self, key)] if isinstance(getattr(self, key), str) else getattr(self, key) or []:
                if c not in numeric:
                    raise ValueError(f"{key}: unknown column '{c}'{suggest(c, numeric)}")
        if (self.measure in ("ratio", "weighted_mean")) != (self.per is not None):
            raise ValueError("per: a ratio or weighted_mean measure needs per (and only they take it)")
        if self.measure == "weighted_mean" and not (isinstance(self.column, str) and isinstance(self.per, str)):
            raise ValueError("weighted_mean: one column and one weight column")
        if self.measure not in ("ratio", "weighted_mean") and not isinstance(self.column, str):
            raise ValueError(f"column: a {self.measure} measure reads one column")
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


class TargetsFile(Strict):
    description: str = ""
    scenario: str | None = Field(
        None, description="parameter file of the run the targets describe (relative to this file)"
    )
    output: str = Field(
        "calibrated.toml",
        min_length=1,
        description="where olsim calibrate writes the calibrated file (relative to this file)",
    )
    targets: dict[str, Target]
    parameters: dict[str, Prior] = Field(
        default_factory=dict, description="the uncertain parameters searched, with priors"
    )
    search: Search = Field(default_factory=Search)
    check: Check = Field(default_factory=Check)
    validation_scenario: str | None = Field(
        None, description="parameter file of the out-of-sample scenario (relative to this file)"
    )
    validation: dict[str, Fact] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _some(self):
        if not self.targets:
            raise ValueError("targets: at least one target is needed")
        if self.validation and self.validation_scenario is None:
            raise ValueError("validation_scenario: the validation facts need the scenario they describe")
        for p in self.parameters:
            for q in self.parameters:
                if p != q and "*" in p and matches(p, q):
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
        base = self.path.parent if self.path else shipped.folder("params")
        return base / name

    @property
    def scenario_path(self) -> Path | None:
        return self._rel(self.spec.scenario)

    @property
    def validation_path(self) -> Path | None:
        return self._rel(self.spec.validation_scenario)

    @property
    def output_path(self) -> Path:
        return cast(Path, self._rel(self.spec.output))  # output always has a name: a path

    @property
    def outcomes(self) -> list[str]:
        return list(dict.fromkeys(t.outcome for t in self.spec.targets.values()))


def load_targets(path: str | os.PathLike | None = None) -> Targets:
    """Read and validate a targets file (default params/targets.toml); `ExperimentError` lists the problems."""
    p = Path(path) if path is not None else DEFAULT_TARGETS
    text, raw = read_toml(p, "a targets file", ExperimentError)
    try:
        spec = TargetsFile.model_validate(raw)
    except ValidationError as e:
        raise ExperimentError([f"{p}: {line}" for line in format_validation_error(e, TargetsFile)]) from None
    targets = Targets(path=p, spec=spec, text=text)
    for key, where in (("scenario", targets.scenario_path), ("validation_scenario", targets.validation_path)):
        if where is not None and not where.is_file():
            raise ExperimentError(f"{p}: {key}: no such file {where}")
    return targets


def matches(pattern: str, key: str) -> bool:
    a, b = pattern.split("."), key.split(".")
    return len(a) == len(b) and all(x == "*" or x == y for x, y in zip(a, b))
