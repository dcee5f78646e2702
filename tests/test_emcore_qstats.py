"""Q(θ⁽ᵗ⁺¹⁾ | θ⁽ᵗ⁾) from sufficient statistics, and a fit that never holds q for all rows.

The loop records Q from the E-step's weighted statistics (``family.q_value``) instead of
keeping the (K, N) responsibilities. Every recorded number is checked here against a
brute-force computation from full responsibilities (scipy.stats densities, no emcore code),
for every family and option: covariance types, reg, alpha, hard EM, sparse counts, exact 0/1
probabilities, and data whose one-pass moments need the exact second pass.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats
from scipy.special import logsumexp

import emcore
from emcore.em import _posterior_replay, _random_responsibilities

RTOL = 1e-10


# ----------------------------------------------------------------------------------------------
# independent references
# ----------------------------------------------------------------------------------------------
def log_joint(X, p):
    """(N, K) log π_k + log p(x_i | θ_k) with scipy.stats, for any of the three families."""
    cols = []
    for k in range(p.n_components):
        with np.errstate(divide="ignore"):
            lw = np.log(p.weights[k])
            if isinstance(p, emcore.GaussianParams):
                Xf = np.asarray(X, float).reshape(len(X), -1)
                lp = stats.multivariate_normal(p.means[k], p.covariances[k]).logpdf(Xf).reshape(-1)
            elif isinstance(p, emcore.MultinomialParams):
                Xd = np.asarray(X.toarray() if sp.issparse(X) else X)
                lp = stats.multinomial(Xd.sum(axis=1), p.probs[k]).logpmf(Xd)
            else:
                lp = stats.bernoulli.logpmf(np.asarray(X), p.probs[k]).sum(axis=1)
        cols.append(lw + lp)
    return np.column_stack(cols)


def reference_fields(X, tr, t):
    """ℓ(θ_t), q_t (soft or one-hot), H(q_t), Q(θ_{t+1} | θ_t), ℓ(θ_{t+1}) by brute force."""
    lj = log_joint(X, tr.params[t])
    ll = float(logsumexp(lj, axis=1).sum())
    if tr.hard:
        q = np.zeros_like(lj)
        q[np.arange(len(lj)), np.argmax(lj, axis=1)] = 1.0
        H = 0.0
    else:
        q = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
        pos = q > 0
        H = float(-np.sum(q[pos] * np.log(q[pos])))
    lj1 = log_joint(X, tr.params[t + 1])
    pos = q > 0
    Q = float(np.sum(q[pos] * lj1[pos]))
    ll1 = float(logsumexp(lj1, axis=1).sum())
    cll1 = float(lj1.max(axis=1).sum())
    return ll, q, H, Q, ll1, cll1


def check_trace_against_brute_force(X, tr):
    assert tr.status != "degenerate", tr.message
    assert tr.n_iter >= 3
    for t in range(tr.n_iter):
        ll, q, H, Q, ll1, cll1 = reference_fields(X, tr, t)
        assert tr.log_likelihood[t] == pytest.approx(ll, rel=RTOL)
        assert tr.q[t] == pytest.approx(Q, rel=RTOL), t
        assert tr.entropy[t] == pytest.approx(H, rel=RTOL, abs=1e-12)
        assert tr.elbo[t] == pytest.approx(Q + H, rel=RTOL)
        # KL(q_t ‖ p(z|x,θ_{t+1})) (soft), the re-assignment gain (hard): on the scale of ℓ
        top = (cll1 if tr.hard else ll1) - (Q + H)
        assert tr.kl[t] == pytest.approx(top, abs=RTOL * max(1.0, abs(ll1)))
        assert tr.kl[t] >= -RTOL * max(1.0, abs(ll1))
        # the M-step guarantee, with the prior
        assert tr.elbo[t] + tr.log_prior[t + 1] >= tr.objective[t] - RTOL * max(1.0, abs(ll))
        np.testing.assert_allclose(tr.responsibilities(t), q, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# every family and option
# ----------------------------------------------------------------------------------------------
def gaussian_data():
    X, _, _ = emcore.make_gaussian_mixture_data(150, 3, 2, separation=3.0, seed=11)
    return X


def far_clusters():
    """Two tight clusters 2·10⁴ apart along the first axis: one-pass second moments lose 8
    digits, so the M-step recomputes the scatter with a second pass over replayed
    responsibilities. (Apart along one axis: a component spanning both is then well
    conditioned in its Cholesky factor, so 1e-10 is a fair tolerance for the reference.)"""
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.normal(0.0, 1.0, (40, 2)), rng.normal(0.0, 2.0, (60, 2))])
    X[:40, 0] -= 1e4
    X[40:, 0] += 1e4
    return X


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("reg", [0.0, 0.5])
@pytest.mark.parametrize("ct", emcore.COVARIANCE_TYPES)
def test_gaussian_trace_equals_brute_force(ct, reg, hard):
    X = gaussian_data()
    tr = emcore.fit_gaussian_mixture(X, 3, covariance_type=ct, reg=reg, seed=2, hard=hard,
                                     max_iter=8, tol=None)
    check_trace_against_brute_force(X, tr)


@pytest.mark.parametrize("init", ["random", "kmeans++"])
@pytest.mark.parametrize("ct", emcore.COVARIANCE_TYPES)
def test_gaussian_far_clusters_use_the_exact_second_pass(ct, init):
    X = far_clusters()
    tr = emcore.fit_gaussian_mixture(X, 2, covariance_type=ct, reg=0.1, init=init, seed=1,
                                     max_iter=5, tol=None)
    check_trace_against_brute_force(X, tr)
    # θ_{t+1} is the exact M-step of the brute-force q_t (covariances to 1e-9, not 1e-0)
    for t in range(tr.n_iter):
        q = reference_fields(X, tr, t)[1]
        Nk = q.sum(axis=0)
        mu = (q.T @ X) / Nk[:, None]
        S = np.stack([((q[:, k, None] * (X - mu[k])).T @ (X - mu[k])) for k in range(2)])
        if ct == "full":
            want = (S + 0.1 * np.eye(2)) / Nk[:, None, None]
        elif ct == "tied":
            want = np.broadcast_to((S.sum(axis=0) + 0.1 * np.eye(2)) / len(X), (2, 2, 2))
        elif ct == "diag":
            want = ((np.diagonal(S, axis1=1, axis2=2) + 0.1) / Nk[:, None])[:, :, None] * np.eye(2)
        else:
            want = ((np.trace(S, axis1=1, axis2=2) / 2 + 0.1) / Nk)[:, None, None] * np.eye(2)
        np.testing.assert_allclose(tr.params[t + 1].covariances, want, rtol=1e-9, atol=1e-12)


def test_random_responsibilities_replay_one_draw_from_the_seed():
    # drawn chunk by chunk, and redrawn on every replay (for an exact second pass): always the
    # very numbers of one (N, K) draw from the seed
    N, K = 1000, 3
    want = np.random.default_rng(4).random((N, K))
    want /= want.sum(axis=1, keepdims=True)
    src = _random_responsibilities(np.random.default_rng(4), N, K, chunk=128)
    for _ in range(2):
        got = np.empty((K, N))

        def put(lo, hi, r, got=got):
            got[:, lo:hi] = r

        src.foreach(put)
        np.testing.assert_array_equal(got.T, want)


def test_random_init_is_one_m_step_from_the_seeded_random_responsibilities():
    X = far_clusters()
    N, K, reg = len(X), 2, 0.1
    tr = emcore.fit_gaussian_mixture(X, K, init="random", reg=reg, seed=7, max_iter=0)
    r = np.random.default_rng(7).random((N, K))
    r /= r.sum(axis=1, keepdims=True)
    Nk = r.sum(axis=0)
    mu = (r.T @ X) / Nk[:, None]
    S = np.stack([((r[:, k, None] * (X - mu[k])).T @ (X - mu[k])) for k in range(K)])
    p0 = tr.params[0]
    np.testing.assert_allclose(p0.weights, Nk / N, rtol=1e-12)
    np.testing.assert_allclose(p0.means, mu, rtol=1e-12)
    np.testing.assert_allclose(p0.covariances, (S + reg * np.eye(2)) / Nk[:, None, None], rtol=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("alpha", [1.0, 1.7])
def test_multinomial_trace_equals_brute_force(alpha, hard, sparse):
    X, _, _ = emcore.make_multinomial_mixture_data(120, 3, 8, basket_size=(2, 15), seed=4)
    Xf = sp.csr_matrix(X) if sparse else X
    tr = emcore.fit_multinomial_mixture(Xf, 3, alpha=alpha, seed=3, hard=hard, max_iter=8, tol=None)
    check_trace_against_brute_force(X, tr)


def test_multinomial_exact_zero_probabilities():
    X = np.array([[5, 0, 0, 0], [4, 1, 0, 0], [0, 0, 3, 2], [0, 0, 4, 3], [6, 0, 0, 0]])
    p0 = emcore.MultinomialParams([0.5, 0.5], [[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.4, 0.4]])
    tr = emcore.fit_multinomial_mixture(X, 2, init=p0, max_iter=6, tol=None)
    assert np.any(tr.params[-1].probs == 0)
    check_trace_against_brute_force(X, tr)


def bernoulli_data():
    """0/1 data with an always-off and an always-on column (μ exactly 0 and 1 under ML: the
    M-step counts zeros exactly with a second pass) and a nearly-always-on one."""
    X, _, _ = emcore.make_bernoulli_mixture_data(160, 3, 9, seed=6)
    X[:, 0], X[:, 1] = 0, 1
    X[:, 2] = 1
    X[7, 2] = 0
    return X


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("alpha", [1.0, 2.5])
def test_bernoulli_trace_equals_brute_force(alpha, hard):
    X = bernoulli_data()
    tr = emcore.fit_bernoulli_mixture(X, 3, alpha=alpha, seed=1, hard=hard, max_iter=10, tol=None)
    if alpha == 1.0:
        assert np.all(tr.params[-1].probs[:, 0] == 0) and np.all(tr.params[-1].probs[:, 1] == 1)
    check_trace_against_brute_force(X, tr)


def test_bernoulli_on_the_digits_equals_brute_force():
    from emdata.digits import digits_subset

    d = digits_subset((2, 3, 4), 8)
    tr = emcore.fit_bernoulli_mixture(d.X, 3, init="kmeans++", seed=2, max_iter=12, tol=None)
    check_trace_against_brute_force(d.X, tr)


# ----------------------------------------------------------------------------------------------
# q_value is Q at any θ of the family, not only at the M-step's θ
# ----------------------------------------------------------------------------------------------
def _summary_and_state(family, X, q, params):
    data = family.prepare(X)
    K = q.shape[1]
    acc = np.zeros((K, family.stats_width(data)))
    qT = np.ascontiguousarray(q.T)
    family.stats_chunk(data, 0, data.n_samples, qT, acc)
    _, summary = family.m_step(acc, data, emcore.Responsibilities.of_array(qT, chunk=37))
    return summary, family.state_from_params(params, data), data


@pytest.mark.parametrize("case", ["full", "diag", "spherical", "tied", "multinomial", "bernoulli"])
def test_q_value_at_any_theta_equals_brute_force(case):
    rng = np.random.default_rng(8)
    if case in emcore.COVARIANCE_TYPES:
        X = gaussian_data()
        fam = emcore.get_family("gaussian", covariance_type=case, reg=0.3)
        tr = emcore.fit_gaussian_mixture(X, 3, covariance_type=case, reg=0.3, seed=4, max_iter=2, tol=None)
    elif case == "multinomial":
        X, _, _ = emcore.make_multinomial_mixture_data(90, 3, 6, seed=2)
        fam = emcore.get_family("multinomial", alpha=1.3)
        tr = emcore.fit_multinomial_mixture(X, 3, alpha=1.3, seed=4, max_iter=2, tol=None)
    else:
        X = bernoulli_data()
        fam = emcore.get_family("bernoulli", alpha=1.0)
        tr = emcore.fit_bernoulli_mixture(X, 3, seed=4, max_iter=2, tol=None)
    q = rng.dirichlet(np.ones(3), size=X.shape[0])  # any responsibilities
    for theta in tr.params:  # θ that are not the M-step of q
        summary, state, data = _summary_and_state(fam, X, q, theta)
        lj = log_joint(X, theta)
        assert fam.q_value(summary, state, data) == pytest.approx(float(np.sum(q * lj)), rel=RTOL)


# ----------------------------------------------------------------------------------------------
# the replay and the memory
# ----------------------------------------------------------------------------------------------
def test_replayed_responsibilities_are_the_pass_responsibilities_bit_for_bit():
    X = bernoulli_data()
    for hard in (False, True):
        tr = emcore.fit_bernoulli_mixture(X, 3, seed=1, hard=hard, max_iter=3, tol=None)
        fam, data = tr._family, tr._data
        state = fam.state_from_params(tr.params[2], data)
        got = np.empty((3, len(X)))

        def put(lo, hi, r, got=got):
            got[:, lo:hi] = r

        src = _posterior_replay(fam, data, state, hard)
        src.foreach(put)
        np.testing.assert_array_equal(got.T, tr.responsibilities(2))
        np.testing.assert_array_equal(src.sum(lambda lo, hi, r: r.sum(axis=1)), got.sum(axis=1))


def test_bernoulli_fit_memory_is_not_proportional_to_n_times_k():
    # q for every row would be K·N·8 bytes = 16 MB here; the fit must stay far below that
    # (chunk buffers and the recorded θ_t only). tracemalloc sees numpy's allocations.
    # k-means++ seeding holds a few vectors of length N (squared distances), nothing (K, N)
    rng = np.random.default_rng(0)
    N, D, K = 100_000, 8, 20
    X = (rng.random((N, D)) < rng.uniform(0.2, 0.8, size=D)).astype(np.float64)
    full_q = K * N * 8
    for init in ("random", "kmeans++"):
        tracemalloc.start()
        tracemalloc.reset_peak()
        tr = emcore.fit_bernoulli_mixture(X, K, init=init, seed=0, max_iter=3, tol=None)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert tr.n_iter == 3
        assert peak < 0.25 * full_q, f"{init}: peak {peak / 2**20:.2f} MiB"
