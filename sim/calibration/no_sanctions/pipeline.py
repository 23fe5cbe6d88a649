"""A calibration from start to end: its folder, the stages in order, the validation table."""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...common.errors import ExperimentError, ParamsError
from ...common.files import atomic_write
from ...common.validation import suggest
from ...core.fields import parse_month
from ...core.params import make_params, read_params_file
from ...explore.analysis import t_interval
from ...explore.evaluators import connect
from ...explore.plan import plan_experiment, resolve_params
from ...explore.runner import run_experiment
from ...results.outcomes import OUTCOMES
from ..folder import Folder, check_calibration_output, round_value
from ..measures import measure, position
from ..targets import Targets
from .report import report_text, write_report
from .search import (
    WELFARE,
    Analysis,
    analyse_search,
    calibrated_params,
    calibrated_toml,
    check_experiment,
    plain,
    search_experiment,
)


@dataclass
class Calibration:
    folder: Path
    targets: Targets
    analysis: Analysis
    confirm: pd.DataFrame  # per target: range, calibrated and default means with 95% intervals
    validation: pd.DataFrame  # per fact: reported, calibrated and default values with 95% intervals
    params_file: Path | None
    stages: dict = field(default_factory=dict)

    def report(self) -> str:
        return report_text(self)


def check_output_file(targets: Targets, force: bool) -> Path:
    """The calibrated file's path; refuses an input of the calibration, and a file `olsim calibrate` did not write (without --force)."""
    return check_calibration_output(
        targets.output_path,
        [
            ("the targets file", targets.path),
            ("scenario", targets.scenario_path),
            ("validation_scenario", targets.validation_path),
        ],
        force,
        "move it, change 'output' in the targets file, or add --force",
    )


def _check_validation(targets: Targets) -> None:
    """The validation scenario loads, and every fact's host and months are in it (before anything is written)."""
    spec = targets.spec
    if not spec.validation:
        return
    validation_path = targets.validation_path
    assert validation_path is not None  # validation facts need their scenario (TargetsFile checks)
    try:
        raw = read_params_file(validation_path)
        params = make_params(resolve_params(raw, {}, 1.0, "validation_scenario"))
    except ExperimentError as e:
        raise ExperimentError([f"{targets.path}: {line}" for line in e.errors]) from None
    except ParamsError as e:
        raise ExperimentError([f"{targets.path}: validation_scenario: {line}" for line in e.errors]) from None
    first = params.calendar.start
    y, m = parse_month(first)
    last_index = params.calendar.months - 1
    last = f"{y + (m - 1 + last_index) // 12:04d}-{(m - 1 + last_index) % 12 + 1:02d}"
    searched = set(calibrated_params(targets, {})[0].hosts)
    for k, fct in spec.validation.items():
        if fct.host is not None and fct.host not in params.hosts:
            raise ExperimentError(
                f"{targets.path}: validation.{k}.host: no host '{fct.host}' in "
                f"{validation_path.name}{suggest(fct.host, params.hosts)}"
            )
        for key in ("start", "end"):
            d = getattr(fct, key)
            if d is not None and not first <= d <= last:
                raise ExperimentError(
                    f"{targets.path}: validation.{k}.{key}: {d} is outside the validation scenario's "
                    f"calendar ({first} to {last})"
                )
    missing = searched - set(params.hosts)
    if missing and any(p.startswith("hosts.") for p in spec.parameters):
        raise ExperimentError(
            f"{targets.path}: validation_scenario: lacks the host(s) {', '.join(sorted(missing))} "
            f"of the scenario, so the calibrated values cannot be applied to it"
        )


