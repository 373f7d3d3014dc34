"""Monitoring history and command runs: what was measured, and what was run, when.

``History`` keeps time series of named metrics per model (drift scores, coverage,
estimated accuracy, ...); ``Runs`` keeps one row per command run (label, train, monitor,
...) with its parameters and a JSON summary.

>>> import tempfile
>>> from dawn.store import Project
>>> with Project.init(tempfile.mkdtemp()) as project:
...     project.history.record("spam", {"coverage": 0.91, "psi_text_len": 0.02}, version=1)
...     df = project.history.query("spam", metric="coverage")
...     df["value"].tolist()
[0.91]
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dawn.errors import ArtefactNotFoundError, StoreError
from dawn.store.artefacts import dumps
from dawn.store.schema import Database, iso, utcnow

__all__ = ["History", "Run", "Runs"]


def _ts(value: Any, what: str = "ts") -> str:
    """A time given as datetime, ISO text or Unix seconds, as the store's UTC text."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return iso(datetime.fromtimestamp(float(value), UTC))
    if isinstance(value, str):
        try:
            return iso(datetime.fromisoformat(value))
        except ValueError:
            pass
    raise StoreError(f"{what}={value!r} is not a time; pass a datetime, ISO-8601 text such as "
                     "'2024-05-01T12:00:00' (UTC unless it has an offset) or Unix seconds.")


class History:
    """Time series of monitoring metrics (``Project(...).history``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, model: str, values: Mapping[str, float], *, version: int | None = None,
               ts: Any = None, details: Mapping[str, Any] | None = None) -> None:
        """Append one point per metric in ``values`` (one transaction), at ``ts`` (now).

        ``details`` (JSON-able) is kept with every point recorded by this call.
        """
        if not isinstance(model, str) or not model:
            raise StoreError(f"model must be non-empty text, got {model!r}.")
        if not isinstance(values, Mapping) or not values:
            raise StoreError("values must be a non-empty dict of metric name → number, got "
                             f"{values!r}.")
        rows = []
        stamp = utcnow() if ts is None else _ts(ts)
        body = dumps(dict(details or {}))
        for metric, value in values.items():
            try:
                number = None if value is None else float(value)
            except (TypeError, ValueError):
                raise StoreError(f"metric {metric!r} has value {value!r}, which is not a "
                                 "number.") from None
            if number is not None and math.isnan(number):
                number = None
            rows.append((model, version, stamp, str(metric), number, body))
        with self._db.transaction() as conn:
            conn.executemany("INSERT INTO monitor_history (model, version, ts, metric, value, "
                             "details) VALUES (?, ?, ?, ?, ?, ?)", rows)

    def query(self, model: str | None = None, *, metric: str | None = None,
              version: int | None = None, since: Any = None, until: Any = None,
              limit: int | None = None):  # -> pandas.DataFrame
        """Recorded points, oldest first, as a DataFrame.

        Columns: ``model``, ``version``, ``ts`` (UTC datetimes), ``metric``, ``value``
        (NaN where none was recorded) and ``details`` (dicts). ``since`` is inclusive,
        ``until`` exclusive; ``limit`` keeps the most recent points.
        """
        import pandas as pd

        clauses, params = [], []
        for col, val in (("model", model), ("metric", metric), ("version", version)):
            if val is not None:
                clauses.append(f"{col} = ?")
                params.append(val)
        if since is not None:
            clauses.append("ts >= ?")
            params.append(_ts(since, "since"))
        if until is not None:
            clauses.append("ts < ?")
            params.append(_ts(until, "until"))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT model, version, ts, metric, value, details, id FROM monitor_history {where}"
        if limit is not None:
            sql = f"SELECT * FROM ({sql} ORDER BY ts DESC, id DESC LIMIT {int(limit)})"
        rows = self._db.query(f"{sql} ORDER BY ts, id", params)
        df = pd.DataFrame({
            "model": pd.Series([r["model"] for r in rows], dtype="str"),
            "version": pd.array([r["version"] for r in rows], dtype="Int64"),
            "ts": pd.to_datetime(pd.Series([r["ts"] for r in rows], dtype="str"), utc=True,
                                 format="ISO8601"),
            "metric": pd.Series([r["metric"] for r in rows], dtype="str"),
            "value": pd.Series([r["value"] for r in rows], dtype="float64"),
            "details": pd.Series([json.loads(r["details"]) for r in rows], dtype=object),
        })
        return df


@dataclass
class Run:
    """One command run (mutable while it runs inside :meth:`Runs.track`)."""

    id: int
    kind: str
    status: str = "running"
    started_at: str = ""
    finished_at: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class Runs:
    """Command runs (``Project(...).runs``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def start(self, kind: str, params: Mapping[str, Any] | None = None) -> int:
        """Record that a run of ``kind`` started; return its id."""
        if not isinstance(kind, str) or not kind:
            raise StoreError(f"run kind must be non-empty text, got {kind!r}.")
        with self._db.transaction() as conn:
            cur = conn.execute("INSERT INTO runs (kind, started_at, params) VALUES (?, ?, ?)",
                               (kind, utcnow(), dumps(dict(params or {}))))
            return int(cur.lastrowid)

    def finish(self, run_id: int, *, status: str = "ok",
               summary: Mapping[str, Any] | None = None, error: str | None = None) -> None:
        """Record the end of run ``run_id`` with ``status`` ``"ok"`` or ``"failed"``."""
        if status not in ("ok", "failed"):
            raise StoreError(f"status {status!r} must be 'ok' or 'failed'.")
        with self._db.transaction() as conn:
            cur = conn.execute("UPDATE runs SET status = ?, finished_at = ?, summary = ?, "
                               "error = ? WHERE id = ?",
                               (status, utcnow(), dumps(dict(summary or {})), error, run_id))
            if not cur.rowcount:
                raise ArtefactNotFoundError(f"no run with id {run_id!r}.")

    @contextmanager
    def track(self, kind: str, params: Mapping[str, Any] | None = None) -> Iterator[Run]:
        """Record a run around a block; fill ``run.summary`` inside it.

        The run is ``ok`` when the block ends, ``failed`` (with the error) when it raises.
        """
        run = self.get(self.start(kind, params))
        try:
            yield run
        except BaseException as exc:
            self.finish(run.id, status="failed", summary=run.summary,
                        error=f"{type(exc).__name__}: {exc}")
            raise
        self.finish(run.id, status="ok", summary=run.summary)

    def get(self, run_id: int) -> Run:
        """One run by id."""
        rows = self._db.query("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise ArtefactNotFoundError(f"no run with id {run_id!r}.")
        return _run(rows[0])

    def list(self, kind: str | None = None, *, limit: int = 50) -> list[Run]:
        """Runs, newest first, optionally only of ``kind``."""
        where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
        rows = self._db.query(f"SELECT * FROM runs {where} ORDER BY id DESC LIMIT ?",
                              [*params, int(limit)])
        return [_run(r) for r in rows]


def _run(row: Any) -> Run:
    return Run(id=int(row["id"]), kind=row["kind"], status=row["status"],
               started_at=row["started_at"], finished_at=row["finished_at"],
               params=json.loads(row["params"]), summary=json.loads(row["summary"]),
               error=row["error"])
