"""Counter-based random numbers: pure functions of (seed, decision, month, id)."""

import numpy as np
from scipy import stats

from sim.core import draws as rnd


def test_scalar_and_vector_draws_are_bit_identical():
    ids = np.arange(0, 5000)
    key = rnd.stream_key(7, "escape.intend", 13)
    vec = rnd.uniforms(key, ids)
    scal = np.array([rnd.uniform(key, int(i)) for i in ids])
    assert np.array_equal(vec, scal)
    terms = np.array([rnd.uniform_term(key, rnd.id_term(int(i))) for i in ids])
    assert np.array_equal(vec, terms)


def test_draws_depend_on_every_part_of_the_key():
    base = rnd.draws(1, "death", 5, np.arange(1000))
    for other in (
        rnd.draws(2, "death", 5, np.arange(1000)),
        rnd.draws(1, "threat", 5, np.arange(1000)),
        rnd.draws(1, "death", 6, np.arange(1000)),
        rnd.draws(1, "death", 5, np.arange(1, 1001)),
    ):
        assert not np.array_equal(base, other)
        # distinct streams are uncorrelated: |r| < 0.1 for n = 1000 (5 sd of r under independence is ~0.16)
        assert abs(np.corrcoef(base, other)[0, 1]) < 0.1


def test_same_inputs_same_number_in_any_order():
    ids = np.array([5, 3, 99, 3, 0])
    a = rnd.draws(4, "side.seek", 2, ids)
    assert a[1] == a[3]
    assert np.array_equal(rnd.draws(4, "side.seek", 2, ids[::-1]), a[::-1])


def test_uniforms_are_uniform():
    u = rnd.draws(0, "kolmogorov", 0, np.arange(200_000))
    assert u.min() >= 0.0 and u.max() < 1.0
    # Kolmogorov-Smirnov against U(0,1); p > 1e-4 fails a good generator 1 time in 10,000
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    # neighbouring ids are not correlated
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01


def test_negative_months_and_large_ids_are_fine():
    u = rnd.draws(3, "worker.loyalty", -1, np.array([0, 2**40]))
    assert np.all((u >= 0) & (u < 1))
    assert rnd.draw(3, "worker.loyalty", -1, 2**40) == u[1]


def test_many_decisions_at_once_are_each_decisions_own_draws():
    """`draws_many` (a cohort's traits in one compiled call) gives row k equal to `draws` of decision k, to the
    bit, for any seed and month (a cached key of another seed or month would break it)."""
    ids = np.array([0, 5, 77, 123456789, 2**40])
    decisions = ("worker.loyalty", "worker.family", "death")
    for seed, month in ((0, -1), (7, -1), (7, 3)):
        many = rnd.draws_many(seed, decisions, month, ids)
        assert many.shape == (3, len(ids))
        for k, d in enumerate(decisions):
            assert np.array_equal(many[k], rnd.draws(seed, d, month, ids))
