"""Plots. Viz never computes: every function takes a result frame and draws it.

Every plot function draws on ``ax=`` (a new pyplot figure when omitted),
returns the :class:`matplotlib.figure.Figure`, never switches the matplotlib
backend and never closes a figure. Attribution methods and 4A stages keep one
colour across all plots (:mod:`marketing360.viz.colors`).
"""

from .assets import plot_flows, plot_penetration, plot_volumes
from .attribution import plot_attribution, plot_score, plot_transition_graph
from .colors import METHOD_COLORS, STAGE_COLORS, method_color, method_colors, set_method_color, stage_color
from .overview import plot_daily_events, plot_spend_outcomes, plot_truth
from .transition_graph import first_order_matrix, graph_edges

__all__ = ["METHOD_COLORS", "STAGE_COLORS", "first_order_matrix", "graph_edges", "method_color", "method_colors",
           "plot_attribution", "plot_daily_events", "plot_flows", "plot_penetration", "plot_score",
           "plot_spend_outcomes", "plot_transition_graph", "plot_truth", "plot_volumes", "set_method_color",
           "stage_color"]
