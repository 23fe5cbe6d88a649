"""The worker's state declared once (sim/core/workers.py) and the array engine built from it.

Checks that the declaration and the code agree: every column of the array engine, every attribute of the mesa
worker and every column of the workers table comes from the declaration; every worker field a compiled loop
touches is declared for a phase that loop runs; no loop takes more than eight parameters; and a month is the
stated number of passes over the workers.
"""

import inspect
import re

import numpy as np
import pytest

from conftest import small_params
from sim.core import workers
from sim.engines.array import kernels, state
from sim.engines.runner import make_model


def _kernels():
    return {
        name: obj
        for name, obj in vars(kernels).items()
        if hasattr(obj, "py_func") and obj.py_func.__module__ == kernels.__name__
    }


def test_no_compiled_loop_takes_more_than_eight_parameters():
    found = _kernels()
    assert {"census", "work_and_pay", "watch_die_return", "settle", "place_newcomers"} <= set(found)
    wide = {
        name: len(inspect.signature(k.py_func).parameters)
        for name, k in found.items()
        if len(inspect.signature(k.py_func).parameters) > 8
    }
    assert not wide, f"loops with more than eight parameters: {wide}"


def test_every_worker_field_a_loop_touches_is_declared_for_its_phases():
    """A loop that reads or writes ``W.name`` runs in a phase the field ``name`` declares (sim/core/workers.py)."""
    checked = 0
    for name, k in _kernels().items():
        used = set(re.findall(r"\bW\.(\w+)\b", inspect.getsource(k.py_func)))
        if not used:
            continue
        assert name in kernels.PHASES_OF, f"kernels.PHASES_OF does not say which phases {name} runs"
        for field in used:
            assert field in workers.FIELD, f"{name} uses W.{field}, which sim/core/workers.py does not declare"
            phases = set(workers.FIELD[field].phases)
            assert phases & set(kernels.PHASES_OF[name]), (
                f"{name} (phases {kernels.PHASES_OF[name]}) uses W.{field}, declared for phases {sorted(phases)}"
            )
            checked += 1
    assert checked > 60


def test_the_declaration_is_checked_against_the_code():
    """The check above would notice a field used in a phase it does not declare."""
    field = workers.FIELD["productivity"]
    assert 4 in field.phases and 9 not in field.phases
    source = inspect.getsource(kernels.watch_die_return.py_func)
    assert "W.productivity" not in source  # the escape rule does not read productivity; if it did, the test fails


def test_columns_attributes_and_tables_come_from_the_declaration():
    assert state.Workers._fields == tuple(f.name for f in workers.STORED)
    assert {name: str(dt) for name, dt in state.WORKER_DTYPES.items()} == {
        f.name: str(np.dtype(f.dtype)) for f in workers.STORED
    }
    p = small_params(scale=0.3, months=2)
    array, mesa = make_model(p, "array", 0), make_model(p, "mesa", 0)
    for _ in range(2):
        array.step()
        mesa.step()
    for f in workers.STORED:
        assert getattr(array.w, f.name).dtype == np.dtype(f.dtype), f.name
    worker = mesa.workers[0]
    assert all(hasattr(worker, f.name) for f in workers.STORED)  # his fields and his month's flows
    assert list(array.workers_table().columns) == workers.COLUMNS == list(mesa.workers_table().columns)


def test_narrow_columns_hold_their_values():
    """Statuses, legal statuses, hosts and months are stored narrow; every value written fits."""
    limits = {"status": len(workers.STATUSES), "legal": len(workers.LEGAL)}
    for name, n in limits.items():
        assert n <= np.iinfo(np.dtype(workers.FIELD[name].dtype)).max
    # months: a run is at most 1,200 months plus a contract before it (validated), far inside int16
    assert 1200 + 1200 < np.iinfo(np.dtype(workers.FIELD["month_left"].dtype)).max


@pytest.mark.parametrize("rule, passes", [("plan", 2), ("group_quota", 3)])
def test_a_month_is_the_stated_number_of_passes_over_the_workers(monkeypatch, rule, passes):
    """Count the calls of the loops that visit every worker: two a month (three under a group quota, whose camps'
    gross must be known before anyone remits), as docs/ODD.md section 3 says; the census is a pass of its own only
    in the first month and while a repatriation mandate sends workers home."""
    assert kernels.PASSES_PER_MONTH == 2
    calls = []
    for name in kernels.FULL_PASSES:
        original = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, _f=original, _n=name: calls.append((model.month, _n)) or _f(*a))
    p = small_params(scale=0.5, months=6, remittance__rule=rule)
    model = make_model(p, "array", 1)
    for _ in range(6):
        model.step()
    by_month = [[n for m, n in calls if m == month] for month in range(6)]
    quota = ["work_for_quota"] if rule == "group_quota" else []
    assert by_month[0] == ["census", *quota, "work_and_pay", "watch_die_return"]
    assert all(names == [*quota, "work_and_pay", "watch_die_return"] for names in by_month[1:]), by_month
    assert all(len(names) == passes for names in by_month[1:])


def test_a_mandate_month_counts_in_a_census_pass():
    """While a mandate may send workers home (phase 2), the census runs as a pass of its own, every month."""
    calls = []
    p = small_params(scale=0.5, months=30, path="params/policies/repatriation.toml")  # the mandate from month 24
    model = make_model(p, "array", 1)
    census = kernels.census
    kernels.census = lambda *a: calls.append(model.month) or census(*a)
    try:
        for _ in range(p.calendar.months):
            model.step()
    finally:
        kernels.census = census
    from sim.core.policies import levers_for_month

    mandate = [
        m
        for m in range(p.calendar.months)
        if (levers_for_month(p, m).repatriation_hazard > 0).any() or (levers_for_month(p, m).detection > 0).any()
    ]
    assert mandate and calls == sorted({0, *mandate})


@pytest.mark.parametrize("path,scale", [(None, 3.0), ("params/history.toml", 3.0)])
def test_cohorts_posted_in_one_call_are_those_posted_one_by_one(monkeypatch, path, scale):
    """The first workforce is posted in one `deploy_cohorts` call (one draw of the traits, one extension of the
    table): every worker, minder, camp and team as a `deploy` per cohort makes them, and a month on alike (the
    history: its hosts are cells of a host and a sector, each with its own unit sizes)."""
    from sim.engines.array.model import ArrayModel

    p = small_params(scale, months=3, path=path)
    together = ArrayModel(p, seed=11)

    def one_by_one(self, cohorts, posted=None):
        for c in cohorts:
            original(self, [c], posted)
            posted = None  # the next cohort counts those just posted, from the table

    original = ArrayModel.deploy_cohorts
    monkeypatch.setattr(ArrayModel, "deploy_cohorts", one_by_one)
    apart = ArrayModel(p, seed=11)
    monkeypatch.undo()
    assert together.n == apart.n > 1000 and together.minders.n == apart.minders.n > 10
    for a, b in ((together.workers, apart.workers), (together.minders, apart.minders), (together.camps, apart.camps)):
        for name in a.data:
            np.testing.assert_array_equal(a.data[name][: a.n], b.data[name][: b.n], err_msg=name)
    np.testing.assert_array_equal(together.team_minder, apart.team_minder)
    assert together.next_team == apart.next_team
    # the months abroad differ by cohort (36 of them), so the first workforce is not one cohort
    assert len(np.unique(together.w.months_abroad)) > 10
    together.step()
    apart.step()
    for name in together.workers.data:
        np.testing.assert_array_equal(together.workers.data[name][: together.n], apart.workers.data[name][: apart.n])