def run_calibration(
    targets: Targets,
    out: str | os.PathLike,
    budget: int | None = None,
    processes: int | None = None,
    scheduler=None,
    resume: bool = False,
    force: bool = False,
    progress: bool = False,
    log=None,
) -> Calibration:
    """Search, choose, confirm and validate; write the calibrated file and the report. Resumable stage by stage."""
    log = log or (lambda msg: None)
    spec = targets.spec
    if not spec.parameters:
        raise ExperimentError(f'{targets.path}: parameters: no parameter to search (add [parameters."KEY"] tables)')
    if targets.scenario_path is None:
        raise ExperimentError(f"{targets.path}: scenario: the calibration needs the scenario the targets describe")
    assert targets.path is not None  # load_targets names the file it read
    try:
        search_plan = plan_experiment(search_experiment(targets, budget), targets.path.parent)
    except ExperimentError as e:
        raise ExperimentError(
            [f"{targets.path}: {line.replace('uncertainties.', 'parameters.')}" for line in e.errors]
        ) from None
    folder = Folder(out)
    old = folder.prepare(targets, resume, force, [targets.path, targets.scenario_path, targets.validation_path])
    # only a calibration with the file's own settings replaces its output (a --budget trial writes the report folder only)
    official = budget is None or budget == spec.search.budget
    if not official and spec.check.scale > spec.search.scale:
        # a trial checks its choice at the search's scale (the confirmation and the validation at full scale are
        # most of a calibration's fixed cost: 40 runs, about 25 s); the report and the log say the scale used
        check = spec.check.model_copy(update={"scale": spec.search.scale})
        targets = dataclasses.replace(targets, spec=spec.model_copy(update={"check": check}))
        spec = targets.spec
    out_file = check_output_file(targets, force or old.get("force_output", False)) if official else None
    _check_validation(targets)
    own_client = isinstance(scheduler, str)
    if own_client:
        scheduler = connect(scheduler)  # before anything is written
    try:
        folder.mark(targets, {"force_output": bool(force or old.get("force_output", False))})
        try:
            cal = _calibrate(targets, folder, search_plan, out_file, processes, scheduler, resume, progress, log)
        except BaseException:
            if folder.replaced is not None:
                print(
                    f"olsim: the calibration this one replaces is kept in {folder.replaced} until this one is complete",
                    file=sys.stderr,
                )
            raise
        folder.done()
        return cal
    finally:
        if own_client:
            scheduler.close()


