"""Marginals of a Gaussian mixture on a few of its coordinates.

If x ~ Σ_k π_k N(μ_k, Σ_k) in D dimensions, the sub-vector x_d on the coordinates ``d`` is
distributed as Σ_k π_k N(μ_k[d], Σ_k[d, d]): the same weights, the means and covariance
blocks of those coordinates. A 2-D figure of a fit in more than two columns draws this.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .em import HalfStep
from .params import GaussianParams

__all__ = ["marginal_params", "MarginalTrace"]


def marginal_params(params: GaussianParams, dims) -> GaussianParams:
    """The mixture's marginal on the coordinates ``dims`` (a sequence of distinct indices).

    Returns
    -------
    GaussianParams
        Weights π_k, means μ_k[dims] (K, d) and covariances Σ_k[dims, dims] (K, d, d).
    """
    d = [int(j) for j in dims]
    D = params.n_features
    if not d or len(set(d)) != len(d) or not all(-D <= j < D for j in d):
        raise ValueError(f"dims must be distinct coordinates in 0..{D - 1}, got {list(dims)}")
    return GaussianParams(
        params.weights, params.means[:, d], params.covariances[:, d][:, :, d]
    )


class MarginalTrace:
    """A Gaussian ``Trace`` seen on a few of its coordinates, for figures.

    ``params`` and ``half_step(s).params`` are the marginals of the fit's θ_t on ``dims``;
    the responsibilities, ℓ, the bound and every other attribute are those of the full fit
    (the points are assigned by all the columns, not by the ones shown).
    """

    def __init__(self, trace, dims):
        if trace.family != "gaussian":
            raise ValueError(f"marginals exist for Gaussian fits only, not {trace.family!r}")
        self._trace = trace
        self.dims = tuple(int(j) for j in dims)
        self.params = [marginal_params(p, self.dims) for p in trace.params]
        self.n_features = len(self.dims)

    @property
    def full(self):
        """The trace of the fit in all its columns."""
        return self._trace

    @property
    def final_params(self) -> GaussianParams:
        return self.params[-1]

    def half_step(self, s: int) -> HalfStep:
        hs = self._trace.half_step(s)
        return dataclasses.replace(hs, params=self.params[hs.theta_index])

    @property
    def X(self) -> np.ndarray:
        """The fitted data on the shown coordinates."""
        return np.asarray(self._trace.X)[:, list(self.dims)]

    def __getattr__(self, name):
        # everything else (log_likelihood, objective, responsibilities, n_iter, status, ...)
        # is the full fit's; only reached for names not defined above
        if name.startswith("__") or name == "_trace":
            raise AttributeError(name)
        return getattr(self._trace, name)
