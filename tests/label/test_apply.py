"""apply_lfs: Python and vectorised LFs on every backend, and every bad input."""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.data import as_frame
from dawn.errors import (
    ColumnNotFoundError,
    ConfigError,
    EmptyDataError,
    LabelError,
    LabelingFunctionError,
)
from dawn.label import LabelMatrix, apply_lfs, labeling_function, preprocessor
from dawn.label.apply import labels_from_values
from dawn.label.base import LabelingFunction, resolve_label

CLASSES = ["ham", "spam"]


# ------------------------------------------------------------------------ tiny test LFs
class ContainsLF(LabelingFunction):
    """Vectorised: votes ``label`` where ``word`` occurs in ``column``."""

    vectorized = True

    def __init__(self, name, word, label, column="text"):
        super().__init__(name)
        self.word, self.label, self.column = word, label, column

    @property
    def columns(self):
        return (self.column,)

    def apply_frame(self, frame, classes=None):
        hit = np.array([self.word in s for s in frame.strings(self.column)], dtype=bool)
        return np.where(hit, resolve_label(self.label, classes, self.name), -1)

    def __call__(self, x):
        return self.label if self.word in x[self.column] else -1


class GreaterLF(LabelingFunction):
    """Vectorised with ``apply_many``: votes ``label`` where ``column > value``."""

    vectorized = True
    calls = 0

    def __init__(self, name, column, value, label):
        super().__init__(name)
        self.column, self.value, self.label = column, value, label

    @property
    def columns(self):
        return (self.column,)

    @classmethod
    def apply_many(cls, lfs, frame, classes):
        cls.calls += 1
        return np.column_stack([
            np.where(frame.numeric(lf.column) > lf.value,
                     resolve_label(lf.label, classes, lf.name), -1) for lf in lfs])

    def __call__(self, x):
        return self.label if x[self.column] > self.value else -1


class RawLF(LabelingFunction):
    """Vectorised, returning whatever array it is given (to test output checks)."""

    vectorized = True

    def __init__(self, name, make):
        super().__init__(name)
        self.make = make

    def apply_frame(self, frame, classes=None):
        return self.make(len(frame))


@labeling_function()
def has_free(x):
    return "spam" if "free" in x.text else None


@labeling_function()
def short(x):
    return 0 if len(x.text) < 12 else -1


@labeling_function(label=1)
def big(x):
    return x.n > 90


def texts(n):
    words = ["free", "hello", "prize", "mum", "see you", "click", "win"]
    return [" ".join(words[(i * 7 + j) % len(words)] for j in range(i % 4 + 1))
            for i in range(n)]


@pytest.fixture(scope="module")
def df():
    n = 1000
    return pd.DataFrame({"text": texts(n), "n": np.arange(n) % 100})


def reference(lfs, df, classes=None):
    """Per-row Python reference: every LF called on every row, labels resolved one by one."""
    from dawn.label.lf import as_lf, make_row

    rows = [make_row(r) for r in df.to_dict("records")]
    cols = []
    for lf in map(as_lf, lfs):
        cols.append([resolve_label(lf(x), classes, lf.name) for x in rows])
    return np.array(cols, dtype=np.int64).T


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=None) as c:
        yield c


# ------------------------------------------------------------------------------- basics
def test_python_lfs_match_a_per_row_reference(df):
    lfs = [has_free, short, big]
    L = apply_lfs(lfs, df, classes=CLASSES, backend="local")
    assert isinstance(L, LabelMatrix)
    assert L.shape == (len(df), 3) and L.lf_names == ["has_free", "short", "big"]
    assert L.classes == CLASSES and L.dtype == np.int8
    np.testing.assert_array_equal(np.asarray(L), reference(lfs, df, CLASSES))
    assert L.errors.empty and list(L.errors.columns) == ["row", "lf", "error"]


def test_mixed_lfs_keep_the_given_column_order(df):
    GreaterLF.calls = 0
    lfs = [GreaterLF("gt50", "n", 50, "spam"), short, ContainsLF("c_win", "win", "spam"),
           GreaterLF("gt80", "n", 80, "ham"), has_free]
    L = apply_lfs(lfs, df, classes=CLASSES, backend="local")
    assert L.lf_names == ["gt50", "short", "c_win", "gt80", "has_free"]
    assert GreaterLF.calls == 1  # one apply_many call for the whole group
    np.testing.assert_array_equal(np.asarray(L), reference(lfs, df, CLASSES))


