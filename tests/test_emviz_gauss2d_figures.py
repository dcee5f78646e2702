"""Figure builders of emviz.gauss2d on real emcore fits, checked against independent
computations (scipy densities, hand-made blends, transformed covariances)."""

import base64
import json

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import emcore
from emviz import gauss2d as g
from emviz.common import frame_indices
from emviz.palette import NEUTRAL, hex_to_rgb
from tests.figcheck import same_drawing, validated, values


def _arr(v):
    """A Plotly 7 JSON array ({"dtype", "bdata"} base64, or a plain list) as numpy."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape(v["shape"]) if "shape" in v else a
    return np.asarray(v)


def _faithful_like(n=300, seed=0):
    """Two elongated blobs on very different scales (like Old Faithful: minutes vs minutes×20)."""
    rng = np.random.default_rng(seed)
    a = rng.multivariate_normal([2.0, 54.0], [[0.07, 0.5], [0.5, 34.0]], size=n // 3)
    b = rng.multivariate_normal([4.3, 80.0], [[0.17, 0.9], [0.9, 34.0]], size=n - n // 3)
    return np.vstack([a, b])


@pytest.fixture(scope="module")
def fit():
    X = _faithful_like()
    sc = g.Scaling.standardise(X)
    trace = emcore.fit_gaussian_mixture(sc.to_fit(X), 2, seed=0, tol=1e-8)
    return X, sc, trace


def _responsibilities_scipy(Z, params):
    dens = np.column_stack([
        w * multivariate_normal(m, c).pdf(Z)
        for w, m, c in zip(params.weights, params.means, params.covariances, strict=True)
    ])
    return dens / dens.sum(axis=1, keepdims=True)


def _by_name(fig_dict, name):
    return [t for t in fig_dict["data"] if t.get("name") == name]


def _scatter(fig_dict):
    (pts,) = [t for t in fig_dict["data"] if t.get("name", "").startswith("data")]
    return pts


def test_density_grid_matches_scipy_in_display_units(fit):
    X, sc, trace = fit
    p = trace.params[-1]
    xs, ys, dens = g.mixture_density_grid(p, sc, (1.0, 5.5), (40.0, 95.0), n=25)
    # independent: the same mixture written in display units, evaluated by scipy
    means = sc.center + sc.scale * p.means
    covs = [np.diag(sc.scale) @ c @ np.diag(sc.scale) for c in p.covariances]
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    ref = sum(w * multivariate_normal(m, c).pdf(pts)
              for w, m, c in zip(p.weights, means, covs, strict=True))
    np.testing.assert_allclose(dens, ref.reshape(25, 25), rtol=1e-10)


def test_density_grid_integrates_to_one(fit):
    X, sc, trace = fit
    xs, ys, dens = g.mixture_density_grid(trace.params[-1], sc, (-1.0, 8.0), (10.0, 130.0), n=300)
    mass = np.trapezoid(np.trapezoid(dens, xs, axis=1), ys)
    assert mass == pytest.approx(1.0, abs=1e-4)


def test_point_colours_are_the_blend_of_scipy_responsibilities(fit):
    X, sc, trace = fit
    s = 5  # E-step 3: θ_2 with its responsibilities q_2
    fig = validated(g.blobs_figure(X, trace, trace.half_step(s), scaling=sc)).to_dict()
    colors = _scatter(fig)["marker"]["color"]
    R = _responsibilities_scipy(sc.to_fit(X), trace.params[2])
    pal = np.array([hex_to_rgb(c) for c in ("#0072B2", "#E69F00")], dtype=float)
    for i in (0, 17, 150, len(X) - 1):
        rgb = [int(colors[i][j:j + 2], 16) for j in (1, 3, 5)]
        np.testing.assert_allclose(rgb, R[i] @ pal, atol=0.5 + 1e-9)


def test_start_is_grey_and_means_drawn(fit):
    X, sc, trace = fit
    fig = validated(g.blobs_figure(X, trace, trace.half_step(0), scaling=sc)).to_dict()
    assert set(_scatter(fig)["marker"]["color"]) == {NEUTRAL}
    (mu,) = [t for t in fig["data"] if t.get("name") == "means μk"]
    np.testing.assert_allclose(np.column_stack([_arr(mu["x"]), _arr(mu["y"])]),
                               sc.center + sc.scale * trace.params[0].means, rtol=1e-12)


def test_ellipses_are_the_display_covariances(fit):
    X, sc, trace = fit
    s = 2 * trace.n_iter  # the last M-step: θ_n
    fig = validated(g.blobs_figure(X, trace, trace.half_step(s), scaling=sc)).to_dict()
    p = trace.params[-1]
    for k in range(2):
        # independent: display covariance = cov of the linearly mapped Gaussian
        A = np.diag(sc.scale)
        cov = A @ p.covariances[k] @ A.T
        mean = sc.center + sc.scale * p.means[k]
        for n_sigma in (1, 2):
            (tr,) = _by_name(fig, f"component {k + 1}: {n_sigma}σ")
            d = np.column_stack([_arr(tr["x"]), _arr(tr["y"])]) - mean
            maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
            np.testing.assert_allclose(maha, n_sigma**2, rtol=1e-8)


def test_e_step_changes_colours_m_step_moves_ellipses(fit):
    """The teaching promise of the slider: E changes colours only, M moves ellipses only."""
    X, sc, trace = fit

    def parts(s):
        f = validated(g.blobs_figure(X, trace, trace.half_step(s), scaling=sc)).to_dict()
        (ell,) = _by_name(f, "component 1: 1σ")
        return _scatter(f)["marker"]["color"], _arr(ell["x"])

    c_e2, e_e2 = parts(3)  # E-step 2 (θ_1, q_1)
    c_m2, e_m2 = parts(4)  # M-step 2 (θ_2, q_1)
    c_e3, e_e3 = parts(5)  # E-step 3 (θ_2, q_2)
    assert c_e2 == c_m2 and not np.allclose(e_e2, e_m2)
    assert c_m2 != c_e3 and np.allclose(e_m2, e_e3)


def test_mean_paths_follow_the_trace(fit):
    X, sc, trace = fit
    for s in (0, 1, 2, 7, 2 * trace.n_iter):
        f = validated(g.blobs_figure(X, trace, trace.half_step(s), scaling=sc)).to_dict()
        (path,) = _by_name(f, "path of μ2")
        t = trace.half_step(s).theta_index
        want = np.array([sc.center + sc.scale * trace.params[j].means[1] for j in range(t + 1)])
        np.testing.assert_allclose(np.column_stack([_arr(path["x"]), _arr(path["y"])]), want)


def test_toggles_and_truth_layers(fit):
    X, sc, trace = fit
    full = validated(g.blobs_figure(X, trace, trace.half_step(3), scaling=sc)).to_dict()
    bare = validated(g.blobs_figure(X, trace, trace.half_step(3), scaling=sc, show_ellipses=False,
                          show_trajectories=False, show_contours=False)).to_dict()
    # contour, points, ellipses, paths, means, then legend keys (1σ, 2σ, path)
    assert len(full["data"]) == 1 + 1 + 2 * 2 + 2 + 1 + 3
    assert [t["name"] for t in full["data"][-3:]] == ["1σ ellipse", "2σ ellipse", "path of a mean"]
    assert [t.get("name") for t in bare["data"]] == ["data (colour = responsibilities)", "means μk"]
    truth = emcore.GaussianParams(np.array([0.4, 0.6]), np.array([[2.0, 54.0], [4.3, 80.0]]),
                                  np.array([np.eye(2), np.eye(2)]))
    with_truth = validated(g.blobs_figure(X, trace, trace.half_step(3), scaling=sc, true_params=truth)).to_dict()
    assert len(_by_name(with_truth, "true 2σ ellipses")) == 2
    (tm,) = _by_name(with_truth, "true means")
    np.testing.assert_allclose(_arr(tm["x"]), [2.0, 4.3])


def test_animation_frames_match_the_static_figure(fit):
    X, sc, trace = fit
    anim = g.blobs_animation(X, trace, scaling=sc)
    steps = [int(s) for s in frame_indices(trace.n_half_steps, g.MAX_FRAMES)]
    d = json.loads(anim.to_json())
    assert [f["name"] for f in d["frames"]] == [str(s) for s in steps]
    assert all(len(f["data"]) == len(d["data"]) for f in d["frames"])
    labels = [st["label"] for st in d["layout"]["sliders"][0]["steps"]]
    assert labels == [trace.half_step(s).label for s in steps]
    assert {b["label"] for b in d["layout"]["updatemenus"][0]["buttons"]} == {"▶ Play", "❚❚ Pause"}
    # a frame's colours and ellipses equal the static figure at that half-step
    s = steps[len(steps) // 2]
    frame = d["frames"][len(steps) // 2]
    static = validated(g.blobs_figure(X, trace, trace.half_step(s), scaling=sc)).to_dict()
    assert _scatter(frame)["marker"]["color"] == _scatter(static)["marker"]["color"]
    assert "x" not in _scatter(frame) and len(_arr(_scatter(d)["x"])) == len(X)  # static xy
    (a,) = _by_name(frame, "component 2: 2σ")
    (b,) = _by_name(static, "component 2: 2σ")
    np.testing.assert_allclose(_arr(a["x"]), _arr(b["x"]))


def test_figure_json_stays_small_for_large_n_and_long_runs():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal([0, 0], 1.0, size=(6_000, 2)), rng.normal([3, 1], 1.0, size=(6_000, 2))])
    trace = emcore.fit_gaussian_mixture(X, 3, seed=1, max_iter=30, tol=None)
    assert trace.n_half_steps > g.MAX_FRAMES
    static = g.blobs_figure(X, trace, trace.half_step(7))
    anim = g.blobs_animation(X, trace)
    rest = g.restarts_figure(X, [trace, trace])
    for fig, limit in ((validated(static), 1e6), (anim, 5e6), (rest, 1e6)):
        assert len(fig.to_json()) <= limit
    assert len(_arr(_scatter(static)["x"])) == g.MAX_POINTS < len(X)  # sampled
    assert len(anim.to_dict()["frames"]) <= g.MAX_FRAMES


def test_validated_build_of_every_figure(fit):
    """Plotly's validation accepts every figure and keeps every value as the builder wrote
    it (the step player sends the figure dictionary itself)."""
    X, sc, trace = fit
    truth = trace.params[-1]
    for s in (0, 1, 2, trace.n_half_steps - 1):
        fig = g.blobs_figure(X, trace, trace.half_step(s), scaling=sc, true_params=truth)
        assert isinstance(fig, dict) and same_drawing(fig, validated(fig))
    validated(g.blobs_animation(X, trace, scaling=sc, max_frames=6))
    validated(g.restarts_figure(X, [trace, trace], scaling=sc, seeds=[0, 1]))


def test_frozen_animation_equals_the_validated_build(fit):
    """The fast build (frames attached unvalidated) draws what Plotly's validated figure with
    frames draws, and is computed once."""
    X, sc, trace = fit
    anim = g.blobs_animation(X, trace, scaling=sc, max_frames=5)
    first = anim.to_dict()
    assert anim.to_dict() is first  # computed once, then reused
    assert len(first["frames"]) == 5
    assert (values(json.loads(anim.to_json()))
            == values(json.loads(validated(anim).to_json())))
    rest = g.restarts_figure(X, [trace, trace], scaling=sc)
    assert rest.to_dict() is rest.to_dict() and len(rest.to_dict()["data"]) > 2


def test_restarts_figure_titles_carry_the_final_loglik(fit):
    X, sc, trace = fit
    other = emcore.fit_gaussian_mixture(sc.to_fit(X), 2, seed=5, max_iter=3, tol=None)
    fig = g.restarts_figure(X, [other, trace], scaling=sc, seeds=[5, 0])
    titles = [a["text"] for a in fig.to_dict()["layout"]["annotations"]]
    assert titles[0] == f"seed 5: ℓ = {other.log_likelihood[-1]:,.2f}" + (
        " (best)" if other.log_likelihood[-1] > trace.log_likelihood[-1] else "")
    assert f"{trace.log_likelihood[-1]:,.2f}" in titles[1]
    same = g.restarts_figure(X, [trace, trace], scaling=sc)
    assert not any("best" in a["text"] for a in same.to_dict()["layout"]["annotations"])  # a tie has no winner


def test_truth_table_pairs_components(fit):
    X, sc, trace = fit
    p = trace.params[-1]
    # truth = the fit itself in display units, components listed in reverse order
    A = np.diag(sc.scale)
    truth = emcore.GaussianParams(
        p.weights[::-1].copy(), (sc.center + sc.scale * p.means)[::-1].copy(),
        np.array([A @ c @ A for c in p.covariances])[::-1].copy())
    rows = g.truth_table(truth, trace, sc)
    assert [r["fitted component"] for r in rows] == [2, 1]
    for r in rows:
        assert r["true π"] == r["fitted π"] and r["true μ"] == r["fitted μ"]
        assert r["true sd"] == r["fitted sd"] and r["true ρ"] == r["fitted ρ"]
    k = 0
    sd = np.sqrt(np.diag(A @ p.covariances[k] @ A))
    rho = (A @ p.covariances[k] @ A)[0, 1] / (sd[0] * sd[1])
    assert rows[1]["fitted ρ"] == round(float(rho), 3)


def test_soft_vs_hard_sentence_numbers(fit):
    X, sc, trace = fit
    hard = emcore.fit_gaussian_mixture(sc.to_fit(X), 2, seed=0, hard=True,
                                       covariance_type="spherical")
    s = 3
    s_hard = min(s, hard.n_half_steps - 1)
    text = g.soft_vs_hard_sentence(trace, hard, trace.half_step(s), hard.half_step(s_hard))
    r = trace.responsibilities(1)
    share = np.mean(r.max(axis=1) < 0.9)
    assert f"{share:.0%} of the points give no" in text
    # independent nearest-mean count, point by point
    hs = hard.half_step(s_hard)
    Z = sc.to_fit(X)
    near = sum(
        int(np.argmin([np.sum((z - m) ** 2) for m in hs.params.means]) == int(np.argmax(row)))
        for z, row in zip(Z, hs.resp, strict=True))
    assert f"here {near / len(Z):.0%} of the points sit with their nearest mean" in text
    assert f"after {hard.n_iter} with ℓ = {hard.log_likelihood[-1]:,.2f}" in text
    assert "At θ⁽⁰⁾" in g.soft_vs_hard_sentence(trace, hard, trace.half_step(0), hard.half_step(0))


def test_nearest_mean_share_simple():
    Z = np.array([[0.0, 0.0], [1.0, 0.0], [4.0, 0.0], [5.0, 0.0]])
    means = np.array([[0.5, 0.0], [4.5, 0.0]])
    assert g.nearest_mean_share(Z, means, np.eye(2)[[0, 0, 1, 1]]) == 1.0
    assert g.nearest_mean_share(Z, means, np.eye(2)[[0, 1, 1, 1]]) == 0.75


def test_display_trace_speaks_display_units(fit):
    X, sc, trace = fit
    view = g.DisplayTrace(trace, sc)
    t = 3
    np.testing.assert_allclose(view.params[t].means, sc.center + sc.scale * trace.params[t].means)
    A = np.diag(sc.scale)
    np.testing.assert_allclose(view.params[t].covariances[1], A @ trace.params[t].covariances[1] @ A)
    np.testing.assert_array_equal(view.params[t].weights, trace.params[t].weights)
    assert len(view.params) == len(trace.params)
    np.testing.assert_allclose(view.params[-1].means, sc.means(trace.params[-1].means))
    with pytest.raises(IndexError):
        view.params[len(trace.params)]
    assert view.log_likelihood is trace.log_likelihood and view.n_iter == trace.n_iter
    np.testing.assert_array_equal(view.responsibilities(2), trace.responsibilities(2))
    from emui import describe_half_step

    text = describe_half_step(view, view.half_step(4), ["x", "y"])  # M-step 2
    d1, d2 = (sc.center + sc.scale * trace.params[j].means for j in (1, 2))
    k = int(np.argmax(np.linalg.norm(d2 - d1, axis=1)))
    m1 = d1[k]
    assert f"x {m1[0]:.3g}→" in text


def test_standardising_shifts_loglik_by_the_jacobian_old_faithful():
    """The page's on-screen claim: fitting z-scores changes ℓ by the constant N·Σ log sd only.
    Both fits also reach the published two-component full-covariance optimum of Old Faithful
    (mclust "VVV", G = 2: log-likelihood −1130.264)."""
    import emdata

    X = np.asarray(emdata.load_dataset("faithful").X, dtype=float)
    sc = g.Scaling.standardise(X)
    tz = emcore.fit_gaussian_mixture(sc.to_fit(X), 2, seed=0, tol=1e-10, max_iter=500)
    tr = emcore.fit_gaussian_mixture(X, 2, seed=0, tol=1e-10, max_iter=500)
    assert tz.log_likelihood[-1] - len(X) * sc.log_jacobian == pytest.approx(
        tr.log_likelihood[-1], abs=1e-6)
    assert tr.log_likelihood[-1] == pytest.approx(-1130.264, abs=1e-3)
    # and the same fitted Gaussians, once mapped back to minutes
    order = g.match_components(tr.params[-1].means, sc.means(tz.params[-1].means))
    np.testing.assert_allclose(sc.means(tz.params[-1].means)[order], tr.params[-1].means,
                               rtol=1e-5)
    np.testing.assert_allclose(sc.covariances(tz.params[-1].covariances)[order],
                               tr.params[-1].covariances, rtol=1e-4)


def test_figures_redraw_for_slides(fit):
    """The page offers PNG/SVG/GIF of these figures via emviz.export (matplotlib redraw)."""
    from emviz import export

    X, sc, trace = fit
    fig = g.blobs_figure(X, trace, trace.half_step(3), scaling=sc, title="E-step 2")
    assert export.figure_png(fig, scale=0.5).startswith(b"\x89PNG")
    assert b"<svg" in export.figure_svg(fig)[:500]
    gif = export.run_gif(lambda j: g.blobs_figure(X, trace, trace.half_step(j), scaling=sc), [0, 1], width_px=300,
                         dpi=40)
    assert gif.startswith(b"GIF89a")
