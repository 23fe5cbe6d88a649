"""The one user-facing error: a list of one-line problems, each naming the key or flag at fault.

The command line prints each line after ``olsim: error:`` and exits with
status 2; from Python the exception's ``errors`` hold the lines. The
subclasses only say where a problem was found (a parameter file, an
experiment or targets file); they add no behaviour.
"""

from __future__ import annotations


def shown(text) -> str:
    """Text as it can stand in a one-line message: newlines and tabs written as \\n and \\t."""
    return str(text).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


class OlsimError(ValueError):
    """A problem with what the user asked for; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str] | str):
        lines = [errors] if isinstance(errors, str) else list(errors)
        # one line each, whatever a key or value holds (a name with a newline in it)
        self.errors = [shown(line) for line in lines]
        super().__init__("\n".join(self.errors))

    def prefixed(self, prefix: str) -> "OlsimError":
        """The same error (same class) with ``prefix`` before every line, e.g. the file it is about."""
        return type(self)([f"{prefix}{line}" for line in self.errors])


class ParamsError(OlsimError):
    """Invalid parameters (a parameter file, --set overrides, a Params built in Python)."""


class ExperimentError(OlsimError):
    """An invalid experiment or targets file, or a results folder that cannot be used."""


class ResultsError(OlsimError):
    """A results folder that cannot be read (missing or damaged files) or written."""


def interrupted(e: BaseException | None) -> bool:
    """Whether an exception is a Ctrl-C in disguise: a KeyboardInterrupt raised while compiled code
    (a numba dispatcher) was returning comes back as a SystemError caused by it."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


# A stop asked for by a signal (olsim's SIGTERM handler). The handler raises KeyboardInterrupt, but an exception
# raised inside Python code that C code called back (numpy, pandas, pyarrow) can be cleared there and lost, and the
# run would go on to its end; so the request is also noted here, and the loops that run an experiment's tasks raise
# it again at their next check (`raise_if_stopped`).
_stop = {"requested": False}


def request_stop() -> None:
    _stop["requested"] = True


def clear_stop() -> None:
    _stop["requested"] = False


def stop_requested() -> bool:
    """Whether a stop was requested (`request_stop`) and not yet cleared (`clear_stop`)."""
    return _stop["requested"]


def raise_if_stopped() -> None:
    """Raise KeyboardInterrupt if a stop was requested (`request_stop`) and not cleared."""
    if _stop["requested"]:
        raise KeyboardInterrupt
