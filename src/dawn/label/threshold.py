"""Threshold labeling functions: vote a label where a numeric column lies within bounds.

>>> from dawn.data import as_frame
>>> lf = threshold_lf("new_account", "account_age_days", "spam", lt=7)
>>> lf.apply_frame(as_frame({"account_age_days": [1.0, 30.0, None]}), ["ham", "spam"]).tolist()
[1, -1, -1]
>>> lf({"account_age_days": 3})
'spam'
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from numbers import Real
from typing import Any, ClassVar

import numpy as np

from dawn.errors import LabelingFunctionError, SchemaError
from dawn.label.base import ABSTAIN, LabelingFunction, resolve_label
from dawn.label.keyword import check_column, check_label, row_value, votes_dtype

__all__ = ["ThresholdLF", "threshold_lf"]

_OPS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}
_SYMBOLS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


class ThresholdLF(LabelingFunction):
    """Votes ``label`` where ``column`` satisfies every bound (see :func:`threshold_lf`)."""

    vectorized: ClassVar[bool] = True

    def __init__(self, name: str, column: str, label: Any, **bounds: float | None) -> None:
        super().__init__(name)
        self.column = check_column(column, name)
        self.label = check_label(label, name)
        self.bounds = _check_bounds({k: v for k, v in bounds.items() if v is not None}, name)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def apply_frame(self, frame, classes: Sequence[str] | None = None) -> np.ndarray:
        """Votes on every row of ``frame`` (int8/int16, -1 = abstain; NaN/null abstains)."""
        label = resolve_label(self.label, classes, self.name)
        x = frame.numeric(self.column, purpose=f"labeling function {self.name!r}")
        keep = ~np.isnan(x)
        with np.errstate(invalid="ignore"):
            for op, bound in self.bounds.items():
                keep &= _OPS[op](x, bound)
        return np.where(keep, label, ABSTAIN).astype(votes_dtype([label]))

    def __call__(self, row: Any) -> Any:
        """The vote on one row (``label`` or ``-1``)."""
        value = row_value(row, self.column, self.name)
        if value is None:
            return ABSTAIN
        if isinstance(value, str) or not isinstance(value, (Real, np.number, np.bool_)):
            raise SchemaError(f"labeling function {self.name!r} needs a number in column "
                              f"{self.column!r}, got {value!r}; convert the column to numbers.")
        value = float(value)
        if math.isnan(value):
            return ABSTAIN
        ok = all(_OPS[op](value, bound) for op, bound in self.bounds.items())
        return self.label if ok else ABSTAIN

    def __repr__(self) -> str:
        cond = " and ".join(f"{self.column} {_SYMBOLS[k]} {v:g}" for k, v in self.bounds.items())
        return f"ThresholdLF({self.name!r}: {cond})"


def threshold_lf(name: str, column: str, label: Any, *, gt: float | None = None,
                 ge: float | None = None, lt: float | None = None,
                 le: float | None = None) -> ThresholdLF:
    """A labeling function that votes ``label`` where ``column`` meets every given bound.

    Parameters
    ----------
    name : str
        The LF's name.
    column : str
        A numeric (or boolean) column; another type raises :class:`~dawn.errors.SchemaError`
        when applied.
    label : int or str
        The label voted: an int ``0..k-1`` or a class name resolved when applied.
    gt, ge, lt, le : float, optional
        Bounds ``>``, ``>=``, ``<``, ``<=``; give at least one. NaN and null abstain.

    Examples
    --------
    >>> lf = threshold_lf("links", "n_links", 1, ge=2, le=10)
    >>> lf({"n_links": 3}), lf({"n_links": 11})
    (1, -1)
    """
    return ThresholdLF(name, column, label, gt=gt, ge=ge, lt=lt, le=le)


def _check_bounds(bounds: dict[str, Any], name: str) -> dict[str, float]:
    if not bounds:
        raise LabelingFunctionError(f"labeling function {name!r} needs at least one bound: "
                                    "gt=, ge=, lt= or le=.")
    out = {}
    for key, value in bounds.items():
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.number)) \
                or math.isnan(float(value)):
            raise LabelingFunctionError(f"labeling function {name!r}: bound {key}={value!r} "
                                        "must be a number.")
        out[key] = float(value)
    low = max([(out[k], k) for k in ("gt", "ge") if k in out], default=None)
    high = min([(out[k], k) for k in ("lt", "le") if k in out], default=None)
    if low is not None and high is not None:
        lo_value = max(out.get("gt", -math.inf), out.get("ge", -math.inf))
        hi_value = min(out.get("lt", math.inf), out.get("le", math.inf))
        strict = ("gt" in out and out["gt"] == lo_value) or ("lt" in out and out["lt"] == hi_value)
        if lo_value > hi_value or (lo_value == hi_value and strict):
            shown = ", ".join(f"{k}={v:g}" for k, v in out.items())
            raise LabelingFunctionError(f"labeling function {name!r}: the bounds {shown} "
                                        "exclude every value, so it would never vote; check "
                                        "their direction.")
    return out