def test_vectorised_only(df):
    lfs = [ContainsLF("c_free", "free", 1), GreaterLF("gt", "n", 10, 0)]
    L = apply_lfs(lfs, df)
    np.testing.assert_array_equal(np.asarray(L), reference(lfs, df))


def test_int_labels_numpy_ints_and_none(df):
    @labeling_function()
    def np_int(x):
        return np.int64(1) if x.n % 2 else None

    L = apply_lfs([np_int], df.head(4))
    assert np.asarray(L).ravel().tolist() == [-1, 1, -1, 1]
    assert L.classes is None


def test_label_predicates_with_class_names(df):
    @labeling_function(label="spam", resources={"words": ("win", "prize")})
    def promo(x, words):
        return any(w in x.text for w in words)

    L = apply_lfs([promo], df, classes=CLASSES)
    expected = [1 if ("win" in t or "prize" in t) else -1 for t in df["text"]]
    assert np.asarray(L).ravel().tolist() == expected


def test_resources_and_preprocessors(df):
    @preprocessor(memoize=True)
    def n_words(x):
        return {"n_words": len(x.text.split())}

    @labeling_function(pre=[n_words], resources={"limit": 3})
    def wordy(x, limit):
        return 1 if x.n_words >= limit else 0

    L = apply_lfs([wordy], df, backend="local")
    expected = [1 if len(t.split()) >= 3 else 0 for t in df["text"]]
    assert np.asarray(L).ravel().tolist() == expected


class SnorkelLikeLF:
    """Mimics snorkel.labeling.LabelingFunction: name, _f, _resources, _pre."""

    def __init__(self, name, f, resources=None, pre=None):
        self.name, self._f, self._resources, self._pre = name, f, resources or {}, pre or []

    def __call__(self, x):
        for p in self._pre:
            x = p(x)
        return self._f(x, **self._resources)


class SnorkelLikePreprocessor:
    """Mimics snorkel's Preprocessor: pickle round-trip copy, then setattr new fields."""

    def __init__(self, run):
        self._run = run

    def __call__(self, x):
        x = pickle.loads(pickle.dumps(x))
        for k, v in self._run(x).items():
            setattr(x, k, v)
        return x


def test_snorkel_like_lfs_and_preprocessors(df):
    upper = SnorkelLikePreprocessor(lambda x: {"upper": x.text.upper()})
    lf = SnorkelLikeLF("sn_free", lambda x, word: 1 if word in x.upper else -1,
                       resources={"word": "FREE"}, pre=[upper])
    L = apply_lfs([lf, short], df, backend="local")
    assert L.lf_names == ["sn_free", "short"]
    assert np.asarray(L)[:, 0].tolist() == [1 if "free" in t else -1 for t in df["text"]]


def test_row_values_by_column_type():
    seen = {}

    @labeling_function()
    def look(x):
        seen[x.i] = x
        return -1

    data = pa.table({
        "i": pa.array([0, 1], pa.int64()),
        "s": pa.array(["a", None]),
        "f": pa.array([1.5, None]),
        "b": pa.array([True, False]),
        "ni": pa.array([1, None], pa.int32()),
        "t": pa.array([dt.datetime(2024, 1, 2), None], pa.timestamp("us")),
        "c": pa.array(["x", "y"]).dictionary_encode(),
        "l": pa.array([[1, 2], []]),
    })
    apply_lfs([look], data, backend="local")
    a, b = seen[0], seen[1]
    assert (a.s, b.s) == ("a", "")  # null strings read as ""
    assert a.f == 1.5 and np.isnan(b.f)
    assert (a.b, b.b) == (True, False) and type(a.i) is int
    assert a.ni == 1 and np.isnan(b.ni)
    assert a.t == dt.datetime(2024, 1, 2) and b.t is None
    assert (a.c, b.c) == ("x", "y") and (a.l, b.l) == ([1, 2], [])


