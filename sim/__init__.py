"""overseas-labor-sim: an agent-based model of a state-run overseas labour system."""

__version__ = "0.1.0"

from .params import Params, ParamsError, load_params  # noqa: E402
from .results import Result  # noqa: E402
from .run import run  # noqa: E402

__all__ = ["Params", "ParamsError", "Result", "load_params", "run", "__version__"]
