"""Sequential patterns: our PrefixSpan equals Spark MLlib's on the same sequences (random itemsets, real logs,
the simulator) and a brute-force count on small sequences."""

from __future__ import annotations

import itertools
import math
import random

import pandas as pd
import pytest

from marketing360.datasets import read_rees46, read_tianchi
from marketing360.engine.prefixspan import prefixspan
from marketing360.errors import ParameterError
from marketing360.paths import sequential_patterns, sessions


def _norm(found) -> list:
    return sorted((tuple(tuple(sorted(its)) for its in p), int(f)) for p, f in found)


def _random_sequences(seed: int, n: int, alphabet: str = "abcde", max_len: int = 6, max_set: int = 3) -> list:
    rng = random.Random(seed)
    return [[rng.sample(alphabet, rng.randint(1, max_set)) for _ in range(rng.randint(0, max_len))]
            for _ in range(n)]


@pytest.mark.parametrize("seed,n,support,length", [(1, 50, 0.2, 10), (2, 80, 0.1, 3), (3, 40, 0.3, 2),
                                                   (4, 60, 0.0, 2), (5, 30, 0.15, 5), (6, 100, 0.05, 4)])
def test_ours_equals_mllib_on_random_itemset_sequences(spark_engine, seed, n, support, length):
    from pyspark.ml.fpm import PrefixSpan

    seqs = _random_sequences(seed, n)
    df = spark_engine.session.createDataFrame([(s,) for s in seqs], "sequence array<array<string>>")
    spark = PrefixSpan(minSupport=support, maxPatternLength=length).findFrequentSequentialPatterns(df).collect()
    ours = prefixspan(seqs, min_support=support, max_pattern_length=length)
    assert _norm(ours) == _norm((r.sequence, r.freq) for r in spark)
    assert len(ours) > 10


def _brute_force(seqs: list[list[str]], min_support: float, max_len: int) -> list:
    """Every pattern of single items up to max_len, counted by a direct subsequence test."""
    need = max(math.ceil(min_support * len(seqs)), 1)
    alphabet = sorted({x for s in seqs for x in s})
    out = []
    for L in range(1, max_len + 1):
        for cand in itertools.product(alphabet, repeat=L):
            f = sum(_contains(s, cand) for s in seqs)
            if f >= need:
                out.append(([[c] for c in cand], f))
    return out


def _contains(seq, cand) -> bool:
    it = iter(seq)
    return all(any(x == c for x in it) for c in cand)


def test_singleton_sequences_match_a_brute_force_count():
    rng = random.Random(7)
    seqs = [[rng.choice("abcd") for _ in range(rng.randint(0, 7))] for _ in range(40)]
    ours = prefixspan([[[x] for x in s] for s in seqs], min_support=0.15, max_pattern_length=4)
    assert _norm(ours) == _norm(_brute_force(seqs, 0.15, 4))


@pytest.fixture(scope="module")
def logs(need):
    need("tianchi_mobile_tiny", "sample_user_behavior.csv")
    return {"tianchi": read_tianchi(), "rees46": read_rees46()}


@pytest.mark.parametrize("log,options", [
    ("tianchi", {"unit": "consumers", "itemsets": "instant", "min_support": 0.2, "max_pattern_length": 4}),
    ("tianchi", {"unit": "sessions", "itemsets": "steps", "min_support": 0.02}),
    ("rees46", {"unit": "consumers", "itemsets": "steps", "min_support": 0.01, "level": "category_code"}),
])
def test_engines_agree_on_real_logs(duckdb_engine, spark_engine, logs, log, options):
    opts = dict(options)
    level = opts.pop("level", "event_type")
    ev = logs[log]
    got = {}
    for eng in (duckdb_engine, spark_engine):
        s = sessions(eng.table(ev), by=None, level=level, gap_minutes=60)
        res = sequential_patterns(s, **opts)
        got[eng.name] = (res.n_sequences, _norm(zip(res.table().itemsets, res.table().freq)))
        assert res.engine == eng.name
    assert got["duckdb"] == got["spark"]
    assert len(got["duckdb"][1]) >= 5


def test_engines_agree_on_the_simulator(duckdb_engine, spark_engine, small_world):
    ev = small_world.events
    ev = ev[ev.event_type != "impression"]
    res = [sequential_patterns(sessions(e.table(ev), level="event_type"), min_support=0.05, max_pattern_length=5)
           for e in (duckdb_engine, spark_engine)]
    a, b = (r.table() for r in res)
    assert a[["pattern", "freq", "length"]].equals(b[["pattern", "freq", "length"]])
    assert res[0].n_sequences == res[1].n_sequences > 100
    assert (a.support == a.freq / res[0].n_sequences).all()


def test_hand_made_patterns_and_text():
    ev = pd.DataFrame({"user_id": [1, 1, 1, 2, 2], "brand": "A", "event_type": ["browse", "cart", "purchase",
                                                                                 "browse", "cart"],
                       "ts": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 10:00", "2025-01-01 10:05",
                                             "2025-01-01 09:00", "2025-01-01 09:01"])})
    t = sequential_patterns(ev, min_support=1.0, itemsets="instant").table()
    # user 1 browses and carts at the same instant: the itemset (browse, cart); user 2 in two steps
    assert dict(zip(t.pattern, t.freq)) == {"browse": 2, "cart": 2}
    t = sequential_patterns(ev, min_support=0.5, itemsets="instant").table()
    assert dict(zip(t.pattern, t.freq))["(browse, cart) > purchase"] == 1


@pytest.mark.parametrize("kwargs,match", [({"min_support": 1.5}, "min_support"),
                                          ({"min_support": "0.1"}, "min_support"),
                                          ({"max_pattern_length": 0}, "max_pattern_length"),
                                          ({"unit": "users"}, "unit"), ({"itemsets": "days"}, "itemsets")])
def test_bad_parameters(kwargs, match):
    ev = pd.DataFrame({"user_id": [1], "ts": ["2025-01-01"], "event_type": ["browse"]})
    with pytest.raises(ParameterError, match=match):
        sequential_patterns(ev, **kwargs)
