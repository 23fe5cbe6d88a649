"""Calibration: bring the no-sanctions run into the documented ranges, and say what that pins down.

The targets (params/targets.toml) are *ranges* gathered from sources that
disagree by up to a factor of ten, not point measurements with known errors.
So the method is rejection approximate Bayesian computation with a uniform
kernel on those ranges -- the "filtering" of pattern-oriented modelling
(Grimm et al. 2005) and the non-implausible set of history matching:

1. **search**: draw ``budget`` parameter sets from the priors (a Latin
   hypercube through SALib, one experiment), run each with ``replicates``
   seeds (common random numbers: replicate k uses seed + k for every set) at a
   reduced ``scale`` on the array engine;
2. **accept** every set whose replicate mean lands inside *every* range; the
   accepted sets are the posterior sample. Their spread against the prior's
   says which parameters the targets pin down and which they leave loose;
3. **choose** the accepted set nearest the centre of all ranges (the root mean
   square of each target's position in its range, -1 at the low end, +1 at the
   high end, on a log scale for ranges wider than a factor of 4) and write it
   as a complete parameter file (params/calibrated.toml);
4. **check** it at full scale with fresh seeds (confirm/): each target's mean
   and 95% interval, beside the uncalibrated defaults;
5. **validate** out of sample (validation/): the history scenario with the
   calibrated values against the reported figures of the 2017 resolutions'
   aftermath, which the search never saw.

Every stage is an experiment folder (sim.explore), so it runs on the same
evaluators (in-process, a local pool, or Dask) and resumes the same way.

The package holds one subpackage per calibration and, beside them, what both use:

- ``targets`` (a targets file's schema: target ranges, priors, validation
  facts), ``measures`` (positions in ranges, the facts' measures), ``smc``
  (the ABC-SMC algorithm, model-free), ``validate`` (``python -m
  sim.calibration.validate``: the validation facts on any scenarios),
  ``folder`` (a calibration's folder, the calibrated file's marker);
- ``no_sanctions/``: this calibration (``search`` -> ``pipeline`` -> ``report``);
- ``sanctions/``: the sanctions era by ABC-SMC (``targets`` -> ``fit`` ->
  ``pipeline`` -> ``report``; ``olsim calibrate params/targets_sanctions.toml``).
"""

from .measures import distance, evaluate, measure, miss, position
from .no_sanctions.pipeline import Calibration, run_calibration
from .no_sanctions.report import summary_lines
from .targets import Targets, load_targets

__all__ = [
    "Calibration",
    "Targets",
    "distance",
    "evaluate",
    "load_targets",
    "measure",
    "miss",
    "position",
    "run_calibration",
    "summary_lines",
]
