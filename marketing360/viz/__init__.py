"""Plots. Viz never computes: every function takes a result frame and draws it."""

from .attribution import plot_attribution, plot_transition_graph
from .assets import plot_flows, plot_penetration, plot_volumes
from .overview import plot_daily_events, plot_spend_outcomes, plot_truth

__all__ = ["plot_daily_events", "plot_spend_outcomes", "plot_truth", "plot_volumes", "plot_flows",
           "plot_penetration", "plot_attribution", "plot_transition_graph"]
