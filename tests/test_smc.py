"""ABC-SMC (sim/calibration/smc.py) recovers a posterior known in closed form, and is reproducible and
resumable by its seed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.calibration.smc import Marginal, Population, abc_smc, generator, log_prior, new_weights, to_u
from sim.core.distributions import Distribution

YBAR, N_OBS = 1.3, 20  # the data: the mean of 20 draws from N(theta, 1)
SE = 1 / math.sqrt(N_OBS)  # so the exact posterior under a flat prior is N(1.3, 0.224)
PRIORS = [Marginal("theta", Distribution(distribution="uniform", low=-5.0, high=5.0))]


def simulate(theta, generation, batch):
    """A simulated data mean for each candidate, with its own seeded noise; distance to the observed mean."""
    noise = generator(99, generation, batch).normal(0.0, SE, size=len(theta))
    return np.abs(theta[:, 0] + noise - YBAR)


def test_recovers_the_exact_posterior_of_a_normal_mean():
    pops = abc_smc(simulate, PRIORS, particles=600, generations=9, quantile=0.5, seed=1)
    last = pops[-1]
    mean = float(last.mean()[0])
    sd = float(np.sqrt(last.covariance()[0, 0]))
    # the tolerance shrinks each generation and acceptance falls as it does
    eps = [p.epsilon for p in pops[1:]]
    assert all(b < a for a, b in zip(eps, eps[1:])) and eps[-1] < 0.1
    # tolerance: the posterior mean's Monte Carlo error is sd/sqrt(ESS) ~ 0.015 here; 0.07 is over 4 errors.
    # The ABC posterior's sd is sqrt(0.224^2 + eps^2/3) ~ 0.225 at the last eps; +/-25% covers its MC error.
    assert abs(mean - YBAR) < 0.07, mean
    assert 0.75 * SE < sd < 1.25 * SE, sd
    assert last.ess() > 200


def test_the_same_seed_gives_the_same_posterior_and_resuming_changes_nothing():
    a = abc_smc(simulate, PRIORS, particles=100, generations=4, seed=7)
    b = abc_smc(simulate, PRIORS, particles=100, generations=4, seed=7)
    c = abc_smc(simulate, PRIORS, particles=100, generations=4, seed=7, start=a[:2])  # as after an interruption
    for x in (b, c):
        assert all(np.array_equal(p.theta, q.theta) and np.array_equal(p.weights, q.weights) for p, q in zip(a, x))
    other = abc_smc(simulate, PRIORS, particles=100, generations=4, seed=8)
    assert not np.array_equal(a[-1].theta, other[-1].theta)


def test_weights_are_prior_over_the_kernel_mixture():
    """A particle far from the last population, where the kernel mixture is thin, gets more weight than one
    in its middle (the importance correction); outside the prior's support a particle has none."""
    theta = np.array([[0.0], [0.1], [-0.1]])
    last = Population(theta, np.full(3, 1 / 3), np.zeros(3), 1.0, 3, u=to_u(PRIORS, theta))
    w = new_weights(to_u(PRIORS, np.array([[0.0], [0.3]])), last, PRIORS)
    assert w.sum() == pytest.approx(1.0) and w[1] > w[0]
    assert np.isneginf(log_prior(PRIORS, np.array([[6.0]])))[0]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        abc_smc(simulate, PRIORS, particles=1, generations=2)
    with pytest.raises(ValueError):
        abc_smc(simulate, PRIORS, particles=10, generations=2, quantile=1.0)


