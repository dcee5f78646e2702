"""Make deep links (``/house_prices``) work on a freshly started server.

Streamlit keeps a legacy "pages directory" mode: while no script has called
``st.navigation`` yet, a server whose entry script has a ``pages/`` folder beside it opens
``/house_prices`` by running ``pages/house_prices.py`` *alone* — without ``app.py``, so
without the wide layout and the navigation menu. The first ``st.navigation`` call switches
that mode off for the whole server. Every page imports :mod:`emui`, so this check runs at
the top of such a stray run: it switches the legacy mode off and asks for a rerun, which
then goes through ``app.py`` and lands on the same page.
"""

from __future__ import annotations


def ensure_navigation() -> None:
    """Rerun through ``app.py`` if a page was started in the legacy pages-directory mode."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:  # a Streamlit without these internals: nothing to fix
        return
    if get_script_run_ctx(suppress_warning=True) is None:
        return  # imported outside a Streamlit run (tests, scripts)
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        import streamlit as st

        st.rerun()
