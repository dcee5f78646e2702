"""emcore.landscape: the (μ₁, μ₂) slice, EM's projected path, gradient ascent, the collapse spike.

Every number is checked against an independent computation: emcore.log_likelihood, scipy.stats,
finite differences, or a gradient-ascent loop written here from scratch.
"""

import numpy as np
import pytest
from scipy.stats import norm

import emcore
from emcore import landscape as L


@pytest.fixture(scope="module")
def data():
    X, _, _ = emcore.make_gaussian_mixture_data(300, 2, 1, separation=3.0, seed=4)
    return X[:, 0]


@pytest.fixture(scope="module")
def trace(data):
    return emcore.fit_gaussian_mixture(data, 2, seed=1, tol=1e-8)


def _params(w, mu, sd):
    return emcore.GaussianParams(np.asarray(w, float), np.asarray(mu, float)[:, None],
                                 (np.asarray(sd, float) ** 2).reshape(-1, 1, 1))


def _ll_scipy(x, w, mu, sd):
    dens = sum(w[k] * norm.pdf(x, mu[k], sd[k]) for k in range(len(w)))
    return float(np.sum(np.log(dens)))


def test_slice_equals_log_likelihood_at_sampled_points(data, trace):
    p = trace.params[3]
    g1 = np.linspace(data.min(), data.max(), 23)
    g2 = np.linspace(data.min() - 1, data.max() + 1, 17)
    Z = L.mean_slice(data, p, g1, g2, max_elements=5000)  # force several chunks
    assert Z.shape == (17, 23)
    rng = np.random.default_rng(0)
    for _ in range(12):
        i, j = rng.integers(23), rng.integers(17)
        q = emcore.GaussianParams(p.weights, [[g1[i]], [g2[j]]], p.covariances)
        assert Z[j, i] == pytest.approx(emcore.log_likelihood(data, q), rel=1e-10, abs=1e-8)


def test_em_path_on_its_own_slices_is_monotone(data, trace):
    """At θ_t, the slice that holds θ_t's σ and π has height ℓ(θ_t) at (μ₁_t, μ₂_t); these
    heights never decrease (plain EM)."""
    path = L.mean_path(trace)
    heights = []
    for t, p in enumerate(trace.params):
        m = path["means"][t]
        z = L.mean_slice(data, p, [m[0]], [m[1]])[0, 0]
        assert z == pytest.approx(trace.log_likelihood[t], rel=1e-10, abs=1e-8)
        heights.append(z)
    heights = np.array(heights)
    assert len(heights) > 3
    assert np.all(np.diff(heights) >= -1e-9 * np.abs(heights[1:]))
    assert np.array_equal(path["loglik"], trace.log_likelihood)


def test_region_holds_paths_and_their_mirrors(data, trace):
    means = L.mean_path(trace)["means"]
    lo, hi = L.mean_region(data, [means, [10.0]])
    assert lo < min(means.min(), np.quantile(data, 0.005)) and hi > 10.0
    # mirrors are inside because both axes share [lo, hi]
    assert np.all((means[:, ::-1] > lo) & (means[:, ::-1] < hi))


def test_mirror_gap(data, trace):
    p = trace.final_params
    g = L.mirror_gap(data, p)
    w, mu, sd = p.weights, p.means[:, 0], np.sqrt(p.covariances[:, 0, 0])
    assert g["full_swap"] == pytest.approx(g["loglik"], rel=1e-12)
    assert g["mirror_slice"] == pytest.approx(_ll_scipy(data, w, mu[::-1], sd), rel=1e-9)
    assert g["gap"] == pytest.approx(g["loglik"] - g["mirror_slice"])
    sym = _params([0.5, 0.5], [-1.0, 2.0], [1.3, 1.3])
    assert L.mirror_gap(data, sym)["gap"] == pytest.approx(0.0, abs=1e-9)


def test_gradient_matches_finite_differences(data):
    w, mu, sd = np.array([0.3, 0.7]), np.array([-0.5, 1.5]), np.array([0.8, 1.4])
    val, d_pi, d_mu, d_sd = L.loglik_gradient(data, w, mu, sd)
    N = len(data)

    def f(v):  # v = (π₁, μ₁, μ₂, σ₁, σ₂)
        return _ll_scipy(data, [v[0], 1 - v[0]], v[1:3], v[3:5]) / N

    v0 = np.array([w[0], *mu, *sd])
    assert val == pytest.approx(f(v0), rel=1e-12)
    h = 1e-6
    num = np.array([(f(v0 + h * e) - f(v0 - h * e)) / (2 * h) for e in np.eye(5)])
    assert np.allclose(np.concatenate([d_pi, d_mu, d_sd]), num, rtol=1e-5, atol=1e-7)


