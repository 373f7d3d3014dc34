"""Auto-tuning: pick a model family and its hyperparameters on a time-split validation.

The events are split in time: the last ``fraction`` of the time span's events (by
timestamp, or by row order without timestamps) is the validation period; each candidate
is fitted on the earlier events and ranks items for the validation users it knows.
Relevant items are what those users went on to interact with and had not seen before.
Candidates are scored by NDCG@10. The search is seeded and budgeted: first each eligible
family with its defaults, then random variations, drawn more often for the families
that did best so far. EASE is a candidate only when the catalogue has at most
:data:`EASE_MAX_ITEMS` items (its item × item matrix must fit in memory).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> users = rng.integers(0, 60, 3000); items = (users % 3) * 10 + rng.integers(0, 10, 3000)
>>> result = tune(users, items, np.ones(3000, np.float32), np.arange(3000.0),
...               (60, 30), budget=3, seed=0, families=["popular", "knn"])
>>> result.family in ("popular", "knn"), len(result.table)
(True, 3)
"""

from __future__ import annotations

import inspect
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from dawn.errors import ConfigError, DataError, close_matches
from dawn.recommend._topk import top_k
from dawn.recommend.events import interaction_matrix
from dawn.recommend.metrics import index_hits, metrics_from_hits

__all__ = [
    "EASE_MAX_ITEMS",
    "NoValidationError",
    "TuningResult",
    "families",
    "fit_model",
    "make_model",
    "recency",
    "time_split",
    "tune",
]

EASE_MAX_ITEMS = 20_000
FACTOR_FAMILIES = ("als", "bpr", "mf")
MAX_VALIDATION_USERS = 5_000  # a seeded sample of validation users above this
BLOCK = 1_024  # users scored at once

# what the search varies per family (only parameters a family's class accepts are used)
SPACES: dict[str, dict[str, list[Any]]] = {
    "als": {"factors": [32, 64, 128], "regularization": [0.01, 0.05, 0.1, 0.5, 1.0],
            "alpha": [1.0, 5.0, 10.0, 20.0, 40.0]},
    "bpr": {"factors": [32, 64, 128], "learning_rate": [0.01, 0.03, 0.05, 0.1],
            "regularization": [0.0001, 0.001, 0.01]},
    "mf": {"factors": [16, 32, 64], "learning_rate": [0.005, 0.01, 0.02],
           "regularization": [0.01, 0.02, 0.05, 0.1]},
    "ease": {"regularization": [50.0, 100.0, 200.0, 400.0, 800.0, 1500.0]},
    "knn": {"neighbors": [20, 50, 100, 200, 400], "shrinkage": [0.0, 10.0, 50.0]},
    "popular": {"half_life": [None, 0.05, 0.125, 0.25, 0.5]},  # × the training time span
}


def families() -> dict[str, type]:
    """Model family name → class (``als``, ``bpr``, ``mf``, ``popular``, ``knn``, ``ease``)."""
    from dawn.recommend import models

    found = getattr(models, "FAMILIES", None)
    if isinstance(found, dict):
        return dict(found)
    out: dict[str, type] = {}
    for attr in ("ALS", "BPR", "BiasedMF", "Popularity", "ItemKNN", "EASE"):
        cls = getattr(models, attr, None)
        if cls is not None:
            out[cls.name] = cls
    return out


def accepted_params(cls: type) -> set[str] | None:
    """Keyword parameters ``cls`` takes (None when it takes any ``**kwargs``)."""
    params = inspect.signature(cls).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (inspect.Parameter.KEYWORD_ONLY,
                                                 inspect.Parameter.POSITIONAL_OR_KEYWORD)}


def make_model(family: str, params: dict[str, Any] | None = None, *,
               defaults: dict[str, Any] | None = None) -> Any:
    """A new, unfitted model of ``family`` with ``params``.

    ``defaults`` (factors, iterations, seed, ...) are passed only where the family takes
    them; a key of ``params`` the family does not take is a :class:`ConfigError`.
    """
    fams = families()
    if family not in fams:
        raise ConfigError(f"unknown model family {family!r}; use 'auto' or one of "
                          f"{sorted(fams)}.{close_matches(family, sorted(fams))}")
    cls = fams[family]
    ok = accepted_params(cls)
    params = dict(params or {})
    if ok is not None:
        bad = sorted(set(params) - ok)
        if bad:
            raise ConfigError(f"model family {family!r} has no parameter {bad[0]!r}; its "
                              f"parameters are {sorted(ok)}.{close_matches(bad[0], sorted(ok))}")
    kwargs = {k: v for k, v in (defaults or {}).items() if ok is None or k in ok}
    kwargs.update(params)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"cannot build model family {family!r} with {kwargs}: {exc}") from None


