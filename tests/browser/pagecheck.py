"""Helpers shared by the per-page browser tests: read Plotly figures, drive the step slider,
play a client-side animation.

A Streamlit element created with ``key="hp_mixture"`` sits in a container with the CSS class
``st-key-hp_mixture``; the figure helpers find charts that way, so a test reads *one* chart,
not "the third plot on the page".
"""

from __future__ import annotations

import numpy as np

from tests.browser.conftest import open_page, wait_for_app, wait_for_rerun

LOAD_TIMEOUT = 120_000  # ms; a cold page on a busy 2-core machine can take a minute

# Plotly decodes base64 arrays into typed arrays; Array.from turns them into JSON lists.
_JS_FIGURE = """(sel) => {
  const gd = document.querySelector(sel + ' .js-plotly-plot');
  if (!gd || !gd._fullData) return null;
  const arr = v => (v && typeof v === 'object' && v.length !== undefined && typeof v !== 'string')
                   ? Array.from(v, e => (e && typeof e === 'object' && e.length !== undefined)
                                         ? Array.from(e) : e)
                   : v;
  const title = gd.layout.title ? (gd.layout.title.text || gd.layout.title) : '';
  return {
    title: String(title),
    n_frames: (gd._transitionData && gd._transitionData._frames || []).length,
    slider_active: (gd.layout.sliders && gd.layout.sliders.length)
                   ? gd.layout.sliders[0].active : null,
    width: gd.offsetWidth, height: gd.offsetHeight,
    axes: Object.fromEntries(Object.keys(gd._fullLayout)
      .filter(k => /^[xy]axis[0-9]*$/.test(k))
      .map(k => [k, {tickvals: arr(gd._fullLayout[k].tickvals),
                     ticktext: arr(gd._fullLayout[k].ticktext),
                     title: gd._fullLayout[k].title ? gd._fullLayout[k].title.text : ''}])),
    traces: gd._fullData.map(t => ({
      name: t.name, type: t.type, visible: t.visible,
      x: arr(t.x), y: arr(t.y), z: arr(t.z), text: arr(t.text),
      color: t.marker ? arr(t.marker.color) : null,
      line_color: t.line ? t.line.color : null,
      colorscale: t.colorscale || null,
    })),
  };
}"""


def chart_selector(key: str) -> str:
    return f".st-key-{key}"


def wait_for_chart(pg, key: str, timeout: float = 60_000, min_traces: int = 1) -> None:
    """Wait until the chart with Streamlit key ``key`` is drawn with ``min_traces`` traces
    (a step player's chart that waits off screen is scrolled to first).

    Fails at once, with the message, if the page shows a Python exception instead.
    """
    pg.wait_for_function(
        """([sel, n]) => {
             if (document.querySelector('[data-testid="stException"]')) return true;
             // A step player's chart off screen is drawn when it comes near the screen.
             const stale = document.querySelector(sel + ' .emp-stale');
             if (stale) { stale.scrollIntoView({block: 'center'}); return false; }
             const gd = document.querySelector(sel + ' .js-plotly-plot');
             return gd && gd._fullData && gd._fullData.length >= n
                    && gd._fullLayout !== undefined; }""",
        arg=[chart_selector(key), min_traces], timeout=timeout)
    exc = pg.locator('[data-testid="stException"]')
    assert exc.count() == 0, "exception on page: " + exc.first.inner_text()[:500]


def open_app_page(pg, server, path: str, chart_key: str) -> None:
    """Open ``server.url/path`` and wait until the chart ``chart_key`` is drawn.

    ``wait_for_app`` alone can return before the first run has put any chart on the page.
    """
    open_page(pg, server, path, timeout=LOAD_TIMEOUT)
    wait_for_chart(pg, chart_key, timeout=LOAD_TIMEOUT)
    wait_for_app(pg, LOAD_TIMEOUT)


