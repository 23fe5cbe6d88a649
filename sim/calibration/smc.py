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


@dataclass
class Population:
    """One generation: particles (rows of ``theta``, columns in the priors' order), weights summing to 1, each
    particle's distance, the tolerance they met, and how many candidates were simulated for them."""

    theta: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    epsilon: float
    simulated: int
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


def log_prior(priors: list[Marginal], theta: np.ndarray) -> np.ndarray:
    """Log prior density of each row (the marginals are independent); -inf outside the support."""
    theta = np.atleast_2d(theta)
    out = np.zeros(len(theta))
    for k, m in enumerate(priors):
        out += m.frozen().logpdf(theta[:, k])
    return out


def sample_prior(priors: list[Marginal], n: int, rng: np.random.Generator) -> np.ndarray:
    return np.column_stack([m.frozen().ppf(rng.random(n)) for m in priors])


def generator(seed: int, generation: int, batch: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(generation), int(batch)]))


def propose(pop: Population, priors: list[Marginal], n: int, rng: np.random.Generator, max_tries: int = 1000) -> np.ndarray:
    """``n`` candidates: resampled by weight, perturbed by N(0, 2 Σ), inside the prior's support."""
    cov = 2.0 * pop.covariance()
    cov = cov + np.eye(len(cov)) * 1e-12 * max(1.0, float(np.trace(cov)))  # never singular
    out = np.empty((0, pop.theta.shape[1]))
    for _ in range(max_tries):
        idx = rng.choice(len(pop.theta), size=n, p=pop.weights)
        cand = pop.theta[idx] + rng.multivariate_normal(np.zeros(len(cov)), cov, size=n, method="cholesky")
        cand = cand[np.isfinite(log_prior(priors, cand))]
        out = np.vstack([out, cand])
        if len(out) >= n:
            return out[:n]
    raise RuntimeError("ABC-SMC: the kernel keeps proposing outside the prior's support")


def new_weights(theta: np.ndarray, pop: Population, priors: list[Marginal]) -> np.ndarray:
    """w_i ∝ prior(θ_i) / Σ_j w_j N(θ_i; θ_j, 2 Σ), normalised (computed in logs)."""
    cov = 2.0 * pop.covariance()
    cov = cov + np.eye(len(cov)) * 1e-12 * max(1.0, float(np.trace(cov)))
    kernel = stats.multivariate_normal(np.zeros(len(cov)), cov, allow_singular=True)
    diffs = theta[:, None, :] - pop.theta[None, :, :]
    log_k = kernel.logpdf(diffs.reshape(-1, theta.shape[1])).reshape(len(theta), len(pop.theta))
    log_mix = np.log(pop.weights)[None, :] + log_k
    log_den = np.logaddexp.reduce(log_mix, axis=1)
    log_w = log_prior(priors, theta) - log_den
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
            pop = Population(theta[ok], np.full(ok.sum(), 1.0 / ok.sum()), d[ok], math.inf, len(theta))
        else:
            last = pops[-1]
            eps = float(np.quantile(last.distances, quantile))
            kept_theta, kept_d, simulated = [], [], 0
            for b in range(max_batches):
                cand = propose(last, priors, batch, generator(seed, t, b))
                d = np.asarray(simulate(cand, t, b), dtype=float)
                simulated += len(cand)
                ok = np.isfinite(d) & (d <= eps)
                kept_theta.append(cand[ok])
                kept_d.append(d[ok])
                if sum(len(x) for x in kept_d) >= particles:
                    break
            theta, d = np.vstack(kept_theta)[:particles], np.concatenate(kept_d)[:particles]
            if len(theta) < 2:
                raise RuntimeError(f"ABC-SMC generation {t}: fewer than 2 particles within tolerance {eps:.4g} "
                                   f"after {simulated} simulations")
            pop = Population(theta, new_weights(theta, last, priors), d, eps, simulated)
        pops.append(pop)
        if on_generation is not None:
            on_generation(t, pop)
    return pops
