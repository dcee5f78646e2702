"""Handwritten digits in a real browser (one page load): the average digits render, an
E-step keeps μ and π and draws the responsibility bars, the M-step moves μ, ◀/▶ step, the
animation plays client-side, and the page fits 1024×768 and 390×844 without a horizontal
scroll bar.
"""

from __future__ import annotations

import numpy as np

from emcore import half_step_label
from tests.browser.conftest import assert_no_exception, screenshot
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
    wait_animation_end,
)

PATH = "digits"


def _mu_pi(pg):
    heat = [t for t in figure(pg, "dg_proto")["traces"] if t["type"] == "heatmap"]
    mu = np.array([np.asarray(t["z"], float).ravel() for t in heat])
    pi = np.array([float(str(t["name"]).split("π = ")[1]) for t in heat])
    return mu, pi


def test_digits_page_in_the_browser(page, app_server):
    open_app_page(page, app_server, PATH, "dg_proto")
    assert_no_exception(page)
    assert_app_navigation(page)
    assert "Handwritten digits" in page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert step_label(page) == half_step_label(0)
    mu0, pi0 = _mu_pi(page)
    assert mu0.shape == (3, 64) and np.isclose(pi0.sum(), 1.0)
    assert not any(t["type"] == "bar" for t in figure(page, "dg_resp", min_traces=0)["traces"])

    assert press_step(page) == "E-step 1"
    mu1, pi1 = _mu_pi(page)
    assert np.array_equal(mu1, mu0) and np.array_equal(pi1, pi0), "E-step moved μ or π"
    bars = [t for t in figure(page, "dg_resp")["traces"] if t["type"] == "bar"]
    assert len(bars) == 6

    assert press_step(page) == "M-step 1"
    mu2, pi2 = _mu_pi(page)
    assert np.abs(mu2 - mu0).max() > 1e-3, "the M-step did not move μ"
    assert np.isclose(pi2.sum(), 1.0)
    click_player(page, "dg", "Next half-step")
    assert step_label(page) == "E-step 2"
    click_player(page, "dg", "Previous half-step")
    assert step_label(page) == "M-step 1"

    open_tab(page, "Animation")
    seen, reruns = play_animation(page, "dg_anim", seconds=8)
    assert len(seen) >= 3, f"animation showed {len(seen)} distinct frames"
    assert reruns == 0, "the animation asked the server to rerun the script"
    assert_no_exception(page)
    wait_animation_end(page, "dg_anim")  # before its tab (and with it the chart) is left

    for w, h in ((1024, 768), (390, 844)):
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_timeout(800)
        overflow = page.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return m.scrollWidth - m.clientWidth; }")
        assert overflow <= 2, f"horizontal overflow of {overflow}px at {w}×{h}"
    page.set_viewport_size({"width": 1280, "height": 800})
    assert press_step(page, "End").startswith("M-step")
    open_tab(page, "Against the true digits")
    assert "agree" in figure(page, "dg_confusion")["title"]
    assert_no_exception(page)
    settle_for_screenshot(page)
    screenshot(page, "digits")
