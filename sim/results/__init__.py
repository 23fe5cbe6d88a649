"""What a run produces: the tables and their columns, the outcome registry, the `Result`
with its summary, and saving and loading run folders. Builds on `sim.core`; the
engines fill it."""

from .outcomes import BRIEF_TARGETS, OUTCOMES, Outcome, outcomes_of, summarise
from .result import Result, check_output_folder
from .columns import HOST_COLUMNS, MONTHLY_COLUMNS, HostTotals
from .tables import STATUS_CODE, STATUSES, WORKER_COLUMNS, MonthAggregator, workers_table

__all__ = [
    "BRIEF_TARGETS",
    "HOST_COLUMNS",
    "MONTHLY_COLUMNS",
    "OUTCOMES",
    "STATUSES",
    "STATUS_CODE",
    "WORKER_COLUMNS",
    "HostTotals",
    "MonthAggregator",
    "Outcome",
    "Result",
    "check_output_folder",
    "outcomes_of",
    "summarise",
    "workers_table",
]
