"""The multinomial family: mixtures of multinomials over V categories with a Dirichlet prior.

log p(x | θ_k) = log n! − Σ_v log x_v! + Σ_v x_v log θ_kv. The multinomial coefficient is
computed once per row. With the prior Dirichlet(alpha) on each θ_k (alpha ≥ 1) the M-step is
θ_kv = (C_kv + alpha − 1) / Σ_w (C_kw + alpha − 1), C = Σ_i r_ik x_iv, and the log-prior
(up to its constant) is (alpha − 1) Σ_kv log θ_kv. Weights keep their plain ML update.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import gammaln, xlogy

from .family import LOG0, AlphaPriorFamily, Degenerate, check_weights, softmax
from .options import FitSpec, alpha_option
from .params import MultinomialParams

__all__ = ["MultinomialFamily", "LOG0"]


def as_count_data(X):
    """Validate counts: (N, V) non-negative integer-valued, dense or scipy.sparse.

    Returns a float64 ndarray or a canonical float64 CSR matrix.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64)
        X.sum_duplicates()
        data = X.data
    else:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise ValueError(f"counts must be 2-D (N, V), got shape {X.shape}")
        data = X
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError("counts must have at least one row and one column")
    # check in blocks of rows (dense) or stored values (sparse): no data-sized temporaries
    step = max(1, 2**16 // X.shape[1]) if data.ndim == 2 else 2**16
    for check, message in ((lambda b: np.all(np.isfinite(b)), "counts contain NaN or infinite values"),
                           (lambda b: not np.any(b < 0), "counts must be non-negative"),
                           (lambda b: not np.any(b != np.round(b)), "counts must be whole numbers")):
        if not all(check(data[lo : lo + step]) for lo in range(0, data.shape[0], step)):
            raise ValueError(message)
    return X


def log_multinomial_coef(X):
    """log n_i! − Σ_v log x_iv!  for every row, shape (N,)."""
    if sp.issparse(X):
        n = np.asarray(X.sum(axis=1)).ravel()
        per = X.copy()
        per.data = gammaln(per.data + 1.0)
        return gammaln(n + 1.0) - np.asarray(per.sum(axis=1)).ravel()
    out = np.empty(X.shape[0])
    step = max(1, 2**16 // max(X.shape[1], 1))  # row blocks: no (N, V) temporaries
    for lo in range(0, X.shape[0], step):
        b = X[lo : lo + step]
        out[lo : lo + step] = gammaln(b.sum(axis=1) + 1.0) - gammaln(b + 1.0).sum(axis=1)
    return out


def safe_log_probs(probs):
    """log θ with exact zeros mapped to the finite LOG0 (for matrix products)."""
    out = np.full(probs.shape, LOG0)
    np.log(probs, out=out, where=probs > 0)
    return out


class MultinomialData:
    """Counts prepared once per fit.

    Attributes
    ----------
    X : ndarray or csr_matrix (N, V)
    logcoef : ndarray (N,)
    sum_logcoef : float
    """

    def __init__(self, X):
        X = as_count_data(X)
        self.X = X
        self.sparse = sp.issparse(X)
        self.n_samples, self.n_features = X.shape
        self.logcoef = log_multinomial_coef(X)
        self.sum_logcoef = float(self.logcoef.sum())
        self._chunks = {}
        totals = np.asarray(X.sum(axis=0)).ravel()
        self.totals = totals

    def rows(self, lo, hi):
        if not self.sparse:
            return self.X[lo:hi]
        key = (lo, hi)
        blk = self._chunks.get(key)
        if blk is None:
            blk = self.X[lo:hi]
            self._chunks[key] = blk
        return blk


class MultinomialState:
    """θ with its safe logarithms cached."""

    def __init__(self, weights, probs):
        self.weights = weights
        self.probs = probs
        for k in range(len(weights)):
            if not weights[k] > 0:
                raise Degenerate(k, "weight", f"weight {weights[k]:.3g}")
        self.log_weights = np.log(weights)
        self.log_probs = safe_log_probs(probs)
        self.log_probs_T = np.ascontiguousarray(self.log_probs.T)


class MultinomialFamily(AlphaPriorFamily):
    """Mixture-of-multinomials family with a symmetric Dirichlet(alpha) prior."""

    name = "multinomial"
    params_type = MultinomialParams
    covariance_type = None
    default_init = "random"
    #: what a learner may set (``emcore.options``; the user interface is built from it)
    fit_spec = FitSpec(
        inits={"random": "random responsibilities",
               "random_from_data": "random rows as starting profiles",
               "kmeans++": "k-means++ on the rows' profiles"},
        options=(alpha_option(
            "Dirichlet prior α",
            "α = 1 is plain maximum likelihood; α > 1 adds α − 1 pseudo-counts to every "
            "category of every segment, so no probability is exactly zero. With α ≠ 1 EM "
            "maximises ℓ + log p (a Dirichlet prior), and ℓ alone can fall."),))

    def __init__(self, alpha=1.0):
        super().__init__(alpha)
        self.reg = 0.0

    def prepare(self, X):
        return MultinomialData(X)

    def state_from_params(self, params, data, check_collapse=False):
        if not isinstance(params, MultinomialParams):
            raise TypeError("explicit init for a multinomial mixture must be a MultinomialParams")
        if params.n_categories != data.n_features:
            raise ValueError(
                f"init has V = {params.n_categories} categories but the counts have {data.n_features}"
            )
        return MultinomialState(params.weights.copy(), params.probs.copy())

    def params_from_state(self, state, data):
        return MultinomialParams(state.weights, state.probs)

    def log_joint_chunk(self, data, lo, hi, state, out, buf, weighted=True):
        """Fill ``out`` (K, n) with log π_k + log Mult(x_i | θ_k) for rows lo:hi."""
        Xb = data.rows(lo, hi)
        if data.sparse:
            out[...] = (Xb @ state.log_probs_T).T
        else:
            np.matmul(state.log_probs, Xb.T, out=out)
        out += data.logcoef[lo:hi]
        if weighted:
            out += state.log_weights[:, None]
        return out

    def buffer_width(self, n_components, data):
        return 0

    def stats_chunk(self, data, lo, hi, resp, acc):
        """Accumulate [N_k | C_k·] = Σ_i r_ik [1, x_i] into ``acc`` (K, 1 + V); resp is (K, n)."""
        Xb = data.rows(lo, hi)
        acc[:, 0] += resp.sum(axis=1)
        if data.sparse:
            acc[:, 1:] += (Xb.T @ resp.T).T
        else:
            acc[:, 1:] += resp @ Xb

    def stats_width(self, data):
        return 1 + data.n_features

    def m_step(self, acc, data, resp=None):
        N = data.n_samples
        K = acc.shape[0]
        Nk = acc[:, 0].copy()
        C = acc[:, 1:]
        check_weights(Nk, N)
        num = C + (self.alpha - 1.0)
        den = num.sum(axis=1)
        for k in range(K):
            if not den[k] > 0:
                raise Degenerate(k, "empty", "its baskets contain no items at all")
        probs = num / den[:, None]
        # θ = 0 only where no weighted count at all sits (C + alpha − 1 = 0): a quotient that
        # underflows (subnormal C) would make rows impossible that q_t still weighs
        probs = np.where((num > 0) & (probs == 0), np.finfo(float).tiny, probs)
        weights = Nk / Nk.sum()
        return MultinomialState(weights, probs), (Nk, C)

    def q_value(self, summary, state, data):
        """Q(θ | q) = Σ_k N_k log π_k + Σ_kv C_kv log θ_kv + Σ_i log(n_i! / Π_v x_iv!), from
        q's statistics (N_k, C_kv = Σ_i q_ik x_iv); 0 · log 0 = 0. The multinomial coefficient
        does not depend on θ: Σ_i Σ_k q_ik log coef_i = Σ_i log coef_i, as rows of q sum to 1."""
        Nk, C = summary
        return (float(np.sum(xlogy(Nk, state.weights))) + float(np.sum(xlogy(C, state.probs)))
                + data.sum_logcoef)

    def log_prior(self, state):
        """(alpha − 1) Σ_kv log θ_kv (the Dirichlet's normalising constant dropped)."""
        if self.alpha == 1.0:
            return 0.0
        return (self.alpha - 1.0) * float(np.sum(np.log(state.probs)))

    def n_parameters(self, n_components, n_features):
        return (n_components - 1) + n_components * (n_features - 1)

    # -- initialisation ------------------------------------------------------------------------
    @staticmethod
    def _overall(data):
        totals = data.totals
        V = data.n_features
        return totals / totals.sum() if totals.sum() > 0 else np.full(V, 1.0 / V)

    def seed_indices(self, data, n_components, rng):
        """k-means++ seeding on the row proportions x_i / n_i (empty rows: the overall share)."""
        n = np.asarray(data.X.sum(axis=1)).ravel()
        return _kmeanspp_profiles(data.X, n, self._overall(data), n_components, rng, data.sparse)

    def initial_state(self, acc, data, resp, seeded):
        """Soft responsibilities: the M-step (equal weights and a smoothed overall share if it
        degenerates). Seed rows: each θ_k = 0.5·profile + 0.4·overall share + 0.1·uniform."""
        K = acc.shape[0]
        V = data.n_features
        overall = self._overall(data)
        if not seeded:
            try:
                state, _ = self.m_step(acc, data)
                return state
            except Degenerate:
                return MultinomialState(np.full(K, 1.0 / K), np.tile(0.9 * overall + 0.1 / V, (K, 1)))
        rows = acc[:, 1:]
        nr = rows.sum(axis=1, keepdims=True)
        prof = np.where(nr > 0, rows / np.where(nr > 0, nr, 1.0), overall)
        probs = 0.5 * prof + 0.4 * overall + 0.1 / V
        probs /= probs.sum(axis=1, keepdims=True)
        return MultinomialState(np.full(K, 1.0 / K), probs)

    # -- functions of θ for the rest of emcore ---------------------------------------------------
    def log_prior_of_params(self, params):
        if self.alpha == 1:
            return 0.0
        with np.errstate(divide="ignore"):
            return (self.alpha - 1.0) * float(np.sum(np.log(params.probs)))

    def sample_rows(self, params, z, rng, n_trials=None, **options):
        if n_trials is None:
            raise ValueError("n_trials (basket sizes) is required to sample a multinomial mixture")
        n = z.shape[0]
        trials = np.broadcast_to(np.asarray(n_trials, dtype=np.int64), (n,))
        X = np.empty((n, params.n_categories), dtype=np.int64)
        for k in range(params.n_components):
            idx = np.flatnonzero(z == k)
            if idx.size:
                X[idx] = rng.multinomial(trials[idx], params.probs[k])
        return X

    def to_unconstrained(self, params):
        """(log-weights, log-probabilities); a zero becomes −inf."""
        with np.errstate(divide="ignore"):
            return np.log(params.weights), np.log(params.probs)

    def from_unconstrained(self, coords):
        logw, logp = coords
        return MultinomialParams(softmax(logw), softmax(logp, axis=1))

    def impossible(self, data, params):
        """Rows that hold a category a component gives probability exactly 0."""
        zero = (params.probs == 0).astype(float)
        if not zero.any():
            return None
        return np.asarray(data.X @ zero.T) > 0


def _kmeanspp_profiles(X, n, overall, K, rng, sparse):
    """k-means++ seeding on row proportions x_i / n_i (empty rows: the overall share),
    without densifying a sparse matrix: ‖p_i − c‖² = ‖p_i‖² − 2 p_i·c + ‖c‖²."""
    N = X.shape[0]
    scale = 1.0 / np.where(n > 0, n, 1.0)
    empty = n == 0
    if sparse:
        P = sp.diags(scale) @ X
        sq = np.asarray(P.multiply(P).sum(axis=1)).ravel()
    else:
        P = X * scale[:, None]
        sq = np.einsum("ij,ij->i", P, P)
    sq[empty] = overall @ overall

    def row(i):
        if empty[i]:
            return overall
        return (P[i].toarray().ravel() if sparse else P[i]).copy()

    def dist2(c):
        d = sq - 2.0 * np.asarray(P @ c).ravel() + c @ c
        d[empty] = np.sum((overall - c) ** 2)
        return np.maximum(d, 0.0)

    idx = [int(rng.integers(N))]
    d2 = dist2(row(idx[0]))
    for _ in range(1, K):
        tot = d2.sum()
        i = int(rng.choice(N, p=d2 / tot)) if tot > 0 else int(rng.integers(N))
        idx.append(i)
        d2 = np.minimum(d2, dist2(row(i)))
    return np.array(idx)
