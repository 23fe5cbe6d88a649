"""``olsim compare A.toml B.toml ...``: an experiment made of parameter files, one scenario each.

Every file becomes a scenario (named after the file); each runs ``replicates`` times with seeds seed, seed+1,
... shared by every scenario (common random numbers), so the changes from the reference are paired run by run.
Each run starts with a warm-up (``calendar.warmup``, 36 months by default: one contract, so the initial workers'
empty ledgers do not drift into the first years; ODD Known gap 4).
The experiment is the ordinary kind (`plan_experiment`): it runs on the local pool or a Dask cluster, streams its
runs to disk and resumes; its file is written beside the results (``experiment.toml``), so the folder says
what was compared and ``olsim experiment DIR/experiment.toml`` would run it again.
"""

from __future__ import annotations

import re
from pathlib import Path

import tomli_w

from ..common import shipped
from ..common.errors import ExperimentError, OlsimError
from ..results.outcomes import COMPARED
from .plan import Plan, plan_experiment

COMPARE_OUTCOMES = list(COMPARED)  # the report's table and three more (declared in sim.results.outcomes)


def _name(path: Path, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_\-]", "_", path.stem) or "scenario"
    if not re.match(r"[A-Za-z0-9]", base):
        base = "s" + base
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}-{k}"
    taken.add(name)
    return name


def compare_experiment(
    files: list[str],
    reference: str | None = None,
    replicates: int = 5,
    scale: float = 0.1,
    months: int | None = None,
    seed: int = 0,
    warmup: int = 36,
) -> tuple[dict, Plan]:
    """The experiment comparing ``files`` (paths or shipped names): (its TOML as a dict, its plan).
    `ExperimentError` (one line per problem) for a missing file, an unknown reference, bad numbers."""
    if len(files) < 2:
        raise ExperimentError(
            "olsim compare: give at least two parameter files (the first is the reference unless "
            "--reference names another)"
        )
    problems, paths = [], []
    for f in files:
        try:
            p = shipped.resolve(f, "params")
        except OlsimError as e:
            problems.append(str(e))
            continue
        if not p.is_file():
            problems.append(f"{f}: no such file")
            continue
        paths.append((f, p.resolve()))
    if problems:
        raise ExperimentError(problems)
    taken: set[str] = set()
    scenarios = []
    for given, p in paths:
        name = _name(p, taken)
        scenarios.append(
            {"name": name, "label": name.replace("_", " ")[:60], "params": str(p), "description": f"{given}"}
        )
    ref = scenarios[0]["name"]
    if reference is not None:
        exact = [
            s["name"]
            for s, (given, p) in zip(scenarios, paths)
            if reference in (s["name"], given) or _same_file(reference, p)
        ]
        stem = [s["name"] for s, (given, p) in zip(scenarios, paths) if Path(reference).stem == p.stem]
        match = exact or stem
        if not match:
            raise ExperimentError(
                f"--reference {reference}: not one of the compared files ({', '.join(s['name'] for s in scenarios)})"
            )
        if not exact and len(stem) > 1:
            raise ExperimentError(
                f"--reference {reference}: {len(stem)} compared files are named {Path(reference).stem}; "
                f"give its path or its scenario name ({', '.join(stem)})"
            )
        ref = match[0]
    raw = {
        "name": "compare-" + "-".join(s["name"] for s in scenarios)[:80],
        "seed": seed,
        "replicates": replicates,
        "scale": scale,
        "reference": ref,
        "outcomes": COMPARE_OUTCOMES,
        "scenarios": scenarios,
        "overrides": {"calendar.warmup": warmup},
        "description": "olsim compare " + " ".join(given for given, _ in paths),
    }
    if months is not None:
        raw["months"] = months
    text = (
        "# written by olsim compare: every file a scenario, the same seeds in each (common random numbers)\n"
        + tomli_w.dumps(raw)
    )
    plan = plan_experiment(raw, Path.cwd(), text=text)
    calendars = {name: (p["calendar"]["start"], p["calendar"]["months"]) for name, p in plan.scenario_params.items()}
    if len(set(calendars.values())) > 1:  # paired changes of different periods would mean nothing
        listed = "; ".join(f"{name}: {m} months from {start}" for name, (start, m) in calendars.items())
        raise ExperimentError(
            f"olsim compare: the files run different calendars ({listed}); compare files with "
            f"the same calendar.start, and the same months or --months N"
        )
    return raw, plan


def _same_file(given: str, path: Path) -> bool:
    try:
        return Path(given).resolve() == path
    except OSError:
        return False


def default_out(plan: Plan) -> Path:
    return Path("results") / "compare" / "-vs-".join(s.name for s in plan.spec.scenarios)[:120]
