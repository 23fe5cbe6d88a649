"""An experiment's folder: one file per finished run, written atomically, and the manifest."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import ExperimentError
from ..common.files import atomic_write, follow_link, jsonable, write_parquet
from ..common.provenance import git_commit, versions
from .plan import Plan, policy_dates


class Store:
    """An experiment's folder. Each finished run is three files, written atomically:

    ``monthly/RUN_ID.parquet`` and ``distributions/RUN_ID.parquet`` first, then
    ``rows/RUN_ID.json``, which marks the run done. ``runs.parquet`` is rebuilt
    from the rows (in task order) as runs finish and at the end.
    """

    def __init__(self, folder: str | os.PathLike):
        try:
            self.folder = follow_link(folder)  # act on what a link points to; the link stays
        except FileNotFoundError as e:
            raise ExperimentError(f"--out {e}") from None
        self.replaced: Path | None = (
            None  # an earlier experiment moved aside by --force, removed once this one completes
        )
        self._lock = None
        self._saved = 0  # runs saved by this process

    # one olsim at a time per folder
    def _acquire(self, folder: Path):
        """Hold an exclusive lock on ``folder``/.lock; `ExperimentError` if another process holds it."""
        import fcntl

        fh = open(folder / ".lock", "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise ExperimentError(
                f"--out {folder}: another olsim is writing this experiment now; wait for it to end, "
                f"or choose another --out"
            ) from None
        return fh

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    # where things go
    def path(self, *parts) -> Path:
        return self.folder.joinpath(*parts)

    def done(self) -> set[str]:
        """The ids of the finished runs: those whose rows/ID.json reads whole and whose tables end as a Parquet
        file ends (a run with a damaged file is run again)."""
        subs = [d for d in ("monthly", "distributions", "hosts") if self.path(d).is_dir()]
        return {
            r["row"]["run_id"]
            for r in self.read_rows()
            if all(_whole_parquet(self.path(d, f"{r['row']['run_id']}.parquet")) for d in subs)
        }

    def prepare(self, plan: Plan, resume: bool, force: bool, executor: str) -> set[str]:
        """Check the folder and write the manifest; return the run ids already done."""
        f = self.folder
        samples_bytes = io.BytesIO()
        plan.samples.to_parquet(samples_bytes, index=False)  # fails here, before the folder is touched
        try:
            return self._prepare(plan, resume, force, executor, samples_bytes.getvalue())
        except OSError as e:
            raise ExperimentError(f"--out {f}: {e.strerror or e}") from None

    def _prepare(self, plan: Plan, resume: bool, force: bool, executor: str, samples_bytes: bytes) -> set[str]:
        f = self.folder
        manifest = f / "manifest.json"
        if f.exists() and not f.is_dir():
            raise ExperimentError(f"--out {f}: exists and is not a folder; nothing was written")
        existing = f.exists() and any(f.iterdir())
        old = None
        if existing:
            if not manifest.exists():
                raise ExperimentError(
                    f"--out {f}: exists and is not an experiment folder (no manifest.json); nothing was written"
                )
            try:
                old = json.loads(manifest.read_text())
            except (OSError, json.JSONDecodeError):
                raise ExperimentError(f"--out {f}: manifest.json is unreadable; nothing was written") from None
            if old.get("kind") != "experiment":
                raise ExperimentError(f"--out {f}: holds a single run, not an experiment; choose another folder")
            if resume:
                if old.get("fingerprint") != plan.fingerprint:
                    raise ExperimentError(
                        f"--resume: {f} holds results of a different experiment (its runs, seeds, "
                        f"parameters or outcomes differ); use another --out, or --force to replace them"
                    )
            elif force:
                # keep the earlier experiment until this one is complete: moved aside, not deleted
                held = self._acquire(f)
                aside = f.with_name(f".{f.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
                f.rename(aside)
                held.close()
                self.replaced = aside
                old = None
            else:
                n = len(self.done())
                raise ExperimentError(
                    f"--out {f}: already holds {n} runs of an experiment; add --resume to finish it, "
                    f"--force to replace it, or choose another --out"
                )
        f.mkdir(parents=True, exist_ok=True)
        self._lock = self._acquire(f)
        for sub in ("rows", "monthly", "distributions", *(("hosts",) if plan.spec.hosts else ())):
            (f / sub).mkdir(parents=True, exist_ok=True)
        done = self.done() if resume else set()
        ids = {t["run_id"] for t in plan.tasks}
        stray = done - ids
        if stray:
            raise ExperimentError(
                f"--resume: {len(stray)} runs in {f} are not in this experiment (e.g. {sorted(stray)[0]})"
            )
        commit = git_commit()
        if resume and old and done and old.get("git_commit") and commit and old["git_commit"] != commit:
            # the inputs are the same, but the code that ran the finished runs may not be
            print(
                f"olsim: warning: --resume: the finished runs in {f} were made by commit {old['git_commit'][:10]}, "
                f"this code is {commit[:10]}; if the model changed in between, the runs are not comparable",
                file=sys.stderr,
            )
        info = {
            "kind": "experiment",
            "name": plan.spec.name,
            "fingerprint": plan.fingerprint,
            "experiment_file": str(plan.path) if plan.path else None,
            "experiment": plan.spec.model_dump(mode="json"),
            "experiment_text": plan.text,
            "base_params": plan.base,
            "reference": plan.reference,
            "problem": plan.problem,
            "sampling": plan.spec.sampling.model_dump(mode="json"),
            "scenario_policies": policy_dates(plan),
            "runs_total": len(plan.tasks),
            "versions": versions(),
            "git_commit": commit,
            "sessions": (old or {}).get("sessions", []) if resume else [],
        }
        info["sessions"].append({"started": _now(), "executor": executor, "runs_done_before": len(done)})
        self.write_json("manifest.json", info)
        if plan.text:  # the experiment file as given (olsim compare writes the one it made)
            atomic_write(f / "experiment.toml", plan.text.encode())
        atomic_write(f / "samples.parquet", samples_bytes)
        if plan.raw_samples is not None:
            np.save(f / ".sample_matrix.npy", plan.raw_samples)
            os.replace(f / ".sample_matrix.npy", f / "sample_matrix.npy")
        self.consolidate(plan)  # a runs.parquet from the start: a folder killed early is still an experiment's
        return done

    def save_run(self, payload: dict) -> None:
        rid = payload["row"]["run_id"]
        for sub in ("monthly", "distributions", "hosts"):
            if sub not in payload:
                continue
            tmp = self.path(sub, f".{rid}.parquet.tmp")
            write_parquet(payload[sub], tmp)
            os.replace(tmp, self.path(sub, f"{rid}.parquet"))
        self.write_json(
            f"rows/{rid}.json", {"row": payload["row"], "seconds": payload["seconds"], "host": payload["host"]}
        )
        self._saved += 1

    def write_json(self, rel: str, obj) -> None:
        atomic_write(self.path(rel), (json.dumps(jsonable(obj), indent=1) + "\n").encode())

    def read_rows(self) -> list[dict]:
        out = []
        rows = self.path("rows")
        for p in sorted(rows.glob("*.json")) if rows.exists() else []:
            try:
                r = json.loads(p.read_text(encoding="utf-8"))
                if r["row"]["run_id"] != p.stem:
                    raise ValueError("another run's row")
            except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
                continue  # damaged (a disk filled, a copy cut short): not done, so --resume runs it again
            out.append(r)
        return out

    def consolidate(self, plan: Plan) -> pd.DataFrame:
        """Rebuild runs.parquet from the finished runs, in task order; return it."""
        order = {t["run_id"]: i for i, t in enumerate(plan.tasks)}
        rows = [r["row"] for r in self.read_rows() if r["row"]["run_id"] in order]
        rows.sort(key=lambda r: order[r["run_id"]])
        columns = ["run_id", "scenario", "sample", "replicate", "seed", *plan.samples.columns[1:], *plan.spec.outcomes]
        df = pd.DataFrame(rows, columns=columns)
        for c in ("sample", "replicate", "seed"):
            df[c] = df[c].astype("int64")
        for c in plan.spec.outcomes:
            df[c] = df[c].astype(float)
        tmp = self.path(".runs.parquet.tmp")
        write_parquet(df, tmp)
        os.replace(tmp, self.path("runs.parquet"))
        return df

    def finish(self, plan: Plan, wall: float, ran: int, complete: bool) -> None:
        info = json.loads(self.path("manifest.json").read_text())
        rows = self.read_rows()
        seconds = [r["seconds"] for r in rows]
        info["sessions"][-1].update({"finished": _now(), "wall_seconds": wall, "runs_run": ran, "complete": complete})
        info["runs_done"] = len(rows)
        info["complete"] = complete
        info["timings"] = {
            "run_seconds_total": float(np.sum(seconds)) if seconds else 0.0,
            "run_seconds_median": float(np.median(seconds)) if seconds else None,
            "run_seconds_max": float(np.max(seconds)) if seconds else None,
            "wall_seconds_total": float(sum(s.get("wall_seconds", 0.0) for s in info["sessions"])),
            "hosts": sorted({r.get("host") for r in rows if r.get("host")}),  # type: ignore[type-var]  # no None: left out
        }
        self.write_json("manifest.json", info)
        if complete:  # the experiments this one replaced (--force) are no longer needed
            for aside in self.folder.parent.glob(f".{self.folder.name}.replaced-*"):
                shutil.rmtree(aside, ignore_errors=True)
            self.replaced = None

    def record_seconds(self, seconds: dict) -> None:
        """Where the last session's time went (start-up, runs, analysis, figures, ...), into its manifest entry; for
        `benchmarks/parallel.py`. Best effort: a manifest that cannot be read or written is left as it is."""
        try:
            info = json.loads(self.path("manifest.json").read_text())
            info["sessions"][-1]["seconds"] = {k: round(float(v), 4) for k, v in seconds.items()}
            self.write_json("manifest.json", info)
        except (OSError, ValueError, KeyError, IndexError):
            pass


def _whole_parquet(path: Path) -> bool:
    """The file ends with Parquet's footer magic (a file cut short or overwritten does not)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(-4, os.SEEK_END)
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
