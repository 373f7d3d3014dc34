"""Dawid–Skene on claims: a full confusion per source, fitted by the label model's EM kernels.

Claims map to a sparse object × source CSR of ``value code + 1`` (a source that made no
claim on an object is absent). EM runs over distinct claim patterns with the E-step and
sufficient statistics of :func:`dawn.label.model.dawid_skene.em_accumulate` (the numba
kernels ``LabelModel(method="dawid_skene")`` runs), starting from majority vote. The
M-step is fusion's own: a claim's *absence* says nothing about the truth (which objects a
source claims is taken as independent of their values), so each source's ``K × K``
confusion is estimated from its claims alone — ``P(claims l | truth y)`` = expected count
of ``(y, l)`` over expected claims on objects of value ``y`` — and the abstain column
handed to the kernels is the same for every value, so it cancels in the posterior. (The
label model instead learns ``P(abstain | y)`` per class, which is right for labeling
functions, whose abstentions depend on the class, but adds noise for crowd workers and
costs accuracy on them.) Each confusion row is shrunk towards the source's one-coin form
(one accuracy, errors spread evenly) with ``smoothing`` pseudo-claims, so a sparse source
cannot get a zero that vetoes a value; ``smoothing=0`` is plain maximum likelihood. A
source's accuracy is ``Σ_y π_y P(claims y | y)``. Memory grows as sources × K², so it
suits few values (crowdsourcing labels), not open domains.

``abstains="modelled"`` runs the label model's own ``fit_dawid_skene`` instead (abstain
probabilities per class), so a Fusion over ``(row, LF, vote)`` claims equals
``LabelModel(method="dawid_skene")``.

>>> from dawn.fuse.synthetic import synthetic_claims
>>> from dawn.fuse._claims import encode_claims
>>> d = synthetic_claims(1000, 8, n_values=2, claims_per_source=600, accuracy=0.75, seed=1)
>>> fit = fit_dawid_skene_claims(encode_claims(d.claims, "object", "source", "value",
...                                            numeric=False))
>>> bool(abs(fit.accuracy - 0.75).max() < 0.05)
True
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from dawn.errors import ConfigError
from dawn.fuse._claims import Claims
from dawn.fuse._em import CategoricalFit, clamp
from dawn.label.model._ci import EPS, clip_probabilities, log_tables, predict_proba_ci
from dawn.label.model._patterns import fit_data
from dawn.label.model.dawid_skene import em_accumulate, fit_dawid_skene, majority_tables

__all__ = ["claim_confusion", "dawid_skene_reference", "fit_dawid_skene_claims",
           "vote_matrix"]

ABSTAINS = ("independent", "modelled")


def vote_matrix(c: Claims) -> sp.csr_matrix:
    """Objects × sources CSR of ``value code + 1`` (the label models' sparse convention)."""
    dtype = np.int8 if c.n_values < 127 else np.int16 if c.n_values < 32_000 else np.int32
    X = sp.csr_matrix((c.val.astype(dtype) + 1, (c.obj, c.src)),
                      shape=(c.n_objects, c.n_sources))
    X.sort_indices()
    return X


def claim_confusion(counts: np.ndarray, mass: np.ndarray, smoothing: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """M-step from EM statistics (``counts[j, l, y]``, ``mass[y]``): the value prior and
    each source's ``(m, K, K)`` confusion ``P(claims l | y)`` from its claims alone, shrunk
    towards its one-coin form with ``smoothing`` pseudo-claims per row."""
    k = len(mass)
    votes = counts.transpose(0, 2, 1)  # (m, y, l)
    if smoothing > 0:
        total = votes.sum(axis=(1, 2))
        acc = np.divide(np.trace(votes, axis1=1, axis2=2), total,
                        out=np.full(len(total), 1.0 / k), where=total > 0)
        coin = np.repeat(((1.0 - acc) / max(k - 1, 1))[:, None, None], k, axis=1)
        coin = np.repeat(coin, k, axis=2)
        coin[:, np.arange(k), np.arange(k)] = acc[:, None]
        votes = votes + smoothing * coin
    denom = votes.sum(axis=2, keepdims=True)
    conf = np.divide(votes, denom, out=np.full(votes.shape, 1.0 / k), where=denom > 1e-12)
    return clip_probabilities(mass / max(mass.sum(), 1e-300)), conf


def _tables(balance: np.ndarray, conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior tables whose abstain column is constant in ``y`` (it cancels)."""
    return log_tables(balance, _with_abstain(conf))


def _with_abstain(conf: np.ndarray) -> np.ndarray:
    """``(m, K, K + 1)`` label-model confusion whose abstain column is ``EPS`` for every
    value (so it cancels, and clipping treats the claim probabilities as the reference)."""
    m, k, _ = conf.shape
    full = np.empty((m, k, k + 1))
    full[:, :, 0] = EPS
    full[:, :, 1:] = (1.0 - EPS) * conf
    return full


def _accuracy(balance: np.ndarray, conf: np.ndarray) -> np.ndarray:
    k = len(balance)
    return (balance * conf[:, np.arange(k), np.arange(k)]).sum(axis=1)


def fit_dawid_skene_claims(c: Claims, known=None, *, smoothing: float = 1.0,
                           max_iter: int = 200, tol: float = 1e-7,
                           abstains: str = "independent") -> CategoricalFit:
    """Full-confusion Dawid–Skene (see the module docstring); known objects are clamped in
    the output only (EM itself does not use them). ``tol`` is the least gain in
    log-likelihood per object that continues EM."""
    if abstains not in ABSTAINS:
        raise ConfigError(f"abstains={abstains!r} is not one of {list(ABSTAINS)}.")
    k = max(c.n_values, 2)
    X = vote_matrix(c)
    if abstains == "modelled":
        balance, conf, info = fit_dawid_skene(X, k, max_rows=None, smoothing=smoothing,
                                              max_iter=max_iter, tol=tol)
        P = predict_proba_ci(X, balance, conf)
        voted = 1.0 - conf[:, :, 0]
        right = conf[:, np.arange(k), np.arange(k) + 1]
        accuracy = (balance * right).sum(1) / np.maximum((balance * voted).sum(1), 1e-300)
        n_iter, converged = info["n_iter"], info["converged"]
    else:
        data = fit_data(X, max_rows=None)
        tables = majority_tables(c.n_sources, k)
        converged, n_iter, ll, rows = False, 0, -np.inf, max(c.n_objects, 1)
        for n_iter in range(1, max_iter + 1):
            counts, mass, new_ll = em_accumulate(data, *tables)
            balance, conf = claim_confusion(counts, mass, smoothing)
            tables = _tables(balance, conf)
            gain, ll = (new_ll - ll) / rows, new_ll
            if n_iter > 1 and abs(gain) < tol:
                converged = True
                break
        P = predict_proba_ci(X, balance, _with_abstain(conf))
        accuracy = _accuracy(balance, conf)
    post = P[c.cell_obj, c.cell_val]
    rest = np.clip(1.0 - np.add.reduceat(post, c.obj_ptr[:-1]), 0.0, 1.0)
    clamp(c, post, rest, known)
    info = {"n_iter": n_iter, "converged": converged, "class_balance": balance,
            "confusion": conf}
    return CategoricalFit(post, rest, accuracy, info)


def dawid_skene_reference(c: Claims, *, smoothing: float = 1.0, max_iter: int = 200,
                          tol: float = 1e-7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain numpy reference of the ``abstains="independent"`` fit over claims: returns the
    ``(n_objects, K)`` posteriors, the value prior and the ``(m, K, K)`` confusions."""
    k, m, n = max(c.n_values, 2), c.n_sources, c.n_objects
    T = np.zeros((n, k))
    np.add.at(T, (c.obj, c.val), 1.0)
    T = (T >= T.max(axis=1, keepdims=True)).astype(np.float64)  # majority, ties split
    T /= T.sum(axis=1, keepdims=True)
    ll = -np.inf
    for it in range(1, max_iter + 1):
        counts = np.zeros((m, k, k))  # [source, claimed l, truth y]
        np.add.at(counts, (c.src, c.val), T[c.obj])
        balance, conf = claim_confusion(counts, T.sum(axis=0), smoothing)
        S = np.tile(np.log(balance), (n, 1))
        np.add.at(S, c.obj, np.log(clip_probabilities(conf)[c.src, :, c.val]))
        mx = S.max(axis=1, keepdims=True)
        e = np.exp(S - mx)
        T = e / e.sum(axis=1, keepdims=True)
        new_ll = float((mx[:, 0] + np.log(e.sum(axis=1))).sum())
        if it > 1 and abs(new_ll - ll) / max(n, 1) < tol:
            break
        ll = new_ll
    return T, balance, conf
