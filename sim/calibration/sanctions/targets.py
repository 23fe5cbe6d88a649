"""The sanctions era's targets: a fit set (2017-2020) and a held-out set, and the distance the fit uses.

`params/targets_sanctions.toml` lists, for the history scenario, the facts the calibration fits (``[fit.*]``,
each with a tolerance: how far off a run may be before it counts as one unit of distance) and the facts it
must never see (``[held_out.*]``), each measured from a run's per-host monthly table like for like
(`measures.measure`: permit holders against permit counts, postings by status against entries by purpose).
`distance` reads only the fit set: the held-out facts are for judging the fit afterwards.
"""

from __future__ import annotations

import hashlib
import math
import os
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator

from ...common import shipped
from ...common.errors import ExperimentError
from ...common.validation import Strict, format_validation_error, read_toml
from ..measures import RunTable
from ..targets import Fact, Prior

CUTOFF = 3.0  # implausibility above which a parameter set is ruled out (Pukelsheim's three-sigma rule): `adequacy`


class FitFact(Fact):
    """A fact the fit uses, with the tolerance that makes a miss of that size one unit of distance."""

    tolerance: float = Field(
        gt=0,
        description="a miss of tolerance x |reported| (levels, totals) or of tolerance "
        "(changes, shares) is one unit of distance",
    )
    bound: Literal["equal", "at_least"] = Field("equal", description="at_least: a floor (no distance above it)")
    unit: Literal["", "share", "usd"] = Field(
        "", description="how the report shows it (share: a percentage; usd: dollars)"
    )

    @model_validator(mode="after")
    def _reported(self):
        if self.reported is None and self.low is None:
            raise ValueError("reported: a fitted fact needs a reported value, or low and high (a range)")
        if self.reported is not None and self.low is not None:
            raise ValueError("low and high: a fitted fact is a reported value or a range, not both")
        if self.low is not None and (self.low <= 0 or self.bound != "equal"):
            raise ValueError("low: a fitted range needs low > 0 (its misses are relative to its ends) and no bound")
        if self.reported == 0 and self.measure not in ("change", "share"):
            raise ValueError("reported: 0 cannot scale a relative tolerance; fit a count of 0 as a share or change")
        return self

    @property
    def is_range(self) -> bool:
        return self.low is not None

    @property
    def centre(self) -> float:
        """The reported value, or a range's geometric centre (what figures compare with)."""
        if self.reported is not None:
            return float(self.reported)
        assert self.low is not None and self.high is not None  # no reported value: a range (Fact checks)
        return math.sqrt(self.low * self.high)


class Mechanism(Fact):
    """A range a mechanism must stay inside (``[mechanisms.*]``): checked over the posterior's draws in the report,
    and, with ``smc.constrain_mechanisms``, a constraint of the fit unless ``constrain = false`` (a window after the
    fit's, which a candidate's run, cut at the last month a fact reads, does not reach)."""

    constrain: bool = Field(
        True, description="with smc.constrain_mechanisms, rule out a candidate outside the range (false: checked only)"
    )


class SMCSettings(Strict):
    particles: int = Field(200, ge=10, le=100_000)
    generations: int = Field(6, ge=1, le=100, description="at most this many generations (the budget)")
    min_drop: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="stop (converged) once the tolerance falls by less than this share in a generation; 0: never",
    )
    min_acceptance: float = Field(
        0.0, ge=0, lt=1, description="stop once a generation keeps fewer than this share of its candidates; 0: never"
    )
    quantile: float = Field(0.5, gt=0, lt=1, description="next tolerance: this quantile of the population's distances")
    scale: float = Field(0.1, gt=0, le=1, description="share of every host's workers simulated")
    replicates: int = Field(
        1, ge=1, le=100, description="seeds per particle (common random numbers); distance of their mean"
    )
    seed: int = Field(0, ge=0, le=2**40)
    kernel: Literal["componentwise", "local", "optimal"] = Field(
        "componentwise",
        description="the perturbation kernel: componentwise (Beaumont et al. 2009: one sd per parameter, twice the "
        "population's variance), local (Filippi et al. 2013: each particle's own, from the particles within the "
        "next tolerance) or optimal (Filippi et al. 2013: one sd per parameter, from the particles within the next "
        "tolerance)",
    )
    defensive: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="with the local kernel: the share of candidates perturbed by the componentwise kernel instead "
        "(a defensive mixture, Hesterberg 1995: it bounds the weights, so the effective sample size holds up)",
    )
    constrain_mechanisms: bool = Field(
        False,
        description="rule out (an infinite distance) a candidate whose replicates' mean of any [mechanisms.*] lies "
        "outside its range: the prior restricted to the mechanisms' sourced ranges (issue 30)",
    )

    @model_validator(mode="after")
    def _defensive_with_local(self):
        if self.defensive > 0 and self.kernel != "local":
            raise ValueError(f'defensive = {self.defensive}: only with kernel = "local" (the kernel is {self.kernel})')
        return self


