"""emviz.common: half-step bookkeeping, shared figures and the fast layout helpers."""

import json

import numpy as np
import pytest

import emcore
from emviz.common import (
    FrozenFigure,
    frame_indices,
    half_step_values,
    loglik_figure,
    nice_ticks,
    restarts_figure,
    rgb_to_scale,
    rows_layout,
    trajectory_figure,
)
from emviz.palette import component_color
from tests.figcheck import same_drawing, validated, values


@pytest.fixture(scope="module")
def data_1d():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(0.0, 1.0, 150), rng.normal(4.0, 0.7, 100)])


@pytest.fixture(scope="module")
def trace_1d(data_1d):
    return emcore.fit_gaussian_mixture(data_1d, 2, seed=1, max_iter=30, tol=None)


@pytest.fixture(scope="module")
def trace_reg(data_1d):
    return emcore.fit_gaussian_mixture(data_1d, 2, seed=1, max_iter=15, tol=None, reg=0.5)


def test_one_half_step_model(trace_1d):
    """emcore's HalfStep is the one rule: s = 0 is θ⁽⁰⁾; s = 2t+1 the E-step of iteration t+1
    (θ⁽ᵗ⁾ shown, q_t computed); s = 2t+2 its M-step (θ⁽ᵗ⁺¹⁾ shown, from q_t)."""
    assert trace_1d.n_half_steps == 2 * trace_1d.n_iter + 1
    for s in range(trace_1d.n_half_steps):
        hs = trace_1d.half_step(s)
        if s == 0:
            expected = ("init", 0, 0, "θ⁽⁰⁾ (start)")
        elif s % 2 == 1:
            expected = ("E", (s - 1) // 2, (s - 1) // 2, f"E-step {(s + 1) // 2}")
        else:
            expected = ("M", (s - 2) // 2, s // 2, f"M-step {s // 2}")
        assert (hs.kind, hs.t, hs.theta_index, hs.label) == expected
        assert emcore.half_step_position(s) == (hs.kind, hs.t)
        assert emcore.half_step_label(s) == hs.label and hs.is_init == (s == 0)
        np.testing.assert_array_equal(trace_1d.params[hs.theta_index].means, hs.params.means)
        if s > 0:  # the responsibilities are those of θ⁽ᵗ⁾, for the E- and the M-step
            np.testing.assert_allclose(hs.resp, emcore.e_step(trace_1d.X, trace_1d.params[hs.t])[0])
        assert trace_1d.half_step_loglik(s) == pytest.approx(
            trace_1d.log_likelihood[hs.theta_index])
    for bad in (-1, trace_1d.n_half_steps):
        with pytest.raises(IndexError):
            trace_1d.half_step(bad)
    with pytest.raises(IndexError):
        emcore.half_step_position(-1)


def test_half_step_values_bound_touches_after_e_and_stays_below_after_m(trace_reg):
    v = half_step_values(trace_reg)
    n = trace_reg.n_iter
    assert np.isnan(v["bound"][0])
    for t in range(n):
        # right after E-step t+1 the bound equals the objective at θ_t (KL = 0) ...
        assert v["bound"][2 * t + 1] == pytest.approx(trace_reg.objective[t])
        # ... after M-step t+1 it is L(q_t, θ_{t+1}) + log prior, below ℓ*(θ_{t+1}) by the KL
        gap = trace_reg.objective[t + 1] - v["bound"][2 * t + 2]
        assert gap == pytest.approx(trace_reg.kl[t], abs=1e-8)
        assert gap >= -1e-9
        # ... and not below the objective it started from
        assert v["bound"][2 * t + 2] >= trace_reg.objective[t] - 1e-9
    # The objective is the penalised one: ℓ + log prior, recomputed independently.
    for s in (0, 3, 2 * n):
        t = trace_reg.half_step(s).theta_index
        p = trace_reg.params[t]
        prior = -0.5 * trace_reg.reg * np.sum(1.0 / p.covariances[:, 0, 0])
        assert v["objective"][s] == pytest.approx(v["loglik"][s] + prior, rel=1e-10)


def test_loglik_figure_marks_the_current_half_step(trace_1d):
    for s in (0, 1, 2, trace_1d.n_half_steps - 1):
        fig = validated(loglik_figure(trace_1d, trace_1d.half_step(s)))
        ring = fig.layout.shapes[-1]   # a layout shape: a step redraws no curve
        assert ring.type == "circle" and ring.xanchor == s
        assert ring.yanchor == pytest.approx(trace_1d.half_step_loglik(s))
        assert fig.layout.shapes[0].x0 == s
        assert trace_1d.half_step(s).label in fig.layout.title.text
    # E-steps leave ℓ unchanged: the curve is flat between M-step t and E-step t+1.
    y = np.asarray(validated(loglik_figure(trace_1d, trace_1d.half_step(0))).data[0].y)
    assert y[1] == y[0] and y[3] == y[2]
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    # Ticks name iterations: iteration t ends at half-step 2t (its M-step).
    ticks = fig.layout.xaxis
    assert list(ticks.tickvals) == [2 * int(t) for t in ticks.ticktext]
    assert int(ticks.ticktext[-1]) <= trace_1d.n_iter


def test_loglik_figure_with_penalty_draws_objective_and_plain_loglik(trace_reg):
    fig = validated(loglik_figure(trace_reg, trace_reg.half_step(4)))
    names = [d.name for d in fig.data]
    assert names[0] == "ℓ + log p (maximised)" and any("ℓ alone" in n for n in names)
    np.testing.assert_allclose(fig.data[0].y[::2][1:], trace_reg.objective[1:])


def test_loglik_figure_of_hard_em_draws_the_classification_likelihood():
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(0, 1, (60, 2)), rng.normal(3, 0.5, (40, 2))])
    tr = emcore.fit_gaussian_mixture(X, 2, hard=True, seed=0, max_iter=6, tol=None)
    fig = validated(loglik_figure(tr, tr.half_step(2)))
    names = [d.name for d in fig.data]
    assert names[0] == "ℓ_C (maximised)" and "ℓ alone" in names
    assert fig.layout.title.text.startswith("ℓ_C")
    # the main curve is ℓ_C = Σ_i max_k log π_k p(x_i | θ_k), written out here with scipy
    from scipy.stats import multivariate_normal

    p = tr.params[1]
    lj = np.column_stack([np.log(w) + multivariate_normal(m, c).logpdf(X)
                          for w, m, c in zip(p.weights, p.means, p.covariances, strict=True)])
    assert fig.data[0].y[2] == pytest.approx(lj.max(axis=1).sum(), rel=1e-10)


