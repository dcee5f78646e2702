"""Model choice: parameter counts, BIC / AIC / ICL, restarts and a K = 1…K_max sweep."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .em import Trace
from .registry import family_for_params, fit_mixture

__all__ = ["n_parameters", "bic", "aic", "icl", "fit_restarts", "select_n_components",
           "Selection", "best_trace"]


def n_parameters(trace_or_params, covariance_type=None):
    """Number of free parameters.

    Gaussian: (K − 1) + K·D + {full: K·D(D+1)/2, diag: K·D, spherical: K, tied: D(D+1)/2}.
    Multinomial: (K − 1) + K·(V − 1). Bernoulli: (K − 1) + K·D. (Each family counts its own.)

    Parameters
    ----------
    trace_or_params : Trace or the parameters of a registered family
    covariance_type : str, optional
        Needed for ``GaussianParams`` (they always store full matrices); default "full".
    """
    if isinstance(trace_or_params, Trace):
        p = trace_or_params.params[0]
        family = trace_or_params._family
    else:
        p = trace_or_params
        if not hasattr(p, "n_components"):
            raise TypeError("expected a Trace or mixture parameters")
        family = family_for_params(p, covariance_type=covariance_type or "full")
    return family.n_parameters(p.n_components, p.n_features)


def bic(trace):
    """BIC = −2 ℓ(θ_final) + p log N (lower is better).

    R's mclust reports the same number with the opposite sign, 2ℓ − p log N, where higher is
    better.
    """
    return float(-2.0 * trace.log_likelihood[-1] + n_parameters(trace) * np.log(trace.n_samples))


def aic(trace):
    """AIC = −2 ℓ(θ_final) + 2 p (lower is better)."""
    return float(-2.0 * trace.log_likelihood[-1] + 2.0 * n_parameters(trace))


def icl(trace, labels="map"):
    """Integrated completed likelihood, on BIC's scale (lower is better).

    ``labels="map"`` (default) is the ICL of Biernacki, Celeux & Govaert (2000): each point
    takes its most probable component ẑ_i, and ICL = BIC − 2 Σ_i log r_{i ẑ_i} (the
    completed log-likelihood of those hard labels, as R's mclust computes it, with mclust's
    sign flipped). ``labels="soft"`` is the entropy form of McLachlan & Peel (2000, "ICL-BIC"):
    ICL = BIC + 2 H(r) with H(r) = −Σ_ik r_ik log r_ik. Both charge for overlapping components
    (uncertain assignments); since −log max_k r_ik ≤ −Σ_k r_ik log r_ik, the MAP form is never
    larger than the entropy form. The responsibilities r are the soft posterior at the final θ,
    also for a hard-EM trace.
    """
    if labels not in ("map", "soft"):
        raise ValueError(f"labels must be 'map' or 'soft', got {labels!r}")
    resp = trace.responsibilities(trace.n_iter)
    if trace.hard:
        # a hard trace's stored responsibilities are one-hot; ICL needs the soft posterior
        from .api import e_step

        resp, _ = e_step(trace.X, trace.params[-1])
    if labels == "map":
        top = resp.max(axis=1)
        return bic(trace) - 2.0 * float(np.sum(np.log(top)))
    pos = resp > 0
    H = float(-np.sum(resp[pos] * np.log(resp[pos])))
    return bic(trace) + 2.0 * H


def best_trace(traces):
    """The trace with the highest final objective, preferring non-degenerate ones."""
    ok = [tr for tr in traces if tr.status != "degenerate"] or list(traces)
    return max(ok, key=lambda tr: tr.objective[-1])


def fit_restarts(X, n_components, n_init=5, seed=0, family="gaussian", **fit_kwargs):
    """Fit ``n_init`` times; restart i uses seed ``seed + i``.

    Returns
    -------
    list[Trace]
        In restart order (use ``best_trace`` for the best one).
    """
    if n_init < 1:
        raise ValueError("n_init must be at least 1")
    return [fit_mixture(X, n_components, family=family, seed=seed + i, **fit_kwargs)
            for i in range(int(n_init))]


@dataclass
class Selection:
    """Result of ``select_n_components``.

    Attributes
    ----------
    ks : ndarray (M,)  the K values tried (1 … k_max, those ≤ N)
    traces : dict[int, list[Trace]]  every restart for every K
    best : dict[int, Trace]  the best restart for every K
    bic, aic, icl : ndarray (M,)  criteria of ``best[k]`` (lower is better); ``icl`` is the
        MAP-label ICL of Biernacki et al. (2000)
    icl_soft : ndarray (M,)  the entropy form BIC + 2 H(r) (McLachlan & Peel's ICL-BIC)
    """

    ks: np.ndarray
    traces: dict
    best: dict
    bic: np.ndarray
    aic: np.ndarray
    icl: np.ndarray
    icl_soft: np.ndarray | None = None

    @property
    def best_k_bic(self):
        return int(self.ks[int(np.argmin(self.bic))])

    @property
    def best_k_icl(self):
        return int(self.ks[int(np.argmin(self.icl))])


def select_n_components(X, k_max, n_init=3, seed=0, family="gaussian", **fit_kwargs):
    """Fit K = 1 … k_max with ``n_init`` restarts each and score the best fit of each K.

    Returns
    -------
    Selection
    """
    n = X.shape[0] if hasattr(X, "shape") and len(X.shape) > 0 else len(X)
    ks = np.arange(1, int(min(k_max, n)) + 1)
    traces, best = {}, {}
    for k in ks:
        traces[int(k)] = fit_restarts(X, int(k), n_init=n_init, seed=seed, family=family, **fit_kwargs)
        best[int(k)] = best_trace(traces[int(k)])
    return Selection(
        ks=ks,
        traces=traces,
        best=best,
        bic=np.array([bic(best[int(k)]) for k in ks]),
        aic=np.array([aic(best[int(k)]) for k in ks]),
        icl=np.array([icl(best[int(k)]) for k in ks]),
        icl_soft=np.array([icl(best[int(k)], labels="soft") for k in ks]),
    )
