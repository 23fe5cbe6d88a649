"""Tests written against the survivors of mutation testing of the core (issue 19, item 4; benchmarks/mutation.py).

Each test feeds a core function uneven, non-default inputs and compares it with values worked out by hand
(the literal numbers, with the sum written out beside them) or from the equation written out again in the
test, never copied from a run of the code. They reach the core directly (no simulation), so the file runs in
a few seconds with or without the JIT.
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest

from sim.core import rules
from sim.core.params import Calendar, make_params
from sim.core.policies import (AsylumAccess, BorderClosure, CashInterdiction, DirectWages, FinancialSanctions,
                               LaborInspections, Levers, PermitBan, Repatriation, channel_losses, levers_for_month)
from sim.core.state_books import StateBooks
from sim.results import tables
from sim.results.tables import FlowTotals, HostTotals, MonthAggregator, gini, percentile_sorted


def close(expected, rel=1e-12, abs=1e-12):
    if isinstance(expected, list) and expected and isinstance(expected[0], (list, np.ndarray)):
        expected = np.array(expected, dtype=float)  # approx compares nested values as an array
    return pytest.approx(expected, rel=rel, abs=abs)


# ---------------------------------------------------------------- sim/results/tables.py: the month's rows

# ten workers over two hosts; row 3 did not work this month (not selected) and must count nowhere
#       host sel   status legal gross  side  take  bribes retained hours short
ROWS = [(0, True, 0, 2, 500.0, 30.0, 300.0, 10.0, 220.0, 12.5, 0),   # active, tourist
        (1, True, 0, 1, 800.0, 0.0, 600.0, 0.0, 200.0, 14.0, 1),     # active, student
        (0, True, 1, 0, 450.0, 0.0, 450.0, 0.0, 0.0, 13.0, 1),       # completed
        (1, False, 0, 0, 999.0, 99.0, 99.0, 99.0, 99.0, 99.0, 1),    # not selected
        (1, True, 4, 3, 700.0, 50.0, 500.0, 25.0, 225.0, 15.0, 0),   # escaped
        (0, True, 3, 1, 400.0, 0.0, 300.0, 40.0, 60.0, 12.0, 1),     # repatriated
        (1, True, 6, 0, 650.0, 20.0, 650.0, 0.0, 20.0, 16.0, 1),     # dead
        (0, True, 0, 0, 520.0, 0.0, 380.0, 0.0, 140.0, 12.0, 0),     # active, permit
        (1, True, 5, 2, 300.0, 0.0, 350.0, 0.0, -50.0, 11.0, 1),     # caught
        (0, True, 2, 0, 610.0, 15.0, 400.0, 5.0, 220.0, 13.5, 0)]    # sent home


def _aggregator():
    params = SimpleNamespace(hosts={"north": None, "south": None}, calendar=Calendar(start="2019-05", months=30))
    return MonthAggregator(params)


def _month(agg, rows=ROWS, month=14):
    cols = list(zip(*rows)) if rows else [()] * 11
    host, selected, status, legal = cols[:4]
    flows = dict(zip(("gross", "side", "take", "bribes", "retained", "hours", "short"), cols[4:]))
    totals = HostTotals(deployed=np.array([7, 3]), repatriated_idle=np.array([2, 5]), escape_attempts=np.array([4, 9]),
                        entry_bribes=np.array([1234.5, 77.25]), delivered=np.array([1500.5, 1800.25]),
                        interdicted=np.array([100.0, 33.5]), costs=np.array([12.5, 7.75]), plans=np.array([260.0, 610.0]),
                        forfeited=np.array([40.0, 3.5]), ledger_paid=np.array([11.0, 0.0]), minders_active=np.array([2, 3]),
                        deployed_legal=np.array([[5, 1], [1, 0], [0, 2], [1, 0]]))
    return agg.month(month, FlowTotals.of_rows(host, flows, status, legal, 2, selected=selected), totals,
                     ["ban A", "mandate B"])


def test_month_rows_per_host_by_hand():
    agg = _aggregator()
    _month(agg)
    north, south = agg.host_rows
    # north: rows 0, 2, 5, 7, 9 worked; south: rows 1, 4, 6, 8 (row 3 did not)
    assert north == {
        "month": 14, "date": "2020-07", "host": "north",  # 2019-05 + 14 months
        "workers_active": 2, "minders_active": 2, "deployed": 7, "completed": 1, "sent_home": 1,
        "repatriated": 1 + 2,  # one at the month's end plus two repatriated before they worked
        "escape_attempts": 4, "escaped": 0, "caught": 0, "deaths": 0,
        "wages_gross": 500 + 450 + 400 + 520 + 610.0, "side_earnings": 30 + 15.0, "state_take": 300 + 450 + 300 + 380 + 400.0,
        "bribes_paid": 10 + 40 + 5.0, "worker_retained": 220 + 0 + 60 + 140 + 220.0,
        "revenue_delivered": 1500.5, "revenue_interdicted": 100.0, "transfer_costs": 12.5, "plan": 260.0,
        "hours_mean": (12.5 + 13 + 12 + 12 + 13.5) / 5, "retained_mean": 640.0 / 5,
        "workers_working": 5, "entry_bribes": 1234.5, "forfeited": 40.0, "ledger_paid": 11.0, "workers_short": 2,
        "permit_holders": 1, "workers_student": 0, "workers_tourist": 1, "workers_other": 0,  # the active ones only
        "deployed_permit": 5, "deployed_student": 1, "deployed_tourist": 0, "deployed_other": 1,
    }
    assert list(north) == tables.HOST_COLUMNS
    assert south["workers_active"] == 1 and south["escaped"] == 1 and south["deaths"] == 1 and south["caught"] == 1
    assert south["completed"] == 0 and south["sent_home"] == 0 and south["repatriated"] == 0 + 5
    assert south["minders_active"] == 3 and south["deployed"] == 3 and south["escape_attempts"] == 9
    assert south["wages_gross"] == 800 + 700 + 650 + 300.0 and south["side_earnings"] == 50 + 20.0
    assert south["state_take"] == 600 + 500 + 650 + 350.0 and south["bribes_paid"] == 25.0
    assert south["worker_retained"] == 200 + 225 + 20 - 50.0 and south["workers_short"] == 3
    assert south["hours_mean"] == close((14 + 15 + 16 + 11) / 4) and south["retained_mean"] == close(395 / 4)
    assert south["workers_working"] == 4 and south["plan"] == 610.0 and south["revenue_delivered"] == 1800.25
    assert (south["permit_holders"], south["workers_student"], south["workers_tourist"], south["workers_other"]) == (0, 1, 0, 0)
    assert (south["deployed_permit"], south["deployed_student"], south["deployed_tourist"], south["deployed_other"]) == (1, 0, 2, 0)
    assert (south["revenue_interdicted"], south["transfer_costs"], south["entry_bribes"]) == (33.5, 7.75, 77.25)
    assert (south["forfeited"], south["ledger_paid"]) == (3.5, 0.0)
    # the share of each host's workers short of the plan, for the state's next plans
    assert agg.short_share.tolist() == close([2 / 5, 3 / 4])


def test_month_row_totals_and_distribution_by_hand():
    agg = _aggregator()
    row = _month(agg)
    assert agg.monthly == [row] and list(row) == tables.MONTHLY_COLUMNS
    n = 9
    kept = sorted([220.0, 0.0, 60.0, 140.0, 220.0, 200.0, 225.0, 20.0, -50.0])  # -50 0 20 60 140 200 220 220 225
    pos = [x if x > 0 else 0.0 for x in kept]
    gini_by_hand = sum(abs(a - b) for a, b in itertools.product(pos, pos)) / (2 * n * n * (sum(pos) / n))
    expected = {
        "month": 14, "date": "2020-07", "workers_active": 3, "minders_active": 5, "deployed": 10, "completed": 1,
        "sent_home": 1, "repatriated": 8, "escape_attempts": 13, "escaped": 1, "caught": 1, "deaths": 1,
        "wages_gross": 4930.0, "side_earnings": 115.0, "state_take": 3930.0, "bribes_paid": 80.0, "worker_retained": 1035.0,
        "revenue_delivered": 3300.75, "revenue_interdicted": 133.5, "transfer_costs": 20.25,
        "plan_mean": (260 * 5 + 610 * 4) / 9, "hours_mean": (63 + 56) / 9, "retained_mean": 1035 / 9,
        "retained_p10": -50 + 50 * 0.8,  # rank 0.8 of 0..8: between -50 and 0
        "retained_median": 140.0,  # rank 4
        "retained_p90": 220 + 5 * 0.2,  # rank 7.2: between 220 and 225
        "retained_gini": gini_by_hand, "share_zero_retained": 2 / 9,  # -50 and 0 kept nothing
        "workers_working": 9, "entry_bribes": 1311.75, "forfeited": 43.5, "ledger_paid": 11.0, "workers_short": 5,
        "permit_holders": 1, "workers_student": 1, "workers_tourist": 1, "workers_other": 0,
        "deployed_permit": 6, "deployed_student": 1, "deployed_tourist": 2, "deployed_other": 1,
        "policies": "ban A; mandate B",
    }
    assert row == {k: close(v) if isinstance(v, float) else v for k, v in expected.items()}
    assert all(type(row[k]) is int for k in ("deployed", "repatriated", "workers_working", "permit_holders"))


def test_month_without_selection_counts_every_row_and_an_empty_month_is_undefined():
    agg = _aggregator()
    rows = [r for r in ROWS if r[1]]  # the same month given only the rows that worked, with no selection
    cols = list(zip(*rows))
    flows = dict(zip(("gross", "side", "take", "bribes", "retained", "hours", "short"), cols[4:]))
    totals = HostTotals(*(np.zeros(2) for _ in range(11)), deployed_legal=np.zeros((4, 2)))
    row = agg.month(3, FlowTotals.of_rows(cols[0], flows, cols[2], cols[3], 2), totals, [])
    assert row["workers_working"] == 9 and row["wages_gross"] == 4930.0 and row["policies"] == ""
    assert row["date"] == "2019-08" and row["plan_mean"] == 0.0
    # a month nobody worked: the means and the distribution are NaN, not 0; the short shares are 0
    empty = _aggregator()
    row = empty.month(0, FlowTotals.of_rows([], {k: [] for k in tables.FLOW_COLUMNS}, [], [], 2), totals, ["x"])
    for k in ("plan_mean", "hours_mean", "retained_mean", "retained_p10", "retained_median", "retained_p90",
              "retained_gini", "share_zero_retained"):
        assert math.isnan(row[k]), k
    assert all(math.isnan(r["hours_mean"]) and math.isnan(r["retained_mean"]) for r in empty.host_rows)
    assert empty.short_share.tolist() == [0.0, 0.0] and row["workers_working"] == 0 and row["policies"] == "x"


def test_a_host_with_nobody_working_has_undefined_means_and_no_short_share():
    agg = _aggregator()
    rows = [r for r in ROWS if r[0] == 1]  # only the south's workers, row 3 among them (not selected)
    _month(agg, rows)
    north, south = agg.host_rows
    assert north["workers_working"] == 0 and math.isnan(north["hours_mean"]) and math.isnan(north["retained_mean"])
    assert south["workers_working"] == 4 and agg.short_share.tolist() == close([0.0, 3 / 4])
    assert agg.monthly[0]["plan_mean"] == close(610.0)  # only the south's plan is weighted


def test_flow_sums_by_hand():
    host = np.array([1, 0, 1, 1, 0])
    selected = np.array([True, True, False, True, True])
    f = [np.array([10.0, 20.0, 30.0, 40.0, 50.0]) * (k + 1) for k in range(7)]  # gross, side, ..., short
    status = np.array([0, 3, 0, 0, 6])
    legal = np.array([2, 1, 3, 2, 0])
    flows = FlowTotals.of_rows(host, dict(zip(tables.FLOW_COLUMNS, f)), status, legal, 2, selected=selected)
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


def test_share_zero_retained_counts_only_nothing_kept_and_the_state_starts_with_no_shortfall():
    agg = _aggregator()
    assert agg.short_share.tolist() == [0.0, 0.0]  # read by the state before the first month
    rows = [(0, True, 0, 0, 10.0, 0.0, 9.6, 0.0, 0.4, 12.0, 0), (1, True, 0, 0, 10.0, 0.0, 10.0, 0.0, 0.0, 12.0, 0),
            (1, True, 0, 0, 10.0, 0.0, 7.0, 0.0, 3.0, 12.0, 0)]
    row = _month(agg, rows)
    assert row["share_zero_retained"] == close(1 / 3)  # 0.4 is little, but not nothing


def test_workers_table_names_codes_and_nets_the_gain():
    from sim.core import workers

    n = 3
    cols = {name: np.arange(n) for name in workers.ARCHIVED}
    cols.update(host=np.array([1, 0, 1]), status=np.array([0, 4, 6]), legal=np.array([3, 0, 2]),
                retained_total=np.array([500.0, 120.0, 80.0]), forfeited_total=np.array([30.0, 0.0, 80.0]),
                entry_bribe=np.array([100.0, 250.0, 5.5]))
    t = tables.workers_table(cols, ["north", "south"])
    assert list(t.columns) == workers.COLUMNS
    assert t["host"].tolist() == ["south", "north", "south"]
    assert t["status"].tolist() == ["active", "escaped", "dead"]
    assert t["legal"].tolist() == ["other", "permit", "tourist"]
    assert t["net_gain"].tolist() == close([500 - 30 - 100.0, 120 - 0 - 250.0, 80 - 80 - 5.5])


# ---------------------------------------------------------------- sim/core/state_books.py: the state's books


def _books_params(**state):
    hosts = {
        "a": SimpleNamespace(plan=200, workers=40, route_student=0.5, route_tourist=0.3, route_other=0.2,
                             base_interdiction=0.02),
        "b": SimpleNamespace(plan=450, workers=10, route_student=0.39, route_tourist=0.2, route_other=0.0,
                             base_interdiction=0.1),
    }
    s = dict(host_growth_cap=1.5, revenue_target_share=0.8, plan_raise=0.05, plan_cap=1.3, plan_reach=0.6, plan_cut=0.1,
             plan_floor=0.7, workforce_growth=0.02, shift_share=0.25, evasion_flow=0.5)
    s.update(state)
    channels = SimpleNamespace(bank=5.0, courier=2.0, mule=1.0, bank_fee=0.02, courier_fee=0.05, mule_fee=0.01,
                               mule_capacity=150.0, adapt=2.0, min_weight=0.05)
    return SimpleNamespace(hosts=hosts, state=SimpleNamespace(**s), channels=channels)


def test_books_open_with_the_plans_targets_and_channel_weights():
    books = StateBooks.for_params(_books_params())
    assert books.plans_initial.tolist() == [200.0, 450.0] and books.plans.tolist() == [200.0, 450.0]
    assert books.plans is not books.plans_initial
    assert books.target_workers.tolist() == [40.0, 10.0]
    assert books.target_cap.tolist() == close([60.0, 15.0])  # 1.5 x the initial workers
    assert books.revenue_target == close(0.8 * (200 * 40 + 450 * 10))  # 10,000
    assert books.channel_weights.tolist() == close([[5 / 8, 2 / 8, 1 / 8]] * 2)
    assert books.routes.tolist() == [[0.5, 0.3, 0.2], [0.39, 0.2, 0.0]]
    # the books hold floats, also from integer parameters (workers are counted in whole numbers)
    assert books.plans_initial.dtype == books.target_workers.dtype == books.routes.dtype == np.float64
    assert books.legal_thresholds.tolist() == [[1.0] * 3] * 2  # permits until a measure bites
    # relabelled: student below the first share, tourist below student + tourist, exactly 1 where there is no
    # "other" (0.39/0.59 + 0.2/0.59 rounds to 0.9999999999999999: a draw above it would be "other")
    assert books.relabel_thresholds.tolist() == close([[0.5, 0.8], [0.39 / 0.59, 1.0]])
    assert books.relabel_thresholds[1, 1] == 1.0
    assert books.delivered_last is None and books.loss_rate_last is None
    assert {k: v.tolist() for k, v in books.accounts.items()} == {k: [0.0, 0.0] for k in ("taken", "delivered",
                                                                                          "interdicted", "costs")}


def test_books_set_plans_raise_cut_and_grow_the_workforce():
    books = StateBooks.for_params(_books_params())
    books.set_plans([0.9, 0.9])  # no revenue seen yet: nothing changes
    assert books.plans.tolist() == [200.0, 450.0] and books.target_workers.tolist() == [40.0, 10.0]
    books.delivered_last = 9000.0  # short of the target 10,000
    books.set_plans([0.7, 0.2])
    # a: 0.7 of its workers short (> reach 0.6): cut to max(200 x 0.9, min(0.7 x 200, 200)) = 180
    # b: raised to min(450 x 1.05, 1.3 x 450) = 472.5
    assert books.plans.tolist() == close([180.0, 472.5])
    # targets grow by 2% under the cap (1.5 x initial): 40.8 and 10.2
    assert books.target_workers.tolist() == close([40.8, 10.2])
    books.delivered_last = 10000.0  # at the target: no raise, no growth; the cut still applies
    books.set_plans([0.7, 0.2])
    assert books.plans.tolist() == close([162.0, 472.5]) and books.target_workers.tolist() == close([40.8, 10.2])
    books.delivered_last = 9999.0
    books.set_plans()  # no short shares given: nobody short, every plan raised
    assert books.plans.tolist() == close([162.0 * 1.05, 472.5 * 1.05])
    assert books.target_workers.tolist() == close([40.8 * 1.02, 10.2 * 1.02])


def test_books_workforce_growth_stops_at_the_cap_and_at_zero_growth():
    books = StateBooks.for_params(_books_params(workforce_growth=0.4, host_growth_cap=1.3))
    books.delivered_last = 1.0
    books.set_plans()
    assert books.target_workers.tolist() == close([52.0, 13.0])  # 1.4 x would pass the cap 1.3 x
    books = StateBooks.for_params(_books_params(workforce_growth=0.0))
    books.delivered_last = 1.0
    books.set_plans()
    assert books.target_workers.tolist() == [40.0, 10.0]


def _levers(**kw):
    lv = Levers(month=5, n_hosts=2, hosts=[])
    for k, v in kw.items():
        setattr(lv, k, np.asarray(v))
    return lv


def test_books_plan_deployments_by_hand():
    books = StateBooks.for_params(_books_params())
    lv = _levers(ban=[0.5, 0.0], evasion=[0.2, 0.0], repatriation=[0.2, 0.0], repatriation_evasion=[0.5, 0.0])
    counts = books.plan_deployments(np.array([20.0, 3.0]), lv)
    # reachable a = (1 - 0.5 x 0.8)(1 - 0.2 x 0.5) = 0.54, b = 1; flow 0.5 counts a's 20 as 20 x (1 - 0.5 x 0.46)
    # a: floor(40 x 0.54 - 15.4) = floor(6.2) = 6; b: 10 - 3 = 7
    assert counts.tolist() == [6, 7]
    # a lost 40 x 0.46 = 18.4 posts; a quarter of them, 4.6, move to b (room 15 - 10 = 5)
    assert books.target_workers.tolist() == close([40 - 4.6, 10 + 4.6])
    permit = (0.5 * 0.8) / 0.54
    student = permit + (1 - permit) * 0.5
    assert books.legal_thresholds.tolist() == close([[permit, student, student + (1 - permit) * 0.3], [1.0, 1.0, 1.0]])
    assert books.plan_deployments(np.array([20.0, 3.0]), lv).dtype.kind == "i"  # whole workers
    # nobody is posted across a closed border (the targets still move)
    books = StateBooks.for_params(_books_params())
    lv.closed = np.array([False, True])
    assert books.plan_deployments(np.array([20.0, 3.0]), lv).tolist() == [6, 0]


def test_books_send_money_home_and_adapt_the_channels():
    p = _books_params()
    books = StateBooks.for_params(p)
    books.pick_channels()  # no losses seen yet: unchanged
    assert books.channel_weights.tolist() == close([[5 / 8, 2 / 8, 1 / 8]] * 2)
    lv = _levers(bank_block=[0.3, 0.1], courier_seizure=[0.2, 0.0], mule_seizure=[0.05, 0.5], closed=[False, True])
    take, returning = np.array([1000.0, 400.0]), np.array([2.0, 0.0])
    delivered, interdicted, costs = books.send_money_home(take, returning, lv)
    # a: mule min(125, 2 x 150) = 125; bank 875 x 5/7 = 625; courier 250; losses 0.3, 1 - 0.98 x 0.8 = 0.216, 0.05
    #    seized 187.5 + 54 + 6.25 = 247.75; fees 437.5 x 0.02 + 196 x 0.05 + 118.75 x 0.01 = 8.75 + 9.8 + 1.1875
    # b: closed, so the courier's weight goes by bank; no one returns, no mule: bank 400, seized 40, fees 7.2
    assert interdicted.tolist() == close([247.75, 40.0])
    assert costs.tolist() == close([19.7375, 7.2])
    assert delivered.tolist() == close([1000 - 247.75 - 19.7375, 400 - 40 - 7.2])
    assert books.delivered_last == close(732.5125 + 352.8)
    # the loss rate the state sees: seized, plus the fees on what is not
    assert books.loss_rate_last.tolist() == close([[0.3 + 0.7 * 0.02, 0.216 + 0.784 * 0.05, 0.05 + 0.95 * 0.01],
                                                   [0.1 + 0.9 * 0.02, 0.1 + 0.9 * 0.05, 0.5 + 0.5 * 0.01]])
    books.send_money_home(take, returning, lv)  # the accounts add up month after month
    assert books.accounts["taken"].tolist() == [2000.0, 800.0]
    assert books.accounts["delivered"].tolist() == close([2 * 732.5125, 2 * 352.8])
    assert books.accounts["interdicted"].tolist() == close([495.5, 80.0])
    assert books.accounts["costs"].tolist() == close([2 * 19.7375, 14.4])
    # next month's weights: w exp(-2 x loss), normalised, floored at 0.05, normalised again
    loss = books.loss_rate_last
    w = np.array([5 / 8, 2 / 8, 1 / 8]) * np.exp(-2.0 * loss)
    w = w / w.sum(axis=1, keepdims=True)
    w = np.maximum(w, 0.05)
    books.pick_channels()
    assert books.channel_weights.tolist() == close((w / w.sum(axis=1, keepdims=True)).tolist())
    assert books.channel_weights[1, 2] > books.channel_weights[1, 1] * 0 and w[1, 2] < 0.1  # b's mule weight falls


# ---------------------------------------------------------------- sim/core/rules.py: edges of the rules

P = rules.plain


def test_rule_boundaries_are_strict_where_a_draw_meets_a_chance():
    """A draw u against a chance p succeeds when u < p (so a chance 0 never does): at u = p, not."""
    assert not P.contract_ends(40, 36, False, 0.15, 0.15)
    assert not P.side_job_granted(0.35, 0.35)
    assert not P.wants_side_job(230.0, 400.0, 0.6, 0.3, 0.3)
    assert not P.short_of_expectation(240.0, 400.0, 0.6)  # keeps exactly the 0.6 x 400 he expected
    fate = P.repatriation_fate
    assert fate(0, 0.05, 0.2, 0.1, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 0  # u = hazard: not due
    assert fate(0, 0.04, 0.3, 0.1, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 4  # relabel draw = evasion: sent home
    assert fate(0, 0.04, 0.2, 0.25, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 2  # route draw = student cut: tourist
    assert fate(0, 0.04, 0.2, 0.7, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 3  # = tourist cut: other
    assert fate(2, 0.08, 0.0, 0.0, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 2  # u = detection: not found


def test_threat_on_a_shortfall_below_one_dollar():
    assert P.threatened(0.5, 0.1, 0.3)  # any shortfall, however small


def test_group_quota_of_a_camp_earning_under_a_dollar():
    # ratio 0.2 / 0.5 = 0.4: 0.4 x 0.3 + 0.1 x (0.3 - 0.12)
    assert P.group_quota_take(0.3, 0.5, 0.2, 0.1) == close(0.12 + 0.018)


def test_hardship_edges():
    # expected 0.6 x 1.5 = 0.9 (under a dollar): pay gap 1 - 0.45 / 0.9 = 0.5; base hours, no debt; pay weight only
    assert P.hardship(0.45, 1.5, 12.0, 0.0, 300.0, 0.6, 12.0, 18.0, 1.0, 0.0, 0.0) == close(0.5)
    # a loss (kept -120) is a pay gap of 1, not 1.5
    assert P.hardship(-120.0, 400.0, 12.0, 0.0, 300.0, 0.6, 12.0, 18.0, 1.0, 0.0, 0.0) == close(1.0)
    # a span of half an hour: 12.25 h is half way, overwork 0.5 (hours weight only)
    assert P.hardship(240.0, 400.0, 12.25, 0.0, 300.0, 0.6, 12.0, 12.5, 0.0, 1.0, 0.0) == close(0.5)


def test_escape_chances_without_a_held_passport():
    # route 0.3 + 0.7 x 0.4 = 0.58, vigilance 0.35, passport not held: 0.58 x 0.65 = 0.377
    success, _ = P.escape_chances(180.0, 400.0, 12.0, 0.0, 300.0, 0.3, 0.7, 0.6, 0.3, 0.4, 0.35, False, 0.6,
                                  12.0, 18.0, 1.0, 0.0, 0.0, 0.6, 0.25, -0.6, 0.05, 0.03)
    assert success == close(0.377)


def test_closed_border_weights_with_only_mules_give_the_bank_weight_one():
    got = rules.closed_border_weights(np.array([[0.0, 0.0, 1.0], [0.2, 0.5, 0.3]]), np.array([True, False]))
    assert got.tolist() == close([[1.0, 0.0, 1.0], [0.2, 0.5, 0.3]])


def test_legal_thresholds_where_nothing_is_reachable_and_with_no_other_route():
    # a full ban without evasion: reachable 0; thresholds 1 (nobody is posted there anyway)
    got = rules.legal_thresholds(np.array([1.0]), np.array([0.0]), np.zeros(1), np.zeros(1), np.array([[0.4, 0.4, 0.2]]))
    assert got.tolist() == [[1.0, 1.0, 1.0]]
    # no "other" route: the last threshold is exactly 1 (the running sum rounds to 0.9999999999999999 here)
    got = rules.legal_thresholds(np.array([0.3]), np.array([0.6]), np.zeros(1), np.zeros(1), np.array([[0.39, 0.2, 0.0]]))
    permit = 0.7 / 0.88  # (1 - 0.3) / (1 - 0.3 x 0.4)
    assert got[0, :2].tolist() == close([permit, permit + (1 - permit) * 0.39 / 0.59])
    assert got[0, 2] == 1.0


def test_deployments_destinations_by_their_room():
    z = np.zeros(3)
    ban = np.array([1.0, 0.0, 0.0])
    # host 1 is at its cap (room 0), host 2 has room: all of host 0's moved posts go to host 2
    counts, change = rules.deployments(np.array([100.0, 50.0, 40.0]), np.zeros(3), ban, z, z, 0.5,
                                       np.array([200.0, 50.0, 100.0]), z, 0.0)
    assert change.tolist() == close([-50.0, 0.0, 50.0])
    # host 1 has half a post of room: 0.5 x 100 = 50 lost posts split 50 : 40 between hosts 1 and 2, host 1's
    # 27.78 cut to its room 0.5
    _, change = rules.deployments(np.array([100.0, 50.0, 40.0]), np.zeros(3), ban, z, z, 0.5,
                                  np.array([200.0, 50.5, 100.0]), z, 0.0)
    to2 = 50.0 * 40 / 90
    assert change.tolist() == close([-(0.5 + to2), 0.5, to2])
    # a small destination (target 2, reach gap 0.3: gain 0.6 < 1) still receives; 0.8 arriving, room 0.5
    ban2 = np.array([0.3, 0.0])
    _, change = rules.deployments(np.array([10.0, 2.0]), np.zeros(2), ban2, np.zeros(2), np.zeros(2), 0.8 / 3.0,
                                  np.array([20.0, 2.5]), np.zeros(2), 0.0)
    # lost 10 x 0.3 = 3, a share 0.8 / 3 of it: 0.8 arriving at host 1, scaled to its room 0.5
    assert change.tolist() == close([-0.5, 0.5])


def test_repatriation_over_a_single_month():
    # a mandate one month long: the monthly hazard is the compliance itself
    assert rules.repatriation_prob(np.array([0.3, 0.65]), 1, 1).tolist() == close([0.3, 0.65])


def test_next_plans_with_the_default_cut_and_floor():
    plans, initial = np.array([300.0, 200.0]), np.array([250.0, 250.0])
    # out of reach but no cut given: the plans stay as they are (not cut, nor raised)
    got = rules.next_plans(plans, initial, 900.0, 1000.0, 0.04, 1.5, np.array([0.9, 0.2]), 0.5)
    assert got.tolist() == close([300.0, 208.0])
    # a cut with the default floor (the initial plan): 300 x 0.9 = 270 stays above 250
    got = rules.next_plans(plans, initial, 900.0, 1000.0, 0.04, 1.5, np.array([0.9, 0.9]), 0.5, 0.1)
    assert got.tolist() == close([270.0, 200.0])  # 200 is below its floor 250: kept at 200
    # a reach given but no short shares: nobody is short, so every plan is raised (300 x 1.04 and 200 x 1.04)
    got = rules.next_plans(plans, initial, 900.0, 1000.0, 0.04, 1.5, reach=0.5, cut=0.1)
    assert got.tolist() == close([312.0, 208.0])


def test_expected_take_under_each_remittance_rule():
    gross = np.array([523.0, 211.0])
    for rule, expected in (("share", [0.37 * 523, 0.37 * 211]), ("plan", [317 + 0.13 * 206, 211.0]),
                           ("group_quota", [317 + 0.13 * 206, 211.0])):
        p = make_params({}, {"remittance.rule": rule, "remittance.fees_share": 0.13, "remittance.share": 0.37})
        assert rules.expected_take(gross, 317.0, p).tolist() == close(expected), rule


def test_new_worker_traits_boundaries_and_paid_off_veterans():
    from sim.core import draws

    seed, ids = 13, np.array([4, 9, 17, 23, 31, 40])

    def u(trait):
        return draws.draws(seed, f"worker.{trait}", -1, ids)

    p = make_params({}, {"worker.risk_aversion_min": 0.1, "worker.risk_aversion_max": 0.7, "worker.family_min": 0.2,
                         "worker.family_max": 0.95, "worker.informant_share": float(u("informant")[2]),
                         "worker.passport_confiscation": float(u("passport")[4]), "worker.entry_bribe_median": 30.0,
                         "worker.entry_bribe_sigma": 0.1, "work.hours_base": 11.0, "work.hours_max": 17.0,
                         "remittance.rule": "plan", "remittance.fees_share": 0.0})
    months = np.array([0, 0, 0, 0, 0, 30])  # the last a veteran who paid his small bribe off long ago
    v = u("legal")
    on = sorted([1, 3, 5], key=lambda i: v[i])
    legal = v[on]  # three workers' draws fall exactly on the thresholds
    got = rules.new_worker_attributes(seed, ids, p, 820.0, 300.0, months_abroad=months, legal=legal)
    assert got["risk_aversion"].tolist() == close((0.1 + 0.6 * u("risk_aversion")).tolist())
    assert got["family"].tolist() == close((0.2 + 0.75 * u("family")).tolist())
    # a draw equal to the share is not below it
    assert got["informant"].tolist() == (u("informant") < u("informant")[2]).tolist() and not got["informant"][2]
    assert got["passport_held"].tolist() == (u("passport") < u("passport")[4]).tolist() and not got["passport_held"][4]
    # a draw on a threshold is above it: permit below the first, student below the second, tourist below the third
    expected = [int(x >= legal[0]) + int(x >= legal[1]) + int(x >= legal[2]) for x in v]
    assert got["legal"].tolist() == expected and [expected[i] for i in on] == [1, 2, 3]
    assert got["entry_debt"][5] == 0.0 and got["entry_debt"][:5].tolist() == got["entry_bribe"][:5].tolist()
    plain = rules.new_worker_attributes(seed, ids, p, 820.0, 300.0)
    assert plain["legal"].dtype == np.int64 and plain["legal"].tolist() == [0] * 6  # permits, as whole codes


# ---------------------------------------------------------------- sim/core/policies.py: schedules, months, levers

HOSTS = ["china", "russia", "gulf", "africa", "asia", "europe"]


def _lv(*policies, month=0):
    p = make_params({"policies": list(policies)})
    return levers_for_month(p, p.calendar.index(month) if isinstance(month, str) else month), p


def test_compliance_must_be_a_share():
    for ok in (0.0, 1.0, {h: 1.0 for h in HOSTS}):
        make_params({"policies": [{"kind": "permit_ban", "start": 0, "compliance": ok}]})
    for bad in (1.5, -0.1, {**{h: 0.5 for h in HOSTS}, "china": 1.2}):
        with pytest.raises(Exception, match="compliance must be between 0 and 1"):
            PermitBan(kind="permit_ban", start=0, compliance=bad)
    with pytest.raises(Exception, match="finite"):  # NaN: pydantic refuses it first (allow_inf_nan=False)
        PermitBan(kind="permit_ban", start=0, compliance=float("nan"))
    with pytest.raises(Exception, match="compliance must be between 0 and 1"):
        PermitBan(kind="permit_ban", start=0, schedule=[{"start": 3, "compliance": 1.01}])


def test_levers_name_the_month_and_label_the_policies_in_force():
    lv, _ = _lv({"kind": "permit_ban", "start": 0, "label": "UNSCR 2375"}, {"kind": "cash_interdiction", "start": 0},
                {"kind": "direct_wages", "start": 9}, month=4)
    assert lv.month == 4 and lv.n_hosts == 6 and lv.active == ["UNSCR 2375", "cash_interdiction"]


def test_a_schedule_changes_compliance_from_each_period_on():
    policy = {"kind": "financial_sanctions", "start": "2017-01", "end": "2018-01", "block": 0.8, "hosts": ["russia", "gulf"],
              "compliance": 0.25, "schedule": [{"start": "2017-04", "compliance": 0.5},
                                              {"start": "2017-09", "compliance": {**{h: 0.0 for h in HOSTS}, "gulf": 0.75}}]}
    blocks = {m: _lv(policy, month=m)[0].bank_block.tolist() for m in ("2016-12", "2017-01", "2017-03", "2017-04", "2017-09",
                                                                      "2017-12", "2018-01")}
    assert blocks["2016-12"] == [0.0] * 6
    assert blocks["2017-01"] == close([0.0, 0.2, 0.2, 0.0, 0.0, 0.0])  # 0.8 x 0.25 on the two hosts named
    assert blocks["2017-03"] == blocks["2017-01"]
    assert blocks["2017-04"] == close([0.0, 0.4, 0.4, 0.0, 0.0, 0.0])  # 0.8 x 0.5 from the period's start
    assert blocks["2017-09"] == close([0.0, 0.0, 0.6, 0.0, 0.0, 0.0])  # per host: 0.8 x 0.75 in the gulf only
    assert blocks["2017-12"] == blocks["2017-09"]
    assert blocks["2018-01"] == [0.0] * 6  # the end month is the first it no longer applies
    p = make_params({"policies": [policy]})
    pol, cal = p.policies[0], p.calendar
    assert pol.compliance_at("russia") == 0.25 and pol.compliance_at("china") == 0.0  # no month: its own level
    assert pol.compliance_at("gulf", cal.index("2017-05"), cal) == 0.5
    assert pol.in_force(cal, cal.index("2017-12")) and not pol.in_force(cal, cal.index("2018-01"))
    assert pol.levels() == [0.25, 0.5, {**{h: 0.0 for h in HOSTS}, "gulf": 0.75}]
    open_ended = make_params({"policies": [{"kind": "permit_ban", "start": 5}]})
    assert open_ended.policies[0].in_force(open_ended.calendar, 119) and not open_ended.policies[0].in_force(
        open_ended.calendar, 4)


def test_the_months_of_a_policy_are_checked_on_the_calendar():
    cal = Calendar(start="2016-01", months=60)
    ok = PermitBan(kind="permit_ban", start="2016-06", end="2017-06",
                   schedule=[{"start": "2016-09", "compliance": 0.5}, {"start": "2017-01", "compliance": 0.7}])
    assert ok.check_months(cal) == []
    assert PermitBan(kind="permit_ban", start=5, end=5).check_months(cal) == ["end: ends (5) before or when it starts (5)"]
    assert PermitBan(kind="permit_ban", start=5, end=4).check_months(cal) == ["end: ends (4) before or when it starts (5)"]
    bad = PermitBan(kind="permit_ban", start=5, end=20, schedule=[{"start": 5, "compliance": 0.5},
                                                                   {"start": 9, "compliance": 0.6},
                                                                   {"start": 9, "compliance": 0.7},
                                                                   {"start": 20, "compliance": 0.8}])
    assert bad.check_months(cal) == [
        "schedule[0].start: 5 is not after the policy start (5)",
        "schedule[2].start: 9 is not after the period before (9)",
        "schedule[3].start: 20 is not before the policy's end (20)",
    ]
    late = PermitBan(kind="permit_ban", start=5, schedule=[{"start": 12, "compliance": 0.5}, {"start": 8, "compliance": 0.6},
                                                           {"start": 10, "compliance": 0.7}])
    # each period after the latest before it: 8 and 10 both come before 12
    assert late.check_months(cal) == ["schedule[1].start: 8 is not after the period before (12)",
                                      "schedule[2].start: 10 is not after the period before (8)"]
    assert PermitBan(kind="permit_ban", start=5, end=30, schedule=[{"start": 29, "compliance": 0.5}]).check_months(cal) == []


def test_a_mandate_deadline_is_after_its_start_and_the_first_month():
    cal = Calendar(start="2016-01", months=60)
    same = Repatriation(kind="repatriation", start=6, deadline=6)
    assert same.check_months(cal) == ["deadline: deadline (6) is not after the start (6)"]
    early = Repatriation(kind="repatriation", start=-5, deadline=0)
    assert early.check_months(cal) == ["deadline: deadline (0) is not after the first month of the run (2016-01)"]
    assert Repatriation(kind="repatriation", start=-5, deadline=1).check_months(cal) == []


def _levers_of(policy, month=0, hosts=HOSTS):
    lv = Levers(month=month, n_hosts=len(hosts), hosts=list(make_params({}).hosts.values()))
    cal = Calendar(start="2016-01", months=60)
    for h in range(len(hosts)):
        c = policy.compliance_at(hosts[h], month, cal)
        if c > 0:
            policy.apply(lv, h, c, month, cal)
    return lv, cal


def test_each_kind_pulls_its_levers_at_the_hosts_it_covers_only():
    one = {"hosts": ["gulf"], "compliance": 0.4, "start": 0}
    lv, _ = _levers_of(AsylumAccess(kind="asylum_access", route_boost=0.25, **one))
    assert lv.asylum_boost.tolist() == close([0, 0, 0.1, 0, 0, 0])
    lv, _ = _levers_of(BorderClosure(kind="border_closure", **one))
    assert lv.closed.tolist() == [False, False, True, False, False, False]
    lv, _ = _levers_of(DirectWages(kind="direct_wages", coercion=0.2, **one))
    assert lv.direct_wages.tolist() == [0, 0, 0.4, 0, 0, 0] and lv.coercion.tolist() == [0, 0, 0.2, 0, 0, 0]
    lv, _ = _levers_of(LaborInspections(kind="labor_inspections", max_hours=9.5, **one))
    assert lv.inspections.tolist() == [0, 0, 0.4, 0, 0, 0] and lv.max_hours[2] == 9.5 and np.isinf(lv.max_hours[3])
    assert lv.return_passports.tolist() == [False, False, True, False, False, False]
    lv, _ = _levers_of(PermitBan(kind="permit_ban", evasion=0.35, **one))
    assert lv.ban.tolist() == [0, 0, 0.4, 0, 0, 0] and lv.evasion.tolist() == [0, 0, 0.35, 0, 0, 0]
    lv, _ = _levers_of(CashInterdiction(kind="cash_interdiction", seizure=0.5, mule_seizure=0.25, **one))
    assert lv.courier_seizure.tolist() == close([0, 0, 0.2, 0, 0, 0]) and lv.mule_seizure.tolist() == close([0, 0, 0.1, 0, 0, 0])
    lv, _ = _levers_of(FinancialSanctions(kind="financial_sanctions", block=0.5, **one))
    assert lv.bank_block.tolist() == close([0, 0, 0.2, 0, 0, 0])


def test_a_mandate_at_one_host_before_and_after_its_deadline():
    gulf = make_params({}).hosts["gulf"]
    monthly = lambda yearly: 1 - (1 - yearly) ** (1 / 12)  # noqa: E731
    m = Repatriation(kind="repatriation", start=2, deadline=14, evasion=0.3, after_deadline=0.45, hosts=["gulf"], compliance=1.0)
    lv, _ = _levers_of(m, month=5)
    # full compliance: 1 / (months left) of those still there each month: 1 / (14 - 5)
    assert lv.repatriation_hazard.tolist() == close([0, 0, 1 / 9, 0, 0, 0])
    assert lv.repatriation.tolist() == [0, 0, 1.0, 0, 0, 0] and lv.repatriation_evasion.tolist() == [0, 0, 0.3, 0, 0, 0]
    assert lv.detection[2].tolist() == close([monthly(gulf.detect_student), monthly(gulf.detect_tourist),
                                              monthly(gulf.detect_other)])
    assert lv.detection[[0, 1, 3, 4, 5]].tolist() == [[0.0] * 3] * 5
    lv, _ = _levers_of(m, month=14)  # at the deadline: the yearly after_deadline rate, per month
    assert lv.repatriation_hazard.tolist() == close([0, 0, monthly(0.45), 0, 0, 0])


def test_of_two_policies_of_one_kind_at_equal_compliance_the_later_one_brings_its_fields():
    lv, _ = _lv({"kind": "permit_ban", "start": 0, "evasion": 0.9, "compliance": 0.4},
                {"kind": "permit_ban", "start": 0, "evasion": 0.1, "compliance": 0.4},
                {"kind": "direct_wages", "start": 0, "coercion": 0.7, "compliance": 0.4},
                {"kind": "direct_wages", "start": 0, "coercion": 0.2, "compliance": 0.4},
                {"kind": "labor_inspections", "start": 0, "max_hours": 11.0, "return_passports": True, "compliance": 0.4},
                {"kind": "labor_inspections", "start": 0, "max_hours": 9.0, "return_passports": False, "compliance": 0.4},
                {"kind": "repatriation", "start": 0, "deadline": 24, "evasion": 0.6, "compliance": 0.4},
                {"kind": "repatriation", "start": 0, "deadline": 24, "evasion": 0.2, "compliance": 0.4})
    assert lv.evasion.tolist() == [0.1] * 6 and lv.coercion.tolist() == [0.2] * 6
    assert lv.max_hours.tolist() == [9.0] * 6 and not lv.return_passports.any()
    assert lv.repatriation_evasion.tolist() == [0.2] * 6


def test_channel_losses_and_levers_as_lists():
    lv, p = _lv({"kind": "cash_interdiction", "start": 0, "seizure": 0.5, "mule_seizure": 0.3, "hosts": ["russia"]},
                {"kind": "financial_sanctions", "start": 0, "block": 0.6, "hosts": ["china"]})
    loss = channel_losses(p, lv)
    base = [h.base_interdiction for h in p.hosts.values()]
    assert loss["bank"].tolist() == close([0.6, 0, 0, 0, 0, 0])
    assert loss["courier"].tolist() == close([base[0], 1 - (1 - base[1]) * 0.5, *base[2:]])
    assert loss["mule"].tolist() == close([0, 0.3, 0, 0, 0, 0])
    loss["bank"][0] = 0.0  # a copy: the levers stay as they are
    assert lv.bank_block[0] == 0.6
    listed = lv.as_lists()
    assert listed.bank_block == lv.bank_block.tolist() and isinstance(listed.closed, list)
    assert listed.detection == [[0.0] * 3] * 6 and listed.month == lv.month and isinstance(lv.bank_block, np.ndarray)
    fresh = Levers(month=2, n_hosts=3)
    assert fresh.detection.shape == (3, 3) and fresh.max_hours.tolist() == [math.inf] * 3
    assert fresh.closed.dtype == bool and fresh.return_passports.dtype == bool and fresh.ban.tolist() == [0.0] * 3


def test_a_host_missing_from_a_compliance_table_does_not_comply():
    ban = PermitBan(kind="permit_ban", start=0, compliance={"russia": 0.6})  # built directly, not via a parameter file
    assert ban.compliance_at("russia") == 0.6 and ban.compliance_at("gulf") == 0.0


def test_total_adds_left_to_right_without_compensation():
    assert rules.total([]) == 0.0 and isinstance(rules.total([]), float)
    assert rules.total([0.25, 1.5, -0.125]) == 1.625
    # plain addition loses the 1 next to 1e16 (math.fsum would keep it): the order of the bincount and the loops
    assert rules.total([1e16, 1.0, -1e16]) == 0.0
    assert rules.total(np.array([3.0, 4.5])) == 7.5


def test_fill_units_fills_rooms_in_order_then_opens_new_units():
    # 23 newcomers: 3 into unit 4, none into the full unit 7, 5 into unit 9, then new units of 6, 6 and 3
    assert rules.fill_units(23, [(4, 3), (7, 0), (9, 5.0)], 6) == [(4, 3), (9, 5), (None, 6), (None, 6), (None, 3)]
    assert rules.fill_units(2, [(1, 5), (2, 4)], 6) == [(1, 2)]  # the first unit with room takes both
    assert rules.fill_units(3, [(1, 3), (2, 4)], 6) == [(1, 3)]  # nobody left for unit 2
    assert rules.fill_units(0, [(1, 3)], 6) == [] and rules.fill_units(7, [], 4) == [(None, 4), (None, 3)]
    # one at a time: a room of one, a last one left over
    assert rules.fill_units(1, [(3, 2)], 6) == [(3, 1)] and rules.fill_units(5, [(8, 1)], 3) == [(8, 1), (None, 3), (None, 1)]
    assert rules.fill_units(4, [(1, 3), (2, 4)], 6) == [(1, 3), (2, 1)]


def test_default_arguments_of_the_state_rules_and_the_cohort():
    # no mandate evasion given: a mandate at 0.5 closes half the market
    counts, _ = rules.deployments(np.array([80.0]), np.array([0.0]), np.zeros(1), np.zeros(1), np.array([0.5]), 0.0,
                                  np.array([100.0]))
    assert counts.tolist() == [40]
    # a cohort with no months abroad given is new: he expects his share and owes his whole bribe
    p = make_params({}, {"worker.expected_share": 0.55})
    got = rules.new_worker_attributes(3, np.array([5, 6, 7]), p, 700.0, 300.0)
    assert got["kept_avg"].tolist() == close((0.55 * got["gross_avg"]).tolist())
    assert got["entry_debt"].tolist() == got["entry_bribe"].tolist()
