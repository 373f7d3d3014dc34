"""Synthetic label matrices with planted truth, for tests and benchmarks.

Rows get a true class drawn from ``class_balance``; LF ``j`` votes on a row with
probability ``coverage[j]`` (independently of the class), and when it votes it is right
with probability ``accuracies[j]``, otherwise it votes one of the other classes uniformly.
LFs are conditionally independent given the class — the model every dawn label model
assumes — so fitted accuracies can be checked against the planted ones.

>>> L, Y, acc = synthetic_label_matrix(1000, 4, 3, accuracies=0.8, coverage=0.5, seed=0)
>>> L.shape, Y.shape, acc.tolist()
((1000, 4), (1000,), [0.8, 0.8, 0.8, 0.8])
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from dawn.errors import ConfigError
from dawn.label.matrix import SPARSE_BELOW, LabelMatrix, smallest_label_dtype

__all__ = ["synthetic_label_matrix"]


def _per_lf(value, m: int, name: str, default: np.ndarray) -> np.ndarray:
    if value is None:
        return default
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (m,)).copy() \
        if np.ndim(value) == 0 else np.asarray(value, dtype=np.float64)
    if arr.shape != (m,):
        raise ConfigError(f"{name} has shape {arr.shape}; give one number or one per LF ({m}).")
    if np.any(~np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ConfigError(f"{name} must lie in [0, 1]; got {arr.tolist()}.")
    return arr


def synthetic_label_matrix(n: int, m: int, k: int = 2, accuracies=None, coverage=None,
                           class_balance=None, seed: int = 0
                           ) -> tuple[LabelMatrix, np.ndarray, np.ndarray]:
    """Generate ``(L, Y, true_accuracies)`` with conditionally independent LFs.

    Parameters
    ----------
    n, m, k : rows, LFs, classes
    accuracies : P(vote correct | LF votes), one number or ``(m,)``; default uniform
        in [0.6, 0.9]
    coverage : P(LF votes), one number or ``(m,)``; default uniform in [0.1, 0.5]
    class_balance : ``(k,)`` prior of the true class; default uniform
    seed : seed of the generator (same seed, same data)

    Returns
    -------
    L : LabelMatrix (sparse inside when less than 10% of cells vote)
    Y : int64 ``(n,)`` true classes
    true_accuracies : float ``(m,)`` the planted accuracies
    """
    if n < 0 or m < 1 or k < 2:
        raise ConfigError(f"need n >= 0, m >= 1 and k >= 2; got n={n}, m={m}, k={k}.")
    rng = np.random.default_rng(seed)
    acc = _per_lf(accuracies, m, "accuracies", rng.uniform(0.6, 0.9, m))
    cov = _per_lf(coverage, m, "coverage", rng.uniform(0.1, 0.5, m))
    if class_balance is None:
        balance = np.full(k, 1.0 / k)
    else:
        balance = np.asarray(class_balance, dtype=np.float64)
        if balance.shape != (k,) or balance.min() < 0 or not np.isclose(balance.sum(), 1.0):
            raise ConfigError(f"class_balance must be {k} non-negative numbers summing to 1; "
                              f"got {balance.tolist()}.")
    Y = rng.choice(k, size=n, p=balance / balance.sum()).astype(np.int64)
    dtype = smallest_label_dtype(k - 1)
    votes = np.empty((n, m), dtype=dtype)
    for j in range(m):
        fire = rng.random(n) < cov[j]
        right = rng.random(n) < acc[j]
        shift = rng.integers(1, k, size=n) if k > 2 else 1
        col = np.where(right, Y, (Y + shift) % k).astype(dtype)
        col[~fire] = -1
        votes[:, j] = col
    names = [f"lf{j}" for j in range(m)]
    if n and cov.mean() < SPARSE_BELOW:
        return LabelMatrix(sp.csr_matrix(votes.astype(np.int32) + 1), names), Y, acc
    return LabelMatrix(votes, names), Y, acc
