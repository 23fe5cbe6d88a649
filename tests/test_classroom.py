"""The classroom page: its model and controls, and the page itself in a real browser (Chromium, headless)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT
from sim.classroom.app import (
    PIPELINE_WORDS,
    SANCTIONS,
    ClassroomModel,
    classroom_params,
    model_params,
    month_story,
    pending_changes,
    recruitment_words,
    worker_story,
)
from sim.common.formatting import format_money
from sim.results.columns import COL


def defaults(**changes) -> dict:
    controls = {k: (v["value"] if isinstance(v, dict) else v) for k, v in model_params().items()}
    return {**controls, **changes}


# ---------------------------------------------------------------- the page's browser files


def test_npm_files_download_each_tarball_once_under_concurrent_requests(tmp_path, monkeypatch):
    """A cold cache and eight files of one package asked for at once (as the page does): one download,
    every file whole. (Before the lock, the threads shared one temporary file and the page never loaded.)"""
    import io
    import tarfile
    import threading

    from sim.classroom import assets

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for i in range(8):
            data = f"file {i} ".encode() * 5000
            info = tarfile.TarInfo(f"package/dist/f{i}.js")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    payload = buf.getvalue()
    import base64
    import hashlib
    import json

    meta = json.dumps(
        {
            "dist": {
                "tarball": "https://registry.example/some-package-1.0.0.tgz",
                "integrity": "sha512-" + base64.b64encode(hashlib.sha512(payload).digest()).decode(),
            }
        }
    )
    calls = []

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def slow_urlopen(url, timeout=None):
        if not url.endswith(".tgz"):
            return Response(meta.encode())
        calls.append(url)
        time.sleep(0.2)  # long enough for every thread to find the cache empty
        return Response(payload)

    monkeypatch.setattr(assets.urllib.request, "urlopen", slow_urlopen)
    got, errors = {}, []

    def fetch(i):
        try:
            got[i] = assets.file_from_npm(f"https://cdn.jsdelivr.net/npm/some-package@1.0.0/dist/f{i}.js", tmp_path)
        except Exception as e:  # noqa: BLE001 - the test reports any failure
            errors.append(e)

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(calls) == 1
    assert all(got[i] == f"file {i} ".encode() * 5000 for i in range(8))


def test_npm_tarball_that_fails_its_checksum_is_refused_and_not_kept(tmp_path, monkeypatch):
    import io
    import json

    from sim.classroom import assets

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    meta = json.dumps({"dist": {"tarball": "https://registry.example/p-1.0.0.tgz", "integrity": "sha512-AAAA"}})
    monkeypatch.setattr(
        assets.urllib.request,
        "urlopen",
        lambda url, timeout=None: Response(meta.encode() if not url.endswith(".tgz") else b"tampered"),
    )
    with pytest.raises(ValueError, match="checksum"):
        assets.file_from_npm("https://cdn.jsdelivr.net/npm/p@1.0.0/index.js", tmp_path)
    assert not list(tmp_path.rglob("*.tgz"))


# ---------------------------------------------------------------- the model behind the page


def test_every_control_is_a_constructor_keyword():
    """SolaraViz's Reset calls type(model)(**controls): each control must be a keyword of ClassroomModel."""
    from mesa.visualization.solara_viz import _check_model_params

    model = ClassroomModel(**defaults())
    _check_model_params(model, model_params())  # raises ValueError on an unknown or missing keyword
    assert set(SANCTIONS) <= set(model_params()) and {
        "seed",
        "minder_ratio",
        "plan_level",
        "reprisal_severity",
        "remittance_rule",
        "recruitment_pipeline",
        "selection_months",
    } <= set(model_params())


def test_controls_change_the_parameters():
    base = classroom_params()
    p = classroom_params(
        permit_ban=True,
        permit_ban_compliance=0.4,
        repatriation=True,
        sanctions_start=6,
        minder_ratio=25,
        plan_level=1.2,
        reprisal_severity=0.5,
        remittance_rule="share",
    )
    kinds = {q.kind: q for q in p.policies}
    assert set(kinds) == {"permit_ban", "repatriation"} and kinds["permit_ban"].compliance == 0.4
    assert p.calendar.index(kinds["repatriation"].deadline) == 30 and p.calendar.index(kinds["permit_ban"].start) == 6
    assert p.population.minder_ratio == 25 and p.state.reprisal_severity == 0.5 and p.remittance.rule == "share"
    assert p.hosts["gulf"].plan == pytest.approx(1.2 * base.hosts["gulf"].plan)
    assert not base.policies


def test_the_recruitment_controls_reach_the_parameters(tmp_path):
    """The switch "Recruitment takes time" is recruitment.pipeline and its slider recruitment.selection_months;
    their defaults are the parameter file's (the pipeline may become the default)."""
    specs = model_params()
    file = classroom_params().recruitment
    assert specs["recruitment_pipeline"]["label"] == PIPELINE_WORDS == "Recruitment takes time"
    assert specs["recruitment_pipeline"]["value"] == file.pipeline
    assert specs["selection_months"]["value"] == file.selection_months
    assert specs["selection_months"]["min"] == 0 and specs["selection_months"]["max"] >= 12
    # a file with the pipeline on starts the page with the switch on and its months
    camp = tmp_path / "camp.toml"
    camp.write_text(
        (ROOT / "params" / "classroom.toml").read_text(encoding="utf-8")
        + "\n[recruitment]\npipeline = true\nselection_months = 8\n",
        encoding="utf-8",
    )
    own = model_params(camp)
    assert own["recruitment_pipeline"]["value"] is True and own["selection_months"]["value"] == 8
    assert ClassroomModel(
        **{k: (v["value"] if isinstance(v, dict) else v) for k, v in own.items()}
    ).p.recruitment.pipeline
    for on in (True, False):
        p = classroom_params(recruitment_pipeline=on, selection_months=9).recruitment
        assert p.pipeline is on and p.selection_months == 9
    model = ClassroomModel(**defaults(recruitment_pipeline=True, selection_months=3))
    assert model.p.recruitment.pipeline and model.p.recruitment.selection_months == 3
    # a change of the months waits for Reset only while the switch is on (like a sanction's compliance)
    params = classroom_params()
    applied = defaults(recruitment_pipeline=False)
    assert pending_changes({**applied, "selection_months": 9}, applied, params, specs) == []
    assert pending_changes(
        {**applied, "recruitment_pipeline": True, "selection_months": 9}, applied, params, specs
    ) == [
        "Recruitment takes time: on (running: off)",
        f"Screening a candidate takes: 9 months (running: {file.selection_months} months)",
    ]


