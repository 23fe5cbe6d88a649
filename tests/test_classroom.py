"""The classroom page: its model and controls, and the page itself in a real browser (Chromium, headless)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT
from sim.classroom.app import SANCTIONS, ClassroomModel, classroom_params, model_params, month_story, worker_story

CHROMIUM = "/usr/bin/chromium"


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

    meta = json.dumps({"dist": {"tarball": "https://registry.example/some-package-1.0.0.tgz",
                                "integrity": "sha512-" + base64.b64encode(hashlib.sha512(payload).digest()).decode()}})
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
    monkeypatch.setattr(assets.urllib.request, "urlopen",
                        lambda url, timeout=None: Response(meta.encode() if not url.endswith(".tgz") else b"tampered"))
    with pytest.raises(ValueError, match="checksum"):
        assets.file_from_npm("https://cdn.jsdelivr.net/npm/p@1.0.0/index.js", tmp_path)
    assert not list(tmp_path.rglob("*.tgz"))


# ---------------------------------------------------------------- the model behind the page


def test_every_control_is_a_constructor_keyword():
    """SolaraViz's Reset calls type(model)(**controls): each control must be a keyword of ClassroomModel."""
    from mesa.visualization.solara_viz import _check_model_params

    model = ClassroomModel(**defaults())
    _check_model_params(model, model_params())  # raises ValueError on an unknown or missing keyword
    assert set(SANCTIONS) <= set(model_params()) and {"seed", "minder_ratio", "plan_level", "reprisal_severity",
                                                      "remittance_rule"} <= set(model_params())


def test_controls_change_the_parameters():
    base = classroom_params()
    p = classroom_params(permit_ban=True, permit_ban_compliance=0.4, repatriation=True, sanctions_start=6,
                         minder_ratio=25, plan_level=1.2, reprisal_severity=0.5, remittance_rule="share")
    kinds = {q.kind: q for q in p.policies}
    assert set(kinds) == {"permit_ban", "repatriation"} and kinds["permit_ban"].compliance == 0.4
    assert p.calendar.index(kinds["repatriation"].deadline) == 30 and p.calendar.index(kinds["permit_ban"].start) == 6
    assert p.population.minder_ratio == 25 and p.state.reprisal_severity == 0.5 and p.remittance.rule == "share"
    assert p.hosts["gulf"].plan == pytest.approx(1.2 * base.hosts["gulf"].plan)
    assert not base.policies


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


# ---------------------------------------------------------------- the page in a browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`olsim classroom` on a free port of 127.0.0.1, as a teacher would start it on a fresh machine: Solara's
    asset cache starts empty, so every script the page needs comes through the CDN proxy (and, with no CDN here,
    the npm registry fallback) during the test."""
    port = _free_port()
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"olsim-classroom-{port}.log", "w+")
    cache = tmp_path_factory.mktemp("solara-cdn-cache")
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "classroom", "--port", str(port)], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "SOLARA_ASSETS_PROXY_CACHE_DIR": str(cache)})
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


def test_page_in_a_browser(browser, server, tmp_path):
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.set_default_timeout(90_000)
    page.goto(server)
    # the page loads with the model before its first month
    page.get_by_text("Before month 1").wait_for()
    assert "one per 50 workers" in page.inner_text("body")
    # Step advances the month
    page.get_by_role("button", name="Step").click()
    page.get_by_text("(month 1 of 60)").wait_for()
    page.get_by_role("button", name="Step").click()
    page.get_by_text("(month 2 of 60)").wait_for()
    # a slider, then Reset: the model is rebuilt with the new value
    slider = page.locator(".v-input", has_text="Workers per minder").get_by_role("slider")
    slider.focus()
    for _ in range(2):
        slider.press("ArrowRight")
    assert slider.get_attribute("aria-valuenow") == "60"
    page.get_by_role("button", name="Reset").click()
    page.get_by_text("one per 60 workers").wait_for()
    assert "(month 2 of 60)" not in page.inner_text("body")
    # a switch, then Reset and Step: the sanction is in force
    page.get_by_label("Send all workers home within 2 years (UNSCR 2397)").check()
    page.locator(".v-input", has_text="Sanctions start in month").get_by_role("slider").press("Home")
    page.get_by_role("button", name="Reset").click()
    page.get_by_text("Before month 1").wait_for()
    page.get_by_role("button", name="Step").click()
    page.get_by_text("Sanctions in force: Send all workers home").wait_for()
    # a worker's story
    box = page.get_by_label("worker id")
    box.fill("7")
    box.press("Enter")
    page.get_by_text("Worker 7,").wait_for()
    body = page.inner_text("body")
    assert "What happened to him" in body and "posted to gulf" in body
    # dollars shown as text, not typeset as mathematics between two dollar signs
    assert "paid an entry bribe of $" in body and "The state took $" in body and "he kept $" in body
    shot = tmp_path / "classroom.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    if os.environ.get("OLSIM_SCREENSHOT"):  # to refresh the README's picture
        shutil.copy(shot, os.environ["OLSIM_SCREENSHOT"])
    page.close()
