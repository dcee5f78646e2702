"""Downloads: the trace (JSON), the responsibilities (CSV), figures for slides (PNG/SVG, GIF)."""

from __future__ import annotations

import json
import re

import numpy as np
import streamlit as st


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower() or "figure"


def _export():
    """emviz.export, imported on first use (matplotlib takes a second to import)."""
    from emviz import export

    return export


def trace_json_bytes(trace) -> bytes:
    """The trace as indented JSON (``trace.to_dict()``)."""
    return json.dumps(trace.to_dict(), indent=1, allow_nan=False).encode("utf-8")


def responsibilities_csv_bytes(trace, X, feature_names=None, row_names=None, t=None) -> bytes:
    """CSV of the responsibilities p(z | x, θ_t) (default: the final θ), one row per data row.

    Columns: ``row`` (row names when given, else 1..N), the features when X is dense and has
    at most 10 columns, ``p_component_1..K`` and ``most_likely`` (1-based). Text cells pass
    through :func:`emdata.safe_csv`, so a formula-looking cell stays inert in a spreadsheet.
    """
    import pandas as pd

    import emdata

    t = int(trace.n_iter) if t is None else int(t)
    R = np.asarray(trace.responsibilities(t), dtype=float)
    N, K = R.shape
    cols: dict[str, object] = {}
    cols["row"] = list(row_names) if row_names is not None else np.arange(1, N + 1)
    if isinstance(X, np.ndarray) and X.ndim <= 2:
        Xa = X.reshape(N, -1)
        if Xa.shape[1] <= 10:
            names = list(feature_names or [f"x{d + 1}" for d in range(Xa.shape[1])])
            for d in range(Xa.shape[1]):
                cols[names[d] if d < len(names) else f"x{d + 1}"] = Xa[:, d]
    for k in range(K):
        cols[f"p_component_{k + 1}"] = R[:, k]
    cols["most_likely"] = R.argmax(axis=1) + 1
    df = pd.DataFrame(cols)
    return emdata.safe_csv(df, list(df.columns))


def figure_at(fig, trace, now):
    """A maker of the figure to export: ``fig`` itself, or ``fig(hs)`` called (on click) with
    the half-step ``now()`` returns, the one the learner last stopped on (kept in the run)."""
    if not callable(fig):
        return lambda: fig
    last = int(trace.n_half_steps) - 1
    return lambda: fig(trace.half_step(min(max(int(now()), 0), last)))


def downloads(trace, X, key: str, figures: dict | None = None, gif=None,
              feature_names=None, row_names=None) -> None:
    """Download buttons (all generated lazily, on click — a slider step stays fast).

    Parameters
    ----------
    trace : emcore Trace
    X : ndarray (N, D) or sparse (N, V)
        The fitted data (dense features are included in the responsibilities CSV).
    key : str
        Page prefix for widget keys (``f"{key}_dl_..."``).
    figures : dict[str, plotly Figure or callable], optional
        Figures to offer as PNG and SVG (redrawn with matplotlib by :mod:`emviz.export`): a
        figure, or ``build(hs)`` for a HalfStep, called on click with the half-step the
        learner last stopped on (for a part of the page that does not rerun on a step).
    gif : callable () -> bytes, optional
        Draws the animated GIF of the whole run.
    """
    with st.expander("Downloads — data, trace, and figures for slides", expanded=False):
        c1, c2 = st.columns(2)
        c1.download_button("Trace (JSON)", data=lambda: trace_json_bytes(trace),
                           file_name=f"{key}_trace.json", mime="application/json",
                           key=f"{key}_dl_trace", on_click="ignore", icon="📄")
        c2.download_button("Responsibilities (CSV)",
                           data=lambda: responsibilities_csv_bytes(trace, X, feature_names, row_names),
                           file_name=f"{key}_responsibilities.csv", mime="text/csv",
                           key=f"{key}_dl_resp", on_click="ignore", icon="📊")
        if figures:
            st.caption("Figures for slides — redrawn with matplotlib at the current step.")
            from emui.player import step_now

            now = step_now(key)
            for name, fig in figures.items():
                make = figure_at(fig, trace, now)
                slug = _slug(name)
                a, b, c = st.columns([3, 1, 1], vertical_alignment="center")
                a.markdown(name)
                b.download_button("PNG", data=lambda make=make: _export().figure_png(make()),
                                  file_name=f"{key}_{slug}.png", mime="image/png",
                                  key=f"{key}_dl_png_{slug}", on_click="ignore")
                c.download_button("SVG", data=lambda make=make: _export().figure_svg(make()),
                                  file_name=f"{key}_{slug}.svg", mime="image/svg+xml",
                                  key=f"{key}_dl_svg_{slug}", on_click="ignore")
        if gif is not None:
            st.download_button("Animated GIF of the whole run", data=gif,
                               file_name=f"{key}_run.gif", mime="image/gif",
                               key=f"{key}_dl_gif", on_click="ignore", icon="🎞️",
                               help="Drawn on the server with matplotlib; one frame per half-step "
                                    "(subsampled for long runs). Takes a few seconds.")
