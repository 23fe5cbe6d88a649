"""The array engine: the month's phases over numpy arrays of all workers and minders."""

from .model import ArrayModel

__all__ = ["ArrayModel"]
