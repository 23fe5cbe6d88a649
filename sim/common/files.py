"""Files written so that a crash never leaves half of one, and values made JSON-safe."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def jsonable(x):
    """Plain JSON values: numpy scalars to Python, NaN and infinity to null."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def follow_link(path: str | os.PathLike) -> Path:
    """The absolute folder a path names: a symbolic link is followed to what it points to (the link itself stays).
    FileNotFoundError (one line) for a link to nothing."""
    path = Path(path).absolute()
    if path.is_symlink():
        target = path.resolve()
        if not target.exists():
            raise FileNotFoundError(f"{path}: a symbolic link to {target}, which does not exist; nothing was written")
        return target
    return path


def write_parquet(frame, path: str | os.PathLike) -> None:
    """A pandas DataFrame to a Parquet file, as ``frame.to_parquet(path, index=False)`` writes it (same schema, pandas
    metadata, snappy compression and values), but through pyarrow directly and with dictionary encoding for text
    columns only: about half the time on a run's workers table, whose float columns gain nothing from a dictionary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    text = [
        f.name
        for f in table.schema
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type) or pa.types.is_dictionary(f.type)
    ]
    pq.write_table(table, str(path), use_dictionary=text)
