"""`olsim compare` and `olsim report` (issue 17): the analyst's report, its numbers, its files, its errors; the
warm-up (`calendar.warmup`)."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, small_overrides
from sim import load_params, run
from sim.cli import main
from sim.explore.report import outcome_title
from sim.results.outcomes import OUTCOMES, REPORTED as HEADLINE

NO_SANCTIONS, HISTORY = str(ROOT / "params" / "no_sanctions.toml"), str(ROOT / "params" / "history.toml")
SCALE, REPLICATES = 0.004, 2
ARGS = ["--replicates", str(REPLICATES), "--scale", str(SCALE), "--months", "30", "--warmup", "6", "-q"]


def _headline(folder):
    """The headline's numbers (`sim.explore.report.headline`, the reported outcomes: what the workbook's and the
    HTML's cells show)."""
    from sim.explore.analysis import ExperimentResult
    from sim.explore.report import headline

    t = headline(ExperimentResult.load(folder))
    return t[t["outcome"].isin(HEADLINE)].reset_index(drop=True)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "nh"
    assert main(["compare", NO_SANCTIONS, HISTORY, *ARGS, "--out", str(out), "--processes", "1"]) == 0
    return out


def test_compare_writes_the_report_files(compared):
    for name in ("report.html", "report.md", "report.xlsx", "summary.csv", "runs.parquet", "experiment.toml"):
        assert (compared / name).stat().st_size > 0, name
    for name in ("changes", "tradeoff", "series", "welfare"):
        assert (compared / "plots" / f"{name}.png").stat().st_size > 10_000, name
    manifest = json.loads((compared / "manifest.json").read_text())
    assert manifest["complete"] and manifest["runs_total"] == 2 * REPLICATES
    assert manifest["base_params"]["calendar"]["warmup"] == 6  # the warm-up asked for is the one run


def test_the_html_report_stands_alone(compared):
    html = (compared / "report.html").read_text(encoding="utf-8")
    # nothing fetched from the network: every figure embedded, no external script, style or image
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", html)
    assert "<script" not in html
    assert len(re.findall(r"src='data:image/png;base64,", html)) == 4
    # what was compared, in words
    for words in (
        "no sanctions (reference)",
        "history",
        "No new work permits (UNSCR 2375)",
        "from 2017-09",
        "russia 90%",
        "Send all workers home within 2 years (UNSCR 2397)",
        "warm-up of 6 months",
        "0.4% of every host",
        "2 (seeds from 0",
    ):
        assert words in html, words
    # the headline table: a level and a change row per outcome
    table = html[html.index("<table id='headline'>") :]
    table = table[: table.index("</table>")]
    assert table.count("<tr class='change'>") == len(HEADLINE)


def test_the_headline_is_the_runs_at_full_scale(compared):
    """The report's numbers, recomputed from runs.parquet: totals divided by the scale; the change the paired
    difference (same seed) of the two scenarios' runs; the interval Student's t over the replicates."""
    from scipy import stats

    runs = pd.read_parquet(compared / "runs.parquet")
    head = _headline(compared).set_index(["scenario", "outcome"])
    a = runs[runs["scenario"] == "no_sanctions"].set_index("replicate")
    b = runs[runs["scenario"] == "history"].set_index("replicate")
    rev = "revenue_delivered_per_year"
    assert head.loc[("no_sanctions", rev), "level"] == pytest.approx(a[rev].mean() / SCALE, rel=1e-9)
    d = (b[rev] - a[rev]) / SCALE
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    row = head.loc[("history", rev)]
    assert row["change"] == pytest.approx(d.mean(), rel=1e-9)
    assert (row["change_low"], row["change_high"]) == pytest.approx((d.mean() - half, d.mean() + half), rel=1e-9)
    assert row["change_pct"] == pytest.approx(100 * d.mean() / (a[rev].mean() / SCALE), rel=1e-9)
    # a rate is not rescaled
    k = "retained_per_worker_month"
    assert head.loc[("history", k), "level"] == pytest.approx(b[k].mean(), rel=1e-9)
    # the Markdown shows the same level, at full scale ($M)
    md = (compared / "report.md").read_text(encoding="utf-8")
    assert f"${a[rev].mean() / SCALE / 1e6:,.1f}M" in md
    # beside the rates, the workforce at the end and the months worked, at full scale (issue 32: a collapse must not
    # hide behind a rate over the months that were still worked)
    for total in ("workers_final", "worker_months"):
        assert head.loc[("history", total), "level"] == pytest.approx(b[total].mean() / SCALE, rel=1e-9)
    assert "| workers abroad at the end, workers |" in md and "| worker-months worked, worker-months |" in md


