"""The prediction log: what monitoring sees of every row the server scored.

:class:`PredictionLog` takes scored rows from request threads without waiting (a queue)
and a background thread writes them into the project's ``prediction_log`` table in
batches — one transaction per at most ``max_batch`` rows or ``flush_interval`` seconds,
whichever comes first. Each row is stored as the JSON of
:func:`dawn.app.monitoring.monitor_features` (tabular inputs, text length and word count,
prediction, confidence; raw text only with ``log_raw=True``). The log is telemetry: a
crash may lose the rows of the last ``flush_interval`` seconds, never a registered model
or an outbox entry (those are written in their own transactions, never through the log).

Retention keeps at most ``max_rows`` rows and, with ``max_days``, none older than that.
:func:`recent` reads rows back as a DataFrame for :func:`dawn.app.monitoring.check_live`.

>>> import tempfile, numpy as np, pandas as pd
>>> from dawn.store import Project
>>> folder = tempfile.mkdtemp()
>>> Project.init(folder).close()
>>> log = PredictionLog(folder).start()
>>> rows = pd.DataFrame({"text": ["free prize now", "see you"], "age": [3, 40]})
>>> log.log("spam", 1, rows, np.array([[0.2, 0.8], [0.9, 0.1]]), ["ham", "spam"],
...         text_columns=["text"], feature_columns=["age"])
>>> log.stop()
>>> recent(folder, "spam", 10)
   age  text.length  text.words prediction  confidence
0    3           14           3       spam         0.8
1   40            7           2        ham         0.9
"""

from __future__ import annotations

import io
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dawn.errors import ConfigError

__all__ = ["PredictionLog", "count_new", "last_id", "recent"]

_RETENTION_EVERY_S = 60.0  # the age-based delete runs at most this often


@dataclass
class _Entry:
    model: str
    version: int
    ts: str
    data: Any
    proba: np.ndarray
    classes: list[str] | None
    text_columns: tuple[str, ...]
    feature_columns: tuple[str, ...]


def _database(project: Any):
    """A fresh connection to the project's database (a Project or a path)."""
    from dawn.store import Project
    from dawn.store.schema import Database

    if isinstance(project, Project):
        return Database(project.db_path)
    with Project.open(project, create=False) as opened:
        return Database(opened.db_path)


