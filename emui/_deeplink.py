"""Make deep links (``/house_prices``) work on a freshly started server, with public API only.

Streamlit keeps a legacy "pages directory" mode: until some session has run ``st.navigation``,
a server whose entry script has a ``pages/`` folder beside it opens ``/house_prices`` by
running ``pages/house_prices.py`` *alone* — without ``app.py``, so without the wide layout,
the page config and the navigation menu. ``st.navigation``'s documentation states the way
out: "As soon as any session of your app executes the st.navigation command, your app will
ignore the pages/ directory (across all sessions)."

So ``app.py`` marks every run it routes (:func:`mark_routed`), and a page that finds itself
running without that mark, on a live server, calls ``st.navigation`` once (which switches
the legacy mode off for the whole server) and asks for a rerun, which then goes through
``app.py`` and lands on the same page (a page's identity is its URL path, the same in both
modes). Under ``AppTest`` a page file runs alone on purpose; nothing happens there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

#: Session-state key set by app.py on each run it routes through ``st.navigation``.
ROUTED_KEY = "_emui_routed_by_app"


def mark_routed() -> None:
    """Called by app.py before ``st.navigation(...).run()``."""
    st.session_state[ROUTED_KEY] = True


#: Set before the one rerun this module may ask for in a session (never a loop, even when a
#: page file is itself the entry script: ``streamlit run pages/house_prices.py``).
TRIED_KEY = "_emui_reroute_tried"


def _in_browser_session() -> bool:
    """True in a run started by a browser; False in scripts and under AppTest, which have
    no browser context (``st.context.url`` is None there)."""
    from streamlit import runtime

    if not runtime.exists():
        return False
    try:
        return st.context.url is not None
    except Exception:  # noqa: BLE001 - no run context
        return False


def _placeholder() -> None:
    """Stands in for the page in the one-off ``st.navigation`` call (it is never run)."""


def _home_placeholder() -> None:
    """The default page of that call (never run either)."""


def _calling_page() -> str | None:
    """The URL path of the ``pages/*.py`` script on the call stack (its file name's stem)."""
    frame = sys._getframe(1)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.parent.name == "pages" and path.suffix == ".py":
            return path.stem
        frame = frame.f_back
    return None


def ensure_navigation(page: str | None = None) -> None:
    """Rerun through ``app.py`` if this page run did not come through it (legacy mode).

    Parameters
    ----------
    page : str, optional
        The running page's URL path (``"house_prices"``, its file name without ``.py``);
        by default the ``pages/`` script found on the call stack.
    """
    if not _in_browser_session():
        return  # scripts, and AppTest running a page file alone on purpose
    try:
        if st.session_state.get(ROUTED_KEY) or st.session_state.get(TRIED_KEY):
            return
    except Exception:  # noqa: BLE001 - no session (imported by a thread without a run)
        return
    page = page or _calling_page()
    if not page:
        return
    st.session_state[TRIED_KEY] = True
    # A page's identity is its URL path: a placeholder with the same path keeps the browser
    # on this page, and the rerun, routed by app.py, runs the real one.
    # It must not be the default page (served at "/"), hence a second placeholder.
    st.navigation([st.Page(_home_placeholder, title="EM Explorer", url_path="emui-home",
                           default=True),
                   st.Page(_placeholder, title="EM Explorer", url_path=page)],
                  position="hidden")
    st.rerun()
