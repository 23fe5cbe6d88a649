"""The sanctions era's calibration from start to end (`olsim calibrate params/targets_sanctions.toml`).

The fit (`fit`: ABC-SMC, resumable), the calibrated history and the posterior file, the predictive
checks and the report (`report`), all in one folder; and, for a calibration with the targets file's
own settings, the shipped files beside the targets file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...common.files import atomic_write
from ...explore.posterior import read_posterior
from ..folder import check_calibration_output
from ..smc import CONVERGED, LOW_ACCEPTANCE
from ..targets import ROOT
from .adequacy import adequacy_table, joint_summary, mechanism_rows
from .fit import calibrated_scenario_toml, candidate_misses, fit_sanctions, parameter_table, priors, write_prior_file
from .targets import SanctionsTargets


@dataclass
class SanctionsCalibration:
    folder: Path
    pops: list
    parameters: pd.DataFrame
    checks: dict
    shipped: list[Path]  # the targets file's output and posterior, if replaced


def adequacy(targets: SanctionsTargets, folder: Path) -> tuple[pd.DataFrame, dict]:
    """The adequacy check (`adequacy`) on every candidate the fit simulated: generation 0 (the prior's draws) and
    all generations together."""
    facts = list(targets.spec.fit)
    gens = sorted({int(p.name[1:3]) for p in (folder / "batches").glob("g*-b*")})
    prior = candidate_misses(folder, 0)
    explored = pd.concat([candidate_misses(folder, g) for g in gens], ignore_index=True)
    if prior.empty:  # a fit saved before the misses were: nothing to check
        return pd.DataFrame(), {}
    joint = joint_summary(prior, explored, facts)
    rows = mechanism_rows(prior, explored, targets.spec.mechanisms)
    if len(rows):
        joint["mechanisms"] = rows  # the constrained mechanisms' shares inside their ranges
    return adequacy_table(prior, explored, facts), joint


def calibrate_sanctions(
    targets: SanctionsTargets,
    folder,
    processes=None,
    scheduler=None,
    particles=None,
    generations=None,
    resume=False,
    log=None,
    ship=True,
) -> SanctionsCalibration:
    """The whole sanctions-era calibration: the fit (resumable), the calibrated scenario and the posterior file,
    the predictive checks and the report, all in ``folder``; the targets file's ``output`` and ``posterior`` are
    replaced only by a calibration with the file's own settings (``particles`` and ``generations`` not given, and
    ``ship``: False for an independent run from another seed)."""
    from .report import run_predictive, write_report  # matplotlib only when the report is drawn

    folder = Path(folder)
    s = targets.spec.smc
    own = ship and particles is None and generations is None
    inputs = [("the targets file", targets.path), ("scenario", targets.scenario_path)]
    if own:  # never a file someone wrote by hand, --force or not: --force is about the output folder
        for p in (targets.output_path, targets.posterior_path):
            check_calibration_output(p, inputs, False, "move it, or change the targets file's output or posterior")
    pops = fit_sanctions(targets, folder, processes, scheduler, particles, generations, log)
    # a folder resumed without --budget may hold a trial's generations: only the file's own settings ship
    # (the file's settings stop where they stop: at smc.generations, or earlier on the stopping rule)
    stopped_early = pops[-1].extra.get("stop") in (CONVERGED, LOW_ACCEPTANCE)
    # (generation 0 keeps smc.particles prior draws that could be simulated and that its constraints allow)
    own = (
        own
        and (stopped_early or len(pops) == s.generations)
        and len(pops[0].theta) == s.particles
        and all(len(p.theta) == s.particles for p in pops[1:])
    )
    prior = priors(targets)
    write_prior_file(targets, folder, pops)
    post = read_posterior(folder / "posterior.csv")
    text, _ = calibrated_scenario_toml(targets, post, prior)
    calibrated = folder / "history_calibrated.toml"
    atomic_write(calibrated, text.encode())
    table = parameter_table(post, prior)
    checks = run_predictive(targets, folder, calibrated, processes, scheduler, resume, log)
    checks["adequacy"] = adequacy(targets, folder)
    shipped = []
    if own:
        atomic_write(targets.output_path, text.encode())
        atomic_write(targets.posterior_path, (folder / "posterior.csv").read_bytes())
        shipped = [targets.output_path, targets.posterior_path]
    shown = lambda p: str(p.resolve().relative_to(ROOT)) if p.resolve().is_relative_to(ROOT) else str(p)  # noqa: E731
    write_report(
        targets,
        folder,
        pops,
        table,
        checks,
        shown(targets.output_path) if own else "history_calibrated.toml (this folder)",
        shown(targets.posterior_path) if own else "posterior.csv (this folder)",
    )
    return SanctionsCalibration(folder, pops, table, checks, shipped)
