"""How the rulebook is compiled: numba's `njit`, with its on-disk cache, no fastmath.

``NUMBA_DISABLE_JIT=1`` runs every rule as plain Python (slower, same results).
"""

from __future__ import annotations

from typing import Any

import numba


_RULES: dict[int, object] = {}  # the plain functions behind the compiled rules, by id


def rule(function):
    """A rule of the rulebook, compiled on first use and cached on disk (IEEE arithmetic, no fastmath)."""
    _RULES[id(function)] = function
    return numba.njit(cache=True)(function)


def plain_function(obj):
    """The plain Python function behind a compiled rule (itself, with NUMBA_DISABLE_JIT=1); None for anything else."""
    function = getattr(obj, "py_func", obj)
    return function if _RULES.get(id(function)) is function else None


kernel = rule  # the engines' compiled loops are compiled the same way (a helper called inside a loop over workers
# takes numbers, never a bundle of arrays: a call passes each array of a bundle with a reference count, per worker)


def cached(dispatcher) -> bool:
    """Whether a compiled function's machine code is already in numba's on-disk cache (so the first call is quick)."""
    cache = getattr(dispatcher, "_cache", None)
    path = getattr(cache, "_cache_path", None)
    if path is None:
        return True  # not compiled (NUMBA_DISABLE_JIT) or no cache to speak of
    from pathlib import Path

    module = dispatcher.py_func.__module__.rsplit(".", 1)[-1]
    return any(Path(path).glob(f"{module}.{dispatcher.py_func.__name__}-*.nbi"))


_LOADING: dict[str, Any] = {"seconds": 0.0, "functions": 0, "hooked": False}


def loading_seconds() -> tuple[float, int]:
    """(seconds, functions): the time this process has spent loading compiled code from numba's on-disk cache, and
    how many functions it loaded, since the first call of this function (which starts counting: it wraps numba's
    cache loader; a function compiled afresh is not counted). For ``olsim run --profile``'s time to the first month."""
    if not _LOADING["hooked"]:
        _LOADING["hooked"] = True
        try:
            from numba.core.caching import Cache
        except ImportError:  # pragma: no cover - another numba layout: nothing is counted
            return 0.0, 0
        load = Cache.load_overload

        def timed_load(self, *args, **kwargs):
            import time

            t0 = time.perf_counter()
            try:
                out = load(self, *args, **kwargs)
            finally:
                _LOADING["seconds"] += time.perf_counter() - t0
            _LOADING["functions"] += out is not None
            return out

        Cache.load_overload = timed_load  # type: ignore[method-assign]  # counting numba's cache loads
    return _LOADING["seconds"], _LOADING["functions"]
