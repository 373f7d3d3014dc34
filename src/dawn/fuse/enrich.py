"""Which sources to improve and which objects to send for expert review.

**Sources** (:func:`enrichment`). For categorical values each object is reduced to a race
between its fused value and the runner-up: posterior mass ``m_o = p1 + p2`` and log-odds
``L_o = log(p1 / p2)``. One more independent claim from a source of accuracy ``a`` (wrong
values spread over the other ``K − 1``, ``e = (1 − a)/(K − 1)``) is worth, in expected
correct objects,

    VOI(L, a) = m · [ max(π a, (1−π) e) + max(π e, (1−π) a) + max(π, 1−π)(1 − a − e)
                      − max(π, 1−π) ],      π = σ(L),

the chance the decision is right after seeing the claim minus before. Then

- ``gain_if_fixed`` = ``Σ_{o claimed by s} VOI(L_o^{−s}, a*) − VOI(L_o^{−s}, a_s)``: expected
  extra correct objects if the source's accuracy rose to ``target_accuracy`` ``a*``, with
  ``L_o^{−s}`` the race without its claim (its log-score weight ``logit(a_s) + log(K−1)``
  taken off the value it claimed);
- ``gain_if_extended`` = ``Σ VOI(L_o, a_s)`` over the ``extra_claims`` least settled objects
  (largest VOI at accuracy 0.9): expected extra correct objects if the source, as accurate
  as now, claimed that many more objects (objects it already claims are not excluded —
  negligible unless a source covers most objects).

For numeric values a fused value's error is taken as normal with precision
``Σ_s 1/(2 b_s²)`` (Laplace scales ``b_s``), and "correct" means within ``tolerance_``:
``P_o = erf(tolerance / (σ_o √2))``; the gains are the same differences of ``Σ P_o`` when
the source's scale drops to the one of ``target_accuracy``, or when it adds claims.

``gain = max(gain_if_fixed, gain_if_extended)``, ``action`` names the larger, and
``expected_errors`` = ``Σ_{o claimed by s} (1 − confidence_o)``.

**Objects** (:func:`review_queue`): priority ``(1 − confidence_o) × impact_o``, where impact
is, by default, the number of claims on the object — an expert's answer settles the object
and also grades every source that claimed it. Objects whose truth was given are left out.

>>> from dawn.fuse import Fusion, synthetic_claims
>>> d = synthetic_claims(300, 20, n_values=2, claims_per_source=40, seed=3)
>>> f = Fusion("one_coin").fit(d.claims)
>>> list(f.enrichment().columns)
['accuracy', 'claims', 'expected_errors', 'gain_if_fixed', 'gain_if_extended', 'gain', 'action']
>>> len(f.review_queue(5))
5
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import erf

from dawn.errors import ConfigError, DataError
from dawn.fuse._em import claim_weights
from dawn.fuse._kernels import segment_argmax

__all__ = ["enrichment", "review_queue", "value_of_claim"]


def value_of_claim(L: np.ndarray, a: np.ndarray, k: int, mass: np.ndarray | float = 1.0
                   ) -> np.ndarray:
    """Expected extra correct objects from one more claim of accuracy ``a`` (see above)."""
    if k < 2:
        return np.zeros(np.broadcast(L, a).shape)
    pi = 1.0 / (1.0 + np.exp(-np.asarray(L, dtype=np.float64)))
    a = np.asarray(a, dtype=np.float64)
    e = (1.0 - a) / (k - 1)
    other = np.maximum(1.0 - a - e, 0.0)
    best = np.maximum(pi, 1.0 - pi)
    after = (np.maximum(pi * a, (1 - pi) * e) + np.maximum(pi * e, (1 - pi) * a)
             + best * other)
    return np.maximum(after - best, 0.0) * mass


def _race(f) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per object: log-odds fused vs runner-up, their mass; per cell: is top / runner-up."""
    c = f._c
    post = f._post
    top = np.zeros(c.n_cells, bool)
    top[f._chosen] = True
    p1 = post[f._chosen]
    masked = np.where(top, -1.0, post)
    second = segment_argmax(c.cell_obj, masked, c.n_objects, seed=f.seed)
    p2c = np.where(top[second], 0.0, masked[second])
    free = np.maximum(c.n_values - np.diff(c.obj_ptr), 0)
    p2u = np.where(free > 0, f._rest / np.maximum(free, 1), 0.0)
    runner = np.zeros(c.n_cells, bool)
    use_cell = (p2c >= p2u) & ~top[second]
    runner[second[use_cell]] = True
    p2 = np.maximum(np.maximum(p2c, p2u), 1e-12)
    return np.log(np.maximum(p1, 1e-12) / p2), p1 + p2, top, runner


