"""Ideas declared once: the month's phases (sim/core/phases.py) and the tables' columns (sim/results/columns.py).

The phase order is written only in `PHASE_TABLE`: both engines run it through `run_month`, the profiler's labels
and the ODD's process table derive from it. A column is named in code only through its declaration (``COL.x``),
so a renamed or mistyped column fails at import, not as an empty plot.
"""

from __future__ import annotations

import ast

import pytest

from conftest import ROOT, small_params
from sim.core import phases, workers
from sim.core.params import Params
from sim.results import columns
from sim.results.outcomes import OUTCOMES

SIM = ROOT / "sim"


def _constants(path):
    """The string constants of a module that are not docstrings, with their line numbers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return tree, [
        (n.value, n.lineno)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def test_the_odd_process_table_is_generated_from_the_phase_table():
    odd = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    assert phases.odd_table() in odd, "regenerate docs/ODD.md section 3's table: python -m sim.core.phases --odd"


def test_both_engines_run_the_phase_table_in_its_order():
    from sim.engines.array.model import ArrayModel
    from sim.engines.mesa.model import OverseasLaborModel

    p = small_params(scale=0.3, months=2)
    for engine, cls in (("mesa", OverseasLaborModel), ("array", ArrayModel)):
        model = cls(p, seed=1)
        seen = []
        model.clock.observer = seen.append
        model.step()
        assert [tuple(n) for n in seen] == [numbers for _, numbers in phases.steps(engine)], engine
        assert sorted(n for numbers in seen for n in numbers) == list(phases.PHASES), engine
        assert list(model.clock.seconds) == [phases.label(*numbers) for numbers in seen], engine
    # the array engine fuses 4-7 and 8-11 into one pass each; the mesa engine runs every phase on its own
    assert [n for _, n in phases.steps("array")] == [(1,), (2,), (3,), (4, 5, 6, 7), (8, 9, 10, 11), (12,), (13,)]
    assert [n for _, n in phases.steps("mesa")] == [(k,) for k in range(1, 14)]


def test_the_phase_order_is_written_once():
    """Outside sim/core/phases.py no module ticks the clock with phase numbers (each engine's `step` calls
    `run_month`) or lists three or more phase names in a row (names that are also parameter sections, such as
    "work", are not counted)."""
    names = set(phases.PHASES.values()) - set(Params.model_fields)
    found = []
    for path in sorted(SIM.rglob("*.py")):
        if path == SIM / "core" / "phases.py":
            continue
        tree, _ = _constants(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "tick":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: ticks the phase clock")
            if isinstance(node, (ast.List, ast.Tuple, ast.Dict)):
                items = node.values if isinstance(node, ast.Dict) else node.elts
                named = [e.value for e in items if isinstance(e, ast.Constant) and e.value in names]
                if len(named) >= 3:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: lists the phases {named}")
    assert not found, "the phase order is written outside sim/core/phases.py:\n" + "\n".join(found)


def test_a_phase_with_no_method_in_an_engine_is_found():
    from sim.engines.array.model import ArrayModel
    from sim.engines.mesa.model import OverseasLaborModel

    for engine, cls in (("mesa", OverseasLaborModel), ("array", ArrayModel)):
        for method, _ in phases.steps(engine):
            assert callable(getattr(cls, method, None)), f"{engine}: no method {method}"


# words that name a column and something else too (a status, a worker field, an outcome, a parameter section,
# a phase): as a string they are not necessarily a column, so they are not checked
AMBIGUOUS = (
    set(columns.KEYS)
    | set(workers.STATUSES)
    | set(workers.FIELD)
    | set(workers.COLUMNS)
    | set(OUTCOMES)
    | set(Params.model_fields)
    | set(phases.PHASES.values())
)
CHECKED = sorted({c.name for c in columns.COLUMNS} - AMBIGUOUS)


def test_column_names_are_written_only_where_they_are_declared():
    assert len(CHECKED) > 30  # most columns are checked: the exemptions stay few
    found = []
    for path in sorted(SIM.rglob("*.py")):
        if path == SIM / "results" / "columns.py":
            continue
        _, constants = _constants(path)
        found += [f"{path.relative_to(ROOT)}:{line}: {value!r}" for value, line in constants if value in CHECKED]
    assert not found, "write COL.<name> (sim.results.columns), not the column's name as a string:\n" + "\n".join(found)


@pytest.mark.parametrize("name", ["state_take", "revenue_delivered", "workers_short"])
def test_the_column_check_would_find_a_literal(tmp_path, name):
    path = tmp_path / "module.py"
    path.write_text(f'"""doc {name}"""\nx = frame["{name}"]\n')
    _, constants = _constants(path)
    assert [v for v, _ in constants if v in CHECKED] == [name]  # the docstring is not counted, the key is
