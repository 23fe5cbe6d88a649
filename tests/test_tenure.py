"""The tenure table (issue 28, item 2): how long postings last and how they end, per calendar year and host.

A hand-built workers table whose every figure is worked out here by hand (which months a worker counts in, the
exits, the rates, the quartiles); then a real run, whose tenure table must agree with its monthly and host
tables month for month (the worker-years are the sum of ``workers_working`` over the year's months, the exits
the sums of the exit columns) and, over the whole run, with the run's summary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import small_params
from sim import run
from sim.results.outcomes import TENURE_OUTCOMES
from sim.results.result import Result
from sim.results.tenure import (
    ALL_HOSTS,
    EXIT_COLUMN,
    TENURE_COLUMNS,
    percentiles_of_histograms,
    tenure_lines,
    tenure_of,
    tenure_over_run,
    tenure_table,
)

START, MONTHS = "2019-11", 14  # months 0-1 are 2019 (two months), 2-13 are 2020


def hand_workers() -> pd.DataFrame:
    """Ten workers in two hosts. A worker works from the month he is posted (month 0 for one posted before) to
    the month he leaves, that month included, unless he is repatriated (phase 2, before the month's work);
    months_abroad is what the engines leave: months served before, plus one for each month he stayed to its end."""
    rows = [  # worker, host, status, month_deployed, month_left, months_abroad: months worked in 2019 + 2020
        (1, "china", "completed", -10, 1, 12),  # 0-1: 2 + 0
        (2, "china", "sent_home", 0, 0, 0),  # 0: 1 + 0, gone in his first month
        (3, "china", "active", 1, -1, 13),  # 1-13: 1 + 12
        (4, "russia", "repatriated", -3, 3, 6),  # 0-2 (not 3): 2 + 1
        (5, "russia", "caught", 2, 5, 3),  # 2-5: 0 + 4
        (6, "russia", "dead", 0, 12, 12),  # 0-12: 2 + 11
        (7, "china", "escaped", 4, 4, 0),  # 4: 0 + 1
        (8, "china", "completed", 2, 13, 12),  # 2-13: 0 + 12
        (9, "russia", "repatriated", 5, 5, 0),  # none: repatriated in the month he was posted, before working
        (10, "china", "sent_home", -20, 6, 26),  # 0-6: 2 + 5
    ]
    return pd.DataFrame(rows, columns=["worker_id", "host", "status", "month_deployed", "month_left", "months_abroad"])


# (year, host): worker-months, then the exits, then the months_abroad of the leavers (any exit; completed)
EXPECTED = {
    (2019, "china"): (6, {"completed": 1, "sent_home": 1}, [0, 12], [12]),
    (2019, "russia"): (4, {}, [], []),
    (2019, ALL_HOSTS): (10, {"completed": 1, "sent_home": 1}, [0, 12], [12]),
    (2020, "china"): (30, {"completed": 1, "sent_home": 1, "escaped": 1}, [0, 12, 26], [12]),
    (2020, "russia"): (16, {"repatriated": 2, "caught": 1, "deaths": 1}, [6, 3, 12, 0], []),
    (2020, ALL_HOSTS): (
        46,
        {"completed": 1, "sent_home": 1, "escaped": 1, "repatriated": 2, "caught": 1, "deaths": 1},
        [0, 12, 26, 6, 3, 12, 0],
        [12],
    ),
}
# the quartiles by hand (linear between ranks: the q-th percentile of n sorted values sits at rank q/100 x (n-1))
QUARTILES = {
    (2019, "china"): (3.0, 6.0, 9.0),  # [0, 12]: ranks 0.25, 0.5, 0.75
    (2019, ALL_HOSTS): (3.0, 6.0, 9.0),
    (2020, "china"): (6.0, 12.0, 19.0),  # [0, 12, 26]: ranks 0.5, 1, 1.5
    (2020, "russia"): (2.25, 4.5, 7.5),  # [0, 3, 6, 12]: ranks 0.75, 1.5, 2.25
    (2020, ALL_HOSTS): (1.5, 6.0, 12.0),  # [0, 0, 3, 6, 12, 12, 26]: ranks 1.5, 3, 4.5
}


def row(table: pd.DataFrame, year: int, host: str) -> pd.Series:
    found = table[(table["year"] == year) & (table["host"] == host)]
    assert len(found) == 1
    return found.iloc[0]


def test_the_hand_built_table_by_value():
    t = tenure_table(hand_workers(), START, MONTHS, hosts=["china", "russia"])
    assert tuple(t.columns) == TENURE_COLUMNS
    assert list(zip(t["year"], t["host"])) == list(EXPECTED)  # hosts in the order given, then all, per year
    assert list(t["months_in_run"]) == [2, 2, 2, 12, 12, 12]
    for (year, host), (months, exits, tenure, completed) in EXPECTED.items():
        r = row(t, year, host)
        assert r["worker_years"] == pytest.approx(months / 12), (year, host)
        for column in EXIT_COLUMN.values():
            assert r[column] == exits.get(column, 0), (year, host, column)
        assert r["leavers"] == len(tenure) == sum(exits.values())
        wy = months / 12
        assert r["sent_home_per_1000_worker_years"] == pytest.approx(1000 * exits.get("sent_home", 0) / wy)
        assert r["caught_per_1000_worker_years"] == pytest.approx(1000 * exits.get("caught", 0) / wy)
        quartiles = (r["tenure_p25_months"], r["tenure_median_months"], r["tenure_p75_months"])
        if tenure:
            assert quartiles == pytest.approx(QUARTILES[year, host]), (year, host)
            assert quartiles == pytest.approx(tuple(np.percentile(tenure, [25, 50, 75])))
            assert r["left_in_first_month_share"] == pytest.approx(tenure.count(0) / len(tenure))
        else:
            assert all(math.isnan(q) for q in quartiles) and math.isnan(r["left_in_first_month_share"])
        done = (r["completed_tenure_p25_months"], r["completed_tenure_median_months"], r["completed_tenure_p75_months"])
        if completed:
            assert done == (12.0, 12.0, 12.0)
        else:
            assert all(math.isnan(q) for q in done)
    # the figures written out once more, as numbers: a rate per 1,000 worker-years, not per worker-month
    assert row(t, 2019, "china")["sent_home_per_1000_worker_years"] == pytest.approx(2000.0)  # 1 in 6 months
    assert row(t, 2019, ALL_HOSTS)["sent_home_per_1000_worker_years"] == pytest.approx(1200.0)  # 1 in 10 months
    assert row(t, 2020, "russia")["caught_per_1000_worker_years"] == pytest.approx(750.0)  # 1 in 16 months
    assert row(t, 2020, ALL_HOSTS)["caught_per_1000_worker_years"] == pytest.approx(12000 / 46)
    assert row(t, 2020, "russia")["sent_home_per_1000_worker_years"] == 0.0
    assert row(t, 2020, ALL_HOSTS)["left_in_first_month_share"] == pytest.approx(2 / 7)


def test_the_hand_built_table_over_the_whole_run():
    t = tenure_over_run(hand_workers(), MONTHS, hosts=["china", "russia"]).set_index("host")
    assert list(t.index) == ["china", "russia", ALL_HOSTS] and "year" not in t.columns
    assert list(t["months_in_run"]) == [14, 14, 14]
    assert list(t["worker_years"] * 12) == pytest.approx([36, 20, 56])
    assert list(t["leavers"]) == [5, 4, 9]
    assert t.loc[ALL_HOSTS, "sent_home_per_1000_worker_years"] == pytest.approx(1000 * 2 / (56 / 12))
    assert t.loc["china", "sent_home_per_1000_worker_years"] == pytest.approx(1000 * 2 / 3)
    # all leavers: [0, 0, 0, 3, 6, 12, 12, 12, 26]; the completed [12, 12]
    assert t.loc[ALL_HOSTS, "tenure_median_months"] == 6.0
    assert t.loc[ALL_HOSTS, "tenure_p25_months"] == 0.0 and t.loc[ALL_HOSTS, "tenure_p75_months"] == 12.0
    assert t.loc[ALL_HOSTS, "completed_tenure_median_months"] == 12.0
    assert t.loc[ALL_HOSTS, "left_in_first_month_share"] == pytest.approx(3 / 9)


def test_hosts_default_to_the_tables_order_and_a_listed_host_without_workers_has_its_rows():
    t = tenure_table(hand_workers(), START, MONTHS)
    assert list(t["host"][:3]) == ["china", "russia", ALL_HOSTS]
    t = tenure_table(hand_workers(), START, MONTHS, hosts=["gulf", "russia"])
    assert list(t["host"][:4]) == ["gulf", "russia", "china", ALL_HOSTS]
    gulf = row(t, 2020, "gulf")
    assert gulf["worker_years"] == 0 and gulf["leavers"] == 0 and math.isnan(gulf["sent_home_per_1000_worker_years"])


def test_a_year_starting_in_january_and_a_bad_status():
    t = tenure_table(hand_workers(), "2020-01", MONTHS)
    assert sorted(set(t["year"])) == [2020, 2021] and list(t["months_in_run"][::3]) == [12, 2]
    w = hand_workers()
    w.loc[0, "status"] = "vanished"
    with pytest.raises(ValueError, match="unknown status"):
        tenure_table(w, START, MONTHS)


def test_percentiles_of_histograms_are_numpys():
    rng = np.random.default_rng(0)
    group = rng.integers(0, 7, 500)
    values = rng.integers(0, 60, 500)
    counts = np.zeros((8, 60), dtype=np.int64)
    np.add.at(counts, (group, values), 1)
    got = percentiles_of_histograms(counts, (0.0, 10.0, 25.0, 50.0, 90.0, 100.0))
    for g in range(7):
        assert got[g] == pytest.approx(np.percentile(values[group == g], [0, 10, 25, 50, 90, 100]))
    assert np.isnan(got[7]).all()  # an empty group
    one = percentiles_of_histograms(np.array([[0, 0, 3, 0], [0, 1, 0, 1]]), (25.0, 50.0))
    assert one.tolist() == [[2.0, 2.0], [1.5, 2.0]]  # three 2s; a 1 and a 3: ranks 0.25 and 0.5 of two


@pytest.fixture(scope="module")
def history_run():
    """The history scenario (repatriation mandates, border closures: every kind of exit), small, starting in July
    after a warm-up, so the first and the last years are partial."""
    p = small_params(scale=0.5, months=60, path="params/history.toml", calendar__start="2016-07", calendar__warmup=6)
    return run(p, seed=3)


def test_the_tables_agree_with_the_monthly_and_host_tables(history_run):
    r = history_run
    t = r.tenure
    m, h = r.monthly, r.hosts
    year = m["date"].str[:4].astype(int).to_numpy()
    years = sorted(set(year))
    assert years == [2016, 2017, 2018, 2019, 2020, 2021]
    everyone = t[t["host"] == ALL_HOSTS].set_index("year")
    assert list(everyone.index) == years and list(everyone["months_in_run"]) == [6, 12, 12, 12, 12, 6]
    for y in years:
        months = m[year == y]
        # worker-years x 12 = the sum of workers_working over the year's months, exactly
        assert everyone.loc[y, "worker_years"] * 12 == pytest.approx(months["workers_working"].sum(), abs=1e-9)
        for column in EXIT_COLUMN.values():
            assert everyone.loc[y, column] == months[column].sum(), (y, column)
        for host in h["host"].unique():
            hm = h[(h["host"] == host) & h["date"].str.startswith(str(y))]
            rh = row(t, y, host)
            assert rh["worker_years"] * 12 == pytest.approx(hm["workers_working"].sum(), abs=1e-9), (y, host)
            assert [rh[c] for c in EXIT_COLUMN.values()] == [hm[c].sum() for c in EXIT_COLUMN.values()], (y, host)
    # every kind of exit happened, repatriations (which leave before the month's work) among them
    assert (everyone[list(EXIT_COLUMN.values())].sum() > 0).sum() >= 5
    assert everyone["repatriated"].sum() > 0 and everyone["sent_home"].sum() > 0
    # the rows over all hosts are the sums of the host rows
    hosts = t[t["host"] != ALL_HOSTS].groupby("year")[["worker_years", "leavers", *EXIT_COLUMN.values()]].sum()
    assert np.allclose(hosts.to_numpy(float), everyone[hosts.columns].to_numpy(float))


def test_over_the_whole_run_the_all_row_is_the_summary(history_run):
    r = history_run
    over = tenure_over_run(r.workers, len(r.monthly)).set_index("host")
    s = r.summary
    for name in TENURE_OUTCOMES:
        assert over.loc[ALL_HOSTS, name] == pytest.approx(s[name], rel=1e-12), name
    assert over.loc[ALL_HOSTS, "worker_years"] * 12 == r.monthly["workers_working"].sum()
    lines = tenure_lines(r)
    assert all(host in lines for host in r.hosts["host"].unique())
    assert f"{over.loc[ALL_HOSTS, 'sent_home_per_1000_worker_years']:.2f}" in lines


def test_a_saved_run_gives_the_same_table(history_run, tmp_path):
    folder = history_run.save(tmp_path / "run")
    assert sorted(p.name for p in folder.iterdir()) == [
        "hosts.parquet",
        "manifest.json",
        "monthly.parquet",
        "sectors.parquet",
        "workers.parquet",
    ]  # nothing new is saved (the tenure is worked out, not written)
    pd.testing.assert_frame_equal(Result.load(folder).tenure, tenure_of(history_run))
    assert history_run.tenure is history_run.tenure  # computed once
