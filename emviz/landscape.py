"""Figures of the likelihood landscape of a 1-D, K = 2 Gaussian mixture (pure builders).

The numbers come from ``emcore.landscape``; these functions only draw them:

* :func:`landscape_figure` — contours of ℓ(μ₁, μ₂) with σ, π held, EM's path, the restarts'
  paths, a gradient-ascent path, the diagonal μ₁ = μ₂ and the label-swapped twin of EM's end;
* :func:`ascent_figure` — ℓ per iteration, EM against gradient ascent from the same start;
* :func:`collapse_figure` — ℓ(σ_k) through the collapse spike (log σ axis).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from emviz.common import CURVE, base_layout, theta_it
from emviz.palette import component_color
from emviz.texnum import sub

#: Colours of the paths. The contours run from near-white (far below the top) to a mid blue
#: (the top), so that dark and saturated paths read on them in both themes.
EM_COLOR = "#D55E00"       # vermillion: unused by components 1–2
RESTART_COLOR = "#222222"
ASCENT_COLOR = "#A1006B"   # a deep reddish purple
GUIDE_COLOR = "#222222"
#: depth 0 (the top of the slice) first
DEPTH_SCALE = [[0.0, "#3F6E9E"], [0.25, "#7EA3C8"], [0.6, "#C9D9EA"], [1.0, "#F7F9FC"]]

_DEPTHS = (0, 1, 3, 10, 30, 100, 300, 1000, 3000, 10_000, 30_000, 100_000, 300_000, 1_000_000)


def depth_transform(Z: np.ndarray) -> tuple[np.ndarray, float]:
    """Colour value log10(1 + (max ℓ − ℓ)) of a slice, and its max ℓ.

    Contour lines are then dense near the top and sparse far below, where ℓ drops by
    thousands of nats.
    """
    Z = np.asarray(Z, dtype=float)
    top = float(np.nanmax(Z))
    return np.log10(1.0 + (top - Z)), top


def _axis(title: str, color: str, lo: float, hi: float, fmt=None) -> dict:
    d = dict(title=dict(text=title, font=dict(color=color)), range=[lo, hi], showgrid=False,
             zeroline=False, constrain="domain")
    if fmt is not None and getattr(fmt, "tickvals", None) is not None:
        d.update(tickvals=list(fmt.tickvals), ticktext=list(fmt.ticktext))
    return d


def landscape_figure(grid, Z, em_means, em_loglik, at: int, held_label: str,
                     restarts=(), ascent=None, swapped: bool = False, axis=None,
                     unit: str = "", height: int = 680) -> go.Figure:
    """Contour map of ℓ(μ₁, μ₂) with the paths drawn over it.

    Parameters
    ----------
    grid : ndarray (G,)
        μ values of both axes (the slice is square, so every point's mirror is inside).
    Z : ndarray (G, G)
        ``Z[j, i] = ℓ(μ₁ = grid[i], μ₂ = grid[j])`` with σ, π held (``emcore.landscape.mean_slice``).
    em_means : ndarray (T + 1, 2)
        EM's θ_t projected to (μ₁, μ₂); ``em_loglik`` (T + 1,) their own ℓ(θ_t).
    at : int
        Index t of the θ whose σ and π the slice holds (ringed).
    held_label : str
        Where σ and π come from, e.g. "M-step 3" (goes into the title).
    restarts : sequence of (means (T_r + 1, 2), loglik (T_r + 1,))
        Other runs, each drawn to its own end.
    ascent : emcore.landscape.GradientPath, optional
    swapped : bool
        The slice holds the *swapped* σ and π (component 1 gets σ₂, π₂): the picture is the
        mirror image of the unswapped one across μ₁ = μ₂.
    axis : emviz.gauss1d.AxisFormat, optional
        Tick labels (e.g. dollars on a log10 price axis).
    unit : str
        Appended to the axis titles, e.g. " (log₁₀ price)".
    """
    grid = np.asarray(grid, dtype=float)
    Z = np.asarray(Z, dtype=float)
    em_means = np.asarray(em_means, dtype=float)
    em_loglik = np.asarray(em_loglik, dtype=float)
    lo, hi = float(grid[0]), float(grid[-1])
    depth, top = depth_transform(Z)
    dmax = float(np.nanmax(depth))
    ticks = [d for d in _DEPTHS if np.log10(1 + d) <= dmax + 1e-9]
    data = [go.Contour(
        x=grid, y=grid, z=depth, customdata=Z,
        colorscale=DEPTH_SCALE, zmin=0.0, zmax=max(dmax, 1e-9), ncontours=22,
        contours=dict(coloring="fill", showlines=True),
        line=dict(width=0.6, color="rgba(0,0,0,0.3)"),
        colorbar=dict(title=dict(text=f"ℓ below the top of this slice ({top:.2f}), nats",
                                 side="bottom", font=dict(size=12)),
                      orientation="h", thickness=10, len=1.0, x=0.5, xanchor="center",
                      y=-0.16, yanchor="top", tickfont=dict(size=11),
                      tickvals=[float(np.log10(1 + d)) for d in ticks],
                      ticktext=["top" if d == 0 else f"−{d:,}" for d in ticks]),
        hovertemplate="μ₁ = %{x:.4f}<br>μ₂ = %{y:.4f}<br>ℓ on this slice = %{customdata:.2f}"
                      "<extra></extra>",
        name="ℓ slice", showlegend=False)]
    data.append(go.Scatter(
        x=[lo, hi], y=[lo, hi], mode="lines", name="μ₁ = μ₂ (mirror line)",
        line=dict(color=GUIDE_COLOR, width=1.5, dash="dash"), hoverinfo="skip"))
    for r, (means, ll) in enumerate(restarts):
        means = np.asarray(means, dtype=float)
        data.append(go.Scatter(
            x=means[:, 0], y=means[:, 1], mode="lines",
            name="restarts" if r == 0 else f"restart {r + 2}", legendgroup="restarts",
            showlegend=r == 0, line=dict(color=RESTART_COLOR, width=1.3, dash="dash"),
            opacity=0.9, hoverinfo="skip"))
        data.append(go.Scatter(
            x=[means[-1, 0]], y=[means[-1, 1]], mode="markers",
            legendgroup="restarts", showlegend=False,
            marker=dict(symbol="diamond", size=10, color="#FFFFFF",
                        line=dict(color=RESTART_COLOR, width=1.5)),
            hovertemplate=f"restart {r + 2} ends here<br>ℓ = {float(ll[-1]):.3f}<extra></extra>"))
    if ascent is not None and len(ascent.means):
        gm = np.asarray(ascent.means, dtype=float)
        data.append(go.Scatter(
            x=gm[:, 0], y=gm[:, 1], mode="lines+markers",
            name=f"gradient ascent, step {ascent.step_size:g}",
            line=dict(color=ASCENT_COLOR, width=2, dash="dot"),
            marker=dict(size=5, symbol="x-thin", line=dict(width=1.5, color=ASCENT_COLOR)),
            customdata=np.column_stack([np.arange(len(gm)), ascent.loglik]),
            hovertemplate="gradient step %{customdata[0]:.0f}<br>ℓ = %{customdata[1]:.3f}"
                          "<extra></extra>"))
    t_idx = np.arange(len(em_means))
    data.append(go.Scatter(
        x=em_means[:, 0], y=em_means[:, 1], mode="lines+markers",
        name="EM", line=dict(color=EM_COLOR, width=3),
        marker=dict(size=6, color=EM_COLOR, line=dict(color="#000000", width=0.8)),
        customdata=np.column_stack([t_idx, em_loglik]),
        hovertemplate="EM, iteration %{customdata[0]:.0f}<br>μ₁ = %{x:.4f}, μ₂ = %{y:.4f}"
                      "<br>ℓ(θ) = %{customdata[1]:.3f}<extra></extra>"))
    end = em_means[-1]
    data.append(go.Scatter(
        x=[end[1]], y=[end[0]], mode="markers",
        name="EM's end, labels swapped", showlegend=False,
        marker=dict(symbol="star-open", size=15, color=EM_COLOR, line=dict(width=2.5)),
        hovertemplate="EM's end with the labels swapped:<br>the same fit, the same ℓ = "
                      f"{float(em_loglik[-1]):.3f}<br>once σ and π are swapped too<extra></extra>"))
    data.append(go.Scatter(
        x=[end[0]], y=[end[1]], mode="markers", name="EM's end",
        showlegend=False, marker=dict(symbol="star", size=15, color=EM_COLOR,
                                      line=dict(color="#000000", width=1)),
        hovertemplate=f"EM's end<br>ℓ = {float(em_loglik[-1]):.3f}<extra></extra>"))
    at = int(np.clip(at, 0, len(em_means) - 1))
    data.append(go.Scatter(
        x=[em_means[at, 0]], y=[em_means[at, 1]], mode="markers",
        name=f"{theta_it(at)}: σ, π held here", showlegend=False,
        marker=dict(symbol="circle-open", size=20, color=RESTART_COLOR,
                    line=dict(width=2.5, color=RESTART_COLOR)),
        hoverinfo="skip"))
    held = "swapped σ, π" if swapped else "σ, π"
    layout = base_layout(
        f"ℓ(μ₁, μ₂), {held} of {held_label}", height,
        xaxis=_axis(f"μ₁{unit}", component_color(0), lo, hi, axis),
        yaxis=dict(**_axis(f"μ₂{unit}", component_color(1), lo, hi, axis),
                   scaleanchor="x", scaleratio=1),
        # a light legend box like the map itself, so the dark path swatches read in both themes
        legend=dict(font=dict(size=12, color="#222222"), y=-0.34, yanchor="top",
                    bgcolor="rgba(247,249,252,0.92)"),
        margin=dict(l=10, r=10, t=48, b=190))
    return go.Figure(data=data, layout=layout)


def ascent_figure(em_loglik, ascent, height: int = 320) -> go.Figure:
    """ℓ per iteration: EM against gradient ascent from the same start (same ℓ at 0)."""
    em_loglik = np.asarray(em_loglik, dtype=float)
    gl = np.asarray(ascent.loglik, dtype=float)
    data = [
        go.Scatter(x=np.arange(len(em_loglik)), y=em_loglik,
                   mode="lines+markers", name="EM (no step size)",
                   line=dict(color=EM_COLOR, width=3), marker=dict(size=5, color=EM_COLOR),
                   hovertemplate="EM iteration %{x}<br>ℓ = %{y:.4f}<extra></extra>"),
        go.Scatter(x=np.arange(len(gl)), y=gl, mode="lines+markers",
                   name=f"gradient ascent, step {ascent.step_size:g}",
                   line=dict(color=ASCENT_COLOR, width=2, dash="dot"),
                   marker=dict(size=5, symbol="x-thin", line=dict(width=1.5, color=ASCENT_COLOR)),
                   hovertemplate="gradient step %{x}<br>ℓ = %{y:.4f}<extra></extra>"),
    ]
    both = np.concatenate([em_loglik, gl])
    lo = float(np.min(both))
    hi = float(np.max(both))
    # keep the top visible: a first step that plunges would flatten everything else
    span = hi - float(em_loglik[0])
    floor = float(em_loglik[0]) - 0.5 * max(span, 1e-9)
    layout = base_layout(
        "ℓ per step: EM vs gradient ascent", height,
        xaxis=dict(title=dict(text="iteration / gradient step"), rangemode="tozero"),
        yaxis=dict(title=dict(text="log-likelihood ℓ (nats)"),
                   range=[max(lo, floor) - 0.03 * (hi - max(lo, floor) + 1e-9),
                          hi + 0.05 * (hi - max(lo, floor) + 1e-9)]))
    return go.Figure(data=data, layout=layout)


def _finite_or_none(v: np.ndarray) -> list:
    return [float(a) if np.isfinite(a) else None for a in np.asarray(v, dtype=float)]


def collapse_figure(sl: dict, height: int = 340, unit_fmt=None) -> go.Figure:
    """ℓ(σ_k) with μ_k on the data point x_j (``emcore.landscape.collapse_slice``), log σ axis.

    The objective with the prior (``sl["reg"] > 0``) is drawn dashed; the fit's ℓ(θ) is a
    horizontal guide and the current σ_k a vertical one.
    """
    k = int(sl["k"])
    color = component_color(k)
    sig = np.asarray(sl["sigma"], dtype=float)
    ll = np.asarray(sl["loglik"], dtype=float)
    data = [go.Scatter(
        x=sig, y=_finite_or_none(ll), mode="lines",
        name=f"ℓ with μ{sub(k + 1)} on one point", line=dict(color=color, width=3),
        hovertemplate=f"σ{sub(k + 1)} = %{{x:.3g}}<br>ℓ = %{{y:.3f}}<extra></extra>")]
    if sl.get("reg", 0.0) > 0:
        data.append(go.Scatter(
            x=sig, y=_finite_or_none(sl["objective"]), mode="lines",
            name=f"ℓ + log prior (reg = {sl['reg']:g})", line=dict(color=color, width=2, dash="dash"),
            hovertemplate=f"σ{sub(k + 1)} = %{{x:.3g}}<br>ℓ + log p = %{{y:.3f}}<extra></extra>"))
    now = float(sl["loglik_now"])
    cross = float(sl["sigma_cross"])
    if sig[0] <= cross <= sig[-1]:
        data.append(go.Scatter(
            x=[cross], y=[now], mode="markers",
            name="the spike passes the fit",
            marker=dict(symbol="circle-open", size=13, color=color, line=dict(width=2.5)),
            hovertemplate=f"σ{sub(k + 1)} = %{{x:.3g}}: the spike reaches the fit's ℓ"
                          "<extra></extra>"))
    finite = ll[np.isfinite(ll)]
    y_lo = float(min(finite.min(), now))
    y_hi = float(max(finite.max(), now))
    pad = 0.06 * (y_hi - y_lo + 1e-9)
    shapes = [
        dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=now, y1=now,
             line=dict(color=CURVE, width=1.5, dash="dot")),
        dict(type="line", xref="x", x0=float(sl["sigma_now"]), x1=float(sl["sigma_now"]),
             yref="paper", y0=0, y1=1, line=dict(color=CURVE, width=1.5, dash="dash")),
    ]
    annotations = [
        dict(x=0.5, xref="paper", xanchor="center", y=now, yanchor="bottom",
             text="ℓ of the fit at this step", showarrow=False, font=dict(size=12, color=CURVE)),
        dict(x=float(np.log10(sl["sigma_now"])), xref="x", xanchor="right", y=0, yref="paper",
             yanchor="bottom", text=f"σ{sub(k + 1)} now ", showarrow=False,
             font=dict(size=12, color=CURVE)),
    ]
    layout = base_layout(
        f"ℓ as σ{sub(k + 1)} shrinks, μ{sub(k + 1)} on the point x = {sl['x_j']:.4g}", height,
        xaxis=dict(title=dict(text=f"σ{sub(k + 1)} (log scale; σ → 0 to the left)"), type="log",
                   exponentformat="power"),
        yaxis=dict(title=dict(text="nats"), range=[y_lo - pad, y_hi + pad]),
        shapes=shapes, annotations=annotations)
    return go.Figure(data=data, layout=layout)
