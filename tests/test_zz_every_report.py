"""Issue 32's check over every report the suite wrote (in this process: tests/conftest.py notes them), run last:
no negative bound for an outcome that cannot be negative, every number in the workbooks formatted, each
workbook's headline the HTML's cell for cell, and no figure saved with offset notation on an axis ("1e6" above the
axis instead of units in its labels). Run alone, it first writes a report of its own, so it always checks one.
With pytest-xdist each worker also checks every report it wrote when its session ends (tests/conftest.py), since
this test sees only its own worker's."""

from __future__ import annotations

from conftest import REPORTS_WRITTEN, check_reports


def test_every_report_the_suite_wrote(tmp_path):
    import sim

    own = sim.compare(["no_sanctions", "history"], replicates=2, scale=0.004, months=24, warmup=0, out=tmp_path / "c")
    own.report()
    folders = [f for f in dict.fromkeys(REPORTS_WRITTEN) if (f / "report.xlsx").is_file()]
    assert tmp_path / "c" in folders
    check_reports(folders)