def recency(users: np.ndarray, items: np.ndarray, timestamps: np.ndarray,
            shape: tuple[int, int]) -> tuple[sp.csr_matrix, np.ndarray]:
    """``(pairs, age)``: a 0/1 matrix of the user–item pairs and, per stored pair, the time
    since its latest event (what :class:`Popularity` weights by recency)."""
    t = np.asarray(timestamps, dtype=np.float64)
    now = float(t.max()) if len(t) else 0.0
    ages = interaction_matrix(users, items, (now - t).astype(np.float32), shape,
                              last_wins=True, order=t)
    pairs = sp.csr_matrix((np.ones(ages.nnz, np.float32), ages.indices, ages.indptr),
                          shape=shape)
    return pairs, ages.data.astype(np.float64)


def fit_model(model: Any, R: sp.csr_matrix, pairs: sp.csr_matrix, age: np.ndarray) -> Any:
    """Fit ``model`` on ``R`` (popularity: on the pairs, weighted by their age)."""
    if getattr(model, "name", "") == "popular":
        return model.fit(pairs, age=age)
    return model.fit(R)


def time_split(timestamps: np.ndarray, fraction: float = 0.2) -> np.ndarray:
    """Boolean mask of the validation events: those in the last ``fraction`` of time.

    The cut is the ``1 - fraction`` quantile of the timestamps; when that leaves no event
    after it (many equal timestamps), the last ``fraction`` of events in time order is
    used instead.
    """
    if not 0.0 < float(fraction) < 1.0:
        raise ConfigError(f"validation fraction must be between 0 and 1, got {fraction!r}.")
    ts = np.asarray(timestamps, dtype=np.float64)
    cut = np.quantile(ts, 1.0 - fraction)
    valid = ts > cut
    if not valid.any() or valid.all():
        order = np.argsort(ts, kind="stable")
        valid = np.zeros(len(ts), bool)
        valid[order[round(len(ts) * (1.0 - fraction)):]] = True
    return valid


class NoValidationError(DataError):
    """The time split leaves nothing to compare candidates on (too few events)."""


@dataclass
class TuningResult:
    """What :func:`tune` found: the best ``family`` and ``params``, and every trial."""

    family: str
    params: dict[str, Any]
    score: float
    table: Any = field(repr=False)  # pandas.DataFrame, best first


def tune(users: np.ndarray, items: np.ndarray, values: np.ndarray, timestamps: np.ndarray,
         shape: tuple[int, int], *, explicit: bool = False, budget: int = 12, seed: int = 0,
         fraction: float = 0.2, k: int = 10, families: list[str] | None = None,
         defaults: dict[str, Any] | None = None, folds: int = 1) -> TuningResult:
    """Search model families and hyperparameters; return the best by validation NDCG@k.

    Parameters
    ----------
    users, items, values, timestamps
        The training events (user and item indices, weights or ratings, times).
    shape
        ``(n_users, n_items)`` of the index space.
    explicit
        Ratings: duplicates keep the latest, and ``mf`` (biased MF) is a candidate.
    budget
        How many candidates to fit (at least one per eligible family is tried first).
    seed
        Seeds the search and the models.
    families
        Restrict the search to these families.
    defaults
        Parameters given to every family that takes them (factors, iterations, seed).
    folds
        Nested time splits averaged (validation = the last ``fraction · j / folds`` of
        time for ``j = 1..folds``), weighted by their validation users: less noise when
        few users come back in the validation period.
    """
    import pandas as pd

    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ConfigError(f"budget must be a positive number of candidates, got {budget!r}.")
    eligible = _eligible(families, shape[1], explicit)
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 1:
        raise ConfigError(f"folds must be a positive integer, got {folds!r}.")
    rng = np.random.default_rng(seed)
    splits = [_Fold(users, items, values, timestamps, shape, fraction * (j + 1) / folds,
                    explicit, rng) for j in range(int(folds))]
    splits = [f for f in splits if len(f.val_users)]
    if not splits:
        raise NoValidationError("the validation period has no new interactions of users seen "
                        "before it, so candidates cannot be compared; give more events, "
                        "pass a model family instead of model='auto', or change "
                        "validation_fraction.")
    base = {"seed": seed, **(defaults or {})}
    rows: list[dict[str, Any]] = []
    tried: set[str] = set()
    names = ("ndcg", "precision", "recall", "coverage")

    def trial(family: str, params: dict[str, Any]) -> None:
        key = family + json.dumps(params, sort_keys=True)
        if key in tried:
            return
        tried.add(key)
        start = time.perf_counter()
        total = {name: 0.0 for name in names}
        weight = 0
        for fold in splits:
            model = make_model(family, _absolute(family, params, fold.span), defaults=base)
            m = fold.evaluate(model, k)
            for name in names:
                total[name] += m[f"{name}@{k}"] * m["users"]
            weight += m["users"]
        row = {"family": family, "params": params}
        row.update({f"{name}@{k}": total[name] / weight for name in names})
        row["fit_seconds"] = time.perf_counter() - start
        rows.append(row)

    for family in eligible:
        if len(rows) >= budget:
            break
        trial(family, {})
    attempts = 0
    while len(rows) < budget and attempts < 20 * budget:
        attempts += 1
        family = _pick_family(rows, eligible, rng, k)
        space = _space(family)
        if not space:
            continue
        params = {name: _draw(rng, choices) for name, choices in space.items()}
        trial(family, params)
    table = pd.DataFrame(rows).sort_values(f"ndcg@{k}", ascending=False, kind="stable")
    table = table.reset_index(drop=True)
    best = table.iloc[0]
    span = float(np.ptp(timestamps)) if len(timestamps) else 0.0
    params = _absolute(str(best["family"]), dict(best["params"]), span)
    return TuningResult(str(best["family"]), params, float(best[f"ndcg@{k}"]), table)


