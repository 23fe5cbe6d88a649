"""Results: the monthly, hosts and workers tables, a summary, save and load.

`MonthAggregator` turns one month's per-worker flows into a row of
``monthly`` and one row per host of ``hosts``; both engines call it with the
workers in id order, so the tables are computed by the same code, adding the
same numbers in the same order.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

MONTHLY_COLUMNS = [
    "month", "date", "workers_active", "minders_active", "deployed", "completed", "sent_home", "repatriated",
    "escape_attempts", "escaped", "caught", "deaths", "wages_gross", "side_earnings", "state_take", "bribes_paid",
    "worker_retained", "revenue_delivered", "revenue_interdicted", "transfer_costs", "plan_mean", "hours_mean",
    "retained_mean", "retained_p10", "retained_median", "retained_p90", "retained_gini", "share_zero_retained",
    # beyond the brief's minimum
    "workers_working", "entry_bribes", "forfeited", "ledger_paid", "policies",
]
HOST_COLUMNS = [
    "month", "date", "host", "workers_active", "minders_active", "deployed", "completed", "sent_home", "repatriated",
    "escape_attempts", "escaped", "caught", "deaths", "wages_gross", "side_earnings", "state_take", "bribes_paid",
    "worker_retained", "revenue_delivered", "revenue_interdicted", "transfer_costs", "plan", "hours_mean",
    "retained_mean", "workers_working", "entry_bribes", "forfeited", "ledger_paid",
]
WORKER_COLUMNS = [
    "worker_id", "host", "status", "month_deployed", "month_left", "entry_bribe", "retained_total", "bribes_total",
    "side_earnings_total", "forfeited_total", "net_gain", "months_abroad", "productivity", "loyalty",
]
EXITS = ("completed", "sent_home", "repatriated", "escaped", "caught", "dead")
STATUSES = ("active", *EXITS)
STATUS_CODE = {name: i for i, name in enumerate(STATUSES)}

# calibration targets of the brief (model.md), no-sanctions scenario
TARGETS = {
    "worker_share_kept": (0.10, 0.35, "share of gross earnings the worker keeps"),
    "state_take_per_worker_month": (190.0, 830.0, "state take per worker-month, USD"),
    "escapes_per_1000_worker_years": (0.5, 5.0, "successful escapes per 1,000 worker-years"),
    "deaths_per_10000_worker_years": (10.0, 25.0, "deaths per 10,000 worker-years"),
    "hours_mean": (12.0, 16.0, "mean hours per day"),
    "entry_bribe_median": (100.0, 3000.0, "median entry bribe, USD"),
}


def format_money(x: float) -> str:
    """$1.4M, $12.3k, $950; n/a for NaN (tables and the classroom page)."""
    if x != x:
        return "n/a"
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"${x / div:,.1f}{unit}"
    return f"${x:,.0f}"


def percentile_sorted(ordered: np.ndarray, q: float) -> float:
    """The q-th percentile of sorted values, interpolating linearly (numpy's default method)."""
    n = len(ordered)
    pos = q / 100.0 * (n - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * frac)


def gini(values: np.ndarray, is_sorted: bool = False) -> float:
    """Gini coefficient of non-negative values (0 = equal; NaN if all are 0)."""
    x = np.asarray(values, dtype=float) if is_sorted else np.sort(np.asarray(values, dtype=float))
    n = len(x)
    total = x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    # G = sum_i (2i - n - 1) x_(i) / (n sum x), with ranks i = 1..n of the sorted values.
    # np.sum, not np.dot: a BLAS dot product splits the sum over threads, so its
    # rounding would depend on the thread count (and it spins a core in pool workers)
    weighted = float(np.sum(np.arange(1, n + 1, dtype=float) * x))
    return 2.0 * weighted / (n * total) - (n + 1) / n


class MonthAggregator:
    """Builds the tables row by row; shared by both engines."""

    def __init__(self, params):
        self.params = params
        self.hosts = list(params.hosts)
        self.monthly: list[dict] = []
        self.host_rows: list[dict] = []

    def month(self, *, month, host, gross, side, take, bribes, retained, hours, status, repatriated_idle, deployed,
              escape_attempts, entry_bribes, delivered, interdicted, costs, plans, forfeited, ledger_paid,
              workers_active, minders_active, policies) -> dict:
        """One month's rows from the arrays of the workers who worked (in id order) and per-host totals.

        ``status`` holds each worker's status code (STATUS_CODE) after the month.
        Sums run in worker-id order (np.bincount adds sequentially), so both
        engines, which pass the same workers in the same order, get the same bits.
        """
        date = self.params.calendar.date(month)
        n_hosts = len(self.hosts)
        host = np.asarray(host, dtype=np.int64)

        def by_host(values):
            return np.bincount(host, weights=values, minlength=n_hosts)

        working = np.bincount(host, minlength=n_hosts)
        code = np.asarray(status, dtype=np.int64) * n_hosts + host
        exits = np.bincount(code, minlength=len(STATUSES) * n_hosts).reshape(len(STATUSES), n_hosts)
        sums = {name: by_host(values) for name, values in
                (("wages_gross", gross), ("side_earnings", side), ("state_take", take), ("bribes_paid", bribes),
                 ("worker_retained", retained), ("hours", hours))}
        rows = []
        for h in range(n_hosts):
            n_h = int(working[h])
            r = {
                "month": month, "date": date, "host": self.hosts[h],
                "workers_active": int(workers_active[h]), "minders_active": int(minders_active[h]),
                "deployed": int(deployed[h]),
                "completed": int(exits[STATUS_CODE["completed"], h]), "sent_home": int(exits[STATUS_CODE["sent_home"], h]),
                "repatriated": int(exits[STATUS_CODE["repatriated"], h]) + int(repatriated_idle[h]),
                "escape_attempts": int(escape_attempts[h]), "escaped": int(exits[STATUS_CODE["escaped"], h]),
                "caught": int(exits[STATUS_CODE["caught"], h]), "deaths": int(exits[STATUS_CODE["dead"], h]),
                "wages_gross": float(sums["wages_gross"][h]), "side_earnings": float(sums["side_earnings"][h]),
                "state_take": float(sums["state_take"][h]), "bribes_paid": float(sums["bribes_paid"][h]),
                "worker_retained": float(sums["worker_retained"][h]),
                "revenue_delivered": float(delivered[h]), "revenue_interdicted": float(interdicted[h]),
                "transfer_costs": float(costs[h]), "plan": float(plans[h]),
                "hours_mean": float(sums["hours"][h]) / n_h if n_h else float("nan"),
                "retained_mean": float(sums["worker_retained"][h]) / n_h if n_h else float("nan"),
                "workers_working": n_h, "entry_bribes": float(entry_bribes[h]),
                "forfeited": float(forfeited[h]), "ledger_paid": float(ledger_paid[h]),
            }
            rows.append(r)
        self.host_rows.extend(rows)
        n = len(retained)
        total = {k: sum(r[k] for r in rows) for k in ("workers_active", "minders_active", "deployed", *EXITS[:2], "repatriated",
                                                      "escape_attempts", "escaped", "caught", "deaths", "workers_working")}
        money = {k: math.fsum(r[k] for r in rows) for k in ("wages_gross", "side_earnings", "state_take", "bribes_paid",
                                                            "worker_retained", "revenue_delivered", "revenue_interdicted",
                                                            "transfer_costs", "entry_bribes", "forfeited", "ledger_paid")}
        if n:
            ordered = np.sort(np.asarray(retained, dtype=float))
            dist = {
                "plan_mean": float(np.dot(np.asarray(plans, dtype=float), working)) / n, "hours_mean": math.fsum(sums["hours"]) / n,
                "retained_mean": money["worker_retained"] / n,
                "retained_p10": percentile_sorted(ordered, 10), "retained_median": percentile_sorted(ordered, 50),
                "retained_p90": percentile_sorted(ordered, 90),
                "retained_gini": gini(np.maximum(ordered, 0.0), is_sorted=True),
                "share_zero_retained": float(np.searchsorted(ordered, 0.0, side="right")) / n,
            }
        else:
            dist = {k: float("nan") for k in ("plan_mean", "hours_mean", "retained_mean", "retained_p10", "retained_median",
                                              "retained_p90", "retained_gini", "share_zero_retained")}
        row = {"month": month, "date": date, **total, **money, **dist, "policies": "; ".join(policies)}
        row = {k: row[k] for k in MONTHLY_COLUMNS}
        self.monthly.append(row)
        return row


@dataclass
class Result:
    """What a run produced. The tables are pandas DataFrames with the brief's columns."""

    monthly: pd.DataFrame
    hosts: pd.DataFrame
    workers: pd.DataFrame
    manifest: dict = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        return summarise(self)

    # ------------------------------------------------------------ files
    def save(self, folder: str | os.PathLike, force: bool = False) -> Path:
        """Write the four files into ``folder`` atomically (a temporary folder, then a rename).

        An existing folder is never overwritten unless ``force``, and even
        then only if it is a run folder (it holds manifest.json) or empty; it
        is replaced only once the new one is complete, and put back if the
        replacement fails.
        """
        folder = Path(folder).absolute()
        check_output_folder(folder, force)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            os.chmod(tmp, 0o777 & ~_umask())
            self.monthly.to_parquet(tmp / "monthly.parquet", index=False)
            self.hosts.to_parquet(tmp / "hosts.parquet", index=False)
            self.workers.to_parquet(tmp / "workers.parquet", index=False)
            manifest = {**self.manifest, "summary": _jsonable(self.summary)}
            (tmp / "manifest.json").write_text(json.dumps(_jsonable(manifest), indent=2) + "\n")
            if folder.exists():
                check_output_folder(folder, force)  # it may have appeared while running
                old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
                folder.rename(old)
                try:
                    tmp.rename(folder)
                except BaseException:
                    old.rename(folder)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "Result":
        folder = Path(folder)
        missing = [f for f in ("manifest.json", "monthly.parquet", "hosts.parquet", "workers.parquet") if not (folder / f).exists()]
        if missing:
            raise FileNotFoundError(f"{folder}: not a run folder (missing {', '.join(missing)})")
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest.pop("summary", None)
        return cls(
            monthly=pd.read_parquet(folder / "monthly.parquet"),
            hosts=pd.read_parquet(folder / "hosts.parquet"),
            workers=pd.read_parquet(folder / "workers.parquet"),
            manifest=manifest,
        )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_folder(folder: str | os.PathLike, force: bool = False) -> None:
    """Raise FileExistsError/NotADirectoryError/PermissionError (one line) if results cannot go to ``folder``."""
    folder = Path(folder).absolute()
    if not folder.name or folder.name in (".", ".."):
        raise NotADirectoryError(f"{folder}: give a folder name for the results")
    if folder.exists():
        if not folder.is_dir():
            raise FileExistsError(f"{folder}: exists and is not a folder; nothing was replaced")
        if not force:
            raise FileExistsError(f"{folder}: already exists; choose another folder or add --force to replace it")
        if any(folder.iterdir()) and not (folder / "manifest.json").exists():
            raise FileExistsError(f"{folder}: not a run folder (no manifest.json); --force replaces only earlier runs, so nothing was replaced")
    parent = folder.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"{folder}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{folder}: cannot write in {parent}")


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def summarise(result: Result) -> dict:
    """Headline figures of a run, and where they fall against the brief's calibration targets."""
    m, w = result.monthly, result.workers
    months = len(m)
    worker_months = float(m["workers_working"].sum())
    worker_years = worker_months / 12.0
    earned = float(m["wages_gross"].sum() + m["side_earnings"].sum())
    s = {
        "months": months,
        "workers_initial": int(result.manifest.get("workers_initial", 0)),
        "workers_final": int(m["workers_active"].iloc[-1]) if months else 0,
        "revenue_delivered_per_year": float(m["revenue_delivered"].sum()) / (months / 12.0) if months else float("nan"),
        "state_take_per_year": float(m["state_take"].sum()) / (months / 12.0) if months else float("nan"),
        "worker_share_kept": float(m["worker_retained"].sum()) / earned if earned > 0 else float("nan"),
        "state_take_per_worker_month": float(m["state_take"].sum()) / worker_months if worker_months else float("nan"),
        "escapes_per_1000_worker_years": 1000 * float(m["escaped"].sum()) / worker_years if worker_years else float("nan"),
        "caught_per_1000_worker_years": 1000 * float(m["caught"].sum()) / worker_years if worker_years else float("nan"),
        "deaths_per_10000_worker_years": 10000 * float(m["deaths"].sum()) / worker_years if worker_years else float("nan"),
        "sent_home_per_1000_worker_years": 1000 * float(m["sent_home"].sum()) / worker_years if worker_years else float("nan"),
        "hours_mean": float((m["hours_mean"] * m["workers_working"]).sum()) / worker_months if worker_months else float("nan"),
        "entry_bribe_median": float(w["entry_bribe"].median()) if len(w) else float("nan"),
    }
    left = w[w["status"] != "active"]
    for q in (10, 50, 90):
        s[f"net_gain_p{q}"] = float(np.percentile(left["net_gain"], q)) if len(left) else float("nan")
    s["retained_median_mean"] = float(m["retained_median"].mean()) if months else float("nan")
    s["calibration"] = {
        k: {"value": s[k], "low": lo, "high": hi, "inside": None if s[k] != s[k] else bool(lo <= s[k] <= hi), "what": what}
        for k, (lo, hi, what) in TARGETS.items()
    }
    return s
