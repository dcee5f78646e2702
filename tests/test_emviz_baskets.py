"""Tests of emviz.baskets: the arithmetic on fitted parameters and the figures' contents.

Every number a figure shows is checked against an independent computation (loops, brute
force over permutations, direct sums), and every step-dependent figure is checked to change
exactly when the half-step says it should (E-steps change responsibilities, M-steps θ and π).
"""

from __future__ import annotations

import base64
import itertools
import json
import re

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import emcore
import emviz.common
from emviz import baskets as B
from emviz.palette import component_color
from tests.figcheck import same_drawing, validated


def decode(value):
    """A Plotly array from figure JSON: plain list or Plotly 7's {"dtype", "bdata"} base64."""
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            arr = arr.reshape([int(x) for x in str(value["shape"]).split(",")])
        return arr
    return np.asarray(value)


def fig_json(fig) -> dict:
    """The figure's JSON after Plotly's validation (a figure dictionary or a go.Figure)."""
    return json.loads(validated(fig).to_json())


@pytest.fixture(scope="module")
def small_fit():
    """A small synthetic basket fit with a few iterations (fast, deterministic)."""
    return small_basket_fit()


def small_basket_fit():
    """X, z, true params, the fit and category names (also used by other test modules)."""
    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.ones(12) * 0.5, size=3)
    params = emcore.MultinomialParams(np.array([0.5, 0.3, 0.2]), probs)
    X, z = emcore.sample(params, 300, seed=1, n_trials=25)
    trace = emcore.fit_multinomial_mixture(X, 3, init="random", seed=0, alpha=1.01, max_iter=30)
    names = [f"cat {v}" for v in range(12)]
    return X, z, params, trace, names


# ---------------------------------------------------------------------------------------
# arithmetic
# ---------------------------------------------------------------------------------------
def test_overall_share_dense_and_sparse_match_direct_sums():
    X = np.array([[1, 0, 3], [0, 2, 2], [5, 0, 0]])
    expected = np.array([6, 2, 5]) / 13
    np.testing.assert_allclose(B.overall_share(X), expected)
    np.testing.assert_allclose(B.overall_share(sp.csr_matrix(X)), expected)
    with pytest.raises(ValueError):
        B.overall_share(np.zeros((2, 3)))


def test_lift_is_ratio_and_nan_where_share_is_zero():
    probs = np.array([[0.5, 0.5, 0.0], [0.1, 0.6, 0.3]])
    share = np.array([0.25, 0.75, 0.0])
    L = B.lift(probs, share)
    assert L[0, 0] == pytest.approx(2.0) and L[1, 1] == pytest.approx(0.8)
    assert np.isnan(L[:, 2]).all()


@given(st.integers(1, 4), st.integers(2, 9), st.integers(0, 10_000), st.integers(1, 5))
def test_top_lift_matches_brute_force(k, v, seed, n_top):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(v), size=k)
    share = rng.dirichlet(np.ones(v))
    min_prob = 0.05
    tops = B.top_lift(probs, share, n_top=n_top, min_prob=min_prob)
    for kk in range(k):
        eligible = [j for j in range(v) if probs[kk, j] >= min_prob] or list(range(v))
        ranked = sorted(eligible, key=lambda j: (-probs[kk, j] / share[j], -probs[kk, j]))
        assert list(tops[kk]) == ranked[:n_top]


def test_segment_names_use_top_lift_category_and_are_unique():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.4, 0.5, 0.1]])
    share = np.array([0.4, 0.3, 0.3])
    names = B.segment_names(probs, share, ["MILK", "BEER", "nappies"])
    assert names == ["S1 · Milk", "S2 · nappies", "S3 · Beer"]


def test_pretty_label_title_cases_capitals_and_shortens():
    assert B.pretty_label("MEAT-PCKGD") == "Meat-Pckgd"
    assert B.pretty_label("Baby food") == "Baby food"
    long = B.pretty_label("A very long category name that goes on", max_len=12)
    assert len(long) == 12 and long.endswith("…")