class _Fold:
    """One time split: the training matrix and the validation users' new items."""

    def __init__(self, users: np.ndarray, items: np.ndarray, values: np.ndarray,
                 timestamps: np.ndarray, shape: tuple[int, int], fraction: float,
                 explicit: bool, rng: np.random.Generator) -> None:
        valid = time_split(timestamps, fraction)
        train = ~valid
        self.shape = shape
        self.R = interaction_matrix(users[train], items[train], values[train], shape,
                                    last_wins=explicit, order=timestamps[train])
        self.pairs, self.age = recency(users[train], items[train], timestamps[train], shape)
        self.span = float(np.ptp(timestamps[train])) if train.any() else 0.0
        self.seen = (self.R != 0).astype(np.float32) if explicit else self.R
        known = np.diff(self.R.indptr) > 0
        vu, vi = users[valid], items[valid]
        keep = known[vu]
        V = sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (vu[keep], vi[keep])),
                          shape=shape)
        V.sum_duplicates()
        V = V - V.multiply(self.seen.astype(bool))  # only items new to the user are relevant
        V.eliminate_zeros()
        val_users = np.flatnonzero(np.diff(V.indptr) > 0)
        if len(val_users) > MAX_VALIDATION_USERS:
            val_users = np.sort(rng.choice(val_users, MAX_VALIDATION_USERS, replace=False))
        self.val_users = val_users
        self.V = V[val_users]

    def evaluate(self, model: Any, k: int) -> dict[str, float]:
        fit_model(model, self.R, self.pairs, self.age)
        top = np.empty((len(self.val_users), k), np.int64)
        for a in range(0, len(self.val_users), BLOCK):
            block = self.val_users[a:a + BLOCK]
            hist = self.seen[block]
            top[a:a + BLOCK] = top_k(model.score(hist, block), k, exclude=hist)[0]
        hits, n_rel = index_hits(top, self.V)
        return metrics_from_hits(hits, n_rel, shown=len(np.unique(top[top >= 0])),
                                 n_items=self.shape[1])


def _eligible(requested: list[str] | None, n_items: int, explicit: bool) -> list[str]:
    fams = families()
    order = ["popular", "knn", "ease", "als", "bpr"] + (["mf"] if explicit else [])
    if requested is not None:
        bad = [f for f in requested if f not in fams]
        if bad:
            raise ConfigError(f"unknown model family {bad[0]!r}; families are {sorted(fams)}."
                              f"{close_matches(bad[0], sorted(fams))}")
        order = [f for f in requested]
    out = [f for f in order if f in fams and not (f == "ease" and n_items > EASE_MAX_ITEMS)]
    if not out:
        raise ConfigError(f"no model family to tune over (asked {requested}, "
                          f"{n_items} items; EASE needs at most {EASE_MAX_ITEMS}).")
    return out


def _absolute(family: str, params: dict[str, Any], span: float) -> dict[str, Any]:
    """Popularity's half-life is searched as a share of the training time span."""
    if family == "popular" and params.get("half_life") is not None:
        return {**params, "half_life": float(params["half_life"]) * span if span > 0 else None}
    return params


def _space(family: str) -> dict[str, list[Any]]:
    ok = accepted_params(families()[family])
    space = SPACES.get(family, {})
    return {name: choices for name, choices in space.items() if ok is None or name in ok}


def _pick_family(rows: list[dict[str, Any]], eligible: list[str], rng: np.random.Generator,
                 k: int) -> str:
    """Families that did better so far are drawn more often (weights 1/rank²)."""
    best: dict[str, float] = {}
    for r in rows:
        score = r[f"ndcg@{k}"]
        score = -1.0 if not np.isfinite(score) else score
        best[r["family"]] = max(best.get(r["family"], -1.0), score)
    tunable = [f for f in eligible if _space(f)]
    if not tunable:
        return eligible[0]
    ranked = sorted(tunable, key=lambda f: -best.get(f, -1.0))
    w = 1.0 / (np.arange(1, len(ranked) + 1, dtype=np.float64) ** 2)
    return ranked[int(rng.choice(len(ranked), p=w / w.sum()))]


def _draw(rng: np.random.Generator, choices: list[Any]) -> Any:
    value = choices[int(rng.integers(len(choices)))]
    return value.item() if isinstance(value, np.generic) else value
