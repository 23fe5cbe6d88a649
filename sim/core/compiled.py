"""How the rulebook is compiled: numba's `njit`, with its on-disk cache, no fastmath.

``NUMBA_DISABLE_JIT=1`` runs every rule as plain Python (slower, same results).

The cache cannot go stale: numba keys a function's cached machine code on its own file only, but a compiled loop
includes the code of every rule it calls, from other files. So every function compiled from this package is
stamped with a digest of all the sources compiled code may include (`COMPILED_SOURCES`): an edit to any of them
(a rule, a draw, a declaration, the engine's loops) makes each cached function compile afresh on its next use.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import numba

PACKAGE = Path(__file__).resolve().parents[1]  # sim/
# where compiled code and everything it calls or reads as a constant is written (folders searched recursively, or
# files): the rulebook, the draws, this file, the worker's declaration (its codes are compiled in as constants), the
# array engine, the tables' compiled sums. tests/test_compiled_cache.py checks that every module a compiled function
# names is among them.
COMPILED_SOURCES = (
    "core/rules",
    "core/draws.py",
    "core/compiled.py",
    "core/workers.py",
    "engines/array",
    "results/tables.py",
)


def compiled_files() -> list[Path]:
    """The source files whose code compiled functions may include, in a fixed order."""
    files: set[Path] = set()
    for part in COMPILED_SOURCES:
        path = PACKAGE / part
        files.update(path.rglob("*.py") if path.is_dir() else [path])
    return sorted(files)


@functools.lru_cache(maxsize=None)
def sources_digest() -> str:
    """A digest of every file compiled code may include (names and contents); computed once a process."""
    h = hashlib.sha256()
    for path in compiled_files():
        h.update(path.relative_to(PACKAGE).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def _ours(py_file: str) -> bool:
    try:
        return Path(py_file).resolve().is_relative_to(PACKAGE)
    except (OSError, ValueError):
        return False


def _install_cache_stamp() -> None:
    """Stamp the on-disk cache of this package's compiled functions with `sources_digest` as well as their own
    file (numba's documented extension point: a cache locator's source stamp), keeping where numba puts it."""
    try:
        from numba.core import caching

        bases = (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator, caching.UserWideCacheLocator)
        classes = caching.CacheImpl._locator_classes
    except AttributeError:  # pragma: no cover - another numba layout: tests/test_compiled_cache.py fails on it
        return
    if any(getattr(c, "olsim", False) for c in classes):
        return

    def stamped(base):
        class Stamped(base):  # numba's locator classes, chosen at run time
            olsim = True

            def get_source_stamp(self):
                return (super().get_source_stamp(), sources_digest())

            @classmethod
            def from_function(cls, py_func, py_file):
                return super().from_function(py_func, py_file) if _ours(py_file) else None

        Stamped.__name__ = Stamped.__qualname__ = f"Stamped{base.__name__}"
        return Stamped

    classes[:0] = [stamped(base) for base in bases]


_install_cache_stamp()


_RULES: dict[int, object] = {}  # the plain functions behind the compiled rules, by id


def rule(function, nogil: bool = False):
    """A rule of the rulebook, compiled on first use and cached on disk (IEEE arithmetic, no fastmath); ``nogil``:
    it lets go of Python's global lock while it runs (`helper_kernel`)."""
    _RULES[id(function)] = function
    return numba.njit(cache=True, nogil=nogil)(function)


def plain_function(obj):
    """The plain Python function behind a compiled rule (itself, with NUMBA_DISABLE_JIT=1); None for anything else."""
    function = getattr(obj, "py_func", obj)
    return function if _RULES.get(id(function)) is function else None


def numba_disabled() -> bool:
    """Whether compiled functions run as plain Python (``NUMBA_DISABLE_JIT=1``): a loop meant to be compiled may
    then have a quicker numpy equivalent."""
    from numba.core import config

    return bool(getattr(config, "DISABLE_JIT", False))


def helper_kernel(function):
    """A compiled loop run in a helper thread (`sim.results.tables`: a month's distribution sorted beside the next
    month): it lets go of Python's global lock while it runs, so that the main thread's Python goes on meanwhile
    (held, a 1.3 ms sort stalled every month's bookkeeping by as long). It touches no Python object."""
    return rule(function, nogil=True)


kernel = rule  # the engines' compiled loops are compiled the same way (a helper called inside a loop over workers
# takes numbers, never a bundle of arrays: a call passes each array of a bundle with a reference count, per worker)


def cached(dispatcher) -> bool:
    """Whether a compiled function's machine code is in numba's on-disk cache and fresh (so the first call is
    quick): an index whose stamp matches the sources now."""
    cache: Any = getattr(dispatcher, "_cache", None)
    if getattr(cache, "_cache_path", None) is None:
        return True  # not compiled (NUMBA_DISABLE_JIT) or no cache to speak of
    try:
        return bool(cache._cache_file._load_index())
    except Exception:  # pragma: no cover - another numba layout: say it is not, the notice is only a notice
        return False


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
