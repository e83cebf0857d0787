"""The chained Playbook, its HTML report and the ``playbook`` command line."""

from __future__ import annotations

import pandas as pd
import pytest

from marketing360.cli import main
from marketing360.datasets import simulate
from marketing360.errors import NotFittedError, ParameterError
from marketing360.playbook import Playbook

WORLD = dict(n_users=3000, n_days=63, n_brands=3, n_categories=1, burn_in=30, seed=3, truth="none", progress=False)
START, END = "2025-02-05", "2025-02-18"


@pytest.fixture(scope="module")
def run():
    w0 = simulate(**WORLD)
    pb = Playbook("Acme", start=START, end=END, channels=["display", "video"], budget=2000.0, min_size=100)
    pb.evolve(w0.events)
    pb.execute(w0.events[w0.events.ts < START])
    w1 = simulate(**WORLD, campaign=pb.campaign())
    pb.evaluate(w1.events)
    pb.enhance()
    return pb, w1


def test_steps_chain_and_keep_their_results(run):
    pb, w1 = run
    plan = pb.design_.table()
    assert sorted(set(plan.audience)) == ["high", "low"] and set(plan.channel) == {"display", "video"}
    assert plan.budget.sum() == pytest.approx(2000.0) and plan.budget.nunique() == 1
    # the audiences are the scored consumers, the better-scored half first
    scored = pb.targeting_.table()
    assert len(pb.design_.audiences["high"]) + len(pb.design_.audiences["low"]) == len(scored)
    assert set(pb.design_.audiences["high"]) == set(scored.user_id[: len(pb.design_.audiences["high"])])
    assert pb.readout_.end == w1.events.ts.max().normalize()
    assert pb.reallocation_.table().optimal.sum() == pytest.approx(2000.0)
    assert 0.0 <= pb.reallocation_.prob_gain <= 1.0


def test_report_has_a_section_per_step(run, tmp_path):
    pb, _ = run
    truth = pd.DataFrame({"plan": ["0", "1"], "incremental_conversions": [10.0, 12.0]})
    html = pb.report(tmp_path / "r.html", truth=truth).read_text()
    for title in ("Evolve", "Execute", "Evaluate", "Enhance", "Against the truth"):
        assert f">{title}" in html
    assert html.count("<img") == 3 and "true gain +2" in html


def test_steps_out_of_order_and_bad_settings_are_refused():
    pb = Playbook("Acme", start=START, end=END, channels=["display"], budget=1000.0)
    with pytest.raises(NotFittedError, match="execute"):
        pb.campaign()
    with pytest.raises(NotFittedError, match="evaluate"):
        pb.enhance()
    with pytest.raises(ParameterError, match="before start"):
        Playbook("Acme", start=END, end=START, channels=["display"], budget=1.0)
    with pytest.raises(ParameterError, match="before the first event"):
        Playbook("Acme", start=START, end=END, channels=["display"], budget=1.0, period=40).evolve(
            simulate(**{**WORLD, "n_users": 300}).events)
    with pytest.raises(ParameterError, match="at least one channel"):
        Playbook("Acme", start=START, end=END, channels=[], budget=1.0)


def test_command_line_writes_the_report_and_the_lists(tmp_path, capsys):
    rc = main(["playbook", "--users", "3000", "--days", "63", "--start", START, "--end", END, "--budget", "2000",
               "--min-size", "100", "--jobs", "1", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Evolve:" in out and "truth: plan 1 adds" in out
    assert (tmp_path / "playbook.html").is_file()
    lists = pd.read_parquet(tmp_path / "audience_lists.parquet")
    assert (lists.dose > 0).all() and lists.groupby(["channel", "audience", "arm"]).size().min() >= 100
