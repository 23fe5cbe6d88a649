"""Mutation testing of the model's core (issue 19, item 4): run by hand, not in CI.

    python benchmarks/mutation.py                  # from the repository root; about 30 minutes on 2 cores
    python benchmarks/mutation.py --max-children 2 --show
    python benchmarks/mutation.py --report-only    # the table of the last run again
    python benchmarks/mutation.py --readme         # and then check the survivors against the README's figures
    python benchmarks/mutation.py --report-only --readme   # that check alone, on the last run (about 10 s a mutant)
    python benchmarks/mutation.py --readme-report  # the last check's table again

Mutates the rulebook (``sim/core/rules/``), ``sim/core/policies.py``, ``sim/core/state_books.py``, the
aggregation and the outcomes (``sim/results/``), the analyst's report and the experiment's statistics
(``sim/explore/report.py``, ``sim/explore/analysis.py``) with mutmut 3.2 and runs a fast subset of the tests
(``TESTS`` below) against each mutant, then prints, per module, the mutants, how many the tests killed, how many
survived, the rest (timeouts, mutants no selected test reaches, not checked), the score (killed / mutants) and the
survivors. With ``--readme``, each mutant the tests let live is then applied to a copy of the package and the
figures the README quotes are recomputed (``benchmarks/readme_figures.py``: the summary block, the runs behind the
policy table, the pictured comparison's report) and compared with the unmutated code's, exactly: the table says
how many survivors change a figure a reader sees, and names them.

mutmut 3.2 reads its settings only from ``setup.cfg`` (``do_not_mutate``, ``also_copy``, ``max_stack_depth``; no
``[tool.mutmut]``, no ``paths_to_mutate``), finds the code to mutate by guessing (``lib``, ``src`` or a folder named
like the current one) and runs every test it can find. So this script builds a staging copy,
``build/mutation/sim/`` (``build/`` is ignored by git), holding the package, the selected tests, the parameter
and experiment files, pyproject.toml, a pytest.ini and a setup.cfg, and runs ``mutmut run`` there; nothing in
the checkout is touched. Afterwards, for a closer look::

    cd build/mutation/sim && mutmut show <mutant name>       # or: mutmut browse

Numba is off (``NUMBA_DISABLE_JIT=1``): mutmut's trampolines cannot be compiled, and with the JIT off every rule
runs as the plain Python the tests check anyway. Changes to the staged copy only, none changing what the code
does, each working around mutmut 3.2:

* ``@rule`` / ``@kernel`` functions are written ``def f(...)`` then ``f = rule(f)``: mutmut 3.2 skips decorated
  functions, and these are the per-agent equations;
* the pydantic policy classes get ``ignored_types=(dict,)``: mutmut puts each method's table of mutants on its
  class as an unannotated dict, which pydantic would reject as a field without a type;
* each method's mutants are bound to ``self`` (`generate_mutants`): mutmut 3.2 calls them unbound, so every
  mutant of a method would die of a TypeError, whatever it changed;
* the staged ``tests/conftest.py`` gets a guard that stops the run unless ``sim`` is imported from mutmut's
  ``mutants/`` copy; records each test's whole duration (mutmut 3.2 keeps the teardown's, ~0 s, and limits a
  mutant's CPU time to twice that plus 2 s); ends a mutant's run that reaches its CPU limit as a timeout (mutmut
  3.2 records a run killed by a signal as survived); and gives pytest 9's items the ``_nodeid`` mutmut reads.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "mutation" / "sim"  # named like the package: mutmut 3.2 then mutates ./sim
MUTATED = (
    "sim/core/rules/common.py",
    "sim/core/rules/worker.py",
    "sim/core/rules/minder.py",
    "sim/core/rules/money.py",
    "sim/core/rules/state.py",
    "sim/core/policies.py",
    "sim/core/state_books.py",
    "sim/results/tables.py",
    "sim/results/columns.py",
    "sim/results/outcomes.py",
    "sim/explore/report.py",
    "sim/explore/analysis.py",
)
# fast tests that reach the core directly (each mutant runs only the ones that call the mutated function, fastest
# first); no simulation: with the JIT off even a small run takes seconds, and each mutant would pay for it
TESTS = (
    "tests/test_tables_by_value.py",
    "tests/test_state_books_by_value.py",
    "tests/test_rules_by_value.py",
    "tests/test_levers_by_value.py",
    "tests/test_statistics_by_hand.py",
    "tests/test_outcome_declarations.py",
    "tests/test_outcome_values.py",  # every outcome by value on a run worked out by hand
    "tests/test_recruitment.py",  # the pipeline's books by value (its runs are left out below)
    "tests/test_rules.py",
    "tests/test_policy_words.py",  # every kind described from its declaration, by value (no run)
    "tests/test_params.py",  # the policies' and parameters' validation (no run)
    "tests/test_pay.py",  # coupons and paydays by value (its runs are small: under half a second each)
    "tests/test_tenure_rules.py",  # contract extensions by value (its run is left out below)
    "tests/test_sectors.py",  # the sectoral measures' levers by value (cells, bans, checks, freezes)
    "tests/test_report_by_value.py",  # the analyst's report by value on synthetic experiments (no run)
    "tests/test_analysis_by_value.py",  # the experiment's statistics and the policy table by value (no run)
)
ALSO_COPY = ("params", "experiments", "docs", "pyproject.toml", "pytest.ini")  # docs: the staged ODD.md alone
DECORATORS = ("rule", "kernel", "helper_kernel")  # sim.core.compiled's decorators

# slow tests left out (with the JIT off a random-parameter run of the array engine takes seconds per example)
DESELECT = (
    "tests/test_tenure_rules.py::test_in_a_run_completers_served_their_contract_and_whole_extensions_and_about_the_chance_extend",
    "tests/test_identities.py::test_identities_hold_over_random_valid_parameters",
    "tests/test_recruitment.py::test_in_a_run_each_posting_was_approved_selection_months_before",
    "tests/test_recruitment.py::test_in_a_run_minders_send_home_less_when_nobody_waits_and_the_same_with_the_pipeline_off",
    "tests/test_recruitment.py::test_in_a_run_entry_bribes_of_those_posted_after_the_tightening_are_multiplied",
    "tests/test_recruitment.py::test_the_tables_count_the_target_workforce_and_the_posts_left_empty_follow",
)

GUARD = """
# ---- added by benchmarks/mutation.py (the staged copy only) ----
import os as _os
import resource as _resource
import signal as _signal
from pathlib import Path as _Path

