"""Issue 32's check over every report the suite wrote (in this process: tests/conftest.py notes them), run last:
no negative bound for an outcome that cannot be negative, every number in the workbooks formatted, each
workbook's headline the HTML's cell for cell, and no figure saved with offset notation on an axis ("1e6" above the
axis instead of units in its labels). Run alone, it first writes a report of its own, so it always checks one."""

from __future__ import annotations

import math
import re

from conftest import FIGURE_OFFSETS, REPORTS_WRITTEN


def _html_headline(folder) -> list[list[str]]:
    import html

    page = (folder / "report.html").read_text(encoding="utf-8")
    start = page.index("<table id='headline'>")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page[start : page.index("</table>", start)], flags=re.S)
    return [[html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, flags=re.S)] for r in rows]


def test_every_report_the_suite_wrote(tmp_path):
    import openpyxl

    import sim
    from sim.explore.analysis import ExperimentResult
    from sim.explore.report import headline
    from sim.results.outcomes import OUTCOMES

    own = sim.compare(["no_sanctions", "history"], replicates=2, scale=0.004, months=24, warmup=0, out=tmp_path / "c")
    own.report()
    folders = [f for f in dict.fromkeys(REPORTS_WRITTEN) if (f / "report.xlsx").is_file()]
    assert tmp_path / "c" in folders
    for folder in folders:
        t = headline(ExperimentResult.load(folder))
        for _, r in t.iterrows():
            if OUTCOMES[r["outcome"]].interval_scale in ("log", "logit") and not math.isnan(r["level_low"]):
                assert r["level_low"] >= 0, (folder, r["scenario"], r["outcome"], r["level_low"])
        book = openpyxl.load_workbook(folder / "report.xlsx")
        grid = [[("" if c.value is None else str(c.value)) for c in row] for row in book["headline"].iter_rows()]
        assert grid == _html_headline(folder), folder
        for ws in book.worksheets:
            for row in ws.iter_rows(min_row=2):
                for c in row:
                    if isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
                        assert c.number_format != "General", (folder, ws.title, c.coordinate)
    assert not FIGURE_OFFSETS, FIGURE_OFFSETS
