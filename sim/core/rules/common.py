"""What every rule uses: the remittance rules' codes, plain left-to-right addition, clipping."""

from __future__ import annotations


from ..compiled import rule

# remittance rules as numbers, for compiled code
RULE_CODES = {"plan": 0, "share": 1, "group_quota": 2}


def total(values) -> float:
    """Plain left-to-right addition, as np.bincount and the compiled loops add.

    Python 3.12's sum() compensates rounding; the array engine cannot, so
    the mesa engine adds this way to agree with it to the last bit.
    """
    acc = 0.0
    for v in values:
        acc += v
    return acc


@rule
def clip(x, lo, hi):
    return min(max(x, lo), hi)
