"""``dawn run``: the whole app file — label, train, evaluate, register, store a reference.

:func:`run_project` checks ``dawn.toml`` and everything it names before any work starts,
applies the labeling functions (reusing each LF's votes from ``.dawn/cache`` when neither
the LF nor the data changed), fits the label model and the end model, evaluates both on a
seeded held-out split of the gold labels, registers a new version with its lineage and
stores a drift-monitoring reference in it. When the current version was built from the
same data, the same app file and the same dawn version, nothing is redone.

>>> import tempfile
>>> from dawn.demo.run import write_demo_project
>>> folder = write_demo_project(tempfile.mkdtemp(), n=600)
>>> first = run_project(folder)
>>> first.version, first.up_to_date, sorted(first.to_dict()["end_model"]["f1"])
(1, False, ['ham', 'spam'])
>>> again = run_project(folder)
>>> again.version, again.up_to_date
(1, True)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["AppRun", "run_project"]

CACHE_DIR = "cache"  # under .dawn/: one artefact of votes per (LF, data) pair


@dataclass
class AppRun:
    """What :func:`run_project` did (or found already done)."""

    name: str
    version: int
    up_to_date: bool
    lineage: dict[str, Any] = field(repr=False)
    applied: list[str] = field(default_factory=list)  # LFs applied this run
    cached: list[str] = field(default_factory=list)  # LFs whose votes came from the cache
    train: Any = field(default=None, repr=False)  # the TrainRun (None when up to date)

    @property
    def metrics(self) -> dict[str, Any]:
        """Accuracy and per-class precision / recall / F1 of both models (see ``to_dict``)."""
        return self.lineage.get("metrics", {})

    def to_dict(self) -> dict[str, Any]:
        """Plain types for ``--json``: ``label_model.f1`` and ``end_model.f1`` map each class
        to its F1 on the held-out gold rows (absent without gold labels)."""
        return {"model": self.name, "version": self.version, "up_to_date": self.up_to_date,
                **self.metrics,
                "lfs": {"applied": self.applied, "cached": self.cached},
                "fingerprint": self.lineage.get("data", {}).get("fingerprint"),
                "config_hash": self.lineage.get("config_hash")}


def run_project(path: str | Path = "dawn.toml", *, force: bool = False,
                progress: bool | None = None) -> AppRun:
    """Run the app file at ``path`` (a file or its folder) end to end.

    Parameters
    ----------
    path
        ``dawn.toml`` or the folder holding it.
    force
        Retrain even when the current version is up to date.
    progress
        Show progress bars (``None``: on a terminal for long work).

    Returns
    -------
    AppRun
        The registered (or already current) version, its lineage and metrics.
    """
    from dawn import __version__
    from dawn.app.config import check_app, load_config
    from dawn.data import fingerprint
    from dawn.errors import ArtefactNotFoundError
    from dawn.store import Project

    config = load_config(path)
    checked = check_app(config)
    frame = checked.frame
    data_fp = fingerprint(frame)
    config_hash = _config_hash(config)
    with Project.open(config.base_dir, create=True) as project:
        try:
            current = project.registry.get(config.name)
        except ArtefactNotFoundError:
            current = None
        state_dir = project.state_dir
    if current is not None and not force:
        lin = current.lineage
        if (lin.get("data", {}).get("fingerprint") == data_fp
                and lin.get("config_hash") == config_hash
                and lin.get("dawn_version") == __version__):
            return AppRun(config.name, current.version, True, lin,
                          cached=[s["name"] for s in config.lf_specs])
    labels, applied, cached, lf_hashes = _label(checked, data_fp, state_dir / CACHE_DIR,
                                                progress)
    from dawn.app.training import fit_models, register_run

    result = fit_models(config, labels)
    arrays, meta = _reference(config, labels, result)
    summary = _summary(result.metrics)
    result = register_run(
        config, result, arrays=arrays, meta=meta,
        lineage={"config_hash": config_hash, "lf_hashes": lf_hashes, "metrics": summary},
        metrics=_per_class_metrics(summary))
    return AppRun(config.name, result.version, False, result.lineage, applied, cached, result)


# -- caching -------------------------------------------------------------------------
def _digest(*parts: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part if isinstance(part, bytes) else
                 json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()


def _python_source(config, spec: dict[str, Any]) -> bytes:
    target = spec.get("python")
    if not isinstance(target, str) or ":" not in target:
        return b""
    file = config.base_dir / target.rsplit(":", 1)[0]
    return file.read_bytes() if file.is_file() else b""


def _config_hash(config) -> str:
    """The app file's text plus the Python files its LFs come from."""
    files = sorted({s["python"].rsplit(":", 1)[0] for s in config.lf_specs
                    if isinstance(s.get("python"), str) and ":" in s["python"]})
    return _digest(config.text, *[(config.base_dir / f).read_bytes() for f in files])


def _lf_key(config, spec: dict[str, Any], data_fp: str) -> str:
    from dawn import __version__

    return _digest(spec, config.text_column, config.classes, _python_source(config, spec),
                   data_fp, __version__)


