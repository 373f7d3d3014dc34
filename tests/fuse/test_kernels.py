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
