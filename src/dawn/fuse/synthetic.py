"""Claims with planted truth, for tests and benchmarks.

Each object has a true value; each source claims a value for some objects. A source with
accuracy ``a`` claims the true value with probability ``a`` and otherwise one of the other
``n_values - 1`` values uniformly (categorical), or — for numeric values — the truth plus
Laplace noise of scale ``b = -tolerance / ln(1 - a)``, so ``a`` is the chance that a claim
lands within ``tolerance`` of the truth (the definition :class:`~dawn.fuse.Fusion` uses).

Accuracies come from ``accuracy`` (a number or one per source) or, when ``n_features > 0``,
from a logistic model of the source features: ``a = σ(intercept + f · θ)`` with standard
normal features and ``θ`` drawn from ``N(0, feature_scale²)`` — the setting where SLiMFast
lets sparse sources borrow strength from similar ones. Sources pick their objects
uniformly at random (draws repeated on one object collapse to one claim).

>>> data = synthetic_claims(200, 30, n_values=3, claims_per_source=20, seed=0)
>>> list(data.claims.columns), data.truth.shape, data.accuracy.shape
(['object', 'source', 'value'], (200,), (30,))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dawn.errors import ConfigError

__all__ = ["SyntheticClaims", "synthetic_claims"]


@dataclass(frozen=True)
class SyntheticClaims:
    """Planted-truth claims: ``claims`` [object, source, value], ``truth`` (object → value),
    ``accuracy`` (source → planted accuracy) and ``features`` (source → features, or
    ``None``)."""

    claims: pd.DataFrame
    truth: pd.Series
    accuracy: pd.Series
    features: pd.DataFrame | None


def _counts(claims_per_source, n_sources: int, n_objects: int,
            rng: np.random.Generator) -> np.ndarray:
    if isinstance(claims_per_source, float):
        if claims_per_source < 1:
            raise ConfigError(f"claims_per_source={claims_per_source} must be at least 1.")
        counts = rng.geometric(1.0 / claims_per_source, n_sources)  # mean claims_per_source
    else:
        counts = np.broadcast_to(np.asarray(claims_per_source, dtype=np.int64),
                                 (n_sources,)).copy()
    if counts.shape != (n_sources,) or counts.min(initial=1) < 1:
        raise ConfigError("claims_per_source must be a positive int, a mean (float) or one "
                          f"positive count per source ({n_sources}).")
    return np.minimum(counts, n_objects)


def synthetic_claims(n_objects: int = 1000, n_sources: int = 50, *, n_values: int = 2,
                     claims_per_source: int | float | np.ndarray = 20, n_features: int = 0,
                     accuracy: float | np.ndarray | None = None, intercept: float = 0.8,
                     feature_scale: float = 1.0, numeric: bool = False,
                     tolerance: float = 1.0, seed: int = 0) -> SyntheticClaims:
    """Make planted-truth claims (see the module docstring).

    Parameters
    ----------
    n_objects, n_sources : how many objects and sources
    n_values : categorical domain size (values ``0..n_values-1``); ignored when ``numeric``
    claims_per_source : an int (each source), one count per source, or a float mean
        (geometric counts: many sparse sources, a few dense ones)
    n_features : source features (standard normal) driving accuracy logistically
    accuracy : planted accuracy (number or per source); default: from features when
        ``n_features > 0``, else uniform on ``[0.55, 0.95]``
    intercept, feature_scale : the logistic model ``σ(intercept + f · θ)``, ``θ ~ N(0, s²)``
    numeric : numeric values (truth ``N(100, 20²)``, Laplace errors) instead of categories
    tolerance : numeric only: a claim within ``tolerance`` of the truth counts as accurate
    seed : random seed
    """
    if n_objects < 1 or n_sources < 1 or (not numeric and n_values < 2):
        raise ConfigError("synthetic_claims needs n_objects >= 1, n_sources >= 1 and "
                          f"n_values >= 2; got {n_objects}, {n_sources}, {n_values}.")
    rng = np.random.default_rng(seed)
    features = None
    if n_features > 0:
        F = rng.standard_normal((n_sources, n_features))
        theta = rng.normal(0.0, feature_scale, n_features)
        planted = 1.0 / (1.0 + np.exp(-(intercept + F @ theta)))
        features = pd.DataFrame(F, columns=[f"f{i}" for i in range(n_features)])
    else:
        planted = rng.uniform(0.55, 0.95, n_sources)
    if accuracy is not None:
        planted = np.broadcast_to(np.asarray(accuracy, dtype=np.float64), (n_sources,)).copy()
    if planted.min() < 0 or planted.max() > 1:
        raise ConfigError("accuracy must lie in [0, 1].")
    counts = _counts(claims_per_source, n_sources, n_objects, rng)
    src = np.repeat(np.arange(n_sources), counts)
    obj = rng.integers(0, n_objects, len(src))
    keep = np.unique(src * n_objects + obj, return_index=True)[1]  # one claim per pair
    src, obj = src[np.sort(keep)], obj[np.sort(keep)]
    right = rng.random(len(src)) < planted[src]
    if numeric:
        truth = rng.normal(100.0, 20.0, n_objects)
        scale = -tolerance / np.log(np.clip(1.0 - planted, 1e-12, 1.0))
        value = truth[obj] + rng.laplace(0.0, 1.0, len(src)) * scale[src]
    else:
        truth = rng.integers(0, n_values, n_objects)
        wrong = (truth[obj] + rng.integers(1, n_values, len(src))) % n_values
        value = np.where(right, truth[obj], wrong)
    names_o = np.array([f"o{i}" for i in range(n_objects)], dtype=object)
    names_s = np.array([f"s{i}" for i in range(n_sources)], dtype=object)
    claims = pd.DataFrame({"object": names_o[obj], "source": names_s[src], "value": value})
    if features is not None:
        features.index = pd.Index(names_s, name="source")
    return SyntheticClaims(claims, pd.Series(truth, index=pd.Index(names_o, name="object"),
                                             name="truth"),
                           pd.Series(planted, index=pd.Index(names_s, name="source"),
                                     name="accuracy"), features)
