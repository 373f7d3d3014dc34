"""Closed-form triplet label model (FlyingSquid, Fu et al. 2020), with a one-vs-rest
refinement for multi-class and for LFs whose errors depend on the class.

**Accuracies from triplets.** Model each LF as *symmetric*: when it votes, it is right
with probability ``α_j`` whatever the class, and otherwise picks a wrong class uniformly.
Write ``β_j = (k·α_j − 1)/(k − 1)`` (1 = perfect, 0 = random). For conditionally
independent LFs, on the rows where LFs i and j both vote,

    M_ij = (k · P(λ_i = λ_j) − 1) / (k − 1) = β_i · β_j

whatever the class balance. For ``k = 2`` this is FlyingSquid's ``E[λ_i λ_j] = a_i a_j``
with votes mapped to ±1. Any three LFs give ``|β_i| = sqrt(|M_ij M_il / M_jl|)``; we take
the median over every triplet whose three pairs overlap on at least ``min_overlap`` rows
(and ``|M_jl| >= 0.05``, so no division by noise). Signs: ``β_i`` takes the sign of
``Σ_j M_ij |β_j|``, which is right when the LFs are, weighted, better than random.

**Class balance** (when not given): a symmetric LF votes class ``c`` with probability
``(1 − β_j)/k + β_j π_c``, so ``π`` is the least-squares fit of that line over the LFs that
vote at least two classes (weighted by their votes). Second-order statistics alone do
not identify ``π`` without such an assumption.

**One-vs-rest refinement** (``refine=True``). Real LFs are often not symmetric (a
keyword LF votes only "spam"). For each LF i, each label ``l`` it votes and each class
``c`` — the binary problem "``c`` vs not ``c``" — the other LFs j act as probes: on rows
where i votes ``l`` and j votes, ``P(λ_j = c) = (1 − β_j)/k + β_j · P(Y = c | λ_i = l)``,
so ``P(Y = c | λ_i = l)`` is a weighted least-squares fit over the probes (weights
``β_j²`` × co-votes; probes are LFs that vote at least two classes). The ``k`` one-vs-rest
estimates are clipped to ``[0, 1]`` and renormalised — the approximation is that each
probe is symmetric; without probes the symmetric posterior is used (for an LF that votes
a single class, ``α_i`` is read as its precision, which is what its agreements measure).
Bayes' rule with the LF's vote rates and ``π`` then gives the confusion.

>>> import numpy as np
>>> from dawn.label import LabelMatrix
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 4000)
>>> votes = np.where(rng.random((4000, 4)) < [[0.9, 0.8, 0.7, 0.75]], y[:, None], 1 - y[:, None])
>>> cb, conf, info = fit_triplet(LabelMatrix(votes, list("abcd")), 2)
>>> np.round(info["accuracies"], 1).tolist()
[0.9, 0.8, 0.7, 0.8]
"""

from __future__ import annotations

import numpy as np

from dawn.errors import ConfigError, LabelError
from dawn.label.model._stats import (
    VoteStats,
    check_class_balance,
    finish_confusion,
    lf_accuracies,
    vote_stats,
    weighted_votes,
)

__all__ = ["fit_triplet", "symmetric_class_balance", "triplet_betas"]

_TOO_FEW = ("triplet needs at least 3 LFs that overlap (every pair of the three voting "
            "together on at least {min_overlap} rows); {why}. Use method='majority'.")


