"""The sections of the demo report. Each capability appends its section builder to ``SECTIONS``.

A section builder takes ``(report, engine, world, tables)`` where ``tables``
holds the world's tables opened on the engine, and adds one section.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import assets, attribution, incrementality, overview, paths, viz
from ..datasets.samples import SAMPLE_PARAMS
from ..datasets.simulator import SimulationResult
from ..engine import Engine
from ..errors import Marketing360Error
from .builder import Report

__all__ = ["SECTIONS", "build_report", "open_world"]

SectionBuilder = Callable[[Report, Engine, SimulationResult, dict[str, Any]], None]


def world_section(report: Report, engine: Engine, world: SimulationResult, tables: dict[str, Any]) -> None:
    """The world at a glance: what was simulated, activity by type and day, spend and revenue."""
    s = report.section("The world")
    cfg = world.config
    s.text(f"{cfg['n_users']:,} consumers in {cfg['n_geos']} geos, {cfg['n_brands']} brands in "
           f"{cfg['n_categories']} categories, {len(cfg['channels'])} ad channels "
           f"({', '.join(cfg['channels'])}), {cfg['n_days']} days from {cfg['start']}; "
           f"seed {cfg['seed']}. Computed on the {engine.name} engine.")
    ev = tables["events"]
    counts = overview.event_counts(ev).table().sort_values("events", ascending=False)
    s.table(counts, caption="Events by type: revenue of purchases, mean rating of reviews, cost of ads",
            formats={"events": "count", "users": "count", "revenue": "money", "mean_rating": "{:.2f}",
                     "cost": "money"})
    s.figure(overview.daily_events(ev).plot(), alt="daily events")
    ch = overview.channel_summary(ev).table().sort_values("cost", ascending=False)
    s.table(ch, caption="Ad delivery by channel (ctr: clicks per impression; cpm: cost per 1,000 impressions)",
            formats={"impressions": "count", "clicks": "count", "cost": "money", "ctr": "percent",
                     "cpm": "money"})
    s.figure(viz.plot_spend_outcomes(world.spend, world.outcomes), alt="spend and revenue")


def truth_section(report: Report, engine: Engine, world: SimulationResult, tables: dict[str, Any]) -> None:
    """The causal truth planted in the world, which every later method is scored against."""
    s = report.section("Planted truth")
    t = world.truth
    tot = t.totals
    if t.incremental is None:
        s.text("This world was simulated without counterfactual truth.")
        return
    s.text(f"Of {tot['conversions']:,.0f} conversions, {tot['incremental_conversions']:,.0f} would not "
           f"have happened without ads (re-simulated with every channel off under common random numbers); "
           f"revenue {tot['revenue']:,.0f}, of which incremental {tot['incremental_revenue']:,.0f}.")
    spend = world.spend.groupby("channel", as_index=False)["spend"].sum()
    tab = t.incremental.rename(columns={"conversions": "switch_off_conversions",
                                        "revenue": "switch_off_revenue"})
    if t.shapley is not None:
        tab = tab.merge(t.shapley.rename(columns={"conversions": "shapley_conversions",
                                                  "revenue": "shapley_revenue"}), on="channel")
        tab = tab.merge(spend, on="channel")
        tab["true_iroas"] = tab.shapley_revenue / tab.spend
    fmts = {"switch_off_conversions": "count", "switch_off_revenue": "money", "shapley_conversions": "count",
            "shapley_revenue": "money", "spend": "money", "true_iroas": "ratio"}
    caption = "True incremental conversions and revenue per channel (switched off alone"
    caption += ("; iROAS: Shapley revenue per unit of spend)" if t.shapley is not None else
                "; no Shapley split: the world was simulated without truth='full')")
    s.table(tab, caption=caption, formats={k: v for k, v in fmts.items() if k in tab.columns},
            labels={"true_iroas": "true iROAS"})
    s.figure(viz.plot_truth(t.incremental, t.shapley), alt="planted truth")
    params = t.channel_params
    s.table(params, caption="Planted channel parameters (adstock theta, Hill kappa/alpha, lifts per funnel step, "
                            "exposures per pair and day, reach, retargeting boost, click-through rate, price)",
            formats={**{c: "{:.3f}" for c in params.columns if c in ("theta", "kappa", "alpha")
                        or c.startswith("beta_")},
                     **{c: k for c, k in (("rate", "ratio"), ("reach", "percent"), ("retarget", "ratio"),
                                          ("ctr", "percent"), ("price", "money")) if c in params.columns}})


def assets_section(report: Report, engine: Engine, world: SimulationResult, tables: dict[str, Any]) -> None:
    """4A consumer assets: volumes, their weekly evolution, flows and the brand-vs-category benchmark."""
    s = report.section("4A consumer assets")
    ev = tables["events"]
    start = pd.Timestamp(world.config["start"])
    last = start + pd.Timedelta(days=world.config["n_days"] - 1)
    rules = world.truth.rules  # the rules behind the world's true stages, JD's by default
    whose = "JD's default rules" if rules == assets.StageRules() else "the world's own stage rules"
    s.text(f"Stages with {whose} (Aware {rules.aware.window} days, Appeal {rules.appeal.window}, "
           f"Act {rules.act.window}, Advocate {rules.advocate.window}) on {last.date()}.")
    snap = assets.snapshot(ev, last, rules=rules)
    vols = assets.volumes(snap)
    wide = vols.wide().reset_index()
    s.table(wide, caption=f"Consumers per brand and stage on {last.date()}",
            formats={c: "count" for c in wide.columns if c != "brand"})
    series = assets.snapshots(ev, pd.date_range(start + pd.Timedelta(days=6), last, freq="7D"), rules=rules)
    s.figure(assets.volumes(series).plot(), alt="4A volumes over time")
    pen = assets.penetration(snap, tables["users"], brands=engine.table(world.brands))
    if (pen.table().stage == "act").any():
        s.figure(pen.plot("act"), alt="act penetration against the category")
    else:  # a world whose rules put nobody at Act (yet)
        s.text(f"No consumer is at Act on {last.date()}, so there is no Act penetration to compare.")
    d0 = max(start, last - pd.Timedelta(days=30))
    fl = assets.flows(ev, d0, last, rules=rules)
    s.figure(fl.plot(), alt="4A flows")
    s.table(fl.net_growth(), caption=f"Consumers per brand and stage on {d0.date()} (before) and {last.date()} "
                                     f"(after), and the net growth",
            formats={"before": "count", "after": "count", "net_growth": "count"})


def attribution_section(report: Report, engine: Engine, world: SimulationResult, tables: dict[str, Any]) -> None:
    """Multi-touch attribution: journeys, rules, Markov, Shapley and causal Shapley, scored against the truth."""
    s = report.section("Multi-touch attribution")
    ev = tables["events"]
    brands = engine.table(pd.DataFrame({"brand": sorted(world.brands.brand)}))
    population = tables["users"].select("user_id").cross_join(brands)
    j = paths.journeys(ev, lookback_days=30, population=population).cache()
    totals = j.totals()
    s.text(f"Journeys of each consumer and brand, 30-day look-back: {totals.journeys.sum():,.0f} journeys, "
           f"{totals.conversions.sum():,.0f} conversions, of which "
           f"{totals.loc[~totals.has_touches, 'conversions'].sum():,.0f} had no ad before them.")
    mk = attribution.markov(j)
    rules = attribution.rule_based(j, rules=["first_touch", "last_touch", "linear", "time_decay"])
    causal = attribution.CausalAttribution().fit(j).attribute()
    result = attribution.compare(rules, mk, attribution.shapley(j), causal)
    held = [c for c, share in world.config.get("holdout", {}).items() if share > 0]
    if held:  # the holdout experiments calibrate the credits of the channels they measured
        start = pd.Timestamp(world.config["start"])
        end = start + pd.Timedelta(days=world.config["n_days"] - 1)
        exps = {c: incrementality.experiment(ev, engine.table(world.experiment_assignment(c)), start=start, end=end,
                                             metrics=["purchases"], cuped=False) for c in held}
        base = attribution.compare(attribution.rule_based(j, rules=["last_touch"]), causal)
        result = attribution.compare(result, attribution.calibrate(base, attribution.lifts_from_experiments(exps)))
        s.text(f"Calibrated methods (*_calibrated) give {', '.join(held)} the incremental purchases their holdout "
               "experiments measured, and scale the other channels by the measured channels' pooled factor.")
    truth = world.truth.shapley if world.truth.shapley is not None else world.truth.incremental
    if truth is not None:
        s.table(attribution.score(result, truth).table(),
                caption="Each method against the true incremental conversions per channel (best split first; "
                        "share error: half the summed gaps between credited and true shares)",
                formats={"credited": "count", "truth": "count", "abs_error": "count", "relative_error": "ratio",
                         "share_error": "percent", "rank_correlation": "{:.2f}"})
        s.figure(result.plot(truth=truth, title="Conversions credited per channel, and the truth"),
                 alt="attribution by method")
    else:
        s.figure(result.plot(), alt="attribution by method")
    s.figure(mk.plot_graph(), alt="Markov transition graph")


#: the geo test of the report's incrementality section: a small world of its own (the sample world has none)
GEO_WORLD: dict[str, Any] = dict(n_users=20_000, n_days=84, n_geos=20, seed=4, truth="none", freq="D")
GEO_TEST: dict[str, Any] = dict(channel="display", geos=("wuhan", "xian", "hefei", "nanjing"), start="2025-03-05",
                                end="2025-03-25")


def incrementality_section(report: Report, engine: Engine, world: SimulationResult, tables: dict[str, Any]) -> None:
    """Incrementality: the world's randomised holdouts read out against their truth, the power of the next test,
    and a geo test on a world of its own (synthetic control and TBR against the truth)."""
    from ..datasets import GeoTest, simulate

    s = report.section("Incrementality")
    ev = tables["events"]
    start = pd.Timestamp(world.config["start"])
    end = start + pd.Timedelta(days=world.config["n_days"] - 1)  # the last simulated day, included
    held = [c for c, share in world.config.get("holdout", {}).items() if share > 0]
    truth = world.truth.experiments
    if held:
        shares = ", ".join(f"{100 * world.config['holdout'][c]:g}%" for c in held)
        s.text(f"Ghost-ad holdouts: consumers held out of {', '.join(held)} at random "
               f"({shares}) never see the channel; the "
               "ones it would have reached are logged as ghost impressions. Each holdout is read out on the "
               f"{engine.name} engine from the events: intent to treat (every assigned consumer) and the effect on "
               "the consumers reached (reached treated vs ghost-reached control), per consumer over the "
               f"{world.config['n_days']} days.")
        rows = []
        figs = []
        for ch in held:
            r = incrementality.experiment(ev, engine.table(world.experiment_assignment(ch)), start=start, end=end,
                                          metrics=["purchases", "revenue"], exposed="exposed")
            t = r.table().assign(channel=ch)
            if truth is not None:
                t = t.merge(truth[truth.channel == ch][["metric", "estimand", "effect"]].rename(
                    columns={"effect": "true_effect"}), on=["metric", "estimand"], how="left")
            rows.append(t)
            figs.append((ch, r))
        tab = pd.concat(rows, ignore_index=True)
        cols = ["channel", "metric", "estimand", "estimate", "lower", "upper", "p_value", "relative",
                *(["true_effect"] if "true_effect" in tab.columns else []), "n_treatment", "n_control"]
        s.table(tab[cols], caption="Effect per consumer (treatment minus control), its 95% Welch interval, the "
                                   "lift over control, and the truth (the world with the channel switched off)",
                formats={"estimate": "{:,.4f}", "lower": "{:,.4f}", "upper": "{:,.4f}", "p_value": "{:.3f}",
                         "relative": "percent", "true_effect": "{:,.4f}", "n_treatment": "count",
                         "n_control": "count"},
                labels={"p_value": "p", "relative": "lift", "true_effect": "truth"})
        ch, r = figs[0]
        s.figure(r.plot(relative=True, title=f"{ch} holdout: lift over the holdout, 95% intervals"),
                 alt="holdout readout")
        itt = tab[(tab.channel == ch) & (tab.metric == "purchases") & (tab.estimand == "itt")].iloc[0]
        arms = r.arms.set_index(["metric", "estimand", "arm"])
        sd = float(arms.loc[("purchases", "itt", r.control), "std"])
        base = float(itt.control_mean)
        # the effect to detect: the true one where the world knows it (a measured one is noisy)
        known = "true_effect" in tab.columns and np.isfinite(itt.true_effect)
        effect = float(itt.true_effect) if known else float(itt.estimate)
        if base > 0 and effect > 0:
            pw = incrementality.power_analysis(baseline=base, sd=sd, mde=effect, relative=False,
                                               ratio=float(itt.n_treatment / itt.n_control))
            need = pw.table().iloc[0]
            which = "true" if known else "measured"
            s.text(f"Power: detecting the {which} {ch} effect ({effect:.4f} purchases per consumer on a baseline of "
                   f"{base:.3f}, s.d. {sd:.2f}) with 80% power at the 5% level needs about "
                   f"{need.n_control:,.0f} consumers in the holdout and {need.n_treatment:,.0f} treated (this world "
                   f"holds {itt.n_control:,} and {itt.n_treatment:,}).")
    else:
        s.text("This world has no randomised holdout (simulate(..., holdout={channel: share})).")
    # ---- a geo test, on a world simulated for it
    g = GeoTest(**GEO_TEST)
    gw = simulate(**GEO_WORLD, geo_tests=[g], progress=False)
    gt = gw.truth.geo_effect().iloc[0]
    s.text(f"A geo test on a world of its own ({GEO_WORLD['n_users']:,} consumers in {GEO_WORLD['n_geos']} geos, "
           f"daily outcomes built from the events on the engine): {g.channel} switched off in "
           f"{', '.join(g.geos)} from {g.start} to {g.end}. The truth, from the same world run as planned: "
           f"{gt.conversions:,.0f} conversions and {gt.revenue:,.0f} of revenue lost for {gt.spend:,.0f} of spend "
           f"saved (iROAS {gt.iroas:.2f}).")
    panel = incrementality.geo_outcomes(engine.table(gw.events), engine.table(gw.users))
    sc = incrementality.synthetic_control(panel, treated=list(g.geos), start=g.start, end=g.end, alpha=0.05)
    pre = (str(pd.Timestamp(GEO_WORLD.get("start", "2025-01-01")).date()),
           str((pd.Timestamp(g.start) - pd.Timedelta(days=1)).date()))
    controls = [x for x in sorted(gw.users.geo.unique()) if x not in g.geos]
    tb = incrementality.tbr(panel, treatment=list(g.geos), control=controls, pre=pre, test=(g.start, g.end),
                            alpha=0.05)
    sct = sc.table().set_index("effect").loc["incremental"]
    tbt = tb.table().set_index("metric").loc["incremental_response"]
    geo_tab = pd.DataFrame({"method": ["synthetic control (conformal)", "time-based regression", "truth"],
                            "incremental_conversions": [sct.estimate, tbt.estimate, -gt.conversions],
                            "lower": [sct.lower, tbt.lower, None], "upper": [sct.upper, tbt.upper, None]})
    s.table(geo_tab, caption="Conversions the test added in its geos over its window (negative: the channel was "
                             "off), with 95% intervals",
            formats={"incremental_conversions": "{:,.1f}", "lower": "{:,.1f}", "upper": "{:,.1f}"})
    s.figure(sc.plot(), alt="synthetic control of the geo test")


#: the marketing-mix world of the report's MMM section (the sample world is too short for one)
MMM_WORLD: dict[str, Any] = dict(n_periods=156, channels=5, geos=20, seed=2026)


def mmm_section(report: Report, engine: Engine, world: SimulationResult, tables: dict[str, Any]) -> None:
    """A marketing-mix model on a simulated geo world with planted returns: ROAS against the truth, response
    curves, a budget plan, and the MRR per channel."""
    from ..datasets import simulate_mmm
    from ..viz.mmm import plot_roas

    s = report.section("Marketing-mix model and MRR")
    w = simulate_mmm(**MMM_WORLD)
    d = w.data
    spend, outcomes = engine.table(d.spend), engine.table(d.outcomes)
    controls = d.controls[d.controls.name.isin(["event", "price", "population"])]
    mmm = incrementality.MMM(level="geo").fit(spend, outcomes, controls=controls)
    s.text(f"Three years of weekly spend and revenue in {MMM_WORLD['geos']} geos and {MMM_WORLD['channels']} channels "
           "(datasets.simulate_mmm: flighted spend, geometric adstock, Hill saturation, planted ROAS), aggregated on "
           f"the {engine.name} engine and fitted by non-linear least squares (R² {mmm.r2_:.3f}).")
    roas = mmm.roas()
    t = roas.table().merge(w.truth.roas.rename("true_roas"), left_on="channel", right_index=True)
    s.table(t[["channel", "spend", "contribution", "estimate", "lower", "upper", "true_roas", "mroas"]],
            caption="ROAS per channel (contribution over spend) with its 95% interval, the planted truth, and the "
                    "marginal ROAS at the current spend",
            formats={"spend": "count", "contribution": "count", "estimate": "{:.2f}", "lower": "{:.2f}",
                     "upper": "{:.2f}", "true_roas": "{:.2f}", "mroas": "{:.2f}"},
            labels={"estimate": "ROAS", "true_roas": "truth", "mroas": "marginal ROAS"})
    s.figure(plot_roas(roas.table(), truth=w.truth.roas), alt="ROAS per channel against the truth")
    s.figure(mmm.response_curves().plot(), alt="response curves")
    plan = mmm.optimize_budget()
    s.table(plan.table()[["channel", "current", "optimal", "mroas_current", "mroas_optimal"]],
            caption=f"Budget plan at the current total spend per week (each channel within 0.5-2x its spend): "
                    f"{plan.gain:+,.0f} revenue per week [{plan.gain_lower:,.0f}, {plan.gain_upper:,.0f}]",
            formats={"current": "count", "optimal": "count", "mroas_current": "{:.2f}", "mroas_optimal": "{:.2f}"})
    m = incrementality.mrr(roas, margin=0.35, benchmark=1.0)
    s.table(m.table()[["channel", "estimate", "lower", "upper", "vs_benchmark"]],
            caption="MRR: incremental revenue x margin (35%) per unit of cost, against a benchmark MRR of 1.0",
            formats={"estimate": "{:.2f}", "lower": "{:.2f}", "upper": "{:.2f}", "vs_benchmark": "{:.2f}"},
            labels={"estimate": "MRR"})


def paths_section(report: Report, engine: Engine, world: SimulationResult, tables: dict[str, Any]) -> None:
    """Shopping paths: sessions of the consumers' own behaviour, top paths, the funnel, critical nodes, flows."""
    s = report.section("Shopping paths")
    ev = tables["events"]
    behaviour = ev.filter(~ev.event_type.isin(["impression", "click"]))
    sess = paths.sessions(behaviour, gap_minutes=30).cache()
    tot = sess.totals().iloc[0]
    s.text(f"Sessions per consumer and brand (a session ends after 30 minutes without an event; ads left out): "
           f"{int(tot.sessions):,} sessions of {int(tot.consumers):,} consumers, {int(tot.converting):,} with a "
           "purchase.")
    top = paths.top_paths(sess, n=10, max_steps=5).table()
    s.table(top.drop(columns=["n_steps"]), caption="The most frequent session paths (truncated after 5 steps; the "
                                                   "rest in (other), so the rows add up to every session)",
            formats={"rank": "{:.0f}", "sessions": "count", "share_sessions": "percent", "consumers": "count",
                     "share_consumers": "percent", "converting": "count", "conversion_rate": "percent",
                     "value": "money"})
    s.markup(paths.path_flows(sess, max_steps=4, top=5).sankey(width=860, height=360).svg)
    f = paths.funnel(ev, ["browse", "cart", "purchase"], window="1D", by="brand")
    s.table(f.table().drop(columns=["segment"]),
            caption="Funnel browse, cart, purchase within a day of the browse, per consumer and brand "
                    "(ClickHouse windowFunnel semantics; minutes from the browse)",
            formats={"consumers": "count", "rate_from_previous": "percent", "rate_from_first": "percent",
                     "drop_off": "count"})
    days = paths.sessions(ev.filter(ev.event_type.isin(["impression", "click", "browse", "search", "cart",
                                                        "purchase"])), gap_minutes=None, by_day=True)
    crit = paths.critical_nodes(days)
    s.table(crit.table(), caption="Critical steps of a day's path before a purchase (removal effect of the Markov "
                                  "chain; odds ratio of converting through the step, 95% Woolf interval; "
                                  "betweenness on the most likely routes)",
            formats={"rank": "{:.0f}", "sessions": "count", "converting": "count", "rate_through": "percent",
                     "rate_without": "percent", "odds_ratio": "{:.3g}", "or_lower": "{:.3g}", "or_upper": "{:.3g}",
                     "removal_effect": "{:.3f}", "betweenness": "{:.3f}"})


