"""LabelModel: the facade users see — auto choice, bad inputs, diagnostics, save/load."""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from dawn.errors import (
    ConfigError,
    DawnWarning,
    EmptyDataError,
    LabelError,
    NotFittedError,
    SchemaError,
)
from dawn.label import LabelMatrix, LabelModel, LFAnalysis
from dawn.label.model.synthetic import synthetic_label_matrix


@pytest.fixture(scope="module")
def planted():
    return synthetic_label_matrix(20_000, 6, 2, accuracies=[0.9, 0.85, 0.8, 0.75, 0.7, 0.65],
                                  coverage=0.5, seed=3)


def test_fit_returns_self_and_learns(planted):
    L, Y, truth = planted
    model = LabelModel(2)
    assert model.fit(L) is model
    assert model.method_ == "pooled" and "Dawid–Skene" in model.method_reason_
    assert np.abs(model.accuracies_ - truth).max() < 0.03
    assert model.predict_proba(L).shape == (20_000, 2)
    mv = LabelModel(2, method="majority").fit(L)
    assert model.score(L, Y)["accuracy"] > mv.score(L, Y, tie_break="random")["accuracy"]
    assert model.diagnostics_["warnings"] == []


def test_predicting_before_fit_says_to_call_fit():
    with pytest.raises(NotFittedError, match=r"call fit\(L\)"):
        LabelModel(2).predict(np.zeros((2, 3), int))


def test_rows_without_votes_abstain(planted):
    L, _, _ = planted
    model = LabelModel(2).fit(L)
    pred = model.predict(np.array([[-1] * 6, [1] * 6]))
    assert pred.tolist() == [-1, 1]


def test_auto_uses_majority_with_fewer_than_three_lfs():
    model = LabelModel(2).fit(np.array([[0, 0], [1, -1], [1, 1]]))
    assert model.method_ == "majority" and "at least 3" in model.method_reason_


def test_auto_uses_majority_when_lfs_barely_overlap():
    L = np.full((300, 3), -1)
    L[np.arange(300), np.arange(300) % 3] = np.arange(300) % 2
    model = LabelModel(2).fit(L)
    assert model.method_ == "majority" and "vote together" in model.method_reason_


@pytest.mark.parametrize("method", ["dawid_skene", "weighted_majority", "triplet", "metal"])
def test_methods_needing_three_lfs_say_so(method):
    with pytest.raises(ConfigError, match=f"{method} needs at least 3 LFs.*has 1"):
        LabelModel(2, method=method).fit(np.array([[0], [1]]))


def test_dev_set_picks_the_most_accurate_method(planted):
    L, Y, _ = planted
    y_dev = np.full(len(Y), -1)
    y_dev[:2000] = Y[:2000]
    model = LabelModel(2).fit(L, Y_dev=y_dev)
    scores = model.diagnostics_["dev_accuracy"]
    assert {"majority", "weighted_majority", "dawid_skene"} <= set(scores)
    assert scores[model.method_] == max(scores.values())
    assert "2,000 dev rows" in model.method_reason_


def test_warns_when_majority_vote_beats_the_model_on_dev(planted):
    L, Y, _ = planted
    with pytest.warns(DawnWarning, match=r"majority vote beats .* \(accuracy 0\.\d+ vs 0\.\d+\)"):
        model = LabelModel(2, method="dawid_skene").fit(L, class_balance=[0.995, 0.005],
                                                        Y_dev=Y)
    dev = model.diagnostics_["dev_accuracy"]
    assert dev["majority"] > dev["dawid_skene"]
    assert any("majority vote beats" in w for w in model.diagnostics_["warnings"])


def test_warns_without_dev_when_the_model_overrules_clear_majorities(planted):
    L, _, _ = planted
    with pytest.warns(DawnWarning, match="overrules a clear majority"):
        model = LabelModel(2, method="dawid_skene").fit(L, class_balance=[0.995, 0.005])
    assert model.diagnostics_["agreement_where_majority_confident"] < 0.9


def test_no_warning_on_well_behaved_lfs(planted):
    L, _, _ = planted
    with warnings.catch_warnings():
        warnings.simplefilter("error", DawnWarning)
        LabelModel(2).fit(L)


def test_deterministic_for_a_seed(planted):
    L, _, _ = planted
    a = LabelModel(2, seed=5, max_rows=5_000).fit(L)
    b = LabelModel(2, seed=5, max_rows=5_000).fit(L)
    np.testing.assert_array_equal(a.confusion_, b.confusion_)
    np.testing.assert_array_equal(a.predict(L, tie_break="random"),
                                  b.predict(L, tie_break="random"))


def test_sparse_and_dense_inputs_agree(planted):
    L, _, _ = planted
    dense = np.asarray(L)
    sparse = LabelMatrix(sp.csr_matrix(dense.astype(np.int32) + 1), L.lf_names)
    a, b = LabelModel(2).fit(dense), LabelModel(2).fit(sparse)
    np.testing.assert_allclose(a.confusion_, b.confusion_, atol=1e-9)
    np.testing.assert_allclose(a.predict_proba(sparse), b.predict_proba(dense), atol=1e-9)
    frame = pd.DataFrame(dense[:100], columns=[f"f{j}" for j in range(6)])
    assert LabelModel(2).fit(frame).lf_names_ == [f"f{j}" for j in range(6)]


