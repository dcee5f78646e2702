"""Market baskets in a real browser: the heatmap and segment sizes render, an E-step
recolours the households but leaves θ alone, the M-step moves θ and π to exactly one
multinomial EM step (recomputed here with numpy), ◀/▶ step, the animation plays client-side.
The step player draws the half-steps in the browser; in the dark theme the heatmap's cell
labels keep their black-or-white colour per cell.
"""

from __future__ import annotations

import numpy as np

from tests.browser.conftest import VIEWPORT, assert_no_exception, plot_count, screenshot
from tests.browser.pagecheck import (
    assert_app_navigation,
    click_player,
    figure,
    open_app_page,
    open_tab,
    play_animation,
    press_step,
    settle_for_screenshot,
    step_label,
)

PATH = "baskets"
# How the page names Complete Journey departments: title case, except these.
FRIENDLY = {
    "DRUG GM": "Drug & general merch.",
    "MEAT-PCKGD": "Meat (packaged)",
    "SEAFOOD-PCKGD": "Seafood (packaged)",
    "MISCELLANEOUS": "Miscellaneous",
}


def _theta_pi(pg) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Category labels, θ (K, V) read from the profile heatmap, π (K,) from the size bars."""
    fig = figure(pg, "bk_profile")
    heat = [t for t in fig["traces"] if t["type"] == "heatmap"]
    assert len(heat) == 3  # the coloured cells, then their black and white label layers
    h = heat[0]
    assert heat[1]["z"] == h["z"] and heat[2]["z"] == h["z"]  # the layers sit on the cells
    theta = 10.0 ** np.asarray(h["z"], float).T  # rows = categories, colour = log10 θ
    if h["y"] is not None and isinstance(h["y"][0], str):
        labels = [str(v) for v in h["y"]]
    else:  # numeric rows named by the axis' tick labels
        ax = fig["axes"]["yaxis"]
        names = dict(zip(ax["tickvals"], ax["ticktext"], strict=True))
        rows = h["y"] if h["y"] is not None else list(range(len(h["z"])))
        labels = [str(names[v]) for v in rows]
    sizes = [t for t in figure(pg, "bk_sizes")["traces"] if t["type"] == "bar"]
    pi = np.asarray(sizes[0]["y"], float)
    return labels, theta, pi


def _em_step(X, theta, pi, alpha):
    """One EM iteration of a multinomial mixture with a Dirichlet(alpha) prior on each θ_k."""
    logp = X @ np.log(theta).T + np.log(pi)        # (N, K), multinomial coefficient cancels
    logp -= logp.max(axis=1, keepdims=True)
    r = np.exp(logp)
    r /= r.sum(axis=1, keepdims=True)
    counts = r.T @ X + (alpha - 1.0)                # (K, V)
    return counts / counts.sum(axis=1, keepdims=True), r.mean(axis=0), r


def test_baskets_slider_buttons_animation(page, app_server):
    import emdata

    open_app_page(page, app_server, PATH, "bk_profile")
    assert_no_exception(page)
    assert_app_navigation(page)
    assert plot_count(page) >= 3
    assert step_label(page) == "θ⁽⁰⁾ (start)"
    ds = emdata.load_dataset("completejourney")
    X = np.asarray(ds.X, float)

    labels, theta0, pi0 = _theta_pi(page)
    # The heatmap shows every department, as probabilities that sum to one per segment.
    names = [FRIENDLY.get(n, n.title()) for n in ds.feature_names]
    assert sorted(labels) == sorted(names)
    cols = [names.index(lab) for lab in labels]
    X = X[:, cols]  # the data's columns in the heatmap's row order
    assert np.allclose(theta0.sum(axis=1), 1.0, atol=1e-9)
    assert np.isclose(pi0.sum(), 1.0)
    alpha = float(page.get_by_role("slider", name="Dirichlet prior α")
                  .get_attribute("aria-valuetext"))

    resp0 = figure(page, "bk_resp", min_traces=0)  # θ₀: no responsibilities yet

    assert press_step(page) == "E-step 1"
    _, theta1, pi1 = _theta_pi(page)
    assert np.array_equal(theta1, theta0) and np.array_equal(pi1, pi0), "E-step moved θ or π"
    resp1 = figure(page, "bk_resp")
    assert resp1["traces"] != resp0["traces"], "E-step did not change the responsibilities"

    assert press_step(page) == "M-step 1"
    _, theta2, pi2 = _theta_pi(page)
    assert figure(page, "bk_resp")["traces"] == resp1["traces"], "M-step changed the colours"
    want_theta, want_pi, _ = _em_step(X, theta0, pi0, alpha)
    assert np.allclose(theta2, want_theta, rtol=1e-6, atol=1e-12)
    assert np.allclose(pi2, want_pi, rtol=1e-6)
    assert np.abs(theta2 - theta0).max() > 1e-3, "the M-step barely moved θ"

    click_player(page, "bk", "Next half-step")
    assert step_label(page) == "E-step 2"
    click_player(page, "bk", "Previous half-step")
    assert step_label(page) == "M-step 1"
    assert_no_exception(page)

    open_tab(page, "Animation")
    seen, reruns = play_animation(page, "bk_anim", seconds=8)
    assert len(seen) >= 3, f"animation showed {len(seen)} distinct frames in 8 s"
    assert reruns == 0, "the animation asked the server to rerun the script"
    assert_no_exception(page)

    # The lift bars sit in a tab below the player that does not rerun on a step: they are a
    # view of the player, so ◀ / ▶ redraw them in the browser with the θ on screen.
    open_tab(page, "Top categories")
    assert press_step(page, "Home") == "θ⁽⁰⁾ (start)"
    share = X.sum(axis=0) / X.sum()  # X's columns in the heatmap's row order
    for want, theta in (("E-step 1", theta0), ("M-step 1", theta2)):
        assert press_step(page) == want
        theta_it = f"θ⁽{'¹' if want.startswith('M') else '⁰'}⁾"
        # Off screen, the chart waits (marked emp-stale) and draws the half-step shown then
        # when it comes near the screen.
        where = page.evaluate("""() => { const c = document.querySelector('.st-key-bk_lift .emp-chart');
            return {below: c.getBoundingClientRect().top - window.innerHeight,
                    stale: c.classList.contains('emp-stale')}; }""")
        assert where["stale"] == (where["below"] > 150), where
        page.locator(".st-key-bk_lift").first.scroll_into_view_if_needed()
        page.wait_for_function(
            "(t) => { const gd = document.querySelector('.st-key-bk_lift .js-plotly-plot');"
            " return gd && gd.layout && String(gd.layout.title.text).includes(t); }",
            arg=theta_it, timeout=30_000)
        lift = figure(page, "bk_lift")
        bars = [t for t in lift["traces"] if t["type"] == "bar"]
        assert len(bars) == theta.shape[0]
        for k, t in enumerate(bars):  # each bar is one of segment k's lifts θ_kv / share_v
            got = np.asarray(t["x"], float)
            assert got.size and np.all(np.min(np.abs(
                got[:, None] - (theta[k] / share)[None, :]), axis=1) < 1e-6), (want, k)
    assert_no_exception(page)

    # The end of the run with the top categories by lift, for the README.
    assert press_step(page, "End").startswith("M-step")
    assert "M-step" in figure(page, "bk_profile")["title"]
    open_tab(page, "Top categories")
    assert any(t["type"] == "bar" for t in figure(page, "bk_lift")["traces"])
    assert_no_exception(page)
    settle_for_screenshot(page)
    screenshot(page, "baskets")


_JS_LABELS = """() => {
  const gd = document.querySelector('.st-key-bk_profile .js-plotly-plot');
  const layers = [...gd.querySelectorAll('.heatmaplayer > g.hm')].map(g =>
      [...g.querySelectorAll('text')].map(t => [t.textContent, getComputedStyle(t).fill]));
  const h = gd._fullData[0];
  return {layers, z: h.z.map(r => Array.from(r)), text: h.text.map(r => Array.from(r)),
          zmin: h.zmin, zmax: h.zmax,
          page: getComputedStyle(document.querySelector('[data-testid="stApp"]')).backgroundColor};
}"""


def test_baskets_dark_theme_keeps_the_cell_label_colours(browser, app_server):
    """The step player themes its charts itself: in the dark theme each profile cell's label
    is still black or white as emviz.palette chose it for that cell (not the theme's text
    colour), before and after a step drawn in the browser."""
    from emviz.baskets import _PROB_SCALE
    from emviz.palette import DARK_TEXT, relative_luminance, text_colors

    context = browser.new_context(viewport=VIEWPORT, color_scheme="dark")
    pg = context.new_page()
    pg.console_errors = []  # type: ignore[attr-defined]
    try:
        open_app_page(pg, app_server, PATH, "bk_profile")
        for _ in range(2):  # θ₀, then M-step 1 (new θ, new label colours)
            got = pg.evaluate(_JS_LABELS)
            assert relative_luminance(got["page"]) < 0.05, got["page"]  # the dark theme
            want = np.array(text_colors(got["z"], _PROB_SCALE, got["zmin"], got["zmax"]))
            text = np.array(got["text"], dtype=object)
            _, dark, light = got["layers"]  # the coloured cells draw no labels themselves
            assert dark == [[t, "rgb(0, 0, 0)"] for t in text[want == DARK_TEXT]]
            assert light == [[t, "rgb(255, 255, 255)"] for t in text[want != DARK_TEXT]]
            assert len(dark) and len(light)
            press_step(pg)
            press_step(pg)
        settle_for_screenshot(pg)
        screenshot(pg, "baskets_dark", full_page=False)
        pg.set_viewport_size({"width": 390, "height": 844})
        pg.wait_for_timeout(800)
        screenshot(pg, "baskets_dark_390", full_page=False)
        assert_no_exception(pg)
    finally:
        context.close()
