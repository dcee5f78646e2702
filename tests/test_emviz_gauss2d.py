"""Pure helpers of emviz.gauss2d: ellipse geometry, colour blending, scaling, matching.

Every check is an independent computation (Mahalanobis distances, shoelace area, second
moments, brute force over permutations), not a re-run of the code under test.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import emcore
from emviz import gauss2d as g
from emviz.palette import COMPONENT_COLORS, hex_to_rgb
from tests.figcheck import validated


@st.composite
def spd2(draw):
    """A random 2×2 symmetric positive-definite matrix (condition number up to ~1e4)."""
    angle = draw(st.floats(0, np.pi))
    l1 = draw(st.floats(1e-2, 1e2))
    l2 = draw(st.floats(1e-2, 1e2))
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    return R @ np.diag([l1, l2]) @ R.T


vec2 = st.tuples(st.floats(-100, 100), st.floats(-100, 100)).map(np.array)


@given(mean=vec2, cov=spd2(), n_sigma=st.sampled_from([1.0, 2.0, 3.0]))
def test_ellipse_vertices_are_at_mahalanobis_radius(mean, cov, n_sigma):
    x, y = g.ellipse_xy(mean, cov, n_sigma)
    d = np.column_stack([x, y]) - mean
    maha2 = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
    np.testing.assert_allclose(maha2, n_sigma**2, rtol=1e-8)


@given(mean=vec2, cov=spd2(), n_sigma=st.sampled_from([1.0, 2.0]))
def test_ellipse_second_moment_recovers_covariance(mean, cov, n_sigma):
    # Vertices at equally spaced angles of the unit circle mapped by n·V·sqrt(Λ): their
    # average outer product is n²/2 · Σ exactly (E[u uᵀ] = I/2 over equally spaced angles).
    x, y = g.ellipse_xy(mean, cov, n_sigma, n_points=41)
    d = np.column_stack([x, y])[:-1] - mean  # drop the closing duplicate
    np.testing.assert_allclose(d.mean(axis=0), 0.0, atol=1e-9 * (1 + np.abs(cov).max()))
    est = 2.0 / n_sigma**2 * (d.T @ d) / len(d)
    np.testing.assert_allclose(est, cov, rtol=1e-9, atol=1e-9 * np.abs(cov).max())


@given(cov=spd2(), n_sigma=st.sampled_from([1.0, 2.0]))
def test_ellipse_area_and_extent(cov, n_sigma):
    x, y = g.ellipse_xy(np.zeros(2), cov, n_sigma, n_points=4001)
    assert x[0] == pytest.approx(x[-1]) and y[0] == pytest.approx(y[-1])  # closed outline
    area = 0.5 * abs(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))  # shoelace
    assert area == pytest.approx(np.pi * n_sigma**2 * np.sqrt(np.linalg.det(cov)), rel=1e-5)
    # support function of an ellipse: max_x = n·sqrt(Σ_xx), max_y = n·sqrt(Σ_yy)
    assert x.max() == pytest.approx(n_sigma * np.sqrt(cov[0, 0]), rel=1e-5)
    assert y.max() == pytest.approx(n_sigma * np.sqrt(cov[1, 1]), rel=1e-5)


def test_ellipse_axis_aligned_example():
    # Σ = diag(9, 1): the 2σ ellipse spans ±6 along x and ±2 along y.
    x, y = g.ellipse_xy(np.array([1.0, -1.0]), np.diag([9.0, 1.0]), 2.0, n_points=9)
    assert x.max() == pytest.approx(7.0) and x.min() == pytest.approx(-5.0)
    assert y.max() == pytest.approx(1.0) and y.min() == pytest.approx(-3.0)


def test_ellipse_mass_matches_chi2():
    from scipy.stats import chi2

    for n, mass in g.ELLIPSE_MASS.items():
        assert mass == pytest.approx(chi2.cdf(n**2, df=2), rel=1e-12)


def test_blend_colors_one_hot_is_the_component_colour():
    resp = np.eye(4)[[0, 1, 2, 3, 2]]
    rgb = g.blend_colors(resp)
    for row, k in zip(rgb, [0, 1, 2, 3, 2], strict=True):
        assert tuple(row) == hex_to_rgb(COMPONENT_COLORS[k])


@given(st.lists(st.floats(0, 1), min_size=3, max_size=3).filter(lambda v: sum(v) > 1e-3))
def test_blend_colors_is_the_weighted_sum(w):
    r = np.array(w) / sum(w)
    rgb = g.blend_colors(r[None, :])[0]
    for ch in range(3):
        expected = sum(r[k] * hex_to_rgb(COMPONENT_COLORS[k])[ch] for k in range(3))
        assert abs(rgb[ch] - expected) <= 0.5 + 1e-9


def test_blend_colors_half_half_is_the_midpoint():
    rgb = g.blend_colors(np.array([[0.5, 0.5]]), ["#000000", "#FF6420"])[0]
    # 0.5·(0,0,0) + 0.5·(255,100,32) = (127.5, 50, 16); numpy rounds half to even
    assert tuple(rgb) == (128, 50, 16)
    assert g.hex_strings(np.array([[1, 2, 255]])) == ["#0102ff"]


def test_scaling_maps_gaussians_exactly():
    rng = np.random.default_rng(0)
    X = rng.normal([3.0, 70.0], [1.1, 13.6], size=(500, 2))
    sc = g.Scaling.standardise(X)
    Z = sc.to_fit(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(sc.to_display(Z), X, rtol=1e-12)
    # the covariance of the mapped sample is the mapped covariance of the sample
    cz = np.cov(Z.T)
    np.testing.assert_allclose(sc.covariances(cz[None])[0], np.cov(X.T), rtol=1e-10)
    np.testing.assert_allclose(sc.means(Z.mean(axis=0)[None])[0], X.mean(axis=0), rtol=1e-12)
    assert sc.log_jacobian == pytest.approx(np.log(X.std(axis=0)).sum())
    assert g.Scaling.identity(2).is_identity and not sc.is_identity


def test_scaling_constant_column_keeps_scale_one():
    X = np.column_stack([np.arange(5.0), np.full(5, 7.0)])
    sc = g.Scaling.standardise(X)
    assert sc.scale[1] == 1.0 and np.isfinite(sc.to_fit(X)).all()


def test_match_components_equals_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(20):
        a = rng.normal(size=(4, 2))
        b = rng.normal(size=(4, 2))
        order = g.match_components(a, b)

        def cost(p, a=a, b=b):
            return sum(((a[j] - b[p[j]]) ** 2).sum() for j in range(4))

        best = min(itertools.permutations(range(4)), key=cost)
        assert cost(order) == pytest.approx(cost(best))


def test_label_agreement_is_permutation_invariant_and_brute_force():
    rng = np.random.default_rng(2)
    labels = rng.choice(["Adelie", "Gentoo", "Chinstrap"], size=60)
    resp = rng.dirichlet(np.ones(3), size=60)
    agree, pairing = g.label_agreement(labels, resp)
    assign = resp.argmax(axis=1)
    classes = ["Adelie", "Gentoo", "Chinstrap"]
    best = max(
        np.mean([assign[i] == p[classes.index(labels[i])] for i in range(60)])
        for p in itertools.permutations(range(3))
    )
    assert agree == pytest.approx(best)
    assert sorted(pairing.values()) == [0, 1, 2]
    # perfect clustering with permuted component order -> 1.0
    perfect = np.eye(3)[[{"Adelie": 2, "Gentoo": 0, "Chinstrap": 1}[lab] for lab in labels]]
    assert g.label_agreement(labels, perfect)[0] == 1.0


def test_display_sample_and_note():
    assert list(g.display_sample(5, 10)) == [0, 1, 2, 3, 4]
    a = g.display_sample(10_000, 2000)
    b = g.display_sample(10_000, 2000)
    assert len(a) == 2000 and len(set(a)) == 2000 and np.array_equal(a, b)
    assert g.sampling_note(100, 2000) is None
    assert g.sampling_note(10_000, 2000) == (
        "Showing 2,000 of 10,000 points (a fixed random sample); the fit uses all 10,000."
    )


def test_theta_index_follows_the_half_step_convention():
    # s=0 θ0; s=2t+1 (E-step t+1) shows θ_t; s=2t+2 (M-step t+1) shows θ_{t+1}
    shown = [t + (kind == "M") for kind, t in map(emcore.half_step_position, range(7))]
    assert shown == [0, 0, 1, 1, 2, 2, 3]


def test_confusion_table_counts():
    labels = np.array(["a", "b", "a", "c", "b", "a"])
    resp = np.eye(2)[[0, 1, 1, 1, 1, 0]]
    classes, table = g.confusion_table(labels, resp)
    assert classes == ["a", "b", "c"]
    expected = np.zeros((2, 3), dtype=int)
    for lab, k in zip(labels, resp.argmax(axis=1), strict=True):
        expected[k, classes.index(lab)] += 1
    np.testing.assert_array_equal(table, expected)
    assert table.sum() == len(labels)


def test_compact_density_draws_the_same_contour_levels():
    """The step player's density: 0..250 of the peak in one byte, the contour levels scaled
    with it, so every level sits at the same fraction of the peak as with float32."""
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal([0, 0], 1.0, (80, 2)), rng.normal([4, 3], 0.7, (60, 2))])
    tr = emcore.fit_gaussian_mixture(X, 2, seed=0, max_iter=5, tol=None)

    def contour(fig):
        (c,) = [t for t in validated(fig).data if t.type == "contour"]
        return c

    full = contour(g.blobs_figure(X, tr, tr.half_step(4), grid_n=g.GRID_PLAYER))
    small = contour(g.blobs_figure(X, tr, tr.half_step(4), grid_n=g.GRID_PLAYER,
                                   compact_density=True))
    zf, zc = np.asarray(full.z, float), np.asarray(small.z)
    assert zc.dtype == np.uint8 and zc.max() == 250 and zc.shape == zf.shape
    np.testing.assert_allclose(zc / 250.0, zf / zf.max(), atol=0.5 / 250 + 1e-6)
    for key in ("start", "end", "size"):
        assert getattr(small.contours, key) / 250.0 == pytest.approx(
            getattr(full.contours, key) / zf.max(), rel=1e-6)
    np.testing.assert_array_equal(full.x, small.x)