# --------------------------------------------------------------------- input formats
def test_polars_arrow_and_dict_inputs(df):
    pl = pytest.importorskip("polars")
    lfs = [has_free, short, ContainsLF("c_win", "win", "spam")]
    expected = np.asarray(apply_lfs(lfs, df, classes=CLASSES, backend="local"))
    inputs = [pl.from_pandas(df), pa.Table.from_pandas(df),
              {"text": df["text"].tolist(), "n": df["n"].to_numpy()}, as_frame(df)]
    for data in inputs:
        L = apply_lfs(lfs, data, classes=CLASSES, backend="local")
        np.testing.assert_array_equal(np.asarray(L), expected)


# ----------------------------------------------------------------------------- backends
def backend_lfs():
    return [has_free, ContainsLF("c_win", "win", "spam"), short, big,
            GreaterLF("gt", "n", 95, "ham")]


def test_local_and_processes_give_identical_matrices(df):
    lfs = backend_lfs()
    local = apply_lfs(lfs, df, classes=CLASSES, backend="local")
    procs = apply_lfs(lfs, df, classes=CLASSES, backend="processes", n_jobs=2)
    auto = apply_lfs(lfs, df, classes=CLASSES)
    for other in (procs, auto):
        np.testing.assert_array_equal(np.asarray(local), np.asarray(other))
        assert other.lf_names == local.lf_names and other.classes == CLASSES


def test_dask_gives_the_same_matrix(df, client):
    lfs = backend_lfs()
    local = apply_lfs(lfs, df, classes=CLASSES, backend="local")
    on_dask = apply_lfs(lfs, df, classes=CLASSES, backend="dask", client=client)
    current = apply_lfs(lfs, df, classes=CLASSES, backend="dask")  # the current client
    auto = apply_lfs(lfs, df, classes=CLASSES, client=client)  # auto + client -> dask
    for other in (on_dask, current, auto):
        np.testing.assert_array_equal(np.asarray(local), np.asarray(other))


def test_dask_fault_tolerance_and_failures(df, client):
    L = apply_lfs([flaky], df, backend="dask", client=client, fault_tolerant=True)
    local = apply_lfs([flaky], df, backend="local", fault_tolerant=True)
    np.testing.assert_array_equal(np.asarray(L), np.asarray(local))
    pd.testing.assert_frame_equal(L.errors, local.errors)
    with pytest.raises(LabelingFunctionError, match=r"'flaky' raised ValueError.*row 7"):
        apply_lfs([flaky], df, backend="dask", client=client)
    with pytest.raises(ColumnNotFoundError, match="missing"):
        apply_lfs([ContainsLF("c", "x", 0, column="missing")], df, backend="dask",
                  client=client)


def test_progress_bar_runs(df):
    L = apply_lfs([short], df, backend="local", progress=True)
    np.testing.assert_array_equal(np.asarray(L), reference([short], df))


# ------------------------------------------------------------------------------ storage
def test_sparse_storage_when_coverage_is_low(df, client):
    @labeling_function()
    def rare(x):
        return 1 if x.n == 3 else -1

    lfs = [rare, GreaterLF("rare_gt", "n", 98, 0)]
    results = [apply_lfs(lfs, df, backend=b) for b in ("local", "processes")]
    results.append(apply_lfs(lfs, df, backend="dask", client=client))
    expected = reference(lfs, df)
    for L in results:
        assert L.is_sparse and L.nnz == int((expected >= 0).sum())
        np.testing.assert_array_equal(np.asarray(L), expected)
    dense = apply_lfs([short], df)
    assert not dense.is_sparse


def test_many_classes_sparse_with_large_labels():
    classes = [f"c{i}" for i in range(128)]  # labels fit int8, label + 1 = 128 does not

    @labeling_function()
    def top(x):
        return x.n if x.n in (100, 127) else -1

    data = {"n": np.arange(400)}
    L = apply_lfs([top], data, classes=classes)
    assert L.is_sparse and L.dtype == np.int8
    votes = np.asarray(L).ravel()
    assert votes[127] == 127 and votes[100] == 100 and (votes >= 0).sum() == 2
    assert L.column(0)[127] == 127 and L.cardinality == 128


# ---------------------------------------------------------------------------- bad inputs
@labeling_function()
def flaky(x):
    if x.n in (7, 93):
        raise ValueError(f"cannot read {x.n}")
    return 0


def test_exception_in_lf_names_lf_and_row_and_chains():
    data = {"text": ["a"] * 10, "n": np.arange(10)}
    with pytest.raises(LabelingFunctionError,
                       match=r"'flaky' raised ValueError: cannot read 7 on row 7 .*"
                             r"fault_tolerant=True") as info:
        apply_lfs([short, flaky], data, backend="local")
    assert isinstance(info.value.__cause__, ValueError)


