"""MeTaL-style matrix completion (Ratner et al. 2019; what Snorkel's ``LabelModel`` fits).

For conditionally independent LFs the normalised joint vote counts ``O / n`` (see
:mod:`dawn.label.model._stats`) factor on their off-diagonal blocks as
``μ · diag(P) · μᵀ`` with ``μ[j*k+a, y] = P(LF j votes a | Y = y)`` and ``P`` the class
balance. :func:`fit_metal` finds ``μ`` by minimising Snorkel's loss

    ‖mask ⊙ (O/n − μ P μᵀ)‖² + ‖μ P 1 − diag(O/n)‖² + l2 ‖μ − μ₀‖²

(``mask`` drops the same-LF blocks; the second term ties each LF's vote rates to the
data) with L-BFGS-B on the small ``(m·k) × k`` matrix, bounded to ``[0, 1]``, analytic
gradient, no torch. ``μ₀`` is Snorkel's initialisation, with every LF ``prec_init``
precise (``P(Y = a | LF votes a)``): ``μ₀[j*k+a, y] = P(LF j votes a) · prec / P(y)`` for
``a = y`` and the remaining precision spread over the other classes; starting there
breaks the label-swap symmetry. The loss has poor local minima (with imbalanced classes
Snorkel's start can land in one), so two more deterministic starts are tried — a more
precise one and the closed-form triplet estimate — and the lowest loss wins. Afterwards
latent classes are matched to vote labels by a linear assignment (not Snorkel's search
over all ``k!`` permutations).

Second-order counts do not identify the class balance on their own, so without one
``P`` is estimated as the triplet method does (symmetric LFs' vote shares, see
:func:`dawn.label.model.triplet.symmetric_class_balance`), falling back to the LFs' vote
shares, and held fixed while ``μ`` is fitted.

The loss has ``(m·k)²`` terms, so the work grows as ``(m·k)²·k``: above ``warn_mk``
(default 600) it warns, above ``max_mk`` (default 2000) it raises ``ConfigError`` and
points to ``method="dawid_skene"``.

>>> import numpy as np
>>> from dawn.label import LabelMatrix
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 2000)
>>> votes = np.where(rng.random((2000, 4)) < [[0.9, 0.8, 0.7, 0.75]], y[:, None], 1 - y[:, None])
>>> cb, conf, info = fit_metal(LabelMatrix(votes, list("abcd")), 2)
>>> conf.shape, np.round(info["accuracies"], 1).tolist()
((4, 2, 3), [0.9, 0.8, 0.7, 0.8])
"""

from __future__ import annotations

import warnings

import numpy as np

from dawn.errors import ConfigError, DawnWarning, LabelError
from dawn.label.model._stats import (
    VoteStats,
    check_class_balance,
    finish_confusion,
    lf_accuracies,
    vote_stats,
)

__all__ = ["fit_metal"]