def test_category_order_share_and_segment():
    probs = np.array([[0.6, 0.1, 0.1, 0.2], [0.1, 0.5, 0.3, 0.1]])
    share = np.array([0.35, 0.3, 0.2, 0.15])
    assert list(B.category_order(probs, share, by="share")) == [0, 1, 2, 3]
    order = B.category_order(probs, share, by="segment")
    L = probs / share
    owner = L.argmax(axis=0)
    # grouped by owning segment, then by decreasing lift inside the group
    assert sorted(order) == [0, 1, 2, 3]
    assert list(owner[order]) == sorted(owner[order])
    for k in (0, 1):
        grp = [v for v in order if owner[v] == k]
        assert list(L[k, grp]) == sorted(L[k, grp], reverse=True)
    with pytest.raises(ValueError):
        B.category_order(probs, share, by="alphabet")


@given(st.integers(2, 5), st.integers(2, 8), st.integers(0, 10_000))
def test_best_permutation_matches_brute_force(k, v, seed):
    rng = np.random.default_rng(seed)
    true = rng.dirichlet(np.ones(v), size=k)
    fitted = rng.dirichlet(np.ones(v), size=k)
    perm = B.best_permutation(true, fitted)

    def cost(p):
        return sum(0.5 * np.abs(true[j] - fitted[p[j]]).sum() for j in range(k))

    best = min(itertools.permutations(range(k)), key=cost)
    assert cost(perm) == pytest.approx(cost(best))
    assert sorted(perm) == list(range(k))


def test_best_permutation_recovers_a_shuffle():
    rng = np.random.default_rng(3)
    true = rng.dirichlet(np.ones(10), size=4)
    shuffle = np.array([2, 0, 3, 1])
    fitted = true[shuffle] + 1e-3
    perm = B.best_permutation(true, fitted)
    np.testing.assert_array_equal(perm, np.argsort(shuffle))
    np.testing.assert_allclose(fitted[perm] - 1e-3, true)


def test_display_rows_sample_sorted_by_final_segment_then_certainty():
    rng = np.random.default_rng(0)
    R = rng.dirichlet(np.ones(3), size=500)
    rows = B.display_rows(R, n_show=120, seed=5)
    assert rows.size == 120 and np.unique(rows).size == 120
    dom = R[rows].argmax(axis=1)
    assert list(dom) == sorted(dom)
    for k in range(3):
        cert = R[rows[dom == k], k]
        assert np.all(np.diff(cert) <= 0)
    np.testing.assert_array_equal(rows, B.display_rows(R, n_show=120, seed=5))
    assert sorted(B.display_rows(R[:50], n_show=120)) == list(range(50))


def test_heatmap_categories_keeps_favourites_and_fills_by_share():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(80) * 0.3, size=4)
    share = rng.dirichlet(np.ones(80))
    idx = B.heatmap_categories(probs, share, max_rows=30)
    assert idx.size == 30 and np.unique(idx).size == 30
    for t in B.top_lift(probs, share, n_top=1):
        assert t[0] in idx
    assert list(B.heatmap_categories(probs[:, :10], share[:10] / share[:10].sum(), 30)) == list(
        range(10))


# ---------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------
def test_profile_heatmap_shows_theta_of_the_half_step(small_fit):
    X, _, _, trace, names = small_fit
    share = B.overall_share(X)
    order = B.category_order(trace.params[-1].probs, share, by="segment")
    figs = {s: fig_json(B.profile_heatmap(trace, trace.half_step(s), names, share, order=order))
            for s in (0, 1, 2, 3)}
    for s, fig in figs.items():
        z = decode(fig["data"][0]["z"])
        theta = trace.half_step(s).params.probs
        np.testing.assert_allclose(z, np.log10(np.clip(theta[:, order], B.PROB_FLOOR, None)).T)
        assert fig["layout"]["yaxis"]["ticktext"][0] == B.pretty_label(names[order[0]])
        assert decode(fig["data"][0]["customdata"])[0, 1, 3] == B.pretty_label(names[order[0]])
    # θ₀ and E-step 1 show the same θ; M-step 1 shows θ₁
    assert figs[0]["data"][0]["z"] == figs[1]["data"][0]["z"]
    assert figs[1]["data"][0]["z"] != figs[2]["data"][0]["z"]
    assert "M-step 1" in figs[2]["layout"]["title"]["text"]


