"""The in-process path kernels against numpy: the sort against ``np.lexsort`` on every branch (by pair or by
user, packed or ranked words, words narrow enough to sort beside their group or not, in order or not), the
funnel on one consumer by hand."""

from __future__ import annotations

import numpy as np
import pytest

from marketing360.engine import pathkernels as pk

CASES = {  # n_users, n_brands, what the case reaches
    "pairs_few": (200, 5),  # fewer groups than buckets: a bucket per group
    "pairs_many": (3000, 5),  # buckets of several groups
    "users": (3000, 2000),  # too many pairs to count: by user, the brand packed in the word
    "huge_range": (200, 5),  # time x tie do not fit 63 bits: ranked words
    "users_huge_range": (3000, 2000),  # ranked, by user
    "in_order": (3000, 5),  # no group needs sorting
    "wide_words": (30000, 5),  # 62-bit words do not fit beside their group: counting sort, then each group
}


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("case", list(CASES))
def test_sort_equals_lexsort(seed, case, monkeypatch):
    scatters = []
    scatter = pk._scatter
    monkeypatch.setattr(pk, "_scatter", lambda *a: scatters.append(1) or scatter(*a))
    rng = np.random.default_rng(seed)
    n = 5000
    n_users, n_brands = CASES[case]
    user = rng.integers(0, n_users, n)
    brand = rng.integers(0, n_brands, n).astype(np.int32)
    ts = rng.integers(-20, 30, n) * 60_000_000  # many ties, before and after 1970
    if "huge_range" in case:
        ts[rng.random(n) < .1] = 2**61
        ts[rng.random(n) < .1] = -(2**61)
    tie = rng.integers(3, 40, n)
    if case == "wide_words":
        ts, tie = rng.integers(0, 2**60, n) // 2**41 * 2**41, rng.integers(0, 4, n)  # 60 + 2 bits, with ties
    value = rng.random(n)
    if case == "in_order":
        first = np.lexsort((tie, ts, brand, user))
        user, brand, ts, tie, value = user[first], brand[first], ts[first], tie[first], value[first]
    srt = pk.sort_events(user, brand, ts, tie, n_users=n_users, n_brands=n_brands, value=value, keep=tie % 3 == 0)
    assert int(srt.layout[0]) == ("huge_range" in case)
    assert bool(scatters) == (case == "wide_words")  # the branch the case is for
    assert srt.mult == (n_brands if case.startswith("users") else 1)
    got = pk.decode(srt)
    want = np.lexsort((tie, ts, brand, user))
    np.testing.assert_array_equal(got["key"], (user * n_brands + brand)[want])
    np.testing.assert_array_equal(got["ts"], ts[want])
    np.testing.assert_array_equal(got["tie"], tie[want])
    # the kept events' values, in the sorted order (equal events in any order among themselves)
    kept = got["tie"] % 3 == 0
    assert len(srt.values) == kept.sum()
    pairs = sorted(zip(got["key"][kept].tolist(), got["ts"][kept].tolist(), got["tie"][kept].tolist(),
                       srt.values.tolist()))
    k = tie % 3 == 0
    assert pairs == sorted(zip((user * n_brands + brand)[k].tolist(), ts[k].tolist(), tie[k].tolist(),
                               value[k].tolist()))
    # groups: (user, brand) pairs, or users
    sizes = np.diff(srt.bounds)
    per = np.bincount(user * n_brands + brand if srt.mult == 1 else user, minlength=len(sizes))
    np.testing.assert_array_equal(sizes, per)


def test_sort_no_events():
    e = np.zeros(0, np.int64)
    srt = pk.sort_events(e, e, e, e, n_users=0)
    assert len(srt.word) == 0 and all(len(v) == 0 for v in pk.decode(srt).values())


def test_user_codes_offset_factorize_and_strings():
    codes, back = pk.user_codes(np.array([10, 12, 10]))
    assert codes.tolist() == [0, 2, 0] and back[codes].tolist() == [10, 12, 10]
    far = np.array([5, 10**15, 5])
    codes, back = pk.user_codes(far)
    assert len(back) == 2 and back[codes].tolist() == far.tolist()
    codes, back = pk.user_codes(np.array(["b", "a", "b"], dtype=object))
    assert back[codes].tolist() == ["b", "a", "b"]


def test_funnel_walk_by_hand():
    # one consumer: step 2 at the same instant as step 1 counts; a late step 3 outside the window does not
    m = 60_000_000
    ts = np.array([0, 0, 5, 100]) * m
    mask = np.array([0b010, 0b001, 0b010, 0b100])
    zero = np.zeros(4, np.int64)
    srt = pk.sort_events(zero, zero, ts, mask, n_users=1)
    f = pk.funnel_levels(srt, n_steps=3, window=30 * m, n_brands=1)
    assert f["level"].tolist() == [2]
    np.testing.assert_array_equal(f["minutes"][0], [0.0, 0.0, np.nan])
    f = pk.funnel_levels(srt, n_steps=3, window=None, n_brands=1)
    assert f["level"].tolist() == [3] and f["minutes"][0].tolist() == [0.0, 0.0, 100.0]
