"""HTTP routes of recommenders: events in, fresh recommendations out.

``POST /v1/recommenders/{name}/events`` with ``{"events": [{"user": ..., "item": ...,
"value"?: ..., "timestamp"?: ..., "type"?: ...}]}`` adds the events at once
(:meth:`~dawn.recommend.Recommender.partial_fit`) and returns counts;
``GET /v1/recommenders/{name}/users/{user}?n=10`` returns ``{"items": [...], "source":
"als" | "knn" | "popular" | ...}`` — an unknown user gets the cold-start fallback, not a
404. An unknown recommender is a 404 naming the known ones; malformed events a 422.

Online quality: every served list is recorded (per recommender, the last ``capacity``
lists only) in a :class:`~dawn.recommend.metrics.ServedLists`; each events batch counts
clicks on recently served items, and ``GET /v1/recommenders/{name}/metrics`` returns the
hit rate, precision and MRR of the served lists, their counts and window, running totals,
the latest drop test and the retune status. When the drop test fires (each half of the
last ``drop_window`` settled lists holds ``min_lists``, the recent hit rate is more than
``min_drop`` relatively below the earlier one, and a one-sided two-proportion z-test gives
``p < alpha``), the service records ``online_hit_rate`` in the project's history and starts
``recommender.retune(background=True)`` — at most one at a time; the recommender swaps the
new model in itself, and only lists served after that count for the next test.

Recommenders are loaded from the project's registry on first use and kept in memory
(reloaded when a new version is promoted). Accepted events are made durable before the
response: each batch is appended as an artefact under
``.dawn/recommend/<name>/v<version>/`` and replayed, in order, when that version is loaded
again (after a restart). Registering a new version (``dawn recommend fit``) starts afresh.

>>> import tempfile
>>> from fastapi import FastAPI
>>> app = FastAPI()
>>> app.include_router(recommend_router(tempfile.mkdtemp(), lambda: None))
>>> sorted(p for p in app.openapi()["paths"])  # doctest: +NORMALIZE_WHITESPACE
['/v1/recommenders/{name}/events', '/v1/recommenders/{name}/metrics',
 '/v1/recommenders/{name}/users/{user}']
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np

from dawn.errors import ArtefactNotFoundError, ConfigError, DataError, DawnError, close_matches

try:  # the 'serve' extra
    from fastapi import APIRouter, Depends, HTTPException, Query
    from pydantic import BaseModel, Field
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("dawn.serve needs FastAPI and uvicorn: pip install 'dawn[serve]'"
                      ) from exc

__all__ = ["RecommenderService", "recommend_router"]

FORMAT = "dawn-recommender"


class Event(BaseModel):
    """One interaction."""

    user: str | int = Field(description="The user's id.")
    item: str | int = Field(description="The item's id.")
    value: float | None = Field(None, description="A rating or weight (default 1).")
    timestamp: float | str | None = Field(None, description="Seconds, or an ISO date.")
    type: str | None = Field(None, description="The event's type (click, buy, ...).")


class EventsRequest(BaseModel):
    """A batch of events."""

    events: list[Event] = Field(min_length=1, max_length=100_000)


class EventsResponse(BaseModel):
    """What a batch of events changed."""

    accepted: int
    new_users: int
    new_items: int
    users: int
    items: int


class RecommendResponse(BaseModel):
    """Recommendations for one user."""

    user: str
    items: list[str | int]
    source: str


class DropCheck(BaseModel):
    """The latest drop test of the online hit rate."""

    earlier: dict[str, float | int | None]
    recent: dict[str, float | int | None]
    relative_drop: float | None
    p_value: float | None
    dropped: bool
    rule: str


class MetricsResponse(BaseModel):
    """Online quality of a recommender's served lists (see the module docstring)."""

    name: str
    lists: int = Field(description="Served lists held in the window.")
    impressions: int = Field(description="Items shown on those lists.")
    clicks: int = Field(description="Clicks on them (once per list and item).")
    hit_rate: float | None = Field(description="Share of lists with a click.")
    precision: float | None = Field(description="Clicks / items shown.")
    mrr: float | None = Field(description="Mean 1/rank of each list's first click.")
    window: dict[str, Any]
    total: dict[str, int] = Field(description="Counts since the service started.")
    drop: DropCheck
    retune: dict[str, Any] = Field(description="Retunes started, running, last error.")


