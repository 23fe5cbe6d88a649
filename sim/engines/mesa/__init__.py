"""The mesa engine: Worker, Minder and State (mesa.Agent) and the mesa.Model that runs the month."""

from .agents import Minder, State, Worker
from .model import OverseasLaborModel

__all__ = ["Minder", "OverseasLaborModel", "State", "Worker"]