def fit_metal(L, k: int, class_balance=None, seed: int = 0, *, n_epochs: int = 500,
              l2: float = 0.0, prec_init: float = 0.7, max_mk: int = 2000, warn_mk: int = 600,
              eps: float = 1e-6, stats: VoteStats | None = None,
              ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Fit a MeTaL label model; returns ``(class_balance (k,), confusion (m, k, k+1), info)``.

    Parameters
    ----------
    L : LabelMatrix (or a dense ``-1``-abstain array)
    k : number of classes
    class_balance : ``(k,)`` prior; ``None`` estimates it jointly with the LF parameters
    seed : kept for a uniform signature; the fit is deterministic (no random start)
    n_epochs : at most this many L-BFGS iterations
    l2 : pull of ``μ`` towards its initialisation (Snorkel's ``l2``)
    prec_init : initial precision of every LF, ``P(Y = a | LF votes a)``
    max_mk, warn_mk : size limits on ``m·k`` (see the module docstring)
    eps : smallest probability in the confusion
    stats : precomputed :func:`vote_stats` of ``L`` (saves a pass over the votes)

    ``info`` holds ``iterations``, ``loss``, ``converged``, ``class_balance_source``,
    ``accuracies`` (``P(vote correct | LF votes)``) and ``notes`` (reasons to distrust it).
    """
    from scipy.optimize import minimize

    notes: list[str] = []
    m = stats.m if stats is not None else _n_lfs(L)
    mk = int(m) * int(k)
    if mk > max_mk:
        raise ConfigError(f"method='metal' fits an (m·k)² = ({m}·{k})² = {mk * mk:,}-entry "
                          f"agreement matrix, above its limit m·k <= {max_mk}; use "
                          "method='dawid_skene' (or 'triplet') for this many LFs × classes.")
    if mk > warn_mk:
        msg = (f"metal: m·k = {mk} makes the (m·k)² problem large and slow; "
               "method='dawid_skene' scales better.")
        warnings.warn(msg, DawnWarning, stacklevel=2)
        notes.append(msg)
    stats = stats if stats is not None else vote_stats(L, k, joint=True)
    if stats.k != k:
        raise LabelError(f"stats were computed for cardinality {stats.k}, not {k}.")
    obs = (stats.joint if stats.joint is not None else _joint_or_raise()).astype(np.float64)
    n = max(stats.n, 1)
    obs /= n
    d = np.diag(obs).copy()  # P(LF j votes a)
    mask = np.ones((mk, mk), bool)
    for j in range(m):
        mask[j * k:(j + 1) * k, j * k:(j + 1) * k] = False

    p_given = check_class_balance(class_balance, k)
    counts = stats.counts.astype(np.float64)
    never = np.flatnonzero(counts.sum(axis=1) == 0)
    if never.size:
        notes.append(f"LFs {never.tolist()} never vote; they carry no information.")
    cov = stats.covote
    if cov.sum() - np.trace(cov) == 0:
        notes.append("no two LFs ever vote on the same row: accuracies are not identifiable "
                     "(the fit returns its initialisation).")
    if p_given is not None:
        p0, source = p_given, "given"
    else:
        p0, source = _estimate_class_balance(stats, counts, eps)
        if source == "vote shares":
            notes.append("class balance taken from the LFs' vote shares (no three LFs "
                         "overlap, or none votes two classes); pass class_balance.")
    mu0 = _init_mu(d.reshape(m, k), p0, prec_init)

    def loss_mu(x, p):
        mu = x.reshape(mk, k)
        mup = mu * p
        R = np.where(mask, mup @ mu.T - obs, 0.0)
        r = mup.sum(axis=1) - d
        D = mu - mu0
        f = (R * R).sum() + r @ r + l2 * (D * D).sum()
        g = 4.0 * (R @ mup) + 2.0 * np.outer(r, p) + 2.0 * l2 * D
        return f, g, R, r, mu

    scale = 1.0 / max(float(d @ d), 1e-12)  # keep the loss of order 1 for L-BFGS's tolerances

    def f_fixed(x):
        f, g, *_ = loss_mu(x, p0)
        return f * scale, g.ravel() * scale

    opts = {"maxiter": int(n_epochs), "ftol": 1e-13, "gtol": 1e-10}
    best = None
    with _small_blas(mk * mk * k):
        for name, start in _starts(stats, mu0, d.reshape(m, k), p0, prec_init):
            res = minimize(f_fixed, start.ravel(), jac=True, method="L-BFGS-B",
                           bounds=[(0.0, 1.0)] * (mk * k), options=opts)
            if best is None or res.fun < best[1].fun - 1e-12 * abs(best[1].fun):
                best = (name, res)
    start_name, res = best
    x, p, iters, fval, ok = res.x, p0, int(res.nit), float(res.fun), bool(res.success)
    mu = x.reshape(m, k, k)  # [j, a, y]
    perm = _match_classes(mu, p)
    if not np.array_equal(perm, np.arange(k)):
        if p_given is None or np.allclose(p_given, 1.0 / k):
            mu, p = mu[:, :, perm], p[perm]
            notes.append("latent classes were relabelled to match the LFs' votes.")
        else:
            notes.append("the fit prefers another matching of latent classes to labels than "
                         "the given class balance allows; check class_balance.")
    cond = np.transpose(mu, (0, 2, 1))  # [j, y, a]
    confusion = finish_confusion(cond, eps)
    p = np.clip(p, eps, None)
    p = p / p.sum()
    acc = lf_accuracies(confusion, p)
    if np.mean(acc[counts.sum(axis=1) > 0] < 1.0 / k) > 0.5 if acc.size else False:
        notes.append("most LFs come out worse than random: the fit may have converged to "
                     "a label-swapped solution; compare with majority vote.")
    info = {"method": "metal", "iterations": iters, "loss": fval, "converged": ok,
            "start": start_name,
            "class_balance_source": source, "accuracies": acc, "n_params": mk * k,
            "seed": seed, "notes": notes}
    return p, confusion, info


def _estimate_class_balance(stats: VoteStats, counts: np.ndarray, eps: float
                            ) -> tuple[np.ndarray, str]:
    from dawn.label.model.triplet import symmetric_class_balance, triplet_betas

    try:
        p = symmetric_class_balance(stats, triplet_betas(stats)[0], eps)
    except ConfigError:
        p = None
    if p is not None:
        return p, "estimated"
    share = counts.sum(axis=0) + 1.0
    return share / share.sum(), "vote shares"


def _small_blas(work: int):
    """One BLAS thread for small products: thread start-up costs more than it saves
    (and, on a busy machine, far more)."""
    import contextlib

    if work > 4_000_000:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _n_lfs(L) -> int:
    shape = getattr(L, "shape", None)
    return int(shape[1] if shape is not None and len(shape) == 2 else np.asarray(L).shape[-1])


def _joint_or_raise():
    raise ConfigError("metal needs the joint vote counts; compute stats with joint=True.")


def _starts(stats: VoteStats, mu0: np.ndarray, rates: np.ndarray, p: np.ndarray,
            prec: float) -> list[tuple[str, np.ndarray]]:
    """Deterministic starting points: Snorkel's, one more precise, and the triplet fit."""
    from dawn.label.model.triplet import fit_triplet

    sharper = _init_mu(rates, p, min(0.5 * (1 + prec), 0.95))
    starts = [("prec_init", mu0), ("prec_init+", sharper)]
    try:
        _, conf, _ = fit_triplet(None, stats.k, p, stats=stats)
    except ConfigError:
        return starts
    return [*starts, ("triplet", np.transpose(conf[:, :, 1:], (0, 2, 1)).reshape(-1, stats.k))]


def _init_mu(rates: np.ndarray, p: np.ndarray, prec: float) -> np.ndarray:
    """Snorkel-style start: ``P(vote a | y) = P(vote a) · P(y | vote a) / P(y)`` with
    ``P(y | vote a) = prec`` when ``a = y`` and the rest spread evenly."""
    m, k = rates.shape
    post = np.full((k, k), (1.0 - prec) / (k - 1))
    np.fill_diagonal(post, prec)
    mu = rates[:, :, None] * post[None, :, :] / p[None, None, :]  # [j, a, y]
    col = mu.sum(axis=1, keepdims=True)
    mu = np.where(col > 1.0, mu / np.maximum(col, 1e-300), mu)
    return np.clip(mu, 0.0, 1.0).reshape(m * k, k)


def _match_classes(mu: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Permutation ``perm`` so latent class ``perm[a]`` is the one LFs call ``a`` most."""
    from scipy.optimize import linear_sum_assignment

    score = (mu * p[None, None, :]).sum(axis=0)  # [a, y]: P(an LF votes a, Y = y), summed
    rows, cols = linear_sum_assignment(-score)
    perm = np.empty_like(cols)
    perm[rows] = cols
    return perm
