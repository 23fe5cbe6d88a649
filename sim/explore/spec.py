"""The experiment file's schema (TOML, see ``experiments/``).

Vocabulary (exploratory modelling; docs/ODD.md section 8.5 maps it to the EMA Workbench):

- a **scenario** here is a named *policy package*: a parameter file, a list of
  sanctions and overrides (the EMA Workbench calls this a *policy*);
- an **uncertainty** is a parameter we do not know, given as a range or
  distribution; a **sample** is one point drawn from the uncertainties (the
  EMA Workbench calls this a *scenario*);
- a **replicate** is one seed; replicate k of every scenario and sample uses
  seed + k (common random numbers);
- an **outcome** is a figure of the outcome registry (`sim.results.outcomes`).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from ..common.validation import Strict, suggest
from ..core.distributions import KINDS, Distribution
from ..results.outcomes import DEFAULT_OUTCOMES, OUTCOMES  # noqa: F401 (DEFAULT_OUTCOMES: declared with the outcomes)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")


class Uncertainty(Distribution):
    """A parameter we do not know: a distribution (`sim.core.distributions`) or grid values; samples are drawn
    from it (EMA: a scenario's dimension)."""

    values: list[float | int | str | bool] | None = Field(None, description="the points of a grid (grid sampling only)")
    relative: bool = Field(False, description="the value multiplies the scenario's own value")

    missing_hint: ClassVar[str] = " (or give values = [...] for a grid)"

    def problems(self) -> list[str]:
        if self.values is not None:
            return [] if self.values else ["values: empty list"]
        return super().problems()


class Sampling(Strict):
    method: Literal["none", "grid", "lhs", "sobol", "morris", "posterior"] = Field(
        "none", description="how the uncertainties are sampled (posterior: draws of the experiment's posterior file)"
    )
    n: int = Field(
        0,
        ge=0,
        le=1_000_000,
        description="lhs: samples; sobol: base samples N (a power of 2; N(D+2) runs, N(2D+2) with second order); morris: trajectories; posterior: draws",
    )
    levels: int = Field(
        4, ge=2, le=1000, description="grid: points per uncertainty given by a range; morris: levels of the grid"
    )
    second_order: bool = Field(False, description="sobol: also second-order indices")
    seed: int = Field(0, ge=0, description="seed of the sample (not of the model)")


class Scenario(Strict):
    """A named policy package: what is run (EMA Workbench: a policy)."""

    name: str
    label: str = Field("", max_length=60, description="a short human name for figures and tables (default: the name)")
    description: str = ""
    params: str | None = Field(
        None, description="a parameter file replacing the base (relative to the experiment file)"
    )
    policies: list[dict[str, Any]] | None = Field(None, description="replaces the policies of the base")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="dotted keys, e.g. 'hosts.russia.workers' = 5000"
    )
    without: list[str] = Field(
        default_factory=list,
        description="uncertainties or posterior columns this scenario does "
        "not take (glob patterns, e.g. 'policies.*'): it keeps its own values of them",
    )


