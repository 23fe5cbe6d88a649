"""Every declared outcome pinned by value on a run small enough to work out by hand (issue 34, item 7).

The runs' tests check the outcomes through whole simulations, where a wrong divisor or percentile hides in the
noise; here a made-up run of four months, six workers, two hosts and two sectors has every outcome's value written
out from its definition in words (sim/results/outcomes.py), so any change to a formula fails a named case. The kept
share of the promised pay is pinned both ways: per host, and per host group and sector when a run has both a sectors
table and its parameters (each cell held to its own promise, `sim.core.sectors.expand`)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from sim.results.columns import COL
from sim.results.outcomes import OUTCOMES, kept_of_promised, outcomes_of, sector_per_run_year, sector_per_year_in

# four months, 2019-11 to 2020-02: the workers at work, the money and the events of each month
MONTHS = {
    COL.month: [0, 1, 2, 3],
    COL.date: ["2019-11", "2019-12", "2020-01", "2020-02"],
    COL.workers_working: [100, 100, 90, 110],  # 400 worker-months, 33.33 worker-years
    COL.workers_active: [105, 102, 95, 111],
    COL.revenue_delivered: [1000.0, 2000.0, 3000.0, 4000.0],
    COL.state_take: [1500.0, 2500.0, 3500.0, 4500.0],
    COL.revenue_interdicted: [0.0, 100.0, 0.0, 300.0],
    COL.wages_gross: [5000.0, 5000.0, 4000.0, 6000.0],
    COL.side_earnings: [0.0, 500.0, 0.0, 500.0],
    COL.worker_retained: [1000.0, 1500.0, 500.0, 1000.0],
    COL.share_zero_retained: [0.1, 0.2, 0.3, 0.4],
    COL.hours_mean: [12.0, 13.0, 14.0, 15.0],
    COL.escaped: [1, 0, 0, 1],
    COL.caught: [0, 3, 0, 0],
    COL.deaths: [0, 0, 1, 0],
    COL.sent_home: [3, 0, 1, 0],
    COL.retained_median: [8.0, 10.0, 12.0, 30.0],
}
WORKERS = {
    "status": ["active", "completed", "completed", "sent_home", "dead", "completed"],
    "months_abroad": [4, 36, 36, 0, 7, 36],
    "net_gain": [50.0, 400.0, 100.0, -300.0, -100.0, 0.0],
    "entry_bribe": [100.0, 200.0, 300.0, 400.0, 500.0, 600.0],
    "retained_total": [60.0, 500.0, 200.0, 0.0, 10.0, 170.0],
    "forfeited_total": [0.0, 100.0, 50.0, 0.0, 0.0, 10.0],
}
HOSTS = {  # months x hosts: Russia's workers keep 300 over 150 worker-months
    "host": ["russia", "gulf", "russia", "gulf"],
    COL.workers_working: [50, 150, 100, 100],
    COL.worker_retained: [100.0, 900.0, 200.0, 800.0],
}
SECTORS = {  # the IT sector in two months of 2019 and one of 2020; factories in every month
    COL.month: [0, 1, 2, 0, 1, 2, 3],
    COL.date: ["2019-11", "2019-12", "2020-01", "2019-11", "2019-12", "2020-01", "2020-02"],
    "host": ["russia"] * 7,
    "sector": ["it", "it", "it", "factory", "factory", "factory", "factory"],
    COL.state_take: [10.0, 30.0, 70.0, 1.0, 1.0, 1.0, 1.0],
    COL.revenue_delivered: [5.0, 15.0, 40.0, 2.0, 2.0, 2.0, 2.0],
}
HOST_PARAMS = {"russia": {"wage": 600.0, "promised_wage": 1000.0}, "gulf": {"wage": 500.0}}


def a_run(sectors: bool = False, manifest: dict | None = None):
    return SimpleNamespace(
        monthly=pd.DataFrame(MONTHS),
        workers=pd.DataFrame(WORKERS),
        hosts=pd.DataFrame(HOSTS),
        sectors=pd.DataFrame(SECTORS) if sectors else None,
        manifest={"params": {"hosts": HOST_PARAMS}} if manifest is None else manifest,
    )


def an_empty_run():
    """No month, no worker: the tables with their columns and no rows."""
    return SimpleNamespace(
        monthly=pd.DataFrame({k: pd.Series([], dtype=float) for k in MONTHS}),
        workers=pd.DataFrame({k: pd.Series([], dtype=float) for k in WORKERS}),
        hosts=pd.DataFrame({k: pd.Series([], dtype=float) for k in HOSTS}),
        sectors=None,
        manifest={},
    )


WORKER_YEARS = 400 / 12
# each outcome's value worked out from its words; the run is four months long, a third of a year
EXPECTED = {
    "revenue_delivered_per_year": 10000.0 * 3,
    "state_take_per_year": 12000.0 * 3,
    "revenue_interdicted_per_year": 400.0 * 3,
    "state_take_per_worker_month": 12000.0 / 400,
    "worker_share_kept": 4000.0 / (20000.0 + 1000.0),
    "retained_per_worker_month": 4000.0 / 400,
    "net_gain_mean": (50 + 400 + 100 - 300 - 100 + 0) / 6,
    "net_gain_p10": -220.0,  # the five who left: -300, -100, 0, 100, 400; 40% of the way from -300 to -100
    "net_gain_p50": 0.0,
    "net_gain_p90": 280.0,  # 60% of the way from 100 to 400
    "share_zero_retained_mean": 0.25,
    "hours_mean": (12 * 100 + 13 * 100 + 14 * 90 + 15 * 110) / 400,
    "escapes_per_1000_worker_years": 1000 * 2 / WORKER_YEARS,
    "caught_per_1000_worker_years": 1000 * 3 / WORKER_YEARS,
    "deaths_per_10000_worker_years": 10000 * 1 / WORKER_YEARS,
    "sent_home_per_1000_worker_years": 1000 * 4 / WORKER_YEARS,
    "tenure_median_months": 36.0,  # the five who left: 0, 7, 36, 36, 36
    "left_in_first_month_share": 0.2,
    "entry_bribe_median": 350.0,
    "workers_active_mean": (105 + 102 + 95 + 111) / 4,
    "workers_final": 111,
    "worker_months": 400.0,
    # kept 2,000 of what was promised: Russia 150 worker-months at 1,000, the Gulf 250 at its wage 500
    "kept_share_of_promised": 2000.0 / (150 * 1000 + 250 * 500),
    "russia_kept_per_day": 300.0 / 150 / 30,
    # of the three who completed, one took home 400 (500 less 100), one 150 and one exactly 160: two of three
    "share_received_under_160": 2 / 3,
    "retained_median_mean": 15.0,
}
WITH_SECTORS = {
    "it_revenue_2019": (10.0 + 30.0) * 12 / 2,  # two months of 2019, scaled to a year
    "it_revenue_per_year": 60.0 * 12 / 4,  # over the run's four months
    "factory_revenue_per_year": 8.0 * 12 / 4,
}


def test_every_outcome_has_a_value_worked_out_by_hand():
    assert set(EXPECTED) | set(WITH_SECTORS) == set(OUTCOMES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_outcome_is_its_definition(name):
    got = outcomes_of(a_run(), [name])[name]
    assert got == pytest.approx(EXPECTED[name], rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("name", sorted(WITH_SECTORS))
def test_a_sectors_outcome_is_its_definition(name):
    run = a_run(sectors=True, manifest={})  # no parameters: the run's hosts' promises are not needed here
    assert outcomes_of(run, [name])[name] == pytest.approx(WITH_SECTORS[name], rel=1e-12)
    assert math.isnan(outcomes_of(a_run(), [name])[name])  # a run without a sectors table: n/a, not zero


def test_outcomes_of_an_empty_run_are_not_numbers_or_zero():
    """No month, no worker: every rate and share is n/a (never a division by zero), the counts are zero."""
    empty = an_empty_run()
    values = outcomes_of(empty, sorted(OUTCOMES))
    zero = {"workers_final", "worker_months"}
    assert {k for k, v in values.items() if not math.isnan(v)} == zero
    assert all(values[k] == 0 for k in zero)


def test_the_shared_helpers_by_value():
    hosts = pd.DataFrame(HOSTS)
    assert kept_of_promised(hosts, HOST_PARAMS) == pytest.approx(2000.0 / 275000.0, rel=1e-12)
    # a host without a promised wage is held to its wage; one with neither makes the share n/a
    assert kept_of_promised(hosts, {"russia": {"wage": 600.0}, "gulf": {"wage": 500.0}}) == pytest.approx(
        2000.0 / (150 * 600 + 250 * 500), rel=1e-12
    )
    assert math.isnan(kept_of_promised(hosts, {"russia": {"wage": 600.0}}))
    sectors = pd.DataFrame(SECTORS)
    assert sector_per_year_in(sectors, "it", 2020, COL.state_take) == pytest.approx(70.0 * 12, rel=1e-12)
    assert math.isnan(sector_per_year_in(sectors, "it", 2018, COL.state_take))  # no month of 2018
    assert math.isnan(sector_per_year_in(sectors, "mining", 2019, COL.state_take))
    assert math.isnan(sector_per_run_year(sectors, "mining", COL.state_take))
    assert math.isnan(sector_per_run_year(None, "it", COL.state_take))


def test_the_kept_share_of_the_promise_is_per_cell_when_the_run_has_sectors_and_parameters():
    """With a sectors table and the run's parameters, each cell (host group x sector) is held to its own promise:
    Russia's IT workers to the IT sector's 5,000 a month (params: sectors.it.wage), its builders to the
    construction cell's (Russia's 900 scaled by the sector's normalised factor, `expand`), not both to Russia's 900.
    With an empty sectors table it is per host; without the parameters no promise is known (n/a). Broken on purpose (the host's promise
    for every cell, the cell's name built wrongly so no promise is found, the branch skipped): fails."""
    from sim.core.params import load_params, params_to_dict
    from sim.core.sectors import expand

    given = params_to_dict(load_params())
    cells = expand(load_params()).hosts
    builders = cells["russia:construction"].promised_wage
    assert cells["russia:it"].promised_wage == 5000.0 and builders != 900.0  # the cells' promises differ
    sectors = pd.DataFrame(
        {
            COL.month: [0, 0, 1, 1],
            "host": ["russia"] * 4,
            "sector": ["construction", "it", "construction", "it"],
            COL.workers_working: [60, 4, 40, 6],
            COL.worker_retained: [9000.0, 14000.0, 11000.0, 16000.0],
        }
    )
    hosts = pd.DataFrame({"host": ["russia"], COL.workers_working: [110], COL.worker_retained: [50000.0]})
    run = SimpleNamespace(
        monthly=pd.DataFrame(MONTHS),
        workers=pd.DataFrame(WORKERS),
        hosts=hosts,
        sectors=sectors,
        manifest={"params": given},
    )
    per_cell = 50000.0 / (100 * builders + 10 * 5000.0)
    assert outcomes_of(run, ["kept_share_of_promised"])["kept_share_of_promised"] == pytest.approx(per_cell, rel=1e-12)
    per_host = 50000.0 / (110 * 900.0)  # an empty sectors table: per host
    no_cells = SimpleNamespace(**{**vars(run), "sectors": sectors.iloc[:0]})
    got = outcomes_of(no_cells, ["kept_share_of_promised"])["kept_share_of_promised"]
    assert got == pytest.approx(per_host, rel=1e-12)
    unknown = SimpleNamespace(**{**vars(run), "manifest": {}})  # no parameters: no promise is known
    assert math.isnan(outcomes_of(unknown, ["kept_share_of_promised"])["kept_share_of_promised"])


def test_a_runs_summary_is_every_outcome_and_where_it_falls_against_the_brief():
    """`summarise`: the run's months and initial workers, every outcome by value, and for each of the brief's
    calibration targets the value, its range and whether it falls inside, worked out here from EXPECTED (n/a when
    the value is not a number). Broken on purpose (a bound swapped or exclusive, the verdict of another outcome,
    the months counted from another table): fails."""
    from sim.results.outcomes import BRIEF_TARGETS, summarise

    s = summarise(a_run(manifest={"params": {"hosts": HOST_PARAMS}, "workers_initial": 123}))
    assert s["months"] == 4 and s["workers_initial"] == 123
    assert {k: s[k] for k in EXPECTED} == pytest.approx(EXPECTED, rel=1e-12, abs=1e-12)
    inside = {  # by hand: 30 USD a worker-month is under 190; 60 escapes, 300 deaths and 120 sent home are over
        "state_take_per_worker_month": False,
        "worker_share_kept": True,  # 0.19
        "hours_mean": True,  # 13.5
        "escapes_per_1000_worker_years": False,
        "deaths_per_10000_worker_years": False,
        "sent_home_per_1000_worker_years": False,
        "tenure_median_months": True,  # 36
        "entry_bribe_median": True,  # 350
    }
    assert set(s["calibration"]) == set(BRIEF_TARGETS) == set(inside)
    for name, row in s["calibration"].items():
        assert row == {
            "value": pytest.approx(EXPECTED[name], rel=1e-12),
            "low": BRIEF_TARGETS[name][0],
            "high": BRIEF_TARGETS[name][1],
            "inside": inside[name],
            "what": OUTCOMES[name].what,
        }, name
    edge = a_run(manifest={})  # a value exactly at a bound is inside: entry bribes all 100, the lower bound
    edge.workers = edge.workers.assign(entry_bribe=100.0)
    assert summarise(edge)["calibration"]["entry_bribe_median"]["inside"] is True
    empty = an_empty_run()
    nothing = summarise(empty)
    assert nothing["months"] == 0 and nothing["workers_initial"] == 0
    assert all(row["inside"] is None for row in nothing["calibration"].values())  # n/a, not outside


def test_the_distributions_kept_per_run_are_percentiles_worked_out_by_hand():
    """`distributions_of`: percentiles 0 to 100 of the net gain of the workers who left (-300, -100, 0, 100, 400)
    and of what each worker kept a month abroad (retained over months abroad, those with a month abroad: 60/4,
    500/36, 200/36, 10/7, 170/36), linearly interpolated; n/a columns for a run with nobody in them. Broken on
    purpose (the active counted as leavers, the worker with no month abroad kept in, another interpolation): fails."""
    from sim.results.outcomes import distributions_of

    d = distributions_of(a_run())
    assert d["q"].tolist() == list(range(101)) and str(d["q"].dtype) == "int64"
    net = dict(zip(d["q"], d["net_gain"]))
    assert (net[0], net[25], net[50], net[75], net[100]) == (-300.0, -100.0, 0.0, 100.0, 400.0)
    assert net[10] == pytest.approx(-220.0, rel=1e-12) and net[90] == pytest.approx(280.0, rel=1e-12)
    kept = dict(zip(d["q"], d["retained_monthly"]))
    ordered = sorted([60 / 4, 500 / 36, 200 / 36, 10 / 7, 170 / 36])
    assert [kept[q] for q in (0, 25, 50, 75, 100)] == pytest.approx(ordered, rel=1e-12)
    assert kept[10] == pytest.approx(ordered[0] + 0.4 * (ordered[1] - ordered[0]), rel=1e-12)
    nobody_left = a_run()
    nobody_left.workers = nobody_left.workers.assign(status="active", months_abroad=0)
    none = distributions_of(nobody_left)
    assert none["net_gain"].isna().all() and none["retained_monthly"].isna().all() and len(none) == 101
