"""LF drift: coverage and vote-rate changes of labeling functions are caught."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from dawn.errors import LabelError, SchemaError
from dawn.label.matrix import LabelMatrix
from dawn.monitor import DriftMonitor, lf_drift_frame

CLASSES = ["ham", "spam"]


def _votes(n: int, rng: np.random.Generator, coverage=(0.6, 0.3, 0.05), spam=(0.2, 0.9, 0.5)):
    cols = []
    for cov, p in zip(coverage, spam, strict=True):
        vote = (rng.random(n) < p).astype(np.int64)
        cols.append(np.where(rng.random(n) < cov, vote, -1))
    return np.column_stack(cols)


def test_frame_has_one_categorical_column_per_lf():
    L = LabelMatrix(np.array([[0, -1], [1, 1], [-1, -1]]), ["kw", "re"], CLASSES)
    frame = lf_drift_frame(L)
    assert frame.columns == ["kw", "re"]
    assert pa.types.is_dictionary(frame.arrow("kw").type)
    assert frame.strings("kw").tolist() == ["ham", "spam", "abstain"]
    assert frame.strings("re").tolist() == ["abstain", "spam", "abstain"]


def test_sparse_and_dense_matrices_give_the_same_frame():
    rng = np.random.default_rng(0)
    dense = _votes(500, rng)
    a = lf_drift_frame(LabelMatrix(dense, ["a", "b", "c"], CLASSES))
    b = lf_drift_frame(LabelMatrix(sp.csr_matrix(dense + 1), ["a", "b", "c"], CLASSES))
    for name in ["a", "b", "c"]:
        assert a.strings(name).tolist() == b.strings(name).tolist()
    plain = lf_drift_frame(dense)  # a plain array: lf0.., classes "0", "1"
    assert plain.columns == ["lf0", "lf1", "lf2"]
    assert set(plain.strings("lf1")) == {"abstain", "0", "1"}


@pytest.mark.parametrize("n", [2_000, 50_000])
def test_coverage_and_vote_rate_drift_are_caught(n):
    rng = np.random.default_rng(n)
    names = ["keywords", "regex", "rare"]
    ref = LabelMatrix(_votes(n, rng), names, CLASSES)
    mon = DriftMonitor(explain=False).fit(lf_drift_frame(ref))
    same = LabelMatrix(_votes(n, rng), names, CLASSES)
    assert mon.check(lf_drift_frame(same)).drifted_columns == []
    # keywords stops firing (coverage 0.6 -> 0.2), regex flips its votes (0.9 spam -> 0.4)
    moved = LabelMatrix(_votes(n, rng, coverage=(0.2, 0.3, 0.05), spam=(0.2, 0.4, 0.5)), names,
                        CLASSES)
    report = mon.check(lf_drift_frame(moved))
    assert report.drifted_columns == ["keywords", "regex"]
    assert report.to_pandas()["test"].tolist() == ["jensen_shannon"] * 3


def test_bad_label_matrices():
    with pytest.raises(SchemaError, match="2-D integer array"):
        lf_drift_frame(np.zeros((2, 2, 2), int))
    with pytest.raises(SchemaError, match="2 names but the label matrix has 3 columns"):
        lf_drift_frame(np.zeros((4, 3), int), lf_names=["a", "b"])
    with pytest.raises(LabelError, match=r"label 2.*only 2 classes"):
        lf_drift_frame(np.array([[0, 2]]), classes=CLASSES)
    with pytest.raises(LabelError, match="-3 is not a label"):
        lf_drift_frame(np.array([[0, -3]]))
    with pytest.raises(SchemaError, match="unique"):
        lf_drift_frame(np.zeros((2, 2), int), lf_names=["a", "a"])
