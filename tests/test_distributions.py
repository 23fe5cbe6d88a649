"""One vocabulary of distributions (sim.core.distributions) for an experiment's uncertainties, a calibration's
priors and the ABC-SMC marginals: a kind declared once gives the same numbers to each, and a mistake in any of
the three files is the same one-line error."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from sim.calibration.sanctions.targets import load_sanctions_targets
from sim.calibration.smc import Marginal
from sim.calibration.targets import Prior, load_targets
from sim.common.errors import ExperimentError
from sim.core.distributions import KINDS, Distribution
from sim.explore.plan import load_experiment, sample_table
from sim.explore.spec import Experiment, Uncertainty

from conftest import ROOT

EXAMPLES = {
    "uniform": dict(low=0.1, high=0.9),
    "triangular": dict(low=1.0, high=5.0, mode=2.0),
    "normal": dict(mean=3.0, sd=0.5),
    "truncnormal": dict(low=0.0, high=1.0, mean=0.3, sd=0.2),
    "lognormal": dict(median=500.0, sigma=0.5),
}
Z95 = 1.6448536269514722  # the standard normal's 95% quantile


def test_every_kind_has_an_example():
    assert set(EXAMPLES) == set(KINDS)
    for name, kw in EXAMPLES.items():
        assert set(kw) == set(KINDS[name].needs)
        assert set(KINDS[name].needs) <= set(Distribution.parameters())


def test_lognormal_quantiles_by_value_in_all_three_users():
    """median 500, sigma 0.5: the 5/50/95% quantiles are 500 exp(-/+ 0.5 x 1.645) for an uncertainty, a prior and
    a marginal alike."""
    kw = dict(distribution="lognormal", median=500.0, sigma=0.5)
    want = [500.0 * math.exp(-0.5 * Z95), 500.0, 500.0 * math.exp(0.5 * Z95)]
    for d in (Uncertainty(**kw), Prior(**kw, source="assumption"), Marginal("x", Distribution(**kw)).dist):
        np.testing.assert_allclose(d.ppf([0.05, 0.5, 0.95]), want, rtol=1e-12)
    m = Marginal("x", Prior(**kw, source="assumption"))
    assert m.bounds() is None and m.to_u(np.array([500.0]))[0] == math.log(500.0)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_same_quantiles_for_an_uncertainty_a_prior_and_a_marginal(name):
    kw = dict(distribution=name, **EXAMPLES[name])
    q = np.array([0.01, 0.05, 0.3, 0.5, 0.7, 0.95, 0.99])
    ref = Distribution(**kw).ppf(q)
    for d in (Uncertainty(**kw), Prior(**kw, source="assumption")):
        assert np.array_equal(d.ppf(q), ref)
    assert np.array_equal(Marginal("x", Prior(**kw, source="assumption")).frozen().ppf(q), ref)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_experiment_sampling_draws_from_the_declared_distribution(name):
    """A Latin hypercube of n points puts one point in each 1/n of the distribution's probability: SALib's
    inverse CDF (from the kind's salib()) and the kind's scipy distribution are the same distribution."""
    n = 40
    spec = Experiment.model_validate(
        {
            "name": "x",
            "sampling": {"method": "lhs", "n": n, "seed": 1},
            "uncertainties": {"a.b": dict(distribution=name, **EXAMPLES[name])},
        }
    )
    table, _, _ = sample_table(spec)
    p = Distribution(distribution=name, **EXAMPLES[name]).cdf(table["a.b"].to_numpy())
    assert sorted(np.floor(p * n).astype(int)) == list(range(n))


def test_bounds_and_scales_by_kind():
    assert Distribution(distribution="uniform", low=0, high=2).bounds() == (0.0, 2.0)
    assert Distribution(distribution="truncnormal", low=0, high=1, mean=0.3, sd=0.2).bounds() == (0.0, 1.0)
    assert Distribution(distribution="normal", mean=0, sd=1).bounds() is None
    assert [k for k in KINDS if KINDS[k].log] == ["lognormal"]


def test_descriptions():
    assert Distribution(distribution="uniform", low=0.7, high=1.3).describe() == "uniform 0.7-1.3"
    assert Distribution(distribution="triangular", low=1, high=5, mode=2).describe() == "triangular 1-5, mode 2"
    assert (
        Distribution(distribution="truncnormal", low=0, high=1, mean=0.3, sd=0.2).describe()
        == "normal 0.3 +/- 0.2 in 0-1"
    )
    assert (
        Prior(distribution="lognormal", median=500, sigma=0.5, relative=True, source="x").describe()
        == "lognormal, median 500, sigma 0.5 x the scenario's value"
    )


def one_line_naming(e: ExperimentError, *words: str) -> str:
    lines = [line for line in e.errors if all(w in line for w in words)]
    assert len(lines) == 1, e.errors
    assert "\n" not in lines[0]
    return lines[0]


def test_unknown_kind_is_one_line_in_an_experiment_file(tmp_path):
    f = tmp_path / "e.toml"
    f.write_text(
        'name = "x"\n[sampling]\nmethod = "lhs"\nn = 4\n'
        '[uncertainties."hosts.russia.wage"]\ndistribution = "lognorm"\nmedian = 1.0\nsigma = 0.1\n'
    )
    with pytest.raises(ExperimentError) as e:
        load_experiment(f)
    line = one_line_naming(e.value, "lognorm")
    assert "uncertainties.hosts.russia.wage.distribution: " in line and "'lognormal'" in line


def test_unknown_kind_is_one_line_in_a_targets_file(tmp_path):
    text = (ROOT / "params" / "targets.toml").read_text(encoding="utf-8")
    f = tmp_path / "targets.toml"
    f.write_text(text.replace('distribution = "lognormal"', 'distribution = "log-normal"', 1), encoding="utf-8")
    with pytest.raises(ExperimentError) as e:
        load_targets(f)
    assert re.search(r"parameters\.[^:]+\.distribution: .*'log-normal'", one_line_naming(e.value, "log-normal"))


def test_unknown_kind_is_one_line_in_a_calibration_file(tmp_path):
    text = (ROOT / "params" / "targets_sanctions.toml").read_text(encoding="utf-8")
    text = text.replace('"held_out_sanctions.toml"', f'"{ROOT / "params" / "held_out_sanctions.toml"}"')
    key = '[parameters."policies.0.compliance.china"]\n'
    assert key in text
    f = tmp_path / "targets_sanctions.toml"
    f.write_text(text.replace(key, key + 'distribution = "beta"\n'), encoding="utf-8")
    with pytest.raises(ExperimentError) as e:
        load_sanctions_targets(f)
    line = one_line_naming(e.value, "'beta'")
    assert "parameters.policies.0.compliance.china.distribution" in line


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(distribution="triangular", low=0, high=1), "a triangular distribution needs mode"),
        (
            dict(distribution="normal", mean=0, sd=1, low=0),
            "low: not used by a normal distribution (it takes mean, sd)",
        ),
        (dict(distribution="uniform", low=1, high=1), "low (1.0) must be below high (1.0)"),
        (dict(distribution="lognormal", median=1, sigma=0), "sigma must be above 0"),
    ],
)
def test_the_same_message_for_a_prior_and_an_uncertainty(kw, message):
    for cls, extra, hint in ((Uncertainty, {}, " (or give values = [...] for a grid)"), (Prior, {"source": "x"}, "")):
        with pytest.raises(ValueError) as e:
            cls(**kw, **extra)
        assert message + (hint if "needs" in message else "") in str(e.value)
