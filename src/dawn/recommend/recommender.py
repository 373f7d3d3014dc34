"""``Recommender``: events in, fresh top-k out — tuned, folded-in and persisted by itself.

``fit(events)`` maps user and item ids to indices, builds the interaction matrix, picks a
model family (``model="auto"``: a validation of each user's latest events and the last
period, and a budgeted search, see
:mod:`dawn.recommend.tuning`) and fits it, plus two fallbacks: recency-weighted
popularity and item-kNN. ``recommend(user)`` follows the cold-start ladder — an unknown
user (or one without events) gets *popular* items, a user with 1–4 events gets *knn*
(items similar to theirs), a user with more gets the main model (``"als"``, ``"mf"``, ...);
:meth:`Recommender.explain_source` says which. ``partial_fit(new_events)`` adds events at
once: new users and users with new events are folded in (their factors solved against
the fixed item factors) on their next request, new items join the catalogue; ``refit``
retrains on everything, in a background thread if asked, and swaps the result in.

>>> import pandas as pd
>>> events = pd.DataFrame({"user": ["ann", "ann", "bob", "bob", "cy"],
...                        "item": ["tea", "cake", "tea", "jam", "tea"]})
>>> rec = Recommender(model="knn").fit(events)
>>> rec.recommend("cy", n=2), rec.explain_source("cy"), rec.explain_source("dan")
(['cake', 'jam'], 'knn', 'popular')
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from dawn.errors import ConfigError, DataError, NotFittedError, StoreError
from dawn.recommend._topk import top_k
from dawn.recommend.events import Events, IdIndex, interaction_matrix, read_events
from dawn.recommend.tuning import (
    FACTOR_FAMILIES,
    NoValidationError,
    families,
    fit_model,
    make_model,
    recency,
    tune,
)

__all__ = ["Recommender"]

FORMAT = "dawn-recommender"
FORMAT_VERSION = 1
BLOCK = 1_024  # users scored at once (bounds the dense score matrix)
_POPULAR = "popular"
_KNN = "knn"


class _Log:
    """The event log as index arrays (user, item, value, time).

    Events appended after the interaction matrix was built ("pending") go to buffers that
    grow by doubling, and each user's pending positions are indexed, so folding one
    user's new events in never scans or copies the whole log.
    """

    _DTYPES = (np.int64, np.int64, np.float32, np.float64)

    def __init__(self, u: np.ndarray, i: np.ndarray, v: np.ndarray, t: np.ndarray) -> None:
        self._base = tuple(np.asarray(a, dtype=d) for a, d in zip((u, i, v, t), self._DTYPES,
                                                                   strict=True))
        self._buf = tuple(np.empty(64, dtype=d) for d in self._DTYPES)
        self._m = 0
        self._flat: tuple[np.ndarray, ...] | None = None
        self._pending: dict[int, list[np.ndarray]] = {}
        self.n = len(u)
        self.t_max = float(np.max(t)) if len(t) else 0.0

    def append(self, u: np.ndarray, i: np.ndarray, v: np.ndarray, t: np.ndarray) -> None:
        k = len(u)
        if self._m + k > len(self._buf[0]):
            cap = max(2 * len(self._buf[0]), self._m + k)
            self._buf = tuple(np.concatenate([b[:self._m], np.empty(cap - self._m, b.dtype)])
                              for b in self._buf)
        for b, a in zip(self._buf, (u, i, v, t), strict=True):
            b[self._m:self._m + k] = a
        pos = np.arange(self.n, self.n + k)
        order = np.argsort(u, kind="stable")
        users, starts = np.unique(u[order], return_index=True)
        for user, chunk in zip(users.tolist(), np.split(pos[order], starts[1:]), strict=True):
            self._pending.setdefault(user, []).append(chunk)
        self._m += k
        self.n += k
        self._flat = None
        if k:
            self.t_max = max(self.t_max, float(np.max(t)))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every event, in arrival order."""
        if self._flat is None:
            self._flat = tuple(np.concatenate([a, b[:self._m]])
                               for a, b in zip(self._base, self._buf, strict=True))
        return self._flat  # type: ignore[return-value]

    def pending(self, users: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(rows, user, item, value, time)`` of the pending events of ``users``, where
        ``rows`` is each event's position in ``users``."""
        rows, pos = [], []
        for r, user in enumerate(users.tolist()):
            for chunk in self._pending.get(user, ()):
                rows.append(np.full(len(chunk), r, np.int64))
                pos.append(chunk)
        if not pos:
            return (np.zeros(0, np.int64), *(np.zeros(0, d) for d in self._DTYPES))
        p = np.concatenate(pos) - len(self._base[0])
        return (np.concatenate(rows), *(b[p] for b in self._buf))

    def clear_pending(self) -> None:
        """Forget which events are pending (they are all in the matrix now)."""
        self._pending.clear()


class Recommender:
    """A recommender for users and items from interaction events.

    Parameters
    ----------
    model
        ``"auto"`` (tune on a time split of the training events), or a family:
        ``"als"`` (implicit ALS), ``"bpr"``, ``"mf"`` (biased MF for ratings),
        ``"popular"``, ``"knn"`` (item-kNN) or ``"ease"``.
    factors, iterations, seed
        Passed to the families that take them (``iterations=None``: each family's own
        default — 15 ALS sweeps, 100 BPR epochs, 20 MF epochs).
    budget
        How many candidates ``model="auto"`` fits.
    feedback
        ``"implicit"`` (values are weights; duplicate events add up) or ``"explicit"``
        (values are ratings; a user's latest rating of an item replaces earlier ones).
    user, item, value, timestamp, type
        Column names in the events. ``value``, ``timestamp`` and ``type`` are optional:
        by default the columns ``"value"``, ``"timestamp"``, ``"type"`` are used when present.
    type_weights
        Weight of each event type (``{"view": 1, "buy": 5}``), multiplied into the value.
    validation_fraction
        Share held out for tuning: each user's latest events and the last part of
        the time span (see :func:`dawn.recommend.tuning.tune`).
    knn_below
        Users with fewer events than this (but at least one) get item-kNN recommendations
        when the main model is a factor model (``als``, ``bpr``, ``mf``).
    half_life
        Half-life of the popularity fallback's recency weighting, in timestamp units
        (default: a quarter of the training time span).
    threads
        numba threads of the factor models (``None``: by the size of the work; ``1``
        makes multi-threaded SGD families reproducible).
    **params
        Hyperparameters of the chosen family (``regularization=``, ``alpha=``, ...).

    Attributes
    ----------
    model_ : object
        The fitted main model; ``family_`` its name and ``params_`` its parameters.
    tuning_ : pandas.DataFrame or None
        Every candidate ``model="auto"`` tried, best first.
    """

    def __init__(self, model: str = "auto", *, factors: int = 64, iterations: int | None = None,
                 seed: int = 0, budget: int = 12, feedback: str = "implicit",
                 user: str = "user", item: str = "item", value: str | None = None,
                 timestamp: str | None = None, type: str | None = None,
                 type_weights: dict[str, float] | None = None,
                 validation_fraction: float = 0.2, knn_below: int = 5,
                 half_life: float | None = None, threads: int | None = None,
                 **params: Any) -> None:
        self.model = model
        self.factors = factors
        self.iterations = iterations
        self.seed = seed
        self.budget = budget
        self.feedback = feedback
        self.user = user
        self.item = item
        self.value = value
        self.timestamp = timestamp
        self.type = type
        self.type_weights = type_weights
        self.validation_fraction = validation_fraction
        self.knn_below = knn_below
        self.half_life = half_life
        self.threads = threads
        self.params = params
        self._lock = threading.RLock()
        self._refit_future: Future | None = None

    # -- configuration -------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters (``**params`` flattened in)."""
        out = {k: getattr(self, k) for k in (
            "model", "factors", "iterations", "seed", "budget", "feedback", "user", "item",
            "value", "timestamp", "type", "type_weights", "validation_fraction", "knn_below",
            "half_life", "threads")}
        out.update(self.params)
        return out

    def event_columns(self) -> dict[str, Any]:
        """Keyword arguments of :func:`~dawn.recommend.events.read_events` for this recommender."""
        return {"user": self.user, "item": self.item, "value": self.value,
                "timestamp": self.timestamp, "type": self.type,
                "type_weights": self.type_weights}

    def _check_params(self) -> None:
        if self.feedback not in ("implicit", "explicit"):
            raise ConfigError(f"feedback must be 'implicit' or 'explicit', got "
                              f"{self.feedback!r}.")
        fams = families()
        if self.model != "auto" and self.model not in fams:
            from dawn.errors import close_matches

            raise ConfigError(f"unknown model {self.model!r}; use 'auto' or one of "
                              f"{sorted(fams)}.{close_matches(str(self.model), sorted(fams))}")
        for name in ("factors", "iterations", "budget", "knn_below"):
            v = getattr(self, name)
            if v is None and name == "iterations":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}.")
        if self.model == "auto" and self.params:
            raise ConfigError(f"hyperparameters {sorted(self.params)} need a model family; "
                              "pass model='als' (or another family) with them, or leave them "
                              "out and let model='auto' tune them.")
        if self.half_life is not None and not float(self.half_life) > 0:
            raise ConfigError(f"half_life must be positive, got {self.half_life!r}.")

    # -- fitting -------------------------------------------------------------------
    def fit(self, events: Any) -> Recommender:
        """Fit on ``events`` (a table with user, item and optional value/timestamp/type)."""
        self._check_params()
        ev = read_events(events, **self.event_columns())
        users, items = IdIndex(), IdIndex()
        u = users.add(ev.users)
        i = items.add(ev.items)
        has_time = ev.timestamps is not None
        t = ev.timestamps if has_time else np.arange(len(ev), dtype=np.float64)
        log = _Log(u, i, ev.values, t)
        state = {"users": users, "items": items, "log": log, "has_time": has_time}
        fitted = self._train(state, tune_now=self.model == "auto")
        with self._lock:
            self.__dict__.update(fitted)
        return self

    def _train(self, state: dict[str, Any], *, tune_now: bool,
               family: str | None = None, params: dict[str, Any] | None = None,
               warm: Any = None) -> dict[str, Any]:
        """Fit every model on ``state``'s log; return the attributes to swap in."""
        users, items, log = state["users"], state["items"], state["log"]
        shape = (len(users), len(items))
        u, i, v, t = log.arrays()
        explicit = self.feedback == "explicit"
        defaults = {"factors": self.factors, "seed": self.seed}
        if self.iterations is not None:
            defaults["iterations"] = self.iterations
        if self.threads is not None:
            defaults["threads"] = self.threads
        tuning = getattr(self, "tuning_", None)
        if tune_now:
            try:
                result = tune(u, i, v, t, shape, explicit=explicit, budget=int(self.budget),
                              seed=self.seed, fraction=self.validation_fraction,
                              defaults=defaults)
                family, params, tuning = result.family, result.params, result.table
            except NoValidationError as exc:
                import warnings

                from dawn.errors import DawnWarning

                family, params, tuning = _KNN, {}, None
                warnings.warn(f"model='auto' could not tune: {exc} Using item-kNN, which "
                              "needs no tuning; refit or retune() when there are more events.",
                              DawnWarning, stacklevel=3)
        elif family is None:
            family, params = self.model, dict(self.params)
        R = interaction_matrix(u, i, v, shape, last_wins=explicit, order=t)
        pairs, age = recency(u, i, t, shape)
        if family == _POPULAR and "half_life" not in (params or {}):
            params = {**(params or {}), "half_life": self._half_life(t)}
        if (warm is not None and warm.name == family and family in FACTOR_FAMILIES
                and _takes(warm.fit, "warm_start")):
            main = warm.fit(R, warm_start=True)  # continue from the current factors
        else:
            main = fit_model(make_model(family, params, defaults=defaults), R, pairs, age)
        popular = main if family == _POPULAR else fit_model(
            make_model(_POPULAR, {"half_life": self._half_life(t)}), R, pairs, age)
        knn = main if family == _KNN else make_model(_KNN).fit(R)
        return {"model_": main, "family_": family, "params_": dict(params or {}),
                "popular_": popular, "knn_": knn, "tuning_": tuning,
                "_users": users, "_items": items, "_log": log, "_has_time": state["has_time"],
                "_R": R, "_base_upto": log.n, "_model_users": shape[0],
                "_model_items": shape[1], "_dirty": set(), "_touched": set(),
                "_n_events": log.n}

    def _half_life(self, t: np.ndarray) -> float | None:
        """The popularity fallback's half-life: given, or a quarter of the time span."""
        if self.half_life is not None:
            return float(self.half_life)
        span = float(np.ptp(t)) if len(t) else 0.0
        return span / 4.0 if span > 0 else None

    def partial_fit(self, events: Any) -> Recommender:
        """Add ``events`` now: the next ``recommend`` of their users reflects them.

        New users and users with new events are folded in against the fixed item
        factors; new items join the catalogue (with factors from the users who touched
        them where the model can solve for them). Popularity and item-kNN learn the new
        events at the next :meth:`refit`.
        """
        self._require_fitted()
        ev = read_events(events, **self.event_columns(), missing_ok=True)
        if self.feedback == "explicit" and not ev.has_values:
            raise DataError("explicit feedback needs ratings: the new events have no "
                            f"{self.value or 'value'!r} column.")
        with self._lock:
            n_items_before = len(self._items)
            u = self._users.add(ev.users)
            i = self._items.add(ev.items)
            new_items = len(self._items) - n_items_before
            if new_items:
                for m in {id(x): x for x in (self.model_, self.knn_, self.popular_)}.values():
                    m.add_items(new_items)
            if ev.timestamps is not None:
                t = ev.timestamps
            else:
                t = np.full(len(ev), self._log.t_max)
            self._log.append(u, i, ev.values, t)
            touched = set(np.unique(u).tolist())
            self._dirty |= touched
            self._touched |= touched
            self._n_events += len(ev)
            if new_items:
                self._fold_in_new_items(np.arange(n_items_before, len(self._items)),
                                        u, i, ev.values)
            pending = self._log.n - self._base_upto
            if pending > max(10_000, self._R.nnz // 20):
                self._compact()
        return self

    def _fold_in_new_items(self, new: np.ndarray, u: np.ndarray, i: np.ndarray,
                           v: np.ndarray) -> None:
        """Give new items factors from the users who touched them (factor models only);
        ``u, i, v`` are the batch that brought them (all their events so far)."""
        model = self.model_
        hook = getattr(model, "fold_in_items", None)
        sel = np.flatnonzero(i >= new[0])
        cols = interaction_matrix(i[sel] - new[0], u[sel], v[sel], (len(new), len(self._users)))
        X = getattr(model, "user_factors_", None)
        if X is None or getattr(model, "item_factors_", None) is None:
            return
        touchers = np.unique(cols.indices)
        unknown = touchers >= self._model_users
        if hook is not None and not unknown.any() and not hasattr(model, "confidence"):
            # every user who touched them has learned factors: the model's own item step
            # (ALS is solved below with a cached XᵀX, which is faster per batch)
            hook(new, cols[:, :self._model_users])
            return
        dirty = np.fromiter(self._dirty, np.int64, len(self._dirty))
        fresh = touchers[unknown | np.isin(touchers, dirty)]
        U = np.zeros((len(touchers), X.shape[1]), np.float32)
        stale = np.isin(touchers, fresh)
        U[~stale] = X[touchers[~stale]]
        if stale.any():  # users the model does not know (yet): fold them in first
            U[stale] = model.fold_in(self._history_rows(fresh))
        local = sp.csr_matrix((cols.data, np.searchsorted(touchers, cols.indices), cols.indptr),
                              shape=(cols.shape[0], len(touchers)))
        if hook is not None and hasattr(model, "confidence"):
            # ALS: the exact item least squares in the model's kernel, its XᵀX cached
            hook(new, local, user_factors=U)
            return
        factors = _solve_items(model, local, U, self._user_gram(model))
        if hasattr(model, "set_item_factors"):  # keeps the model's caches (ALS: YᵀY) in step
            model.set_item_factors(new, factors)
        else:
            model.item_factors_[new] = factors
            invalidate = getattr(model, "_invalidate", None)
            if invalidate is not None:
                invalidate()

    def _user_gram(self, model: Any) -> np.ndarray:
        """``XᵀX`` of the model's learned user factors (cached per model)."""
        cached = getattr(self, "_gram_cache", None)
        if cached is None or cached[0] is not model:
            X = model.user_factors_.astype(np.float64)
            cached = (model, X.T @ X)
            self._gram_cache = cached
        return cached[1]

    def _compact(self) -> None:
        """Rebuild the interaction matrix from the whole log (under the lock)."""
        u, i, v, t = self._log.arrays()
        shape = (len(self._users), len(self._items))
        self._R = interaction_matrix(u, i, v, shape, last_wins=self.feedback == "explicit",
                                     order=t)
        self._base_upto = self._log.n
        self._log.clear_pending()

    def refit(self, *, background: bool = False) -> Future:
        """Retrain every model on all events so far (warm-started where a family can).

        With ``background=True`` training runs in a thread while the current models keep
        serving, and the new ones are swapped in at once when done; events added in the
        meantime are kept (their users stay folded-in). Returns a
        :class:`concurrent.futures.Future` resolving to this recommender (already done when
        ``background=False``). A refit already running is returned instead of a new one.
        """
        return self._retrain(tune_now=False, background=background)

    def retune(self, *, background: bool = False) -> Future:
        """Re-run the model search on all events so far, then refit (see :meth:`refit`).

        Call it when monitoring says recommendation quality dropped.
        """
        return self._retrain(tune_now=True, background=background)

    def _retrain(self, *, tune_now: bool, background: bool) -> Future:
        self._require_fitted()
        with self._lock:
            if self._refit_future is not None and not self._refit_future.done():
                return self._refit_future
            self._compact()
            u, i, v, t = self._log.arrays()
            snapshot = {"users": _FrozenLen(self._users), "items": _FrozenLen(self._items),
                        "log": _Log(u, i, v, t), "has_time": self._has_time}
            self._touched = set()
            future: Future = Future()
            self._refit_future = future
            family, params = self.family_, dict(self.params_)
            warm = None if tune_now else _copy_model(self.model_)

        def work() -> None:
            try:
                fitted = self._train(snapshot, tune_now=tune_now, family=family,
                                     params=params, warm=warm)
                self._swap(fitted)
                future.set_result(self)
            except BaseException as exc:  # reported through the future
                future.set_exception(exc)

        if background:
            threading.Thread(target=work, name="dawn-recommender-refit", daemon=True).start()
        else:
            work()
        return future

    def _swap(self, fitted: dict[str, Any]) -> None:
        with self._lock:
            extra = len(self._items) - fitted["_model_items"]
            if extra:
                for m in {id(x): x for x in (fitted["model_"], fitted["knn_"],
                                             fitted["popular_"])}.values():
                    m.add_items(extra)
            for key in ("model_", "family_", "params_", "popular_", "knn_", "tuning_",
                        "_model_users", "_model_items"):
                setattr(self, key, fitted[key])
            self._dirty = set(self._touched)
            self._compact()

    # -- recommending --------------------------------------------------------------
    def recommend(self, user: Any, n: int = 10, *, exclude_seen: bool = True,
                  exclude: Iterable[Any] | None = None, only: Iterable[Any] | None = None
                  ) -> list[Any]:
        """The ``n`` best items for ``user`` (raw item ids, best first).

        Parameters
        ----------
        user
            A user id; an unknown user gets the popularity fallback.
        n
            How many items (fewer when not enough items are eligible).
        exclude_seen
            Leave out items the user already interacted with.
        exclude, only
            Leave out these items / recommend only among these (unknown ids are ignored).
        """
        return self.recommend_lists([user], n, exclude_seen=exclude_seen, exclude=exclude,
                                    only=only)[0]

    def recommend_lists(self, users: Iterable[Any], n: int = 10, *, exclude_seen: bool = True,
                        exclude: Iterable[Any] | None = None,
                        only: Iterable[Any] | None = None) -> list[list[Any]]:
        """One list of item ids per user (see :meth:`recommend`)."""
        items, _, _ = self._rank(self._user_index(users), n, exclude_seen, exclude, only)
        ids = self._items.ids
        return [[ids[j] for j in row if j >= 0] for row in items.tolist()]

    def recommend_many(self, users: Iterable[Any], n: int = 10, *, exclude_seen: bool = True,
                       exclude: Iterable[Any] | None = None,
                       only: Iterable[Any] | None = None) -> Any:
        """Recommendations for many users as a ``pandas.DataFrame``.

        One row per (user, rank) with columns ``user``, ``rank`` (1 = best), ``item``,
        ``score`` and ``source`` (``"popular"``, ``"knn"`` or the main family).
        """
        import pandas as pd

        idx = self._user_index(users)
        users = list(users)
        items, scores, sources = self._rank(idx, n, exclude_seen, exclude, only)
        ok = items >= 0
        rows, ranks = np.nonzero(ok)
        ids = np.asarray([*self._items.ids, None], dtype=object)
        user_arr = np.asarray([*users, None], dtype=object)[:-1]
        return pd.DataFrame({"user": user_arr[rows], "rank": ranks + 1,
                             "item": ids[items[ok]], "score": scores[ok].astype(np.float64),
                             "source": np.asarray(sources, dtype=object)[rows]})

    def similar_items(self, item: Any, n: int = 10) -> list[Any]:
        """The ``n`` items most similar to ``item`` (the main model's, or item-kNN's)."""
        self._require_fitted()
        n = _check_n(n)
        j = self._items.get(item)
        if j < 0:
            from dawn.errors import close_matches

            raise DataError(f"unknown item {item!r}: it is in no event; add events with "
                            f"partial_fit first.{close_matches(str(item), self._str_ids())}")
        with self._lock:
            model = self.model_
            folded = getattr(model, "item_factors_", None) is not None
            if self.family_ == _POPULAR or (j >= self._model_items and not folded):
                model = self.knn_
            got = model.similar_items(np.asarray([j], dtype=np.int64), n)
            if got is None:
                got = self.knn_.similar_items(np.asarray([j], dtype=np.int64), n)
        found = np.asarray(got[0]).reshape(-1)
        ids = self._items.ids
        return [ids[x] for x in found.tolist() if 0 <= x < len(ids) and x != j][:n]

    def explain_source(self, user: Any) -> str:
        """Which rung of the cold-start ladder serves ``user``: ``"popular"``, ``"knn"`` or
        the main family (``"als"``, ``"mf"``, ...)."""
        self._require_fitted()
        idx = self._user_index([user])
        with self._lock:
            counts = np.diff(self._history_rows(idx).indptr)
            return self._sources(counts)[0]

    # -- internals: ranking ----------------------------------------------------------
    def _user_index(self, users: Iterable[Any]) -> np.ndarray:
        self._require_fitted()
        if isinstance(users, (str, bytes)):
            raise ConfigError("users must be a list of user ids; for one user call "
                              "recommend(user).")
        return self._users.lookup(list(users))

    def _sources(self, counts: np.ndarray) -> list[str]:
        out = np.full(len(counts), self.family_, dtype=object)
        ladder = self.family_ in FACTOR_FAMILIES
        out[counts == 0] = _POPULAR
        if ladder:
            out[(counts > 0) & (counts < self.knn_below)] = _KNN
        return out.tolist()

    def _rank(self, idx: np.ndarray, n: int, exclude_seen: bool, exclude: Any, only: Any
              ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        n = _check_n(n)
        with self._lock:
            n_items = len(self._items)
            allowed = None
            if exclude is not None or only is not None:
                allowed = np.ones(n_items, bool) if only is None else np.zeros(n_items, bool)
                if only is not None:
                    j = self._items.lookup(list(only))
                    allowed[j[j >= 0]] = True
                if exclude is not None:
                    j = self._items.lookup(list(exclude))
                    allowed[j[j >= 0]] = False
            items = np.full((len(idx), n), -1, np.int64)
            scores = np.full((len(idx), n), -np.inf, np.float32)
            sources: list[str] = []
            for a in range(0, len(idx), BLOCK):
                block = idx[a:a + BLOCK]
                hist = self._history_rows(block)
                src = np.asarray(self._sources(np.diff(hist.indptr)), dtype=object)
                sources.extend(src.tolist())
                s = np.empty((len(block), n_items), np.float32)
                for name in np.unique(src).tolist():
                    rows = np.flatnonzero(src == name)
                    s[rows] = self._score(name, hist[rows], block[rows])
                ex = hist if exclude_seen else None
                items[a:a + BLOCK], scores[a:a + BLOCK] = top_k(s, n, exclude=ex,
                                                                allowed=allowed)
        return items, scores, sources

    def _score(self, source: str, hist: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        if source == _POPULAR and self.family_ != _POPULAR:
            return self.popular_.score(hist, None)
        if source == _KNN and self.family_ != _KNN:
            return self.knn_.score(hist, None)
        known = (users >= 0) & (users < self._model_users)
        if self._dirty:
            known &= ~np.isin(users, np.fromiter(self._dirty, np.int64, len(self._dirty)))
        return self.model_.score(hist, np.where(known, users, -1))

    def _history_rows(self, idx: np.ndarray) -> sp.csr_matrix:
        """The interaction rows of users ``idx`` (``-1`` → empty), including pending events."""
        n_items = len(self._items)
        R = self._R
        nb = R.shape[0]
        ok = (idx >= 0) & (idx < nb)
        if ok.any():
            sub = R[np.where(ok, idx, 0)]
            lengths = np.where(ok, np.diff(sub.indptr), 0)
            keep = np.repeat(ok, np.diff(sub.indptr))
            data, indices = sub.data[keep], sub.indices[keep]
        else:
            lengths = np.zeros(len(idx), np.int64)
            data, indices = np.zeros(0, np.float32), np.zeros(0, np.int32)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        rows = sp.csr_matrix((data, indices, indptr), shape=(len(idx), n_items))
        if self._log.n > self._base_upto:
            rows = self._add_pending(rows, idx)
        return rows

    def _add_pending(self, rows: sp.csr_matrix, idx: np.ndarray) -> sp.csr_matrix:
        r, _, i, v, t = self._log.pending(idx)
        if not len(r):
            return rows
        explicit = self.feedback == "explicit"
        D = interaction_matrix(r, i, v, rows.shape, last_wins=explicit, order=t)
        if rows.nnz == 0:  # users known only from their pending events (new users)
            return D
        if explicit:
            pattern = (D != 0).astype(np.float32)
            return (rows - rows.multiply(pattern) + D).tocsr()
        return (rows + D).tocsr()

    # -- evaluation helpers (used by dawn.recommend.metrics.evaluate) ---------------------
    def relevant_sets(self, ev: Events, *, include_unknown: bool = False,
                      exclude_seen: bool = True) -> dict[Any, set[Any]]:
        """Per test user, the items of ``ev`` they had not interacted with yet."""
        self._require_fitted()
        idx = self._users.lookup(ev.users)
        keep = np.ones(len(ev), bool) if include_unknown else idx >= 0
        out: dict[Any, set[Any]] = {}
        if exclude_seen and keep.any():
            known = np.flatnonzero(keep & (idx >= 0))
            with self._lock:
                hist = self._history_rows(np.unique(idx[known]))
            uniq = np.unique(idx[known])
            col = self._items.lookup(ev.items[known])
            row = np.searchsorted(uniq, idx[known])
            seen = np.zeros(len(known), bool)
            ok = col >= 0
            seen[ok] = np.asarray(hist[row[ok], col[ok]]).ravel() != 0
            keep[known[seen]] = False
        for user, item in zip(ev.users[keep].tolist(), ev.items[keep].tolist(), strict=True):
            out.setdefault(user, set()).add(item)
        return out

    # -- state -----------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        """Users known so far (including those added by ``partial_fit``)."""
        self._require_fitted()
        return len(self._users)

    @property
    def n_items(self) -> int:
        """Items known so far."""
        self._require_fitted()
        return len(self._items)

    @property
    def n_events(self) -> int:
        """Events seen so far."""
        self._require_fitted()
        return int(self._n_events)

    @property
    def users_(self) -> list[Any]:
        """Known user ids in index order."""
        self._require_fitted()
        return self._users.ids

    @property
    def items_(self) -> list[Any]:
        """Known item ids in index order."""
        self._require_fitted()
        return self._items.ids

    def _require_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("this Recommender is not fitted yet; call fit(events) first "
                                 "(or Recommender.load(project, name)).")

    def _str_ids(self) -> list[str]:
        ids = self._items.ids
        return [str(x) for x in ids[:5000]]

    # -- persistence -----------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: everything needed to rebuild it, no pickle."""
        self._require_fitted()
        with self._lock:
            u, i, v, t = self._log.arrays()
            arrays: dict[str, np.ndarray] = {
                "users": self._users.to_array(), "items": self._items.to_array(),
                "log_user": u, "log_item": i, "log_value": v, "log_time": t,
                "dirty": np.asarray(sorted(self._dirty), dtype=np.int64)}
            parts: dict[str, Any] = {}
            for role, m in (("model", self.model_), ("popular", self.popular_),
                            ("knn", self.knn_)):
                if role != "model" and m is self.model_:
                    parts[role] = {"same_as_model": True}
                    continue
                a, meta = m.to_arrays()
                for k, arr in a.items():
                    arrays[f"{role}.{k}"] = arr
                parts[role] = {"family": m.name, "meta": meta}
            tuning = None
            if self.tuning_ is not None:
                tuning = self.tuning_.to_dict(orient="records")
            meta = {"format": FORMAT, "format_version": FORMAT_VERSION,
                    "params": self.get_params(), "family": self.family_,
                    "family_params": self.params_, "parts": parts, "tuning": tuning,
                    "has_time": self._has_time, "model_users": self._model_users,
                    "model_items": self._model_items, "n_events": self._n_events,
                    "user_kind": self._users.kind, "item_kind": self._items.kind}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Recommender:
        """Rebuild a recommender from :meth:`to_arrays`."""
        if meta.get("format") != FORMAT:
            raise StoreError("these arrays are not a dawn recommender (format "
                             f"{meta.get('format')!r}); save one with Recommender.save.")
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise StoreError("this recommender was saved by a newer dawn; upgrade dawn.")
        params = dict(meta["params"])
        named = {k: params.pop(k) for k in list(params) if k in _INIT_NAMES}
        rec = cls(**named, **params)
        fams = families()
        models: dict[str, Any] = {}
        for role in ("model", "popular", "knn"):
            part = meta["parts"][role]
            if part.get("same_as_model"):
                models[role] = models["model"]
                continue
            prefix = role + "."
            sub = {k[len(prefix):]: a for k, a in arrays.items() if k.startswith(prefix)}
            models[role] = fams[part["family"]].from_arrays(sub, part["meta"])
        users = IdIndex.from_array(arrays["users"])
        items = IdIndex.from_array(arrays["items"])
        users.kind = meta.get("user_kind") or users.kind
        items.kind = meta.get("item_kind") or items.kind
        log = _Log(arrays["log_user"], arrays["log_item"], arrays["log_value"],
                   arrays["log_time"])
        tuning = None
        if meta.get("tuning") is not None:
            import pandas as pd

            tuning = pd.DataFrame(meta["tuning"])
        rec.__dict__.update({
            "model_": models["model"], "popular_": models["popular"], "knn_": models["knn"],
            "family_": meta["family"], "params_": dict(meta.get("family_params") or {}),
            "tuning_": tuning, "_users": users, "_items": items, "_log": log,
            "_has_time": bool(meta.get("has_time")), "_model_users": int(meta["model_users"]),
            "_model_items": int(meta["model_items"]), "_n_events": int(meta["n_events"]),
            "_dirty": set(arrays["dirty"].tolist()), "_touched": set(), "_base_upto": 0,
            "_R": sp.csr_matrix((0, len(items)), dtype=np.float32)})
        rec._compact()
        return rec

    def save(self, project: Any, name: str, *, metrics: dict[str, Any] | None = None,
             promote: bool = True) -> Any:
        """Register this recommender as a new version of ``name`` in ``project``.

        ``project`` is a :class:`dawn.store.Project` or its folder. Returns the
        :class:`~dawn.store.ModelVersion`.
        """
        arrays, meta = self.to_arrays()
        lineage = {"kind": "recommender", "family": self.family_, "events": self.n_events,
                   "users": self.n_users, "items": self.n_items}
        with _project(project) as proj:
            return proj.registry.register_model(name, arrays, meta, lineage=lineage,
                                                metrics=metrics, promote=promote)

    @classmethod
    def load(cls, project: Any, name: str, version: int | str | None = None) -> Recommender:
        """The recommender registered as ``name`` (current version by default)."""
        with _project(project) as proj:
            arrays, meta = proj.registry.load(name, version)
        if meta.get("format") != FORMAT:
            raise StoreError(f"model {name!r} is not a recommender (it was registered by "
                             "another dawn stage); load it with that stage.")
        return cls.from_arrays(arrays, meta)

    def __repr__(self) -> str:
        if not hasattr(self, "model_"):
            return f"Recommender(model={self.model!r})"
        return (f"Recommender({self.family_}, {len(self._users)} users, "
                f"{len(self._items)} items, {self._n_events} events)")


_INIT_NAMES = ("model", "factors", "iterations", "seed", "budget", "feedback", "user", "item",
               "value", "timestamp", "type", "type_weights", "validation_fraction",
               "knn_below", "half_life", "threads")


class _FrozenLen:
    """An id index seen at a fixed size (what a background refit trains on)."""

    def __init__(self, index: IdIndex) -> None:
        self._n = len(index)
        self.index = index

    def __len__(self) -> int:
        return self._n


@contextmanager
def _project(project: Any) -> Iterator[Any]:
    """Open ``project`` (a Project or a folder) for a block; close it only if opened here."""
    from dawn.store import Project

    if isinstance(project, Project):
        yield project
        return
    if not isinstance(project, (str, Path)):
        raise ConfigError(f"project must be a dawn.store.Project or a folder, got "
                          f"{type(project).__name__}.")
    proj = Project.open(project)
    try:
        yield proj
    finally:
        proj.close()


def _solve_items(model: Any, cols: sp.csr_matrix, U: np.ndarray, gram: np.ndarray
                 ) -> np.ndarray:
    """Item factors for new items from the factors ``U`` of the users who touched them
    (``cols``: items × those users): the exact ALS least squares against fixed user
    factors (``gram`` = ``XᵀX`` of all users) for confidence-weighted ALS, else the
    value-weighted mean of the users' factors (a direction those users like)."""
    confidence = getattr(model, "confidence", None)
    if confidence is not None:
        reg = float(getattr(model, "regularization", 0.0) or 0.0)
        X = U.astype(np.float64)
        A0 = gram + reg * np.eye(X.shape[1])
        C = confidence(cols)
        out = np.zeros((cols.shape[0], U.shape[1]), np.float32)
        for r in range(cols.shape[0]):  # one small k × k solve per new item
            a, b = cols.indptr[r], cols.indptr[r + 1]
            Xu = X[cols.indices[a:b]]
            c = np.abs(C.data[a:b]).astype(np.float64)
            p = (C.data[a:b] > 0).astype(np.float64)
            A = A0 + (Xu.T * (c - 1.0)) @ Xu
            out[r] = np.linalg.solve(A, Xu.T @ (c * p))
        return out
    W = cols.copy()
    W.data = np.abs(W.data)
    sums = np.asarray(W.sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    return ((W @ U) / sums[:, None]).astype(np.float32)


def _takes(func: Any, name: str) -> bool:
    import inspect

    return name in inspect.signature(func).parameters


def _copy_model(model: Any) -> Any:
    """An independent copy of a fitted model (through its arrays)."""
    arrays, meta = model.to_arrays()
    return type(model).from_arrays({k: np.array(a, copy=True) for k, a in arrays.items()},
                                   meta)


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"n must be a positive integer, got {n!r}.")
    return int(n)