def box_problem(noise: float):
    """The sanctions fit's shape: 22 uniform priors on [0, 1] and a lognormal one; the distance is the root mean
    square of each parameter's distance to 0.3 (the lognormal's log-ratio to its median 500 against 0), plus the
    absolute value of a normal noise of sd ``noise`` seeded by (generation, batch)."""
    priors = [Marginal(f"x{k}", Distribution(distribution="uniform", low=0.0, high=1.0)) for k in range(22)] + [
        Marginal("m", Distribution(distribution="lognormal", median=500.0, sigma=0.5))
    ]
    target = np.full(23, 0.3)
    target[-1] = 0.0

    def sim(theta, g, b):
        scaled = theta.copy()
        scaled[:, -1] = np.log(scaled[:, -1] / 500.0)
        d = np.sqrt(np.mean((scaled - target) ** 2, axis=1))
        return d + np.abs(np.random.default_rng([g, b]).normal(0, noise, size=len(theta))) if noise else d

    return priors, sim


def test_many_bounded_parameters_stay_inside_their_priors():
    """Twenty-three bounded priors (the sanctions fit's case): the truncated kernel keeps every candidate
    inside the box, and the weights do not collapse (an untruncated kernel proposed ~0.7^23 = 0.03% inside; a
    full-covariance kernel in logit space kept an ESS of ~1%)."""
    priors, sim = box_problem(noise=0.0)
    pops = abc_smc(sim, priors, particles=100, generations=4, seed=3)
    for p in pops:
        assert np.isfinite(log_prior(priors, p.theta)).all()
    assert pops[-1].epsilon < pops[1].epsilon
    assert min(p.ess() for p in pops) > 20  # tolerance: a collapsed population has an ESS of a few


def test_a_generation_0_that_cannot_be_simulated_is_an_error():
    with pytest.raises(RuntimeError, match="generation 0: only 0 of 10"):
        abc_smc(lambda th, g, b: np.full(len(th), np.nan), PRIORS, particles=10, generations=2)


def floored(theta, generation, batch):
    """As `simulate`, but no candidate comes nearer than 0.5: the attainable distance the tolerance flattens at."""
    return 0.5 + simulate(theta, generation, batch)


def test_the_smc_stops_once_the_tolerance_flattens():
    """With a floor under the distance, the tolerance's fall shrinks each generation (0.5 + eps/2 ...): the rule
    stops the run early with 'converged', and the last drop is below min_drop; without the rule it runs to its budget."""
    from sim.calibration.smc import BUDGET, CONVERGED, tolerance_drop

    pops = abc_smc(floored, PRIORS, particles=200, generations=30, seed=3, min_drop=0.05)
    assert pops[-1].extra["stop"] == CONVERGED and len(pops) < 30
    drops = [tolerance_drop(pops, t) for t in range(2, len(pops))]
    assert drops[-1] < 0.05 and all(d >= 0.05 for d in drops[:-1]), drops
    assert pops[-1].epsilon > 0.5  # it stopped at the floor, not below it
    full = abc_smc(floored, PRIORS, particles=200, generations=len(pops) + 2, seed=3)
    assert len(full) == len(pops) + 2 and full[-1].extra["stop"] == BUDGET
    # the same seed: the early-stopped run is the first generations of the full one
    assert all(np.array_equal(p.theta, q.theta) for p, q in zip(pops, full))
    # a stopped calibration, resumed with a larger budget, does not go on
    again = abc_smc(floored, PRIORS, particles=200, generations=40, seed=3, start=pops, min_drop=0.05)
    assert len(again) == len(pops) and again[-1].extra["stop"] == CONVERGED


def test_the_smc_stops_when_acceptance_falls_below_its_floor():
    from sim.calibration.smc import LOW_ACCEPTANCE

    pops = abc_smc(floored, PRIORS, particles=100, generations=20, seed=4, min_acceptance=0.3)
    assert pops[-1].extra["stop"] == LOW_ACCEPTANCE
    assert pops[-1].acceptance < 0.3 and all(p.acceptance >= 0.3 for p in pops[1:-1])