import sim
import sim.core.rules

# stop the run unless the tests import the mutated copy of sim
_HERE = _Path(__file__).resolve().parents[1]
if not _Path(sim.__file__).resolve().is_relative_to(_HERE) or not hasattr(sim.core.rules, "x_next_plans__mutmut_orig"):
    raise RuntimeError(f"mutation testing: sim is imported from {sim.__file__}, not from the mutants in {_HERE}")

_DURATION = {}


def pytest_collection_modifyitems(items):
    # mutmut 3.2 reads item._nodeid, which newer pytest no longer has
    for item in items:
        if not hasattr(item, "_nodeid"):
            item._nodeid = item.nodeid


def pytest_sessionstart(session):
    # in a mutant's run: mutmut limits its CPU time (soft = hard, so the kernel sends SIGKILL, which mutmut 3.2
    # records as "survived"); a soft limit a second earlier lets it end as mutmut's "timeout" (exit code 36)
    if _os.environ.get("MUTANT_UNDER_TEST", "").startswith("sim."):
        # a failure's report without pytest's source excerpts: they parse the mutated module, tens of thousands of
        # lines of mutants (seconds per failure, and mutmut 3.2 ends any run longer than about 4 s as a timeout)
        session.config.option.tbstyle = "no"
        soft, hard = _resource.getrlimit(_resource.RLIMIT_CPU)
        if hard != _resource.RLIM_INFINITY and hard > 1:
            _signal.signal(_signal.SIGXCPU, lambda *_: _os._exit(36))
            _resource.setrlimit(_resource.RLIMIT_CPU, (hard - 1, hard))


import pytest as _pytest


@_pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # mutmut 3.2 keeps the last phase's duration (the teardown's, ~0 s) as the test's, and so limits each mutant's
    # run to ~2 s of CPU; record the whole test (setup + call + teardown) instead (a wrapper: after mutmut's hook)
    report = yield
    if _os.environ.get("MUTANT_UNDER_TEST") == "stats":
        import mutmut

        _DURATION[item.nodeid] = _DURATION.get(item.nodeid, 0.0) + call.duration
        mutmut.duration_by_test[item.nodeid] = _DURATION[item.nodeid]
    return report
