"""The demo command and its report."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import marketing360 as m3
from marketing360 import overview
from marketing360.cli import main
from marketing360.report import Report, build_report
from marketing360.testing import assert_frame_matches


@pytest.mark.slow  # the sample world: built into the cache on first use (about two minutes)
def test_demo_writes_the_report(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    html = (tmp_path / "report.html").read_text()
    assert "The world" in html and "Planted truth" in html and "4A consumer assets" in html
    assert "Multi-touch attribution" in html and ">share error<" in html and "Incrementality" in html
    assert len(re.findall(r"data:image/png;base64,", html)) >= 10
    assert "Shopping paths" in html and "<svg" in html
    assert "wrote" in capsys.readouterr().out


@pytest.mark.slow  # about a minute: the report's Spark jobs on a small world
def test_demo_on_spark(spark_engine, small_world, tmp_path):
    # the command starts its own engine; in this process it shares the running session. Two sections of a
    # small world (the sample's 2.4M events take the whole report 7 minutes on Spark on 2 cores, and the demo
    # test above renders them on DuckDB): every section's analyses are checked on Spark in their own tests
    small_world.write(tmp_path / "world")
    assert main(["demo", "--engine", "spark", "--world", str(tmp_path / "world"), "--out", str(tmp_path),
                 "--quiet", "--sections", "world,paths"]) == 0
    html = (tmp_path / "report.html").read_text()
    assert "spark engine" in html
    assert [t for t in ("The world", "Shopping paths", "Multi-touch attribution") if f">{t}</h2>" in html] == \
        ["The world", "Shopping paths"]
    assert spark_engine.session.range(2).count() == 2  # the shared session is still alive


def test_demo_sections_are_named(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "o"), "--quiet", "--sections", "world,nope"]) == 2
    assert "unknown section(s) ['nope']" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_demo_without_a_world_fails_cleanly(tmp_path, capsys):
    assert main(["demo", "--world", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "no sample world" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_failing_section_leaves_no_report(tmp_path, small_world):
    def broken(report, engine, world, tables):
        report.section("half").text("started")
        raise RuntimeError("boom")

    with m3.connect() as eng, pytest.raises(RuntimeError, match="boom"):
        build_report(eng, small_world, progress=False, sections=[broken]).write(tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []


def _event_counts_reference(ev: pd.DataFrame) -> pd.DataFrame:
    """event_counts in plain pandas: revenue over purchases only, mean rating over reviews only."""
    rows = []
    for t, g in ev.groupby("event_type", observed=True):
        rows.append({"event_type": t, "events": len(g), "users": g.user_id.nunique(),
                     "revenue": g.value.sum() if t == "purchase" else np.nan,
                     "mean_rating": g.value.mean() if t == "review" else np.nan,
                     "cost": g.cost.sum()})
    return pd.DataFrame(rows)


def test_event_counts_never_sums_ratings_with_revenue(engine):
    """Hand-computed: two purchases (100 + 50), two ratings (4, 5), one unrated review, ads with cost."""
    ev = engine.table(m3.validate(pd.DataFrame({
        "user_id": [1, 1, 2, 2, 3, 3, 3],
        "ts": pd.to_datetime(["2025-01-01"] * 7),
        "event_type": ["purchase", "review", "purchase", "review", "review", "impression", "click"],
        "value": [100.0, 4.0, 50.0, 5.0, None, None, None],
        "cost": [None, None, None, None, None, 0.5, 1.25]})))
    got = overview.event_counts(ev).table().set_index("event_type")
    assert list(got.columns) == ["events", "users", "revenue", "mean_rating", "cost"]
    assert got.loc["purchase", "revenue"] == 150.0 and np.isnan(got.loc["purchase", "mean_rating"])
    assert got.loc["review", "mean_rating"] == 4.5 and np.isnan(got.loc["review", "revenue"])
    assert got.loc["review", "events"] == 3 and got.loc["review", "users"] == 3
    assert np.isnan(got.loc["impression", "revenue"]) and np.isnan(got.loc["impression", "mean_rating"])
    assert got.loc["click", "cost"] == 1.25 and got.loc["purchase", "cost"] == 0.0
    assert pd.api.types.is_integer_dtype(got["events"]) and pd.api.types.is_integer_dtype(got["users"])


def test_event_counts_purchases_without_values_have_zero_revenue(engine):
    ev = engine.table(m3.validate(pd.DataFrame({
        "user_id": [1, 2], "ts": pd.to_datetime(["2025-01-01"] * 2), "event_type": ["purchase", "review"],
        "value": [None, None]})))
    got = overview.event_counts(ev).table().set_index("event_type")
    assert got.loc["purchase", "revenue"] == 0.0 and np.isnan(got.loc["review", "mean_rating"])


def test_report_sections_agree_across_engines(engine, small_world):
    """The numbers in the report's tables are the same on every engine and match pandas."""
    ev = engine.table(small_world.events)
    got = overview.event_counts(ev).table()
    assert_frame_matches(got, _event_counts_reference(small_world.events), sort_by=["event_type"], rtol=1e-9)
    daily = overview.daily_events(ev).table()
    e = small_world.events.assign(date=small_world.events.ts.dt.floor("D"))
    ref_daily = e.groupby(["date", "event_type"]).size().rename("events").reset_index()
    assert_frame_matches(daily, ref_daily, sort_by=["date", "event_type"])
    ch = overview.channel_summary(ev).table()
    ads = small_world.events[small_world.events.event_type.isin(["impression", "click"])]
    g = ads.groupby("channel")
    ref_ch = g.agg(impressions=("event_type", lambda s: (s == "impression").sum()),
                   clicks=("event_type", lambda s: (s == "click").sum()), cost=("cost", "sum")).reset_index()
    ref_ch["ctr"] = ref_ch.clicks / ref_ch.impressions
    ref_ch["cpm"] = ref_ch.cost * 1000 / ref_ch.impressions
    assert_frame_matches(ch, ref_ch, sort_by=["channel"])


