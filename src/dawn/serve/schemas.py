"""Typed request and response bodies of the HTTP API (pydantic; shown in ``/openapi.json``).

>>> PredictRequest(rows=[{"text": "free prize", "n_links": 2}]).rows[0]["n_links"]
2
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Contribution",
    "DriftCheck",
    "DriftResponse",
    "ErrorResponse",
    "Health",
    "ModelSummary",
    "ModelsResponse",
    "PredictRequest",
    "PredictResponse",
    "VersionSummary",
]

#: A cell of an input row: JSON text, number, boolean or null (no nested values).
Cell = str | int | float | bool | None


class PredictRequest(BaseModel):
    """Rows to score: one object per row, column name → value."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"rows": [{"text": "check out my channel", "n_links": 1}]}]})

    rows: list[dict[str, Cell]] = Field(
        description="The rows to score; each holds the columns the model reads.")


class Contribution(BaseModel):
    """One feature's part in a prediction (``?explain=true``)."""

    feature: str = Field(description="A token of the text or a tabular column "
                                     "(``col=category`` for a category).")
    value: float = Field(description="The feature's value in the model's input (TF-IDF "
                                     "weight, standardised number, 1 for a category).")
    contribution: float = Field(description="Calibrated log-odds it adds toward the "
                                            "predicted class (negative: against it).")


class PredictResponse(BaseModel):
    """Predictions of one model version for the rows, in order."""

    predictions: list[str] = Field(description="The predicted class of each row.")
    probabilities: list[list[float]] = Field(
        description="Per row, the probability of each class (in ``classes`` order).")
    classes: list[str] = Field(description="The class names, in probability order.")
    model: str
    version: int = Field(description="The model version that scored the rows.")
    explanations: list[list[Contribution]] | None = Field(
        default=None, description="With ``?explain=true``: per row, the top contributing "
                                  "features, largest first.")


class VersionSummary(BaseModel):
    """One registered version of a model."""

    version: int
    created_at: str
    stage: str | None = Field(description="'current', 'previous' or null.")
    metrics: dict[str, Any]


class ModelSummary(BaseModel):
    """A registered model, its served (current) version and all versions."""

    name: str
    current_version: int | None
    classes: list[str] | None = None
    versions: list[VersionSummary]


class ModelsResponse(BaseModel):
    models: list[ModelSummary]


class DriftCheck(BaseModel):
    """One drift check of live traffic against the version's training reference."""

    ts: str
    version: int | None
    drift_share: float | None = Field(description="Fraction of monitored columns drifted.")
    details: dict[str, Any] = Field(description="The check's summary (drifted columns, "
                                                "effect sizes, ...).")


class DriftResponse(BaseModel):
    model: str
    checks: list[DriftCheck] = Field(description="The latest checks, newest first.")


class Health(BaseModel):
    status: str
    version: str = Field(description="dawn's version.")


class ErrorResponse(BaseModel):
    """Every error: a message saying what is wrong and how to fix it."""

    detail: str
