"""Majority vote and weighted majority vote, as conditionally independent label models.

Both end in the shared ``(class_balance, confusion)`` form, with a uniform prior and
*one-coin* confusions: LF ``j`` votes with probability ``coverage[j]`` whatever the class,
is right with probability ``a_j`` and spreads its errors evenly. The posterior is then a
vote weighted by ``w_j = log(a_j (k − 1) / (1 − a_j))``:

- **majority**: every LF gets the same ``a`` — the share of all votes that agree with the
  (hard) majority label — so the prediction is the plurality vote and the probabilities
  say how decisive it was;
- **weighted_majority**: each LF gets its own ``a_j``, fitted by EM of the one-coin
  Dawid–Skene model started from majority vote (``m`` parameters, so it stays cheap and
  well determined with many classes and few votes).

>>> import numpy as np
>>> L = np.array([[0, 0, 1], [1, 1, 1], [0, -1, -1], [1, 0, -1]])
>>> balance, conf, info = fit_majority(L, 2)
>>> balance.tolist(), round(info["accuracy"], 3)
([0.5, 0.5], 0.778)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dawn.label.model._ci import clip_probabilities, log_tables
from dawn.label.model._patterns import FitData, fit_data
from dawn.label.model.dawid_skene import (
    em_accumulate,
    majority_tables,
    one_coin_confusion,
    pooled_rates,
)

__all__ = ["fit_majority", "fit_weighted_majority", "vote_weights"]

_ACC_MIN, _ACC_MAX = 1e-3, 1.0 - 1e-3
_ACC_MARGIN = 0.01  # weighted majority: accuracies at least chance + this


def vote_weights(accuracies: np.ndarray, k: int) -> np.ndarray:
    """Weights ``log(a (k − 1) / (1 − a))`` of a weighted vote with one-coin accuracies ``a``."""
    a = np.clip(np.asarray(accuracies, dtype=np.float64), _ACC_MIN, _ACC_MAX)
    return np.log(a * (k - 1) / (1.0 - a))


def _uniform(k: int) -> np.ndarray:
    return np.full(k, 1.0 / k)


def fit_majority(L, k: int, class_balance: np.ndarray | None = None, seed: int = 0, *,
                 data: FitData | None = None, max_rows: int | None = 100_000
                 ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Majority vote as a label model; return ``(class_balance, confusion, info)``.

    ``class_balance`` is ignored (the prior is uniform so the prediction is the plurality
    vote); ``seed`` and ``max_rows`` pick the rows used when there are more (see
    :func:`~dawn.label.model._patterns.fit_data`). ``info["accuracy"]`` is the share of
    votes agreeing with the majority label (ties count half), used as every LF's accuracy.
    """
    del class_balance
    data = fit_data(L, max_rows=max_rows, seed=seed) if data is None else data
    m = data.n_lfs
    counts, mass, _ = em_accumulate(data, *majority_tables(m, k))
    coverage, _ = pooled_rates(counts, mass)
    voted = counts.sum()
    agree = float(np.trace(counts, axis1=1, axis2=2).sum() / voted) if voted > 0 else 1.0
    # any a above 1/k keeps the plurality; stay strictly above it
    a = float(np.clip(agree, 1.0 / k + 0.01 * (1.0 - 1.0 / k), _ACC_MAX))
    conf = one_coin_confusion(coverage, np.full(m, a), k)
    return _uniform(k), clip_probabilities(conf), {"accuracy": agree, "n_units": data.n_units,
                                                    "fit_rows": data.n_rows}


def fit_weighted_majority(L, k: int, class_balance: np.ndarray | None = None, seed: int = 0,
                          *, data: FitData | None = None, max_iter: int = 200,
                          tol: float = 1e-6, max_rows: int | None = 100_000
                          ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Weighted majority vote (one-coin Dawid–Skene EM); return ``(balance, confusion, info)``.

    ``class_balance`` is ignored (uniform prior); EM starts from majority vote; ``seed``
    and ``max_rows`` pick the rows used when there are more. ``info["weights"]`` are the
    per-LF vote weights.
    """
    del class_balance
    data = fit_data(L, max_rows=max_rows, seed=seed) if data is None else data
    counts, mass, ll = em_accumulate(data, *majority_tables(data.n_lfs, k))
    coverage, acc = pooled_rates(counts, mass)
    # Each LF is assumed better than chance. Without that floor the one-coin model cannot
    # tell "always right" from "always wrong" for an LF that votes one class only (with
    # k = 2 both explain its votes equally well), and EM on keyword-style LFs collapses to
    # "every row is one class".
    floor = 1.0 / k + _ACC_MARGIN
    acc = np.clip(np.nan_to_num(acc, nan=1.0 / k), floor, _ACC_MAX)
    converged, n_iter, ll, rows = False, 0, -np.inf, max(data.n_rows, 1)
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        conf = one_coin_confusion(coverage, acc, k)
        counts, mass, new_ll = em_accumulate(data, *log_tables(_uniform(k), conf))
        _, acc = pooled_rates(counts, mass)
        acc = np.clip(np.nan_to_num(acc, nan=1.0 / k), floor, _ACC_MAX)
        gain, ll = (new_ll - ll) / rows, new_ll
        if abs(gain) < tol:
            converged = True
            break
    info = {"n_iter": n_iter, "converged": converged,
            "log_likelihood": ll / max(data.n_rows, 1), "weights": vote_weights(acc, k),
            "n_units": data.n_units, "fit_rows": data.n_rows}
    return _uniform(k), clip_probabilities(one_coin_confusion(coverage, acc, k)), info