def test_a_simulator_that_rules_candidates_out_restricts_the_prior():
    """A simulator that gives an infinite distance to every theta below 1.5 (a constraint: the prior restricted to
    theta >= 1.5): generation 0 draws batch after batch until it has all its particles, every one inside the
    constraint, having simulated more than it kept; the posterior is the exact one truncated at 1.5, a normal
    N(1.3, 0.224) cut below 1.5, whose mean is 1.3 + 0.224 * phi(a) / (1 - Phi(a)) with a = 0.2 / 0.224."""
    from scipy import stats

    def ruled(theta, generation, batch):
        d = simulate(theta, generation, batch)
        return np.where(theta[:, 0] >= 1.5, d, np.inf)

    pops = abc_smc(ruled, PRIORS, particles=400, generations=9, seed=2)
    first = pops[0]
    assert len(first.theta) == 400 and first.simulated > 400 and first.simulated % 400 == 0
    assert (first.theta[:, 0] >= 1.5).all() and np.allclose(first.weights, 1 / 400)
    # the prior restricted to [1.5, 5]: uniform there (a tolerance of 0.15 on the mean of 400 uniform draws, whose
    # standard error is 1.01 / sqrt(400) = 0.05: three errors)
    assert abs(first.theta[:, 0].mean() - 3.25) < 0.15
    for p in pops:
        assert (p.theta[:, 0] >= 1.5).all()
    a = 0.2 / SE
    exact = YBAR + SE * stats.norm.pdf(a) / stats.norm.sf(a)  # 1.63
    # tolerance: the ABC posterior at the last eps is the truncated normal widened by eps (~0.05) plus Monte Carlo
    # error sd/sqrt(ESS) ~ 0.01: 0.05 is several of both; without the constraint the mean is 1.3, far outside it
    assert abs(float(pops[-1].mean()[0]) - exact) < 0.05, (pops[-1].mean(), exact)
    # a constraint nothing meets: generation 0 gives up after EMPTY_BATCHES batches, not after every batch; a
    # simulator that can run no draw at all (NaN) stops at once
    from sim.calibration.smc import EMPTY_BATCHES

    for fill, batches in ((np.inf, list(range(EMPTY_BATCHES))), (np.nan, [0])):
        calls = []

        def none(theta, generation, batch, fill=fill):
            calls.append(batch)
            return np.full(len(theta), fill)

        with pytest.raises(RuntimeError, match=f"generation 0: only 0 of {10 * len(batches)} prior draws"):
            abc_smc(none, PRIORS, particles=10, generations=2)
        assert calls == batches
    # one kept in the first batch: it goes on drawing until it has them all (a small region, not an empty one)
    pops = abc_smc(lambda th, g, b: np.where(th[:, 0] > 4.5, 0.0, np.inf), PRIORS, particles=10, generations=1)
    assert len(pops[0].theta) == 10 and (pops[0].theta[:, 0] > 4.5).all() and pops[0].simulated >= 100


def closed_form_and_reproducible(kernel: str, other: str) -> None:
    """A kernel's run gives the closed-form posterior of the normal mean (tolerances as in the first test, for the
    same reasons) with its weights holding up, the same populations again from the same seed, and other
    populations than kernel ``other``'s."""
    pops, again, others = (
        abc_smc(simulate, PRIORS, particles=600, generations=9, quantile=0.5, seed=1, kernel=k)
        for k in (kernel, kernel, other)
    )
    last = pops[-1]
    assert abs(float(last.mean()[0]) - YBAR) < 0.07
    assert 0.75 * SE < float(np.sqrt(last.covariance()[0, 0])) < 1.25 * SE
    assert last.ess() > 200
    assert all(np.array_equal(p.theta, q.theta) and np.array_equal(p.weights, q.weights) for p, q in zip(pops, again))
    assert not np.array_equal(others[-1].theta, last.theta)


def test_the_local_kernel_recovers_the_exact_posterior_and_is_reproducible():
    """Filippi et al.'s componentwise optimal local kernel (kernel="local"): the same closed-form posterior as
    Beaumont's kernel (same tolerances as the first test, for the same reasons), the same populations from the same
    seed, and another kernel's populations than Beaumont's."""
    closed_form_and_reproducible("local", other="componentwise")
    with pytest.raises(ValueError, match="kernel: one of componentwise, local, optimal"):
        abc_smc(simulate, PRIORS, particles=10, generations=2, kernel="global")


