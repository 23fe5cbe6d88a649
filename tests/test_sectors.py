"""Sectors (issue 29, sim/core/sectors.py) pinned by value: the workers split over a host's mix, the cells `expand`
makes (the relative factors normalised over the host's mix by hand), the channel weights a cell's bank share sets,
the policies that act on the sectors they name, the pay a frozen account loses, the host rows and the monthly rows
as sums of the sectors table, the workers table's sector, the validation of mixes and of a policy's sectors, and
the sectors table in a saved run folder.

Each test was checked to fail with the code broken on purpose (in a scratch copy of the repository); the comment
above each assertion block says what breaking it does."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.common.errors import ParamsError
from sim.core.params import Params, load_params, make_params
from sim.core.policies import levers_for_month
from sim.core.sectors import DEFAULT_MIX, cells_of, expand, split_workers
from sim.core.state_books import StateBooks
from sim.engines.mesa.model import OverseasLaborModel
from sim.results.columns import COLUMN, HOST_COLUMNS, MONTHLY_COLUMNS, SECTOR_COLUMNS
from sim.results.result import Result, is_run_folder

from conftest import small_params


def close(x, rel=1e-12, abs=1e-12):
    return pytest.approx(x, rel=rel, abs=abs)


# ---------------------------------------------------------------- 1. split_workers


def test_split_workers_gives_each_sector_its_share_rounded_down_and_the_rest_to_the_largest_remainders():
    # exact shares: no remainder
    assert split_workers(100, {"a": 0.5, "b": 0.3, "c": 0.2}) == {"a": 50, "b": 30, "c": 20}
    # 10 x (0.33, 0.33, 0.34) = 3.3, 3.3, 3.4: floors 3, 3, 3 and the one left to c (remainder 0.4 > 0.3)
    # (broken: the leftover given in the mix's order instead of by remainder -> a gets 4)
    assert split_workers(10, {"a": 0.33, "b": 0.33, "c": 0.34}) == {"a": 3, "b": 3, "c": 4}
    # ties (7/3 = 2.33 each): the one left goes to the first in the mix's order
    assert split_workers(7, {"x": 1.0, "y": 1.0, "z": 1.0}) == {"x": 3, "y": 2, "z": 2}
    # shares need not add up to 1 (normalised): 9 x (2, 1)/3 = 6, 3
    assert split_workers(9, {"a": 2.0, "b": 1.0}) == {"a": 6, "b": 3}
    # China's default mix over 101 workers: 70.7, 15.15, 10.1, 3.838, 1.212 -> floors 70, 15, 10, 3, 1 (99);
    # the two left go to farming (0.838) and factory (0.7) (broken: to the first two in the mix's order -> 71, 16)
    assert split_workers(101, DEFAULT_MIX["china"]) == {
        "factory": 71,
        "construction": 15,
        "restaurant": 10,
        "farming": 4,
        "it": 1,
    }
    # 3 x (0.45, 0.45, 0.1) = 1.35, 1.35, 0.3: floors 1, 1, 0 and one to a (tie, mix order); (broken: each share
    # rounded to the nearest -> 1, 1, 0, a worker lost)
    assert split_workers(3, {"a": 0.45, "b": 0.45, "c": 0.1}) == {"a": 2, "b": 1, "c": 0}
    assert split_workers(0, {"a": 0.5, "b": 0.5}) == {"a": 0, "b": 0}


def test_split_workers_totals_are_exact_for_every_mix():
    rng = np.random.default_rng(29)
    for _ in range(300):
        k = int(rng.integers(1, 9))
        mix = {f"s{i}": float(w) for i, w in enumerate(rng.random(k) + 1e-3)}
        n = int(rng.integers(0, 5000))
        out = split_workers(n, mix)
        # (broken: the leftover loop dropped -> the total falls short)
        assert sum(out.values()) == n
        assert list(out) == list(mix)
        for s, w in mix.items():  # each within one worker of its exact share
            exact = n * w / sum(mix.values())
            assert math.floor(exact + 1e-9) <= out[s] <= math.floor(exact + 1e-9) + 1


# ---------------------------------------------------------------- 1. expand

# alpha: 100 workers, construction 0.5 / logging 0.3 / IT 0.2 (farming 0: no cell) -> 50, 30, 20
# beta: 10 workers, restaurant 0.5 / fishing 0.5 / IT 0.01 -> 10 x 0.5/1.01 = 4.95 each, 0.099: floors 4, 4, 0,
#   the two left to restaurant and fishing -> 5, 5, 0 (IT has no workers: no cell)
# gamma: one sector, its own values kept exactly
HOSTS = {
    "alpha": {
        "workers": 100,
        "wage": 1000.0,
        "plan": 600.0,
        "side_wage": 200.0,
        "escape_route": 0.5,
        "death_factor": 1.5,
        "route_student": 0.3,
        "route_tourist": 0.5,
        "route_other": 0.2,
        "sectors": {"construction": 0.5, "logging": 0.3, "it": 0.2, "farming": 0.0},
    },
    "beta": {
        "workers": 10,
        "wage": 900.0,
        "plan": 450.0,
        "side_wage": 100.0,
        "escape_route": 0.9,
        "sectors": {"restaurant": 0.5, "fishing": 0.5, "it": 0.01},
    },
    "gamma": {
        "workers": 7,
        "wage": 640.0,
        "plan": 333.0,
        "side_wage": 55.0,
        "escape_route": 0.45,
        "death_factor": 0.7,
        "bank_share": 0.35,
        "route_student": 0.1,
        "route_tourist": 0.6,
        "route_other": 0.3,
        "sectors": {"construction": 1.0},
    },
}


def two_groups(**raw):
    return make_params({"hosts": HOSTS, **raw})


def test_expand_makes_one_cell_per_host_and_sector_with_workers():
    e = expand(two_groups())
    cells = cells_of(e)
    # (broken: cells with no workers kept -> beta:it appears; zero shares kept -> alpha:farming appears)
    assert list(e.hosts) == [
        "alpha:construction",
        "alpha:logging",
        "alpha:it",
        "beta:restaurant",
        "beta:fishing",
        "gamma:construction",
    ]
    assert cells.names == tuple(e.hosts)
    assert cells.groups == ("alpha", "beta", "gamma")
    assert cells.group_of == (0, 0, 0, 1, 1, 2)
    assert cells.sector_of == ("construction", "logging", "it", "restaurant", "fishing", "construction")
    assert [h.workers for h in e.hosts.values()] == [50, 30, 20, 5, 5, 7]
    assert all(h.sectors == {s: 1.0} for h, s in zip(e.hosts.values(), cells.sector_of))
    # the unexpanded set is untouched (a copy)
    assert cells_of(two_groups()) is None


def test_expand_normalises_the_relative_factors_over_the_hosts_mix():
    e = expand(two_groups()).hosts
    con, log, it = e["alpha:construction"], e["alpha:logging"], e["alpha:it"]
    # wage: relative over construction (1.0, 50 workers) and logging (0.7, 30) only, IT's wage being absolute:
    # mean factor (50 + 21)/80 = 0.8875 -> 1000/0.8875 and 700/0.8875
    # (broken: not normalised -> 1000 and 700; IT counted in the mean -> (50+21+20)/100 = 0.91)
    assert con.wage == close(1000 / 0.8875) and con.wage == close(1126.7605633802818)
    assert log.wage == close(700 / 0.8875) and log.wage == close(788.7323943661972)
    assert (50 * con.wage + 30 * log.wage) / 80 == close(1000.0)  # the host's wage is its relative work's mean
    # plan: construction 1.0, logging 0.625 -> (50 + 18.75)/80 = 0.859375
    assert con.plan == close(600 / 0.859375) and log.plan == close(375 / 0.859375)
    assert (50 * con.plan + 30 * log.plan) / 80 == close(600.0)
    # IT: absolute wage and plan, whatever the host's
    # (broken: IT's absolute wage ignored -> 1000 x 1/0.8875)
    assert it.wage == 5000.0 and it.plan == 1700.0
    # side wage over all sectors: (50 x 1 + 30 x 0.3 + 20 x 0)/100 = 0.59
    # (broken: side factor not applied -> IT keeps 200)
    assert con.side_wage == close(200 / 0.59) and log.side_wage == close(60 / 0.59)
    assert it.side_wage == 0.0
    # escape route: (50 x 1 + 30 x 0.6 + 20 x 1)/100 = 0.88
    assert con.escape_route == close(0.5 / 0.88) and log.escape_route == close(0.3 / 0.88)
    assert it.escape_route == close(0.5 / 0.88)
    # death factor, the host's 1.5 times: (50 x 1.2 + 30 x 2 + 20 x 0.3)/100 = 1.26
    assert con.death_factor == close(1.5 * 1.2 / 1.26) and log.death_factor == close(1.5 * 2.0 / 1.26)
    assert it.death_factor == close(1.5 * 0.3 / 1.26)
    assert (50 * con.death_factor + 30 * log.death_factor + 20 * it.death_factor) / 100 == close(1.5)
    # beta: restaurant 0.8, fishing 1.0 (5 and 5; the empty IT cell weighs nothing) -> mean 0.9
    rest, fish = e["beta:restaurant"], e["beta:fishing"]
    assert rest.wage == close(800.0) and fish.wage == close(1000.0)
    assert rest.plan == close(400.0) and fish.plan == close(500.0)
    # side: restaurant 1, fishing 0 -> mean 0.5
    assert rest.side_wage == close(200.0) and fish.side_wage == 0.0
    # escape: restaurant 1.2, fishing 0.2 -> mean 0.7: 0.9 x 1.2/0.7 = 1.54 capped at 1; 0.9 x 0.2/0.7
    # (broken: the cap removed -> 1.542857...)
    assert rest.escape_route == 1.0
    assert fish.escape_route == close(0.9 * 0.2 / 0.7)
    # death: restaurant 0.5, fishing 2.0 -> mean 1.25 (host factor 1)
    assert rest.death_factor == close(0.4) and fish.death_factor == close(1.6)


def test_an_it_cell_sends_by_bank_and_evades_under_another_status():
    e = expand(two_groups()).hosts
    it = e["alpha:it"]
    # (broken: bank_share / route_other not applied -> None and the host's 0.3, 0.5, 0.2)
    assert it.bank_share == 0.9
    assert (it.route_student, it.route_tourist, it.route_other) == (0.0, 0.0, 1.0)
    # the other cells keep the host's routes and bank share (none)
    con = e["alpha:construction"]
    assert con.bank_share is None
    assert (con.route_student, con.route_tourist, con.route_other) == (0.3, 0.5, 0.2)


def test_route_other_below_one_splits_the_rest_in_the_hosts_proportions():
    # IT with route_other 0.6 at alpha (student 0.3, tourist 0.5): the 0.4 left split 3:5
    e = expand(two_groups(sectors={"it": {"route_other": 0.6}})).hosts["alpha:it"]
    assert (e.route_student, e.route_tourist, e.route_other) == (close(0.4 * 3 / 8), close(0.4 * 5 / 8), 0.6)


def test_a_host_with_one_sector_keeps_its_own_values_exactly():
    p = two_groups()
    gamma, cell = p.hosts["gamma"], expand(p).hosts["gamma:construction"]
    # (broken: construction's death factor 1.2 applied without normalising -> 0.84)
    for name in type(gamma).model_fields:
        if name != "sectors":
            assert getattr(cell, name) == getattr(gamma, name), name
    assert cell.wage == 640.0 and cell.plan == 333.0 and cell.side_wage == 55.0
    assert cell.escape_route == 0.45 and cell.death_factor == 0.7 and cell.bank_share == 0.35


def test_expand_is_idempotent():
    e = expand(two_groups())
    # (broken: the early return removed -> cells of cells, "alpha:construction:construction")
    assert expand(e) is e
    assert list(expand(e).hosts) == list(e.hosts)


def test_a_host_with_no_workers_keeps_its_first_cell_and_normalises_over_its_mix():
    p = make_params(
        {"hosts": {**HOSTS, "delta": {"workers": 0, "wage": 550.0, "sectors": {"farming": 1, "medical": 1}}}}
    )
    e = expand(p).hosts
    # no workers in either sector: the first kept (the host keeps its rows); factors over the mix's shares:
    # wage (0.7 + 1.5)/2 = 1.1
    assert [n for n in e if n.startswith("delta")] == ["delta:farming"]
    assert e["delta:farming"].workers == 0
    assert e["delta:farming"].wage == close(550 * 0.7 / 1.1)


# ---------------------------------------------------------------- 2. channel weights


def test_a_cells_bank_share_sets_its_initial_channel_weights():
    # channels 0.2 / 0.3 / 0.1 (not normalised): the host's weights 1/3, 1/2, 1/6; a bank share b: [b, the rest
    # split 3:1 as courier and mule]
    p = expand(two_groups(channels={"bank": 0.2, "courier": 0.3, "mule": 0.1}))
    w = StateBooks.for_params(p).channel_weights
    rows = dict(zip(p.hosts, w.tolist()))
    # (broken: the bank_share loop dropped -> IT gets [1/3, 1/2, 1/6]; courier and mule swapped -> [0.9, 0.025, ..])
    assert rows["alpha:it"] == close([0.9, 0.1 * 0.75, 0.1 * 0.25])
    assert rows["gamma:construction"] == close([0.35, 0.65 * 0.75, 0.65 * 0.25])  # the host's own bank share
    for cell in ("alpha:construction", "alpha:logging", "beta:restaurant", "beta:fishing"):
        assert rows[cell] == close([1 / 3, 1 / 2, 1 / 6])
    # with the default channels (0.5, 0.3, 0.2) an IT cell starts at [0.9, 0.06, 0.04]
    q = expand(two_groups())
    assert StateBooks.for_params(q).channel_weights[list(q.hosts).index("alpha:it")].tolist() == close(
        [0.9, 0.06, 0.04]
    )


# ---------------------------------------------------------------- 3. policies by sector


def cells_params(*policies, scale=1.0, months=3):
    return expand(small_params(scale=scale, months=months, policies=list(policies)))


def test_a_sector_ban_on_factories_in_china_bans_only_chinas_factory_cell():
    p = cells_params({"kind": "sector_ban", "start": 0, "hosts": ["china"], "compliance": 0.8, "work_lost": 0.5})
    lv = levers_for_month(p, 0)
    names = list(p.hosts)
    assert {"china:factory", "asia:factory", "europe:factory", "china:construction"} <= set(names)
    # (broken: the sector filter in levers_for_month dropped -> every china cell banned; the host filter ignored
    # -> asia:factory and europe:factory banned too)
    for h, cell in enumerate(names):
        hit = cell == "china:factory"
        assert lv.ban[h] == (0.8 if hit else 0.0), cell
        assert lv.evasion[h] == (0.1 if hit else 0.0), cell  # the kind's default evasion
        # pay lost: work_lost x compliance = 0.5 x 0.8
        assert lv.pay_lost[h] == close(0.4 if hit else 0.0), cell


def test_platform_checks_and_an_account_freeze_on_it_combine_as_one_minus_the_product_of_what_is_left():
    p = cells_params(
        {"kind": "platform_checks", "start": 0, "found": 0.5, "compliance": 0.6},
        {"kind": "account_freeze", "start": 0, "frozen": 0.4, "compliance": 0.5},
    )
    lv = levers_for_month(p, 0)
    cells = cells_of(p)
    # 1 - (1 - 0.5 x 0.6)(1 - 0.4 x 0.5) = 1 - 0.7 x 0.8 = 0.44
    # (broken: the second policy overwriting the lever instead of combining -> 0.2; added -> 0.5)
    assert [s for s in cells.sector_of if s == "it"] == ["it"] * 3  # china, russia, asia
    for h, s in enumerate(cells.sector_of):
        assert lv.pay_lost[h] == close(0.44 if s == "it" else 0.0), p.hosts
        assert lv.ban[h] == 0.0


def test_a_policy_on_construction_leaves_the_other_sectors_levers_untouched():
    on_construction = [
        {"kind": "labor_inspections", "start": 0, "compliance": 0.7, "max_hours": 10.0},
        {"kind": "permit_ban", "start": 0, "compliance": 0.6},
        {"kind": "repatriation", "start": 0, "deadline": 24, "compliance": 0.5},
        {"kind": "cash_interdiction", "start": 0, "compliance": 0.4},
        {"kind": "financial_sanctions", "start": 0, "compliance": 0.3},
        {"kind": "direct_wages", "start": 0, "compliance": 0.2},
        {"kind": "asylum_access", "start": 0, "compliance": 0.9},
    ]
    p = cells_params(*[{**pol, "sectors": ["construction"]} for pol in on_construction])
    free = levers_for_month(cells_params(), 0)
    lv = levers_for_month(p, 0)
    sectors = cells_of(p).sector_of
    pulled = [
        *("ban", "evasion", "repatriation", "repatriation_hazard", "detection", "bank_block", "courier_seizure"),
        *("direct_wages", "inspections", "max_hours", "return_passports", "asylum_boost"),
    ]
    # (broken: the sector filter dropped -> every cell's levers pulled)
    for h, s in enumerate(sectors):
        for name, value in vars(lv).items():
            if isinstance(value, np.ndarray):
                same = np.array_equal(value[h], getattr(free, name)[h])
                if s != "construction":
                    assert same, (p.hosts, name)
                elif name in pulled:
                    assert not same, (s, name)
    # the construction cells by value: inspections at 0.7 capped at 10 hours
    for h, s in enumerate(sectors):
        assert lv.inspections[h] == (0.7 if s == "construction" else 0.0)
        assert lv.max_hours[h] == (10.0 if s == "construction" else math.inf)


@pytest.fixture(scope="module")
def month0():
    """Month 0 of three runs of the same 500 workers and seed: no policy, a factory ban in China, a full
    account freeze on IT; the sectors table indexed by host and sector."""

    def table(*policies):
        r = sim.run(small_params(scale=1.0, months=2, policies=list(policies)), seed=5)
        return r.sectors[r.sectors["month"] == 0].set_index(["host", "sector"])

    return {
        "none": table(),
        "ban": table({"kind": "sector_ban", "start": 0, "hosts": ["china"], "compliance": 1.0, "work_lost": 0.5}),
        "freeze": table({"kind": "account_freeze", "start": 0, "compliance": 1.0, "frozen": 0.3}),
    }


def test_a_factory_ban_in_china_halves_the_pay_of_chinas_factory_workers_only(month0):
    none, ban = month0["none"], month0["ban"]
    # the same workers worked the same hours in month 0; china's factory work lost half its pay (work_lost 0.5 at
    # full compliance), every other cell (asia's and europe's factories too) is paid exactly as without the ban
    # (broken: the ban hitting china's construction instead, or every sector, or every host's factories -> fails)
    assert (ban["workers_working"] == none["workers_working"]).all()
    for key in none.index:
        if key == ("china", "factory"):
            assert ban.loc[key, "wages_gross"] == close(0.5 * none.loc[key, "wages_gross"])
        else:
            assert ban.loc[key, "wages_gross"] == none.loc[key, "wages_gross"], key


def test_labour_inspections_on_construction_cap_hours_in_construction_cells_only():
    cap = 10.0  # below work.hours_base (12): uncapped work is never this short
    r = sim.run(
        small_params(
            scale=0.5,
            months=4,
            policies=[
                {
                    "kind": "labor_inspections",
                    "start": 0,
                    "compliance": 1.0,
                    "max_hours": cap,
                    "sectors": ["construction"],
                }
            ],
        ),
        seed=3,
    )
    s = r.sectors[r.sectors["workers_working"] > 0]
    assert load_params().work.hours_base == 12.0
    con, other = s[s["sector"] == "construction"], s[s["sector"] != "construction"]
    assert len(con) and len(other) and set(other["sector"]) >= {"factory", "logging", "it"}
    # (broken: the sector filter dropped -> every cell at 10 hours; the policy put on the wrong cells -> fails)
    assert (con["hours_mean"] == cap).all()
    assert (other["hours_mean"] >= 12.0).all()


# ---------------------------------------------------------------- 4. pay


def test_a_full_account_freeze_on_it_cuts_each_it_workers_pay_and_no_one_elses():
    frozen = 0.3
    p = small_params(
        scale=1.0,
        months=1,
        hosts__asia__sectors={"construction": 0.5, "it": 0.5},
        policies=[{"kind": "account_freeze", "start": 0, "compliance": 1.0, "frozen": frozen}],
    )
    m = OverseasLaborModel(p, seed=7)
    m.step()
    sector_of, wages = cells_of(m.p).sector_of, [h.wage for h in m.p.hosts.values()]
    assert m.p.work.hours_base == 12.0
    it = [w for w in m.working if sector_of[w.host] == "it"]
    rest = [w for w in m.working if sector_of[w.host] != "it"]
    assert len(it) >= 10 and len(rest) > 100
    # gross = $5,000 x productivity x hours/12 x (1 - 0.3)
    # (broken: pay_received returning the gross as it is -> x 1/0.7; the lever on the wrong sector -> both fail)
    for w in it:
        assert w.gross == close(5000.0 * w.productivity * w.hours / 12.0 * (1 - frozen))
    for w in rest:
        assert w.gross == close(wages[w.host] * w.productivity * w.hours / 12.0)


def test_an_account_freeze_on_it_leaves_the_other_cells_pay_identical(month0):
    none, freeze = month0["none"], month0["freeze"]
    # (broken: the freeze on every sector -> the other cells x 0.7)
    for key in none.index:
        if key[1] == "it":
            assert freeze.loc[key, "wages_gross"] == close(0.7 * none.loc[key, "wages_gross"]), key
        else:
            assert freeze.loc[key, "wages_gross"] == none.loc[key, "wages_gross"], key
    assert {k for k in none.index if k[1] == "it"} == {("china", "it"), ("russia", "it"), ("asia", "it")}


# ---------------------------------------------------------------- 5. tables


@pytest.fixture(scope="module", params=["array", "mesa"])
def sector_run(request):
    """A year (array) or half a year (mesa) of 250 or 150 workers under a factory ban from month 3 and a half
    account freeze on IT, with asia's IT share raised."""
    scale, months = (0.5, 12) if request.param == "array" else (0.3, 6)
    p = small_params(
        scale=scale,
        months=months,
        hosts__asia__sectors={"construction": 0.5, "restaurant": 0.2, "it": 0.3},
        policies=[
            {"kind": "sector_ban", "start": 3, "compliance": 0.8},
            {"kind": "account_freeze", "start": 0, "compliance": 0.5},
        ],
    )
    return p, sim.run(p, engine=request.param, seed=13)


