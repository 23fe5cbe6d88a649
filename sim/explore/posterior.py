"""A posterior as a file the experiment machinery samples from (``posterior = "..."`` in an experiment file).

`olsim calibrate params/targets_sanctions.toml` writes the last ABC-SMC generation as a CSV: one row per
particle (``particle``, ``weight``, ``distance`` and one column per parameter, by its dotted key), preceded by
``# key: value`` comment lines that say what the columns mean:

- ``scenario``: the parameter file the posterior was fitted on (``history.toml``);
- ``policies.N``: the kind of that file's policy N, so that a column ``policies.N.x`` is applied only to a
  scenario whose policy N is of the same kind (anything else is an error naming the column);
- ``relative``: the columns that multiply the scenario's own value (the no-sanctions priors of wage and plan).

An experiment with ``[sampling] method = "posterior"`` and ``n = N`` runs every scenario at N draws of the
posterior, resampled by weight (systematic resampling, seeded by ``sampling.seed``): an unweighted sample, so
the analysis treats the draws alike. Replicate k of every draw and scenario runs with seed + k (common random
numbers within a draw, and across scenarios).
"""

from __future__ import annotations

import fnmatch
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import ExperimentError
from ..common.files import atomic_write

META_RE = re.compile(r"^#\s*([A-Za-z_][\w.]*)\s*:\s*(.*?)\s*$")
RESERVED = ("particle", "weight", "distance")


@dataclass
class Posterior:
    path: Path
    frame: pd.DataFrame  # particle, weight, distance, then one column per parameter
    scenario: str = ""
    policies: dict[int, str] = field(default_factory=dict)  # index -> kind, in the fitted scenario
    relative: set[str] = field(default_factory=set)
    header: list[str] = field(default_factory=list)  # the free-text comment lines

    @property
    def names(self) -> list[str]:
        return [c for c in self.frame.columns if c not in RESERVED]

    @property
    def weights(self) -> np.ndarray:
        w = self.frame["weight"].to_numpy(float)
        return w / w.sum()

    def draws(self, n: int, seed: int) -> np.ndarray:
        """``n`` particle rows resampled by weight: systematic resampling (one uniform offset), seeded."""
        w = self.weights
        u = (np.random.default_rng(seed).random() + np.arange(n)) / n
        return np.minimum(np.searchsorted(np.cumsum(w), u, side="right"), len(w) - 1)

    def quantiles(self, q) -> pd.DataFrame:
        """Weighted quantiles of each parameter (rows: q)."""
        return pd.DataFrame(
            {k: weighted_quantile(self.frame[k].to_numpy(float), self.weights, q) for k in self.names},
            index=list(np.atleast_1d(q)),
        )


def weighted_quantile(x: np.ndarray, w: np.ndarray, q) -> np.ndarray:
    """Quantiles of a weighted sample (the inverse of the weighted empirical CDF, midpoint convention)."""
    order = np.argsort(x, kind="stable")
    x, w = np.asarray(x, float)[order], np.asarray(w, float)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(np.atleast_1d(q), cdf, x)


def write_posterior(
    path: str | os.PathLike,
    frame: pd.DataFrame,
    scenario: str,
    policies: dict[int, str],
    relative: list[str],
    header: list[str],
) -> Path:
    """The posterior CSV with its ``# key: value`` lines (see the module's doc), written atomically."""
    lines = [f"# {h}" if h else "#" for h in header]
    lines.append(f"# scenario: {scenario}")
    lines += [f"# policies.{i}: {kind}" for i, kind in sorted(policies.items())]
    lines.append(f"# relative: {' '.join(sorted(relative))}")
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.8g")
    path = Path(path)
    atomic_write(path, ("\n".join(lines) + "\n" + buf.getvalue()).encode())
    return path


def read_posterior(path: str | os.PathLike) -> Posterior:
    """A posterior CSV; `ExperimentError` (one line) if it is missing, unreadable or not one."""
    p = Path(path)
    if not p.is_file():
        raise ExperimentError(f"posterior: no such file {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ExperimentError(f"posterior: cannot read {p} ({type(e).__name__})") from None
    meta, header = {}, []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        m = META_RE.match(line)
        if m and (m.group(1) in ("scenario", "relative") or m.group(1).startswith("policies.")):
            meta[m.group(1)] = m.group(2)
        else:
            header.append(line.lstrip("#").strip())
    try:
        frame = pd.read_csv(io.StringIO(text), comment="#")
    except (ValueError, pd.errors.ParserError) as e:
        raise ExperimentError(f"posterior: {p} is not a CSV table ({str(e).splitlines()[0][:200]})") from None
    missing = [c for c in ("weight",) if c not in frame.columns]
    if missing or len(frame) == 0:
        raise ExperimentError(
            f"posterior: {p} has no {'weight column' if missing else 'rows'}; write it with olsim calibrate"
        )
    names = [c for c in frame.columns if c not in RESERVED]
    if not names:
        raise ExperimentError(f"posterior: {p} has no parameter columns")
    bad = [c for c in frame.columns if frame[c].dtype.kind not in "fiu"]
    if bad:
        raise ExperimentError(f"posterior: {p}: column {bad[0]} is not numeric")
    w = frame["weight"].to_numpy(float)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ExperimentError(f"posterior: {p}: the weights must be finite, at least 0 and not all 0")
    values = frame[names].to_numpy(float)
    if not np.all(np.isfinite(values)):
        raise ExperimentError(f"posterior: {p}: a parameter value is missing or not finite")
    policies = {}
    for k, v in meta.items():
        if k.startswith("policies."):
            idx = k.split(".", 1)[1]
            if not idx.isdigit():
                raise ExperimentError(f"posterior: {p}: '# {k}:' must name a policy by its number (policies.0)")
            policies[int(idx)] = v
    relative = set(meta.get("relative", "").split())
    unknown = sorted(relative - set(names))
    if unknown:
        raise ExperimentError(f"posterior: {p}: '# relative:' names {unknown[0]}, which is not a column")
    return Posterior(p, frame, meta.get("scenario", ""), policies, relative, header)


_POLICY_KEY = re.compile(r"^policies\.(\d+)\.")


def scenario_columns(post: Posterior, without: list[str], policies: list[dict], scenario: str) -> list[str]:
    """The posterior columns a scenario takes: all but those matching ``without`` (glob patterns), each
    ``policies.N.*`` column checked against the scenario's policy N (same kind as in the fitted scenario)."""
    for pattern in without:
        if not any(fnmatch.fnmatchcase(c, pattern) for c in post.names):
            raise ExperimentError(
                f"scenario {scenario}: without: '{pattern}' matches no column of the posterior "
                f"({', '.join(post.names[:4])}, ...)"
            )
    out = []
    for c in post.names:
        if any(fnmatch.fnmatchcase(c, pattern) for pattern in without):
            continue
        m = _POLICY_KEY.match(c)
        if m:
            i = int(m.group(1))
            fitted = post.policies.get(i)
            here = policies[i].get("kind") if i < len(policies) else None
            if fitted is None:
                raise ExperimentError(f"posterior: {post.path}: column {c} but no '# policies.{i}:' line says its kind")
            if here != fitted:
                what = f"policy {i} here is {here}" if here else f"this scenario has no policy {i}"
                raise ExperimentError(
                    f"scenario {scenario}: posterior column {c} belongs to a {fitted} policy, but "
                    f"{what}; add it to the scenario's without = [...] (e.g. 'policies.*')"
                )
        out.append(c)
    return out
