"""The README's Python snippets (the run and calibration API, Mesa's batch_run, the EMA adapter) run unchanged
from outside the checkout, with shipped names (issue 32, item 5).

Each block is run as an interactive session or a notebook runs it (``python -c``: no script for the local pool's
workers to import), in a fresh temporary folder, so a path into the checkout or a name that only resolves there
fails. About a minute in all (the calibration's quick trial is most of it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_its_three_snippets():
    assert len(BLOCKS) == 3
    assert "load_params(" in BLOCKS[0] and "mesa.batch_run" in BLOCKS[1] and "ema_model(" in BLOCKS[2]
    for block in BLOCKS:
        assert "params/" not in block.replace("params/targets.toml", ""), "a path into the checkout"


@pytest.mark.parametrize("k", range(3), ids=["api", "mesa", "ema"])
def test_a_readme_snippet_runs_unchanged_outside_the_checkout(k, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)  # the installed package, as a user has it
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKS[k]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    if k == 0:
        assert (tmp_path / "results" / "my-run").is_dir()
        assert (tmp_path / "results" / "calibration" / "mine" / "calibrated.toml").is_file()


def test_a_script_without_a_main_guard_is_told_why_its_pool_died(monkeypatch):
    """The README's snippets are for a session or a notebook; saved as a script without a main guard, the local
    pool's workers import the script and die. The one line then names the script and the guard, not memory."""
    from concurrent.futures.process import BrokenProcessPool

    from sim.explore.runner import failure

    main = sys.modules["__main__"]
    monkeypatch.setattr(main, "__file__", "/home/analyst/my_sweep.py", raising=False)
    words = failure(BrokenProcessPool("gone"), None)
    assert "my_sweep.py" in words and 'if __name__ == "__main__":' in words
    monkeypatch.setattr(main, "__file__", str(ROOT / "sim" / "cli.py"))  # python -m sim.cli: olsim itself
    assert "killed, or out of memory" in failure(BrokenProcessPool("gone"), None)
    monkeypatch.delattr(main, "__file__", raising=False)
    assert (
        failure(BrokenProcessPool("gone"), None) == "a worker process of the local pool died (killed, or out of memory)"
    )
