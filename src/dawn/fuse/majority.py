"""Majority vote: each object's most claimed value; a source's accuracy is the share of its
claims that agree with the vote (ties count as half for two tied values, and so on).

>>> import pandas as pd
>>> from dawn.fuse._claims import encode_claims
>>> c = encode_claims(pd.DataFrame({"o": [0, 0, 0], "s": list("abc"), "v": [1, 1, 0]}),
...                   "o", "s", "v", numeric=False)
>>> fit = fit_majority(c)
>>> fit.post.round(2).tolist(), fit.accuracy.tolist()
([0.33, 0.67], [0.6666666666666666, 0.6666666666666666, 0.3333333333333333])
"""

from __future__ import annotations

import numpy as np

from dawn.fuse._claims import Claims
from dawn.fuse._em import CategoricalFit, clamp, majority_posteriors

__all__ = ["fit_majority"]


def fit_majority(c: Claims, known=None) -> CategoricalFit:
    """Vote shares as posteriors (known objects clamped to their truth)."""
    post, rest = majority_posteriors(c)
    clamp(c, post, rest, known)
    agree = np.bincount(c.src, weights=post[c.claim_cell], minlength=c.n_sources)
    return CategoricalFit(post, rest, agree / np.maximum(c.claims_per_source, 1),
                          {"n_iter": 0, "converged": True})