"""


def fail(message: str) -> None:
    print(f"mutation.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def undecorate(source: str) -> str:
    """Each module-level ``@rule``/``@kernel`` function as a plain ``def`` followed by ``f = rule(f)``."""
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    found = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and len(node.decorator_list) == 1
        and isinstance(node.decorator_list[0], ast.Name)
        and node.decorator_list[0].id in DECORATORS
    ]
    for node in reversed(found):  # bottom up, so the line numbers above stay valid
        deco = node.decorator_list[0]
        lines.insert(node.end_lineno, f"{node.name} = {deco.id}({node.name})\n")
        del lines[deco.lineno - 1]
    out = "".join(lines)
    ast.parse(out)
    return out


def allow_mutant_tables(source: str) -> str:
    """Let pydantic models hold mutmut's per-method mutant tables (plain dicts on the class)."""
    out, n = re.subn(
        r"^(class PolicyBase\(Strict\):\n(    \"\"\".*?\"\"\"\n)?)",
        '\\1\n    model_config = {"ignored_types": (dict,)}  # staged copy only: mutmut\'s tables of mutants\n',
        source,
        count=1,
        flags=re.M | re.S,
    )
    if n != 1:
        fail("sim/core/policies.py: class PolicyBase(Strict) not found (update allow_mutant_tables)")
    return out


