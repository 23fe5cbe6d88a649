"""A candidate of the sanctions fit, judged in one task: its replicate runs side by side, and only what the fit reads.

The fit judges a candidate on its replicates' per-host tables: the fit facts' misses and the early mechanisms over
the fit's months (2016-01 to 2020-03), and, for a candidate the generation may keep, the later mechanisms through
the last month they read (2025-12). `run_candidate` builds one model per replicate seed, runs each to the fit's
last month, judges the candidate there, and runs on to the later months only if the judgement says so: the same
runs, bit for bit, as separate runs to either month would be (a month's tables depend only on the months before
it: `sim.core.draws`), but no month simulated twice and no table written that nobody reads. Before (session 25),
each replicate was a run of the experiment machinery (three Parquet tables written and read back) and a candidate
that needed its later mechanisms was run a second time from the start.

A batch's finished candidates are appended to ``candidates.jsonl`` in its folder as they finish (an interrupted
batch resumes from them), and the batch's ``misses.parquet`` is written when the last one is in.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...common.errors import ExperimentError
from ..measures import RunTable
from .targets import CUTOFF, FitFact, all_inside, distance, mechanism_means, unit_miss
from ..targets import Fact

MECHANISM = "mechanism:"  # a candidate's mechanism, in misses.parquet (`fit.candidate_misses`)
RULED_OUT = "ruled_out"  # whether a constrained mechanism ruled the candidate out
JOURNAL = "candidates.jsonl"  # a batch's finished candidates, a line each


@dataclass
class Judge:
    """How a generation judges a candidate: the fit facts, the constrained mechanisms over the fit's months
    (``early``) and after them (``later``, measured only for a candidate that may matter), the simulated scale,
    the generation's tolerance, and the months to run for each."""

    fit: dict[str, FitFact]
    early: dict[str, Fact]
    later: dict[str, Fact]
    scale: float
    tolerance: float
    fit_months: int
    later_months: int
    constrained: bool = field(default=False)  # whether any mechanism is constrained (the row says if it ruled out)

    def needs_later(self, d: float, mean: dict[str, float]) -> bool:
        """Whether a candidate's later mechanisms are measured: those the generation may keep (a finite distance
        within its tolerance) and those the adequacy check may count in a verdict (at most one fact beyond its
        cut-off)."""
        if not self.later or not math.isfinite(d):
            return False
        return d <= self.tolerance or sum(abs(mean[k]) > CUTOFF for k in self.fit) <= 1


def _tables(models, warmup: int) -> list[RunTable]:
    from ...engines.runner import after_warmup

    return [RunTable(after_warmup(m.aggregator.hosts_frame(), warmup)) for m in models]


def run_candidate(task: dict) -> dict:
    """One candidate's replicate runs (``task["seeds"]``, ``task["params"]`` resolved, its calendar running through
    the judge's later months), judged by ``task["judge"]``: its row of ``misses.parquet`` (the distance, the mean
    misses, the mechanisms; a later mechanism not measured is NaN). A pure function of the task, on any executor."""
    from ...core.params import make_params
    from ...engines.runner import make_model, with_warmup

    judge: Judge = task["judge"]
    params = make_params(task["params"])
    warmup = params.calendar.warmup
    if warmup:
        params = with_warmup(params)
    models = [make_model(params, "array", seed) for seed in task["seeds"]]
    levers: dict = {}  # the same parameters: each month's levers computed once for the replicates
    for m in models:
        m.aggregator.hosts_only = True  # the host table is all a candidate is measured on
        m.levers_cache = levers
    for m in models:
        for _ in range(warmup + judge.fit_months):
            m.step()
    tables = _tables(models, warmup)
    misses = [{k: unit_miss(t.measure(f, judge.scale), f) for k, f in judge.fit.items()} for t in tables]
    d = distance(misses)
    mean = {k: float(np.mean([m[k] for m in misses])) for k in judge.fit}
    # the mechanisms the fit is constrained by, mean over the replicates: one outside its range rules the candidate
    # out (the prior restricted to the sourced ranges), whatever its distance
    mech = mechanism_means(tables, judge.early, judge.scale)
    ruled_out = not all_inside(mech, judge.early)
    if ruled_out and math.isfinite(d):
        d = math.inf
    later = {k: math.nan for k in judge.later}
    if judge.needs_later(d, mean):
        for m in models:
            for _ in range(judge.later_months - judge.fit_months):
                m.step()
        later = mechanism_means(_tables(models, warmup), judge.later, judge.scale)
        if not all_inside(later, judge.later):
            d, ruled_out = math.inf, True
    row = {
        "distance": d,
        **mean,
        **{f"{MECHANISM}{k}": v for k, v in mech.items()},
        **({RULED_OUT: ruled_out} if judge.constrained else {}),
        **{f"{MECHANISM}{k}": v for k, v in later.items()},
    }
    return {"run_id": task["run_id"], "candidate": task["candidate"], "row": row}


def other_candidates(folder: Path) -> ExperimentError:
    """The one-line refusal of a batch folder that holds other candidates than its generation proposes."""
    return ExperimentError(
        f"{folder}: holds other candidates than this generation proposes (a calibration of other settings or seed); "
        f"use another --out, or --force to start again"
    )


class Journal:
    """A batch's finished candidates (``candidates.jsonl``): each line a candidate's number, values and row, appended
    as it finishes; read back on resuming (a line cut short by an interruption is dropped)."""

    def __init__(self, folder: Path, theta: np.ndarray):
        self.path = Path(folder) / JOURNAL
        self.theta = theta
        self.done: dict[int, dict] = {}
        if self.path.exists():
            text = self.path.read_text()
            if text and not text.endswith("\n"):  # the last line cut short by an interruption: dropped
                text = text[: text.rfind("\n") + 1]
                with open(self.path, "r+") as f:
                    f.truncate(len(text.encode()))
            for line in text.splitlines():
                entry = json.loads(line)
                i = int(entry["candidate"])
                if i >= len(theta) or entry["values"] != [float(v) for v in theta[i]]:
                    raise other_candidates(self.path.parent)
                self.done[i] = {k: (math.nan if v is None else v) for k, v in entry["row"].items()}

    def add(self, candidate: int, row: dict) -> None:
        self.done[candidate] = row
        entry = {
            "candidate": candidate,
            "values": [float(v) for v in self.theta[candidate]],
            "row": {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(entry) + "\n")  # inf is written as Infinity, which json reads back
            f.flush()
            os.fsync(f.fileno())
