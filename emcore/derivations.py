"""The numbers of the Derivations page: each derivation evaluated at a real fit.

All functions take the data and parameters of a fit and return plain arrays, so the page can
show, for instance, that the fitted θ̂ satisfies the stationarity equations of ℓ, or that the
M-step's closed forms reproduce θ⁽ᵗ⁺¹⁾. The Gaussian functions are for one-dimensional data
(D = 1), the case the page writes out; the multinomial ones for any number of categories.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .api import _log_joint, e_step
from .params import GaussianParams, MultinomialParams

__all__ = [
    "gaussian_1d",
    "log_joint_1d",
    "stationarity_1d",
    "m_step_1d",
    "q_parts_1d",
    "bound_parts",
    "multinomial_m_step",
    "most_uncertain_row",
    "m_step_gap_1d",
    "top_categories",
    "is_1d_gaussian",
    "is_multinomial",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


def gaussian_1d(params: GaussianParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(π, μ, σ²) of a one-dimensional Gaussian mixture, each of shape (K,)."""
    if not isinstance(params, GaussianParams) or params.n_features != 1:
        raise ValueError("a one-dimensional GaussianParams is required")
    return (np.asarray(params.weights, dtype=float), np.asarray(params.means, dtype=float)[:, 0],
            np.asarray(params.covariances, dtype=float)[:, 0, 0])


