"""One protocol for every incrementality result: the table's columns, summary, conf_int at any level, plot(title=)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from marketing360 import incrementality as inc
from marketing360.incrementality import EFFECT_COLUMNS, Effects


def _geo_long(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T, G = 60, 8
    base = 100 + 10 * np.sin(np.arange(T) / 5)[:, None] * rng.uniform(0.5, 1.5, G) + rng.normal(0, 2, (T, G))
    treated = np.arange(G) % 2 == 0  # assignment 1: g0, g2, g4, g6
    base[45:, treated] += 6.0 + rng.normal(0, 1, (T - 45, treated.sum()))
    cost = 1.0 + 3.0 * treated[None, :] * (np.arange(T)[:, None] >= 45) * rng.uniform(0.5, 1.5, G)
    dates = pd.date_range("2024-01-01", periods=T)
    return pd.DataFrame({"date": np.repeat(dates, G), "geo": [f"g{i}" for i in range(G)] * T,
                         "response": base.ravel(), "cost": np.broadcast_to(cost, (T, G)).ravel(),
                         "pair": np.tile(np.arange(G) // 2 + 1, T),
                         "assignment": np.tile([1, 2] * (G // 2), T)})


def _did_panel() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = [(u, t, (2 if u < 6 else 3 if u < 12 else np.nan)) for u in range(18) for t in range(5)]
    p = pd.DataFrame(rows, columns=["unit", "time", "cohort"])
    p["y"] = p.unit * 0.1 + p.time + rng.normal(0, 0.3, len(p)) + 2.0 * (p.time >= p.cohort.fillna(99))
    p["d"] = (p.time >= p.cohort.fillna(99)).astype(int)
    return p


def _results() -> dict[str, Effects]:
    rng = np.random.default_rng(1)
    units = pd.DataFrame({"arm": rng.choice(["control", "b"], 600), "pre": rng.gamma(2, 2, 600)})
    units["y"] = units.pre + rng.normal(0, 1, 600) + (units.arm == "b") * 0.4
    geo = _geo_long()
    pre, test = ("2024-01-01", "2024-02-14"), ("2024-02-15", "2024-02-29")
    panel = _did_panel()
    ts = pd.DataFrame({"y": 50 + np.cumsum(rng.normal(0, 1, 80)), "x": 30 + np.cumsum(rng.normal(0, 1, 80))})
    ts.loc[60:, "y"] += 5
    return {
        "ab_test": inc.ab_test(units, arm="arm", outcomes=["y"], covariates=["pre"]),
        "did": inc.did(panel, unit="unit", time="time", outcome="y", treated="d"),
        "event_study": inc.event_study(panel, unit="unit", time="time", outcome="y", cohort="cohort"),
        "staggered_did": inc.staggered_did(panel, unit="unit", time="time", outcome="y", cohort="cohort"),
        "causal_impact": inc.causal_impact(ts, pre_period=(0, 59), post_period=(60, 79), n_sims=300,
                                           random_state=0),
        "synthetic_control": inc.synthetic_control(geo, treated=["g0", "g2"], start=test[0], end=test[1],
                                                   y="response", random_state=0),
        "tbr": inc.tbr(geo, assignment="assignment", pre=pre, test=test, y="response"),
        "trimmed_match": inc.trimmed_match(geo, test=test, y="response"),
    }


RESULTS = _results()


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_every_result_speaks_the_protocol(name):
    r = RESULTS[name]
    assert isinstance(r, Effects)
    t = r.table()
    keys = r.key_columns
    assert list(t.columns[len(keys):len(keys) + len(EFFECT_COLUMNS)]) == list(EFFECT_COLUMNS)
    assert r.alpha == 0.05  # one default level everywhere: 95% intervals
    assert len(str(r.summary())) > 20 and "<" in r._repr_html_()
    # intervals at other levels are nested and the fitted level is the table's
    wide, narrow = r.conf_int(0.01), r.conf_int(0.2)
    same = r.conf_int(0.05)
    assert list(same.columns) == [*keys, "lower", "upper"]
    ok = t.lower.notna() & t.upper.notna() & np.isfinite(t.lower) & np.isfinite(t.upper)
    np.testing.assert_allclose(same.lower[ok], t.lower[ok])
    assert (wide.lower[ok] <= narrow.lower[ok] + 1e-9).all() and (wide.upper[ok] >= narrow.upper[ok] - 1e-9).all()
    fig = r.plot(title="my title")
    texts = [a.get_title() for a in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]
    assert "my title" in texts, texts
    plt.close(fig)
