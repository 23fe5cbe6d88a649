"""Do independent calibrations agree? The posteriors of ABC-SMC runs from different seeds, side by side.

A posterior is only worth reading if another run of the same calibration, from another seed, finds the same one
(issue 30, item 1). Each run is `olsim calibrate params/targets_sanctions.toml --seed S --out DIR`; this module
compares their ``posterior.csv`` files parameter by parameter. Medians are compared on the prior's cumulative
probability (0 to 1), so every parameter counts on the same scale and a difference of 0.10 is 10% of the prior's
range for a uniform prior (and 10% of its probability for any other): the runs **agree** on a parameter when every
pair of medians is within ``TOLERANCE`` of each other there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...common.errors import ExperimentError
from ...explore.posterior import Posterior, read_posterior, weighted_quantile
from ..targets import Prior

TOLERANCE = 0.10  # medians within 10% of the prior's range (on its CDF) of each other
BOOTSTRAP = 400  # resamples of a run's particles for the Monte Carlo error of its weighted median


def median_error(x: np.ndarray, w: np.ndarray, cdf, reps: int = BOOTSTRAP, seed: int = 0) -> float:
    """The Monte Carlo standard error of a weighted median on the prior's CDF: the standard deviation of the
    median over bootstrap resamples of the particles (value and weight together, so the weights' unevenness, the
    effective sample size, counts). With an ESS of ~75 and a posterior as wide as its prior it is about 0.06."""
    rng = np.random.default_rng(seed)
    n = len(x)
    idx = rng.integers(0, n, size=(reps, n))
    meds = np.array([weighted_quantile(x[i], w[i], 0.5)[0] for i in idx])
    return float(np.std(cdf(meds), ddof=1))


def agreement_table(posteriors: dict[str, Posterior], prior: dict[str, Prior]) -> pd.DataFrame:
    """One row per parameter: each run's weighted median and 90% interval, the largest gap between two runs'
    medians on the prior's CDF, and whether they agree (gap <= ``TOLERANCE``); and the gap's Monte Carlo error
    (``noise``: the two extreme runs' median errors, `median_error`, added in quadrature), so a gap that is the
    particles' sampling noise is told from one between posteriors (``within_noise``: gap <= 2 x noise)."""
    if len(posteriors) < 2:
        raise ExperimentError("agreement: give at least two calibrations to compare")
    names = None
    for label, post in posteriors.items():
        if names is None:
            names = post.names
        elif post.names != names:
            raise ExperimentError(f"agreement: {label} is a calibration of other parameters than the first")
    assert names is not None  # at least two posteriors
    rows = []
    for k in names:
        if k not in prior:
            raise ExperimentError(f"agreement: {k} has no prior in the targets file")
        f = prior[k].frozen()
        row: dict[str, str | float | bool] = {"parameter": k}
        medians, errors = [], []
        for label, post in posteriors.items():
            x = post.frame[k].to_numpy(float)
            lo, mid, hi = weighted_quantile(x, post.weights, [0.05, 0.5, 0.95])
            row[f"{label}_p05"], row[f"{label}_p50"], row[f"{label}_p95"] = float(lo), float(mid), float(hi)
            medians.append(float(f.cdf(mid)))
            errors.append(median_error(x, np.asarray(post.weights, float), f.cdf))
            row[f"{label}_se"] = errors[-1]
        gap = float(np.max(medians) - np.min(medians))
        row["gap"] = gap
        row["agree"] = gap <= TOLERANCE
        noise = float(np.hypot(errors[int(np.argmax(medians))], errors[int(np.argmin(medians))]))
        row["noise"] = noise
        row["within_noise"] = gap <= 2 * noise
        rows.append(row)
    return pd.DataFrame(rows)


def run_label(given: Path) -> str:
    """How a run is named in the comparison: its folder's name, or a posterior file's name without the suffix."""
    return given.stem if given.is_file() else given.name


def read_runs(folders: list[Path]) -> dict[str, Posterior]:
    """Each finished calibration's posterior, labelled by its folder's name (one line if one is missing); a
    posterior file itself (the shipped ``params/posterior_sanctions.csv``) may stand for its folder, labelled by
    its name without the suffix."""
    out = {}
    for folder in folders:
        given = Path(folder)
        path = given if given.is_file() else given / "posterior.csv"
        if not path.is_file():
            raise ExperimentError(f"{folder}: no posterior.csv (not a finished sanctions calibration)")
        label = run_label(given)
        if label in out:
            raise ExperimentError(f"{folder}: two calibrations named {label}; give folders with different names")
        out[label] = read_posterior(path)
    return out


def run_summary(post: Posterior, folder: Path | None = None) -> str:
    """What a posterior file says of its run ("ABC-SMC generation 6 (200 particles, tolerance 1.895 in the fit's
    units, ESS 81)"), from its first comment line, or ''; given its calibration's folder, also the seed the run
    was started with (its calibration.json), so that the comparison can be made again."""
    import json
    import re

    said = ""
    for line in post.header:
        m = re.search(r"ABC-SMC generation \d+ \([^)]*\)", line)
        if m:
            said = m.group(0)
            break
    record = Path(folder) / "calibration.json" if folder is not None else None
    if said and record is not None and record.is_file():
        try:
            seed = json.loads(record.read_text()).get("seed")
        except (OSError, ValueError):
            seed = None
        if isinstance(seed, int):
            said += f", seed {seed}"
    return said


def agreement_lines(table: pd.DataFrame, labels: list[str], about: dict[str, str] | None = None) -> list[str]:
    """The comparison in words and as a markdown table; ``about``: a line on each run (`run_summary`)."""
    n, agree = len(table), int(table["agree"].sum())
    apart = table[~table["agree"].astype(bool)]
    noisy = int(apart["within_noise"].astype(bool).sum())
    lines = [
        "## Agreement of independent runs",
        "",
        f"Independent calibrations ({', '.join(labels)}): their posterior medians agree (within {TOLERANCE:.0%} of "
        f"the prior's range of each other) on {agree} of {n} parameters.",
    ]
    said = {k: v for k, v in (about or {}).items() if v}
    if said:
        lines += ["", *(f"- {k}: {v}" for k, v in said.items())]
    if len(apart):
        lines += [
            "",
            f"Of the {len(apart)} that do not, {noisy} differ by less than twice the Monte Carlo error of the runs' "
            f"weighted medians (the noise column: a bootstrap over each run's particles, so it grows as the "
            f"effective sample size falls): those gaps are the particles' sampling noise, which more particles "
            f"would shrink; "
            + (
                f"{len(apart) - noisy} differ by more (the runs found different posteriors there)."
                if noisy < len(apart)
                else "none differs by more."
            ),
        ]
    lines += [
        "",
        "| parameter | " + " | ".join(f"{x}: median [90%]" for x in labels) + " | largest gap | noise | agree |",
        "|---|" + "---|" * len(labels) + "---:|---:|---|",
    ]
    for _, r in table.iterrows():
        cells = [f"{r[f'{x}_p50']:.3g} [{r[f'{x}_p05']:.3g}, {r[f'{x}_p95']:.3g}]" for x in labels]
        lines.append(
            f"| `{r['parameter']}` | "
            + " | ".join(cells)
            + f" | {r['gap']:.2f} | {r['noise']:.2f} | "
            + ("yes" if r["agree"] else "no, within noise" if r["within_noise"] else "**no**")
            + " |"
        )
    return lines