class RecommenderService:
    """Recommenders of a project kept in memory, with durable event batches and online
    quality monitoring that re-tunes a recommender when its hit rate drops.

    Parameters
    ----------
    project : path or Project
        The project whose registry holds the recommenders.
    capacity
        Served lists kept per recommender for the online metrics (bounded memory).
    attribution_seconds
        How long after serving a list a click on one of its items counts (30 min).
    settle_seconds
        Lists served more recently than this are left out of the drop test (their clicks
        may still come).
    drop_window
        The drop test compares the older and newer half of the last ``drop_window``
        settled lists.
    min_lists
        Each half must hold at least this many lists (no trigger on little traffic).
    min_drop
        The newer hit rate must be more than this fraction below the older one ...
    alpha
        ... and a one-sided two-proportion z-test must give ``p < alpha``.
    auto_retune
        Start ``retune(background=True)`` on a drop (it is recorded in the history
        either way).
    clock
        Seconds now (``time.time``); tests pass a fake.
    """

    def __init__(self, project: Any, *, capacity: int = 10_000,
                 attribution_seconds: float = 1800.0, settle_seconds: float = 60.0,
                 drop_window: int = 2000, min_lists: int = 200, min_drop: float = 0.2,
                 alpha: float = 0.01, auto_retune: bool = True,
                 clock: Callable[[], float] | None = None) -> None:
        from dawn.recommend.metrics import ServedLists
        from dawn.store import Project

        self._online_options = {"capacity": capacity, "attribution_seconds": attribution_seconds,
                                "settle_seconds": settle_seconds, "window": drop_window,
                                "min_lists": min_lists, "min_drop": min_drop, "alpha": alpha,
                                "clock": clock or time.time}
        ServedLists(**self._online_options)  # check the options before anything is served
        self.auto_retune = bool(auto_retune)
        self.project = project if isinstance(project, Project) else Project.open(project)
        self._loaded: dict[str, tuple[int, Any]] = {}
        self._online: dict[str, Any] = {}
        self._retunes: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()

    def names(self) -> list[str]:
        """Registered recommenders (models whose current version is a recommender)."""
        out = []
        reg = self.project.registry
        for name in reg.list_models():
            try:
                if reg.get(name).meta.get("format") == FORMAT:
                    out.append(name)
            except ArtefactNotFoundError:
                continue
        return out

    def get(self, name: str) -> Any:
        """The recommender ``name`` (current version, with its saved events replayed)."""
        from dawn.recommend import Recommender

        reg = self.project.registry
        try:
            mv = reg.get(name)
        except ArtefactNotFoundError:
            raise self._unknown(name) from None
        if mv.meta.get("format") != FORMAT:
            raise self._unknown(name, not_recommender=True)
        with self._lock:
            cached = self._loaded.get(name)
            if cached is not None and cached[0] == mv.version:
                return cached[1]
            arrays, meta = mv.load()
            rec = Recommender.from_arrays(arrays, meta)
            for path in self._batches(name, mv.version):
                rec.partial_fit(_batch_events(path, rec))
            self._loaded[name] = (mv.version, rec)
            self._online.pop(name, None)  # a new version starts its own online metrics
            return rec

    def add_events(self, name: str, events: list[dict[str, Any]]) -> dict[str, int]:
        """Fold ``events`` into recommender ``name`` and persist them; return counts."""
        from dawn.store import save_artefact

        rec = self.get(name)
        version = self._loaded[name][0]
        table = _events_table(events, rec)
        with self._lock:
            users, items = rec.n_users, rec.n_items
            rec.partial_fit(table)
            folder = self._folder(name, version)
            stamp = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
            save_artefact(folder / f"events-{stamp}", _to_arrays(table),
                          {"count": len(events), "columns": list(table)})
            online = self.online(name)
            online.update([e["user"] for e in events], [e["item"] for e in events])
            self._check_drop(name, version, rec, online)
            return {"accepted": len(events), "new_users": rec.n_users - users,
                    "new_items": rec.n_items - items, "users": rec.n_users,
                    "items": rec.n_items}

    def recommend(self, name: str, user: str, n: int = 10) -> dict[str, Any]:
        """``{"user", "items", "source"}`` for ``user`` (unknown users get the fallback)."""
        rec = self.get(name)
        with self._lock:
            items = rec.recommend(user, n=n)
            source = rec.explain_source(user)
            self.online(name).record(user, items)
        return {"user": user, "items": items, "source": source}

    def online(self, name: str) -> Any:
        """The :class:`~dawn.recommend.metrics.ServedLists` of recommender ``name``."""
        from dawn.recommend.metrics import ServedLists

        with self._lock:
            online = self._online.get(name)
            if online is None:
                online = self._online[name] = ServedLists(**self._online_options)
            return online

    def metrics(self, name: str) -> dict[str, Any]:
        """Online metrics of ``name``'s served lists, the latest drop test and retunes."""
        self.get(name)  # 404 for an unknown recommender
        with self._lock:
            online = self.online(name)
            out = {"name": name, **online.results(), "drop": online.drop_test(),
                   "retune": self._retune_status(name)}
        return _finite(out)

    def close(self) -> None:
        self.project.close()

    # -- internals -------------------------------------------------------------------
    def _check_drop(self, name: str, version: int, rec: Any, online: Any) -> None:
        """On a drop: a history point, then one background retune (under the lock)."""
        test = online.drop_test()
        if not test["dropped"]:
            return
        state = self._retunes.setdefault(name, {"started": 0, "future": None,
                                                "last_error": None, "last_started": None})
        running = state["future"] is not None and not state["future"].done()
        if running:
            return  # one at a time; this drop is judged again after it
        online.reset_baseline()
        self.project.history.record(
            name, {"online_hit_rate": test["recent"]["hit_rate"],
                   "online_hit_rate_before": test["earlier"]["hit_rate"]},
            version=version,
            details={"event": "online_quality_drop", "lists": [test["earlier"]["lists"],
                                                                test["recent"]["lists"]],
                     "p_value": test["p_value"], "rule": test["rule"],
                     "action": "retune" if self.auto_retune else "none"})
        if not self.auto_retune:
            return
        future = rec.retune(background=True)
        state.update(future=future, started=state["started"] + 1,
                     last_started=self._online_options["clock"]())

        def done(fut: Any) -> None:
            exc = fut.exception()
            state["last_error"] = None if exc is None else f"{type(exc).__name__}: {exc}"

        future.add_done_callback(done)

    def _retune_status(self, name: str) -> dict[str, Any]:
        state = self._retunes.get(name)
        if state is None:
            return {"started": 0, "running": False, "last_started": None, "last_error": None}
        fut = state["future"]
        return {"started": state["started"], "running": fut is not None and not fut.done(),
                "last_started": state["last_started"], "last_error": state["last_error"]}

    def _unknown(self, name: str, not_recommender: bool = False) -> ArtefactNotFoundError:
        known = self.names()
        what = (f"model {name!r} is not a recommender" if not_recommender else
                f"no recommender {name!r}")
        hint = (f"recommenders are {known}.{close_matches(name, known)}" if known else
                "there are none yet; fit one with `dawn recommend fit EVENTS.csv --name NAME`.")
        return ArtefactNotFoundError(f"{what}; {hint}")

    def _folder(self, name: str, version: int) -> Path:
        return self.project.state_dir / "recommend" / name / f"v{version}"

    def _batches(self, name: str, version: int) -> list[Path]:
        folder = self._folder(name, version)
        if not folder.is_dir():
            return []
        return sorted(p.with_suffix("") for p in folder.glob("events-*.json"))


