"""The Bernoulli family: mixtures of independent binary features (latent class analysis,
Bishop PRML §9.3.3) with a Beta(alpha, alpha) prior on every probability.

A component is a vector of D probabilities μ_kd = p(x_d = 1 | z = k), and

    log p(x | μ_k) = Σ_d x_d log μ_kd + (1 − x_d) log(1 − μ_kd)
                   = Σ_d log(1 − μ_kd) + Σ_d x_d logit(μ_kd),

which the E-step evaluates with one matrix product. Probabilities that are exactly 0 or 1
(an always-off border pixel under maximum likelihood) are kept exact: they contribute 0 where
the data agree and make the row impossible (log 0) where they do not.

With statistics N_k = Σ_i r_ik and S_kd = Σ_i r_ik x_id, the M-step maximising
Q + log prior, log prior = (alpha − 1) Σ_kd [log μ_kd + log(1 − μ_kd)] (constant dropped), is

    μ_kd = (S_kd + alpha − 1) / (N_k + 2 (alpha − 1)),   π_k = N_k / N;

alpha = 1 is plain maximum likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, xlogy

from .em import run_em
from .family import LOG0, AlphaPriorFamily, Degenerate, check_weights, softmax
from .options import FitSpec, alpha_option
from .params import _frozen

__all__ = ["BernoulliParams", "BernoulliFamily", "fit_bernoulli_mixture", "make_bernoulli_mixture_data"]


@dataclass(frozen=True, eq=False)
class BernoulliParams:
    """Parameters of a K-component mixture of D independent Bernoulli features.

    Parameters
    ----------
    weights : array_like, shape (K,)
        Mixing proportions π_k (non-negative, summing to 1).
    probs : array_like, shape (K, D)
        μ_kd = p(x_d = 1 | component k), each in [0, 1].
    """

    weights: np.ndarray
    probs: np.ndarray

    def __post_init__(self):
        w = _frozen(self.weights, 1, "weights")
        p = _frozen(self.probs, 2, "probs")
        if p.shape[0] != w.shape[0]:
            raise ValueError(f"inconsistent shapes: weights {w.shape}, probs {p.shape} (want (K,), (K, D))")
        if np.any(w < 0) or not np.isclose(w.sum(), 1.0, rtol=0, atol=1e-8):
            raise ValueError("weights must be non-negative and sum to 1")
        if np.any(p < 0) or np.any(p > 1):
            raise ValueError("every probability must lie in [0, 1]")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "probs", p)

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return self.probs.shape[0]

    @property
    def n_features(self) -> int:
        """Number of binary features D."""
        return self.probs.shape[1]

    def to_dict(self) -> dict:
        """JSON-safe nested lists."""
        return {"weights": self.weights.tolist(), "probs": self.probs.tolist()}


def as_binary_data(X):
    """Validate 0/1 data: (N, D) (a 1-D array means D = 1), bool, integer or float.

    Returns a C-contiguous float64 array.
    """
    if hasattr(X, "toarray"):
        X = X.toarray()
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"binary data must be 1-D or 2-D (N, D), got shape {X.shape}")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError("binary data must have at least one row and one column")
    step = max(1, 2**16 // X.shape[1])  # check in row blocks: no N×D temporaries
    for lo in range(0, X.shape[0], step):
        b = X[lo : lo + step]
        if not np.all((b == 0) | (b == 1)):
            raise ValueError("binary data must contain only 0 and 1")
    return X


class BernoulliData:
    """0/1 data prepared once per fit (``X`` float64 (N, D), ``mean`` the share of ones,
    ``has_one`` whether a column holds any 1)."""

    def __init__(self, X):
        self.X = as_binary_data(X)
        self.n_samples, self.n_features = self.X.shape
        self.mean = self.X.mean(axis=0)
        self.has_one = self.mean > 0


class BernoulliState:
    """θ with what the E-step needs cached.

    ``logit`` (K, D) and ``const`` (K,) = log π_k + Σ_d log(1 − μ_kd) over the pixels whose μ
    is strictly inside (0, 1); ``hard_cols`` are the columns where some μ is exactly 0 or 1,
    with ``viol`` (K, D') = [μ = 0] − [μ = 1] and ``viol0`` (K,) = Σ [μ = 1] on them, so that
    x · viol + viol0 counts the data that contradict a certainty.
    """

    def __init__(self, weights, probs):
        self.weights = weights
        self.probs = probs
        for k in range(len(weights)):
            if not weights[k] > 0:
                raise Degenerate(k, "weight", f"weight {weights[k]:.3g}")
        self.log_weights = np.log(weights)
        zero, one = probs == 0, probs == 1
        inside = ~(zero | one)
        with np.errstate(divide="ignore"):
            lp = np.where(inside, np.log(np.where(inside, probs, 0.5)), 0.0)
            l1p = np.where(inside, np.log1p(-np.where(inside, probs, 0.5)), 0.0)
        self.log_probs = lp
        self.log1m_probs = l1p
        self.logit = lp - l1p
        self.sum_log1m = l1p.sum(axis=1)
        cols = np.flatnonzero(~inside.all(axis=0))
        self.hard_cols = cols
        self.viol = (zero[:, cols].astype(float) - one[:, cols].astype(float)) if cols.size else None
        self.viol0 = one[:, cols].sum(axis=1).astype(float) if cols.size else None


class BernoulliFamily(AlphaPriorFamily):
    """Mixture of independent Bernoulli features with a Beta(alpha, alpha) prior per μ_kd."""

    name = "bernoulli"
    params_type = BernoulliParams
    covariance_type = None
    default_init = "random"
    #: what a learner may set (``emcore.options``; the user interface is built from it)
    fit_spec = FitSpec(
        inits={"random": "random responsibilities",
               "random_from_data": "random rows as starting prototypes",
               "kmeans++": "k-means++ on the rows"},
        options=(alpha_option(
            "Beta prior α",
            "α = 1 is plain maximum likelihood; α > 1 adds α − 1 imaginary 0s and α − 1 "
            "imaginary 1s to every pixel of every component, so no probability is exactly "
            "0 or 1. With α ≠ 1 EM maximises ℓ + log p (a Beta(α, α) prior), and ℓ alone "
            "can fall."),))

    # -- data and parameters -------------------------------------------------------------------
    def prepare(self, X):
        return BernoulliData(X)

    def state_from_params(self, params, data, check_collapse=False):
        if not isinstance(params, BernoulliParams):
            raise TypeError("explicit init for a Bernoulli mixture must be a BernoulliParams")
        if params.n_features != data.n_features:
            raise ValueError(f"init has D = {params.n_features} features but the data have {data.n_features}")
        return BernoulliState(params.weights.copy(), params.probs.copy())

    def params_from_state(self, state, data):
        return BernoulliParams(state.weights, state.probs)

    # -- E-step --------------------------------------------------------------------------------
    def log_joint_chunk(self, data, lo, hi, state, out, buf, weighted=True):
        """Fill ``out`` (K, n) with log π_k + log p(x_i | μ_k) for rows lo:hi (LOG0 where a row
        contradicts a probability that is exactly 0 or 1)."""
        Xb = data.X[lo:hi]
        np.matmul(state.logit, Xb.T, out=out)
        out += (state.sum_log1m + state.log_weights)[:, None] if weighted else state.sum_log1m[:, None]
        if state.hard_cols.size:
            bad = state.viol @ Xb[:, state.hard_cols].T + state.viol0[:, None]
            out[bad > 0.5] = LOG0
        return out

    # -- M-step --------------------------------------------------------------------------------
    def stats_width(self, data):
        return 1 + data.n_features

    def stats_chunk(self, data, lo, hi, resp, acc):
        """Accumulate [N_k | S_k·] = Σ_i r_ik [1, x_i] into ``acc`` (K, 1 + D); resp is (K, n)."""
        acc[:, 0] += resp.sum(axis=1)
        # responsibilities below 1e-300 (subnormal after exp) add nothing a float64 sum can
        # hold next to N_k > 1e-13·N, but multiplying subnormals is very slow on most CPUs
        tiny = resp < 1e-300
        if tiny.any():
            resp = np.where(tiny, 0.0, resp)
        acc[:, 1:] += resp @ data.X[lo:hi]

    def m_step(self, acc, data, resp=None):
        """μ_kd = (S_kd + alpha − 1) / (N_k + 2(alpha − 1)), π_k = N_k / N.

        Where S_kd is within round-off of N_k (a feature on for nearly all of a component's
        points) and ``resp`` (a ``Responsibilities``) is given, 1 − μ_kd is computed from the
        exact complement F_kd = Σ_i r_ik (1 − x_id) (one replay of the responsibilities), so
        that a feature that is always on gives μ = 1 exactly.

        Returns the state and the summary (N_k, S_kd, F_kd) for ``q_value``; F_kd is N_k − S_kd
        except on those columns, where it is the exact sum.
        """
        Nk = acc[:, 0].copy()
        check_weights(Nk, data.n_samples)
        a1 = self.alpha - 1.0
        S = acc[:, 1:]
        den = Nk[:, None] + 2.0 * a1
        probs = np.clip((S + a1) / den, 0.0, 1.0)
        F = np.maximum(Nk[:, None] - S, 0.0)
        if resp is not None:
            cols = np.flatnonzero(np.any(S >= Nk[:, None] * (1.0 - 1e-9), axis=0))
            if cols.size:
                X = data.X
                Fc = resp.sum(lambda lo, hi, r: r @ (1.0 - X[lo:hi, cols]))  # (K, len(cols))
                F[:, cols] = Fc
                Fc = Fc + a1
                # μ = 1 only when no responsibility at all sits on a 0 there (F = 0 exactly);
                # otherwise 1 − F/den can round to 1, which would make those rows impossible
                # although q_t gives them weight: keep μ one ulp below 1 instead
                below = np.minimum(1.0 - Fc / den[:, :1], np.nextafter(1.0, 0.0))
                probs[:, cols] = np.where(Fc > 0, np.maximum(below, 0.0), 1.0)
        # likewise μ = 0 only where the data have no 1 at all in that column (and alpha = 1):
        # S = 0 elsewhere can come from responsibilities below 1e-300 (dropped from S, see
        # stats_chunk) that still sit on a 1, and μ = 0 would make those rows impossible
        # while q_t weighs them; the smallest normal float changes Q by less than round-off
        probs = np.where((probs == 0) & ((S + a1 > 0) | data.has_one), np.finfo(float).tiny, probs)
        weights = Nk / Nk.sum()
        return BernoulliState(weights, probs), (Nk, S.copy(), F)

    def q_value(self, summary, state, data):
        """Q(θ | q) = Σ_k N_k log π_k + Σ_kd [S_kd log μ_kd + F_kd log(1 − μ_kd)], from q's
        statistics N_k = Σ_i q_ik, S_kd = Σ_i q_ik x_id and F_kd = Σ_i q_ik (1 − x_id);
        0 · log 0 = 0 (μ = 0 or 1 exactly where no weighted data contradict it)."""
        Nk, S, F = summary
        p = state.probs
        with np.errstate(divide="ignore", invalid="ignore"):
            comp = np.where(F > 0, F * np.log1p(-p), 0.0)
        return float(np.sum(xlogy(Nk, state.weights))) + float(np.sum(xlogy(S, p))) + float(np.sum(comp))

    def log_prior(self, state):
        """(alpha − 1) Σ_kd [log μ_kd + log(1 − μ_kd)] (the Beta normalising constants dropped)."""
        if self.alpha == 1.0:
            return 0.0
        return self.log_prior_of_params(state)

    def log_prior_of_params(self, params):
        if self.alpha == 1.0:
            return 0.0
        p = params.probs
        with np.errstate(divide="ignore"):
            return (self.alpha - 1.0) * float(np.sum(np.log(p)) + np.sum(np.log1p(-p)))

    def n_parameters(self, n_components, n_features):
        return (n_components - 1) + n_components * n_features

    # -- initialisation ------------------------------------------------------------------------
    def initial_state(self, acc, data, resp, seeded):
        """Soft responsibilities: the M-step (equal weights and a shrunk overall share if it
        degenerates). Seed rows: μ_k = 0.5·x_seed + 0.4·share of ones + 0.05, inside (0, 1)."""
        K = acc.shape[0]
        if not seeded:
            try:
                state, _ = self.m_step(acc, data, resp)
                return state
            except Degenerate:
                return BernoulliState(np.full(K, 1.0 / K), np.tile(0.9 * data.mean + 0.05, (K, 1)))
        rows = acc[:, 1:] / acc[:, :1]
        return BernoulliState(np.full(K, 1.0 / K), 0.5 * rows + 0.4 * data.mean + 0.05)

    # -- functions of θ ------------------------------------------------------------------------
    def sample_rows(self, params, z, rng, **options):
        X = np.empty((z.shape[0], params.n_features), dtype=np.int64)
        for k in range(params.n_components):
            idx = np.flatnonzero(z == k)
            if idx.size:
                X[idx] = rng.random((idx.size, params.n_features)) < params.probs[k]
        return X

    def to_unconstrained(self, params):
        """(log-weights, logits); μ = 0 gives −inf and μ = 1 gives +inf."""
        p = params.probs
        with np.errstate(divide="ignore"):
            return np.log(params.weights), np.log(p) - np.log1p(-p)

    def from_unconstrained(self, coords):
        logw, logit = coords
        return BernoulliParams(softmax(logw), expit(logit))

    def impossible(self, data, params):
        """Rows with a 1 where μ_kd = 0 or a 0 where μ_kd = 1."""
        zero = (params.probs == 0).astype(float)
        one = (params.probs == 1).astype(float)
        if not (zero.any() or one.any()):
            return None
        X = data.X
        return (X @ zero.T + (1.0 - X) @ one.T) > 0


def fit_bernoulli_mixture(X_binary, n_components, init="random", max_iter=100, tol=1e-6, alpha=1.0,
                          seed=None, hard=False):
    """Fit a mixture of independent Bernoulli features by EM and record every iteration.

    Parameters
    ----------
    X_binary : array_like, shape (N, D)
        0/1 data (bool, integer or float).
    n_components : int
    init : {"random", "kmeans++", "random_from_data"} or BernoulliParams
        "random": an M-step from random responsibilities. "kmeans++" / "random_from_data":
        each μ_k starts from one row (k-means++ seeding, or uniform) as
        0.5·row + 0.4·share of ones + 0.05. Explicit ``BernoulliParams`` are used as θ₀.
    max_iter, tol, seed, hard
        As for ``fit_gaussian_mixture``.
    alpha : float
        Beta(alpha, alpha) prior on every μ_kd, alpha ≥ 1;
        μ_kd = (S_kd + alpha − 1) / (N_k + 2(alpha − 1)). 1 is plain maximum likelihood.

    Returns
    -------
    Trace
    """
    return run_em(BernoulliFamily(alpha), X_binary, n_components, init, max_iter, tol, seed, hard)


def make_bernoulli_mixture_data(n=1000, n_components=3, n_features=16, concentration=0.5, seed=0):
    """Synthetic 0/1 data from a Bernoulli mixture with known parameters.

    Each μ_kd is drawn from Beta(concentration, concentration) (small = crisp prototypes) and
    kept inside [0.02, 0.98]; weights from Dirichlet(5).

    Returns
    -------
    X : ndarray (n, D) int64
    z : ndarray (n,)
    true_params : BernoulliParams
    """
    rng = np.random.default_rng(seed)
    K, D = int(n_components), int(n_features)
    weights = rng.dirichlet(np.full(K, 5.0))
    probs = 0.02 + 0.96 * rng.beta(concentration, concentration, size=(K, D))
    params = BernoulliParams(weights, probs)
    z = rng.choice(K, size=int(n), p=weights)
    X = BernoulliFamily().sample_rows(params, z, rng)
    return X, z, params
