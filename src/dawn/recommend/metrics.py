"""Ranking metrics for recommendations: offline (held-out events) and online (clicks).

Offline, each user has a ranked list of recommended items and a set of relevant items
(what they went on to interact with). All metrics use binary relevance and are averaged
over users with at least one relevant item:

- ``precision@k``: relevant items in the top k, divided by k;
- ``recall@k``: relevant items in the top k, divided by the number of relevant items;
- ``ndcg@k``: discounted cumulative gain (gain 1 at rank r counts ``1/log2(r+1)``)
  divided by the best possible for that user;
- ``map@k``: average precision at the ranks of the hits, divided by ``min(k, relevant)``;
- ``hit_rate@k``: share of users with at least one relevant item in the top k;
- ``mrr@k``: mean of ``1/rank`` of the first hit (0 without a hit);
- ``coverage@k``: share of the catalogue that appears in anyone's top k.

>>> m = ranking_metrics([["a", "b", "c"], ["c", "d", "e"]], [{"b"}, {"x"}], k=3,
...                     n_items=10)
>>> {name: round(v, 4) for name, v in m.items()}  # doctest: +NORMALIZE_WHITESPACE
{'precision@3': 0.1667, 'recall@3': 0.5, 'ndcg@3': 0.3155, 'map@3': 0.25,
 'hit_rate@3': 0.5, 'mrr@3': 0.25, 'coverage@3': 0.5, 'users': 2}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from dawn.errors import ConfigError, DataError

__all__ = [
    "OnlineMetrics",
    "ServedLists",
    "evaluate",
    "hit_matrix",
    "index_hits",
    "metrics_from_hits",
    "ranking_metrics",
]


def hit_matrix(recommended: Sequence[Sequence[Any]] | np.ndarray,
               relevant: Sequence[Iterable[Any]], k: int) -> tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray]:
    """``(hits, n_relevant, valid)`` of ranked lists against relevant sets.

    ``hits[u, r]`` is True when user ``u``'s item at rank ``r`` (< k) is relevant; lists
    shorter than ``k`` are padded with misses (``None`` entries, and ``-1`` in an integer
    array, also miss). ``n_relevant[u]`` is the size of user ``u``'s relevant set and
    ``valid[u, r]`` whether rank ``r`` holds an item.
    """
    import pandas as pd

    k = _check_k(k)
    if len(recommended) != len(relevant):
        raise DataError(f"recommended has {len(recommended)} lists but relevant has "
                        f"{len(relevant)} sets; give one relevant set per user.")
    n = len(recommended)
    rel_lists = [list(dict.fromkeys(r)) for r in relevant]
    n_rel = np.fromiter((len(r) for r in rel_lists), dtype=np.int64, count=n)
    rec = _pad(recommended, k)
    flat_rel = [x for r in rel_lists for x in r]
    flat_rec = rec.ravel().tolist()
    codes, uniques = pd.factorize(pd.Series(flat_rel + flat_rec, dtype=object),
                                  use_na_sentinel=True)
    rel_codes = codes[:len(flat_rel)].astype(np.int64)
    rec_codes = codes[len(flat_rel):].astype(np.int64).reshape(n, k)
    valid = rec_codes >= 0
    width = np.int64(len(uniques) + 1)
    rel_keys = np.repeat(np.arange(n, dtype=np.int64), n_rel) * width + rel_codes
    rec_keys = np.arange(n, dtype=np.int64)[:, None] * width + rec_codes
    hits = np.isin(rec_keys, rel_keys) & valid
    return hits, n_rel, valid


def index_hits(items: np.ndarray, relevant: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(hits, n_relevant)`` for top-k item indices (``-1`` padded) against a CSR matrix
    whose row ``u`` marks user ``u``'s relevant items (the fast path used by tuning)."""
    items = np.asarray(items, dtype=np.int64)
    n = items.shape[0]
    rel = relevant.tocsr()
    n_rel = np.diff(rel.indptr).astype(np.int64)
    width = np.int64(rel.shape[1] + 1)
    rows = np.repeat(np.arange(n, dtype=np.int64), n_rel)
    rel_keys = rows * width + rel.indices.astype(np.int64)
    rec_keys = np.arange(n, dtype=np.int64)[:, None] * width + items
    hits = np.isin(rec_keys, rel_keys) & (items >= 0)
    return hits, n_rel


