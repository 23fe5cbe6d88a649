"""Counter-based random numbers: every draw is a pure function of
(seed, decision, month, agent id).

There is no shared generator whose sequence could depend on how many draws
came before, so

* the same worker facing the same decision in the same month gets the same
  number under any policy (common random numbers: a difference between two
  scenarios is the policy, not noise);
* the mesa engine (one draw at a time in Python, or a month's table of one
  decision's draws for every worker, `uniforms`) and the array engine
  (compiled, all agents at once) get bit-identical numbers;
* the order in which agents act, processes and executors do not matter.

The hash is SplitMix64's finaliser (Steele, Lea & Flood 2014), applied to a
key built from the seed, a 64-bit code of the decision's name and the month,
then to the agent id. Uniforms take the top 53 bits, so they are exact
float64 values in [0, 1), identical in Python and numpy.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from ..common.errors import ParamsError
from .compiled import rule

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_TO_UNIT = 2.0**-53
# months may be negative (workers already abroad when the run starts)
_MONTH_OFFSET = 1 << 20

_codes: dict[str, int] = {}


class Decision:
    """The model's random decisions, named once: each name is its own stream of draws (docs/ODD.md 7.16).
    Both engines draw by these names, so a worker meets the same luck in either."""

    SIDE_SEEK = "side.seek"  # phase 6: a worker short of his expectation asks for a side job
    SIDE_GRANT = "side.grant"  # phase 6: the minder sells it
    THREAT = "threat"  # phase 7: a worker short of the plan is threatened with being sent home
    ESCAPE_INTEND = "escape.intend"  # phase 8: he means to escape
    ESCAPE_REPORT = "escape.report"  # phase 8: an informant reports him
    ESCAPE_SUCCESS = "escape.success"  # phase 9: the attempt succeeds
    DEATH = "death"  # phase 10
    RETURN = "return"  # phase 11: a worker stranded past his contract goes home as a replacement arrives
    LEDGER = "ledger"  # on return: the ledger is paid
    REPATRIATE = "repatriate"  # phase 2: a worker is sent home (or relabelled) under a mandate
    RELABEL = "repatriate.relabel"  # phase 2: a permit holder due to go home is relabelled instead
    RELABEL_ROUTE = "repatriate.route"  # phase 2: as a student, a tourist or under another status
    EMPLOYER_DIRECT_WAGES = "employer.direct_wages"  # once per run: this worker's employer complies
    EMPLOYER_INSPECTIONS = "employer.inspections"  # once per run: this worker's employer is inspected
    MINDER_VIGILANCE = "minder.vigilance"  # at birth
    MINDER_GREED = "minder.greed"  # at birth

    @staticmethod
    def worker_trait(trait: str) -> str:
        """A worker's trait drawn at birth: productivity, loyalty, risk_aversion, family, informant, passport, entry_bribe,
        legal (his legal status)."""
        return f"worker.{trait}"


MAX_SEED = 2**63 - 1  # seeds are hashed modulo 2**64: larger ones would alias smaller ones


def check_seed(seed) -> int:
    """A seed as an int in 0..2**63-1; `ParamsError` (one line) for anything else (-1, 1.5, "3", True, 2**64)."""
    if isinstance(seed, np.integer):
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ParamsError(f"seed: must be a whole number from 0 to {MAX_SEED} (got {seed!r})")
    if not 0 <= seed <= MAX_SEED:
        raise ParamsError(f"seed: must be from 0 to {MAX_SEED} (got {seed})")
    return seed


def decision_code(decision: str) -> int:
    """A stable 64-bit code for a decision's name (not Python's salted hash)."""
    code = _codes.get(decision)
    if code is None:
        digest = hashlib.blake2b(decision.encode(), digest_size=8).digest()
        code = _codes[decision] = int.from_bytes(digest, "little")
    return code


def mix(z: int) -> int:
    """SplitMix64 finaliser on a Python int (0 <= z < 2**64)."""
    z = ((z ^ (z >> 30)) * _M1) & MASK64
    z = ((z ^ (z >> 27)) * _M2) & MASK64
    return z ^ (z >> 31)


@functools.lru_cache(maxsize=4096)
def _decision_key(seed: int, decision: str) -> int:
    """The part of a stream key that does not depend on the month (computed once per seed and decision)."""
    z = mix((int(seed) * GOLDEN + 0x2545F4914F6CDD1D) & MASK64)
    return mix(z ^ decision_code(decision))


def stream_key(seed: int, decision: str, month: int) -> int:
    """The key of one decision in one month; agents are hashed into it."""
    return mix((_decision_key(int(seed), decision) + (int(month) + _MONTH_OFFSET) * GOLDEN) & MASK64)


def uniform(key: int, agent_id: int) -> float:
    """One uniform in [0, 1) for one agent under a stream key."""
    return (mix((key + (int(agent_id) + 1) * GOLDEN) & MASK64) >> 11) * _TO_UNIT


def id_term(agent_id: int) -> int:
    """The agent's part of the hash, precomputed once per agent (mesa engine)."""
    return ((int(agent_id) + 1) * GOLDEN) & MASK64


