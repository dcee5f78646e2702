"""emviz.export: matplotlib redraws of Plotly figures (PNG/SVG) and animated GIFs."""

import io

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

import emcore
from emviz import export
from emviz.common import loglik_figure, trajectory_figure
from emviz.gauss1d import mixture_figure
from emviz.palette import component_color, hex_to_rgb


@pytest.fixture(scope="module")
def fit():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(0, 1, 120), rng.normal(5, 0.8, 80)])
    return x, emcore.fit_gaussian_mixture(x, 2, seed=0, max_iter=12, tol=None)


def _has_colour(img: Image.Image, hex_color: str, tol: int = 12) -> bool:
    a = np.asarray(img.convert("RGB")).reshape(-1, 3).astype(int)
    target = np.array(hex_to_rgb(hex_color))
    return bool(np.any(np.all(np.abs(a - target) <= tol, axis=1)))


def test_to_rgba_parses_plotly_colours():
    assert export.to_rgba("#0072B2") == pytest.approx((0, 114 / 255, 178 / 255, 1.0))
    assert export.to_rgba("rgba(230,159,0,0.25)") == pytest.approx((230 / 255, 159 / 255, 0, 0.25))
    assert export.to_rgba("rgb(0, 0, 0)") == (0, 0, 0, 1.0)
    assert export.to_rgba("#fff") == (1, 1, 1, 1.0)
    assert export.to_rgba(None, (0.1, 0.2, 0.3, 1)) == (0.1, 0.2, 0.3, 1)


def test_png_of_the_mixture_figure_shows_the_component_colours(fit):
    x, tr = fit
    png = export.figure_png(mixture_figure(x, tr, tr.half_step(6)), width_px=800, scale=1.0)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(png))
    assert img.size[0] == 800
    assert _has_colour(img, component_color(0)) and _has_colour(img, component_color(1))


def test_svg_keeps_titles_as_text(fit):
    _, tr = fit
    svg = export.figure_svg(loglik_figure(tr, tr.half_step(3))).decode("utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "E-step 2" in svg and "log-likelihood (nats)" in svg


def test_redraw_handles_stacked_rows_bars_heatmaps_and_shapes(fit):
    _, tr = fit
    mfig = export.to_matplotlib(trajectory_figure(tr, tr.half_step(5)))
    assert len(mfig.axes) == 3  # μ, σ, π rows
    bar = go.Figure(go.Bar(x=["a", "b"], y=[1, 2], marker=dict(color=["#0072B2", "#E69F00"])))
    heat = go.Figure(go.Heatmap(z=[[0, 1], [2, 3]], x=["u", "v"], y=["p", "q"]))
    for f in (bar, heat):
        img = Image.open(io.BytesIO(export.figure_png(f, scale=1.0)))
        assert img.size[0] > 0
    assert _has_colour(Image.open(io.BytesIO(export.figure_png(bar, scale=1.0))), "#E69F00")


def test_numeric_marker_colours_map_through_the_colour_scale():
    owner = go.scatter.Marker(colorscale=[[0, "#000000"], [0.5, "#0072B2"], [1, "#ffffff"]],
                              cmin=0, cmax=2)
    cols = export._resolve(np.array([0, 1, 2]), owner, 3, None)
    assert cols[0][:3] == pytest.approx((0, 0, 0), abs=0.01)
    assert cols[1][:3] == pytest.approx((0, 114 / 255, 178 / 255), abs=0.01)
    assert cols[2][:3] == pytest.approx((1, 1, 1), abs=0.01)


def test_gauss1d_gif_has_one_frame_per_half_step_in_the_page_colours(fit):
    x, _ = fit
    tr = emcore.fit_gaussian_mixture(x, 2, seed=0, max_iter=3, tol=None)
    gif = export.gauss1d_gif(x, tr, max_frames=60, width_px=480, height_px=270, dpi=60)
    img = Image.open(io.BytesIO(gif))
    assert img.format == "GIF" and img.n_frames == tr.n_half_steps
    img.seek(img.n_frames - 1)
    last = img.convert("RGB")
    assert _has_colour(last, component_color(0), tol=20) and _has_colour(last, component_color(1), tol=20)


def test_run_gif_redraws_any_builder(fit):
    x, tr = fit
    gif = export.run_gif(lambda s: loglik_figure(tr, tr.half_step(s)), [0, 1, 2], width_px=400, dpi=50)
    img = Image.open(io.BytesIO(gif))
    assert img.n_frames == 3
    with pytest.raises(ValueError):
        export.run_gif(lambda s: loglik_figure(tr, tr.half_step(s)), [])
