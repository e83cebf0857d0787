"""In a real notebook kernel (inline backend) a plot shows exactly once, returned, assigned or re-shown."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]

CELLS = [
    # 0: set-up, no figure
    ("%matplotlib inline\nimport pandas as pd, matplotlib.pyplot as plt\nfrom marketing360 import viz\n"
     "tab = pd.DataFrame({'markov': [3.0, 1.0], 'shapley': [2.0, 2.0]}, index=['search', 'video'])"),
    # 1: the figure is the cell's value
    "viz.plot_attribution(tab)",
    # 2: the figure is assigned (the inline backend shows it at the end of the cell)
    "fig = viz.plot_attribution(tab)",
    # 3: changed in a later cell and shown again
    "fig.axes[0].set_title('changed'); fig",
    # 4: the usual semicolon
    ("viz.plot_transition_graph(pd.DataFrame({'a': [1.0, 0.0], '(conversion)': [0.0, 1.0]}, "
     "index=['(start)', 'a']));"),
    # 5: drawn on the user's own axes
    "f2, ax = plt.subplots()\nviz.plot_attribution(tab, ax=ax)\nNone",
    # 6: nothing is left open after the cells ran
    "print(plt.get_fignums())",
]


@pytest.mark.slow
def test_each_plot_shows_once_in_a_notebook():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    images = [sum("image/png" in o.get("data", {}) for o in c.outputs) for c in nb.cells]
    assert images == [0, 1, 1, 1, 1, 1, 0], images
    printed = "".join(o.get("text", "") for o in nb.cells[6].outputs)
    assert printed.strip() == "[]"
