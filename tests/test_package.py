"""A real package: the built wheel holds the shipped files, and runs them by name from outside any checkout."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT
from sim.common import shipped
from sim.common.errors import OlsimError


def test_pyproject_lists_every_package():
    """setuptools' explicit package list (needed to map params/ and experiments/ into the wheel) names every
    folder of sim/ that holds Python code."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(p.relative_to(ROOT).parts)
        for p in (ROOT / "sim").rglob("*")
        if p.is_dir() and any(p.glob("*.py")) and "__pycache__" not in p.parts
    }
    assert folders <= listed, sorted(folders - listed)


def test_shipped_files_by_name():
    assert shipped.resolve("history", "params") == ROOT / "params" / "history.toml"
    assert shipped.resolve("policies/permit_ban", "params") == ROOT / "params" / "policies" / "permit_ban.toml"
    assert shipped.resolve("quick", "experiments") == ROOT / "experiments" / "quick.toml"
    assert shipped.resolve("params/history.toml", "params") == Path("params/history.toml")  # a path stays a path
    assert shipped.resolve("nowhere/x", "params") == Path("nowhere/x")  # its reader will say it is missing
    with pytest.raises(
        OlsimError,
        match="histry: no such file, and no shipped parameter file of that name "
        r"\(did you mean 'history'\?\)",
    ):
        shipped.resolve("histry", "params")
    assert "history" in shipped.names("params") and "sensitivity" in shipped.names("experiments")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheel):
    """The wheel built from this checkout, installed (not editable) into a folder of its own."""
    tmp = tmp_path_factory.mktemp("wheel")
    target = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    work = tmp / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    return target, work, env


def _olsim(installed, *args, timeout=600):
    target, work, env = installed
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args], cwd=work, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_wheel_runs_shipped_files_by_name_outside_a_checkout(installed):
    target, work, env = installed
    where = subprocess.run(
        [sys.executable, "-c", "import sim; print(sim.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(target))  # the installed copy, not this checkout
    listing = _olsim(installed, "scenarios")
    assert listing.returncode == 0 and str(target / "sim" / "_shipped" / "params") in listing.stdout
    assert "history_strict" in listing.stdout and "quick" in listing.stdout
    for name in ("history", "classroom"):
        r = _olsim(installed, "run", name, "--months", "3", "--out", f"out_{name}", "-q")
        assert r.returncode == 0, r.stderr
        assert (work / f"out_{name}" / "monthly.parquet").is_file()
    r = _olsim(installed, "experiment", "quick", "--out", "quick", "-q", "--processes", "1")
    assert r.returncode == 0, r.stderr
    assert (work / "quick" / "summary.csv").is_file()


def test_the_wheel_serves_the_classroom_page_outside_a_checkout(installed):
    pytest.importorskip("solara")
    target, work, env = installed
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "classroom", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline, page = time.time() + 120, ""
        while time.time() < deadline and proc.poll() is None:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert "solara" in page.lower()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    assert "_shipped/params/classroom.toml" in proc.communicate()[0].replace(os.sep, "/")


def test_the_quickstart_notebook_runs(tmp_path):
    """docs/quickstart.py (a jupytext notebook) runs top to bottom as a script, from outside the checkout."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "quickstart.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "the state takes $" in out and "permit ban" in out and "direct wages" in out
    assert "history revenue_delivered_per_year" in " ".join(out.split())