class PredictionLog:
    """Batched background writer of scored rows into ``prediction_log``.

    Parameters
    ----------
    project : Project or path
        The project whose database receives the rows.
    flush_interval : float
        Longest time (seconds) a logged row waits before it is written.
    max_batch : int
        Most rows written in one transaction.
    max_rows : int or None
        Keep at most this many rows in the log (oldest deleted first).
    max_days : float or None
        Delete rows older than this many days.
    log_raw : bool
        Also store raw text columns (by default only what monitoring needs).
    max_queue : int
        Most pending :meth:`log` calls; beyond it calls are dropped and counted in
        ``dropped`` (the server never waits for its telemetry).
    """

    def __init__(self, project: Any, *, flush_interval: float = 1.0, max_batch: int = 500,
                 max_rows: int | None = 1_000_000, max_days: float | None = None,
                 log_raw: bool = False, max_queue: int = 100_000) -> None:
        if not flush_interval > 0:
            raise ConfigError(f"flush_interval = {flush_interval!r} must be > 0 seconds.")
        if int(max_batch) < 1:
            raise ConfigError(f"max_batch = {max_batch!r} must be at least 1 row.")
        if max_rows is not None and int(max_rows) < 1:
            raise ConfigError(f"log_max_rows = {max_rows!r} must be at least 1 (or unset).")
        if max_days is not None and not float(max_days) > 0:
            raise ConfigError(f"log_max_days = {max_days!r} must be > 0 (or unset).")
        self.project = project
        self.flush_interval = float(flush_interval)
        self.max_batch = int(max_batch)
        self.max_rows = None if max_rows is None else int(max_rows)
        self.max_days = None if max_days is None else float(max_days)
        self.log_raw = bool(log_raw)
        self.written = 0
        self.dropped = 0
        self.errors = 0
        self.last_error: str | None = None
        self.max_queue = int(max_queue)
        self._pending: deque = deque()
        self._queued_rows = 0
        self._count_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._db = None
        self._last_retention = 0.0

    # -- request side ------------------------------------------------------------
    def log(self, model: str, version: int, data: Any, proba: Any,
            classes: Sequence[str] | None, *, text_columns: Sequence[str] = (),
            feature_columns: Sequence[str] = ()) -> None:
        """Queue scored rows for writing; returns at once (drops when the queue is full).

        The writer is not woken per call (that would cost every request a thread switch):
        it wakes every ``flush_interval`` seconds, or when ``max_batch`` rows wait.
        """
        from dawn.store.schema import utcnow

        if len(self._pending) >= self.max_queue:
            self.dropped += 1
            return
        entry = _Entry(model, int(version), utcnow(), data, np.asarray(proba),
                       None if classes is None else list(classes), tuple(text_columns),
                       tuple(feature_columns))
        with self._count_lock:
            self._pending.append(entry)
            self._queued_rows += len(entry.proba)
            full = self._queued_rows >= self.max_batch
        if full:
            self._wake.set()

    def flush(self, timeout: float = 30.0) -> bool:
        """Write everything queued so far; True when it was written within ``timeout``."""
        if self._thread is None or not self._thread.is_alive():
            return not self._pending
        done = threading.Event()
        self._pending.append(done)
        self._wake.set()
        return done.wait(timeout)

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> PredictionLog:
        """Start the writer thread; returns ``self``."""
        if self._thread is None or not self._thread.is_alive():
            self._db = _database(self.project)
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="dawn-prediction-log",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the writer thread."""
        if self._thread is None:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- writer side -------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            batch: list[_Entry] = []
            markers: list[threading.Event] = []
            with self._count_lock:
                while self._pending:
                    item = self._pending.popleft()
                    if isinstance(item, threading.Event):
                        markers.append(item)
                    else:
                        batch.append(item)
                self._queued_rows = 0
            if batch:
                self._write(batch)
            for marker in markers:
                marker.set()
            if self._stopping and not self._pending:
                return

    def _write(self, batch: list[_Entry]) -> None:
        try:
            groups: dict[tuple, list[_Entry]] = {}
            for e in batch:  # one monitor_features call per model version, not per request
                key = (e.model, e.version, tuple(e.classes or ()), e.text_columns,
                       e.feature_columns)
                groups.setdefault(key, []).append(e)
            rows = [r for entries in groups.values() for r in self._group_rows(entries)]
            for a in range(0, len(rows), self.max_batch):
                with self._db.transaction() as conn:
                    conn.executemany("INSERT INTO prediction_log (model, version, ts, row, "
                                     "prediction, confidence) VALUES (?, ?, ?, ?, ?, ?)",
                                     rows[a:a + self.max_batch])
            self.written += len(rows)
            self._retain()
        except Exception as exc:  # telemetry must never take the server down
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"

    def _group_rows(self, entries: list[_Entry]) -> list[tuple]:
        """Log rows of entries that share a model version and monitored columns."""
        import pyarrow as pa

        from dawn.data import as_frame

        first = entries[0]
        if len(entries) == 1:
            return self._rows(first, first.data, first.proba, [first.ts] * len(first.proba))
        cols = list(dict.fromkeys([*first.feature_columns, *first.text_columns]))
        try:
            data = pa.concat_tables([as_frame(e.data).select(cols).table for e in entries],
                                    promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError):  # types differ: one by one
            return [r for e in entries for r in self._group_rows([e])]
        proba = np.concatenate([e.proba for e in entries])
        ts = [e.ts for e in entries for _ in range(len(e.proba))]
        return self._rows(first, data, proba, ts)

    def _rows(self, e: _Entry, data: Any, proba: np.ndarray, ts: list[str]) -> list[tuple]:
        from dawn.app.monitoring import monitor_features

        feats = monitor_features(data, proba, e.classes, text_columns=e.text_columns,
                                 feature_columns=e.feature_columns, log_raw=self.log_raw)
        lines = feats.to_json(orient="records", lines=True).splitlines()
        preds = feats["prediction"].astype(str).tolist()
        conf = feats["confidence"].astype(float).tolist()
        n = len(lines)
        return list(zip([e.model] * n, [e.version] * n, ts, lines, preds, conf, strict=True))

    def _retain(self) -> None:
        from dawn.store.schema import utcnow

        if self.max_rows is not None:
            lo, hi = self._db.query("SELECT min(id), max(id) FROM prediction_log")[0]
            if hi is not None and hi - lo + 1 > self.max_rows:
                with self._db.transaction() as conn:
                    conn.execute("DELETE FROM prediction_log WHERE id <= ?",
                                 (hi - self.max_rows,))
        now = time.monotonic()
        if self.max_days is not None and now - self._last_retention >= _RETENTION_EVERY_S:
            self._last_retention = now
            with self._db.transaction() as conn:
                conn.execute("DELETE FROM prediction_log WHERE ts < ?",
                             (utcnow(-self.max_days * 86400.0),))


# -- reading --------------------------------------------------------------------
def _where(name: str, version: int | None, after_id: int | None) -> tuple[str, list]:
    clauses, params = ["model = ?"], [name]
    if version is not None:
        clauses.append("version = ?")
        params.append(int(version))
    if after_id is not None:
        clauses.append("id > ?")
        params.append(int(after_id))
    return " AND ".join(clauses), params


def count_new(project: Any, name: str, *, after_id: int = 0, version: int | None = None
              ) -> tuple[int, int]:
    """``(rows, last_id)``: how many rows of model ``name`` were logged after ``after_id``
    and the id of the newest one (``after_id`` when there is none)."""
    db = _database(project)
    try:
        where, params = _where(name, version, after_id)
        n, last = db.query(f"SELECT count(*), max(id) FROM prediction_log WHERE {where}",
                           params)[0]
    finally:
        db.close()
    return int(n), int(last) if last is not None else int(after_id)


def last_id(project: Any) -> int:
    """The id of the newest logged row (0 when the log is empty)."""
    db = _database(project)
    try:
        return int(db.query("SELECT coalesce(max(id), 0) FROM prediction_log")[0][0])
    finally:
        db.close()


def recent(project: Any, name: str, n: int = 1000, *, version: int | None = None,
           after_id: int | None = None) -> pd.DataFrame:
    """The last ``n`` logged rows of model ``name`` (oldest first) as monitoring features.

    One column per field of :func:`dawn.app.monitoring.monitor_features`; ``version``
    and ``after_id`` (rows logged after that id) narrow the selection.
    """
    import pyarrow as pa
    import pyarrow.json as pj

    db = _database(project)
    try:
        where, params = _where(name, version, after_id)
        rows = db.query(f"SELECT row FROM (SELECT id, row FROM prediction_log WHERE {where} "
                        "ORDER BY id DESC LIMIT ?) ORDER BY id", [*params, int(n)])
    finally:
        db.close()
    if not rows:
        return pd.DataFrame()
    body = "\n".join(r[0] for r in rows)
    try:
        return pj.read_json(io.BytesIO(body.encode("utf-8"))).to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column's JSON type changed between rows
        return pd.read_json(io.StringIO(body), lines=True, dtype=False)

