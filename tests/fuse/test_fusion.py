"""Fusion: planted truth for every method, ties, sparse objects and sources, bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dawn.errors import (
    ColumnNotFoundError,
    ConfigError,
    DataError,
    DawnWarning,
    EmptyDataError,
    NotFittedError,
)
from dawn.fuse import Fusion, synthetic_claims


def truth_error(f, data):
    return float((f.truth_ != data.truth.reindex(f.truth_.index)).mean())


def accuracy_mae(f, data):
    return float((f.source_accuracy_ - data.accuracy.reindex(f.source_accuracy_.index))
                 .abs().mean())


@pytest.fixture(scope="module")
def dense():
    return synthetic_claims(400, 10, n_values=3, claims_per_source=250, seed=4)


@pytest.fixture(scope="module")
def sparse():
    """Many sparse sources whose accuracy is a logistic function of their features."""
    return synthetic_claims(300, 300, n_values=2, n_features=3, claims_per_source=5.0,
                            seed=0)


@pytest.mark.parametrize("method", ["majority", "one_coin", "dawid_skene", "glad"])
def test_every_categorical_method_recovers_planted_truth(dense, method):
    f = Fusion(method, seed=0).fit(dense.claims, object="object", source="source",
                                   value="value")
    assert f.method_ == method
    assert truth_error(f, dense) < (0.1 if method == "majority" else 0.06)
    assert accuracy_mae(f, dense) < (0.12 if method == "majority" else 0.05)
    assert f.confidence_.between(0, 1).all()
    assert list(f.truth_.index[:2]) == ["o0", "o1"] and f.truth_.index.name == "object"


def test_em_methods_beat_majority_on_dense_data(dense):
    mv = truth_error(Fusion("majority").fit(dense.claims), dense)
    for method in ("one_coin", "dawid_skene", "glad"):
        assert truth_error(Fusion(method).fit(dense.claims), dense) < mv


def test_slimfast_beats_dawid_skene_clearly_on_sparse_feature_driven_sources(sparse):
    ds = Fusion("dawid_skene").fit(sparse.claims)
    sf = Fusion("slimfast").fit(sparse.claims, source_features=sparse.features)
    assert sf.learner_ == "em"
    assert truth_error(sf, sparse) < 0.7 * truth_error(ds, sparse)
    assert accuracy_mae(sf, sparse) < 0.5 * accuracy_mae(ds, sparse)
    assert accuracy_mae(sf, sparse) < 0.05


def test_slimfast_erm_with_some_truth(sparse):
    truth = sparse.truth.sample(frac=0.4, random_state=0)
    f = Fusion("slimfast").fit(sparse.claims, source_features=sparse.features, truth=truth)
    assert f.learner_ == "erm" and "ERM" in f.method_reason_
    assert accuracy_mae(f, sparse) < 0.06
    known = truth.reindex(f.truth_.index).dropna().index
    assert (f.truth_[known] == truth[known]).all()
    assert (f.confidence_[known] == 1).all()
    em = Fusion("slimfast", learner="em").fit(sparse.claims, source_features=sparse.features,
                                             truth=truth)
    assert em.learner_ == "em" and truth_error(em, sparse) < 0.1


def test_a_little_truth_is_clamped_and_used_by_em(dense):
    truth = dense.truth.iloc[:20]
    f = Fusion("one_coin").fit(dense.claims, truth=truth)
    assert (f.truth_[truth.index] == truth).all()
    assert f.review_queue(400).index.isin(truth.index).sum() == 0


@pytest.mark.parametrize("method", ["majority", "weighted_median", "slimfast"])
def test_numeric_methods_recover_planted_values(method):
    d = synthetic_claims(300, 12, claims_per_source=120, numeric=True, n_features=2, seed=1)
    feats = d.features if method == "slimfast" else None
    f = Fusion(method, tolerance=1.0).fit(d.claims, source_features=feats)
    assert f.value_type_ == "numeric" and f.method_ == method
    err = (f.truth_ - d.truth.reindex(f.truth_.index)).abs()
    assert err.median() < 1.0
    if method != "majority":
        assert (f.source_accuracy_ - d.accuracy.reindex(f.source_accuracy_.index)
                ).abs().mean() < 0.08
    assert f.source_scale_.gt(0).all() and f.tolerance_ == 1.0


def test_weighted_median_beats_plain_median_when_some_sources_are_wild():
    acc = np.r_[np.full(4, 0.95), np.full(5, 0.1)]
    d = synthetic_claims(300, 9, claims_per_source=300, numeric=True, accuracy=acc, seed=2)
    err = {m: float((Fusion(m).fit(d.claims).truth_ - d.truth).abs().mean())
           for m in ("majority", "weighted_median")}
    assert err["weighted_median"] < 0.5 * err["majority"]


def test_ties_are_broken_by_the_seed_and_reported_as_half_sure():
    claims = pd.DataFrame({"object": np.repeat(np.arange(40), 2),
                           "source": ["a", "b"] * 40, "value": ["x", "y"] * 40})
    f = Fusion("majority", seed=0).fit(claims)
    assert np.allclose(f.confidence_, 0.5)
    assert set(f.truth_) == {"x", "y"}  # not always the first value
    again = Fusion("majority", seed=0).fit(claims)
    assert f.truth_.equals(again.truth_)
    other = Fusion("majority", seed=1).fit(claims)
    assert not f.truth_.equals(other.truth_)


def test_objects_and_sources_with_a_single_claim(dense):
    extra = pd.DataFrame({"object": ["lonely", "o1"], "source": ["s0", "newbie"],
                          "value": [2, 0]})
    claims = pd.concat([dense.claims, extra], ignore_index=True)
    for method in ("majority", "one_coin", "dawid_skene", "glad"):
        f = Fusion(method).fit(claims)
        assert f.truth_["lonely"] == 2
        assert 0 < f.confidence_["lonely"] <= 1
        assert np.isfinite(f.source_accuracy_).all()
    oc = Fusion("one_coin").fit(claims)
    assert 0.3 < oc.source_accuracy_["newbie"] < 0.99  # shrunk, not 0 or 1


def test_auto_chooses_by_density_features_and_value_type_and_says_why(dense, sparse):
    f = Fusion().fit(dense.claims)
    assert f.method_ == "dawid_skene" and "dense" in f.method_reason_
    f = Fusion().fit(sparse.claims)
    assert f.method_ == "one_coin" and "claims per source" in f.method_reason_
    f = Fusion().fit(sparse.claims, source_features=sparse.features)
    assert f.method_ == "slimfast" and "features" in f.method_reason_
    single = pd.DataFrame({"object": range(10), "source": ["a"] * 10, "value": [1, 0] * 5})
    f = Fusion().fit(single)
    assert f.method_ == "majority" and "claims per object" in f.method_reason_
    num = synthetic_claims(50, 5, claims_per_source=30, numeric=True, seed=0)
    f = Fusion().fit(num.claims)
    assert f.method_ == "weighted_median" and "numeric" in f.method_reason_


def test_posteriors_cover_every_value_and_sum_to_one(dense):
    f = Fusion("one_coin").fit(dense.claims)
    P = f.predict_proba()
    assert P.shape == (len(f.truth_), 3) and list(P.columns) == [0, 1, 2]
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert (P.idxmax(axis=1) == f.truth_).mean() > 0.99
    assert f.posteriors_.equals(P)
    num = synthetic_claims(20, 4, claims_per_source=20, numeric=True, seed=0)
    with pytest.raises(ConfigError, match="numeric values have no posterior"):
        Fusion().fit(num.claims).predict_proba()


def test_fits_are_deterministic_for_a_seed(sparse):
    a = Fusion("slimfast", seed=3).fit(sparse.claims, source_features=sparse.features)
    b = Fusion("slimfast", seed=3).fit(sparse.claims.sample(frac=1.0, random_state=1),
                                       source_features=sparse.features)
    assert a.truth_.equals(b.truth_)
    np.testing.assert_allclose(a.source_accuracy_, b.source_accuracy_)


def test_fusion_over_lf_votes_is_the_label_model_when_abstains_are_modelled():
    from dawn.fuse._claims import encode_claims
    from dawn.fuse.dawid_skene import fit_dawid_skene_claims
    from dawn.label.model._ci import predict_proba_ci
    from dawn.label.model.dawid_skene import fit_dawid_skene
    from dawn.label.model.synthetic import synthetic_label_matrix

    L, _, _ = synthetic_label_matrix(2000, 5, 2, accuracies=0.75, coverage=0.6, seed=0)
    L = np.asarray(L)
    rows, lfs = np.nonzero(L >= 0)
    claims = pd.DataFrame({"row": rows, "lf": lfs, "vote": L[rows, lfs]})
    c = encode_claims(claims, "row", "lf", "vote", numeric=False)
    fit = fit_dawid_skene_claims(c, abstains="modelled", tol=1e-6)
    covered = np.unique(rows)
    balance, conf, _ = fit_dawid_skene(L[covered], 2, max_rows=None)
    expected = predict_proba_ci(L[covered], balance, conf)
    np.testing.assert_allclose(fit.post, expected[c.cell_obj, c.cell_val], atol=1e-6)
    with pytest.raises(ConfigError, match="abstains='sometimes' is not one of"):
        fit_dawid_skene_claims(c, abstains="sometimes")


def test_dawid_skene_on_claims_ignores_which_objects_a_source_skipped():
    # source c claims only objects whose value is x. A model of abstentions (the label
    # model's) reads c's silence on an object as strong evidence for y; fusion's does not.
    rows = ([(f"x{i}", s, "x") for i in range(100) for s in "abc"]
            + [(f"y{i}", s, "y") for i in range(100) for s in "ab"]
            + [(f"p{i}", s, v) for i in range(20) for s, v in (("a", "x"), ("b", "y"))]
            + [(f"q{i}", s, v) for i in range(20) for s, v in (("a", "y"), ("b", "x"))])
    claims = pd.DataFrame(rows, columns=["object", "source", "value"])
    split = Fusion("dawid_skene").fit(claims).predict_proba().loc[["p0", "q0"], "y"]
    assert (split < 0.5).all() and split["p0"] == pytest.approx(split["q0"])

    from dawn.fuse._claims import encode_claims
    from dawn.fuse.dawid_skene import fit_dawid_skene_claims
    c = encode_claims(claims, "object", "source", "value", numeric=False)
    modelled = fit_dawid_skene_claims(c, abstains="modelled")
    p0 = c.objects.get_loc("p0")
    y = c.values.get_loc("y")
    cell = np.flatnonzero((c.cell_obj == p0) & (c.cell_val == y))
    assert modelled.post[cell] > 0.99


def test_dawid_skene_accuracies_match_a_crowd_of_biased_and_adversarial_workers():
    rng = np.random.default_rng(0)
    k, n, per = 3, 1500, 5
    truth = rng.choice(k, n, p=[0.5, 0.3, 0.2])
    conf = np.stack([np.full((k, k), 0.05) + np.eye(k) * 0.85] * 6      # reliable
                    + [np.array([[0.9, 0.05, 0.05], [0.4, 0.55, 0.05],
                                 [0.4, 0.05, 0.55]])] * 2                 # biased to 0
                    + [np.roll(np.eye(k), 1, axis=1) * 0.9 + 0.1 / k])   # adversarial
    m = len(conf)
    workers = np.argsort(rng.random((n, m)), axis=1)[:, :per].ravel()
    item = np.repeat(np.arange(n), per)
    p = conf[workers, truth[item]]
    value = (rng.random(len(item))[:, None] > p.cumsum(axis=1)).sum(axis=1).clip(0, k - 1)
    claims = pd.DataFrame({"object": item, "source": workers, "value": value})
    f = Fusion("dawid_skene").fit(claims)
    planted = (np.array([0.5, 0.3, 0.2]) * conf[:, np.arange(k), np.arange(k)]).sum(axis=1)
    assert np.abs(f.source_accuracy_.to_numpy() - planted).max() < 0.05
    assert (f.truth_.to_numpy() != truth).mean() < 0.05


def test_majority_accuracy_is_agreement_with_the_fused_value(dense):
    f = Fusion("majority", seed=0).fit(dense.claims)
    fused = f.truth_.reindex(dense.claims["object"]).to_numpy()
    agree = pd.Series(dense.claims["value"].to_numpy() == fused).groupby(
        dense.claims["source"].to_numpy()).mean()
    np.testing.assert_allclose(f.source_accuracy_, agree.reindex(f.source_accuracy_.index))
    assert accuracy_mae(f, dense) < 0.05  # not biased low by vote shares


def test_numeric_accuracies_without_features_are_not_biased_low():
    # sparse sources with widely spread accuracies: the wild ones must not drag every
    # sparse source's accuracy towards zero
    d = synthetic_claims(2000, 2000, claims_per_source=4.0, n_features=4, numeric=True,
                         seed=3)
    for method in ("majority", "weighted_median"):
        f = Fusion(method, tolerance=1.0).fit(d.claims)
        planted = d.accuracy.reindex(f.source_accuracy_.index)
        assert abs(f.source_accuracy_.mean() - planted.mean()) < 0.05
        assert (f.source_accuracy_ - planted).abs().mean() < 0.2
        np.testing.assert_allclose(f.source_scale_, 1.0 / -np.log1p(-f.source_accuracy_))


def test_known_truth_makes_single_claim_objects_count_for_numeric_accuracy():
    claims = pd.DataFrame({"object": ["a", "b", "c", "d"], "source": ["s"] * 4,
                           "value": [1.0, 2.0, 3.5, 40.25]})
    truth = pd.Series([1.0, 2.0, 3.5, 4.0], index=["a", "b", "c", "d"])
    f = Fusion("weighted_median", tolerance=0.5, prior_strength=0.0).fit(claims, truth=truth)
    assert f.source_accuracy_["s"] == pytest.approx(0.75)
    assert f.truth_["d"] == 4.0


def test_glad_converges_and_reports_expertise_and_difficulty(dense):
    from dawn.fuse._claims import encode_claims
    from dawn.fuse.glad import fit_glad

    c = encode_claims(dense.claims, "object", "source", "value", numeric=False)
    fit = fit_glad(c)
    assert fit.info["converged"] and fit.info["n_iter"] < 50
    assert fit.info["expertise"].shape == (c.n_sources,)
    assert (fit.info["difficulty"] > 0).all()
    order = np.argsort(fit.info["expertise"])
    planted = dense.accuracy.reindex(c.sources).to_numpy()
    assert np.corrcoef(fit.info["expertise"], planted)[0, 1] > 0.9 and len(order) == 10


def test_polars_and_arrow_claims_are_accepted(dense):
    pl = pytest.importorskip("polars")
    f = Fusion("one_coin").fit(pl.from_pandas(dense.claims))
    g = Fusion("one_coin").fit(dense.claims)
    assert f.truth_.equals(g.truth_)


# -- bad inputs --------------------------------------------------------------------------------
def test_missing_column_names_it(dense):
    with pytest.raises(ColumnNotFoundError, match="valu"):
        Fusion().fit(dense.claims, value="valu")


def test_empty_claims_are_refused():
    empty = pd.DataFrame({"object": [], "source": [], "value": []})
    with pytest.raises(EmptyDataError, match="no rows"):
        Fusion().fit(empty)


def test_truth_with_unknown_objects_is_refused(dense):
    with pytest.raises(DataError, match=r"no claim mentions.*'nope'"):
        Fusion().fit(dense.claims, truth=pd.Series({"o1": 0, "nope": 1}))
    with pytest.raises(DataError, match="must be a pandas Series"):
        Fusion().fit(dense.claims, truth={"o1": 0})


def test_bad_parameters_and_combinations(dense, sparse):
    with pytest.raises(ConfigError, match=r"Did you mean.*dawid_skene"):
        Fusion("dawid_skeen").fit(dense.claims)
    with pytest.raises(ConfigError, match="needs source_features"):
        Fusion("slimfast").fit(dense.claims)
    with pytest.raises(ConfigError, match="needs truth"):
        Fusion("slimfast", learner="erm").fit(sparse.claims, source_features=sparse.features)
    num = synthetic_claims(20, 4, claims_per_source=20, numeric=True, seed=0)
    with pytest.raises(ConfigError, match="categorical values, but 'value' is numeric"):
        Fusion("dawid_skene").fit(num.claims)
    with pytest.raises(ConfigError, match="fuses numbers"):
        Fusion("weighted_median").fit(dense.claims)
    with pytest.raises(DataError, match="shares no source"):
        Fusion("slimfast").fit(dense.claims, source_features=pd.DataFrame({"f": [1.0]}))
    with pytest.raises(ConfigError, match="tolerance"):
        Fusion(tolerance=-1).fit(num.claims)


def test_not_fitted():
    with pytest.raises(NotFittedError, match=r"call .fit"):
        Fusion().predict_proba()
    with pytest.raises(NotFittedError, match=r"call .fit"):
        Fusion().enrichment()


def test_duplicate_and_missing_claims_warn_and_are_dropped():
    claims = pd.DataFrame({"object": ["a", "a", "a", "b", None],
                           "source": ["s", "s", "t", "s", "t"],
                           "value": ["x", "y", "x", "z", "x"]})
    with pytest.warns(DawnWarning) as record:
        f = Fusion("majority").fit(claims)
    text = " ".join(str(w.message) for w in record)
    assert "missing" in text and "first claim" in text
    assert f.truth_["a"] == "x" and f.n_duplicates_ == 1 and f.n_dropped_ == 1


def test_a_value_nobody_claimed_wins_when_the_claimants_are_known_liars():
    # planted: sources with accuracy far below chance exist when features predict it; when
    # only such sources claim an object, the value they did not claim is the likely truth
    from dawn.fuse import synthetic_claims

    data = synthetic_claims(n_objects=2000, n_sources=300, claims_per_source=6, n_features=3,
                            seed=0)
    fusion = Fusion(method="slimfast").fit(data.claims, source_features=data.features)
    assert (fusion.confidence_ >= 0.5 - 1e-9).all()  # the chosen value is the likeliest
    P = fusion.predict_proba()
    chosen = P.to_numpy()[np.arange(len(P)), P.columns.get_indexer(fusion.truth_)]
    assert np.allclose(chosen, P.max(axis=1).to_numpy())
    right = (fusion.truth_ == data.truth.reindex(fusion.truth_.index)).mean()
    assert right > 0.8