def _events_table(events: list[dict[str, Any]], rec: Any) -> dict[str, list[Any]]:
    """Columns in the recommender's own names; ids as text (the index maps them back)."""
    cols = rec.event_columns()
    table: dict[str, list[Any]] = {
        cols["user"]: [str(e["user"]) for e in events],
        cols["item"]: [str(e["item"]) for e in events]}
    values = [e.get("value") for e in events]
    if any(v is not None for v in values):
        table[cols["value"] or "value"] = [1.0 if v is None else float(v) for v in values]
    stamps = [e.get("timestamp") for e in events]
    if any(s is not None for s in stamps):
        if any(s is None for s in stamps):
            raise DataError("some events have a timestamp and some do not; give every event "
                            "of a batch a timestamp, or none.")
        if all(isinstance(s, (int, float)) for s in stamps):
            table[cols["timestamp"] or "timestamp"] = [float(s) for s in stamps]
        else:
            table[cols["timestamp"] or "timestamp"] = [str(s) for s in stamps]
    types = [e.get("type") for e in events]
    if any(t is not None for t in types):
        table[cols["type"] or "type"] = ["" if t is None else str(t) for t in types]
    return table


def _finite(obj: Any) -> Any:
    """NaN -> None, recursively (JSON has no NaN)."""
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    return obj