def test_save_load_round_trip_without_pickle(planted):
    L, _, _ = planted
    model = LabelModel(2).fit(L)
    arrays, meta = model.to_arrays()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        loaded = LabelModel.from_arrays(dict(npz), json.loads(json.dumps(meta)))
    np.testing.assert_allclose(loaded.predict_proba(L), model.predict_proba(L), rtol=0,
                               atol=1e-12)
    assert loaded.method_ == model.method_ and loaded.lf_names_ == model.lf_names_
    np.testing.assert_array_equal(loaded.accuracies_, model.accuracies_)
    with pytest.raises(ConfigError, match="not a saved LabelModel"):
        LabelModel.from_arrays(arrays, {"format": "other"})


def test_predicting_the_fitted_matrix_matches_a_fresh_model_even_after_edits(planted):
    L, _, _ = planted
    dense = np.asarray(L).copy()
    model = LabelModel(2).fit(dense)  # keeps the matrix's row -> pattern map
    fresh = LabelModel.from_arrays(*model.to_arrays())  # same parameters, nothing kept

    def same_answers(votes):
        np.testing.assert_allclose(model.predict_proba(votes), fresh.predict_proba(votes),
                                   rtol=0, atol=1e-12)
        for tie_break in ("abstain", "random"):
            np.testing.assert_array_equal(model.predict(votes, tie_break=tie_break),
                                          fresh.predict(votes, tie_break=tie_break))

    same_answers(dense)
    same_answers(LabelMatrix(sp.csr_matrix(dense.astype(np.int32) + 1), L.lf_names))
    dense[0] = (dense[0] + 2) % 3 - 1  # edited in place after fit: every vote changes
    dense[7] = -1
    same_answers(dense)
    assert model.predict(dense)[7] == -1


def test_label_matrix_classes_set_the_cardinality():
    L = LabelMatrix(np.array([[0, 0, 1], [1, 1, 1], [0, -1, 0]]), ["a", "b", "c"],
                    classes=["ham", "spam", "eggs"])
    model = LabelModel().fit(L)
    assert model.cardinality_ == 3 and model.classes_ == ["ham", "spam", "eggs"]
    with pytest.raises(ConfigError, match="cardinality=2 but the label matrix has 3 classes"):
        LabelModel(2).fit(L)


def test_learned_accuracies_go_into_the_lf_table(planted):
    L, Y, _ = planted
    model = LabelModel(2).fit(L)
    table = LFAnalysis(L).summary(Y, est_weights=model)
    np.testing.assert_allclose(table["Learned Acc."].to_numpy(), model.accuracies_)


def test_score_reports_accuracy_and_coverage():
    model = LabelModel(2, method="majority").fit(np.array([[0, 0, 1], [1, -1, -1], [-1] * 3]))
    s = model.score(np.array([[0, 0, 1], [1, -1, -1], [-1] * 3]), [0, 0, 1])
    assert s == {"accuracy": 1 / 3, "coverage": 2 / 3, "accuracy_predicted": 0.5, "n": 3}


# -- bad inputs -------------------------------------------------------------------------------
def test_label_above_cardinality_is_named():
    L = np.array([[0, 3, -1], [1, 1, 0]])
    with pytest.raises(LabelError, match=r"label 3 \(voted by LF 'lf1'\).*cardinality=2"):
        LabelModel(2).fit(L)


def test_labels_below_minus_one_are_rejected():
    with pytest.raises(LabelError, match="-2"):
        LabelModel(2).fit(np.array([[0, -2, 1]]))


def test_nan_in_a_float_matrix_is_rejected():
    with pytest.raises(SchemaError, match=r"nan at row 1, LF 0.*-1 for an abstain"):
        LabelModel(2).fit(np.array([[0.0, 1.0], [np.nan, 1.0]]))
    with pytest.raises(SchemaError, match=r"0\.5 at row 0"):
        LabelModel(2).fit(np.array([[0.5, 1.0]]))
    model = LabelModel(2, method="majority").fit(np.array([[0.0, 1.0], [-1.0, 1.0]]))
    assert model.predict(np.array([[1.0, 1.0]])).tolist() == [1]


def test_empty_matrices_are_rejected():
    with pytest.raises(EmptyDataError, match="no rows"):
        LabelModel(2).fit(np.zeros((0, 3), int))
    with pytest.raises(EmptyDataError, match="no LFs"):
        LabelModel(2).fit(np.zeros((4, 0), int))


def test_y_dev_must_match_the_rows(planted):
    L, Y, _ = planted
    with pytest.raises(SchemaError, match=r"Y_dev has shape \(10,\).*\(20000\)"):
        LabelModel(2).fit(L, Y_dev=Y[:10])
    with pytest.raises(LabelError, match="Y_dev holds label 7"):
        LabelModel(2).fit(L, Y_dev=np.full(len(Y), 7))


def test_bad_parameters_are_rejected(planted):
    L, _, _ = planted
    with pytest.raises(ConfigError, match="Did you mean 'dawid_skene'"):
        LabelModel(2, method="dawid_skeen").fit(L)
    with pytest.raises(ConfigError, match="cardinality must be an integer >= 2"):
        LabelModel(1).fit(L)
    with pytest.raises(ConfigError, match="class_balance must be 2"):
        LabelModel(2).fit(L, class_balance=[1.0])
    model = LabelModel(2).fit(L)
    with pytest.raises(ConfigError, match="tie_break"):
        model.predict(L, tie_break="coin")
    with pytest.raises(SchemaError, match="has 2 LFs but the model was fitted on 6"):
        model.predict(np.zeros((3, 2), int))
