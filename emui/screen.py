"""Every screen, every hand: the app-wide style fixes and the presentation mode.

:func:`apply` is called by ``app.py`` on every run, so every page — including pages added
later — gets the same fixes:

* formulas are never cut: a display formula too wide for its column first wraps at its
  top-level relations and operators (KaTeX's own break points, ``=``, ``+``, ``≥``), then, if
  a piece still does not fit (an ``aligned`` block, a long fraction), its font shrinks to fit
  (CSS zoom, not below 50 %); the box gets room above and below so fraction tops are not clipped;
* Plotly's toolbar appears only while the pointer is over a chart: it no longer hides the
  title (which carries the step and ℓ) and adds no Tab stops for keyboard users;
* a strong focus ring, visible in the light and the dark theme, and a "Skip to the step
  control" link, the first Tab stop of the main area (:func:`skip_link`, target
  :func:`step_anchor`, drawn by the step control);
* presentation mode (a sidebar toggle, or ``?present=1`` in the URL): no sidebar, larger
  text, and the step keys ← / → / Home / End and Space (play) on the step control.
"""

from __future__ import annotations

import streamlit as st

#: Session-state key of the presentation-mode toggle (query parameter ``present``).
PRESENT_KEY = "em_present"

_CSS = """
<style>
/* formulas: wrap at KaTeX's break points, never clip the tops of fractions */
.katex-display { overflow-x: auto; overflow-y: hidden; padding: 0.45em 2px; margin: 0.4em 0; }
.katex-display > .katex { white-space: normal; }
/* Plotly's toolbar: only while hovering the chart (hidden elements take no Tab stops) */
.js-plotly-plot .modebar-container { visibility: hidden; }
.js-plotly-plot:hover .modebar-container { visibility: visible; }
/* the step control on the first screen: less empty space above the title, smaller titles
   on narrow screens */
[data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
@media (max-width: 1100px) { [data-testid="stMain"] h1 { font-size: 2rem; } }
@media (max-width: 640px) { [data-testid="stMain"] h1 { font-size: 1.6rem; }
  [data-testid="stMainBlockContainer"] { padding-top: 2.9rem; } }
/* a focus ring that shows on light and dark backgrounds: a 3 px blue ring (#1c6dd0: 5.0:1 on
   white, 3.8:1 on #0E1117) inside a white halo, on every focusable element */
:focus-visible, [role="slider"]:focus, [role="tab"]:focus-visible, a:focus-visible,
[data-focus-visible="true"]:has(> [data-testid="stSliderThumbValue"]) {
  outline: 3px solid #1c6dd0 !important; outline-offset: 2px !important;
  box-shadow: 0 0 0 5px rgba(255, 255, 255, 0.85) !important; }
/* a slider's thumb: its range input is visually hidden, so the ring goes on the thumb */
[data-focus-visible="true"]:has(> [data-testid="stSliderThumbValue"]) { border-radius: 50%; }
/* "Skip to the step control": off screen until it has the keyboard focus */
a.em-skip { position: fixed; left: -10000px; top: 0.5rem; z-index: 1000100; }
a.em-skip:focus { left: 0.75rem; padding: 0.5rem 0.9rem; border-radius: 0.4rem;
  background: #1c6dd0; color: #FFFFFF !important; font-weight: 600; text-decoration: none; }
body:not(:has(#em-step)) a.em-skip { display: none; }
/* the skip link and its target take no room in the page */
[data-testid="stElementContainer"]:has(a.em-skip) { position: absolute; width: 0; height: 0; }
[data-testid="stElementContainer"]:has(#em-step) { position: absolute; width: 0; height: 0;
  overflow: hidden; }
#em-step:focus { outline: none !important; box-shadow: none !important; }
/* nor does an element that holds only scripts (the page-wide scripts, Plotly.js's download):
   each took a row gap of 16 px at the top of every page. (Bare text beside a script would be
   hidden with it: an st.html with visible content wraps it in an element.) */
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] > script):not(
  :has(> [data-testid="stHtml"] > :not(script))) {
  position: absolute; width: 0; height: 0; overflow: hidden; }
</style>
"""

#: The skip link: the first thing a keyboard reaches on every page that has a step control.
SKIP_LINK = '<a class="em-skip" href="#em-step">Skip to the step control</a>'
#: Its target, drawn by the step control (``emui.step_slider``) just before its row.
STEP_ANCHOR = '<span id="em-step" tabindex="-1"></span>'


def skip_link() -> None:
    """Draw the "Skip to the step control" link (hidden on pages without a step control)."""
    st.html(SKIP_LINK)


def step_anchor() -> None:
    """Draw the skip link's target: call once per page, just before the step control."""
    st.html(STEP_ANCHOR)

