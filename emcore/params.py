"""Parameter containers for the two mixture families.

Both are frozen dataclasses holding read-only float64 arrays, so a ``Trace`` can hand the
same object to many figures without anyone mutating it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GaussianParams", "MultinomialParams", "COVARIANCE_TYPES"]

COVARIANCE_TYPES = ("full", "diag", "spherical", "tied")


def _frozen(a, ndim, name):
    arr = np.array(a, dtype=np.float64, copy=True)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class GaussianParams:
    """Parameters of a K-component Gaussian mixture in D dimensions.

    Parameters
    ----------
    weights : array_like, shape (K,)
        Mixing proportions π_k (non-negative, summing to 1).
    means : array_like, shape (K, D)
        Component means μ_k. A 1-D array of length K is read as D = 1.
    covariances : array_like, shape (K, D, D)
        Full covariance matrices Σ_k (always stored in full form, whatever the covariance
        type that produced them). Shapes (K,) or (K, 1) are accepted for D = 1 and read as
        variances.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    def __post_init__(self):
        w = _frozen(self.weights, 1, "weights")
        m = np.asarray(self.means, dtype=np.float64)
        if m.ndim == 1:
            m = m[:, None]
        m = _frozen(m, 2, "means")
        c = np.asarray(self.covariances, dtype=np.float64)
        if m.shape[1] == 1 and c.ndim in (1, 2) and c.shape[0] == m.shape[0] and c.size == m.shape[0]:
            c = c.reshape(-1, 1, 1)
        c = _frozen(c, 3, "covariances")
        K, D = m.shape
        if w.shape != (K,) or c.shape != (K, D, D):
            raise ValueError(
                f"inconsistent shapes: weights {w.shape}, means {m.shape}, covariances {c.shape}"
            )
        if np.any(w < 0) or not np.isclose(w.sum(), 1.0, rtol=0, atol=1e-8):
            raise ValueError("weights must be non-negative and sum to 1")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "covariances", c)

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        """Dimension D."""
        return self.means.shape[1]

    def to_dict(self) -> dict:
        """JSON-safe nested lists."""
        return {
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "covariances": self.covariances.tolist(),
        }


@dataclass(frozen=True, eq=False)
class MultinomialParams:
    """Parameters of a K-component mixture of multinomials over V categories.

    Parameters
    ----------
    weights : array_like, shape (K,)
        Mixing proportions π_k.
    probs : array_like, shape (K, V)
        Category probabilities θ_kv of each component; every row sums to 1.
    """

    weights: np.ndarray
    probs: np.ndarray

    def __post_init__(self):
        w = _frozen(self.weights, 1, "weights")
        p = _frozen(self.probs, 2, "probs")
        if p.shape[0] != w.shape[0]:
            raise ValueError(f"inconsistent shapes: weights {w.shape}, probs {p.shape}")
        if np.any(w < 0) or not np.isclose(w.sum(), 1.0, rtol=0, atol=1e-8):
            raise ValueError("weights must be non-negative and sum to 1")
        if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-8):
            raise ValueError("every row of probs must be non-negative and sum to 1")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "probs", p)

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return self.probs.shape[0]

    @property
    def n_categories(self) -> int:
        """Number of categories V."""
        return self.probs.shape[1]

    @property
    def n_features(self) -> int:
        """Number of categories V (the columns of the counts), as for every family."""
        return self.probs.shape[1]

    def to_dict(self) -> dict:
        """JSON-safe nested lists."""
        return {"weights": self.weights.tolist(), "probs": self.probs.tolist()}
