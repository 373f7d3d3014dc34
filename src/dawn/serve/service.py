"""``Service``: what the HTTP routes call — models, predictions, logging, monitoring, actions.

The service opens one project. It loads model versions through :func:`dawn.app.models.load`
and keeps them by ``(name, version)``; every request asks the registry which version is
current (a few indexed SQLite reads), so ``dawn promote`` / ``dawn rollback`` in another
process apply to the next request without a restart. Scored rows go to the
:class:`~dawn.serve.predlog.PredictionLog`; background threads check live traffic for
drift (:func:`dawn.app.monitoring.check_live`) and deliver actions (:func:`dawn.act.deliver`).

>>> import tempfile
>>> from dawn.demo.run import run_demo
>>> folder = tempfile.mkdtemp()
>>> _ = run_demo(folder, n=400, seed=0)
>>> service = Service(folder).start()
>>> out = service.predict("comment-spam", [{"text": "check out my channel",
...                                         "account_age_days": 3, "n_links": 1}])
>>> out["predictions"], out["version"]
(['spam'], 1)
>>> service.stop()
"""

from __future__ import annotations

import contextlib
import math
import threading
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from dawn.errors import (
    ArtefactNotFoundError,
    ColumnNotFoundError,
    ConfigError,
    DawnError,
    EmptyDataError,
    SchemaError,
    close_matches,
)
from dawn.runtime.threads import kernel_threads

__all__ = ["ServeSettings", "Service", "rows_frame"]

MAX_CHECK_ROWS = 50_000  # most live rows one drift check reads
PARALLEL_ROWS = 4096  # smaller requests score on the request's own thread only


@dataclass(frozen=True)
class ServeSettings:
    """The ``[serve]`` table of ``dawn.toml``.

    Attributes
    ----------
    log_max_rows : int or None
        Most rows kept in the prediction log (oldest deleted first).
    log_max_days : float or None
        Delete logged rows older than this many days.
    log_raw : bool
        Log raw text too (by default only what monitoring needs: lengths, word counts).
    monitor_interval : float
        Seconds between drift checks of live traffic (0 turns them off).
    monitor_min_rows : int
        New logged rows a model needs before it is checked.
    host, port : str, int
        Where ``dawn serve`` listens unless ``--host`` / ``--port`` say otherwise.
    """

    log_max_rows: int | None = 1_000_000
    log_max_days: float | None = None
    log_raw: bool = False
    monitor_interval: float = 60.0
    monitor_min_rows: int = 200
    host: str = "127.0.0.1"
    port: int = 8000

    @classmethod
    def from_project(cls, project: str | Path = ".") -> ServeSettings:
        """The ``[serve]`` table of the ``dawn.toml`` of the project at or above ``project``
        (defaults when there is none)."""
        from dawn.store import find_root

        root = find_root(project)
        if root is None or not (root / "dawn.toml").is_file():
            return cls()
        from dawn.app.config import load_config

        return cls.from_table(load_config(root / "dawn.toml").raw.get("serve"))

    @classmethod
    def from_table(cls, table: Mapping[str, Any] | None, where: str = "[serve]"
                   ) -> ServeSettings:
        """Settings from a ``[serve]`` table, checked (unknown keys, types, ranges).

        >>> ServeSettings.from_table({"log_raw": True}).log_raw
        True
        >>> ServeSettings.from_table({"log_rows": 10})
        Traceback (most recent call last):
        ...
        dawn.errors.ConfigError: unknown key 'log_rows' in [serve]; known keys are [...]...
        """
        table = dict(table or {})
        known = [f.name for f in fields(cls)]
        for key in table:
            if key not in known:
                raise ConfigError(f"unknown key {key!r} in {where}; known keys are {known}."
                                  f"{close_matches(key, known)}")

        def number(key: str, *, integer: bool, low: float, allow_none: bool) -> Any:
            value = table.get(key, getattr(cls, key))
            if value is None and allow_none:
                return None
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if ok and integer:
                ok = float(value).is_integer()
            if not ok or not math.isfinite(value) or value < low:
                kind = "a whole number" if integer else "a number"
                raise ConfigError(f"{where} {key} = {value!r} must be {kind} >= {low}.")
            return int(value) if integer else float(value)

        log_raw = table.get("log_raw", False)
        if not isinstance(log_raw, bool):
            raise ConfigError(f"{where} log_raw = {log_raw!r} must be true or false.")
        host = table.get("host", cls.host)
        if not isinstance(host, str) or not host:
            raise ConfigError(f"{where} host = {host!r} must be an address such as "
                              "\"127.0.0.1\".")
        port = number("port", integer=True, low=0, allow_none=False)
        if port > 65535:
            raise ConfigError(f"{where} port = {port} must be at most 65535.")
        return cls(
            log_max_rows=number("log_max_rows", integer=True, low=1, allow_none=True),
            log_max_days=number("log_max_days", integer=False, low=1e-9, allow_none=True),
            log_raw=log_raw,
            monitor_interval=number("monitor_interval", integer=False, low=0,
                                    allow_none=False),
            monitor_min_rows=number("monitor_min_rows", integer=True, low=1, allow_none=False),
            host=host, port=port,
        )


