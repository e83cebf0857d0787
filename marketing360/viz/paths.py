"""Plots of shopping paths: the top paths and the coverage curve.

Each function draws a result's table (it computes nothing) and returns the figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._base import new_axes, thousands

__all__ = ["plot_top_paths", "plot_coverage", "plot_funnel", "plot_critical_nodes", "sankey", "plot_sankey",
           "SankeyDiagram", "path_explorer"]


def plot_top_paths(table: pd.DataFrame, *, ax: Any = None, other: bool = False, max_label: int = 60) -> Any:
    """Horizontal bars of each top path's sessions (most frequent on top), coloured by conversion rate.

    ``other=True`` draws the ``(other)`` row too; labels longer than ``max_label`` characters are shortened in
    the middle.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"rank": [1.0, 2.0, None], "path": ["browse", "browse > cart", "(other)"],
    ...                   "sessions": [10, 4, 3], "conversion_rate": [0.1, 0.5, 0.0]})
    >>> len(plot_top_paths(t).axes[0].patches)
    2
    """
    import matplotlib
    from matplotlib.cm import ScalarMappable

    df = table if other else table[table["rank"].notna()]
    df = df.iloc[::-1]
    fig, ax = new_axes(ax, (8, 0.32 * len(df) + 1.6))
    rate = df["conversion_rate"].to_numpy(float)
    norm = matplotlib.colors.Normalize(vmin=0.0, vmax=max(float(np.nanmax(rate)) if len(rate) else 1.0, 1e-9))
    cmap = matplotlib.colormaps["viridis"]
    labels = [p if len(p) <= max_label else p[: max_label // 2 - 2] + " ... " + p[-(max_label // 2 - 3):]
              for p in df["path"].astype(str)]
    ax.barh(np.arange(len(df)), df["sessions"].to_numpy(float), color=cmap(norm(rate)))
    ax.set_yticks(np.arange(len(df)), labels, fontsize=8)
    ax.set_xlabel("sessions")
    thousands(ax.xaxis)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="conversion rate", fraction=0.04)
    ax.set_title("top paths")
    return fig


def plot_coverage(table: pd.DataFrame, needed: Mapping[float, int], *, unit: str = "consumers",
                  ax: Any = None) -> Any:
    """The share of ``unit`` covered by the k most frequent paths against k (log scale), levels marked.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"paths": [1, 2, 3], "coverage": [0.5, 0.8, 1.0]})
    >>> plot_coverage(t, {0.5: 1, 0.8: 2}).axes[0].get_xscale()
    'log'
    """
    fig, ax = new_axes(ax, (7, 4))
    ax.step(table["paths"], table["coverage"], where="post", color="#1f77b4")
    for q, k in needed.items():
        ax.plot([k, k], [0, q], color="#999999", lw=0.8, ls="--")
        ax.plot([1, k], [q, q], color="#999999", lw=0.8, ls="--")
        ax.annotate(f"{q:.0%}: {k:,} paths", (k, q), textcoords="offset points", xytext=(4, -12), fontsize=8)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("most frequent paths (k)")
    ax.set_ylabel(f"share of {unit} covered")
    ax.set_title("path coverage")
    return fig


def plot_funnel(table: pd.DataFrame, *, ax: Any = None) -> Any:
    """Bars of the consumers at each step, one group per segment, labelled with the conversion from the previous
    step.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"segment": "all", "step": [1, 2], "name": ["browse", "cart"], "consumers": [10, 4],
    ...                   "rate_from_previous": [1.0, 0.4]})
    >>> len(plot_funnel(t).axes[0].patches)
    2
    """
    segments = list(dict.fromkeys(table["segment"].astype(str)))
    names = list(dict.fromkeys(table["name"].astype(str)))
    fig, ax = new_axes(ax, (1.4 * len(names) + 2.5, 4))
    width = 0.8 / len(segments)
    for j, seg in enumerate(segments):
        d = table[table["segment"].astype(str) == seg].sort_values("step")
        x = np.arange(len(d)) + (j - (len(segments) - 1) / 2) * width
        bars = ax.bar(x, d["consumers"].to_numpy(float), width=width * 0.95,
                      label=seg if len(segments) > 1 else None)
        for b, r, k in zip(bars, d["rate_from_previous"], d["step"]):
            if k > 1 and pd.notna(r):
                ax.annotate(f"{r:.0%}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center",
                            va="bottom", fontsize=8)
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_ylabel("consumers")
    thousands(ax.yaxis)
    if len(segments) > 1:
        ax.legend(title="segment", fontsize=8)
    ax.set_title("funnel (labels: conversion from the previous step)")
    return fig


def plot_critical_nodes(table: pd.DataFrame, *, ax: Any = None) -> Any:
    """Horizontal bars of each node's removal effect (most critical on top), its odds ratio written beside.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"rank": [1, 2], "node": ["cart", "browse"], "removal_effect": [0.8, 0.3],
    ...                   "odds_ratio": [5.0, 1.2]})
    >>> len(plot_critical_nodes(t).axes[0].patches)
    2
    """
    df = table.sort_values("rank").iloc[::-1]
    fig, ax = new_axes(ax, (7, 0.35 * len(df) + 1.5))
    bars = ax.barh(np.arange(len(df)), df["removal_effect"].to_numpy(float), color="#d62728")
    for b, orr in zip(bars, df["odds_ratio"]):
        ax.annotate(f"OR {orr:.2g}", (b.get_width(), b.get_y() + b.get_height() / 2), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(np.arange(len(df)), df["node"].astype(str), fontsize=8)
    ax.set_xlabel("removal effect (relative drop of P(conversion))")
    ax.set_xlim(0, max(1.0, float(df["removal_effect"].max()) * 1.15))
    ax.set_title("critical path nodes")
    return fig


class SankeyDiagram:
    """A Sankey diagram as SVG: shown by Jupyter, embedded as it is in an HTML report (:attr:`svg`)."""

    def __init__(self, svg: str) -> None:
        self.svg = svg

    def _repr_html_(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        return f"<SankeyDiagram: {len(self.svg):,} characters of SVG>"


def _sankey_layout(table: pd.DataFrame, width: float, height: float, pad: float = 8.0
                   ) -> tuple[dict[tuple[int, str], tuple[float, float, float]], list[tuple[Any, ...]], float]:
    """Node boxes (x, y0, y1) per (column, name) and link bands, columns = positions, end states one further."""
    t = table.copy()
    t["tcol"] = t["position"] + 1
    inflow = t.groupby(["tcol", "target"])["sessions"].sum()
    outflow = t.groupby(["position", "source"])["sessions"].sum()
    size: dict[tuple[int, str], float] = {}
    for (c, n), v in outflow.items():
        size[(int(c), str(n))] = max(size.get((int(c), str(n)), 0.0), float(v))
    for (c, n), v in inflow.items():
        size[(int(c), str(n))] = max(size.get((int(c), str(n)), 0.0), float(v))
    cols = sorted({c for c, _ in size})
    per_col = {c: sorted([n for cc, n in size if cc == c], key=lambda n: (n.startswith("("), -size[(c, n)], n))
               for c in cols}
    biggest = max(sum(size[(c, n)] for n in per_col[c]) for c in cols)
    most = max(len(per_col[c]) for c in cols)
    scale = (height - 20 - pad * (most - 1)) / biggest
    step_x = (width - 160) / max(len(cols) - 1, 1)
    boxes: dict[tuple[int, str], tuple[float, float, float]] = {}
    for i, c in enumerate(cols):
        y = 10.0
        for n in per_col[c]:
            h = size[(c, n)] * scale
            boxes[(c, n)] = (20 + i * step_x, y, y + h)
            y += h + pad
    out_used = {k: 0.0 for k in boxes}
    in_used = {k: 0.0 for k in boxes}
    links = []
    t = t.sort_values(["position", "sessions"], ascending=[True, False], kind="mergesort")
    for r in t.itertuples(index=False):
        a, b = (int(r.position), str(r.source)), (int(r.tcol), str(r.target))
        h = float(r.sessions) * scale
        ya, yb = boxes[a][1] + out_used[a], boxes[b][1] + in_used[b]
        out_used[a] += h
        in_used[b] += h
        links.append((a, b, ya, yb, h, int(r.sessions), int(r.converted)))
    return boxes, links, scale


def _node_colour(name: str, palette: dict[str, str]) -> str:
    fixed = {"(converted)": "#2ca02c", "(left)": "#d62728", "(continues)": "#7f7f7f", "(other)": "#bcbcbc"}
    if name in fixed:
        return fixed[name]
    if name not in palette:
        import matplotlib

        cmap = matplotlib.colormaps["tab10"]
        palette[name] = matplotlib.colors.to_hex(cmap(len(palette) % 10))
    return palette[name]


def sankey(table: pd.DataFrame, *, width: int = 900, height: int = 460) -> SankeyDiagram:
    """A Sankey diagram (SVG) of path flows (``position, source, target, sessions, converted``); hovering a band
    shows its sessions and conversion rate.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"position": [1, 1], "source": ["browse", "browse"], "target": ["cart", "(left)"],
    ...                   "sessions": [3, 1], "converted": [1, 0]})
    >>> sankey(t).svg.count("<path")
    2
    """
    import html as _html

    box_w = 12.0
    boxes, links, _ = _sankey_layout(table, width, height)
    palette: dict[str, str] = {}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="11">']
    for a, b, ya, yb, h, n, conv in links:
        x0, x1 = boxes[a][0] + box_w, boxes[b][0]
        xm = (x0 + x1) / 2
        d = (f"M{x0:.1f},{ya:.1f} C{xm:.1f},{ya:.1f} {xm:.1f},{yb:.1f} {x1:.1f},{yb:.1f} L{x1:.1f},{yb + h:.1f} "
             f"C{xm:.1f},{yb + h:.1f} {xm:.1f},{ya + h:.1f} {x0:.1f},{ya + h:.1f} Z")
        tip = _html.escape(f"{a[1]} → {b[1]}: {n:,} sessions, {conv / n:.0%} converted" if n else "")
        parts.append(f'<path d="{d}" fill="{_node_colour(a[1], palette)}" fill-opacity="0.35">'
                     f"<title>{tip}</title></path>")
    for (c, name), (x, y0, y1) in boxes.items():
        colour = _node_colour(name, palette)
        parts.append(f'<rect x="{x:.1f}" y="{y0:.1f}" width="{box_w}" height="{max(y1 - y0, 1):.1f}" '
                     f'fill="{colour}"><title>{_html.escape(name)} (step {c})</title></rect>')
        if y1 - y0 >= 9:
            parts.append(f'<text x="{x + box_w + 3:.1f}" y="{(y0 + y1) / 2 + 4:.1f}">{_html.escape(name)}</text>')
    parts.append("</svg>")
    return SankeyDiagram("".join(parts))


def plot_sankey(table: pd.DataFrame, *, ax: Any = None, width: float = 900, height: float = 460) -> Any:
    """The Sankey diagram of :func:`sankey` drawn with matplotlib (static).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"position": [1, 1], "source": ["browse", "browse"], "target": ["cart", "(left)"],
    ...                   "sessions": [3, 1], "converted": [1, 0]})
    >>> len(plot_sankey(t).axes[0].patches)
    5
    """
    from matplotlib.patches import PathPatch, Rectangle
    from matplotlib.path import Path as MplPath

    box_w = 12.0
    boxes, links, _ = _sankey_layout(table, width, height)
    palette: dict[str, str] = {}
    fig, ax = new_axes(ax, (width / 100, height / 100))
    for a, b, ya, yb, h, _n, _c in links:
        x0, x1 = boxes[a][0] + box_w, boxes[b][0]
        xm = (x0 + x1) / 2
        verts = [(x0, ya), (xm, ya), (xm, yb), (x1, yb), (x1, yb + h), (xm, yb + h), (xm, ya + h), (x0, ya + h),
                 (x0, ya)]
        codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.LINETO, MplPath.CURVE4,
                 MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY]
        ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=_node_colour(a[1], palette), alpha=0.35, lw=0))
    for (_c, name), (x, y0, y1) in boxes.items():
        ax.add_patch(Rectangle((x, y0), box_w, max(y1 - y0, 1), color=_node_colour(name, palette)))
        if y1 - y0 >= 9:
            ax.text(x + box_w + 3, (y0 + y1) / 2, name, va="center", fontsize=8)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    ax.set_title("path flows")
    return fig


def path_explorer(views: Any) -> Any:
    """ipywidgets over precomputed :class:`~marketing360.paths.PathViews`: drop-downs for the level, the anchor
    and the segment; the view's top paths and Sankey diagram below (redrawn, not recomputed)."""
    from .._optional import import_optional

    widgets = import_optional("ipywidgets", purpose="the path explorer")
    from IPython.display import HTML, display

    level_w = widgets.Dropdown(options=views.levels, description="level")
    anchor_w = widgets.Dropdown(options=[("whole sessions" if a is None else a, a) for a in views.anchors],
                                description="anchor")
    segment_w = widgets.Dropdown(options=views.segments, description="segment")

    def show(level: str, anchor: Any, segment: str) -> None:
        key = (level, anchor, segment)
        if key not in views.keys():
            display(HTML("<p>no session in this view</p>"))
            return
        top = views.top_paths(*key)
        display(HTML(top[["rank", "path", "sessions", "share_sessions", "conversion_rate"]]
                     .to_html(index=False, float_format=lambda x: f"{x:,.3g}")))
        display(sankey(views.flows(*key), width=820, height=340))

    out = widgets.interactive_output(show, {"level": level_w, "anchor": anchor_w, "segment": segment_w})
    return widgets.VBox([widgets.HBox([level_w, anchor_w, segment_w]), out])
