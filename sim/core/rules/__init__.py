"""The rulebook: the behavioural equations, written once, called by both engines.

Every per-agent rule is a plain function of floats, compiled by numba
(`sim.core.compiled.rule`): the array engine calls the compiled build inside
its compiled loops over workers (`sim/engines/array/kernels.py`), the mesa
engine the plain-Python build (`plain`, below) for one
agent at a time. Where a decision combines several rules (the
month's take, the escape chances), the combination is one function here too,
so the engines cannot drift apart. Only + - * /, min, max, math.exp and
math.pow are used: numba and Python give the same bits for them.

The state's rules (plans, deployments, money channels) work on small numpy
arrays over hosts and are called the same way by both engines; so is the
drawing of a cohort's traits (`new_worker_attributes`).

The rules are kept in rooms by subject: `worker` (traits, work, side jobs, the threat, escape, death, contracts),
`minder` (pressure, side jobs granted, vigilance, alarms, informants), `money` (the remittance rule, the ledger,
the money's way home), `state` (plans, deployments, repatriation; arrays over hosts) and `common`. This package
gathers them: ``rules.remit`` wherever it lives, so callers never name the room.

The ODD (docs/ODD.md, "Submodels") states each equation in words.
"""

from __future__ import annotations

from .common import *  # noqa: F403  (every rule, from its room)
from .minder import *  # noqa: F403
from .money import *  # noqa: F403
from .state import *  # noqa: F403
from .worker import *  # noqa: F403
from . import common, minder, money, state, worker
from ..compiled import plain_function

ROOMS = (common, minder, money, state, worker)


def _plain_rulebook():
    """Every rule above as plain Python: the same code objects, calling each other's plain versions.

    The mesa engine calls these, one agent at a time: a plain call costs less than a call into compiled code
    from Python, and a reader can step through them. They give the compiled rules' results to the last bit
    (tests/test_rules.py). The array engine's compiled loops call the compiled rules.
    """
    import types

    namespace = {}
    for room in ROOMS:  # one namespace, as if the rules were one module: each calls the others' plain versions
        namespace.update(vars(room))
    names = [name for name, obj in namespace.items() if plain_function(obj) is not None]
    for name in names:
        f = plain_function(namespace[name])
        namespace[name] = types.FunctionType(f.__code__, namespace, name, f.__defaults__, f.__closure__)
    return types.SimpleNamespace(**{name: namespace[name] for name in names})


plain = _plain_rulebook()