def test_trajectory_figure_plots_the_parameters_in_component_colours(trace_1d):
    s = 7
    fig = trajectory_figure(trace_1d, trace_1d.half_step(s), unit="log₁₀ $")
    t_now = trace_1d.half_step(s).theta_index
    means = np.array([p.means[:, 0] for p in trace_1d.params])
    sds = np.array([np.sqrt(p.covariances[:, 0, 0]) for p in trace_1d.params])
    weights = np.array([p.weights for p in trace_1d.params])
    lines = [d for d in fig.data if d.mode == "lines"]
    assert len(lines) == 3 * 2  # μ, σ, π rows × K
    for k in range(2):
        np.testing.assert_allclose(lines[k].y, means[:, k])
        np.testing.assert_allclose(lines[2 + k].y, sds[:, k])
        np.testing.assert_allclose(lines[4 + k].y, weights[:, k])
        assert lines[k].line.color == component_color(k)
    markers = [d for d in fig.data if d.mode == "markers"]
    assert all(list(m.x) == [t_now, t_now] for m in markers)
    assert {sh.x0 for sh in fig.layout.shapes} == {t_now}


def test_trajectory_legend_clears_the_first_panel_title(trace_1d):
    """The legend runs from the left, the first panel's title is centred on the panel's top
    edge: the legend sits a title's height above that edge (they met at 1024 px with long
    column names, and on a phone), and the top margin grows by as much, so the figure's
    title keeps its room."""
    fig = trajectory_figure(trace_1d, trace_1d.half_step(3))
    lay = fig.layout
    first_title = next(a for a in lay.annotations if a.text.startswith("means"))
    assert first_title.y == 1.0 and first_title.yanchor == "bottom"
    plot_h = lay.height - lay.margin.t - lay.margin.b
    lift_px = (lay.legend.y - 1.0) * plot_h
    assert lay.legend.yanchor == "bottom"
    assert lift_px >= 24  # the panel title's line (font 14–16 px) fits under the legend
    assert lay.margin.t - lift_px >= 88 - 1  # the figure title keeps base_layout's room


def test_restarts_figure_highlights_the_best_restart(data_1d):
    traces = emcore.fit_restarts(data_1d, 3, n_init=3, seed=0, max_iter=25)
    fig = restarts_figure(traces)
    best = int(np.argmax([tr.objective[-1] for tr in traces]))
    assert "best" in fig.data[best].name
    assert sum("best" in d.name for d in fig.data) == 1
    assert fig.data[best].line.width > fig.data[(best + 1) % 3].line.width
    with pytest.raises(ValueError):
        restarts_figure([])


