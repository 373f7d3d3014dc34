"""Auto-tuning: pick a model family and its hyperparameters on validation carved from
the training events.

By default (``split="both"``) the held-out events are each user's latest ``fraction``
of events (users with at least :data:`MIN_USER_EVENTS`; :func:`user_split`) together
with every event in the last ``fraction`` of time (:func:`time_split`): hundreds of
validation users where a time split alone may leave dozens, and the latest period's
trends still in the score. Each candidate is fitted once on the rest and ranks items
for the validation users; relevant items are the held-out ones new to the user.
Candidates are scored by NDCG@10. The search is seeded and budgeted: first each eligible
family with its defaults, then local steps — one parameter of a family's best candidate
moved to a neighbouring grid value — for families drawn by rank (the best most often).
EASE is a candidate only when the catalogue has at most :data:`EASE_MAX_ITEMS` items (its
item × item matrix must fit in memory).

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
    "ease_dual_scores",
    "families",
    "fit_model",
    "make_model",
    "recency",
    "time_split",
    "tune",
    "user_split",
]

EASE_MAX_ITEMS = 20_000
FACTOR_FAMILIES = ("als", "bpr", "mf")
MAX_VALIDATION_USERS = 5_000  # a seeded sample of validation users above this
MIN_USER_EVENTS = 5  # users with fewer events are not held out by user_split
BLOCK = 1_024  # users scored at once

# what the search varies per family (only parameters a family's class accepts are used)
SPACES: dict[str, dict[str, list[Any]]] = {
    "als": {"factors": [16, 32, 64, 128], "regularization": [0.01, 0.03, 0.1, 0.3, 1.0,
                                                            3.0, 10.0],
            "alpha": [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0]},
    "bpr": {"factors": [32, 64, 128], "learning_rate": [0.01, 0.03, 0.05, 0.1],
            "regularization": [0.0001, 0.001, 0.01]},
    "mf": {"factors": [16, 32, 64], "learning_rate": [0.005, 0.01, 0.02],
           "regularization": [0.01, 0.02, 0.05, 0.1]},
    "ease": {"regularization": [10.0, 25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1500.0,
                                3000.0]},
    "knn": {"neighbors": [20, 50, 100, 200, 400], "shrinkage": [0.0, 10.0, 50.0]},
    # × the training time span; None (no decay) is the longest
    "popular": {"half_life": [0.05, 0.125, 0.25, 0.5, None]},
}
SPLITS = ("both", "time", "user")


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


def user_split(users: np.ndarray, timestamps: np.ndarray, fraction: float = 0.2, *,
               min_events: int = MIN_USER_EVENTS) -> np.ndarray:
    """Boolean mask of each user's latest events: a per-user temporal holdout.

    Every user with at least ``min_events`` events holds out their latest
    ``max(1, floor(fraction · n))`` events (by timestamp; ties by row order); users with
    fewer keep all theirs for training. Unlike :func:`time_split`, every active user
    contributes, not only those who came back in the last period.

    >>> user_split(np.array([0, 0, 0, 0, 0, 1]), np.array([5., 1., 2., 3., 4., 9.]), 0.2)
    array([ True, False, False, False, False, False])
    """
    if not 0.0 < float(fraction) < 1.0:
        raise ConfigError(f"validation fraction must be between 0 and 1, got {fraction!r}.")
    users = np.asarray(users)
    ts = np.asarray(timestamps, dtype=np.float64)
    order = np.lexsort((np.arange(len(users)), ts, users))  # by user, then time, then row
    su = users[order]
    starts = np.flatnonzero(np.r_[True, su[1:] != su[:-1]]) if len(su) else np.zeros(0, int)
    sizes = np.diff(np.r_[starts, len(su)])
    rank = np.arange(len(su)) - np.repeat(starts, sizes)       # position in the user's time
    size = np.repeat(sizes, sizes)
    n_out = np.where(size >= min_events, np.maximum(1, np.floor(fraction * size)), 0)
    valid = np.zeros(len(users), bool)
    valid[order] = rank >= size - n_out
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
         defaults: dict[str, Any] | None = None, folds: int = 1,
         split: str = "both") -> TuningResult:
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
    fraction
        Share held out: the last ``fraction`` of time, and each user's latest
        ``fraction`` of events.
    families
        Restrict the search to these families.
    defaults
        Parameters given to every family that takes them (factors, iterations, seed).
    folds
        Nested time splits (validation = the last ``fraction · j / folds`` of time for
        ``j = 1..folds``).
    split
        ``"time"``: validate on the events after a cut in time (the users who come back
        in the last period); ``"user"``: on each user's latest events (every user with at
        least :data:`MIN_USER_EVENTS` events; see :func:`user_split`); ``"both"``
        (default): both kinds of split, their NDCG averaged with equal weight — the per-
        user split gives hundreds of validation users where the last period may have
        dozens, the time split keeps what changes over time (trends) in the score.
        Splits without validation users are skipped.
    """
    import pandas as pd

    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ConfigError(f"budget must be a positive number of candidates, got {budget!r}.")
    eligible = _eligible(families, shape[1], explicit)
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 1:
        raise ConfigError(f"folds must be a positive integer, got {folds!r}.")
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {list(SPLITS)}, got {split!r}."
                          f"{close_matches(str(split), list(SPLITS))}")
    rng = np.random.default_rng(seed)
    users, items = np.asarray(users), np.asarray(items)
    values = np.asarray(values, dtype=np.float32)
    timestamps = np.asarray(timestamps, dtype=np.float64)
    masks: list[tuple[str, np.ndarray]] = []
    for j in range(folds):
        share = fraction * (j + 1) / folds
        name = split if folds == 1 else f"{split}{j + 1}"
        if split == "time":
            masks.append((name, time_split(timestamps, share)))
        elif split == "user":
            masks.append((name, user_split(users, timestamps, share)))
        else:
            masks.append((name, time_split(timestamps, share)
                          | user_split(users, timestamps, share)))
    splits = [(name, _Fold(users, items, values, timestamps, shape, mask, explicit, rng))
              for name, mask in masks]
    splits = [(name, f) for name, f in splits if len(f.val_users)]
    if not splits:
        raise NoValidationError("the held-out events hold no new interactions of users with "
                                "earlier events, so candidates cannot be compared; give more "
                                "events, pass a model family instead of model='auto', or "
                                "change validation_fraction.")
    base = {"seed": seed, **(defaults or {})}
    rows: list[dict[str, Any]] = []
    tried: set[str] = set()
    names = ("ndcg", "precision", "recall", "coverage")

    def trial(family: str, params: dict[str, Any]) -> bool:
        key = family + json.dumps({**_full_params(family, base), **params}, sort_keys=True)
        if key in tried:
            return False
        tried.add(key)
        start = time.perf_counter()
        row: dict[str, Any] = {"family": family, "params": params}
        total = {name: 0.0 for name in names}
        extra: dict[str, Any] = {}
        for name, fold in splits:
            model = make_model(family, _absolute(family, params, fold.span), defaults=base)
            m = fold.evaluate(model, k)
            for metric in names:
                total[metric] += m[f"{metric}@{k}"] / len(splits)
            if len(splits) > 1:
                extra[f"ndcg@{k} {name}"] = m[f"ndcg@{k}"]
        row.update({f"{metric}@{k}": total[metric] for metric in names})
        row.update(extra)
        row["fit_seconds"] = time.perf_counter() - start
        rows.append(row)
        return True

    for family in eligible:
        if len(rows) >= budget:
            break
        trial(family, {})
    attempts = 0
    done: set[str] = set()  # families whose best candidate has no untried neighbour
    while len(rows) < budget and attempts < 20 * budget:
        attempts += 1
        left = [f for f in eligible if f not in done]
        family = _pick_family(rows, left or eligible, rng, k)
        params = _propose(family, rows, rng, k, base, local=bool(left))
        if params is None:
            done.add(family)
            continue
        trial(family, params)
    table = pd.DataFrame(rows).sort_values(f"ndcg@{k}", ascending=False, kind="stable")
    table = table.reset_index(drop=True)
    table.attrs["validation_users"] = {name: len(f.val_users) for name, f in splits}
    best = table.iloc[0]
    span = float(np.ptp(timestamps)) if len(timestamps) else 0.0
    params = _absolute(str(best["family"]), dict(best["params"]), span)
    return TuningResult(str(best["family"]), params, float(best[f"ndcg@{k}"]), table)