def _type_name(t: Any) -> str:
    import pyarrow as pa

    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_boolean(t):
        return "booleans"
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "numbers"
    return str(t)


def rows_frame(rows: Sequence[Mapping[str, Any]], featurizer: Any = None, *,
               what: str = "the model"):
    """Request rows (dicts) as a :class:`dawn.data.Frame`, checked against ``featurizer``.

    Raises :class:`EmptyDataError` for no rows, :class:`ColumnNotFoundError` for a
    column the model reads that no row has, and :class:`SchemaError` for a column whose
    values mix types or are of a type the model cannot read.

    >>> rows_frame([{"text": "hi", "n": 1}, {"text": None, "n": 2.5}]).columns
    ['text', 'n']
    """
    import pyarrow as pa

    from dawn.data import as_frame

    if not rows:
        raise EmptyDataError('"rows" is empty; send at least one row, e.g. '
                             '{"rows": [{"text": "..."}]}.')
    try:
        table = pa.Table.from_struct_array(pa.array(list(rows)))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        _raise_mixed(rows)
        raise
    frame = as_frame(table)
    if featurizer is None:
        return frame
    text = getattr(featurizer, "text", None)
    tab = getattr(featurizer, "tabular_", None)
    kinds = dict(zip(_columns(featurizer), tab.kinds_, strict=True)) if tab is not None else {}
    wanted = ([text] if text else []) + list(kinds)
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        hint = close_matches(missing[0], frame.columns)
        raise ColumnNotFoundError(
            f"the rows lack column(s) {missing} that {what} reads (it reads {wanted}); send "
            f"them in each row (null for an unknown value).{hint}")
    checks = [(text, "text")] if text else []
    checks += [(c, k) for c, k in kinds.items() if k in ("numeric", "bool")]
    for col, kind in checks:
        t = table.schema.field(col).type
        if pa.types.is_null(t):
            continue
        if kind == "text":
            ok = pa.types.is_string(t) or pa.types.is_large_string(t)
            need = "text (JSON strings)"
        elif kind == "numeric":
            ok = pa.types.is_integer(t) or pa.types.is_floating(t)
            need = "numbers"
        else:
            ok = pa.types.is_boolean(t) or pa.types.is_integer(t)
            need = "true/false"
        if not ok:
            raise SchemaError(f"column {col!r} must hold {need}, but the rows send "
                              f"{_type_name(t)}; fix the request body.")
    return frame


def _raise_mixed(rows: Sequence[Mapping[str, Any]]) -> None:
    """Name the column whose values mix JSON types (only on the error path)."""
    import pyarrow as pa

    columns = list(dict.fromkeys(k for r in rows for k in r))
    for col in columns:
        values = [r.get(col) for r in rows]
        try:
            pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            kinds = sorted({type(v).__name__ for v in values if v is not None})
            raise SchemaError(f"column {col!r} mixes value types {kinds} across rows; send "
                              "one type per column (numbers as numbers, text as strings)."
                              ) from None


