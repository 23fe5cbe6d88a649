"""`sim.compare`: ``olsim compare`` from Python and notebooks, with the same tables, figures and report.

    import sim

    c = sim.compare(["no_sanctions", "history"], replicates=3, scale=0.02)
    c.findings          # one plain sentence per scenario, with intervals
    c.headline          # per scenario and outcome: level, change from the reference, intervals (full scale)
    c.summary()         # summary.csv's table (totals at full scale)
    c.monthly()         # every run's months (simulated scale), for your own figures
    c.monthly_xarray()  # the same as an xarray Dataset: scenario x sample x replicate x month, totals at full scale
    c.plot()            # the report's figures (paths; a notebook shows them with IPython.display.Image)
    c.report()          # report.html, .md, .xlsx, .docx; returns report.html's path

The experiment is the command's (`compare_experiment`: shipped names or files, common random numbers, a warm-up):
its folder streams every run to disk and resumes (``resume=True``), as ``olsim compare`` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..results.outcomes import REPORTED
from .analysis import ExperimentResult


@dataclass
class Comparison:
    """A finished comparison: its experiment's results (`ExperimentResult`) with the report's views."""

    result: ExperimentResult

    @property
    def folder(self) -> Path:
        return self.result.folder

    @property
    def headline(self) -> pd.DataFrame:
        """The report's headline table, long: per scenario and reported outcome the level, the change from the
        reference and their intervals, totals at full scale (`sim.explore.report.headline`)."""
        from .report import headline

        t = headline(self.result)
        return t[t["outcome"].isin(REPORTED)].reset_index(drop=True) if len(t) else t

    @property
    def findings(self) -> list[str]:
        """The report's opening: one plain sentence per scenario, and what the replicates cannot resolve."""
        from .report import findings, sampled

        r = self.result
        return findings(self.headline, r.reference, r.labels, replicated=not (r.is_posterior or sampled(r)))

    def summary(self) -> pd.DataFrame:
        """summary.csv's table: every outcome's mean, interval and paired change, totals at full scale."""
        return self.result.summary(full_scale=True)

    def monthly(self, columns: list[str] | None = None) -> pd.DataFrame:
        """Every run's months (the monthly table at the simulated scale, with scenario and replicate)."""
        return self.result.monthly(columns)

    def monthly_xarray(self, columns: list[str] | None = None):
        """Every run's months as an `xarray.Dataset` (scenario x sample x replicate x month; totals at full
        scale; `ExperimentResult.monthly_xarray`)."""
        return self.result.monthly_xarray(columns)

    def plot(self) -> dict[str, Path]:
        """Draw the report's figures (changes, trade-off, series, welfare) into the folder's plots/; name -> path."""
        from .report import figures

        return figures(self.result)

    def report(self) -> Path:
        """Write report.html, report.md, report.xlsx and report.docx (with the figures in plots/); report.html's
        path."""
        from .report import write_report

        write_report(self.result, draw=not (self.folder / "plots" / "changes.png").exists())
        return self.folder / "report.html"

    def __repr__(self) -> str:
        return self.result.report()

    def _repr_html_(self) -> str:
        """A notebook's view: the findings and the headline, as the report words them."""
        import html

        items = "".join(f"<li>{html.escape(f)}</li>" for f in self.findings)
        return f"<p><b>{html.escape(self.result.manifest['name'])}</b> ({self.folder})</p><ul>{items}</ul>"


def compare(
    files: list[str],
    *,
    out: str | os.PathLike | None = None,
    processes: int | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = False,
    **design,
) -> Comparison:
    """``olsim compare`` from Python: run ``files`` (shipped names or parameter files) into ``out`` (default
    results/compare/A-vs-B), with its figures, and return the `Comparison`. ``design``: the command's choices,
    as `compare_experiment` takes them: ``reference`` (default the first file), ``replicates`` (5), ``scale``
    (0.1), ``months`` (the files'), ``seed`` (0), ``warmup`` (36 months). An existing folder is refused unless
    ``resume`` (run what is missing) or ``force`` (start again), as on the command line. In a script (not a
    session or a notebook), call it under ``if __name__ == "__main__":``: the local pool's workers import the
    script."""
    from .compare import compare_experiment, default_out
    from .runner import run_experiment

    _, plan = compare_experiment(list(files), **design)
    folder = Path(out) if out is not None else default_out(plan)
    result = run_experiment(plan, folder, processes=processes, resume=resume, force=force, progress=progress)
    return Comparison(result)
