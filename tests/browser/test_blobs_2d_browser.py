"""2-D blobs in a real browser: renders, the step player recolours then moves the ellipses
(the new means are the colour-weighted averages of the points), ◀/▶ step, the hard-EM switch
shows its panel (stepped in the browser too), the animation plays client-side.
"""

from __future__ import annotations

import numpy as np

from tests.browser.conftest import (
    assert_no_exception,
    plot_count,
    screenshot,
    wait_for_rerun,
)
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
    trace_named,
    wait_for_chart,
)

PATH = "blobs_2d"
# Okabe–Ito blue and orange: components 1 and 2 (emviz.palette), written out independently.
BLUE = np.array([0, 114, 178], float)
ORANGE = np.array([230, 159, 0], float)


def _rgb(colors) -> np.ndarray:
    """CSS colours ("rgb(r,g,b)" or "#rrggbb") -> (N, 3) floats."""
    out = []
    for c in colors:
        c = c.strip()
        if c.startswith("#"):
            out.append([int(c[i:i + 2], 16) for i in (1, 3, 5)])
        else:
            out.append([float(v) for v in c[c.index("(") + 1:c.index(")")].split(",")[:3]])
    return np.array(out, float)


def _means(fig) -> np.ndarray:
    t = trace_named(fig, "means")
    return np.column_stack([t["x"], t["y"]])


def _ellipses(fig) -> list:
    return [(t["x"], t["y"]) for t in fig["traces"] if str(t["name"]).startswith("component")]


def test_blobs_slider_buttons_animation(page, app_server):
    open_app_page(page, app_server, PATH, "blobs_fig_soft")
    assert_no_exception(page)
    assert_app_navigation(page)
    assert plot_count(page) >= 2
    assert step_label(page) == "θ⁽⁰⁾ (start)"

    f0 = figure(page, "blobs_fig_soft")
    pts0 = trace_named(f0, "data")
    assert len(set(pts0["color"])) == 1, "θ₀ has no responsibilities: one neutral colour"

    assert press_step(page) == "E-step 1"
    f1 = figure(page, "blobs_fig_soft")
    assert np.allclose(_means(f1), _means(f0)) and _ellipses(f1) == _ellipses(f0), \
        "an E-step must not move the ellipses"
    pts1 = trace_named(f1, "data")
    assert len(set(pts1["color"])) > 10, "the E-step should colour points by responsibility"

    assert press_step(page) == "M-step 1"
    f2 = figure(page, "blobs_fig_soft")
    assert trace_named(f2, "data")["color"] == pts1["color"], "an M-step keeps the colours"
    new_means = _means(f2)
    assert np.abs(new_means - _means(f0)).max() > 0.1, "the M-step moved no mean"

    # Decode each point's responsibility from its blended colour (rgb = r·blue + (1−r)·orange)
    # and redo the M-step for the means: weighted averages of the points.
    rgb = _rgb(pts1["color"])
    d = BLUE - ORANGE
    r1 = np.clip((rgb - ORANGE) @ d / (d @ d), 0, 1)
    R = np.column_stack([r1, 1 - r1])
    X = np.column_stack([pts1["x"], pts1["y"]]).astype(float)
    assert len(X) == 272  # every Old Faithful eruption is drawn
    expected = (R.T @ X) / R.sum(axis=0)[:, None]
    span = X.max(axis=0) - X.min(axis=0)
    assert np.all(np.abs(new_means - expected) <= 0.005 * span), (new_means, expected)

    # ◀ / ▶ buttons.
    click_player(page, "blobs", "Next half-step")
    assert step_label(page) == "E-step 2"
    assert figure(page, "blobs_fig_soft")["title"].endswith("E-step 2")
    click_player(page, "blobs", "Previous half-step")
    assert step_label(page) == "M-step 1"
    assert_no_exception(page)

    # The animation replays the whole run in the browser, without the server.
    open_tab(page, "Animation")
    seen, reruns = play_animation(page, "blobs_anim", seconds=8)
    assert len(seen) >= 3, f"animation showed {len(seen)} distinct frames in 8 s"
    assert reruns == 0, "the animation asked the server to rerun the script"
    assert_no_exception(page)

    # The end of the run, for the README.
    assert press_step(page, "End").startswith("M-step")
    assert "M-step" in figure(page, "blobs_fig_soft")["title"]
    assert_no_exception(page)
    settle_for_screenshot(page)
    screenshot(page, "blobs_2d")


def test_blobs_hard_em_panel(page, app_server):
    open_app_page(page, app_server, PATH, "blobs_fig_soft")
    assert page.locator(".st-key-blobs_fig_hard").count() == 0
    toggle = page.get_by_text("Hard EM beside soft EM")
    wait_for_rerun(page, toggle.click)
    wait_for_chart(page, "blobs_fig_hard")
    hard = figure(page, "blobs_fig_hard")
    assert "Hard EM" in hard["title"]
    assert press_step(page) == "E-step 1"
    hard = figure(page, "blobs_fig_hard")
    colours = _rgb(trace_named(hard, "data")["color"])
    # Hard EM gives every point to exactly one component: only pure component colours.
    pure = np.array([BLUE, ORANGE])
    dist = np.abs(colours[:, None, :] - pure[None]).sum(axis=2).min(axis=1)
    assert dist.max() <= 1, "hard EM shows blended (soft) colours"
    # The sentence comparing the two fits at this step.
    assert page.locator(".st-key-blobs_soft_vs_hard").filter(has_text="Soft EM shares").count() == 1
    assert "E-step 1" in figure(page, "blobs_fig_hard")["title"]
    assert_no_exception(page)
