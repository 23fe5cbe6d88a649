"""What the local pool's fork server loads before it forks the pool's workers (`evaluators`), imported there
once: every module a run imports, and the compiled code, loaded from numba's cache by running a tiny
population for one month. Each worker forked from the server then starts its first run at once, instead of
importing the model and loading the compiled code itself (about 1.5 s a process, which is what made a 2-process
pool no faster than one process on a small experiment). Importing this module is what does it; nothing else
imports it.
"""

from __future__ import annotations

from ..core.params import load_params, make_params, params_to_dict
from ..engines.runner import make_model
from ..results.outcomes import distributions_of, outcomes_of  # noqa: F401 - for the workers: imported once here
from .tasks import run_task  # noqa: F401


def warm(engine: str = "array") -> None:
    """Build and step a model of a few workers for a month: numba loads the compiled rules and loops on first call."""
    d = params_to_dict(load_params())
    for host in d["hosts"].values():
        host["workers"] = 3
    d["calendar"].update(months=1, warmup=0)
    model = make_model(make_params(d), engine, seed=0)
    model.step()
    model.workers_table()


try:
    warm()
except Exception:  # pragma: no cover - a warm-up is an optimisation: a worker that is not warm loads the code itself
    pass
