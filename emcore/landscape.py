"""The likelihood landscape of a 1-D Gaussian mixture: slices of ℓ, gradient ascent, the spike.

Everything here is a pure function of the data ``x`` (N,) and parameters; nothing is cached
and nothing is drawn (``emviz.landscape`` draws).

* :func:`mean_slice` — ℓ(μ₁, μ₂) on a grid for K = 2, with σ and π held fixed.
* :func:`mean_region` — one range for both axes, so that a point and its mirror image
  (μ₂, μ₁) (the same fit with the labels swapped) are both inside.
* :func:`mean_path` — EM's θ_t projected to (μ₁, μ₂), with each θ_t's own ℓ.
* :func:`mirror_gap` — how much lower (μ₂, μ₁) is than (μ₁, μ₂) when σ and π are *not* swapped.
* :func:`gradient_ascent` — plain gradient ascent on ℓ/N with a fixed step size, in the raw
  coordinates (π₁ … π_{K−1}, μ, σ); it stops when it leaves the valid region or diverges.
* :func:`em_step_sizes` — the per-component step size for which a gradient step on μ lands
  exactly on EM's M-step mean (σ_k² / π̂_k for ℓ/N).
* :func:`collapse_slice` — ℓ(σ_k) with μ_k on a data point, the spike as σ_k → 0.
* :func:`collapse_start` — a K = 2 start from which EM without a prior collapses onto one
  point after a few iterations (the "collapse" preset).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .params import GaussianParams

__all__ = [
    "mean_slice",
    "mean_region",
    "mean_path",
    "mirror_gap",
    "GradientPath",
    "gradient_ascent",
    "loglik_gradient",
    "em_step_sizes",
    "collapse_slice",
    "collapse_start",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


def _as_x(x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"x must be 1-D data (N,) or (N, 1), got shape {a.shape}")
    return a


def _wms(params: GaussianParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights, means, sds) of a 1-D GaussianParams."""
    if params.n_features != 1:
        raise ValueError("the landscape is for 1-D mixtures (D = 1)")
    w = np.asarray(params.weights, dtype=float)
    mu = np.asarray(params.means, dtype=float)[:, 0]
    sd = np.sqrt(np.asarray(params.covariances, dtype=float)[:, 0, 0])
    return w, mu, sd


def _log_normal(x: np.ndarray, mu, sd) -> np.ndarray:
    """log N(x | μ, σ²), broadcasting."""
    z = (x - mu) / sd
    return -0.5 * z * z - np.log(sd) - 0.5 * _LOG_2PI


