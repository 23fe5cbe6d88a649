"""ABC-SMC: approximate Bayesian computation by sequential Monte Carlo (Toni et al. 2009; Beaumont et al. 2009).

A population of parameter sets ("particles") is moved from the prior toward the posterior through
generations of shrinking tolerance. Generation 0 draws from the prior and keeps every particle. Each later
generation proposes candidates by resampling the last population by weight and perturbing each parameter
with a normal kernel of twice its weighted variance (Beaumont et al. 2009's componentwise kernel), truncated
to a bounded prior's range (so no candidate falls outside it; a lognormal parameter moves in its log),
simulates them, and keeps those whose distance to the data is below the tolerance, which is a quantile
(``quantile``) of the last population's distances. A kept particle's weight is its prior density over the
mixture of kernels it could have come from:

    w_i  ∝  prior(θ_i) / Σ_j w_j Π_k K_k(θ_ik; θ_jk)

(A full-covariance kernel in an unbounded, logit space was tried first: with 23 parameters its weights
collapsed, an effective sample size of 17 in 2,000 proposals against 947 for this kernel.)

Candidates are proposed and simulated in batches (the caller runs a batch on the local pool or a cluster,
resumably: `sim.calibration.sanctions.fit.Simulator`), each from its own generator seeded by (seed, generation, batch): the same seed gives
the same posterior in any process count or executor.

This module is the algorithm only: ``simulate(table) -> distances`` is given by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import stats

from ..core.distributions import Distribution


@dataclass(frozen=True)
class Marginal:
    """A parameter's prior: its name and its distribution (any kind of `sim.core.distributions`; a targets
    file's `Prior` is one), with the kernel's coordinates for it."""

    name: str
    dist: Distribution

    def frozen(self):
        return self.dist.frozen()

    # The kernel works per parameter in "u" space: a bounded parameter as it is, with a normal kernel truncated
    # to its bounds (so every candidate is inside the prior's support, and the truncation is in the weights); a
    # parameter on a log scale (lognormal) through its log, with a plain normal kernel.
    def bounds(self) -> tuple[float, float] | None:
        return self.dist.bounds()

    def to_u(self, x):
        x = np.asarray(x, dtype=float)
        return np.log(x) if self.dist.kind.log else x

    def from_u(self, u):
        u = np.asarray(u, dtype=float)
        return np.exp(u) if self.dist.kind.log else u

    def logpdf_u(self, u):
        """The prior's log density in u (the density of x, times |dx/du|)."""
        u = np.asarray(u, dtype=float)
        jac = u if self.dist.kind.log else 0.0
        return self.frozen().logpdf(self.from_u(u)) + jac

    def kernel_sample(self, mu, sd, rng):
        b = self.bounds()
        if b is None:
            return mu + sd * rng.standard_normal(len(mu))
        return stats.truncnorm.rvs((b[0] - mu) / sd, (b[1] - mu) / sd, loc=mu, scale=sd, random_state=rng)

    def kernel_logpdf(self, u, mu, sd):
        b = self.bounds()
        if b is None:
            return stats.norm.logpdf(u, mu, sd)
        return stats.truncnorm.logpdf(u, (b[0] - mu) / sd, (b[1] - mu) / sd, loc=mu, scale=sd)


@dataclass
class Population:
    """One generation: particles (rows of ``theta``, columns in the priors' order), weights summing to 1, each
    particle's distance, the tolerance they met, and how many candidates were simulated for them. ``u`` holds
    the particles in the kernel's coordinates (`Marginal.to_u`)."""

    theta: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    epsilon: float
    simulated: int
    u: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def acceptance(self) -> float:
        return len(self.theta) / self.simulated if self.simulated else math.nan

    def ess(self) -> float:
        """Effective sample size of the weights (Kish)."""
        return float(1.0 / np.sum(self.weights**2))

    # sums without BLAS (einsum, not dot): the same bits whatever the thread count or the arrays' layout, so a
    # resumed calibration continues exactly as an uninterrupted one
    def mean(self) -> np.ndarray:
        return np.einsum("i,ij->j", self.weights, self.theta)

    def covariance(self) -> np.ndarray:
        c = self.theta - self.mean()
        return np.einsum("i,ij,ik->jk", self.weights, c, c)

    def kernel_sd(self) -> np.ndarray:
        """Per parameter, sqrt(2 x the weighted variance in u): Beaumont et al.'s componentwise normal kernel."""
        assert self.u is not None  # every population the SMC makes or reads back has its u
        mu = np.einsum("i,ij->j", self.weights, self.u)
        var = np.einsum("i,ij->j", self.weights, (self.u - mu) ** 2)
        sd = np.sqrt(2.0 * var)
        return np.maximum(sd, 1e-9 * np.maximum(np.abs(mu), 1.0))


