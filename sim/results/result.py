"""A run's result: its tables and manifest, the summary, and saving and loading its folder."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..common.files import current_umask, jsonable
from .outcomes import outcomes_of, summarise


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

    def outcomes(self, names: list[str] | None = None) -> dict[str, float]:
        """The named outcomes of the registry (default: all), as floats."""
        return outcomes_of(self, names)

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
            os.chmod(tmp, 0o777 & ~current_umask())
            self.monthly.to_parquet(tmp / "monthly.parquet", index=False)
            self.hosts.to_parquet(tmp / "hosts.parquet", index=False)
            self.workers.to_parquet(tmp / "workers.parquet", index=False)
            manifest = {**self.manifest, "summary": jsonable(self.summary)}
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
