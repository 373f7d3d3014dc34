"""The project database: SQLite connection, transactions and numbered migrations.

The schema is a list of migrations, applied in order, each in its own transaction; the
``schema_version`` table records which have run. A database written by a newer dawn (a
version this code does not know) is refused rather than misread.

>>> import tempfile, pathlib
>>> db = Database(pathlib.Path(tempfile.mkdtemp()) / "state.sqlite")
>>> db.schema_version == SCHEMA_VERSION
True
>>> with db.transaction() as conn:
...     _ = conn.execute("INSERT INTO models (name, created_at) VALUES ('m', ?)", (utcnow(),))
>>> [r["name"] for r in db.query("SELECT name FROM models")]
['m']
>>> db.close()
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dawn.errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Database", "utcnow"]

#: Migration ``i`` (1-based) brings the schema from version ``i - 1`` to ``i``. Append new
#: steps; never edit a released one. Times are ISO-8601 UTC text of fixed width, so they
#: sort as text; JSON columns hold objects.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: registry, promotions, runs, monitoring history, action outbox
        """CREATE TABLE models (
            name TEXT PRIMARY KEY,
            created_at TEXT NOT NULL)""",
        """CREATE TABLE model_versions (
            id INTEGER PRIMARY KEY,
            model TEXT NOT NULL REFERENCES models(name) ON DELETE CASCADE,
            version INTEGER NOT NULL CHECK (version >= 1),
            created_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'archived')),
            artefact TEXT NOT NULL,
            meta TEXT NOT NULL DEFAULT '{}',
            metrics TEXT NOT NULL DEFAULT '{}',
            lineage TEXT NOT NULL DEFAULT '{}',
            parent_version INTEGER,
            UNIQUE (model, version))""",
        """CREATE TABLE promotions (
            id INTEGER PRIMARY KEY,
            model TEXT NOT NULL,
            version INTEGER NOT NULL,
            promoted_at TEXT NOT NULL,
            rolled_back_at TEXT,
            reason TEXT,
            FOREIGN KEY (model, version) REFERENCES model_versions(model, version)
                ON DELETE CASCADE)""",
        "CREATE INDEX ix_promotions_model ON promotions(model, rolled_back_at, id)",
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'ok', 'failed')),
            params TEXT NOT NULL DEFAULT '{}',
            summary TEXT NOT NULL DEFAULT '{}',
            error TEXT)""",
        "CREATE INDEX ix_runs_kind ON runs(kind, started_at)",
        """CREATE TABLE monitor_history (
            id INTEGER PRIMARY KEY,
            model TEXT NOT NULL,
            version INTEGER,
            ts TEXT NOT NULL,
            metric TEXT NOT NULL,
            value REAL,
            details TEXT NOT NULL DEFAULT '{}')""",
        "CREATE INDEX ix_history_model_metric_ts ON monitor_history(model, metric, ts)",
        "CREATE INDEX ix_history_ts ON monitor_history(ts)",
        """CREATE TABLE action_outbox (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'claimed', 'done', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            idempotency_key TEXT UNIQUE,
            available_at TEXT NOT NULL,
            claimed_until TEXT,
            updated_at TEXT NOT NULL)""",
        "CREATE INDEX ix_outbox_ready ON action_outbox(status, available_at)",
    ),
    (  # 2: the server's prediction log (what monitoring sees of each scored row)
        """CREATE TABLE prediction_log (
            id INTEGER PRIMARY KEY,
            model TEXT NOT NULL,
            version INTEGER NOT NULL,
            ts TEXT NOT NULL,
            row TEXT NOT NULL DEFAULT '{}',
            prediction TEXT,
            confidence REAL)""",
        "CREATE INDEX ix_predlog_model_id ON prediction_log(model, id)",
        "CREATE INDEX ix_predlog_ts ON prediction_log(ts)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

BUSY_TIMEOUT_S = 30.0


def utcnow(offset_s: float = 0.0) -> str:
    """Now (plus ``offset_s`` seconds) as fixed-width ISO-8601 UTC text."""
    return iso(datetime.now(UTC) + timedelta(seconds=offset_s))


def iso(ts: datetime) -> str:
    """A datetime as the fixed-width UTC text the store keeps (naive means UTC)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


class Database:
    """One SQLite connection (WAL, foreign keys on), migrated on open.

    The connection may be used from several threads: a lock serialises them. Writers in
    other processes wait up to ``busy_timeout`` seconds for the write lock.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self.conn = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None,
                                        check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the project database {str(self.path)!r}: {exc}; "
                             "check the folder exists and is writable.") from None
        self.conn.row_factory = sqlite3.Row
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.schema_version = self._migrate()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(f"cannot use the project database {str(self.path)!r}: {exc}. If "
                             "it is damaged, move it aside and open the project again to start "
                             "a new one.") from None
        except BaseException:
            self.conn.close()
            raise

    # -- transactions ------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic change: all statements inside commit together or not at all.

        Nested use joins the outer transaction (through a savepoint, so an error caught
        inside undoes only the inner part).
        """
        with self._lock:
            if self._depth:
                name = f"sp{self._depth}"
                self.conn.execute(f"SAVEPOINT {name}")
                self._depth += 1
                try:
                    yield self.conn
                except BaseException:
                    self.conn.execute(f"ROLLBACK TO {name}")
                    self.conn.execute(f"RELEASE {name}")
                    raise
                else:
                    self.conn.execute(f"RELEASE {name}")
                finally:
                    self._depth -= 1
                return
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"the project database {str(self.path)!r} is busy ({exc}); "
                                 "another dawn process holds its write lock. Try again when "
                                 "it has finished.") from None
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only statement."""
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self.conn.close()

    # -- migrations --------------------------------------------------------------
    def _migrate(self) -> int:
        self.conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                          "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        version = self._current_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the project database {str(self.path)!r} has schema version {version}, "
                f"written by a newer dawn; this dawn knows versions up to {SCHEMA_VERSION}. "
                "Upgrade dawn (pip install -U dawn) to open it.")
        while version < SCHEMA_VERSION:
            with self.transaction() as conn:
                version = self._current_version()  # another process may have migrated
                if version >= SCHEMA_VERSION:
                    break
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                             (version + 1, utcnow()))
                version += 1
        return version

    def _current_version(self) -> int:
        row = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)
