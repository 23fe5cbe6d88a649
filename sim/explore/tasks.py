"""One task: run a (scenario, sample, replicate) and return what the store writes. A pure
function of the task, so an in-process loop, a local pool and a Dask cluster agree."""

from __future__ import annotations

import os
import time


def run_task(task: dict) -> dict:
    """Run one (scenario, sample, replicate): a pure function of the task, on any executor."""
    # imported here, so that importing the evaluators (to start the pool early) imports none of the model
    from ..core.params import make_params
    from ..engines.runner import run
    from ..results.outcomes import distributions_of, outcomes_of

    t0 = time.perf_counter()
    params = make_params(task["params"])
    result = run(params, engine=task["engine"], seed=task["seed"])
    ids = {
        "run_id": task["run_id"],
        "scenario": task["scenario"],
        "sample": task["sample"],
        "replicate": task["replicate"],
    }
    row = {**ids, "seed": task["seed"], **task["values"], **outcomes_of(result, task["outcomes"])}
    monthly = result.monthly.copy()
    for i, (k, v) in enumerate(ids.items()):
        monthly.insert(i, k, v)
    dist = distributions_of(result)
    for i, (k, v) in enumerate(ids.items()):
        dist.insert(i, k, v)
    payload = {
        "row": row,
        "monthly": monthly,
        "distributions": dist,
        "seconds": time.perf_counter() - t0,
        "host": os.uname().nodename,
        "pid": os.getpid(),
    }
    if task.get("hosts"):
        hosts = result.hosts.copy()
        for i, (k, v) in enumerate(ids.items()):
            hosts.insert(i, k, v)
        payload["hosts"] = hosts
    return payload
