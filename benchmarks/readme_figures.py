"""The figures the README quotes from the model, recomputed (for `benchmarks/mutation.py --readme`: does a mutant
the tests let live change a number a reader sees?). Run by hand, not in CI:

    python benchmarks/readme_figures.py OUT.json      # from the repository root, or with PYTHONPATH at a copy

Writes a JSON object, one entry per figure group, each a string to compare exactly:

* ``summary block``: `olsim run`'s summary of the default run (full scale, array engine, seed 0), which the README
  shows line for line (tests/test_docs_numbers.py checks that it does);
* ``policy runs``: every outcome of every scenario of experiments/sanctions.toml (the README's policy table) on its
  first posterior draw, one replicate, at 5% scale: the runs the table is a summary of, at a size one process can
  afford per mutant (the shipped table is 40 draws x 2 replicates at full scale, 1,280 runs);
* ``compare report``: report.md and the headline numbers of ``olsim compare params/no_sanctions.toml
  params/history.toml --replicates 3 --scale 0.02``, the command whose report the README pictures
  (docs/figures/compare_report.png), its "written" time and commit left out.

A mutant whose three entries equal the unmutated code's changes none of these figures.
"""

from __future__ import annotations

import json
import sys
import tempfile
import tomllib
from pathlib import Path


def summary_block() -> str:
    from sim import load_params, run
    from sim.cli import summary_table

    return summary_table(run(load_params(), seed=0).summary)


def policy_runs(root: Path) -> str:
    from sim.explore import plan_experiment
    from sim.explore.tasks import run_task

    path = root / "experiments" / "sanctions.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    raw["scale"], raw["replicates"] = 0.05, 1
    raw["sampling"] = {**raw["sampling"], "n": 1}
    plan = plan_experiment(raw, path.parent)
    rows = []
    for task in plan.tasks:
        row = run_task(task)["row"]
        rows.append({k: repr(v) for k, v in row.items()})
    return json.dumps(rows, sort_keys=True)


def compare_report() -> str:
    from sim.explore import run_experiment
    from sim.explore.compare import compare_experiment
    from sim.explore.report import headline, write_report

    _, plan = compare_experiment(["no_sanctions", "history"], replicates=3, scale=0.02)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_experiment(plan, Path(tmp) / "c", processes=1, plots=False)
        write_report(result, draw=False)
        md = (Path(tmp) / "c" / "report.md").read_text(encoding="utf-8").splitlines()
        numbers = headline(result).to_json(double_precision=15)
    # when and from which commit it was written: not a figure (and the commit moves while a check runs)
    md = [line for line in md if not line.startswith(("| written |", "| commit |"))]
    return "\n".join(md) + "\n" + numbers


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python benchmarks/readme_figures.py OUT.json", file=sys.stderr)
        return 2
    try:
        import sim
    except ImportError:  # run from the checkout: its package (a mutant's copy comes first on PYTHONPATH)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        import sim

    root = Path(sim.__file__).resolve().parents[1]
    figures = {"summary block": summary_block(), "policy runs": policy_runs(root), "compare report": compare_report()}
    Path(argv[0]).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
