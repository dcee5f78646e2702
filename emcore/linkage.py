"""The first EM example: genetic linkage (Dempster, Laird & Rubin, 1977, §1).

197 animals fall into four categories with counts y = (125, 18, 20, 34) and cell
probabilities

    p(θ) = (1/2 + θ/4, (1 − θ)/4, (1 − θ)/4, θ/4),     0 < θ < 1.

The first cell is a merge of two cells with probabilities 1/2 and θ/4; the split of its 125
animals into x₁ (probability 1/2) and x₂ (probability θ/4) is the missing data. With the
split known, the likelihood is binomial-like, θ^(x₂ + y₄) (1 − θ)^(y₂ + y₃), and the
maximiser is a ratio of counts. EM alternates

* E-step: x₂⁽ᵗ⁾ = E[x₂ | y, θ⁽ᵗ⁾] = y₁ · (θ⁽ᵗ⁾/4) / (1/2 + θ⁽ᵗ⁾/4)  (a binomial mean),
* M-step: θ⁽ᵗ⁺¹⁾ = (x₂⁽ᵗ⁾ + y₄) / (x₂⁽ᵗ⁾ + y₂ + y₃ + y₄).

Everything here is plain float arithmetic (numpy only); ``ℓ`` is the full multinomial
log-probability log p(y | θ), coefficient included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .em import HalfStep, half_step_label, half_step_position

__all__ = [
    "DLR_Y",
    "DLR_THETA0",
    "LinkageTrace",
    "cell_probs",
    "log_likelihood",
    "e_step",
    "m_step",
    "mle",
    "rate",
    "missing_information_fraction",
    "DLR_TABLE1",
    "DLR_THETA_STAR",
    "fit_linkage",
    "curves",
    "compare_table1",
]

#: The counts of Dempster, Laird & Rubin (1977), from Rao (1965, pp. 368–369).
DLR_Y: tuple[int, int, int, int] = (125, 18, 20, 34)
#: Their starting value.
DLR_THETA0 = 0.5
#: The iterates θ⁽⁰⁾ … θ⁽⁸⁾ as printed in DLR's Table 1 (nine decimals), and their θ*. These are
#: the *published* values, shown beside ours for comparison; ours are computed by
#: :func:`fit_linkage`.
DLR_TABLE1: tuple[float, ...] = (0.500000000, 0.608247423, 0.624321051, 0.626488879,
                                 0.626777323, 0.626815632, 0.626820719, 0.626821395,
                                 0.626821484)
DLR_THETA_STAR = 0.626821498


def _counts(y) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.shape != (4,) or np.any(y < 0) or not np.all(np.isfinite(y)):
        raise ValueError("y must be four non-negative counts")
    if y[3] + y[0] <= 0 or y[1] + y[2] <= 0:
        raise ValueError("the counts must leave θ inside (0, 1)")
    return y


def cell_probs(theta: float) -> np.ndarray:
    """The four cell probabilities (1/2 + θ/4, (1 − θ)/4, (1 − θ)/4, θ/4)."""
    th = float(theta)
    return np.array([0.5 + th / 4, (1 - th) / 4, (1 - th) / 4, th / 4])


def log_coefficient(y=DLR_Y) -> float:
    """log of the multinomial coefficient n! / (y₁! y₂! y₃! y₄!)."""
    y = _counts(y)
    return math.lgamma(y.sum() + 1) - sum(math.lgamma(v + 1) for v in y)


def log_likelihood(theta, y=DLR_Y) -> float | np.ndarray:
    """ℓ(θ) = log p(y | θ), the multinomial log-probability (vectorised over θ)."""
    y = _counts(y)
    th = np.asarray(theta, dtype=float)
    out = (log_coefficient(y) + y[0] * np.log(0.5 + th / 4) + (y[1] + y[2]) * np.log((1 - th) / 4)
           + y[3] * np.log(th / 4))
    return float(out) if out.ndim == 0 else out


def e_step(theta: float, y=DLR_Y) -> float:
    """E[x₂ | y, θ] = y₁ · (θ/4) / (1/2 + θ/4) = y₁ θ / (2 + θ)."""
    y = _counts(y)
    return float(y[0] * theta / (2.0 + theta))


def m_step(x2: float, y=DLR_Y) -> float:
    """θ = (x₂ + y₄) / (x₂ + y₂ + y₃ + y₄): the complete-data maximiser."""
    y = _counts(y)
    return float((x2 + y[3]) / (x2 + y[1] + y[2] + y[3]))


def mle(y=DLR_Y) -> float:
    """The maximum-likelihood θ* in closed form.

    ℓ'(θ) = y₁/(2 + θ) − (y₂ + y₃)/(1 − θ) + y₄/θ = 0; multiplying by θ(2 + θ)(1 − θ) gives
    n θ² − b θ − 2y₄ = 0 with n = Σy and b = y₁ − 2(y₂ + y₃) − y₄, whose positive root is θ*.
    """
    y = _counts(y)
    n = y.sum()
    b = y[0] - 2 * (y[1] + y[2]) - y[3]
    return float((b + math.sqrt(b * b + 8 * n * y[3])) / (2 * n))


def rate(y=DLR_Y) -> float:
    """M'(θ*), the derivative of the EM map θ ↦ m_step(e_step(θ)) at θ*.

    Near θ*, θ⁽ᵗ⁺¹⁾ − θ* ≈ M'(θ*) (θ⁽ᵗ⁾ − θ*): the ratio column of DLR's Table 1. With
    e(θ) = y₁θ/(2 + θ) and m = y₂ + y₃ + y₄, M'(θ) = e'(θ)(y₂ + y₃)/(e(θ) + m)² and
    e'(θ) = 2y₁/(2 + θ)².
    """
    y = _counts(y)
    th = mle(y)
    e = y[0] * th / (2 + th)
    de = 2 * y[0] / (2 + th) ** 2
    return float(de * (y[1] + y[2]) / (e + y[1] + y[2] + y[3]) ** 2)


def missing_information_fraction(y=DLR_Y) -> float:
    """1 − I_obs / I_c at θ*: the share of the complete-data information that is missing.

    I_obs = −ℓ''(θ*) = y₁/(2 + θ)² + (y₂ + y₃)/(1 − θ)² + y₄/θ², and I_c, the expected
    complete-data information given y, is (x₂* + y₄)/θ² + (y₂ + y₃)/(1 − θ)² with
    x₂* = e_step(θ*). DLR (1977, §3) show that this is EM's rate of convergence, M'(θ*).
    """
    y = _counts(y)
    th = mle(y)
    i_obs = y[0] / (2 + th) ** 2 + (y[1] + y[2]) / (1 - th) ** 2 + y[3] / th**2
    i_c = (e_step(th, y) + y[3]) / th**2 + (y[1] + y[2]) / (1 - th) ** 2
    return float(1.0 - i_obs / i_c)


@dataclass(frozen=True)
class LinkageTrace:
    """Every iterate of EM on the linkage data.

    Attributes
    ----------
    y : tuple of 4 ints
    theta : ndarray (n_iter + 1,)
        θ⁽⁰⁾ … θ⁽ⁿ⁾.
    x2 : ndarray (n_iter,)
        x₂⁽ᵗ⁾ = E[x₂ | y, θ⁽ᵗ⁾], the E-step of iteration t + 1.
    log_likelihood : ndarray (n_iter + 1,)
        ℓ(θ⁽ᵗ⁾).
    bound : ndarray (n_iter,)
        𝓛(qₜ, θ⁽ᵗ⁺¹⁾) = ℓ(θ⁽ᵗ⁾) + Q(θ⁽ᵗ⁺¹⁾ | θ⁽ᵗ⁾) − Q(θ⁽ᵗ⁾ | θ⁽ᵗ⁾), the lower bound after M-step t + 1.
    theta_star : float
        The closed-form maximiser (:func:`mle`).
    """

    y: tuple
    theta: np.ndarray
    x2: np.ndarray
    log_likelihood: np.ndarray
    bound: np.ndarray
    theta_star: float

    @property
    def n_iter(self) -> int:
        return int(len(self.theta) - 1)

    @property
    def n_half_steps(self) -> int:
        """2·n_iter + 1 slider positions, as for a mixture ``Trace``."""
        return 2 * self.n_iter + 1

    @property
    def kl(self) -> np.ndarray:
        """ℓ(θ⁽ᵗ⁺¹⁾) − 𝓛(qₜ, θ⁽ᵗ⁺¹⁾) ≥ 0 (computed with :func:`curves`' accurate differences)."""
        out = np.empty(self.n_iter)
        for t in range(self.n_iter):
            c = curves(self.theta[t + 1], self.theta[t], self.y)
            out[t] = c["loglik_rel"] - c["bound_rel"]
        return out

    @property
    def gain(self) -> np.ndarray:
        """ℓ(θ⁽ᵗ⁺¹⁾) − ℓ(θ⁽ᵗ⁾) for each iteration, accurate to its own digits (via :func:`curves`)."""
        return np.array([curves(self.theta[t + 1], self.theta[t], self.y)["loglik_rel"]
                         for t in range(self.n_iter)])

    @property
    def errors(self) -> np.ndarray:
        """θ⁽ᵗ⁾ − θ*, t = 0 … n_iter."""
        return self.theta - self.theta_star

    @property
    def ratios(self) -> np.ndarray:
        """(θ⁽ᵗ⁺¹⁾ − θ*) / (θ⁽ᵗ⁾ − θ*), t = 0 … n_iter − 1 (NaN where θ⁽ᵗ⁾ = θ* exactly)."""
        e = self.errors
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(e[:-1] != 0, e[1:] / np.where(e[:-1] != 0, e[:-1], 1.0), np.nan)

    def half_step(self, s: int) -> HalfStep:
        """Slider position s: θ⁽⁰⁾, then "E-step t+1" (x₂⁽ᵗ⁾ computed, θ⁽ᵗ⁾) and "M-step t+1"
        (θ⁽ᵗ⁺¹⁾). ``params`` is the θ shown, ``resp`` the expected split (x₁, x₂) of y₁."""
        s = int(s)
        kind, t = half_step_position(s, self.n_half_steps)
        split = None if kind == "init" else np.array([self.y[0] - self.x2[t], self.x2[t]])
        return HalfStep(s, kind, t, float(self.theta[t + 1 if kind == "M" else t]), split,
                        half_step_label(s))


def fit_linkage(y=DLR_Y, theta0: float = DLR_THETA0, max_iter: int = 50,
                tol: float | None = 1e-10) -> LinkageTrace:
    """Run EM from θ⁽⁰⁾ until |θ⁽ᵗ⁺¹⁾ − θ⁽ᵗ⁾| < tol (or ``max_iter`` iterations; tol=None runs all)."""
    y = _counts(y)
    if not 0.0 < theta0 < 1.0:
        raise ValueError("theta0 must lie strictly between 0 and 1")
    thetas, x2s, bounds = [float(theta0)], [], []
    for _ in range(int(max_iter)):
        th = thetas[-1]
        x2 = e_step(th, y)
        new = m_step(x2, y)
        x2s.append(x2)
        c = curves(new, th, y)
        bounds.append(float(log_likelihood(th, y) + c["bound_rel"]))
        thetas.append(new)
        if tol is not None and abs(new - th) < tol:
            break
    theta = np.array(thetas)
    return LinkageTrace(tuple(int(v) if float(v).is_integer() else float(v) for v in y), theta,
                        np.array(x2s), np.asarray(log_likelihood(theta, y), dtype=float),
                        np.array(bounds), mle(y))


def compare_table1(trace: LinkageTrace, decimals: int = 9) -> dict:
    """Our iterates against DLR's printed Table 1 (rows present in both).

    Returns
    -------
    dict with ``rows`` (how many were compared), ``max_abs_diff`` (float) and
    ``differ_rows`` (the t whose values, rounded to ``decimals``, print differently).
    """
    n = min(len(DLR_TABLE1), trace.n_iter + 1)
    ours = trace.theta[:n]
    pub = np.asarray(DLR_TABLE1[:n])
    differ = [t for t in range(n) if f"{ours[t]:.{decimals}f}" != f"{pub[t]:.{decimals}f}"]
    return {"rows": n, "max_abs_diff": float(np.max(np.abs(ours - pub))), "differ_rows": differ}


def curves(theta, theta_t: float, y=DLR_Y) -> dict:
    """ℓ(θ) − ℓ(θ⁽ᵗ⁾) and 𝓛(qₜ, θ) − ℓ(θ⁽ᵗ⁾) along θ, accurate even for θ very close to θ⁽ᵗ⁾.

    With x₂⁽ᵗ⁾ = e_step(θ⁽ᵗ⁾), the bound is the minorizer

        𝓛(qₜ, θ) = ℓ(θ⁽ᵗ⁾) + (x₂⁽ᵗ⁾ + y₄) log(θ/θ⁽ᵗ⁾) + (y₂ + y₃) log((1 − θ)/(1 − θ⁽ᵗ⁾)),

    i.e. ℓ(θ⁽ᵗ⁾) + Q(θ | θ⁽ᵗ⁾) − Q(θ⁽ᵗ⁾ | θ⁽ᵗ⁾); it touches ℓ at θ⁽ᵗ⁾ and peaks at m_step(x₂⁽ᵗ⁾).
    Differences are formed with log1p so that late iterations (|θ − θ⁽ᵗ⁾| ~ 1e-9) keep their
    digits.

    Returns
    -------
    dict with ``theta`` (array), ``loglik_rel``, ``bound_rel`` (arrays, or floats for a
    scalar θ), ``loglik_t`` = ℓ(θ⁽ᵗ⁾) and ``x2`` = x₂⁽ᵗ⁾.
    """
    y = _counts(y)
    th = np.asarray(theta, dtype=float)
    tt = float(theta_t)
    d = th - tt
    log_ratio = np.log1p(d / tt)                # log(θ/θ⁽ᵗ⁾)
    log_ratio_c = np.log1p(-d / (1.0 - tt))     # log((1 − θ)/(1 − θ⁽ᵗ⁾))
    log_ratio_a = np.log1p(d / (2.0 + tt))      # log((2 + θ)/(2 + θ⁽ᵗ⁾))
    x2 = e_step(tt, y)
    ll = y[0] * log_ratio_a + (y[1] + y[2]) * log_ratio_c + y[3] * log_ratio
    bd = (x2 + y[3]) * log_ratio + (y[1] + y[2]) * log_ratio_c
    if th.ndim == 0:
        ll, bd = float(ll), float(bd)
    return {"theta": th, "loglik_rel": ll, "bound_rel": bd,
            "loglik_t": float(log_likelihood(tt, y)), "x2": x2}
