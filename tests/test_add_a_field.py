"""Adding a worker field that one rule reads and writes touches three files: its declaration
(sim/core/workers.py), its rule (sim/core/rules/worker.py) and a test. This test makes exactly those two edits to a copy
of the package, as text, and runs both engines from the copy: the field is a column of the array engine, an
attribute of the mesa worker, updated by its rule in both, and the engines stay docked to the last bit."""

import os
import shutil
import subprocess
import sys
import textwrap

from conftest import ROOT

DECLARATION = """    Field("months_posted", "i2", 0, "months he has worked in this run (a worked example)", (11,),
          update=Update(11, "one_more_month", ("months_posted", "population.contract_months", "minder"))),
"""
RULE = '''

@rule
def one_more_month(months, contract_months, minder):
    """A month more abroad, counted up to the contract's length (a worked example; it reads his minder, a link in
    the mesa engine and an id in the array engine, only to show that both give it as a number)."""
    return min(months + 1.0, contract_months) + 0.0 * minder
'''
SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import pandas as pd
    from sim import load_params, run
    from sim.core import workers
    assert "months_posted" in workers.FIELD
    p = load_params(overrides={"hosts.china.workers": 120, "hosts.russia.workers": 80, "hosts.gulf.workers": 40,
                               "hosts.africa.workers": 20, "hosts.asia.workers": 20, "hosts.europe.workers": 10,
                               "calendar.months": 14, "population.contract_months": 12})
    a, m = run(p, engine="array", seed=3), run(p, engine="mesa", seed=3)
    for t in ("monthly", "hosts", "workers"):
        pd.testing.assert_frame_equal(getattr(a, t), getattr(m, t), check_exact=True)
    posted = a.model.w.status == 0
    got = a.model.w.months_posted[posted]
    # by hand: each month worked adds one, up to 12; a worker posted in month d has worked 14 - d months of the run
    expected = np.minimum(14 - a.model.w.month_deployed[posted].clip(min=0), 12)
    assert (got == expected).all(), (got[:10], expected[:10])
    assert sorted({w.months_posted for w in m.model.workers}) == sorted(set(expected.tolist()))
    print("docked", int(posted.sum()), "workers, months_posted", sorted(set(got.tolist())))
""")


def test_a_field_with_its_rule_needs_only_its_declaration_and_its_rule(tmp_path):
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "sim", copy / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    fields = copy / "sim" / "core" / "workers.py"
    text = fields.read_text()
    anchor = "    # the month's flows, set afresh for every worker who works"
    assert anchor in text
    fields.write_text(text.replace(anchor, DECLARATION + anchor))
    rules = copy / "sim" / "core" / "rules" / "worker.py"
    rules.write_text(rules.read_text() + RULE)
    env = {**os.environ, "PYTHONPATH": str(copy), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "docked" in out.stdout and "months_posted [" in out.stdout
