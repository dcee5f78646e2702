"""The landscape figures (emviz.landscape), the panel's captions and the panel on the page."""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import emcore
from emcore import landscape as land
from emui import landscape as panel
from emviz.landscape import ascent_figure, collapse_figure, depth_transform, landscape_figure
from tests.playertest import set_step

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "house_prices.py")


@pytest.fixture(scope="module")
def fit():
    X, _, _ = emcore.make_gaussian_mixture_data(250, 2, 1, separation=3.0, seed=7)
    x = X[:, 0]
    return x, emcore.fit_gaussian_mixture(x, 2, seed=0, tol=1e-8)


def test_depth_transform():
    Z = np.array([[0.0, -1.0], [-9.0, -99.0]])
    d, top = depth_transform(Z)
    assert top == 0.0
    assert np.allclose(d, [[0, np.log10(2)], [1, 2]])


def test_landscape_figure(fit):
    x, tr = fit
    path = land.mean_path(tr)
    rs = [land.mean_path(r) for r in emcore.fit_restarts(x, 2, n_init=2, seed=5,
                                                          init="random_from_data")]
    lo, hi = land.mean_region(x, [path["means"]] + [r["means"] for r in rs])
    grid = np.linspace(lo, hi, 21)
    Z = land.mean_slice(x, tr.params[2], grid)
    ga = land.gradient_ascent(x, tr.params[0], 0.01, n_steps=20)
    fig = landscape_figure(grid, Z, path["means"], path["loglik"], 2, "M-step 2",
                           restarts=[(r["means"], r["loglik"]) for r in rs], ascent=ga)
    names = [t.name for t in fig.data]
    assert "EM" in names and "μ₁ = μ₂ (mirror line)" in names and "restarts" in names
    assert any(n and n.startswith("gradient ascent") for n in names)
    em = next(t for t in fig.data if t.name == "EM")
    assert np.allclose(em.x, path["means"][:, 0]) and np.allclose(em.y, path["means"][:, 1])
    assert np.allclose(np.asarray(em.customdata)[:, 1], tr.log_likelihood)
    twin = next(t for t in fig.data if t.name == "EM's end, labels swapped")
    assert (twin.x[0], twin.y[0]) == (path["means"][-1, 1], path["means"][-1, 0])
    contour = fig.data[0]
    assert np.array_equal(np.asarray(contour.customdata), Z)
    assert fig.layout.xaxis.range == fig.layout.yaxis.range == (lo, hi)
    assert "M-step 2" in fig.layout.title.text
    assert f"({Z.max():.2f})" in contour.colorbar.title.text
    ring = next(t for t in fig.data if t.name and t.name.startswith("θ⁽²⁾"))
    assert (ring.x[0], ring.y[0]) == tuple(path["means"][2])
    json.dumps(fig.to_plotly_json(), default=str)


def test_swapped_slice_is_the_transpose(fit):
    """Holding the swapped σ, π is the mirror image: ℓ(π', μ₁, μ₂, σ') = ℓ(π, μ₂, μ₁, σ)."""
    x, tr = fit
    p = tr.params[3]
    g = np.linspace(x.min(), x.max(), 9)
    sw = emcore.GaussianParams(p.weights[::-1], p.means[::-1], p.covariances[::-1])
    assert np.allclose(land.mean_slice(x, sw, g), land.mean_slice(x, p, g).T, rtol=1e-12)


def test_ascent_and_collapse_figures(fit):
    x, tr = fit
    ga = land.gradient_ascent(x, tr.params[0], 0.5, n_steps=30)
    fig = ascent_figure(tr.log_likelihood, ga)
    assert np.allclose(fig.data[0].y, tr.log_likelihood) and np.allclose(fig.data[1].y, ga.loglik)
    sl = land.collapse_slice(x, tr.final_params, 1, reg=1e-3, n=60)
    cf = collapse_figure(sl)
    assert cf.layout.xaxis.type == "log"
    assert [t.name for t in cf.data][:2] == ["ℓ with μ₂ on one point", "ℓ + log prior (reg = 0.001)"]
    assert cf.data[1].y[0] is None or cf.data[1].y[0] < sl["loglik_now"]  # the prior's pit
    cross = [t for t in cf.data if t.name == "the spike passes the fit"]
    assert len(cross) == (sl["sigma"][0] <= sl["sigma_cross"])
    if cross:
        assert cross[0].x[0] == pytest.approx(sl["sigma_cross"])
    json.dumps(cf.to_plotly_json(), default=str)
    sl0 = land.collapse_slice(x, tr.final_params, 0, n=60)
    assert collapse_figure(sl0).data[0].name == "ℓ with μ₁ on one point"
    assert len(collapse_figure(sl0).data) == 1 + (sl0["sigma"][0] <= sl0["sigma_cross"])


