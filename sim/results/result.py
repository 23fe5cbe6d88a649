"""A run's result: its tables and manifest, the summary, and saving and loading its folder."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..common.errors import ResultsError
from ..common.files import current_umask, follow_link, jsonable, write_parquet
from .outcomes import outcomes_of, summarise

if TYPE_CHECKING:
    import pandas as pd  # imported when a table is made or read


@dataclass
class Result:
    """What a run produced. The tables are pandas DataFrames with the brief's columns."""

    monthly: pd.DataFrame
    hosts: pd.DataFrame
    workers: pd.DataFrame
    manifest: dict = field(default_factory=dict)
    # a row per month, host group and sector: the host table's columns per cell (sim/core/sectors.py); None for a
    # run saved before sectors
    sectors: pd.DataFrame | None = None

    @property
    def summary(self) -> dict:
        return summarise(self)

    @cached_property
    def tenure(self) -> pd.DataFrame:
        """How long postings last and how they end, per calendar year and host (sim/results/tenure.py): worked out
        from the workers table once asked for, not saved with the run."""
        from .tenure import tenure_of

        return tenure_of(self)

    def outcomes(self, names: list[str] | None = None) -> dict[str, float]:
        """The named outcomes of the registry (default: all), as floats."""
        return outcomes_of(self, names)

    # ------------------------------------------------------------ files
    def save(self, folder: str | os.PathLike, force: bool = False) -> Path:
        """Write the four files into ``folder`` atomically (a temporary folder, then a rename).

        An existing folder is never overwritten unless ``force``, and even
        then only if it is an earlier run's folder (`is_run_folder`) or empty;
        it is replaced only once the new one is complete, and put back if the
        replacement fails. A symbolic link is followed: the folder it points
        to is replaced, the link stays. The summary written into the manifest
        is kept as ``saved_summary`` (olsim run prints it: not computed twice).
        """
        folder = output_folder(folder)
        check_output_folder(folder, force)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            os.chmod(tmp, 0o777 & ~current_umask())
            for name in ("monthly", "hosts", "workers", "sectors"):
                if getattr(self, name) is not None:
                    write_parquet(getattr(self, name), tmp / f"{name}.parquet")
            summary = self.saved_summary = self.summary
            manifest = {"kind": RUN_KIND, **self.manifest, "summary": jsonable(summary)}
            (tmp / "manifest.json").write_text(json.dumps(jsonable(manifest), indent=2) + "\n")
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
                if old.exists():
                    warnings.warn(f"{old}: the replaced run could not be removed entirely; delete it by hand")
            else:
                tmp.rename(folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "Result":
        """A run folder read back; `ResultsError` (one line) if it is not one or is damaged."""
        folder = Path(folder)
        missing = [f for f in RUN_FILES if not (folder / f).exists()]
        if missing:
            raise ResultsError(f"{folder}: not a run folder (missing {', '.join(missing)})")
        import pandas as pd

        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if not isinstance(manifest, dict):
                raise ValueError("manifest.json is not a JSON object")
            tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("monthly", "hosts", "workers")}
            if (folder / SECTORS_FILE).exists():
                tables["sectors"] = pd.read_parquet(folder / SECTORS_FILE)
        except (OSError, UnicodeDecodeError, ValueError) as e:  # pyarrow's errors are ValueErrors too
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ResultsError(f"{folder}: damaged run folder ({first})") from None
        manifest.pop("summary", None)
        manifest.pop("kind", None)
        return cls(**tables, manifest=manifest)


RUN_KIND = "run"
RUN_FILES = ("manifest.json", "monthly.parquet", "hosts.parquet", "workers.parquet")
SECTORS_FILE = "sectors.parquet"  # written since sectors were added (issue 29): an earlier run's folder has none


def output_folder(folder: str | os.PathLike) -> Path:
    """The absolute folder results go to: a symbolic link is followed to what it points to."""
    return follow_link(folder)


def is_run_folder(folder: str | os.PathLike) -> bool:
    """A folder written by a run, and nothing else: its manifest says so (or, written before runs said so, has a
    run's keys) and it holds exactly the run's four files."""
    folder = Path(folder)
    try:
        entries = {p.name for p in folder.iterdir()}
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    if not isinstance(manifest, dict) or entries - {SECTORS_FILE} != set(RUN_FILES):
        return False
    kind = manifest.get("kind")
    return kind == RUN_KIND or (kind is None and {"engine", "seed", "params", "versions"} <= set(manifest))


def check_output_folder(folder: str | os.PathLike, force: bool = False) -> None:
    """Raise FileExistsError/NotADirectoryError/PermissionError (one line) if results cannot go to ``folder``."""
    folder = output_folder(folder)
    if not folder.name or folder.name in (".", ".."):
        raise NotADirectoryError(f"{folder}: give a folder name for the results")
    if folder.exists():
        if not folder.is_dir():
            raise FileExistsError(f"{folder}: exists and is not a folder; nothing was replaced")
        if not force:
            raise FileExistsError(f"{folder}: already exists; choose another folder or add --force to replace it")
        if any(folder.iterdir()) and not is_run_folder(folder):
            raise FileExistsError(
                f"{folder}: not a run folder (it holds files a run does not write); --force "
                f"replaces only an earlier run's folder, so nothing was replaced"
            )
    parent = folder.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"{folder}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{folder}: cannot write in {parent}")
