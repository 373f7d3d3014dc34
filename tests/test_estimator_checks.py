"""One check suite run against every dawn estimator (scikit-learn's idea, dawn's rules):
``fit`` returns ``self``; using it before ``fit`` raises ``NotFittedError`` saying what to
call; a seed fixes the result; ``to_arrays`` / ``from_arrays`` through the store (npz +
JSON, no pickle) gives the same output; bad input gets a dawn error, not a numpy one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dawn.errors import DawnError, NotFittedError
from dawn.label import LabelModel
from dawn.label.model.synthetic import synthetic_label_matrix
from dawn.store import load_artefact, save_artefact
from dawn.train import BoostedTrees, Featurizer, LinearModel, TemperatureScaling


def _label_model_case():
    L, _, _ = synthetic_label_matrix(3000, 6, 2, seed=1)
    return (lambda: LabelModel(2, seed=0)), (L,), (L,), "predict_proba", (np.zeros((3, 6)) + 0.5,)


def _linear_case():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = (X[:, 0] + 0.3 * rng.normal(size=400) > 0).astype(int)
    return (lambda: LinearModel(seed=0)), (X, y), (X,), "predict_proba", (X, y[:10])


def _trees_case():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    y = (X[:, 1] > 0).astype(int)
    return (lambda: BoostedTrees(max_iter=20, seed=0)), (X, y), (X,), "predict_proba", (
        X[:, :2], y[:10])


def _temperature_case():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet([1, 1], size=300)
    y = (rng.random(300) < proba[:, 1]).astype(int)
    return (lambda: TemperatureScaling()), (proba, y), (proba,), "transform", (proba, y[:5])


def _featurizer_case():
    df = pd.DataFrame({"text": ["free cash now", "nice song", "cash prize", "song of love"] * 5,
                       "age": np.arange(20.0)})
    return (lambda: Featurizer(text="text", columns=["age"], min_df=1)), (df,), (df,), \
        "transform", (df.drop(columns="age"),)


CASES = {"LabelModel": _label_model_case, "LinearModel": _linear_case,
         "BoostedTrees": _trees_case, "TemperatureScaling": _temperature_case,
         "Featurizer": _featurizer_case}


def _out(est, method, args):
    out = getattr(est, method)(*args)
    return out.toarray() if hasattr(out, "toarray") else np.asarray(out)


@pytest.fixture(params=sorted(CASES))
def case(request):
    return CASES[request.param]()


def test_fit_returns_self(case):
    make, fit_args, _, _, _ = case
    est = make()
    assert est.fit(*fit_args) is est


def test_not_fitted_error_says_what_to_call(case):
    make, _, use_args, method, _ = case
    with pytest.raises(NotFittedError, match="fit"):
        getattr(make(), method)(*use_args)


def test_same_seed_same_result(case):
    make, fit_args, use_args, method, _ = case
    a = _out(make().fit(*fit_args), method, use_args)
    b = _out(make().fit(*fit_args), method, use_args)
    np.testing.assert_array_equal(a, b)


def test_save_load_round_trip_through_the_store(case, tmp_path):
    make, fit_args, use_args, method, _ = case
    est = make().fit(*fit_args)
    arrays, meta = est.to_arrays()
    save_artefact(tmp_path / "est", arrays, meta)
    again = type(est).from_arrays(*load_artefact(tmp_path / "est"))
    np.testing.assert_allclose(_out(again, method, use_args), _out(est, method, use_args),
                               rtol=0, atol=1e-12)


def test_bad_input_is_a_dawn_error(case):
    """Two bad arguments: ``fit`` on mismatched inputs; one: using it on the wrong input
    (non-label floats, a missing column)."""
    make, fit_args, _, method, bad = case
    est = make().fit(*fit_args)
    with pytest.raises(DawnError):
        if len(bad) == 2:
            make().fit(*bad)
        else:
            getattr(est, method)(*bad)