def test_profile_heatmap_lift_values(small_fit):
    X, _, _, trace, names = small_fit
    share = B.overall_share(X)
    fig = fig_json(B.profile_heatmap(trace, trace.half_step(4), names, share, value="lift"))
    order = np.argsort(-share, kind="stable")
    lifts = trace.half_step(4).params.probs[:, order] / share[order]
    np.testing.assert_allclose(decode(fig["data"][0]["z"]),
                               np.clip(np.log2(lifts), -B.LIFT_CLIP, B.LIFT_CLIP).T)
    np.testing.assert_allclose(decode(fig["data"][0]["customdata"])[..., 1].astype(float), lifts.T)
    with pytest.raises(ValueError):
        B.profile_heatmap(trace, trace.half_step(4), names, share, value="odds")


def test_segment_sizes_are_the_weights_in_component_colours(small_fit):
    _, _, _, trace, _ = small_fit
    for s in (0, 2, trace.n_half_steps - 1):
        fig = fig_json(B.segment_sizes(trace, trace.half_step(s)))
        bar = fig["data"][0]
        np.testing.assert_allclose(decode(bar["y"]), trace.half_step(s).params.weights)
        assert bar["marker"]["color"] == [component_color(k) for k in range(3)]


def test_lift_bars_show_top_lifts_above_one(small_fit):
    X, _, _, trace, names = small_fit
    share = B.overall_share(X)
    probs = trace.params[-1].probs
    fig = fig_json(B.lift_bars(probs, share, names, n_top=4))
    tops = B.top_lift(probs, share, n_top=4)
    for k, bar in enumerate(fig["data"]):
        expected = [v for v in tops[k] if probs[k, v] / share[v] > 1] or list(tops[k][:1])
        np.testing.assert_allclose(decode(bar["x"]), probs[k, expected] / share[expected])
        assert bar["y"] == [B.pretty_label(names[v], 18) for v in expected]
        assert bar["marker"]["color"] == component_color(k)


def test_lift_bars_stack_the_panels_on_a_phone(small_fit):
    """Two panels a row, and one a row in the narrow variant the step player draws below
    NARROW_PX: there no panel shares its height with another (side by side, the category
    names of the right-hand panel ran over the left-hand panel's bars at 390 px)."""
    X, _, _, trace, names = small_fit
    fig = fig_json(B.lift_bars(trace.params[-1].probs, B.overall_share(X), names))
    K = len(fig["data"])
    lay, narrow = fig["layout"], fig["layout"]["meta"]["narrow"]
    assert K == 3 and narrow["below"] == B.NARROW_PX

    def panels(layout):
        return [(tuple(layout[f"xaxis{'' if k == 0 else k + 1}"]["domain"]),
                 tuple(layout[f"yaxis{'' if k == 0 else k + 1}"]["domain"])) for k in range(K)]

    wide, one = panels(lay), panels(narrow["layout"])
    assert wide[0][1] == wide[1][1] and wide[0][0][1] < wide[1][0][0]  # side by side
    for (x, y), (x2, y2) in itertools.combinations(one, 2):
        assert x == x2 == (0.0, 1.0)
        assert y[1] <= y2[0] or y2[1] <= y[0]  # one above the other, not overlapping
    assert narrow["layout"]["height"] > lay["height"]
    # the names sit over their own panels, and only the bottom panel titles its axis
    for k, (_, y) in enumerate(one):
        ann = narrow["layout"]["annotations"][k]
        assert ann["x"] == 0.5 and ann["y"] == y[1]
    titles = [narrow["layout"][f"xaxis{'' if k == 0 else k + 1}"]["title"]["text"]
              for k in range(K)]
    assert titles == ["", "", "lift"]


