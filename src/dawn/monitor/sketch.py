"""Compact, mergeable column sketches: what a drift check keeps of the data.

A :class:`NumericSketch` holds, for reference *edges* (about 256 quantiles of a seeded
sample of at most 16,384 reference values), the exact count of rows in every slot between
edges (plus below the first and at or above the last), the sum of ``x - center`` in every
slot (so each slot's mean is known: tails and spikes keep their size), the power sums
``Σ (x - center)^p`` for ``p = 1..4``, the minimum, the maximum and the missing count
(NaN and ±inf). A :class:`CategoricalSketch` holds the counts of the reference's (at most
10,000) most frequent values, the values outside them (for current data: the most
frequent ones by name, the rest as one ``other`` count) and the missing count.

Sketches built on the same edges / vocabulary merge exactly (``a.merge(b)`` is the sketch
of both batches), so a stream is checked without rescanning anything.

>>> import numpy as np
>>> ref = numeric_sketch(np.arange(1000.0))
>>> a = numeric_sketch(np.arange(0.0, 500.0), like=ref)
>>> b = numeric_sketch(np.arange(500.0, 1000.0), like=ref)
>>> bool((a.merge(b).counts == ref.counts).all()), ref.n, round(ref.mean, 1)
(True, 1000, 499.5)
>>> cat = categorical_sketch(["a", "b", "a", None])
>>> cat.values, cat.counts.tolist(), cat.n_missing
(['a', 'b'], [2, 1], 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dawn.errors import SchemaError

__all__ = [
    "MAX_CATEGORIES",
    "SAMPLE_VALUES",
    "CategoricalSketch",
    "NumericSketch",
    "categorical_sketch",
    "numeric_sketch",
]

SAMPLE_VALUES = 16_384  # reference values sampled to place the edges
N_BINS = 256  # quantile bins between the edges
MAX_CATEGORIES = 10_000  # category values kept by name


# -- numeric ------------------------------------------------------------------------------
@dataclass
class NumericSketch:
    """Slot counts and sums of one numeric column over fixed edges (module docstring)."""

    edges: np.ndarray
    center: float
    counts: np.ndarray
    sums: np.ndarray
    n_missing: int
    moments: np.ndarray  # Σ (x - center)^p, p = 1..4
    min: float
    max: float

    @property
    def n_values(self) -> int:
        """Number of non-missing values."""
        return int(self.counts.sum())

    @property
    def n(self) -> int:
        """Number of rows (values and missing)."""
        return self.n_values + int(self.n_missing)

    @property
    def missing_rate(self) -> float:
        """Share of rows that are missing (NaN when there are no rows)."""
        return self.n_missing / self.n if self.n else float("nan")

    @property
    def mean(self) -> float:
        """Mean of the values (NaN without values)."""
        k = self.n_values
        return float(self.center + self.moments[0] / k) if k else float("nan")

    def central_moments(self) -> tuple[float, float]:
        """``(variance, fourth central moment)`` of the values (population, NaN if none)."""
        k = self.n_values
        if not k:
            return float("nan"), float("nan")
        m1, m2, m3, m4 = (self.moments / k).tolist()
        var = max(m2 - m1 * m1, 0.0)
        mu4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1 ** 4
        return var, max(mu4, 0.0)

    @property
    def std(self) -> float:
        """Standard deviation of the values (population; NaN without values)."""
        return float(np.sqrt(self.central_moments()[0]))

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Each non-empty slot as one point mass at its mean: ``(locations, shares)``."""
        keep = self.counts > 0
        k = self.counts[keep]
        return self.center + self.sums[keep] / k, k / k.sum()

    def cdf(self) -> np.ndarray:
        """Share of values below each edge and below ``+inf``: ``(len(edges) + 1,)``."""
        total = max(self.n_values, 1)
        return np.cumsum(self.counts) / total

    def merge(self, other: NumericSketch) -> NumericSketch:
        """The sketch of both batches (they must share edges)."""
        if not (np.array_equal(self.edges, other.edges) and self.center == other.center):
            raise SchemaError("numeric sketches built on different edges cannot be merged; "
                              "build both with like=<the reference sketch>.")
        return NumericSketch(self.edges, self.center, self.counts + other.counts,
                             self.sums + other.sums, self.n_missing + other.n_missing,
                             self.moments + other.moments, min(self.min, other.min),
                             max(self.max, other.max))

    def empty_like(self) -> NumericSketch:
        """A sketch with no rows on the same edges."""
        return NumericSketch(self.edges, self.center, np.zeros_like(self.counts),
                             np.zeros_like(self.sums), 0, np.zeros(4), float("inf"),
                             float("-inf"))

    # -- storage -------------------------------------------------------------------
    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays for :func:`dawn.store.save_artefact`."""
        scalars = np.array([self.center, self.n_missing, self.min, self.max, *self.moments])
        return {f"{prefix}.edges": self.edges, f"{prefix}.counts": self.counts,
                f"{prefix}.sums": self.sums, f"{prefix}.scalars": scalars}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> NumericSketch:
        """Inverse of :meth:`to_arrays`."""
        s = np.asarray(arrays[f"{prefix}.scalars"], np.float64)
        return cls(np.asarray(arrays[f"{prefix}.edges"], np.float64), float(s[0]),
                   np.asarray(arrays[f"{prefix}.counts"], np.int64),
                   np.asarray(arrays[f"{prefix}.sums"], np.float64), int(s[1]),
                   s[4:8].copy(), float(s[2]), float(s[3]))


def reference_edges(values: np.ndarray, *, seed: int = 0, sample: int = SAMPLE_VALUES,
                    bins: int = N_BINS) -> np.ndarray:
    """Sorted unique quantile edges (actual values) of a seeded sample of ``values``.

    Empty when the column has no finite value.
    """
    values = np.asarray(values, np.float64)
    n = len(values)
    if n > sample:
        picked = values[_sample_rows(n, sample, seed)]
        picked = picked[np.isfinite(picked)]
        if len(picked) < min(sample // 4, 1024):  # mostly missing: take the values themselves
            finite = values[np.isfinite(values)]
            picked = finite if len(finite) <= sample else \
                finite[_sample_rows(len(finite), sample, seed)]
    else:
        picked = values[np.isfinite(values)]
    if not len(picked):
        return np.zeros(0)
    s = np.sort(picked)
    e = s[np.round(np.linspace(0, len(s) - 1, bins + 1)).astype(np.int64)]
    return e[np.concatenate([[True], e[1:] != e[:-1]])]


@lru_cache(maxsize=8)
def _sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted seeded row positions (with replacement), shared by the columns of a table."""
    rows = np.sort(np.random.default_rng(seed).integers(0, n, size=size))
    rows.flags.writeable = False
    return rows


