"""emcore.derivations and emviz.derivations against independent numpy/scipy computations.

The reference implementations here use scipy.stats.norm and explicit loops over components;
they share no code with emcore.
"""

from __future__ import annotations

import base64

import numpy as np
import plotly.graph_objects as go
import pytest
from scipy import stats
from scipy.special import logsumexp

import emcore
from emcore import derivations as D
from emcore import linkage as L
from emviz import derivations as V


def arr(values) -> np.ndarray:
    """A Plotly array from ``fig.to_dict()`` (plain list or base64 "bdata") as floats."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float)
    return np.asarray(values, dtype=float)


def data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0.0, 1.0, n // 3), rng.normal(4.0, 0.7, n - n // 3)])


def ref_log_joint(x, params):
    """(N, K) log π_k + log N(x_i | μ_k, σ_k²) with scipy.stats.norm."""
    w = np.asarray(params.weights)
    mu = np.asarray(params.means)[:, 0]
    sd = np.sqrt(np.asarray(params.covariances)[:, 0, 0])
    return np.column_stack([np.log(w[k]) + stats.norm.logpdf(x, mu[k], sd[k])
                            for k in range(len(w))])


def ref_resp(x, params):
    lj = ref_log_joint(x, params)
    return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))


def ref_loglik(x, params):
    return float(logsumexp(ref_log_joint(x, params), axis=1).sum())


@pytest.fixture(scope="module")
def fit():
    x = data()
    return x, emcore.fit_gaussian_mixture(x, 2, init="kmeans++", seed=0, max_iter=500, tol=1e-13)


@pytest.fixture(scope="module")
def reg_fit():
    x = data(1)
    return x, emcore.fit_gaussian_mixture(x, 2, init="random_from_data", seed=3, max_iter=30,
                                          tol=None, reg=0.5)


def test_stationarity_holds_at_the_fixed_point_not_at_the_start(fit):
    x, tr = fit
    end = D.stationarity_1d(x, tr.params[-1])
    assert end["max_rel_residual"] < 1e-6
    start = D.stationarity_1d(x, tr.params[0])
    assert start["max_rel_residual"] > 1e-3
    # the right-hand sides, recomputed with scipy responsibilities
    for params, st in ((tr.params[-1], end), (tr.params[0], start)):
        R = ref_resp(x, params)
        Nk = R.sum(axis=0)
        mu = np.asarray(params.means)[:, 0]
        np.testing.assert_allclose(st["N_k"], Nk, rtol=1e-10)
        np.testing.assert_allclose(st["weights_rhs"], Nk / x.size, rtol=1e-10)
        np.testing.assert_allclose(st["means_rhs"], R.T @ x / Nk, rtol=1e-10)
        np.testing.assert_allclose(st["variances_rhs"],
                                   [R[:, k] @ (x - mu[k]) ** 2 / Nk[k] for k in range(2)],
                                   rtol=1e-10)
        np.testing.assert_allclose(st["lagrange"], Nk / np.asarray(params.weights), rtol=1e-10)
    # at the fixed point the Lagrange multiplier is N for every component
    np.testing.assert_allclose(end["lagrange"], x.size, rtol=1e-6)


def test_stationarity_gap_is_scaled_sensibly_when_a_mean_is_near_zero(fit):
    x, tr = fit
    shift = float(np.asarray(tr.params[-1].means)[0, 0])  # move component 1's mean to 0
    shifted = emcore.GaussianParams(tr.params[-1].weights,
                                    np.asarray(tr.params[-1].means) - shift,
                                    tr.params[-1].covariances)
    st = D.stationarity_1d(x - shift, shifted)
    assert abs(st["means"][0]) < 1e-12
    assert st["max_rel_residual"] < 1e-6  # a relative gap |μ − rhs| / |μ| would explode here


def test_gradients_are_the_numerical_gradients_of_l(fit):
    x, tr = fit
    p = tr.params[3]
    st = D.stationarity_1d(x, p)
    h = 1e-6
    for k in range(2):
        for name, grad in (("mean", st["grad_mean"][k]), ("var", st["grad_var"][k])):
            def shifted(d, k=k, name=name):
                means = np.array(p.means, dtype=float)
                covs = np.array(p.covariances, dtype=float)
                if name == "mean":
                    means[k, 0] += d
                else:
                    covs[k, 0, 0] += d
                return ref_loglik(x, emcore.GaussianParams(p.weights, means, covs))
            numeric = (shifted(h) - shifted(-h)) / (2 * h)
            assert grad == pytest.approx(numeric, rel=1e-4, abs=1e-5)


def test_penalised_stationarity_uses_reg(reg_fit):
    x, tr = reg_fit
    end = D.stationarity_1d(x, tr.params[-1], reg=tr.reg)
    R = ref_resp(x, tr.params[-1])
    mu = np.asarray(tr.params[-1].means)[:, 0]
    Nk = R.sum(axis=0)
    np.testing.assert_allclose(end["variances_rhs"],
                               [(R[:, k] @ (x - mu[k]) ** 2 + tr.reg) / Nk[k] for k in range(2)],
                               rtol=1e-10)


@pytest.mark.parametrize("which", ["fit", "reg_fit"])
def test_m_step_closed_forms_reproduce_the_next_theta(which, request):
    x, tr = request.getfixturevalue(which)
    for t in (0, 1, tr.n_iter - 1):
        R = ref_resp(x, tr.params[t])
        ms = D.m_step_1d(x, R, tr.reg)
        p = tr.params[t + 1]
        np.testing.assert_allclose(ms["weights"], p.weights, rtol=1e-9)
        np.testing.assert_allclose(ms["means"], np.asarray(p.means)[:, 0], rtol=1e-9)
        np.testing.assert_allclose(ms["variances"], np.asarray(p.covariances)[:, 0, 0], rtol=1e-8)
        assert D.m_step_gap_1d(ms, p) < 1e-8
        # independent: explicit loops
        for k in range(2):
            Nk = sum(R[i, k] for i in range(x.size))
            mu = sum(R[i, k] * x[i] for i in range(x.size)) / Nk
            S = sum(R[i, k] * (x[i] - mu) ** 2 for i in range(x.size))
            assert ms["N_k"][k] == pytest.approx(Nk, rel=1e-12)
            assert ms["scatter"][k] == pytest.approx(S, rel=1e-10)


def test_q_parts_add_up_to_the_traces_q(fit):
    x, tr = fit
    for t in (0, 2):
        R = ref_resp(x, tr.params[t])
        qp = D.q_parts_1d(x, R, tr.params[t + 1])
        p = tr.params[t + 1]
        Nk = R.sum(axis=0)
        assert qp["weights_part"] == pytest.approx(float(Nk @ np.log(p.weights)), rel=1e-12)
        ref_total = float(np.sum(R * ref_log_joint(x, p)))
        assert qp["total"] == pytest.approx(ref_total, rel=1e-11)
        assert qp["total"] == pytest.approx(tr.q[t], rel=1e-10)
        assert qp["weights_part"] + qp["gaussian_part"] == pytest.approx(qp["total"], rel=1e-13)
    np.testing.assert_allclose(D.log_joint_1d(x, tr.params[1]), ref_log_joint(x, tr.params[1]),
                               rtol=1e-12)


def test_bound_parts_jensen_and_kl(fit):
    x, tr = fit
    t = 1
    R = ref_resp(x, tr.params[t])
    at_t = D.bound_parts(x[:, None], R, tr.params[t])
    at_next = D.bound_parts(x[:, None], R, tr.params[t + 1])
    assert at_t["loglik"] == pytest.approx(ref_loglik(x, tr.params[t]), rel=1e-12)
    assert abs(at_t["kl"]) < 1e-9 and at_t["elbo"] == pytest.approx(at_t["loglik"], rel=1e-12)
    lj = ref_log_joint(x, tr.params[t + 1])
    elbo = float(np.sum(R * (lj - np.log(R))))
    post = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
    kl = float(np.sum(R * np.log(R / post)))
    assert at_next["elbo"] == pytest.approx(elbo, rel=1e-11)
    assert at_next["kl"] == pytest.approx(kl, rel=1e-8, abs=1e-10)
    assert at_next["kl"] >= 0 and at_next["elbo"] <= at_next["loglik"]
    assert at_next["elbo"] + at_next["kl"] == pytest.approx(at_next["loglik"], rel=1e-12)
    assert at_next["elbo"] == pytest.approx(tr.elbo[t], rel=1e-10)
    assert at_next["kl"] == pytest.approx(tr.kl[t], rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("alpha", [1.0, 1.01, 2.5])
def test_multinomial_m_step_and_dirichlet_map(alpha):
    X, _, _ = emcore.make_multinomial_mixture_data(120, 3, 6, seed=2)
    tr = emcore.fit_multinomial_mixture(X, 3, init="random", seed=1, max_iter=8, tol=None,
                                        alpha=alpha)
    for t in (0, tr.n_iter - 1):
        R = np.asarray(tr.responsibilities(t))
        mm = D.multinomial_m_step(X, R, alpha)
        C = np.array([[sum(R[i, k] * X[i, v] for i in range(X.shape[0])) for v in range(6)]
                      for k in range(3)])
        np.testing.assert_allclose(mm["counts"], C, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(mm["theta_ml"], C / C.sum(axis=1, keepdims=True), rtol=1e-10,
                                   atol=1e-14)
        ref_map = (C + alpha - 1) / (C + alpha - 1).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(mm["theta_map"], ref_map, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(mm["theta_map"], tr.params[t + 1].probs, rtol=1e-8,
                                   atol=1e-14)
        np.testing.assert_allclose(mm["weights"], tr.params[t + 1].weights, rtol=1e-9)
        if alpha == 1.0:
            np.testing.assert_allclose(mm["theta_ml"], mm["theta_map"], rtol=1e-14)


def test_small_helpers():
    R = np.array([[0.9, 0.1], [0.55, 0.45], [0.2, 0.8]])
    assert D.most_uncertain_row(R) == 1
    np.testing.assert_array_equal(D.top_categories([3.0, 9.0, 1.0, 9.0], 3), [1, 3, 0])
    with pytest.raises(ValueError):
        D.gaussian_1d(emcore.GaussianParams(np.ones(1), np.zeros((1, 2)), np.eye(2)[None]))


# --- figures ---------------------------------------------------------------------------------

def test_figures_are_valid_plotly(fit):
    x, tr = fit
    p = tr.params[-1]
    sx, sz = emcore.sample(p, 200, seed=4)
    lt = L.fit_linkage()
    figs = [V.graphical_model_figure(p, n_samples=x.size), V.sample_figure(x, sx[:, 0], sz, p)]
    figs += [V.linkage_figure(lt, lt.half_step(s), zoom=z) for s in (0, 1, 2, lt.n_half_steps - 1)
             for z in (False, True)]
    X, _, _ = emcore.make_multinomial_mixture_data(50, 2, 4, seed=0)
    figs.append(V.graphical_model_figure(emcore.fit_multinomial_mixture(X, 2, seed=0).params[-1]))
    for f in figs:
        go.Figure(f.to_dict())  # raises on any invalid property


def test_sample_figure_bars_are_the_sample(fit):
    x, tr = fit
    p = tr.params[-1]
    sx, sz = emcore.sample(p, 300, seed=5)
    fig = V.sample_figure(x, sx[:, 0], sz, p).to_dict()
    data_bar = fig["data"][0]
    width = data_bar["width"]
    total = sum(np.sum(arr(d["y"])) * width
                for d in fig["data"] if d.get("yaxis") == "y2" and d["type"] == "bar")
    assert total == pytest.approx(1.0, rel=1e-9)  # the stacked sample bars integrate to 1
    assert np.sum(arr(data_bar["y"])) * width == pytest.approx(1.0, rel=1e-9)
    for k in range(2):
        bar = fig["data"][2 + k]
        counts = arr(bar["y"]) * 300 * width
        assert counts.sum() == pytest.approx(np.sum(sz == k), abs=1e-6)


def test_graphical_model_shows_the_fitted_numbers(fit):
    x, tr = fit
    p = tr.params[-1]
    fig = V.graphical_model_figure(p, n_samples=x.size).to_dict()
    hover = fig["data"][0]["text"]
    assert hover[0] == "π = (" + ", ".join(f"{v:.4g}" for v in p.weights) + ")"
    assert f"{np.asarray(p.means)[0, 0]:.4g}" in hover[1]
    texts = [a.get("text", "") for a in fig["layout"]["annotations"]]
    assert f"N = {x.size:,}" in texts and "K = 2" in texts


@pytest.mark.parametrize("s", [1, 2, 6])
def test_linkage_figure_curves(s):
    lt = L.fit_linkage()
    hs = lt.half_step(s)
    fig = V.linkage_figure(lt, lt.half_step(s)).to_dict()
    grid = arr(fig["data"][0]["x"])
    ll = arr(fig["data"][0]["y"])
    bd = arr(fig["data"][1]["y"])
    ref = [stats.multinomial.logpmf(L.DLR_Y, n=197, p=L.cell_probs(v)) for v in grid]
    np.testing.assert_allclose(ll, ref, atol=1e-9)
    assert np.all(bd <= ll + 1e-12)
    theta_t = lt.theta[hs.t]
    pts = fig["data"][2]
    assert pts["x"][0] == theta_t
    assert pts["y"][0] == pytest.approx(L.log_likelihood(theta_t), abs=1e-12)
    if hs.kind == "M":
        assert pts["x"][1] == lt.theta[hs.t + 1]
        assert pts["y"][1] == pytest.approx(lt.bound[hs.t], abs=1e-9)
        assert pts["y"][2] == pytest.approx(lt.log_likelihood[hs.t + 1], abs=1e-9)
    # the zoomed view is relative to ℓ(θ_t): zero at θ_t, the bound below ℓ
    z = V.linkage_figure(lt, lt.half_step(s), zoom=True).to_dict()
    zl = arr(z["data"][0]["y"])
    zb = arr(z["data"][1]["y"])
    assert z["data"][2]["y"][0] == 0.0
    assert np.all(zb <= zl + 1e-15)
    lo, hi = z["layout"]["xaxis"]["range"]
    assert lo < theta_t < hi and lo < lt.theta[hs.t + 1] < hi


def test_step_hidden_only_for_sub_pixel_steps():
    lt = L.fit_linkage()
    assert not V.step_hidden(lt, 0, zoom=False)      # 0.5 → 0.608: plainly visible
    t_small = next(t for t in range(lt.n_iter) if abs(lt.theta[t + 1] - lt.theta[t]) < 5e-4)
    assert V.step_hidden(lt, t_small, zoom=False)
    assert not V.step_hidden(lt, t_small, zoom=True)  # the zoomed window always shows it


def test_linkage_arrows_and_earlier_bounds_read_on_light_and_dark():
    """Every arrow and every earlier bound's colour: ≥ 3:1 on #FFFFFF and on #0E1117."""
    from tests.test_palette import DARK_BG, LIGHT_BG, ratio

    lt = L.fit_linkage()
    colors = []
    for s, history in ((0, 0), (1, 0), (2, 0), (8, 3)):
        fig = V.linkage_figure(lt, lt.half_step(s), history=history).to_dict()
        arrows = [a for a in fig["layout"].get("annotations", []) if a.get("showarrow")]
        colors += [a["arrowcolor"] for a in arrows]
        colors += [t["line"]["color"] for t in fig["data"] if t.get("mode") == "lines"]
    assert len(colors) >= 8
    for c in colors:
        assert ratio(c, LIGHT_BG) >= 3.0 and ratio(c, DARK_BG) >= 3.0, c