class _Fold:
    """One split of the training events: a matrix to fit on and the validation users' new
    items. Items without a training event are left out of the fitted matrix (no model
    can rank them, and EASE's cost grows with the cube of the catalogue)."""

    def __init__(self, users: np.ndarray, items: np.ndarray, values: np.ndarray,
                 timestamps: np.ndarray, shape: tuple[int, int], valid: np.ndarray,
                 explicit: bool, rng: np.random.Generator) -> None:
        train = ~valid
        self.shape = shape
        self.cols = np.unique(items[train])        # the items a model can learn here
        local = np.searchsorted(self.cols, items[train])
        sub = (shape[0], max(len(self.cols), 1))
        tu, tt = users[train], timestamps[train]
        self.R = interaction_matrix(tu, local, values[train], sub, last_wins=explicit,
                                    order=tt)
        self.pairs, self.age = recency(tu, local, tt, sub)
        self.span = float(np.ptp(tt)) if train.any() else 0.0
        self.seen = (self.R != 0).astype(np.float32) if explicit else self.R
        known = np.diff(self.R.indptr) > 0
        vu, vi = users[valid], items[valid]
        keep = known[vu]
        V = sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (vu[keep], vi[keep])),
                          shape=shape)
        V.sum_duplicates()
        seen = sp.csr_matrix((np.ones(self.R.nnz, bool), self.cols[self.R.indices],
                              self.R.indptr), shape=shape)
        V = V - V.multiply(seen)  # only items new to the user are relevant
        V.eliminate_zeros()
        val_users = np.flatnonzero(np.diff(V.indptr) > 0)
        if len(val_users) > MAX_VALIDATION_USERS:
            val_users = np.sort(rng.choice(val_users, MAX_VALIDATION_USERS, replace=False))
        self.val_users = val_users
        self.V = V[val_users]

    def evaluate(self, model: Any, k: int) -> dict[str, float]:
        dual = getattr(model, "name", "") == "ease" and _ease_dual_pays(self.R)
        if dual:
            model._validate_params()
        else:
            fit_model(model, self.R, self.pairs, self.age)
        top = np.empty((len(self.val_users), k), np.int64)
        for a in range(0, len(self.val_users), BLOCK):
            block = self.val_users[a:a + BLOCK]
            hist = self.seen[block]
            scores = (ease_dual_scores(self.R, hist, float(model.regularization),
                                       binary=bool(model.binary)) if dual
                      else model.score(hist, block))
            local = top_k(scores, k, exclude=hist)[0]
            top[a:a + BLOCK] = np.where(local >= 0, self.cols[np.maximum(local, 0)], -1)
        hits, n_rel = index_hits(top, self.V)
        return metrics_from_hits(hits, n_rel, shown=len(np.unique(top[top >= 0])),
                                 n_items=self.shape[1])


