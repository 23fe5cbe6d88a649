"""Shared helpers: small populations that run in well under a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import load_params, run

SMALL_HOSTS = {"china": 250, "russia": 150, "gulf": 40, "africa": 25, "asia": 20, "europe": 15}


def small_overrides(scale: float = 1.0, months: int = 36, **extra) -> dict:
    ov = {f"hosts.{h}.workers": max(1, int(n * scale)) for h, n in SMALL_HOSTS.items()}
    ov["calendar.months"] = months
    ov.update({k.replace("__", "."): v for k, v in extra.items()})
    return ov


ROOT = Path(__file__).resolve().parent.parent


def small_params(scale: float = 1.0, months: int = 36, path=None, **extra):
    """Parameters at a small scale; ``path`` is relative to the repository root."""
    return load_params(ROOT / path if path else None, small_overrides(scale, months, **extra))


@pytest.fixture(scope="session")
def baseline_small():
    """The no-sanctions baseline at 500 workers, 36 months (shared by several tests)."""
    return run(small_params(), seed=11)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from this checkout, once a session (the tests that install the package share it)."""
    import subprocess
    import sys

    import os

    from filelock import FileLock

    # one build a run: with pytest-xdist the workers share their run's folder and take turns (pip builds in the
    # checkout's build/ folder, which two builds at once would spoil); without it, this session's own folder
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    dist = shared / "dist"
    with FileLock(str(shared / "wheel.lock")):
        if not any(dist.glob("*.whl")):
            dist.mkdir(exist_ok=True)
            subprocess.run(
                [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(dist)],
                check=True,
                timeout=600,
                capture_output=True,
            )
    (built,) = dist.glob("*.whl")
    return built


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright (its own browser download does not work here). Missing: the
    test is skipped outside CI and fails in CI (.ci/run installs it)."""
    import os

    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); CI fails instead of skipping")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        yield b
        b.close()


# ---------------------------------------------------------------- every report and figure the suite writes
# (issue 32: read by tests/test_zz_every_report.py, which pytest runs last: files run in name order)
REPORTS_WRITTEN: list[Path] = []  # the experiment folders whose report (html, md, xlsx, docx) was written
FIGURE_OFFSETS: list[str] = []  # "file: axis offset" for every figure this package saved with offset notation


@pytest.fixture(autouse=True, scope="session")
def _watch_reports_and_figures():
    """Note every report written in this process and every saved figure with an offset on an axis ("1e6" above
    the axis instead of units in the tick labels)."""
    from matplotlib.figure import Figure

    from sim.explore import report

    write_report, savefig = report.write_report, Figure.savefig

    def watched_write_report(result, draw=True):
        written = write_report(result, draw)
        REPORTS_WRITTEN.append(Path(result.folder))
        return written

    import sys

    package = str(ROOT / "sim")

    def watched_savefig(self, fname, *args, **kwargs):
        out = savefig(self, fname, *args, **kwargs)  # the offsets are known once the figure is drawn
        frame = sys._getframe(1)
        while frame is not None and not frame.f_code.co_filename.startswith(package):
            frame = frame.f_back
        if frame is None:  # drawn by a test or another library (EMA's own plots), not by this package
            return out
        for ax in self.axes:
            for axis in (ax.xaxis, ax.yaxis):
                text = axis.get_offset_text().get_text()
                if text and ax.get_visible() and axis.get_visible():
                    FIGURE_OFFSETS.append(f"{fname}: {ax.get_title() or ax.get_ylabel()!r} shows {text!r}")
        return out

    report.write_report = watched_write_report
    Figure.savefig = watched_savefig
    yield
    report.write_report, Figure.savefig = write_report, savefig
    import os

    if os.environ.get("PYTEST_XDIST_WORKER"):  # one worker's test_zz_every_report sees only its own reports
        check_reports([f for f in dict.fromkeys(REPORTS_WRITTEN) if (f / "report.xlsx").is_file()])


def _html_headline(folder) -> list[list[str]]:
    import html
    import re

    page = (folder / "report.html").read_text(encoding="utf-8")
    start = page.index("<table id='headline'>")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page[start : page.index("</table>", start)], flags=re.S)
    return [[html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, flags=re.S)] for r in rows]


def check_reports(folders) -> None:
    """Issue 32's checks on the reports in ``folders`` (tests/test_zz_every_report.py) and on the figures noted."""
    import math

    import openpyxl

    from sim.explore.analysis import ExperimentResult
    from sim.explore.report import headline
    from sim.results.outcomes import OUTCOMES

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


# ---------------------------------------------------------------- the suite on two processes (pytest-xdist)
# `pytest` runs with -n 2 --dist loadfile (pyproject.toml): each test file runs whole on one worker (its module
# fixtures built once), the files shared out as workers free up. (loadgroup's xdist_group marks are not honoured
# with pytest 9.2 and xdist 3.8: its tests were spread one by one.) The heaviest files go first, so the two
# workers finish together.
HEAVY_FIRST = [
    "test_classroom.py",
    "test_sanctions_targets.py",
    "test_recovery.py",
    "test_calibration.py",
    "test_package.py",
    "test_reliability.py",
    "test_experiment.py",
    "test_readme_snippets.py",
    "test_docking.py",
    "test_smc.py",
]


def pytest_collection_modifyitems(config, items):
    if getattr(config.option, "numprocesses", None):
        rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
        items.sort(key=lambda it: rank.get(it.path.name, len(rank)))  # stable: each file's own order kept
