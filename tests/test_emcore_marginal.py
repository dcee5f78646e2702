"""Marginals of a Gaussian mixture (emcore.marginal_params, emcore.MarginalTrace)."""

import numpy as np
import pytest
from scipy import integrate, stats

import emcore


def _params(seed=0, K=3, D=3):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(K, D, D))
    covs = A @ A.transpose(0, 2, 1) + 0.5 * np.eye(D)
    w = rng.dirichlet(np.ones(K))
    return emcore.GaussianParams(w, rng.normal(0, 2, (K, D)), covs)


def _mixture_pdf(params):
    """x -> Σ_k π_k N(x | μ_k, Σ_k), written with scipy.stats (independent of emcore)."""
    parts = [(w, stats.multivariate_normal(m, c))
             for w, m, c in zip(params.weights, params.means, params.covariances, strict=True)]
    return lambda x: sum(w * d.pdf(x) for w, d in parts)


@pytest.mark.parametrize("D, dims", [(3, (0, 2)), (3, (2, 1)), (2, (1,)), (4, (3, 0, 1))])
def test_marginal_density_equals_integrating_out_the_other_coordinate(D, dims):
    """Independent check: integrate the mixture density over the dropped coordinate."""
    p = _params(D=D)
    m = emcore.marginal_params(p, dims)
    assert m.n_features == len(dims) and np.array_equal(m.weights, p.weights)
    (rest,) = [j for j in range(D) if j not in dims]
    pdf, marginal_pdf = _mixture_pdf(p), _mixture_pdf(m)
    rng = np.random.default_rng(1)
    for _ in range(3):
        shown = rng.normal(0, 1.5, len(dims))

        def full(other, shown=shown):
            x = np.empty(D)
            x[list(dims)] = shown
            x[rest] = other
            return pdf(x)

        integral = integrate.quad(full, -60, 60, epsabs=1e-14, epsrel=1e-10, limit=200)[0]
        assert marginal_pdf(shown) == pytest.approx(integral, rel=1e-7)


def test_marginal_params_refuses_bad_dims():
    p = _params()
    for dims in [(), (0, 0), (0, 3)]:
        with pytest.raises(ValueError):
            emcore.marginal_params(p, dims)


def test_marginal_trace_shows_the_marginals_with_the_full_fits_responsibilities():
    X, *_ = emcore.make_gaussian_mixture_data(300, 3, 4, separation=3.0, seed=2)
    tr = emcore.fit_gaussian_mixture(X, 3, seed=0, max_iter=8)
    view = emcore.MarginalTrace(tr, (3, 1))
    assert view.full is tr and view.n_features == 2 and view.n_iter == tr.n_iter
    np.testing.assert_array_equal(view.X, X[:, [3, 1]])
    np.testing.assert_array_equal(view.log_likelihood, tr.log_likelihood)
    for s in range(tr.n_half_steps):
        hs, full = view.half_step(s), tr.half_step(s)
        assert (hs.s, hs.kind, hs.t, hs.label) == (full.s, full.kind, full.t, full.label)
        np.testing.assert_array_equal(hs.params.means, full.params.means[:, [3, 1]])
        np.testing.assert_array_equal(hs.params.covariances,
                                      full.params.covariances[:, [3, 1]][:, :, [3, 1]])
        assert (hs.resp is None) == (full.resp is None)
        if hs.resp is not None:
            np.testing.assert_array_equal(hs.resp, full.resp)
    np.testing.assert_array_equal(view.final_params.means, tr.final_params.means[:, [3, 1]])
    with pytest.raises(ValueError):
        emcore.MarginalTrace(emcore.fit_multinomial_mixture(np.ones((5, 3), int), 2, seed=0), (0, 1))