# ----------------------------------------------------------------------------------------------
# ℓ(μ₁, μ₂) with σ, π held
# ----------------------------------------------------------------------------------------------
def mean_slice(x, params: GaussianParams, grid1, grid2=None, max_elements: int = 2**22) -> np.ndarray:
    """ℓ(μ₁, μ₂) on a grid, with the weights and standard deviations of ``params`` held.

    Parameters
    ----------
    x : array_like (N,) or (N, 1)
    params : GaussianParams with K = 2, D = 1
        Supplies π₁, π₂, σ₁, σ₂ (its means are ignored).
    grid1, grid2 : array_like (G1,), (G2,)
        Values of μ₁ and μ₂ (``grid2`` defaults to ``grid1``).

    Returns
    -------
    ndarray (G2, G1)
        ``Z[j, i] = ℓ(π, μ₁ = grid1[i], μ₂ = grid2[j], σ)`` (rows follow μ₂, as a contour plot
        with μ₁ across and μ₂ up expects).
    """
    x = _as_x(x)
    if params.n_components != 2:
        raise ValueError("the (μ₁, μ₂) slice needs K = 2")
    w, _, sd = _wms(params)
    g1 = np.asarray(grid1, dtype=float)
    g2 = g1 if grid2 is None else np.asarray(grid2, dtype=float)
    with np.errstate(divide="ignore"):
        lw = np.log(w)
    a1 = lw[0] + _log_normal(x[None, :], g1[:, None], sd[0])  # (G1, N)
    a2 = lw[1] + _log_normal(x[None, :], g2[:, None], sd[1])  # (G2, N)
    out = np.empty((len(g2), len(g1)))
    rows = max(1, int(max_elements // max(1, len(g1) * len(x))))
    for lo in range(0, len(g2), rows):
        hi = min(len(g2), lo + rows)
        out[lo:hi] = np.logaddexp(a1[None, :, :], a2[lo:hi, None, :]).sum(axis=2)
    return out


def mean_region(x, means_list=(), pad: float = 0.08, quantiles=(0.005, 0.995)) -> tuple[float, float]:
    """One range [lo, hi] for both μ₁ and μ₂.

    It covers the bulk of the data (the given quantiles) and every mean in ``means_list``
    (an iterable of arrays of means), padded by ``pad`` of its width. Because μ₁ and μ₂ share
    the range, the square holds each point and its mirror image (μ₂, μ₁).
    """
    x = _as_x(x)
    vals = [np.quantile(x, quantiles[0]), np.quantile(x, quantiles[1])]
    for m in means_list:
        m = np.asarray(m, dtype=float).ravel()
        m = m[np.isfinite(m)]
        if m.size:
            vals.extend([m.min(), m.max()])
    lo, hi = float(min(vals)), float(max(vals))
    width = hi - lo if hi > lo else max(abs(lo), 1.0)
    return lo - pad * width, hi + pad * width


def mean_path(trace) -> dict:
    """EM's path projected to (μ₁, μ₂).

    Returns
    -------
    dict
        ``means`` (n_iter + 1, K) — μ_k of θ_t; ``loglik`` (n_iter + 1,) — ℓ(θ_t), the
        log-likelihood of the whole θ_t (its own σ and π), which plain EM never lowers;
        ``objective`` (n_iter + 1,) — what the fit maximised (ℓ + log prior, or ℓ_C for hard EM).
    """
    means = np.array([np.asarray(p.means, dtype=float)[:, 0] for p in trace.params])
    return {"means": means, "loglik": np.asarray(trace.log_likelihood, dtype=float).copy(),
            "objective": np.asarray(trace.objective, dtype=float).copy()}


def _loglik(x, w, mu, sd) -> float:
    with np.errstate(divide="ignore"):
        lj = np.log(w)[None, :] + _log_normal(x[:, None], mu[None, :], sd[None, :])
    return float(np.sum(logsumexp(lj, axis=1)))


def mirror_gap(x, params: GaussianParams) -> dict:
    """ℓ at the mirror point (μ₂, μ₁) with σ and π held, against ℓ at (μ₁, μ₂).

    Swapping *all* of a component's parameters (π, μ, σ) leaves ℓ unchanged (label
    switching). Swapping only the means, as the (μ₁, μ₂) slice does, costs ``gap`` nats
    (zero when σ₁ = σ₂ and π₁ = π₂).

    Returns
    -------
    dict with ``loglik`` ℓ(θ), ``mirror_slice`` ℓ(π, (μ₂, μ₁), σ), ``full_swap`` ℓ of θ with
    the labels swapped and ``gap`` = loglik − mirror_slice.
    """
    x = _as_x(x)
    w, mu, sd = _wms(params)
    if len(w) != 2:
        raise ValueError("mirror_gap needs K = 2")
    ll = _loglik(x, w, mu, sd)
    mirror = _loglik(x, w, mu[::-1], sd)
    full = _loglik(x, w[::-1], mu[::-1], sd[::-1])
    return {"loglik": ll, "mirror_slice": mirror, "full_swap": full, "gap": ll - mirror}


# ----------------------------------------------------------------------------------------------
# gradient ascent
# ----------------------------------------------------------------------------------------------
def loglik_gradient(x, weights, means, sds) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """ℓ/N and its gradient in the raw coordinates (π₁ … π_{K−1}, μ, σ), with π_K = 1 − Σ π_k.

    Returns
    -------
    (value, d_pi, d_mu, d_sd)
        value = ℓ/N; ``d_pi`` (K − 1,) = ∂(ℓ/N)/∂π_k = mean_i (r_ik/π_k − r_iK/π_K);
        ``d_mu`` (K,) = mean_i r_ik (x_i − μ_k)/σ_k²;
        ``d_sd`` (K,) = mean_i r_ik [(x_i − μ_k)²/σ_k³ − 1/σ_k].
        Requires every π_k > 0 and σ_k > 0.
    """
    x = _as_x(x)
    w = np.asarray(weights, dtype=float)
    mu = np.asarray(means, dtype=float)
    sd = np.asarray(sds, dtype=float)
    lj = np.log(w)[None, :] + _log_normal(x[:, None], mu[None, :], sd[None, :])
    lse = logsumexp(lj, axis=1)
    r = np.exp(lj - lse[:, None])
    N = len(x)
    d = x[:, None] - mu[None, :]
    rk = r.sum(axis=0) / N
    d_pi = rk[:-1] / w[:-1] - rk[-1] / w[-1]
    d_mu = np.sum(r * d, axis=0) / N / sd**2
    d_sd = np.sum(r * (d * d / sd**3 - 1.0 / sd), axis=0) / N
    return float(lse.sum() / N), d_pi, d_mu, d_sd


@dataclass(frozen=True)
class GradientPath:
    """Result of :func:`gradient_ascent`.

    Attributes
    ----------
    weights, means, sds : ndarray (T + 1, K)
        The iterates (row 0 is the start); only valid iterates are kept.
    loglik : ndarray (T + 1,)
        ℓ at each iterate (the full log-likelihood, not ℓ/N).
    step_size : float
    free : str
        "all" (π, μ, σ move) or "means" (σ, π held at the start).
    status : str
        "max_steps" (ran all steps), "converged" (the gradient vanished to ``tol``),
        "invalid" (the next step would give some π_k ≤ 0 or σ_k ≤ 0) or "diverged" (ℓ or the
        parameters stopped being finite).
    message : str
        One sentence saying how the run ended.
    n_decreases : int
        Steps at which ℓ went down (the step overshot).
    first_decrease : int
        Index of the first iterate whose ℓ is below its predecessor's (−1 if none).
    """

    weights: np.ndarray
    means: np.ndarray
    sds: np.ndarray
    loglik: np.ndarray
    step_size: float
    free: str
    status: str
    message: str
    n_decreases: int
    first_decrease: int

    @property
    def n_steps(self) -> int:
        return len(self.loglik) - 1


def gradient_ascent(x, start: GaussianParams, step_size: float, n_steps: int = 100,
                    free: str = "all", tol: float = 1e-10) -> GradientPath:
    """Gradient ascent on the average log-likelihood ℓ/N with a fixed step size.

    θ ← θ + step_size · ∇(ℓ/N), in the raw coordinates (π₁ … π_{K−1}, μ_1 … μ_K, σ_1 … σ_K)
    with π_K = 1 − Σ_{k<K} π_k. Nothing keeps the iterate valid: the run stops, and says so,
    at the first step that would make a weight or a standard deviation ≤ 0, or any value
    non-finite. (EM's M-step needs no step size and always returns valid π and σ.)

    Parameters
    ----------
    x : array_like (N,)
    start : GaussianParams, D = 1
    step_size : float > 0
    n_steps : int
    free : {"all", "means"}
        Move every parameter, or only the means (σ and π stay at the start's values).
    tol : float
        Stop as "converged" when the largest gradient component is below ``tol``.
    """
    x = _as_x(x)
    if not (step_size > 0 and np.isfinite(step_size)):
        raise ValueError("step_size must be a positive finite number")
    if free not in ("all", "means"):
        raise ValueError("free must be 'all' or 'means'")
    w, mu, sd = (a.copy() for a in _wms(start))
    N = len(x)
    Ws, Ms, Ss, Ls = [w.copy()], [mu.copy()], [sd.copy()], []
    status, message = "max_steps", f"Ran all {int(n_steps)} steps."
    val = None
    for it in range(int(n_steps)):
        val, d_pi, d_mu, d_sd = loglik_gradient(x, w, mu, sd)
        if it == 0:
            Ls.append(val * N)
        g_max = float(np.max(np.abs(d_mu)))
        if free == "all":
            g_max = max(g_max, float(np.max(np.abs(d_sd))), float(np.max(np.abs(d_pi), initial=0.0)))
        if g_max < tol:
            status, message = "converged", f"The gradient vanished after {it} steps."
            break
        mu_new = mu + step_size * d_mu
        if free == "all":
            head = w[:-1] + step_size * d_pi
            w_new = np.append(head, 1.0 - head.sum())
            sd_new = sd + step_size * d_sd
        else:
            w_new, sd_new = w, sd
        if not (np.all(np.isfinite(mu_new)) and np.all(np.isfinite(w_new)) and np.all(np.isfinite(sd_new))):
            status, message = "diverged", f"Step {it + 1} gave non-finite parameters."
            break
        bad_w = np.flatnonzero(w_new <= 0)
        bad_s = np.flatnonzero(sd_new <= 0)
        if bad_w.size or bad_s.size:
            what = (f"π{_sub(int(bad_w[0]) + 1)} = {w_new[bad_w[0]]:.3g}" if bad_w.size
                    else f"σ{_sub(int(bad_s[0]) + 1)} = {sd_new[bad_s[0]]:.3g}")
            status = "invalid"
            message = (f"Step {it + 1} would leave the valid region ({what} ≤ 0); a fixed step "
                       f"knows nothing of the constraints.")
            break
        new_val = _loglik(x, w_new, mu_new, sd_new)
        if not np.isfinite(new_val):
            status, message = "diverged", f"Step {it + 1} gave a log-likelihood that is not finite."
            break
        w, mu, sd = w_new, mu_new, sd_new
        Ws.append(w.copy())
        Ms.append(mu.copy())
        Ss.append(sd.copy())
        Ls.append(new_val)
    if not Ls:
        Ls.append(_loglik(x, w, mu, sd))
    L = np.asarray(Ls)
    dec = np.flatnonzero(np.diff(L) < 0)
    return GradientPath(np.array(Ws), np.array(Ms), np.array(Ss), L, float(step_size), free,
                        status, message, int(dec.size), int(dec[0] + 1) if dec.size else -1)


def em_step_sizes(x, params: GaussianParams) -> np.ndarray:
    """Step sizes η_k with μ_k + η_k ∂(ℓ/N)/∂μ_k = EM's M-step mean from θ = ``params``.

    ∂(ℓ/N)/∂μ_k = (N_k/N)(m_k − μ_k)/σ_k², with N_k = Σ_i r_ik and m_k the responsibility-
    weighted mean, so η_k = σ_k² N / N_k = σ_k² / π̂_k (π̂_k = N_k/N, the M-step's new weight).
    EM takes a different, data-chosen step for each component (the M-step mean does not
    depend on reg, so this holds with the prior too).
    """
    x = _as_x(x)
    w, mu, sd = _wms(params)
    lj = np.log(w)[None, :] + _log_normal(x[:, None], mu[None, :], sd[None, :])
    r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
    pi_hat = r.mean(axis=0)
    return sd**2 / pi_hat


# ----------------------------------------------------------------------------------------------
# the collapse spike
# ----------------------------------------------------------------------------------------------
def collapse_slice(x, params: GaussianParams, k: int, j: int | None = None, sigmas=None,
                   reg: float = 0.0, n: int = 241) -> dict:
    """ℓ as a function of σ_k alone, with μ_k moved onto the data point x_j.

    Every other parameter stays as in ``params``. As σ_k → 0 the m points equal to x_j give
    m (log π_k − log σ_k − ½ log 2π) → +∞ while every other point keeps only the other
    components' density, so ℓ ≈ C − m log σ_k: ℓ has no maximum (the "collapse"), though the
    spike may need an absurdly small σ_k to beat a good fit. With the prior
    −(reg/2) Σ_l 1/σ_l² the objective ℓ + log p goes to −∞ instead.

    Parameters
    ----------
    k : int
        Component index (0-based).
    j : int, optional
        Data index; default the point nearest μ_k.
    sigmas : array_like, optional
        Values of σ_k; default ``n`` values log-spaced from ``sigma_cross``/1000 (or
        10⁻⁶·σ_k if that is lower; never below 10⁻³⁰⁰) up to 3 times the larger of σ_k and
        the data's standard deviation.
    reg : float
        The prior of the objective curve.

    Returns
    -------
    dict with ``sigma`` (n,), ``loglik`` (n,), ``objective`` (n,) = ℓ − (reg/2) Σ_l 1/σ_l²,
    ``j``, ``x_j``, ``k``, ``m`` (points equal to x_j: the limiting slope dℓ/d log σ_k is −m),
    ``intercept`` C of the asymptote ℓ ≈ C − m log σ_k, ``loglik_now`` ℓ(params),
    ``sigma_cross`` (the σ_k at which the asymptote reaches ℓ(params); 0 when it underflows)
    and its ``log10_sigma_cross``, ``sigma_now``
    (σ_k of ``params``) and ``reg``.
    """
    x = _as_x(x)
    w, mu, sd = _wms(params)
    K = len(w)
    if not 0 <= k < K:
        raise IndexError(f"k must be in 0..{K - 1}")
    if K < 2:
        raise ValueError("a collapse needs another component to carry the other points")
    if j is None:
        j = int(np.argmin(np.abs(x - mu[k])))
    mu2 = mu.copy()
    mu2[k] = x[j]
    with np.errstate(divide="ignore"):
        lw = np.log(w)
    rest = logsumexp(np.array([lw[m] + _log_normal(x, mu2[m], sd[m]) for m in range(K) if m != k]),
                     axis=0)
    same = x == x[j]
    m_pts = int(same.sum())
    intercept = float(rest[~same].sum() + m_pts * (lw[k] - 0.5 * _LOG_2PI))
    ll_now = _loglik(x, w, mu, sd)
    log_cross = (intercept - ll_now) / m_pts
    if sigmas is None:
        top = 3.0 * max(float(sd[k]), float(np.std(x)), 1e-12)
        # past the crossing (the spike beats the fit), as far as float64 reaches
        lo = min(log_cross - np.log(1e3), np.log(max(float(sd[k]), 1e-300)) - np.log(1e6))
        sigmas = np.exp(np.linspace(max(lo, np.log(1e-300)), np.log(top), int(n)))
    sig = np.asarray(sigmas, dtype=float)
    with np.errstate(over="ignore", under="ignore"):
        own = lw[k] + _log_normal(x[None, :], mu2[k], sig[:, None])  # (n, N)
    ll = np.logaddexp(own, rest[None, :]).sum(axis=1)
    other_prec = float(np.sum(1.0 / np.delete(sd, k) ** 2))
    with np.errstate(over="ignore", divide="ignore"):
        obj = ll - 0.5 * float(reg) * (1.0 / sig**2 + other_prec) if reg > 0 else ll.copy()
    return {"sigma": sig, "loglik": ll, "objective": obj, "j": int(j), "x_j": float(x[j]),
            "k": int(k), "m": m_pts, "intercept": intercept, "loglik_now": ll_now,
            "sigma_cross": float(np.exp(log_cross)), "log10_sigma_cross": float(log_cross / np.log(10)),
            "sigma_now": float(sd[k]), "reg": float(reg)}


_SUBS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def collapse_start(x, n_candidates: int = 8, fractions=(0.3, 0.2, 0.15),
                   max_iter: int = 100) -> tuple[float, float]:
    """Where to start one of two components so that plain EM collapses: ``(x0, sd0)``.

    Tries the ``n_candidates`` most isolated points (largest distance to their nearest
    neighbour, ``iso``), each with σ₀ = f · iso for f in ``fractions``; the other component
    starts at the data's mean and variance, the weights at ½. Returns the first start from
    which EM with no prior (reg = 0) ends degenerate after at least two iterations, so a
    learner sees σ shrink for a few steps before the fit stops; if none does, the most
    isolated point with σ₀ = 0.3 · iso.
    """
    from .em import fit_gaussian_mixture

    x = _as_x(x)
    xs = np.sort(x)
    if len(xs) < 3:
        raise ValueError("collapse_start needs at least three points")
    d = np.diff(xs)
    iso = np.concatenate([[d[0]], np.minimum(d[:-1], d[1:]), [d[-1]]])
    for j in np.argsort(-iso, kind="stable")[:n_candidates]:
        for f in fractions:
            x0, sd0 = float(xs[j]), float(f * iso[j])
            if sd0 <= 0:
                continue
            start = GaussianParams(np.array([0.5, 0.5]), np.array([[x0], [float(x.mean())]]),
                                   np.array([[[sd0 ** 2]], [[float(x.var())]]]))
            tr = fit_gaussian_mixture(x, 2, init=start, reg=0.0, max_iter=max_iter, tol=None)
            if tr.status == "degenerate" and tr.n_iter >= 2:
                return x0, sd0
    j = int(np.argmax(iso))
    return float(xs[j]), float(0.3 * iso[j])


def _sub(k: int) -> str:
    return str(k).translate(_SUBS)
