"""The package's layout holds: layers import only lower layers, there are no import cycles
(lazy imports inside functions included), no private name is imported across modules, and
the policy kinds are listed in one place only.

The imports are read from the source with `ast`, not by importing, so a lazy import
inside a function counts as much as one at the top of a file.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SIM = ROOT / "sim"
# lowest first: a module may import its own layer and the layers before it
LAYERS = ["common", "core", "results", "engines", "plots", "explore", "calibration", "ema", "classroom", "cli"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(SIM.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def resolve(importer: str, level: int, module: str | None) -> str:
    """The absolute name of a relative import."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not is_package(importer):
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports_of(name: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names imported from it, line) for every import of a sim module, anywhere in the file."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "sim"]
        elif isinstance(node, ast.ImportFrom):
            target = resolve(name, node.level, node.module)
            if target.split(".")[0] != "sim":
                continue
            names = [a.name for a in node.names]
            # `from . import rules` imports a module; `from .x import y` imports names of x
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            if submodules:
                out += [(m, [], node.lineno) for m in submodules]
            else:
                out.append((target, names, node.lineno))
    return out


def layer(name: str) -> int | None:
    parts = name.split(".")
    if len(parts) < 2:
        return None  # the package's own __init__: the public API, above every layer
    return LAYERS.index(parts[1])


def test_every_module_is_in_a_layer():
    for name in MODULES:
        parts = name.split(".")
        assert len(parts) == 1 or parts[1] in LAYERS, (
            f"{name}: not in a layer of {LAYERS} (add it to the list and to sim/__init__.py)"
        )


def test_layers_import_only_lower_layers():
    bad = []
    for name in MODULES:
        mine = layer(name)
        if mine is None:
            continue
        for target, _, line in imports_of(name):
            theirs = layer(target)
            if theirs is None or theirs > mine:
                bad.append(
                    f"{name}:{line} imports {target} ({LAYERS[mine]} may not import "
                    f"{'the package API' if theirs is None else LAYERS[theirs]})"
                )
    assert not bad, "\n".join(bad)


def test_calibrations_do_not_import_each_other():
    """Each calibration (a subpackage of sim.calibration) uses the shared modules at the package level, never
    another calibration's: what two of them need lives beside them."""
    rooms = {
        n.split(".")[2] for n in MODULES if n.startswith("sim.calibration.") and is_package(".".join(n.split(".")[:3]))
    }
    assert {"no_sanctions", "sanctions"} <= rooms
    bad = []
    for name in MODULES:
        parts = name.split(".")
        if len(parts) < 3 or parts[1] != "calibration" or parts[2] not in rooms:
            continue
        for target, _, line in imports_of(name):
            t = target.split(".")
            if len(t) > 2 and t[1] == "calibration" and t[2] in rooms and t[2] != parts[2]:
                bad.append(
                    f"{name}:{line} imports {target} (another calibration's; move what both need up to sim.calibration)"
                )
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    graph = {name: {t for t, _, _ in imports_of(name) if t in MODULES and t != name} for name in MODULES}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_private_names_cross_modules():
    bad = []
    for name in MODULES:
        for target, names, line in imports_of(name):
            for n in names:
                if n.startswith("_") and not (n.startswith("__") and n.endswith("__")):
                    bad.append(f"{name}:{line} imports {n} from {target}")
        # nor reached through a module: rnd._codes
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and resolve(name, node.level, node.module).startswith("sim"):
                target = resolve(name, node.level, node.module)
                aliases |= {a.asname or a.name for a in node.names if f"{target}.{a.name}" in MODULES}
            elif isinstance(node, ast.Import):
                aliases |= {a.asname or a.name for a in node.names if a.name.startswith("sim")}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                bad.append(f"{name}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not bad, "\n".join(bad)


def test_checker_sees_lazy_imports_and_cycles(tmp_path, monkeypatch):
    """The checks above would fail on a lazy upward import and on a cycle (so their passing means something)."""
    fake = {"sim.core.a": tmp_path / "a.py", "sim.core.b": tmp_path / "b.py", "sim.core": tmp_path / "__init__.py"}
    fake["sim.core.a"].write_text("def f():\n    from ..cli import main\n    from . import b\n")
    fake["sim.core.b"].write_text("from .a import f\nfrom .a import _hidden\n")
    fake["sim.core"].write_text("")
    monkeypatch.setattr(sys.modules[__name__], "MODULES", {**MODULES, **fake})
    assert ("sim.cli", ["main"], 2) in imports_of("sim.core.a")
    assert ("sim.core.b", [], 3) in imports_of("sim.core.a")
    assert ("sim.core.a", ["_hidden"], 2) in imports_of("sim.core.b")
    with pytest.raises(AssertionError, match="core may not import cli"):
        test_layers_import_only_lower_layers()
    with pytest.raises(AssertionError, match="sim.core.a -> sim.core.b -> sim.core.a"):
        test_no_import_cycles()
    with pytest.raises(AssertionError, match="imports _hidden"):
        test_no_private_names_cross_modules()


def test_policy_kinds_are_listed_once():
    """No file but sim/core/policies.py spells out the policy kinds: the rest derive them from POLICY_CLASSES."""
    from sim.core.policies import POLICY_KINDS

    offenders = []
    files = [
        p
        for p in list(SIM.rglob("*.py")) + list((ROOT / "tests").glob("*.py"))
        if p.name != "policies.py" or p.parent.name != "core"
    ]
    for path in files:
        if path.name == "test_policies.py":
            continue  # tests a kind's own effect by name, one at a time
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)):
                items = node.keys if isinstance(node, ast.Dict) else node.elts
                named = {i.value for i in items if isinstance(i, ast.Constant) and i.value in POLICY_KINDS}
                if len(named) >= 3:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} lists {sorted(named)}")
    assert not offenders, "\n".join(offenders)


