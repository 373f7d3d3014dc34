"""``LFAnalysis``: how labeling functions cover, overlap, conflict and perform.

Everything a domain expert looks at while writing labeling functions, computed from the
label matrix with vectorised numpy/scipy (a sparse matrix is never made dense):

- ``summary(Y)``: one row per LF, Snorkel's ``lf_summary`` columns (``j``, ``Polarity``,
  ``Coverage``, ``Overlaps``, ``Conflicts``; with gold labels ``Correct``, ``Incorrect``,
  ``Emp. Acc.``), ``Learned Acc.`` when a label model's accuracies are given, and
  ``Warnings``.
- ``warnings(Y)``: structured :class:`LFWarning` s — LFs that never fire, fire on almost
  every row, duplicate another LF, are often contradicted, are inaccurate or raised errors.
- ``lf_correlations()``: how alike two LFs' votes are (1 = identical).
- ``examples(lf, kind)``: the data rows behind each number.

Definitions (fractions are of all ``n`` rows unless said otherwise):

- *Coverage*: rows the LF votes on.
- *Overlaps*: rows the LF votes on where at least one other LF votes too.
- *Conflicts*: rows the LF votes on where another LF votes a different label.
- *Correct* / *Incorrect*: the LF's votes on rows with a known gold label (``-1`` in ``Y`` is
  unknown) that match / do not match it; *Emp. Acc.* = Correct / (Correct + Incorrect).

>>> import numpy as np
>>> from dawn.label.matrix import LabelMatrix
>>> L = LabelMatrix(np.array([[0, 0, -1], [1, 0, -1], [-1, 1, 1], [-1, -1, -1]]),
...                 ["a", "b", "c"], classes=["ham", "spam"])
>>> an = LFAnalysis(L)
>>> an.label_coverage()
0.75
>>> s = an.summary(Y=[0, 0, 1, 1])
>>> s[["Coverage", "Overlaps", "Conflicts", "Correct", "Emp. Acc."]]
   Coverage  Overlaps  Conflicts  Correct  Emp. Acc.
a      0.50      0.50       0.25        1        0.5
b      0.75      0.75       0.25        3        1.0
c      0.25      0.25       0.00        1        1.0
>>> s.loc["b", "Polarity"]
['ham', 'spam']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from dawn.errors import (
    ConfigError,
    EmptyDataError,
    LabelError,
    LabelingFunctionError,
    SchemaError,
    close_matches,
)
from dawn.label.matrix import LabelMatrix

__all__ = ["EXAMPLE_KINDS", "LFAnalysis", "LFWarning"]

EXAMPLE_KINDS = ("fires", "abstains", "conflicts", "errors", "correct", "incorrect")
WARNING_KINDS = ("never_fires", "too_broad", "near_duplicate", "high_conflict",
                 "low_accuracy", "errors")
_GEMM_CELLS = 1 << 22  # cells of a dense row chunk turned into float32 one-hot votes


@dataclass(frozen=True)
class LFWarning:
    """Something about one labeling function that is probably not what its author wants.

    ``kind`` is one of ``never_fires``, ``too_broad``, ``near_duplicate`` (``other`` names
    the LF it duplicates), ``high_conflict``, ``low_accuracy`` and ``errors``; ``message``
    is a full sentence with the fix, ``detail`` a few words for a table cell and ``value``
    the statistic behind it (coverage, agreement, conflict rate, accuracy or error count).
    """

    lf: str
    kind: str
    message: str
    detail: str
    value: float | None = None
    other: str | None = None

    def __str__(self) -> str:
        return self.message


def _lf_name(lf: Any, i: int) -> str:
    if isinstance(lf, str):
        return lf
    name = getattr(lf, "name", None) or getattr(lf, "__name__", None)
    if not isinstance(name, str) or not name:
        raise LabelingFunctionError(f"lfs[{i}] ({lf!r}) has no name; pass labeling functions "
                                    "(objects with a .name) in the order of L's columns.")
    return name


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


class LFAnalysis:
    """Coverage, overlaps, conflicts, accuracies, warnings and examples of labeling functions.

    Parameters
    ----------
    L : LabelMatrix, or an int array ``(n, m)`` with ``-1`` = abstain (names then come from
        ``lfs``, else ``lf_0``, ``lf_1``, ...), or a scipy sparse matrix of ``label + 1``.
    lfs : the labeling functions (or just their names), in the order of L's columns; their
        names must match ``L.lf_names``. Optional.
    data : the rows L was computed on (anything :func:`dawn.data.as_frame` accepts); needed
        only by :meth:`examples`.
    cardinality : number of classes; default ``len(L.classes)``, else the largest vote + 1
        (at least 2). Gold labels must lie in ``0..cardinality-1`` (or be ``-1``).

    Examples
    --------
    >>> import numpy as np
    >>> an = LFAnalysis(np.array([[0, 0], [1, -1], [-1, -1]]))
    >>> an.lf_coverages().round(2).tolist(), an.lf_conflicts().tolist()
    ([0.67, 0.33], [0.0, 0.0])
    """

    def __init__(self, L: Any, lfs: Sequence[Any] | None = None, data: Any = None, *,
                 cardinality: int | None = None) -> None:
        names = None if lfs is None else [_lf_name(lf, i) for i, lf in enumerate(lfs)]
        if not isinstance(L, LabelMatrix):
            if not sp.issparse(L):
                arr = np.asarray(L)
                if arr.ndim != 2:
                    raise SchemaError(f"L must be 2-D (rows × labeling functions); got shape "
                                      f"{arr.shape}. For a single LF use votes.reshape(-1, 1).")
                L = arr
            m = L.shape[1]
            if names is not None and len(names) != m:
                raise ConfigError(f"{len(names)} labeling functions given for a label matrix "
                                  f"with {m} columns; pass one LF per column, in order.")
            L = LabelMatrix(L, names if names is not None else [f"lf_{j}" for j in range(m)])
        elif names is not None and names != L.lf_names:
            raise ConfigError(f"the labeling functions {names} do not match the label matrix "
                              f"columns {L.lf_names}; pass the LFs in the order they were "
                              "applied (or omit lfs=).")
        n, m = L.shape
        if n == 0:
            raise EmptyDataError("the label matrix has no rows; apply the labeling functions "
                                 "to some data first.")
        if m == 0:
            raise EmptyDataError("the label matrix has no labeling functions (0 columns).")
        self.L = L
        self.lfs = None if lfs is None else list(lfs)
        self.lf_names = list(L.lf_names)
        self.classes = L.classes
        top = self._max_vote()
        if cardinality is not None:
            if isinstance(cardinality, bool) or not isinstance(cardinality, (int, np.integer)) \
                    or cardinality < 1:
                raise ConfigError(f"cardinality={cardinality!r}; give the number of classes "
                                  "as a positive int.")
            if top >= cardinality:
                raise LabelError(f"L holds label {top}, outside 0..{cardinality - 1} for "
                                 f"cardinality={cardinality}.")
            if self.classes is not None and cardinality != len(self.classes):
                raise ConfigError(f"cardinality={cardinality} but L has {len(self.classes)} "
                                  f"classes {self.classes}; omit cardinality=.")
            self.cardinality = int(cardinality)
        else:
            self.cardinality = len(self.classes) if self.classes is not None else max(2, top + 1)
        self.data = None
        if data is not None:
            from dawn.data import as_frame

            frame = as_frame(data)
            if len(frame) != n:
                raise SchemaError(f"data has {len(frame)} rows but the label matrix has {n}; "
                                  "pass the rows the LFs were applied to.")
            self.data = frame
        self._cache: dict[str, Any] = {}

    # -- storage-specific building blocks ------------------------------------------------
    @property
    def n_rows(self) -> int:
        return self.L.shape[0]

    @property
    def n_lfs(self) -> int:
        return self.L.shape[1]

    def _csr(self) -> sp.csr_matrix | None:
        return self.L.votes_csr() if self.L.is_sparse else None

    def _dense(self) -> np.ndarray:
        return np.asarray(self.L)

    def _max_vote(self) -> int:
        if self.L.nnz == 0:
            return -1
        csr = self._csr()
        return int(csr.data.max()) - 1 if csr is not None else int(self._dense().max())

    def _row_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per row: number of votes, and whether two votes on it differ."""
        if "rows" not in self._cache:
            n = self.n_rows
            csr = self._csr()
            if csr is not None:
                count = np.diff(csr.indptr)
                conflicted = np.zeros(n, dtype=bool)
                voted = count > 0
                if csr.nnz:
                    starts = csr.indptr[:-1][voted]  # empty rows would break reduceat
                    lo = np.minimum.reduceat(csr.data, starts)
                    hi = np.maximum.reduceat(csr.data, starts)
                    conflicted[voted] = lo != hi
            else:
                dense = self._dense()
                fires = dense >= 0
                count = fires.sum(axis=1)
                hi = dense.max(axis=1)
                lo = np.where(fires, dense, np.iinfo(dense.dtype).max).min(axis=1)
                conflicted = (count >= 2) & (lo != hi)
            self._cache["rows"] = (count, conflicted)
        return self._cache["rows"]

    def _votes_on(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Per LF: how many of its votes fall on rows where ``rows`` is true (all if None)."""
        if rows is None:
            if "votes" not in self._cache:
                self._cache["votes"] = self._class_counts().sum(axis=1)
            return self._cache["votes"]
        csr = self._csr()
        if csr is not None:
            count, _ = self._row_stats()
            return np.bincount(csr.indices[np.repeat(rows, count)], minlength=self.n_lfs)
        return np.count_nonzero(self._dense()[rows] >= 0, axis=0)

    def _class_counts(self, known: np.ndarray | None = None) -> np.ndarray:
        """``(m, k)``: how often each LF votes each class (only on rows ``known`` if given)."""
        if known is None and "classes" in self._cache:
            return self._cache["classes"]
        m, k = self.n_lfs, self.cardinality
        csr = self._csr()
        if csr is not None:
            idx, labels = csr.indices, csr.data.astype(np.int64) - 1
            if known is not None:
                keep = np.repeat(known, self._row_stats()[0])
                idx, labels = idx[keep], labels[keep]
            out = np.bincount(idx.astype(np.int64) * k + labels, minlength=m * k).reshape(m, k)
        else:
            dense = self._dense() if known is None else self._dense()[known]
            if k <= 16:  # one vectorised pass per class
                out = np.stack([np.count_nonzero(dense == c, axis=0) for c in range(k)], 1)
            else:  # one bincount per LF over its contiguous column
                cols = np.ascontiguousarray(dense.T)
                out = np.stack([np.bincount(col.astype(np.intp) + 1, minlength=k + 1)[1:]
                                for col in cols])
            out = out.astype(np.int64)
        if known is None:
            self._cache["classes"] = out
        return out

    def _gram(self) -> tuple[np.ndarray, np.ndarray]:
        """``(m, m)`` counts of rows where LFs j and l both vote, and where they vote alike."""
        if "gram" not in self._cache:
            m, k = self.n_lfs, self.cardinality
            csr = self._csr()
            if csr is not None:
                # one-hot votes: column j*k + label; indices stay sorted within each row
                onehot = sp.csr_matrix(
                    (np.ones(csr.nnz), csr.indices.astype(np.int64) * k + csr.data - 1,
                     csr.indptr), shape=(self.n_rows, m * k))
                g = (onehot.T @ onehot).tocoo()
                pair = (g.row // k) * m + g.col // k
                both = np.bincount(pair, weights=g.data, minlength=m * m)
                same = g.row % k == g.col % k
                agree = np.bincount(pair[same], weights=g.data[same], minlength=m * m)
                both, agree = both.reshape(m, m), agree.reshape(m, m)
            else:
                dense = self._dense()
                both, agree = np.zeros((m, m)), np.zeros((m, m))
                step = max(1, _GEMM_CELLS // m)
                for start in range(0, self.n_rows, step):  # row chunks, each a BLAS product
                    chunk = dense[start:start + step]
                    x = (chunk >= 0).astype(np.float32)
                    both += x.T @ x
                    for c in range(k):
                        x = (chunk == c).astype(np.float32)
                        agree += x.T @ x
            self._cache["gram"] = (np.rint(both).astype(np.int64), np.rint(agree).astype(np.int64))
        return self._cache["gram"]

    # -- gold labels -----------------------------------------------------------------
    def _gold(self, Y: Any) -> np.ndarray | None:
        """Gold labels as int64 ``0..k-1``, ``-1`` where unknown; checks length and range."""
        if Y is None:
            return None
        arr = Y.to_numpy() if hasattr(Y, "to_numpy") else np.asarray(Y)
        if arr.ndim != 1:
            raise SchemaError(f"Y must be 1-D (one gold label per row); got shape {arr.shape}.")
        if len(arr) != self.n_rows:
            raise SchemaError(f"Y has {len(arr)} labels but the label matrix has {self.n_rows} "
                              "rows; pass one gold label per row (-1 where unknown).")
        k = self.cardinality
        if arr.dtype.kind == "b":
            raise LabelError("Y holds True/False; gold labels are ints 0..k-1 (or class names), "
                             "-1 where unknown.")
        if arr.dtype.kind in "iu":
            y = arr.astype(np.int64, copy=False)
        elif arr.dtype.kind == "f":
            missing = np.isnan(arr)
            bad = ~missing & (arr != np.round(arr))
            if bad.any():
                raise LabelError(f"Y holds {arr[bad][0]!r}; gold labels are ints 0..{k - 1} "
                                 "(-1 or NaN where unknown).")
            y = np.where(missing, -1, arr).astype(np.int64)
        else:
            y = self._gold_from_objects(arr)
        bad = (y < -1) | (y >= k)
        if bad.any():
            values = sorted(set(y[bad].tolist()))[:5]
            hint = (f" for the classes {self.classes}" if self.classes is not None else
                    f" for {k} classes; pass cardinality= if there are more classes")
            raise LabelError(f"Y holds {values}, outside 0..{k - 1} (-1 = unknown){hint}. "
                             "If the gold labels are 1-based, subtract 1.")
        return y

    def _gold_from_objects(self, arr: np.ndarray) -> np.ndarray:
        s = pd.Series(arr, dtype=object)
        missing = s.isna().to_numpy()
        is_str = np.array([isinstance(v, str) for v in s[~missing].head(1)])
        if is_str.any():
            if self.classes is None:
                raise LabelError(f"Y holds class names like {s[~missing].iloc[0]!r} but the label "
                                 "matrix has no classes; pass integer labels 0..k-1 or build L "
                                 "with classes=[...].")
            codes = np.full(len(s), -1, dtype=np.int64)
            codes[~missing] = pd.Index(self.classes).get_indexer(s[~missing].astype(str))
            unknown = (codes == -1) & ~missing
            if unknown.any():
                name = s[unknown].iloc[0]
                raise LabelError(f"Y holds {name!r}, which is not among the classes "
                                 f"{self.classes}.{close_matches(str(name), self.classes)}")
            return codes
        num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        bad = ~missing & (np.isnan(num) | (num != np.round(num)))
        if bad.any():
            raise LabelError(f"Y holds {s[bad].iloc[0]!r}; gold labels are ints 0..k-1 or class "
                             "names, -1 where unknown.")
        return np.where(missing, -1, num).astype(np.int64)

    # -- Snorkel-style statistics ----------------------------------------------------------
    def lf_polarities(self) -> list[list[int]]:
        """For each LF, the sorted labels (ints) it emits."""
        counts = self._class_counts()
        return [np.flatnonzero(row).tolist() for row in counts]

    def lf_coverages(self) -> np.ndarray:
        """Fraction of rows each LF votes on."""
        return self._votes_on() / self.n_rows

    def label_coverage(self) -> float:
        """Fraction of rows with at least one vote."""
        count, _ = self._row_stats()
        return float(np.count_nonzero(count) / self.n_rows)

    def lf_overlaps(self, normalize_by_coverage: bool = False) -> np.ndarray:
        """Fraction of rows each LF votes on together with at least one other LF.

        With ``normalize_by_coverage`` it is a fraction of the LF's own votes (0 if none).
        """
        count, _ = self._row_stats()
        return self._normalize(self._votes_on(count >= 2), normalize_by_coverage)

    def lf_conflicts(self, normalize_by_coverage: bool = False) -> np.ndarray:
        """Fraction of rows where each LF votes and another LF votes a different label.

        With ``normalize_by_coverage`` it is a fraction of the LF's own votes (0 if none).
        """
        _, conflicted = self._row_stats()
        return self._normalize(self._votes_on(conflicted), normalize_by_coverage)

    def _normalize(self, counts: np.ndarray, by_coverage: bool) -> np.ndarray:
        if not by_coverage:
            return counts / self.n_rows
        votes = self._votes_on()
        return np.divide(counts, votes, out=np.zeros(len(counts)), where=votes > 0)

    def _gold_counts(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per LF: correct votes, votes on rows with a known gold label, and those votes by
        class ``(m, k)``."""
        cached = self._cache.get("gold")
        if cached is not None and cached[0] is y:
            return cached[1]
        known = y >= 0
        csr = self._csr()
        if csr is not None:
            yv = np.repeat(y, self._row_stats()[0])
            hit = (yv >= 0) & (csr.data.astype(np.int64) - 1 == yv)
            correct = np.bincount(csr.indices[hit], minlength=self.n_lfs)
        else:
            dense = self._dense()[known]
            yk = y[known]
            if yk.size and yk.max() <= np.iinfo(dense.dtype).max:
                yk = yk.astype(dense.dtype)
            correct = np.count_nonzero(dense == yk[:, None], axis=0)
        by_class = self._class_counts(known)
        result = (correct.astype(np.int64), by_class.sum(axis=1), by_class)
        self._cache["gold"] = (y, result)
        return result

    def lf_empirical_accuracies(self, Y: Any) -> np.ndarray:
        """Fraction of each LF's votes that match the gold labels ``Y`` (NaN if none known)."""
        y = self._gold(Y)
        if y is None:
            raise ConfigError("lf_empirical_accuracies needs gold labels: pass Y=.")
        correct, labelled, _ = self._gold_counts(y)
        return np.divide(correct, labelled, out=np.full(self.n_lfs, np.nan), where=labelled > 0)

    def lf_correlations(self) -> pd.DataFrame:
        """``(m, m)`` Pearson correlation of the LFs' one-hot votes.

        Each LF is read as the ``n·k`` indicators ``[L[i, j] == c]`` (an abstain is all
        zeros), and two LFs are correlated over those. The value is 1 when two LFs cast
        identical votes, about 0 when they are unrelated or agree only as often as chance,
        and negative when they vote against each other on the rows they share — so high
        values flag redundant LFs. NaN in the row and column of an LF that never votes.
        """
        both, agree = self._gram()
        n_cells = self.n_rows * self.cardinality
        mu = np.diag(both) / n_cells
        var = mu * (1 - mu)
        cov = agree / n_cells - np.outer(mu, mu)
        denom = np.sqrt(np.outer(var, var))
        corr = np.divide(cov, denom, out=np.full(cov.shape, np.nan), where=denom > 0)
        corr = np.clip(corr, -1.0, 1.0)
        return pd.DataFrame(corr, index=self.lf_names, columns=self.lf_names)

    # -- warnings -----------------------------------------------------------------------
    def warnings(self, Y: Any = None, *, max_coverage: float = 0.9,
                 duplicate_agreement: float = 0.95, max_conflict: float = 0.5,
                 min_accuracy: float = 0.5) -> list[LFWarning]:
        """What is probably wrong with the labeling functions, ordered by LF.

        - ``never_fires``: the LF votes on no row.
        - ``too_broad``: it votes on more than ``max_coverage`` of the rows.
        - ``near_duplicate``: it casts the same votes as an earlier LF on at least
          ``duplicate_agreement`` of the rows either votes on (``other`` names that LF).
        - ``high_conflict``: another LF contradicts more than ``max_conflict`` of its votes.
        - ``low_accuracy`` (with gold ``Y``): fewer than ``min_accuracy`` of its votes are
          right, or it is right less often than its labels' base rates (the accuracy of
          the same votes cast on random rows).
        - ``errors``: it raised errors on some rows (fault-tolerant runs).
        """
        for arg, value in (("max_coverage", max_coverage),
                           ("duplicate_agreement", duplicate_agreement),
                           ("max_conflict", max_conflict), ("min_accuracy", min_accuracy)):
            if not 0 <= value <= 1:
                raise ConfigError(f"{arg}={value!r}; give a fraction between 0 and 1.")
        y = self._gold(Y)
        names, n = self.lf_names, self.n_rows
        votes = self._votes_on()
        coverage = votes / n
        conflict = self.lf_conflicts(normalize_by_coverage=True)
        out: list[tuple[int, int, LFWarning]] = []

        def add(j: int, w: LFWarning) -> None:
            out.append((j, WARNING_KINDS.index(w.kind), w))

        for j, name in enumerate(names):
            if votes[j] == 0:
                add(j, LFWarning(name, "never_fires", f"{name!r} never fires on the {n} rows; "
                                 "check the columns and pattern it reads, or drop it.",
                                 "never fires", 0.0))
            elif coverage[j] > max_coverage:
                add(j, LFWarning(name, "too_broad", f"{name!r} fires on {_pct(coverage[j])} of "
                                 f"the rows (more than {_pct(max_coverage)}); a rule that labels "
                                 "almost everything says little — make it more specific.",
                                 f"fires on {_pct(coverage[j])} of rows", float(coverage[j])))
            if votes[j] and conflict[j] > max_conflict:
                add(j, LFWarning(name, "high_conflict", f"{name!r} is contradicted by another "
                                 f"LF on {_pct(conflict[j])} of its {votes[j]} votes; see "
                                 f"examples({name!r}, kind='conflicts').",
                                 f"conflicts on {_pct(conflict[j])} of its votes",
                                 float(conflict[j])))
        for j, other, share in self._near_duplicates(votes, duplicate_agreement):
            name, first = names[j], names[other]
            add(j, LFWarning(name, "near_duplicate", f"{name!r} casts the same votes as "
                             f"{first!r} on {_pct(share)} of the rows either labels; they are "
                             "near-duplicates — keep one, or make them differ.",
                             f"near-duplicate of {first!r}", float(share), first))
        if y is not None:
            correct, labelled, by_class = self._gold_counts(y)
            known = y >= 0
            prior = np.bincount(y[known], minlength=self.cardinality) / max(known.sum(), 1)
            chance = np.divide(by_class @ prior, labelled, out=np.zeros(self.n_lfs),
                               where=labelled > 0)
            for j in np.flatnonzero(labelled > 0):
                acc = correct[j] / labelled[j]
                if acc < min_accuracy:
                    why = f"below {_pct(min_accuracy)}"
                elif acc < chance[j] - 1e-12:
                    why = f"less than the {_pct(chance[j])} its labels' base rates give"
                else:
                    continue
                add(int(j), LFWarning(names[j], "low_accuracy", f"{names[j]!r} is right on "
                                      f"{_pct(acc)} of its {labelled[j]} votes with a gold label "
                                      f"({why}); see examples({names[j]!r}, kind='incorrect').",
                                      f"accuracy {_pct(acc)} ({why})", float(acc)))
        errors = self._errors()
        if len(errors):
            per_lf = errors["lf"].value_counts()
            for j, name in enumerate(names):
                if per_lf.get(name, 0):
                    k = int(per_lf[name])
                    rows = "row" if k == 1 else "rows"
                    add(j, LFWarning(name, "errors", f"{name!r} raised errors on {k} {rows} (it "
                                     f"abstained there); see examples({name!r}, kind='errors').",
                                     f"errors on {k} {rows}", float(k)))
        out.sort(key=lambda t: (t[0], t[1]))
        return [w for _, _, w in out]

    def _errors(self) -> pd.DataFrame:
        """``L.errors`` with the ``lf`` column as LF names (an int there is a column index)."""
        errors = self.L.errors
        if not len(errors):
            return errors
        lf = errors["lf"]
        if pd.api.types.is_integer_dtype(lf):
            lf = lf.map(dict(enumerate(self.lf_names)))
        return errors.assign(lf=lf.astype(str))

    def _near_duplicates(self, votes: np.ndarray, threshold: float
                         ) -> list[tuple[int, int, float]]:
        """``(later LF, earlier LF, share)`` for pairs agreeing on >= threshold of their union."""
        fired = votes > 0
        if fired.sum() < 2:
            return []
        both, agree = self._gram()
        union = votes[:, None] + votes[None, :] - both
        share = np.divide(agree, union, out=np.zeros(agree.shape), where=union > 0)
        share[~fired, :] = 0
        share[:, ~fired] = 0
        later, earlier = np.nonzero(np.tril(share >= threshold, k=-1))
        return [(int(j), int(i), float(share[j, i])) for j, i in zip(later, earlier, strict=True)]

    # -- the summary --------------------------------------------------------------------
    def summary(self, Y: Any = None, est_weights: Any = None) -> pd.DataFrame:
        """One row per LF (indexed by name), like Snorkel's ``lf_summary``.

        Columns: ``j``, ``Polarity`` (labels it emits: class names when known), ``Coverage``,
        ``Overlaps``, ``Conflicts``; with gold ``Y`` (ints ``0..k-1`` or class names, ``-1``
        = unknown) also ``Correct``, ``Incorrect``, ``Emp. Acc.``; with ``est_weights`` (the
        ``m`` accuracies a label model learned, or a model with ``accuracies_``) also
        ``Learned Acc.``; and ``Warnings`` (short notes, ``""`` when none; see
        :meth:`warnings`).
        """
        y = self._gold(Y)
        learned = None
        if est_weights is not None:
            learned = np.asarray(getattr(est_weights, "accuracies_", est_weights), dtype=float)
            if learned.shape != (self.n_lfs,):
                raise SchemaError(f"est_weights has shape {learned.shape}; give one learned "
                                  f"accuracy per labeling function ({self.n_lfs}).")
        pols = self.lf_polarities()
        if self.classes is not None:
            pols = [[self.classes[c] for c in p] for p in pols]
        table: dict[str, Any] = {
            "j": np.arange(self.n_lfs),
            "Polarity": pols,
            "Coverage": self.lf_coverages(),
            "Overlaps": self.lf_overlaps(),
            "Conflicts": self.lf_conflicts(),
        }
        if y is not None:
            correct, labelled, _ = self._gold_counts(y)
            table["Correct"] = correct.astype(np.int64)
            table["Incorrect"] = (labelled - correct).astype(np.int64)
            table["Emp. Acc."] = np.divide(correct, labelled, out=np.full(self.n_lfs, np.nan),
                                           where=labelled > 0)
        if learned is not None:
            table["Learned Acc."] = learned
        notes: dict[str, list[str]] = {name: [] for name in self.lf_names}
        for w in self.warnings(y):
            notes[w.lf].append(w.detail)
            if w.other is not None:
                notes[w.other].append(f"near-duplicate of {w.lf!r}")
        table["Warnings"] = ["; ".join(notes[name]) for name in self.lf_names]
        return pd.DataFrame(table, index=pd.Index(self.lf_names))

    # -- examples -----------------------------------------------------------------------
    def _resolve(self, lf: Any) -> int:
        names = self.lf_names
        if isinstance(lf, (int, np.integer)) and not isinstance(lf, (bool, np.bool_)):
            if not -len(names) <= lf < len(names):
                raise LabelingFunctionError(f"LF index {int(lf)} is outside 0..{len(names) - 1}; "
                                            f"the labeling functions are {names}.")
            return int(lf) % len(names)
        name = lf if isinstance(lf, str) else getattr(lf, "name", None)
        if isinstance(name, str) and name in names:
            return names.index(name)
        shown = name if isinstance(name, str) else repr(lf)
        raise LabelingFunctionError(f"no labeling function {shown!r} in this analysis; the "
                                    f"labeling functions are {names}."
                                    f"{close_matches(str(shown), names)}")

    def _display(self, label: int) -> Any:
        if self.classes is None:
            return int(label)
        return self.classes[label] if label >= 0 else None

    def examples(self, lf: Any, kind: str = "fires", n: int | None = 20, Y: Any = None,
                 seed: int = 0) -> pd.DataFrame:
        """The data rows behind a number: where ``lf`` fires, abstains, conflicts, errs, is right
        or is wrong.

        Parameters
        ----------
        lf : LF name, column index or LF object
        kind : ``"fires"``, ``"abstains"``, ``"conflicts"`` (it votes and another LF votes a
            different label), ``"errors"`` (it raised an error; from ``L.errors``),
            ``"correct"`` or ``"incorrect"`` (against gold ``Y``)
        n : at most this many rows, a sample (deterministic for ``seed``) when there are more;
            ``None`` for all
        Y : gold labels; required for ``correct`` / ``incorrect``, shown as ``gold`` if given

        Returns
        -------
        DataFrame with ``row`` (position in L), ``vote`` (this LF's vote: class name when
        classes are known, ``-1``/``None`` for abstain), ``gold`` (if ``Y``), ``votes``
        (dict LF name → vote of every other LF voting on the row), ``error`` (for
        ``errors``), then the data columns (a data column whose name clashes gets a
        `` (data)`` suffix). Rows are in row order.
        """
        if kind not in EXAMPLE_KINDS:
            raise ConfigError(f"kind={kind!r} is not a kind of example; use one of "
                              f"{list(EXAMPLE_KINDS)}.{close_matches(str(kind), EXAMPLE_KINDS)}")
        j = self._resolve(lf)
        if self.data is None:
            raise ConfigError("examples need the data rows: pass data= (the rows the LFs were "
                              "applied to) to LFAnalysis(L, lfs, data=...).")
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer))
                              or n < 1):
            raise ConfigError(f"n={n!r}; give a positive number of rows (or None for all).")
        y = self._gold(Y)
        if kind in ("correct", "incorrect") and y is None:
            raise ConfigError(f"kind={kind!r} compares with gold labels: pass Y=.")
        name = self.lf_names[j]
        col = self.L.column(j).astype(np.int64)
        errors = None
        if kind == "errors":
            errs = self._errors()
            errs = errs[errs["lf"] == name]
            rows = errs["row"].to_numpy(dtype=np.int64)
            errors = errs["error"].astype(str).to_numpy(dtype=object)
        else:
            if kind == "fires":
                mask = col >= 0
            elif kind == "abstains":
                mask = col < 0
            elif kind == "conflicts":
                mask = (col >= 0) & self._row_stats()[1]
            elif kind == "correct":
                mask = (y >= 0) & (col == y)
            else:
                mask = (y >= 0) & (col >= 0) & (col != y)
            rows = np.flatnonzero(mask)
        pick = np.arange(len(rows))
        if n is not None and len(rows) > n:
            pick = np.sort(np.random.default_rng(seed).choice(len(rows), n, replace=False))
        pick = pick[np.argsort(rows[pick], kind="stable")]
        rows = rows[pick]
        block = self._rows(rows)
        others = [o for o in range(self.n_lfs) if o != j]
        table: dict[str, Any] = {"row": rows,
                                 "vote": pd.Series([self._display(v) for v in col[rows]],
                                                   dtype=object)}
        if y is not None:
            table["gold"] = pd.Series([self._display(v) if v >= 0 else None for v in y[rows]],
                                      dtype=object)
        table["votes"] = pd.Series([{self.lf_names[o]: self._display(r[o]) for o in others
                                     if r[o] >= 0} for r in block], dtype=object)
        if errors is not None:
            table["error"] = errors[pick]
        meta = pd.DataFrame(table)
        rows_data = self.data.take(rows).to_pandas()
        rows_data.columns = [f"{c} (data)" if c in meta.columns else c for c in rows_data.columns]
        return pd.concat([meta, rows_data.reset_index(drop=True)], axis=1)

    def _rows(self, rows: np.ndarray) -> np.ndarray:
        """The votes of a few rows as a small dense ``(len(rows), m)`` int array."""
        csr = self._csr()
        if csr is not None:
            return csr[rows].toarray().astype(np.int64) - 1
        return self._dense()[rows].astype(np.int64)