def test_the_sectors_table_has_a_row_per_cell_and_month(sector_run):
    p, r = sector_run
    cells = cells_of(expand(p))
    assert list(r.sectors.columns) == SECTOR_COLUMNS
    assert SECTOR_COLUMNS == ["month", "date", "host", "sector", *HOST_COLUMNS[3:]]
    months = p.calendar.months
    assert len(r.sectors) == months * len(cells.names)
    first = r.sectors[r.sectors["month"] == 0]
    assert list(zip(first["host"], first["sector"])) == [
        (cells.groups[g], s) for g, s in zip(cells.group_of, cells.sector_of)
    ]


def test_host_rows_add_up_their_cells(sector_run):
    p, r = sector_run
    s, hosts = r.sectors, r.hosts
    assert len(hosts) == p.calendar.months * len(p.hosts)
    summed = [c for c in HOST_COLUMNS[3:] if COLUMN[c].summed and not COLUMN[c].level]
    assert "wages_gross" in summed and "workers_active" in summed and "plan" not in summed
    groups = cells_of(expand(p))
    n_cells = {h: groups.group_of.count(g) for g, h in enumerate(groups.groups)}
    assert n_cells["china"] == 5 and n_cells["asia"] == 3  # asia: construction, restaurant, IT
    for (month, host), row in hosts.set_index(["month", "host"]).iterrows():
        cells = s[(s["month"] == month) & (s["host"] == host)]
        assert len(cells) == n_cells[host]
        # counts exactly, money to 1e-9 (broken: _grouped taking the first cell instead of the sum -> fails)
        for c in summed:
            if COLUMN[c].whole:
                assert row[c] == int(cells[c].sum()), (month, host, c)
            else:
                assert row[c] == pytest.approx(math.fsum(cells[c]), rel=1e-9, abs=1e-9), (month, host, c)
        working = int(cells["workers_working"].sum())
        if working:
            # a mean per worker who worked: total hours over the workers who worked, not the cells' plain mean
            # (broken: the cells' means averaged -> fails where cells differ in size)
            w = cells[cells["workers_working"] > 0]
            hours = math.fsum(w["hours_mean"] * w["workers_working"])
            assert row["hours_mean"] == pytest.approx(hours / working, rel=1e-9), (month, host)
            kept = math.fsum(w["retained_mean"] * w["workers_working"])
            assert row["retained_mean"] == pytest.approx(kept / working, rel=1e-9), (month, host)
            # the plan: the cells' plans weighted by the workers who worked (broken: summed -> fails)
            plan = math.fsum(cells["plan"] * cells["workers_working"]) / working
            assert row["plan"] == pytest.approx(plan, rel=1e-9), (month, host)
        else:
            assert math.isnan(row["hours_mean"])
            assert row["plan"] == pytest.approx(cells["plan"].mean(), rel=1e-9)