def test_exception_in_lf_on_processes_reports_the_global_row():
    n = 1000
    data = {"text": ["a"] * n, "n": np.arange(n)}

    @labeling_function()
    def late(x):
        if x.n == 901:
            raise KeyError("late")
        return -1

    with pytest.raises(LabelingFunctionError, match=r"'late' raised KeyError.*row 901") as info:
        apply_lfs([late], data, backend="processes", n_jobs=2)
    assert isinstance(info.value.__cause__, KeyError)
    assert "traceback in the worker" in "".join(getattr(info.value.__cause__, "__notes__", []))


def test_fault_tolerant_records_errors_and_abstains(df):
    for backend in ("local", "processes"):
        L = apply_lfs([short, flaky], df, backend=backend, fault_tolerant=True)
        votes = np.asarray(L)
        bad = df.index[df["n"].isin([7, 93])].to_numpy()
        assert (votes[bad, 1] == -1).all() and (np.delete(votes[:, 1], bad) == 0).all()
        assert L.errors["row"].tolist() == bad.tolist()
        assert set(L.errors["lf"]) == {"flaky"}
        assert L.errors["error"].iloc[0] == "ValueError: cannot read 7"


@pytest.mark.parametrize(("value", "classes", "match"), [
    (0.5, None, r"'bad' returned 0.5 on row 2; labels are ints"),
    (True, None, r"returned True on row 2; a bool is not a label.*label="),
    ("spam", None, r"returned 'spam' on row 2; a class name needs the classes.*classes="),
    ("spma", CLASSES, r"returned 'spma' on row 2; it is not among the classes.*'spam'"),
    (2, CLASSES, r"returned 2 on row 2; it is outside -1..1"),
    (-3, None, r"returned -3 on row 2; labels are 0..k-1"),
    ([1], None, r"returned \[1\] on row 2; a list is not a label"),
    (10**30, None, r"returned 1000000000000000000000000000000 on row 2"),
])
def test_bad_return_values_name_lf_row_value_and_fix(value, classes, match):
    @labeling_function()
    def bad(x):
        return value if x.n == 2 else 0

    with pytest.raises(LabelError, match=match):
        apply_lfs([bad], {"n": np.arange(5)}, classes=classes, backend="local")


def reference_label(value, classes):
    """One value at a time: the label, or None when it is not a label."""
    if value is None:
        return -1
    if type(value) is bool:
        return None
    if isinstance(value, (int, np.integer)):
        ok = -1 <= value and (classes is None or value < len(classes))
        return int(value) if ok else None
    if isinstance(value, str) and classes is not None:
        return classes.index(value) if value in classes else None
    return None


values_strategy = st.lists(st.one_of(
    st.integers(-3, 3), st.none(), st.booleans(), st.sampled_from(["ham", "spam", "eggs"]),
    st.floats(allow_nan=False), st.integers(-3, 3).map(np.int16)), max_size=30)


@settings(max_examples=200, deadline=None)
@given(values=values_strategy, with_classes=st.booleans())
def test_labels_from_values_matches_one_by_one(values, with_classes):
    classes = CLASSES if with_classes else None
    arr, bad = labels_from_values(values, classes)
    expected = [reference_label(v, classes) for v in values]
    if None in expected:
        assert bad == expected.index(None)
    else:
        assert bad is None and arr.tolist() == expected


def test_labels_from_values_reference():
    arr, bad = labels_from_values([1, None, np.int8(0), "ham", -1], CLASSES)
    assert arr.tolist() == [1, -1, 0, 0, -1] and bad is None
    assert labels_from_values([0, 1, 1.0], None)[1] == 2
    assert labels_from_values([0, False], None)[1] == 1
    assert labels_from_values([], None)[0].shape == (0,)


def test_missing_column_names_the_lf(df):
    with pytest.raises(ColumnNotFoundError,
                       match=r"'txt' \(needed by labeling function 'c'\).*Did you mean 'text'"):
        apply_lfs([ContainsLF("c", "x", 0, column="txt")], df)


