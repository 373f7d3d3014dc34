"""The model families: what they recommend on planted tastes, fold-in, persistence, errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import scipy.sparse as sp

from dawn.errors import ConfigError, DataError, EmptyDataError, NotFittedError
from dawn.recommend._kernels import als_cg, als_solve_reference
from dawn.recommend._topk import top_k
from dawn.recommend.models import (
    ALS,
    BPR,
    EASE,
    FAMILIES,
    BiasedMF,
    ItemKNN,
    Popularity,
    from_arrays,
    make_model,
)

N_USERS, N_ITEMS, N_TASTES = 240, 120, 4
FAST = {  # small, single-threaded (hence reproducible) settings for each family
    "als": {"factors": 16, "iterations": 10, "alpha": 5.0, "regularization": 0.1, "threads": 1},
    "bpr": {"factors": 16, "iterations": 60, "learning_rate": 0.05, "threads": 1},
    "mf": {"factors": 8, "iterations": 30, "learning_rate": 0.02, "threads": 1},
    "popular": {},
    "knn": {"neighbors": 30},
    "ease": {"regularization": 20.0},
}


@pytest.fixture(scope="module")
def planted():
    """Users with one of four tastes; each taste likes its own quarter of the items.

    Returns the training matrix, each user's taste, each item's taste and 4 held-out
    liked items per user.
    """
    rng = np.random.default_rng(7)
    user_taste = rng.integers(0, N_TASTES, N_USERS)
    item_taste = np.arange(N_ITEMS) % N_TASTES
    train, held = np.zeros((N_USERS, N_ITEMS), np.float32), np.zeros((N_USERS, N_ITEMS), bool)
    for u in range(N_USERS):
        own = rng.permutation(np.flatnonzero(item_taste == user_taste[u]))
        noise = rng.choice(np.flatnonzero(item_taste != user_taste[u]), 2, replace=False)
        train[u, own[:10]] = 1.0
        train[u, noise] = 1.0
        held[u, own[10:14]] = True
    return sp.csr_matrix(train), user_taste, item_taste, held


def _fit(name, R, **extra):
    return make_model(name, **{**FAST[name], **extra}).fit(R)


def _users(model, R):
    return np.arange(R.shape[0]) if hasattr(model, "user_factors_") else None


def _precision_at_10(model, R, held, users="fitted"):
    idx = _users(model, R) if users == "fitted" else None
    items, _ = top_k(model.score(R, idx), 10, exclude=R)
    return np.take_along_axis(held, items, axis=1).mean()


@pytest.mark.parametrize("name", ["als", "bpr", "knn", "ease"])
def test_planted_tastes_are_recovered_well_above_popularity(planted, name):
    R, _, _, held = planted
    popular = _precision_at_10(_fit("popular", R), R, held)
    model = _precision_at_10(_fit(name, R), R, held)
    # 4 of a user's 20 unseen own-taste items are held out: a perfect taste model scores
    # 0.2, popularity (blind to tastes) about 4/110
    assert model > 0.13 and model > 2.5 * popular, (name, model, popular)


def test_similar_items_share_the_taste_and_exclude_the_item(planted):
    R, _, item_taste, _ = planted
    for name in ["als", "bpr", "knn", "ease"]:
        model = _fit(name, R)
        items, scores = model.similar_items(np.array([0, 1, 2]), 5)
        assert items.shape == (3, 5) and scores.shape == (3, 5)
        assert not (items == np.array([[0], [1], [2]])).any()
        assert (item_taste[items] == item_taste[[0, 1, 2]][:, None]).mean() >= 0.8, name
        assert (np.diff(scores, axis=1) <= 0).all()


def test_als_fold_in_equals_a_full_als_step_for_that_user(planted):
    R, *_ = planted
    als = _fit("als", R)
    u = 5
    folded = als.fold_in(R[u])
    # one exact ALS user step against the final item factors, from the learned factors
    C = als.confidence(R[u].astype(np.float32))
    Y = als.item_factors_.astype(np.float64)
    gram = Y.T @ Y + als.regularization * np.eye(Y.shape[1])
    x = als.user_factors_[u:u + 1].astype(np.float64).copy()
    als_cg(C.indptr, C.indices, C.data.astype(np.float64), x, Y, gram, 200)
    np.testing.assert_allclose(folded[0], x[0], rtol=1e-3, atol=1e-4)
    # and the learned factors are (nearly) that step already: training has converged
    assert np.corrcoef(folded[0], als.user_factors_[u])[0, 1] > 0.99


@pytest.mark.parametrize("name", ["als", "bpr", "mf"])
def test_folded_in_users_get_the_recommendations_of_their_learned_factors(planted, name):
    R, *_ = planted
    if name == "mf":
        R = R.copy()
        R.data = np.where(np.arange(R.nnz) % 3 == 0, 2.0, 5.0).astype(np.float32)
    model = _fit(name, R)
    learned, _ = top_k(model.score(R, np.arange(R.shape[0])), 10, exclude=R)
    folded, _ = top_k(model.score(R), 10, exclude=R)          # every user folded in
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(learned, folded, strict=True)])
    assert overlap > {"als": 0.9, "bpr": 0.7, "mf": 0.5}[name], overlap


def test_als_new_items_get_factors_from_the_users_who_touched_them(planted):
    R, _, item_taste, _ = planted
    new = N_ITEMS - 1
    als = _fit("als", R[:, :new])
    als.add_items(1)
    col = R[:, new].T.tocsr()
    factors = als.fold_in_items(np.array([new]), col)
    np.testing.assert_array_equal(als.item_factors_[new], factors[0])
    C = als.confidence(col)
    X = als.user_factors_.astype(np.float64)
    expect = als_solve_reference(C.indptr, C.indices, C.data, X,
                                 X.T @ X + als.regularization * np.eye(X.shape[1]))
    np.testing.assert_allclose(factors, expect, rtol=1e-4, atol=1e-5)
    similar, _ = als.similar_items(np.array([new]), 10)
    assert (item_taste[similar[0]] == item_taste[new]).mean() >= 0.8
    with pytest.raises(DataError, match="cols has 2 rows for 1 items"):
        als.fold_in_items(np.array([new]), sp.vstack([col, col]))
    with pytest.raises(DataError, match="rows have 3 user columns but the model knows 240 users"):
        als.fold_in_items(np.array([new]), sp.csr_matrix((1, 3)))


def test_als_keeps_its_item_gram_in_step_as_items_arrive(planted):
    """New items join with zero factors and get solved ones; the cached YᵀY + λI that
    fold-in uses is updated by those rows, not recomputed, and stays exact."""
    R, *_ = planted
    als = _fit("als", R[:, :N_ITEMS - 6])

    def fresh():
        Y = als.item_factors_.astype(np.float64)
        return Y.T @ Y + als.regularization * np.eye(Y.shape[1])

    als.fold_in(R[:1, :N_ITEMS - 6])  # builds the cache
    for step in range(3):             # two new items at a time, spare rows reused
        lo = N_ITEMS - 6 + 2 * step
        als.add_items(2)
        np.testing.assert_allclose(als._gram(), fresh(), rtol=1e-6, atol=1e-8)
        als.fold_in_items(np.arange(lo, lo + 2), R[:, lo:lo + 2].T.tocsr())
        np.testing.assert_allclose(als._gram(), fresh(), rtol=1e-5, atol=1e-7)
    assert als.n_items == N_ITEMS
    rows = sp.csr_matrix(R[:4])
    ref = ALS(**FAST["als"])
    ref.user_factors_, ref.item_factors_ = als.user_factors_, als.item_factors_.copy()
    np.testing.assert_allclose(als.fold_in(rows), ref.fold_in(rows), rtol=1e-4, atol=1e-5)
    arrays, _ = als.to_arrays()
    assert arrays["item_factors"].shape == (N_ITEMS, FAST["als"]["factors"])
    # replacing existing items' factors keeps it exact too
    als.set_item_factors(np.array([0, 5]), np.ones((2, FAST["als"]["factors"])))
    np.testing.assert_allclose(als._gram(), fresh(), rtol=1e-5, atol=1e-7)


def test_als_new_items_from_users_folded_in_elsewhere(planted):
    """``user_factors`` gives the factors of cols' columns (users the model may not have
    fitted): the same solve as against the fitted users when they are those users."""
    R, *_ = planted
    new = N_ITEMS - 1
    als = _fit("als", R[:, :new])
    als.add_items(1)
    col = R[:, new].T.tocsr()
    users = col.indices
    local = sp.csr_matrix((col.data, np.arange(len(users)), [0, len(users)]),
                          shape=(1, len(users)))
    got = als.fold_in_items(np.array([new]), local, user_factors=als.user_factors_[users])
    als2 = _fit("als", R[:, :new])
    als2.add_items(1)
    np.testing.assert_allclose(got, als2.fold_in_items(np.array([new]), col), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(DataError, match="user_factors must have 16 columns"):
        als.fold_in_items(np.array([new]), local, user_factors=np.zeros((len(users), 3)))
    with pytest.raises(DataError, match=r"factors must have shape \(1, 16\)"):
        als.set_item_factors(np.array([new]), np.zeros((2, 16)))
    with pytest.raises(DataError, match="items repeat"):
        als.set_item_factors(np.array([new, new]), np.zeros((2, 16)))
    with pytest.raises(DataError, match="outside"):
        als.set_item_factors(np.array([N_ITEMS]), np.zeros((1, 16)))


def test_mixed_known_and_unknown_users_in_one_call(planted):
    R, *_ = planted
    als = _fit("als", R)
    users = np.array([3, -1, 7])
    rows = R[[3, 4, 7]]
    scores = als.score(rows, users)
    np.testing.assert_allclose(scores[0], als.user_factors_[3] @ als.item_factors_.T, rtol=1e-5)
    np.testing.assert_allclose(scores[1], als.score(R[4])[0], rtol=1e-5)


def test_fold_in_of_an_empty_history_is_zero(planted):
    R, *_ = planted
    for name in ["als", "bpr", "mf"]:
        model = _fit(name, R)
        assert not model.fold_in(sp.csr_matrix((1, N_ITEMS), dtype=np.float32)).any()
    assert Popularity().fit(R).fold_in(R[:1]) is None


def test_biased_mf_predicts_held_out_ratings_better_than_the_mean():
    rng = np.random.default_rng(3)
    n_u, n_i = 200, 80
    taste_u, taste_i = rng.integers(0, 2, n_u), rng.integers(0, 2, n_i)
    item_bias = rng.normal(0, 0.5, n_i)
    full = np.where(taste_u[:, None] == taste_i[None, :], 4.3, 1.8) + item_bias[None, :]
    mask = rng.random((n_u, n_i)) < 0.25
    test = mask & (rng.random((n_u, n_i)) < 0.2)
    train = sp.csr_matrix(np.where(mask & ~test, full, 0.0).astype(np.float32))
    mf = BiasedMF(factors=8, iterations=60, learning_rate=0.02, threads=1).fit(train)
    pred = mf.score(train, np.arange(n_u))
    rmse = np.sqrt(((pred - full)[test] ** 2).mean())
    baseline = np.sqrt(((train.data.mean() - full)[test] ** 2).mean())
    assert rmse < 0.5 * baseline, (rmse, baseline)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_round_trip_through_npz_and_json(planted, name):
    R, *_ = planted
    model = _fit(name, R)
    arrays, meta = model.to_arrays()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        loaded = from_arrays(dict(z), json.loads(json.dumps(meta)))
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    users = _users(model, R)
    np.testing.assert_array_equal(loaded.score(R[:20], None if users is None else users[:20]),
                                  model.score(R[:20], None if users is None else users[:20]))
    np.testing.assert_array_equal(loaded.similar_items(np.array([1]), 4)[0],
                                  model.similar_items(np.array([1]), 4)[0])


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_add_items_grows_the_catalog_and_keeps_old_scores(planted, name):
    R, *_ = planted
    model = _fit(name, R)
    users = _users(model, R)
    before = model.score(R[:5], None if users is None else users[:5])
    model.add_items(3)
    assert model.n_items == N_ITEMS + 3
    rows = sp.hstack([R[:5], sp.csr_matrix((5, 3), dtype=np.float32)]).tocsr()
    after = model.score(rows, None if users is None else users[:5])
    assert after.shape == (5, N_ITEMS + 3) and np.isfinite(after).all()
    np.testing.assert_allclose(after[:, :N_ITEMS], before, rtol=1e-5, atol=1e-6)
    with pytest.raises(DataError, match="call add_items first"):
        model.score(R[:5])
    loaded = from_arrays(*model.to_arrays())  # the grown catalog survives a save
    assert loaded.n_items == N_ITEMS + 3
    items, _ = loaded.similar_items(np.array([N_ITEMS + 1]), 3)  # a new item answers too
    assert items.shape == (1, 3)


@pytest.mark.parametrize("name", ["als", "bpr", "mf"])
def test_a_seed_fixes_the_factors_with_one_thread(planted, name):
    R, *_ = planted
    a, b = _fit(name, R), _fit(name, R)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    c = _fit(name, R, seed=1)
    assert not np.array_equal(a.item_factors_, c.item_factors_)


def test_warm_start_continues_from_the_factors_and_grows(planted):
    R, *_ = planted
    als = _fit("als", R)
    bigger = sp.vstack([R, R[:2]]).tocsr()
    bigger = sp.hstack([bigger, sp.csr_matrix((bigger.shape[0], 2), dtype=np.float32)]).tocsr()
    warm = ALS(**{**FAST["als"], "iterations": 0}).fit(R)
    warm.user_factors_, warm.item_factors_ = als.user_factors_, als.item_factors_
    warm.fit(bigger, warm_start=True)
    assert warm.user_factors_.shape == (N_USERS + 2, 16)
    assert warm.item_factors_.shape == (N_ITEMS + 2, 16)
    np.testing.assert_array_equal(warm.item_factors_[:N_ITEMS], als.item_factors_)
    one_more = ALS(**{**FAST["als"], "iterations": 1})
    one_more.user_factors_, one_more.item_factors_ = als.user_factors_, als.item_factors_
    one_more.fit(R, warm_start=True)
    cold = ALS(**{**FAST["als"], "iterations": 1}).fit(R)
    held = planted[3]
    assert _precision_at_10(one_more, R, held) > _precision_at_10(cold, R, held)


def test_popularity_counts_and_recency_weighting():
    R = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 5]], np.float32))
    assert Popularity().fit(R).popularity_.tolist() == [2.0, 2.0, 1.0]
    assert Popularity(binary=False).fit(R).popularity_.tolist() == [2.0, 2.0, 5.0]
    age = np.array([0.0, 10.0, 0.0, 10.0, 0.0])  # item 1's interactions are old
    pop = Popularity(half_life=10.0).fit(R, age=age)
    np.testing.assert_allclose(pop.popularity_, [2.0, 1.0, 1.0])
    assert top_k(pop.score(R[:1]), 1)[0].tolist() == [[0]]
    with pytest.raises(DataError, match="one value per stored interaction"):
        pop.fit(R, age=np.zeros(2))


def test_ease_matches_its_closed_form():
    rng = np.random.default_rng(0)
    X = (rng.random((50, 12)) < 0.3).astype(np.float32)
    ease = EASE(regularization=5.0).fit(sp.csr_matrix(X))
    P = np.linalg.inv(X.T.astype(np.float64) @ X + 5.0 * np.eye(12))
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    np.testing.assert_allclose(ease.weights_, B, rtol=1e-4, atol=1e-6)


def test_ease_refuses_catalogs_that_do_not_fit_in_memory():
    R = sp.csr_matrix(np.eye(30, dtype=np.float32))
    with pytest.raises(ConfigError, match=r"EASE needs a dense 30 × 30 item matrix.*max_items=20"):
        EASE(max_items=20).fit(R)


def test_item_knn_keeps_the_top_neighbours():
    rng = np.random.default_rng(1)
    R = sp.csr_matrix((rng.random((60, 25)) < 0.3).astype(np.float32))
    knn = ItemKNN(neighbors=3).fit(R)
    S = knn.similarity_
    assert (np.diff(S.indptr) <= 3).all() and S.diagonal().sum() == 0
    X = R.toarray().T
    cos = X @ X.T / np.outer(np.linalg.norm(X, axis=1), np.linalg.norm(X, axis=1))
    np.fill_diagonal(cos, 0)
    for i in range(25):
        kept = S[i].toarray().ravel()
        assert np.isclose(kept.max(), cos[i].max(), rtol=1e-5)


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_empty_and_non_finite_inputs(name):
    model = make_model(name)
    with pytest.raises(EmptyDataError, match="empty interaction matrix"):
        model.fit(sp.csr_matrix((3, 4), dtype=np.float32))
    with pytest.raises(EmptyDataError, match="all 0"):
        model.fit(sp.csr_matrix((np.zeros(2), (np.array([0, 1]), np.array([0, 1]))),
                                shape=(2, 2)))
    with pytest.raises(DataError, match="non-finite"):
        model.fit(sp.csr_matrix(np.array([[1.0, np.nan]])))
    with pytest.raises(DataError, match=r"scipy\.sparse matrix"):
        model.fit([[1, 0], [0, 1]])


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_using_a_model_before_fit(name):
    model = make_model(name)
    with pytest.raises(NotFittedError, match=r"call \.fit\(R\)"):
        model.score(sp.csr_matrix((1, 3)))
    with pytest.raises(NotFittedError):
        model.to_arrays()


@pytest.mark.parametrize(("cls", "params", "match"), [
    (ALS, {"factors": 0}, "factors must be an integer >= 1"),
    (ALS, {"factors": True}, "factors must be an integer"),
    (ALS, {"regularization": -1.0}, "regularization must be a number >= 0"),
    (ALS, {"threads": 0}, "threads must be an integer >= 1"),
    (ALS, {"iterations": 2.5}, "iterations must be an integer"),
    (BPR, {"learning_rate": 0.0}, r"learning_rate must be a number > 0\.0"),
    (BiasedMF, {"regularization": float("nan")}, "regularization must be a number"),
    (Popularity, {"half_life": 0.0}, "half_life must be a number > 0"),
    (ItemKNN, {"neighbors": 0}, "neighbors must be an integer >= 1"),
    (EASE, {"regularization": 0.0}, "regularization must be a number > 0"),
])
def test_bad_parameters_are_named(cls, params, match):
    with pytest.raises(ConfigError, match=match):
        cls(**params).fit(sp.csr_matrix(np.eye(3, dtype=np.float32)))


def test_make_model_names_families_and_parameters():
    assert isinstance(make_model("als", factors=8), ALS)
    with pytest.raises(ConfigError, match=r"unknown model family 'alss'.*Did you mean 'als'"):
        make_model("alss")
    with pytest.raises(ConfigError, match=r"ALS has no parameter 'factor'.*Did you mean"):
        make_model("als", factor=3)


def test_bad_rows_users_and_items(planted):
    R, *_ = planted
    als = _fit("als", R)
    with pytest.raises(DataError, match="rows have 3 item columns but the model knows 120"):
        als.score(sp.csr_matrix((1, 3)))
    with pytest.raises(DataError, match="user index 999 is outside"):
        als.score(R[:1], np.array([999]))
    with pytest.raises(DataError, match="users must be 1 integer indices"):
        als.score(R[:1], np.array([0, 1]))
    with pytest.raises(DataError, match="item index 500 is outside"):
        als.similar_items(np.array([500]), 3)
    with pytest.raises(DataError, match="history values must be finite"):
        als.fold_in(sp.csr_matrix(np.full((1, N_ITEMS), np.inf, np.float32)))


def test_loading_the_wrong_arrays():
    pop = Popularity().fit(sp.csr_matrix(np.eye(3, dtype=np.float32)))
    arrays, meta = pop.to_arrays()
    with pytest.raises(DataError, match="family 'nope'"):
        from_arrays(arrays, {**meta, "family": "nope"})
    with pytest.raises(DataError, match="hold a 'popular' model, not 'als'"):
        ALS.from_arrays(arrays, meta)
    with pytest.raises(DataError, match="missing its 'popularity' array"):
        from_arrays({}, meta)
