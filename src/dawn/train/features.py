"""Featurisers for end models: TF-IDF text, standardised / one-hot tabular, and both.

Each featuriser is estimator-like: ``fit(data)`` learns from a table (anything
:func:`dawn.data.as_frame` reads) and returns ``self``; ``transform(data)`` gives a
``scipy.sparse.csr_matrix`` (float32 by default, ``dtype="float64"`` on request);
``to_arrays()`` returns ``(arrays, meta)`` (numpy arrays for an ``.npz`` and a
JSON-serialisable dict) and ``from_arrays(arrays, meta)`` rebuilds the fitted object, so
nothing is pickled.

- :class:`TextFeaturizer`: TF-IDF equal to scikit-learn's ``TfidfVectorizer`` with the
  same settings (fitted with it); ``transform`` is dawn's own kernel
  (:mod:`dawn.train._text_kernels`), several times faster.
- :class:`TabularFeaturizer`: numbers standardised (a missing-indicator column for those
  with missing values at fit, missing values set to the mean), strings one-hot over the
  categories seen at fit (unknown ones: all zeros), booleans as 0/1.
- :class:`Featurizer`: a text column and tabular columns side by side — what the trainer uses.

>>> import pandas as pd
>>> df = pd.DataFrame({"text": ["free prize now", "see you at lunch", "free lunch"],
...                    "n_links": [3, 0, 1], "source": ["web", "sms", "sms"]})
>>> feats = Featurizer(text="text", columns=["n_links", "source"], min_df=1).fit(df)
>>> X = feats.transform(df)
>>> X.shape, X.dtype
((3, 10), dtype('float32'))
>>> feats.feature_names_out()[-3:]
['n_links', 'source=sms', 'source=web']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from dawn.data.frame import Frame, as_frame
from dawn.errors import ConfigError, DataError, EmptyDataError, NotFittedError, SchemaError

__all__ = ["Featurizer", "TabularFeaturizer", "TextFeaturizer"]

_DTYPES = {"float32": np.float32, "float64": np.float64}


def _check_dtype(dtype: Any) -> str:
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _DTYPES:
        raise ConfigError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    return name


def _frame(data: Any, column: str | None = None) -> Frame:
    if column is not None and isinstance(data, (list, tuple, np.ndarray)):
        return as_frame({column: list(data)})
    return as_frame(data)


class TextFeaturizer:
    """TF-IDF features of one text column, equal to scikit-learn's ``TfidfVectorizer``.

    Parameters
    ----------
    column : str
        The text column. Nulls count as empty texts.
    ngram_range : tuple of int
        Word n-grams from ``ngram_range[0]`` to ``ngram_range[1]`` words, e.g. ``(1, 2)``.
    min_df : int or float
        Drop terms found in fewer documents (a float is a fraction of documents).
    max_features : int or None
        Keep the most frequent terms only.
    sublinear_tf : bool
        Use ``1 + log(tf)`` instead of the raw count.
    lowercase : bool
        Lowercase texts first (``str.lower``).
    dtype : {"float32", "float64"}
        The output's element type.

    Tokens are scikit-learn's (``(?u)\\b\\w\\w+\\b``); weights are ``tf · idf`` with the
    smooth idf ``ln((1 + n) / (1 + df)) + 1`` and rows scaled to unit length.

    Examples
    --------
    >>> tf = TextFeaturizer(min_df=1).fit({"text": ["Free prize!", "free lunch", None]})
    >>> tf.feature_names_out()
    ['free', 'lunch', 'prize']
    >>> tf.transform({"text": ["FREE free lunch", "nothing known"]}).toarray().round(3)
    array([[0.79 , 0.613, 0.   ],
           [0.   , 0.   , 0.   ]], dtype=float32)
    """

    def __init__(self, column: str = "text", ngram_range: tuple[int, int] = (1, 1),
                 min_df: int | float = 2, max_features: int | None = 50000,
                 sublinear_tf: bool = True, lowercase: bool = True,
                 dtype: str = "float32") -> None:
        self.column = column
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.lowercase = lowercase
        self.dtype = dtype

    # -- fitting -----------------------------------------------------------------
    def _check_params(self) -> tuple[int, int]:
        _check_dtype(self.dtype)
        try:
            lo, hi = (int(v) for v in self.ngram_range)
        except (TypeError, ValueError):
            raise ConfigError(f"ngram_range must be a pair of ints like (1, 2), got "
                              f"{self.ngram_range!r}.") from None
        if not 1 <= lo <= hi:
            raise ConfigError(f"ngram_range must satisfy 1 <= low <= high, got "
                              f"{self.ngram_range!r}.")
        if isinstance(self.min_df, float) and not 0.0 < self.min_df <= 1.0:
            raise ConfigError(f"min_df as a fraction must be in (0, 1], got {self.min_df!r}.")
        if not isinstance(self.min_df, float) and int(self.min_df) < 1:
            raise ConfigError(f"min_df must be a count >= 1 or a fraction, got {self.min_df!r}.")
        if self.max_features is not None and int(self.max_features) < 1:
            raise ConfigError(f"max_features must be >= 1 or None, got {self.max_features!r}.")
        return lo, hi

    def fit(self, data: Any) -> TextFeaturizer:
        """Learn the vocabulary and idf from the text column of ``data``; returns ``self``."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        lo, hi = self._check_params()
        frame = _frame(data, self.column)
        texts = frame.strings(self.column, purpose="TextFeaturizer")
        if len(texts) == 0:
            raise EmptyDataError(f"cannot fit TextFeaturizer on column {self.column!r}: the "
                                 "data has no rows.")
        vec = TfidfVectorizer(ngram_range=(lo, hi), min_df=self.min_df,
                              max_features=self.max_features, sublinear_tf=self.sublinear_tf,
                              lowercase=self.lowercase, dtype=np.float64)
        try:
            vec.fit(texts)
        except ValueError as exc:
            raise DataError(
                f"no terms to learn from column {self.column!r} ({exc}); it needs words of two "
                f"or more letters found in at least min_df={self.min_df!r} rows — lower "
                "min_df or check the column."
            ) from None
        self._set_vocabulary(list(vec.get_feature_names_out()), vec.idf_)
        return self

    @classmethod
    def from_sklearn(cls, vectorizer: Any, column: str = "text",
                     dtype: str = "float32") -> TextFeaturizer:
        """A fitted featuriser with the vocabulary and idf of a fitted ``TfidfVectorizer``.

        Only settings dawn reproduces are accepted (word analyzer, default token pattern,
        l2 norm, idf on, no stop-word list, preprocessor, tokenizer or accent stripping).
        """
        from dawn.train._text_kernels import TOKEN_PATTERN

        p = vectorizer.get_params()
        bad = [k for k, ok in [
            ("analyzer", p.get("analyzer") == "word"),
            ("token_pattern", p.get("token_pattern") == TOKEN_PATTERN),
            ("norm", p.get("norm") == "l2"), ("use_idf", p.get("use_idf") is True),
            ("stop_words", p.get("stop_words") is None),
            ("preprocessor", p.get("preprocessor") is None),
            ("tokenizer", p.get("tokenizer") is None),
            ("strip_accents", p.get("strip_accents") is None),
            ("binary", p.get("binary") is False)] if not ok]
        if bad:
            raise ConfigError(f"TfidfVectorizer settings {bad} are not supported by "
                              "TextFeaturizer; use the defaults for them.")
        if not hasattr(vectorizer, "idf_"):
            raise NotFittedError("the TfidfVectorizer is not fitted; call its fit first.")
        self = cls(column=column, ngram_range=tuple(p["ngram_range"]), min_df=p["min_df"],
                   max_features=p["max_features"], sublinear_tf=p["sublinear_tf"],
                   lowercase=p["lowercase"], dtype=dtype)
        self._set_vocabulary(list(vectorizer.get_feature_names_out()), vectorizer.idf_)
        return self

    def _set_vocabulary(self, terms: list[str], idf: np.ndarray) -> None:
        from dawn.train._text_kernels import VocabTable

        self._table = VocabTable.build(terms)
        self._index: dict[str, int] | None = None
        self.idf_ = np.asarray(idf, dtype=np.float64).copy()
        self.n_features_ = len(terms)

    # -- using -------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "idf_"):
            raise NotFittedError("this TextFeaturizer is not fitted yet; call fit(data) first.")

    def transform(self, data: Any) -> sp.csr_matrix:
        """TF-IDF rows of ``data``'s text column as ``csr_matrix (n, n_features_)``."""
        from dawn.train._text_kernels import tfidf_transform

        self._check_fitted()
        frame = _frame(data, self.column)
        col = frame.arrow(self.column, purpose="TextFeaturizer")
        return tfidf_transform(col, self._table, self.idf_, ngram_range=tuple(self.ngram_range),
                               lowercase=self.lowercase, sublinear_tf=self.sublinear_tf,
                               dtype=_DTYPES[_check_dtype(self.dtype)], index=self._term_index)

    def _term_index(self) -> dict[str, int]:
        """Term -> column, built on first need (rows with non-ASCII text) and kept."""
        if self._index is None:
            self._index = {t: j for j, t in enumerate(self._table.terms())}
        return self._index

    def fit_transform(self, data: Any) -> sp.csr_matrix:
        """``fit(data)`` then ``transform(data)``."""
        return self.fit(data).transform(data)

    def feature_names_out(self) -> list[str]:
        """The terms, in column order."""
        self._check_fitted()
        return self._table.terms()

    # -- saving ------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: vocabulary bytes/offsets and idf, and the settings."""
        self._check_fitted()
        arrays = {"vocab_bytes": self._table.data, "vocab_offsets": self._table.offsets,
                  "idf": self.idf_}
        meta = {"kind": "text", "column": self.column, "ngram_range": list(self.ngram_range),
                "min_df": self.min_df, "max_features": self.max_features,
                "sublinear_tf": bool(self.sublinear_tf), "lowercase": bool(self.lowercase),
                "dtype": _check_dtype(self.dtype)}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> TextFeaturizer:
        """Rebuild a fitted featuriser from :meth:`to_arrays` output."""
        from dawn.train._text_kernels import VocabTable

        self = cls(column=meta["column"], ngram_range=tuple(meta["ngram_range"]),
                   min_df=meta["min_df"], max_features=meta["max_features"],
                   sublinear_tf=meta["sublinear_tf"], lowercase=meta["lowercase"],
                   dtype=meta.get("dtype", "float32"))
        idf = np.asarray(arrays["idf"], dtype=np.float64)
        self._table = VocabTable.from_arrays(arrays["vocab_bytes"], arrays["vocab_offsets"])
        if len(self._table) != len(idf):
            raise DataError(f"saved vocabulary has {len(self._table)} terms but idf has "
                            f"{len(idf)} values; the artefact is damaged.")
        self._index = None
        self.idf_ = idf.copy()
        self.n_features_ = len(idf)
        return self

    def __repr__(self) -> str:
        return (f"TextFeaturizer(column={self.column!r}, ngram_range={tuple(self.ngram_range)}, "
                f"min_df={self.min_df!r}, max_features={self.max_features!r})")


