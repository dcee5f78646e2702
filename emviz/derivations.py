"""Figures of the Derivations page (pure builders, no Streamlit).

* :func:`graphical_model_figure` — the mixture as a graphical model (plate notation) with the
  fitted numbers beside its parameter nodes;
* :func:`sample_figure` — the data beside a sample drawn from the fitted model;
* :func:`linkage_figure` — Dempster, Laird & Rubin's genetic-linkage example: ℓ(θ) and the
  EM lower bound (minorizer) at θ⁽ᵗ⁾, which touches ℓ at θ⁽ᵗ⁾ and peaks at θ⁽ᵗ⁺¹⁾ (Bishop, PRML,
  fig. 9.14).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from emcore import linkage as _linkage
from emviz import common as _common
from emviz.common import CURVE, base_layout, theta_it
from emviz.gauss1d import HIST_MARKER, AxisFormat, _axis_dict, histogram, weighted_densities
from emviz.palette import component_color, rgba
from emviz.texnum import sub

LOGLIK_COLOR = "#0072B2"
BOUND_COLOR = "#009E73"
STEP_COLOR = "#D55E00"
#: Bounds of earlier iterations (``linkage_figure(history=...)``): Okabe–Ito colours other than
#: ℓ's blue and the current bound's green, each ≥ 3:1 on the light and the dark background.
EARLIER_BOUND_COLORS = ("#CC79A7", "#8C8C8C")
GRID = "rgba(127,127,127,0.25)"
#: Colours of the graphical model's nodes: latent (open), observed (shaded), parameters; also
#: every annotation arrow (≥ 3:1 on the light and the dark background; Plotly's #444 is not).
NODE_LINE = "#7F7F7F"
OBSERVED_FILL = "rgba(127,127,127,0.35)"


def _fmt_vec(values, fmt: str = "{:.4g}") -> str:
    return "(" + ", ".join(fmt.format(float(v)) for v in values) + ")"


def _figure(data: list[dict], layout: dict) -> go.Figure:
    """Plain dicts wrapped without per-property validation unless the tests switch it on."""
    return go.Figure({"data": data, "layout": layout})


# --------------------------------------------------------------------------------------------
# The graphical model
# --------------------------------------------------------------------------------------------

def graphical_model_figure(params, n_samples: int | None = None, height: int = 260) -> go.Figure:
    """z_i ~ Cat(π), x_i | z_i = k ~ p(x | θ_k), drawn in plate notation.

    Nodes: π (a parameter, small filled dot) → z_i (latent, open circle) → x_i (observed,
    shaded circle) ← θ_k (parameters inside a plate over k = 1…K). A plate over i = 1…N holds
    z_i and x_i. Hovering a parameter node shows its fitted values. The labels are short so
    that the figure reads on a phone; the page prints the numbers beside it.

    Parameters
    ----------
    params : GaussianParams (1-D) | MultinomialParams
    n_samples : int, optional
        N, printed in the corner of the data plate.
    """
    K = int(params.n_components)
    w = np.asarray(params.weights, dtype=float)
    if hasattr(params, "means"):
        mu = np.asarray(params.means, dtype=float)[:, 0]
        sd = np.sqrt(np.asarray(params.covariances, dtype=float)[:, 0, 0])
        theta_label = "μ<sub>k</sub>, σ<sub>k</sub>"
        theta_hover = f"μ = {_fmt_vec(mu)}<br>σ = {_fmt_vec(sd)}"
    else:
        theta_label = "θ<sub>k</sub>"
        theta_hover = f"{K} vectors of {np.asarray(params.probs).shape[1]} probabilities"
    # coordinates in an 8 × 4 box
    nodes = {"pi": (0.7, 2.6), "z": (3.2, 2.6), "x": (5.9, 2.6), "theta": (5.9, 0.6)}
    r = 0.6
    shapes = [
        {"type": "rect", "x0": 2.2, "x1": 7.0, "y0": 1.65, "y1": 3.55,
         "line": {"color": NODE_LINE, "width": 1.5}, "fillcolor": "rgba(0,0,0,0)"},
        {"type": "rect", "x0": 3.9, "x1": 7.9, "y0": 0.0, "y1": 1.25,
         "line": {"color": NODE_LINE, "width": 1.5}, "fillcolor": "rgba(0,0,0,0)"},
        {"type": "circle", "x0": nodes["z"][0] - r, "x1": nodes["z"][0] + r,
         "y0": nodes["z"][1] - r, "y1": nodes["z"][1] + r,
         "line": {"color": NODE_LINE, "width": 2}, "fillcolor": "rgba(0,0,0,0)"},
        {"type": "circle", "x0": nodes["x"][0] - r, "x1": nodes["x"][0] + r,
         "y0": nodes["x"][1] - r, "y1": nodes["x"][1] + r,
         "line": {"color": NODE_LINE, "width": 2}, "fillcolor": OBSERVED_FILL},
    ]

    def arrow(a, b, shrink_a, shrink_b):
        (x0, y0), (x1, y1) = nodes[a], nodes[b]
        d = np.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / d, (y1 - y0) / d
        return {"x": x1 - ux * shrink_b, "y": y1 - uy * shrink_b, "ax": x0 + ux * shrink_a,
                "ay": y0 + uy * shrink_a, "xref": "x", "yref": "y", "axref": "x", "ayref": "y",
                "showarrow": True, "arrowhead": 2, "arrowsize": 1.2, "arrowwidth": 1.8,
                "arrowcolor": NODE_LINE, "text": ""}

    def label(node, text, dx=0.0, dy=0.0, size=18, **kw):
        x0, y0 = nodes[node]
        return {"x": x0 + dx, "y": y0 + dy, "text": text, "showarrow": False,
                "font": {"size": size}, **kw}

    annotations = [
        arrow("pi", "z", 0.15, r), arrow("z", "x", r, r), arrow("theta", "x", 0.15, r),
        label("z", "z<sub>i</sub>"), label("x", "x<sub>i</sub>"),
        label("pi", "π", dy=0.3, yanchor="bottom"),
        label("theta", theta_label, dx=0.3, size=16, xanchor="left"),
        {"x": 2.3, "y": 1.7, "xanchor": "left", "yanchor": "bottom", "showarrow": False,
         "text": f"N = {n_samples:,}" if n_samples else "N", "font": {"size": 12}},
        {"x": 4.0, "y": 0.05, "xanchor": "left", "yanchor": "bottom", "showarrow": False,
         "text": f"K = {K}", "font": {"size": 12}},
    ]
    data = [{"type": "scatter", "x": [nodes["pi"][0], nodes["theta"][0]],
             "y": [nodes["pi"][1], nodes["theta"][1]], "mode": "markers",
             "marker": {"size": 13, "color": NODE_LINE}, "showlegend": False,
             "text": ["π = " + _fmt_vec(w), theta_hover],
             "hovertemplate": "%{text}<extra></extra>"}]
    layout = base_layout(
        "", height, margin={"l": 5, "r": 5, "t": 5, "b": 5},
        xaxis={"range": [0.0, 8.0], "visible": False, "fixedrange": True, "constrain": "domain"},
        yaxis={"range": [-0.1, 3.7], "visible": False, "fixedrange": True, "scaleanchor": "x",
               "scaleratio": 1.0, "constrain": "domain"},
        shapes=shapes, annotations=annotations, showlegend=False,
    )
    return _figure(data, layout)


# --------------------------------------------------------------------------------------------
# Data beside a sample from the fitted model
# --------------------------------------------------------------------------------------------

def sample_figure(x, sample_x, sample_z, params, axis: AxisFormat | None = None,
                  height: int = 460) -> go.Figure:
    """Two histograms on one x axis: the data (top) and a sample from the model (bottom).

    Both panels carry the fitted mixture density; the sample's bars are stacked by the
    component z that produced each draw, in the component colours.
    """
    x = np.asarray(x, dtype=float).ravel()
    sx = np.asarray(sample_x, dtype=float).ravel()
    sz = np.asarray(sample_z, dtype=int).ravel()
    K = int(params.n_components)
    edges, h = histogram(x)
    width = float(edges[1] - edges[0])
    lo = min(float(edges[0]), float(sx.min()) if sx.size else float(edges[0]))
    hi = max(float(edges[-1]), float(sx.max()) if sx.size else float(edges[-1]))
    n_lo = int(np.ceil((edges[0] - lo) / width))
    n_hi = int(np.ceil((hi - edges[-1]) / width))
    edges = edges[0] + width * np.arange(-n_lo, len(edges) + n_hi)
    centres = 0.5 * (edges[:-1] + edges[1:])
    h, _ = np.histogram(x, bins=edges, density=True)
    grid = np.linspace(edges[0], edges[-1], 300)
    dens = weighted_densities(grid, params)
    mix = dens.sum(axis=1)
    data = [
        {"type": "bar", "x": centres, "y": h, "width": width, "name": f"data (N = {x.size:,})",
         "marker": HIST_MARKER, "xaxis": "x", "yaxis": "y",
         "hovertemplate": "%{x:.4g}: %{y:.3g}<extra>data</extra>"},
        {"type": "scatter", "x": grid, "y": mix, "mode": "lines", "name": "fitted p(x | θ)",
         "line": {"color": CURVE, "width": 2.5, "dash": "dash"}, "xaxis": "x", "yaxis": "y",
         "hoverinfo": "skip"},
    ]
    n = max(sx.size, 1)
    for k in range(K):
        counts, _ = np.histogram(sx[sz == k], bins=edges)
        data.append({"type": "bar", "x": centres, "y": counts / (n * width), "width": width,
                     "name": f"sample, z = {k + 1}", "xaxis": "x2", "yaxis": "y2",
                     "marker": {"color": rgba(component_color(k), 0.75)},
                     "hovertemplate": f"%{{x:.4g}}: %{{y:.3g}}<extra>z = {k + 1}</extra>"})
    data.append({"type": "scatter", "x": grid, "y": mix, "mode": "lines", "showlegend": False,
                 "line": {"color": CURVE, "width": 2.5, "dash": "dash"}, "xaxis": "x2",
                 "yaxis": "y2", "hoverinfo": "skip"})
    ymax = 1.1 * max(float(np.max(h)) if h.size else 0.0, float(np.max(mix)),
                     max((float(np.max(np.histogram(sx, bins=edges)[0])) / (n * width)), 0.0))
    ax = _axis_dict(axis)
    layout = base_layout(
        "Data (top) and a sample from the model", height,
        barmode="stack", bargap=0.0,
        xaxis={**ax, "anchor": "y", "showticklabels": False, "title": {"text": ""},
               "matches": "x2", "gridcolor": GRID},
        xaxis2={**ax, "anchor": "y2", "gridcolor": GRID},
        yaxis={"domain": [0.54, 1.0], "range": [0, ymax], "title": {"text": "data"},
               "tickformat": _common.DENSITY_TICKFORMAT, "gridcolor": GRID},
        yaxis2={"domain": [0.0, 0.46], "range": [0, ymax], "title": {"text": "sample"},
                "tickformat": _common.DENSITY_TICKFORMAT, "gridcolor": GRID},
    )
    return _figure(data, layout)


# --------------------------------------------------------------------------------------------
# Dempster, Laird & Rubin's genetic linkage: ℓ(θ) and the minorizer at θ⁽ᵗ⁾
# --------------------------------------------------------------------------------------------

def linkage_window(trace, t: int, zoom: bool) -> tuple[float, float]:
    """The θ range drawn: the whole interesting range, or a window around θ⁽ᵗ⁾ and θ⁽ᵗ⁺¹⁾."""
    if not zoom:
        return 0.35, 0.85
    a = float(trace.theta[t])
    b = float(trace.theta[min(t + 1, trace.n_iter)])
    span = max(abs(b - a), 1e-13)
    lo, hi = min(a, b) - 1.2 * span, max(a, b) + 1.2 * span
    return max(lo, 1e-6), min(hi, 1 - 1e-6)


def step_hidden(trace, t: int, zoom: bool, pixels: int = 900) -> bool:
    """True when step t (θ⁽ᵗ⁾ → θ⁽ᵗ⁺¹⁾) is narrower than about one pixel of the drawn window."""
    if zoom or not 0 <= t < trace.n_iter:
        return False
    lo, hi = linkage_window(trace, t, zoom)
    return abs(float(trace.theta[t + 1]) - float(trace.theta[t])) < (hi - lo) / pixels


def linkage_figure(trace, hs, zoom: bool = False, n_points: int = 301,
                   height: int = 440, history: int = 0) -> go.Figure:
    """ℓ(θ) of the linkage data and, from the first E-step on, the bound at θ⁽ᵗ⁾.

    The half-step ``hs`` (a HalfStep of ``trace``, an ``emcore.linkage.LinkageTrace``): at
    θ⁽⁰⁾ only ℓ and the
    start are drawn; at E-step t+1 the bound 𝓛(qₜ, θ) appears, touching ℓ at θ⁽ᵗ⁾; at M-step
    t+1 its peak θ⁽ᵗ⁺¹⁾ and ℓ(θ⁽ᵗ⁺¹⁾) are marked. With ``zoom`` the window shrinks around θ⁽ᵗ⁾ and
    θ⁽ᵗ⁺¹⁾ and the y axis shows ℓ − ℓ(θ⁽ᵗ⁾), so that the late, tiny steps stay visible.
    ``history`` > 0 (not with ``zoom``) also draws the bounds of up to that many earlier
    iterations, 𝓛(q_u, θ) for u = t − history … t − 1, each touching ℓ at θ⁽ᵘ⁾ and peaking
    at θ⁽ᵘ⁺¹⁾ (Bishop's fig. 9.14 repeated).

    Traces: 0 ℓ, then (from the E-step on) 1 the bound, 2 the marked points, then one per
    earlier bound (oldest first) and their touch points.
    """
    t = int(hs.t)
    lo, hi = linkage_window(trace, t, zoom)
    grid = np.linspace(lo, hi, n_points)
    theta_t = float(trace.theta[t])
    c = _linkage.curves(grid, theta_t, trace.y)
    base = 0.0 if zoom else c["loglik_t"]
    ll = base + np.asarray(c["loglik_rel"])
    ytitle = f"ℓ(θ) − ℓ({theta_it(t)})" if zoom else "ℓ(θ) = log p(y | θ)"
    data = [{"type": "scatter", "x": grid, "y": ll, "mode": "lines", "name": "ℓ(θ)",
             "line": {"color": LOGLIK_COLOR, "width": 3},
             "hovertemplate": "θ = %{x:.9f}<br>ℓ = %{y:.6g}<extra></extra>"}]
    shapes = [{"type": "line", "xref": "x", "x0": trace.theta_star, "x1": trace.theta_star,
               "yref": "paper", "y0": 0, "y1": 1,
               "line": {"color": "rgba(127,127,127,0.6)", "dash": "dot", "width": 1}}]
    annotations = []
    climb = history > 0 and not zoom and hs.kind != "init"  # earlier bounds drawn too
    if hs.kind == "init":
        pts_x, pts_y = [theta_t], [base + 0.0]
        data.append({"type": "scatter", "x": pts_x, "y": pts_y, "mode": "markers",
                     "showlegend": False, "marker": {"size": 11, "color": LOGLIK_COLOR},
                     "hovertemplate": "θ⁽⁰⁾ = %{x:.9f}<extra></extra>"})
        annotations.append({"x": theta_t, "y": base, "ax": 40, "ay": 40, "showarrow": True, "arrowcolor": NODE_LINE,
                            "arrowhead": 2, "text": f"start θ⁽⁰⁾ = {theta_t:g}",
                            "font": {"size": 13}})
        bound = None
    else:
        bound = base + np.asarray(c["bound_rel"])
        theta_next = float(trace.theta[t + 1])
        data.append({"type": "scatter", "x": grid, "y": bound, "mode": "lines",
                     "name": f"bound 𝓛(q{sub(t)}, θ)",
                     "line": {"color": BOUND_COLOR, "width": 3, "dash": "dash"},
                     "hovertemplate": "θ = %{x:.9f}<br>𝓛 = %{y:.6g}<extra></extra>"})
        px, py, pc, ptext = [theta_t], [base], [LOGLIK_COLOR], [theta_it(t)]
        ppos = ["top left"]
        if not climb:  # with earlier bounds drawn, the points carry short labels instead
            annotations.append({"x": theta_t, "y": base, "ax": -30 if zoom else 40, "ay": 45,
                                "showarrow": True, "arrowhead": 2, "font": {"size": 13},
                                "arrowcolor": NODE_LINE, "text": f"touch at {theta_it(t)}"})
        if hs.kind == "M":
            nb = _linkage.curves(theta_next, theta_t, trace.y)
            px += [theta_next, theta_next]
            py += [base + nb["bound_rel"], base + nb["loglik_rel"]]
            pc += [BOUND_COLOR, STEP_COLOR]
            ptext += ["", theta_it(t + 1)]
            ppos = ["top left", "top right", "top right"]
            shapes.append({"type": "line", "xref": "x", "x0": theta_next, "x1": theta_next,
                           "yref": "paper", "y0": 0, "y1": 1,
                           "line": {"color": STEP_COLOR, "dash": "dash", "width": 1}})
            if not climb:
                annotations.append({"x": theta_next, "y": base + nb["bound_rel"], "ax": 45,
                                    "ay": 60, "showarrow": True, "arrowhead": 2,
                                    "font": {"size": 13}, "arrowcolor": NODE_LINE,
                                    "text": f"bound peaks at {theta_it(t + 1)}"})
        data.append({"type": "scatter", "x": px, "y": py, "mode": "markers",
                     "showlegend": False,
                     **({"mode": "markers+text", "text": ptext, "textposition": ppos}
                        if climb else {}),
                     "marker": {"size": 11, "color": pc, "line": {"width": 1.5, "color": "white"}},
                     "hovertemplate": "θ = %{x:.9f}<br>%{y:.6g}<extra></extra>"})
    if climb:
        earlier = range(max(0, t - int(history)), t)
        data[0]["legendrank"] = 1  # legend: ℓ, then the bounds in iteration order
        data[1]["legendrank"] = 100 + t
        for u in earlier:
            cu = _linkage.curves(grid, float(trace.theta[u]), trace.y)
            data.append({"type": "scatter", "x": grid, "y": cu["loglik_t"] + cu["bound_rel"],
                         "mode": "lines", "name": f"bound 𝓛(q{sub(u)}, θ)",
                         "line": {"color": EARLIER_BOUND_COLORS[u % len(EARLIER_BOUND_COLORS)],
                                  "width": 2.5, "dash": "dot"},
                         "legendrank": 100 + u,
                         "hovertemplate": "θ = %{x:.9f}<br>𝓛 = %{y:.6g}<extra></extra>"})
        data.append({"type": "scatter", "x": [float(trace.theta[u]) for u in earlier],
                     "y": [float(trace.log_likelihood[u]) for u in earlier],
                     "mode": "markers+text", "showlegend": False,
                     "text": [theta_it(u) for u in earlier], "textposition": "top left",
                     "marker": {"size": 9, "color": LOGLIK_COLOR},
                     "hovertemplate": "θ = %{x:.9f}<br>ℓ = %{y:.6g}<extra></extra>"})
        # each earlier bound's peak, at θ⁽ᵘ⁺¹⁾: below ℓ there, above ℓ(θ⁽ᵘ⁾)
        data.append({"type": "scatter", "x": [float(trace.theta[u + 1]) for u in earlier],
                     "y": [float(trace.bound[u]) for u in earlier], "mode": "markers",
                     "showlegend": False,
                     "marker": {"size": 9, "symbol": "diamond",
                                "color": [EARLIER_BOUND_COLORS[u % len(EARLIER_BOUND_COLORS)]
                                          for u in earlier]},
                     "hovertemplate": "peak at θ = %{x:.9f}<br>𝓛 = %{y:.6g}<extra></extra>"})
    # y range: from a little below the lower of (ℓ, bound) at the window's interesting part
    top = float(np.max(ll))
    if zoom:
        ref = [float(np.min(ll))] + ([float(np.max(bound))] if bound is not None else [])
        low = min(ref + [0.0])
        pad = 0.15 * max(top - low, 1e-300)
        yrange = [low - pad, top + pad]
    else:
        yrange = [top - 4.5, top + 0.6]
    annotations.append({"x": trace.theta_star, "y": 0.0, "yref": "paper", "yanchor": "bottom",
                        "xanchor": "left", "showarrow": False, "font": {"size": 12},
                        "text": " θ*"})
    first = max(0, t - int(history)) if climb else t
    title = ("Genetic linkage: ℓ(θ) and the EM bound at " + theta_it(t) if first == t else
             f"ℓ(θ) and EM's bounds at {theta_it(first)} … {theta_it(t)}")
    layout = base_layout(
        title, height,
        xaxis={"title": {"text": "θ"}, "range": [lo, hi], "gridcolor": GRID,
               "tickformat": ".9~f" if zoom else ".2f", "nticks": 5},
        yaxis={"title": {"text": ytitle}, "range": yrange, "gridcolor": GRID,
               "exponentformat": "power", "tickformat": ".3g" if zoom else ".1f"},
        shapes=shapes, annotations=annotations, margin={"l": 10, "r": 10, "t": 88, "b": 10},
    )
    return _figure(data, layout)