def ranking_metrics(recommended: Sequence[Sequence[Any]] | np.ndarray,
                    relevant: Sequence[Iterable[Any]], k: int = 10, *,
                    n_items: int | None = None) -> dict[str, float]:
    """All offline metrics at ``k`` (see the module docstring) as a dict.

    Parameters
    ----------
    recommended
        One ranked list of item ids per user (best first).
    relevant
        One collection of relevant item ids per user. Users with none are left out.
    k
        Cut-off rank.
    n_items
        Catalogue size for ``coverage@k`` (NaN when not given).
    """
    hits, n_rel, _ = hit_matrix(recommended, relevant, k)
    keep = n_rel > 0
    rec = _pad(recommended, k)[keep]
    shown = len({x for x in rec.ravel().tolist() if x is not None})
    return metrics_from_hits(hits[keep], n_rel[keep], shown=shown, n_items=n_items)


def metrics_from_hits(hits: np.ndarray, n_rel: np.ndarray, *, shown: int = 0,
                      n_items: int | None = None) -> dict[str, float]:
    """The metrics of a ``(users, k)`` hit matrix whose users all have relevant items."""
    k = hits.shape[1]
    out: dict[str, Any] = {}
    if hits.shape[0] == 0:
        for name in ("precision", "recall", "ndcg", "map", "hit_rate", "mrr", "coverage"):
            out[f"{name}@{k}"] = float("nan")
        out["users"] = 0
        return out
    h = hits.astype(np.float64)
    nr = n_rel.astype(np.float64)
    n_hits = h.sum(axis=1)
    ranks = np.arange(1, k + 1, dtype=np.float64)
    discount = 1.0 / np.log2(ranks + 1.0)
    dcg = h @ discount
    ideal = np.cumsum(discount)[np.minimum(nr, k).astype(np.int64) - 1]
    prec_at = np.cumsum(h, axis=1) / ranks
    ap = (prec_at * h).sum(axis=1) / np.minimum(nr, k)
    first = np.where(h.any(axis=1), h.argmax(axis=1) + 1, 0)
    rr = np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)
    out[f"precision@{k}"] = float(np.mean(n_hits / k))
    out[f"recall@{k}"] = float(np.mean(n_hits / nr))
    out[f"ndcg@{k}"] = float(np.mean(dcg / ideal))
    out[f"map@{k}"] = float(np.mean(ap))
    out[f"hit_rate@{k}"] = float(np.mean(n_hits > 0))
    out[f"mrr@{k}"] = float(np.mean(rr))
    out[f"coverage@{k}"] = float(shown / n_items) if n_items else float("nan")
    out["users"] = int(hits.shape[0])
    return out


def evaluate(recommender: Any, test_events: Any, k: int = 10, *,
             include_unknown: bool = False, exclude_seen: bool = True) -> dict[str, float]:
    """Offline metrics of a fitted :class:`~dawn.recommend.Recommender` on later events.

    Each test user's relevant items are the items of their test events that they had not
    interacted with before (those cannot be recommended when ``exclude_seen``). By default
    only users the recommender knows are scored; ``include_unknown=True`` adds the others
    (they get the cold-start fallback).

    Parameters
    ----------
    recommender
        A fitted recommender.
    test_events
        Events in the same columns the recommender was fitted with.
    k
        Cut-off rank.
    """
    from dawn.recommend.events import read_events

    k = _check_k(k)
    ev = read_events(test_events, **recommender.event_columns())
    rel = recommender.relevant_sets(ev, include_unknown=include_unknown,
                                    exclude_seen=exclude_seen)
    users = list(rel)
    if not users:
        raise DataError("none of the test events' users is known to the recommender; pass "
                        "include_unknown=True to score unknown users with the fallback.")
    lists = recommender.recommend_lists(users, n=k, exclude_seen=exclude_seen)
    return ranking_metrics(lists, [rel[u] for u in users], k, n_items=recommender.n_items)


