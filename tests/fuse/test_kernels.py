"""The vectorised per-object kernels agree with their loop references."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.fuse._kernels import (
    cell_posteriors,
    cell_posteriors_reference,
    segment_argmax,
    segment_argmax_reference,
    weighted_median,
    weighted_median_reference,
)


@st.composite
def segments(draw):
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=8))
    seg = np.repeat(np.arange(len(sizes)), sizes)
    n = len(seg)
    vals = np.array(draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), float)
    w = np.array(draw(st.lists(st.floats(0.1, 5), min_size=n, max_size=n)))
    free = np.array(draw(st.lists(st.integers(0, 3), min_size=len(sizes),
                                  max_size=len(sizes))), float)
    return seg, vals, w, free, len(sizes)


@settings(max_examples=60, deadline=None)
@given(segments())
def test_cell_posteriors_match_reference(case):
    seg, vals, _, free, n = case
    ptr = np.searchsorted(seg, np.arange(n + 1))
    got = cell_posteriors(seg, vals, ptr, free)
    ref = cell_posteriors_reference(seg, vals, ptr, free)
    np.testing.assert_allclose(got[0], ref[0], atol=1e-12)
    np.testing.assert_allclose(got[1], ref[1], atol=1e-12)
    assert np.isclose(got[2], ref[2])


@settings(max_examples=60, deadline=None)
@given(segments(), st.integers(0, 5))
def test_segment_argmax_matches_reference_ties_included(case, seed):
    seg, vals, _, _, n = case
    np.testing.assert_array_equal(segment_argmax(seg, vals, n, seed),
                                  segment_argmax_reference(seg, vals, n, seed))


@settings(max_examples=60, deadline=None)
@given(segments())
def test_weighted_median_matches_reference(case):
    seg, vals, w, _, n = case
    perm = np.random.default_rng(0).permutation(len(seg))  # claims in any order
    np.testing.assert_array_equal(weighted_median(seg[perm], vals[perm], w[perm], n),
                                  weighted_median_reference(seg, vals, w, n))


@st.composite
def claim_sets(draw):
    k = draw(st.integers(2, 4))
    n_obj, n_src = draw(st.integers(1, 12)), draw(st.integers(1, 6))
    pairs = draw(st.lists(st.tuples(st.integers(0, n_obj - 1), st.integers(0, n_src - 1),
                                    st.integers(0, k - 1)), min_size=1, max_size=50))
    return k, pairs


@settings(max_examples=40, deadline=None)
@given(claim_sets(), st.integers(1, 4), st.sampled_from([0.0, 1.0]))
def test_dawid_skene_on_claims_matches_numpy_reference(case, iters, smoothing):
    import pandas as pd

    from dawn.fuse._claims import encode_claims
    from dawn.fuse.dawid_skene import dawid_skene_reference, fit_dawid_skene_claims

    _, pairs = case
    df = pd.DataFrame(pairs, columns=["o", "s", "v"]).drop_duplicates(["o", "s"])
    c = encode_claims(df, "o", "s", "v", numeric=False)
    fit = fit_dawid_skene_claims(c, smoothing=smoothing, max_iter=iters, tol=0.0)
    T, balance, conf = dawid_skene_reference(c, smoothing=smoothing, max_iter=iters, tol=0.0)
    # the kernels clip probabilities at 1e-6 (with an abstain column): agreement to ~1e-5
    np.testing.assert_allclose(fit.info["confusion"], conf, atol=1e-5)
    np.testing.assert_allclose(fit.info["class_balance"], balance, atol=1e-5)
    np.testing.assert_allclose(fit.post, T[c.cell_obj, c.cell_val], atol=1e-4)
