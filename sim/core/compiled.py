"""How the rulebook is compiled: numba's `njit`, with its on-disk cache, no fastmath.

``NUMBA_DISABLE_JIT=1`` runs every rule as plain Python (slower, same results).
"""

from __future__ import annotations

import numba


def rule(function):
    """A rule of the rulebook, compiled on first use and cached on disk (IEEE arithmetic, no fastmath)."""
    return numba.njit(cache=True)(function)


kernel = rule  # the engines' compiled loops are compiled the same way