def test_policy_files_exist_for_every_kind():
    """Each kind has its single-policy file (python -m sim.core.params_toml --policies params/policies writes a missing one)."""
    from sim import load_params
    from sim.core.policies import POLICY_CLASSES

    for kind in POLICY_CLASSES:
        p = load_params(ROOT / "params" / "policies" / f"{kind}.toml")
        assert [x.kind for x in p.policies] == [kind]


def test_random_decisions_are_named_once():
    """Every draw names its decision through sim.core.draws.Decision, never a string typed at the call."""
    calls = {"draw", "draws", "key", "once_key", "draw_once", "month_key", "stream_key", "uniforms"}
    offenders = []
    for name, path in MODULES.items():
        if name == "sim.core.draws":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if (
                    fn in calls
                    and any(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
                    or (fn in calls and any(isinstance(a, ast.JoinedStr) for a in node.args))
                ):
                    offenders.append(f"{name}:{node.lineno} {fn}(...) with a decision typed as a string")
    assert not offenders, "\n".join(offenders)


def _string_constants(path: Path) -> list[tuple[str, int]]:
    """The string constants of a module that are not docstrings (the first statement of a module, class or
    function), with their lines; comments are not in the tree at all."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        (n.value, n.lineno)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def declared_names() -> dict[str, tuple[str, Path]]:
    """Every policy kind and outcome name: what it is and the module that declares it. A name that is also a
    column of the run's tables or a policy lever (``hours_mean`` the outcome and the monthly column,
    ``direct_wages`` the kind and the lever) is not necessarily the kind or the outcome as a string, so it is
    left out."""
    from dataclasses import fields

    from sim.core.policies import POLICY_CLASSES, Levers
    from sim.results import columns
    from sim.results.outcomes import OUTCOMES

    other = {c.name for c in columns.COLUMNS} | {f.name for f in fields(Levers)}
    names = {k: ("policy kind", SIM / "core" / "policies.py") for k in POLICY_CLASSES}
    names.update({k: ("outcome", SIM / "results" / "outcomes.py") for k in OUTCOMES})
    return {k: v for k, v in names.items() if k not in other}


def literal_names(paths) -> list[str]:
    names = declared_names()
    found = []
    for path in paths:
        for value, line in _string_constants(path):
            if value in names and names[value][1] != path:
                found.append(
                    f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line}: the "
                    f"{names[value][0]} {value!r} written as a string (use its declaration in "
                    f"{names[value][1].relative_to(ROOT)})"
                )
    return found


def test_policy_kinds_and_outcomes_are_named_only_where_declared():
    """A policy kind is named only in sim/core/policies.py, an outcome only in sim/results/outcomes.py: the other
    modules read them from POLICY_CLASSES (a kind's class says what it is, e.g. `is_sanction`) and from the
    outcome registry (HEADLINE, DEFAULT_OUTCOMES, REPORTED, ..., each outcome's `better`)."""
    names = declared_names()
    assert len(names) >= 25 and {"border_closure", "revenue_delivered_per_year", "retained_per_worker_month"} <= set(
        names
    )
    found = literal_names(sorted(SIM.rglob("*.py")))
    assert not found, "\n".join(found)


def test_the_name_check_finds_a_literal(tmp_path):
    """The check above would fail on a kind or an outcome written as a string outside its declaring module, and
    not on a docstring that mentions one."""
    path = tmp_path / "module.py"
    path.write_text(
        '"""Mentions border_closure and revenue_delivered_per_year."""\n'
        'def f(p):\n    """retained_per_worker_month, in words."""\n'
        '    return p["kind"] == "border_closure" or "net_gain_p50"  # a comment: worker_share_kept\n'
    )
    found = " ".join(literal_names([path]))
    assert (
        found.count("module.py:4:") == 2
        and "policy kind 'border_closure'" in found
        and "outcome 'net_gain_p50'" in found
    )
