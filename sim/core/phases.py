"""The thirteen phases of a month, named once (docs/ODD.md section 3), and a clock that times them.

Both engines run the phases in this order and time them with `PhaseClock`; the array engine runs some
as one fused loop (5-7, 8-9) and times them together, under a label naming all of them.
"""

from __future__ import annotations

import functools
import time

PHASES = {
    1: "policies", 2: "state", 3: "pressure", 4: "work", 5: "remittance", 6: "side jobs", 7: "threat",
    8: "surveillance", 9: "escape", 10: "deaths", 11: "contracts", 12: "money", 13: "collect",
}


@functools.lru_cache(maxsize=None)
def label(*numbers: int) -> str:
    """'3 pressure'; for phases run together, '5-7 remittance, side jobs, threat'."""
    first, last = min(numbers), max(numbers)
    span = str(first) if first == last else f"{first}-{last}"
    return f"{span} {', '.join(PHASES[k] for k in range(first, last + 1))}"


class PhaseClock:
    """Seconds spent in each phase over a run, in the order of the month."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()
        # called with the phase numbers after each tick (the phase-by-phase docking test); not timed
        self.observer = None

    def start(self) -> None:
        self._last = time.perf_counter()

    def tick(self, *numbers: int) -> None:
        """The time since the last tick was spent in these phases."""
        now = time.perf_counter()
        key = label(*numbers)
        self.seconds[key] = self.seconds.get(key, 0.0) + now - self._last
        if self.observer is not None:
            self.observer(numbers)
            now = time.perf_counter()
        self._last = now
