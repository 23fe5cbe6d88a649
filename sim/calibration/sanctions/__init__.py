"""The sanctions era calibrated by ABC-SMC (``olsim calibrate params/targets_sanctions.toml``, docs/ODD.md 8.7).

``targets`` (the file's schema: fit and held-out facts, the distance) -> ``fit`` (ABC-SMC on the experiment
machinery, the posterior file, the calibrated history) -> ``pipeline`` (the whole calibration in one folder) ->
``report`` (the posterior predictive check and report.md).
"""