def uniform_term(key: int, term: int) -> float:
    """`uniform` with the agent's part precomputed: uniform(key, id) == uniform_term(key, id_term(id))."""
    z = (key + term) & MASK64
    z = ((z ^ (z >> 30)) * _M1) & MASK64
    z = ((z ^ (z >> 27)) * _M2) & MASK64
    return ((z ^ (z >> 31)) >> 11) * _TO_UNIT


def uniforms(key: int, agent_ids) -> np.ndarray:
    """Uniforms in [0, 1) for an array of agent ids: `uniform_at` (the compiled hash) over each id, bit-identical
    to `uniform`."""
    return _uniforms_at(np.uint64(key), np.asarray(agent_ids, dtype=np.int64))


def draw(seed: int, decision: str, month: int, agent_id: int) -> float:
    """Convenience: one uniform for (seed, decision, month, agent id)."""
    return uniform(stream_key(seed, decision, month), agent_id)


def draws(seed: int, decision: str, month: int, agent_ids) -> np.ndarray:
    """Convenience: uniforms for (seed, decision, month, each agent id)."""
    return uniforms(stream_key(seed, decision, month), agent_ids)


@functools.lru_cache(maxsize=256)
def _keys(seed: int, decisions: tuple[str, ...], month: int) -> np.ndarray:
    keys = np.array([stream_key(seed, d, month) for d in decisions], dtype=np.uint64)
    keys.flags.writeable = False  # cached: shared by every later call
    return keys


def draws_many(seed: int, decisions: tuple[str, ...], month: int, agent_ids) -> np.ndarray:
    """`draws` for several decisions at once: row k is draws(seed, decisions[k], month, agent_ids), the same
    bits, in one compiled call (the keys of a (seed, decisions, month) are computed once)."""
    return _uniforms_many(_keys(int(seed), tuple(decisions), int(month)), np.asarray(agent_ids, dtype=np.int64))


@rule
def uniform_at(key, agent_id):
    """`uniform` in compiled code: ``key`` a uint64 stream key, ``agent_id`` an integer (bit-identical)."""
    z = key + (np.uint64(agent_id) + np.uint64(1)) * np.uint64(GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    z = z ^ (z >> np.uint64(31))
    return np.float64(z >> np.uint64(11)) * _TO_UNIT


@rule
def _uniforms_many(keys, agent_ids):
    out = np.empty((len(keys), len(agent_ids)))
    for k in range(len(keys)):
        for i in range(len(agent_ids)):
            out[k, i] = uniform_at(keys[k], agent_ids[i])
    return out


@rule
def _uniforms_at(key, agent_ids):
    out = np.empty(len(agent_ids))
    for i in range(len(agent_ids)):
        out[i] = uniform_at(key, agent_ids[i])
    return out
