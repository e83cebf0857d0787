"""The 4E playbook as one HTML page: each step run so far, its table, its chart and what it says."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..report.builder import Report

__all__ = ["playbook_report"]


def playbook_report(pb: Any, *, truth: pd.DataFrame | None = None) -> Report:
    """The report of a :class:`~marketing360.playbook.Playbook`: a section per step it has run.

    ``truth`` (rows ``plan``, ``incremental_conversions``, ...: what the simulator says each plan did) adds a
    section setting the predicted gain against the true one.
    """
    r = Report(f"4E playbook: {pb.brand}",
               subtitle=f"campaign {pb.start.date()} .. {pb.end.date()}, budget {pb.budget:,.0f}")
    if pb.diagnosis_ is not None:
        _step(r, "Evolve: the brand against its category", pb.diagnosis_,
              "4A stages (rates over the period; category: the mean of its brands)", "penetration and move-up rates")
    if pb.design_ is not None:
        s = r.section("Execute: audiences and a measurable plan")
        if pb.targeting_ is not None:
            for note in pb.targeting_.summary().notes:
                s.text(note)
        for note in pb.design_.summary().notes:
            s.text(note)
        s.table(pb.design_.table(), caption="plan: channel x audience x budget")
        s.table(pb.design_.arms, caption="arms of each plan row")
    if pb.readout_ is not None:
        ro = pb.readout_
        s = r.section("Evaluate: what the campaign added")
        s.text(ro.summary().notes[0])
        cols = ["scope", "channel", "audience", "arm", "consumers", "spend_per_consumer", "estimate", "lower",
                "upper", "incremental_conversions", "incremental_revenue"]
        s.table(ro.table()[cols], caption="each arm against its controls (estimate: purchases per consumer)",
                formats={"estimate": "{:.4f}", "lower": "{:.4f}", "upper": "{:.4f}"})
        s.figure(ro.plot(), alt="measured response of the dose arms")
        s.table(ro.channels(), caption="per plan row: totals over the dose arms and MRR")
        if len(ro.flows):
            s.table(ro.flows, caption="4A flows: share of each stage that moved up, treated against holdout")
    if pb.reallocation_ is not None:
        _step(r, "Enhance: the next budget", pb.reallocation_, "current and recommended budget per plan row",
              "response curves")
    if truth is not None and pb.reallocation_ is not None:
        nx = pb.reallocation_
        s = r.section("Against the truth (simulator)")
        gain = float(truth.incremental_conversions.iloc[1] - truth.incremental_conversions.iloc[0])
        inside = nx.gain_lower <= gain <= nx.gain_upper
        s.text(f"true gain {gain:+,.0f} incremental conversions; predicted {nx.gain:+,.0f} "
               f"[{nx.gain_lower:,.0f}, {nx.gain_upper:,.0f}]: {'inside' if inside else 'outside'} the interval")
        s.table(truth, caption="each plan rolled out to its whole audience, under the same random numbers")
    return r


def _step(r: Report, title: str, result: Any, caption: str, alt: str) -> None:
    """A section of one step's result: its summary's notes, its table and its chart."""
    s = r.section(title)
    for note in result.summary().notes:
        s.text(note)
    s.table(result.table(), caption=caption)
    s.figure(result.plot(), alt=alt)