_PRESENT_CSS = """
<style>
/* presentation mode: the main area only, text for the back row */
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 0.5rem 2rem 2rem !important; }
[data-testid="stMain"] p, [data-testid="stMain"] li { font-size: 1.35rem !important; line-height: 1.45 !important; }
[data-testid="stMain"] h1 { font-size: 1.9rem !important; padding: 0 !important; }
[data-testid="stMain"] .katex-display { font-size: 1.25em; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] { font-size: 1.1rem !important; }
[data-testid="stMain"] button p { font-size: 1.35rem !important; }
[data-testid="stMain"] [data-testid="stExpander"] summary p,
.st-key-em_present_exit button p { font-size: 1.05rem !important; }
.st-key-em_present_exit { position: fixed; right: 1rem; bottom: 0.8rem; z-index: 1000; width: auto !important; }
</style>
"""

# Last resort for formulas that cannot wrap: shrink it until the box fits (≥ 50 %).
_FIT_JS = """
<script>
(() => {
  if (window.__emFitFormulas) return;
  window.__emFitFormulas = true;
  const fit = () => {
    for (const box of document.querySelectorAll('.katex-display')) {
      const k = box.firstElementChild;
      if (!k) continue;
      k.style.zoom = '';
      let scale = 1.0;
      while (box.scrollWidth > box.clientWidth + 1 && scale > 0.5) {
        scale = Math.max(0.5, scale * Math.min(0.97, (box.clientWidth - 2) / box.scrollWidth));
        k.style.zoom = scale.toFixed(3);
      }
    }
  };
  window.__emFit = fit;
  let pending = false;
  const later = () => { if (!pending) { pending = true;
    requestAnimationFrame(() => { pending = false; fit(); }); } };
  new MutationObserver(later).observe(document.body, {childList: true, subtree: true});
  window.addEventListener('resize', later);
  if (document.fonts) {  // KaTeX's fonts arrive late and make formulas wider
    document.fonts.ready.then(later);
    document.fonts.addEventListener('loadingdone', later);
  }
  later();
})();
</script>
"""

# Streamlit marks the tabs of a tab list disabled for a moment while the fragment that holds
# them reruns (a tab switch with on_change="rerun" starts such a run). If the keyboard focus
# is on a tab then, Chrome drops it to <body>, and a learner arrowing through the tabs would
# start again from the top of the page. The tab gets it back as soon as it is enabled again,
# unless the learner has put the focus somewhere else meanwhile.
_TAB_FOCUS_JS = """
<script>
(() => {
  if (window.__emTabFocus) return;
  window.__emTabFocus = true;
  document.addEventListener('focusout', (e) => {
    const tab = e.target;
    if (e.relatedTarget || !(tab instanceof Element) || tab.getAttribute('role') !== 'tab') return;
    // only a tab that lost the focus by being disabled (a click elsewhere leaves it be)
    if (tab.getAttribute('aria-disabled') !== 'true' && tab.hasAttribute('tabindex')) return;
    const list = tab.closest('[role="tablist"]');
    if (!list) return;
    const index = [...list.querySelectorAll('[role="tab"]')].indexOf(tab);
    const until = performance.now() + 3000;
    const retry = () => {
      const lost = document.activeElement === document.body || document.activeElement === null;
      if (!lost || !list.isConnected || performance.now() > until) return;
      const again = list.querySelectorAll('[role="tab"]')[index];
      if (again && again.getAttribute('aria-disabled') !== 'true') again.focus();
      if (document.activeElement !== again) requestAnimationFrame(retry);
    };
    requestAnimationFrame(retry);
  }, true);
})();
</script>
"""


def presenting() -> bool:
    """Whether presentation mode is on for this session."""
    return bool(st.session_state.get(PRESENT_KEY, False))


def _read_present_param() -> None:
    """``?present=1`` (or 0) in a URL this session has not seen yet sets the mode."""
    try:
        value = st.query_params.get("present")
    except Exception:  # noqa: BLE001
        value = None
    seen = st.session_state.get("_em_present_seen")
    if value is None or value == seen:
        return
    st.session_state["_em_present_seen"] = value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        st.session_state[PRESENT_KEY] = True
    elif text in ("0", "false", "no", "off"):
        st.session_state[PRESENT_KEY] = False


def _toggle_present() -> None:
    st.session_state[PRESENT_KEY] = not presenting()


def apply() -> None:
    """Inject the app-wide style fixes, and the presentation-mode style when it is on.

    Also draws the presentation toggle at the top of the sidebar, and in presentation mode
    an "Exit presentation" button (Esc) at the top of the page.
    """
    _read_present_param()
    skip_link()
    st.html(_CSS)
    st.html(_FIT_JS + _TAB_FOCUS_JS, unsafe_allow_javascript=True)  # takes no room (_CSS)
    if presenting():
        st.html(_PRESENT_CSS)
        st.button("✕ Exit presentation", key="em_present_exit", on_click=_toggle_present,
                  shortcut="Esc", help="Back to the normal layout (Esc)", type="tertiary")
    else:
        st.sidebar.button("🎦 Presentation mode", key="em_present_on", on_click=_toggle_present,
                          width="stretch",
                          help="Hide the sidebar and enlarge everything for a projector; "
                               "step with ← / →, Home / End, play with Space.")


__all__ = ["apply", "presenting", "PRESENT_KEY", "skip_link", "step_anchor"]