def test_report_builder_escapes_and_formats():
    r = Report("<t>")
    r.section("A & B").text("x < y")
    html = r.to_html()
    assert "&lt;t&gt;" in html and "x &lt; y" in html and "id='a---b'" in html


def _cells(html: str) -> tuple[list[tuple[str, str]], list[list[tuple[str, str]]]]:
    """(header cells, body rows) of the one table in ``html``, each cell as (class, text)."""
    head = re.findall(r"<th class='(\w+)' scope='col'>(.*?)</th>", html)
    rows = [re.findall(r"<td class='(\w+)'>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", html)
            if "<td" in r]
    return head, rows


def test_report_tables_format_each_column_by_its_meaning():
    df = pd.DataFrame({"channel": ["search", "video", "email"], "impressions": [228945, 100782, 79569],
                       "ctr": [0.0586, 0.0021, 0.0201], "cost": [107320.0, 24187.684, 795.69],
                       "true_iroas": [3.4127, 20.07, 183.57], "share_error": [0.115, 0.3251, None]})
    s = Report("t").section("s").table(df)
    head, rows = _cells(s.blocks[-1])
    assert [h[1] for h in head] == ["channel", "impressions", "ctr", "cost", "true iroas", "share error"]
    assert rows == [
        [("txt", "search"), ("num", "228,945"), ("num", "5.86%"), ("num", "107,320.00"), ("num", "3.4"),
         ("num", "11.5%")],
        [("txt", "video"), ("num", "100,782"), ("num", "0.21%"), ("num", "24,187.68"), ("num", "20.1"),
         ("num", "32.5%")],
        [("txt", "email"), ("num", "79,569"), ("num", "2.01%"), ("num", "795.69"), ("num", "183.6"), ("num", "")]]


