"""PyMC-Marketing MMM speed (and recovery) on fixed data, for a side-by-side table.

Standalone: run it with the python of a SEPARATE virtual environment that has
``pymc-marketing`` installed (it is not a dependency of marketing360), e.g.::

    python3 -m venv /work/bench-venvs/pymc
    /work/bench-venvs/pymc/bin/pip install pymc-marketing
    nice /work/bench-venvs/pymc/bin/python benchmarks/pymc_marketing_side_by_side.py

It imports nothing from marketing360.

Data generated here (numpy only, ``np.random.default_rng(20261130)``)
---------------------------------------------------------------------
A geo-level weekly MMM panel: 156 weeks (Mondays from 2022-01-03) x 10
channels x 50 geos, saved in WIDE form (``date, geo, y, spend_c0..spend_c9``)
to ``benchmarks/data/mmm-speed/geo_3y_10ch_50g.csv`` with the true parameters
in ``geo_3y_10ch_50g.json`` next to it.  The draws, in this order:

* geo size ``s_g ~ lognormal(0, 0.5)``, divided by its mean (mean 1);
* per channel: adstock decay ``theta_c ~ U(0.1, 0.7)``, Hill shape
  ``h_c ~ U(1, 2.5)``, spend level ``level_c ~ U(1, 6)`` (per unit of geo size
  per on-week), raw effect weight ``w_c ~ U(0.5, 1.5)``;
* flights: each (geo, week, channel) is on with probability 0.7; an on-week's
  amount is ``level_c * lognormal(0, 0.4)``; ``spend = s_g * on * amount``;
* geometric adstock with l_max 8: weights ``theta_c**l, l = 0..7``
  normalised to sum 1 (spend before the first week is 0);
* Hill saturation of the adstocked spend per capita ``x = adstock / s_g``:
  ``x**h / (x**h + K**h)`` with ``K_c = median of the channel's nonzero x``
  times ``U(0.8, 1.2)``;
* contribution ``= s_g * beta_c * hill``; ``beta_c = w_c * scale`` with one
  ``scale`` chosen so that total media contribution is exactly 30% of the
  noiseless sales;
* baseline ``= s_g * (100 + 0.1 * t + sum_k a_k sin(2 pi k t / 52.1775)
  + b_k cos(2 pi k t / 52.1775))``, Fourier order 2 with
  ``a = (8, 3), b = (5, 2)``, ``t = 0..155`` weeks;
* noise: Gaussian, sd 5% of each geo's mean noiseless sales.

True ROAS per channel = sum of the channel's contribution / sum of its spend,
over all geos and weeks.

What is timed
-------------
PyMC-Marketing's MMM with its DEFAULT sampler (``fit()`` leaves the sampler
config empty, so ``pm.sample`` defaults apply: PyMC's own NUTS,
init ``jitter+adapt_diag``, draws=1000, tune=1000, chains = max(2, cores));
we pass only ``cores=2`` (and a random seed). Models, all with
``GeometricAdstock(l_max=8)`` and ``LogisticSaturation()`` and default priors:

(i)   the PyMC-Marketing example data (``/work/shared/data/pymc_marketing_mmm/
      mmm_example.csv``), controls event_1, event_2, t, yearly_seasonality=2,
      as in their MMM quickstart; with the multidimensional ``MMM`` (the class
      their docs now use) and with the deprecated ``pymc_marketing.mmm.MMM``;
(ii)  the national sum of the generated panel (10 channels x 156 weeks),
      control t (trend), yearly_seasonality=2;
(iii) the 50-geo panel with ``pymc_marketing.mmm.multidimensional.MMM``,
      ``dims=("geo",)``, control t, yearly_seasonality=2.  If a short probe
      run predicts more than ``--geo-budget-min`` minutes for the defaults,
      it runs with fewer draws/tune (stated in the JSON) instead.

``wall_s`` is wall-clock of build + ``fit()`` (PyTensor compilation, NUTS
init, sampling, deterministics); ``sampling_s`` is PyMC's own
``sampling_time`` attribute (the sampling loop only). The machine may be
shared, so each run also records its CPU seconds (this process, and the
chain worker processes) and the 1-minute load average before and after.  The PyTensor compile
cache is a fresh directory per run unless ``--warm-cache`` (the first model
fitted then pays the C compilation; later ones reuse what they share).

Results go to ``benchmarks/results/pymc-marketing-side-by-side.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data" / "mmm-speed"
GEO_CSV = DATA_DIR / "geo_3y_10ch_50g.csv"
GEO_JSON = DATA_DIR / "geo_3y_10ch_50g.json"
RESULTS = HERE / "results" / "pymc-marketing-side-by-side.json"
EXAMPLE_CSV = Path("/work/shared/data/pymc_marketing_mmm/mmm_example.csv")

SEED = 20261130
N_WEEKS, N_CH, N_GEO, L_MAX = 156, 10, 50, 8


def _set_compiledir(warm: bool) -> str:
    # must run before pytensor is imported
    if not warm:
        d = tempfile.mkdtemp(prefix="pytensor-cold-")
        flags = os.environ.get("PYTENSOR_FLAGS", "")
        os.environ["PYTENSOR_FLAGS"] = (flags + "," if flags else "") + f"base_compiledir={d}"
        return d
    return "default (~/.pytensor)"


# ----------------------------------------------------------------------------- data
def generate(seed: int = SEED):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    T, C, G = N_WEEKS, N_CH, N_GEO
    dates = pd.date_range("2022-01-03", periods=T, freq="7D")
    assert dates[0].day_of_week == 0

    s = rng.lognormal(0.0, 0.5, size=G)
    s = s / s.mean()
    theta = rng.uniform(0.1, 0.7, size=C)
    h = rng.uniform(1.0, 2.5, size=C)
    level = rng.uniform(1.0, 6.0, size=C)
    w = rng.uniform(0.5, 1.5, size=C)

    on = rng.random((G, T, C)) < 0.7
    amount = level[None, None, :] * rng.lognormal(0.0, 0.4, size=(G, T, C))
    spend = s[:, None, None] * on * amount  # (G, T, C)

    lags = np.arange(L_MAX)
    wts = theta[None, :] ** lags[:, None]  # (L, C)
    wts = wts / wts.sum(axis=0, keepdims=True)
    ad = np.zeros_like(spend)
    for lag in range(L_MAX):
        ad[:, lag:, :] += wts[lag][None, None, :] * spend[:, : T - lag, :]
    x = ad / s[:, None, None]
    K = np.array([np.median(x[..., c][x[..., c] > 0]) for c in range(C)])
    K = K * rng.uniform(0.8, 1.2, size=C)
    hill = x**h / (x**h + K**h)

    t = np.arange(T, dtype=float)
    per = 52.1775
    a, b = np.array([8.0, 3.0]), np.array([5.0, 2.0])
    season = sum(a[k] * np.sin(2 * np.pi * (k + 1) * t / per) + b[k] * np.cos(2 * np.pi * (k + 1) * t / per) for k in range(2))  # noqa: E501
    base_t = 100.0 + 0.1 * t + season
    baseline = s[:, None] * base_t[None, :]  # (G, T)

    unit = s[:, None, None] * hill  # contribution per unit beta
    # media / (media + baseline) = 0.3  ->  media = 0.3/0.7 * baseline
    scale = (0.3 / 0.7) * baseline.sum() / (unit * w).sum()
    beta = w * scale
    contrib = unit * beta  # (G, T, C)
    mu = baseline + contrib.sum(axis=2)
    noise_sd = 0.05 * mu.mean(axis=1)  # per geo
    y = mu + rng.normal(0.0, 1.0, size=mu.shape) * noise_sd[:, None]

    roas = contrib.sum(axis=(0, 1)) / spend.sum(axis=(0, 1))
    geos = [f"g{g:02d}" for g in range(G)]
    rows = {
        "date": np.tile(dates.values, G),
        "geo": np.repeat(geos, T),
        "y": y.reshape(-1),
    }
    for c in range(C):
        rows[f"spend_c{c}"] = spend[:, :, c].reshape(-1)
    df = pd.DataFrame(rows)
    truth = {
        "seed": seed,
        "generator": "numpy.random.default_rng",
        "shape": {"weeks": T, "channels": C, "geos": G, "first_date": "2022-01-03"},
        "channels": [f"spend_c{c}" for c in range(C)],
        "theta": theta.tolist(),
        "K": K.tolist(),
        "h": h.tolist(),
        "beta": beta.tolist(),
        "roas": roas.tolist(),
        "adstock": "geometric, weights theta**l (l=0..7) normalised to sum 1",
        "saturation": "Hill x^h/(x^h+K^h) on adstocked spend per unit of geo size",
        "spend_level": level.tolist(),
        "geo_size": dict(zip(geos, s.tolist())),
        "baseline": {"intercept": 100.0, "trend_per_week": 0.1, "fourier_period_weeks": per, "sin": a.tolist(), "cos": b.tolist()},  # noqa: E501
        "noise_sd_per_geo": dict(zip(geos, noise_sd.tolist())),
        "media_share_noiseless": float(contrib.sum() / mu.sum()),
        "media_share_by_channel": (contrib.sum(axis=(0, 1)) / mu.sum()).tolist(),
        "total_spend": spend.sum(axis=(0, 1)).tolist(),
        "total_contribution": contrib.sum(axis=(0, 1)).tolist(),
    }
    return df, truth


def write_data():
    df, truth = generate()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    df.to_csv(GEO_CSV, index=False)
    GEO_JSON.write_text(json.dumps(truth, indent=2) + "\n")
    return df, truth


# ----------------------------------------------------------------------------- fitting
def _hdi(da, prob=0.94):
    import arviz as az

    h = az.hdi(da, hdi_prob=prob)
    name = list(h.data_vars)[0]
    return h[name]


def _param_summary(idata, var):
    post = idata.posterior[var]
    mean = post.mean(("chain", "draw"))
    hdi = _hdi(post.to_dataset(name=var))
    out = {}
    for ch in post.coords["channel"].values:
        out[str(ch)] = {
            "mean": float(mean.sel(channel=ch)),
            "hdi94": [float(hdi.sel(channel=ch, hdi="lower")), float(hdi.sel(channel=ch, hdi="higher"))],
        }
    return out


def _diag(idata, free):
    import arviz as az

    ss = idata.sample_stats
    post = idata.posterior
    try:
        summ = az.summary(idata, var_names=free, kind="diagnostics")
        rhat = float(summ["r_hat"].max())
        ess = float(summ["ess_bulk"].min())
    except Exception as e:  # noqa: BLE001
        rhat = ess = None
        print("  diagnostics failed:", e)
    return {
        "chains": int(post.sizes["chain"]),
        "draws": int(post.sizes["draw"]),
        "tune": int(ss.attrs.get("tuning_steps", -1)),
        "divergences": int(ss["diverging"].sum()),
        "max_tree_depth_hits": int((ss["tree_depth"] >= 10).sum()) if "tree_depth" in ss else None,
        "mean_tree_depth": float(ss["tree_depth"].mean()) if "tree_depth" in ss else None,
        "step_size_mean": float(ss["step_size"].mean()) if "step_size" in ss else None,
        "r_hat_over_ess_vars": free,
        "max_r_hat": rhat,
        "min_ess_bulk": ess,
        "sampling_s": float(post.attrs.get("sampling_time", float("nan"))),
    }


def _pooled_roas(mmm, idata, spend_by_channel):
    """Posterior of total contribution / total spend per channel, original scale."""
    import numpy as np

    post = idata.posterior
    if "channel_contribution_original_scale" in post:
        cc = post["channel_contribution_original_scale"]
    else:
        cc = post["channel_contribution"] * idata.constant_data["target_scale"]
    other = [d for d in cc.dims if d not in ("chain", "draw", "channel")]
    tot = cc.sum(other)
    out = {}
    for ch in tot.coords["channel"].values:
        r = tot.sel(channel=ch) / spend_by_channel[str(ch)]
        hdi = _hdi(r.to_dataset(name="r"))
        out[str(ch)] = {"mean": float(r.mean()), "hdi94": [float(hdi.sel(hdi="lower")), float(hdi.sel(hdi="higher"))]}
    assert np.isfinite([v["mean"] for v in out.values()]).all()
    return out


def fit_one(label, make_model, X, y, sample_kwargs, spend_by_channel, want_summary_roas=False):
    print(f"\n=== {label}: X {X.shape}, kwargs {sample_kwargs}", flush=True)
    load0 = os.getloadavg()
    r0s, r0c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    mmm = make_model()
    mmm.build_model(X, y)
    t_build = time.perf_counter() - t0
    idata = mmm.fit(X, y, progressbar=False, **sample_kwargs)
    wall = time.perf_counter() - t0
    r1s, r1c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_self = (r1s.ru_utime + r1s.ru_stime) - (r0s.ru_utime + r0s.ru_stime)
    cpu_children = (r1c.ru_utime + r1c.ru_stime) - (r0c.ru_utime + r0c.ru_stime)
    res = {
        "wall_s": wall, "build_s": t_build, "fit_s": wall - t_build,
        # CPU seconds: this process (compile, init, deterministics) and the chain
        # worker processes + g++ (sampling, C compilation); with a warm compile
        # cache, wall on an idle 2-core machine is about cpu_self + cpu_children / 2
        # (with a cold cache g++ runs serially, so this underestimates it)
        "cpu_self_s": cpu_self, "cpu_children_s": cpu_children,
        "idle_2core_estimate_s": cpu_self + cpu_children / 2,
        "loadavg_1min_before": load0[0], "loadavg_1min_after": os.getloadavg()[0],
    }
    res.update(_diag(idata, [v.name for v in mmm.model.free_RVs]))
    res["sample_kwargs"] = sample_kwargs
    print(
        f"  wall {wall:.1f} s (build {t_build:.1f} s, sampling {res['sampling_s']:.1f} s; cpu self {cpu_self:.1f} s, "
        f"children {cpu_children:.1f} s; load {load0[0]:.1f}->{res['loadavg_1min_after']:.1f}), "
        f"chains {res['chains']} draws {res['draws']} tune {res['tune']}, divergences {res['divergences']}, "
        f"max r_hat {res['max_r_hat']}, min ess_bulk {res['min_ess_bulk']}",
        flush=True,
    )
    for var in ("adstock_alpha", "saturation_lam"):
        if var in idata.posterior and "channel" in idata.posterior[var].dims and len(idata.posterior[var].dims) == 3:
            res[var] = _param_summary(idata, var)
    try:
        res["roas_pooled"] = _pooled_roas(mmm, idata, spend_by_channel)
    except Exception as e:  # noqa: BLE001
        res["roas_pooled_error"] = repr(e)
    if want_summary_roas:
        try:
            t1 = time.perf_counter()
            df = mmm.summary.roas(frequency="all_time")
            res["summary_roas_all_time"] = json.loads(df.to_json(orient="records", date_format="iso"))
            res["summary_roas_s"] = time.perf_counter() - t1
        except Exception as e:  # noqa: BLE001
            res["summary_roas_error"] = repr(e)
    return res, mmm, idata


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="i,i-repeat,i-classic,ii,iii", help="comma list of i, i-classic, i-repeat, ii, iii")  # noqa: E501
    ap.add_argument("--warm-cache", action="store_true", help="reuse ~/.pytensor instead of a fresh compiledir")
    ap.add_argument("--geo-budget-min", type=float, default=25.0)
    ap.add_argument("--geo-draws", type=int, default=None, help="force draws for (iii)")
    ap.add_argument("--geo-tune", type=int, default=None, help="force tune for (iii)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--smoke", action="store_true", help="draws=tune=20 everywhere; writes *-quick.json; timings mean nothing")  # noqa: E501
    args = ap.parse_args()
    if args.out is None:
        args.out = str(RESULTS.with_name(RESULTS.stem + "-quick.json")) if args.smoke else str(RESULTS)
    todo = set(args.only.split(","))

    compiledir = _set_compiledir(args.warm_cache)

    import numpy as np
    import pandas as pd

    df_geo, truth = write_data()
    print(f"data: {GEO_CSV} {df_geo.shape}, media share {truth['media_share_noiseless']:.3f}")

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="pytensor")
    import arviz
    import pymc as pm
    import pymc_marketing
    import pytensor
    from pymc_marketing.mmm import GeometricAdstock, LogisticSaturation
    from pymc_marketing.mmm.multidimensional import MMM as MMMd

    cores = 2
    base_kwargs = {"cores": cores, "random_seed": SEED}
    if args.smoke:
        base_kwargs.update(draws=20, tune=20)
        args.geo_draws = args.geo_tune = 20
    result = {
        "what": "PyMC-Marketing MMM, default sampler (pm.sample defaults via MMM.fit), cores=2",
        "versions": {
            "pymc_marketing": pymc_marketing.__version__,
            "pymc": pm.__version__,
            "pytensor": pytensor.__version__,
            "arviz": arviz.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "python": platform.python_version(),
        },
        "machine": {
            "os_cpu_count": os.cpu_count(),
            "affinity_cores": len(os.sched_getaffinity(0)),
            "platform": platform.platform(),
            "processor": platform.processor(),
            "loadavg_at_start": os.getloadavg(),
            "nice": os.nice(0),
        },
        "pytensor": {
            "compiledir": compiledir,
            "cold_cache": not args.warm_cache,
            "blas__ldflags": pytensor.config.blas__ldflags,
            "mode": str(pytensor.config.mode),
            "cxx": pytensor.config.cxx,
        },
        "sampler": "pm.sample defaults (PyMC NUTS, init jitter+adapt_diag); fit() passes an empty sampler_config",
        "data": {"geo_csv": str(GEO_CSV.relative_to(HERE.parent)), "truth_json": str(GEO_JSON.relative_to(HERE.parent)), "truth": {k: truth[k] for k in ("theta", "K", "h", "beta", "roas")}},  # noqa: E501
        "runs": {},
    }
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)

    def save():
        out_path.write_text(json.dumps(result, indent=2, default=float) + "\n")

    # ---------------- (i) example data
    ex = pd.read_csv(EXAMPLE_CSV, parse_dates=["date_week"])
    X_ex = ex.drop(columns=["y"])
    y_ex = ex["y"]
    ex_spend = {c: float(ex[c].sum()) for c in ("x1", "x2")}
    ex_kw = dict(
        date_column="date_week",
        channel_columns=["x1", "x2"],
        control_columns=["event_1", "event_2", "t"],
        yearly_seasonality=2,
    )
    ex_truth = {"adstock_alpha": {"x1": 0.4, "x2": 0.2}, "saturation_lam": {"x1": 4.0, "x2": 3.0}}

    def report_alpha_lam(res):
        for var in ("adstock_alpha", "saturation_lam"):
            for ch, v in res.get(var, {}).items():
                print(f"  {var}[{ch}] mean {v['mean']:.3f}  94% HDI [{v['hdi94'][0]:.3f}, {v['hdi94'][1]:.3f}]  (true {ex_truth[var][ch]})")  # noqa: E501
        for ch, v in res.get("roas_pooled", {}).items():
            print(f"  ROAS[{ch}] (total contribution / total x) mean {v['mean']:.3f}  94% HDI [{v['hdi94'][0]:.3f}, {v['hdi94'][1]:.3f}]")  # noqa: E501

    example_runs = [  # (todo key, label, result key, deprecated class?, with the truth and its report)
        ("i", "(i) example data, multidimensional MMM", "i_example_multidim", False, True),
        ("i-repeat", "(i) example data, multidimensional MMM, repeated (warm compile cache)",
         "i_example_multidim_repeat", False, False),
        ("i-classic", "(i) example data, deprecated pymc_marketing.mmm.MMM", "i_example_classic", True, True),
    ]
    for key, label, name, deprecated, full in example_runs:
        if key not in todo:
            continue
        if deprecated:
            from pymc_marketing.mmm import MMM as classic
        cls = classic if deprecated else MMMd
        res, _, _ = fit_one(
            label,
            lambda cls=cls: cls(adstock=GeometricAdstock(l_max=8), saturation=LogisticSaturation(), **ex_kw),
            X_ex, y_ex, dict(base_kwargs), ex_spend, want_summary_roas=(key == "i"),
        )
        if full:
            res["truth"] = ex_truth
        result["runs"][name] = res
        if full:
            report_alpha_lam(res)
        save()

    chans = [f"spend_c{c}" for c in range(N_CH)]
    spend_tot = {c: float(df_geo[c].sum()) for c in chans}

    def report_roas(res):
        for c, ch in enumerate(chans):
            v = res.get("roas_pooled", {}).get(ch)
            if v:
                print(f"  ROAS[{ch}] mean {v['mean']:.3f}  94% HDI [{v['hdi94'][0]:.3f}, {v['hdi94'][1]:.3f}]  (true {truth['roas'][c]:.3f})")  # noqa: E501
        if "roas_pooled" in res:
            err = [res["roas_pooled"][ch]["mean"] - truth["roas"][c] for c, ch in enumerate(chans)]
            cover = [res["roas_pooled"][ch]["hdi94"][0] <= truth["roas"][c] <= res["roas_pooled"][ch]["hdi94"][1] for c, ch in enumerate(chans)]  # noqa: E501
            res["roas_mae"] = float(np.mean(np.abs(err)))
            res["roas_hdi94_covers_truth"] = int(sum(cover))
            print(f"  ROAS MAE {res['roas_mae']:.3f}; 94% HDI covers truth for {sum(cover)}/{len(cover)} channels")

    # ---------------- (ii) national sum
    if "ii" in todo:
        nat = df_geo.groupby("date", as_index=False)[["y", *chans]].sum()
        nat["t"] = np.arange(len(nat), dtype=float)
        res, _, _ = fit_one(
            "(ii) national sum of the generated panel",
            lambda: MMMd(
                adstock=GeometricAdstock(l_max=8), saturation=LogisticSaturation(),
                date_column="date", channel_columns=chans, control_columns=["t"], yearly_seasonality=2,
            ),
            nat.drop(columns=["y"]), nat["y"], dict(base_kwargs), spend_tot,
        )
        result["runs"]["ii_national"] = res
        report_roas(res)
        save()

    # ---------------- (iii) 50 geos
    if "iii" in todo:
        g = df_geo.copy()
        g["t"] = (g["date"] - g["date"].min()).dt.days / 7.0
        Xg, yg = g.drop(columns=["y"]), g["y"]

        def make_geo():
            return MMMd(
                adstock=GeometricAdstock(l_max=8), saturation=LogisticSaturation(),
                date_column="date", channel_columns=chans, control_columns=["t"], yearly_seasonality=2,
                dims=("geo",),
            )

        draws, tune = args.geo_draws, args.geo_tune
        note = "pm.sample defaults (draws=1000, tune=1000)"
        if draws is None and tune is None:
            # probe: a short run to predict the default run's wall time
            probe, _, _ = fit_one("(iii) probe, 50 geos (draws=50, tune=50)", make_geo, Xg, yg, dict(base_kwargs, draws=50, tune=50), spend_tot)  # noqa: E501
            result["runs"]["iii_geo_probe"] = {k: v for k, v in probe.items() if k not in ("adstock_alpha", "saturation_lam", "roas_pooled")}  # noqa: E501
            per_iter = probe["sampling_s"] / 100.0
            fixed = probe["wall_s"] - probe["sampling_s"]
            # tuning iterations early on are the costliest (small step sizes);
            # the probe sees mostly those, so this is a rough upper-ish guess
            predicted = fixed + per_iter * 2000
            result["runs"]["iii_geo_probe"]["predicted_default_wall_s"] = predicted
            print(f"  probe predicts {predicted / 60:.1f} min for draws=1000, tune=1000")
            save()
            if predicted > args.geo_budget_min * 60:
                frac = max(0.05, (args.geo_budget_min * 60 - fixed) / (per_iter * 2000))
                n = max(100, int(1000 * frac) // 50 * 50)
                draws = tune = n
                note = f"REDUCED: draws={n}, tune={n} because the probe predicted {predicted / 60:.0f} min for the defaults"  # noqa: E501
        kw = dict(base_kwargs)
        if draws is not None:
            kw["draws"] = draws
        if tune is not None:
            kw["tune"] = tune
        if args.geo_draws is not None or args.geo_tune is not None:
            note = f"REDUCED by --geo-draws/--geo-tune: draws={draws}, tune={tune}"
        res, _, _ = fit_one("(iii) 50 geos, multidimensional MMM dims=('geo',)", make_geo, Xg, yg, kw, spend_tot)
        res["note"] = note
        if draws is not None or tune is not None:
            # linear extrapolation of the sampling loop to 1000 + 1000
            d, tn = kw.get("draws", 1000), kw.get("tune", 1000)
            res["extrapolated_default_wall_s"] = (res["wall_s"] - res["sampling_s"]) + res["sampling_s"] * 2000 / (d + tn)  # noqa: E501
        result["runs"]["iii_geo"] = res
        report_roas(res)
        save()

    result["machine"]["loadavg_at_end"] = os.getloadavg()
    save()
    print(f"\nwrote {out_path}")


if __name__ == "__main__":
    sys.exit(main())