def _to_arrays(table: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    out = {}
    for i, values in enumerate(table.values()):
        arr = np.asarray(values)
        out[f"c{i}"] = arr.astype(str) if arr.dtype == object else arr
    return out


def _batch_events(path: Path, rec: Any) -> dict[str, Any]:
    from dawn.store import load_artefact

    arrays, meta = load_artefact(path)
    names = meta.get("columns")
    arrays = {k: arrays[k] for k in sorted(arrays, key=lambda k: int(k[1:]))}
    if names is None:
        raise DataError(f"saved event batch {str(path)!r} has no column names.")
    return {n: a.tolist() for n, a in zip(names, arrays.values(), strict=True)}


def recommend_router(project_path: str | Path | Any, require_key: Callable[..., Any], *,
                     service: RecommenderService | None = None) -> APIRouter:
    """The recommender routes for ``project_path``, each guarded by ``require_key``.

    Pass ``service`` (a :class:`RecommenderService` of that project) to choose the online
    monitoring thresholds; by default one with the documented defaults is made.
    """
    service = service if service is not None else RecommenderService(project_path)
    router = APIRouter(prefix="/v1/recommenders", dependencies=[Depends(require_key)],
                       tags=["recommend"])

    def call(func: Callable[..., Any], *args: Any) -> Any:
        try:
            return func(*args)
        except ArtefactNotFoundError as exc:
            raise HTTPException(404, detail=str(exc)) from None
        except (DataError, ConfigError) as exc:
            raise HTTPException(422, detail=str(exc)) from None
        except DawnError as exc:
            raise HTTPException(503, detail=str(exc)) from None

    @router.post("/{name}/events", response_model=EventsResponse)
    def post_events(name: str, body: EventsRequest) -> dict[str, int]:
        """Add interaction events; their users' next recommendations reflect them."""
        return call(service.add_events, name, [e.model_dump() for e in body.events])

    @router.get("/{name}/users/{user}", response_model=RecommendResponse)
    def get_recommendations(name: str, user: str,
                            n: Annotated[int, Query(ge=1, le=1000)] = 10) -> dict[str, Any]:
        """The ``n`` best items for ``user`` and which model served them."""
        return call(service.recommend, name, user, n)

    @router.get("/{name}/metrics", response_model=MetricsResponse)
    def get_metrics(name: str) -> dict[str, Any]:
        """Online hit rate / precision of the served lists, counts, window, drop test."""
        return call(service.metrics, name)

    router.service = service  # type: ignore[attr-defined]  # for tests and shutdown
    return router