def _reference_ascent(x, w, mu, sd, eta, n, free):
    """Gradient ascent written independently: finite-difference gradient of a scipy ℓ/N."""
    N = len(x)
    v = np.array([w[0], *mu, *sd], dtype=float)

    def f(v):
        return _ll_scipy(x, [v[0], 1 - v[0]], v[1:3], v[3:5]) / N

    out = [v.copy()]
    for _ in range(n):
        h = 1e-7
        g = np.array([(f(v + h * e) - f(v - h * e)) / (2 * h) for e in np.eye(5)])
        if free == "means":
            g[[0, 3, 4]] = 0.0
        v = v + eta * g
        if v[0] <= 0 or v[0] >= 1 or v[3] <= 0 or v[4] <= 0:
            break
        out.append(v.copy())
    return np.array(out)


@pytest.mark.parametrize("free", ["all", "means"])
def test_gradient_ascent_matches_reference(data, trace, free):
    start = trace.params[0]
    w, mu, sd = start.weights, start.means[:, 0], np.sqrt(start.covariances[:, 0, 0])
    gp = L.gradient_ascent(data, start, 0.05, n_steps=25, free=free)
    ref = _reference_ascent(data, w, mu, sd, 0.05, 25, free)
    assert gp.n_steps == len(ref) - 1 == 25
    assert np.allclose(gp.weights[:, 0], ref[:, 0], rtol=1e-5, atol=1e-7)
    assert np.allclose(gp.means, ref[:, 1:3], rtol=1e-5, atol=1e-6)
    assert np.allclose(gp.sds, ref[:, 3:5], rtol=1e-5, atol=1e-6)
    assert np.allclose(gp.weights.sum(axis=1), 1.0)
    for t in (0, 7, 25):
        assert gp.loglik[t] == pytest.approx(
            _ll_scipy(data, gp.weights[t], gp.means[t], gp.sds[t]), rel=1e-10)
    if free == "means":
        assert np.allclose(gp.sds, sd) and np.allclose(gp.weights, w)


def test_gradient_ascent_reports_leaving_the_valid_region(data, trace):
    gp = L.gradient_ascent(data, trace.params[0], 50.0, n_steps=200)
    assert gp.status == "invalid"
    assert "≤ 0" in gp.message and gp.n_steps < 200
    assert np.all(gp.sds > 0) and np.all(gp.weights > 0)
    # the step that was refused really would have left the region
    w, mu, sd = gp.weights[-1], gp.means[-1], gp.sds[-1]
    _, d_pi, d_mu, d_sd = L.loglik_gradient(data, w, mu, sd)
    w1 = w[0] + 50.0 * d_pi[0]
    assert min(w1, 1 - w1, *(sd + 50.0 * d_sd)) <= 0


def test_gradient_ascent_counts_decreases(data, trace):
    small = L.gradient_ascent(data, trace.params[0], 0.01, n_steps=60)
    assert small.n_decreases == 0 and small.first_decrease == -1
    assert np.all(np.diff(small.loglik) > 0)
    big = L.gradient_ascent(data, trace.params[0], 1.5, n_steps=60, free="means")
    d = np.flatnonzero(np.diff(big.loglik) < 0)
    assert big.n_decreases == d.size
    assert big.first_decrease == (d[0] + 1 if d.size else -1)


@pytest.mark.parametrize("reg", [0.0, 0.05])
def test_em_mean_update_is_a_gradient_step_with_data_chosen_sizes(data, reg):
    tr = emcore.fit_gaussian_mixture(data, 2, seed=3, reg=reg, max_iter=3, tol=None)
    for t in range(3):
        p = tr.params[t]
        eta = L.em_step_sizes(data, p)
        w, mu, sd = p.weights, p.means[:, 0], np.sqrt(p.covariances[:, 0, 0])
        _, _, d_mu, _ = L.loglik_gradient(data, w, mu, sd)
        assert np.allclose(mu + eta * d_mu, tr.params[t + 1].means[:, 0], rtol=1e-9, atol=1e-10)
        assert np.allclose(eta, sd**2 / tr.params[t + 1].weights, rtol=1e-8)


