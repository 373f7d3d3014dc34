"""The model registry: numbered versions of each model, with lineage and promotion.

Each registered version keeps its arrays and metadata as an artefact under
``.dawn/models/<name>/v<version>`` and a row with its metrics and lineage (data
fingerprint, label-model version, LF names, code version, ...). Versions never change
once written. Which version is served is a log of promotions: ``promote`` makes a version
*current* (the one before becomes *previous*) and ``rollback`` undoes the last promotion.

>>> import tempfile, numpy as np
>>> from dawn.store import Project
>>> with Project.init(tempfile.mkdtemp()) as project:
...     reg = project.registry
...     v1 = reg.register_model("spam", {"w": np.ones(3)}, {"classes": ["ham", "spam"]},
...                             metrics={"f1": 0.8}, promote=True)
...     v2 = reg.register_model("spam", {"w": np.zeros(3)}, {}, metrics={"f1": 0.9},
...                             parent=1, promote=True)
...     (reg.get("spam").version, reg.get("spam", "previous").version,
...      reg.rollback("spam").version)
(2, 1, 1)
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dawn.errors import ArtefactNotFoundError, StoreError, close_matches
from dawn.store.artefacts import dumps, load_artefact, save_artefact
from dawn.store.schema import Database, utcnow

__all__ = ["ModelVersion", "Registry", "check_name"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_name(name: Any, what: str = "model name") -> str:
    """Return ``name`` if it is usable in paths and URLs; else raise :class:`StoreError`."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise StoreError(f"{what} {name!r} is not allowed: use 1-128 letters, digits, '.', '_' "
                         "or '-', starting with a letter or digit (it becomes a folder and "
                         "part of URLs).")
    return name


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model (what :class:`Registry` returns)."""

    name: str
    version: int
    created_at: str
    status: str
    artefact: Path
    meta: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    parent_version: int | None = None
    stage: str | None = None  # "current", "previous" or None

    def load(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The version's ``(arrays, meta)`` read from its artefact."""
        return load_artefact(self.artefact)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields (for ``--json`` output and HTTP)."""
        return {"name": self.name, "version": self.version, "created_at": self.created_at,
                "status": self.status, "stage": self.stage, "artefact": str(self.artefact),
                "meta": self.meta, "metrics": self.metrics, "lineage": self.lineage,
                "parent_version": self.parent_version}


class Registry:
    """Model versions of one project (``Project(...).registry``)."""

    def __init__(self, db: Database, state_dir: Path) -> None:
        self._db = db
        self._dir = Path(state_dir)

    # -- writing -----------------------------------------------------------------
    def register_model(
        self,
        name: str,
        arrays: Mapping[str, Any],
        meta: Mapping[str, Any] | None = None,
        *,
        lineage: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        parent: int | None = None,
        promote: bool = False,
    ) -> ModelVersion:
        """Store a new version of model ``name``; return it.

        Parameters
        ----------
        name
            The model's name (letters, digits, ``.``, ``_``, ``-``).
        arrays, meta
            What is needed to rebuild the model: arrays go to ``.npz``, ``meta`` to JSON.
        lineage
            Where the version came from (data fingerprint, label-model version, LF
            names, ...). dawn's version is added as ``dawn_version``.
        metrics
            Evaluation numbers to compare versions by.
        parent
            The version this one was derived from (e.g. retrained from), if any.
        promote
            Make the new version current in the same transaction.
        """
        from dawn import __version__

        check_name(name)
        lineage_doc = {"dawn_version": __version__, **dict(lineage or {})}
        with self._db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO models (name, created_at) VALUES (?, ?)",
                         (name, utcnow()))
            versions = self._versions(name)
            if parent is not None and parent not in versions:
                raise ArtefactNotFoundError(f"parent version {parent!r} of model {name!r} does "
                                            f"not exist; versions are {versions}.")
            version = (max(versions) if versions else 0) + 1
            rel = f"models/{name}/v{version}"
            base = save_artefact(self._dir / rel, arrays, meta)
            try:
                conn.execute(
                    "INSERT INTO model_versions (model, version, created_at, artefact, meta, "
                    "metrics, lineage, parent_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, version, utcnow(), rel, dumps(meta or {}), dumps(metrics or {}),
                     dumps(lineage_doc), parent))
                if promote:
                    self._push(conn, name, version, "registered with promote=True")
            except BaseException:
                for suffix in (".npz", ".json"):
                    with contextlib.suppress(OSError):
                        base.with_name(base.name + suffix).unlink()
                raise
        return self.get(name, version)

    def promote(self, name: str, version: int | str, *, reason: str | None = None
                ) -> ModelVersion:
        """Make ``version`` the current version of ``name``; the old current becomes previous.

        Promoting the version that is already current changes nothing.
        """
        with self._db.transaction() as conn:
            target = self._resolve(name, version)
            stack = self._stack(name)
            if not stack or stack[0] != target:
                self._push(conn, name, target, reason)
        return self.get(name, target)

    def rollback(self, name: str) -> ModelVersion:
        """Undo the last promotion of ``name``: previous becomes current again. Returns it."""
        with self._db.transaction() as conn:
            self._require_model(name)
            rows = conn.execute(
                "SELECT id, version FROM promotions WHERE model = ? AND rolled_back_at IS NULL "
                "ORDER BY id DESC LIMIT 2", (name,)).fetchall()
            if len(rows) < 2:
                now = f"current is version {rows[0]['version']}" if rows else "none is current"
                raise StoreError(f"model {name!r} has no previous version to roll back to "
                                 f"({now}); promote a version with promote({name!r}, version).")
            conn.execute("UPDATE promotions SET rolled_back_at = ? WHERE id = ?",
                         (utcnow(), rows[0]["id"]))
            back = int(rows[1]["version"])
        return self.get(name, back)

    # -- reading -----------------------------------------------------------------
    def get(self, name: str, version: int | str | None = None) -> ModelVersion:
        """One version of ``name``.

        ``version`` is ``None`` or ``"current"`` (the promoted one), ``"previous"``,
        ``"latest"`` (highest number), or a number (``3``, ``"3"`` or ``"v3"``).

        Raises
        ------
        ArtefactNotFoundError
            An unknown model or version (the known ones are listed).
        """
        number = self._resolve(name, version)
        row = self._db.query("SELECT * FROM model_versions WHERE model = ? AND version = ?",
                             (name, number))[0]
        return self._row(row, self._stack(name))

    def load(self, name: str, version: int | str | None = None
             ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)`` of one version (see :meth:`get` for ``version``)."""
        return self.get(name, version).load()

    def list_models(self) -> list[str]:
        """Names of all registered models, sorted."""
        return [r["name"] for r in self._db.query("SELECT name FROM models ORDER BY name")]

    def list_versions(self, name: str) -> list[ModelVersion]:
        """All versions of ``name``, oldest first."""
        self._require_model(name)
        stack = self._stack(name)
        rows = self._db.query("SELECT * FROM model_versions WHERE model = ? ORDER BY version",
                              (name,))
        return [self._row(r, stack) for r in rows]

    # -- internals ---------------------------------------------------------------
    def _require_model(self, name: str) -> None:
        check_name(name)
        if not self._db.query("SELECT 1 FROM models WHERE name = ?", (name,)):
            known = self.list_models()
            raise ArtefactNotFoundError(
                f"no model {name!r} in the registry; models are {known}."
                f"{close_matches(name, known)}" if known else
                f"no model {name!r} in the registry; it has no models yet (train one first).")

    def _versions(self, name: str) -> list[int]:
        return [int(r[0]) for r in self._db.query(
            "SELECT version FROM model_versions WHERE model = ? ORDER BY version", (name,))]

    def _stack(self, name: str) -> list[int]:
        """Current and previous versions (newest promotion first)."""
        return [int(r[0]) for r in self._db.query(
            "SELECT version FROM promotions WHERE model = ? AND rolled_back_at IS NULL "
            "ORDER BY id DESC LIMIT 2", (name,))]

    def _push(self, conn: sqlite3.Connection, name: str, version: int, reason: str | None
              ) -> None:
        conn.execute("INSERT INTO promotions (model, version, promoted_at, reason) "
                     "VALUES (?, ?, ?, ?)", (name, version, utcnow(), reason))

    def _resolve(self, name: str, version: int | str | None) -> int:
        self._require_model(name)
        versions = self._versions(name)
        if version is None or version in ("current", "previous"):
            which = "previous" if version == "previous" else "current"
            stack = self._stack(name)
            pos = 0 if which == "current" else 1
            if len(stack) <= pos:
                raise ArtefactNotFoundError(
                    f"model {name!r} has no {which} version; versions are {versions}. Promote "
                    f"one with promote({name!r}, version), or ask for version='latest'.")
            return stack[pos]
        if version == "latest":
            return versions[-1]
        number: int | None = None
        if isinstance(version, (int, np.integer)) and not isinstance(version, bool):
            number = int(version)
        elif isinstance(version, str) and re.fullmatch(r"[vV]?\d+", version):
            number = int(version.lstrip("vV"))
        if number is None:
            raise ArtefactNotFoundError(
                f"version {version!r} is not understood; use a number, 'current', 'previous' "
                "or 'latest'.")
        if number not in versions:
            raise ArtefactNotFoundError(f"model {name!r} has no version {number}; versions are "
                                        f"{versions}.")
        return number

    def _row(self, row: sqlite3.Row, stack: list[int]) -> ModelVersion:
        version = int(row["version"])
        stage = "current" if stack[:1] == [version] else \
            "previous" if stack[1:2] == [version] else None
        return ModelVersion(
            name=row["model"], version=version, created_at=row["created_at"],
            status=row["status"], artefact=self._dir / row["artefact"],
            meta=json.loads(row["meta"]), metrics=json.loads(row["metrics"]),
            lineage=json.loads(row["lineage"]), parent_version=row["parent_version"],
            stage=stage)