def numeric_sketch(values: Any, *, like: NumericSketch | None = None, seed: int = 0,
                   kernel: bool = True, parallel: bool = True) -> NumericSketch:
    """Sketch a numeric column (float64-convertible array; NaN / ±inf = missing).

    ``like``: reuse that sketch's edges (current data is always sketched like the
    reference); otherwise place new edges from a seeded sample. ``kernel=False`` uses the
    numpy reference instead of the numba kernel; ``parallel=False`` runs the kernel on the
    calling thread with the GIL released (for sketching several columns on threads at
    once; same result).
    """
    x = np.asarray(values, dtype=np.float64)
    if like is not None:
        edges, center = like.edges, like.center
    else:
        edges = reference_edges(x, seed=seed)
        center = float(edges[len(edges) // 2]) if len(edges) else 0.0
    if not len(edges):  # no finite value at all
        return NumericSketch(edges, center, np.zeros(1, np.int64), np.zeros(1),
                             len(x), np.zeros(4), float("inf"), float("-inf"))
    if kernel:
        from dawn.monitor._drift_kernels import bin_column

        counts, sums, stats = bin_column(x, edges, center, parallel=parallel)
    else:
        from dawn.monitor._drift_kernels import bin_column_reference

        counts, sums, stats = bin_column_reference(x, edges, center)
    return NumericSketch(edges, center, counts, sums, int(stats[0]), stats[1:5].copy(),
                         float(stats[5]), float(stats[6]))


# -- categorical --------------------------------------------------------------------------
@dataclass
class CategoricalSketch:
    """Value counts of one categorical column (module docstring).

    ``values`` / ``counts``: the vocabulary (the reference's most frequent values) and
    their counts; ``extra``: values outside the vocabulary with their counts (kept by name
    up to :data:`MAX_CATEGORIES`); ``other``: the count of all further values.
    """

    values: list
    counts: np.ndarray
    n_missing: int
    other: int = 0
    extra: dict = field(default_factory=dict)
    type: pa.DataType = field(default_factory=pa.string)

    @property
    def n_values(self) -> int:
        """Number of non-missing values."""
        return int(self.counts.sum()) + self.other + int(sum(self.extra.values()))

    @property
    def n(self) -> int:
        """Number of rows."""
        return self.n_values + int(self.n_missing)

    @property
    def missing_rate(self) -> float:
        """Share of rows that are missing (NaN when there are no rows)."""
        return self.n_missing / self.n if self.n else float("nan")

    def outside(self) -> int:
        """Count of values outside the vocabulary (``extra`` and ``other``)."""
        return self.other + int(sum(self.extra.values()))

    def merge(self, other: CategoricalSketch) -> CategoricalSketch:
        """The sketch of both batches (they must share the vocabulary)."""
        if self.values != other.values:
            raise SchemaError("categorical sketches with different vocabularies cannot be "
                              "merged; build both with like=<the reference sketch>.")
        extra = dict(self.extra)
        for v, c in other.extra.items():
            extra[v] = extra.get(v, 0) + c
        overflow = 0
        if len(extra) > MAX_CATEGORIES:
            kept = sorted(extra.items(), key=lambda kv: -kv[1])
            overflow = sum(c for _, c in kept[MAX_CATEGORIES:])
            extra = dict(kept[:MAX_CATEGORIES])
        return CategoricalSketch(self.values, self.counts + other.counts,
                                 self.n_missing + other.n_missing,
                                 self.other + other.other + overflow, extra, self.type)

    def empty_like(self) -> CategoricalSketch:
        """A sketch with no rows on the same vocabulary."""
        return CategoricalSketch(self.values, np.zeros_like(self.counts), 0, 0, {}, self.type)

    def vocabulary(self) -> pa.Array:
        """The vocabulary as an Arrow array of the reference's value type."""
        return _typed_array(self.values, self.type)

    # -- storage -------------------------------------------------------------------
    def to_arrays(self, prefix: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON metadata for :func:`dawn.store.save_artefact`."""
        arrays = {f"{prefix}.counts": self.counts,
                  f"{prefix}.scalars": np.array([self.n_missing, self.other], np.int64)}
        meta = {"values": _json_values(self.values, self.type), "type": str(self.type),
                "extra": [[v, c] for v, c in self.extra.items()]}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any],
                    prefix: str) -> CategoricalSketch:
        """Inverse of :meth:`to_arrays`."""
        typ = _type_from_str(meta["type"])
        values = _typed_array(meta["values"], typ).to_pylist()
        s = np.asarray(arrays[f"{prefix}.scalars"], np.int64)
        extra = {v: int(c) for v, c in meta.get("extra", [])}
        return cls(values, np.asarray(arrays[f"{prefix}.counts"], np.int64), int(s[0]),
                   int(s[1]), extra, typ)


def categorical_sketch(values: Any, *, like: CategoricalSketch | None = None,
                       name: str = "column") -> CategoricalSketch:
    """Sketch a categorical column (Arrow array, list, or numpy / pandas values).

    Without ``like``, the vocabulary is the :data:`MAX_CATEGORIES` most frequent values
    (ties in order of appearance); with ``like``, counts are taken on that vocabulary and
    values outside it are kept as ``extra`` / ``other``.
    """
    arr = values if isinstance(values, pa.Array) else pa.array(
        values.tolist() if isinstance(values, np.ndarray) and values.dtype == object else values)
    distinct, counts, n_missing = distinct_counts(arr)
    if like is None:
        order = np.argsort(-counts, kind="stable")
        top = order[:MAX_CATEGORIES]
        vocab_type = _value_type(arr.type)
        return CategoricalSketch(distinct.take(pa.array(top)).to_pylist(), counts[top],
                                 n_missing, int(counts[order[MAX_CATEGORIES:]].sum()), {},
                                 vocab_type)
    distinct = _cast_like(distinct, like.type, name)
    vocab_counts = np.zeros(len(like.values), np.int64)
    if len(distinct):
        pos = pc.index_in(distinct, value_set=like.vocabulary())
        pos_np = pos.to_numpy(zero_copy_only=False)
        inside = ~np.asarray(pos.is_null().to_numpy(zero_copy_only=False), bool)
        np.add.at(vocab_counts, pos_np[inside].astype(np.int64), counts[inside])
        out_idx = np.flatnonzero(~inside)
    else:
        out_idx = np.zeros(0, np.int64)
    other = 0
    if len(out_idx) > MAX_CATEGORIES:
        part = np.argpartition(-counts[out_idx], MAX_CATEGORIES - 1)
        other = int(counts[out_idx[part[MAX_CATEGORIES:]]].sum())
        out_idx = out_idx[part[:MAX_CATEGORIES]]
    out_idx = out_idx[np.argsort(-counts[out_idx], kind="stable")]
    names = distinct.take(pa.array(out_idx, pa.int64())).to_pylist()
    extra = dict(zip(names, counts[out_idx].tolist(), strict=True))
    return CategoricalSketch(like.values, vocab_counts, n_missing, other, extra, like.type)


def distinct_counts(arr: pa.Array) -> tuple[pa.Array, np.ndarray, int]:
    """``(distinct non-missing values, their counts, missing count)`` of an Arrow array.

    Dictionary arrays are counted through their indices; NaN counts as missing.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n_missing = arr.null_count
    if pa.types.is_floating(arr.type):
        nan = pc.is_nan(arr)
        n_nan = int(pc.sum(nan).as_py() or 0)
        if n_nan:
            arr = arr.filter(pc.invert(pc.fill_null(nan, True)))
            n_missing += n_nan
    if pa.types.is_dictionary(arr.type):
        dictionary = arr.dictionary
        idx = pc.fill_null(arr.indices, len(dictionary)).to_numpy(zero_copy_only=False)
        counts = np.bincount(idx.astype(np.int64), minlength=len(dictionary) + 1)[:-1]
        distinct, counts = dictionary, counts.astype(np.int64)
        if dictionary.null_count:  # a null inside the dictionary is missing too
            dnull = np.asarray(dictionary.is_null().to_numpy(zero_copy_only=False), bool)
            n_missing += int(counts[dnull].sum())
            keep = ~dnull
            distinct, counts = distinct.filter(pa.array(keep)), counts[keep]
        if len(distinct) and pc.count_distinct(distinct).as_py() != len(distinct):
            t = pa.table({"v": distinct, "c": counts}).group_by("v", use_threads=False) \
                .aggregate([("c", "sum")])
            distinct, counts = t.column("v").combine_chunks(), \
                t.column("c_sum").to_numpy().astype(np.int64)
        keep = counts > 0
        if not keep.all():
            distinct, counts = distinct.filter(pa.array(keep)), counts[keep]
        return distinct, counts, int(n_missing)
    vc = pc.value_counts(arr)
    distinct = vc.field("values")
    counts = vc.field("counts").to_numpy(zero_copy_only=False).astype(np.int64)
    if distinct.null_count:
        keep = np.asarray(distinct.is_valid().to_numpy(zero_copy_only=False), bool)
        distinct, counts = distinct.filter(pa.array(keep)), counts[keep]
    return distinct, counts, int(n_missing)


# -- types --------------------------------------------------------------------------------
def family(t: pa.DataType) -> str:
    """A coarse type family: ``text``, ``integer``, ``float``, ``bool``, ``temporal``,
    ``null`` or ``other`` (dictionaries by their value type)."""
    if pa.types.is_dictionary(t):
        return family(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_temporal(t):
        return "temporal"
    if pa.types.is_null(t):
        return "null"
    return "other"


def _value_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    return t


def _cast_like(distinct: pa.Array, target: pa.DataType, name: str) -> pa.Array:
    if distinct.type == target or not len(distinct):
        return distinct if distinct.type == target else distinct.cast(target)
    a, b = family(distinct.type), family(target)
    numeric = {"integer", "float"}
    if a != b and not (a in numeric and b in numeric) and a != "null":
        raise SchemaError(f"column {name!r} held {target} values in the reference but holds "
                          f"{distinct.type} now; convert it back to {target} (or refit the "
                          "monitor on data of the new type).")
    try:
        return distinct.cast(target, safe=False) if a == "null" else distinct.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if a in numeric and b == "integer":  # 1.5 cannot be a reference category anyway
            return pc.cast(distinct, target, safe=False)
        raise SchemaError(f"column {name!r} holds {distinct.type} values that cannot be "
                          f"compared with the reference's {target} categories.") from None


def _typed_array(values: list, typ: pa.DataType) -> pa.Array:
    try:
        return pa.array(values, type=typ)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([str(v) for v in values]).cast(typ)


def _json_values(values: list, typ: pa.DataType) -> list:
    if all(v is None or isinstance(v, (bool, int, float, str)) for v in values):
        return list(values)
    return [str(v) for v in values]


def _type_from_str(text: str) -> pa.DataType:
    simple = {"string": pa.string(), "bool": pa.bool_(), "double": pa.float64(),
              "float": pa.float32(), "int64": pa.int64(), "int32": pa.int32(),
              "int16": pa.int16(), "int8": pa.int8(), "uint8": pa.uint8(),
              "uint16": pa.uint16(), "uint32": pa.uint32(), "uint64": pa.uint64(),
              "date32[day]": pa.date32(), "null": pa.null()}
    if text in simple:
        return simple[text]
    try:
        return pa.type_for_alias(text)
    except (ValueError, KeyError):
        return pa.string()
