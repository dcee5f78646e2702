"""emviz.gauss1d: the 1-D figures and the worked numbers, checked against scipy / emcore."""

import base64
import itertools
import json

import numpy as np
import plotly.io as pio
import pytest
from scipy.stats import norm

import emcore
from emviz.gauss1d import (
    RUG_COLUMNS,
    agreement,
    animation_figure,
    blend_rgb,
    house_numbers,
    mixture_figure,
    params_1d,
    price_axis,
    rug_strip,
    truth_figure,
    weighted_densities,
)
from emviz.palette import NEUTRAL, component_color, hex_to_rgb
from tests.figcheck import same_drawing, validated


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    z = (rng.uniform(size=300) < 0.4).astype(int)
    x = np.where(z == 1, rng.normal(5.5, 0.08, 300), rng.normal(5.15, 0.1, 300))
    return x, z


@pytest.fixture(scope="module")
def trace(data):
    return emcore.fit_gaussian_mixture(data[0], 2, seed=0, max_iter=40, tol=1e-8)


@pytest.fixture(scope="module")
def trace_reg(data):
    return emcore.fit_gaussian_mixture(data[0], 2, seed=0, max_iter=10, tol=None, reg=0.05)


def _decode(v):
    """Arrays in Plotly 7 JSON are {"dtype", "bdata"} base64 blobs."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v)


def test_weighted_densities_match_scipy(trace):
    p = trace.params[3]
    grid = np.linspace(4.8, 5.8, 50)
    w, mu, sd = params_1d(p)
    expected = np.column_stack([w[k] * norm.pdf(grid, mu[k], sd[k]) for k in range(2)])
    np.testing.assert_allclose(weighted_densities(grid, p), expected, rtol=1e-10)


def test_mixture_figure_curves_colours_and_rug(data, trace):
    x, _ = data
    s = 5  # E-step 3: θ⁽²⁾ drawn, coloured by q_2
    raw = mixture_figure(x, trace, trace.half_step(s), axis=price_axis(x), highlight=7)
    fig = validated(raw)  # Plotly accepts every property ...
    assert same_drawing(raw, fig)  # ... and keeps every value as the builder wrote it
    theta = trace.params[2]
    w, mu, sd = params_1d(theta)
    comps = [d for d in fig.data if d.name and d.name.startswith("component")]
    assert len(comps) == 2
    for k, d in enumerate(comps):
        assert d.line.color == component_color(k)
        np.testing.assert_allclose(d.y, w[k] * norm.pdf(d.x, mu[k], sd[k]), rtol=1e-9)
    mix = next(d for d in fig.data if d.name == "mixture")
    np.testing.assert_allclose(mix.y, comps[0].y + comps[1].y, rtol=1e-12)
    # The histogram is density-normalised: its bars integrate to 1.
    bars = fig.data[0]
    assert np.sum(np.asarray(bars.y) * np.asarray(bars.width)) == pytest.approx(1.0)
    # Rug: every point, in a strip of RUG_COLUMNS columns across the x axis' range; a column
    # holding points has the blend of the component colours weighted by their mean r_ik.
    (rug,) = [d for d in fig.data if d.name == "points (colour = responsibilities)"]
    _check_rug(rug, x, trace.responsibilities(2), tuple(fig.layout.xaxis.range))
    # The bands panel stacks p(z=k|x) to exactly 1.
    bands = [d for d in fig.data if d.yaxis == "y2" and d.fill in ("tozeroy", "tonexty")]
    np.testing.assert_allclose(bands[-1].y, 1.0, atol=1e-12)
    assert fig.layout.xaxis2.title.text and fig.layout.yaxis.title.text == "density"


def _rug_colours(rug) -> list:
    """Each column's colour as drawn: its z code looked up in the strip's colour scale
    (None for a clear column)."""
    stops = [c for _, c in rug.colorscale]
    z = np.asarray(rug.z, dtype=float)[0]
    assert rug.zmin == 0 and rug.zmax == max(len(stops) - 1, 1)
    return [None if np.isnan(v) else stops[int(v)] for v in z]


def _check_rug(rug, x, R, x_range) -> None:
    """The strip against a direct count: for each column, its points (x in [edge_j, edge_j+1)),
    their number and mean responsibilities, and the blended colour of that mean."""
    assert rug.type == "heatmap" and rug.zsmooth is False and rug.hoverongaps is False
    lo, hi = x_range
    edges = np.asarray(rug.x, dtype=float)
    assert len(edges) == RUG_COLUMNS + 1 and edges[0] == lo and edges[-1] == hi
    assert np.allclose(np.diff(edges), (hi - lo) / RUG_COLUMNS)
    colours = _rug_colours(rug)
    cd = np.asarray(rug.customdata, dtype=float)[0]
    rgb = np.array([hex_to_rgb(component_color(k)) for k in range(R.shape[1])], dtype=float)
    total = 0
    for j in range(RUG_COLUMNS):
        inside = (x >= edges[j]) & ((x < edges[j + 1]) if j < RUG_COLUMNS - 1 else (x <= hi))
        n = int(inside.sum())
        total += n
        if n == 0:
            assert colours[j] is None and np.isnan(cd[j, 0])
            continue
        mean = R[inside].mean(axis=0)
        assert cd[j, 0] == n
        np.testing.assert_allclose(cd[j, 1:], mean, atol=1e-6)  # float32
        got = np.array([int(colours[j][i:i + 2], 16) for i in (1, 3, 5)])
        assert np.max(np.abs(got - mean @ rgb)) <= 2 + 1e-9  # colours rounded to 4 per channel
    assert total == len(x)  # every point, none sampled away


def test_rug_strip_puts_every_point_in_its_column():
    """A hand-made case: 3 columns over [0, 3]; two points in column 0, one in column 2
    (3.0 sits on the last edge, and belongs to the last column)."""
    xs = np.array([0.1, 0.9, 3.0])
    R = np.array([[1.0, 0.0], [0.0, 1.0], [0.25, 0.75]])
    rug = validated({"data": [rug_strip(xs, R, -1.0, -0.5, (0.0, 3.0), columns=3)],
                     "layout": {}}).data[0]
    cd = np.asarray(rug.customdata, dtype=float)[0]
    assert list(cd[:, 0][[0, 2]]) == [2, 1] and np.isnan(cd[1, 0])
    np.testing.assert_allclose(cd[0, 1:], [0.5, 0.5])
    np.testing.assert_allclose(cd[2, 1:], [0.25, 0.75])
    colours = _rug_colours(rug)
    assert colours[1] is None
    c0, c1 = (np.array(hex_to_rgb(component_color(k)), dtype=float) for k in (0, 1))
    for j, mean in ((0, 0.5 * c0 + 0.5 * c1), (2, 0.25 * c0 + 0.75 * c1)):
        got = np.array([int(colours[j][i:i + 2], 16) for i in (1, 3, 5)])
        assert np.max(np.abs(got - mean)) <= 2
    assert list(np.asarray(rug.y, dtype=float)) == [-1.0, -0.5]
    grey = rug_strip(xs, None, -1.0, -0.5, (0.0, 3.0), columns=3)  # before the first E-step
    assert "no responsibilities yet" in grey["hovertemplate"]
    assert {c for c in _rug_colours(validated({"data": [grey], "layout": {}}).data[0]) if c} \
        == {"#" + "".join(f"{round(v / 4) * 4:02x}" for v in hex_to_rgb(NEUTRAL))}


def test_mixture_figure_changes_with_the_step_and_is_grey_at_the_start(data, trace):
    x, _ = data
    f0 = validated(mixture_figure(x, trace, trace.half_step(0)))
    f1 = validated(mixture_figure(x, trace, trace.half_step(1)))   # E-step 1: new colours
    f2 = validated(mixture_figure(x, trace, trace.half_step(2)))   # M-step 1: new curves
    comp = lambda f: np.asarray(f.data[1].y)  # noqa: E731
    rug = lambda f: {c for c in _rug_colours(next(  # noqa: E731
        d for d in f.data if d.name == "points (colour = responsibilities)")) if c}
    np.testing.assert_allclose(comp(f0), comp(f1))
    assert not np.allclose(comp(f1)[:50], comp(f2)[:50])
    assert len(rug(f0)) == 1  # one neutral colour before the first E-step
    assert rug(f1) == rug(f2) and len(rug(f1)) > 1
    assert "θ⁽⁰⁾" in f0.layout.title.text and "E-step 1" in f1.layout.title.text


def test_house_numbers_are_the_e_and_m_step_of_the_engine(data, trace, trace_reg):
    x, _ = data
    for tr in (trace, trace_reg):
        for t in (0, 4, tr.n_iter - 1):
            for i in (0, 17, len(x) - 1):
                hn = house_numbers(x, tr, t, i)
                np.testing.assert_allclose(hn.resp_i, tr.responsibilities(t)[i], rtol=1e-9,
                                           atol=1e-12)
                np.testing.assert_allclose(hn.numerators / hn.evidence, hn.resp_i)
                w1, mu1, sd1 = params_1d(tr.params[t + 1])
                np.testing.assert_allclose(hn.new_means, mu1, rtol=1e-9)
                np.testing.assert_allclose(hn.new_weights, w1, rtol=1e-9)
                np.testing.assert_allclose(np.sqrt(hn.new_vars), sd1, rtol=1e-8)
                assert hn.Nk.sum() == pytest.approx(len(x))
                assert hn.reg == tr.reg


def test_agreement_is_the_best_permutation():
    rng = np.random.default_rng(2)
    labels = rng.choice(["a", "b", "c"], size=200)
    z = rng.integers(0, 3, size=200)
    ag = agreement(labels, z, 3)
    names = sorted(set(labels))
    best = max(np.mean([names[p[k]] == lab for k, lab in zip(z, labels, strict=True)])
               for p in itertools.permutations(range(3)))
    assert ag.fraction == pytest.approx(best)
    assert ag.table.sum() == 200
    # Relabelled perfectly: 100 %.
    perfect = agreement(labels, np.array([{"a": 2, "b": 0, "c": 1}[v] for v in labels]), 3)
    assert perfect.fraction == 1.0 and perfect.match == {2: "a", 0: "b", 1: "c"}
    # More components than labels: the spare component counts as wrong.
    assert agreement(["x", "x", "y", "y"], [0, 2, 1, 1], 3).fraction == 0.75


def test_truth_figure_reports_agreement(data, trace):
    x, z = data
    R = trace.responsibilities(trace.n_iter)
    fig = truth_figure(x, z, R, label_name="true component")
    ag = agreement(z, R.argmax(axis=1), 2)
    assert f"{100 * ag.fraction:.1f}%" in fig.layout.title.text
    assert ag.fraction > 0.9
    # Stacked label histograms contain every point once.
    label_bars = [d for d in fig.data if d.legendgroup == "labels"]
    assert sum(np.sum(d.y) for d in label_bars) == len(x)


def test_animation_has_one_frame_per_half_step_and_stays_small():
    rng = np.random.default_rng(9)
    x = np.concatenate([rng.normal(0, 1, 3000), rng.normal(3, 0.5, 2000)])
    tr = emcore.fit_gaussian_mixture(x, 3, seed=0, max_iter=200, tol=None)
    fig = animation_figure(x, tr)
    d = fig.to_dict()
    frames = d["frames"]
    assert 2 <= len(frames) <= 100 and frames[0]["name"] == "θ⁽⁰⁾ (start)"
    assert frames[-1]["name"] == f"M-step {tr.n_iter}"
    size = len(pio.to_json(d, validate=False))
    assert size <= 5_000_000
    # Last frame: the component curves of the final θ (float32 on the wire).
    last = frames[-1]["data"]
    grid = _decode(d["data"][1]["x"])
    w, mu, sd = params_1d(tr.params[-1])
    np.testing.assert_allclose(_decode(last[0]["y"]), w[0] * norm.pdf(grid, mu[0], sd[0]),
                               rtol=1e-5, atol=1e-6)
    # Rug colours in the frames decode through the shared colour scale.
    rug = d["data"][-1]["marker"]
    codes = _decode(last[-1]["marker"]["color"])
    assert codes.max() <= rug["cmax"] and len(codes) <= 600
    json.loads(pio.to_json(d, validate=False))  # valid JSON
    validated(fig)  # and valid Plotly, frames included


def test_blend_rgb_of_one_hot_responsibilities_is_the_component_colour():
    R = np.eye(3)
    np.testing.assert_allclose(blend_rgb(R), [hex_to_rgb(component_color(k)) for k in range(3)])


def test_price_axis_labels_dollars_on_the_log_scale():
    x = np.log10(np.array([70_000, 120_000, 450_000]))
    ax = price_axis(x)
    assert len(ax.tickvals) >= 3
    for v, txt in zip(ax.tickvals, ax.ticktext, strict=True):
        assert txt == f"${10 ** v / 1000:,.0f}k"
        assert x.min() <= v <= x.max()


def test_data_histogram_is_opaque_enough_for_the_dark_theme(data, trace):
    """The grey bars: at least half opaque (at 0.35 they were dim on the dark background)."""
    from emviz.gauss1d import mixture_figure

    x, _ = data
    fig = validated(mixture_figure(x, trace, trace.half_step(0)))
    bars = [t for t in fig.data if t.type == "bar" or t.type == "histogram"]
    assert bars
    from tests.test_palette import DARK_BG, LIGHT_BG, ratio

    for b in bars:
        alpha = float(str(b.marker.color).rstrip(")").split(",")[-1])
        assert alpha >= 0.5, b.marker.color
        # the bars' outline reads on both themes (the half-transparent fill alone: ~2:1)
        assert b.marker.line.width >= 1
        assert ratio(b.marker.line.color, LIGHT_BG) >= 3.0
        assert ratio(b.marker.line.color, DARK_BG) >= 3.0