def test_rgb_to_scale_reproduces_each_colour_within_the_quantum():
    rng = np.random.default_rng(3)
    rgb = rng.uniform(0, 255, size=(300, 3))
    codes, scale, cmax = rgb_to_scale(rgb, quantum=4)
    assert codes.min() >= 0 and codes.max() == cmax == len(scale) - 1
    positions = np.array([p for p, _ in scale])
    np.testing.assert_allclose(positions, np.linspace(0, 1, len(scale)))
    decoded = np.array([[int(scale[c][1][i:i + 2], 16) for i in (1, 3, 5)] for c in codes])
    assert np.max(np.abs(decoded - rgb)) <= 2.0 + 1e-9
    one, sc1, cm1 = rgb_to_scale(np.tile([[10, 20, 30]], (5, 1)))
    assert set(one) == {0} and sc1[0][1] == sc1[1][1] and cm1 == 1


def test_frame_indices_cover_start_and_end_and_respect_the_cap():
    assert list(frame_indices(7, 120)) == list(range(7))
    f = frame_indices(1001, 100)
    assert f[0] == 0 and f[-1] == 1000 and len(f) <= 100
    assert np.all(np.diff(f) > 0)
    assert list(f[:50]) == list(range(50))


def test_nice_ticks_and_rows_layout():
    ticks = nice_ticks(0.0, 4.7, 4)
    assert ticks[0] == 0.0 and ticks[-1] <= 4.7 and len(ticks) >= 3
    assert np.allclose(np.diff(ticks), ticks[1] - ticks[0])
    lay = rows_layout(3, titles=["a", "b", "c"])
    doms = [lay["yaxis"]["domain"], lay["yaxis2"]["domain"], lay["yaxis3"]["domain"]]
    assert doms[0][1] == 1.0 and doms[2][0] >= 0.0
    assert all(d[0] < d[1] for d in doms)
    assert doms[0][0] > doms[1][1] > doms[2][1]  # stacked top to bottom without overlap
    assert lay["xaxis2"]["matches"] == "x" and lay["xaxis3"]["showticklabels"]
    assert not lay["xaxis"]["showticklabels"]
    assert [a["text"] for a in lay["annotations"]] == ["a", "b", "c"]


def test_frozen_figure_returns_its_dictionary():
    d = {"data": [{"type": "scatter", "y": [1, 2]}], "layout": {"title": {"text": "t"}},
         "frames": [{"name": "f0", "data": [{"y": [2, 3]}]}]}
    fig = FrozenFigure(d)
    assert fig.to_dict() is d and fig.to_plotly_json() is d


# -- the one frozen-figure mechanism ---------------------------------------------------------------

def _json(fig) -> str:
    """What the browser gets: the figure's JSON (frames included), typed arrays decoded."""
    return json.dumps(values(json.loads(fig.to_json())), sort_keys=True)


def test_frozen_figure_builds_the_same_json_as_plotlys_validated_figure():
    from plotly.tools import return_figure_from_figure_or_data

    import emviz.common as common

    x = np.linspace(0.0, 1.0, 5)
    data = [dict(type="scatter", x=x, y=x ** 2, mode="lines"),
            dict(type="bar", x=[1, 2], y=np.array([3.0, 4.0]))]
    frames = [dict(name=str(i), traces=[0, 1], layout=dict(title=dict(text=f"frame {i}")),
                   data=[dict(type="scatter", y=(x ** 2 + i).astype(np.float32)),
                         dict(type="bar", y=np.array([i, i + 1]))])
              for i in range(3)]
    fast = common.frozen_figure(data, dict(title=dict(text="t"), height=300), frames)
    assert _json(fast) == _json(validated(fast))
    d = fast.to_dict()
    assert d["frames"][2]["data"][0]["y"]["dtype"] == "f4"  # numbers travel as base64
    assert [f["name"] for f in d["frames"]] == ["0", "1", "2"]
    # st.plotly_chart's first step takes the dictionary as it is: no copy, no validation
    assert return_figure_from_figure_or_data(fast, validate_figure=True) is d
    # the traces go through Plotly's validation; the frames are checked by validated()
    with pytest.raises(ValueError):
        common.frozen_figure([dict(type="scatter", colour="red")], {})
    bad = common.frozen_figure([dict(type="scatter", y=[1, 2])], {},
                               [dict(name="0", data=[dict(type="scatter", colour="red")])])
    with pytest.raises(ValueError):
        validated(bad)


def test_freeze_wraps_a_figure_dictionary_with_the_public_constructor():
    import plotly.graph_objects as go

    import emviz.common as common

    d = {"data": [{"type": "scatter", "y": np.array([1.0, 2.0])}], "layout": {"height": 200}}
    frozen = common.freeze(d)
    assert isinstance(frozen, FrozenFigure)
    assert frozen.to_dict() == go.Figure(d).to_dict()   # template included, as plotly_chart's
    with pytest.raises(ValueError):
        common.freeze({"data": [{"type": "scatter", "colour": "red"}], "layout": {}})