def stage(tests) -> None:
    """The staging copy: the package (mutated modules prepared), the selected tests, setup.cfg, the guard."""
    if STAGE.parent.exists():
        shutil.rmtree(STAGE.parent)
    STAGE.mkdir(parents=True)
    shutil.copytree(ROOT / "sim", STAGE / "sim", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_shipped"))
    for name in MUTATED:
        path = STAGE / name
        text = undecorate(path.read_text(encoding="utf-8"))
        if name.endswith("policies.py"):
            text = allow_mutant_tables(text)
        path.write_text(text, encoding="utf-8")
    (STAGE / "tests").mkdir()
    if (ROOT / "tests" / "__init__.py").is_file():
        shutil.copy(ROOT / "tests" / "__init__.py", STAGE / "tests" / "__init__.py")
    conftest = ROOT / "tests" / "conftest.py"
    shared = conftest.read_text(encoding="utf-8") if conftest.is_file() else ""
    (STAGE / "tests" / "conftest.py").write_text(
        shared + "\n\n" + GUARD, encoding="utf-8"
    )  # one conftest: mutmut ignores import mismatches
    for test in tests:
        if not (ROOT / test).is_file():
            fail(f"{test}: no such test file")
        shutil.copy(ROOT / test, STAGE / "tests" / Path(test).name)
    for name in ("params", "experiments"):
        shutil.copytree(ROOT / name, STAGE / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", STAGE / "pyproject.toml")  # sim.common.shipped reads params/ beside it
    (STAGE / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "ODD.md", STAGE / "docs" / "ODD.md")  # the ODD's tables are checked against the code
    # pytest reads pytest.ini before pyproject.toml: the tests, and the ones left out
    ini = ["[pytest]", "testpaths = tests", "addopts = -p no:cacheprovider"] + [f"    --deselect {t}" for t in DESELECT]
    (STAGE / "pytest.ini").write_text("\n".join(ini) + "\n", encoding="utf-8")
    # mutmut walks only the .py files of sim/: the package's data files are copied in as they are
    data = sorted(str(p.relative_to(STAGE)) for p in (STAGE / "sim").rglob("*") if p.is_file() and p.suffix != ".py")
    others = sorted(
        str(p.relative_to(STAGE)) for p in (STAGE / "sim").rglob("*.py") if str(p.relative_to(STAGE)) not in MUTATED
    )
    cfg = ["[mutmut]", "do_not_mutate ="] + [f"    {p}" for p in others]
    cfg += ["also_copy ="] + [f"    {p}" for p in (*ALSO_COPY, *data)]
    (STAGE / "setup.cfg").write_text("\n".join(cfg) + "\n", encoding="utf-8")


# mutmut 3.2 calls a method's mutants unbound (``mutants[name](*args)``, without ``self``), so every mutant of a
# method would die of a TypeError whatever it changes; the staged mutants get their table bound to ``self``
BIND = """
class _MutmutBound:  # added by benchmarks/mutation.py: a method's mutants, bound to the instance
    def __init__(self, obj, table):
        self.obj, self.table = obj, table

    def __getitem__(self, name):
        return self.table[name].__get__(self.obj)

"""
METHOD_TABLE = re.compile(r'object\.__getattribute__\(self, "([^"]+__mutmut_mutants)"\)')


def generate_mutants(env) -> None:
    """Let mutmut write the mutants (as ``mutmut run`` would), then bind each method's mutants to ``self``; the
    files keep mutmut's timestamps, so ``mutmut run`` takes them as up to date."""
    code = (
        "from mutmut.__main__ import read_config, create_mutants, copy_also_copy_files\n"
        "read_config(); create_mutants(); copy_also_copy_files()"
    )
    if subprocess.call([sys.executable, "-c", code], cwd=STAGE, env={**env, "MUTANT_UNDER_TEST": "mutant_generation"}):
        fail("mutmut could not write the mutants")
    for name in MUTATED:
        path = STAGE / "mutants" / name
        stat = path.stat()
        text = path.read_text(encoding="utf-8")
        text, n = METHOD_TABLE.subn(r'_MutmutBound(self, object.__getattribute__(self, "\1"))', text)
        if n:
            at = text.index("from inspect import signature as _mutmut_signature")
            text = text[:at] + BIND + text[at:]
            ast.parse(text)
            path.write_text(text, encoding="utf-8")
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def environment() -> dict:
    env = dict(os.environ)
    env["NUMBA_DISABLE_JIT"] = "1"
    env.pop("PYTHONPATH", None)  # mutmut puts mutants/ first on sys.path; nothing else may shadow it
    env["PYTHONHASHSEED"] = "0"
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = env["MKL_NUM_THREADS"] = "1"
    return env


def results() -> dict[str, dict[str, int]]:
    """Per mutated module: mutant name -> mutmut's exit code (from mutmut's .meta files)."""
    out = {}
    for name in MUTATED:
        meta = STAGE / "mutants" / (name + ".meta")
        if not meta.is_file():
            fail(f"{meta}: mutmut wrote no results for {name}")
        out[name] = json.loads(meta.read_text())["exit_code_by_key"]
    return out


def status(code) -> str:
    from mutmut.__main__ import status_by_exit_code

    return status_by_exit_code.get(code, f"exit code {code}")


_FUNCTIONS: dict[str, dict[str, str]] = {}


def mutated_line(mutant: str, module: str) -> str:
    """The lines a mutant changes, as in the staged copy (``mutmut show`` gives the whole diff)."""
    import difflib

    if module not in _FUNCTIONS:
        source = (STAGE / "mutants" / module).read_text(encoding="utf-8")
        lines = source.splitlines(keepends=True)  # once: ast.get_source_segment splits the file at every call
        found = {}
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef) and "__mutmut_" in node.name:
                found[node.name] = "".join(lines[node.lineno - 1 : node.end_lineno])
        _FUNCTIONS[module] = found
    name = mutant.rpartition(".")[2]
    functions = _FUNCTIONS[module]
    orig, new = functions.get(name.rpartition("__mutmut_")[0] + "__mutmut_orig"), functions.get(name)
    if orig is None or new is None:
        return "(diff not found)"
    a, b = orig.splitlines()[1:], new.splitlines()[1:]  # the def lines differ by name only
    changed = [line.strip() for line in difflib.ndiff(a, b) if line.startswith("+ ")]
    return " | ".join(changed)[:160] or "(a line removed)"


def report(codes: dict[str, dict[str, int]], show: bool) -> int:
    rows, survivors, unresolved = [], [], {}
    for name, by_mutant in codes.items():
        states = {m: status(c) for m, c in by_mutant.items()}
        killed = sum(s == "killed" for s in states.values())
        survived = sum(s == "survived" for s in states.values())
        rows.append((name, len(states), killed, survived, len(states) - killed - survived))
        survivors += [(m, name) for m, s in sorted(states.items()) if s == "survived"]
        for m, s in sorted(states.items()):
            if s not in ("killed", "survived"):
                unresolved.setdefault(s, []).append(m)
    total = ("total", *(sum(r[i] for r in rows) for i in range(1, 5)))
    print(f"\n{'module':<26} {'mutants':>7} {'killed':>7} {'survived':>8} {'timeout/other':>13} {'score %':>8}")
    for r in (*rows, total):
        score = 100.0 * r[2] / r[1] if r[1] else float("nan")
        print(f"{r[0]:<26} {r[1]:>7} {r[2]:>7} {r[3]:>8} {r[4]:>13} {score:>8.1f}")
    print(f"\nsurvivors ({len(survivors)}):")
    for mutant, module in survivors:
        print(f"  {mutant}" + (f"\n      {mutated_line(mutant, module)}" if show else ""))
    for state, mutants in unresolved.items():
        print(f"\n{state} ({len(mutants)}):")
        for mutant in mutants[:50]:
            print(f"  {mutant}")
        if len(mutants) > 50:
            print(f"  ... and {len(mutants) - 50} more")
    print(f"\n(cd {STAGE.relative_to(ROOT)} && mutmut show <name>) shows a mutant's diff against the staged copy")
    return 0


README = STAGE.parent / "readme"  # --readme: a copy of the staged package per process, each mutant applied in turn
README_STATES = ("survived", "no tests")  # the mutants the tests let live


def _readme_figures(work: Path, out: Path) -> str | None:
    """Run benchmarks/readme_figures.py on the package in ``work``; None if it ran, else its error's last line."""
    env = {**os.environ, "PYTHONPATH": str(work), "PYTHONHASHSEED": "0"}
    env.pop("NUMBA_DISABLE_JIT", None)  # compiled as users run it (each mutant's kernels compile afresh)
    cmd = [sys.executable, str(ROOT / "benchmarks" / "readme_figures.py"), str(out)]
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        return (done.stderr.strip().splitlines() or ["exit code %d" % done.returncode])[-1][:160]
    return None


def apply_mutant(work: Path, mutant: str, module: str) -> str | None:
    """Write ``mutant`` into ``work``'s copy of ``module``: the original function or method replaced by the mutated
    one, named as it was (mutmut 3.2's own ``apply`` finds only functions at a module's top level). None when
    written, else why not."""
    name = mutant.rpartition(".")[2]  # x_f__mutmut_3, or xǁClassǁmethod__mutmut_3
    target = name.rpartition("__mutmut_")[0]
    cls, _, func = target.removeprefix("x").partition("ǁ")[2].partition("ǁ") if "ǁ" in target else ("", "", target[2:])
    source = (STAGE / "mutants" / module).read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    found = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef) and n.name == name]
    if not found:
        return "its mutated function is not in mutmut's copy"
    new = lines[found[0].lineno - 1 : found[0].end_lineno]
    new[0] = new[0].replace(f"def {name}(", f"def {func}(", 1)
    path = work / module
    orig = path.read_text(encoding="utf-8")
    olines = orig.splitlines(keepends=True)
    tree = ast.parse(orig)
    scope = tree.body
    if cls:
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls]
        if not classes:
            return f"class {cls} not found"
        scope = classes[0].body
    defs = [n for n in scope if isinstance(n, ast.FunctionDef) and n.name == func]
    if not defs:
        return f"{cls + '.' if cls else ''}{func} not found"
    d = defs[0]
    indent = len(olines[d.lineno - 1]) - len(olines[d.lineno - 1].lstrip())
    have = len(new[0]) - len(new[0].lstrip())
    if have != indent:  # mutmut's copy at another depth: move it to the original's
        new = [(" " * indent + line[have:]) if line.strip() else line for line in new]
    text = "".join(olines[: d.lineno - 1] + new + olines[d.end_lineno :])
    ast.parse(text)
    path.write_text(text, encoding="utf-8")
    return None