class CheckSettings(Strict):
    draws: int = Field(
        100, ge=5, le=10_000, description="posterior (and prior) draws in the predictive check, one run each"
    )
    scale_seeds: int = Field(
        3,
        ge=0,
        le=100,
        description="seeds of the scale check (the calibrated scenario at full and at the fit's scale); 0 skips it",
    )


class SanctionsTargetsFile(Strict):
    description: str = ""
    scenario: str = Field(description="the history scenario the facts describe (relative to this file)")
    output: str = Field(
        "history_calibrated.toml", description="the calibrated scenario olsim writes (relative to this file)"
    )
    posterior: str = Field(
        "posterior_sanctions.csv", description="the posterior's draws olsim writes (relative to this file)"
    )
    priors_from: str | None = Field(
        None, description="a targets file whose parameters are searched jointly (the no-sanctions priors)"
    )
    held_out_file: str | None = Field(
        None, description="a file of [held_out.*] facts, frozen: its SHA-256 must be held_out_sha256 (relative)"
    )
    held_out_sha256: str | None = Field(
        None, pattern="^[0-9a-f]{64}$", description="the held-out file's SHA-256 when it was frozen"
    )
    fit: dict[str, FitFact]
    held_out: dict[str, Fact] = Field(default_factory=dict)
    mechanisms: dict[str, Mechanism] = Field(
        default_factory=dict,
        description="ranges the posterior's mechanisms must stay inside: checked in the report, and constraints of "
        "the fit with smc.constrain_mechanisms (each unless its constrain = false)",
    )
    parameters: dict[str, Prior] = Field(default_factory=dict)
    smc: SMCSettings = Field(default_factory=SMCSettings)
    check: CheckSettings = Field(default_factory=CheckSettings)

    @model_validator(mode="after")
    def _disjoint(self):
        if (self.held_out_file is None) != (self.held_out_sha256 is None):
            raise ValueError("held_out_file and held_out_sha256: give both (a frozen file and its hash) or neither")
        both = sorted((set(self.fit) | set(self.mechanisms)) & set(self.held_out))
        if both:
            raise ValueError(f"held_out: {', '.join(both)} also in fit or mechanisms; a held-out fact is never fitted")
        ranged = [k for k, f in self.mechanisms.items() if f.low is None]
        if ranged:
            raise ValueError(f"mechanisms: {', '.join(ranged)} need low and high (a range to stay inside)")
        if not self.fit:
            raise ValueError("fit: at least one fact to fit")
        if self.smc.constrain_mechanisms and not any(m.constrain for m in self.mechanisms.values()):
            raise ValueError("smc.constrain_mechanisms: no [mechanisms.*] to constrain the fit with")
        return self


@dataclass
class SanctionsTargets:
    path: Path
    spec: SanctionsTargetsFile
    text: str = ""
    held_out_hash: str | None = None  # the frozen held-out file's SHA-256, checked on loading

    @property
    def scenario_path(self) -> Path:
        return self.path.parent / self.spec.scenario

    @property
    def output_path(self) -> Path:
        return self.path.parent / self.spec.output

    @property
    def posterior_path(self) -> Path:
        return self.path.parent / self.spec.posterior

    @cached_property
    def resolved_scenario(self) -> dict:
        """The fitted scenario's parameters, validated, at full scale (what the calibrated values apply to)."""
        from ...core.params import read_params_file
        from ...explore.plan import resolve_params

        return resolve_params(read_params_file(self.scenario_path), {}, 1.0, "scenario")


def _with_frozen_held_out(path: Path, raw: dict) -> tuple[dict, str]:
    """The targets with the frozen file's held-out facts, and the file's SHA-256, which must be the one recorded when
    it was frozen (one line naming both hashes otherwise: a held-out fact is not edited after a fit has seen it)."""
    frozen = path.parent / raw["held_out_file"]
    data = read_toml(frozen, "a held-out facts file", ExperimentError)[0].encode()
    digest = hashlib.sha256(data).hexdigest()
    want = raw.get("held_out_sha256")
    if want is not None and digest != want:
        raise ExperimentError(
            f"{frozen}: changed since it was frozen (SHA-256 {digest[:12]}..., recorded {str(want)[:12]}...); held-out "
            "facts are not edited after a fit: restore the file, or freeze a new one and say why (held_out_sha256)"
        )
    if raw.get("held_out"):
        raise ExperimentError(f"{path}: held_out: the facts are in {raw['held_out_file']}; remove the [held_out] here")
    facts = tomllib.loads(data.decode())
    extra = sorted(set(facts) - {"held_out"})
    if extra:
        raise ExperimentError(f"{frozen}: only [held_out.*] facts belong here, not {', '.join(extra)}")
    return {**raw, "held_out": facts.get("held_out", {})}, digest