def test_a_hosts_plan_is_between_its_cells_plans_and_china_mixes_it_with_factory_work(sector_run):
    p, r = sector_run
    s, hosts = r.sectors, r.hosts
    first = s[(s["month"] == 0) & (s["host"] == "china")].set_index("sector")
    row = hosts[(hosts["month"] == 0) & (hosts["host"] == "china")].iloc[0]
    # IT's plan is its absolute $1,700 in month 0 (the plans rise later while revenue is short)
    assert first.loc["it", "plan"] == 1700.0
    assert first["plan"].min() < row["plan"] < first["plan"].max()


def test_the_monthly_table_is_the_sum_over_the_sectors(sector_run):
    p, r = sector_run
    s, monthly = r.sectors, r.monthly.set_index("month")
    summed = [c for c in MONTHLY_COLUMNS if c in HOST_COLUMNS and COLUMN[c].summed]
    assert "plan" not in summed and "deaths" in summed and "revenue_delivered" in summed
    for month, cells in s.groupby("month"):
        row = monthly.loc[month]
        for c in summed:
            if COLUMN[c].whole:
                assert row[c] == int(cells[c].sum()), (month, c)
            else:
                assert row[c] == pytest.approx(math.fsum(cells[c]), rel=1e-9, abs=1e-9), (month, c)
        working = int(cells["workers_working"].sum())
        w = cells[cells["workers_working"] > 0]
        assert row["hours_mean"] == pytest.approx(math.fsum(w["hours_mean"] * w["workers_working"]) / working)
        assert row["plan_mean"] == pytest.approx(math.fsum(cells["plan"] * cells["workers_working"]) / working)