def log_prior(priors: list[Marginal], theta: np.ndarray) -> np.ndarray:
    """Log prior density of each row (the marginals are independent); -inf outside the support."""
    theta = np.atleast_2d(theta)
    out = np.zeros(len(theta))
    for k, m in enumerate(priors):
        out += m.frozen().logpdf(theta[:, k])
    return out


def log_prior_u(priors: list[Marginal], u: np.ndarray) -> np.ndarray:
    u = np.atleast_2d(u)
    out = np.zeros(len(u))
    for k, m in enumerate(priors):
        out += m.logpdf_u(u[:, k])
    return out


def to_u(priors: list[Marginal], theta: np.ndarray) -> np.ndarray:
    return np.column_stack([m.to_u(theta[:, k]) for k, m in enumerate(priors)])


def from_u(priors: list[Marginal], u: np.ndarray) -> np.ndarray:
    return np.column_stack([m.from_u(u[:, k]) for k, m in enumerate(priors)])


def sample_prior(priors: list[Marginal], n: int, rng: np.random.Generator) -> np.ndarray:
    return np.column_stack([m.frozen().ppf(rng.random(n)) for m in priors])


def generator(seed: int, generation: int, batch: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(generation), int(batch)]))


def local_sd(pop: Population, epsilon: float) -> np.ndarray:
    """Per particle and parameter, the componentwise "optimal local" kernel's sd (Filippi et al. 2013, 4.2, its
    diagonal): particle i's sd for parameter k is sqrt(Σ_j w'_j (u_jk - u_ik)^2) over the particles j of ``pop``
    already within the next tolerance ``epsilon``, weights w' renormalised over them. Where the posterior is
    narrower than the last population, each particle moves by about the spread of the part of it that is kept,
    not by twice the whole population's variance, so fewer proposals land where they will be rejected. If fewer
    than two particles are within ``epsilon``, every particle is used."""
    assert pop.u is not None  # every population the SMC makes or reads back has its u
    keep = pop.distances <= epsilon
    if keep.sum() < 2:
        keep = np.ones(len(pop.u), dtype=bool)
    w = pop.weights[keep] / pop.weights[keep].sum()
    diff = pop.u[keep][None, :, :] - pop.u[:, None, :]  # (particle i, kept j, parameter)
    sd = np.sqrt(np.einsum("j,ijk->ik", w, diff**2))
    floor = 1e-9 * np.maximum(np.abs(pop.u), 1.0)
    return np.maximum(sd, floor)


def optimal_sd(pop: Population, epsilon: float) -> np.ndarray:
    """The componentwise "optimal" kernel's sd (Filippi et al. 2013, 4.1, its diagonal): one sd per parameter,
    sqrt(Σ_i w_i Σ_j w'_j (u_jk - u_ik)^2), the weighted mean over the particles i of `local_sd`'s squares: how far
    a particle of the last population lies from those kept by the next tolerance: the population's variance plus the
    kept particles' and the square of their means' gap, so narrower than Beaumont's twice the variance when the kept
    part is tighter than the whole (equal to it when every particle is kept), and the same for every
    particle, so the weights do not vary with each particle's own spread as the local kernel's do (with 27
    parameters, a product of 27 ratios of sds: session 27's recoveries saw the local kernel's effective sample
    size fall to 3-14 of 100). Returned per particle (identical rows), as `local_sd` is."""
    local = local_sd(pop, epsilon)
    shared = np.sqrt(np.einsum("i,ik->k", pop.weights, local**2))
    return np.repeat(shared[None, :], len(local), axis=0)


def propose(
    pop: Population,
    priors: list[Marginal],
    n: int,
    rng: np.random.Generator,
    sd: np.ndarray | None = None,
    defensive: float = 0.0,
) -> np.ndarray:
    """``n`` candidates in u: resampled by weight, perturbed parameter by parameter (truncated to the bounds).
    ``sd``: each particle's own kernel sd per parameter (`local_sd`); None: Beaumont's, one per parameter.
    ``defensive`` (with ``sd``): the share of candidates perturbed by Beaumont's kernel instead of the local one (a
    defensive mixture, Hesterberg 1995: the weights `new_weights` gives are then bounded, since no candidate's
    proposal density falls below that share of the wide kernel's)."""
    assert pop.u is not None  # every population the SMC makes or reads back has its u
    idx = rng.choice(len(pop.u), size=n, p=pop.weights)
    if sd is None:
        sd = pop.kernel_sd()
        return np.column_stack([m.kernel_sample(pop.u[idx, k], sd[k], rng) for k, m in enumerate(priors)])
    scale = sd[idx]
    if defensive > 0:  # these candidates move by Beaumont's sd instead (no draw at all without the mixture)
        scale = np.where((rng.random(n) < defensive)[:, None], pop.kernel_sd()[None, :], scale)
    return np.column_stack([m.kernel_sample(pop.u[idx, k], scale[:, k], rng) for k, m in enumerate(priors)])