class TabularFeaturizer:
    """Tabular columns as model features.

    Numeric columns are standardised with the mean and standard deviation seen at fit
    (a constant column is only centred); a numeric column with missing values at fit also
    gets a ``<name>__missing`` 0/1 column, and missing values become the mean (0 after
    scaling). String (and dictionary) columns are one-hot over the categories seen at fit;
    unknown categories and nulls give all zeros. Booleans are 0/1 (null → 0).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"age": [20.0, None, 40.0], "city": ["a", "b", "a"]})
    >>> tab = TabularFeaturizer(["age", "city"]).fit(df)
    >>> tab.feature_names_out()
    ['age', 'age__missing', 'city=a', 'city=b']
    >>> tab.transform(pd.DataFrame({"age": [30.0], "city": ["z"]})).toarray()
    array([[0., 0., 0., 0.]], dtype=float32)
    """

    def __init__(self, columns: Sequence[str], dtype: str = "float32") -> None:
        self.columns = columns
        self.dtype = dtype

    def fit(self, data: Any) -> TabularFeaturizer:
        """Learn means, standard deviations and categories; returns ``self``."""
        _check_dtype(self.dtype)
        cols = self._column_list()
        frame = as_frame(data)
        frame.require(*cols, purpose="TabularFeaturizer")
        if len(frame) == 0:
            raise EmptyDataError("cannot fit TabularFeaturizer: the data has no rows.")
        kinds, means, stds, missing, cats = [], [], [], [], []
        for name in cols:
            t = frame.arrow(name).type
            if pa.types.is_boolean(t):
                kinds.append("bool")
            elif (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
                  or pa.types.is_null(t)):
                x = frame.numeric(name)
                ok = np.isfinite(x)
                if np.isinf(x).any():
                    raise DataError(f"column {name!r} has infinite values; replace them "
                                    "(e.g. with NaN for missing) before fitting.")
                mean = float(x[ok].mean()) if ok.any() else 0.0
                std = float(x[ok].std()) if ok.any() else 0.0
                kinds.append("numeric")
                means.append(mean)
                stds.append(std if std > 0 else 1.0)
                missing.append(bool((~ok).any()))
            else:
                kinds.append("categorical")
                arr = self._as_strings(frame, name)
                uniq = arr.unique().drop_null().to_pylist()
                cats.append(sorted(uniq))
        self.kinds_ = kinds
        self.means_ = np.asarray(means, dtype=np.float64)
        self.stds_ = np.asarray(stds, dtype=np.float64)
        self.has_missing_ = np.asarray(missing, dtype=bool)
        self.categories_ = cats
        self.n_features_ = len(self.feature_names_out())
        return self

    def _column_list(self) -> list[str]:
        if isinstance(self.columns, str):
            return [self.columns]
        cols = list(self.columns)
        if not cols:
            raise ConfigError("TabularFeaturizer needs at least one column name.")
        if len(set(cols)) != len(cols):
            raise ConfigError(f"columns are repeated in {cols}; name each column once.")
        return cols

    @staticmethod
    def _as_strings(frame: Frame, name: str) -> pa.Array:
        arr = frame.arrow(name)
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if not pa.types.is_large_string(arr.type):
            try:
                arr = arr.cast(pa.large_string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise SchemaError(f"column {name!r} of type {arr.type} can be used neither "
                                  "as numbers nor as categories.") from None
        return arr

    def _check_fitted(self) -> None:
        if not hasattr(self, "kinds_"):
            raise NotFittedError("this TabularFeaturizer is not fitted yet; call fit(data) "
                                 "first.")

    def transform(self, data: Any) -> sp.csr_matrix:
        """Features of ``data`` as ``csr_matrix (n, n_features_)``."""
        import pyarrow.compute as pc

        self._check_fitted()
        cols = self._column_list()
        frame = as_frame(data)
        frame.require(*cols, purpose="TabularFeaturizer")
        n = len(frame)
        dtype = _DTYPES[_check_dtype(self.dtype)]
        blocks: list[sp.spmatrix] = []
        i_num = i_cat = 0
        for name, kind in zip(cols, self.kinds_, strict=True):
            if kind == "bool":
                x = np.nan_to_num(frame.numeric(name, purpose="TabularFeaturizer"), nan=0.0)
                blocks.append(sp.csr_matrix(x.astype(dtype).reshape(-1, 1)))
            elif kind == "numeric":
                x = frame.numeric(name, purpose="TabularFeaturizer")
                miss = ~np.isfinite(x)
                z = (np.where(miss, self.means_[i_num], x) - self.means_[i_num]) \
                    / self.stds_[i_num]
                dense = z.reshape(-1, 1)
                if self.has_missing_[i_num]:
                    dense = np.column_stack([z, miss.astype(np.float64)])
                blocks.append(sp.csr_matrix(dense.astype(dtype)))
                i_num += 1
            else:
                cats = self.categories_[i_cat]
                arr = self._as_strings(frame, name)
                idx = pc.index_in(arr, value_set=pa.array(cats, pa.large_string()))
                idx = idx.to_numpy(zero_copy_only=False)
                idx = np.where(np.isnan(idx), -1, idx).astype(np.int64) \
                    if idx.dtype.kind == "f" else idx.astype(np.int64)
                hit = idx >= 0
                indptr = np.zeros(n + 1, dtype=np.int64)
                np.cumsum(hit, out=indptr[1:])
                blocks.append(sp.csr_matrix(
                    (np.ones(int(hit.sum()), dtype=dtype), idx[hit], indptr),
                    shape=(n, len(cats))))
                i_cat += 1
        return sp.hstack(blocks, format="csr", dtype=dtype)

    def fit_transform(self, data: Any) -> sp.csr_matrix:
        """``fit(data)`` then ``transform(data)``."""
        return self.fit(data).transform(data)

    def feature_names_out(self) -> list[str]:
        """One name per output column: ``col``, ``col__missing``, ``col=category``."""
        self._check_fitted()
        names: list[str] = []
        i_num = i_cat = 0
        for name, kind in zip(self._column_list(), self.kinds_, strict=True):
            if kind == "numeric":
                names.append(name)
                if self.has_missing_[i_num]:
                    names.append(f"{name}__missing")
                i_num += 1
            elif kind == "categorical":
                names.extend(f"{name}={c}" for c in self.categories_[i_cat])
                i_cat += 1
            else:
                names.append(name)
        return names

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: means, stds, missing flags and packed category strings."""
        from dawn.train._text_kernels import pack_strings

        self._check_fitted()
        arrays = {"means": self.means_, "stds": self.stds_,
                  "has_missing": self.has_missing_.astype(np.uint8)}
        for i, cats in enumerate(self.categories_):
            arrays[f"cat{i}_bytes"], arrays[f"cat{i}_offsets"] = pack_strings(cats)
        meta = {"kind": "tabular", "columns": self._column_list(), "kinds": list(self.kinds_),
                "dtype": _check_dtype(self.dtype)}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]
                    ) -> TabularFeaturizer:
        """Rebuild a fitted featuriser from :meth:`to_arrays` output."""
        from dawn.train._text_kernels import unpack_strings

        self = cls(list(meta["columns"]), dtype=meta.get("dtype", "float32"))
        self.kinds_ = list(meta["kinds"])
        self.means_ = np.asarray(arrays["means"], dtype=np.float64)
        self.stds_ = np.asarray(arrays["stds"], dtype=np.float64)
        self.has_missing_ = np.asarray(arrays["has_missing"]).astype(bool)
        n_cat = self.kinds_.count("categorical")
        self.categories_ = [unpack_strings(arrays[f"cat{i}_bytes"], arrays[f"cat{i}_offsets"])
                            for i in range(n_cat)]
        self.n_features_ = len(self.feature_names_out())
        return self

    def __repr__(self) -> str:
        return f"TabularFeaturizer(columns={list(self.columns)!r})"


class Featurizer:
    """A text column (TF-IDF) and tabular columns, side by side — the trainer's features.

    Parameters
    ----------
    text : str or None
        The text column, or ``None`` for tabular features only.
    columns : sequence of str
        Tabular columns (see :class:`TabularFeaturizer`).
    ngram_range, min_df, max_features, sublinear_tf, lowercase
        Passed to :class:`TextFeaturizer`.
    dtype : {"float32", "float64"}
        The output's element type.

    Text features come first, then tabular ones.

    Examples
    --------
    >>> f = Featurizer(text=None, columns=["x"]).fit({"x": [1.0, 3.0]})
    >>> f.transform({"x": [2.0, 5.0]}).toarray().ravel()
    array([0., 3.], dtype=float32)
    """

    def __init__(self, text: str | None = "text", columns: Sequence[str] = (),
                 ngram_range: tuple[int, int] = (1, 1), min_df: int | float = 2,
                 max_features: int | None = 50000, sublinear_tf: bool = True,
                 lowercase: bool = True, dtype: str = "float32") -> None:
        self.text = text
        self.columns = columns
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.lowercase = lowercase
        self.dtype = dtype

    def _parts(self) -> tuple[TextFeaturizer | None, TabularFeaturizer | None]:
        cols = [self.columns] if isinstance(self.columns, str) else list(self.columns)
        if self.text is None and not cols:
            raise ConfigError("Featurizer needs a text column, tabular columns, or both; "
                              "got text=None and no columns.")
        if self.text is not None and self.text in cols:
            raise ConfigError(f"column {self.text!r} is both the text column and a tabular "
                              "column; list it once.")
        text = None if self.text is None else TextFeaturizer(
            column=self.text, ngram_range=self.ngram_range, min_df=self.min_df,
            max_features=self.max_features, sublinear_tf=self.sublinear_tf,
            lowercase=self.lowercase, dtype=self.dtype)
        tab = TabularFeaturizer(cols, dtype=self.dtype) if cols else None
        return text, tab

    def fit(self, data: Any) -> Featurizer:
        """Fit the text and tabular parts on ``data``; returns ``self``."""
        _check_dtype(self.dtype)
        frame = _frame(data, self.text)
        text, tab = self._parts()
        if tab is not None:
            tab.fit(frame)
        if text is not None:
            text.fit(frame)
        self.text_, self.tabular_ = text, tab
        self.n_features_ = sum(p.n_features_ for p in (text, tab) if p is not None)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_"):
            raise NotFittedError("this Featurizer is not fitted yet; call fit(data) first.")

    def transform(self, data: Any) -> sp.csr_matrix:
        """Features of ``data`` as ``csr_matrix (n, n_features_)``."""
        self._check_fitted()
        frame = _frame(data, self.text)
        blocks = [p.transform(frame) for p in (self.text_, self.tabular_) if p is not None]
        if len(blocks) == 1:
            return blocks[0]
        return sp.hstack(blocks, format="csr", dtype=_DTYPES[_check_dtype(self.dtype)])

    def fit_transform(self, data: Any) -> sp.csr_matrix:
        """``fit(data)`` then ``transform(data)``."""
        return self.fit(data).transform(data)

    def feature_names_out(self) -> list[str]:
        """Names of the output columns (terms, then tabular names)."""
        self._check_fitted()
        return [n for p in (self.text_, self.tabular_) if p is not None
                for n in p.feature_names_out()]

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)`` of both parts (array keys prefixed ``text.`` / ``tab.``)."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {"kind": "featurizer", "text": self.text,
                                "columns": list(self.tabular_.columns) if self.tabular_ else [],
                                "dtype": _check_dtype(self.dtype)}
        for key, part in (("text", self.text_), ("tab", self.tabular_)):
            if part is None:
                meta[key] = None
                continue
            a, m = part.to_arrays()
            arrays.update({f"{key}.{k}": v for k, v in a.items()})
            meta[key + "_meta"] = m
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Featurizer:
        """Rebuild a fitted featuriser from :meth:`to_arrays` output."""
        def sub(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix) + 1:]: v for k, v in arrays.items()
                    if k.startswith(prefix + ".")}

        text = TextFeaturizer.from_arrays(sub("text"), meta["text_meta"]) \
            if meta.get("text_meta") else None
        tab = TabularFeaturizer.from_arrays(sub("tab"), meta["tab_meta"]) \
            if meta.get("tab_meta") else None
        self = cls(text=meta["text"], columns=list(meta["columns"]), dtype=meta["dtype"])
        if text is not None:
            self.ngram_range, self.min_df = text.ngram_range, text.min_df
            self.max_features, self.sublinear_tf = text.max_features, text.sublinear_tf
            self.lowercase = text.lowercase
        self.text_, self.tabular_ = text, tab
        self.n_features_ = sum(p.n_features_ for p in (text, tab) if p is not None)
        return self

    def __repr__(self) -> str:
        return f"Featurizer(text={self.text!r}, columns={list(self.columns)!r})"
