# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # overseas-labor-sim: a quick start
#
# Load parameters, run the model, plot it, compare two policies, and run a small experiment with replicates.
# Open it as a notebook with `jupytext --to notebook docs/quickstart.py`, or run it as a script:
# `python docs/quickstart.py` (the test suite does, so it cannot rot). Everything here runs at 2% of the
# real workforce (about 2,000 workers) so it takes seconds; drop `SMALL` for the full population.

# %%
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no window when run as a script; a notebook shows the figures inline
import matplotlib.pyplot as plt

from sim import load_params, run
from sim.common import shipped

SMALL = {f"hosts.{h}.workers": max(1, n // 50) for h, n in
         {"china": 50_000, "russia": 30_000, "gulf": 8_000, "africa": 5_000, "asia": 4_000, "europe": 1_000}.items()}
OUT = Path(tempfile.mkdtemp(prefix="olsim-quickstart-"))

# %% [markdown]
# ## 1. Load parameters and run
# `load_params` takes a parameter file (or None for the baseline) and dotted overrides, the same keys as
# `olsim run --set`. `run` returns the tables: `monthly`, `hosts` (per host and month) and `workers`.
# The shipped files are found by name wherever the package is installed.

# %%
baseline = load_params(shipped.resolve("no_sanctions", "params"), SMALL)
result = run(baseline, seed=0)  # the array engine; engine="mesa" runs the reference engine
print(result.monthly[["date", "workers_active", "state_take", "revenue_delivered", "retained_median"]].head())
summary = result.summary
print(f"the state takes ${summary['state_take_per_worker_month']:,.0f} a worker-month; "
      f"a worker keeps {summary['worker_share_kept']:.0%} of what he earns")

# %% [markdown]
# ## 2. Plot
# Plain pandas and matplotlib on the tables: revenue delivered home, at the simulated scale (2%).

# %%
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(result.monthly["date"], result.monthly["revenue_delivered"] / 1e6)
ax.set_ylabel("revenue delivered, $M a month\n(2% of the workforce)")
ax.set_ylim(0, 1.15 * result.monthly["revenue_delivered"].max() / 1e6)  # from zero: no exaggerated wiggles
ax.set_xticks(result.monthly["date"][::24])
fig.tight_layout()
fig.savefig(OUT / "revenue.png")

# %% [markdown]
# ## 3. Compare two policies
# The same seed gives the same luck to the same worker in every scenario (common random numbers), so the
# difference between two runs is the policy's effect, not noise.

# %%
policies = {"permit ban": "policies/permit_ban", "direct wages": "policies/direct_wages"}
for label, name in policies.items():
    r = run(load_params(shipped.resolve(name, "params"), SMALL), seed=0)
    s = r.summary
    print(f"{label:13}: revenue {s['revenue_delivered_per_year'] / summary['revenue_delivered_per_year'] - 1:+.0%}, "
          f"kept per month worked {s['retained_per_worker_month'] / summary['retained_per_worker_month'] - 1:+.0%}")

# %% [markdown]
# ## 4. A small experiment
# Scenarios x replicates, with 95% intervals over the replicates and the paired change from the reference
# (`olsim experiment` runs the same from a file; `shipped.resolve("quick", "experiments")` is one).

# %%
from sim.explore import plan_experiment, run_experiment

experiment = {
    "name": "quickstart", "replicates": 3, "months": 36, "scale": 0.02, "reference": "no_sanctions",
    "outcomes": ["revenue_delivered_per_year", "retained_per_worker_month"],
    "scenarios": [{"name": "no_sanctions", "params": str(shipped.resolve("no_sanctions", "params"))},
                  {"name": "history", "params": str(shipped.resolve("history", "params"))}],
}
done = run_experiment(plan_experiment(experiment), OUT / "experiment", processes=1, plots=False)
table = done.summary()
print(table[["scenario", "outcome", "mean", "ci_low", "ci_high", "diff_pct"]].to_string(index=False))