def new_weights(
    u: np.ndarray, pop: Population, priors: list[Marginal], sd: np.ndarray | None = None, defensive: float = 0.0
) -> np.ndarray:
    """w_i ∝ prior(u_i) / Σ_j w_j Π_k K_k(u_ik; u_jk), normalised (computed in logs); ``sd`` and ``defensive`` as in
    `propose` (the denominator is then the mixture's density: (1 - defensive) of the local kernels' and
    ``defensive`` of Beaumont's)."""
    assert pop.u is not None  # every population the SMC makes or reads back has its u
    last = pop.u
    shared = pop.kernel_sd()  # Beaumont's: one sd per parameter (computed once, not per parameter)

    def log_density(per_particle: np.ndarray | None) -> np.ndarray:
        log_k = np.zeros((len(u), len(last)))
        for k, m in enumerate(priors):
            scale = shared[k] if per_particle is None else per_particle[:, k][None, :]
            log_k += m.kernel_logpdf(u[:, k][:, None], last[:, k][None, :], scale)
        return np.logaddexp.reduce(np.log(pop.weights)[None, :] + log_k, axis=1)

    log_den = log_density(sd)
    if sd is not None and defensive > 0:
        log_den = np.logaddexp(np.log1p(-defensive) + log_den, np.log(defensive) + log_density(None))
    log_w = log_prior_u(priors, u) - log_den
    log_w -= log_w.max()
    w = np.exp(log_w)
    return w / w.sum()


CONVERGED, LOW_ACCEPTANCE, BUDGET = "converged", "acceptance", "budget"
COMPONENTWISE, LOCAL, OPTIMAL = "componentwise", "local", "optimal"
# Beaumont et al.'s one sd per parameter; Filippi et al.'s per particle (`local_sd`); Filippi et al.'s one sd per
# parameter from the particles kept by the next tolerance (`optimal_sd`)
KERNELS = (COMPONENTWISE, LOCAL, OPTIMAL)
EMPTY_BATCHES = 5  # generation 0 gives up after this many batches of prior draws of which it could keep none


def tolerance_drop(pops: list[Population], t: int) -> float:
    """How much generation ``t``'s tolerance fell from generation ``t - 1``'s, as a share of it (NaN for the first
    two generations: generation 0 has no tolerance)."""
    if t < 2 or not math.isfinite(pops[t - 1].epsilon) or pops[t - 1].epsilon <= 0:
        return math.nan
    return 1.0 - pops[t].epsilon / pops[t - 1].epsilon


def stop_reason(pops: list[Population], generations: int, min_drop: float = 0.0, min_acceptance: float = 0.0):
    """Why the SMC stops after ``pops``, or None to go on:

    - ``converged``: the tolerance fell by less than ``min_drop`` (a share) from the generation before: further
      generations would buy little (Toni et al. 2009 stop at a fixed tolerance; a flattening tolerance is the
      same idea when the attainable distance is unknown);
    - ``acceptance``: the last generation kept fewer than ``min_acceptance`` of the candidates it simulated: the
      next would cost too much for what it narrows (Beaumont et al. 2009; pyABC's ``min_acceptance_rate``);
    - ``budget``: ``generations`` are done without either: the posterior is not shown to have converged.
    """
    t = len(pops) - 1
    if t >= 2 and min_drop > 0 and tolerance_drop(pops, t) < min_drop:
        return CONVERGED
    if t >= 1 and min_acceptance > 0 and pops[t].acceptance < min_acceptance:
        return LOW_ACCEPTANCE
    if len(pops) >= generations:
        return BUDGET
    return None


