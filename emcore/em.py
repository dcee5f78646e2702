"""The generic EM loop (written once for every family) and the ``Trace`` it records.

One pass over the data (in row chunks, so nothing N×K is kept) evaluates, at the current
θ_t, the log-likelihood ℓ(θ_t), the entropy H(q_t) of the responsibilities and the weighted
sufficient statistics of q_t. The family turns those statistics into θ_{t+1} (M-step) and
Q(θ_{t+1} | θ_t) (``q_value``) without another pass and without keeping q_t: Q is a function
of the statistics. Memory is O(chunk·K + K·(statistics width)) per iteration (K·D² for full
Gaussians, K·D for Bernoulli and multinomial). A family that needs q_t once more to keep a
statistic exact (``Responsibilities``) gets it recomputed from θ_t, chunk by chunk.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from .family import LOG0, Degenerate, Responsibilities
from .gaussian import GaussianFamily
from .multinomial import MultinomialFamily

__all__ = ["Trace", "HalfStep", "fit_gaussian_mixture", "fit_multinomial_mixture"]

_CACHE_SIZE = 6


#: BLAS threads during a fit. The loop's matrix products are skinny (K or D rows), where
#: BLAS threads cost more in synchronisation than they gain, badly so on a busy machine.
#: ``None`` leaves the library default. Needs the optional ``threadpoolctl`` (a scikit-learn
#: dependency); without it this setting is ignored.
BLAS_THREADS = 1
_CONTROLLER = []


def blas_threads_limited():
    """Context manager limiting BLAS threads to ``BLAS_THREADS`` (no-op if unavailable)."""
    if BLAS_THREADS is None:
        return nullcontext()
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        except Exception:  # pragma: no cover - optional dependency missing or broken
            _CONTROLLER.append(None)
    ctl = _CONTROLLER[0]
    return nullcontext() if ctl is None else ctl.limit(limits=BLAS_THREADS, user_api="blas")


#: target number of float64 elements in the widest per-chunk work array
CHUNK_ELEMENTS = 2**17


def _chunk_rows(n_samples, width):
    """Rows per chunk: keep the (width × rows) work arrays cache-sized."""
    rows = int(CHUNK_ELEMENTS // max(width, 1))
    return int(min(max(rows, 1024), 65536, max(n_samples, 1)))


@dataclass
class _Pass:
    loglik: float
    entropy: float
    class_loglik: float
    acc: np.ndarray | None
    ok: bool = True
    bad_row: int = -1


def _data_pass(family, data, state, hard, want_stats, resp_out=None, visit=None, chunk=None):
    """One pass over the rows at θ = ``state``.

    Returns ℓ(θ), H(q) (0 when hard), the classification log-likelihood Σ_i max_k log π_k p_ik,
    and, if ``want_stats``, Σ_i r_ik [family statistics]. ``resp_out`` (K, N) — components
    first — if given, receives the responsibilities. ``visit(lo, hi, r)``, if given, is called
    with the responsibilities r (K, hi − lo) of every chunk (a work buffer: read, do not keep).
    The chunking depends only on N, K and the family, so two passes at the same θ give the
    same responsibilities bit for bit.
    """
    N = data.n_samples
    K = state.weights.shape[0]
    bw = family.buffer_width(K, data)
    chunk = chunk or _chunk_rows(N, max(bw, K) + 2 * K)
    logj_flat = np.empty(K * chunk)
    resp_flat = np.empty(K * chunk) if resp_out is None else None
    buf_flat = np.empty(bw * chunk) if bw else None
    acc = np.zeros((K, family.stats_width(data))) if want_stats else None
    ll = 0.0
    H = 0.0
    cll = 0.0
    for lo in range(0, N, chunk):
        hi = min(N, lo + chunk)
        n = hi - lo
        buf = buf_flat[: bw * n].reshape(bw, n) if bw else None
        lj = family.log_joint_chunk(data, lo, hi, state, logj_flat[: K * n].reshape(K, n), buf)
        m = lj.max(axis=0)
        if not (m.min() > 0.5 * LOG0 and m.max() < np.inf):
            bad = np.flatnonzero(~(np.isfinite(m) & (m > 0.5 * LOG0)))
            return _Pass(np.nan, np.nan, np.nan, None, ok=False, bad_row=lo + int(bad[0]))
        lj -= m
        msum = float(m.sum())
        r = resp_flat[: K * n].reshape(K, n) if resp_out is None else resp_out[:, lo:hi]
        np.exp(lj, out=r)
        s = r.sum(axis=0)
        logs = np.log(s)
        sl = float(logs.sum())
        ll += msum + sl
        if hard:
            z = np.argmax(lj, axis=0)
            cll += msum
            r.fill(0.0)
            r[z, np.arange(n)] = 1.0
        else:
            r /= s
            with np.errstate(invalid="ignore"):
                h = float(np.einsum("ij,ij->", r, lj))
            if not np.isfinite(h):  # 0 · (−inf) where a log-density overflowed
                pos = r > 0
                h = float(np.sum(r[pos] * lj[pos]))
            H += sl - h
        if want_stats:
            family.stats_chunk(data, lo, hi, r, acc)
        if visit is not None:
            visit(lo, hi, r)
    return _Pass(ll, H, cll, acc)


def _posterior_replay(family, data, state, hard):
    """q = p(z | x, θ) at θ = ``state`` as a ``Responsibilities`` (recomputed on each replay)."""
    K = state.weights.shape[0]

    def replay(fn):
        _data_pass(family, data, state, hard, False, visit=fn)

    return Responsibilities(data.n_samples, K, replay)


@dataclass(frozen=True)
class HalfStep:
    """One position of the step slider.

    Attributes
    ----------
    s : int
        Half-step index, 0 … 2·n_iter.
    kind : str
        "init", "E" or "M".
    t : int
        Iteration index: θ_t is shown for "init"/"E"; for "M" the step θ_t → θ_{t+1}.
    params : GaussianParams | MultinomialParams
        θ_t for "init"/"E", θ_{t+1} for "M".
    resp : ndarray (N, K) or None
        q_t = p(z | x, θ_t) for "E" and "M" (the responsibilities the M-step used).
    label : str
        "θ⁽⁰⁾ (start)", "E-step t+1" or "M-step t+1".
    """

    s: int
    kind: str
    t: int
    params: object
    resp: np.ndarray | None
    label: str

    @property
    def theta_index(self) -> int:
        """Index of the parameters shown: t for "init"/"E", t + 1 for "M"."""
        return self.t + 1 if self.kind == "M" else self.t

    @property
    def is_init(self) -> bool:
        """True at s = 0 (θ⁽⁰⁾, before any E-step: no responsibilities yet)."""
        return self.kind == "init"


def half_step_position(s: int, n_half_steps: int | None = None) -> tuple[str, int]:
    """``(kind, t)`` of slider position ``s``: the one definition of the half-steps.

    s = 0 is ("init", 0); s = 2t+1 is ("E", t), the E-step of iteration t+1; s = 2t+2 is
    ("M", t), its M-step θ⁽ᵗ⁾ → θ⁽ᵗ⁺¹⁾. Raises IndexError outside 0 … n_half_steps − 1.
    """
    s = int(s)
    if s < 0 or (n_half_steps is not None and s >= n_half_steps):
        top = "" if n_half_steps is None else f"..{n_half_steps - 1}"
        raise IndexError(f"half-step must be in 0{top}, got {s}")
    if s == 0:
        return "init", 0
    return ("E" if s % 2 == 1 else "M"), (s - 1) // 2


def half_step_label(s: int) -> str:
    """The on-screen name of half-step ``s``: "θ⁽⁰⁾ (start)", "E-step t+1" or "M-step t+1"."""
    kind, t = half_step_position(s)
    return "θ⁽⁰⁾ (start)" if kind == "init" else f"{kind}-step {t + 1}"


class Trace:
    """Everything EM did, iteration by iteration.

    Per-θ arrays have length ``n_iter + 1`` (t = 0 … n_iter):

    ``params[t]``
        θ_t (``GaussianParams`` with full (K, D, D) covariances, or ``MultinomialParams``).
    ``log_likelihood[t]``
        ℓ(θ_t) = Σ_i log Σ_k π_k p(x_i | θ_k), the full density (multinomial coefficient
        included).
    ``log_prior[t]``
        the penalty actually maximised at θ_t: −(reg/2) Σ tr(Σ⁻¹) (tied: once), or
        (alpha − 1) Σ log θ_kv; 0 when reg = 0 / alpha = 1.
    ``objective[t]``
        ℓ(θ_t) + log_prior[t] (soft EM), never decreasing. With ``hard=True`` it is the
        classification log-likelihood Σ_i max_k log π_k p(x_i | θ_k) + log_prior[t].

    Per-step arrays have length ``n_iter`` (step t: θ_t → θ_{t+1}), with q_t = p(z | x, θ_t):

    ``q[t]``
        Q(θ_{t+1} | θ_t) = Σ_i Σ_k q_t(ik) [log π_k + log p(x_i | θ_{t+1,k})], the expected
        complete-data log-likelihood (no prior).
    ``entropy[t]``
        H(q_t) = −Σ_ik q_t log q_t.
    ``elbo[t]``
        q[t] + entropy[t] = L(q_t, θ_{t+1}), the lower bound after the M-step.
    ``kl[t]``
        log_likelihood[t+1] − elbo[t] = KL(q_t ‖ p(z | x, θ_{t+1})) ≥ 0
        (= objective[t+1] − (elbo[t] + log_prior[t+1])).

    Identities: Q(θ_t | θ_t) + H(q_t) = ℓ(θ_t) (the bound is tight after each E-step), and
    elbo[t] + log_prior[t+1] ≥ objective[t] (the M-step cannot lower the bound).

    With ``hard=True`` (classification EM) q_t is the one-hot argmax, ``entropy`` is 0,
    ``q[t]`` is the classification log-likelihood of θ_{t+1} under the old assignments and
    ``kl[t]`` (≥ 0) is what re-assigning the points to their best component gains.

    Responsibilities are never stored for all t: ``responsibilities(t)`` recomputes q_t from
    ``params[t]`` (a few recent ones are cached).
    """

    def __init__(self, family, data, params, log_likelihood, log_prior, objective, q, entropy,
                 status, message, settings):
        self._family = family
        self._data = data
        self.family = family.name
        self.covariance_type = family.covariance_type
        self.reg = float(getattr(family, "reg", 0.0))
        self.alpha = float(getattr(family, "alpha", 1.0))
        #: whether the fit maximised ℓ plus a non-trivial log prior / penalty
        self.has_prior = bool(family.has_prior)
        self.hard = bool(settings.get("hard", False))
        self.params = list(params)
        self.log_likelihood = np.asarray(log_likelihood, dtype=float)
        self.log_prior = np.asarray(log_prior, dtype=float)
        self.objective = np.asarray(objective, dtype=float)
        self.q = np.asarray(q, dtype=float)
        self.entropy = np.asarray(entropy, dtype=float)
        self.elbo = self.q + self.entropy
        # objective − log prior is ℓ (soft) or the classification log-likelihood (hard)
        self.kl = (self.objective[1:] - self.log_prior[1:]) - self.elbo
        self.n_iter = len(self.q)
        self.status = status
        self.converged = status == "converged"
        self.message = message
        self.settings = dict(settings)
        self.n_samples = data.n_samples
        self.n_features = data.n_features
        self.n_components = self.params[0].n_components
        self._cache = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = OrderedDict()
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- data ----------------------------------------------------------------------------------
    @property
    def X(self):
        """The data the trace was fitted on (as validated: float64 array or CSR matrix)."""
        return self._data.X

    @property
    def final_params(self):
        """θ at the last recorded iteration."""
        return self.params[-1]

    def responsibilities(self, t):
        """q_t = p(z | x, θ_t), shape (N, K); one-hot argmax when ``hard``.

        Parameters
        ----------
        t : int
            0 … n_iter (negative indices count from the end).
        """
        n = len(self.params)
        if not -n <= t < n:
            raise IndexError(f"t must be in 0..{n - 1}, got {t}")
        t = t % n
        with self._lock:
            hit = self._cache.get(t)
            if hit is not None:
                self._cache.move_to_end(t)
                return hit
        state = self._family.state_from_params(self.params[t], self._data)
        respT = np.empty((self.n_components, self.n_samples))
        _data_pass(self._family, self._data, state, self.hard, False, resp_out=respT)
        resp = np.ascontiguousarray(respT.T)
        resp.setflags(write=False)
        with self._lock:
            self._cache[t] = resp
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return resp

    # -- half-steps ----------------------------------------------------------------------------
    @property
    def n_half_steps(self):
        """2·n_iter + 1 slider positions."""
        return 2 * self.n_iter + 1

    def half_step(self, s):
        """The state shown at slider position ``s`` (see ``HalfStep``)."""
        s = int(s)
        kind, t = half_step_position(s, self.n_half_steps)
        resp = None if kind == "init" else self.responsibilities(t)
        return HalfStep(s, kind, t, self.params[t + 1 if kind == "M" else t], resp,
                        half_step_label(s))

    def half_step_loglik(self, s):
        """ℓ at half-step s: ℓ(θ_t) for init/E, ℓ(θ_{t+1}) for M."""
        kind, t = half_step_position(s, self.n_half_steps)
        return float(self.log_likelihood[t + 1 if kind == "M" else t])

    # -- export --------------------------------------------------------------------------------
    def to_dict(self):
        """JSON-safe dictionary of everything except the data and the responsibilities."""
        return {
            "family": self.family,
            "covariance_type": self.covariance_type,
            "hard": self.hard,
            "reg": self.reg,
            "alpha": self.alpha,
            "has_prior": self.has_prior,
            "n_samples": int(self.n_samples),
            "n_features": int(self.n_features),
            "n_components": int(self.n_components),
            "n_iter": int(self.n_iter),
            "converged": bool(self.converged),
            "status": self.status,
            "message": self.message,
            "settings": {k: _jsonable(v) for k, v in self.settings.items()},
            "params": [p.to_dict() for p in self.params],
            "log_likelihood": self.log_likelihood.tolist(),
            "log_prior": self.log_prior.tolist(),
            "objective": self.objective.tolist(),
            "q": self.q.tolist(),
            "entropy": self.entropy.tolist(),
            "elbo": self.elbo.tolist(),
            "kl": self.kl.tolist(),
        }

    def __repr__(self):
        return (
            f"Trace(family={self.family!r}, K={self.n_components}, n_iter={self.n_iter}, "
            f"status={self.status!r}, objective={self.objective[-1]:.6g})"
        )


def _jsonable(v):
    if hasattr(v, "to_dict") and not isinstance(v, type):
        return v.to_dict()
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return repr(v)


# ----------------------------------------------------------------------------------------------
# initialisation
# ----------------------------------------------------------------------------------------------
INIT_SCHEMES = ("kmeans++", "random", "random_from_data")


def _is_params(obj):
    return not isinstance(obj, (str, type)) and hasattr(obj, "n_components") and hasattr(obj, "weights")


def _initial_state(family, data, K, init, rng):
    """Return (state θ₀, description).

    Every scheme yields responsibilities (a ``Responsibilities``, replayed chunk by chunk) and
    the family's ``initial_state`` makes θ₀ from their statistics: "random" draws soft ones;
    "kmeans++" (in the family's geometry) and "random_from_data" put K seed rows one-hot.
    Explicit parameters are used as given.
    """
    N = data.n_samples
    if _is_params(init):
        if init.n_components != K:
            raise ValueError(f"init has {init.n_components} components but n_components = {K}")
        try:
            state = family.state_from_params(init, data)
        except Degenerate as e:
            raise ValueError(f"invalid starting parameters for component {e.component + 1}: {e.detail}") from None
        return state, "explicit"
    if not isinstance(init, str) or init not in INIT_SCHEMES:
        raise ValueError(
            f"init must be 'kmeans++', 'random', 'random_from_data' or explicit parameters, got {init!r}"
        )
    chunk = _chunk_rows(N, 2 * K)
    if init == "random":
        resp = _random_responsibilities(rng, N, K, chunk)
        seeded = False
    else:
        if init == "kmeans++":
            idx = family.seed_indices(data, K, rng)
        else:
            idx = rng.choice(N, size=K, replace=False)
        resp = _seed_responsibilities(np.asarray(idx), N, K, chunk)
        seeded = True
    acc = np.zeros((K, family.stats_width(data)))
    resp.foreach(lambda lo, hi, r: family.stats_chunk(data, lo, hi, r, acc))
    return family.initial_state(acc, data, resp, seeded), init


def _random_responsibilities(rng, N, K, chunk):
    """Uniform random rows normalised to sum 1, drawn chunk by chunk from ``rng`` (the same
    numbers as one (N, K) draw); each replay redraws them from the saved generator state."""
    saved = copy.deepcopy(rng)

    def replay(fn):
        g = copy.deepcopy(saved)
        for lo in range(0, N, chunk):
            hi = min(N, lo + chunk)
            r = g.random((hi - lo, K))
            r /= r.sum(axis=1, keepdims=True)
            fn(lo, hi, np.ascontiguousarray(r.T))

    return Responsibilities(N, K, replay)


def _seed_responsibilities(idx, N, K, chunk):
    """One-hot responsibilities: component k owns row idx[k] alone."""

    def replay(fn):
        for lo in range(0, N, chunk):
            hi = min(N, lo + chunk)
            r = np.zeros((K, hi - lo))
            ks = np.flatnonzero((idx >= lo) & (idx < hi))
            r[ks, idx[ks] - lo] = 1.0
            fn(lo, hi, r)

    return Responsibilities(N, K, replay)


# ----------------------------------------------------------------------------------------------
# the loop
# ----------------------------------------------------------------------------------------------
def _check_common(n_components, max_iter, tol, n_samples):
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) or n_components < 1:
        raise ValueError(f"n_components must be a positive integer, got {n_components!r}")
    if n_components > n_samples:
        raise ValueError(
            f"n_components = {n_components} is more than the number of rows ({n_samples})"
        )
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative integer, got {max_iter!r}")
    if tol is not None and not (np.isfinite(tol) and tol >= 0):
        raise ValueError("tol must be None or a finite number >= 0")


def run_em(family, X, n_components, init, max_iter, tol, seed, hard=False):
    """The generic EM loop. Returns a ``Trace``; see ``fit_gaussian_mixture``."""
    with blas_threads_limited():
        return _run_em(family, X, n_components, init, max_iter, tol, seed, hard)


def _run_em(family, X, n_components, init, max_iter, tol, seed, hard):
    data = family.prepare(X)
    N = data.n_samples
    _check_common(n_components, max_iter, tol, N)
    rng = np.random.default_rng(seed)
    state, init_label = _initial_state(family, data, int(n_components), init, rng)
    settings = {
        "init": init_label if init_label != "explicit" else init,
        "max_iter": int(max_iter),
        "tol": tol,
        "seed": seed,
        "hard": bool(hard),
    }
    cur = _data_pass(family, data, state, hard, want_stats=max_iter > 0)
    if not cur.ok:
        raise ValueError(
            f"the starting parameters give row {cur.bad_row} zero density under every component"
        )
    params = [family.params_from_state(state, data)]
    lp = family.log_prior(state)
    if not np.isfinite(lp):
        raise ValueError("the starting parameters have zero prior density (a probability is 0 while alpha > 1)")
    lls = [cur.loglik]
    lps = [lp]
    objs = [(cur.class_loglik if hard else cur.loglik) + lp]
    qs, hs = [], []
    status, message = "max_iter", ""
    for t in range(max_iter):
        try:
            # q_t is not kept: the M-step reads its statistics (and may replay q_t from θ_t),
            # and Q(θ_{t+1} | θ_t) is a function of the same statistics
            new_state, summary = family.m_step(cur.acc, data, _posterior_replay(family, data, state, hard))
            new_lp = family.log_prior(new_state)
            q = float(family.q_value(summary, new_state, data))
        except Degenerate as e:
            status, message = "degenerate", family.degenerate_message(e, f"M-step {t + 1}")
            break
        nxt = _data_pass(family, data, new_state, hard, want_stats=t + 1 < max_iter)
        if not (nxt.ok and np.isfinite(q) and np.isfinite(new_lp)):
            status = "degenerate"
            message = (
                f"M-step {t + 1} produced parameters under which row {nxt.bad_row} has zero "
                "density in float64 (numerical overflow); EM stops. Turn on regularisation or "
                "use fewer components."
            )
            break
        params.append(family.params_from_state(new_state, data))
        lls.append(nxt.loglik)
        lps.append(new_lp)
        objs.append((nxt.class_loglik if hard else nxt.loglik) + new_lp)
        qs.append(q)
        hs.append(0.0 if hard else cur.entropy)
        state, cur = new_state, nxt
        if tol is not None and (objs[-1] - objs[-2]) / N < tol:
            status = "converged"
            break
    return Trace(family, data, params, lls, lps, objs, qs, hs, status, message, settings)


def fit_gaussian_mixture(X, n_components, covariance_type="full", init="kmeans++", max_iter=100,
                         tol=1e-6, reg=0.0, seed=None, hard=False):
    """Fit a Gaussian mixture by EM and record every iteration.

    Parameters
    ----------
    X : array_like, shape (N, D) or (N,)
        Data; a 1-D array means D = 1. Must be finite.
    n_components : int
        K ≥ 1 (at most N).
    covariance_type : {"full", "diag", "spherical", "tied"}
    init : {"kmeans++", "random", "random_from_data"} or GaussianParams
        "kmeans++" / "random_from_data": means at K data points (k-means++ seeding or uniform
        without replacement), equal weights, every covariance the data's covariance (made to the
        type, ridge included). "random": an M-step from random responsibilities. Explicit
        ``GaussianParams`` are used as θ₀ as given.
    max_iter : int
        Maximum number of EM iterations (M-steps).
    tol : float or None
        Stop when (objective[t+1] − objective[t]) / N < tol. ``None`` runs exactly
        ``max_iter`` iterations unless the fit degenerates.
    reg : float
        Ridge prior strength: log prior −(reg/2) Σ_k tr(Σ_k⁻¹), M-step Σ_k = (S_k + reg·I)/N_k.
        0 is plain maximum likelihood.
    seed : int or None
        Seed of the initialisation.
    hard : bool
        Classification EM: responsibilities are the one-hot argmax (with ``spherical`` this is
        the k-means limit).

    Returns
    -------
    Trace
    """
    return run_em(GaussianFamily(covariance_type, reg), X, n_components, init, max_iter, tol, seed, hard)


def fit_multinomial_mixture(X_counts, n_components, init="random", max_iter=100, tol=1e-6,
                            alpha=1.0, seed=None, hard=False):
    """Fit a mixture of multinomials by EM and record every iteration.

    Parameters
    ----------
    X_counts : array_like or scipy.sparse matrix, shape (N, V)
        Non-negative whole-number counts (dense or sparse give the same trace).
    n_components : int
    init : {"random", "kmeans++", "random_from_data"} or MultinomialParams
        "random": an M-step from random responsibilities. "kmeans++" / "random_from_data":
        each θ_k starts at the profile of one basket (k-means++ seeding on the row proportions,
        or uniform), smoothed as 0.5·profile + 0.4·overall share + 0.1·uniform.
    max_iter, tol, seed, hard
        As for ``fit_gaussian_mixture``.
    alpha : float
        Dirichlet(alpha) prior on each θ_k, alpha ≥ 1; θ_kv ∝ C_kv + alpha − 1. 1 is plain ML.

    Returns
    -------
    Trace
    """
    return run_em(MultinomialFamily(alpha), X_counts, n_components, init, max_iter, tol, seed, hard)
