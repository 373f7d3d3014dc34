"""``Fusion``: which sources to trust, what is true, and which sources to improve.

Claims are rows ``(object, source, value)``. ``fit`` encodes them as integer codes
(:mod:`dawn.fuse._claims`) and runs one method:

- ``"majority"`` — most claimed value (numeric: the median);
- ``"one_coin"`` — one accuracy per source, EM (:mod:`dawn.fuse.one_coin`);
- ``"dawid_skene"`` — full confusion per source, EM on the label model's kernels; a source's
  silence on an object is not evidence (:mod:`dawn.fuse.dawid_skene`);
- ``"glad"`` — source expertise × object difficulty (:mod:`dawn.fuse.glad`); a few times
  one-coin's cost, never chosen by ``"auto"``;
- ``"slimfast"`` — accuracy a logistic function of source features, by EM or ERM
  (:mod:`dawn.fuse.slimfast`); for numeric values, features predict the accuracy;
- ``"weighted_median"`` — numeric values: accuracy-weighted median (:mod:`dawn.fuse.numeric`);
- ``"auto"`` — chooses by value type, features, truth and density, and says why in
  ``method_reason_``.

Ties between values are broken by a random draw from ``seed``, so results are
deterministic for a seed. Known truth (``truth=``) is clamped in EM and used by ERM.

>>> from dawn.fuse.synthetic import synthetic_claims
>>> d = synthetic_claims(400, 12, n_values=3, claims_per_source=200, seed=0)
>>> f = Fusion(seed=0).fit(d.claims, object="object", source="source", value="value")
>>> f.method_
'dawid_skene'
>>> bool((f.truth_ == d.truth.reindex(f.truth_.index)).mean() > 0.9)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dawn.errors import ConfigError, NotFittedError
from dawn.fuse._claims import Claims, encode_claims, truth_codes
from dawn.fuse._kernels import segment_argmax

__all__ = ["METHODS", "Fusion"]

METHODS = ("auto", "majority", "one_coin", "dawid_skene", "glad", "slimfast",
           "weighted_median")
CATEGORICAL_ONLY = ("one_coin", "dawid_skene", "glad")
VALUE_TYPES = ("auto", "categorical", "numeric")
LEARNERS = ("auto", "em", "erm")
MIN_CLAIMS_PER_OBJECT = 1.5  # below, there is too little agreement to learn accuracies from
DS_VOTES_PER_CELL = 5  # claims per source per confusion cell for a full confusion
DS_MAX_CELLS = 5_000_000  # sources × K × (K + 1) above which Dawid–Skene is too big
PROBA_MAX_CELLS = 20_000_000


class Fusion:
    """Fuse conflicting claims into one value per object and an accuracy per source.

    Parameters
    ----------
    method : one of ``METHODS`` (see the module docstring)
    seed : breaks ties between equally likely values
    value_type : ``"auto"`` (numbers with a fractional part or more than 20 distinct values
        are numeric), ``"categorical"`` or ``"numeric"``
    learner : SLiMFast's learner, ``"auto"`` (ERM when truth covers ``erm_share`` of the
        objects and 20 claims per feature, else EM), ``"em"`` or ``"erm"``
    erm_share : share of objects with known truth from which ``learner="auto"`` uses ERM
    prior_strength : pseudo-claims that shrink sparse sources towards the pooled accuracy
        (one-coin and numeric values without features)
    l2, source_l2 : SLiMFast's penalties on feature weights and on each source's own offset
    tolerance : numeric values: a claim within this of the truth is accurate (default: the
        median absolute residual)
    max_iter : most EM iterations
    """

    def __init__(self, method: str = "auto", seed: int = 0, *, value_type: str = "auto",
                 learner: str = "auto", erm_share: float = 0.2, prior_strength: float = 2.0,
                 l2: float = 1.0, source_l2: float = 5.0, tolerance: float | None = None,
                 max_iter: int = 100) -> None:
        self.method = method
        self.seed = seed
        self.value_type = value_type
        self.learner = learner
        self.erm_share = erm_share
        self.prior_strength = prior_strength
        self.l2 = l2
        self.source_l2 = source_l2
        self.tolerance = tolerance
        self.max_iter = max_iter

    def __repr__(self) -> str:
        return f"Fusion(method={self.method!r}, seed={self.seed})"

    # -- checks -------------------------------------------------------------------------------
    def _check_params(self) -> None:
        for name, value, allowed in (("method", self.method, METHODS),
                                     ("value_type", self.value_type, VALUE_TYPES),
                                     ("learner", self.learner, LEARNERS)):
            if value not in allowed:
                from dawn.errors import close_matches
                raise ConfigError(f"{name}={value!r} is not one of {list(allowed)}."
                                  f"{close_matches(str(value), list(allowed))}")
        if not 0 < self.erm_share <= 1:
            raise ConfigError(f"erm_share={self.erm_share} must lie in (0, 1].")
        if self.tolerance is not None and not self.tolerance > 0:
            raise ConfigError(f"tolerance={self.tolerance} must be positive.")

    def _choose(self, c: Claims, has_features: bool, known) -> tuple[str, str]:
        per_obj = c.n_claims / c.n_objects
        per_src = float(np.median(c.claims_per_source))
        if c.numeric:
            if has_features:
                return "slimfast", ("numeric values with source features: weighted median whose "
                                    "per-source accuracies are predicted from the features, "
                                    "so sparse sources borrow strength")
            return "weighted_median", ("numeric values: median weighted by each source's "
                                       "estimated accuracy")
        if has_features:
            return "slimfast", ("source features given: accuracy modelled as a logistic "
                                "function of them (SLiMFast), so sparse sources borrow "
                                f"strength (median {per_src:g} claims per source)")
        if per_obj < MIN_CLAIMS_PER_OBJECT:
            return "majority", (f"only {per_obj:.2f} claims per object: too little agreement "
                                "between sources to learn their accuracies")
        k = max(c.n_values, 2)
        need = DS_VOTES_PER_CELL * k * k
        if per_src >= need and c.n_sources * k * (k + 1) <= DS_MAX_CELLS:
            return "dawid_skene", (f"dense: median {per_src:g} claims per source (≥ {need}) "
                                   f"are enough for a full {k}×{k} confusion per source")
        return "one_coin", (f"median {per_src:g} claims per source (< {need} for a full "
                            f"{k}×{k} confusion): one accuracy per source, shrunk towards the "
                            "pooled accuracy")

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, claims: Any, object: str = "object", source: str = "source",
            value: str = "value", source_features: pd.DataFrame | None = None,
            truth: pd.Series | None = None) -> Fusion:
        """Fuse ``claims`` (a table with ``object``, ``source`` and ``value`` columns).

        Parameters
        ----------
        claims : pandas / polars / Arrow table or dict of columns
        object, source, value : the column names
        source_features : DataFrame indexed by source (numeric or categorical columns)
        truth : Series object → value for objects whose value is known

        Returns
        -------
        self, with ``truth_``, ``confidence_``, ``source_accuracy_``, ``method_``,
        ``method_reason_`` (and ``posteriors_`` for categorical values)
        """
        self._check_params()
        numeric = {"auto": None, "categorical": False, "numeric": True}[self.value_type]
        extra = truth.dropna() if isinstance(truth, pd.Series) and numeric is not True \
            else None
        c = encode_claims(claims, object, source, value, numeric=numeric, extra_values=extra)
        known = None if truth is None else truth_codes(truth, c)
        if known is not None and len(known[0]) == 0:
            known = None
        X = None
        if source_features is not None:
            from dawn.fuse.slimfast import source_design
            X = source_design(source_features, c.sources)
        method, reason = (self._choose(c, X is not None, known) if self.method == "auto"
                          else (self.method, "chosen by the caller"))
        if c.numeric and method in CATEGORICAL_ONLY:
            raise ConfigError(f"method={method!r} fuses categorical values, but {value!r} is "
                              "numeric; use 'weighted_median', 'slimfast' or 'majority', or "
                              "value_type='categorical'.")
        if not c.numeric and method == "weighted_median":
            raise ConfigError(f"method='weighted_median' fuses numbers, but {value!r} is "
                              "categorical; use value_type='numeric' if it holds numbers.")
        if method == "slimfast" and X is None:
            raise ConfigError("method='slimfast' needs source_features (a DataFrame indexed "
                              "by source); without them use 'one_coin' or 'auto'.")
        self._c, self._known, self.object_, self.source_ = c, known, object, source
        self.method_, self.method_reason_, self.learner_ = method, reason, None
        self.value_type_ = "numeric" if c.numeric else "categorical"
        self.n_duplicates_, self.n_dropped_ = c.n_duplicates, c.n_dropped
        if c.numeric:
            self._fit_numeric(c, X, known, method)
        else:
            self._fit_categorical(c, X, known, method)
        return self

    def _learner(self, c: Claims, X: np.ndarray, known) -> tuple[str, str]:
        if self.learner == "erm" and known is None:
            raise ConfigError("learner='erm' needs truth for some objects (truth=Series).")
        if self.learner != "auto":
            return self.learner, f"learner={self.learner!r} chosen by the caller"
        if known is None:
            return "em", "EM (no truth given)"
        share = len(known[0]) / c.n_objects
        labelled = np.isin(c.obj, known[0]).sum()
        need = 20 * (X.shape[1] + 1)
        if share >= self.erm_share and labelled >= need:
            return "erm", (f"ERM on the {share:.0%} of objects with known truth "
                           f"({labelled} claims)")
        return "em", (f"EM with the known truth clamped ({share:.0%} of objects < "
                      f"{self.erm_share:.0%} or {labelled} claims < {need} for ERM)")

    def _fit_categorical(self, c: Claims, X, known, method: str) -> None:
        if method == "majority":
            from dawn.fuse.majority import fit_majority
            fit = fit_majority(c, known, seed=self.seed)
        elif method == "one_coin":
            from dawn.fuse.one_coin import fit_one_coin
            fit = fit_one_coin(c, known, prior_strength=self.prior_strength,
                               max_iter=self.max_iter)
        elif method == "dawid_skene":
            k = max(c.n_values, 2)
            if c.n_sources * k * (k + 1) > DS_MAX_CELLS:
                raise ConfigError(f"dawid_skene needs a {k}×{k + 1} confusion for each of "
                                  f"{c.n_sources} sources (too big); use 'one_coin'.")
            from dawn.fuse.dawid_skene import fit_dawid_skene_claims
            fit = fit_dawid_skene_claims(c, known, max_iter=max(self.max_iter, 1))
        elif method == "glad":
            from dawn.fuse.glad import fit_glad
            fit = fit_glad(c, known, max_iter=self.max_iter)
        else:
            from dawn.fuse.slimfast import fit_slimfast
            learner, why = self._learner(c, X, known)
            self.learner_ = learner
            self.method_reason_ += f"; {why}"
            fit = fit_slimfast(c, X, known, learner=learner, l2=self.l2,
                               source_l2=self.source_l2, max_iter=self.max_iter)
        self._post, self._rest = fit.post, fit.rest
        self._chosen = segment_argmax(c.cell_obj, fit.post, c.n_objects, seed=self.seed)
        self.n_iter_, self.converged_ = fit.info["n_iter"], fit.info["converged"]
        codes, conf = c.cell_val[self._chosen], fit.post[self._chosen]
        codes, conf = _unclaimed_when_likelier(c, fit.rest, codes, conf)
        if known is not None:  # a known value nobody claimed has no cell: set it directly
            codes[known[0]], conf[known[0]] = known[1], 1.0
        self.truth_ = pd.Series(c.values.take(codes), index=c.objects.rename(self.object_),
                                name="truth")
        self.confidence_ = pd.Series(conf, index=self.truth_.index, name="confidence")
        self.source_accuracy_ = pd.Series(fit.accuracy, index=c.sources.rename(self.source_),
                                          name="accuracy")
        self.source_scale_ = None
        self.tolerance_ = None

    def _fit_numeric(self, c: Claims, X, known, method: str) -> None:
        from dawn.fuse.numeric import fit_numeric
        fit = fit_numeric(c, X if method == "slimfast" else None, known,
                          weighted=method != "majority", tolerance=self.tolerance,
                          prior_strength=self.prior_strength, l2=self.l2,
                          source_l2=self.source_l2, max_iter=max(self.max_iter, 1))
        if method == "slimfast":
            self.learner_ = "em"
        self._post = self._rest = self._chosen = None
        self.n_iter_, self.converged_ = fit.info["n_iter"], fit.info["converged"]
        index = c.objects.rename(self.object_)
        self.truth_ = pd.Series(fit.truth, index=index, name="truth")
        self.confidence_ = pd.Series(fit.confidence, index=index, name="confidence")
        sources = c.sources.rename(self.source_)
        self.source_accuracy_ = pd.Series(fit.accuracy, index=sources, name="accuracy")
        self.source_scale_ = pd.Series(fit.scale, index=sources, name="scale")
        self.tolerance_ = fit.tolerance

    # -- results --------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "truth_"):
            raise NotFittedError("this Fusion is not fitted yet; call "
                                 ".fit(claims, object=..., source=..., value=...) first.")

    def predict_proba(self) -> pd.DataFrame:
        """Posterior over values (objects × values) of the fitted claims (categorical only).

        Values nobody claimed for an object share its unclaimed mass evenly.
        """
        self._check_fitted()
        c = self._c
        if c.numeric:
            raise ConfigError("numeric values have no posterior over values; use "
                              "confidence_ (weight share of claims near the fused value).")
        k = c.n_values
        if c.n_objects * k > PROBA_MAX_CELLS:
            raise ConfigError(f"{c.n_objects} objects × {k} values is too big for a dense "
                              "table; use truth_ and confidence_.")
        free = np.maximum(k - np.diff(c.obj_ptr), 1)
        P = np.repeat((self._rest / free)[:, None], k, axis=1)
        P[c.cell_obj, c.cell_val] = self._post
        return pd.DataFrame(P, index=self.truth_.index, columns=c.values)

    @property
    def posteriors_(self) -> pd.DataFrame:
        """Same as :meth:`predict_proba`."""
        return self.predict_proba()

    def enrichment(self, target_accuracy: float = 0.95, extra_claims: int = 10
                   ) -> pd.DataFrame:
        """Rank sources by the expected gain from better or more data (see
        :func:`dawn.fuse.enrich.enrichment`)."""
        self._check_fitted()
        from dawn.fuse.enrich import enrichment
        return enrichment(self, target_accuracy=target_accuracy, extra_claims=extra_claims)

    def review_queue(self, n: int = 20, impact: pd.Series | None = None) -> pd.DataFrame:
        """The ``n`` objects most worth an expert's review (see
        :func:`dawn.fuse.enrich.review_queue`)."""
        self._check_fitted()
        from dawn.fuse.enrich import review_queue
        return review_queue(self, n=n, impact=impact)


def _unclaimed_when_likelier(c: Claims, rest: np.ndarray, codes: np.ndarray,
                             conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where a value nobody claimed is likelier than every claimed one (the claimants are
    sources known to be mostly wrong), choose it: the lowest-coded unclaimed value, holding
    its share of the object's unclaimed mass."""
    k = c.n_values
    free = k - np.diff(c.obj_ptr)
    share = np.where(free > 0, rest / np.maximum(free, 1), 0.0)
    flip = np.flatnonzero(share > conf)
    if not len(flip):
        return codes, conf
    claimed = np.zeros((len(flip), k), dtype=bool)
    row = np.full(c.n_objects, -1)
    row[flip] = np.arange(len(flip))
    cells = row[c.cell_obj] >= 0
    claimed[row[c.cell_obj[cells]], c.cell_val[cells]] = True
    codes, conf = codes.copy(), conf.copy()
    codes[flip] = np.argmin(claimed, axis=1)  # first False: the lowest unclaimed code
    conf[flip] = share[flip]
    return codes, conf
