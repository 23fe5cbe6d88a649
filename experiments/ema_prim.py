"""Scenario discovery with the EMA Workbench: which assumptions about the sanctions era make revenue low?

    python experiments/ema_prim.py                      # 200 experiments x 2 replicates at 10% scale (~2 minutes)
    python experiments/ema_prim.py --scale 0.02 --scenarios 40

Samples the history scenario's uncertain sanction-response levels (China's compliance with the ban, evasion of
the ban and of the mandate, enforcement after the deadline), runs each with common random numbers
(`sim.ema.ema_model`), and asks PRIM for the box of assumptions where revenue delivered falls in its lowest
quarter. Needs the ``ema`` extra: pip install 'overseas-labor-sim[ema]'.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

UNCERTAINTIES = {
    "policies.0.compliance.china": (0.0, 0.5),  # China's compliance with the permit ban (its claim: "more than half")
    "policies.0.evasion": (0.0, 0.9),  # share of blocked postings sent anyway on visas
    "policies.1.evasion": (0.0, 0.9),  # share of the mandate's repatriations relabelled instead
    "policies.1.after_deadline": (0.0, 0.9),  # enforcement after the deadline
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--replications", type=int, default=2)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="ipyparallel not installed")
    from ema_workbench import SequentialEvaluator, perform_experiments
    from ema_workbench.analysis import prim

    from sim.ema import ema_model

    model = ema_model(
        ROOT / "params" / "history.toml",
        scale=args.scale,
        replications=args.replications,
        uncertainties=UNCERTAINTIES,
        outcomes=["revenue_delivered_per_year", "net_gain_p50"],
    )
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(model, scenarios=args.scenarios, evaluator=evaluator)
    revenue = outcomes["revenue_delivered_per_year"]  # at full scale (sim.ema gives totals so)
    low = revenue <= sorted(revenue)[len(revenue) // 4]
    box = prim.Prim(experiments[list(UNCERTAINTIES)], low).find_box()
    trajectory = box.peeling_trajectory
    dense = trajectory.index[trajectory["density"] >= 0.6]
    chosen = int(dense[0]) if len(dense) else len(trajectory) - 1
    box.select(chosen)
    row = trajectory.iloc[chosen]
    print(
        f"{len(revenue)} experiments; revenue delivered ${revenue.min() / 1e6:.0f}M-${revenue.max() / 1e6:.0f}M a year"
    )
    print(
        f"the box where revenue is in its lowest quarter (coverage {row['coverage']:.0%}, density {row['density']:.0%}):"
    )
    print(box.box_lim.to_string())
    return box


if __name__ == "__main__":
    main()