class Service:
    """One project's models behind the API (see the module docstring).

    Parameters
    ----------
    project : path or Project
        The project folder (or one below it).
    settings : ServeSettings, optional
        Defaults to the ``[serve]`` table of the project's ``dawn.toml``.
    actions : list of dawn.act.Action, optional
        Defaults to the ``[[action]]`` tables of ``dawn.toml``.
    log : bool
        Log scored rows for monitoring.
    """

    def __init__(self, project: str | Path | Any = ".", *, settings: ServeSettings | None = None,
                 actions: list | None = None, log: bool = True) -> None:
        from dawn.serve.predlog import PredictionLog
        from dawn.store import Project

        root = project.root if isinstance(project, Project) else project
        self.project = Project.open(root, create=False)
        raw: dict[str, Any] = {}
        if self.project.config_path.is_file():
            from dawn.app.config import load_config

            raw = load_config(self.project.config_path).raw
        self.settings = settings or ServeSettings.from_table(raw.get("serve"))
        if actions is None:
            actions = []
            if raw.get("action"):
                from dawn.act import actions_from_config

                actions = list(actions_from_config(raw["action"], self.project.root))
        self.actions = actions
        self._on_prediction = any(getattr(a, "on", None) in ("prediction", "*")
                                  for a in actions)
        self.log = PredictionLog(self.project.root, max_rows=self.settings.log_max_rows,
                                 max_days=self.settings.log_max_days,
                                 log_raw=self.settings.log_raw) if log else None
        self._cache: dict[tuple[str, int], Any] = {}
        self._names: dict[int, list[str]] = {}
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._checked: dict[str, int] = {}
        self._start_id = 0
        self.monitor_errors: deque[str] = deque(maxlen=100)  # the latest background errors

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> Service:
        """Load the current models; start the prediction log, the drift monitor and the
        action delivery threads."""
        from dawn.serve.predlog import last_id

        self._stop.clear()
        for name in self.project.registry.list_models():  # load before the first request
            with contextlib.suppress(DawnError):
                self._served(name)
        if self.log is not None:
            self.log.start()
        self._start_id = last_id(self.project)
        if self.log is not None and self.settings.monitor_interval > 0:
            self._spawn("dawn-monitor", self._monitor_loop)
        if self.actions:
            self._spawn("dawn-actions", self._deliver_loop)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the background threads (writing what the log still holds)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        if self.log is not None:
            self.log.stop(timeout)

    def close(self) -> None:
        """Stop, then close the project."""
        self.stop()
        self.project.close()

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- models ------------------------------------------------------------------
    def model(self, name: str):
        """The current version of model ``name`` (a :class:`dawn.app.models.Model`)."""
        return self._served(name)[0]

    def _served(self, name: str) -> tuple[Any, list[str], list[str]]:
        """``(model, text_columns, feature_columns)`` of the current version of ``name``."""
        from dawn.app.models import load

        mv = self.project.registry.get(name)
        key = (name, mv.version)
        found = self._cache.get(key)
        if found is None:
            with self._load_lock:
                found = self._cache.get(key)
                if found is None:
                    older = [k for k in self._cache if k[0] == name]
                    for k in older[:-1]:  # keep the version served before (a rollback)
                        self._names.pop(id(self._cache.pop(k)[0].classifier), None)
                    model = load(name, mv.version, project=self.project.root)
                    text, columns = _monitor_columns(model.classifier)
                    spec = mv.meta.get("monitor_features") or {}
                    found = (model, list(spec.get("text_columns", text)),
                             list(spec.get("feature_columns", columns)))
                    self._cache[key] = found
        return found

    def list_models(self) -> list[dict[str, Any]]:
        """Every registered model with its versions, stages and metrics."""
        out = []
        registry = self.project.registry
        for name in registry.list_models():
            versions = registry.list_versions(name)
            current = next((v for v in versions if v.stage == "current"), None)
            shown = current or (versions[-1] if versions else None)
            out.append({
                "name": name,
                "current_version": None if current is None else current.version,
                "classes": None if shown is None else shown.meta.get("classes"),
                "versions": [{"version": v.version, "created_at": v.created_at,
                              "stage": v.stage, "metrics": v.metrics} for v in versions],
            })
        return out

    def drift(self, name: str, limit: int = 20) -> list[dict[str, Any]]:
        """The latest drift checks of model ``name``, newest first."""
        self.project.registry.list_versions(name)  # unknown model: ArtefactNotFoundError
        df = self.project.history.query(name, metric="drift_share", limit=int(limit))
        checks = []
        import pandas as pd

        for ts, version, value, details in zip(df["ts"], df["version"], df["value"],
                                               df["details"], strict=True):
            checks.append({"ts": ts.isoformat(),
                           "version": None if pd.isna(version) else int(version),
                           "drift_share": None if pd.isna(value) else float(value),
                           "details": details})
        return checks[::-1]

    # -- predicting --------------------------------------------------------------
    def predict(self, name: str, rows: Sequence[Mapping[str, Any]], *, explain: bool = False,
                top: int = 5) -> dict[str, Any]:
        """Score ``rows`` with the current version of ``name``.

        Returns ``predictions`` (class names), ``probabilities``, ``classes``, ``model``,
        ``version`` and ``explanations`` (the top features per row with ``explain``,
        else ``None``). Raises :class:`ArtefactNotFoundError` for an unknown model and a
        :class:`dawn.errors.DataError` for rows the model cannot read.
        """
        model, text, columns = self._served(name)
        clf = model.classifier
        frame = rows_frame(rows, clf.featurizer, what=f"model {name!r} v{model.version}")
        # small requests score with one numba thread: waking a thread team costs more than
        # the work, and the server's cores serve concurrent requests (per-thread setting)
        with kernel_threads(len(frame), PARALLEL_ROWS):
            proba = clf.predict_proba(frame)
        classes = list(model.classes or [str(j) for j in range(proba.shape[1])])
        ids = proba.argmax(axis=1)
        predictions = np.asarray(classes, dtype=object)[ids].tolist()
        explanations = None
        if explain:
            from dawn.serve.contrib import explain_rows

            explanations = explain_rows(clf, frame, proba=proba, top=top,
                                        names=self._feature_names(clf))
        if self.log is not None:  # monitoring columns the request lacks are left out
            have = set(frame.columns)
            self.log.log(name, model.version, frame, proba, classes,
                         text_columns=[c for c in text if c in have],
                         feature_columns=[c for c in columns if c in have])
        if self._on_prediction:
            self._emit_predictions(name, model.version, rows, predictions, proba, classes)
        return {"predictions": predictions, "probabilities": proba.tolist(),
                "classes": classes, "model": name, "version": int(model.version),
                "explanations": explanations}

    def _feature_names(self, clf: Any) -> list[str]:
        names = self._names.get(id(clf))
        if names is None:
            names = self._names[id(clf)] = clf.featurizer.feature_names_out()
        return names

    def _emit_predictions(self, name: str, version: int, rows: Sequence[Mapping[str, Any]],
                          predictions: list[str], proba: np.ndarray, classes: list[str]
                          ) -> None:
        from dawn.act import emit

        request = uuid.uuid4().hex
        conf = proba.max(axis=1).tolist()
        with self.project.transaction():
            for i, (row, pred) in enumerate(zip(rows, predictions, strict=True)):
                payload = {"model": name, "version": int(version), "prediction": pred,
                           "class": pred, "confidence": conf[i], "value": conf[i],
                           "probabilities": dict(zip(classes, proba[i].tolist(), strict=True)),
                           "row": dict(row)}
                emit(self.project, "prediction", payload, actions=self.actions,
                     key=f"{request}:{i}")

    # -- background --------------------------------------------------------------
    def monitor_once(self, project: Any = None) -> list:
        """Check each model with enough new logged rows for drift; return the reports."""
        from dawn.app.monitoring import check_live
        from dawn.serve.predlog import count_new, recent

        project = project or self.project
        reports = []
        for name in project.registry.list_models():
            try:
                version = project.registry.get(name).version
            except ArtefactNotFoundError:
                continue
            after = self._checked.get(name, self._start_id)
            n, last = count_new(project, name, after_id=after, version=version)
            if n < self.settings.monitor_min_rows:
                continue
            rows = recent(project, name, min(n, MAX_CHECK_ROWS), version=version,
                          after_id=after)
            self._checked[name] = last
            try:
                reports.append(check_live(project, name, rows))
            except DawnError as exc:  # e.g. a version registered without a reference
                self.monitor_errors.append(f"{name} v{version}: {exc}")
        return reports

    def _monitor_loop(self) -> None:
        from dawn.store import Project

        with Project.open(self.project.root, create=False) as project:
            while not self._stop.wait(self.settings.monitor_interval):
                with contextlib.suppress(Exception):  # never let monitoring kill the server
                    if self.log is not None:
                        self.log.flush()
                    self.monitor_once(project)

    def _deliver_loop(self) -> None:
        from dawn.act import deliver
        from dawn.store import Project

        with Project.open(self.project.root, create=False) as project:
            while not self._stop.is_set():
                try:
                    deliver(project, self.actions, once=False, stop=self._stop)
                except Exception as exc:  # a delivery bug must not end delivery for good
                    self.monitor_errors.append(f"action delivery: {exc}")
                    self._stop.wait(5.0)


def _monitor_columns(clf: Any) -> tuple[list[str], list[str]]:
    """The text and tabular columns a classifier reads (what monitoring logs of a row)."""
    text = getattr(clf.featurizer, "text", None)
    return ([text] if text else []), _columns(clf.featurizer)


def _columns(featurizer: Any) -> list[str]:
    columns = getattr(featurizer, "columns", None) or []
    return [columns] if isinstance(columns, str) else list(columns)
