"""``emit``: record that an event happened, as outbox items for the actions it triggers.

Each matching action gets one outbox item (kind ``"action"``, payload ``{action, event,
key, data, emitted_at}``) whose idempotency key ``"{event}:{key}:{action}"`` travels with
every delivery attempt. All items are written in one ``project.transaction()``; call
``emit`` inside your own ``with project.transaction():`` and the event commits (or not)
together with whatever caused it.

Repeats and flapping signals:

* **the same event again** (same event, same ``key`` — by default a hash of the payload)
  is a *duplicate*: nothing new is queued and the existing item's id is returned;
* **cooldown**: within ``action.cooldown`` seconds of the action's last emission for this
  event (and this ``key``, when one is given) a new emission is *suppressed*;
* **rate limit**: when the action already has ``rate_limit`` emissions in the current
  window, a new one is *suppressed*.

Suppressed emissions are not queued; :class:`Emitted` (the returned list of ids) says
which actions were suppressed and why.

>>> import tempfile
>>> from dawn.act import Action, emit
>>> from dawn.store import Project
>>> acts = [Action("note", on="drift", log=True, cooldown=3600)]
>>> with Project.init(tempfile.mkdtemp()) as project:
...     first = emit(project, "drift", {"columns": ["age"]}, actions=acts)
...     again = emit(project, "drift", {"columns": ["age", "income"]}, actions=acts)
...     len(first), len(again), again.suppressed
(1, 0, {'note': 'cooldown'})
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dawn.act.actions import Action, check_unique
from dawn.errors import ConfigError, StoreError
from dawn.store import Project
from dawn.store.artefacts import jsonable
from dawn.store.schema import utcnow

__all__ = ["OUTBOX_KIND", "Emitted", "emit", "event_key"]

#: The outbox ``kind`` of action deliveries.
OUTBOX_KIND = "action"


class Emitted(list):
    """The outbox ids an :func:`emit` call queued or found queued (a ``list[int]``).

    Attributes
    ----------
    enqueued : list of int
        Ids of items added by this call.
    duplicates : list of int
        Ids of items that were already queued for the same event and key.
    suppressed : dict
        ``{action name: "cooldown" | "rate_limit"}`` for matching actions that were not
        queued.
    """

    def __init__(self) -> None:
        super().__init__()
        self.enqueued: list[int] = []
        self.duplicates: list[int] = []
        self.suppressed: dict[str, str] = {}

    def to_dict(self) -> dict[str, Any]:
        return {"ids": list(self), "enqueued": self.enqueued, "duplicates": self.duplicates,
                "suppressed": self.suppressed}


def emit(project: Project | str | Path, event: str, payload: Mapping[str, Any] | None = None,
         *, actions: Sequence[Action], key: str | None = None) -> Emitted:
    """Queue ``event`` for every action in ``actions`` it triggers; return the outbox ids.

    Parameters
    ----------
    project : Project or path
        The project whose outbox receives the items.
    event : str
        The event name (``"drift"``, ``"performance"``, ``"prediction"``, ...).
    payload : dict, optional
        Event data (JSON-able; numpy values are converted). ``when`` conditions test it.
    actions : list of Action
        The declared actions (e.g. :func:`dawn.act.actions_from_config`).
    key : str, optional
        Identifies this occurrence of the event: emitting the same event and key twice
        queues it once. Default: a hash of the event and the canonical JSON payload.

    Returns
    -------
    Emitted
        A list of outbox ids (new and duplicate) with ``enqueued``, ``duplicates`` and
        ``suppressed`` details.
    """
    if not isinstance(event, str) or not event or event == "*":
        raise ConfigError(f"event must be a non-empty name (not '*'), got {event!r}.")
    if payload is None:
        payload = {}
    if not isinstance(payload, Mapping):
        raise ConfigError(f"the payload of event {event!r} must be a JSON object (a dict), "
                          f"got {type(payload).__name__}.")
    if key is not None and (not isinstance(key, str) or not key):
        raise ConfigError(f"key must be non-empty text, got {key!r}.")
    check_unique(actions)
    try:
        data = strict_json(jsonable(dict(payload), "payload"))
    except StoreError as exc:
        raise ConfigError(f"the payload of event {event!r} cannot be sent as JSON: "
                          f"{str(exc).split(';')[0]}; keep numbers, text, lists and dicts in "
                          "it.") from None
    given_key = key
    key = key if key is not None else event_key(event, data)
    if isinstance(project, (str, Path)):
        with Project.open(project) as opened:
            return _emit(opened, event, data, actions, key, given_key)
    return _emit(project, event, data, actions, key, given_key)


def _emit(project: Project, event: str, data: dict[str, Any], actions: Sequence[Action],
          key: str, given_key: str | None) -> Emitted:
    out = Emitted()
    box = project.outbox
    with project.transaction():
        for action in actions:
            if not action.matches(event, data):
                continue
            base = f"{event}:{key}:{action.name}"
            existing = box.find(base)
            now = utcnow()
            if existing is not None and (action.cooldown is None
                                         or existing.created_at >= utcnow(-action.cooldown)):
                out.append(existing.id)
                out.duplicates.append(existing.id)
                continue
            if action.cooldown is not None:
                group = {"action": action.name, "event": event}
                if given_key is not None:
                    group["key"] = given_key
                if box.count_recent(action.cooldown, kind=OUTBOX_KIND, where=group, at_most=1):
                    out.suppressed[action.name] = "cooldown"
                    continue
            if action.rate is not None:
                count, period = action.rate
                if box.count_recent(period, kind=OUTBOX_KIND, where={"action": action.name},
                                    at_most=math.ceil(count)) >= count:
                    out.suppressed[action.name] = "rate_limit"
                    continue
            # a repeat after its cool-down is a new occurrence: give it its own key
            item_key = base if existing is None else f"{base}@{now}"
            item = box.enqueue(OUTBOX_KIND, {"action": action.name, "event": event, "key": key,
                                             "data": data, "emitted_at": now}, key=item_key)
            out.append(item)
            out.enqueued.append(item)
    return out


def event_key(event: str, data: Any) -> str:
    """The default key of an event: a hash of its name and canonical JSON payload.

    >>> event_key("drift", {"b": 1, "a": 2}) == event_key("drift", {"a": 2, "b": 1})
    True
    """
    text = json.dumps([event, data], sort_keys=True, separators=(",", ":"), allow_nan=False,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def strict_json(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by ``None`` (strict JSON for receivers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strict_json(v) for v in value]
    return value
