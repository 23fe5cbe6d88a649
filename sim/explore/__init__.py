"""Experiments: scenarios (policy packages) x samples (points of the uncertainties) x replicates.

``spec`` (the file's schema) -> ``plan`` (tasks, sampling through SALib) ->
``evaluators`` (this process, a local pool, Dask) running ``tasks`` -> ``store``
(one file per finished run, resumable) -> ``analysis`` (intervals, paired
differences, Sobol and Morris indices). ``runner.run_experiment`` does it all.
"""

from .analysis import ExperimentResult
from .plan import Plan, load_experiment, plan_experiment
from .runner import run_experiment

__all__ = ["ExperimentResult", "Plan", "load_experiment", "plan_experiment", "run_experiment"]
