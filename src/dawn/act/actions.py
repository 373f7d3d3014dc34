"""``Action``: what to do when an event happens (webhook POST, command, log line, retrain).

An action listens to one event name (``on``), optionally only when its payload meets
conditions (``when``), and does exactly one thing. Everything is checked when the
action is built, so a bad ``dawn.toml`` fails at start-up, not at 3 a.m.

>>> a = Action("page-oncall", on="performance", webhook="https://hooks.example.com/x",
...            when={"below": 0.8}, rate_limit="10/hour")
>>> a.kind, a.matches("performance", {"value": 0.72}), a.matches("performance", {"value": 0.9})
('webhook', True, False)
>>> Action("bad", on="drift", webhook="ftp://example.com")
Traceback (most recent call last):
...
dawn.errors.ConfigError: action 'bad': webhook = 'ftp://example.com' must be an http:// or ...
"""

from __future__ import annotations

import logging
import math
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dawn.errors import ConfigError, close_matches

__all__ = ["KINDS", "Action", "actions_from_config"]

#: The things an action can do; each action does exactly one.
KINDS = ("webhook", "command", "log", "retrain")
#: Event names dawn itself emits (any other name is allowed too; ``"*"`` matches all).
EVENTS = ("drift", "performance", "prediction", "explanation")
WHEN_KEYS = ("below", "above", "field", "class", "min_confidence", "equals")
CONFIG_KEYS = ("name", "on", *KINDS, "headers", "timeout", "max_attempts", "backoff",
               "rate_limit", "cooldown", "when")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EVENT = re.compile(r"^(\*|[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127})$")
_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)s?\s*$")
_PERIOD = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
           "hour": 3600, "d": 86400, "day": 86400}
_LEVELS = ("debug", "info", "warning", "error", "critical")
DEFAULT_TIMEOUT = 10.0
RETRAIN_TIMEOUT = 3600.0


