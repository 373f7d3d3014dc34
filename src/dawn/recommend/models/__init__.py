"""Recommender model families behind :class:`dawn.recommend.Recommender`.

Every family is an estimator over a users × items CSR matrix ``R`` (float32 values;
implicit weights or explicit ratings; duplicates summed) with the same surface:

- ``fit(R, warm_start=False) -> self``
- ``score(rows, users=None) -> (len(rows), n_items) float32`` for users whose histories are
  ``rows``; ``users`` holds their fitted indices (``-1``: fold in from the history)
- ``fold_in(rows) -> user factors`` (``None`` for families without factors)
- ``add_items(n_new)``, ``similar_items(items, n) -> (items (m, n) int64, scores)``
- ``to_arrays() -> (arrays, meta)`` and ``from_arrays(arrays, meta)`` (no pickle)

======== ============================================ =====================
name     family                                       feedback
======== ============================================ =====================
als      :class:`ALS` (conjugate-gradient ALS)          implicit
bpr      :class:`BPR` (HogWild! SGD)                    implicit
mf       :class:`BiasedMF` (SGD with biases)            explicit ratings
popular  :class:`Popularity` (recency-weighted counts)  either
knn      :class:`ItemKNN` (cosine, top neighbours)      either
ease     :class:`EASE` (closed form, ≤ 20k items)       implicit
======== ============================================ =====================

>>> import scipy.sparse as sp
>>> R = sp.csr_matrix(np.eye(3, dtype=np.float32))
>>> model = make_model("popular").fit(R)
>>> arrays, meta = model.to_arrays()
>>> from_arrays(arrays, meta).score(R[:1]).shape
(1, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dawn.errors import ConfigError, DataError, close_matches
from dawn.recommend.models._base import Model
from dawn.recommend.models.als import ALS
from dawn.recommend.models.baselines import EASE, ItemKNN, Popularity
from dawn.recommend.models.bpr import BPR
from dawn.recommend.models.mf import BiasedMF

__all__ = ["ALS", "BPR", "EASE", "FAMILIES", "BiasedMF", "ItemKNN", "Model", "Popularity",
           "from_arrays", "make_model"]

FAMILIES: dict[str, type[Model]] = {
    cls.name: cls for cls in (ALS, BPR, BiasedMF, Popularity, ItemKNN, EASE)
}


def make_model(name: str, **params: Any) -> Model:
    """An unfitted model of the family ``name`` with these parameters."""
    cls = FAMILIES.get(name)
    if cls is None:
        raise ConfigError(f"unknown model family {name!r}; choose one of "
                          f"{sorted(FAMILIES)}.{close_matches(name, list(FAMILIES))}")
    allowed = cls._param_names()
    bad = [p for p in params if p not in allowed]
    if bad:
        raise ConfigError(f"{cls.__name__} has no parameter {bad[0]!r}; it takes "
                          f"{allowed}.{close_matches(bad[0], allowed)}")
    return cls(**params)


def from_arrays(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Model:
    """Rebuild any fitted family from its ``to_arrays()`` output."""
    name = meta.get("family") if isinstance(meta, dict) else None
    if name not in FAMILIES:
        raise DataError(f"cannot load a recommender model of family {name!r}; known "
                        f"families are {sorted(FAMILIES)}.")
    return FAMILIES[name].from_arrays(arrays, meta)