def test_report_table_header_cells_line_up_with_body_cells():
    """A column-axis name (as pivot tables have) and a named index used to shift the header by one cell."""
    wide = pd.DataFrame({"aware": [3430, 2698], "act": [281, 367]}, index=pd.Index(["Acme", "Bolt"], name="brand"))
    wide.columns.name = "stage"
    s = Report("t").section("s").table(wide)
    head, rows = _cells(s.blocks[-1])
    assert [h[1] for h in head] == ["brand", "aware", "act"]
    for row in rows:
        assert len(row) == len(head)
        assert [c[0] for c in row] == [h[0] for h in head] == ["txt", "num", "num"]
    assert rows[0] == [("txt", "Acme"), ("num", "3,430"), ("num", "281")]
    # an unnamed index (e.g. after sorting) is not shown
    s.table(pd.DataFrame({"a": [1, 2]}, index=[7, 3]))
    head, rows = _cells(s.blocks[-1])
    assert [h[1] for h in head] == ["a"] and rows == [[("num", "1")], [("num", "2")]]


def test_report_table_formats_and_labels_can_be_given():
    df = pd.DataFrame({"rate": [0.25, 0.04], "x": [1.23456, -0.0001], "d": pd.to_datetime(["2025-01-01",
                                                                                          "2025-02-03"])})
    s = Report("t").section("s").table(df, formats={"rate": "ratio", "x": "{:.2f}"}, labels={"x": "X (units)"})
    head, rows = _cells(s.blocks[-1])
    assert [h[1] for h in head] == ["rate", "X (units)", "d"]
    assert rows == [[("num", "0.250"), ("num", "1.23"), ("txt", "2025-01-01")],
                    [("num", "0.040"), ("num", "-0.00"), ("txt", "2025-02-03")]]
    from marketing360.report.builder import format_column

    assert format_column(pd.Series([-0.4, 2.5, 1234567.0]), "count") == ["0", "2", "1,234,567"]
    assert format_column(pd.Series([-0.001]), "money") == ["0.00"]
    with pytest.raises(m3.ParameterError, match="lacks"):
        s.table(df, formats={"missing": "count"})
    with pytest.raises(m3.ParameterError, match="column format"):
        s.table(df, formats={"rate": "percentage"})


def test_report_embeds_and_closes_its_figures():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    s = Report("t").section("s").figure(fig, alt="a line")
    assert "data:image/png;base64," in s.blocks[-1] and "alt='a line'" in s.blocks[-1]
    assert fig.number not in plt.get_fignums()


@pytest.fixture(scope="module", params=["incremental", "none"])
def partial_truth_world(request):
    """A tiny world without the full (Shapley) truth: the CLI's default `simulate --truth incremental`, and none."""
    return m3.datasets.simulate(n_users=300, n_days=14, seed=1, truth=request.param,
                                channels=["search", "video", "email"])


def test_the_truth_section_shows_what_a_world_without_full_truth_has(partial_truth_world):
    # was: ParameterError "formats names column(s) ['shapley_conversions', ...] the table lacks" under
    # truth="incremental", so `simulate --out W` then `demo --world W` always failed
    from marketing360.report.sections import truth_section

    w = partial_truth_world
    r = Report("x")
    truth_section(r, None, w, {})
    blocks = r.sections[0].blocks
    if w.config["truth"] == "none":
        assert "without counterfactual truth" in blocks[0] and len(blocks) == 1
        return
    table = next(b for b in blocks if "switch off conversions" in b)
    head, rows = _cells(table)
    assert [h[1] for h in head] == ["channel", "switch off conversions", "switch off revenue"]
    # the cells are the truth's own numbers, formatted by hand: counts rounded, money with 2 decimals
    want = [[("txt", c), ("num", f"{conv:,.0f}"), ("num", f"{rev:,.2f}")]
            for c, conv, rev in w.truth.incremental[["channel", "conversions", "revenue"]].itertuples(index=False)]
    assert rows == want
    assert "no Shapley split" in table