class Action:
    """One trigger → one action.

    Parameters
    ----------
    name : str
        Unique name (letters, digits, ``_ . -``); it is part of every delivery's
        idempotency key, so keep it stable.
    on : str
        Event name: ``"drift"``, ``"performance"``, ``"prediction"``, ``"explanation"``,
        any name of your own, or ``"*"`` for every event.
    webhook : str, optional
        POST the event as JSON to this ``http(s)://`` URL; any 2xx answer is success.
    command : list of str, optional
        Run this program (no shell) in the project folder with the event JSON on stdin
        and in the ``DAWN_EVENT`` environment variable; exit status 0 is success.
    log : bool or str, optional
        Write a line to the ``dawn.act`` logger (``True`` = INFO, or a level name).
    retrain : bool, optional
        Run ``python -m dawn train`` in the project folder.
    headers : dict, optional
        Extra HTTP headers of a webhook (``${ENV}`` in dawn.toml keeps secrets out of it).
    timeout : float, optional
        Seconds one attempt may take (default 10; 3600 for ``retrain``).
    max_attempts : int
        Attempts before the delivery is given up (status ``failed``; ``Outbox.requeue``
        brings it back).
    backoff : float
        Seconds before the first retry; each further retry waits twice as long.
    rate_limit : str or float, optional
        At most this many deliveries are enqueued per period: ``"10/minute"``,
        ``"100/hour"``, ``"5/second"``, ``"50/day"``, or a number per minute. Emissions
        over it are suppressed (and counted), not queued.
    cooldown : float, optional
        Seconds after an emission during which the same event does not trigger this
        action again (per key when :func:`dawn.act.emit` is given one).
    when : dict, optional
        Conditions on the event payload, all of which must hold: ``{"below": x}``
        (``payload["value"] < x``), ``{"above": x}``, ``{"field": "accuracy"}`` (compare
        that key instead of ``"value"``), ``{"class": "spam"}`` (or a list of classes),
        ``{"min_confidence": 0.9}`` (``payload["confidence"] >= 0.9``),
        ``{"equals": {key: value}}`` (dotted keys reach into nested objects).

    Examples
    --------
    >>> a = Action("alert", on="prediction", log="warning",
    ...            when={"class": "spam", "min_confidence": 0.9})
    >>> a.matches("prediction", {"class": "spam", "confidence": 0.95})
    True
    >>> a.matches("prediction", {"class": "spam", "confidence": 0.5})
    False
    """

    def __init__(self, name: str, on: str, *, webhook: str | None = None,
                 command: Sequence[str] | None = None, log: bool | str = False,
                 retrain: bool = False, headers: Mapping[str, str] | None = None,
                 timeout: float | None = None, max_attempts: int = 5, backoff: float = 1.0,
                 rate_limit: str | float | None = None, cooldown: float | None = None,
                 when: Mapping[str, Any] | None = None) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"action name {name!r} must be 1–64 letters, digits, '_', '.' "
                              "or '-', starting with a letter or digit.")
        self.name = name
        where = f"action {name!r}"
        if not isinstance(on, str) or not _EVENT.match(on):
            raise ConfigError(f"{where}: on = {on!r} must be an event name such as "
                              f"{', '.join(repr(e) for e in EVENTS)}, your own name, or '*'.")
        self.on = on
        given = {"webhook": webhook is not None, "command": command is not None,
                 "log": log is not False and log is not None, "retrain": bool(retrain)}
        kinds = [k for k in KINDS if given[k]]
        if len(kinds) != 1:
            what = "none" if not kinds else " and ".join(kinds)
            raise ConfigError(f"{where}: give exactly one of webhook = \"https://...\", "
                              f"command = [...], log = true or retrain = true (got {what}).")
        self.kind = kinds[0]
        self.webhook = _check_url(webhook, where) if webhook is not None else None
        self.command = _check_command(command, where) if command is not None else None
        self.log = _check_log(log, where) if self.kind == "log" else None
        self.retrain = self.kind == "retrain"
        if self.retrain and retrain is not True:
            raise ConfigError(f"{where}: retrain = {retrain!r} must be true or false.")
        self.headers = _check_headers(headers, where)
        if self.headers and self.kind != "webhook":
            raise ConfigError(f"{where}: headers only apply to a webhook action.")
        if timeout is None:
            timeout = RETRAIN_TIMEOUT if self.retrain else DEFAULT_TIMEOUT
        self.timeout = _positive(timeout, "timeout", where)
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) \
                or max_attempts < 1:
            raise ConfigError(f"{where}: max_attempts = {max_attempts!r} must be a whole "
                              "number of at least 1.")
        self.max_attempts = max_attempts
        self.backoff = _positive(backoff, "backoff", where, zero=True)
        self.rate_limit = rate_limit
        self.rate = parse_rate(rate_limit, where) if rate_limit is not None else None
        self.cooldown = _positive(cooldown, "cooldown", where) if cooldown is not None else None
        self.when = _check_when(when, where)

    # -- matching ------------------------------------------------------------------
    def matches(self, event: str, payload: Mapping[str, Any] | None = None) -> bool:
        """Whether ``event`` with ``payload`` triggers this action."""
        if self.on != "*" and event != self.on:
            return False
        if not self.when:
            return True
        payload = payload if isinstance(payload, Mapping) else {}
        when = self.when
        value = _lookup(payload, when.get("field", "value"))
        if "below" in when and not (_number(value) and value < when["below"]):
            return False
        if "above" in when and not (_number(value) and value > when["above"]):
            return False
        if "class" in when:
            wanted = when["class"]
            cls = payload.get("class")
            if cls not in (wanted if isinstance(wanted, list) else [wanted]):
                return False
        if "min_confidence" in when:
            conf = payload.get("confidence")
            if not (_number(conf) and conf >= when["min_confidence"]):
                return False
        for key, expected in when.get("equals", {}).items():
            if _lookup(payload, key) != expected:
                return False
        return True

    # -- description ---------------------------------------------------------------
    @property
    def target(self) -> str:
        """What the action does, in a few words (for logs and the CLI)."""
        if self.kind == "webhook":
            return f"POST {self.webhook}"
        if self.kind == "command":
            return " ".join(self.command or [])
        if self.kind == "log":
            return f"log ({self.log})"
        return "dawn train"

    def to_dict(self) -> dict[str, Any]:
        """The action's settings as plain data (headers' values hidden)."""
        out: dict[str, Any] = {"name": self.name, "on": self.on, "kind": self.kind,
                               "target": self.target, "timeout": self.timeout,
                               "max_attempts": self.max_attempts, "backoff": self.backoff}
        if self.headers:
            out["headers"] = sorted(self.headers)
        for key in ("rate_limit", "cooldown", "when"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    def __repr__(self) -> str:
        return f"Action({self.name!r}, on={self.on!r}, {self.kind}: {self.target})"


def actions_from_config(raw_list: Any, base_dir: str | Path = ".") -> list[Action]:
    """The ``[[action]]`` tables of ``dawn.toml`` (``AppConfig.raw["action"]``) as actions.

    ``base_dir`` is the folder of ``dawn.toml``; errors name the file and the table.

    >>> acts = actions_from_config([{"name": "hook", "on": "drift",
    ...                              "webhook": "http://127.0.0.1:9/x", "max_attempts": 3}])
    >>> acts[0].kind, acts[0].max_attempts
    ('webhook', 3)
    >>> actions_from_config([{"name": "x", "on": "drift", "log": True, "retries": 3}])
    Traceback (most recent call last):
    ...
    dawn.errors.ConfigError: dawn.toml [[action]] #1 'x': unknown key 'retries'. Known keys: ...
    """
    where_file = "dawn.toml" if base_dir in (".", Path(".")) else str(Path(base_dir) / "dawn.toml")
    if raw_list is None:
        return []
    if isinstance(raw_list, Mapping) or not isinstance(raw_list, list):
        raise ConfigError(f"{where_file}: actions are [[action]] tables (a list of tables), "
                          f"got {type(raw_list).__name__}.")
    actions: list[Action] = []
    for i, spec in enumerate(raw_list, start=1):
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where_file}: [[action]] #{i} must be a table, got {spec!r}.")
        label = f"{where_file} [[action]] #{i}" + (f" {spec['name']!r}" if "name" in spec else "")
        unknown = sorted(set(spec) - set(CONFIG_KEYS))
        if unknown:
            raise ConfigError(f"{label}: unknown key {unknown[0]!r}. Known keys: "
                              f"{', '.join(CONFIG_KEYS)}.{close_matches(unknown[0], CONFIG_KEYS)}")
        for key in ("name", "on"):
            if key not in spec:
                raise ConfigError(f"{label}: missing {key} = \"...\"; every action needs a "
                                  "name and the event it listens to (on = \"drift\", ...).")
        kwargs = {k: v for k, v in spec.items() if k not in ("name", "on")}
        try:
            action = Action(spec["name"], spec["on"], **kwargs)
        except ConfigError as exc:
            raise ConfigError(f"{where_file} [[action]] #{i}: {exc}") from None
        actions.append(action)
    try:
        check_unique(actions)
    except ConfigError as exc:
        raise ConfigError(f"{where_file}: {exc}") from None
    return actions