def _label(checked, data_fp: str, cache: Path, progress: bool | None):
    """The label matrix, each LF's votes from the cache when its spec and the data match."""
    from dawn.app.labeling import LabelRun, _gold_ids
    from dawn.errors import ArtefactNotFoundError, StoreError
    from dawn.label import LFAnalysis, apply_lfs
    from dawn.label.matrix import LabelMatrix, smallest_label_dtype
    from dawn.store import load_artefact, save_artefact

    config, frame, lfs = checked.config, checked.frame, checked.lfs
    classes = config.classes
    keys = [_lf_key(config, spec, data_fp) for spec in config.lf_specs]
    columns: dict[int, np.ndarray] = {}
    for j, key in enumerate(keys):
        try:
            arrays, _ = load_artefact(cache / f"lf-{key}")
        except (ArtefactNotFoundError, StoreError):
            continue
        votes = arrays.get("votes")
        if votes is not None and votes.shape == (len(frame),):
            columns[j] = votes
    missing = [j for j in range(len(lfs)) if j not in columns]
    if missing:
        L_new = np.asarray(apply_lfs([lfs[j] for j in missing], frame, classes=classes,
                                     progress=progress))
        for pos, j in enumerate(missing):
            columns[j] = np.ascontiguousarray(L_new[:, pos])
            save_artefact(cache / f"lf-{keys[j]}", {"votes": columns[j]},
                          {"lf": lfs[j].name, "fingerprint": data_fp})
    k = len(classes) if classes else max([int(c.max()) for c in columns.values()] + [1]) + 1
    votes = np.empty((len(frame), len(lfs)), dtype=smallest_label_dtype(k - 1))
    for j, col in columns.items():
        votes[:, j] = col
    L = LabelMatrix(votes, [lf.name for lf in lfs], classes)
    gold = None
    if config.gold_column is not None:
        gold = _gold_ids(frame.numpy(config.gold_column, purpose="[data] gold"), classes,
                         config.gold_column)
    analysis = LFAnalysis(L, lfs, data=frame, cardinality=len(classes) if classes else None)
    run = LabelRun(L=L, lfs=lfs, frame=frame, classes=classes, summary=analysis.summary(Y=gold),
                   label_coverage=float(analysis.label_coverage()),
                   warnings=[w.message for w in analysis.warnings(Y=gold)], analysis=analysis,
                   text_column=config.text_column, gold=gold)
    applied = [lfs[j].name for j in missing]
    cached = [lfs[j].name for j in range(len(lfs)) if j not in missing]
    return run, applied, cached, {lf.name: key for lf, key in zip(lfs, keys, strict=True)}


# -- the monitoring reference ------------------------------------------------------------
def _monitored_columns(config, result) -> tuple[list[str], list[str]]:
    """``(text_columns, feature_columns)`` that monitoring sees of each scored row."""
    m_cfg = config.table("model")
    frame = result.labels.frame
    text = m_cfg.get("text", config.text_column if config.text_column in frame else None)
    texts = [text] if isinstance(text, str) else list(text or [])
    features = list(m_cfg.get("columns", []))
    extra = config.table("monitor").get("columns", [])
    features += [c for c in ([extra] if isinstance(extra, str) else extra)
                 if c not in features and c not in texts]
    return texts, features


def _reference(config, labels, result) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A DriftMonitor fitted on what monitoring sees of the training rows (and the LF
    votes, as ``lf.<name>``), as artefact arrays under ``monitor.`` and meta."""
    from dawn.app.monitoring import monitor_features
    from dawn.monitor import DriftMonitor

    mon = config.table("monitor")
    texts, features = _monitored_columns(config, result)
    frame = labels.frame
    proba = result.classifier.predict_proba(frame)
    ref = monitor_features(frame, proba, result.classifier.classes, text_columns=texts,
                           feature_columns=features)
    if mon.get("lfs", True) and labels.L.shape[1]:
        from dawn.monitor import lf_drift_frame

        lf_df = lf_drift_frame(labels.L).to_pandas()
        lf_df.columns = [f"lf.{c}" for c in lf_df.columns]
        ref = pd.concat([ref, lf_df.set_axis(ref.index)], axis=1)
    options = {key: mon[key] for key in ("categorical", "threshold", "alpha", "sample_size",
                                         "explain") if key in mon}
    seed = int(config.table("model").get("seed", 0))
    monitor = DriftMonitor(**options, seed=seed).fit(ref)
    arrays, meta = monitor.to_arrays()
    return ({f"monitor.{key}": v for key, v in arrays.items()},
            {"monitor": meta,
             "monitor_features": {"text_columns": texts, "feature_columns": features}})


# -- metrics -------------------------------------------------------------------------------
def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """Headline numbers and per-class precision / recall / F1 of both models."""
    out: dict[str, Any] = {key: metrics[key] for key in
                           ("rows", "trained_rows", "label_coverage", "evaluated_rows")
                           if key in metrics}
    for part in ("label_model", "end_model"):
        if part not in metrics:
            continue
        m = metrics[part]
        out[part] = {"accuracy": m["accuracy"], "coverage": m["coverage"],
                     "macro_f1": m["macro_f1"],
                     **{stat: {c: v[stat] for c, v in m["per_class"].items()}
                        for stat in ("precision", "recall", "f1")}}
    return out


def _per_class_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """Flat registry metrics: ``end_model.f1.spam`` and the like."""
    out: dict[str, float] = {}
    for part in ("label_model", "end_model"):
        for stat in ("precision", "recall", "f1"):
            for c, v in summary.get(part, {}).get(stat, {}).items():
                out[f"{part}.{stat}.{c}"] = float(v)
    return out
