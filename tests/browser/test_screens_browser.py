"""Every screen, every hand: each page at projector, tablet and phone sizes, and by keyboard.

One page load per page (the session server and browser), resized through the sizes the
lecture hall and the students use. At each size: no formula box is wider or taller than
its box (nothing cut at the right edge or the top), the step control sits on the first
screen with ◀ and ▶ on its row, and the sidebar starts collapsed on a phone.
Presentation mode is then driven by the keyboard alone.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.pagecheck import LOAD_TIMEOUT, open_app_page, settle_for_screenshot, step_label

SIZES = [(1280, 800), (1280, 720), (1024, 768), (768, 1024), (390, 844)]
PAGES = [("house_prices", "hp_mixture", "hp"), ("blobs_2d", "blobs_fig_soft", "blobs"),
         ("baskets", "bk_profile", "bk"), ("why_em_works", "why_bars", "why"),
         ("digits", "dg_proto", "dg")]

_JS_CHECK = """(key) => {
  const bad = [];
  for (const box of document.querySelectorAll('.katex-display')) {
    if (!box.offsetParent) continue;  // in a closed tab or expander
    if (box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1)
      bad.push([box.scrollWidth, box.clientWidth, box.scrollHeight, box.clientHeight,
                box.innerText.replace(/\\s+/g, '').slice(0, 30)]);
  }
  for (const box of document.querySelectorAll('.emp-html .tex')) {  // the step player's
    if (!box.offsetParent) continue;
    if (box.scrollWidth > box.clientWidth + 1)
      bad.push([box.scrollWidth, box.clientWidth, box.innerText.slice(0, 30)]);
  }
  const row = document.querySelector('.st-key-' + key + '_steprow')
              || document.querySelector('.st-key-' + key + '_player .emp-bar');
  const r = row ? row.getBoundingClientRect() : null;
  const btn = (k, title) => {
    const e = [...document.querySelectorAll('.st-key-' + k + ' button'),
               ...document.querySelectorAll('.st-key-' + key + '_player .emp-btn[title="' + title + '"]')]
              .find(b => b.getBoundingClientRect().width > 0);
    return e ? e.getBoundingClientRect() : null; };
  const prev = btn(key + '_prev', 'Previous half-step'), next = btn(key + '_next', 'Next half-step');
  const main = document.querySelector('[data-testid="stMain"]');
  // Step-player charts that ask for their margins up front (more than the 10 px default):
  // the margins Plotly drew with, which automargin widens (drawing again) if they fall short.
  const pushed = [];
  let sized = 0;
  for (const gd of document.querySelectorAll('.emp .emp-chart.js-plotly-plot')) {
    const m = (gd.layout || {}).margin || {}, got = gd._fullLayout && gd._fullLayout._size;
    if (!got || !(m.l > 10) || gd.classList.contains('emp-stale')) continue;
    sized += 1;
    const want = [m.l, m.r, m.t, m.b], drawn = [got.l, got.r, got.t, got.b].map(Math.round);
    if (want.some((v, i) => v !== undefined && drawn[i] > v))
      pushed.push([gd.parentElement.className.split(' ').pop(), want.join('/'), drawn.join('/')]);
  }
  // elements that hold only scripts take no room (each would add a row gap at the top)
  const scripts = [...document.querySelectorAll('[data-testid="stElementContainer"]')].filter(e => {
    const h = e.querySelector(':scope > [data-testid="stHtml"]');
    return h && h.children.length && [...h.children].every(c => c.tagName === 'SCRIPT'); });
  const roomy = scripts.filter(e => getComputedStyle(e).position !== 'absolute').length;
  return {bad, pushed, sized, scripts: scripts.length, roomy, row: r && {top: r.top, bottom: r.bottom, left: r.left, right: r.right},
          prev: prev && {top: prev.top, right: prev.right},
          next: next && {top: next.top, left: next.left},
          scrollTop: main ? main.scrollTop : 0,
          sidebar: (() => { const s = document.querySelector('[data-testid="stSidebar"]');
                            return s ? s.getAttribute('aria-expanded') : null; })()};
}"""


def _check_sizes(page, key: str, name: str) -> None:
    sized = 0
    for w, h in SIZES:
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_timeout(900)
        info = page.evaluate(_JS_CHECK, key)
        assert not info["bad"], f"{name} at {w}×{h}: formula cut {info['bad']}"
        assert not info["pushed"], f"{name} at {w}×{h}: margins too small, drawn twice {info['pushed']}"
        sized += info["sized"]
        # the page-wide scripts and Plotly.js's download: found, and taking no room
        assert info["scripts"] >= 2 and info["roomy"] == 0, f"{name} at {w}×{h}: {info}"
        row, prev, nxt = info["row"], info["prev"], info["next"]
        assert row is not None, f"{name}: no step row"
        assert row["bottom"] <= h, f"{name} at {w}×{h}: step control below the first screen {row}"
        assert abs(prev["top"] - nxt["top"]) < 4, f"{name} at {w}×{h}: ◀ and ▶ not on one row"
        assert prev["right"] < nxt["left"] and row["right"] <= w + 1
        if w <= 400:
            assert info["sidebar"] != "true", f"{name}: sidebar open on a phone"
        if (w, h) in ((1280, 800), (390, 844)) and name == "house_prices":
            settle_for_screenshot(page)
            screenshot(page, f"screen_{name}_{w}", full_page=False)
    if name != "digits":  # digits' first screen holds images, with no axis labels to fit
        assert sized > 0, f"{name}: no chart that asks for its margins was on screen"


@pytest.mark.parametrize("name,chart,key", PAGES)
def test_every_size_no_cut_formula_and_step_on_first_screen(page, app_server, name, chart, key):
    open_app_page(page, app_server, name, chart)
    assert_no_exception(page)
    _check_sizes(page, key, name)
    assert_no_exception(page)


def test_font_widths_match_the_browser(page, app_server):
    """emviz.fontmetrics sizes margins from Source Sans' advance widths: the charts' own font,
    measured here again, must give the same widths (within 1 %)."""
    from emviz.fontmetrics import text_px

    open_app_page(page, app_server, "house_prices", "hp_mixture")
    samples = ["0123456789", "−600", "0.5", "Drug & general merch.", "log-likelihood (nats)",
               "Seafood (packaged)", "WMm%@…", "μσπθℓ"]
    measured = page.evaluate("""(samples) => {
      const gd = document.querySelector('.emp .js-plotly-plot');
      const c = document.createElement('canvas').getContext('2d');
      c.font = '100px ' + gd._fullLayout.font.family;
      return samples.map(t => c.measureText(t).width);
    }""", samples)
    for text, width in zip(samples, measured, strict=True):
        assert text_px(text, 100) == pytest.approx(width, rel=0.01), text


def test_phone_starts_with_the_sidebar_collapsed(browser, app_server):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    pg = context.new_page()
    pg.console_errors = []  # type: ignore[attr-defined]
    try:
        open_app_page(pg, app_server, "house_prices", "hp_mixture")
        expanded = pg.locator('[data-testid="stSidebar"]').get_attribute("aria-expanded")
        assert expanded != "true"
    finally:
        context.close()


def test_presentation_mode_by_keyboard_alone(page, app_server):
    """?present=1: no sidebar; → steps, ← steps back, End / Home jump, Space plays."""
    open_app_page(page, app_server, "house_prices?present=1", "hp_mixture")
    assert page.locator('[data-testid="stSidebar"]').is_hidden()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")

    def key(k: str) -> None:
        page.keyboard.press(k)
        page.wait_for_timeout(400)
        wait_for_app(page, LOAD_TIMEOUT)

    assert step_label(page) == "θ⁽⁰⁾ (start)" or step_label(page).startswith("θ")
    key("ArrowRight")
    assert step_label(page) == "E-step 1"
    key("ArrowRight")
    assert step_label(page) == "M-step 1"
    key("ArrowLeft")
    assert step_label(page) == "E-step 1"
    key("End")
    last = step_label(page)
    assert last.startswith("M-step") and last != "M-step 1"
    key("Home")
    assert step_label(page).startswith("θ")
    # One screen holds the main chart, the narration and the proof panel's current line.
    boxes = page.evaluate("""() => {
        const r = (sel) => { const e = document.querySelector(sel);
                             return e ? e.getBoundingClientRect().bottom : null; };
        return {chart: r('.st-key-hp_mixture'), h: window.innerHeight}; }""")
    assert boxes["chart"] is not None and boxes["chart"] <= boxes["h"] + 1, boxes
    settle_for_screenshot(page)
    screenshot(page, "presentation_house_prices", full_page=False)
    key("Space")  # play: the step advances on its own
    page.wait_for_timeout(4000)
    wait_for_app(page, LOAD_TIMEOUT)
    assert step_label(page) != "θ⁽⁰⁾ (start)" and not step_label(page).startswith("θ")
    key("Space")  # pause
    key("Escape")  # leave presentation mode
    assert page.locator('[data-testid="stSidebar"]').count() == 1
    assert_no_exception(page)
