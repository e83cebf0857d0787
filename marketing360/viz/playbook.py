"""Plots of the 4E playbook: who to target (audience tags' gains), a campaign's measured arms, and the response
curves behind the next budget."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._base import new_axes

__all__ = ["plot_tag_gains", "plot_readout", "plot_reallocation", "plot_diagnosis"]


def _palette(names: list[str]) -> dict[str, Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {n: cmap(i % 10) for i, n in enumerate(names)}


def plot_tag_gains(held_out: pd.DataFrame, *, horizon: int, ax: Any = None, **kwargs: Any) -> Any:
    """Cumulative gains of audience tags per transition: the share of the pairs that moved up found in the
    best-scored share of the stage's pairs (``held_out``: ``stage, moved_up, score``); the diagonal is chance.
    Returns the figure."""
    from .colors import stage_color

    fig, ax = new_axes(ax, kwargs.pop("figsize", (5.5, 4.0)))
    nxt = {"aware": "appeal", "appeal": "act", "act": "advocate"}
    for stage in [s for s in nxt if s in set(held_out.stage)]:
        g = held_out[held_out.stage == stage].sort_values("score", ascending=False, kind="mergesort")
        moved = g.moved_up.to_numpy(float)
        found = np.concatenate([[0.0], np.cumsum(moved) / max(moved.sum(), 1.0)])
        ax.plot(np.linspace(0, 1, len(found)), found, color=stage_color(nxt[stage]),
                label=f"{stage} → {nxt[stage]}", **kwargs)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set(xlabel="share of the stage's pairs, best scored first", ylabel="share of the movers found",
           title=f"audience tags: gains over {horizon} days (held out)")
    ax.legend(frameon=False)
    return fig


def plot_readout(table: pd.DataFrame, *, ax: Any = None, **kwargs: Any) -> Any:
    """Incremental purchases per consumer of each dose arm (with its interval) against its spend per consumer,
    one colour per channel (and audience); the controls sit at the origin. Returns the figure."""
    fig, ax = new_axes(ax, kwargs.pop("figsize", (6.5, 4.0)))
    arms = table[table.scope == "channel"]
    keys = list(dict.fromkeys(zip(arms.channel, arms.audience)))
    single = len({a for _, a in keys}) == 1
    colors = _palette([f"{c}|{a}" for c, a in keys])
    for c, a in keys:
        g = arms[(arms.channel == c) & (arms.audience == a)].sort_values("spend_per_consumer")
        col = colors[f"{c}|{a}"]
        x = np.r_[0.0, g.spend_per_consumer.to_numpy(float)]
        y = np.r_[0.0, g.estimate.to_numpy(float)]
        ax.plot(x, y, "-", color=col, lw=1, alpha=0.6)
        ax.errorbar(g.spend_per_consumer, g.estimate, yerr=[g.estimate - g.lower, g.upper - g.estimate],
                    fmt="o", color=col, capsize=3, label=c if single else f"{c} · {a}")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("spend per consumer")
    ax.set_ylabel("incremental purchases per consumer")
    ax.set_title("measured response of each channel's dose arms")
    ax.legend(frameon=False, fontsize=8)
    return fig


def plot_reallocation(result: Any, *, ax: Any = None, **kwargs: Any) -> Any:
    """Each plan row's fitted response (incremental purchases against its budget, rolled out to its audience),
    the measured arms scaled to the audience, and the current (open) and new (filled) budgets. Returns the
    figure."""
    from ..playbook.enhance import response

    fig, ax = new_axes(ax, kwargs.pop("figsize", (6.5, 4.0)))
    t = result.table()
    curves = result.curves
    pts = result.points
    single = t.audience.nunique() == 1
    colors = _palette([f"{c}|{a}" for c, a in zip(t.channel, t.audience)])
    top = float(max(t.high.max(), t.optimal.max(), 1e-9))
    b = np.linspace(0.0, top, 200)
    for r, cv in zip(t.itertuples(), curves.itertuples()):
        col = colors[f"{r.channel}|{r.audience}"]
        n = float(r.consumers)
        ax.plot(b, n * response(b / n, cv.beta, cv.kappa), color=col, lw=1.5,
                label=r.channel if single else f"{r.channel} · {r.audience}")
        p = pts[(pts.channel == r.channel) & (pts.audience == r.audience)]
        ax.errorbar(p.spend_per_consumer * n, p.estimate * n, yerr=1.96 * p.std_error * n, fmt="s", ms=4,
                    color=col, alpha=0.5, capsize=2)
        ax.plot([r.current], [r.response_current], "o", mfc="white", color=col, ms=7)
        ax.plot([r.optimal], [r.response_optimal], "o", color=col, ms=7)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("budget of the plan row")
    ax.set_ylabel("incremental purchases")
    ax.set_title(f"response curves: now (open) and next (filled); gain {result.gain:,.0f} "
                 f"[{result.gain_lower:,.0f}, {result.gain_upper:,.0f}]")
    ax.legend(frameon=False, fontsize=8)
    return fig


def plot_diagnosis(result: Any, *, ax: Any = None, **kwargs: Any) -> Any:
    """Two panels: penetration by stage and the share of each stage that moved up, the brand against its
    category, the bottleneck stage outlined. With ``ax`` (one axes) only the move-up panel is drawn.
    Returns the figure."""
    from .colors import stage_color

    t = result.table()
    if ax is None:
        import matplotlib.pyplot as plt

        from ._base import Figure

        fig, (left, right) = plt.subplots(1, 2, figsize=kwargs.pop("figsize", (10.0, 3.8)), FigureClass=Figure)
    else:
        fig, right = new_axes(ax, (5.0, 3.8))
        left = None
    x = np.arange(len(t))
    names = [str(s) for s in t.stage]
    w = 0.38
    if left is not None:
        left.bar(x - w / 2, 100 * t.penetration, w, color=[stage_color(s) for s in names], label=result.brand)
        left.bar(x + w / 2, 100 * t.category_penetration, w, color="#bbbbbb", label=f"{result.category} (mean)")
        left.set_xticks(x, names)
        left.set_ylabel("% of the category's shoppers")
        left.set_title(f"penetration on {result.end.date()}")
        left.legend(frameon=False, fontsize=8)
    up = t[t.stage.astype(str) != "advocate"]
    xu = np.arange(len(up))
    bars = right.bar(xu - w / 2, 100 * up.up_rate, w, color=[stage_color(str(s)) for s in up.stage],
                     label=result.brand)
    right.bar(xu + w / 2, 100 * up.category_up_rate, w, color="#bbbbbb", label=f"{result.category} (mean)")
    for b, s in zip(bars, up.stage.astype(str)):
        if s == result.bottleneck:
            b.set_edgecolor("#d62728")
            b.set_linewidth(2.5)
    right.set_xticks(xu, [f"{s} ->" for s in up.stage.astype(str)])
    right.set_ylabel("% moved up a stage")
    right.set_title(f"{result.start.date()} .. {result.end.date()}: bottleneck {result.bottleneck} (red)")
    right.legend(frameon=False, fontsize=8)
    return fig
