"""Figures: of runs (`overview`), of experiments and comparisons (`report`, `experiments`) and of calibrations.
They read results and the outcome registry only; the layers that produce those call them."""

from .calibration import calibration_figures
from .runs import overview

__all__ = ["calibration_figures", "overview"]