def test_the_workers_table_names_each_workers_cell(sector_run):
    p, r = sector_run
    cells = cells_of(expand(p))
    pairs = {(cells.groups[g], s) for g, s in zip(cells.group_of, cells.sector_of)}
    wk = r.workers
    assert "sector" in wk.columns
    # every worker in a cell of his host (broken: the sector read from the host group's index -> fails)
    assert set(zip(wk["host"], wk["sector"])) <= pairs
    it = wk[wk["sector"] == "it"]
    assert len(it) >= 5
    assert set(it["host"]) <= {h for h, host in p.hosts.items() if host.sectors.get("it", 0) > 0}
    assert set(it["host"]) == {cells.groups[g] for g, s in zip(cells.group_of, cells.sector_of) if s == "it"}
    assert {"china", "asia"} <= set(it["host"])
    # those still abroad at the end, per cell, are the last month's workers_active
    last = r.sectors[r.sectors["month"] == p.calendar.months - 1].set_index(["host", "sector"])["workers_active"]
    active = wk[wk["status"] == "active"].groupby(["host", "sector"]).size()
    assert active.reindex(last.index, fill_value=0).tolist() == last.tolist()


# ---------------------------------------------------------------- 6. validation


def one_line_error(**kw) -> str:
    with pytest.raises(ParamsError) as e:
        load_params(None, kw.pop("overrides")) if "overrides" in kw else make_params(kw.pop("raw"))
    text = str(e.value)
    assert "\n" not in text, text
    return text


