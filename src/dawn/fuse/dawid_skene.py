"""Dawid–Skene on claims: the label model's EM over a sparse object × source vote matrix.

Claims map to a CSR of ``value code + 1`` (rows = objects, columns = sources; a source that
made no claim on an object abstains), so :func:`dawn.label.model.dawid_skene.fit_dawid_skene`
— the same vectorised numba EM ``LabelModel(method="dawid_skene")`` runs, over distinct
vote patterns — fits a value prior and a full ``K × K`` confusion per source, and
:func:`~dawn.label.model._ci.predict_proba_ci` gives each object's posterior over the ``K``
values. A source's accuracy is ``Σ_y π_y P(claims y | y) / Σ_y π_y P(claims | y)``. Memory
grows as sources × K², so it suits few values (crowdsourcing labels), not open domains.

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

from dawn.fuse._claims import Claims
from dawn.fuse._em import CategoricalFit, clamp
from dawn.label.model._ci import predict_proba_ci
from dawn.label.model.dawid_skene import fit_dawid_skene

__all__ = ["fit_dawid_skene_claims", "vote_matrix"]


def vote_matrix(c: Claims) -> sp.csr_matrix:
    """Objects × sources CSR of ``value code + 1`` (the label models' sparse convention)."""
    dtype = np.int8 if c.n_values < 127 else np.int16 if c.n_values < 32_000 else np.int32
    X = sp.csr_matrix((c.val.astype(dtype) + 1, (c.obj, c.src)),
                      shape=(c.n_objects, c.n_sources))
    X.sort_indices()
    return X


def fit_dawid_skene_claims(c: Claims, known=None, *, smoothing: float = 1.0,
                           max_iter: int = 200, tol: float = 1e-6) -> CategoricalFit:
    """Full-confusion Dawid–Skene (see the module docstring); known objects are clamped in
    the output only (EM itself does not use them)."""
    k = max(c.n_values, 2)
    X = vote_matrix(c)
    balance, conf, info = fit_dawid_skene(X, k, max_rows=None, smoothing=smoothing,
                                          max_iter=max_iter, tol=tol)
    P = predict_proba_ci(X, balance, conf)
    post = P[c.cell_obj, c.cell_val]
    rest = np.clip(1.0 - np.add.reduceat(post, c.obj_ptr[:-1]), 0.0, 1.0)
    clamp(c, post, rest, known)
    voted = 1.0 - conf[:, :, 0]
    right = conf[:, np.arange(k), np.arange(k) + 1]
    accuracy = (balance * right).sum(1) / np.maximum((balance * voted).sum(1), 1e-300)
    info = {"n_iter": info["n_iter"], "converged": info["converged"],
            "class_balance": balance, "confusion": conf}
    return CategoricalFit(post, rest, accuracy, info)