def figure(pg, key: str, min_traces: int = 1) -> dict:
    """The drawn figure of the chart with Streamlit key ``key``: title and traces' data."""
    wait_for_chart(pg, key, min_traces=min_traces)
    fig = pg.evaluate(_JS_FIGURE, chart_selector(key))
    assert fig is not None, f"no Plotly chart drawn for key {key!r}"
    return fig


def trace_named(fig: dict, prefix: str) -> dict:
    """The first trace whose name starts with ``prefix``."""
    for t in fig["traces"]:
        if str(t["name"] or "").startswith(prefix):
            return t
    raise AssertionError(f"no trace named {prefix!r}* in {[t['name'] for t in fig['traces']]}")


def traces_named(fig: dict, prefix: str) -> list[dict]:
    return [t for t in fig["traces"] if str(t["name"] or "").startswith(prefix)]


def step_label(pg, name: str = "Step") -> str:
    """The label the step slider shows (``"θ⁽⁰⁾ (start)"``, ``"E-step 1"``, ...)."""
    return pg.get_by_role("slider", name=name).get_attribute("aria-valuetext")


def press_step(pg, key: str = "ArrowRight", name: str = "Step") -> str:
    """Focus the step slider, press ``key`` and wait for the rerun; return the new label."""
    slider = pg.get_by_role("slider", name=name)
    before = slider.get_attribute("aria-valuetext")
    wait_for_rerun(pg, lambda: (slider.focus(), slider.press(key)), timeout=LOAD_TIMEOUT)
    pg.wait_for_function(
        "([n, b]) => { const s = [...document.querySelectorAll('input[type=range]')]"
        ".find(e => e.getAttribute('aria-label') === n); return s && "
        "s.getAttribute('aria-valuetext') !== b; }",
        arg=[name, before], timeout=30_000)
    wait_for_app(pg, LOAD_TIMEOUT)
    return step_label(pg, name)


def click_player(pg, key: str, title: str) -> None:
    """Click a button of the step player of page ``key`` by its title ("Next half-step",
    "Previous half-step") and wait for the rerun that reports the new step to the server."""
    button = pg.locator(f".st-key-{key}_player .emp-btn[title='{title}']").first
    wait_for_rerun(pg, button.click, timeout=LOAD_TIMEOUT)


def click_key(pg, key: str) -> None:
    """Click the button with Streamlit key ``key`` and wait for the rerun."""
    button = pg.locator(f"{chart_selector(key)} button").first
    wait_for_rerun(pg, button.click, timeout=LOAD_TIMEOUT)


def open_tab(pg, label: str) -> None:
    """Open the tab whose label contains ``label`` and wait for the rerun that builds it
    (the pages build only the open tab)."""
    wait_for_rerun(pg, pg.get_by_role("tab", name=label).first.click, timeout=LOAD_TIMEOUT)
    pg.wait_for_timeout(300)


def watch_reruns(pg) -> None:
    """Start counting script runs: every switch of the app to "running" is recorded."""
    pg.evaluate("""() => {
      const app = document.querySelector('[data-testid="stApp"]');
      window.__reruns = 0;
      if (window.__rerunObserver) window.__rerunObserver.disconnect();
      window.__rerunObserver = new MutationObserver(() => {
        if (app.getAttribute('data-test-script-state') === 'running') window.__reruns += 1;
      });
      window.__rerunObserver.observe(app, {attributes: true,
                                           attributeFilter: ['data-test-script-state']});
    }""")


def rerun_count(pg) -> int:
    return int(pg.evaluate("() => window.__reruns"))


# A short fingerprint of what a chart draws now: the first values of every trace's data.
_JS_SIGNATURE = """(sel) => {
  const gd = document.querySelector(sel + ' .js-plotly-plot');
  if (!gd || !gd._fullData) return '';
  const head = v => (v && v.length !== undefined && typeof v !== 'string')
                    ? JSON.stringify(Array.from(v).slice(0, 40)) : JSON.stringify(v);
  return gd._fullData.map(t => [t.x, t.y, t.z, t.marker && t.marker.color]
                                 .map(head).join(';')).join('|');
}"""


