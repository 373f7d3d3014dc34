"""Train from the app file: what ``dawn train`` and ``dawn demo`` run.

LFs → label matrix → label model → probabilistic labels → end model → evaluation against
gold (when the data has it, on rows held out from everything) → likely label errors →
the model registered with its lineage in the project's registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dawn.errors import ConfigError

__all__ = ["TrainRun", "fit_models", "register_run", "train_project"]


@dataclass
class TrainRun:
    """What ``dawn train`` did: the models, their scores and where they were registered."""

    name: str
    version: int
    label_model: Any
    classifier: Any
    metrics: dict[str, Any]
    label_errors: pd.DataFrame = field(repr=False)
    lineage: dict[str, Any] = field(repr=False)
    labels: Any = field(default=None, repr=False)  # the LabelRun of the LFs
    test: np.ndarray | None = field(default=None, repr=False)  # rows held out to evaluate

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "version": self.version,
            "label_model": {"method": self.label_model.method_,
                            "reason": self.label_model.method_reason_},
            "end_model": self.classifier.info["chosen"],
            "metrics": self.metrics,
            "label_errors": self.label_errors.head(20).to_dict(orient="records"),
        }


def _table(config, key: str, allowed: set[str] | None = None) -> dict[str, Any]:
    from dawn.app.config import TABLE_KEYS

    allowed = TABLE_KEYS[key] if allowed is None else allowed
    table = config.raw.get(key, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{config.path}: [{key}] must be a table.")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{config.path}: unknown key(s) {unknown} in [{key}]; allowed are "
                          f"{sorted(allowed)}.")
    return table


def train_project(path: str | Path = "dawn.toml", *, label_model: str | None = None,
                  model: str | None = None, progress: bool | None = None) -> TrainRun:
    """Run the app file's pipeline up to a registered, evaluated end model."""
    from dawn.app.config import load_config
    from dawn.app.labeling import label_data

    config = load_config(path)
    run = label_data(lfs=config.path, progress=progress)
    return register_run(config, fit_models(config, run, label_model=label_model, model=model))


def fit_models(config, run, *, label_model: str | None = None, model: str | None = None
               ) -> TrainRun:
    """Fit the label model and the end model on the labelled rows of ``run`` (a
    :class:`~dawn.app.labeling.LabelRun`) and evaluate both on held-out gold rows.

    The result is not registered yet (``version`` is 0): see :func:`register_run`.
    """
    from dawn.data import fingerprint
    from dawn.label import LabelModel
    from dawn.train import evaluate, find_label_errors, out_of_fold_proba, train
    from dawn.train.linear import LinearModel

    lm_cfg = _table(config, "label_model")
    m_cfg = _table(config, "model")
    seed = int(m_cfg.get("seed", 0))
    classes, L, frame = run.classes, run.L, run.frame
    k = L.cardinality if classes is None else len(classes)
    n = len(frame)
    # rows held out from the label model and the end model, to evaluate both on gold
    test = np.zeros(n, dtype=bool)
    if run.gold is not None:
        frac = float(m_cfg.get("test_fraction", 0.2))
        if not 0.0 < frac < 0.9:
            raise ConfigError(f"[model] test_fraction = {frac} must be between 0 and 0.9.")
        test[np.random.default_rng(seed).permutation(n)[: round(frac * n)]] = True
    fit_rows = np.flatnonzero(~test)
    L_fit = L.take(fit_rows)
    lm = LabelModel(cardinality=k, method=label_model or lm_cfg.get("method", "auto"),
                    seed=int(lm_cfg.get("seed", seed))).fit(L_fit)
    P = lm.predict_proba(L_fit)
    P[_no_votes(L_fit)] = np.nan  # rows no LF voted on teach the end model nothing
    columns = m_cfg.get("columns", [])
    text = m_cfg.get("text", config.text_column if config.text_column in frame else None)
    fit_frame = frame.take(fit_rows)
    clf = train(fit_frame, P, text=text, columns=columns, model=model or m_cfg.get("type", "auto"),
                classes=classes, seed=seed, holdout=float(m_cfg.get("holdout", 0.2)),
                calibrate=bool(m_cfg.get("calibrate", True)))

    metrics: dict[str, Any] = {"rows": n, "trained_rows": clf.info["trained_rows"],
                               "label_coverage": run.label_coverage}
    if run.gold is not None and test.any():
        test_rows = np.flatnonzero(test)
        gold = run.gold[test_rows]
        known = gold >= 0
        L_test = L.take(test_rows)
        metrics["label_model"] = evaluate(gold[known], lm.predict(L_test)[known], classes=classes)
        proba = clf.predict_proba(frame.take(test_rows))
        metrics["end_model"] = evaluate(gold[known], proba[known], classes=classes)
        metrics["evaluated_rows"] = int(known.sum())
    labelled = np.flatnonzero(np.isfinite(P).all(axis=1))
    X = clf.featurizer.transform(fit_frame.take(labelled))
    oof = out_of_fold_proba(lambda: LinearModel(seed=seed), X, P[labelled], n_folds=5, seed=seed)
    errors = find_label_errors(P[labelled], oof)
    errors["row"] = fit_rows[labelled][errors["row"].to_numpy()]

    lineage = {
        "data": {"source": config.data, "rows": n, "fingerprint": fingerprint(frame)},
        "lfs": config.lf_specs,
        "classes": classes,
        "label_model": {"method": lm.method_, "reason": lm.method_reason_,
                        "accuracies": _by_lf(run.L.lf_names, lm.accuracies_)},
        "lf_analysis": _lf_analysis(run.summary),
        "end_model": clf.info["chosen"],
        "app_file": str(config.path),
    }
    return TrainRun(config.name, 0, lm, clf, metrics, errors, lineage, run, test)


