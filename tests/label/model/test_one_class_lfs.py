"""Keyword-style LFs that each vote one class only — the common case on real data.

Two such LFs of opposite classes never agree, whatever their accuracies, so a model that
reads accuracy off agreement alone can flip them all ("every row is spam"). Every method
must stay near the truth instead.
"""

from __future__ import annotations

import numpy as np
import pytest

from dawn.label import LabelModel


def one_class_lfs(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    # (class voted, P(fires | that class), P(fires | other class))
    spec = [(1, 0.3, 0.03), (1, 0.25, 0.05), (1, 0.2, 0.02), (1, 0.35, 0.08),
            (0, 0.4, 0.05), (0, 0.3, 0.04), (0, 0.5, 0.1)]
    L = np.full((n, len(spec)), -1, dtype=np.int8)
    for j, (c, hit, miss) in enumerate(spec):
        fires = rng.random(n) < np.where(y == c, hit, miss)
        L[fires, j] = c
    return L, y


@pytest.mark.parametrize("method", ["majority", "weighted_majority", "dawid_skene", "metal",
                                    "triplet", "auto"])
def test_methods_do_not_flip_one_class_lfs(method):
    L, y = one_class_lfs()
    model = LabelModel(2, method=method, seed=0).fit(L)
    pred = model.predict(L)
    covered = pred >= 0
    assert (pred[covered] == y[covered]).mean() > 0.8
    assert (model.accuracies_ > 0.5).all()