def check_unique(actions: Sequence[Action]) -> dict[str, Action]:
    """``{name: action}``; a repeated name or a non-Action is a :class:`ConfigError`."""
    by_name: dict[str, Action] = {}
    for a in actions:
        if not isinstance(a, Action):
            raise ConfigError(f"actions must be dawn.act.Action objects, got {a!r}.")
        if a.name in by_name:
            raise ConfigError(f"two actions are named {a.name!r}; action names must be unique "
                              "(they are part of every delivery's idempotency key).")
        by_name[a.name] = a
    return by_name


def parse_rate(rate: str | float, where: str = "action") -> tuple[float, float]:
    """``(count, period_seconds)`` of a rate limit: ``"10/minute"``, ``"100/hour"`` or a
    number per minute.

    >>> parse_rate("10/minute"), parse_rate("100/hour"), parse_rate(30)
    ((10.0, 60.0), (100.0, 3600.0), (30.0, 60.0))
    """
    if isinstance(rate, bool):
        count, period = math.nan, 60.0
    elif isinstance(rate, (int, float)):
        count, period = float(rate), 60.0
    elif isinstance(rate, str) and (m := _RATE.match(rate.lower())):
        count, period = float(m.group(1)), float(_PERIOD[m.group(2)])
    else:
        count, period = math.nan, 60.0
    if not (count >= 1 and math.isfinite(count)):
        raise ConfigError(f"{where}: rate_limit = {rate!r} must look like \"10/minute\", "
                          "\"100/hour\", \"5/second\" or \"50/day\", or be a number (per "
                          "minute) of at least 1.")
    return count, period


