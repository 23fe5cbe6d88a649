"""The teacher's board for a class on its own devices (`olsim classroom --class`, issue 33).

Every student's page runs its own model in the one server process; after each month it posts its package (the
sanctions in force, with their compliance) and its outcomes to `BOARD`, a registry shared by the process's
sessions. The board page (/board) reads it every second and shows every student side by side: the revenue that
reached the state against what workers kept per month worked. The teacher can freeze one student's numbers to
discuss them while the student plays on.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from ..results.columns import COL


@dataclass(frozen=True)
class Entry:
    """One student's run as the board shows it."""

    session: str
    name: str
    package: str  # the sanctions in force, in words, with their compliance
    month: int  # months run
    months: int  # of the calendar
    revenue_per_year: float  # USD a year that reached the state, over the months run (the camp's own scale)
    kept_per_month: float  # USD each worker kept per month worked, over the months run


class Board:
    """A registry of the class's runs, safe to use from every session's thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}
        self._frozen: Entry | None = None
        self.version = 0  # counts the changes: the board page redraws when it moves

    def post(self, entry: Entry) -> None:
        with self._lock:
            self._entries[entry.session] = entry
            self.version += 1

    def leave(self, session: str) -> None:
        with self._lock:
            if self._entries.pop(session, None) is not None:
                self.version += 1

    def entries(self) -> list[Entry]:
        """The runs, in the order the students joined."""
        with self._lock:
            return list(self._entries.values())

    def freeze(self, session: str | None) -> None:
        """Hold one student's numbers as they are now, to discuss (None: let go)."""
        with self._lock:
            entry = self._entries.get(session) if session else None
            self._frozen = entry  # immutable: the student's later posts replace it, never change it
            self.version += 1

    @property
    def frozen(self) -> Entry | None:
        with self._lock:
            return self._frozen


BOARD = Board()


def outcomes(monthly: list[dict]) -> tuple[float, float]:
    """(USD a year reaching the state, USD kept per worker per month worked) over a run's monthly rows so far."""
    if not monthly:
        return math.nan, math.nan
    revenue = math.fsum(r[COL.revenue_delivered] for r in monthly)
    kept = math.fsum(r[COL.worker_retained] for r in monthly)
    worked = sum(int(r[COL.workers_working]) for r in monthly)
    return revenue / len(monthly) * 12.0, (kept / worked if worked else math.nan)