def _ease_dual_pays(R: sp.csr_matrix) -> bool:
    """EASE through its users × users dual when there are clearly fewer users than items."""
    return int((np.diff(R.indptr) > 0).sum()) * 2 <= R.shape[1]


def ease_dual_scores(R: sp.csr_matrix, rows: sp.csr_matrix, regularization: float, *,
                     binary: bool = True) -> np.ndarray:
    """What :class:`~dawn.recommend.models.EASE` fitted on ``R`` scores for ``rows``,
    computed without its items × items matrix.

    By Woodbury, ``P = (XᵀX + λI)⁻¹ = (I − Xᵀ K X) / λ`` with ``K = (XXᵀ + λI)⁻¹`` over
    the users, so ``rows · B = H − H P / diag(P)`` (``B = I − P diag(1/diag P)``) needs a
    users × users solve instead of an items × items inverse — the tuner scores EASE
    candidates this way when users are fewer than items.

    >>> import scipy.sparse as sp
    >>> from dawn.recommend.models import EASE
    >>> R = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 1]], np.float32))
    >>> H = sp.csr_matrix(np.array([[1, 0, 0, 0]], np.float32))
    >>> bool(np.allclose(ease_dual_scores(R, H, 2.0),
    ...                  EASE(regularization=2.0).fit(R).score(H), atol=1e-5))
    True
    """
    X = R[np.diff(R.indptr) > 0].astype(np.float64)
    H = rows.astype(np.float64)
    if binary:
        X.data[:] = 1.0
        H.data[:] = 1.0
    lam = float(regularization)
    Xd = X.toarray()
    gram = Xd @ Xd.T
    gram[np.diag_indices_from(gram)] += lam
    KX = np.linalg.solve(gram, Xd)                       # K X: users × items
    diag = (1.0 - np.einsum("ui,ui->i", Xd, KX)) / lam   # diag(P)
    HP = (H.toarray() - (H @ Xd.T) @ KX) / lam           # H P
    out = H.toarray() - HP / diag[None, :]
    return out.astype(np.float32)


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


