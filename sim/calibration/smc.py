"""ABC-SMC: approximate Bayesian computation by sequential Monte Carlo (Toni et al. 2009; Beaumont et al. 2009).

A population of parameter sets ("particles") is moved from the prior toward the posterior through
generations of shrinking tolerance. Generation 0 draws from the prior and keeps every particle. Each later
generation proposes candidates by resampling the last population by weight and perturbing them with a
Gaussian kernel of twice its weighted covariance (Beaumont et al.'s optimal scale for a normal kernel),
discards those outside the prior's support, simulates them, and keeps those whose distance to the data is
below the tolerance, which is a quantile (``quantile``) of the last population's distances. A kept
particle's weight is its prior density over the mixture of kernels it could have come from:

    w_i  ∝  prior(θ_i) / Σ_j w_j N(θ_i; θ_j, Σ)

Candidates are proposed and simulated in batches (so a batch is one experiment on the local pool or a
cluster, resumable), each from its own generator seeded by (seed, generation, batch): the same seed gives
the same posterior in any process count or executor.

This module is the algorithm only: ``simulate(table) -> distances`` is given by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Marginal:
    """A parameter's prior: uniform, triangular, normal, truncnormal or lognormal (the experiment files' kinds)."""

    name: str
    distribution: str = "uniform"
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    sigma: float | None = None

    def frozen(self):
        d = self.distribution
        if d == "uniform":
            return stats.uniform(self.low, self.high - self.low)
        if d == "triangular":
            return stats.triang((self.mode - self.low) / (self.high - self.low), self.low, self.high - self.low)
        if d == "normal":
            return stats.norm(self.mean, self.sd)
        if d == "truncnormal":
            return stats.truncnorm((self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd, self.mean, self.sd)
        if d == "lognormal":
            return stats.lognorm(self.sigma, scale=self.median)
        raise ValueError(f"{self.name}: unknown distribution {d!r}")

    # The kernel moves particles in an unbounded space, so it never proposes outside the prior's support
    # (with many bounded parameters nearly every proposal would leave the box): a bounded prior through
    # the logit of its position in [low, high], a lognormal through log, a normal as it is.
    def bounds(self) -> tuple[float, float] | None:
        if self.distribution in ("uniform", "triangular", "truncnormal"):
            return float(self.low), float(self.high)
        return None

    def to_z(self, x):
        x = np.asarray(x, dtype=float)
        b = self.bounds()
        if b is not None:
            u = np.clip((x - b[0]) / (b[1] - b[0]), 1e-15, 1 - 1e-15)
            return np.log(u) - np.log1p(-u)
        return np.log(x) if self.distribution == "lognormal" else x

    def from_z(self, z):
        z = np.asarray(z, dtype=float)
        b = self.bounds()
        if b is not None:
            return b[0] + (b[1] - b[0]) * (0.5 * (1.0 + np.tanh(0.5 * z)))  # a sigmoid that does not overflow
        return np.exp(z) if self.distribution == "lognormal" else z

    def logpdf_z(self, z):
        """The prior's log density in the unbounded space (the density of x, times |dx/dz|)."""
        z = np.asarray(z, dtype=float)
        x = self.from_z(z)
        b = self.bounds()
        if b is not None:
            jac = np.log(b[1] - b[0]) - np.logaddexp(0.0, z) - np.logaddexp(0.0, -z)
        elif self.distribution == "lognormal":
            jac = z
        else:
            jac = 0.0
        return self.frozen().logpdf(x) + jac


@dataclass
class Population:
    """One generation: particles (rows of ``theta``, columns in the priors' order), weights summing to 1, each
    particle's distance, the tolerance they met, and how many candidates were simulated for them. ``z`` holds
    the particles in the kernel's unbounded space (`Marginal.to_z`); ``theta = from_z(z)``."""

    theta: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    epsilon: float
    simulated: int
    z: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def acceptance(self) -> float:
        return len(self.theta) / self.simulated if self.simulated else math.nan

    def ess(self) -> float:
        """Effective sample size of the weights (Kish)."""
        return float(1.0 / np.sum(self.weights ** 2))

    # sums without BLAS (einsum, not dot): the same bits whatever the thread count or the arrays' layout, so a
    # resumed calibration continues exactly as an uninterrupted one
    def mean(self) -> np.ndarray:
        return np.einsum("i,ij->j", self.weights, self.theta)

    def covariance(self) -> np.ndarray:
        c = self.theta - self.mean()
        return np.einsum("i,ij,ik->jk", self.weights, c, c)

    def z_covariance(self) -> np.ndarray:
        zm = np.einsum("i,ij->j", self.weights, self.z)
        c = self.z - zm
        return np.einsum("i,ij,ik->jk", self.weights, c, c)


def log_prior(priors: list[Marginal], theta: np.ndarray) -> np.ndarray:
    """Log prior density of each row (the marginals are independent); -inf outside the support."""
    theta = np.atleast_2d(theta)
    out = np.zeros(len(theta))
    for k, m in enumerate(priors):
        out += m.frozen().logpdf(theta[:, k])
    return out