def test_missing_field_in_python_lf_is_an_lf_error(df):
    @labeling_function()
    def typo(x):
        return 1 if "a" in x.txt else -1

    with pytest.raises(LabelingFunctionError, match=r"'typo' raised AttributeError.*'txt'"):
        apply_lfs([typo], df, backend="local")


def test_vectorised_lf_outputs_are_checked(df):
    n = len(df)
    cases = [
        (lambda n: np.full(n, 2), LabelError, r"'raw' returned 2 on row 0; it is outside"),
        (lambda n: np.zeros(n - 1, int), LabelingFunctionError, r"shape \(999,\)"),
        (lambda n: np.zeros(n), LabelingFunctionError, "dtype float64"),
        (lambda n: np.zeros(n, bool), LabelingFunctionError, "dtype bool"),
    ]
    for make, error, match in cases:
        with pytest.raises(error, match=match):
            apply_lfs([RawLF("raw", make)], df, classes=CLASSES)

    def boom(n):
        raise RuntimeError("kernel failed")

    with pytest.raises(LabelingFunctionError, match=r"'raw' failed.*RuntimeError: kernel failed"):
        apply_lfs([RawLF("raw", boom)], df)
    assert n == 1000


def test_empty_data():
    with pytest.raises(EmptyDataError, match="no rows"):
        apply_lfs([short], pd.DataFrame({"text": pd.Series([], dtype=str)}))


def test_duplicate_names():
    other = labeling_function("short")(lambda x: 1)
    with pytest.raises(LabelingFunctionError, match=r"unique; \['short'\] appear more"):
        apply_lfs([short, other], {"text": ["a"]})


def test_not_an_lf_and_bad_lf_lists():
    def plain(x):
        return 0

    with pytest.raises(LabelingFunctionError, match=r"'plain' \(a function\) is not a labeling"):
        apply_lfs([short, plain], {"text": ["a"]})
    with pytest.raises(LabelingFunctionError, match="42 \\(a int\\) is not a labeling"):
        apply_lfs([42], {"text": ["a"]})
    with pytest.raises(LabelingFunctionError, match="no labeling functions"):
        apply_lfs([], {"text": ["a"]})
    with pytest.raises(LabelingFunctionError, match=r"wrap a single one in a list"):
        apply_lfs(short, {"text": ["a"]})
    with pytest.raises(LabelingFunctionError, match="must be a list"):
        apply_lfs(42, {"text": ["a"]})


def test_bad_classes_and_backend():
    data = {"text": ["a"]}
    with pytest.raises(ConfigError, match="list of class names"):
        apply_lfs([short], data, classes="spam")
    with pytest.raises(ConfigError, match="at least two"):
        apply_lfs([short], data, classes=["only"])
    with pytest.raises(ConfigError, match="twice"):
        apply_lfs([short], data, classes=["a", "a"])
    with pytest.raises(ConfigError, match=r"backend='gpu' is not one of"):
        apply_lfs([short], data, backend="gpu")
    with pytest.raises(LabelError, match="class 'eggs'"):
        apply_lfs([labeling_function("p", label="eggs")(lambda x: True)], data,
                  classes=CLASSES)


# -------------------------------------------------------------------------- integration
def test_with_dawn_keyword_lf(df):
    keyword = pytest.importorskip("dawn.label.keyword")
    lfs = [keyword.keyword_lf("kw_free", ["free", "prize"], "spam"), short]
    L = apply_lfs(lfs, df, classes=CLASSES, backend="local")
    expected = [1 if ("free" in t or "prize" in t) else -1 for t in df["text"]]
    assert np.asarray(L)[:, 0].tolist() == expected
    assert L.lf_names == ["kw_free", "short"]


def test_rows_are_built_chunk_by_chunk(df, monkeypatch):
    import dawn.label.apply as apply_module

    expected = apply_lfs([short, has_free, flaky], df, classes=CLASSES, fault_tolerant=True,
                         backend="local")
    monkeypatch.setattr(apply_module, "CHUNK_ROWS", 64)
    for backend in ("local", "processes"):
        L = apply_lfs([short, has_free, flaky], df, classes=CLASSES, fault_tolerant=True,
                      backend=backend)
        np.testing.assert_array_equal(np.asarray(L), np.asarray(expected))
        pd.testing.assert_frame_equal(L.errors, expected.errors)
    with pytest.raises(LabelingFunctionError, match="row 7 "):
        apply_lfs([flaky], df, backend="local")