def test_an_unknown_sector_in_a_mix_is_one_line_naming_the_key():
    # (broken: the unknown-sector check in Params._consistent removed -> the mix loads without an error)
    text = one_line_error(overrides={"hosts.china.sectors": {"factory": 0.9, "textile": 0.1}})
    assert text.startswith("hosts.china.sectors.textile: unknown sector")
    text = one_line_error(raw={"hosts": {"alpha": {"workers": 5, "wage": 100.0, "sectors": {"fisheries": 1.0}}}})
    assert text.startswith("hosts.alpha.sectors.fisheries: unknown sector")


def test_an_unknown_sector_in_a_policy_is_one_line_naming_the_key():
    # (broken: the policy's sectors left unchecked -> loads without an error, and the policy acts on no cell)
    text = one_line_error(overrides={"policies": [{"kind": "sector_ban", "start": 0, "sectors": ["factroy"]}]})
    assert text.startswith("policies[0].sectors: unknown sector 'factroy'")
    assert "factory" in text  # the suggestion
    text = one_line_error(overrides={"policies": [{"kind": "labor_inspections", "start": 0, "sectors": []}]})
    assert text.startswith("policies[0].sectors: empty list")


def test_a_mix_with_no_positive_share_is_refused():
    # (broken: the check in Params._consistent removed -> the mix loads without an error, and a run would divide
    # by 0 in split_workers)
    text = one_line_error(overrides={"hosts.china.sectors": {"factory": 0.0, "it": 0.0}})
    assert text == "hosts.china.sectors: no sector with a share above 0"
    assert (
        one_line_error(overrides={"hosts.russia.sectors": {}}) == "hosts.russia.sectors: no sector with a share above 0"
    )


