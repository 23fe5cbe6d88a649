"""The model as an EMA Workbench model (https://emaworkbench.readthedocs.io), for exploratory modelling.

    from ema_workbench import perform_experiments
    from sim.ema import ema_model

    model = ema_model("params/history.toml", scale=0.1, replications=3,
                      uncertainties={"state.plan_cap": (1.0, 2.0), "policies.1.evasion": (0.0, 0.8)},
                      levers={"policies.0.compliance": (0.0, 1.0)})
    experiments, outcomes = perform_experiments(model, scenarios=50, policies=4)

Uncertainties and levers are EMA parameters named by the dotted keys of `olsim run --set` (a (low, high) pair
of floats is a `RealParameter`, of ints an `IntegerParameter`, a list a `CategoricalParameter`); outcomes are
the project's outcome registry (`sim.results.OUTCOMES`: ``revenue_delivered_per_year``, ...). With
``replications`` > 1 it is a `ReplicatorModel` whose replication k runs with seed k in every experiment:
common random numbers, so differences between experiments are not seed noise; each outcome is the mean over
the replications. Totals (revenue a year, workers) come back at full scale, whatever the simulated ``scale``,
as everywhere else in the project. ``series`` adds monthly columns (`sim.results.columns.MONTHLY_COLUMNS`:
``revenue_delivered``, ``workers_active``, ...) as `TimeSeriesOutcome`s, one value a month (sums over the hosts
at full scale; means per worker as they are), so EMA's ``lines`` and ``envelopes`` draw them. Needs the ``ema``
extra: ``pip install 'overseas-labor-sim[ema]'``.
"""

from __future__ import annotations

from pathlib import Path

from .common.errors import ParamsError
from .core.params import make_params, read_params_file
from .engines import run
from .engines.runner import check_engine
from .explore.plan import resolve_params
from .results.columns import COLUMN, MONTHLY_COLUMNS
from .results.outcomes import DEFAULT_OUTCOMES, OUTCOMES, outcomes_of


class _Runner:
    """The function EMA calls with one experiment's values (picklable, for EMA's multiprocessing evaluator)."""

    def __init__(self, raw: dict, overrides: dict, scale: float, engine: str, outcomes: tuple[str, ...], series=()):
        self.raw, self.overrides, self.scale, self.engine, self.outcomes = raw, overrides, scale, engine, outcomes
        self.series = tuple(series)

    def __call__(self, seed: int = 0, **values) -> dict:
        params = make_params(resolve_params(self.raw, {**self.overrides, **values}, self.scale, "ema experiment"))
        result = run(params, engine=self.engine, seed=int(seed))
        out: dict = outcomes_of(result, list(self.outcomes))
        for o in self.outcomes:  # totals at full scale
            if OUTCOMES[o].total:
                out[o] = out[o] / self.scale
        for c in self.series:  # a month's sum over the hosts at full scale; a mean per worker as it is
            out[c] = COLUMN[c].at_full_scale(result.monthly[c].to_numpy(float), self.scale)
        return out


def _mean_over_replications(values):
    """A series' mean over a `ReplicatorModel`'s replications, month by month (picklable)."""
    import numpy as np

    return np.mean(np.asarray(values, dtype=float), axis=0)


def _parameter(key: str, spec):
    from ema_workbench import CategoricalParameter, IntegerParameter, RealParameter

    if isinstance(spec, (list, set)) or (isinstance(spec, tuple) and len(spec) != 2):
        return CategoricalParameter(key, list(spec))
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise ParamsError(f"{key}: give (low, high) or a list of values, not {spec!r}")
    low, high = spec
    if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool):
        return IntegerParameter(key, low, high)
    return RealParameter(key, float(low), float(high))


def ema_model(
    base=None,
    overrides: dict | None = None,
    scale: float = 1.0,
    engine: str = "array",
    uncertainties: dict | None = None,
    levers: dict | None = None,
    outcomes=DEFAULT_OUTCOMES,
    replications: int = 1,
    name: str = "olsim",
    series=(),
):
    """An `ema_workbench.Model` (a `ReplicatorModel` if ``replications`` > 1) running this model.

    Args:
        base: a parameter file (path), or None for the baseline.
        overrides: dotted keys fixed for every experiment.
        scale: share of every host's workers simulated (totals in the outcomes are given at full scale).
        uncertainties, levers: dotted key -> (low, high) or a list of values.
        outcomes: names from the outcome registry.
        replications: seeds 0 .. replications-1, the same in every experiment (common random numbers).
        series: monthly columns returned as time series (one value a month, totals at full scale).
    """
    try:
        from ema_workbench import Model, ReplicatorModel, ScalarOutcome, TimeSeriesOutcome
    except ImportError:
        raise ParamsError("sim.ema needs the EMA Workbench: pip install 'overseas-labor-sim[ema]'") from None
    import numpy as np

    check_engine(engine)
    unknown = [o for o in outcomes if o not in OUTCOMES]
    if unknown:
        raise ParamsError(f"outcomes: unknown {', '.join(unknown)} (see sim.results.OUTCOMES)")
    if not 0 < scale <= 1:
        raise ParamsError(f"scale: must be in (0, 1], not {scale}")
    series = tuple(series)
    not_monthly = [c for c in series if c not in MONTHLY_COLUMNS or COLUMN[c].kind == "key"]
    if not_monthly:
        raise ParamsError(
            f"series: {', '.join(map(str, not_monthly))} not a monthly column (see sim.results.columns.MONTHLY_COLUMNS)"
        )
    if int(replications) < 1:
        raise ParamsError(f"replications: must be at least 1, not {replications}")
    raw = read_params_file(Path(base)) if base is not None else {}
    overrides = dict(overrides or {})
    # every parameter is checked once, at its bounds, before EMA runs anything
    for key, spec in {**(uncertainties or {}), **(levers or {})}.items():
        _parameter(key, spec)  # a malformed spec is named before anything is run
        for value in list(spec) if isinstance(spec, (list, set)) else spec:
            resolve_params(raw, {**overrides, key: value}, scale, f"{key}={value!r}")
    function = _Runner(raw, overrides, scale, engine, tuple(outcomes), series)
    if int(replications) > 1:
        model = ReplicatorModel(name, function=function)
        model.replications = [{"seed": k} for k in range(int(replications))]
        model.outcomes = [ScalarOutcome(o, function=np.mean) for o in outcomes] + [
            TimeSeriesOutcome(c, function=_mean_over_replications) for c in series
        ]
    else:
        model = Model(name, function=function)
        model.outcomes = [ScalarOutcome(o) for o in outcomes] + [TimeSeriesOutcome(c) for c in series]
    model.uncertainties = [_parameter(k, v) for k, v in (uncertainties or {}).items()]
    model.levers = [_parameter(k, v) for k, v in (levers or {}).items()]
    return model
