"""The seed article's stories (sim/results/stories.py, olsim stories): the scenario files, every figure computed
from tables built by hand (by value), the verdicts, and the command line (the table printed and written, a bad
story name or an existing folder refused in one line). The README's and the ODD's tables are the command's."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import pandas as pd
import pytest

from conftest import ROOT
from sim import load_params
from sim.cli import main
from sim.common import shipped
from sim.results import stories
from sim.results.columns import COL
from sim.results.stories import CANNOT, INSIDE, MISS, StoryTables, judge


# ---------------------------------------------------------------- the scenario files


def test_the_story_files_validate_and_say_what_the_article_says():
    k = load_params(ROOT / "params" / "kuwait_1996.toml")
    assert list(k.hosts) == ["kuwait"] and k.policies == []
    host = k.hosts["kuwait"]
    assert host.workers == 1800 and k.population.camp_size == 1800  # one camp of 1,800
    assert host.promised_wage == 120.0 and host.side_wage == 0.0
    assert host.plan == pytest.approx(500_000 / 1800, abs=0.01)  # the group's $500,000 a month over the camp
    assert k.remittance.rule == "group_quota" and k.remittance.ledger_monthly == 120.0
    assert (k.work.hours_base, k.work.hours_max) == (12.0, 17.0)  # 7 a.m. to 7 p.m. or midnight
    assert (k.calendar.start, k.calendar.months, k.calendar.warmup) == ("1996-01", 36, 36)

    s = load_params(ROOT / "params" / "siberia_logging.toml")
    assert list(s.hosts) == ["russia"] and s.policies == []
    assert s.hosts["russia"].wage == 900.0 and s.hosts["russia"].plan == 375.0  # $30 a day; $4,500 a year
    assert s.state.plan_cap == pytest.approx(7000 / 4500, abs=0.01)
    assert s.remittance.rule == "plan" and s.population.contract_months == 36 and s.work.hours_base == 12.0


def test_every_story_is_a_shipped_file_listed_with_its_description(capsys):
    assert main(["scenarios"]) == 0
    listed = capsys.readouterr().out
    for name in stories.STORIES:
        path = shipped.resolve(name, "params")
        description = shipped.description(path)
        assert path.name == f"{name}.toml" and description and f"{name}" in listed and description in listed


def test_every_setting_of_a_story_file_has_a_comment():
    """Each value a story file sets has a comment (its source, or "assumption" with the reason): on the line above,
    or, in a table of several values (a host), in the comment above the table, naming the key."""
    for name in stories.STORIES:
        lines = (ROOT / "params" / f"{name}.toml").read_text(encoding="utf-8").splitlines()
        block = ""  # the comment above the current [table]
        for i, line in enumerate(lines):
            if line.startswith("["):
                j = i - 1
                while j >= 0 and lines[j].startswith("#"):
                    j -= 1
                block = " ".join(lines[j + 1 : i])
            elif "=" in line and not line.startswith("#"):
                key = line.split("=", 1)[0].strip()
                assert lines[i - 1].startswith("#") or re.search(rf"\b{key}\b", block), f"{name}.toml:{i + 1}: {line}"


# ---------------------------------------------------------------- the figures, by hand

# Two hosts (kuwait promised $120; other with no promise, so its wage, $300), three months after a two-month
# warm-up (the first simulated month is -2), and six workers:
#   A kuwait completed posted -2 left 1: whole, 4 months, kept 400, forfeited 0   -> received 400
#   B kuwait completed posted -3 left 0: not whole (3 months simulated), 300, 100 -> received 200
#   C kuwait escaped   posted  0 left 1: whole, 2 months, 90, 60                  -> received 30
#   D kuwait active    posted  1:        2 months so far, 50, 0
#   E kuwait completed posted -1 left 2: whole, 4 months, 200, 200 (ledger lost) -> received 0
#   F other  completed posted  0 left 2: whole, 3 months, 90, 0                   -> received 90
WORKERS = pd.DataFrame(
    {
        "worker_id": [0, 1, 2, 3, 4, 5],
        "host": ["kuwait", "kuwait", "kuwait", "kuwait", "kuwait", "other"],
        "status": ["completed", "completed", "escaped", "active", "completed", "completed"],
        "month_deployed": [-2, -3, 0, 1, -1, 0],
        "month_left": [1, 0, 1, -1, 2, 2],
        "retained_total": [400.0, 300.0, 90.0, 50.0, 200.0, 90.0],
        "forfeited_total": [0.0, 100.0, 60.0, 0.0, 200.0, 0.0],
    }
)
HOSTS = pd.DataFrame(
    {
        COL.month: [0, 0, 1, 1, 2, 2],
        COL.host: ["kuwait", "other"] * 3,
        COL.workers_working: [4, 2, 5, 2, 3, 2],
        COL.worker_retained: [240.0, 60.0, 300.0, 60.0, 180.0, 60.0],
    }
)
MONTHLY = pd.DataFrame(
    {
        COL.month: [0, 1, 2],
        COL.workers_working: [6, 7, 5],  # the hosts' sums
        COL.worker_retained: [300.0, 360.0, 240.0],
        COL.ledger_paid: [100.0, 50.0, 80.0],
        COL.hours_mean: [12.0, 13.0, 14.0],
        COL.state_take: [1000.0, 1500.0, 900.0],
        COL.plan_mean: [270.0, 280.0, 290.0],
    }
)
PARAMS = {
    "calendar": {"warmup": 2},
    "hosts": {"kuwait": {"wage": 400.0, "promised_wage": 120.0}, "other": {"wage": 300.0}},
}


def by_hand():
    return SimpleNamespace(monthly=MONTHLY, hosts=HOSTS, workers=WORKERS, manifest={"params": PARAMS, "seed": 0})


def test_each_figure_is_computed_from_the_tables_by_value():
    t = StoryTables(by_hand())
    assert t.first == -2 and t.last == 2 and t.promised == {"kuwait": 120.0, "other": 300.0}
    # received, workers who left with whole postings (A, C, E, F): (400 + 30 + 0 + 90) / (120 x (4 + 2 + 4) + 300 x 3)
    assert stories.received_share_of_promised(t) == pytest.approx(520 / 2100)
    # kept, ledger included, over the hosts' worker-months: (720 + 180) / (120 x 12 + 300 x 6)
    assert stories.kept_share_of_promised(t) == pytest.approx(900 / 3240)
    # cash of all leavers (A, B, C, E, F): received 720 less the ledgers paid 230, over 4 + 3 + 2 + 4 + 3 months
    assert stories.cash_per_month(t) == pytest.approx(490 / 16)
    assert stories.cash_in_five_months(t) == pytest.approx(5 * 490 / 16)
    # completers with whole postings: A 400, E 0, F 90 (B's first month was before the simulation)
    assert stories.completers_received_median(t) == pytest.approx(90.0)
    assert stories.kept_per_day(t) == pytest.approx(900 / 18 / 30)
    assert stories.hours_a_day(t) == pytest.approx((12 * 6 + 13 * 7 + 14 * 5) / 18)
    assert stories.take_a_month_for(1800)(t) == pytest.approx(3400 / 18 * 1800)
    assert stories.plan_a_year(t) == pytest.approx(12 * (270 * 6 + 280 * 7 + 290 * 5) / 18)


def test_a_run_without_a_warmup_counts_postings_from_month_0():
    params = {**PARAMS, "calendar": {"warmup": 0}}
    t = StoryTables(SimpleNamespace(monthly=MONTHLY, hosts=HOSTS, workers=WORKERS, manifest={"params": params}))
    assert t.first == 0
    # only C and F were posted inside the run: completers whose whole posting was simulated = F alone
    assert stories.completers_received_median(t) == pytest.approx(90.0)
    assert stories.received_share_of_promised(t) == pytest.approx((30 + 90) / (120 * 2 + 300 * 3))
    # months simulated from month 0: A 2, B 1, C 2, E 3, F 3
    assert stories.cash_per_month(t) == pytest.approx(490 / 11)


@pytest.mark.parametrize(
    "value, low, high, ratio, verdict",
    [
        (5.0, 4.0, 6.0, 1.0, INSIDE),  # inside the range
        (9.0, 4.0, 6.0, 1.5, INSIDE),  # a factor 1.5 above its top: still inside
        (9.3, 4.0, 6.0, 1.55, MISS),
        (3.0, 4.0, 6.0, 0.75, INSIDE),
        (2.0, 4.0, 6.0, 0.5, MISS),
        (0.0, 65.0, 65.0, 0.0, MISS),  # a point
        (13.2, 12.0, math.inf, 1.0, INSIDE),  # "12 or more"
        (0.642, 0.10, 0.10, 6.42, MISS),
    ],
)
def test_a_figure_is_inside_within_a_factor_of_one_and_a_half(value, low, high, ratio, verdict):
    r, v = judge(value, low, high)
    assert r == pytest.approx(ratio) and v == verdict


def test_a_figure_the_model_cannot_produce_says_so():
    assert judge(math.nan, 1.0, 1.0)[1] == CANNOT
    rows = stories.compare(stories.STORIES["kuwait_1996"], by_hand())
    assert [r["figure"] for r in rows] == [f.what for f in stories.KUWAIT.figures]
    for f, r in zip(stories.KUWAIT.figures, rows):
        if f.compute is None:
            assert r["model"] == CANNOT and r["verdict"] == CANNOT and r["reason"] == f.why and r["ratio"] != r["ratio"]
        else:
            assert r["value"] == pytest.approx(f.compute(StoryTables(by_hand())))
            assert (r["reason"] == "") == (r["verdict"] == INSIDE)
    received = rows[0]
    assert (
        received["model"] == "24.8%" and received["verdict"] == MISS and received["ratio"] == pytest.approx(5200 / 2100)
    )


def test_an_unknown_story_is_one_line():
    with pytest.raises(stories.StoryError, match=r"^kuwait: no such story \(did you mean 'kuwait_1996'\?\)"):
        stories.story("kuwait")


# ---------------------------------------------------------------- the command line


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_olsim_stories_prints_and_writes_the_table_and_the_docs_show_it(tmp_path, capsys):
    out = tmp_path / "stories"
    assert main(["stories", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for s in stories.STORIES.values():
        assert s.title in printed and all(f.what in printed for f in s.figures)
    assert sorted(p.name for p in out.iterdir()) == sorted(stories.FILES)
    table = pd.read_csv(out / "stories.csv")
    assert len(table) == sum(len(s.figures) for s in stories.STORIES.values())
    assert set(table["verdict"]) <= {INSIDE, MISS, CANNOT}
    assert (out / "stories.md").read_text(encoding="utf-8") in printed + f"written: {out}/ (stories.csv, stories.md)\n"
    # the README's and the ODD's tables are this command's, row for row
    tables = [line for line in printed.splitlines() if line.startswith("| ") and " | " in line]
    readme = _section((ROOT / "README.md").read_text(encoding="utf-8"), "### The article's stories", "## Comparing")
    odd = _section((ROOT / "docs" / "ODD.md").read_text(encoding="utf-8"), "### 8.8 The article's stories", "## Known")
    for line in tables:
        assert line in readme, f"README.md's story table differs from olsim stories: {line}"
        assert line in odd, f"docs/ODD.md's story table differs from olsim stories: {line}"
    # an existing folder is never replaced: one line, nothing run, the files as they were
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["stories", "kuwait_1996", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"olsim: error: --out {out}: already exists; choose a new folder (olsim stories never replaces one)"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_olsim_stories_refuses_a_bad_story_name_in_one_line(capsys):
    assert main(["stories", "kuwait_1996", "siberia"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip().splitlines() == [
        "olsim: error: siberia: no such story (did you mean 'siberia_logging'?) (stories: kuwait_1996, siberia_logging)"
    ]


def test_olsim_run_takes_a_story_by_name(tmp_path, capsys):
    assert main(["run", "kuwait_1996", "--months", "2", "--out", str(tmp_path / "k"), "--quiet"]) == 0
    assert "workers at start / end" in capsys.readouterr().out and (tmp_path / "k" / "workers.parquet").exists()
