"""The action outbox: durable, at-least-once delivery of actions (webhooks, commands, ...).

Whoever decides an action should happen *enqueues* it (in the same transaction as the
decision, if there is one); a worker *claims* a batch, performs each action, then marks
it *done* or *failed*. A claim is a lease: if the worker dies, the item becomes claimable
again when the lease runs out, so every action is delivered at least once — receivers
should use the idempotency key to drop repeats. Failed items are retried with exponential
backoff up to ``max_attempts`` times, then stay ``failed`` until :meth:`Outbox.requeue`.

>>> import tempfile
>>> from dawn.store import Project
>>> with Project.init(tempfile.mkdtemp()) as project:
...     box = project.outbox
...     first = box.enqueue("webhook", {"url": "http://localhost/x"}, key="alert-1")
...     again = box.enqueue("webhook", {"url": "http://localhost/x"}, key="alert-1")
...     [item] = box.claim(limit=10)
...     box.mark_done(item.id)
...     first == again, item.payload["url"], box.get(first).status
(True, 'http://localhost/x', 'done')
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dawn.errors import ArtefactNotFoundError, StoreError
from dawn.store.artefacts import dumps
from dawn.store.schema import Database, utcnow

__all__ = ["Outbox", "OutboxItem"]

STATUSES = ("pending", "claimed", "done", "failed")


@dataclass(frozen=True)
class OutboxItem:
    """One action in the outbox."""

    id: int
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"
    attempts: int = 0
    key: str | None = None
    created_at: str = ""
    last_error: str | None = None


class Outbox:
    """Actions waiting to be performed (``Project(...).outbox``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def enqueue(self, kind: str, payload: Mapping[str, Any] | None = None, *,
                key: str | None = None, delay: float = 0.0) -> int:
        """Add an action; return its id.

        With an idempotency ``key`` already in the outbox, nothing is added and the
        existing item's id is returned. ``delay`` seconds hold the item back.
        """
        if not isinstance(kind, str) or not kind:
            raise StoreError(f"action kind must be non-empty text, got {kind!r}.")
        if key is not None and not isinstance(key, str):
            raise StoreError(f"idempotency key must be text, got {type(key).__name__}.")
        body = dumps(dict(payload or {}))
        with self._db.transaction() as conn:
            now = utcnow()
            cur = conn.execute(
                "INSERT INTO action_outbox (created_at, kind, payload, idempotency_key, "
                "available_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (idempotency_key) DO NOTHING",
                (now, kind, body, key, utcnow(delay) if delay else now, now))
            if cur.rowcount:
                return int(cur.lastrowid)
            row = conn.execute("SELECT id FROM action_outbox WHERE idempotency_key = ?",
                               (key,)).fetchone()
            return int(row[0])

    def claim(self, limit: int = 10, *, lease: float = 60.0,
              kinds: Iterable[str] | None = None) -> list[OutboxItem]:
        """Take up to ``limit`` due actions (oldest first) for ``lease`` seconds.

        Due means pending and past its delay, or claimed by a worker whose lease ran out.
        Each claim counts as an attempt.
        """
        if int(limit) < 1:
            raise StoreError(f"limit must be at least 1, got {limit!r}.")
        sql = ("SELECT id FROM action_outbox WHERE ((status = 'pending' AND available_at <= ?) "
               "OR (status = 'claimed' AND claimed_until <= ?))")
        extra: list[Any] = []
        if kinds is not None:
            extra = list(kinds)
            sql += f" AND kind IN ({', '.join('?' * len(extra))})"
        sql += " ORDER BY id LIMIT ?"
        with self._db.transaction() as conn:
            now = utcnow()  # inside the lock: sees every item committed before it
            params = [now, now, *extra, int(limit)]
            ids = [int(r[0]) for r in conn.execute(sql, params).fetchall()]
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            conn.execute(
                f"UPDATE action_outbox SET status = 'claimed', claimed_until = ?, "
                f"attempts = attempts + 1, updated_at = ? WHERE id IN ({marks})",
                (utcnow(lease), now, *ids))
            rows = conn.execute(f"SELECT * FROM action_outbox WHERE id IN ({marks}) ORDER BY id",
                                ids).fetchall()
        return [_item(r) for r in rows]

    def mark_done(self, item_id: int) -> None:
        """Record that the action was performed."""
        with self._db.transaction() as conn:
            self._row(conn, item_id)
            conn.execute("UPDATE action_outbox SET status = 'done', claimed_until = NULL, "
                         "updated_at = ? WHERE id = ?", (utcnow(), item_id))

    def mark_failed(self, item_id: int, error: str, *, retry: bool = True,
                    max_attempts: int = 5, backoff: float = 30.0) -> str:
        """Record a failed attempt; return the item's new status.

        While ``retry`` and fewer than ``max_attempts`` attempts were made the item goes
        back to ``pending``, due again after ``backoff * 2 ** (attempts - 1)`` seconds;
        otherwise it is ``failed`` for good.
        """
        with self._db.transaction() as conn:
            row = self._row(conn, item_id)
            attempts = int(row["attempts"])
            if row["status"] == "done":
                return "done"  # a late failure report from a lease that had run out
            if retry and attempts < max_attempts:
                status, due = "pending", utcnow(backoff * 2 ** max(attempts - 1, 0))
            else:
                status, due = "failed", row["available_at"]
            conn.execute("UPDATE action_outbox SET status = ?, available_at = ?, last_error = ?, "
                         "claimed_until = NULL, updated_at = ? WHERE id = ?",
                         (status, due, str(error)[:2000], utcnow(), item_id))
        return status

    def extend(self, item_id: int, lease: float) -> bool:
        """Hold a claimed item for ``lease`` more seconds from now (before a long action).

        Returns ``False`` (and changes nothing) when the item is no longer claimed.
        """
        with self._db.transaction() as conn:
            self._row(conn, item_id)
            cur = conn.execute("UPDATE action_outbox SET claimed_until = ?, updated_at = ? "
                               "WHERE id = ? AND status = 'claimed'",
                               (utcnow(float(lease)), utcnow(), int(item_id)))
            return bool(cur.rowcount)

    def requeue(self, item_id: int) -> None:
        """Put a ``failed`` (or any) item back to ``pending`` now, with its attempts reset."""
        with self._db.transaction() as conn:
            self._row(conn, item_id)
            now = utcnow()
            conn.execute("UPDATE action_outbox SET status = 'pending', attempts = 0, "
                         "available_at = ?, claimed_until = NULL, updated_at = ? WHERE id = ?",
                         (now, now, item_id))

    def get(self, item_id: int) -> OutboxItem:
        """One item by id."""
        with self._db.transaction() as conn:
            return _item(self._row(conn, item_id))

    def items(self, status: str | None = None, *, limit: int = 100) -> list[OutboxItem]:
        """Items, newest first, optionally only those with ``status``."""
        if status is not None and status not in STATUSES:
            raise StoreError(f"status {status!r} is not one of {list(STATUSES)}.")
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        rows = self._db.query(f"SELECT * FROM action_outbox {where} ORDER BY id DESC LIMIT ?",
                              [*params, int(limit)])
        return [_item(r) for r in rows]

    def find(self, key: str) -> OutboxItem | None:
        """The item with idempotency ``key``, or ``None``.

        >>> import tempfile
        >>> from dawn.store import Project
        >>> with Project.init(tempfile.mkdtemp()) as project:
        ...     i = project.outbox.enqueue("log", {}, key="k1")
        ...     project.outbox.find("k1").id == i, project.outbox.find("k2")
        (True, None)
        """
        rows = self._db.query("SELECT * FROM action_outbox WHERE idempotency_key = ?", [str(key)])
        return _item(rows[0]) if rows else None

    def count_recent(self, seconds: float, *, kind: str | None = None,
                     where: Mapping[str, Any] | None = None, at_most: int | None = None) -> int:
        """How many items were enqueued in the last ``seconds`` (any status).

        ``kind`` keeps only items of that kind; ``where`` only items whose payload has
        each key equal to the given value (text, number, bool or None). Counting stops
        at ``at_most`` (enough to tell whether a limit is reached). Rate limits and
        cool-downs count with this. Items are found by creation time through their ids,
        so the cost grows with the window's rows, not the outbox's size.

        >>> import tempfile
        >>> from dawn.store import Project
        >>> with Project.init(tempfile.mkdtemp()) as project:
        ...     box = project.outbox
        ...     _ = [box.enqueue("action", {"action": a}) for a in ("mail", "mail", "hook")]
        ...     box.count_recent(60), box.count_recent(60, where={"action": "mail"})
        (3, 2)
        """
        if not float(seconds) >= 0:
            raise StoreError(f"seconds must be a non-negative number, got {seconds!r}.")
        since = utcnow(-float(seconds))
        sql = "SELECT 1 FROM action_outbox WHERE id >= ? AND created_at >= ?"
        extra: list[Any] = []
        if kind is not None:
            sql += " AND kind = ?"
            extra.append(kind)
        for name, value in (where or {}).items():
            if not isinstance(name, str) or not name or '"' in name:
                raise StoreError(f"payload key {name!r} must be non-empty text without '\"'.")
            if value is None:
                sql += " AND json_extract(payload, ?) IS NULL"
                extra.append(f'$."{name}"')
            elif isinstance(value, (str, int, float)):  # bool is an int: JSON true is 1
                sql += " AND json_extract(payload, ?) = ?"
                extra += [f'$."{name}"', value]
            else:
                raise StoreError(f"where[{name!r}] = {value!r}: compare payload keys with text, "
                                 "numbers, booleans or None.")
        with self._db.transaction() as conn:
            first = _first_id_since(conn, since)
            if first is None:
                return 0
            if at_most is not None:
                sql += f" LIMIT {max(int(at_most), 0)}"
            return int(conn.execute(f"SELECT count(*) FROM ({sql})",
                                    [first, since, *extra]).fetchone()[0])

    def next_due(self, kinds: Iterable[str] | None = None) -> float | None:
        """Seconds until the next item can be claimed (0 if one can now); ``None`` if none waits.

        Counts pending items (due at their retry time) and claimed ones (due when their
        lease runs out, should their worker die); ``done`` and ``failed`` items never are.
        """
        sql = ("SELECT min(CASE WHEN status = 'pending' THEN available_at ELSE claimed_until END) "
               "FROM action_outbox WHERE status IN ('pending', 'claimed')")
        extra: list[Any] = []
        if kinds is not None:
            extra = list(kinds)
            sql += f" AND kind IN ({', '.join('?' * len(extra))})"
        due = self._db.query(sql, extra)[0][0]
        if due is None:
            return None
        wait = (datetime.fromisoformat(due) - datetime.now(UTC)).total_seconds()
        return max(wait, 0.0)

    def _row(self, conn: sqlite3.Connection, item_id: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM action_outbox WHERE id = ?", (int(item_id),)).fetchone()
        if row is None:
            raise ArtefactNotFoundError(f"no outbox item with id {item_id!r}.")
        return row


def _first_id_since(conn: sqlite3.Connection, since: str) -> int | None:
    """The smallest id created at or after ``since`` (binary search: ids grow with time)."""
    # two queries: SQLite answers a lone min() or max() from the index, not both at once
    hi = conn.execute("SELECT max(id) FROM action_outbox").fetchone()[0]
    lo = conn.execute("SELECT min(id) FROM action_outbox").fetchone()[0]
    if hi is None:
        return None

    def created(at: int) -> tuple[int, str]:
        row = conn.execute("SELECT id, created_at FROM action_outbox WHERE id >= ? ORDER BY id "
                           "LIMIT 1", (at,)).fetchone()
        return int(row[0]), row[1]

    if created(hi)[1] < since:
        return None
    while lo < hi:  # the first id >= hi is new enough; none before lo is
        mid = (lo + hi) // 2
        found, at = created(mid)
        if at >= since:
            hi = mid
        else:
            lo = found + 1  # every id up to ``found`` is older
    return created(lo)[0]


def _item(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(id=int(row["id"]), kind=row["kind"], payload=json.loads(row["payload"]),
                      status=row["status"], attempts=int(row["attempts"]),
                      key=row["idempotency_key"], created_at=row["created_at"],
                      last_error=row["last_error"])