# -- checks --------------------------------------------------------------------------
def _check_url(url: Any, where: str) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where}: webhook = {url!r} must be an http:// or https:// URL.")
    return url


def _check_command(command: Any, where: str) -> list[str]:
    if isinstance(command, str) or not isinstance(command, Sequence) or not command \
            or not all(isinstance(c, str) and c for c in command):
        hint = (f" Split it into words: command = {command.split()!r}."
                if isinstance(command, str) and command.strip() else "")
        raise ConfigError(f"{where}: command = {command!r} must be a non-empty list of "
                          f"strings (program and arguments; no shell).{hint}")
    return list(command)


def _check_log(log: Any, where: str) -> str:
    if log is True:
        return "info"
    if isinstance(log, str) and log.lower() in _LEVELS:
        return log.lower()
    raise ConfigError(f"{where}: log = {log!r} must be true or a level name "
                      f"({', '.join(_LEVELS)}).")


def _check_headers(headers: Any, where: str) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in headers.items()):
        raise ConfigError(f"{where}: headers must be a table of text values, e.g. "
                          "headers = { Authorization = \"Bearer ${TOKEN}\" }.")
    bad = [k for k in headers if "\n" in k + headers[k] or "\r" in k + headers[k]]
    if bad:
        raise ConfigError(f"{where}: header {bad[0]!r} contains a line break.")
    return dict(headers)


def _positive(value: Any, key: str, where: str, *, zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) and (value >= 0 if zero else value > 0)
    if not ok:
        least = "0 or more" if zero else "more than 0"
        raise ConfigError(f"{where}: {key} = {value!r} must be a number of seconds, {least}.")
    return float(value)


def _check_when(when: Any, where: str) -> dict[str, Any]:
    if when is None:
        return {}
    if not isinstance(when, Mapping):
        raise ConfigError(f"{where}: when must be a table of conditions, e.g. "
                          "when = { below = 0.8 }.")
    out = dict(when)
    for key in out:
        if key not in WHEN_KEYS:
            raise ConfigError(f"{where}: unknown condition when.{key}. Known conditions: "
                              f"{', '.join(WHEN_KEYS)}.{close_matches(key, WHEN_KEYS)}")
    for key in ("below", "above", "min_confidence"):
        if key in out and not _number(out[key]):
            raise ConfigError(f"{where}: when.{key} = {out[key]!r} must be a number.")
    if "field" in out and (not isinstance(out["field"], str) or not out["field"]):
        raise ConfigError(f"{where}: when.field = {out['field']!r} must name a payload key.")
    if "class" in out:
        cls = out["class"]
        classes = cls if isinstance(cls, list) else [cls]
        if not classes or not all(isinstance(c, (str, int)) and not isinstance(c, bool)
                                  for c in classes):
            raise ConfigError(f"{where}: when.class = {cls!r} must be a class name (or id), "
                              "or a list of them.")
    if "equals" in out and (not isinstance(out["equals"], Mapping) or not out["equals"]):
        raise ConfigError(f"{where}: when.equals = {out['equals']!r} must be a table of "
                          "payload keys and values, e.g. equals = { drifted = true }.")
    if "equals" in out:
        out["equals"] = dict(out["equals"])
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and not math.isnan(value)


_MISSING = object()


def _lookup(payload: Mapping[str, Any], key: str) -> Any:
    """``payload[key]``; a dotted key reaches into nested objects. Missing → a sentinel."""
    if key in payload:
        return payload[key]
    value: Any = payload
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def logger() -> logging.Logger:
    """The ``dawn.act`` logger (dawn never configures logging)."""
    return logging.getLogger("dawn.act")


def retrain_command() -> list[str]:
    """The program a ``retrain`` action runs (in the project folder)."""
    return [sys.executable, "-m", "dawn", "train"]