def test_responsibility_heatmap_columns_are_responsibilities(small_fit):
    X, _, _, trace, _ = small_fit
    final = trace.responsibilities(trace.n_iter)
    rows = B.display_rows(final, n_show=50, seed=0)
    R = trace.responsibilities(1)[rows]
    names = ["a", "b", "c"]
    fig = fig_json(B.responsibility_heatmap(R, names, n_total=X.shape[0], rows_label="baskets",
                                            block_of=final[rows].argmax(axis=1)))
    assert len(fig["data"]) == 3
    for k, tr in enumerate(fig["data"]):
        np.testing.assert_allclose(decode(tr["z"])[:, 0], R[:, k])
        assert tr["x0"] == k
    assert "showing 50 of 300 baskets" in fig["layout"]["title"]["text"]
    empty = fig_json(B.responsibility_heatmap(None, names, n_total=300))
    assert empty["data"] == [] and "first E-step" in empty["layout"]["annotations"][0]["text"]


def test_selection_chart_marks_the_minima():
    ks, bic, icl = [1, 2, 3, 4], [10.0, 7.0, 8.0, 9.0], [11.0, 9.0, 8.5, 9.5]
    fig = fig_json(B.selection_chart(ks, bic, icl, chosen_k=3))
    stars = [tr for tr in fig["data"] if tr.get("marker", {}).get("symbol") == "star"]
    assert [decode(s["x"])[0] for s in stars] == [2, 3]
    assert fig["data"][0]["name"] == "BIC (lowest at K = 2)"


def test_truth_vs_fit_pairs_matched_segments(small_fit):
    X, _, true, trace, names = small_fit
    final = trace.params[-1]
    perm = B.best_permutation(true.probs, final.probs)
    fig = fig_json(B.truth_vs_fit(true, final, perm, names))
    points = [tr for tr in fig["data"] if tr["type"] == "scatter" and tr.get("mode") == "markers"]
    for j, tr in enumerate(points):
        np.testing.assert_allclose(decode(tr["x"]), true.probs[j])
        np.testing.assert_allclose(decode(tr["y"]), final.probs[perm[j]])
        assert tr["marker"]["color"] == component_color(int(perm[j]))
    # a converged fit (best of 3 restarts) on 300 baskets of 25 items recovers the truth
    best = emcore.best_trace(emcore.fit_restarts(X, 3, n_init=3, seed=0, family="multinomial",
                                                 alpha=1.01, max_iter=300)).params[-1]
    perm = B.best_permutation(true.probs, best.probs)
    assert np.max(0.5 * np.abs(true.probs - best.probs[perm]).sum(axis=1)) < 0.15


def test_run_animation_frames_follow_the_run(small_fit):
    X, _, _, trace, names = small_fit
    share = B.overall_share(X)
    fig = B.run_animation(trace, names, share, max_frames=10)
    frames = fig_json(fig)["frames"]
    assert 2 <= len(frames) <= 10
    assert frames[0]["name"] == "0" and frames[-1]["name"] == str(trace.n_half_steps - 1)
    order = np.argsort(-share, kind="stable")
    for fr in frames:
        s = int(fr["name"])
        theta = trace.half_step(s).params
        np.testing.assert_allclose(decode(fr["data"][0]["z"]),
                                   np.log10(np.clip(theta.probs[:, order], B.PROB_FLOOR, None)).T)
        np.testing.assert_allclose(decode(fr["data"][1]["y"]), theta.weights)
    layout = fig_json(fig)["layout"]
    assert [b["label"] for b in layout["updatemenus"][0]["buttons"]] == ["▶ Play", "❚❚ Pause"]
    long = B.run_animation(trace, names, share, max_frames=3,
                           names=["S1 · A very long segment name", "S2 · b", "S3 · c"])
    ticks = long.to_dict()["layout"]["xaxis"]["ticktext"]
    assert ">S1<br>A very long s…<" in ticks[0] and ">S2<br>b<" in ticks[1]  # 44 // K chars
    assert len(fig.to_json()) < 5_000_000