def play_animation(pg, key: str, seconds: float = 2.0,
                   enough: int = 4) -> tuple[list[str], int]:
    """Click the Plotly ▶ Play button of chart ``key`` and sample what it draws.

    Returns the distinct figure fingerprints seen (in order; sampling stops after ``seconds``
    or once ``enough`` have been seen) and the number of Streamlit script runs meanwhile
    (0 means the animation ran purely in the browser).
    """
    fig = figure(pg, key)
    assert fig["n_frames"] >= 2, f"chart {key!r} has {fig['n_frames']} animation frames"
    pg.locator(chart_selector(key)).scroll_into_view_if_needed()
    watch_reruns(pg)
    seen = [pg.evaluate(_JS_SIGNATURE, chart_selector(key))]
    play = pg.locator(f"{chart_selector(key)} .updatemenu-button").filter(has_text="Play")
    if play.count() == 0:  # a play button without text: the first button of the menu
        play = pg.locator(f"{chart_selector(key)} .updatemenu-button")
    # Sample long enough for a few frames at the play button's own frame duration.
    frame_ms = pg.evaluate("""(sel) => {
        const gd = document.querySelector(sel + ' .js-plotly-plot');
        try { return gd.layout.updatemenus[0].buttons[0].args[1].frame.duration || 0; }
        catch (e) { return 0; } }""", chart_selector(key))
    seconds = max(seconds, 3.5 * float(frame_ms or 0) / 1000)
    play.first.click()
    start = pg.evaluate("() => performance.now()")
    while pg.evaluate("() => performance.now()") - start < seconds * 1000:
        pg.wait_for_timeout(150)
        sig = pg.evaluate(_JS_SIGNATURE, chart_selector(key))
        if sig != seen[-1]:
            seen.append(sig)
        if len(seen) >= enough:
            pg.wait_for_timeout(300)  # a rerun triggered by the animation would show by now
            break
    return seen, rerun_count(pg)


def wait_animation_end(pg, key: str, timeout: float = 60_000) -> None:
    """Wait until the animation of chart ``key`` has played its last frame. Pages build only
    the open tab, so leaving the animation's tab removes the chart, and the timer of a
    still-playing Plotly animation would then throw in the console."""
    pg.wait_for_function(
        """(sel) => { const gd = document.querySelector(sel + ' .js-plotly-plot');
             const tr = gd && gd._transitionData;
             return !tr || (!tr._animationRaf && !(tr._frameQueue || []).length); }""",
        arg=chart_selector(key), timeout=timeout)
    pg.wait_for_timeout(300)


def fit_gaussian_curve(x, y) -> tuple[float, float, float]:
    """Recover (π, μ, σ) from samples of y = π·N(x | μ, σ²) (a parabola in log y).

    Exact for a Gaussian curve: log y = log(π/(σ√(2π))) − (x − μ)²/(2σ²). Only points where
    y is well above underflow are used.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = y > y.max() * 1e-6
    c2, c1, c0 = np.polyfit(x[ok], np.log(y[ok]), 2)
    var = -1.0 / (2.0 * c2)
    mu = c1 * var
    pi = float(np.exp(c0 + mu**2 / (2 * var)) * np.sqrt(2 * np.pi * var))
    return pi, float(mu), float(np.sqrt(var))


def assert_app_navigation(pg) -> None:
    """The sidebar lists the pages under the titles ``app.py`` gives them (st.navigation)."""
    nav = pg.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "1-D house prices" in nav and "Home" in nav, f"old multipage navigation: {nav!r}"


def settle_for_screenshot(pg) -> None:
    """Move the mouse away so no tooltip or hover label is captured."""
    pg.mouse.move(1, 1)
    pg.wait_for_timeout(300)