def _propose(family: str, rows: list[dict[str, Any]], rng: np.random.Generator, k: int,
             base: dict[str, Any], *, local: bool = True) -> dict[str, Any] | None:
    """Next parameters to try for ``family``: a step from its best candidate so far.

    One parameter of the family's best moves to a neighbouring value of its grid (a
    seeded local search: scores change smoothly along λ, factors, α, ...). ``None`` when
    the family has nothing to search or (``local``) every neighbour was tried; with
    ``local=False``, a random point of the grid then.
    """
    space = _space(family)
    if not space:
        return None
    own = [r for r in rows if r["family"] == family]
    current = _full_params(family, base)
    if own:
        best = max(own, key=lambda r: r[f"ndcg@{k}"] if np.isfinite(r[f"ndcg@{k}"]) else -1.0)
        current.update(best["params"])
    full = _full_params(family, base)
    tried = {json.dumps({**full, **r["params"]}, sort_keys=True) for r in own}
    steps = []
    for name, choices in space.items():
        at = _grid_position(choices, current.get(name))
        lo, hi = (int(at) - 1, int(at) + 1) if at == int(at) else (int(np.floor(at)),
                                                                  int(np.ceil(at)))
        for j in (lo, hi):
            if 0 <= j < len(choices):
                steps.append({**_on_grid(current, space), name: choices[j]})
    steps = [p for p in steps if json.dumps({**full, **p}, sort_keys=True) not in tried]
    if steps:
        return steps[int(rng.integers(len(steps)))]
    if local:
        return None
    return {name: _draw(rng, choices) for name, choices in space.items()}


def _full_params(family: str, base: dict[str, Any]) -> dict[str, Any]:
    """The parameters a family's defaults amount to (its constructor's, then ``base``)."""
    cls = families()[family]
    out = {p.name: p.default for p in inspect.signature(cls).parameters.values()
           if p.default is not inspect.Parameter.empty}
    out.update({key: v for key, v in base.items() if key in out})
    return out


def _grid_position(choices: list[Any], value: Any) -> float:
    """Index of ``value`` in the grid; between two indices (x.5) when it falls between."""
    if value in choices:
        return float(choices.index(value))
    numeric = [c for c in choices if c is not None]
    if value is None or not numeric:
        return float(len(choices) - 1) if None not in choices else float(choices.index(None))
    below = sum(1 for c in numeric if c < value)
    return below - 0.5


def _on_grid(params: dict[str, Any], space: dict[str, list[Any]]) -> dict[str, Any]:
    """``params`` restricted to the searched names (what a candidate's row records)."""
    return {name: params.get(name) for name in space}


def _draw(rng: np.random.Generator, choices: list[Any]) -> Any:
    value = choices[int(rng.integers(len(choices)))]
    return value.item() if isinstance(value, np.generic) else value