def test_describe_profile_change_names_the_biggest_move(small_fit):
    _, _, _, trace, names = small_fit
    assert "starting guess" in B.describe_profile_change(trace, trace.half_step(0), names)
    e_text = B.describe_profile_change(trace, trace.half_step(3), names)
    r = trace.responsibilities(1)
    assert f"{np.mean(r.max(axis=1) >= 0.9):.0%}" in e_text
    m_text = B.describe_profile_change(trace, trace.half_step(2), names)
    d = np.abs(trace.params[1].probs - trace.params[0].probs)
    k, v = np.unravel_index(np.argmax(d), d.shape)
    assert d[k, v] > 5e-4
    assert f"S{k + 1}" in m_text and B.pretty_label(names[v]) in m_text
    last = trace.n_half_steps - 1
    d_last = np.abs(trace.params[-1].probs - trace.params[-2].probs).max()
    text = B.describe_profile_change(trace, trace.half_step(last), names)
    assert ("barely moved" in text) == (d_last < 5e-4)


def test_figures_export_for_slides(small_fit):
    """The page's slide figures redraw with matplotlib (PNG, SVG, GIF) without error."""
    from emviz import export

    X, _, _, trace, names = small_fit
    share = B.overall_share(X)
    probs = trace.params[-1].probs
    figs = [B.profile_heatmap(trace, trace.half_step(2), names, share),
            B.segment_sizes(trace, trace.half_step(2)), B.lift_bars(probs, share, names)]
    for fig in figs:
        assert export.figure_png(fig, width_px=600, height_px=400).startswith(b"\x89PNG")
    assert b"<svg" in export.figure_svg(figs[0], width_px=600, height_px=400)
    gif = export.run_gif(lambda j: B.profile_heatmap(trace, trace.half_step(j), names, share),
                         [0, 1, 2], width_px=400)
    assert gif.startswith(b"GIF8")


def test_profile_gif_has_one_frame_per_shown_half_step(small_fit):
    from io import BytesIO

    from PIL import Image

    X, _, _, trace, names = small_fit
    share = B.overall_share(X)
    gif = B.profile_gif(trace, names, share, max_frames=6, width_px=500)
    im = Image.open(BytesIO(gif))
    assert im.n_frames == len(B.frame_indices(trace.n_half_steps, 6))
    first = np.asarray(im.convert("RGB")).copy()
    im.seek(im.n_frames - 1)
    last = np.asarray(im.convert("RGB"))
    assert first.shape == last.shape and np.any(first != last)  # θ changed over the run
    # the segment colours of the page appear in the frames (bars of the segment sizes)
    for k in range(3):
        rgb = np.array([int(component_color(k)[i:i + 2], 16) for i in (1, 3, 5)])
        assert np.any(np.all(np.abs(last.astype(int) - rgb) <= 6, axis=-1))


def test_step_player_figures_draw_what_their_validated_build_draws(small_fit):
    """The step player's figure dictionaries are exactly what Plotly's validation keeps."""
    X, _, _, trace, names = small_fit
    share = B.overall_share(X)
    figs = [
        B.profile_heatmap(trace, trace.half_step(3), names, share),
        B.profile_heatmap(trace, trace.half_step(3), names, share, value="lift"),
        B.segment_sizes(trace, trace.half_step(3)),
        B.responsibility_heatmap(trace.responsibilities(1)[:20], ["a", "b", "c"], n_total=300),
        B.responsibility_heatmap(None, ["a", "b", "c"], n_total=300),
    ]
    for fig in figs:
        assert isinstance(fig, dict) and same_drawing(fig, validated(fig))
    anim = B.run_animation(trace, names, share, max_frames=5)
    assert isinstance(anim, emviz.common.FrozenFigure) and anim.to_dict() is anim.to_dict()
    validated(anim)  # frames included


