"""Sampling, simple starting values and synthetic data sets with known true parameters."""

from __future__ import annotations

import numpy as np

from .gaussian import as_gaussian_data
from .params import GaussianParams, MultinomialParams
from .registry import family_for_params

__all__ = ["sample", "params_from_means", "make_gaussian_mixture_data", "make_multinomial_mixture_data"]


def sample(params, n, seed=None, n_trials=None):
    """Draw n rows from a mixture.

    Parameters
    ----------
    params : parameters of a registered family (GaussianParams, MultinomialParams, …)
    n : int
    seed : int or None
    n_trials : int or array_like (n,)
        Basket sizes; required for multinomial mixtures.

    Returns
    -------
    X : ndarray (n, D) floats, (n, V) int64 counts or (n, D) int64 0/1
    z : ndarray (n,) int
        The true component of every row.
    """
    family = family_for_params(params)
    rng = np.random.default_rng(seed)
    n = int(n)
    z = rng.choice(params.n_components, size=n, p=params.weights)
    options = {} if n_trials is None else {"n_trials": n_trials}
    return family.sample_rows(params, z, rng, **options), z


def params_from_means(X, means, sds=None):
    """θ with the given means, equal weights and the data's (ML) covariance for every component.

    Parameters
    ----------
    X : array_like (N, D) or (N,)
    means : array_like (K, D) (or (K,) for D = 1)
    sds : array_like (K,), optional
        Standard deviations: component k then has the covariance sds[k]²·I instead of the
        data's covariance.

    Returns
    -------
    GaussianParams
    """
    X = as_gaussian_data(X)
    means = np.asarray(means, dtype=float)
    if means.ndim == 1:
        means = means[:, None] if X.shape[1] == 1 else means[None, :]
    K, D = means.shape
    if sds is not None:
        sds = np.asarray(sds, dtype=float).reshape(K)
        covs = sds[:, None, None] ** 2 * np.eye(D)
        return GaussianParams(np.full(K, 1.0 / K), means, covs)
    cov = np.cov(X, rowvar=False, bias=True).reshape(D, D)
    return GaussianParams(np.full(K, 1.0 / K), means, np.broadcast_to(cov, (K,) + cov.shape))


def make_gaussian_mixture_data(n=500, n_components=3, n_features=2, separation=4.0, seed=0):
    """Synthetic Gaussian-mixture data with known parameters.

    Means are spread ``separation`` standard deviations apart on average, covariances are
    random (moderately elongated), weights random but not tiny.

    Returns
    -------
    X : ndarray (n, D)
    z : ndarray (n,)
    true_params : GaussianParams
    """
    rng = np.random.default_rng(seed)
    K, D = int(n_components), int(n_features)
    weights = rng.dirichlet(np.full(K, 5.0))
    means = rng.normal(scale=separation, size=(K, D))
    covs = np.empty((K, D, D))
    for k in range(K):
        A = rng.normal(size=(D, D))
        Q, _ = np.linalg.qr(A)
        scales = rng.uniform(0.5, 1.5, size=D)
        covs[k] = (Q * scales**2) @ Q.T
    params = GaussianParams(weights, means, covs)
    X, z = sample(params, n, seed=rng.integers(2**32))
    return X, z, params


def make_multinomial_mixture_data(n=1000, n_components=3, n_categories=12, basket_size=(5, 30),
                                  concentration=0.3, seed=0):
    """Synthetic baskets from a mixture of multinomials with known parameters.

    Each segment's category probabilities are drawn from Dirichlet(concentration) (small
    concentration = distinct, peaked segments); basket sizes are uniform on ``basket_size``.

    Returns
    -------
    X : ndarray (n, V) int64
    z : ndarray (n,)
    true_params : MultinomialParams
    """
    rng = np.random.default_rng(seed)
    K, V = int(n_components), int(n_categories)
    weights = rng.dirichlet(np.full(K, 5.0))
    probs = rng.dirichlet(np.full(V, concentration), size=K)
    probs = 0.98 * probs + 0.02 / V  # every category possible in every segment
    probs /= probs.sum(axis=1, keepdims=True)
    params = MultinomialParams(weights, probs)
    sizes = rng.integers(basket_size[0], basket_size[1] + 1, size=n)
    X, z = sample(params, n, seed=rng.integers(2**32), n_trials=sizes)
    return X, z, params