def triplet_betas(stats: VoteStats, min_overlap: int = 10, tol: float = 0.05
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(β (m,), n_triplets (m,), valid (m, m))``: signed excess accuracies from triplets.

    Raises ``ConfigError`` when no three LFs overlap pairwise.
    """
    m, k = stats.m, stats.k
    N = stats.covote.astype(np.float64)
    valid = N >= max(min_overlap, 1)
    np.fill_diagonal(valid, False)
    with np.errstate(divide="ignore", invalid="ignore"):
        M = np.where(valid, (k * stats.agree / np.maximum(N, 1.0) - 1.0) / (k - 1), 0.0)
    denom_ok = valid & (np.abs(M) >= tol)
    beta2 = np.zeros(m)
    n_trip = np.zeros(m, np.int64)
    upper = np.triu(np.ones((m, m), bool), 1)
    for i in range(m):
        vi = valid[i]
        if vi.sum() < 2:
            continue
        sel = vi[:, None] & vi[None, :] & denom_ok & upper
        if not sel.any():
            continue
        num = np.abs(np.outer(M[i], M[i]))[sel]
        vals = num / np.abs(M[sel])
        beta2[i] = np.median(vals)
        n_trip[i] = vals.size
    if m < 3:
        raise ConfigError(_TOO_FEW.format(min_overlap=min_overlap, why=f"got {m} LF(s)"))
    if not n_trip.any():
        raise ConfigError(_TOO_FEW.format(min_overlap=min_overlap,
                                          why="no three of these LFs do"))
    # Every LF is taken to be better than chance (as for weighted majority vote): the sign
    # cannot be read off agreements when LFs vote one class each, since two such LFs of
    # opposite classes never agree whatever their accuracies.
    return np.sqrt(np.clip(beta2, 0.0, 1.0)), n_trip, valid


def _polar(counts: np.ndarray, min_share: float = 0.01) -> np.ndarray:
    """LFs that vote at least two classes, each with at least ``min_share`` of their votes."""
    tot = counts.sum(axis=1, keepdims=True)
    share = counts / np.maximum(tot, 1)
    return (share >= min_share).sum(axis=1) >= 2


def symmetric_class_balance(stats: VoteStats, beta: np.ndarray, eps: float = 1e-6
                            ) -> np.ndarray | None:
    """Class balance fitted to the vote shares of symmetric LFs (``None`` if none qualify)."""
    k = stats.k
    counts = stats.counts.astype(np.float64)
    use = _polar(counts) & (np.abs(beta) >= 0.1)
    if not use.any():
        return None
    n_j = counts.sum(axis=1)[use]
    f = counts[use] / n_j[:, None]
    b = beta[use]
    pi = (n_j * b) @ (f - ((1.0 - b) / k)[:, None]) / max(float(n_j @ (b * b)), 1e-300)
    pi = np.clip(pi, eps, None)
    return pi / pi.sum()


def fit_triplet(L, k: int, class_balance=None, seed: int = 0, *, min_overlap: int = 10,
                refine: bool = True, eps: float = 1e-6, stats: VoteStats | None = None,
                ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Fit the triplet label model; returns ``(class_balance (k,), confusion (m, k, k+1), info)``.

    Parameters
    ----------
    L : LabelMatrix (or a dense ``-1``-abstain array)
    k : number of classes
    class_balance : ``(k,)`` prior; ``None`` estimates it (see the module docstring)
    seed : kept for a uniform signature; the method is closed-form and deterministic
    min_overlap : rows two LFs must vote on together for their agreement to be used
    refine : apply the one-vs-rest refinement (else: pure symmetric model)
    eps : smallest probability in the confusion
    stats : precomputed :func:`vote_stats` of ``L``

    ``info`` holds ``accuracies`` (``P(vote correct | LF votes)``), ``triplet_accuracies``
    (the symmetric ``α``), ``n_triplets`` per LF, ``class_balance_source``, ``iterations``
    (0) and ``notes`` (reasons to distrust the estimate).
    """
    stats = stats if stats is not None else vote_stats(L, k)
    if stats.k != k:
        raise LabelError(f"stats were computed for cardinality {stats.k}, not {k}.")
    notes: list[str] = []
    m = stats.m
    beta, n_trip, valid = triplet_betas(stats, min_overlap)
    counts = stats.counts.astype(np.float64)
    n_votes = counts.sum(axis=1)
    never = np.flatnonzero(n_votes == 0)
    if never.size:
        notes.append(f"LFs {never.tolist()} never vote; they carry no information.")
    lonely = np.flatnonzero((n_trip == 0) & (n_votes > 0))
    if lonely.size:
        notes.append(f"LFs {lonely.tolist()} overlap too little with the others to be "
                     "estimated; treated as uninformative.")
    alpha = (1.0 + (k - 1) * beta) / k

    p = check_class_balance(class_balance, k)
    source = "given"
    if p is None:
        p = symmetric_class_balance(stats, beta, eps)
        source = "estimated"
        if p is None:
            p, source = np.full(k, 1.0 / k), "uniform"
            notes.append("class balance assumed uniform (no LF votes two classes); pass "
                         "class_balance if the classes are imbalanced.")

    polar = _polar(counts)
    q = _symmetric_posterior(alpha, p, polar)  # [i, l, c] = P(Y = c | λ_i = l)
    if refine:
        probe = polar & (np.abs(beta) >= tol_probe())
        W = np.where(valid & probe[None, :], beta[None, :], 0.0)
        np.fill_diagonal(W, 0.0)
        S = weighted_votes(stats, W)  # (m·k, k): Σ_j β_j O[il, jc]
        C = stats.label_covote.astype(np.float64)  # (m·k, m)
        Wrows = np.repeat(W, k, axis=0)
        shift = (C * Wrows * (1.0 - beta[None, :]) / k).sum(axis=1)
        den = (C * Wrows * beta[None, :]).sum(axis=1)
        ok = den >= 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = (S - shift[:, None]) / den[:, None]
        raw = np.clip(np.nan_to_num(raw), 0.0, 1.0)
        tot = raw.sum(axis=1, keepdims=True)
        ok &= tot[:, 0] > 0
        raw = raw / np.maximum(tot, 1e-300)
        q = np.where(ok[:, None], raw, q.reshape(m * k, k)).reshape(m, k, k)
        if not probe.any():
            notes.append("no LF votes two classes, so no one-vs-rest refinement was "
                         "possible; accuracies read as precisions.")
    rate = counts / max(stats.n, 1)  # P(λ_i = l)
    cond = q * rate[:, :, None] / p[None, None, :]  # [i, l, y] = P(λ_i = l | y)
    cond[n_trip == 0] = rate[n_trip == 0][:, :, None]  # uninformative
    confusion = finish_confusion(np.transpose(cond, (0, 2, 1)), eps)
    info = {"method": "triplet", "iterations": 0, "loss": None, "converged": True,
            "accuracies": lf_accuracies(confusion, p), "triplet_accuracies": alpha,
            "n_triplets": n_trip, "class_balance_source": source, "seed": seed,
            "notes": notes}
    return p, confusion, info


def tol_probe() -> float:
    """Smallest ``|β|`` for an LF to serve as a probe in the refinement."""
    return 0.05


def _symmetric_posterior(alpha: np.ndarray, p: np.ndarray, polar: np.ndarray) -> np.ndarray:
    """``P(Y = c | λ_i = l)`` under the symmetric model (``(m, k, k)``, rows sum to 1).

    For an LF voting several classes, Bayes with accuracy ``α_i``; for one voting a single
    class, ``α_i`` is its precision (that is what its agreements with others measure).
    """
    m, k = alpha.size, p.size
    a = np.clip(alpha, 0.0, 1.0)[:, None, None]
    eye = np.eye(k)[None, :, :]
    lik = np.where(eye > 0, a, (1.0 - a) / (k - 1))  # [i, l, c] = P(λ=l | Y=c)
    bayes = lik * p[None, None, :]
    bayes = bayes / np.maximum(bayes.sum(axis=2, keepdims=True), 1e-300)
    prec = np.where(eye > 0, a, (1.0 - a) / (k - 1))
    return np.where(polar[:, None, None], bayes, prec) * np.ones((m, 1, 1))
