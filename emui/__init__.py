"""Streamlit building blocks shared by every fitting page of EM Explorer.

Typical page::

    settings = emui.fit_controls("hp", family="gaussian", defaults={"n_components": 2})
    trace = emui.run_fit(X, settings, data_key="ames")        # cached: the slider never refits
    hs = emui.step_slider(trace, "hp")                         # HalfStep(s, kind, t, params, resp, label)
    emui.status_banner(trace)
    emui.loglik_chart(trace, hs.s); emui.proof_panel(trace, hs.s); emui.what_changed(trace, hs.s)
    emui.restarts_chart(emui.run_restarts(X, settings, "ames"))
    emui.downloads(trace, X, "hp", figures={"Histogram": fig}, gif=lambda: make_gif(...))
    emui.publish_fit("house_prices", X, trace, "Ames house prices")
"""

from emui._deeplink import ensure_navigation
from emui.controls import dataset_caption, fit_controls, page_header, widget_key
from emui.downloads import downloads, responsibilities_csv_bytes, trace_json_bytes
from emui.exercise import exercise_panel
from emui.fitting import data_fingerprint, publish_fit, run_fit, run_restarts
from emui.landscape import landscape_panel
from emui.selection import selection_panel
from emui.settings import INIT_LABELS, FitSettings, parse_means
from emui.steps import (
    describe_half_step,
    loglik_chart,
    proof_panel,
    restarts_chart,
    status_banner,
    step_figure,
    step_slider,
    trace_key,
    what_changed,
)

__all__ = [
    "FitSettings", "INIT_LABELS", "parse_means", "ensure_navigation",
    "page_header", "dataset_caption", "fit_controls", "widget_key",
    "run_fit", "run_restarts", "publish_fit", "data_fingerprint",
    "step_slider", "step_figure", "trace_key", "status_banner", "loglik_chart",
    "restarts_chart", "proof_panel", "what_changed", "describe_half_step", "selection_panel",
    "downloads", "trace_json_bytes", "responsibilities_csv_bytes",
    "landscape_panel", "exercise_panel",
]

# A page opened by a deep link on a fresh server must run through app.py (see _deeplink).
ensure_navigation()