def test_collapse_slice(data, trace):
    p = trace.final_params
    k = int(np.argmin(p.covariances[:, 0, 0]))
    c = L.collapse_slice(data, p, k, reg=0.01, n=101)
    j = c["j"]
    assert j == int(np.argmin(np.abs(data - p.means[k, 0])))
    rng = np.random.default_rng(1)
    for i in rng.choice(len(c["sigma"]), 6, replace=False):
        if c["sigma"][i] < 1e-150:
            continue
        means = p.means.copy()
        means[k, 0] = data[j]
        cov = p.covariances.copy()
        cov[k, 0, 0] = c["sigma"][i] ** 2
        q = emcore.GaussianParams(p.weights, means, cov)
        assert c["loglik"][i] == pytest.approx(emcore.log_likelihood(data, q), rel=1e-9, abs=1e-7)
        assert c["objective"][i] == pytest.approx(
            emcore.log_likelihood(data, q) + emcore.log_prior(q, reg=0.01), rel=1e-9, abs=1e-7)
    # the spike: slope −m in log σ near 0, and the asymptote meets ℓ(θ) at sigma_cross
    s, ll = np.log(c["sigma"][:2]), c["loglik"][:2]
    assert (ll[1] - ll[0]) / (s[1] - s[0]) == pytest.approx(-c["m"], rel=1e-6)
    assert (c["loglik"][0] > c["loglik_now"]) == (c["sigma"][0] < c["sigma_cross"])
    assert c["intercept"] - c["m"] * np.log(10) * c["log10_sigma_cross"] == pytest.approx(
        c["loglik_now"])
    assert c["objective"][0] < c["loglik_now"]  # the prior turns the spike into a pit


def test_collapse_spike_beats_the_fit_below_sigma_cross():
    x = np.array([-0.3, -0.1, 0.0, 0.2, 0.4, 5.0])
    p = _params([0.8, 0.2], [0.05, 2.0], [0.25, 2.0])
    c = L.collapse_slice(x, p, 1, j=5, n=80)
    assert c["j"] == 5 and c["sigma"][0] < c["sigma_cross"]
    assert c["intercept"] - c["m"] * np.log(c["sigma_cross"]) == pytest.approx(c["loglik_now"])
    far = c["sigma"] < c["sigma_cross"] / 10
    assert far.any() and np.all(c["loglik"][far] > c["loglik_now"])
    assert not c["loglik"][-1] > c["loglik_now"]


def test_collapse_slope_counts_duplicates():
    x = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0])
    p = _params([0.3, 0.7], [0.1, 2.0], [0.5, 1.5])
    c = L.collapse_slice(x, p, 0, j=1, sigmas=[1e-30, 1e-29])
    assert c["m"] == 3 and c["x_j"] == 0.0
    assert (c["loglik"][1] - c["loglik"][0]) / np.log(10) == pytest.approx(-3, rel=1e-9)


def test_bad_inputs():
    p3 = emcore.GaussianParams([0.2, 0.3, 0.5], [[0.0], [1.0], [2.0]], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError):
        L.mean_slice([0.0, 1.0], p3, [0.0])
    with pytest.raises(ValueError):
        L.gradient_ascent([0.0, 1.0], p3, -1.0)
    with pytest.raises(ValueError):
        L.mean_slice(np.zeros((3, 2)), p3, [0.0])


def test_collapse_start_makes_plain_em_collapse_after_a_few_steps():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(0.0, 1.0, 120), rng.normal(5.0, 1.0, 80), [12.0]])
    x0, sd0 = L.collapse_start(x)
    # the start sits on a data point, with a spread below its gap to the nearest neighbour
    xs = np.sort(x)
    j = int(np.flatnonzero(xs == x0)[0])
    gap = min(xs[j] - xs[j - 1] if j > 0 else np.inf, xs[j + 1] - xs[j] if j + 1 < len(xs) else np.inf)
    assert 0 < sd0 < gap
    start = emcore.GaussianParams(np.array([0.5, 0.5]), np.array([[x0], [x.mean()]]),
                                  np.array([[[sd0 ** 2]], [[x.var()]]]))
    tr = emcore.fit_gaussian_mixture(x, 2, init=start, reg=0.0, max_iter=100, tol=None)
    assert tr.status == "degenerate" and tr.n_iter >= 2
    # σ of the collapsing component shrinks along the way
    sds = [float(np.sqrt(p.covariances[0, 0, 0])) for p in tr.params]
    assert sds[-1] < sds[0]
    # with a prior (reg > 0) the same start does not collapse
    tr_reg = emcore.fit_gaussian_mixture(x, 2, init=start, reg=1e-3, max_iter=100, tol=1e-6)
    assert tr_reg.status != "degenerate"


def test_collapse_start_falls_back_to_the_most_isolated_point():
    x = np.array([0.0, 1.0, 2.0, 10.0])
    # no candidate is tried (n_candidates=0): the most isolated point, σ₀ = 0.3 × its gap
    assert L.collapse_start(x, n_candidates=0) == (10.0, pytest.approx(0.3 * 8.0))
    with pytest.raises(ValueError):
        L.collapse_start([1.0, 2.0])
