"""The distributions of what we do not know, declared once: an experiment's uncertainties
(`sim.explore.spec.Uncertainty`), a calibration's priors (`sim.calibration.targets.Prior`) and the ABC-SMC
marginals (`sim.calibration.smc.Marginal`) are all a `Distribution`.

A kind (`Kind`) names its parameters and says, once, how it is a scipy distribution (so its quantiles, density
and draws by inverse CDF), what SALib calls it, whether its support is bounded by ``low``-``high``, whether it
lives on a log scale, and how a report writes it. The TOML table ``{distribution = "lognormal", median = 500,
sigma = 0.5}`` is the same in an experiment file and a targets file.

scipy.stats costs about a second to import, so it is imported when a distribution is first evaluated, not
with this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Literal, Protocol, cast

from pydantic import Field, model_validator

from ..common.validation import Strict


class _Set(Protocol):
    """A `Distribution` whose kind's parameters are set: a kind's functions read only its own (`needs`), which
    the model's check has found set, so each is a float there."""

    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def mode(self) -> float: ...
    @property
    def mean(self) -> float: ...
    @property
    def sd(self) -> float: ...
    @property
    def median(self) -> float: ...
    @property
    def sigma(self) -> float: ...


@dataclass(frozen=True)
class Kind:
    """A family of distributions: its name in files, its parameters, and what it is."""

    name: str
    needs: tuple[str, ...]  # its parameters, all required
    scipy: Callable[[Any, _Set], Any]  # (scipy.stats, d) -> the frozen scipy distribution
    salib: Callable[[_Set], tuple[str, list[float]]]  # SALib's name and bounds (its inverse CDF)
    text: Callable[[_Set], str]  # how a report writes it
    bounded: bool = False  # its support is [low, high] (Morris, the SMC kernel's truncation)
    log: bool = False  # positive and spread on a log scale (the SMC kernel moves it in its log, spreads judged in logs)


_KINDS = [
    Kind(
        "uniform",
        ("low", "high"),
        bounded=True,
        scipy=lambda st, d: st.uniform(d.low, d.high - d.low),
        salib=lambda d: ("unif", [d.low, d.high]),
        text=lambda d: f"uniform {d.low:g}-{d.high:g}",
    ),
    Kind(
        "triangular",
        ("low", "high", "mode"),
        bounded=True,
        scipy=lambda st, d: st.triang((d.mode - d.low) / (d.high - d.low), d.low, d.high - d.low),
        salib=lambda d: ("triang", [d.low, d.high, (d.mode - d.low) / (d.high - d.low)]),
        text=lambda d: f"triangular {d.low:g}-{d.high:g}, mode {d.mode:g}",
    ),
    Kind(
        "normal",
        ("mean", "sd"),
        scipy=lambda st, d: st.norm(d.mean, d.sd),
        salib=lambda d: ("norm", [d.mean, d.sd]),
        text=lambda d: f"normal {d.mean:g} +/- {d.sd:g}",
    ),
    Kind(
        "truncnormal",
        ("low", "high", "mean", "sd"),
        bounded=True,
        scipy=lambda st, d: st.truncnorm((d.low - d.mean) / d.sd, (d.high - d.mean) / d.sd, d.mean, d.sd),
        salib=lambda d: ("truncnorm", [d.low, d.high, d.mean, d.sd]),
        text=lambda d: f"normal {d.mean:g} +/- {d.sd:g} in {d.low:g}-{d.high:g}",
    ),
    Kind(
        "lognormal",
        ("median", "sigma"),
        log=True,
        scipy=lambda st, d: st.lognorm(d.sigma, scale=d.median),
        salib=lambda d: ("lognorm", [math.log(d.median), d.sigma]),
        text=lambda d: f"lognormal, median {d.median:g}, sigma {d.sigma:g}",
    ),
]
KINDS: dict[str, Kind] = {k.name: k for k in _KINDS}
KIND_NAMES = tuple(KINDS)
POSITIVE = ("sd", "sigma", "median")  # parameters that must be above 0


class Distribution(Strict):
    """One distribution, as a file gives it: ``distribution`` names its kind, the kind's parameters are set and
    no others. Each problem is one line naming the parameter."""

    distribution: Literal[KIND_NAMES] = Field(  # type: ignore[valid-type]  # the kinds' names, read by pydantic
        "uniform", description=f"the kind: {', '.join(KIND_NAMES)}"
    )
    low: float | None = Field(None, description="lowest value (uniform, triangular, truncnormal)")
    high: float | None = Field(None, description="highest value (uniform, triangular, truncnormal)")
    mode: float | None = Field(None, description="most likely value (triangular)")
    mean: float | None = Field(None, description="mean of the normal (normal, truncnormal: before truncation)")
    sd: float | None = Field(None, description="standard deviation of the normal (normal, truncnormal)")
    median: float | None = Field(None, description="median (lognormal)")
    sigma: float | None = Field(None, description="standard deviation of the log (lognormal)")

    # what a subclass adds to "needs ..." (an uncertainty may instead give grid values)
    missing_hint: ClassVar[str] = ""

    @classmethod
    def parameters(cls) -> tuple[str, ...]:
        """Every kind's parameter names, in declaration order."""
        return tuple(k for k in Distribution.model_fields if k != "distribution")

    @property
    def kind(self) -> Kind:
        return KINDS[self.distribution]

    def problems(self) -> list[str]:
        """What is wrong with it, one line each (empty: it is a distribution)."""
        d, needs = self.distribution, self.kind.needs
        missing = [k for k in needs if getattr(self, k) is None]
        if missing:
            return [f"a {d} distribution needs {', '.join(missing)}{self.missing_hint}"]
        extra = [k for k in self.parameters() if getattr(self, k) is not None and k not in needs]
        if extra:
            return [f"{', '.join(extra)}: not used by a {d} distribution (it takes {', '.join(needs)})"]
        if self.low is not None and self.high is not None and not self.low < self.high:
            return [f"low ({self.low}) must be below high ({self.high})"]
        if self.mode is not None:
            assert self.low is not None and self.high is not None  # a mode is triangular's, which needs both (above)
            if not self.low <= self.mode <= self.high:
                return [f"mode ({self.mode}) must lie between low and high"]
        return [f"{k} must be above 0" for k in POSITIVE if getattr(self, k) is not None and getattr(self, k) <= 0][:1]

    @model_validator(mode="after")
    def _valid(self):
        problems = self.problems()
        if problems:
            raise ValueError(problems[0])
        return self

    def frozen(self):
        """The frozen scipy.stats distribution (ppf, cdf, logpdf, rvs)."""
        from scipy import stats  # about a second: only when a distribution is evaluated

        return self.kind.scipy(stats, self._set())

    def ppf(self, q):
        return self.frozen().ppf(q)

    def cdf(self, x):
        return self.frozen().cdf(x)

    def logpdf(self, x):
        return self.frozen().logpdf(x)

    def bounds(self) -> tuple[float, float] | None:
        """(low, high) of a bounded kind, None for one with unbounded support."""
        return (float(self._set().low), float(self._set().high)) if self.kind.bounded else None

    def salib(self) -> tuple[str, list[float]]:
        """SALib's distribution name and bounds: SALib draws through the same inverse CDF."""
        return self.kind.salib(self._set())

    def describe(self) -> str:
        return self.kind.text(self._set())

    def _set(self) -> _Set:
        """Itself, as a distribution whose kind's parameters are set (the model's check, `problems`, has seen
        to that)."""
        return cast(_Set, self)
