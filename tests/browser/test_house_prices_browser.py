"""1-D house prices in a real browser: renders, the step slider moves the right things,
◀/▶ step, the animation plays client-side, the collapse preset degenerates and is fixed.
"""

from __future__ import annotations

import numpy as np

from tests.browser.conftest import (
    StreamlitServer,
    assert_no_exception,
    plot_count,
    screenshot,
)
from tests.browser.pagecheck import (
    assert_app_navigation,
    click_key,
    click_player,
    figure,
    fit_gaussian_curve,
    open_app_page,
    open_tab,
    play_animation,
    press_step,
    settle_for_screenshot,
    step_label,
    traces_named,
)

PATH = "house_prices"


def _components(fig) -> list[tuple[float, float, float]]:
    """(π, μ, σ) of every drawn component curve π_k·N(μ_k, σ_k²)."""
    curves = traces_named(fig, "component") or traces_named(fig, "π")
    assert len(curves) == 2, [t["name"] for t in fig["traces"]]
    return [fit_gaussian_curve(c["x"], c["y"]) for c in curves]


def _em_step(x, comps):
    """One EM iteration by hand (reg = 0): E-step responsibilities, then the M-step."""
    w = np.array([c[0] for c in comps])
    mu = np.array([c[1] for c in comps])
    sd = np.array([c[2] for c in comps])
    dens = w * np.exp(-0.5 * ((x[:, None] - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
    r = dens / dens.sum(axis=1, keepdims=True)
    nk = r.sum(axis=0)
    mu1 = (r * x[:, None]).sum(axis=0) / nk
    var1 = (r * (x[:, None] - mu1) ** 2).sum(axis=0) / nk
    return nk / len(x), mu1, np.sqrt(var1)


def _rug(fig) -> list:
    """The rug strip's columns as drawn: (left edge, colour) for each column holding points,
    the colour looked up in the strip's own colour scale."""
    (t,) = traces_named(fig, "points")
    stops = [c for _, c in t["colorscale"]]
    z = np.asarray(t["z"], dtype=float)[0]
    # x holds the columns' edges: one more than z; each column by its left edge
    pairs = [(round(x0, 9), stops[int(v)])
             for x0, v in zip(t["x"][:-1], z, strict=True) if not np.isnan(v)]
    assert len(pairs) > 20  # Ames' prices fill many columns
    return pairs


def test_house_prices_slider_buttons_animation_truth(page, app_server):
    import emdata

    open_app_page(page, app_server, PATH, "hp_mixture")
    assert_no_exception(page)
    assert_app_navigation(page)
    assert plot_count(page) >= 2
    assert step_label(page) == "θ⁽⁰⁾ (start)"
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "horizontal scrolling at 1280 px"

    f0 = figure(page, "hp_mixture")
    theta0 = _components(f0)
    pts0 = _rug(f0)

    # E-step 1: the curves stay put, the points get their responsibility colours.
    assert press_step(page, "ArrowRight") == "E-step 1"
    f1 = figure(page, "hp_mixture")
    assert np.allclose(_components(f1), theta0, rtol=1e-9)
    pts1 = _rug(f1)
    assert pts1 != pts0, "E-step did not recolour the points"

    # M-step 1: the colours stay put, the curves move — to exactly one EM step from θ₀.
    assert press_step(page, "ArrowRight") == "M-step 1"
    f2 = figure(page, "hp_mixture")
    assert _rug(f2) == pts1
    theta1 = _components(f2)
    x = np.asarray(emdata.load_dataset("ames").X, float)[:, 0]
    w1, mu1, sd1 = _em_step(x, theta0)
    got = np.array(theta1)
    assert np.allclose(got[:, 1], mu1, atol=2e-6), (got[:, 1], mu1)
    assert np.allclose(got[:, 2], sd1, rtol=1e-4), (got[:, 2], sd1)
    assert np.allclose(got[:, 0], w1, rtol=1e-4), (got[:, 0], w1)
    assert max(abs(got[:, 1] - np.array(theta0)[:, 1])) > 1e-3, "M-step moved no mean"

    # ArrowLeft goes back; ◀ / ▶ move one half-step.
    assert press_step(page, "ArrowLeft") == "E-step 1"
    click_player(page, "hp", "Next half-step")
    assert step_label(page) == "M-step 1"
    click_player(page, "hp", "Next half-step")
    assert step_label(page) == "E-step 2"
    click_player(page, "hp", "Previous half-step")
    assert step_label(page) == "M-step 1"
    assert_no_exception(page)

    # The animation tab replays the whole run in the browser, without the server.
    open_tab(page, "Animation")
    seen, reruns = play_animation(page, "hp_anim", seconds=8)
    assert len(seen) >= 3, f"animation showed {len(seen)} distinct frames in 8 s"
    assert reruns == 0, "the animation asked the server to rerun the script"
    assert_no_exception(page)

    # The last half-step reveals the true neighbourhoods; this is the README screenshot.
    assert press_step(page, "End").startswith("M-step")
    open_tab(page, "Reveal the truth")
    assert page.get_by_text("Agreement with the truth").count() >= 1
    assert_no_exception(page)
    settle_for_screenshot(page)
    screenshot(page, "house_prices")


def test_house_prices_collapse_and_fix(page, app_server):
    open_app_page(page, app_server, PATH, "hp_mixture")
    click_key(page, "hp_collapse")
    alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()
    # The status says degenerate and names the component that collapsed (emcore's message).
    assert any("Degenerate" in a and "collapsed" in a for a in alerts), alerts
    assert page.get_by_text("What happened?").count() == 1
    assert_no_exception(page)
    settle_for_screenshot(page)
    screenshot(page, "house_prices_collapse")
    click_key(page, "hp_fix")
    alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()
    assert not any("Degenerate" in a for a in alerts), alerts
    assert any("regularisation on" in a for a in alerts), alerts
    assert_no_exception(page)


def test_direct_url_on_fresh_server(page):
    """A shared link to /house_prices?… right after the server starts shows that very screen.

    Streamlit runs a script of ``pages/`` alone (no app.py: no navigation titles, no wide
    layout) until some session has called ``st.navigation``; emui's deep-link guard reruns
    such a stray run through app.py, and the URL state then sets the fit and the half-step.
    Needs its own, never-visited server.
    """
    server = StreamlitServer()
    try:
        open_app_page(page, server, PATH + "?data=synthetic_1d&k=2&seed=4&reg=0.001&step=3",
                      "hp_mixture")
        assert_no_exception(page)
        assert_app_navigation(page)
        assert page.get_by_text("Page not found").count() == 0
        assert step_label(page) == "E-step 2"
        fig = figure(page, "hp_mixture")
        assert "E-step 2 —" in fig["title"], fig["title"]
        assert len(traces_named(fig, "component")) == 2  # K = 2 from the link, not the 3 default
        url = page.url
        assert "/house_prices?" in url and "step=3" in url and "seed=4" in url, url
        assert "data=synthetic_1d" in url and "reg=0.001" in url, url
    finally:
        server.stop()
