"""``deliver``: the worker that performs queued actions, at least once, with retries.

It claims items from the project's outbox (a lease: if the worker dies, the items
become claimable again when the lease runs out), performs each action, then marks the
item done, or failed — to be retried after ``action.backoff * 2 ** (attempt - 1)``
seconds, until ``action.max_attempts`` attempts were made. A webhook request carries the
item's idempotency key in an ``Idempotency-Key`` header that is the same on every
attempt, so a receiver can drop the repeats that at-least-once delivery allows.

>>> import tempfile
>>> from dawn.act import Action, deliver, emit
>>> from dawn.store import Project
>>> acts = [Action("note", on="drift", log=True)]
>>> with Project.init(tempfile.mkdtemp()) as project:
...     _ = emit(project, "drift", {"columns": ["age"]}, actions=acts)
...     deliver(project, acts, once=True)
DeliveryStats(delivered=1, failed=0, retried=0)
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dawn.act.actions import DEFAULT_TIMEOUT, Action, check_unique, logger, retrain_command
from dawn.act.emit import OUTBOX_KIND
from dawn.errors import ConfigError
from dawn.store import OutboxItem, Project

__all__ = ["DeliveryStats", "deliver", "event_body"]

#: Seconds added to the longest action timeout when sizing a claim's lease.
LEASE_MARGIN = 1.0
_EXCERPT = 200


@dataclass
class DeliveryStats:
    """What one :func:`deliver` run did.

    Attributes
    ----------
    delivered : int
        Items performed successfully (marked ``done``).
    failed : int
        Items given up on (marked ``failed``: attempts used up, or the action is gone).
    retried : int
        Failed attempts that were put back to be retried.
    """

    delivered: int = 0
    failed: int = 0
    retried: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def deliver(project: Project | str | Path, actions: Sequence[Action], *, once: bool = True,
            limit: int = 50, lease: float = 60.0, poll: float = 1.0,
            stop: threading.Event | None = None) -> DeliveryStats:
    """Perform the queued actions of ``project``'s outbox.

    Parameters
    ----------
    project : Project or path
        The project whose outbox to work through.
    actions : list of Action
        The declared actions; an item naming an action not among them is marked failed.
    once : bool
        ``True``: deliver everything pending — waiting through retry back-offs and for
        items other workers hold — until nothing is pending or claimed, then return.
        ``False``: keep delivering until ``stop`` is set.
    limit : int
        Most items claimed at a time (fewer when the actions' timeouts would outlast the
        lease).
    lease : float
        Seconds a claimed item is reserved for this worker; if the worker dies, another
        one delivers the item after this. An action whose timeout is longer (a retrain)
        has its item's lease extended to its timeout (plus a margin) before it runs.
    poll : float
        Seconds between looks at the outbox when nothing is due.
    stop : threading.Event, optional
        Set it (from another thread) to make the worker return after the current item.

    Returns
    -------
    DeliveryStats
    """
    by_name = check_unique(actions)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"limit = {limit!r} must be a whole number of at least 1.")
    for name, value in (("lease", lease), ("poll", poll)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(f"{name} = {value!r} must be a number of seconds above 0.")
    if isinstance(project, (str, Path)):
        with Project.open(project) as opened:
            return _run(opened, by_name, once, limit, float(lease), float(poll), stop)
    return _run(project, by_name, once, limit, float(lease), float(poll), stop)


def _run(project: Project, by_name: dict[str, Action], once: bool, limit: int, lease: float,
         poll: float, stop: threading.Event | None) -> DeliveryStats:
    stats = DeliveryStats()
    box = project.outbox
    longest = max((a.timeout for a in by_name.values()), default=DEFAULT_TIMEOUT) + LEASE_MARGIN
    # a batch never outlasts its lease; an action slower than the lease is claimed alone
    # and its lease extended just before it runs
    batch = max(1, min(limit, int(lease // longest)))
    while stop is None or not stop.is_set():
        items = box.claim(batch, lease=lease, kinds=[OUTBOX_KIND])
        for item in items:
            _deliver_one(project, by_name, item, stats, lease)
        if items:
            continue
        wait = box.next_due([OUTBOX_KIND])
        if once and wait is None:
            break
        delay = poll if wait is None else min(max(wait, 0.005), poll)
        if stop is not None:
            stop.wait(delay)
        else:
            time.sleep(delay)
    return stats


def _deliver_one(project: Project, by_name: dict[str, Action], item: OutboxItem,
                 stats: DeliveryStats, lease: float) -> None:
    box = project.outbox
    name = item.payload.get("action")
    action = by_name.get(name) if isinstance(name, str) else None
    if action is None:
        known = ", ".join(sorted(by_name)) or "none"
        box.mark_failed(item.id, f"no action named {name!r} is declared (declared: {known}); "
                        "it was renamed or removed since the event was emitted. Declare it "
                        "again and run Outbox.requeue to deliver it.", retry=False)
        stats.failed += 1
        logger().warning("outbox item %d names unknown action %r; marked failed", item.id, name)
        return
    if action.timeout + LEASE_MARGIN > lease:
        box.extend(item.id, action.timeout + LEASE_MARGIN)
    try:
        error = perform(action, item, project.root)
    except Exception as exc:  # a worker must outlive any one action
        error = f"{type(exc).__name__}: {exc}"
    if error is None:
        box.mark_done(item.id)
        stats.delivered += 1
        logger().debug("delivered outbox item %d (%s)", item.id, action.name)
        return
    status = box.mark_failed(item.id, f"attempt {item.attempts}: {error}",
                             max_attempts=action.max_attempts, backoff=action.backoff)
    if status == "failed":
        stats.failed += 1
        logger().warning("action %r gave up on outbox item %d after %d attempts: %s",
                         action.name, item.id, item.attempts, error)
    elif status == "pending":
        stats.retried += 1


def event_body(item: OutboxItem) -> dict[str, Any]:
    """The JSON document an action receives for an outbox item."""
    p = item.payload
    return {"id": item.id, "idempotency_key": item.key, "action": p.get("action"),
            "event": p.get("event"), "key": p.get("key"), "emitted_at": p.get("emitted_at"),
            "attempt": item.attempts, "data": p.get("data", {})}


def perform(action: Action, item: OutboxItem, root: Path) -> str | None:
    """Do ``action`` for ``item`` once; ``None`` on success, else why it failed."""
    text = json.dumps(event_body(item), sort_keys=True)
    if action.kind == "webhook":
        return _post(action, text, item.key or str(item.id))
    if action.kind == "log":
        logger().log(getattr(logging, str(action.log).upper()), "event %s → %s: %s",
                     item.payload.get("event"), action.name, text)
        return None
    argv = retrain_command() if action.kind == "retrain" else list(action.command or [])
    return _run_command(argv, text, item.key or str(item.id), root, action.timeout)


def _post(action: Action, text: str, key: str) -> str | None:
    from dawn import __version__

    url = str(action.webhook)
    headers = {"Content-Type": "application/json", "User-Agent": f"dawn/{__version__}",
               **action.headers, "Idempotency-Key": key}
    request = urllib.request.Request(url, data=text.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=action.timeout) as response:
            status = int(response.status)
            if 200 <= status < 300:
                return None
            return f"POST {url} answered HTTP {status}: {_excerpt(response.read(_EXCERPT))}"
    except urllib.error.HTTPError as exc:
        body = _excerpt(exc.read(_EXCERPT)) if exc.fp is not None else ""
        return f"POST {url} answered HTTP {exc.code} {exc.reason}: {body}".rstrip(": ")
    except urllib.error.URLError as exc:
        return f"POST {url} failed: {exc.reason}"
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        return f"POST {url} failed: {type(exc).__name__}: {exc or 'no answer'}" + (
            f" (timeout {action.timeout:g} s)" if isinstance(exc, TimeoutError) else "")


def _run_command(argv: list[str], text: str, key: str, root: Path,
                 timeout: float) -> str | None:
    env = {**os.environ, "DAWN_EVENT": text, "DAWN_IDEMPOTENCY_KEY": key}
    try:
        proc = subprocess.run(argv, input=text, text=True, capture_output=True, cwd=root,
                              env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"command {argv[0]!r} did not finish within {timeout:g} s and was stopped"
    except OSError as exc:
        return f"command {argv[0]!r} could not start: {exc.strerror or exc}"
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or "").strip()[-_EXCERPT:]
        return f"command {argv[0]!r} exited with status {proc.returncode}" + (
            f": {tail}" if tail else "")
    return None


def _excerpt(raw: bytes) -> str:
    return " ".join(raw.decode("utf-8", "replace").split())[:_EXCERPT]