def abc_smc(
    simulate: Callable[[np.ndarray, int, int], np.ndarray],
    priors: list[Marginal],
    particles: int,
    generations: int,
    quantile: float = 0.5,
    seed: int = 0,
    batch: int | None = None,
    max_batches: int = 50,
    start: list[Population] | None = None,
    on_generation: Callable[[int, Population], None] | None = None,
    min_drop: float = 0.0,
    min_acceptance: float = 0.0,
    kernel: str = "componentwise",
    on_tolerance: Callable[[int, float], None] | None = None,
    defensive: float = 0.0,
) -> list[Population]:
    """Run the generations until `stop_reason` says stop (at most ``generations``); ``simulate(theta, generation,
    batch)`` returns each row's distance (NaN: failed).

    Generation 0 keeps the prior draws with a finite distance, drawing further batches (seeded by (seed, 0,
    batch)) until it has ``particles`` of them: a NaN (a failed run) or an infinite distance (a candidate the
    simulator rules out) restricts the prior to where the model runs and its constraints hold.

    ``start``: populations already done (a resumed calibration): the next generations continue from the last, and a
    calibration that had already stopped does not go on. Returns every generation's population; the last one's
    ``extra["stop"]`` says why it is the last.

    ``on_tolerance(generation, tolerance)``: told each generation's tolerance before its first candidate is simulated
    (``inf`` for generation 0, which keeps every finite distance), so a simulator can spend more only on the
    candidates that may be kept (the sanctions fit checks its later mechanisms only on those).
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel: one of {', '.join(KERNELS)}, not {kernel!r}")
    if not 0 <= defensive < 1 or (defensive > 0 and kernel != LOCAL):
        raise ValueError(f"defensive: a share in [0, 1), only with the local kernel, not {defensive!r} ({kernel})")
    if particles < 2 or generations < 1 or not 0 < quantile < 1:
        raise ValueError("ABC-SMC needs at least 2 particles, 1 generation and a quantile in (0, 1)")
    batch = batch or particles
    pops = list(start or [])
    if pops and (why := stop_reason(pops, generations, min_drop, min_acceptance)) is not None:
        pops[-1].extra["stop"] = why
        return pops
    for t in range(len(pops), generations):
        if t == 0:
            # draws of the prior, batch after batch until ``particles`` have a finite distance (or the batches run
            # out): a simulator that rules a candidate out (an infinite distance: outside the model's bounds, or a
            # mechanism outside its range) restricts the prior, and generation 0 is that restricted prior's sample
            kept_theta, kept_d, simulated = [], [], 0
            if on_tolerance is not None:
                on_tolerance(0, math.inf)
            for b in range(max_batches):
                theta = sample_prior(priors, particles if b == 0 else batch, generator(seed, 0, b))
                d = np.asarray(simulate(theta, 0, b), dtype=float)
                simulated += len(theta)
                ok = np.isfinite(d)
                kept_theta.append(theta[ok])
                kept_d.append(d[ok])
                n_kept = sum(len(x) for x in kept_d)
                if n_kept >= particles:
                    break
                # nothing kept yet: give up at once if no draw could be simulated at all (every distance NaN: the
                # model does not run), or after EMPTY_BATCHES batches kept nothing (a region too small to find)
                if n_kept == 0 and (np.isnan(d).all() or b + 1 >= EMPTY_BATCHES):
                    break
            theta, d = np.vstack(kept_theta)[:particles], np.concatenate(kept_d)[:particles]
            if len(theta) < 2:
                raise RuntimeError(
                    f"ABC-SMC generation 0: only {len(theta)} of {simulated} prior draws could be simulated "
                    "and kept (a finite distance)"
                )
            pop = Population(
                theta, np.full(len(theta), 1.0 / len(theta)), d, math.inf, simulated, u=to_u(priors, theta)
            )
        else:
            last = pops[-1]
            eps = float(np.quantile(last.distances, quantile))
            sd = local_sd(last, eps) if kernel == LOCAL else optimal_sd(last, eps) if kernel == OPTIMAL else None
            kept_theta, kept_d, simulated = [], [], 0
            if on_tolerance is not None:
                on_tolerance(t, eps)
            for b in range(max_batches):
                cand = propose(last, priors, batch, generator(seed, t, b), sd, defensive)
                d = np.asarray(simulate(from_u(priors, cand), t, b), dtype=float)
                simulated += len(cand)
                ok = np.isfinite(d) & (d <= eps)
                kept_theta.append(cand[ok])
                kept_d.append(d[ok])
                if sum(len(x) for x in kept_d) >= particles:
                    break
            u, d = np.vstack(kept_theta)[:particles], np.concatenate(kept_d)[:particles]
            if len(u) < 2:
                raise RuntimeError(
                    f"ABC-SMC generation {t}: fewer than 2 particles within tolerance {eps:.4g} "
                    f"after {simulated} simulations"
                )
            pop = Population(from_u(priors, u), new_weights(u, last, priors, sd, defensive), d, eps, simulated, u=u)
        pops.append(pop)
        why = stop_reason(pops, generations, min_drop, min_acceptance)
        if why is not None:
            pop.extra["stop"] = why
        if on_generation is not None:
            on_generation(t, pop)
        if why is not None:
            break
    return pops
