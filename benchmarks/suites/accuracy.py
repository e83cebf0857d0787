"""Suite ``attribution-accuracy``: every attribution method's credits against the simulator's truth.

The truth is the simulator's exact Shapley split of the incremental
conversions over the channels. Two worlds: the sample world (whose
search and affiliate ads are retargeted at consumers about to buy) and a world
built to fool last touch (an upper-funnel video channel with real lift and
few, early exposures; display everywhere with little lift). Rules, Markov,
Shapley and Shao & Li run on conversion-anchored journeys; ``causal_shapley``
(Dalessandro et al.) and ``deep_rnn`` (JD-style incremental Shapley on a GRU,
trained with several seeds) on calendar journeys. With ``--quick``, two tiny
simulated worlds, one seed and fewer epochs: it checks that the suite runs,
its numbers mean nothing.
"""

from __future__ import annotations

import time
from typing import Any

import harness as h

NAME = "attribution-accuracy"
MEASURED = ("attribution", "paths", "models", "datasets")
DEFAULTS = {"repeats": 1, "quick_repeats": 1, "seed": 1, "wait_quiet": 30.0}
OK_TEXT = "every method ran on both worlds"
QUICK = {"users": 1_500, "seeds": [0], "epochs": 1, "n_bags": 2}


def fool_last_touch_channels() -> dict[str, Any]:
    """A world built to fool last touch: video lifts the funnel but comes last rarely (few, early
    exposures); display is everywhere, often last, with little lift; search is mildly retargeted."""
    from dataclasses import replace

    from marketing360.datasets.world import DEFAULT_CHANNELS as d

    return {"video": replace(d["video"], beta=(0.10, 0.08, 0.03, 0.0), rate=0.04, reach=0.7, retarget=0.0),
            "display": replace(d["display"], beta=(0.008, 0.004, 0.002, 0.0), rate=0.8, reach=0.9, retarget=0.0),
            "search": replace(d["search"], beta=(0.0, 0.01, 0.012, 0.0), retarget=2.0)}


def _work_accuracy(spec: dict[str, Any]) -> dict[str, Any]:
    """Every method's error against the true incremental conversions on both worlds."""
    import resource

    import torch

    import marketing360 as m3
    from marketing360.datasets import load_sample
    from suites import m3api

    M = m3api.models_api()
    torch.set_num_threads(1)
    n_users, seeds, epochs, n_bags = spec["users"], spec["seeds"], spec["epochs"], spec["n_bags"]
    if spec["quick"]:
        first = ("default world (quick)", m3.datasets.simulate(n_users=n_users, n_days=60, truth="full", seed=3))
    else:
        first = ("sample world (retargeted search / affiliate)", load_sample())
    worlds = dict([first, ("fool-last-touch world", m3.datasets.simulate(
        n_users=n_users, n_days=60, channels=fool_last_touch_channels(), truth="full", seed=5))])
    out: dict[str, Any] = {}
    for name, w in worlds.items():
        t0 = time.perf_counter()
        j, jc = m3api.world_journeys(w)
        res = [M.rule_based(j, rules=["first_touch", "last_touch", "linear", "time_decay", "position_based"]),
               M.markov(j), M.shapley(j), M.probabilistic(j),
               M.BaggedLogisticAttribution(n_bags=n_bags).fit(j).attribute(), M.CausalAttribution().fit(jc).attribute()]
        seq = m3api.journey_sequences(jc, max_len=30)
        for sd in seeds:
            dm = m3api.deep_model(epochs, sd).fit(seq, user_features=w.users)
            res.append(dm.attribute(seq, w.users).renamed(f"deep_rnn_seed{sd}"))
        table = m3api.frame(M.score(M.compare(*res), w.truth.shapley))
        table = table.set_index("method") if "method" in table.columns else table  # one row per method
        deep = table[table.index.str.startswith("deep_rnn")]
        out[name] = {"score": table.reset_index().to_dict("list"),
                     "truth": w.truth.shapley.to_dict("list"), "seconds": time.perf_counter() - t0,
                     "deep_share_error_mean": float(deep.share_error.mean()),
                     "deep_share_error_sd": float(deep.share_error.std()) if len(deep) > 1 else None,
                     "last_touch_share_error": float(table.loc["last_touch", "share_error"])}
        print(f"{name}: last touch share error {table.loc['last_touch', 'share_error']:.3f}, deep "
              f"{deep.share_error.mean():.3f}, causal Shapley {table.loc['causal_shapley', 'share_error']:.3f}",
              flush=True)
    return {"worlds": out, "self_maxrss_kb": h.maxrss_kb(resource.RUSAGE_SELF)}


WORKERS = {"attr_accuracy": _work_accuracy}


def accuracy_markdown(acc: dict[str, Any]) -> str:
    lines = []
    for name, r in acc.items():
        s = r["score"]
        lines += [f"**{name}** (truth: {sum(r['truth']['conversions']):,.0f} incremental conversions)", "",
                  h.md_table(["method", "credited", "share error", "relative error"],
                             [(m, f"{c:,.0f}", f"{se:.3f}", f"{re:.2f}") for m, c, se, re in
                              zip(s["method"], s["credited"], s["share_error"], s["relative_error"])])]
        n = sum(1 for m in s["method"] if m.startswith("deep"))
        sd = r["deep_share_error_sd"]
        lines += [f"deep_rnn over {n} seed(s): share error {r['deep_share_error_mean']:.3f}"
                  + (f" ± {sd:.3f}" if sd is not None else "") + f"; last touch {r['last_touch_share_error']:.3f}", ""]
    return "\n".join(lines)


def add_arguments(p: Any) -> None:
    p.add_argument("--accuracy-users", type=int, default=None,
                   help=f"attribution-accuracy: consumers of the fool-last-touch world (default 20,000; "
                        f"{QUICK['users']:,} with --quick)")
    p.add_argument("--accuracy-seeds", type=int, nargs="+", default=None,
                   help="attribution-accuracy: training seeds of the deep model (default 0 1 2; 0 with --quick)")


def run(a: Any) -> tuple[dict[str, Any], bool]:
    quick = a.quick
    spec = {"kind": "attr_accuracy", "quick": quick,
            "users": a.accuracy_users or (QUICK["users"] if quick else 20_000),
            "seeds": a.accuracy_seeds or (QUICK["seeds"] if quick else [0, 1, 2]),
            "epochs": QUICK["epochs"] if quick else 4, "n_bags": QUICK["n_bags"] if quick else 10}
    print("  every method against the truth, on two worlds ...", flush=True)
    res = h.run_case("attr-accuracy", spec, timeout=900 if quick else 3600, quiet=a.quiet)
    params = {"quick": quick, "accuracy_users": spec["users"], "accuracy_seeds": spec["seeds"],
              "epochs": spec["epochs"], "n_bags": spec["n_bags"], "seed": a.seed, "wait_quiet": a.quiet}
    payload = {"benchmark": "attribution-accuracy", "quick": quick, "parameters": params,
               "worlds": res["worlds"], "maxrss_kb": res["maxrss_kb"],
               "checks": {"ok": True, "problems": []}, "table_markdown": accuracy_markdown(res["worlds"])}
    return payload, True
