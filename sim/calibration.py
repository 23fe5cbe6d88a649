"""Calibration targets: the patterns a run should reproduce, read from params/targets.toml.

`load_targets` validates the file (one line per problem, like parameter and
experiment files); `evaluate` says where a run's outcomes fall against each
range, with a distance that is 0 inside the range and grows with the
relative miss outside it (what a calibration search minimises).
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .experiment import OUTCOMES, ExperimentError, _format
from .params import _suggest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGETS = ROOT / "params" / "targets.toml"


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


class TargetsFile(_Strict):
    description: str = ""
    scenario: str | None = Field(None, description="parameter file of the run the targets describe (relative to this file)")
    targets: dict[str, Target]

    @model_validator(mode="after")
    def _some(self):
        if not self.targets:
            raise ValueError("targets: at least one target is needed")
        return self


@dataclass
class Targets:
    path: Path | None
    spec: TargetsFile

    @property
    def scenario_path(self) -> Path | None:
        if self.spec.scenario is None:
            return None
        base = self.path.parent if self.path else ROOT / "params"
        return base / self.spec.scenario


def load_targets(path: str | os.PathLike | None = None) -> Targets:
    """Read and validate a targets file (default params/targets.toml); `ExperimentError` lists the problems."""
    p = Path(path) if path is not None else DEFAULT_TARGETS
    if not p.is_file():
        raise ExperimentError(f"{p}: no such file" if not p.exists() else f"{p}: is a folder, not a targets file")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ExperimentError(f"{p}: malformed TOML: {e}") from None
    try:
        spec = TargetsFile.model_validate(raw)
    except ValidationError as e:
        raise ExperimentError([f"{p}: {line}" for line in _format(e, {1: list(TargetsFile.model_fields), 3: list(Target.model_fields)})]) from None
    targets = Targets(path=p, spec=spec)
    if targets.scenario_path is not None and not targets.scenario_path.is_file():
        raise ExperimentError(f"{p}: scenario: no such file {targets.scenario_path}")
    return targets


def miss(value: float, low: float, high: float) -> float:
    """0 inside [low, high]; outside, the miss relative to the range's near end (inf if the value is undefined)."""
    if value != value:
        return math.inf
    if value < low:
        return (low - value) / abs(low) if low else low - value
    if value > high:
        return (value - high) / abs(high) if high else value - high
    return 0.0


def evaluate(outcomes: dict[str, float], targets: Targets) -> list[dict]:
    """One row per target: its range, the run's value, whether it is inside, and the miss."""
    rows = []
    for name, t in targets.spec.targets.items():
        value = float(outcomes[t.outcome])
        rows.append({"target": name, "outcome": t.outcome, "low": t.low, "high": t.high, "value": value,
                     "inside": bool(t.low <= value <= t.high), "miss": miss(value, t.low, t.high), "source": t.source})
    return rows
