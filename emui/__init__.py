"""Streamlit building blocks shared by every fitting page of EM Explorer.

Typical page::

    settings = emui.fit_controls("hp", family="gaussian", defaults={"n_components": 2})
    trace = emui.run_fit(X, settings, data_key="ames")        # cached: the slider never refits
    hs = emui.step_player(trace, "hp", [[emui.Chart("hp_mixture", lambda h: figure(h))],
                                        [emui.narration(trace), emui.proof(trace)]])
    emui.status_banner(trace)                                  # hs: the HalfStep the server holds
    emui.restarts_chart(emui.run_restarts(X, settings, "ames"))
    emui.downloads(trace, X, "hp", figures={"Histogram": fig}, gif=lambda: make_gif(...))
    emui.publish_fit("house_prices", X, trace, "Ames house prices")
"""

from emui._deeplink import ensure_navigation
from emui.animation import animation_chart
from emui.controls import (
    dataset_caption,
    dataset_picker,
    fit_controls,
    page_header,
    reset_button,
    reset_controls,
    widget_key,
)
from emui.downloads import downloads, responsibilities_csv_bytes, trace_json_bytes
from emui.exercise import exercise_panel
from emui.fitting import data_fingerprint, publish_fit, run_fit, run_restarts
from emui.landscape import landscape_panel
from emui.player import Chart, Html, narration, proof, step_now, step_player, step_view
from emui.selection import selection_panel
from emui.settings import FitSettings, parse_means
from emui.steps import (
    describe_half_step,
    restarts_chart,
    status_banner,
    step_figure,
    step_slider,
    trace_key,
)
from emui.urlstate import Param, fit_params, link_to_step, save_url, url_state

__all__ = [
    "FitSettings", "parse_means", "ensure_navigation",
    "page_header", "dataset_caption", "fit_controls", "widget_key",
    "dataset_picker", "reset_controls", "reset_button",
    "run_fit", "run_restarts", "publish_fit", "data_fingerprint",
    "step_slider", "step_figure", "trace_key", "status_banner",
    "restarts_chart", "describe_half_step", "selection_panel",
    "downloads", "trace_json_bytes", "responsibilities_csv_bytes",
    "landscape_panel", "exercise_panel",
    "url_state", "save_url", "link_to_step", "fit_params", "Param", "animation_chart",
    "step_player", "step_view", "step_now", "Chart", "Html", "narration", "proof",
]

# Bind the submodules as attributes explicitly: the call below may stop this import with
# Streamlit's rerun exception, and a re-import then finds them in sys.modules without
# setting the attributes (``emui.urlstate.parse_int`` must still work).
from emui import (  # noqa: E402,F401,I001
    _deeplink, animation, controls, exercise, fitting, landscape, player, selection, settings,
    steps,
    urlstate)

# A page opened by a deep link on a fresh server must run through app.py (see _deeplink);
# pages also call it through url_state, on every run.
ensure_navigation()
