"""The demo command and its report."""

from __future__ import annotations

import re

import pytest

import marketing360 as m3
from marketing360 import overview
from marketing360.cli import main
from marketing360.report import Report, build_report
from marketing360.testing import assert_frame_matches


def test_demo_writes_the_report(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    html = (tmp_path / "report.html").read_text()
    assert "The world" in html and "Planted truth" in html and "4A consumer assets" in html
    assert "Multi-touch attribution" in html and "share_error" in html
    assert len(re.findall(r"data:image/png;base64,", html)) >= 8
    assert "wrote" in capsys.readouterr().out


def test_demo_on_spark(spark_engine, tmp_path):
    # the command starts its own engine; in this process it shares the running session
    assert main(["demo", "--engine", "spark", "--out", str(tmp_path), "--quiet"]) == 0
    assert "spark engine" in (tmp_path / "report.html").read_text()
    assert spark_engine.session.range(2).count() == 2  # the shared session is still alive


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


def test_report_sections_agree_across_engines(engine, small_world):
    """The numbers in the report's tables are the same on every engine and match pandas."""
    ev = engine.table(small_world.events)
    got = engine.to_pandas(overview.event_counts(ev))
    ref = small_world.events.groupby("event_type").agg(
        events=("user_id", "size"), users=("user_id", "nunique"), value=("value", "sum"),
        cost=("cost", "sum")).reset_index()
    assert_frame_matches(got, ref, sort_by=["event_type"], rtol=1e-9)
    daily = engine.to_pandas(overview.daily_events(ev))
    e = small_world.events.assign(date=small_world.events.ts.dt.floor("D"))
    ref_daily = e.groupby(["date", "event_type"]).size().rename("events").reset_index()
    assert_frame_matches(daily, ref_daily, sort_by=["date", "event_type"])
    ch = engine.to_pandas(overview.channel_summary(ev))
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
