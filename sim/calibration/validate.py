"""The validation facts of a targets file, measured like for like on one or more scenarios.

    python -m sim.calibration.validate params/history.toml params/history_strict.toml params/history_lax.toml

Runs each scenario with several seeds (array engine) and prints, per fact of the targets file's
``[validation]`` table, what was reported and each scenario's mean with its range over the seeds. Each fact
says how it is measured from the per-host monthly table (`measures.measure`): permit counts against
``permit_holders``, entries by purpose against postings by legal status, "abroad" estimates against every
worker. It fits nothing: the next calibration splits these facts into a fit set and a held-out set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..common import shipped
from ..common.errors import OlsimError
from ..common.formatting import number
from ..core.params import make_params, read_params_file
from ..engines import run
from ..explore.plan import resolve_params
from .measures import measure
from .targets import load_targets


def validation_table(
    targets_path, scenarios, seeds: int = 3, scale: float = 1.0, engine: str = "array"
) -> pd.DataFrame:
    """One row per validation fact: what, reported, and per scenario the mean, min and max over ``seeds`` runs."""
    targets = load_targets(targets_path)
    facts = targets.spec.validation
    if not facts:
        raise OlsimError(f"{targets.path}: no [validation] facts to measure")
    rows = {
        k: {"fact": k, "what": f.what, "measure": f.measure, "column": f.column, "reported": f.reported}
        for k, f in facts.items()
    }
    for path in scenarios:
        name = Path(path).stem
        params = make_params(resolve_params(read_params_file(path), {}, scale, str(path)))
        values: dict[str, list[float]] = {k: [] for k in facts}
        for seed in range(seeds):
            hosts = run(params, engine=engine, seed=seed).hosts
            for k, f in facts.items():
                values[k].append(measure(hosts, f, scale))
        for k, v in values.items():
            rows[k].update({name: float(np.mean(v)), f"{name}_min": float(np.min(v)), f"{name}_max": float(np.max(v))})
    return pd.DataFrame(list(rows.values()))


def _shown(value: float, share: bool, money: bool) -> str:
    if value != value:
        return "n/a"
    if share:
        return f"{value:+.0%}" if value < 0 else f"{value:.0%}"
    return number(value, money=money, full=not money)


def markdown(table: pd.DataFrame, scenarios) -> str:
    names = [Path(s).stem for s in scenarios]
    lines = ["| fact | measured as | reported | " + " | ".join(names) + " |", "|---|---|---:|" + "---:|" * len(names)]
    for _, r in table.iterrows():
        kind = (r["measure"] in ("change", "share"), r["column"].startswith("revenue"))
        cells = []
        for n in names:
            mean, lo, hi = _shown(r[n], *kind), _shown(r[f"{n}_min"], *kind), _shown(r[f"{n}_max"], *kind)
            cells.append(mean if lo == hi else f"{mean} ({lo} to {hi})")
        reported = "n/a" if r["reported"] is None or r["reported"] != r["reported"] else _shown(r["reported"], *kind)
        lines.append(f"| {r['what']} | {r['column']} | {reported} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.calibration.validate", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="+", help="parameter files (TOML)")
    parser.add_argument(
        "--targets",
        default=str(shipped.folder("params") / "targets.toml"),
        help="the targets file whose [validation] facts are measured (default params/targets.toml)",
    )
    parser.add_argument("--seeds", type=int, default=3, help="runs per scenario, seeds 0, 1, ... (default 3)")
    parser.add_argument("--scale", type=float, default=1.0, help="share of every host's workers simulated (default 1)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or not 0 < args.scale <= 1:
        print("validate: --seeds must be at least 1 and --scale in (0, 1]", file=sys.stderr)
        return 2
    try:
        table = validation_table(args.targets, args.scenarios, seeds=args.seeds, scale=args.scale)
    except OlsimError as e:
        for line in e.errors:
            print(f"validate: {line}", file=sys.stderr)
        return 2
    print(markdown(table, args.scenarios))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
