"""overseas-labor-sim: an agent-based model of a state-run overseas labour system.

The package is layered; a layer imports only those above it in this list
(tests/test_architecture.py checks it):

- ``common``: plumbing (the user-facing error, strict schemas, TOML, formatting, files, provenance)
- ``core``: the model without an engine (parameters, rules, draws, policies, the state's books)
- ``results``: tables, the outcome registry, `Result`
- ``engines``: the mesa and array engines, and `run`
- ``plots``: figures
- ``explore``: experiments (files, sampling, evaluators, store, analysis)
- ``calibration``: targets, search, report
- ``ema``: the model as an EMA Workbench model (`sim.ema.ema_model`)
- ``classroom``: the interactive page
- ``cli``: the ``olsim`` command
"""

# The public names are imported when first used (module __getattr__): `import sim.cli` for `olsim --help` or
# `import sim.common...` does not pay for pydantic, numba, scipy and pandas.
_PUBLIC = {
    "Params": "core.params",
    "ParamsError": "common.errors",
    "Result": "results",
    "compare": "explore.comparison",
    "load_params": "core.params",
    "run": "engines",
    "__version__": "common.provenance",
}

__all__ = ["Params", "ParamsError", "Result", "compare", "load_params", "run", "__version__"]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'sim' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__():
    return sorted([*globals(), *_PUBLIC])