class OnlineMetrics:
    """"Recommended, then clicked": metrics from recommendations and the events after them.

    :meth:`record` a user's recommendation list when it is shown; :meth:`update` with the
    events that follow. An event on an item of the user's latest list is a click (counted
    once per list and item). ``results()`` gives ``lists``, ``impressions`` (items shown),
    ``clicks``, ``ctr`` (clicks / impressions), ``hit_rate`` (lists with a click / lists)
    and ``mrr`` (mean 1/rank of the first click per list).

    >>> om = OnlineMetrics()
    >>> _ = om.record("ann", ["a", "b", "c"]).record("bob", ["a", "d"])
    >>> _ = om.update({"user": ["ann", "ann", "bob"], "item": ["b", "b", "z"]})
    >>> r = om.results(); r["clicks"], r["hit_rate"], r["mrr"]
    (1, 0.5, 0.25)
    """

    def __init__(self, *, user: str = "user", item: str = "item") -> None:
        self.user = user
        self.item = item
        self._lists: dict[Any, dict[Any, int]] = {}   # user -> item -> rank (latest list)
        self._clicked: dict[Any, set[Any]] = {}
        self._n_lists = 0
        self._impressions = 0
        self._clicks = 0
        self._lists_hit = 0
        self._rr_sum = 0.0

    def record(self, user: Any, items: Sequence[Any]) -> OnlineMetrics:
        """Note that ``items`` (best first) were recommended to ``user``; returns self."""
        key = _norm(user)
        self._lists[key] = {_norm(x): r for r, x in enumerate(items, start=1)}
        self._clicked[key] = set()
        self._n_lists += 1
        self._impressions += len(self._lists[key])
        return self

    def update(self, events: Any) -> OnlineMetrics:
        """Count the clicks among ``events`` (a table with user and item columns)."""
        from dawn.recommend.events import read_events

        ev = read_events(events, user=self.user, item=self.item)
        users = ev.users.tolist()
        items = ev.items.tolist()
        for u, i in zip(users, items, strict=True):  # events are few per batch
            shown = self._lists.get(_norm(u))
            if not shown:
                continue
            key, it = _norm(u), _norm(i)
            rank = shown.get(it)
            clicked = self._clicked[key]
            if rank is None or it in clicked:
                continue
            if not clicked:
                self._lists_hit += 1
                self._rr_sum += 1.0 / rank
            clicked.add(it)
            self._clicks += 1
        return self

    def results(self) -> dict[str, float]:
        """The counts and rates so far."""
        lists = self._n_lists
        return {"lists": lists, "impressions": self._impressions, "clicks": self._clicks,
                "ctr": self._clicks / self._impressions if self._impressions else float("nan"),
                "hit_rate": self._lists_hit / lists if lists else float("nan"),
                "mrr": self._rr_sum / lists if lists else float("nan")}


def _norm(x: Any) -> Any:
    """Ids compare as text, so 42 and "42" (from a URL) are the same user."""
    if isinstance(x, (np.integer, np.floating)):
        x = x.item()
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    return str(x)


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}.")
    return int(k)


def _pad(recommended: Sequence[Sequence[Any]] | np.ndarray, k: int) -> np.ndarray:
    """An object array (users, k) of ids, ``None`` where a list is short."""
    if isinstance(recommended, np.ndarray) and recommended.ndim == 2:
        arr = recommended[:, :k]
        out = np.full((arr.shape[0], k), None, dtype=object)
        vals = arr.astype(object)
        if np.issubdtype(arr.dtype, np.integer):
            vals[arr < 0] = None
        out[:, :arr.shape[1]] = vals
        return out
    out = np.full((len(recommended), k), None, dtype=object)
    for r, row in enumerate(recommended):
        for j, x in enumerate(list(row)[:k]):
            out[r, j] = x
    return out


