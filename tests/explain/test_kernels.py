"""The counting kernel agrees with its numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.explain._kernels import count_itemsets, count_itemsets_reference


def _candidates(codes, card, rng, n_pairs, n_triples):
    m = codes.shape[1]
    pairs, triples = [], []
    if m >= 2:
        for _ in range(n_pairs):
            i, j = sorted(rng.choice(m, 2, replace=False))
            pairs.append([i, rng.integers(card[i]), j, rng.integers(card[j])])
    if m >= 3:
        for _ in range(n_triples):
            i, j, k = sorted(rng.choice(m, 3, replace=False))
            t = [i, rng.integers(card[i]), j, rng.integers(card[j]), k, rng.integers(card[k])]
            triples.append(t)
            pairs.append(t[:4])
    pairs = np.unique(np.array(pairs, np.int64).reshape(-1, 4), axis=0)
    triples = np.unique(np.array(triples, np.int64).reshape(-1, 6), axis=0)
    return rng.permutation(pairs), rng.permutation(triples)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 300), m=st.integers(1, 5), kmax=st.integers(1, 6),
       seed=st.integers(0, 10_000), n_blocks=st.integers(1, 3), weighted=st.booleans())
def test_kernel_matches_reference(n, m, kmax, seed, n_blocks, weighted):
    rng = np.random.default_rng(seed)
    card = rng.integers(1, kmax + 1, size=m)
    codes = np.column_stack([rng.integers(0, k, size=n) for k in card]).astype(np.int8)
    codes = codes.reshape(n, m)
    pairs, triples = _candidates(codes, card, rng, 6, 6)
    weights = rng.normal(size=(n, 2)) if weighted else None
    got = count_itemsets(codes, card, pairs, triples, weights, n_blocks=n_blocks)
    want = count_itemsets_reference(codes, card, pairs, triples, weights)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, atol=1e-9)


def test_dense_candidates_on_int16_codes():
    rng = np.random.default_rng(1)
    card = np.array([200, 3, 4])
    codes = np.column_stack([rng.integers(0, k, 2000) for k in card]).astype(np.int16)
    pairs = np.array([[0, a, 1, b] for a in range(200) for b in range(3)])
    triples = np.array([[0, a, 1, b, 2, c] for a in range(0, 200, 7) for b in range(3)
                        for c in range(4)])
    got = count_itemsets(codes, card, pairs, triples)
    want = count_itemsets_reference(codes, card, pairs, triples)
    for g, w in zip(got[:3], want[:3], strict=True):
        np.testing.assert_array_equal(g, w)
    assert got[1].sum() == 2000  # the pairs of two attributes partition the rows


def test_triple_without_its_prefix_pair_is_refused():
    codes = np.zeros((3, 3), np.int8)
    with pytest.raises(ValueError, match="prefix pair"):
        count_itemsets(codes, np.array([1, 1, 1]), np.zeros((0, 4)), np.array([[0, 0, 1, 0, 2, 0]]))
