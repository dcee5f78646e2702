"""How many components? BIC and ICL over K, with the log-likelihood that cannot choose K.

Pure figure builder (no Streamlit): the numbers come from ``emcore.select_n_components``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from emviz.common import base_layout, rows_layout
from emviz.palette import NEUTRAL

#: Colour of the "lowest" stars (Okabe–Ito vermillion; no component colour is drawn here).
BEST_COLOR = "#D55E00"


def selection_figure(ks, bic, icl, *, loglik=None, aic=None, chosen_k: int | None = None,
                     unit: str = "components", height: int | None = None) -> go.Figure:
    """BIC and ICL (optionally AIC) against K, lowest marked; below, ℓ of the same fits.

    Parameters
    ----------
    ks : array_like of int, shape (M,)
    bic, icl : array_like, shape (M,)
        On BIC's scale, lower is better (``emcore.bic``, ``emcore.icl``).
    loglik : array_like, shape (M,), optional
        ℓ of the best fit for each K. When given, a lower panel shows it: it only rises with
        K, which is why ℓ alone cannot choose K.
    aic : array_like, shape (M,), optional
    chosen_k : int, optional
        The K of the current fit, marked with a dotted vertical line.
    unit : str
        What K counts ("components", "segments"), for the titles.

    Returns
    -------
    go.Figure
        Traces in order: for each criterion its line then its star (the minimum); then, with
        ``loglik``, the ℓ line on the lower panel (axes x2/y2).
    """
    ks = np.asarray(ks)
    data, shapes, annotations = [], [], []
    two = loglik is not None
    lay = rows_layout(2, row_heights=[0.62, 0.38], vertical_spacing=0.12) if two else {}
    series = [("BIC", bic, "solid", "circle"), ("ICL", icl, "dash", "diamond")]
    if aic is not None:
        series.append(("AIC", aic, "dot", "square"))
    for name, values, dash, symbol in series:
        values = np.asarray(values, dtype=float)
        best = int(ks[int(np.argmin(values))])
        data.append(dict(
            type="scatter", x=ks.tolist(), y=values.tolist(), name=f"{name} (lowest at K = {best})",
            mode="lines+markers", line=dict(color=NEUTRAL, dash=dash, width=2.5),
            marker=dict(symbol=symbol, size=9),
            hovertemplate=f"K = %{{x}}<br>{name} = %{{y:,.1f}}<extra></extra>",
        ))
        data.append(dict(
            type="scatter", x=[best], y=[float(values.min())], mode="markers", showlegend=False,
            hoverinfo="skip", name=f"lowest {name}",
            marker=dict(symbol="star", size=18, color=BEST_COLOR, line=dict(width=1, color="white")),
        ))
    if two:
        data.append(dict(
            type="scatter", x=ks.tolist(), y=np.asarray(loglik, dtype=float).tolist(),
            xaxis="x2", yaxis="y2", name="log-likelihood ℓ of that fit",
            mode="lines+markers", line=dict(color=NEUTRAL, width=2), marker=dict(size=7),
            hovertemplate="K = %{x}<br>ℓ = %{y:,.2f}<extra></extra>",
        ))
    if chosen_k is not None:
        for yref in (("y domain", "y2 domain") if two else ("y domain",)):
            xref = "x" if yref == "y domain" else "x2"
            shapes.append(dict(type="line", xref=xref, yref=yref, x0=chosen_k, x1=chosen_k,
                               y0=0, y1=1, line=dict(color=NEUTRAL, dash="dot")))
        annotations.append(dict(text=f"current K = {chosen_k}", x=chosen_k, y=1, xref="x",
                                yref="y domain", yanchor="bottom", showarrow=False))
    xaxis = dict(title=dict(text=f"number of {unit} K"), dtick=1)
    yaxis = dict(title=dict(text="criterion (lower is better)"), tickformat=",.0f")
    if two:
        annotations += lay.pop("annotations", [])
        lay["xaxis"] = {**lay["xaxis"], "dtick": 1, "showticklabels": True}
        lay["xaxis2"] = {**lay["xaxis2"], **xaxis}
        lay["yaxis"] = {**lay["yaxis"], **yaxis}
        lay["yaxis2"] = {**lay["yaxis2"], "title": dict(text="ℓ (nats)"), "tickformat": ",.0f"}
    else:
        lay = dict(xaxis=xaxis, yaxis=yaxis)
    layout = base_layout(f"How many {unit}? BIC and ICL over K", height or (560 if two else 420),
                         legend=dict(orientation="h", yanchor="top", y=-0.12, x=0,
                                     xanchor="left"),
                         shapes=shapes, annotations=annotations, **lay)
    layout["margin"] = dict(l=10, r=10, t=60, b=10)
    return go.Figure(data=data, layout=layout)


__all__ = ["selection_figure"]