def test_valid_mixes_and_policy_sectors_load():
    # (broken: the default mix not filled in -> russia's mix None; the policy check inverted -> refused)
    p = load_params(
        None,
        {
            "hosts.china.sectors": {"factory": 3, "it": 1},
            "policies": [{"kind": "platform_checks", "start": 0, "sectors": ["it", "medical"]}],
        },
    )
    assert p.hosts["china"].sectors == {"factory": 3, "it": 1}
    assert p.hosts["russia"].sectors == DEFAULT_MIX["russia"]  # the default mix filled in
    assert p.policies[0].sectors == ["it", "medical"]
    assert [h.workers for n, h in expand(p).hosts.items() if n.startswith("china:")] == [37500, 12500]


# ---------------------------------------------------------------- 7. saved runs


def test_a_saved_run_keeps_its_sectors_table_and_an_older_folder_without_one_still_loads(tmp_path):
    r = sim.run(small_params(scale=0.3, months=3), seed=2)
    folder = r.save(tmp_path / "run")
    assert (folder / "sectors.parquet").exists()
    # (broken: "sectors" left out of save's files -> None on load)
    back = Result.load(folder)
    pd.testing.assert_frame_equal(back.sectors, r.sectors)
    pd.testing.assert_frame_equal(back.hosts, r.hosts)
    # a run folder with the sectors file is still a run folder: saved over with force
    # (broken: is_run_folder asking for exactly the four older files -> the save refused)
    assert is_run_folder(folder)
    r.save(folder, force=True)
    # an earlier run's folder (no sectors.parquet) loads, sectors None
    (folder / "sectors.parquet").unlink()
    assert is_run_folder(folder)
    old = Result.load(folder)
    assert old.sectors is None
    pd.testing.assert_frame_equal(old.monthly, r.monthly)


