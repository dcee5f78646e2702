"""The Derivations page in a real browser: it renders, its figures are drawn, and no formula
is cut at projector, laptop or phone width (one page load, three widths)."""

from __future__ import annotations

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.pagecheck import LOAD_TIMEOUT, click_key, figure, open_app_page

PATH = "derivations"

# For every displayed formula: how many pixels wider its content is than its box. KaTeX's
# display box scrolls sideways, so on a phone a long formula is cut at the screen's edge and
# only a swipe shows the rest. KaTeX's boxes measure up to 2 px too wide on their own.
_JS_FORMULA_OVERFLOW = """() => [...document.querySelectorAll('.katex-display')]
    .map(d => d.scrollWidth - d.clientWidth)"""
SLACK_PX = 3


def test_derivations_renders_and_no_formula_is_cut(page, app_server):
    open_app_page(page, app_server, PATH, "der_dlr_fig")
    assert_no_exception(page)
    assert page.locator("h1").first.inner_text() == "Derivations"
    dlr = figure(page, "der_dlr_fig")
    assert dlr["traces"][0]["name"] == "ℓ(θ)"
    assert figure(page, "der_gm")["traces"]
    # M-step 1 of the linkage example: its numeric E- and M-step lines appear
    for key in ("der_dlr_next", "der_dlr_next"):
        click_key(page, key)
    assert_no_exception(page)
    assert len(figure(page, "der_dlr_fig")["traces"]) == 3  # ℓ, the bound, the marked points
    for width, height in ((1280, 800), (1024, 768), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(600)
        wait_for_app(page, LOAD_TIMEOUT)
        over = page.evaluate(_JS_FORMULA_OVERFLOW)
        assert len(over) >= 15, len(over)
        assert max(over) <= SLACK_PX, f"a formula is cut at {width} px: overflow {over}"
        page_overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert page_overflow <= 0
    screenshot(page, "derivations_390")
