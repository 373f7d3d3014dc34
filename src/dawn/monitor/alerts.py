"""Store a monitoring result in the project and act on it, in one transaction.

A drift check (or a performance estimate) is recorded in the project's history, and when it
calls for attention an event is emitted to the project's actions through the durable outbox
— both in the same SQLite transaction, so an alert is never lost after the check was stored
and never sent for a check that was not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = ["record_check", "record_estimate"]


def record_check(project, report, *, model: str = "data", version: int | None = None,
                 actions: Sequence[Any] = ()) -> list[int]:
    """Record a :class:`DriftReport` in ``project``'s history; emit ``"drift"`` if it drifted.

    History gets ``drift_share`` (the fraction of columns that drifted) and one
    ``effect.<column>`` point per column, with ``report.summary()`` as details. When the
    report found segments, an ``"explanation"`` event (payload ``segments``) follows.
    Returns the outbox ids of the actions the events queued (empty when nothing drifted or
    no action listens). The same drifted columns (or top segment) of the same version alert
    at most once a day.
    """
    from dawn.act import emit

    table = report.to_pandas()
    summary = report.summary()
    values = {"drift_share": float(table["drifted"].mean()) if len(table) else 0.0}
    values.update({f"effect.{c}": float(e) for c, e in zip(table["column"],
                                                           table["effect_size"], strict=True)})
    with project.transaction():
        project.history.record(model, values, version=version, details=summary)
        if not report.drifted:
            return []
        payload = {"model": model, "version": version,
                   "drifted_columns": list(report.drifted_columns),
                   "drift_share": values["drift_share"], "summary": summary}
        # the same drifted columns of the same version alert once a day at most; actions'
        # own cooldown / rate_limit tighten this further
        day = datetime.now(UTC).date().isoformat()
        columns = ",".join(sorted(report.drifted_columns))
        ids = list(emit(project, "drift", payload, actions=actions,
                        key=f"{model}:{version}:{columns}:{day}"))
        segments = summary.get("segments") or []
        if segments:  # an explanation appeared: where the drifted data is concentrated
            top = ",".join(f"{k}={v}" for k, v in sorted(segments[0]["items"].items()))
            ids += emit(project, "explanation", {"model": model, "version": version,
                                                 "source": "drift", "segments": segments},
                        actions=actions, key=f"{model}:{version}:{top}:{day}")
        return ids


def record_estimate(project, estimate, *, model: str = "data", version: int | None = None,
                    actions: Sequence[Any] = ()) -> list[int]:
    """Record a :class:`PerformanceEstimate` and emit ``"performance"`` with its value.

    Actions listening on ``"performance"`` decide with ``when = {below = x}`` whether the
    value calls for them.
    """
    from dawn.act import emit

    info = estimate.to_dict()
    name = f"estimated_{info['metric']}"
    with project.transaction():
        project.history.record(model, {name: info["value"], f"{name}.low": info["low"],
                                       f"{name}.high": info["high"]},
                               version=version, details=info)
        payload = {"model": model, "version": version, "value": info["value"], **info}
        return emit(project, "performance", payload, actions=actions)
