"""Experiments: scenarios (policy packages) x samples (points of the uncertainties) x replicates.

``spec`` (the file's schema) -> ``plan`` (tasks, sampling through SALib) ->
``evaluators`` (this process, a local pool, Dask) running ``tasks`` -> ``store``
(one file per finished run, resumable) -> ``analysis`` (intervals, paired
differences, Sobol and Morris indices). ``runner.run_experiment`` does it all.
"""

# Imported on first use (module __getattr__), so that `sim.explore.evaluators` can start the local pool's fork
# server before the rest (pandas, scipy, the parameters) is imported: the two then load side by side.
_PUBLIC = {
    "ExperimentResult": "analysis",
    "Plan": "plan",
    "load_experiment": "plan",
    "plan_experiment": "plan",
    "run_experiment": "runner",
}

__all__ = ["ExperimentResult", "Plan", "load_experiment", "plan_experiment", "run_experiment"]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'sim.explore' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_PUBLIC])
