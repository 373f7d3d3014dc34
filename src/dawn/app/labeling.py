"""Label data from files: what ``dawn label`` and ``dawn demo`` run.

Resolves where the rows, the labeling functions and the class names come from (arguments,
a Python file of LFs, or ``dawn.toml``), applies the LFs and analyses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dawn.errors import ConfigError, LabelError

__all__ = ["LabelRun", "label_data"]


@dataclass
class LabelRun:
    """The outcome of applying labeling functions: the matrix and its analysis."""

    L: Any  # LabelMatrix
    lfs: list
    frame: Any  # Frame
    classes: list[str] | None
    summary: pd.DataFrame
    label_coverage: float
    warnings: list[str]
    analysis: Any = field(repr=False)  # LFAnalysis
    text_column: str = "text"
    label_model: Any = field(default=None, repr=False)
    gold: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    @property
    def n_errors(self) -> int:
        return len(self.L.errors)

    def examples(self, lf: str, kind: str = "fires", n: int = 10) -> pd.DataFrame:
        """The rows behind a number of the summary (see ``LFAnalysis.examples``)."""
        return self.analysis.examples(lf, kind=kind, n=n, Y=self.gold)

    def label_model_accuracy(self) -> float | None:
        """Accuracy of the label model's predictions on rows with gold labels it covers."""
        if self.label_model is None or self.gold is None:
            return None
        pred = self.label_model.predict(self.L)
        ok = (self.gold >= 0) & (pred >= 0)
        return float((pred[ok] == self.gold[ok]).mean()) if ok.any() else None

    def to_dict(self) -> dict[str, Any]:
        """Plain types for ``--json``."""
        summary = self.summary.copy()
        summary.index.name = "lf"
        extra = {}
        if self.label_model is not None:
            extra["label_model"] = {"method": self.label_model.method_,
                                    "reason": self.label_model.method_reason_,
                                    "accuracy": self.label_model_accuracy()}
        return {**extra,
            "rows": self.n_rows,
            "classes": self.classes,
            "label_coverage": self.label_coverage,
            "lfs": summary.reset_index().to_dict(orient="records"),
            "warnings": self.warnings,
            "errors": self.n_errors,
        }


def _gold_ids(values: np.ndarray, classes: list[str] | None, column: str) -> np.ndarray:
    """Gold labels as ints 0..k-1 (-1 for missing), from ids or class names."""
    s = pd.Series(values)
    if classes is not None and not pd.api.types.is_numeric_dtype(s):
        mapping = {c: i for i, c in enumerate(classes)}
        bad = sorted(set(s.dropna().astype(str)) - set(mapping))
        if bad:
            raise LabelError(f"gold column {column!r} holds {bad[:5]}, not among the classes "
                             f"{classes}; fix the column or the classes.")
        return s.map(mapping).fillna(-1).to_numpy(dtype=np.int64)
    numeric = pd.to_numeric(s, errors="coerce")
    if numeric.isna().any() and s.notna().any() and numeric.notna().sum() == 0:
        raise LabelError(f"gold column {column!r} holds names like {s.iloc[0]!r} but no classes "
                         "were given; pass --classes or set [labels] classes in dawn.toml.")
    return numeric.fillna(-1).to_numpy(dtype=np.int64)


def label_data(*, data: Any = None, lfs: Any = None, classes: list[str] | None = None,
               gold: str | None = None, backend: str = "auto", fault_tolerant: bool = False,
               progress: bool | None = None, label_model: str | None = None) -> LabelRun:
    """Apply labeling functions and analyse them.

    ``data`` is a path, a table object, or ``None`` to use ``[data]`` of ``dawn.toml``;
    ``lfs`` is a list of LFs, a ``.py`` file of LFs, a ``dawn.toml``, or ``None`` for
    ``./dawn.toml``. With ``label_model`` (a :class:`dawn.label.LabelModel` method name) a
    label model is fitted too and its estimated LF accuracies join the summary.
    """
    from dawn.app.config import load_config
    from dawn.data import as_frame, read
    from dawn.label import LFAnalysis, apply_lfs
    from dawn.label.spec import lfs_from_file

    config = None
    if lfs is None or (isinstance(lfs, (str, Path)) and Path(lfs).suffix in (".toml", "")):
        config = load_config(lfs if lfs is not None else "dawn.toml")
        lf_list, file_classes = config.labeling_functions(), config.classes
        gold = gold or config.gold_column
    elif isinstance(lfs, (str, Path)):
        if Path(lfs).suffix != ".py":
            raise ConfigError(f"--lfs {str(lfs)!r}: give a .py file of labeling functions or a "
                              "dawn.toml.")
        lf_list, file_classes = lfs_from_file(lfs)
    else:
        lf_list, file_classes = list(lfs), None
    classes = classes or file_classes
    if data is None:
        if config is None or not config.data:
            raise ConfigError("no data given: pass a CSV/Parquet path, or run where a dawn.toml "
                              "has a [data] table.")
        frame = config.read_data()
    elif isinstance(data, (str, Path)):
        frame = read(data)
    else:
        frame = as_frame(data)
    y = None
    if gold is not None:
        y = _gold_ids(frame.numpy(gold, purpose="--gold"), classes, gold)
    L = apply_lfs(lf_list, frame, backend=backend, classes=classes,
                  fault_tolerant=fault_tolerant, progress=progress)
    analysis = LFAnalysis(L, lf_list, data=frame, cardinality=len(classes) if classes else None)
    lm = None
    if label_model is not None:
        from dawn.label import LabelModel

        lm = LabelModel(cardinality=len(classes) if classes else None, method=label_model).fit(L)
    summary = analysis.summary(Y=y, est_weights=lm)
    run = LabelRun(L=L, lfs=lf_list, frame=frame, classes=classes, summary=summary,
                   label_coverage=float(analysis.label_coverage()),
                   warnings=[w.message for w in analysis.warnings(Y=y)], analysis=analysis,
                   text_column=config.text_column if config is not None else "text", gold=y,
                   label_model=lm)
    if config is not None:  # a project: keep a record of the run beside its state
        _record(config.base_dir, run)
    return run


def _record(folder: Path, run: LabelRun) -> None:
    from dawn.store import Project

    with Project.open(folder, create=True) as project:
        run_id = project.runs.start("label", {"lfs": [lf.name for lf in run.lfs]})
        project.runs.finish(run_id, summary=run.to_dict())