def load_sanctions_targets(path: str | os.PathLike | None = None) -> SanctionsTargets:
    p = Path(path) if path is not None else shipped.folder("params") / "targets_sanctions.toml"
    text, raw = read_toml(p, "a targets file", ExperimentError)
    digest = None
    if isinstance(raw.get("held_out_file"), str):
        raw, digest = _with_frozen_held_out(p, raw)
    try:
        spec = SanctionsTargetsFile.model_validate(raw)
    except ValidationError as e:
        raise ExperimentError([f"{p}: {line}" for line in format_validation_error(e, SanctionsTargetsFile)]) from None
    t = SanctionsTargets(p, spec, text, digest)
    if not t.scenario_path.is_file():
        raise ExperimentError(f"{p}: scenario: no such file {t.scenario_path}")
    return t


def is_sanctions_targets(path) -> bool:
    """Whether a targets file is the sanctions era's (it has a [fit] table) rather than the no-sanctions one's."""
    try:
        _, raw = read_toml(Path(path), "a targets file", ExperimentError)
    except ExperimentError:
        return False
    return isinstance(raw.get("fit"), dict)


def tolerance_scale(fact: FitFact, value: float) -> float:
    """What one unit of distance is for a fact near ``value``: tolerance x |reported| (levels, totals),
    tolerance (changes, shares), tolerance x the range's near end (ranges)."""
    if fact.is_range:
        assert fact.low is not None and fact.high is not None  # a range has both ends (Fact checks)
        return fact.tolerance * (fact.low if value < fact.centre else fact.high)
    if fact.measure in ("change", "share"):
        return fact.tolerance
    assert fact.reported is not None  # not a range: a reported value (FitFact checks)
    return fact.tolerance * max(abs(float(fact.reported)), 1e-12)


def unit_miss(value: float, fact: FitFact) -> float:
    """A fit fact's miss in units of its tolerance (signed; 0 above a floor, 0 inside a range and outside it
    the miss relative to the near end)."""
    if fact.is_range:
        assert fact.low is not None and fact.high is not None  # a range has both ends (Fact checks)
        if value != value:
            return math.nan
        if value < fact.low:
            return (value - fact.low) / (fact.tolerance * fact.low)
        if value > fact.high:
            return (value - fact.high) / (fact.tolerance * fact.high)
        return 0.0
    assert fact.reported is not None  # not a range: a reported value (FitFact checks)
    r = float(fact.reported)
    scale = fact.tolerance if fact.measure in ("change", "share") else fact.tolerance * max(abs(r), 1e-12)
    miss = (value - r) / scale
    return min(miss, 0.0) if fact.bound == "at_least" else miss


def fit_misses(hosts, spec: SanctionsTargetsFile, scale: float = 1.0) -> dict[str, float]:
    """Each fit fact's miss in tolerance units, from one run's per-host monthly table (held-out facts unread)."""
    table = RunTable(hosts)
    return {k: unit_miss(table.measure(f, scale), f) for k, f in spec.fit.items()}


def outside_range(value: float, fact: Fact) -> bool:
    """Whether a measured value lies outside a range fact's ends (a NaN is outside: nothing was measured)."""
    assert fact.low is not None and fact.high is not None  # a mechanism is a range (the targets file checks)
    return not fact.low <= value <= fact.high


def mechanism_means(tables: list[RunTable], mechanisms: dict[str, Fact], scale: float) -> dict[str, float]:
    """Each mechanism as a constrained fit judges a candidate: its measure's mean over the candidate's replicate runs
    (``tables``; NaN for none)."""
    return {
        k: float(np.mean([t.measure(f, scale) for t in tables])) if tables else math.nan for k, f in mechanisms.items()
    }


def all_inside(values: dict[str, float], mechanisms: dict[str, Fact]) -> bool:
    """Whether every mechanism's value is inside its range (`outside_range`)."""
    return not any(outside_range(v, mechanisms[k]) for k, v in values.items())


def constrained(spec: SanctionsTargetsFile) -> dict[str, Fact]:
    """The mechanisms a candidate must keep inside their ranges to be kept at all (none unless
    ``smc.constrain_mechanisms``; never one with ``constrain = false``)."""
    return {k: m for k, m in spec.mechanisms.items() if m.constrain} if spec.smc.constrain_mechanisms else {}


def distance(misses: dict[str, float] | list[dict[str, float]]) -> float:
    """Root mean square of the misses (of their mean over replicates, if a list); NaN if any is not finite."""
    rows = misses if isinstance(misses, list) else [misses]
    keys = list(rows[0])
    mean = np.array([np.mean([r[k] for r in rows]) for k in keys])
    return float(math.sqrt(np.mean(mean**2))) if np.all(np.isfinite(mean)) else math.nan
