"""``train``: an end model from probabilistic labels, chosen, calibrated and saved."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dawn.demo import generate_comments
from dawn.errors import ConfigError, LabelError, SchemaError
from dawn.store import load_artefact, save_artefact
from dawn.train import Classifier, train


@pytest.fixture(scope="module")
def comments():
    df = generate_comments(1500, seed=2)
    y = (df["label"] == "spam").to_numpy().astype(int)
    # noisy probabilistic labels: right 80% of the time, with honest confidence
    rng = np.random.default_rng(0)
    flip = rng.random(len(y)) < 0.2
    noisy = np.where(flip, 1 - y, y)
    P = np.column_stack([1 - noisy, noisy]) * 0.8 + 0.1
    return df, y, P


def test_learns_beyond_its_noisy_labels(comments):
    df, y, P = comments
    clf = train(df, P, columns=["account_age_days", "n_links"], classes=["ham", "spam"],
                model="linear")
    acc = (clf.predict(df) == y).mean()
    assert acc > 0.9  # the labels are only 80% right; the features carry the signal
    assert clf.info["chosen"]["model"] == "linear"
    assert [c["model"] for c in clf.info["search"]] == ["linear"] * 3


def test_auto_searches_linear_and_trees_on_narrow_features(comments):
    df, _, P = comments
    clf = train(df, P, text=None, columns=["account_age_days", "n_links"], seed=1)
    kinds = {c["model"] for c in clf.info["search"]}
    assert kinds == {"linear", "trees"}
    scores = [c["holdout_cross_entropy"] for c in clf.info["search"]]
    chosen = clf.info["chosen"]
    best = clf.info["search"][int(np.argmin(scores))]
    assert (best["model"], best["params"]) == (chosen["model"], chosen["params"])


def test_rows_without_labels_are_left_out(comments):
    df, _, P = comments
    P = P.copy()
    P[:500] = np.nan
    clf = train(df, P, model="linear")
    assert clf.info["trained_rows"] == len(df) - 500


def test_int_labels_with_unlabelled_rows(comments):
    df, y, _ = comments
    labels = y.copy()
    labels[::3] = -1
    clf = train(df, labels, model="linear")
    assert clf.info["trained_rows"] == len(df) - len(labels[::3])
    assert (clf.predict(df) == y).mean() > 0.9


def test_same_seed_same_model(comments):
    df, _, P = comments
    a = train(df, P, model="linear", seed=3).predict_proba(df)
    b = train(df, P, model="linear", seed=3).predict_proba(df)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("kind", "text"), [("linear", "text"), ("trees", None)])
def test_save_and_load_through_the_store_scores_the_same(comments, tmp_path, kind, text):
    df, _, P = comments
    clf = train(df, P, text=text, columns=["account_age_days", "n_links"], model=kind,
                classes=["ham", "spam"])
    arrays, meta = clf.to_arrays()
    save_artefact(tmp_path / "m", arrays, meta)
    again = Classifier.from_arrays(*load_artefact(tmp_path / "m"))
    np.testing.assert_allclose(again.predict_proba(df), clf.predict_proba(df), rtol=0, atol=1e-12)
    assert again.predict_labels(df.head(3)).tolist() == clf.predict_labels(df.head(3)).tolist()


def test_calibrated_probabilities_are_honest(comments):
    df, y, P = comments
    clf = train(df, P, columns=["account_age_days", "n_links"], model="linear")
    proba = clf.predict_proba(df)[:, 1]
    confident = proba > 0.7
    # calibrated against labels that are 80% right: confident, but not over-confident
    assert confident.sum() > 100
    assert y[confident].mean() >= proba[confident].mean() - 0.05


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "forest"}, ConfigError, "forest"),
        ({"holdout": 0.9}, ConfigError, "holdout"),
        ({"classes": ["a", "b", "c"]}, SchemaError, "3 classes"),
    ],
)
def test_bad_arguments(comments, kwargs, error, match):
    df, _, P = comments
    with pytest.raises(error, match=match):
        train(df, P, **kwargs)


def test_bad_labels():
    df = pd.DataFrame({"text": ["a b", "c d"] * 10})
    with pytest.raises(SchemaError, match="expected"):
        train(df, np.full((5, 2), 0.5))
    with pytest.raises(LabelError, match="outside"):
        train(df, np.array([0, 5] * 10), classes=["a", "b"])
    with pytest.raises(LabelError, match="only 0 rows"):
        train(df, np.full(20, -1))
    with pytest.raises(LabelError, match="dtype"):
        train(df, np.full(20, 0.5))