def _months(model, n: int):
    for _ in range(n):
        model.step()
    return model.aggregator.monthly


def test_a_run_with_recruitment_set_is_reproducible_and_the_months_matter():
    same = [_months(ClassroomModel(**defaults(recruitment_pipeline=True, selection_months=2)), 8) for _ in range(2)]
    longer = _months(ClassroomModel(**defaults(recruitment_pipeline=True, selection_months=7)), 8)
    assert same[0] == same[1]
    assert [r[COL.workers_active] for r in same[0]] != [r[COL.workers_active] for r in longer]
    off = _months(ClassroomModel(**defaults(recruitment_pipeline=False)), 8)
    assert not any(r[COL.candidates_waiting] or r[COL.veterans_posted] for r in off)
    assert any(r[COL.candidates_waiting] for r in same[0])


def test_the_recruitment_panel_shows_the_runs_table():
    """The panel's lines are the monthly table's columns (workers at their posts, candidates in screening, new
    recruits = posted less veterans, veterans posted again), with the words a class reads, axes from zero; the page's
    sentences quote the same table."""
    from sim.classroom.charts import Charts

    first = Charts(ClassroomModel(**defaults(recruitment_pipeline=True)))  # no previous run: the page's first
    assert not len(first.l_posted.get_ydata()) and first.ax_recruits.get_ylim() == (0, 200)
    previous = _months(ClassroomModel(**defaults(recruitment_pipeline=False)), 4)
    model = ClassroomModel(**defaults(recruitment_pipeline=True, selection_months=2))
    charts = Charts(model, list(previous))
    rows = _months(model, 12)
    charts.update()
    posted = [r[COL.workers_active] for r in rows]
    waiting = [r[COL.candidates_waiting] for r in rows]
    veterans = [r[COL.veterans_posted] for r in rows]
    recruits = [r[COL.deployed] - r[COL.veterans_posted] for r in rows]
    assert any(waiting) and any(veterans) and any(recruits)  # the pipeline ran: the test is not of zeros
    assert list(charts.l_posted.get_ydata()) == posted
    assert list(charts.l_recruits["screening"].get_ydata()) == waiting
    assert list(charts.l_recruits["recruits"].get_ydata()) == recruits
    assert list(charts.l_recruits["veterans"].get_ydata()) == veterans
    assert len(charts.l_posted.get_xdata()) == len(rows)
    for ax in (charts.ax_posted, charts.ax_recruits):
        assert ax.get_ylim()[0] == 0
    assert charts.ax_posted.get_ylim()[1] >= max(posted) and charts.ax_recruits.get_ylim()[1] >= max(waiting)
    words = [t.get_text() for ax in (charts.ax_posted, charts.ax_recruits) for t in ax.get_legend().get_texts()]
    assert words == [
        "1,800 posts at the start",
        "previous run",
        "candidates in screening (at the month's end)",
        "new recruits posted this month",
        "veterans sent again this month",
    ]
    assert charts.ax_posted.get_title(loc="left") == "workers at their posts"
    assert charts.ax_recruits.get_title(loc="left") == "recruitment, workers"
    png, svg = charts.layers()[3]
    assert png.startswith(b"\x89PNG") and len(png) > 10_000 and svg.startswith("<svg")
    # the words under the panel and the month's story: why a post stays empty, what a recruit costs, from the table
    text = recruitment_words(model)
    cost = model.p.recruitment.screening_cost
    assert "Why a post stays empty" in text and "checked for 2 months" in text
    assert f"costs the state **{format_money(cost)}**" in text
    assert f"({format_money(sum(r[COL.recruitment_costs] for r in rows))} so far in this run)" in text
    story = month_story(model)
    assert f"{waiting[-1]:,} candidates are in screening" in story
    assert f"{format_money(rows[-1][COL.recruitment_costs])} this month" in story
    if veterans[-1]:
        assert f"{veterans[-1]:,} veteran" in story
    off = ClassroomModel(**defaults(recruitment_pipeline=False))
    assert "recruitment takes no time" in recruitment_words(off) and PIPELINE_WORDS in recruitment_words(off)
    assert "in screening" not in month_story(off)


# Machado, Oliveira & Fernandes (2009), severity 1: what a colour looks like to protan, deutan and tritan eyes
# (applied to linear RGB), so a palette can be checked for every kind of colour vision
VISION = {
    "normal": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    "protan": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deutan": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritan": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}


def _lab(colour: str, vision: str):
    """CIELAB (D65) of a #RRGGBB colour as ``vision`` sees it."""
    import numpy as np

    srgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    rgb = np.clip(
        np.array(VISION[vision]) @ np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4), 0, 1
    )
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb
    f = np.cbrt(np.maximum(xyz / np.array([0.95047, 1.0, 1.08883]), 0.008856**3 * 0 + 1e-12))
    f = np.where(
        xyz / np.array([0.95047, 1.0, 1.08883]) > 0.008856,
        f,
        7.787 * xyz / np.array([0.95047, 1.0, 1.08883]) + 16 / 116,
    )
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_the_camp_colours_stay_apart_for_every_kind_of_colour_vision():
    """Issue 33, a back row: every two of the camp's colours, and each against an empty cell's white, differ by at
    least 25 CIELAB units (about five times a just-noticeable difference, for small squares seen from afar) under
    normal, protan, deutan and tritan vision; the series chart draws each kind of leaver in its camp colour."""
    import itertools

    import numpy as np

    from sim.classroom.charts import PEOPLE, STATUS_COLOURS

    colours = {**STATUS_COLOURS, "empty": "#FFFFFF"}
    worst = min(
        (float(np.linalg.norm(_lab(a, v) - _lab(b, v))), na, nb, v)
        for (na, a), (nb, b) in itertools.combinations(colours.items(), 2)
        for v in VISION
    )
    assert worst[0] >= 25, worst
    # the simulation itself: orange and vermilion, far apart in normal vision, nearly merge for a deutan
    assert np.linalg.norm(_lab("#E69F00", "deutan") - _lab("#D55E00", "deutan")) < 20
    assert np.linalg.norm(_lab("#E69F00", "normal") - _lab("#D55E00", "normal")) > 30
    assert {col: colour for col, colour, *_ in PEOPLE} == {k: STATUS_COLOURS[k] for k, *_ in PEOPLE}


