"""Compiled code is never stale: numba keys a cached function on its own file, but a compiled loop includes the
code of the rules it calls; sim.core.compiled stamps every cached function of the package with a digest of all
the sources compiled code may include, so an edited rule reaches the loops that call it (issue 34, item 1)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

from conftest import ROOT

# a compiled loop of the array engine (kernels.alarm) calling a rule in another file (rules/minder.py: alarm_extra)
SCRIPT = """
import numpy as np
from sim.core.compiled import cached
from sim.engines.array import kernels
from sim.engines.array.state import MINDER_DTYPES, Minders, Table
fresh = cached(kernels.alarm)
ms = Table(Minders, MINDER_DTYPES)
ms.extend(1, {"vig_base": 0.2, "vig_extra": 0.1})
kernels.alarm(np.array([True]), ms.bundle, 0.3)
print(fresh, round(float(ms.view("vig_extra")[0]), 6))
"""
RULE = "    return min(1.0 - base, extra + boost)"


def test_an_edited_rule_reaches_the_compiled_loop_that_calls_it(tmp_path):
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "sim", copy / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(copy), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    env.pop("NUMBA_DISABLE_JIT", None)

    def run():
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stdout.split()

    rule = copy / "sim" / "core" / "rules" / "minder.py"
    assert RULE in rule.read_text()
    assert run() == ["False", "0.4"]  # compiled afresh: min(1 - 0.2, 0.1 + 0.3)
    assert run() == ["True", "0.4"]  # loaded from the cache
    rule.write_text(rule.read_text().replace(RULE, "    return min(1.0 - base, extra + 2 * boost)"))
    # numba alone would load the loop it cached, with the old rule inside, and print 0.4
    assert run() == ["False", "0.7"]
    assert run() == ["True", "0.7"]


def test_every_compiled_function_of_the_package_is_stamped_with_the_sources():
    from sim.core import compiled, rules
    from sim.engines.array import kernels
    from sim.results import tables

    files = set(compiled.compiled_files())
    dispatchers = [getattr(rules, name) for name in vars(rules.plain)]
    dispatchers += [
        f for f in vars(kernels).values() if hasattr(f, "py_func") and f.py_func.__module__ == kernels.__name__
    ]
    dispatchers.append(tables.flow_sums)
    assert len(dispatchers) > 40
    for d in dispatchers:
        locator = d._cache._impl.locator
        assert getattr(locator, "olsim", False), d.py_func.__qualname__
        assert locator.get_source_stamp()[1] == compiled.sources_digest()
        # every module, function or class of the package the compiled code names comes from a stamped file
        for name in d.py_func.__code__.co_names:
            obj = d.py_func.__globals__.get(name)
            module = obj if isinstance(obj, types.ModuleType) else sys.modules.get(getattr(obj, "__module__", "") or "")
            path = getattr(module, "__file__", None)
            if path and Path(path).resolve().is_relative_to(compiled.PACKAGE):
                assert Path(path).resolve() in files, f"{d.py_func.__qualname__} names {name} from {path}"
        assert (compiled.PACKAGE / d.py_func.__module__.split(".", 1)[1].replace(".", "/")).with_suffix(
            ".py"
        ) in files or (
            compiled.PACKAGE / d.py_func.__module__.split(".", 1)[1].replace(".", "/") / "__init__.py"
        ) in files
