"""LFAnalysis: every statistic against a per-row reference, warnings, examples, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.errors import (
    ConfigError,
    DawnError,
    EmptyDataError,
    LabelError,
    LabelingFunctionError,
    SchemaError,
)
from dawn.label.analysis import EXAMPLE_KINDS, LFAnalysis, LFWarning
from dawn.label.base import LabelingFunction
from dawn.label.matrix import LabelMatrix


class FakeLF(LabelingFunction):
    """A stand-in labeling function: only its name matters to the analysis."""


def matrix(arr, names=None, classes=None, sparse=False, errors=None) -> LabelMatrix:
    arr = np.asarray(arr)
    names = names or [f"lf{j}" for j in range(arr.shape[1])]
    votes = sp.csr_matrix(arr + 1) if sparse else arr
    return LabelMatrix(votes, names, classes=classes, errors=errors)


# -- an obviously-correct per-row reference -------------------------------------------------
def reference(arr: np.ndarray, y: np.ndarray | None, k: int) -> dict:
    n, m = arr.shape
    out = {key: [0] * m for key in ("cov", "ovl", "cnf", "correct", "incorrect")}
    pols = [set() for _ in range(m)]
    covered_rows = 0
    for i in range(n):
        row = [int(v) for v in arr[i]]
        voters = [j for j in range(m) if row[j] >= 0]
        covered_rows += bool(voters)
        for j in voters:
            pols[j].add(row[j])
            out["cov"][j] += 1
            others = [row[o] for o in voters if o != j]
            if others:
                out["ovl"][j] += 1
            if any(v != row[j] for v in others):
                out["cnf"][j] += 1
            if y is not None and y[i] >= 0:
                out["correct" if row[j] == y[i] else "incorrect"][j] += 1
    # one-hot Pearson correlation, straight from the definition
    onehot = np.zeros((m, n * k))
    for i in range(n):
        for j in range(m):
            if arr[i, j] >= 0:
                onehot[j, i * k + arr[i, j]] = 1
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(onehot) if m > 1 else np.array([[1.0 if onehot.std() else np.nan]])
    # near-duplicates: same votes on >= 95% of rows either votes on
    dups = set()
    for a in range(m):
        for b in range(a + 1, m):
            union = [i for i in range(n) if arr[i, a] >= 0 or arr[i, b] >= 0]
            if out["cov"][a] and out["cov"][b] and union:
                same = sum(arr[i, a] == arr[i, b] for i in union)
                if same / len(union) >= 0.95:
                    dups.add((b, a))
    out["pols"] = [sorted(p) for p in pols]
    out["label_cov"] = covered_rows / n
    out["corr"] = corr
    out["dups"] = dups
    return out


@st.composite
def label_problems(draw):
    n = draw(st.integers(1, 25))
    m = draw(st.integers(1, 5))
    k = draw(st.integers(2, 4))
    density = draw(st.sampled_from([0.0, 0.2, 0.6, 1.0]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    arr = np.where(rng.random((n, m)) < density, rng.integers(0, k, (n, m)), -1)
    if draw(st.booleans()) and m > 1:  # sometimes a duplicated column
        arr[:, -1] = arr[:, 0]
    y = rng.integers(-1, k, n)
    return arr, y, k


@settings(max_examples=150, deadline=None)
@given(problem=label_problems(), sparse=st.booleans())
def test_every_statistic_matches_a_per_row_reference(problem, sparse):
    arr, y, k = problem
    n, m = arr.shape
    L = matrix(arr, sparse=sparse)
    an = LFAnalysis(L, cardinality=k)
    ref = reference(arr, y, k)
    cov = np.array(ref["cov"])
    np.testing.assert_allclose(an.lf_coverages(), cov / n)
    np.testing.assert_allclose(an.lf_overlaps(), np.array(ref["ovl"]) / n)
    np.testing.assert_allclose(an.lf_conflicts(), np.array(ref["cnf"]) / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        by_cov = np.nan_to_num(np.array(ref["cnf"]) / cov)
        ovl_by_cov = np.nan_to_num(np.array(ref["ovl"]) / cov)
    np.testing.assert_allclose(an.lf_conflicts(normalize_by_coverage=True), by_cov)
    np.testing.assert_allclose(an.lf_overlaps(normalize_by_coverage=True), ovl_by_cov)
    assert an.label_coverage() == pytest.approx(ref["label_cov"])
    assert an.lf_polarities() == ref["pols"]

    s = an.summary(Y=y)
    assert list(s.index) == L.lf_names
    assert s["j"].tolist() == list(range(m))
    assert s["Polarity"].tolist() == ref["pols"]
    np.testing.assert_allclose(s["Coverage"], cov / n)
    assert s["Correct"].tolist() == ref["correct"]
    assert s["Incorrect"].tolist() == ref["incorrect"]
    total = np.array(ref["correct"]) + np.array(ref["incorrect"])
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(total > 0, np.array(ref["correct"]) / total, np.nan)
    np.testing.assert_allclose(s["Emp. Acc."], acc)
    np.testing.assert_allclose(an.lf_empirical_accuracies(y), acc)

    np.testing.assert_allclose(an.lf_correlations().to_numpy(), ref["corr"], atol=1e-9)
    dups = {(L.lf_names.index(w.lf), L.lf_names.index(w.other))
            for w in an.warnings() if w.kind == "near_duplicate"}
    assert dups == ref["dups"]


@pytest.mark.parametrize("sparse", [False, True])
def test_many_classes_up_to_the_int8_limit(sparse):
    rng = np.random.default_rng(5)
    k = 128  # labels 0..127 still fit the int8 storage
    arr = np.where(rng.random((40, 4)) < 0.5, rng.integers(120, k, (40, 4)), -1)
    arr[0, 0] = 127
    y = rng.integers(120, k, 40)
    L = matrix(arr, sparse=sparse)
    assert L.dtype == np.int8
    an = LFAnalysis(L)
    ref = reference(arr, y, k)
    assert an.lf_polarities() == ref["pols"]
    s = an.summary(Y=y)
    assert s["Correct"].tolist() == ref["correct"]
    assert s["Incorrect"].tolist() == ref["incorrect"]
    np.testing.assert_allclose(an.lf_correlations().to_numpy(), ref["corr"], atol=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
def test_summary_columns_and_types(sparse):
    L = matrix([[0, 1, -1], [1, 1, -1], [-1, 1, 0], [-1, -1, -1]], ["a", "b", "c"],
               classes=["ham", "spam"], sparse=sparse)
    s = LFAnalysis(L).summary(Y=["ham", "spam", "ham", "spam"], est_weights=[0.9, 0.7, 0.8])
    assert list(s.columns) == ["j", "Polarity", "Coverage", "Overlaps", "Conflicts", "Correct",
                               "Incorrect", "Emp. Acc.", "Learned Acc.", "Warnings"]
    assert s.loc["a", "Polarity"] == ["ham", "spam"] and s.loc["b", "Polarity"] == ["spam"]
    for col in ("Coverage", "Overlaps", "Conflicts", "Emp. Acc.", "Learned Acc."):
        assert pd.api.types.is_float_dtype(s[col]), col
    for col in ("j", "Correct", "Incorrect"):
        assert pd.api.types.is_integer_dtype(s[col]), col
    assert s.loc["b", "Correct"] == 1 and s.loc["b", "Incorrect"] == 2
    assert s["Learned Acc."].tolist() == [0.9, 0.7, 0.8]
    assert s.loc["a", "Warnings"] == "" and "conflicts on 100%" in s.loc["c", "Warnings"]
    # without gold: no accuracy columns
    assert list(LFAnalysis(L).summary().columns) == ["j", "Polarity", "Coverage", "Overlaps",
                                                     "Conflicts", "Warnings"]


def test_gold_unknowns_are_excluded_in_every_form():
    L = matrix([[0], [1], [1], [0]], ["a"], classes=["ham", "spam"])
    an = LFAnalysis(L)
    for Y in ([0, -1, 1, -1], [0.0, np.nan, 1.0, np.nan], ["ham", None, "spam", None],
              pd.Series(["ham", None, "spam", np.nan]), np.array([0, -1, 1, -1], np.int8)):
        s = an.summary(Y=Y)
        assert (s.loc["a", "Correct"], s.loc["a", "Incorrect"]) == (2, 0), Y


def test_learned_accuracies_from_a_fitted_model_object():
    class Fitted:
        accuracies_ = np.array([0.6, 0.8])

    s = LFAnalysis(np.array([[0, 1], [1, -1]])).summary(est_weights=Fitted())
    assert s["Learned Acc."].tolist() == [0.6, 0.8]


def test_names_come_from_lfs_or_default():
    arr = np.array([[0, -1], [1, 0]])
    assert list(LFAnalysis(arr).summary().index) == ["lf_0", "lf_1"]
    lfs = [FakeLF("first"), FakeLF("second")]
    assert list(LFAnalysis(arr, lfs).summary().index) == ["first", "second"]
    L = matrix(arr, ["first", "second"])
    assert LFAnalysis(L, lfs).lf_names == ["first", "second"]


# -- warnings ------------------------------------------------------------------------------
def kinds(ws: list[LFWarning]) -> set[tuple[str, str]]:
    return {(w.lf, w.kind) for w in ws}


@pytest.mark.parametrize("sparse", [False, True])
def test_warnings_fire_on_constructed_problems(sparse):
    rng = np.random.default_rng(1)
    n = 200
    y = rng.integers(0, 2, n)
    good = np.where(rng.random(n) < 0.3, y, -1)
    dup = good.copy()
    dup[np.flatnonzero(good >= 0)[0]] = -1  # same votes on all but one row
    never = np.full(n, -1)
    broad = np.where(rng.random(n) < 0.97, 1, -1)
    wrong = np.where(rng.random(n) < 0.3, 1 - y, -1)  # mostly wrong, conflicts with good
    arr = np.stack([good, dup, never, broad, wrong], axis=1)
    names = ["good", "dup", "never", "broad", "wrong"]
    errors = pd.DataFrame({"row": [3, 7], "lf": ["never", "never"], "error": ["boom", "boom"]})
    L = matrix(arr, names, sparse=sparse, errors=errors)
    an = LFAnalysis(L)
    ws = an.warnings(Y=y)
    assert all(isinstance(w, LFWarning) and w.message == str(w) for w in ws)
    found = kinds(ws)
    assert ("never", "never_fires") in found and ("never", "errors") in found
    assert ("broad", "too_broad") in found
    assert ("wrong", "low_accuracy") in found and ("wrong", "high_conflict") in found
    (pair,) = [w for w in ws if w.kind == "near_duplicate"]
    assert (pair.lf, pair.other) == ("dup", "good") and pair.value >= 0.95
    assert "'good'" in pair.message and "'dup'" in pair.message
    assert ("good", "low_accuracy") not in found and ("good", "too_broad") not in found
    # the summary's Warnings column carries them, both LFs of a duplicate pair included
    s = an.summary(Y=y)
    assert "near-duplicate of 'dup'" in s.loc["good", "Warnings"]
    assert "near-duplicate of 'good'" in s.loc["dup", "Warnings"]
    assert "never fires" in s.loc["never", "Warnings"]
    assert "errors on 2 rows" in s.loc["never", "Warnings"]
    # ordered by LF
    order = [names.index(w.lf) for w in ws]
    assert order == sorted(order)


def test_errors_recorded_by_column_index_and_bad_thresholds():
    errors = pd.DataFrame({"row": [0, 1], "lf": [1, 1], "error": ["x", "y"]})
    L = matrix([[0, -1], [1, -1], [0, 1]], ["a", "b"], errors=errors)
    an = LFAnalysis(L, data={"t": ["p", "q", "r"]})
    assert ("b", "errors") in kinds(an.warnings())
    assert an.examples("b", kind="errors")["error"].tolist() == ["x", "y"]
    with pytest.raises(ConfigError, match="max_coverage=90"):
        an.warnings(max_coverage=90)


def test_no_warnings_on_clean_lfs():
    rng = np.random.default_rng(2)
    n = 300
    y = rng.integers(0, 2, n)
    cols = []
    for _ in range(4):  # accurate, moderately covering, independent LFs
        vote = np.where(rng.random(n) < 0.9, y, 1 - y)
        cols.append(np.where(rng.random(n) < 0.4, vote, -1))
    an = LFAnalysis(np.stack(cols, axis=1))
    assert an.warnings(Y=y) == []
    assert (an.summary(Y=y)["Warnings"] == "").all()


def test_low_accuracy_against_base_rate_and_thresholds():
    # 90% of rows are class 0; an LF voting 0 that is right 80% of the time is worse than
    # the base rate of its label; one voting 1 at 60% is well above its label's 10%.
    y = np.array([0] * 90 + [1] * 10)
    ham = np.full(100, -1)
    ham[:40] = 0
    ham[90:] = 0  # 40 right, 10 wrong: 80%
    spam = np.full(100, -1)
    spam[90:96] = 1
    spam[:4] = 1  # 6 right, 4 wrong: 60%
    an = LFAnalysis(np.stack([ham, spam], axis=1), ["ham_lf", "spam_lf"])
    (w,) = [w for w in an.warnings(Y=y) if w.kind == "low_accuracy"]
    assert w.lf == "ham_lf" and "base rate" in w.message and w.value == pytest.approx(0.8)
    strict = an.warnings(Y=y, min_accuracy=0.7)
    assert ("spam_lf", "low_accuracy") in kinds(strict)
    assert kinds(an.warnings(max_coverage=0.4, max_conflict=1.0)) == {("ham_lf", "too_broad")}


def test_correlations_flag_redundancy():
    base = np.array([0, 1, -1, 0, 1, -1, 0, 1])
    opposite = np.where(base >= 0, 1 - base, -1)
    never = np.full(8, -1)
    c = LFAnalysis(np.stack([base, base, opposite, never], 1), ["a", "b", "c", "d"]
                   ).lf_correlations()
    assert list(c.index) == list(c.columns) == ["a", "b", "c", "d"]
    assert c.loc["a", "b"] == pytest.approx(1.0)
    assert c.loc["a", "c"] < -0.5
    assert np.isnan(c.loc["d", "a"]) and np.isnan(c.loc["d", "d"])


# -- examples --------------------------------------------------------------------------------
@pytest.fixture(params=[False, True], ids=["dense", "sparse"])
def labelled(request):
    arr = np.array([[0, 0, -1], [1, 0, -1], [-1, 1, 1], [-1, -1, -1], [1, -1, 1]])
    errors = pd.DataFrame({"row": [3], "lf": ["a"], "error": ["ZeroDivisionError: boom"]})
    L = matrix(arr, ["a", "b", "c"], classes=["ham", "spam"], sparse=request.param,
               errors=errors)
    data = pd.DataFrame({"text": ["t0", "t1", "t2", "t3", "t4"], "row": [10, 11, 12, 13, 14]})
    lfs = [FakeLF("a"), FakeLF("b"), FakeLF("c")]
    return LFAnalysis(L, lfs, data=data), np.array([0, 0, 1, 1, 0])


@pytest.mark.parametrize(("kind", "rows"), [
    ("fires", [0, 1, 4]), ("abstains", [2, 3]), ("conflicts", [1]), ("errors", [3]),
    ("correct", [0]), ("incorrect", [1, 4]),
])
def test_examples_of_each_kind(labelled, kind, rows):
    an, y = labelled
    ex = an.examples("a", kind=kind, Y=y)
    assert ex["row"].tolist() == rows
    assert ex["text"].tolist() == [f"t{r}" for r in rows]
    assert ex["gold"].tolist() == [["ham", "spam"][y[r]] for r in rows]
    assert "row (data)" in ex.columns  # the data's own `row` column, renamed
    if kind == "errors":
        assert ex["error"].tolist() == ["ZeroDivisionError: boom"]


def test_examples_show_votes_as_class_names(labelled):
    an, _ = labelled
    ex = an.examples("a", kind="conflicts")
    assert ex.loc[0, "vote"] == "spam" and ex.loc[0, "votes"] == {"b": "ham"}
    assert "gold" not in ex.columns
    fires = an.examples("c", kind="fires")
    assert fires["votes"].tolist() == [{"b": "spam"}, {"a": "spam"}]
    abstains = an.examples("c", kind="abstains")
    assert abstains["vote"].isna().all()


def test_examples_accept_name_index_and_object(labelled):
    an, _ = labelled
    by_name = an.examples("b")
    pd.testing.assert_frame_equal(by_name, an.examples(1))
    pd.testing.assert_frame_equal(by_name, an.examples(FakeLF("b")))
    pd.testing.assert_frame_equal(an.examples(-1), an.examples("c"))


def test_examples_sample_is_deterministic_and_bounded():
    n = 500
    arr = np.where(np.arange(n)[:, None] % 3 == 0, 1, -1)
    an = LFAnalysis(arr, data={"x": np.arange(n)})
    a = an.examples("lf_0", n=10, seed=3)
    assert len(a) == 10 and a["row"].is_monotonic_increasing
    assert (a["row"] % 3 == 0).all() and (a["x"] == a["row"]).all()
    pd.testing.assert_frame_equal(a, an.examples("lf_0", n=10, seed=3))
    assert a["row"].tolist() != an.examples("lf_0", n=10, seed=4)["row"].tolist()
    assert len(an.examples("lf_0", n=None)) == 167
    assert an.examples("lf_0")["vote"].tolist() == [1] * 20  # ints without classes


# -- errors ------------------------------------------------------------------------------------
def test_bad_gold_labels():
    L = matrix([[0, 1], [1, -1], [-1, 0]], ["a", "b"], classes=["ham", "spam"])
    an = LFAnalysis(L)
    with pytest.raises(SchemaError, match="Y has 2 labels but the label matrix has 3 rows"):
        an.summary(Y=[0, 1])
    with pytest.raises(SchemaError, match="Y has 4 labels"):
        an.warnings(Y=[0, 1, 1, 0])
    with pytest.raises(LabelError, match=r"Y holds \[2\], outside 0..1"):
        an.summary(Y=[0, 1, 2])
    with pytest.raises(LabelError, match=r"Y holds \[-3\]"):
        an.lf_empirical_accuracies([0, -3, 1])
    with pytest.raises(LabelError, match=r"'spma'.*Did you mean 'spam'"):
        an.summary(Y=["ham", "spma", "spam"])
    with pytest.raises(LabelError, match=r"True/False"):
        an.summary(Y=[True, False, True])
    with pytest.raises(LabelError, match=r"0\.5"):
        an.summary(Y=[0.5, 1.0, 0.0])
    with pytest.raises(SchemaError, match="1-D"):
        an.summary(Y=np.zeros((3, 1), int))
    with pytest.raises(ConfigError, match="pass Y="):
        an.lf_empirical_accuracies(None)
    no_classes = LFAnalysis(np.array([[0], [1]]))
    with pytest.raises(LabelError, match="no classes"):
        no_classes.summary(Y=["ham", "spam"])
    with pytest.raises(LabelError, match="cardinality="):
        no_classes.summary(Y=[1, 2])
    assert LFAnalysis(np.array([[0], [1]]), cardinality=3).summary(Y=[0, 2]).loc[
        "lf_0", "Correct"] == 1


def test_bad_matrices_and_arguments():
    with pytest.raises(EmptyDataError, match="no rows"):
        LFAnalysis(np.empty((0, 3), int))
    with pytest.raises(EmptyDataError, match="no labeling functions"):
        LFAnalysis(np.empty((4, 0), int))
    with pytest.raises(SchemaError, match="must be 2-D"):
        LFAnalysis(np.array([0, 1, -1]))
    with pytest.raises(SchemaError, match="must be 2-D"):
        LFAnalysis(np.zeros((2, 2, 2), int))
    L = matrix([[0, 1], [1, -1]], ["a", "b"])
    with pytest.raises(ConfigError, match=r"\['b', 'a'\] do not match.*\['a', 'b'\]"):
        LFAnalysis(L, [FakeLF("b"), FakeLF("a")])
    with pytest.raises(ConfigError, match=r"3 labeling functions given.*2 columns"):
        LFAnalysis(np.array([[0, 1]]), [FakeLF("a"), FakeLF("b"), FakeLF("c")])
    with pytest.raises(LabelingFunctionError, match="has no name"):
        LFAnalysis(L, [object(), object()])
    with pytest.raises(SchemaError, match="data has 3 rows but the label matrix has 2"):
        LFAnalysis(L, data={"x": [1, 2, 3]})
    with pytest.raises(SchemaError, match="one learned accuracy per labeling function"):
        LFAnalysis(L).summary(est_weights=[0.5])
    with pytest.raises(LabelError, match="L holds label 1"):
        LFAnalysis(L, cardinality=1)
    with pytest.raises(ConfigError, match="cardinality='2'"):
        LFAnalysis(L, cardinality="2")


def test_bad_examples_requests(labelled):
    an, _ = labelled
    with pytest.raises(ConfigError, match="pass data="):
        LFAnalysis(an.L).examples("a")
    with pytest.raises(ConfigError, match=r"kind='fire'.*'fires'.*Did you mean 'fires'"):
        an.examples("a", kind="fire")
    with pytest.raises(LabelingFunctionError, match=r"'aa'.*\['a', 'b', 'c'\]"):
        an.examples("aa")
    with pytest.raises(LabelingFunctionError, match=r"index 3 is outside 0\.\.2"):
        an.examples(3)
    with pytest.raises(ConfigError, match="pass Y="):
        an.examples("a", kind="incorrect")
    with pytest.raises(ConfigError, match="n=0"):
        an.examples("a", n=0)
    assert set(EXAMPLE_KINDS) == {"fires", "abstains", "conflicts", "errors", "correct",
                                  "incorrect"}
    with pytest.raises(DawnError):  # everything above is a DawnError
        an.examples(FakeLF("zzz"))


# -- scale -------------------------------------------------------------------------------------
def test_a_million_sparse_rows_are_never_densified(monkeypatch):
    n, m, k = 1_000_000, 20, 3
    rng = np.random.default_rng(0)
    per_row = rng.integers(0, 3, n)  # 0-2 votes per row
    indptr = np.concatenate([[0], np.cumsum(per_row)])
    nnz = int(indptr[-1])
    first = rng.integers(0, m - 2, n)
    offsets = np.arange(nnz) - np.repeat(indptr[:-1], per_row)
    indices = np.repeat(first, per_row) + offsets  # sorted, distinct columns within a row
    data = rng.integers(1, k + 1, nnz).astype(np.int8)
    L = LabelMatrix(sp.csr_matrix((data, indices, indptr), shape=(n, m)),
                    [f"lf{j}" for j in range(m)], classes=["a", "b", "c"])
    assert L.is_sparse

    def refuse(*_args, **_kwargs):
        raise AssertionError("the label matrix was made dense")

    monkeypatch.setattr(LabelMatrix, "to_dense", refuse)
    monkeypatch.setattr(LabelMatrix, "__array__", refuse)
    y = rng.integers(-1, k, n)
    an = LFAnalysis(L, data={"id": np.arange(n)})
    s = an.summary(Y=y)
    assert len(s) == m and s["Coverage"].sum() == pytest.approx(nnz / n)
    assert an.label_coverage() == pytest.approx(np.mean(per_row > 0))
    assert an.lf_correlations().shape == (m, m)
    ex = an.examples("lf5", kind="conflicts", Y=y)
    assert len(ex) == 20 and (ex["id"] == ex["row"]).all()
