"""The two engines of the same model, and `run`.

- ``mesa/``: the reference. Worker, Minder and State are mesa.Agent classes in
  a mesa.Model; each phase of the month is a method. The classroom page runs it.
- ``array/``: the same phases over numpy arrays of all agents, for full-scale
  runs and sweeps; docked to the reference (tests/test_docking.py).

Both call the same rulebook, policies, draws and state's books (`sim.core`) and
fill the same tables (`sim.results`). The engine modules are imported only when
a model is made: the array engine never pays for importing mesa.
"""

from .runner import ENGINES, check_memory, make_model, run

__all__ = ["ENGINES", "check_memory", "make_model", "run"]
