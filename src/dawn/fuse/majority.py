"""Majority vote: each object's most claimed value; a source's accuracy is the share of its
claims that agree with the fused value (ties between values broken by a draw from
``seed``, the same draw :class:`~dawn.fuse.Fusion` makes, so the accuracies describe the
answer it reports; objects with known truth are judged by it).

>>> import pandas as pd
>>> from dawn.fuse._claims import encode_claims
>>> c = encode_claims(pd.DataFrame({"o": [0, 0, 0], "s": list("abc"), "v": [1, 1, 0]}),
...                   "o", "s", "v", numeric=False)
>>> fit = fit_majority(c)
>>> fit.post.round(2).tolist(), fit.accuracy.tolist()
([0.33, 0.67], [1.0, 1.0, 0.0])
"""

from __future__ import annotations

import numpy as np

from dawn.fuse._claims import Claims
from dawn.fuse._em import CategoricalFit, clamp, majority_posteriors
from dawn.fuse._kernels import segment_argmax

__all__ = ["fit_majority"]


def fit_majority(c: Claims, known=None, *, seed: int = 0) -> CategoricalFit:
    """Vote shares as posteriors (known objects clamped to their truth); accuracies are
    agreement with the chosen value (see the module docstring)."""
    post, rest = majority_posteriors(c)
    clamp(c, post, rest, known)
    chosen = segment_argmax(c.cell_obj, post, c.n_objects, seed=seed)
    right = (c.claim_cell == chosen[c.obj]) & (post[c.claim_cell] > 0)
    agree = np.bincount(c.src, weights=right, minlength=c.n_sources)
    return CategoricalFit(post, rest, agree / np.maximum(c.claims_per_source, 1),
                          {"n_iter": 0, "converged": True})
