"""The EMA Workbench adapter: perform_experiments, common random numbers across experiments, PRIM."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import ROOT
from sim import run
from sim.common.errors import OlsimError

ema = pytest.importorskip("ema_workbench")  # the [ema] extra; the [test] extra installs it
warnings.filterwarnings("ignore", message="ipyparallel not installed")

HISTORY = ROOT / "params" / "history.toml"
UNC = {"state.plan_cap": (1.0, 2.0), "policies.1.evasion": (0.0, 0.8)}
OV = {"calendar.months": 36}


def test_perform_experiments_runs_the_model_with_common_random_numbers():
    from ema_workbench import SequentialEvaluator, perform_experiments
    from ema_workbench.analysis import prim

    from sim.ema import ema_model

    model = ema_model(
        HISTORY,
        overrides=OV,
        scale=0.01,
        replications=2,
        uncertainties=UNC,
        levers={"policies.0.compliance": (0.0, 1.0)},
        outcomes=["revenue_delivered_per_year", "net_gain_p50"],
    )
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(model, scenarios=6, policies=2, evaluator=evaluator)
    assert len(experiments) == 12 and set(outcomes) == {"revenue_delivered_per_year", "net_gain_p50"}
    assert len(np.unique(outcomes["revenue_delivered_per_year"])) == 12  # the parameters act
    # experiment 0 is the mean of seeds 0 and 1 of a plain run with its values: replication k is seed k
    row = experiments.iloc[0]
    values = {k: float(row[k]) for k in (*UNC, "policies.0.compliance")}
    from sim.explore.plan import resolve_params
    from sim.core.params import make_params, read_params_file

    p = make_params(resolve_params(read_params_file(HISTORY), {**OV, **values}, 0.01))
    direct = [
        run(p, engine="array", seed=k).outcomes(["revenue_delivered_per_year"])["revenue_delivered_per_year"]
        for k in (0, 1)
    ]
    # a total at full scale (issue 32: one scale everywhere): the simulated 1% divided by 0.01
    assert outcomes["revenue_delivered_per_year"][0] == pytest.approx(np.mean(direct) / 0.01, rel=1e-12)
    # EMA's PRIM reads the results as they are
    low = outcomes["revenue_delivered_per_year"] <= np.median(outcomes["revenue_delivered_per_year"])
    box = prim.Prim(experiments[list(UNC)], low).find_box()
    assert len(box.peeling_trajectory) >= 1


def test_bad_adapter_arguments_are_one_line_errors():
    from sim.ema import ema_model

    with pytest.raises(OlsimError, match="outcomes: unknown revenue"):
        ema_model(outcomes=["revenue"])
    with pytest.raises(OlsimError, match="state.plan_cp"):
        ema_model(uncertainties={"state.plan_cp": (1.0, 2.0)})
    with pytest.raises(OlsimError, match="state.plan_cap"):
        ema_model(uncertainties={"state.plan_cap": (0.5, 2.0)})  # below the schema's bound
    with pytest.raises(OlsimError, match="replications"):
        ema_model(replications=0)


def test_the_example_script_runs():
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "experiments" / "ema_prim.py"),
            "--scale",
            "0.005",
            "--scenarios",
            "12",
            "--replications",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "experiments; revenue delivered" in proc.stdout and "policies.0.evasion" in proc.stdout


def test_a_scalar_spec_is_a_one_line_error():
    from sim.ema import ema_model

    with pytest.raises(OlsimError, match="state.plan_cap: give \\(low, high\\) or a list"):
        ema_model(uncertainties={"state.plan_cap": 1.5})


def test_monthly_series_come_back_at_full_scale_and_draw_as_lines(tmp_path):
    """Issue 32, item 5: ``series`` returns monthly columns as EMA time series (one value a month), a sum over the
    hosts at full scale and a mean per worker as it is, averaged over replications month by month; EMA's ``lines``
    draws them. Broken on purpose (a series left at the simulated scale, or the replications not averaged): fails."""
    import matplotlib

    matplotlib.use("Agg")
    from ema_workbench import SequentialEvaluator, perform_experiments
    from ema_workbench.analysis import plotting

    from sim.core.params import make_params, read_params_file
    from sim.explore.plan import resolve_params
    from sim.ema import ema_model

    series = ("revenue_delivered", "retained_mean")
    model = ema_model(
        HISTORY,
        overrides=OV,
        scale=0.01,
        replications=2,
        uncertainties={"state.plan_cap": (1.0, 2.0)},
        outcomes=["workers_final"],
        series=series,
    )
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(model, scenarios=2, evaluator=evaluator)
    assert outcomes["revenue_delivered"].shape == (2, 36) and outcomes["retained_mean"].shape == (2, 36)
    p = make_params(
        resolve_params(
            read_params_file(HISTORY), {**OV, "state.plan_cap": float(experiments.iloc[1]["state.plan_cap"])}, 0.01
        )
    )
    runs = [run(p, engine="array", seed=k) for k in (0, 1)]
    revenue = np.mean([r.monthly["revenue_delivered"].to_numpy() for r in runs], axis=0) / 0.01
    kept = np.mean([r.monthly["retained_mean"].to_numpy() for r in runs], axis=0)
    np.testing.assert_allclose(outcomes["revenue_delivered"][1], revenue, rtol=1e-12)
    np.testing.assert_allclose(outcomes["retained_mean"][1], kept, rtol=1e-12)
    workers = np.mean([r.outcomes(["workers_final"])["workers_final"] for r in runs]) / 0.01
    assert outcomes["workers_final"][1] == pytest.approx(workers, rel=1e-12)
    figure, _ = plotting.lines(experiments, outcomes, outcomes_to_show="revenue_delivered")
    figure.savefig(tmp_path / "lines.png")
    assert (tmp_path / "lines.png").stat().st_size > 5_000


def test_an_unknown_series_is_a_one_line_error():
    from sim.ema import ema_model

    with pytest.raises(OlsimError, match="series: revenue not a monthly column"):
        ema_model(series=("revenue",))
