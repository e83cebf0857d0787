"""The in-process path kernels against numpy: the sort against ``np.lexsort`` on every branch (by pair or by
user, in order or not, one packed key or stable passes), the funnel on one consumer by hand."""

from __future__ import annotations

import numpy as np
import pytest

from marketing360.engine import pathkernels as pk


def _keys(order, *cols):
    return np.stack([c[order] for c in cols])


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("case", ["pairs", "users", "huge_range", "in_order", "no_ties"])
def test_sort_equals_lexsort(seed, case):
    rng = np.random.default_rng(seed)
    n = 5000
    n_users, n_brands = (3000, 2000) if case == "users" else (200, 5)  # users: too many pairs to count
    user = rng.integers(0, n_users, n)
    brand = rng.integers(0, n_brands, n)
    ts = rng.integers(0, 50, n) * 60_000_000  # many ties
    if case == "huge_range":  # time x tie does not fit one int64 key: stable passes
        ts[rng.random(n) < .1] = 2**61
        ts[rng.random(n) < .1] = -(2**61)
    tie = rng.integers(0, 40, n)
    if case == "in_order":
        first = np.lexsort((tie, ts, brand, user))
        user, brand, ts, tie = user[first], brand[first], ts[first], tie[first]
    if case == "no_ties":  # ties only carried along: in (user, brand, ts) order, each with its own tie
        srt = pk.sort_events(user, brand, ts, tie, n_users=n_users, n_brands=n_brands, ties=False)
        want = np.lexsort((ts, brand, user))
        np.testing.assert_array_equal(srt["key"], user[want] * n_brands + brand[want])
        np.testing.assert_array_equal(srt["ts"], ts[want])
        np.testing.assert_array_equal(srt["tie"], tie[srt["order"]])
        assert sorted(zip(srt["key"], srt["ts"], srt["tie"])) == sorted(zip(user * n_brands + brand, ts, tie))
        return
    srt = pk.sort_events(user, brand, ts, tie, n_users=n_users, n_brands=n_brands)
    order = srt["order"]
    assert sorted(order.tolist()) == list(range(n))
    want = np.lexsort((tie, ts, brand, user))
    np.testing.assert_array_equal(_keys(order, user, brand, ts, tie), _keys(want, user, brand, ts, tie))
    # the sorted columns the walks read are those of the order
    np.testing.assert_array_equal(srt["key"], user[order] * n_brands + brand[order])
    np.testing.assert_array_equal(srt["ts"], ts[order])
    np.testing.assert_array_equal(srt["tie"], tie[order])


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
    srt = pk.sort_events(zero, zero, ts, mask, n_users=1, ties=False)
    f = pk.funnel_levels(srt, n_steps=3, window=30 * m, n_brands=1)
    assert f["level"].tolist() == [2]
    np.testing.assert_array_equal(f["minutes"][0], [0.0, 0.0, np.nan])
    f = pk.funnel_levels(srt, n_steps=3, window=None, n_brands=1)
    assert f["level"].tolist() == [3] and f["minutes"][0].tolist() == [0.0, 0.0, 100.0]
