"""The no-sanctions world calibrated to the design brief's ranges (``olsim calibrate``, params/targets.toml):
rejection ABC over a Latin hypercube of the priors (see `sim.calibration`).

``search`` (the stages as experiments, the analysis of the accepted sets, the calibrated file) -> ``pipeline``
(the folder, the stages in order) -> ``report``.
"""
