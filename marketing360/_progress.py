"""Progress for long steps: on by default in a notebook, off in scripts and tests.

Every long step (simulating a world, starting Spark, training a network,
computing Shapley credits) takes ``progress: bool | "auto"``; ``"auto"``
shows a progress bar (or a start/finish line) inside a Jupyter kernel.

Examples
--------
>>> show(True), show(False), show("auto")  # a doctest runs outside Jupyter
(True, False, False)
"""

from __future__ import annotations

import sys
from typing import Any, Literal

from .errors import ParameterError

__all__ = ["Progress", "show", "in_notebook"]

#: the type of every ``progress=`` option
Progress = bool | Literal["auto"]


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = getattr(shell, "get_ipython", lambda: None)()
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def show(progress: Any) -> bool:
    """Resolve a ``progress=`` option: ``True`` / ``False`` as given, ``"auto"`` in a notebook only."""
    if progress == "auto":
        return in_notebook()
    if isinstance(progress, bool):
        return progress
    raise ParameterError(f"progress must be True, False or 'auto'; found {progress!r}")