def test_local_kernel_sd_by_hand():
    """Particle i's sd per parameter: the weighted root mean square of its distance to the particles already within
    the next tolerance (weights renormalised over them); every particle when fewer than two are within it."""
    from sim.calibration.smc import local_sd

    theta = np.array([[0.0], [1.0], [3.0]])
    pop = Population(theta, np.array([0.5, 0.25, 0.25]), np.array([0.1, 0.2, 0.9]), 1.0, 3, u=to_u(PRIORS, theta))
    sd = local_sd(pop, 0.5)  # particles 0 and 1 are kept, weights 2/3 and 1/3
    by_hand = [math.sqrt(1 / 3 * 1.0), math.sqrt(2 / 3 * 1.0), math.sqrt(2 / 3 * 9.0 + 1 / 3 * 4.0)]
    assert np.allclose(sd[:, 0], by_hand)
    every = local_sd(pop, 0.05)  # none within: all three, weights as they are
    assert np.allclose(every[1, 0], math.sqrt(0.5 * 1.0 + 0.25 * 4.0))


def test_optimal_kernel_sd_by_hand_and_it_recovers_the_exact_posterior():
    """kernel="optimal" (Filippi et al. 2013, 4.1, diagonal): one sd per parameter for every particle, the weighted
    root mean square over the particles i of their local sd (`local_sd`), by hand; it lies between the local sds, and
    equals Beaumont's twice-the-variance sd when every particle is within the next tolerance; the closed-form
    posterior (tolerances as in the first test) and the same populations from the same seed."""
    from sim.calibration.smc import local_sd, optimal_sd

    theta = np.array([[0.0], [1.0], [3.0]])
    pop = Population(theta, np.array([0.5, 0.25, 0.25]), np.array([0.1, 0.2, 0.9]), 1.0, 3, u=to_u(PRIORS, theta))
    local = [1 / 3 * 1.0, 2 / 3 * 1.0, 2 / 3 * 9.0 + 1 / 3 * 4.0]  # local sds squared (test_local_kernel_sd_by_hand)
    by_hand = math.sqrt(0.5 * local[0] + 0.25 * local[1] + 0.25 * local[2])
    sd = optimal_sd(pop, 0.5)
    assert sd.shape == (3, 1) and np.allclose(sd[:, 0], by_hand)
    assert local_sd(pop, 0.5).min() < by_hand < local_sd(pop, 0.5).max()
    assert np.allclose(optimal_sd(pop, 10.0)[0], pop.kernel_sd())  # every particle kept: Beaumont's sd
    closed_form_and_reproducible("optimal", other="local")


def test_the_local_kernel_needs_fewer_runs_where_the_posterior_is_narrow():
    """Twenty-three bounded parameters with a noisy distance (the sanctions fit's shape): over the same generations
    the local kernel simulates fewer candidates and reaches a lower tolerance than Beaumont's, and its weights do not
    collapse. (Measured: 7,000 candidates to a tolerance of 0.227 against 10,400 to 0.250.)"""
    priors, sim = box_problem(noise=0.02)
    runs = {k: abc_smc(sim, priors, particles=200, generations=8, seed=3, kernel=k) for k in ("componentwise", "local")}
    cost = {k: sum(p.simulated for p in pops) for k, pops in runs.items()}
    assert cost["local"] < 0.8 * cost["componentwise"], cost
    assert runs["local"][-1].epsilon < runs["componentwise"][-1].epsilon
    assert min(p.ess() for p in runs["local"]) > 40  # tolerance: a collapsed population has an ESS of a few
    for p in runs["local"]:
        assert np.isfinite(log_prior(priors, p.theta)).all()