def _calibrate(targets, folder, search_plan, out_file, processes, scheduler, resume, progress, log) -> Calibration:
    spec = targets.spec
    f = folder.path
    log(
        f"search: {len(search_plan.samples)} parameter sets x {spec.search.replicates} replicates at "
        f"{spec.search.scale:g} scale = {len(search_plan.tasks)} runs"
    )
    search = run_experiment(
        search_plan,
        f / "search",
        processes=processes,
        scheduler=scheduler,
        resume=resume,
        progress=progress,
        plots=False,
    )
    if not search.complete:  # pragma: no cover - run_experiment raises or completes
        raise ExperimentError("search: incomplete; run again with --resume")
    analysis = analyse_search(search.runs, search.samples, targets)
    chosen_values = {
        k: round_value(plain(v))
        for k, v in analysis.per_set.loc[analysis.per_set["sample"] == analysis.chosen, list(spec.parameters)]
        .iloc[0]
        .items()
    }
    params, overrides = calibrated_params(targets, chosen_values)
    text = calibrated_toml(targets, analysis, params, overrides)
    atomic_write(f / "calibrated.toml", text.encode())

    scen_rel = str(targets.scenario_path.resolve())
    confirm_raw = check_experiment(
        "confirm",
        "the calibrated parameters and the defaults, fresh seeds",
        targets,
        [{"name": "calibrated", "params": str((f / "calibrated.toml"))}, {"name": "defaults", "params": scen_rel}],
        hosts=False,
    )
    confirm_plan = plan_experiment(confirm_raw, f)
    log(f"confirm: {len(confirm_plan.tasks)} runs at {spec.check.scale:g} scale, fresh seeds")
    confirm = run_experiment(
        confirm_plan,
        f / "confirm",
        processes=processes,
        scheduler=scheduler,
        resume=resume,
        progress=progress,
        plots=False,
    )
    rows = []
    for name, t in spec.targets.items():
        row = {"target": name, "what": t.what, "outcome": t.outcome, "low": t.low, "high": t.high, "source": t.source}
        for scen in ("calibrated", "defaults"):
            row.update(_interval_columns(scen, confirm.runs.loc[confirm.runs["scenario"] == scen, t.outcome]))
            m = row[f"{scen}_mean"]
            row.update({f"{scen}_inside": bool(t.low <= m <= t.high), f"{scen}_position": position(m, t)})
        s = analysis.per_set[t.outcome]
        row.update(
            {
                "search_p05": s.quantile(0.05),
                "search_p95": s.quantile(0.95),
                "search_inside": float(((s >= t.low) & (s <= t.high)).mean()),
            }
        )
        rows.append(row)
    for w in WELFARE:
        row = {
            "target": f"({w})",
            "what": OUTCOMES[w].what,
            "outcome": w,
            "low": math.nan,
            "high": math.nan,
            "source": "not a target",
        }
        for scen in ("calibrated", "defaults"):
            row.update(_interval_columns(scen, confirm.runs.loc[confirm.runs["scenario"] == scen, w]))
        rows.append(row)
    confirm_table = pd.DataFrame(rows)

    validation_table = pd.DataFrame()
    stages = {"search": search, "confirm": confirm}
    if spec.validation:
        val_rel = str(targets.validation_path.resolve())
        val_raw = check_experiment(
            "validation",
            "out of sample: the validation scenario, calibrated and with the defaults",
            targets,
            [
                {"name": "calibrated", "params": val_rel, "overrides": overrides},
                {"name": "defaults", "params": val_rel},
            ],
            hosts=True,
        )
        val_plan = plan_experiment(val_raw, f)
        log(f"validation: {len(val_plan.tasks)} runs at {spec.check.scale:g} scale")
        val = run_experiment(
            val_plan,
            f / "validation",
            processes=processes,
            scheduler=scheduler,
            resume=resume,
            progress=progress,
            plots=False,
        )
        validation_table = validation_rows(val, targets)
        stages["validation"] = val

    if out_file is not None and analysis.reachable:
        atomic_write(out_file, text.encode())
    elif out_file is not None:
        log(
            f"no parameter set reached every range: {out_file} is left as it was; the nearest set is in {f}/calibrated.toml"
        )
        out_file = None
    cal = Calibration(
        folder=f,
        targets=targets,
        analysis=analysis,
        confirm=confirm_table,
        validation=validation_table,
        params_file=out_file,
        stages=stages,
    )
    write_report(cal)
    return cal


def validation_rows(val, targets: Targets) -> pd.DataFrame:

    scale = targets.spec.check.scale
    cols = sorted({c for fct in targets.spec.validation.values() for c in fct.columns})
    hosts = val.hosts(cols)
    per_run = {rid: g for rid, g in hosts.groupby("run_id", sort=False)}
    rows = []
    for name, fct in targets.spec.validation.items():
        row: dict[str, Any] = {
            "fact": name,
            "what": fct.what,
            "measure": fct.measure,
            "host": fct.host or "all",
            "period": fct.end if fct.measure == "level" else f"{fct.start} to {fct.end}",
            "reported": fct.reported if fct.reported is not None else math.nan,
            "reported_low": fct.low if fct.low is not None else math.nan,
            "reported_high": fct.high if fct.high is not None else math.nan,
            "source": fct.source,
            "note": fct.note,
        }
        for scen in ("calibrated", "defaults"):
            ids = val.runs.loc[val.runs["scenario"] == scen, "run_id"]
            row.update(_interval_columns(scen, [measure(per_run[r], fct, scale) for r in ids]))
            m = row[f"{scen}_mean"]
            if fct.low is not None:
                row[f"{scen}_inside"] = bool(fct.low <= m <= fct.high)
            if fct.reported:
                row[f"{scen}_ratio"] = m / fct.reported
        rows.append(row)
    return pd.DataFrame(rows)


def _interval_columns(scen: str, values) -> dict:
    """<scen>_mean, <scen>_ci_low, <scen>_ci_high: the mean over seeds and its 95% t interval."""
    m, lo, hi = t_interval(np.asarray(values, dtype=float))
    return {f"{scen}_mean": m, f"{scen}_ci_low": lo, f"{scen}_ci_high": hi}