def test_a_report_on_a_world_names_it(partial_truth_world):
    with m3.connect() as eng:
        r = build_report(eng, partial_truth_world, progress=False, sections=[])
    assert r.subtitle == "a simulated world (seed 1), duckdb engine"  # was: "sample world" for every world


def test_the_assets_section_reads_stages_with_the_world_s_own_rules():
    # was: JD's default rules whatever the world's, so the 4A section disagreed with the world's own truth
    from dataclasses import replace

    from marketing360.assets import Criterion, StageRule, StageRules
    from marketing360.report.sections import assets_section, open_world

    strict = replace(StageRules(), act=StageRule("act", 30, (Criterion(("purchase",), min_count=2),)))
    w = m3.datasets.simulate(n_users=300, n_days=21, seed=2, truth="none", rules=strict, channels=["search", "video"])
    last = pd.Timestamp(w.config["start"]) + pd.Timedelta(days=20)
    with m3.connect() as eng:
        r = Report("x")
        assets_section(r, eng, w, open_world(eng, w))
    blocks = r.sections[0].blocks
    assert "the world&#x27;s own stage rules" in blocks[0]
    head, rows = _cells(blocks[1])
    got = {row[0][1]: dict(zip([h[1] for h in head[1:]], [int(c[1].replace(",", "")) for c in row[1:]]))
           for row in rows}
    # the simulator's true stages on that day (they follow the world's rules), counted in plain pandas
    truth = w.truth.stages_on(last).groupby(["brand", "stage"]).size()
    for (brand, stage), n in truth.items():
        assert got[brand][stage] == n, (brand, stage)
    assert sum(v for b in got.values() for v in b.values()) == truth.sum()


def test_the_incrementality_section_reads_out_the_holdouts_against_the_truth(small_world, monkeypatch):
    from marketing360 import incrementality
    from marketing360.report import sections
    from marketing360.report.builder import Report

    monkeypatch.setattr(sections, "GEO_WORLD", dict(sections.GEO_WORLD, n_users=3000, n_days=56))
    monkeypatch.setattr(sections, "GEO_TEST", dict(sections.GEO_TEST, start="2025-02-05", end="2025-02-18"))
    with m3.connect() as eng:
        r = Report("t")
        sections.incrementality_section(r, eng, small_world, sections.open_world(eng, small_world))
        html = r.to_html()
    ref = incrementality.experiment(small_world.events, small_world.experiment_assignment("video"),
                                    start="2025-01-01", end="2025-02-04", metrics=["purchases", "revenue"],
                                    exposed="exposed").table()
    itt = ref.query("metric == 'purchases' and estimand == 'itt'").iloc[0]
    assert f"{itt.estimate:,.4f}" in html and f"{itt.lower:,.4f}" in html
    truth = small_world.truth.experiments.query("channel == 'video' and metric == 'revenue' and estimand == 'tot'")
    assert f"{truth.effect.iloc[0]:,.4f}" in html
    assert "synthetic control (conformal)" in html and "time-based regression" in html
    assert len(re.findall(r"data:image/png;base64,", html)) == 2


def test_the_paths_section_on_a_small_world(duckdb_engine, small_world):
    from marketing360.report.sections import open_world, paths_section

    r = Report("t")
    paths_section(r, duckdb_engine, small_world, open_world(duckdb_engine, small_world))
    blocks = r.sections[0].blocks
    assert r.sections[0].title == "Shopping paths" and len(blocks) == 5
    beh = small_world.events[~small_world.events.event_type.isin(["impression", "click"])]
    assert f"of {beh.groupby('user_id').ngroups:,} consumers" in blocks[0]
    assert blocks[2].startswith("<figure><svg") and "Funnel browse, cart, purchase" in blocks[3]
