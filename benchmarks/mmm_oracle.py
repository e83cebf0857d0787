"""Oracle fits for the mmm-accuracy worlds (issue 10): how well can ROAS be recovered when the curves are known?

Same worlds as benchmarks/suites/mmm_accuracy.py with run.py's default seed (read from that suite: its
``DESIGNS`` settings, its default seed, design seed = seed + 1000 * the design's index, world i -> seed + i):
  geo-50x10  : simulate_mmm(channels=10, geos=50), seeds 30000..30019
  national-5 : simulate_mmm(channels=5,  geos=1),  seeds 33000..33019

The world is read from the public data (spend, outcome, controls) and the truth's params (theta, half, slope).
Adstock / saturation are re-implemented here in numpy from mmm_world.py's definitions (geometric weights
theta**l, l=0..l_max-1, normalised to sum 1, causal convolution from zero; Hill a^s/(a^s+half^s)) applied to
spend per capita x/size (size = population/1e5). The generator's outcome per capita is

    y/size = base_g + trend*(t/(T-1)) + sum_k (a_k sin(k doy) + b_k cos(k doy)), k=1,2 + 25 event - 4 price
             + sum_c beta_c sat_c[t,g] + noise

so the linear model below (geo intercepts, linear trend, 2 harmonics, event, price, media) is exactly right.

Estimators
  A  "oracle"       : true adstock+saturation, OLS on y/size (all coefficients free).  Also A+ with media betas
                      constrained >= 0 (scipy lsq_linear); identical whenever no OLS beta is negative.
  B  "oracle, noise redraws": A refitted on R fresh noise draws of the same world (mean from simulate_mmm(...,
                      noise=0) which consumes the same rng stream; the noise is the generator's last draw), giving
                      the noise-only sampling error of A over the world's design.
  C  "NLS from truth": the curve parameters (theta, half, slope per channel) estimated too, by variable-
                      projection least squares started AT the true values (local MLE of the right model family, no
                      priors, wide bounds) -- the best a well-specified point estimator can do near the truth.
  D  "NLS in generator ranges": C confined to the generator's parameter ranges (theta [0.1, 0.7], half [0.5, 2] x
                      the mean positive adstocked spend per capita at the true theta, slope [0.8, 2.5]): knows the
                      prior's support (not its shape) -- a proxy for what strong, correct prior knowledge buys.
ROAS_hat_c = beta_hat_c * sum_{t,g} sat_c[t,g]*size_g / sum_{t,g} x_c[t,g]  (the truth's estimand: contribution
over spend over the whole window), so for A/B ROAS_hat/ROAS = beta_hat/beta exactly.
Relative error = |ROAS_hat/ROAS - 1| as in the suite.

Run:  nice .venv/bin/python benchmarks/mmm_oracle.py [--worlds 20] [--redraws 20] [--nls 20]  (3 min; writes
results/mmm-oracle.json; reads results/mmm-accuracy.json for the suite's figures on the same worlds)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.optimize import least_squares, lsq_linear  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from suites import mmm_accuracy as suite_def  # noqa: E402

from marketing360.datasets import simulate_mmm  # noqa: E402

ORACLE_DESIGNS = ("geo-50x10", "national-5")
L_MAX = 8
NOISE = 0.05


# ---------------------------------------------------------------- own transforms (from mmm_world.py's definitions)
def adstock_geometric(xpc: np.ndarray, theta: float, l_max: int = L_MAX) -> np.ndarray:
    """xpc: (T, G). Causal convolution with normalised geometric weights, zero before the window."""
    w = theta ** np.arange(l_max, dtype=float)
    w = w / w.sum()
    out = np.zeros_like(xpc)
    for lag in range(l_max):
        out[lag:] += w[lag] * xpc[: xpc.shape[0] - lag]
    return out


def hill(a: np.ndarray, half: float, slope: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return a ** slope / (a ** slope + half ** slope)


# ---------------------------------------------------------------- world -> arrays
def arrays(w):
    d = w.data
    names = list(d.meta["channels"])
    geos = list(d.meta["geos"])
    sp = d.spend.pivot_table(index=["date", "geo"], columns="channel", values="spend")
    dates = sorted(d.spend.date.unique())
    T, G, C = len(dates), len(geos), len(names)
    idx = pd.MultiIndex.from_product([dates, geos], names=["date", "geo"])
    x = sp.reindex(idx)[names].to_numpy().reshape(T, G, C)
    y = d.outcomes.set_index(["date", "geo"])["revenue"].reindex(idx).to_numpy().reshape(T, G)
    ctl = d.controls.pivot_table(index=["date", "geo"], columns="name", values="value").reindex(idx)
    size = ctl["population"].to_numpy().reshape(T, G)[0] / 1e5
    event = ctl["event"].to_numpy().reshape(T, G)[:, 0]
    price = ctl["price"].to_numpy().reshape(T, G)[:, 0]
    doy = 2 * np.pi * pd.DatetimeIndex(dates).dayofyear.to_numpy() / 365.25
    return names, x, y, size, event, price, doy


def baseline_design(T: int, G: int, event, price, doy) -> np.ndarray:
    """Columns per (t, g) row, rows ordered t-major: geo dummies, trend, sin/cos k=1,2, event, price."""
    tr = np.linspace(0, 1, T)
    common = np.column_stack([tr, np.sin(doy), np.cos(doy), np.sin(2 * doy), np.cos(2 * doy), event, price])
    Z = np.repeat(common, G, axis=0)
    D = np.tile(np.eye(G), (T, 1))
    return np.column_stack([D, Z])


def media(xpc: np.ndarray, pars: np.ndarray) -> np.ndarray:
    """pars: (C, 3) theta, half, slope -> sat (T, G, C)."""
    T, G, C = xpc.shape
    out = np.empty((T, G, C))
    for c in range(C):
        out[:, :, c] = hill(adstock_geometric(xpc[:, :, c], pars[c, 0]), pars[c, 1], pars[c, 2])
    return out


def roas_hat(beta: np.ndarray, sat: np.ndarray, size: np.ndarray, x: np.ndarray) -> np.ndarray:
    return beta * (sat * size[None, :, None]).sum(axis=(0, 1)) / x.sum(axis=(0, 1))


def fit_linear(B: np.ndarray, sat: np.ndarray, ypc: np.ndarray, nonneg: bool = False) -> np.ndarray:
    T, G, C = sat.shape
    X = np.column_stack([B, sat.reshape(T * G, C)])
    if nonneg:
        lb = np.r_[np.full(B.shape[1], -np.inf), np.zeros(C)]
        coef = lsq_linear(X, ypc.ravel(), bounds=(lb, np.full(X.shape[1], np.inf)), method="bvls").x
    else:
        coef = np.linalg.lstsq(X, ypc.ravel(), rcond=None)[0]
    return coef[-C:]


def fit_nls(B, xpc, ypc, p0, box=None):
    """Variable projection: nonlinear (theta, log half, slope) per channel, linear part profiled by OLS."""
    T, G, C = xpc.shape
    yv = ypc.ravel()
    # QR of the baseline once: residualise y and media on the baseline (Frisch-Waugh)
    Q, _ = np.linalg.qr(B)
    ry = yv - Q @ (Q.T @ yv)

    def unpack(z):
        return np.column_stack([z[:C], np.exp(z[C:2 * C]), z[2 * C:]])

    def resid(z):
        S = media(xpc, unpack(z)).reshape(T * G, C)
        S = S - Q @ (Q.T @ S)
        b = np.linalg.lstsq(S, ry, rcond=None)[0]
        return ry - S @ b

    z0 = np.r_[p0[:, 0], np.log(p0[:, 1]), p0[:, 2]]
    if box is None:  # wide: theta [0, 0.95], half within x20 of the truth, slope [0.3, 6]
        lo = np.r_[np.full(C, 0.0), np.log(p0[:, 1]) - np.log(20.0), np.full(C, 0.3)]
        hi = np.r_[np.full(C, 0.95), np.log(p0[:, 1]) + np.log(20.0), np.full(C, 6.0)]
    else:  # the generator's own ranges: theta [0.1, 0.7], half [0.5, 2] x pos (pos given), slope [0.8, 2.5]
        pos = box
        lo = np.r_[np.full(C, 0.1), np.log(0.5 * pos), np.full(C, 0.8)]
        hi = np.r_[np.full(C, 0.7), np.log(2.0 * pos), np.full(C, 2.5)]
        z0 = np.clip(z0, lo + 1e-9, hi - 1e-9)
    r = least_squares(resid, z0, bounds=(lo, hi), x_scale="jac", diff_step=1e-4, max_nfev=400,
                      ftol=1e-12, xtol=1e-10, gtol=1e-10)
    pars = unpack(r.x)
    sat = media(xpc, pars)
    beta = fit_linear(B, sat, ypc)
    at_bound = bool(np.any(np.isclose(r.x, lo, atol=1e-6) | np.isclose(r.x, hi, atol=1e-6)))
    return beta, sat, pars, r.nfev, at_bound


# ---------------------------------------------------------------- main
def summarise(rel) -> dict:
    rel = np.asarray(rel, dtype=float)
    return {"n": int(rel.size), "within_20pct": float((rel < 0.2).mean()), "median_rel_error": float(np.median(rel)),
            "p90_rel_error": float(np.quantile(rel, 0.9)), "mean_rel_error": float(rel.mean())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worlds", type=int, default=20)
    ap.add_argument("--redraws", type=int, default=20)
    ap.add_argument("--nls", type=int, default=20, help="worlds per design for estimator C (0: skip)")
    ap.add_argument("--designs", default=",".join(ORACLE_DESIGNS))
    ap.add_argument("--out", default=str(HERE / "results" / "mmm-oracle.json"))
    a = ap.parse_args()
    suite = json.load(open(HERE / "results" / "mmm-accuracy.json"))["designs"]
    out: dict = {}
    for name in a.designs.split(","):
        if name not in ORACLE_DESIGNS:
            raise SystemExit(f"--designs: {name!r} is not one of {ORACLE_DESIGNS}")
        sim = suite_def.DESIGNS[name][0]
        seed0 = suite_def.DEFAULTS["seed"] + 1000 * list(suite_def.DESIGNS).index(name)
        recs, redraw_rel = [], []
        t0 = time.perf_counter()
        ours = {(r["seed"], r["channel"]): r for r in suite[name]["records"]}
        for i in range(a.worlds):
            seed = seed0 + i
            w = simulate_mmm(**sim, seed=seed)
            names, x, y, size, event, price, doy = arrays(w)
            T, G, C = x.shape
            xpc = x / size[None, :, None]
            ypc = y / size[None, :]
            assert (y > 0).all(), "clipped outcome"
            tp = w.truth.params.set_index("channel").loc[names]
            assert w.truth.adstock == "geometric" and w.truth.saturation == "hill" and w.truth.l_max == L_MAX
            p_true = tp[["theta", "half", "slope"]].to_numpy(float)
            beta_true = tp["beta"].to_numpy(float)
            B = baseline_design(T, G, event, price, doy)
            sat = media(xpc, p_true)
            # check our transform reproduces the truth's contributions and ROAS (independent re-implementation)
            roas_true = w.truth.roas.loc[names].to_numpy(float)
            assert np.allclose(roas_hat(beta_true, sat, size, x), roas_true, rtol=1e-9), "transform mismatch"
            # check the suite's record truth is this world's truth
            assert all(abs(ours[(seed, ch)]["truth"] - roas_true[c]) < 1e-9 for c, ch in enumerate(names))
            # noiseless world: same rng stream (noise is the last draw, only its scale changes)
            w0 = simulate_mmm(**sim, seed=seed, noise=0.0)
            _, x0, y0, *_ = arrays(w0)
            assert np.allclose(x0, x)
            y0pc = y0 / size[None, :]
            b0 = fit_linear(B, sat, y0pc)
            assert np.allclose(b0, beta_true, rtol=1e-6), f"oracle model not exact: {b0 / beta_true}"
            # A: the actual world
            bA = fit_linear(B, sat, ypc)
            bAp = fit_linear(B, sat, ypc, nonneg=True)
            rA, rAp = roas_hat(bA, sat, size, x), roas_hat(bAp, sat, size, x)
            # B: noise redraws of the same world
            rng = np.random.default_rng(10_000 + seed)
            sd = NOISE * y0pc.mean(axis=0)
            for _ in range(a.redraws):
                yr = y0pc + rng.normal(0, 1, (T, G)) * sd[None, :]
                redraw_rel += list(np.abs(roas_hat(fit_linear(B, sat, yr), sat, size, x) / roas_true - 1))
            # C: curve parameters estimated too, started at the truth
            rC = np.full(C, np.nan)
            rD = np.full(C, np.nan)
            nfev, atb = 0, False
            if i < a.nls:
                bC, satC, _, nfev, atb = fit_nls(B, xpc, ypc, p_true)
                rC = roas_hat(bC, satC, size, x)
                # D: the same, but confined to the generator's parameter ranges (knows the prior's support)
                pos = np.array([(lambda q: q[q > 0].mean())(adstock_geometric(xpc[:, :, c], p_true[c, 0]))
                                for c in range(C)])
                assert np.all((p_true[:, 1] >= 0.5 * pos * (1 - 1e-9)) & (p_true[:, 1] <= 2 * pos * (1 + 1e-9)))
                bD, satD, *_ = fit_nls(B, xpc, ypc, p_true, box=pos)
                rD = roas_hat(bD, satD, size, x)
            for c, ch in enumerate(names):
                o = ours[(seed, ch)]
                recs.append({"seed": seed, "channel": ch, "truth": roas_true[c], "oracle": rA[c],
                             "oracle_nonneg": rAp[c], "nls_from_truth": rC[c], "nls_at_bound": atb,
                             "nls_in_generator_ranges": rD[c],
                             "ours": o["estimate"], "ours_at_bound": o["at_bound"],
                             "theta": p_true[c, 0], "slope": p_true[c, 2]})
            print(f"{name} seed {seed}: oracle max err {np.max(np.abs(rA / roas_true - 1)):.3f}; "
                  f"nls max err {np.nanmax(np.abs(rC / roas_true - 1)) if i < a.nls else float('nan'):.3f} "
                  f"(nfev {nfev}, at bound {atb}); {time.perf_counter() - t0:.0f}s", flush=True)
        df = pd.DataFrame(recs)

        def rel(col, d=df):
            return np.abs(d[col] / d["truth"] - 1).dropna()

        s = {"worlds": a.worlds, "channels": len(df), "oracle": summarise(rel("oracle")),
             "oracle_nonneg": summarise(rel("oracle_nonneg")),
             "oracle_noise_redraws": {**summarise(redraw_rel), "redraws_per_world": a.redraws},
             "nls_from_truth": summarise(rel("nls_from_truth")) if a.nls else None,
             "nls_in_generator_ranges": summarise(rel("nls_in_generator_ranges")) if a.nls else None,
             "ours_same_worlds": summarise(rel("ours")),
             "ours_suite_summary": {k: suite[name]["summary"][k] for k in
                                    ("worlds", "within_20pct", "median_rel_error", "p90_rel_error")},
             "ours_prior_sd_0.5": {k: suite[f"{name} prior_sd=0.5"]["summary"][k] for k in
                                   ("within_20pct", "median_rel_error", "p90_rel_error")},
             "seconds": time.perf_counter() - t0}
        if a.nls:
            sub = df.dropna(subset=["nls_from_truth"])
            s["ours_on_nls_worlds"] = summarise(rel("ours", sub))
            s["oracle_on_nls_worlds"] = summarise(rel("oracle", sub))
        out[name] = {"summary": s, "records": recs}
        print(json.dumps(s, indent=1), flush=True)
    json.dump(out, open(a.out, "w"), indent=1, default=float)


if __name__ == "__main__":
    main()