def readme_check(codes: dict[str, dict[str, int]], processes: int, show: bool) -> int:
    """For each mutant the tests let live: apply it to a copy of the staged package (`apply_mutant`), recompute
    the figures the README quotes (`benchmarks/readme_figures.py`: the summary block, the policy table's runs, the
    pictured comparison's report) and compare them with the unmutated code's, exactly."""
    from concurrent.futures import ThreadPoolExecutor

    todo = [(m, module) for module, by in codes.items() for m, c in sorted(by.items()) if status(c) in README_STATES]
    if README.exists():
        shutil.rmtree(README)
    base = README / "base" / "sim"  # each copy in a folder named like the package
    for name in ("sim", "params", "experiments", "docs"):
        shutil.copytree(STAGE / name, base / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.cfg"):
        shutil.copy(STAGE / name, base / name)
    error = _readme_figures(base, README / "base.json")
    if error:
        fail(f"the unmutated figures could not be computed: {error}")
    expected = json.loads((README / "base.json").read_text())
    works = []
    for i in range(processes):
        work = README / f"w{i}" / "sim"
        shutil.copytree(base, work)
        works.append(work)
    print(f"README figures: {len(todo)} mutants the tests let live, {processes} at a time")

    def check(job):
        i, (mutant, module) = job
        work = works[i % processes]
        with locks[i % processes]:
            target = work / module
            shutil.copy(base / module, target)
            why = apply_mutant(work, mutant, module)
            if why or target.read_text() == (base / module).read_text():
                shutil.copy(base / module, target)
                return mutant, module, [f"not applied: {why or 'unchanged'}"]
            out = work / "figures.json"
            out.unlink(missing_ok=True)
            try:
                error = _readme_figures(work, out)
            except subprocess.TimeoutExpired:
                error = "timed out (10 minutes)"
            finally:
                shutil.copy(base / module, target)
            if error:
                return mutant, module, [f"error: {error}"]
            got = json.loads(out.read_text())
            return mutant, module, [k for k in expected if got.get(k) != expected[k]]

    import threading

    locks = [threading.Lock() for _ in range(processes)]
    t0 = time.monotonic()
    found = []
    with ThreadPoolExecutor(processes) as pool:
        for n, (mutant, module, changed) in enumerate(pool.map(check, enumerate(todo)), 1):
            found.append((mutant, module, changed))
            if n % 10 == 0 or n == len(todo):
                print(f"  {n} of {len(todo)} checked, {time.monotonic() - t0:.0f} s", flush=True)
    (README / "results.json").write_text(json.dumps(found, indent=1))
    return readme_report(found, show)


def readme_report(found: list, show: bool) -> int:
    by_module: dict[str, list] = {}
    for mutant, module, changed in found:
        by_module.setdefault(module, []).append((mutant, changed))
    print(f"\n{'module':<26} {'checked':>7} {'change a README figure':>22} {'error':>6}")
    bad = []
    for module, rows in by_module.items():
        moved = [(m, c) for m, c in rows if c and not c[0].startswith(("error", "not applied"))]
        errors = [(m, c) for m, c in rows if c and c[0].startswith(("error", "not applied"))]
        bad += moved + errors
        print(f"{module:<26} {len(rows):>7} {len(moved):>22} {len(errors):>6}")
    print(f"{'total':<26} {len(found):>7} {sum(1 for _, _, c in found if c):>22}")
    for mutant, changed in bad:
        module = next(mod for m, mod, _ in found if m == mutant)
        print(f"  {mutant}: {', '.join(changed)}" + (f"\n      {mutated_line(mutant, module)}" if show else ""))
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--max-children", type=int, default=min(2, os.cpu_count() or 1), help="parallel mutants (default 2)"
    )
    ap.add_argument("--tests", nargs="+", default=list(TESTS), help="test files to run against the mutants")
    ap.add_argument("--show", action="store_true", help="print each survivor's mutated line")
    ap.add_argument("--report-only", action="store_true", help="print the table of the last run, without running")
    ap.add_argument(
        "--readme",
        action="store_true",
        help="after the table: check that no mutant the tests let live changes a figure the README quotes "
        "(benchmarks/readme_figures.py, about 10 s a mutant; the last run's mutants)",
    )
    ap.add_argument("--readme-report", action="store_true", help="print the last --readme check again")
    ap.add_argument("--stage", metavar="DIR", help="stage in DIR/sim instead of build/mutation/sim")
    ap.add_argument(
        "mutants", nargs="*", help="only these mutants (mutmut's names or globs, e.g. 'sim.core.rules.x_clip*')"
    )
    args = ap.parse_args(argv)
    if args.stage:  # another staging folder: a second run beside one whose results are still in use
        global STAGE, README
        STAGE = Path(args.stage).resolve() / "sim"
        README = STAGE.parent / "readme"
    try:
        import mutmut
    except ImportError:
        fail("mutmut is not installed (pip install 'mutmut==3.2.*')")
    if not str(getattr(mutmut, "__version__", "")).startswith("3.2"):
        print(
            f"mutation.py: warning: written for mutmut 3.2, found {getattr(mutmut, '__version__', '?')}",
            file=sys.stderr,
        )
    if sys.platform == "win32":
        fail("mutmut 3 needs fork (Linux or macOS)")
    if not args.report_only:
        t0 = time.monotonic()
        stage(args.tests)
        env = environment()
        generate_mutants(env)
        cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children), *args.mutants]
        rc = subprocess.call(cmd, cwd=STAGE, env=env)
        print(f"\nmutmut run: exit code {rc}, {time.monotonic() - t0:.0f} s")
        if rc != 0:
            fail(f"mutmut run failed (exit code {rc}); see its output above")
    if args.readme_report:
        return readme_report(json.loads((README / "results.json").read_text()), args.show)
    rc = report(results(), args.show)
    if args.readme:
        rc = readme_check(results(), args.max_children, args.show) or rc
    return rc


if __name__ == "__main__":
    sys.exit(main())
