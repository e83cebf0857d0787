"""Where the public data sets live: ``../shared/data`` beside the repository by default.

Set ``M360_SHARED_DATA`` to point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import Marketing360Error

__all__ = ["shared_data_dir", "shared_file", "SharedDataMissing"]


class SharedDataMissing(Marketing360Error, FileNotFoundError):
    """A public data file is not on this machine."""


def shared_data_dir() -> Path:
    """The folder of public data sets (``$M360_SHARED_DATA`` or ``<repo>/../shared/data``)."""
    env = os.environ.get("M360_SHARED_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """Path of a file of the public data sets; raises :class:`SharedDataMissing` if absent."""
    path = shared_data_dir().joinpath(*parts)
    if not path.exists():
        raise SharedDataMissing(
            f"public data file {path} is not here; set M360_SHARED_DATA to the folder that "
            "holds the shared data sets (see ../shared/data/README.md)"
        )
    return path
