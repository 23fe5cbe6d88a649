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

from .common.errors import ParamsError
from .common.provenance import __version__
from .core.params import Params, load_params
from .engines import run
from .results import Result

__all__ = ["Params", "ParamsError", "Result", "load_params", "run", "__version__"]
