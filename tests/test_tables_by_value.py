"""The month's table rows, the flows' sums, percentiles, the Gini coefficient and the workers table, by value.

Each test feeds the code uneven, non-default inputs and compares it with values worked out by hand (the literal
numbers, with the sum written out beside them) or from the equation written out again in the test, never copied
from a run of the code. They reach the code directly (no simulation), so the file runs in a few seconds with or
without the JIT. Many were first written against the survivors of mutation testing (benchmarks/mutation.py).
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest

from sim.core import workers
from sim.core.params import Calendar
from sim.results import tables
from sim.core.state_books import BOOKS
from sim.results import columns
from sim.results.columns import HOST_TOTALS, HostTotals, gini, percentile_sorted
from sim.results.tables import FlowTotals, MonthAggregator


def close(expected, rel=1e-12, abs=1e-12):
    if isinstance(expected, list) and expected and isinstance(expected[0], (list, np.ndarray)):
        expected = np.array(expected, dtype=float)  # approx compares nested values as an array
    return pytest.approx(expected, rel=rel, abs=abs)


# ---------------------------------------------------------------- sim/results/tables.py: the month's rows

# ten workers over two hosts; row 3 did not work this month (not selected) and must count nowhere
#       host sel   status legal gross  side  take  bribes retained hours short
ROWS = [
    (0, True, 0, 2, 500.0, 30.0, 300.0, 10.0, 220.0, 12.5, 0),  # active, tourist
    (1, True, 0, 1, 800.0, 0.0, 600.0, 0.0, 200.0, 14.0, 1),  # active, student
    (0, True, 1, 0, 450.0, 0.0, 450.0, 0.0, 0.0, 13.0, 1),  # completed
    (1, False, 0, 0, 999.0, 99.0, 99.0, 99.0, 99.0, 99.0, 1),  # not selected
    (1, True, 4, 3, 700.0, 50.0, 500.0, 25.0, 225.0, 15.0, 0),  # escaped
    (0, True, 3, 1, 400.0, 0.0, 300.0, 40.0, 60.0, 12.0, 1),  # repatriated
    (1, True, 6, 0, 650.0, 20.0, 650.0, 0.0, 20.0, 16.0, 1),  # dead
    (0, True, 0, 0, 520.0, 0.0, 380.0, 0.0, 140.0, 12.0, 0),  # active, permit
    (1, True, 5, 2, 300.0, 0.0, 350.0, 0.0, -50.0, 11.0, 1),  # caught
    (0, True, 2, 0, 610.0, 15.0, 400.0, 5.0, 220.0, 13.5, 0),
]  # sent home


def _aggregator():
    params = SimpleNamespace(hosts={"north": None, "south": None}, calendar=Calendar(start="2019-05", months=30))
    return MonthAggregator(params)


def _month(agg, rows=ROWS, month=14):
    cols = list(zip(*rows)) if rows else [()] * 11
    host, selected, status, legal = cols[:4]
    flows = dict(zip(("gross", "side", "take", "bribes", "retained", "hours", "short"), cols[4:]))
    totals = HostTotals(
        deployed=np.array([7, 3]),
        repatriated_idle=np.array([2, 5]),
        escape_attempts=np.array([4, 9]),
        entry_bribes=np.array([1234.5, 77.25]),
        books={
            "delivered": np.array([1500.5, 1800.25]),
            "interdicted": np.array([100.0, 33.5]),
            "costs": np.array([12.5, 7.75]),
            "approved": np.array([6.0, 2.0]),
            "waiting": np.array([3.0, 0.0]),
            "recruitment": np.array([1800.0, 600.0]),
            "veterans": np.array([1.0, 0.0]),
            "target": np.array([50.0, 12.0]),
        },
        plan=np.array([260.0, 610.0]),
        forfeited=np.array([40.0, 3.5]),
        ledger_paid=np.array([11.0, 0.0]),
        minders_active=np.array([2, 3]),
        deployed_by_legal=np.array([[5, 1], [1, 0], [0, 2], [1, 0]]),
    )
    return agg.month(
        month, FlowTotals.of_rows(host, flows, status, legal, 2, selected=selected), totals, ["ban A", "mandate B"]
    )


def test_month_rows_per_host_by_hand():
    agg = _aggregator()
    _month(agg)
    north, south = agg.host_rows
    # north: rows 0, 2, 5, 7, 9 worked; south: rows 1, 4, 6, 8 (row 3 did not)
    assert north == {
        "month": 14,
        "date": "2020-07",
        "host": "north",  # 2019-05 + 14 months
        "workers_active": 2,
        "minders_active": 2,
        "deployed": 7,
        "completed": 1,
        "sent_home": 1,
        "repatriated": 1 + 2,  # one at the month's end plus two repatriated before they worked
        "escape_attempts": 4,
        "escaped": 0,
        "caught": 0,
        "deaths": 0,
        "wages_gross": 500 + 450 + 400 + 520 + 610.0,
        "side_earnings": 30 + 15.0,
        "state_take": 300 + 450 + 300 + 380 + 400.0,
        "bribes_paid": 10 + 40 + 5.0,
        "worker_retained": 220 + 0 + 60 + 140 + 220.0,
        "revenue_delivered": 1500.5,
        "revenue_interdicted": 100.0,
        "transfer_costs": 12.5,
        "plan": 260.0,
        "hours_mean": (12.5 + 13 + 12 + 12 + 13.5) / 5,
        "retained_mean": 640.0 / 5,
        "workers_working": 5,
        "entry_bribes": 1234.5,
        "forfeited": 40.0,
        "ledger_paid": 11.0,
        "workers_short": 2,
        "permit_holders": 1,
        "workers_student": 0,
        "workers_tourist": 1,
        "workers_other": 0,  # the active ones only
        "deployed_permit": 5,
        "deployed_student": 1,
        "deployed_tourist": 0,
        "deployed_other": 1,
        "candidates_approved": 6,
        "candidates_waiting": 3,
        "veterans_posted": 1,
        "recruitment_costs": 1800.0,
        "workers_target": 50,
    }
    assert list(north) == columns.HOST_COLUMNS
    assert south["workers_active"] == 1 and south["escaped"] == 1 and south["deaths"] == 1 and south["caught"] == 1
    assert south["completed"] == 0 and south["sent_home"] == 0 and south["repatriated"] == 0 + 5
    assert south["minders_active"] == 3 and south["deployed"] == 3 and south["escape_attempts"] == 9
    assert south["wages_gross"] == 800 + 700 + 650 + 300.0 and south["side_earnings"] == 50 + 20.0
    assert south["state_take"] == 600 + 500 + 650 + 350.0 and south["bribes_paid"] == 25.0
    assert south["worker_retained"] == 200 + 225 + 20 - 50.0 and south["workers_short"] == 3
    assert south["hours_mean"] == close((14 + 15 + 16 + 11) / 4) and south["retained_mean"] == close(395 / 4)
    assert south["workers_working"] == 4 and south["plan"] == 610.0 and south["revenue_delivered"] == 1800.25
    assert (south["permit_holders"], south["workers_student"], south["workers_tourist"], south["workers_other"]) == (
        0,
        1,
        0,
        0,
    )
    assert (
        south["deployed_permit"],
        south["deployed_student"],
        south["deployed_tourist"],
        south["deployed_other"],
    ) == (1, 0, 2, 0)
    assert (south["revenue_interdicted"], south["transfer_costs"], south["entry_bribes"]) == (33.5, 7.75, 77.25)
    assert (south["forfeited"], south["ledger_paid"]) == (3.5, 0.0)


def test_month_row_totals_and_distribution_by_hand():
    agg = _aggregator()
    row = _month(agg)
    assert agg.monthly == [row] and list(row) == columns.MONTHLY_COLUMNS
    n = 9
    kept = sorted([220.0, 0.0, 60.0, 140.0, 220.0, 200.0, 225.0, 20.0, -50.0])  # -50 0 20 60 140 200 220 220 225
    pos = [x if x > 0 else 0.0 for x in kept]
    gini_by_hand = sum(abs(a - b) for a, b in itertools.product(pos, pos)) / (2 * n * n * (sum(pos) / n))
    expected = {
        "month": 14,
        "date": "2020-07",
        "workers_active": 3,
        "minders_active": 5,
        "deployed": 10,
        "completed": 1,
        "sent_home": 1,
        "repatriated": 8,
        "escape_attempts": 13,
        "escaped": 1,
        "caught": 1,
        "deaths": 1,
        "wages_gross": 4930.0,
        "side_earnings": 115.0,
        "state_take": 3930.0,
        "bribes_paid": 80.0,
        "worker_retained": 1035.0,
        "revenue_delivered": 3300.75,
        "revenue_interdicted": 133.5,
        "transfer_costs": 20.25,
        "plan_mean": (260 * 5 + 610 * 4) / 9,
        "hours_mean": (63 + 56) / 9,
        "retained_mean": 1035 / 9,
        "retained_p10": -50 + 50 * 0.8,  # rank 0.8 of 0..8: between -50 and 0
        "retained_median": 140.0,  # rank 4
        "retained_p90": 220 + 5 * 0.2,  # rank 7.2: between 220 and 225
        "retained_gini": gini_by_hand,
        "share_zero_retained": 2 / 9,  # -50 and 0 kept nothing
        "workers_working": 9,
        "entry_bribes": 1311.75,
        "forfeited": 43.5,
        "ledger_paid": 11.0,
        "workers_short": 5,
        "permit_holders": 1,
        "workers_student": 1,
        "workers_tourist": 1,
        "workers_other": 0,
        "deployed_permit": 6,
        "deployed_student": 1,
        "deployed_tourist": 2,
        "deployed_other": 1,
        "candidates_approved": 8,
        "candidates_waiting": 3,
        "veterans_posted": 1,
        "recruitment_costs": 2400.0,
        "workers_target": 62,
        "policies": "ban A; mandate B",
    }
    assert row == {k: close(v) if isinstance(v, float) else v for k, v in expected.items()}
    assert all(
        type(row[k]) is int
        for k in ("deployed", "repatriated", "workers_working", "permit_holders", "candidates_approved")
    )


def test_month_without_selection_counts_every_row_and_an_empty_month_is_undefined():
    agg = _aggregator()
    rows = [r for r in ROWS if r[1]]  # the same month given only the rows that worked, with no selection
    cols = list(zip(*rows))
    flows = dict(zip(("gross", "side", "take", "bribes", "retained", "hours", "short"), cols[4:]))
    totals = HostTotals(
        **{name: np.zeros(2) for name in HOST_TOTALS if name not in ("deployed_by_legal", "books")},
        deployed_by_legal=np.zeros((4, 2)),
        books={name: np.zeros(2) for name in BOOKS},
    )
    row = agg.month(3, FlowTotals.of_rows(cols[0], flows, cols[2], cols[3], 2), totals, [])
    assert row["workers_working"] == 9 and row["wages_gross"] == 4930.0 and row["policies"] == ""
    assert row["date"] == "2019-08" and row["plan_mean"] == 0.0
    # a month nobody worked: the means and the distribution are NaN, not 0
    empty = _aggregator()
    row = empty.month(0, FlowTotals.of_rows([], {k: [] for k in workers.FLOWS}, [], [], 2), totals, ["x"])
    for k in (
        "plan_mean",
        "hours_mean",
        "retained_mean",
        "retained_p10",
        "retained_median",
        "retained_p90",
        "retained_gini",
        "share_zero_retained",
    ):
        assert math.isnan(row[k]), k
    assert all(math.isnan(r["hours_mean"]) and math.isnan(r["retained_mean"]) for r in empty.host_rows)
    assert row["workers_working"] == 0 and row["policies"] == "x"


def test_a_host_with_nobody_working_has_undefined_means():
    agg = _aggregator()
    rows = [r for r in ROWS if r[0] == 1]  # only the south's workers, row 3 among them (not selected)
    _month(agg, rows)
    north, south = agg.host_rows
    assert north["workers_working"] == 0 and math.isnan(north["hours_mean"]) and math.isnan(north["retained_mean"])
    assert south["workers_working"] == 4
    assert agg.monthly[0]["plan_mean"] == close(610.0)  # only the south's plan is weighted


def test_flow_sums_by_hand():
    host = np.array([1, 0, 1, 1, 0])
    selected = np.array([True, True, False, True, True])
    f = [np.array([10.0, 20.0, 30.0, 40.0, 50.0]) * (k + 1) for k in range(7)]  # gross, side, ..., short
    status = np.array([0, 3, 0, 0, 6])
    legal = np.array([2, 1, 3, 2, 0])
    flows = FlowTotals.of_rows(host, dict(zip(workers.FLOWS, f)), status, legal, 2, selected=selected)
    sums, working, exits, by_legal, kept = flows.sums, flows.working, flows.exits, flows.by_legal, flows.kept
    # host 0: rows 1 and 4 (20 + 50 = 70 per unit); host 1: rows 0 and 3 (row 2 not selected): 10 + 40 = 50
    assert sums.tolist() == [[70.0 * (k + 1), 50.0 * (k + 1)] for k in range(7)]
    assert working.tolist() == [2, 2]
    assert exits[:, 0].tolist() == [0, 0, 0, 1, 0, 0, 1] and exits[:, 1].tolist() == [2, 0, 0, 0, 0, 0, 0]
    assert by_legal.tolist() == [[0, 0], [0, 0], [0, 2], [0, 0]]  # host 1's two active workers are on tourist visas
    assert kept.tolist() == [50.0, 100.0, 200.0, 250.0]  # the retained (5 x) of rows 0, 1, 3, 4
    assert working.dtype.kind == exits.dtype.kind == by_legal.dtype.kind == "i"  # counts are whole numbers


def test_percentile_and_gini_at_uneven_points():
    ordered = np.array([-3.0, 1.0, 2.0, 8.0, 13.0])
    # q = 37: rank 0.37 x 4 = 1.48, between 1 and 2; q = 85: rank 3.4, between 8 and 13
    assert percentile_sorted(ordered, 37) == close(1.0 + 0.48)
    assert percentile_sorted(ordered, 85) == close(8.0 + 5 * 0.4)
    assert percentile_sorted(np.array([4.5]), 90) == 4.5  # one value: itself
    assert percentile_sorted(ordered, 100) == 13.0
    values = np.array([9.0, 0.0, 4.0, 1.0, 6.0])  # unsorted
    x = sorted(values)
    by_hand = sum(abs(a - b) for a, b in itertools.product(x, x)) / (2 * 25 * (sum(x) / 5))
    assert gini(values) == close(by_hand)
    assert gini(np.array([7.5])) == 0.0
    with np.errstate(all="raise"):  # nobody kept anything: NaN, without dividing by the zero total
        assert math.isnan(gini(np.array([0.0, 0.0]))) and math.isnan(gini(np.array([])))


def test_share_zero_retained_counts_only_nothing_kept():
    agg = _aggregator()
    rows = [
        (0, True, 0, 0, 10.0, 0.0, 9.6, 0.0, 0.4, 12.0, 0),
        (1, True, 0, 0, 10.0, 0.0, 10.0, 0.0, 0.0, 12.0, 0),
        (1, True, 0, 0, 10.0, 0.0, 7.0, 0.0, 3.0, 12.0, 0),
    ]
    row = _month(agg, rows)
    assert row["share_zero_retained"] == close(1 / 3)  # 0.4 is little, but not nothing


def test_workers_table_names_codes_and_nets_the_gain():
    from sim.core import workers

    n = 3
    cols = {name: np.arange(n) for name in workers.ARCHIVED}
    cols.update(
        host=np.array([1, 0, 1]),
        status=np.array([0, 4, 6]),
        legal=np.array([3, 0, 2]),
        retained_total=np.array([500.0, 120.0, 80.0]),
        forfeited_total=np.array([30.0, 0.0, 80.0]),
        entry_bribe=np.array([100.0, 250.0, 5.5]),
    )
    t = tables.workers_table(cols, ["north", "south"])
    assert list(t.columns) == workers.COLUMNS
    assert t["host"].tolist() == ["south", "north", "south"]
    assert t["status"].tolist() == ["active", "escaped", "dead"]
    assert t["legal"].tolist() == ["other", "permit", "tourist"]
    assert t["net_gain"].tolist() == close([500 - 30 - 100.0, 120 - 0 - 250.0, 80 - 80 - 5.5])
    assert t["sector"].tolist() == ["", "", ""]  # hosts that are not cells: no sector
    # where the hosts are cells, each worker's host is his cell's host group and his sector its sector
    cells = _cells_aggregator().cells
    cols.update(host=np.array([3, 0, 1]))
    t = tables.workers_table(cols, list(cells.names), cells=cells)
    assert t["host"].tolist() == ["south", "north", "north"] and t["sector"].tolist() == ["b", "a", "b"]
    assert t["net_gain"].tolist() == close([500 - 30 - 100.0, 120 - 0 - 250.0, 80 - 80 - 5.5])


# ---------------------------------------------------------------- sim/results/columns.py: the columns declared once


def test_every_column_is_declared_once_with_its_meaning_and_the_tables_derive_from_it():
    assert len(set(columns.MONTHLY_COLUMNS)) == len(columns.MONTHLY_COLUMNS)
    for c in columns.COLUMNS:
        assert c.what and (c.unit or c.kind == "key"), c.name
    # the host totals are keyed by the column they fill; positional arguments are refused
    assert set(HOST_TOTALS) == {c.name for c in columns.COLUMNS if c.kind == "total"} | {
        "repatriated_idle",
        "deployed_by_legal",
        "books",
    }
    with pytest.raises(TypeError):
        HostTotals(*(np.zeros(2) for _ in HOST_TOTALS))
    assert columns.COL.state_take == "state_take" and columns.FLOW_COLUMNS["take"] == "state_take"
    with pytest.raises(ValueError, match="kind 'sum' is not one of"):
        columns.Column("x", "sum", "USD", "a column of no known kind")


def test_a_new_column_is_one_declaration():
    """A column declared beside the others (here: bribes per worker who worked, from the bribes flow) appears in
    both tables, computed as its kind says, with no other edit."""
    extra = columns.Column("bribes_mean", "mean", "USD", "paid to minders per worker who worked", source="bribes")
    agg = MonthAggregator(_aggregator().params, columns=(*columns.COLUMNS, extra))
    row = _month(agg)
    north, south = agg.host_rows
    assert north["bribes_mean"] == close((10 + 40 + 5.0) / 5) and south["bribes_mean"] == close(25.0 / 4)
    assert row["bribes_mean"] == close(80.0 / 9) and list(row)[-1] == "bribes_mean"
    assert row["wages_gross"] == 4930.0  # the others as before


def test_a_money_category_of_the_books_is_its_column():
    """The state's books name the month's money (state_books.MONEY); a ``books`` column reads one by name, so a new
    money category is its rule, its line in the books and its column (here: the delivered revenue read twice)."""
    extra = columns.Column(
        "delivered_again", "books", "USD", "revenue that reached the state, again", source="delivered"
    )
    agg = MonthAggregator(_aggregator().params, columns=(*columns.COLUMNS, extra))
    row = _month(agg)
    assert [r["delivered_again"] for r in agg.host_rows] == [1500.5, 1800.25] and row["delivered_again"] == 3300.75
    with pytest.raises(ValueError, match="'smuggled' is not what the state's books count"):
        columns.Column("x", "books", "USD", "a sum the books do not count", source="smuggled")
    with pytest.raises(ValueError, match="'tips' is not a flow of the month"):
        columns.Column("x", "flow", "USD", "a flow nobody declared", source="tips")


def test_a_distribution_sorted_in_the_helper_thread_gives_the_same_rows(monkeypatch):
    """A large month's distribution is sorted beside the next month (`tables.DEFER_AT`): the rows read afterwards
    (the last one too, with no month after it) are the rows made at once, to the bit. Broken on purpose (`monthly`
    not waiting for the helper, or the helper sorting the engine's buffer that the next month overwrites): fails."""
    rng = np.random.default_rng(7)
    months = []
    for _ in range(3):
        n = 40
        host = rng.integers(0, 2, n)
        flows = {name: rng.normal(300.0, 200.0, n) for name in workers.FLOWS}
        months.append((host, flows, np.zeros(n, dtype=np.int64), rng.integers(0, 4, n)))
    totals = HostTotals(
        **{name: np.zeros(2) for name in HOST_TOTALS if name not in ("deployed_by_legal", "books")},
        deployed_by_legal=np.zeros((4, 2)),
        books={name: np.zeros(2) for name in BOOKS},
    )

    def rows(defer):
        monkeypatch.setattr(tables, "DEFER_AT", 10 if defer else 10**9)
        agg = MonthAggregator(_aggregator().params, defer=True)
        buffer = np.empty(40)  # one buffer for every month's kept values, as the array engine reuses its own
        for m, (host, flows, status, legal) in enumerate(months):
            ft = FlowTotals.of_rows(host, flows, status, legal, 2)
            buffer[:] = ft.kept
            ft.kept = buffer
            agg.month(m, ft, totals, [])
        return agg

    deferred, at_once = rows(True), rows(False)
    assert deferred._pending is not None  # the last month's sort was handed over
    a, b = deferred.monthly, at_once.monthly
    assert a == b and not any(math.isnan(r["retained_median"]) for r in a)
    expected = np.percentile(np.asarray(months[-1][1]["retained"]), 50)
    assert a[-1]["retained_median"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n", [0, 1, 2, 7, tables.SORT_BY_RADIX_AT, 50_000])
def test_the_radix_sort_orders_values_as_numpy_does(n):
    """The compiled radix sort behind a large month's distribution (`tables.radix_sort`) gives numpy's sorted
    values to the bit: negatives, zeros, whole and fractional money, values with every digit alike in their top
    bits (a pass skipped), infinities and the smallest subnormal. Signed zeros are equal, not ordered, for numpy,
    so -0.0 is left out (the radix sort puts it first). Broken on purpose (a negative's bits not flipped, a skipped
    pass that was needed, the last pass left in the spare buffer): fails."""
    rng = np.random.default_rng(n)
    x = np.concatenate([rng.normal(300.0, 400.0, n), np.round(rng.normal(0.0, 50.0, n // 3) + 0.5) + 0.0])
    x = x[: max(n, 0)]
    if n >= 7:
        x[:5] = [np.inf, -np.inf, 5e-324, 0.0, -1e300]
    rng.shuffle(x)
    got = tables.radix_sort(x.copy())
    assert got.view(np.uint64).tolist() == np.sort(x).view(np.uint64).tolist()
    narrow = rng.uniform(512.0, 1024.0, max(n, 1))  # one exponent: the top passes are skipped
    assert tables.radix_sort(narrow.copy()).tolist() == sorted(narrow.tolist())
    narrow[::10] *= -1.0  # most values share the top digit, a tenth do not: that pass is needed
    assert tables.radix_sort(narrow.copy()).tolist() == sorted(narrow.tolist())
    apart = np.array([-1.0, np.nextafter(-1.0, -2.0), 2.0, np.nextafter(2.0, 3.0)])  # a last bit apart
    assert tables.radix_sort(apart.copy()).tolist() == sorted(apart.tolist())  # every bit of a negative flipped
    assert tables.radix_sort(narrow.copy()).tolist() == sorted(narrow.tolist())
    values = x.copy()
    assert tables.sort_values(values) is values and values.tolist() == sorted(x.tolist())  # in place, either way
    strided, small = np.repeat(x, 2)[::2], x[np.abs(x) < 1e30].astype(np.float32)  # numpy sorts these two
    assert tables.sort_values(strided).tolist() == sorted(x.tolist())
    assert tables.sort_values(small).tolist() == sorted(small.tolist())
    # it runs in the helper thread: compiled, it lets go of Python's lock (held, it stalled the main thread's
    # bookkeeping for as long as it ran, about 1 ms a month at 98,000 workers)
    options = getattr(tables.radix_sort, "targetoptions", None)
    assert options is None or options.get("nogil") is True


def _cells_aggregator():
    """Four cells in two host groups: north's a and b, south's a and b (a parameter set expanded into cells)."""
    from sim.core.sectors import Cells

    names = ("north:a", "north:b", "south:a", "south:b")
    params = SimpleNamespace(
        hosts=dict.fromkeys(names),
        calendar=Calendar(start="2019-05", months=30),
        _cells=Cells(names=names, groups=("north", "south"), group_of=(0, 0, 1, 1), sector_of=("a", "b", "a", "b")),
    )
    return MonthAggregator(params)


def _cells_month(agg, month, rows, plan):
    """One month over the four cells: ``rows`` (cell, gross, hours, retained) of the workers who worked, all still
    posted under a permit; each cell deploys 1, 2, 3, 4 workers; ``plan`` per cell."""
    cell, gross, hours, kept = (list(c) for c in zip(*rows)) if rows else ([], [], [], [])
    zero = [0.0] * len(cell)
    flows = {"gross": gross, "side": zero, "take": zero, "bribes": zero, "retained": kept, "hours": hours}
    flows["short"] = zero
    four = np.zeros(4)
    totals = HostTotals(
        **{name: four for name in HOST_TOTALS if name not in ("deployed_by_legal", "books", "plan", "deployed")},
        deployed=np.array([1, 2, 3, 4]),
        plan=np.array(plan, dtype=float),
        deployed_by_legal=np.zeros((4, 4)),
        books={name: four for name in BOOKS},
    )
    ft = FlowTotals.of_rows(cell, flows, [0] * len(cell), [0] * len(cell), 4)
    agg.month(month, ft, totals, [])


def test_host_group_rows_add_up_their_cells_by_hand():
    """Where the engine's hosts are cells (host group x sector), a host group's row adds its cells' counts and
    money, recomputes a mean per worker from the cells' sums (not an average of their means), and averages a level
    (the plan) over the workers who worked, or over its cells when nobody did; the sectors table keeps a row per
    cell, both in month order. Broken on purpose (a group's cells summed into the wrong group, the plan summed or
    averaged unweighted, the months' rows interleaved): fails."""
    agg = _cells_aggregator()
    # month 3: north:a two workers, north:b one, south nobody
    _cells_month(
        agg, 3, [(0, 500.0, 12.0, 200.0), (0, 300.0, 14.0, 100.0), (1, 900.0, 10.0, 400.0)], [200, 500, 100, 300]
    )
    # month 4: only south:b works
    _cells_month(agg, 4, [(3, 800.0, 11.0, 150.0)], [210, 520, 110, 330])
    _, hosts, sectors = agg.frames()
    rows = hosts.to_dict("records")
    assert [(r["month"], r["host"]) for r in rows] == [(3, "north"), (3, "south"), (4, "north"), (4, "south")]
    north3, south3, north4, south4 = rows
    assert north3["workers_working"] == 3 and north3["wages_gross"] == 1700.0 and north3["deployed"] == 1 + 2
    assert north3["worker_retained"] == 700.0 and north3["retained_mean"] == pytest.approx(700.0 / 3, rel=1e-12)
    assert north3["hours_mean"] == pytest.approx((12 + 14 + 10) / 3, rel=1e-12)
    assert north3["plan"] == pytest.approx((200 * 2 + 500 * 1) / 3, rel=1e-12)  # weighted by who worked
    assert south3["workers_working"] == 0 and south3["deployed"] == 3 + 4 and south3["wages_gross"] == 0.0
    assert math.isnan(south3["hours_mean"]) and math.isnan(south3["retained_mean"])
    assert south3["plan"] == pytest.approx((100 + 300) / 2, rel=1e-12)  # nobody worked: over its cells
    assert north4["plan"] == pytest.approx((210 + 520) / 2, rel=1e-12) and north4["workers_working"] == 0
    assert south4["plan"] == 330.0 and south4["hours_mean"] == 11.0 and south4["wages_gross"] == 800.0
    assert list(hosts.columns) == columns.HOST_COLUMNS
    cells = sectors.to_dict("records")
    assert [(r["month"], r["host"], r["sector"]) for r in cells] == [
        (m, g, s) for m in (3, 4) for g, s in (("north", "a"), ("north", "b"), ("south", "a"), ("south", "b"))
    ]
    assert [r["wages_gross"] for r in cells] == [800.0, 900.0, 0.0, 0.0, 0.0, 0.0, 0.0, 800.0]
    assert [r["plan"] for r in cells[:4]] == [200.0, 500.0, 100.0, 300.0]