def test_every_animation_is_frozen_and_equals_its_validated_build():
    from emviz import digits as V
    from emviz.gauss1d import animation_figure

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 80), rng.normal(4, 1, 60)])
    tr1 = emcore.fit_gaussian_mixture(x[:, None], 2, seed=0, max_iter=6, tol=None)
    B = (rng.random((60, 64)) < np.where(np.arange(60)[:, None] < 30, 0.2, 0.7)).astype(np.uint8)
    trb = emcore.fit_bernoulli_mixture(B, 2, seed=0, max_iter=4, tol=None)
    for fig in (animation_figure(x, tr1), V.prototypes_animation(trb)):
        assert isinstance(fig, FrozenFigure) and fig.to_dict() is fig.to_dict()
        assert _json(fig) == _json(validated(fig)) and len(fig.to_dict()["frames"]) > 2
    # the digits page's step-player figures: the dictionary draws what its validated build
    # does (a named colour scale would differ between plotly.py and plotly.js)
    assert same_drawing(V.prototypes_figure(trb.params[-1], "t"),
                        validated(V.prototypes_figure(trb.params[-1], "t")))


# --- margins asked for up front (tick_labels, y_axis_room) ---------------------------------

def test_tick_labels_as_plotly_prints_them():
    from emviz.common import tick_labels

    # house prices' ℓ axis as chromium drew it; on blobs' it drew every other one of these
    assert tick_labels(140, 310) == ["150", "200", "250", "300"]
    assert tick_labels(-620, -380) == ["−600", "−550", "−500", "−450", "−400"]
    # trailing zeros dropped, a zero without sign or suffix, one unit for the whole axis
    assert tick_labels(0, 1) == ["0", "0.2", "0.4", "0.6", "0.8", "1"]
    assert tick_labels(0, 25_000) == ["0", "5k", "10k", "15k", "20k", "25k"]
    assert tick_labels(-1.2e5, -1.0e5) == ["−120k", "−115k", "−110k", "−105k", "−100k"]
    assert tick_labels(2.5e6, 3.5e6) == ["2.6M", "2.8M", "3M", "3.2M", "3.4M"]
    assert tick_labels(0.5, 0.5) == ["0.5"]


def test_y_axis_and_colorbar_room_from_the_widest_label():
    from emviz.common import (
        COLORBAR_ROOM_PX,
        Y_TITLE_EM,
        Y_TITLE_GAP_PX,
        colorbar_room,
        y_axis_room,
    )
    from emviz.fontmetrics import EM, OTHER_EM, text_px

    # Source Sans: every digit and the minus sign 0.497 em, a point 0.249 em
    assert text_px("−600", 15) == pytest.approx(15 * 4 * 0.497)
    assert text_px("0.5", 10) == pytest.approx(10 * (2 * 0.497 + 0.249))
    assert text_px("Wi", 20) == pytest.approx(20 * (EM["W"] + EM["i"]))
    assert text_px("☃", 10) == pytest.approx(10 * OTHER_EM)
    room = Y_TITLE_GAP_PX + Y_TITLE_EM * 15  # the axis title's line and the gaps
    assert y_axis_room(["150", "−600", "2"], 15) == int(np.ceil(room + 15 * 4 * 0.497))
    assert y_axis_room([], 15) == int(np.ceil(room))
    assert y_axis_room(["−1180.00"], 12) == int(np.ceil(Y_TITLE_GAP_PX + Y_TITLE_EM * 12
                                                        + 12 * (6 * 0.497 + 0.249 + 0.497)))
    assert colorbar_room(["10%", "100%"], 14) == int(np.ceil(COLORBAR_ROOM_PX
                                                           + 14 * (3 * 0.497 + 0.824)))


def test_loglik_figure_asks_for_its_tick_labels_room(trace_reg):
    from emviz.common import X_TITLE_ROOM_PX, loglik_figure, tick_labels, y_axis_room

    trace = trace_reg  # three curves: the objective, ℓ and the bound
    fig = loglik_figure(trace, trace.half_step(0))
    ys = np.concatenate([np.asarray(t["y"], dtype=float) for t in fig["data"]])
    ys = ys[np.isfinite(ys)]  # the bound has no value before the first E-step
    assert len(fig["data"]) == 3 and len(ys) > 0
    assert fig["layout"]["margin"]["l"] == y_axis_room(tick_labels(ys.min(), ys.max()))
    assert fig["layout"]["margin"]["b"] == X_TITLE_ROOM_PX
