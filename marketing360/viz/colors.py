"""One colour per attribution method and per 4A stage, the same in every panel.

Every plot of the package takes its colours from here, so a method drawn in
two panels (or two notebooks, or two runs) has the same colour.

* Known attribution methods have fixed colours, by family: the rules in
  blues and greys, Markov chains in purples (darker for higher orders),
  Shapley in greens, the data-driven models in oranges, the causal and deep
  models in reds, browns and pinks.
* Any other name gets a colour from a second palette (none of the fixed
  colours) chosen by a hash of the name: stable across calls, panels,
  processes and machines, whatever else is drawn beside it. Two unknown names
  may share a colour; :func:`set_method_color` fixes that.
* The 4A stages have :data:`STAGE_COLORS` (light to dark as consumers move
  from Aware to Advocate).

Examples
--------
>>> method_color("markov")
'#9467bd'
>>> method_color("my_model") == method_color("my_model")
True
>>> method_colors(["shapley", "linear"])
{'shapley': '#2ca02c', 'linear': '#c7c7c7'}
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

__all__ = ["METHOD_COLORS", "STAGE_COLORS", "TRUTH_COLOR", "method_color", "method_colors", "set_method_color",
           "stage_color", "stage_colors"]

#: fixed colours of the package's attribution methods
METHOD_COLORS: dict[str, str] = {
    # rules: blues for the touch rules, greys and olive for the spread rules
    "first_touch": "#9ecae1",
    "last_touch": "#1f77b4",
    "last_non_direct": "#08306b",
    "linear": "#c7c7c7",
    "time_decay": "#7f7f7f",
    "position_based": "#bcbd22",
    # Markov chains: purples, darker with the order
    "markov": "#9467bd",
    "markov_2": "#c5b0d5",
    "markov_3": "#6a51a3",
    "markov_4": "#3f007d",
    # Shapley: greens
    "shapley": "#2ca02c",
    "shapley_rate": "#98df8a",
    # data-driven (Shao & Li): oranges
    "bagged_logistic": "#ff7f0e",
    "probabilistic": "#ffbb78",
    # causal and deep models: reds, browns, pinks
    "causal_shapley": "#d62728",
    "deep_rnn": "#8c564b",
    "deep_attention": "#e377c2",
    "dnamta_attention": "#f7b6d2",
}

#: the colour of a truth (markers and bars of true amounts)
TRUTH_COLOR = "#000000"

# second palette, for names not above: none close to a fixed colour (matplotlib's tab20b, teals, pinks)
_OTHER_COLORS: tuple[str, ...] = (
    "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#5254a3", "#8ca252", "#bd9e39", "#ad494a",
    "#a55194", "#6b6ecf", "#b5cf6b", "#e7ba52", "#d6616b", "#ce6dbd", "#9edae5", "#e7969c", "#cedb9c", "#de9ed6",
)

_USER_COLORS: dict[str, str] = {}

#: colours of the 4A stages, light (Aware) to dark (Advocate)
STAGE_COLORS: dict[str, str] = {"aware": "#9ecae1", "appeal": "#4292c6", "act": "#fd8d3c", "advocate": "#d94801"}
_OTHER_STAGE = "#bdbdbd"


def method_color(name: str) -> str:
    """The colour of one attribution method.

    Parameters
    ----------
    name : str
        The method's name, as in an :class:`~marketing360.attribution.Attribution`'s columns.

    Returns
    -------
    str
        A ``#rrggbb`` colour: the one set with :func:`set_method_color`, else the
        fixed colour of a known method, else one picked by a CRC-32 hash of the
        name (the same in every process).
    """
    key = str(name)
    if key in _USER_COLORS:
        return _USER_COLORS[key]
    if key in METHOD_COLORS:
        return METHOD_COLORS[key]
    return _OTHER_COLORS[zlib.crc32(key.encode("utf-8")) % len(_OTHER_COLORS)]


def method_colors(names: Iterable[str]) -> dict[str, str]:
    """The colours of several methods, ``{name: colour}`` in the order given (see :func:`method_color`)."""
    return {str(n): method_color(n) for n in names}


def set_method_color(name: str, color: str | None) -> None:
    """Give a method a colour in every later plot of this session (``None`` restores its default).

    Parameters
    ----------
    name : str
        The method's name.
    color : str or None
        Any matplotlib colour; ``None`` removes a colour set before.
    """
    if color is None:
        _USER_COLORS.pop(str(name), None)
    else:
        import matplotlib.colors as mcolors

        _USER_COLORS[str(name)] = mcolors.to_hex(color)


def stage_color(stage: str) -> str:
    """The colour of a 4A stage (grey for a name that is not one)."""
    return STAGE_COLORS.get(str(stage), _OTHER_STAGE)


def stage_colors(stages: Iterable[str]) -> dict[str, str]:
    """The colours of several 4A stages, ``{stage: colour}`` in the order given."""
    return {str(s): stage_color(s) for s in stages}