def register_run(config, result: TrainRun, *, arrays: dict[str, Any] | None = None,
                 meta: dict[str, Any] | None = None, lineage: dict[str, Any] | None = None,
                 metrics: dict[str, Any] | None = None) -> TrainRun:
    """Register ``result``'s models as a new current version of ``config.name``.

    ``arrays`` / ``meta`` / ``lineage`` / ``metrics`` add to what is stored (e.g. a
    monitoring reference); ``result.version`` is set to the new version and returned.
    """
    from dawn.store import Project

    model_arrays, model_meta = result.classifier.to_arrays()
    lm_arrays, lm_meta = result.label_model.to_arrays()
    model_arrays.update({f"label_model.{key}": v for key, v in lm_arrays.items()})
    model_meta["label_model"] = lm_meta
    model_arrays.update(arrays or {})
    model_meta.update(meta or {})
    result.lineage.update(lineage or {})
    flat = {**_flat_metrics(result.metrics), **(metrics or {})}
    with Project.open(config.base_dir, create=True) as project:
        with project.transaction():
            version = project.registry.register_model(config.name, model_arrays, model_meta,
                                                      lineage=result.lineage, metrics=flat,
                                                      promote=True)
            run_id = project.runs.start("train", {"model": config.name})
            project.runs.finish(run_id, summary={"version": version.version,
                                                 "metrics": result.metrics})
    result.version = version.version
    return result


def _by_lf(names, values) -> dict[str, float | None]:
    return {str(n): (float(v) if np.isfinite(v) else None) for n, v in zip(names, values,
                                                                         strict=True)}


def _lf_analysis(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """The LF analysis table as JSON-able records (what the dashboard shows)."""
    columns = {"Polarity": "polarity", "Coverage": "coverage", "Overlaps": "overlaps",
               "Conflicts": "conflicts", "Emp. Acc.": "emp_accuracy"}
    records = []
    for name, row in summary.iterrows():
        record: dict[str, Any] = {"lf": str(name)}
        for col, key in columns.items():
            if col in summary.columns:
                value = row[col]
                if isinstance(value, (list, tuple, np.ndarray)):
                    value = [str(v) for v in value]
                elif isinstance(value, (int, float, np.number)):
                    value = float(value) if np.isfinite(value) else None
                record[key] = value
        records.append(record)
    return records


def _no_votes(L) -> np.ndarray:
    return np.diff(L.votes_csr().indptr) == 0


def _flat_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Headline numbers for the registry: accuracy and macro F1 of both models."""
    out = {"label_coverage": float(metrics["label_coverage"])}
    for part in ("label_model", "end_model"):
        if part in metrics:
            for key in ("accuracy", "macro_f1"):
                if key in metrics[part]:
                    out[f"{part}.{key}"] = float(metrics[part][key])
    return out