class ServedLists:
    """Bounded online metrics of served recommendation lists, with a quality-drop test.

    Keeps the last ``capacity`` served lists (a ring: memory does not grow with traffic).
    :meth:`record` a list when it is served; :meth:`update` with the events that follow.
    An event is a click when its item is on its user's latest list, it comes at most
    ``attribution_seconds`` after that list was served, and that item was not clicked on
    that list before. :meth:`results` gives the rates over the lists held (the window)
    and running totals since the start.

    :meth:`drop_test` compares the hit rate (share of lists with a click) of the older and
    newer half of the last ``window`` *settled* lists — served at least ``settle_seconds``
    ago, so their clicks had time to come — that were served after the last
    :meth:`reset_baseline`. It reports a drop when each half holds at least ``min_lists``
    lists, the newer hit rate is more than ``min_drop`` (relative) below the older one,
    and a one-sided two-proportion z-test gives ``p < alpha``.

    Parameters
    ----------
    capacity
        Lists kept (the oldest are forgotten first).
    attribution_seconds
        How long after serving a list a click on it counts.
    settle_seconds
        Lists younger than this are left out of the drop test.
    window, min_lists, min_drop, alpha
        The drop rule (see above).
    clock
        Seconds now (``time.time``); tests pass a fake.

    >>> now = [0.0]
    >>> sl = ServedLists(settle_seconds=0, clock=lambda: now[0])
    >>> _ = sl.record("ann", ["a", "b", "c"]).record("bob", ["a", "d"])
    >>> sl.update(["ann", "ann", "bob"], ["b", "b", "z"])
    1
    >>> r = sl.results(); r["hit_rate"], r["precision"], r["clicks"]
    (0.5, 0.2, 1)
    """

    def __init__(self, *, capacity: int = 10_000, attribution_seconds: float = 1800.0,
                 settle_seconds: float = 60.0, window: int = 2000, min_lists: int = 200,
                 min_drop: float = 0.2, alpha: float = 0.01,
                 clock: Any = None) -> None:
        import time

        for name, value, low in (("capacity", capacity, 1), ("window", window, 2),
                                 ("min_lists", min_lists, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < low:
                raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}.")
        if window > capacity:
            raise ConfigError(f"window ({window}) must not exceed capacity ({capacity}); "
                              "raise capacity or lower window.")
        if 2 * min_lists > window:
            raise ConfigError(f"min_lists ({min_lists}) per half needs window >= "
                              f"{2 * min_lists}, got {window}.")
        for name, value, lo, hi in (("min_drop", min_drop, 0.0, 1.0),
                                    ("alpha", alpha, 0.0, 1.0)):
            if not isinstance(value, (int, float)) or not lo <= value < hi:
                raise ConfigError(f"{name} must be a number in [{lo}, {hi}), got {value!r}.")
        for name, value in (("attribution_seconds", attribution_seconds),
                            ("settle_seconds", settle_seconds)):
            if not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"{name} must be a number >= 0, got {value!r}.")
        self.capacity, self.window, self.min_lists = int(capacity), int(window), int(min_lists)
        self.min_drop, self.alpha = float(min_drop), float(alpha)
        self.attribution_seconds = float(attribution_seconds)
        self.settle_seconds = float(settle_seconds)
        self.clock = clock or time.time
        n = self.capacity
        self._seq = np.full(n, -1, dtype=np.int64)
        self._t = np.zeros(n, dtype=np.float64)
        self._shown = np.zeros(n, dtype=np.int64)
        self._clicks = np.zeros(n, dtype=np.int64)
        self._first = np.zeros(n, dtype=np.int64)       # rank of the first click, 0 = none
        self._slot_user: list[Any] = [None] * n
        self._slot_items: list[dict[Any, int] | None] = [None] * n
        self._slot_clicked: list[set[Any] | None] = [None] * n
        self._user_slot: dict[Any, int] = {}
        self._next = 0
        self._baseline = -1
        self._totals = {"lists": 0, "impressions": 0, "clicks": 0, "lists_hit": 0}

    def record(self, user: Any, items: Sequence[Any], now: float | None = None
               ) -> ServedLists:
        """Note that ``items`` (best first) were served to ``user``; returns self."""
        key = _norm(user)
        slot = self._next % self.capacity
        old = self._slot_user[slot]
        if old is not None and self._user_slot.get(old) == slot:
            del self._user_slot[old]
        ranks: dict[Any, int] = {}
        for r, x in enumerate(items, start=1):
            ranks.setdefault(_norm(x), r)
        self._seq[slot] = self._next
        self._t[slot] = self.clock() if now is None else now
        self._shown[slot] = len(ranks)
        self._clicks[slot] = 0
        self._first[slot] = 0
        self._slot_user[slot], self._slot_items[slot] = key, ranks
        self._slot_clicked[slot] = set()
        self._user_slot[key] = slot
        self._next += 1
        self._totals["lists"] += 1
        self._totals["impressions"] += len(ranks)
        return self

    def update(self, users: Sequence[Any], items: Sequence[Any],
               now: float | None = None) -> int:
        """Count the clicks among events ``(users[j], items[j])``; returns how many."""
        now = self.clock() if now is None else now
        counted = 0
        for u, i in zip(users, items, strict=True):  # one dict look-up per event
            slot = self._user_slot.get(_norm(u))
            if slot is None or now - self._t[slot] > self.attribution_seconds:
                continue
            it = _norm(i)
            rank = self._slot_items[slot].get(it)  # type: ignore[union-attr]
            clicked = self._slot_clicked[slot]
            if rank is None or it in clicked:  # type: ignore[operator]
                continue
            clicked.add(it)  # type: ignore[union-attr]
            if self._clicks[slot] == 0:
                self._first[slot] = rank
                self._totals["lists_hit"] += 1
            self._clicks[slot] += 1
            counted += 1
        self._totals["clicks"] += counted
        return counted

    def results(self) -> dict[str, Any]:
        """Rates over the lists held, their time span, and running totals."""
        held = self._seq >= 0
        lists = int(held.sum())
        shown = int(self._shown[held].sum())
        clicks = self._clicks[held]
        first = self._first[held]
        nan = float("nan")
        return {
            "lists": lists, "impressions": shown, "clicks": int(clicks.sum()),
            "hit_rate": float(np.mean(clicks > 0)) if lists else nan,
            "precision": float(clicks.sum() / shown) if shown else nan,
            "mrr": float(np.mean(np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)))
            if lists else nan,
            "window": {"capacity": self.capacity,
                       "since": float(self._t[held].min()) if lists else None,
                       "until": float(self._t[held].max()) if lists else None,
                       "attribution_seconds": self.attribution_seconds},
            "total": dict(self._totals),
        }

    def drop_test(self, now: float | None = None) -> dict[str, Any]:
        """Whether the hit rate dropped over the last ``window`` settled lists."""
        import math

        now = self.clock() if now is None else now
        ok = (self._seq > self._baseline) & (self._t <= now - self.settle_seconds)
        order = (np.arange(self.capacity) + self._next) % self.capacity  # oldest first
        idx = order[ok[order]][-self.window:]
        half = len(idx) // 2
        older, newer = idx[:len(idx) - half], idx[len(idx) - half:]
        n1, n2 = len(older), len(newer)
        h1 = int((self._clicks[older] > 0).sum())
        h2 = int((self._clicks[newer] > 0).sum())
        p1 = h1 / n1 if n1 else float("nan")
        p2 = h2 / n2 if n2 else float("nan")
        p_value, drop = float("nan"), float("nan")
        if n1 and n2:
            drop = (p1 - p2) / p1 if p1 > 0 else 0.0
            pooled = (h1 + h2) / (n1 + n2)
            se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
            z = (p1 - p2) / se if se > 0 else 0.0
            p_value = 0.5 * math.erfc(z / math.sqrt(2.0))
        dropped = bool(n2 >= self.min_lists and n1 >= self.min_lists
                       and drop > self.min_drop and p_value < self.alpha)
        return {"earlier": {"lists": n1, "hit_rate": p1},
                "recent": {"lists": n2, "hit_rate": p2},
                "relative_drop": drop, "p_value": p_value, "dropped": dropped,
                "rule": (f"each half >= {self.min_lists} settled lists of the last "
                         f"{self.window}, relative drop > {self.min_drop:g} and one-sided "
                         f"two-proportion z-test p < {self.alpha:g}")}

    def reset_baseline(self) -> None:
        """Leave the lists served so far out of later drop tests (after acting on one)."""
        self._baseline = self._next - 1