SECTIONS: list[SectionBuilder] = [world_section, truth_section, assets_section, attribution_section,
                                  incrementality_section, mmm_section, paths_section]


def open_world(engine: Engine, world: SimulationResult) -> dict[str, Any]:
    """The world's tables opened on ``engine`` (events from memory or from its parquet folder)."""
    if world.events is None and world.events_path is None:
        raise Marketing360Error("the world has neither events in memory nor an events folder")
    events = world.events if world.events is not None else Path(str(world.events_path))
    return {
        "events": engine.table(events, name="events"),
        "users": engine.table(world.users, name="users"),
        "spend": engine.table(world.spend, name="spend"),
        "outcomes": engine.table(world.outcomes, name="outcomes"),
    }


def build_report(engine: Engine, world: SimulationResult, *, progress: bool = True,
                 sections: list[SectionBuilder] | None = None) -> Report:
    """Run every section on ``engine`` and return the report (not yet written)."""
    cfg = world.config
    what = ("the sample world" if all(cfg.get(k) == v for k, v in SAMPLE_PARAMS.items() if k != "holdout")
            else f"a simulated world (seed {cfg.get('seed')})")
    report = Report("marketing360 demo report", subtitle=f"{what}, {engine.name} engine")
    tables = open_world(engine, world)
    todo = sections if sections is not None else SECTIONS
    it: Any = todo
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(todo, desc="report sections", unit="section")
    for build in it:
        build(report, engine, world, tables)
    return report


