"""Stand-alone functions of θ and the data: densities, E-step, Q, H, log prior, bound curve.

These work on the parameters of any registered family (``GaussianParams``,
``MultinomialParams``, ``BernoulliParams``, …) and the data as given to a fit; the family is
found from the type of the parameters (``registry.family_for_params``).
They evaluate all N rows at once (they are for display and checking; the fit loop itself
streams over row chunks).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .em import _data_pass, blas_threads_limited
from .registry import family_for_params

__all__ = [
    "component_log_density",
    "e_step",
    "log_likelihood",
    "expected_complete_loglik",
    "entropy",
    "cross_entropy",
    "log_prior",
    "bound_curve",
]


def _prepared(X, params, family=None):
    family = family or family_for_params(params)
    data = family.prepare(X)
    state = family.state_from_params(params, data)
    return family, data, state


def _log_joint(X, params, weighted=True):
    family, data, state = _prepared(X, params)
    N = data.n_samples
    K = params.n_components
    outT = np.empty((K, N))
    bw = family.buffer_width(K, data)
    buf = np.empty((bw, N)) if bw else None
    family.log_joint_chunk(data, 0, N, state, outT, buf, weighted=weighted)
    out = np.ascontiguousarray(outT.T)
    # exact zeros of the density (e.g. a category a component never produces) are −inf
    hits = family.impossible(data, params)
    if hits is not None:
        out[hits] = -np.inf
    return out


def component_log_density(X, params):
    """log p(x_i | θ_k) for every row and component, without the weights.

    Parameters
    ----------
    X : array_like (N, D) or counts (N, V), dense or sparse
    params : GaussianParams | MultinomialParams

    Returns
    -------
    ndarray (N, K)
        Gaussian: log N(x_i | μ_k, Σ_k). Multinomial: log n_i! − Σ_v log x_iv! + Σ_v x_iv log θ_kv
        (−inf where θ_kv = 0 and x_iv > 0).
    """
    return _log_joint(X, params, weighted=False)


def e_step(X, params, hard=False):
    """Responsibilities and log-likelihood at θ.

    Returns
    -------
    resp : ndarray (N, K)
        p(z_i = k | x_i, θ) (rows sum to 1); the one-hot argmax when ``hard``.
    loglik : float
        ℓ(θ) = Σ_i log Σ_k π_k p(x_i | θ_k).
    """
    family, data, state = _prepared(X, params)
    respT = np.empty((params.n_components, data.n_samples))
    res = _data_pass(family, data, state, hard, False, resp_out=respT)
    if not res.ok:
        raise ValueError(f"row {res.bad_row} has zero density under every component")
    return np.ascontiguousarray(respT.T), float(res.loglik)


def log_likelihood(X, params):
    """ℓ(θ) = Σ_i log Σ_k π_k p(x_i | θ_k) (full density), a float (−inf if some row is impossible)."""
    lj = _log_joint(X, params, weighted=False)
    with np.errstate(divide="ignore"):
        lj = lj + np.log(params.weights)
    return float(np.sum(logsumexp(lj, axis=1)))


def _resp_and_log_joint(X, resp, params):
    """``resp`` as a float array and log π_k + log p(x_i | θ_k) (N, K), shapes checked."""
    resp = np.asarray(resp, dtype=float)
    lj = _log_joint(X, params, weighted=False)
    with np.errstate(divide="ignore"):
        lj = lj + np.log(params.weights)
    if resp.shape != lj.shape:
        raise ValueError(f"resp has shape {resp.shape}, expected {lj.shape}")
    return resp, lj


def expected_complete_loglik(X, resp, params):
    """Q = Σ_i Σ_k r_ik [log π_k + log p(x_i | θ_k)], with 0·log 0 = 0.

    Parameters
    ----------
    X : data (N, D) or counts (N, V)
    resp : ndarray (N, K)
    params : θ at which the complete-data log-likelihood is evaluated
    """
    resp, lj = _resp_and_log_joint(X, resp, params)
    pos = resp > 0
    return float(np.sum(resp[pos] * lj[pos]))


def cross_entropy(X, resp, params):
    """H(q, p_θ) = −Σ_i Σ_k q_ik log p(z_i = k | x_i, θ), with 0·log 0 = 0.

    The cross-entropy of the label distribution ``resp`` (e.g. the E-step's q_t) with the
    posterior over labels under ``params``. It equals ``entropy(resp)`` when ``resp`` is that
    posterior, and exceeds it by KL(q ‖ p(z | x, θ)) otherwise (Gibbs' inequality).

    Parameters
    ----------
    X : data (N, D) or counts (N, V)
    resp : ndarray (N, K)
    params : θ of the posterior p(z | x, θ)
    """
    resp, lj = _resp_and_log_joint(X, resp, params)
    log_post = lj - logsumexp(lj, axis=1, keepdims=True)
    pos = resp > 0
    return float(-np.sum(resp[pos] * log_post[pos]))


def entropy(resp):
    """H(q) = −Σ_ik r_ik log r_ik (0 log 0 = 0)."""
    r = np.asarray(resp, dtype=float)
    pos = r > 0
    return float(-np.sum(r[pos] * np.log(r[pos])))


def log_prior(params, reg=0.0, alpha=1.0, covariance_type="full"):
    """The penalty a fit maximises on top of ℓ.

    Gaussian: −(reg/2) Σ_k tr(Σ_k⁻¹), counting the shared matrix once when
    ``covariance_type="tied"``. Multinomial: (alpha − 1) Σ_kv log θ_kv. Bernoulli:
    (alpha − 1) Σ_kd [log μ_kd + log(1 − μ_kd)]. Each family takes the options it knows.
    """
    fam = family_for_params(params, reg=reg, alpha=alpha, covariance_type=covariance_type)
    return fam.log_prior_of_params(params)


# ----------------------------------------------------------------------------------------------
# the bound curve
# ----------------------------------------------------------------------------------------------
def _lerp(c0, c1, a):
    out = []
    for u, v in zip(c0, c1, strict=True):
        both_inf = ~np.isfinite(u) & ~np.isfinite(v)
        w = (1 - a) * np.where(np.isfinite(u), u, 0.0) + a * np.where(np.isfinite(v), v, 0.0)
        # a coordinate that is infinite at either end (a probability of exactly 0, or 1 for a
        # logit) keeps that infinity; infinite at both ends: the one of the nearer end
        w = np.where(np.isfinite(u), np.where(np.isfinite(v), w, v), u)
        w = np.where(both_inf, u if a < 0.5 else v, w)
        out.append(w)
    return tuple(out)


def bound_curve(trace, t, n_points=61, span=(-0.5, 1.5)):
    """ℓ + log prior and the EM lower bound along the path θ_t → θ_{t+1}.

    The path is the straight line θ(a) = (1 − a)·θ_t + a·θ_{t+1} in unconstrained
    coordinates given by the family (log-weights, means, log-Cholesky factors for Gaussians;
    log-probabilities for multinomials; logits for Bernoulli), mapped back to valid parameters.

    Parameters
    ----------
    trace : Trace
    t : int
        Step index, 0 … n_iter − 1.
    n_points : int
    span : (float, float)
        Range of a.

    Returns
    -------
    dict
        ``a`` (n_points,), ``objective`` (n_points,) = ℓ(θ(a)) + log prior(θ(a)) (for hard EM
        the classification log-likelihood + prior), ``bound`` (n_points,) =
        Q(θ(a) | θ_t) + H(q_t) + log prior(θ(a)) = L(q_t, θ(a)) + log prior. The bound touches
        the objective at a = 0 and peaks at a = 1 (the M-step maximises it).
    """
    if not 0 <= t < trace.n_iter:
        raise IndexError(f"t must be in 0..{trace.n_iter - 1}, got {t}")
    with blas_threads_limited():
        return _bound_curve(trace, t, n_points, span)


def _bound_curve(trace, t, n_points, span):
    a = np.linspace(span[0], span[1], int(n_points))
    for special in (0.0, 1.0):
        if span[0] <= special <= span[1] and not np.any(a == special):
            a = np.sort(np.append(a, special))
    fam = trace._family
    data = trace._data
    c0 = fam.to_unconstrained(trace.params[t])
    c1 = fam.to_unconstrained(trace.params[t + 1])
    resp = trace.responsibilities(t).T
    H = 0.0 if trace.hard else entropy(resp)
    pos = resp > 0
    K = trace.n_components
    N = data.n_samples
    obj = np.empty(len(a))
    bnd = np.empty(len(a))
    bw = fam.buffer_width(K, data)
    buf = np.empty((bw, N)) if bw else None
    lj = np.empty((K, N))
    for i, ai in enumerate(a):
        p = fam.from_unconstrained(_lerp(c0, c1, ai))
        if ai == 0.0:
            p = trace.params[t]
        elif ai == 1.0:
            p = trace.params[t + 1]
        state = fam.state_from_params(p, data)
        fam.log_joint_chunk(data, 0, N, state, lj, buf)
        lp = fam.log_prior(state)
        if trace.hard:
            obj[i] = float(np.sum(lj.max(axis=0))) + lp
        else:
            obj[i] = float(np.sum(logsumexp(lj, axis=0))) + lp
        bnd[i] = float(np.sum(resp[pos] * lj[pos])) + H + lp
    return {"a": a, "objective": obj, "bound": bnd}
