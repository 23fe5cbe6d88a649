"""Revenue and workers by sector (issue 29): the sector table, the IT workers' state take in 2019 and what
``olsim run`` prints of them.

A hand-made sectors table whose every figure is worked out here; then a tiny run, whose sector table is
recomputed by hand from its sectors table row by row (plain loops, not the module's code), whose sectors'
revenue adds up to the run's, and whose IT take in 2019 is the sum of the IT rows of 2019; then ``olsim run``
printing the lines; and a check that a wrong computation makes the by-hand comparison fail."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import sim.results.outcomes as outcomes_module
import sim.results.sectors as sectors_module
from conftest import small_params
from sim import run
from sim.cli import main
from sim.results.columns import SECTOR_COLUMNS
from sim.results.outcomes import OUTCOMES, RunTables
from sim.results.result import Result
from sim.results.sectors import (
    SECTOR_TABLE_COLUMNS,
    sector_lines,
    sector_table,
    sector_titles,
)

IT_2019 = "it_revenue_2019"
EXITS = ("completed", "sent_home", "repatriated", "escaped", "caught", "deaths")

# ------------------------------------------------------------------ a hand-made sectors table


def hand_result(scale: float | None = None, dates=("2019-11", "2019-12")) -> Result:
    """Two months, two host groups; construction at both, IT in china, fishing in china without a worker (left
    out of the table), the IT rows first (the table follows the parameters' order, not the rows')."""
    rows = [  # month, host, sector, then the columns set (the others 0)
        (0, "china", "it", dict(workers_active=3, workers_working=3, revenue_delivered=9000.0, state_take=9300.0,
                                worker_retained=8000.0)),
        (0, "china", "construction", dict(workers_active=10, deployed=2, completed=1, deaths=1, workers_working=10,
                                          revenue_delivered=1000.0, state_take=1200.0, worker_retained=500.0)),
        (0, "china", "fishing", {}),
        (0, "russia", "construction", dict(workers_active=5, sent_home=1, workers_working=5, revenue_delivered=600.0,
                                           state_take=700.0, worker_retained=300.0)),
        (1, "china", "it", dict(workers_active=3, workers_working=3, revenue_delivered=9000.0, state_take=9000.0,
                                worker_retained=8100.0)),
        (1, "china", "construction", dict(workers_active=9, deaths=1, workers_working=10, revenue_delivered=1100.0,
                                          state_take=1300.0, worker_retained=400.0)),
        (1, "china", "fishing", {}),
        (1, "russia", "construction", dict(workers_active=5, workers_working=5, revenue_delivered=500.0,
                                           state_take=600.0, worker_retained=300.0)),
    ]  # fmt: skip
    table = []
    for month, host, sector, values in rows:
        row = {c: 0 for c in SECTOR_COLUMNS}
        row.update(month=month, date=dates[month], host=host, sector=sector, **values)
        table.append(row)
    sectors = pd.DataFrame(table, columns=SECTOR_COLUMNS)
    monthly = pd.DataFrame({"month": [0, 1], "date": list(dates)})
    workers = pd.DataFrame({"sector": ["it", "construction"], "host": ["china", "russia"]})
    manifest: dict = {"params": {}}  # the built-in sectors
    if scale is not None:
        manifest["scale"] = scale
    return Result(monthly=monthly, hosts=pd.DataFrame(), workers=workers, manifest=manifest, sectors=sectors)


def test_the_hand_made_table_by_value():
    t = sector_table(hand_result())
    assert tuple(t.columns) == SECTOR_TABLE_COLUMNS
    assert t["sector"].tolist() == ["construction", "it"]  # the parameters' order; fishing had no worker
    assert t["title"].tolist() == ["construction", "IT work"]
    c, it = t.iloc[0], t.iloc[1]
    # construction: at the start, china 10 - 2 posted + 1 completed + 1 dead, russia 5 + 1 sent home
    assert c["workers_start"] == 10 - 2 + 1 + 1 + 5 + 1 and c["workers_end"] == 9 + 5
    assert c["worker_years"] == pytest.approx((10 + 5 + 10 + 5) / 12)
    assert c["revenue_delivered_per_year"] == pytest.approx((1000 + 600 + 1100 + 500) / (2 / 12))
    assert c["state_take_per_worker_month"] == pytest.approx((1200 + 700 + 1300 + 600) / 30)
    assert c["retained_per_worker_month"] == pytest.approx((500 + 300 + 400 + 300) / 30)
    assert c["deaths_per_10000_worker_years"] == pytest.approx(10000 * 2 / (30 / 12))
    assert (it["workers_start"], it["workers_end"]) == (3, 3)
    assert it["revenue_delivered_per_year"] == pytest.approx(18000 * 6)
    assert it["state_take_per_worker_month"] == pytest.approx((9300 + 9000) / 6)
    assert it["retained_per_worker_month"] == pytest.approx((8000 + 8100) / 6)
    assert it["deaths_per_10000_worker_years"] == 0


def test_a_scaled_run_shows_its_totals_at_full_scale():
    full, half = sector_table(hand_result()), sector_table(hand_result(scale=0.5))
    for column in ("workers_start", "workers_end", "worker_years", "revenue_delivered_per_year"):
        assert half[column].tolist() == pytest.approx([2 * v for v in full[column]]), column
    for column in ("state_take_per_worker_month", "retained_per_worker_month", "deaths_per_10000_worker_years"):
        assert half[column].tolist() == pytest.approx(full[column].tolist()), column


def test_the_hand_made_lines():
    lines = sector_lines(hand_result()).splitlines()
    assert lines[0].split()[:4] == ["sectors", "over", "the", "run"]
    assert "workers at" in lines[0] and "revenue delivered" in lines[0] and "deaths per 10,000" in lines[0]
    assert "start / end" in lines[1] and "per year" in lines[1] and "worker-years" in lines[1]
    # construction: $19,200 a year, $3,800 / 30 = $127 and $1,500 / 30 = $50 per worker-month, 8,000.0 deaths
    assert lines[2].split() == ["construction", "16", "/", "14", "$19,200", "$127", "$50", "8,000.0"]
    assert lines[3].split() == ["IT", "work", "3", "/", "3", "$108,000", "$3,050", "$2,683", "0.0"]
    # all sectors: (3,200 + 18,000) x 6 a year; $22,100 / 36 = $614 and $17,600 / 36 = $489; 2 deaths in 3 years
    assert lines[4].split() == ["all", "sectors", "19", "/", "17", "$127,200", "$614", "$489", "6,666.7"]
    assert lines[5].strip().startswith("(per month, host group and sector: Result.sectors")
    # the columns are aligned: every row's figures end where the headings do
    assert len({len(line) for line in lines[:5]}) == 1


def test_the_it_take_of_2019_by_hand():
    def it_2019(result):
        return OUTCOMES[IT_2019].compute(RunTables(result))

    assert it_2019(hand_result()) == pytest.approx((9300 + 9000) / (2 / 12))  # two months of 2019, a year's worth
    assert it_2019(hand_result(dates=("2019-12", "2020-01"))) == pytest.approx(9300 * 12)  # one month
    assert math.isnan(it_2019(hand_result(dates=("2020-01", "2020-02"))))  # no month of 2019
    no_it = hand_result()
    no_it.sectors = no_it.sectors[no_it.sectors["sector"] != "it"]
    assert math.isnan(it_2019(no_it))
    no_it.sectors = None  # a run saved before sectors
    assert math.isnan(it_2019(no_it))
    assert sector_table(no_it).empty and sector_lines(no_it) == ""
    o = OUTCOMES[IT_2019]
    assert o.unit == "USD a year" and o.total and o.reported and "20.4M" in o.reported and o.better == "down"


# ------------------------------------------------------------------ a tiny run, by hand


@pytest.fixture(scope="module")
def tiny():
    """Two years from July 2018 (all of 2019 inside), enough workers in china and asia for a few IT workers."""
    p = small_params(
        months=24, calendar__start="2018-07", hosts__china__workers=420, hosts__asia__workers=80
    )  # IT: 420 x 1.2% and 80 x 3.75% = 5 + 3
    return run(p, seed=5)


def by_hand(result) -> dict[str, dict[str, float]]:
    """The sector table's figures, row by row from the run's sectors table (plain Python sums)."""
    months = len(result.monthly)
    last = months - 1
    sums: dict[str, dict[str, float]] = {}
    for row in result.sectors.itertuples(index=False):
        s = sums.setdefault(
            row.sector,
            dict(start=0, end=0, working=0, revenue=0.0, take=0.0, kept=0.0, deaths=0),
        )
        if row.month == 0:
            s["start"] += row.workers_active - row.deployed + sum(getattr(row, e) for e in EXITS)
        if row.month == last:
            s["end"] += row.workers_active
        s["working"] += row.workers_working
        s["revenue"] += row.revenue_delivered
        s["take"] += row.state_take
        s["kept"] += row.worker_retained
        s["deaths"] += row.deaths
    return {
        sector: {
            "workers_start": s["start"],
            "workers_end": s["end"],
            "worker_years": s["working"] / 12,
            "revenue_delivered_per_year": s["revenue"] * 12 / months,
            "state_take_per_worker_month": s["take"] / s["working"],
            "retained_per_worker_month": s["kept"] / s["working"],
            "deaths_per_10000_worker_years": 10000 * s["deaths"] / (s["working"] / 12),
        }
        for sector, s in sums.items()
        if s["start"] or s["end"] or s["working"]
    }


def check_by_hand(result) -> None:
    table = sector_table(result)
    expected = by_hand(result)
    declared = list(sector_titles(result))
    assert table["sector"].tolist() == sorted(expected, key=declared.index)
    for _, row in table.iterrows():
        for column, value in expected[row["sector"]].items():
            assert row[column] == pytest.approx(value, rel=1e-12), (row["sector"], column)


def test_the_tiny_runs_table_by_hand(tiny):
    check_by_hand(tiny)
    t = sector_table(tiny)
    assert "it" in set(t["sector"]) and len(t) >= 5  # the run has IT workers and most sectors
    assert t["title"].tolist() == [tiny.manifest["params"]["sectors"][s]["title"] for s in t["sector"]]
    # over the sectors: the summary's workers at the start and at the end, the run's worker-months
    assert t["workers_start"].sum() == tiny.manifest["workers_initial"]
    assert t["workers_end"].sum() == tiny.monthly["workers_active"].iloc[-1]
    # (sums of per-sector fractions of a year: equal up to the last bits of their rounding)
    assert t["worker_years"].sum() * 12 == pytest.approx(tiny.monthly["workers_working"].sum(), rel=1e-12)


def test_the_sectors_revenue_adds_up_to_the_runs(tiny):
    t = sector_table(tiny)
    total = tiny.outcomes(["revenue_delivered_per_year"])["revenue_delivered_per_year"]
    assert t["revenue_delivered_per_year"].sum() == pytest.approx(total, rel=1e-12)
    assert total == pytest.approx(tiny.monthly["revenue_delivered"].sum() / 2)  # 24 months: two years


def test_the_tiny_runs_it_take_of_2019_by_hand(tiny):
    take = sum(
        row.state_take for row in tiny.sectors.itertuples(index=False) if row.sector == "it" and row.date[:4] == "2019"
    )
    assert take > 0  # the IT workers paid the state something
    assert tiny.outcomes([IT_2019])[IT_2019] == pytest.approx(take, rel=1e-12)  # twelve months: a year's take


@pytest.mark.parametrize(
    "mutant",
    [
        ("_start", lambda frame: float(frame.iloc[0]["workers_active"])),  # forgets month 0's postings and leavers
        ("scale_of", lambda result: 2.0),  # scales a run that is not scaled
    ],
    ids=["workers-at-start", "scale"],
)
def test_a_wrong_computation_fails_the_check_by_hand(tiny, monkeypatch, mutant):
    """The by-hand check is not vacuous: each of these mistakes in the module makes it fail."""
    name, wrong = mutant
    monkeypatch.setattr(sectors_module, name, wrong)
    with pytest.raises(AssertionError):
        check_by_hand(tiny)


def test_a_wrong_it_take_fails_its_check(tiny, monkeypatch):
    """The IT check is not vacuous: counting what reached the state (after the losses on the way home) instead
    of what it took fails it. (A wrong year would not: the IT workers' pay is the same every month, so six months
    of 2020 scaled to a year are twelve of 2019; the hand-made table checks the year.)"""
    real = outcomes_module.sector_per_year_in
    monkeypatch.setattr(
        outcomes_module,
        "sector_per_year_in",
        lambda sectors, sector, year, column: real(sectors, sector, year, "revenue_delivered"),
    )
    with pytest.raises(AssertionError):
        test_the_tiny_runs_it_take_of_2019_by_hand(tiny)


# ------------------------------------------------------------------ olsim run


def test_olsim_run_prints_the_sector_lines(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["--set", "hosts.china.workers=420", "--set", "hosts.russia.workers=40", "--set", "hosts.asia.workers=80"]
    args += ["--set", "calendar.start=2019-01", "--months", "12", "--seed", "2", "--out", "r", "--quiet"]
    assert main(["run", *args]) == 0
    out = capsys.readouterr().out
    result = Result.load(tmp_path / "r")
    lines = sector_lines(result)
    assert lines and lines in out  # the saved run's lines, as printed
    assert out.index("tenure over the run") < out.index("sectors over the run") < out.index("results:")
    assert "IT work" in lines and "all sectors" in lines and "construction" in lines
    # the IT take of 2019 in the summary, beside what the UN Panel reported
    o = OUTCOMES[IT_2019]
    line = next(line for line in out.splitlines() if o.label in line)
    value = result.outcomes([IT_2019])[IT_2019]
    assert value > 0 and o.format(value) in line and f"(reported: {o.reported})" in line
    assert "sectors.parquet" in out.splitlines()[-1]