def test_captions_state_what_rises(fit):
    x, tr = fit
    assert "ℓ(θ⁽ᵗ⁾)" in panel.path_caption(tr, 3, "M-step 3")
    assert "θ⁽³⁾ (x)" in panel.path_caption(tr, 3, "x")
    reg = emcore.fit_gaussian_mixture(x, 2, seed=0, reg=0.1)
    assert "ℓ + log prior" in panel.path_caption(reg, 0, "θ⁽⁰⁾")
    hard = emcore.fit_gaussian_mixture(x, 2, seed=0, hard=True)
    assert "ℓ_C" in panel.path_caption(hard, 0, "θ⁽⁰⁾")
    rs = emcore.fit_restarts(x, 2, n_init=3, seed=4, init="random_from_data")
    rc = panel.restarts_caption(rs, tr)
    assert "3 restarts" in rc and "seeds 4…6" in rc
    assert all(f"{r.log_likelihood[-1]:.3f}" in rc for r in rs)
    gap = land.mirror_gap(x, tr.final_params)
    text = panel.mirror_caption(gap, False)
    assert f"{gap['gap']:.1f} nats lower" in text and f"{gap['full_swap']:.3f}" in text
    sym = land.mirror_gap(x, emcore.GaussianParams([0.5, 0.5], [[0.0], [1.0]], [1.0, 1.0]))
    assert "mirror-symmetric" in panel.mirror_caption(sym, False)
    ga = land.gradient_ascent(x, tr.params[0], 50.0, n_steps=50)
    eta = land.em_step_sizes(x, tr.params[0])
    cap = panel.ascent_caption(ga, tr, eta)
    assert ga.message in cap and f"{eta[0]:.3g}" in cap
    sl = land.collapse_slice(x, tr.final_params, 0, reg=1e-3)
    cc = panel.collapse_caption(sl, False)
    assert f"slope −{sl['m']}" in cc and "a prior it does not use yet" in cc


def test_panel_on_the_page_is_built_on_request():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert at.toggle(key="hp_land_on").value is False
    assert not [c for c in at.get("plotly_chart") if "hp_land" in c.proto.id]
    set_step(at, "hp", 4)
    at.toggle(key="hp_land_on").set_value(True).run()
    assert not at.exception
    assert at.session_state["hp_land_at"] == 4
    specs = {c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.spec)
             for c in at.get("plotly_chart") if "hp_land" in c.proto.id}
    assert set(specs) == {"hp_land_fig", "hp_land_ga", "hp_land_spike"}
    trace = at.session_state["em_fits"]["house_prices"]["trace"]
    assert "M-step 2" in specs["hp_land_fig"]["layout"]["title"]["text"]
    # moving the slider keeps the slice pinned; the button re-slices
    set_step(at, "hp", 6)
    assert at.session_state["hp_land_at"] == 4
    at.button(key="hp_land_repin").click().run()
    assert at.session_state["hp_land_at"] == 6 and not at.exception
    at.select_slider(key="hp_land_eta").set_value(1.0).run()
    cap = " ".join(c.value for c in at.caption)
    assert "leave the valid region" in cap or "not finite" in cap
    assert f"{trace.log_likelihood[-1]:.3f}" in cap
    # K = 3: no landscape control at all
    at.slider(key="hp_n_components").set_value(3).run()
    assert not at.exception
    assert not [t for t in at.toggle if t.key == "hp_land_on"]
    assert not [c for c in at.get("plotly_chart") if "hp_land" in c.proto.id]