def test_posts_lost_to_a_ban_move_only_to_work_open_to_them():
    """rules.deployments by hand: host 0 fully banned (no evasion) loses its 100 posts' reach; a tenth of them
    (shift_share 0.1) moves to the reachable hosts in proportion to their targets: 5 and 5; with host 2 closed
    to them (shift_in False, as IT work is), all 10 go to host 1. Fails if shift_in is ignored."""
    from sim.core import rules

    kw = dict(
        target=np.array([100.0, 100.0, 100.0]),
        active=np.array([100.0, 100.0, 100.0]),
        ban=np.array([1.0, 0.0, 0.0]),
        evasion=np.zeros(3),
        repatriation=np.zeros(3),
        shift_share=0.1,
        target_cap=np.full(3, 1000.0),
    )
    _, change = rules.deployments(**kw)
    assert change.tolist() == pytest.approx([-10.0, 5.0, 5.0])
    _, change = rules.deployments(**kw, shift_in=np.array([True, True, False]))
    assert change.tolist() == pytest.approx([-10.0, 10.0, 0.0])
    # the built-in IT work is closed to them; the other sectors are open
    cells = expand(Params())
    assert [h.shift_in for name, h in cells.hosts.items() if name.endswith(":it")] == [False, False, False]
    assert all(h.shift_in for name, h in cells.hosts.items() if not name.endswith(":it"))


def test_a_policy_for_every_sector_covers_every_cell():
    """A policy with ``sectors = "all"`` (the default) acts in every cell of the host groups it covers, whatever the
    sectors' names: the border's closure in the history closes all 22 cells (mutation testing found nothing pinning it,
    and a policy for "all" that skipped the cells would have moved the README's policy table)."""
    from sim import load_params

    cells = expand(load_params("history"))
    month = cells.calendar.index("2020-06")
    lv = levers_for_month(cells, month)
    assert len(lv.closed) == len(cells.hosts) > 6 and lv.closed.all()
    assert "border closed (COVID-19)" in lv.active
