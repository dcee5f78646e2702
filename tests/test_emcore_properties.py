"""Property tests (hypothesis): EM never lowers its objective, on awkward data too."""

import numpy as np
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import emcore

FIELDS = ("log_likelihood", "log_prior", "objective", "q", "entropy", "elbo", "kl")


def _check_trace(tr, slack: float = 0.0):
    """Every recorded number is finite and EM never lowers its objective, to round-off: a
    relative 1e-9 of the objective, plus ``slack`` (what ill-conditioned data cost in float64:
    see :func:`_round_off`), never more than a relative 1e-3 of the objective."""
    for name in FIELDS:
        arr = getattr(tr, name)
        assert np.all(np.isfinite(arr)), f"{name} has NaN/inf: {arr}"
    for p in tr.params:
        for arr in vars(p).values():
            assert np.all(np.isfinite(arr))
    obj = tr.objective
    scale = np.maximum(np.abs(obj[1:]), np.abs(obj[:-1]))
    tol = 1e-9 * scale + 1e-12 + np.minimum(slack, 1e-3 * np.maximum(scale, 1.0))
    assert np.all(np.diff(obj) >= -tol), f"objective decreased: {np.diff(obj).min()} ({tr.status})"
    assert np.all(tr.kl >= -tol[: len(tr.kl)])
    assert np.all(tr.entropy >= 0)
    # the M-step never lowers the penalised bound below the previous objective
    if tr.n_iter:
        assert np.all(tr.elbo + tr.log_prior[1:] >= obj[:-1] - tol)
    assert tr.status in ("converged", "max_iter", "degenerate")
    assert (tr.status == "degenerate") == bool(tr.message)
    for t in {0, tr.n_iter // 2, tr.n_iter}:
        r = tr.responsibilities(t)
        assert np.all(np.isfinite(r)) and np.all(r >= 0)
        np.testing.assert_allclose(r.sum(axis=1), 1.0, rtol=1e-12)


@st.composite
def gaussian_problems(draw):
    K = draw(st.integers(1, 4))
    D = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["blobs", "duplicates", "outliers", "constant", "n_equals_k"]))
    N = K if kind == "n_equals_k" else draw(st.integers(max(K, 2), 40))
    seed = draw(st.integers(0, 2**20))
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(K, D))
    X = centres[rng.integers(K, size=N)] + rng.normal(size=(N, D))
    if kind == "duplicates":
        X[: N // 2 + 1] = X[0]
    elif kind == "outliers":
        X[rng.integers(N, size=max(1, N // 10))] *= 1e6
    elif kind == "constant":
        X[:, rng.integers(D)] = 3.0
    scale = 10.0 ** draw(st.integers(-9, 9))
    offset = draw(st.sampled_from([0.0, 1.0, 100.0]))
    X = (X + offset) * scale
    # the ridge in units of the data's own spread (reg has units of variance)
    reg = draw(st.sampled_from([0.0, 1e-3, 1.0])) * max(float(X.var(axis=0).mean()), scale**2)
    return dict(
        X=X,
        n_components=K,
        covariance_type=draw(st.sampled_from(emcore.COVARIANCE_TYPES)),
        reg=reg,
        init=draw(st.sampled_from(["kmeans++", "random", "random_from_data"])),
        hard=draw(st.booleans()) and draw(st.booleans()),
        seed=seed,
    )


def _round_off(X) -> float:
    """A round-off allowance for a sum of N Gaussian log-densities in float64: N · ε · κ, with
    κ the condition number of the data's covariance. Solving with a matrix of condition κ
    loses up to about κ·ε of relative accuracy, so on data with a few points 1e5–1e6 times
    farther out than the rest (κ ≈ 1e11) ℓ and the bound 𝓛 can differ by 1e-6–1e-3 where they
    are equal in exact arithmetic. For well-scaled data this allowance is below 1e-10. A
    singular covariance (constant, duplicated or too few points) gets none: its κ says
    nothing about the fit's accuracy."""
    X = np.asarray(X, dtype=float).reshape(len(X), -1)
    cov = np.atleast_2d(np.cov(X.T, bias=True))
    if np.linalg.matrix_rank(cov) < cov.shape[0]:
        return 0.0
    kappa = float(np.linalg.cond(cov))
    return len(X) * np.finfo(float).eps * kappa if np.isfinite(kappa) else 0.0


def test_round_off_is_small_for_well_scaled_data_and_grows_with_conditioning():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    assert _round_off(X) < 1e-12
    X[0] *= 1e6  # one outlier a million times larger
    assert _round_off(X) > 1e-6
    assert _round_off(np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])) == 0.0  # singular
    assert _round_off(np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])) == 0.0  # a constant column


@given(gaussian_problems())
def test_gaussian_objective_never_decreases(case):
    X = case.pop("X")
    tr = emcore.fit_gaussian_mixture(X, max_iter=40, tol=None, **case)
    _check_trace(tr, slack=_round_off(X))
    if tr.status != "degenerate":
        assert tr.n_iter == 40


@st.composite
def count_problems(draw):
    K = draw(st.integers(1, 4))
    V = draw(st.integers(1, 8))
    N = draw(st.integers(K, 40))
    seed = draw(st.integers(0, 2**20))
    rng = np.random.default_rng(seed)
    profiles = rng.dirichlet(np.full(V, draw(st.sampled_from([0.1, 1.0, 10.0]))), size=K)
    sizes = rng.integers(0, draw(st.sampled_from([3, 30, 1000])) + 1, size=N)
    X = np.array([rng.multinomial(n, profiles[rng.integers(K)]) for n in sizes])
    if draw(st.booleans()):
        X[: N // 2 + 1] = X[0]  # duplicated baskets
    return dict(
        X=X,
        n_components=K,
        alpha=draw(st.sampled_from([1.0, 1.01, 2.0])),
        init=draw(st.sampled_from(["random", "kmeans++", "random_from_data"])),
        hard=draw(st.booleans()) and draw(st.booleans()),
        sparse=draw(st.booleans()),
        seed=seed,
    )


@given(count_problems())
def test_multinomial_objective_never_decreases(case):
    X = case.pop("X")
    if case.pop("sparse"):
        X = sp.csr_matrix(X)
    tr = emcore.fit_multinomial_mixture(X, max_iter=30, tol=None, **case)
    _check_trace(tr)
