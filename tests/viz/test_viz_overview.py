"""The overview plots draw the numbers they are given."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from marketing360 import viz


def test_spend_bars_stack_over_a_missing_date_and_channel_row():
    # was: no search row in week 2 gave a NaN base, and video's week-2 bar was not drawn
    w1, w2 = pd.Timestamp("2025-01-06"), pd.Timestamp("2025-01-13")
    spend = pd.DataFrame({"date": [w1, w1, w2, w1], "geo": ["n", "n", "n", "s"],
                          "channel": ["search", "video", "video", "video"], "spend": [10.0, 5.0, 7.0, 1.0]})
    outcomes = pd.DataFrame({"date": [w1, w2], "geo": ["n", "n"], "revenue": [100.0, 80.0]})
    fig = viz.plot_spend_outcomes(spend, outcomes)
    try:
        bars = {c.get_label(): [(p.get_y(), p.get_height()) for p in c] for c in fig.axes[0].containers}
        # by hand: week 1 search 10, video 5 + 1 on top of it; week 2 search 0, video 7 from the ground
        assert bars == {"search": [(0.0, 10.0), (0.0, 0.0)], "video": [(10.0, 6.0), (0.0, 7.0)]}
        assert fig.axes[1].lines[0].get_ydata().tolist() == [100.0, 80.0]
    finally:
        plt.close(fig)
