"""What monitoring sees of scored rows, and the live drift check of a served model.

:func:`monitor_features` turns scored rows into the columns drift is checked on — the same
at training time (the reference stored with each model version) and in the server (live
traffic): tabular input columns as they are, each text column as ``<col>.length``
(characters) and ``<col>.words`` (word count) rather than its raw text, plus
``prediction`` (class name) and ``confidence`` (the largest probability).

>>> import numpy as np, pandas as pd
>>> rows = pd.DataFrame({"text": ["win a free prize", "see you", None], "age": [3, 40, 7]})
>>> proba = np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]])
>>> monitor_features(rows, proba, ["ham", "spam"], text_columns=["text"],
...                  feature_columns=["age"])
   age  text.length  text.words prediction  confidence
0    3           16           4       spam         0.9
1   40            7           2        ham         0.8
2    7            0           0        ham         0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dawn.errors import SchemaError

__all__ = ["check_live", "monitor_features", "reference_from_arrays"]


def monitor_features(data: Any, proba: Any, classes: Sequence[str] | None, *,
                     text_columns: Sequence[str] = (), feature_columns: Sequence[str] = (),
                     log_raw: bool = False) -> pd.DataFrame:
    """The columns drift monitoring checks for each scored row.

    Parameters
    ----------
    data : frame-like
        The scored rows (pandas, polars, Arrow, dict of columns or a ``Frame``).
    proba : array (n, k)
        The model's class probabilities for those rows.
    classes : list of str or None
        Class names (positions are class ids); ``None`` names classes ``"0"``, ``"1"``, ...
    text_columns : sequence of str
        Text columns: each becomes ``<col>.length`` and ``<col>.words`` (a missing text
        counts as empty, length 0 and 0 words).
    feature_columns : sequence of str
        Tabular input columns, kept as they are (text columns named here are skipped).
    log_raw : bool
        Also keep each text column's raw text under its own name.

    Returns
    -------
    pandas.DataFrame
        One row per input row: the feature columns, the text statistics, then
        ``prediction`` and ``confidence``.

    Examples
    --------
    >>> monitor_features({"x": [1.5, 2.5]}, [[0.7, 0.3], [0.4, 0.6]], None,
    ...                  feature_columns=["x"]).to_dict("list")
    {'x': [1.5, 2.5], 'prediction': ['0', '1'], 'confidence': [0.7, 0.6]}
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from dawn.data import as_frame

    frame = as_frame(data)
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != len(frame) or p.shape[1] < 1:
        raise SchemaError(f"proba must have shape (rows, classes) = ({len(frame)}, k), got "
                          f"{p.shape}; pass the model's predict_proba of the same rows.")
    if classes is not None and len(classes) != p.shape[1]:
        raise SchemaError(f"{len(classes)} class names {list(classes)} for {p.shape[1]} "
                          "probability columns; pass the model's classes.")
    text_columns = list(dict.fromkeys(text_columns))
    features = [c for c in dict.fromkeys(feature_columns) if c not in text_columns]
    frame.require(*features, *text_columns, purpose="monitoring")
    out = frame.select(features).to_pandas() if features else pd.DataFrame(index=range(len(frame)))
    for col in text_columns:
        arr = frame.arrow(col)
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = arr.cast(pa.large_string())
        arr = pc.fill_null(arr, "")
        if log_raw:
            out[col] = arr.to_numpy(zero_copy_only=False).astype(object, copy=False)
        out[f"{col}.length"] = pc.utf8_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
        out[f"{col}.words"] = (pc.count_substring_regex(arr, pattern=r"\S+")
                               .to_numpy(zero_copy_only=False).astype(np.int64))
    names = np.asarray(list(classes) if classes is not None
                       else [str(j) for j in range(p.shape[1])], dtype=object)
    ids = p.argmax(axis=1) if len(p) else np.zeros(0, dtype=np.int64)
    out["prediction"] = names[ids]
    out["confidence"] = p[np.arange(len(ids)), ids]
    return out


def reference_from_arrays(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Any:
    """The fitted :class:`dawn.monitor.DriftMonitor` stored in a model version's artefact
    (arrays under ``monitor.``, its meta under ``"monitor"``)."""
    from dawn.monitor import DriftMonitor

    own = {k[len("monitor."):]: v for k, v in arrays.items() if k.startswith("monitor.")}
    return DriftMonitor.from_arrays(own, meta["monitor"])


def check_live(project: Any, name: str, rows: Any) -> Any:
    """Check live rows of model ``name`` for drift against its current version's reference.

    ``rows`` is what monitoring sees of scored requests (:func:`monitor_features` columns,
    e.g. the server's prediction log). The check is recorded in the project's history
    (``model=name``, the version) and, when something drifted, a ``"drift"`` event (payload:
    ``drifted_columns``, ``drift_share``, ``version``, ``summary``) goes to the project's
    ``[[action]]`` s through the outbox — in the same transaction as the history record.
    Reference columns the rows cannot have (the LF votes, ``lf.*``, which the server does
    not compute) are left out of the check.

    Returns
    -------
    DriftReport
    """
    from dawn.data import as_frame
    from dawn.monitor.alerts import record_check
    from dawn.store import Project

    if isinstance(project, (str, Path)):
        with Project.open(project, create=False) as opened:
            return check_live(opened, name, rows)
    version = project.registry.get(name)
    arrays, meta = version.load()
    if "monitor" not in meta:
        from dawn.errors import ArtefactNotFoundError

        raise ArtefactNotFoundError(
            f"model {name!r} v{version.version} has no monitoring reference; register it with "
            "`dawn run` (which stores one) to monitor live traffic.")
    monitor = reference_from_arrays(arrays, meta)
    frame = as_frame(rows)
    monitor = _restricted(monitor, frame.columns)
    report = monitor.check(frame)
    record_check(project, report, model=name, version=version.version,
                 actions=_project_actions(project))
    return report


def _project_actions(project: Any) -> list:
    """The ``[[action]]`` s of the project's ``dawn.toml`` (none without one)."""
    if not project.config_path.is_file():
        return []
    from dawn.app.config import load_config

    config = load_config(project.config_path)
    if not config.raw.get("action"):
        return []
    from dawn.act import actions_from_config

    return actions_from_config(config.raw["action"], config.base_dir)


def _restricted(monitor: Any, columns: list[str]) -> Any:
    """``monitor`` without its ``lf.*`` columns that ``columns`` lacks (LF votes are in the
    reference, but live rows only have them when the caller computed them)."""
    present = set(columns)
    keep = [c for c in monitor.columns_ if c in present or not c.startswith("lf.")]
    return monitor if keep == monitor.columns_ else monitor.select(keep)