def test_the_camp_fills_its_box_with_the_largest_squares():
    """The camp's blocks, laid out column by column (`camp_layout`): none overlaps another, each is inside the
    grid, they keep their order (down each column, then across), and no other number of columns gives larger
    squares in whole pixels; the image (`camp_png`) draws every cell as a square of that many pixels in its exact
    colour, with a triangle for each minder; on the classroom's model a month in, a square is at least 7 pixels."""
    import io
    import math

    import numpy as np
    from PIL import Image

    from sim.classroom.charts import CAMP_PIXELS, STATUS_CODE, STATUS_COLOURS, Charts, camp_layout, camp_png

    box_w, box_h = CAMP_PIXELS
    for heights in ([3] * 40, [1, 9, 2, 2, 7, 3, 3, 3, 12, 1], [5], [2] * 200):
        width = 9
        places, grid_w, grid_h = camp_layout(heights, width)
        cells = set()
        for (x, y), h in zip(places, heights):
            assert 0 <= x and x + width <= grid_w and 0 <= y and y + h <= grid_h
            block = {(x + i, y + j) for i in range(width) for j in range(h)}
            assert not cells & block
            cells |= block
        assert places == sorted(places), "blocks out of order"
        size = min(box_w // grid_w, box_h // grid_h)
        for cols in range(1, len(heights) + 1):  # every other layout of whole columns of the same blocks
            per = math.ceil(len(heights) / cols)
            tallest = max(sum(h + 1 for h in heights[k : k + per]) for k in range(0, len(heights), per))
            other = min(box_w // (math.ceil(len(heights) / per) * (width + 1)), box_h // tallest)
            assert size >= other, (heights[:3], cols, size, other)
    model = ClassroomModel(**defaults())
    model.step()
    charts = Charts(model)
    charts.update()
    grid, minders, n_minders = charts.camp_grid
    square = min(box_w // grid.shape[1], box_h // grid.shape[0])
    assert square >= 7, (grid.shape, square)
    image = Image.open(io.BytesIO(camp_png(grid, minders)))
    assert image.size == CAMP_PIXELS and image.mode == "P"
    rgb = np.array(image.convert("RGB")).reshape(-1, 3)
    for status, colour in STATUS_COLOURS.items():
        want = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        drawn = int((rgb == want).all(axis=1).sum())
        cells = int((grid == STATUS_CODE[status]).sum())
        if status == "completed":  # a minder who left is drawn in the grey of a finished contract
            assert drawn >= cells * square**2, status
        else:
            assert drawn == cells * square**2, (status, drawn, cells)
    assert len(minders[0]) == n_minders > 0
    grey = np.array([0x44, 0x44, 0x44])
    triangles = int((rgb == grey).all(axis=1).sum())
    assert 0 < triangles <= n_minders * square**2 * 0.75


def test_a_charts_moving_layer_lies_on_its_axes_and_its_still_layer_is_sent_once():
    """Issue 33, capacity: a chart goes to the page as a still PNG (axes, ticks, legends) and the month's lines as
    SVG over it (`LayeredFigure.layers`). The revenue line's SVG points are the data through the axes' own transform in the
    SVG's box (the figure in points, y down), one per month run; the still PNG is the same bytes from month to
    month until an axis grows; the SVG carries no <style> element (it would restyle the whole page) and is the same
    text when drawn twice."""
    import numpy as np

    from sim.classroom.charts import DPI, Charts

    model = ClassroomModel(**defaults())
    charts = Charts(model)
    first_png, _ = charts.layers()[0]
    for _ in range(6):
        model.step()
    charts.update()
    (png, svg), *_ = charts.layers()
    assert png == first_png  # no axis grew in six months of the default camp
    assert svg == charts.series_layers.overlay()
    assert all("<style" not in moving for _, moving in charts.charts_layers())
    fig = charts.series_fig
    width, height = fig.get_size_inches() * 72
    assert f'viewBox="0 0 {width:g} {height:g}"' in svg
    paths = re.findall(r'<path d="M ([^"]*?)"', svg)
    rev = charts.l_rev
    fig.set_dpi(72)
    try:
        want = rev.get_transform().transform(np.column_stack(rev.get_data()))
    finally:
        fig.set_dpi(DPI)
    drawn = [p for p in paths if len(re.findall(r"[ML]", "M " + p)) == 6]
    points = [np.array([float(v) for v in re.findall(r"-?[\d.]+", p)]).reshape(-1, 2) for p in drawn]
    assert any(np.allclose(pts, np.column_stack([want[:, 0], height - want[:, 1]]), atol=0.01) for pts in points)
    # the histogram's bars, one path: a rectangle a bin, as high as the workers whose month's keep falls in it
    kept = np.array([w.retained for w in model.workers if w.active])
    e = charts.kept_edges
    heights = charts.bars.get_path().vertices.reshape(-1, 5, 2)[:, 1, 1]
    assert heights.sum() == len(kept) > 0
    assert list(heights) == list(np.histogram(np.clip(kept, e[0], e[-1] - 1e-9), bins=e)[0])
    charts.series_layers.invalidate()  # an axis grew: the still layer is drawn again
    assert charts.series_layers.layers()[0] is not png


def test_charts_drawn_in_a_chart_process_are_the_pages_own_and_survive_its_loss(monkeypatch):
    """Issue 33, capacity: a session's charts drawn in a chart process (`RemoteCharts`) are byte for byte those the
    page draws itself, month after month (the faint previous run included); when its process dies the session
    draws them itself and nothing changes on screen; a bad process count is a one-line error."""
    from sim.classroom.chart_processes import ChartProcesses, RemoteCharts, process_count
    from sim.classroom.charts import Charts

    previous = [dict(r) for r in _months(ClassroomModel(**defaults()), 5)]
    # repatriation from the first month: the series' axis grows in months 2-5, so its still PNG is redrawn and sent
    # again while other months send none (the chart process sends a still PNG only when it was redrawn)
    here, there = (ClassroomModel(**defaults(repatriation=True, sanctions_start=0)) for _ in range(2))
    pool = ChartProcesses(1)
    try:
        local, remote = Charts(here, previous), RemoteCharts(there, previous, pool)
        assert local.layers() == remote.layers()
        for month in range(1, 9):
            here.step()
            there.step()
            local.update()
            remote.update()
            if month == 5:  # its chart process stops: the session draws its charts itself from then on
                pool.workers[0][2].kill()
                pool.workers[0][2].join()
            assert local.layers() == remote.layers(), month
            assert local.camp_words == remote.camp_words
            assert (remote.local is None) == (month < 5), month
    finally:
        for _, _, proc in pool.workers:
            proc.kill()
    monkeypatch.setenv("OLSIM_CLASSROOM_CHART_PROCESSES", "0")
    assert process_count() == 0
    monkeypatch.setenv("OLSIM_CLASSROOM_CHART_PROCESSES", "two")
    with pytest.raises(ValueError, match="OLSIM_CLASSROOM_CHART_PROCESSES='two': must be a whole number"):
        process_count()


def test_reset_rebuilds_the_same_model_and_levers_move_it():
    a, b = ClassroomModel(**defaults()), ClassroomModel(**defaults())
    c = ClassroomModel(**defaults(repatriation=True, sanctions_start=0))
    for m in (a, b, c):
        for _ in range(6):
            m.step()
    assert a.aggregator.monthly == b.aggregator.monthly  # same controls, same model
    assert c.aggregator.monthly[-1]["repatriated"] > 0 and a.aggregator.monthly[-1]["repatriated"] == 0


def test_model_stops_at_the_end_of_the_calendar():
    m = ClassroomModel(**defaults())
    months = m.p.calendar.months
    for _ in range(months - 1):
        m.step()
    assert m.running
    m.step()
    assert not m.running and m.month == months


def test_stories_in_plain_language():
    m = ClassroomModel(**defaults(asylum_access=True, sanctions_start=0))
    assert "Before month 1" in month_story(m) and "minders" in month_story(m)
    for _ in range(3):
        m.step()
    text = month_story(m)
    assert "2016-03 (month 3 of 60)" in text and "The state took" in text and "Open embassies" in text
    story = worker_story(m, 1799)
    assert "Worker 1799" in story and "months abroad" in story and "posted to gulf" in story
    assert "No worker" in worker_story(m, 10**6)


def test_each_lesson_opens_with_its_sanctions_in_force_in_the_first_month():
    """Issue 33: the three lessons a teacher starts in one click each have sanctions in force in month 1 (with the
    defaults, Play showed five years with none); the history's compliance is history.toml's for the camp's host."""
    import tomllib

    from sim.classroom.app import PRESETS, classroom_file, model_params, preset_settings
    from sim.core.params import load_params

    specs, params = model_params(str(classroom_file())), load_params(classroom_file())
    raw = tomllib.loads((ROOT / "params" / "history.toml").read_text())
    given = {p["kind"]: p["compliance"]["gulf"] for p in raw["policies"] if p["kind"] in ("permit_ban", "repatriation")}
    expected = {
        "history": {"No new work permits", "Send all workers home"},
        "full": {"No new work permits", "Send all workers home"},
        "direct": {"Employers pay workers directly"},
    }
    assert set(PRESETS) == set(expected)
    for name, words in expected.items():
        settings = preset_settings(name, specs, params)
        m = ClassroomModel(**settings)
        m.step()
        in_force = [line for line in month_story(m).splitlines() if line.startswith("Sanctions in force")][0]
        assert all(w in in_force for w in words) and in_force.count(";") == len(words) - 1, (name, in_force)
        off = set(k for k in specs if isinstance(specs[k], dict) and specs[k]["type"] == "Checkbox") - {
            "recruitment_pipeline"
        }
        assert sum(bool(settings[k]) for k in off) == len(words)
    history = preset_settings("history", specs, params)
    assert (
        history["permit_ban_compliance"] == given["permit_ban"]
        and history["repatriation_compliance"] == given["repatriation"]
    )


def test_a_worker_posted_before_the_run_began_is_posted_then_in_his_story():
    """Issue 33: worker 7 of the first workforce had served 35 of his 36 months when the run began; his story
    dates his posting 35 months before the first month (and says so), not in the month he goes home."""
    m = ClassroomModel(**defaults())
    for _ in range(2):
        m.step()
    w = m.everyone[7]
    assert w.month_deployed == -35
    lines = [line for line in worker_story(m, 7).splitlines() if line.startswith("1. ")]
    assert lines[0].startswith("1. 2013-02: posted to gulf") and "before the run began" in lines[0], lines
    assert lines[1] == "1. 2016-01: finished his contract and went home", lines
    newcomer = [line for line in worker_story(m, 1799).splitlines() if line.startswith("1. ")]
    assert newcomer[0].startswith("1. 2016-01: posted to gulf") and "before the run" not in newcomer[0]


# ---------------------------------------------------------------- the page in a browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _served(command: list[str], port: int, log_path: Path, cwd=ROOT, env: dict | None = None):
    """``command`` (an `olsim classroom` listening on ``port`` of 127.0.0.1) until the block ends, its output in
    ``log_path``: yields the page's URL once it answers (a test fails with the log's end if it never does), and
    stops the server and every process it started when the block ends."""
    log = open(log_path, "w+")
    proc = subprocess.Popen(
        command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env or dict(os.environ)
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        t0 = time.time()
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() - t0 > 120:
                log.seek(0)
                pytest.fail(f"olsim classroom did not start: {log.read()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _olsim_classroom(*args: str) -> tuple[list[str], int]:
    """`olsim classroom ARGS --port P` from the checkout, on a free port P."""
    port = _free_port()
    return [sys.executable, "-m", "sim.cli", "classroom", *args, "--port", str(port)], port


def _fresh_assets(folder: Path) -> dict:
    """This environment with Solara's asset cache in ``folder`` (a new folder: an empty cache)."""
    return {**os.environ, "SOLARA_ASSETS_PROXY_CACHE_DIR": str(folder)}


@pytest.fixture(scope="module")
def asset_cache(tmp_path_factory) -> Path:
    """The module's Solara asset cache: empty when the first server starts (`server`), filled by its pages."""
    return tmp_path_factory.mktemp("solara-cdn-cache")


@pytest.fixture(scope="module")
def server(asset_cache):
    """`olsim classroom` on a free port of 127.0.0.1, as a teacher would start it on a fresh machine: Solara's
    asset cache starts empty, so every script the page needs comes through the CDN proxy (and, with no CDN here,
    the npm registry fallback) during the test."""
    command, port = _olsim_classroom()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"olsim-classroom-{port}.log"
    with _served(command, port, log, env=_fresh_assets(asset_cache)) as url:
        yield url


@pytest.fixture
def warm_assets(server, browser, asset_cache) -> Path:
    """The asset cache for a second server, holding the page's scripts the first one fetched (a teacher's second
    lesson): tests of what a server does with its sessions need not fetch them again."""
    page = _open(browser, server, 1280, 720)  # the first server's page: every script in the cache
    page.close()
    return asset_cache


VIEWPORTS = [(1400, 1000), (1280, 720), (1024, 768)]  # a projector, a laptop, a tablet


def _open(browser, server, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(90_000)
    page.goto(server)
    page.get_by_text("Before month 1").wait_for()
    return page


def _settled_box(page, locator, quiet_ms=400, timeout_s=30):
    """The element's box once every image on the page has loaded and the box has not moved for `quiet_ms`: a page
    still loading above the element (a chart's PNG arriving, a line of text filled in) moves it by a few lines,
    which a single read mistook once for the drawer moving the charts (CI, 1024x768: 33 px)."""
    deadline = time.monotonic() + timeout_s
    page.wait_for_function("() => [...document.images].every((i) => i.complete)", timeout=timeout_s * 1000)
    box, since = locator.bounding_box(), time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        now = locator.bounding_box()
        if now != box:
            box, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_ms / 1000:
            return box
    raise AssertionError(f"the element kept moving for {timeout_s} s: last box {box}")


@pytest.mark.parametrize("width, height", VIEWPORTS)
def test_page_in_a_browser(browser, server, tmp_path, width, height):
    """A teacher's path through the page at one screen size: the title fits, only lesson controls, each with its
    value and unit; the buttons have names; on a narrow screen the controls open and close from a visible
    button; a change mid-run says it waits for Reset; Reset applies it and keeps the previous run; the Info panel;
    a worker's story; dollars as text."""
    page = _open(browser, server, width, height)
    title = page.locator(".olsim-title")
    assert title.is_visible() and title.evaluate("e => e.scrollWidth <= e.clientWidth + 1")  # not cut off
    box = title.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    body = page.inner_text("body")
    for words in ("Play Interval", "Render Interval", "Use Threads", "Time:"):  # developer controls: none
        assert words not in body
    for name in ("Step", "Play", "Reset", "Info"):
        assert page.get_by_role("button", name=name, exact=True).is_visible(), name
    controls = page.locator(".olsim-controls")
    # the controls start closed, behind a button that says what it does; they open in a drawer over the page
    assert not controls.is_visible()
    camp = page.locator("img.olsim-camp, .olsim-camp img").first
    before = _settled_box(page, camp)  # once the page above it has finished loading (images, late text)
    page.get_by_role("button", name="Show controls").click()
    controls.wait_for(state="visible")
    assert _settled_box(page, camp) == before  # opening them moves no chart
    text = controls.inner_text()
    assert "Workers per minder: 50 workers" in text and "Sanctions start in month: January 2017 (month 12)" in text
    assert "Seed (the luck of the draw): 0" in text and "Plan level: x1.00 = $550 a month" in text
    # Step advances the month
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text("(month 1 of 60)").wait_for()
    # a change mid-run: the page says it waits for Reset; the run on screen keeps its settings
    page.get_by_label("Employers pay workers directly").check()
    page.get_by_text("Not in force yet").wait_for()
    assert "Employers pay workers directly: on (running: off)" in page.inner_text(".olsim-notice")
    page.get_by_text("Employers pay workers directly: compliance of host countries: 100%").wait_for()
    slider = page.locator(".v-input", has_text="Workers per minder").get_by_role("slider")
    slider.focus()
    slider.press("ArrowRight")
    page.get_by_text("Workers per minder: 55 workers (running: 50 workers)").wait_for()
    page.locator(".v-input", has_text="Sanctions start in month").get_by_role("slider").press("Home")
    page.get_by_text("Sanctions start in month: January 2016 (month 0) (running: January 2017 (month 12))").wait_for()
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text("(month 2 of 60)").wait_for()
    assert "Sanctions in force: none" in page.inner_text(".olsim-month")
    # Reset applies the changes and keeps the previous run, faint, on the charts
    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_text("one per 55 workers").wait_for()
    page.locator(".olsim-notice").wait_for(state="hidden")
    page.get_by_text("the previous run (no sanctions; seed 0; 2 months run", exact=False).wait_for()
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text("Sanctions in force: Employers pay workers directly").wait_for()
    page.get_by_role("button", name="Hide controls").click()  # and the controls close again
    controls.wait_for(state="hidden")
    # the Info panel: what the model is, what to try, what the colours mean
    page.get_by_role("button", name="Info", exact=True).click()
    page.get_by_text("What to try").wait_for()
    info = page.inner_text(".olsim-info")
    assert "What the colours mean" in info and "caught escaping" in info and "previous run" in info
    page.get_by_role("button", name="Close info").click()
    page.locator(".olsim-info").wait_for(state="hidden")
    # the charts are there, and large enough to read: the series at least 560 px wide
    for cls in ("olsim-series", "olsim-kept", "olsim-camp"):
        img = page.locator(f"img.{cls}, .{cls} img").first
        assert img.evaluate("i => i.complete && i.naturalWidth") > 0, cls
    assert page.locator("img.olsim-series, .olsim-series img").first.bounding_box()["width"] >= 560
    # each chart's moving layer (SVG) lies exactly over its still one (PNG): both boxes read in one layout, once
    # the PNG has loaded (a page still loading below may add a scrollbar between two separate reads)
    for cls in ("olsim-series", "olsim-kept", "olsim-recruits"):
        page.wait_for_function(f"() => document.querySelector('.{cls} img')?.complete", timeout=30_000)
        still, moving = page.evaluate(
            """(c) => [`.${c} img`, `.${c} .olsim-overlay svg`].map((s) => {
                 const r = document.querySelector(s).getBoundingClientRect();
                 return {x: r.x, y: r.y, width: r.width, height: r.height};
               })""",
            cls,
        )
        assert still["height"] > 0, (cls, still)
        assert all(abs(still[k] - moving[k]) < 1 for k in ("x", "y", "width", "height")), (cls, still, moving)
    # a worker's story
    box = page.get_by_label("worker id")
    box.fill("7")
    box.press("Enter")
    page.get_by_text("Worker 7,").wait_for()
    body = page.inner_text("body")
    assert "What happened to him" in body and "posted to gulf" in body
    # dollars shown as text, not typeset as mathematics between two dollar signs
    assert "paid an entry bribe of $" in body and "The state took $" in body and "he kept $" in body
    assert not re.search(r"\bnan\b", body, re.I)
    title.scroll_into_view_if_needed()  # the page scrolls inside Solara's container: a screenshot of the top
    shot = tmp_path / f"classroom-{width}x{height}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 30_000
    if os.environ.get("OLSIM_SCREENSHOT") and width == 1400:  # to refresh the README's picture
        page.screenshot(path=os.environ["OLSIM_SCREENSHOT"])
    page.close()


def test_page_recruitment_panel(browser, server, tmp_path):
    """The switch and the slider of the recruitment pipeline, in the browser: the months' slider appears with the
    switch, a change waits for Reset, the run after Reset is the one the controls describe (the story quotes the
    same table as a model built here with the same controls), and the panel with its heading and words."""
    page = _open(browser, server, 1400, 1000)
    panel = page.locator(".olsim-pipeline")
    assert panel.is_visible() and "Filling the posts: recruitment" in panel.inner_text()
    img = panel.locator("img.olsim-recruits, .olsim-recruits img").first
    assert img.evaluate("i => i.complete && i.naturalWidth") > 0
    assert img.bounding_box()["width"] >= 560
    controls = page.locator(".olsim-controls")
    page.get_by_role("button", name="Show controls").click()  # the drawer over the page
    controls.wait_for(state="visible")
    switch = page.get_by_label(PIPELINE_WORDS)
    if switch.is_checked():  # the file's default may be on: start from off
        switch.uncheck()
        page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_text("In this run recruitment takes no time").wait_for()
    assert "Screening a candidate takes" not in controls.inner_text()  # the months matter only with the switch on
    months = model_params()["selection_months"]["value"]
    switch.check()
    slider = page.locator(".v-input", has_text="Screening a candidate takes").get_by_role("slider")
    slider.focus()
    slider.press("ArrowRight")
    page.get_by_text(f"Screening a candidate takes: {months + 1} months (running: {months} months)").wait_for()
    assert "Recruitment takes time: on (running: off)" in page.inner_text(".olsim-notice")
    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_text(f"a post is filled only by a candidate screened for {months + 1} months").wait_for()
    for k in range(1, 4):
        page.get_by_role("button", name="Step", exact=True).click()
        page.get_by_text(f"(month {k} of 60)").wait_for()
    rows = _months(ClassroomModel(**defaults(recruitment_pipeline=True, selection_months=months + 1)), 3)
    assert f"{rows[-1][COL.candidates_waiting]:,} candidates are in screening" in page.inner_text(".olsim-month")
    text = panel.inner_text()
    assert "Why a post stays empty" in text and f"checked for {months + 1} months" in text
    spent = format_money(sum(r[COL.recruitment_costs] for r in rows))
    assert f"{format_money(classroom_params().recruitment.screening_cost)} to screen" in text and spent in text
    panel.scroll_into_view_if_needed()
    shot = tmp_path / "classroom-recruitment.png"
    panel.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    if os.environ.get("OLSIM_SCREENSHOT_PANEL"):  # the README's picture of the panel: two years of the pipeline
        for k in range(4, 25):
            page.get_by_role("button", name="Step", exact=True).click()
            page.get_by_text(f"(month {k} of 60)").wait_for()
        panel.scroll_into_view_if_needed()
        panel.screenshot(path=os.environ["OLSIM_SCREENSHOT_PANEL"])
    page.close()


@pytest.mark.parametrize("width, height", [(1920, 1080), (1280, 720)])
def test_a_projector_shows_the_buttons_the_month_the_money_and_the_camp_in_the_first_screen(
    browser, server, width, height
):
    """Issue 33: at a projector's 1920 x 1080 and a laptop's 1280 x 720, without scrolling: the buttons, the
    month's account, the money chart (the top third of the series) and the camp, each whole inside the screen."""
    page = _open(browser, server, width, height)
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text("(month 1 of 60)").wait_for()

    def inside(box, share=1.0):
        return (
            box
            and box["x"] >= 0
            and box["y"] >= 0
            and box["x"] + box["width"] <= width + 1
            and (box["y"] + share * box["height"] <= height + 1)
        )

    for name in ("Step", "Play", "Reset", "Show controls", "Info"):
        assert inside(page.get_by_role("button", name=name, exact=True).bounding_box()), name
    assert inside(page.locator(".olsim-month").bounding_box())
    series = page.locator("img.olsim-series, .olsim-series img").first
    camp = page.locator("img.olsim-camp, .olsim-camp img").first
    for img in (series, camp):
        img.evaluate("i => i.complete || new Promise(r => i.onload = r)")
    assert inside(series.bounding_box(), share=1 / 3), series.bounding_box()  # its first panel: the money
    assert inside(camp.bounding_box()), camp.bounding_box()
    assert camp.bounding_box()["width"] >= 480 and series.bounding_box()["width"] >= 560  # large enough to read
    if width >= 1500:  # a projector: the camp shown at the size it is drawn (its squares whole pixels, crisp)
        from sim.classroom.charts import CAMP_PIXELS

        assert round(camp.bounding_box()["width"]) == CAMP_PIXELS[0], camp.bounding_box()
    page.close()


def test_play_has_a_speed(browser, server):
    """Issue 33: Play at Slow shows a month a second; at Fast, as fast as the months are computed and drawn: in
    the same 4 s, Fast goes further (generous bounds: the machine may be busy)."""
    page = _open(browser, server, 1280, 720)

    def month() -> int:
        page.wait_for_timeout(700)  # the last month drawn after Pause
        found = re.search(r"\(month (\d+) of 60\)", page.inner_text(".olsim-month"))
        return int(found.group(1)) if found else 0

    def play(speed: str) -> int:
        page.get_by_role("button", name=speed, exact=True).click()
        before = month()
        page.get_by_role("button", name="Play", exact=True).click()
        page.wait_for_timeout(4000)
        page.get_by_role("button", name="Pause", exact=True).click()
        return month() - before

    # Slow's floor holds under any load (at most a month a second); Fast has none, so it goes further even on a
    # busy machine (in CI beside other work: 4 against 5 months in 3 s)
    slow, fast = play("Slow"), play("Fast")
    assert 2 <= slow <= 5 and fast > slow, (slow, fast)
    page.close()


def test_a_lesson_starts_in_one_click(browser, server):
    """Issue 33: "Pay the workers directly" starts a run with direct wages in force from the first month; the
    controls show it, nothing waits for Reset."""
    page = _open(browser, server, 1280, 720)
    page.get_by_role("button", name="Pay the workers directly").click()
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text("(month 1 of 60)").wait_for()
    assert "Sanctions in force: Employers pay workers directly" in page.inner_text(".olsim-month")
    assert not page.locator(".olsim-notice").is_visible()
    page.get_by_role("button", name="Show controls").click()
    assert page.get_by_label("Employers pay workers directly").is_checked()
    assert "Sanctions start in month: January 2016 (month 0)" in page.inner_text(".olsim-controls")
    page.close()


def test_page_when_the_camp_empties(browser, server):
    """Repatriation from the first month at full compliance, played to the end: the camp empties, the page says
    so in words (no 'nan'), and Play stops by itself at the calendar's end."""
    page = _open(browser, server, 1400, 1000)
    page.get_by_role("button", name="Show controls").click()  # the drawer over the page
    page.get_by_label("Send all workers home within 2 years (UNSCR 2397)").check()
    page.locator(".v-input", has_text="Sanctions start in month").get_by_role("slider").press("Home")
    page.get_by_text("Sanctions start in month: January 2016 (month 0)", exact=True).wait_for()
    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_role("button", name="Hide controls").click()
    # Pause never leaves a month half done: after each Pause, Step still advances one month
    for _ in range(3):
        page.get_by_role("button", name="Play", exact=True).click()
        page.get_by_role("button", name="Pause", exact=True).click()
        page.get_by_role("button", name="Play", exact=True).wait_for()
        month = int(re.search(r"\(month (\d+) of 60\)", page.inner_text(".olsim-month") + "(month 0 of 60)")[1])
        page.get_by_role("button", name="Step", exact=True).click()
        page.get_by_text(f"(month {month + 1} of 60)").wait_for(timeout=20_000)
    page.get_by_role("button", name="Fast", exact=True).click()  # to the end as fast as months are drawn
    page.get_by_role("button", name="Play", exact=True).click()
    page.get_by_role("button", name="Pause", exact=True).wait_for()
    page.get_by_text("(month 60 of 60)").wait_for(timeout=120_000)
    page.get_by_role("button", name="Play", exact=True).wait_for()  # stopped by itself
    month = page.inner_text(".olsim-month")
    assert "The camp is empty" in month
    body = page.inner_text("body")
    assert not re.search(r"\bnan\b", body, re.I)
    assert page.get_by_role("button", name="Step", exact=True).is_disabled()
    page.close()


# ---------------------------------------------------------------- the lesson's figures are the model's
def _lesson(**controls) -> dict:
    """One exercise's settings run as the page runs them (the array engine gives the mesa engine's tables)."""
    from sim import run

    r = run(classroom_params(**controls), engine="array", seed=0)
    m, s = r.monthly, r.summary
    empty = m.loc[m["workers_active"] == 0, "date"]
    return {
        "rev": f"${s['revenue_delivered_per_year'] / 1e6:.1f}M",
        "kept": f"${s['retained_per_worker_month']:.0f}",
        "share": s["worker_share_kept"],
        "escaped": int(m["escaped"].sum()),
        "caught": int(m["caught"].sum()),
        "attempts": int(m["escape_attempts"].sum()),
        "deaths": int(m["deaths"].sum()),
        "sent": int(m["sent_home"].sum()),
        "hours": f"{s['hours_mean']:.1f}",
        "plan": f"${m['plan_mean'].max():.0f}",
        "empty": empty.iloc[0] if len(empty) else None,
        "m": m,
    }


def _about(n: int, to: int = 100) -> str:
    return f"about {round(n / to) * to:,}"


def test_the_lesson_quotes_the_model():
    """Every figure docs/classroom.md's exercises quote, recomputed at seed 0 over the five years: a change to the
    model that moves one fails here until the lesson is updated (issue 18: exercises with measured figures)."""
    doc = re.sub(r"\s+", " ", (ROOT / "docs" / "classroom.md").read_text(encoding="utf-8"))
    base = _lesson()
    m0 = base["m"]
    take = m0["state_take"].sum() / (m0["wages_gross"].sum() + m0["side_earnings"].sum())
    assert 0.75 <= take <= 0.85 and "takes about four-fifths" in doc
    assert (
        f"${(m0['wages_gross'].iloc[0] + m0['side_earnings'].iloc[0]) / 1e6:.1f}M earned in a month it takes about "
        f"${m0['state_take'].iloc[0] / 1e6:.1f}M" in doc
    )
    assert 150 <= m0["retained_median"].iloc[:12].median() <= 170 and "typical worker keeps $150–170" in doc
    assert f"about {base['share']:.0%} of his pay" in doc
    full, half = _lesson(repatriation=True), _lesson(repatriation=True, repatriation_compliance=0.5)
    assert full["empty"] is not None and full["empty"] <= "2018-12" and "empties the camp by the end of 2018" in doc
    assert f"falls from {base['rev']} a year to {full['rev']}" in doc
    assert f"revenue falls only to {half['rev']}" in doc and f"(from $550 to {half['plan']} a month)" in doc
    assert f"({half['kept']} a month instead of {base['kept']})" in doc
    assert f"{_about(half['sent'], 1000)} are sent home by their minders for missing it ({base['sent']} without" in doc
    direct = _lesson(direct_wages=True)
    assert (
        f"({base['rev']} → {direct['rev']} a year)" in doc
        and f"({direct['kept']} a month instead of {base['kept']}" in doc
    )
    assert (
        f"({direct['attempts']} attempts over five years instead of {base['attempts']}; {direct['escaped']} get "
        f"away instead of {base['escaped']})" in doc
    )
    insp = _lesson(labor_inspections=True)
    assert (
        f"Hours fall from {base['hours']} to {insp['hours']} a day and deaths from {base['deaths']} to "
        f"{insp['deaths']} over five years" in doc
    )
    assert f"({insp['kept']} a month) and {_about(insp['sent'])} are sent home" in doc
    fearless, afraid, asylum = (
        _lesson(reprisal_severity=0.0),
        _lesson(reprisal_severity=0.5),
        _lesson(asylum_access=True),
    )
    assert (
        f"{fearless['attempts']} workers try over five years ({fearless['escaped']} get away, "
        f"{fearless['caught']} are caught)" in doc
    )
    assert f"at 0.5 only {afraid['attempts']} try" in doc
    assert f"successful escapes from {base['escaped']} to {asylum['escaped']}" in doc
    share, higher = _lesson(remittance_rule="share"), _lesson(plan_level=1.3)
    assert f"workers keep {share['kept']} a month and the state {share['rev']} a year" in doc
    assert f"the state gets more ({base['rev']})" in doc
    # a plan 30% higher sends so many home that their empty posts cost more than the plan gains (the pipeline)
    assert higher["m"]["revenue_delivered"].sum() < base["m"]["revenue_delivered"].sum()
    assert f"revenue falls to {higher['rev']} a year" in doc and f"({higher['kept']} a month instead of" in doc
    assert f"{_about(higher['sent'], 1000)} are sent home for failing to pay it" in doc


def test_the_wheel_in_a_venv_with_system_site_packages_serves_the_page_quietly(browser, tmp_path, wheel):
    """Issue 33: the package installed (not the checkout) into a virtual environment made with
    --system-site-packages, where Solara's widgets live in the base Python and Jupyter's paths miss them (the page
    was a 500 for every load): started from outside the checkout, the page loads and steps, and the teacher's
    terminal holds the two lines olsim prints and Solara's one, with no warning or traceback."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    port = _free_port()
    env = {k: v for k, v in _fresh_assets(tmp_path / "cdn-cache").items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    command = [str(venv / "bin" / "olsim"), "classroom", "--port", str(port)]
    with _served(command, port, tmp_path / "server.log", cwd=tmp_path, env=env) as url:
        page = _open(browser, url, 1280, 720)
        page.get_by_role("button", name="Step", exact=True).click()
        page.get_by_text("(month 1 of 60)").wait_for()
        page.reload()  # a second load: Solara's cookie warning came with every one
        page.get_by_text("Before month 1").wait_for()
        page.close()
    lines = [line for line in (tmp_path / "server.log").read_text().splitlines() if line.strip()]
    assert str(venv) in lines[0] and str(ROOT) not in lines[0], lines[0]  # the installed package's own file
    assert "Warning" not in "\n".join(lines) and "Traceback" not in "\n".join(lines), lines
    assert len(lines) <= 4, lines


def test_the_info_panel_points_to_nothing_a_student_cannot_open():
    """Issue 33: the Info panel is self-contained: no file of the project named (students have the page only)."""
    from sim.classroom.app import info_markdown

    text = info_markdown()
    assert "Start a lesson" in text and "What to try" in text
    assert not re.search(r"docs/|params/|\.(md|toml|py|csv)\b|olsim ", text), re.findall(r"\S*(?:docs/|\.md)\S*", text)


def test_a_closed_tab_frees_its_session(browser, tmp_path, monkeypatch, warm_assets):
    """Issue 33: olsim serves with a closed tab's session freed after a minute (Solara's default keeps it a day),
    unless SOLARA_KERNEL_CULL_TIMEOUT is set; with it set to 2 s here, the server's count of sessions
    (Solara's /resourcez) goes from one to none after the tab is closed."""
    import json

    from sim.cli import CULL_AFTER, classroom_env

    monkeypatch.delenv("SOLARA_KERNEL_CULL_TIMEOUT", raising=False)
    assert classroom_env(ROOT / "params" / "classroom.toml")["SOLARA_KERNEL_CULL_TIMEOUT"] == CULL_AFTER == "60s"
    monkeypatch.setenv("SOLARA_KERNEL_CULL_TIMEOUT", "2s")
    assert classroom_env(ROOT / "params" / "classroom.toml")["SOLARA_KERNEL_CULL_TIMEOUT"] == "2s"
    command, port = _olsim_classroom()

    def sessions(url: str) -> int:
        with urllib.request.urlopen(url + "resourcez", timeout=5) as r:
            return json.load(r)["kernels"]["total"]

    with _served(command, port, tmp_path / "server.log", env=_fresh_assets(warm_assets)) as url:
        page = _open(browser, url, 1280, 720)
        assert sessions(url) == 1
        page.close()
        t0 = time.time()
        while sessions(url) and time.time() - t0 < 40:
            time.sleep(0.5)
        assert sessions(url) == 0


def test_a_class_of_three_on_the_teachers_board(browser, tmp_path, warm_assets):
    """Issue 33: `olsim classroom --class` (here on 127.0.0.1): three students, each in a browser of their own,
    give a name, pick a lesson and play; the teacher's board shows all three with their package and outcomes (the
    numbers of each student's own run: its revenue a year and what its workers kept per month worked, recomputed
    here from the same model), updates when a student plays on, and freezes one to discuss."""
    from sim.classroom.app import PRESETS, ClassroomModel as Model, classroom_file, model_params, preset_settings
    from sim.classroom.board import outcomes
    from sim.common.formatting import format_money
    from sim.core.params import load_params

    command, port = _olsim_classroom("--class", "--host", "127.0.0.1")
    log = tmp_path / "server.log"
    students = {"Ana": "direct", "Ben": "full", "Chi": "history"}
    contexts = []
    with _served(command, port, log, env=_fresh_assets(warm_assets)) as url:
        printed = log.read_text()
        assert f"students join at {url}" in printed and f"{url}board" in printed and "█" in printed  # and a QR code
        board = browser.new_page(viewport={"width": 1920, "height": 1080})
        board.set_default_timeout(90_000)
        board.goto(url + "board")
        board.get_by_text("No student yet").wait_for()
        for name, lesson in students.items():
            ctx = browser.new_context(viewport={"width": 1280, "height": 720})  # a device of its own: own session
            contexts.append(ctx)
            page = ctx.new_page()
            page.set_default_timeout(90_000)
            page.goto(url)
            page.get_by_text("Before month 1").wait_for()
            box = page.get_by_label("Your name (for the class board)")
            box.fill(name)
            box.press("Enter")
            page.get_by_role("button", name=PRESETS[lesson]).click()
            for month in (1, 2, 3):
                page.get_by_role("button", name="Step", exact=True).click()
                page.get_by_text(f"(month {month} of 60)").wait_for()
        specs, params = model_params(str(classroom_file())), load_params(classroom_file())
        for name, lesson in students.items():
            m = Model(**preset_settings(lesson, specs, params))
            for _ in range(3):
                m.step()
            revenue, kept = outcomes(list(m.aggregator.monthly))
            words = f"{format_money(revenue)} a year reached the state; workers kept {format_money(kept)} per month"
            board.get_by_text(f"{name}:", exact=False).wait_for()
            board.get_by_text(words).wait_for()  # the board's numbers are the student's run's
        text = board.inner_text(".olsim-board")
        assert "Ana: Employers pay workers directly at 100%" in text and "(3 of 60 months run)" in text
        assert "Chi: No new work permits (UNSCR 2375) at 80%" in text
        board.get_by_role("button", name="Freeze Ben").click()
        board.get_by_text("Discussing Ben").wait_for()
        assert board.locator("img.olsim-board-chart, .olsim-board-chart img").first.evaluate("i => i.naturalWidth") > 0
        # a student plays on: the board follows, the frozen numbers stay
        ana = contexts[0].pages[0]
        ana.get_by_role("button", name="Step", exact=True).click()
        board.get_by_text("(4 of 60 months run)").wait_for()
        assert "Discussing Ben" in board.inner_text(".olsim-frozen")
        board.close()
        for ctx in contexts:
            ctx.close()