def test_the_workbook_holds_the_tables(compared):
    sheets = pd.read_excel(compared / "report.xlsx", sheet_name=None)
    assert {"headline", "headline numbers", "scenarios", "about", "summary"} <= set(sheets)
    assert set(sheets["headline numbers"]["outcome"]) == {outcome_title(o) for o in HEADLINE}
    assert list(sheets["scenarios"]["scenario"]) == ["no sanctions (reference)", "history"]


def test_compare_resumes_and_never_overwrites(compared, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(compared, copy)
    before = {p.name: p.stat().st_mtime_ns for p in (copy / "rows").glob("*.json")}
    # the same --out again without --resume: one line, nothing touched
    assert main(["compare", NO_SANCTIONS, HISTORY, *ARGS, "--out", str(copy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--resume" in err[0]
    assert main(["compare", NO_SANCTIONS, HISTORY, *ARGS, "--out", str(copy), "--resume"]) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (copy / "rows").glob("*.json")} == before
    assert json.loads((copy / "manifest.json").read_text())["sessions"][-1]["runs_run"] == 0


@pytest.mark.parametrize(
    "argv, words",
    [
        (["compare", NO_SANCTIONS], "at least two parameter files"),
        (["compare", NO_SANCTIONS, "no_such_file.toml"], "no_such_file.toml: no such file"),
        (["compare", NO_SANCTIONS, "nosuchname"], "no shipped"),
        (
            ["compare", NO_SANCTIONS, HISTORY, "--reference", "full_compliance"],
            "--reference full_compliance: not one of",
        ),
        (["compare", NO_SANCTIONS, HISTORY, "--scale", "0"], "--scale 0: must be more than 0"),
        (["compare", NO_SANCTIONS, HISTORY, "--replicates", "0"], "--replicates 0: must be 1"),
        (["compare", NO_SANCTIONS, HISTORY, "--warmup", "-1"], "--warmup -1: must be 0 to 600"),
        (["compare", NO_SANCTIONS, HISTORY, "--processes", "2", "--scheduler", "tcp://127.0.0.1:9"], "choose one"),
    ],
)
def test_bad_compare_input_is_one_line(argv, words, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and "Traceback" not in err[0], err
    assert not (tmp_path / "out").exists()  # nothing written


def test_the_reference_can_be_any_file(tmp_path):
    out = tmp_path / "ref"
    assert main(["compare", NO_SANCTIONS, HISTORY, *ARGS, "--reference", "history", "--out", str(out)]) == 0
    head = _headline(out).set_index(["scenario", "outcome"])
    rev = "revenue_delivered_per_year"
    assert head.loc[("history", rev), "change"] == 0
    assert head.loc[("no_sanctions", rev), "change"] > 0  # no sanctions delivers more than the history


def test_olsim_report_rewrites_a_folder_and_refuses_others(compared, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(compared, copy)
    (copy / "report.html").unlink()
    shutil.rmtree(copy / "plots")
    assert main(["report", str(copy)]) == 0
    assert (copy / "report.html").stat().st_size > 50_000 and (copy / "plots" / "series.png").exists()
    capsys.readouterr()
    run_folder = tmp_path / "run"
    assert main(["run", "classroom", "--months", "3", "--out", str(run_folder), "-q"]) == 0
    capsys.readouterr()
    for folder, words in ((run_folder, "not an experiment folder"), (tmp_path / "nothing", "no such folder")):
        assert main(["report", str(folder)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0]


def test_the_report_in_a_browser(compared, browser, tmp_path):
    """report.html opened from disk (file://, no server, no network) shows the scenarios, the table and every
    figure (each image decoded: natural width > 0)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route("http*://**", lambda route: route.abort())  # anything fetched from the network would fail
    page.goto((compared / "report.html").as_uri())
    assert page.get_by_role("heading", name="no sanctions vs history").is_visible()
    body = page.inner_text("body")
    assert "What was compared" in body and "No new work permits" in body
    rows = page.locator("#headline tr")
    assert rows.count() == 1 + 2 * len(HEADLINE)
    assert "reference" in rows.nth(2).inner_text()
    for key in ("changes", "tradeoff", "series", "welfare"):
        img = page.locator(f"#fig-{key}")
        img.scroll_into_view_if_needed()
        assert img.evaluate("i => i.complete && i.naturalWidth") > 500, key
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    page.close()


# ------------------------------------------------------------------ the warm-up
def test_a_warm_up_is_the_later_months_of_a_longer_run():
    """calendar.warmup = W is the run started W months earlier, its first W months dropped: the same monthly and
    hosts rows (renumbered), the workers still there or leaving after the start (months renumbered)."""
    w, months = 7, 12
    warm = run(load_params(None, small_overrides(months=months, **{"calendar.warmup": w})), seed=3)
    long = run(load_params(None, small_overrides(months=months + w, **{"calendar.start": "2015-06"})), seed=3)
    assert warm.monthly["date"].iloc[0] == "2016-01" and list(warm.monthly["month"]) == list(range(months))
    cols = [c for c in warm.monthly.columns if c != "month"]
    pd.testing.assert_frame_equal(warm.monthly[cols], long.monthly[cols].iloc[w:].reset_index(drop=True))
    h = long.hosts[long.hosts["month"] >= w].reset_index(drop=True)
    pd.testing.assert_frame_equal(warm.hosts.drop(columns="month"), h.drop(columns="month"))
    lw = long.workers[(long.workers["status"] == "active") | (long.workers["month_left"] >= w)].reset_index(drop=True)
    assert list(warm.workers["worker_id"]) == list(lw["worker_id"])
    assert (warm.workers["month_deployed"] == lw["month_deployed"] - w).all()
    left = lw["month_left"] >= 0
    assert (warm.workers.loc[left, "month_left"] == lw.loc[left, "month_left"] - w).all()
    assert (warm.workers.loc[~left, "month_left"] == -1).all()
    assert warm.summary["workers_initial"] == int(long.monthly["workers_active"].iloc[w - 1])
    assert warm.manifest["params"]["calendar"]["warmup"] == w  # the manifest holds the parameters as given


def test_a_policy_month_given_as_an_index_counts_from_the_start_not_the_warm_up():
    pol = [{"kind": "financial_sanctions", "start": 5, "compliance": 1.0}]
    warm = run(load_params(None, small_overrides(months=10, **{"calendar.warmup": 4, "policies": pol})), seed=1)
    on = warm.monthly["policies"].astype(str).str.len() > 0
    assert int(on.to_numpy().argmax()) == 5 and not on.iloc[:5].any()


def test_the_warm_up_removes_the_ledger_drift():
    """Without a warm-up the initial workers carry no withheld wages, so the ledgers forfeited at exits in the
    first year are a fraction of later years'; after 36 months of warm-up the first year is like the others.
    Bounds: the ratio is ~0.2 unwarmed and ~1.0 warmed at this size (1,200 workers, ~70 exits a month), so 0.5
    and 0.8 are far from both."""

    def first_to_later(warmup):
        m = run(
            load_params(
                None,
                {
                    **{
                        f"hosts.{h}.workers": n
                        for h, n in {
                            "china": 600,
                            "russia": 360,
                            "gulf": 100,
                            "africa": 60,
                            "asia": 50,
                            "europe": 30,
                        }.items()
                    },
                    "calendar.months": 48,
                    "calendar.warmup": warmup,
                },
            ),
            seed=0,
        ).monthly
        return m["forfeited"].iloc[:12].sum() / (m["forfeited"].iloc[24:].sum() / 2)

    assert first_to_later(0) < 0.5
    assert first_to_later(36) > 0.8


def test_both_engines_run_the_same_warm_up():
    params = load_params(None, small_overrides(scale=0.5, months=8, **{"calendar.warmup": 5}))
    a, b = run(params, engine="array", seed=2), run(params, engine="mesa", seed=2)
    for t in ("monthly", "hosts", "workers"):
        pd.testing.assert_frame_equal(getattr(a, t), getattr(b, t))


def test_the_report_of_a_sampled_experiment_gives_the_spread_of_the_runs(tmp_path):
    """Over samples of uncertain parameters (one replicate each, so no t interval exists), the headline's range is
    the 2.5-97.5% quantiles of the runs, and the change's that of the paired differences, recomputed here."""
    exp = tmp_path / "lhs.toml"
    exp.write_text(f"""
name = "lhs"
replicates = 1
months = 12
scale = 0.004
reference = "none"
outcomes = ["revenue_delivered_per_year", "retained_per_worker_month"]
[[scenarios]]
name = "none"
params = "{NO_SANCTIONS}"
[[scenarios]]
name = "history"
params = "{HISTORY}"
[uncertainties."hosts.*.wage"]
low = 0.8
high = 1.2
relative = true
[sampling]
method = "lhs"
n = 6
""")
    out = tmp_path / "out"
    assert main(["experiment", str(exp), "--out", str(out), "--processes", "1", "--quiet"]) == 0
    assert main(["report", str(out)]) == 0
    head = _headline(out).set_index(["scenario", "outcome"])
    runs = pd.read_parquet(out / "runs.parquet")
    k = "retained_per_worker_month"
    a = runs[runs["scenario"] == "none"].set_index("sample")[k]
    b = runs[runs["scenario"] == "history"].set_index("sample")[k]
    assert head.loc[("none", k), "level_low"] == pytest.approx(np.quantile(a, 0.025), rel=1e-9)
    assert head.loc[("none", k), "level_high"] == pytest.approx(np.quantile(a, 0.975), rel=1e-9)
    assert head.loc[("history", k), "change_low"] == pytest.approx(np.quantile(b - a, 0.025), rel=1e-9)
    assert "the range holding 95% of the 6 runs" in (out / "report.md").read_text(encoding="utf-8")


def test_a_report_without_reference_runs_says_so(compared, tmp_path, capsys):
    """An interrupted comparison whose reference has no finished run yet: the report is written, with the levels
    and the series, says that no change can be computed, and draws no figure of changes."""
    copy = tmp_path / "noref"
    shutil.copytree(compared, copy)
    runs = pd.read_parquet(copy / "runs.parquet")
    runs[runs["scenario"] == "history"].to_parquet(copy / "runs.parquet")
    for sub in ("monthly", "distributions", "rows"):
        for f in (copy / sub).glob("no_sanctions.*"):
            f.unlink()
    assert main(["report", str(copy)]) == 0
    md = (copy / "report.md").read_text(encoding="utf-8")
    assert "has no finished runs yet" in md and (copy / "plots" / "series.png").exists()
    assert not (copy / "plots" / "changes.png").exists() and not (copy / "plots" / "welfare.png").exists()


def test_one_replicate_still_places_the_trade_off(tmp_path, monkeypatch):
    """With one replicate there is no interval (NaN bounds): the levels' axes still reach the points."""
    from sim.explore.analysis import ExperimentResult
    from sim.explore.report import headline
    from sim.plots import report as fig

    out = tmp_path / "one"
    assert (
        main(
            [
                "compare",
                NO_SANCTIONS,
                HISTORY,
                "--replicates",
                "1",
                "--scale",
                str(SCALE),
                "--months",
                "12",
                "--warmup",
                "0",
                "--out",
                str(out),
                "--processes",
                "1",
                "-q",
            ]
        )
        == 0
    )
    result = ExperimentResult.load(out)
    seen = {}
    monkeypatch.setattr(fig, "save", lambda f, path, tight=True: seen.setdefault("fig", f) and path)
    table = headline(result)
    fig.tradeoff(table, {}, "no_sanctions", "", tmp_path / "t.png", "")
    levels = seen["fig"].axes[0]
    rev = table.set_index(["scenario", "outcome"]).loc[("no_sanctions", "revenue_delivered_per_year"), "level"] / 1e6
    assert levels.get_xlim()[1] > rev > 0


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--months", "1190", "--warmup", "36"], "months + warmup must be at most 1200"),
        (["--months", "1201"], "--months 1201: must be 1 to 1,200"),
    ],
)
def test_a_calendar_too_long_is_one_line(extra, words, tmp_path, capsys):
    assert main(["compare", NO_SANCTIONS, HISTORY, *extra, "--out", str(tmp_path / "o"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def test_files_with_different_calendars_are_refused(tmp_path, capsys):
    short = tmp_path / "short.toml"
    short.write_text('[calendar]\nmonths = 6\nstart = "2018-01"\n')
    assert main(["compare", NO_SANCTIONS, str(short), "--out", str(tmp_path / "o"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different calendars" in err[0] and "6 months from 2018-01" in err[0]


def test_the_reference_is_the_file_named_exactly(tmp_path):
    from sim.explore.compare import compare_experiment

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        shutil.copy(NO_SANCTIONS, tmp_path / d / "x.toml")
    files = [str(tmp_path / "a" / "x.toml"), str(tmp_path / "b" / "x.toml")]
    _, plan = compare_experiment(files, reference=str(tmp_path / "b" / "x.toml"), replicates=1, scale=0.004, months=2)
    assert plan.reference == "x-2"  # the second file, not the first of that name
    with pytest.raises(Exception, match="2 compared files are named x"):
        compare_experiment(files, reference="elsewhere/x.toml", replicates=1, scale=0.004, months=2)


def test_labels_cannot_break_the_markdown(tmp_path):
    exp = tmp_path / "e.toml"
    exp.write_text(f"""
name = "labels"
replicates = 2
months = 6
scale = 0.004
outcomes = ["revenue_delivered_per_year", "retained_per_worker_month"]
[[scenarios]]
name = "none"
label = "none | <b>ref</b> *x*"
params = "{NO_SANCTIONS}"
[[scenarios]]
name = "history"
params = "{HISTORY}"
""")
    out = tmp_path / "out"
    assert main(["experiment", str(exp), "--out", str(out), "--processes", "1", "--quiet"]) == 0
    assert main(["report", str(out)]) == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    header = next(line for line in md.splitlines() if line.startswith("| outcome |"))
    assert header.count(" | ") == 2 and r"none \| \<b\>ref\</b\> \*x\*" in header
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<b>ref</b>" not in html and "&lt;b&gt;ref&lt;/b&gt;" in html


def test_olsim_report_waits_for_a_running_experiment(compared, tmp_path, capsys):
    """While another olsim holds the folder's lock (an experiment still writing it), olsim report refuses in one
    line and touches nothing."""
    from sim.explore.store import Store

    copy = tmp_path / "busy"
    shutil.copytree(compared, copy)
    before = (copy / "report.html").stat().st_mtime_ns
    held = Store(copy)._acquire(copy)
    try:
        assert main(["report", str(copy)]) == 2
    finally:
        held.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another olsim is writing this experiment now" in err[0]
    assert (copy / "report.html").stat().st_mtime_ns == before
    assert main(["report", str(copy)]) == 0  # and once it is free, it writes


def test_a_label_that_looks_like_a_formula_stays_text_in_the_workbook(tmp_path):
    """A scenario label or description beginning with "=" is written as text, never as a formula (issue 34)."""
    from types import SimpleNamespace

    import openpyxl

    from sim.explore.report import _xlsx

    table = pd.DataFrame({"scenario": ["a"], "outcome": ["revenue_delivered_per_year"], "level": [1.0]})
    result = SimpleNamespace(summary=lambda full_scale: pd.DataFrame(), is_posterior=False, sensitivity=pd.DataFrame)
    what = [('=HYPERLINK("http://x")', "=1+1", ["=SUM(A1:A9)"])]
    labels = {"a": "=cmd|' /C calc'!A0"}
    grid = [["outcome", labels["a"]], ["revenue", "=3"]]
    path = _xlsx(tmp_path / "report.xlsx", result, table, labels, what, [("run", "=2*3")], grid, "words")
    book = openpyxl.load_workbook(path)
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    starting = [c for c in cells if c.value.startswith("=")]
    assert len(starting) == 7 and all(c.data_type == "s" for c in starting)  # 2 in the wide headline
    assert "=cmd|' /C calc'!A0" in [c.value for c in starting]


def test_a_change_whose_interval_includes_no_change_is_marked_not_distinguishable(compared):
    """Issue 32: a rule for when an outcome is not distinguishable. In the report, every change whose interval
    includes 0 carries (n.d.), and no other does; the how-to-read says what it means."""
    head = _headline(compared)
    md = (compared / "report.md").read_text(encoding="utf-8")
    changes = head[head["scenario"] == "history"]
    spans = (changes["change_low"] <= 0) & (changes["change_high"] >= 0)
    table = md[md.index("## Headline") : md.index("## How to read this")]
    marks = table.count("(n.d.)")  # the table's marks, not the findings' or the explanation's
    assert 0 < int(spans.sum()) < len(changes)  # both kinds occur here (deaths and escapes are not resolved)
    assert marks == int(spans.sum()) and "not distinguishable from no change" in md


def test_the_report_opens_with_what_it_finds_in_plain_sentences(compared):
    """Issue 32, item 1: one plain sentence per scenario from the headline's figures (revenue, what a worker keeps,
    the workers at the end, each with its interval), and a warning naming what the replicates cannot resolve."""
    head = _headline(compared).set_index(["scenario", "outcome"])
    md = (compared / "report.md").read_text(encoding="utf-8")
    found = md[md.index("## What it finds") : md.index("## What was compared")]
    rev = head.loc[("history", "revenue_delivered_per_year")]
    way = "falls" if rev["change"] < 0 else "rises"
    lo, hi = sorted((abs(rev["change_pct_low"]), abs(rev["change_pct_high"])))
    assert f"the revenue that reaches the state {way} by {abs(rev['change_pct']):.0f}% [{lo:.0f}%, {hi:.0f}%]" in found
    assert "what a worker keeps per month worked" in found and "the workers abroad at the end" in found
    spans = [
        o
        for (s, o), r in head.iterrows()
        if s == "history" and r["change_low"] <= 0 <= r["change_high"] and o in OUTCOMES
    ]
    assert spans and all(OUTCOMES[o].label.replace("_", "\\_") in found for o in spans)
    assert "cannot be told from no change" in found
    html_text = (compared / "report.html").read_text(encoding="utf-8")
    assert "<ul id='findings'><li>Against" in html_text


def _html_headline(folder) -> list[list[str]]:
    """The HTML report's headline table, row by row, as its reader sees the cells (entities decoded)."""
    import html as html_module

    page = (folder / "report.html").read_text(encoding="utf-8")
    table = page[page.index("<table id='headline'>") : page.index("</table>", page.index("<table id='headline'>"))]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)
    return [[html_module.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, flags=re.S)] for r in rows]


def test_the_workbook_is_the_html_table_with_formatted_numbers_at_one_scale(compared):
    """Issue 32, item 4: the workbook's headline sheet is the HTML's table cell for cell; every number in every
    sheet carries a number format in its unit (none left General); the header row and first column are frozen;
    the summary (sheet and summary.csv) gives totals at full scale, as the headline does. Broken on purpose (the
    number formats not set, or the summary at the simulated scale): fails."""
    import openpyxl

    book = openpyxl.load_workbook(compared / "report.xlsx")
    grid = [[("" if c.value is None else str(c.value)) for c in row] for row in book["headline"].iter_rows()]
    assert grid == _html_headline(compared)
    numeric = 0
    for ws in book.worksheets:
        assert ws.freeze_panes == "B2", ws.title
        for row in ws.iter_rows(min_row=2):
            for c in row:
                if isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
                    numeric += 1
                    assert c.number_format != "General", (ws.title, c.coordinate, c.value)
    assert numeric > 100
    # money in dollars, shares in percent, in the units the outcome's row names
    numbers = pd.read_excel(compared / "report.xlsx", sheet_name="headline numbers")
    ws = book["headline numbers"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        unit, level = row[header.index("unit")].value, row[header.index("level")]
        assert ("$" in level.number_format) == unit.startswith("USD") and ("%" in level.number_format) == (
            unit == "share"
        ), (unit, level.number_format)
    rev = outcome_title("revenue_delivered_per_year")
    head = _headline(compared).set_index(["scenario", "outcome"])
    got = numbers[(numbers["outcome"] == rev) & (numbers["scenario"] == "history")]["level"].iloc[0]
    assert got == pytest.approx(head.loc[("history", "revenue_delivered_per_year"), "level"], rel=1e-12)
    # the summary: totals at full scale in the sheet and in summary.csv, rates as they are
    runs = pd.read_parquet(compared / "runs.parquet")
    mean = runs[runs["scenario"] == "history"]["revenue_delivered_per_year"].mean()
    csv = pd.read_csv(compared / "summary.csv").set_index(["scenario", "outcome"])
    assert csv.loc[("history", "revenue_delivered_per_year"), "mean"] == pytest.approx(mean / SCALE, rel=1e-5)
    k = "retained_per_worker_month"
    kept = runs[runs["scenario"] == "history"][k].mean()
    assert csv.loc[("history", k), "mean"] == pytest.approx(kept, rel=1e-5)
    sheet = pd.read_excel(compared / "report.xlsx", sheet_name="summary")
    row = sheet[(sheet["scenario"] == "history") & (sheet["outcome"] == rev)].iloc[0]
    assert row["mean"] == pytest.approx(mean / SCALE, rel=1e-12)


def test_the_word_document_holds_the_findings_the_table_and_the_figures(compared):
    """Issue 32, item 4: report.docx opens with python-docx and holds the findings (the Markdown's sentences), the
    headline table as the HTML shows it (cell for cell) and the four figures. Broken on purpose (a figure or a
    finding left out): fails."""
    import docx

    doc = docx.Document(str(compared / "report.docx"))
    text = [p.text for p in doc.paragraphs]
    md = (compared / "report.md").read_text(encoding="utf-8")
    found = md[md.index("## What it finds") : md.index("## What was compared")]
    sentences = [line[2:] for line in found.splitlines() if line.startswith("- ")]
    assert sentences and all(s in text for s in sentences), sentences
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    assert _html_headline(compared) in tables
    assert len(doc.inline_shapes) == 4
    for heading in (
        "Paired changes from the reference",
        "Revenue against what workers keep",
        "Who gains and who loses",
    ):
        assert heading in text


def test_what_the_answer_hinges_on_names_the_scenarios_of_each_assumption():
    """Issue 32: with three scenarios, each assumed setting is said once, naming every scenario that assumes it
    (the first scenario's settings were listed without a name, so a reader could not tell whose they were).
    Broken on purpose (the scenario's name left out, or a setting repeated per scenario): fails."""
    from types import SimpleNamespace

    from sim.explore.report import assumptions

    ban = {"kind": "permit_ban", "start": "2017-09", "compliance": 0.5, "evasion": 0.4}
    strict = {**ban, "compliance": 1.0}
    result = SimpleNamespace(sensitivity=pd.DataFrame, is_posterior=False, manifest={"sampling": {"method": "none"}})
    lines = assumptions(result, {"a": [ban], "b": [strict], "c": [ban]}, {"a": "history", "b": "full", "c": "lax"})
    who = [line.split(":")[0] for line in lines]
    assert who == ["history and lax", "history, full and lax", "full"], lines
    assert "compliance: 50%" in lines[0] and "visas: 40%" in lines[1] and "compliance: 100%" in lines[2]


def test_the_monthly_series_as_an_xarray_dataset_at_full_scale(compared):
    """Issue 32, item 5: every run's months as an xarray Dataset (scenario x sample x replicate x month, a date
    beside the month), sums over the hosts at full scale and means per worker as they are, with units. Broken on
    purpose (a sum left at the simulated scale, or the replicates' order lost): fails."""
    from sim.explore.analysis import ExperimentResult

    result = ExperimentResult.load(compared)
    ds = result.monthly_xarray(["revenue_delivered", "retained_mean"])
    monthly = pd.read_parquet(compared / "monthly")
    assert dict(ds.sizes) == {"scenario": 2, "sample": 1, "replicate": REPLICATES, "month": monthly["month"].nunique()}
    assert list(ds["scenario"].values) == ["no_sanctions", "history"]
    one = monthly[(monthly["scenario"] == "history") & (monthly["replicate"] == 1)].sort_values("month")
    got = ds["revenue_delivered"].sel(scenario="history", sample=0, replicate=1).values
    np.testing.assert_allclose(got, one["revenue_delivered"].to_numpy() / SCALE, rtol=1e-12)
    kept = ds["retained_mean"].sel(scenario="history", sample=0, replicate=1).values
    np.testing.assert_allclose(kept, one["retained_mean"].to_numpy(), rtol=1e-12)
    assert list(ds["date"].values[:2]) == list(one["date"].iloc[:2])
    assert ds["revenue_delivered"].attrs["units"] == "USD" and ds.attrs["scale"] == SCALE
