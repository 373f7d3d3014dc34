"""The labeling-function protocol every LF in dawn follows.

A labeling function has a ``name`` and votes a label (``0..k-1``, or a class name when
the classes are given) or abstains (``-1``) on each row. Declarative LFs
(``vectorized = True``) label a whole :class:`~dawn.data.Frame` at once through
``apply_frame``; Python LFs are called on one row at a time. LFs of one kind that can
share work (all keyword LFs reading one column, say) implement ``apply_many``, which
:func:`~dawn.label.apply_lfs` calls once for the whole group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from dawn.errors import LabelError

__all__ = ["ABSTAIN", "LabelingFunction", "resolve_label"]

ABSTAIN = -1


def resolve_label(label: Any, classes: Sequence[str] | None, lf_name: str) -> int:
    """Turn an LF's label (int or class name) into an int in ``0..k-1`` (or ``-1``).

    >>> resolve_label("spam", ["ham", "spam"], "lf")
    1
    >>> resolve_label(-1, None, "lf")
    -1
    """
    if isinstance(label, (bool, np.bool_)):
        raise LabelError(f"labeling function {lf_name!r} uses label {label!r}; labels are ints "
                         "0..k-1, class names, or -1 to abstain (not True/False).")
    if isinstance(label, (int, np.integer)):
        value = int(label)
        if value < -1 or (classes is not None and value >= len(classes)):
            k = "k" if classes is None else str(len(classes))
            raise LabelError(f"labeling function {lf_name!r} uses label {value}, outside "
                             f"-1..{k}-1; labels are 0..k-1 or -1 to abstain.")
        return value
    if isinstance(label, str):
        if classes is None:
            raise LabelError(f"labeling function {lf_name!r} uses class name {label!r} but no "
                             "classes were given; pass classes=[...] (or use integer labels).")
        if label not in classes:
            from dawn.errors import close_matches

            raise LabelError(f"labeling function {lf_name!r} uses class {label!r}, which is not "
                             f"among the classes {list(classes)}.{close_matches(label, classes)}")
        return list(classes).index(label)
    if label is None:
        return ABSTAIN
    raise LabelError(f"labeling function {lf_name!r} uses label {label!r} of type "
                     f"{type(label).__name__}; labels are ints 0..k-1, class names or -1.")


class LabelingFunction:
    """Base class of dawn's labeling functions.

    Subclasses set ``vectorized`` and implement ``apply_frame(frame, classes)`` (returning
    an int array of length ``len(frame)``) when they can label whole columns, and
    ``__call__(row)`` for one row (used for Python LFs and for showing examples).
    """

    vectorized: ClassVar[bool] = False

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise LabelError(f"a labeling function needs a non-empty string name, got {name!r}.")
        self.name = name

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns this LF reads (empty when unknown, as for Python LFs)."""
        return ()

    def apply_frame(self, frame, classes: Sequence[str] | None = None) -> np.ndarray:
        """Votes on every row of ``frame`` as ints (-1 = abstain); vectorised LFs only."""
        raise TypeError(f"{type(self).__name__} {self.name!r} is not vectorised; call it per row.")

    def __call__(self, x: Any) -> Any:
        raise TypeError(f"{type(self).__name__} {self.name!r} cannot be called on one row.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