def _x(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError("one-dimensional data are required")
    return x


def log_joint_1d(x, params: GaussianParams) -> np.ndarray:
    """log π_k + log N(x_i | μ_k, σ_k²), shape (N, K): the complete-data log-likelihood of
    row i if z_i = k."""
    x = _x(x)
    w, mu, var = gaussian_1d(params)
    return (np.log(w) - 0.5 * (_LOG_2PI + np.log(var))
            - 0.5 * (x[:, None] - mu) ** 2 / var)


def stationarity_1d(x, params: GaussianParams, reg: float = 0.0) -> dict:
    """Both sides of the stationarity equations of ℓ(θ) (+ log p(θ) when reg > 0) at θ.

    Setting the gradient of ℓ to zero (with a Lagrange multiplier λ for Σπ = 1) gives, with
    r_ik = p(z_i = k | x_i, θ) and N_k = Σ_i r_ik,

        π_k = N_k / N,   μ_k = Σ_i r_ik x_i / N_k,   σ_k² = (Σ_i r_ik (x_i − μ_k)² + reg) / N_k,

    where every right-hand side depends on θ through r_ik: the equations are circular.

    Returns
    -------
    dict of (K,) arrays: ``weights``, ``means``, ``variances`` (the left-hand sides, θ itself),
    ``weights_rhs``, ``means_rhs``, ``variances_rhs``, ``N_k``, ``lagrange`` = N_k / π_k
    (all equal to λ = N at a stationary point), ``grad_mean`` = ∂(ℓ + log p)/∂μ_k and
    ``grad_var`` = ∂(ℓ + log p)/∂σ_k²; and floats ``n`` and ``max_rel_residual``, the largest
    gap |lhs − rhs| over all three equations, each measured against the size of its quantity:
    π_k, σ_k² and, for the means (whose size depends on where zero is), σ_k.
    """
    x = _x(x)
    w, mu, var = gaussian_1d(params)
    resp, _ = e_step(x[:, None], params)
    Nk = resp.sum(axis=0)
    dev = x[:, None] - mu
    w_rhs = Nk / x.size
    mu_rhs = (resp * x[:, None]).sum(axis=0) / Nk
    sq = (resp * dev**2).sum(axis=0)
    var_rhs = (sq + reg) / Nk
    grad_mean = (resp * dev).sum(axis=0) / var
    grad_var = (sq + reg) / (2 * var**2) - Nk / (2 * var)
    rel = max(float(np.max(np.abs(w - w_rhs) / w)), float(np.max(np.abs(mu - mu_rhs) / np.sqrt(var))),
              float(np.max(np.abs(var - var_rhs) / var)))
    return {"weights": w, "means": mu, "variances": var, "weights_rhs": w_rhs, "means_rhs": mu_rhs,
            "variances_rhs": var_rhs, "N_k": Nk, "lagrange": Nk / w, "grad_mean": grad_mean,
            "grad_var": grad_var, "n": float(x.size), "max_rel_residual": rel}


def m_step_1d(x, resp, reg: float = 0.0) -> dict:
    """The M-step's closed forms for a 1-D Gaussian mixture from responsibilities (N, K).

    Zero gradients of Q (+ the penalty −(reg/2) Σ_k 1/σ_k²) and a Lagrange multiplier for
    Σπ = 1 give N_k = Σ_i r_ik, μ_k = Σ_i r_ik x_i / N_k, σ_k² = (S_k + reg) / N_k with
    S_k = Σ_i r_ik (x_i − μ_k)², and π_k = N_k / N.

    Returns
    -------
    dict of (K,) arrays ``N_k``, ``sum_x`` (Σ_i r_ik x_i), ``means``, ``scatter`` (S_k),
    ``variances``, ``weights``.
    """
    x = _x(x)
    R = np.asarray(resp, dtype=float)
    Nk = R.sum(axis=0)
    sx = R.T @ x
    mu = sx / Nk
    S = (R * (x[:, None] - mu) ** 2).sum(axis=0)
    return {"N_k": Nk, "sum_x": sx, "means": mu, "scatter": S, "variances": (S + reg) / Nk,
            "weights": Nk / x.size}


def q_parts_1d(x, resp, params: GaussianParams) -> dict:
    """Q(θ | θ⁽ᵗ⁾) = Σ_i Σ_k r_ik [log π_k + log N(x_i | μ_k, σ_k²)] split into its two parts.

    ``resp`` are q_t's responsibilities, ``params`` the θ at which Q is evaluated.

    Returns
    -------
    dict with floats ``weights_part`` = Σ_k N_k log π_k, ``gaussian_part`` =
    Σ_i Σ_k r_ik log N(x_i | μ_k, σ_k²) and ``total``.
    """
    R = np.asarray(resp, dtype=float)
    lj = log_joint_1d(x, params)
    w = np.asarray(params.weights, dtype=float)
    wp = float(R.sum(axis=0) @ np.log(w))
    total = float(np.sum(R * lj))
    return {"weights_part": wp, "gaussian_part": total - wp, "total": total}


def bound_parts(X, q, params) -> dict:
    """ℓ(θ), the ELBO 𝓛(q, θ) and KL(q ‖ p(z | x, θ)), each computed on its own.

    Jensen's inequality gives ℓ(θ) = Σ_i log Σ_k q_ik p(x_i, k | θ)/q_ik ≥ 𝓛(q, θ) =
    Σ_i Σ_k q_ik log(p(x_i, k | θ)/q_ik); the KL decomposition says the gap is exactly
    KL = Σ_i Σ_k q_ik log(q_ik / p(k | x_i, θ)). Here the three numbers come from three
    separate formulas, so ``loglik − elbo − kl`` checks the identity (0 up to round-off).

    Parameters
    ----------
    X : the data as given to the fit
    q : (N, K) responsibilities (any distribution over z per row)
    params : GaussianParams | MultinomialParams

    Returns
    -------
    dict with floats ``loglik``, ``elbo``, ``kl``, ``q_term`` (Σ q log p(x, z | θ)) and
    ``entropy`` (−Σ q log q).
    """

    Q = np.asarray(q, dtype=float)
    lj = _log_joint(X, params, weighted=True)
    ll_rows = logsumexp(lj, axis=1)
    post = lj - ll_rows[:, None]
    pos = Q > 0
    q_term = float(np.sum(Q[pos] * lj[pos]))
    ent = float(-np.sum(Q[pos] * np.log(Q[pos])))
    kl = float(np.sum(Q[pos] * (np.log(Q[pos]) - post[pos])))
    return {"loglik": float(ll_rows.sum()), "elbo": q_term + ent, "kl": kl, "q_term": q_term,
            "entropy": ent}


def multinomial_m_step(X_counts, resp, alpha: float = 1.0) -> dict:
    """The multinomial M-step from responsibilities, plain and with a Dirichlet(α) prior.

    Q's θ part is Σ_k Σ_v C_kv log θ_kv with C_kv = Σ_i r_ik x_iv; a Lagrange multiplier for
    Σ_v θ_kv = 1 gives θ_kv = C_kv / Σ_w C_kw. The prior adds (α − 1) Σ_v log θ_kv, so the
    MAP form is θ_kv = (C_kv + α − 1) / Σ_w (C_kw + α − 1) (valid for α ≥ 1).

    Returns
    -------
    dict with ``counts`` C (K, V), ``theta_ml`` (K, V), ``theta_map`` (K, V), ``N_k`` and
    ``weights`` (K,).
    """
    R = np.asarray(resp, dtype=float)
    C = np.asarray((X_counts.T @ R).T if hasattr(X_counts, "tocsr") else R.T @ np.asarray(X_counts, dtype=float))
    C = np.asarray(C, dtype=float)
    ml = C / C.sum(axis=1, keepdims=True)
    num = C + (alpha - 1.0)
    Nk = R.sum(axis=0)
    return {"counts": C, "theta_ml": ml, "theta_map": num / num.sum(axis=1, keepdims=True),
            "N_k": Nk, "weights": Nk / R.shape[0]}


def m_step_gap_1d(m_step: dict, params: GaussianParams) -> float:
    """Largest |difference| between :func:`m_step_1d`'s (π, μ, σ²) and those of ``params``."""
    w, mu, var = gaussian_1d(params)
    return float(max(np.max(np.abs(m_step["weights"] - w)), np.max(np.abs(m_step["means"] - mu)),
                     np.max(np.abs(m_step["variances"] - var))))


def top_categories(values, n: int) -> np.ndarray:
    """Indices of the ``n`` largest entries of a 1-D array, largest first."""
    v = np.asarray(values, dtype=float)
    return np.argsort(-v, kind="stable")[: int(n)]


def most_uncertain_row(resp) -> int:
    """The row whose largest responsibility is smallest: the point EM is least sure about."""
    R = np.asarray(resp, dtype=float)
    return int(np.argmin(R.max(axis=1)))


def is_1d_gaussian(params) -> bool:
    """True for one-dimensional Gaussian mixture parameters."""
    return isinstance(params, GaussianParams) and params.n_features == 1


def is_multinomial(params) -> bool:
    return isinstance(params, MultinomialParams)
