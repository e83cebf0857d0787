"""The README's first look runs as written (on the sample world, built on first use).

Marked ``slow``: on a machine without the cached sample world it is built first (about two
minutes, into the user's cache folder, where the notebooks and ``demo`` find it too).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_the_first_look_runs():
    import matplotlib

    matplotlib.use("Agg")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no python example"
    scope: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)
    assert len(scope["credit"].conf_int()) == 2 * scope["credit"].table().channel.nunique()
    assert scope["stages"].table().stage.dtype.ordered
