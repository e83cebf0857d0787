"""The compiled stratified group folds give scikit-learn's StratifiedGroupKFold folds exactly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import StratifiedGroupKFold

from marketing360.models._folds import stratified_group_folds


def _cases():
    rng = np.random.default_rng(7)
    for trial in range(60):
        n = int(rng.integers(30, 2000))
        k = int(rng.integers(2, 6))
        if trial % 3 == 0:  # groups of equal size: many ties, broken by the fold's rows
            groups = np.repeat(np.arange(n // 4 + 1), 4)[:n]
        else:
            groups = rng.integers(0, int(rng.integers(k + 5, max(k + 6, n // 2))), n)
        y = rng.integers(0, 3, n) if trial % 5 == 0 else (rng.random(n) < rng.choice([0.02, 0.1, 0.5])).astype(int)
        if np.bincount(y).min() >= k:
            yield y, rng.permutation(groups) * 7 + 3, k  # any group labels, in any order


@pytest.mark.parametrize("y, groups, k", list(_cases()))
def test_the_folds_are_scikit_learns(y, groups, k) -> None:
    ours = stratified_group_folds(y, groups, k)
    theirs = list(StratifiedGroupKFold(n_splits=k).split(np.zeros(len(y)), y, groups))
    assert len(ours) == k
    for (train, test), (train_ref, test_ref) in zip(ours, theirs):
        np.testing.assert_array_equal(test, test_ref)
        np.testing.assert_array_equal(train, train_ref)