def test_the_simulator_is_told_each_generations_tolerance_before_its_candidates():
    """``on_tolerance``: generation 0 is told infinity (it keeps every finite distance), each later generation the
    tolerance its particles then meet, before its first candidate is simulated (a resumed run too); a simulator
    that spends more only on candidates within it (the sanctions fit's later mechanisms) can rely on it."""
    told, seen = [], []

    def simulate_noting(theta, generation, batch):
        seen.append((generation, told[-1]))  # the tolerance known when this batch was simulated
        return simulate(theta, generation, batch)

    pops = abc_smc(
        simulate_noting, PRIORS, particles=100, generations=4, seed=7, on_tolerance=lambda t, e: told.append((t, e))
    )
    assert [t for t, _ in told] == [0, 1, 2, 3] and told[0][1] == math.inf
    assert [e for _, e in told[1:]] == [p.epsilon for p in pops[1:]]
    assert all(g == t for g, (t, _) in seen)  # no batch ran before its generation's tolerance was told
    again = []
    abc_smc(
        simulate,
        PRIORS,
        particles=100,
        generations=4,
        seed=7,
        start=pops[:2],
        on_tolerance=lambda t, e: again.append((t, e)),
    )
    assert again == told[2:]  # resumed: the same tolerances, from the generation it resumes at


def test_the_defensive_mixture_weights_by_hand_and_recovers_the_posterior():
    """smc.defensive: the weights are prior / the mixture's density ((1 - a) of the local kernels' and a of
    Beaumont's), by hand; the posterior is still the closed-form one (tolerances as in the first test); 0 is the
    local kernel exactly; it is refused with Beaumont's kernel or outside [0, 1)."""
    from sim.calibration.smc import local_sd

    theta = np.array([[0.0], [1.0], [3.0]])
    pop = Population(theta, np.array([0.5, 0.25, 0.25]), np.array([0.1, 0.2, 0.9]), 1.0, 3, u=to_u(PRIORS, theta))
    sd, wide = local_sd(pop, 0.5), pop.kernel_sd()
    new = to_u(PRIORS, np.array([[0.2], [2.0], [4.5]]))
    m = PRIORS[0]
    local = [
        sum(w * math.exp(m.kernel_logpdf(x, mu, s)) for w, mu, s in zip(pop.weights, pop.u[:, 0], sd[:, 0]))
        for x in new[:, 0]
    ]
    beaumont = [
        sum(w * math.exp(m.kernel_logpdf(x, mu, wide[0])) for w, mu in zip(pop.weights, pop.u[:, 0])) for x in new[:, 0]
    ]
    by_hand = np.array([1 / (0.7 * a + 0.3 * b) for a, b in zip(local, beaumont)])  # a flat prior
    assert np.allclose(new_weights(new, pop, PRIORS, sd, 0.3), by_hand / by_hand.sum(), rtol=1e-12)
    assert np.array_equal(new_weights(new, pop, PRIORS, sd, 0.0), new_weights(new, pop, PRIORS, sd))
    pops = abc_smc(simulate, PRIORS, particles=600, generations=9, quantile=0.5, seed=1, kernel="local", defensive=0.2)
    last = pops[-1]
    assert abs(float(last.mean()[0]) - YBAR) < 0.07
    assert 0.75 * SE < float(np.sqrt(last.covariance()[0, 0])) < 1.25 * SE
    plain = abc_smc(simulate, PRIORS, particles=100, generations=3, seed=2, kernel="local")
    zero = abc_smc(simulate, PRIORS, particles=100, generations=3, seed=2, kernel="local", defensive=0.0)
    assert all(np.array_equal(p.theta, q.theta) and np.array_equal(p.weights, q.weights) for p, q in zip(plain, zero))
    for kernel, share in (("componentwise", 0.2), ("local", 1.0), ("local", -0.1)):
        with pytest.raises(ValueError, match="defensive: a share in"):
            abc_smc(simulate, PRIORS, particles=10, generations=2, kernel=kernel, defensive=share)