class Experiment(Strict):
    name: str = Field(description="names the results folder (results/experiments/NAME)")
    description: str = ""
    base: str | None = Field(
        None, description="base parameter file (relative to the experiment file); default: the built-in baseline"
    )
    engine: Literal["array", "mesa"] = "array"
    seed: int = Field(0, ge=0, le=2**62, description="replicate k runs with seed + k in every scenario and sample")
    seeds: Literal["shared", "per_sample"] = Field(
        "shared",
        description="shared: every sample's replicate k uses seed + k; per_sample: sample j's uses seed + j x "
        "replicates + k (fresh noise in every sample; scenarios still share seeds within a sample)",
    )
    replicates: int = Field(1, ge=1, le=100_000)
    months: int | None = Field(None, ge=1, le=2400, description="overrides calendar.months")
    scale: float = Field(
        1.0, gt=0, le=1, description="share of every host's workers to simulate (rates are per worker)"
    )
    overrides: dict[str, Any] = Field(default_factory=dict)
    outcomes: list[str] = Field(default_factory=lambda: list(DEFAULT_OUTCOMES))
    reference: str | None = Field(None, description="scenario the others are compared with (default: the first)")
    scenarios: list[Scenario] = Field(default_factory=lambda: [Scenario(name="base")])
    uncertainties: dict[str, Uncertainty] = Field(default_factory=dict)
    sampling: Sampling = Field(default_factory=Sampling)
    posterior: str | None = Field(
        None,
        description="a posterior CSV written by olsim calibrate (relative to the experiment "
        "file); with sampling.method = 'posterior', every scenario runs at sampling.n of its draws",
    )
    hosts: bool = Field(False, description="also keep each run's monthly table per host (hosts/RUN_ID.parquet)")

    @model_validator(mode="after")
    def _consistent(self):
        errors = []
        if not NAME_RE.fullmatch(self.name):
            errors.append(f"name: {self.name!r} must be letters, digits, _ and - (it names a folder)")
        if not self.scenarios:
            errors.append("scenarios: at least one is needed")
        names = [s.name for s in self.scenarios]
        for i, n in enumerate(names):
            if not NAME_RE.fullmatch(n):
                errors.append(f"scenarios[{i}].name: {n!r} must be letters, digits, _ and - (it is part of run ids)")
            elif names.index(n) != i:
                errors.append(f"scenarios[{i}].name: '{n}' is used twice")
        if self.reference is not None and self.reference not in names:
            errors.append(f"reference: no scenario named '{self.reference}' (scenarios: {', '.join(names)})")
        if not self.outcomes:
            errors.append("outcomes: at least one is needed")
        for o in self.outcomes:
            if o not in OUTCOMES:
                errors.append(
                    f"outcomes: unknown outcome '{o}'{suggest(o, OUTCOMES)} (outcomes: {', '.join(OUTCOMES)})"
                )
        if len(set(self.outcomes)) != len(self.outcomes):
            errors.append("outcomes: an outcome is listed twice")
        method, n = self.sampling.method, self.sampling.n
        if method == "posterior" or self.posterior is not None:
            if self.posterior is None:
                errors.append('posterior: sampling.method is posterior, so name the posterior file (posterior = "...")')
            elif method != "posterior":
                errors.append(
                    f"sampling.method: a posterior file is given, so the method is 'posterior' (got {method})"
                )
            if self.uncertainties:
                errors.append("uncertainties: an experiment samples either uncertainties or a posterior, not both")
            if n < 1:
                errors.append("sampling.n: the number of posterior draws (at least 1)")
        elif self.uncertainties and method == "none":
            errors.append("sampling.method: uncertainties are given, so choose grid, lhs, sobol or morris")
        if not self.uncertainties and method not in ("none", "posterior"):
            errors.append(f"uncertainties: sampling.method is {method}, but no uncertainty is given")
        for sc in self.scenarios:
            if sc.without and not self.uncertainties and self.posterior is None:
                errors.append(f"scenarios ({sc.name}).without: nothing is sampled (no uncertainties, no posterior)")
            for pattern in sc.without if self.uncertainties else []:
                if not any(fnmatch.fnmatchcase(k, pattern) for k in self.uncertainties):
                    errors.append(f"scenarios ({sc.name}).without: '{pattern}' matches no uncertainty")
        if method in ("lhs", "sobol", "morris") and n < 1:
            errors.append(f"sampling.n: {method} needs n >= 1")
        if method == "sobol" and n & (n - 1):
            errors.append(
                f"sampling.n: Sobol sampling needs a power of 2 (got {n}; try {1 << max(n - 1, 1).bit_length()})"
            )
        if method in ("sobol", "morris") and len(self.uncertainties) < 2:
            errors.append(f"uncertainties: {method} analysis needs at least 2 uncertain parameters")
        lowered = [n.lower() for n in names]
        for i, n in enumerate(lowered):
            if lowered.index(n) != i and names.index(names[i]) == i:
                errors.append(
                    f"scenarios[{i}].name: '{names[i]}' differs from '{names[lowered.index(n)]}' only in case "
                    f"(their files would collide on some systems)"
                )
        if method == "morris" and self.sampling.levels % 2:
            errors.append(f"sampling.levels: Morris needs an even number of levels (got {self.sampling.levels})")
        for key, u in self.uncertainties.items():
            if method == "morris" and not u.kind.bounded:
                bounded = ", ".join(k.name for k in KINDS.values() if k.bounded)
                errors.append(
                    f"uncertainties.{key}: Morris samples the ends of each range, so it needs a bounded "
                    f"distribution ({bounded}), not {u.distribution}"
                )
            if u.values is not None and len({float if type(v) is int else type(v) for v in u.values}) > 1:
                errors.append(
                    f"uncertainties.{key}.values: mixes types ({', '.join(sorted({type(v).__name__ for v in u.values}))}); give one kind"
                )
            if u.values is not None and method != "grid":
                errors.append(
                    f"uncertainties.{key}.values: a list of values is for grid sampling only (sampling.method = {method})"
                )
            if method == "grid" and u.values is None and u.distribution != "uniform":
                errors.append(
                    f"uncertainties.{key}: grid sampling takes a low-high range or values, not a {u.distribution} distribution"
                )
        if errors:
            raise ValueError("\n".join(errors))
        return self