def log_prior_z(priors: list[Marginal], z: np.ndarray) -> np.ndarray:
    z = np.atleast_2d(z)
    out = np.zeros(len(z))
    for k, m in enumerate(priors):
        out += m.logpdf_z(z[:, k])
    return out


def to_z(priors: list[Marginal], theta: np.ndarray) -> np.ndarray:
    return np.column_stack([m.to_z(theta[:, k]) for k, m in enumerate(priors)])


def from_z(priors: list[Marginal], z: np.ndarray) -> np.ndarray:
    return np.column_stack([m.from_z(z[:, k]) for k, m in enumerate(priors)])


def sample_prior(priors: list[Marginal], n: int, rng: np.random.Generator) -> np.ndarray:
    return np.column_stack([m.frozen().ppf(rng.random(n)) for m in priors])


def generator(seed: int, generation: int, batch: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(generation), int(batch)]))


def _kernel_cov(pop: Population) -> np.ndarray:
    """2 Σ_z, with a ridge of 1% of each variance (and a floor) so that it is never singular, even with fewer
    particles than parameters."""
    cov = 2.0 * pop.z_covariance()
    diag = np.diag(cov).copy()
    return cov + np.diag(0.01 * diag + 1e-9 * max(1.0, float(diag.mean())))


def propose(pop: Population, priors: list[Marginal], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` candidates in the kernel's space: resampled by weight, perturbed by N(0, 2 Σ_z)."""
    cov = _kernel_cov(pop)
    idx = rng.choice(len(pop.z), size=n, p=pop.weights)
    return pop.z[idx] + rng.multivariate_normal(np.zeros(len(cov)), cov, size=n, method="cholesky")


def new_weights(z: np.ndarray, pop: Population, priors: list[Marginal]) -> np.ndarray:
    """w_i ∝ prior_z(z_i) / Σ_j w_j N(z_i; z_j, 2 Σ_z), normalised (computed in logs)."""
    cov = _kernel_cov(pop)
    kernel = stats.multivariate_normal(np.zeros(len(cov)), cov, allow_singular=True)
    diffs = z[:, None, :] - pop.z[None, :, :]
    log_k = kernel.logpdf(diffs.reshape(-1, z.shape[1])).reshape(len(z), len(pop.z))
    log_den = np.logaddexp.reduce(np.log(pop.weights)[None, :] + log_k, axis=1)
    log_w = log_prior_z(priors, z) - log_den
    log_w -= log_w.max()
    w = np.exp(log_w)
    return w / w.sum()


def abc_smc(simulate: Callable[[np.ndarray, int, int], np.ndarray], priors: list[Marginal], particles: int,
            generations: int, quantile: float = 0.5, seed: int = 0, batch: int | None = None,
            max_batches: int = 50, start: list[Population] | None = None,
            on_generation: Callable[[int, Population], None] | None = None) -> list[Population]:
    """Run the generations; ``simulate(theta, generation, batch)`` returns each row's distance (NaN: failed).

    ``start``: populations already done (a resumed calibration): the next generations continue from the last.
    Returns every generation's population.
    """
    if particles < 2 or generations < 1 or not 0 < quantile < 1:
        raise ValueError("ABC-SMC needs at least 2 particles, 1 generation and a quantile in (0, 1)")
    batch = batch or particles
    pops = list(start or [])
    for t in range(len(pops), generations):
        if t == 0:
            theta = sample_prior(priors, particles, generator(seed, 0, 0))
            d = np.asarray(simulate(theta, 0, 0), dtype=float)
            ok = np.isfinite(d)
            z = to_z(priors, theta[ok])
            pop = Population(theta[ok], np.full(ok.sum(), 1.0 / ok.sum()), d[ok], math.inf, len(theta), z=z)
        else:
            last = pops[-1]
            eps = float(np.quantile(last.distances, quantile))
            kept_theta, kept_d, simulated = [], [], 0
            for b in range(max_batches):
                cand = propose(last, priors, batch, generator(seed, t, b))
                d = np.asarray(simulate(from_z(priors, cand), t, b), dtype=float)
                simulated += len(cand)
                ok = np.isfinite(d) & (d <= eps)
                kept_theta.append(cand[ok])
                kept_d.append(d[ok])
                if sum(len(x) for x in kept_d) >= particles:
                    break
            z, d = np.vstack(kept_theta)[:particles], np.concatenate(kept_d)[:particles]
            if len(z) < 2:
                raise RuntimeError(f"ABC-SMC generation {t}: fewer than 2 particles within tolerance {eps:.4g} "
                                   f"after {simulated} simulations")
            pop = Population(from_z(priors, z), new_weights(z, last, priors), d, eps, simulated, z=z)
        pops.append(pop)
        if on_generation is not None:
            on_generation(t, pop)
    return pops