def _categorical(f, target: float, extra: int) -> tuple[np.ndarray, np.ndarray]:
    c = f._c
    k = max(c.n_values, 2)
    acc = f.source_accuracy_.to_numpy()
    L, mass, top, runner = _race(f)
    w = claim_weights(acc, k)[c.src]
    cell = c.claim_cell
    L_wo = L[c.obj] - np.where(top[cell], w, 0.0) + np.where(runner[cell], w, 0.0)
    a_s = acc[c.src]
    gain = (value_of_claim(L_wo, np.maximum(target, a_s), k, mass[c.obj])
            - value_of_claim(L_wo, a_s, k, mass[c.obj]))
    fixed = np.bincount(c.src, np.maximum(gain, 0.0), c.n_sources)
    pick = np.argsort(-value_of_claim(L, 0.9, k, mass), kind="stable")[:extra]
    extended = value_of_claim(L[pick][None, :], acc[:, None], k, mass[pick][None, :]).sum(1)
    return fixed, extended


def _numeric(f, target: float, extra: int) -> tuple[np.ndarray, np.ndarray]:
    c = f._c
    tol = f.tolerance_
    b = f.source_scale_.to_numpy()
    prec_s = 1.0 / (2.0 * b ** 2)
    prec = np.bincount(c.obj, prec_s[c.src], c.n_objects)

    def within(p):
        return erf(tol * np.sqrt(np.maximum(p, 1e-300)) / np.sqrt(2.0))

    b_star = -tol / np.log(1.0 - target)
    now = within(prec)
    better = within(prec[c.obj] - prec_s[c.src] + np.maximum(prec_s[c.src],
                                                              1 / (2 * b_star ** 2)))
    fixed = np.bincount(c.src, np.maximum(better - now[c.obj], 0.0), c.n_sources)
    pick = np.argsort(now, kind="stable")[:extra]
    extended = (within(prec[pick][None, :] + prec_s[:, None]) - now[pick][None, :]).sum(1)
    return fixed, extended


def enrichment(fusion, target_accuracy: float = 0.95, extra_claims: int = 10
               ) -> pd.DataFrame:
    """Sources ranked by the expected gain in correct objects from better or more data.

    Parameters
    ----------
    fusion : a fitted :class:`~dawn.fuse.Fusion`
    target_accuracy : the accuracy a fixed source would reach
    extra_claims : how many more objects an extended source would claim

    Returns
    -------
    DataFrame indexed by source: ``accuracy``, ``claims``, ``expected_errors``,
    ``gain_if_fixed``, ``gain_if_extended``, ``gain``, ``action`` ("fix" or "extend"),
    best first (formulas in the module docstring).
    """
    if not 0 < target_accuracy < 1:
        raise ConfigError(f"target_accuracy={target_accuracy} must lie in (0, 1).")
    if int(extra_claims) < 1:
        raise ConfigError(f"extra_claims={extra_claims} must be at least 1.")
    c = fusion._c
    extra = min(int(extra_claims), c.n_objects)
    fixed, extended = (_numeric if c.numeric else _categorical)(fusion, target_accuracy,
                                                                   extra)
    conf = fusion.confidence_.to_numpy()
    out = pd.DataFrame({
        "accuracy": fusion.source_accuracy_.to_numpy(),
        "claims": c.claims_per_source,
        "expected_errors": np.bincount(c.src, 1.0 - conf[c.obj], c.n_sources),
        "gain_if_fixed": fixed,
        "gain_if_extended": extended,
    }, index=fusion.source_accuracy_.index)
    out["gain"] = np.maximum(fixed, extended)
    out["action"] = np.where(fixed >= extended, "fix", "extend")
    return out.sort_values("gain", ascending=False, kind="stable")


def review_queue(fusion, n: int = 20, impact: pd.Series | None = None) -> pd.DataFrame:
    """The ``n`` objects with the highest ``(1 − confidence) × impact`` (see above).

    Returns a DataFrame indexed by object: ``value``, ``confidence``, ``claims``,
    ``impact``, ``priority``, highest priority first.
    """
    if int(n) < 1:
        raise ConfigError(f"n={n} must be at least 1.")
    c = fusion._c
    counts = c.claims_per_object.astype(np.float64)
    if impact is None:
        weight = counts
    else:
        if not isinstance(impact, pd.Series):
            raise ConfigError("impact must be a pandas Series indexed by object.")
        weight = impact.reindex(fusion.truth_.index).to_numpy(dtype=np.float64)
        if np.isnan(weight).all():
            raise DataError("impact shares no object with the claims; index it by object.")
        weight = np.nan_to_num(weight, nan=0.0)
    out = pd.DataFrame({"value": fusion.truth_.to_numpy(),
                        "confidence": fusion.confidence_.to_numpy(),
                        "claims": c.claims_per_object, "impact": weight},
                       index=fusion.truth_.index)
    out["priority"] = (1.0 - out["confidence"]) * out["impact"]
    if fusion._known is not None:
        out = out.drop(index=fusion.truth_.index[fusion._known[0]])
    return out.sort_values("priority", ascending=False, kind="stable").head(int(n))