def test_segment_summary_rows():
    params = emcore.MultinomialParams(np.array([0.25, 0.75]),
                                      np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]]))
    share = np.array([0.3, 0.225, 0.475])
    rows = B.segment_summary(params, share, ["MILK", "beer", "bread"], ["S1 · Milk", "S2 · Bread"],
                             rows_label="baskets")
    # lifts: S1 milk 2.0, beer 1.33, bread 0.21; S2 milk 0.67, beer 0.89, bread 1.26
    assert rows[0] == {"segment": "S1 · Milk", "share of baskets": "25.0%",
                       "buys more than average": "Milk ×2.0, beer ×1.3",
                       "biggest category": "Milk (60%)"}
    assert rows[1]["buys more than average"] == "bread ×1.3"
    assert rows[1]["biggest category"] == "bread (60%)"
    assert B.segment_names(params.probs[:1], share, ["a", "b", "c"]) == ["S1 · everyone"]


def test_default_order_caps_the_rows_and_says_so():
    rng = np.random.default_rng(2)
    params = emcore.MultinomialParams(np.array([0.5, 0.5]), rng.dirichlet(np.ones(60), size=2))
    X, _ = emcore.sample(params, 200, seed=0, n_trials=40)
    X = X[:, X.sum(axis=0) > 0]
    trace = emcore.fit_multinomial_mixture(X, 2, seed=0, max_iter=5)
    share = B.overall_share(X)
    names = [f"item {v}" for v in range(X.shape[1])]
    order = B.default_order(trace, share)
    assert order.size == B.MAX_HEATMAP_ROWS and np.all(np.diff(share[order]) <= 0)
    fig = validated(B.profile_heatmap(trace, trace.half_step(1), names, share))
    assert len(fig.layout.yaxis.ticktext) == B.MAX_HEATMAP_ROWS
    assert f"{B.MAX_HEATMAP_ROWS} of {X.shape[1]} categories" in fig.layout.title.text


def test_lift_panels_leave_room_for_the_next_panels_names(small_fit):
    """At most two panels per row, with a gap of ≥ 25 % of the width between them: the next
    panel's category names (drawn left of it) no longer overlap this panel's "×1.0" labels."""
    X, _, _, trace, names = small_fit
    fig = B.lift_bars(trace.params[0].probs, B.overall_share(X), names)
    axes = sorted((fig.layout[k].domain for k in fig.layout if k.startswith("xaxis")
                   and fig.layout[k].domain is not None), key=lambda d: d[0])
    lefts = sorted({round(d[0], 6) for d in axes})
    assert len(lefts) <= 2
    rights = sorted({round(d[1], 6) for d in axes})
    if len(lefts) == 2:
        assert lefts[1] - rights[0] >= 0.25


def test_profile_heatmap_has_a_narrow_variant_for_phones(small_fit):
    """Below NARROW_PX the step player shows "S1", "S2", … and no cell labels (overlapping
    names and unreadable labels on a 390 px phone); the full figure is unchanged."""
    X, _, _, trace, names = small_fit
    share = B.overall_share(X)
    seg = B.segment_names(trace.params[-1].probs, share, names)   # "S1 · cat 4", …
    fig = B.profile_heatmap(trace, trace.half_step(2), names, share, names=seg)
    narrow = fig["layout"]["meta"]["narrow"]
    assert narrow["below"] == B.NARROW_PX
    short = narrow["layout"]["xaxis"]["ticktext"]
    assert [re.sub(r"<[^>]+>", "", t) for t in short] == [f"S{k + 1}" for k in range(3)]
    assert all("<br>" in t for t in fig["layout"]["xaxis"]["ticktext"])  # full: two lines
    for i in ("1", "2"):   # the two label layers lose their labels; the colour trace keeps hover
        assert fig["data"][int(i)].get("texttemplate") and narrow["data"][i] == {"texttemplate": ""}
    assert "texttemplate" not in narrow["data"].get("0", {})
