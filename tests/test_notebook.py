"""docs/compare.ipynb runs from top to bottom (nbclient, a fresh kernel, in a temporary folder outside the
checkout): `sim.compare` from a notebook, its findings, headline, figures and report (issue 32, item 5)."""

from __future__ import annotations

import shutil

import pytest

from conftest import ROOT

nbclient = pytest.importorskip("nbclient")  # the [test] extra installs it
nbformat = pytest.importorskip("nbformat")


def test_the_compare_notebook_runs(tmp_path):
    shutil.copy(ROOT / "docs" / "compare.ipynb", tmp_path / "compare.ipynb")
    nb = nbformat.read(tmp_path / "compare.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "- Against no sanctions, history: the revenue that reaches the state falls by" in text
    # the report's figure and the notebook's own plot of the months both shown (the package keeps the kernel's
    # backend: forcing Agg hid every plot drawn after sim's first figure)
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2
    folder = tmp_path / "results" / "compare-notebook"
    for name in ("report.html", "report.docx", "report.xlsx", "plots/changes.png"):
        assert (folder / name).is_file(), name
