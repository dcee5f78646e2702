"""Figure builders and worked numbers for the 1-D Gaussian mixture page (no Streamlit).

Every builder is a pure function of the data, the emcore ``Trace`` and the half-step
(an ``emcore.HalfStep``, ``trace.half_step(s)``). At a half-step the curves show the parameters of that half-step (θ_t at E-step t+1,
θ_{t+1} at M-step t+1) and the colours show the responsibilities q_t of the E-step, so an
E-step changes the colours and an M-step moves the curves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from emviz import common as _common
from emviz.common import (
    CURVE,
    animation_controls,
    axis_ref,
    base_layout,
    display_sample,
    frame_indices,
    frozen_figure,
    nice_ticks,
    rgb_to_scale,
    rows_layout,
    vline_shape,
)
from emviz.palette import NEUTRAL, component_color, hex_to_rgb, rgba
from emviz.texnum import sub

#: Opacity of the grey data histogram: 0.5 reads on the dark theme too (0.35 was dim there).
HIST_ALPHA = 0.5
#: The histogram bars' outline: a mid grey with ≥ 3:1 contrast on the light (#FFFFFF) and the
#: dark (#0E1117) background (3.4:1 and 5.6:1), so the bars' shape reads in both themes; the
#: half-transparent fill alone reaches only about 2:1 on either.
HIST_EDGE = "#8C8C8C"
HIST_MARKER = dict(color=rgba(NEUTRAL, HIST_ALPHA), line=dict(color=HIST_EDGE, width=1))

MAX_ANIM_POINTS = 600      # points drawn in each animation frame
MAX_ANIM_FRAMES = 100
GRID_POINTS = 240


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------

def as_1d(X) -> np.ndarray:
    """(N,) float view of 1-D data given as (N,) or (N, 1)."""
    x = np.asarray(X, dtype=float)
    if x.ndim == 2:
        if x.shape[1] != 1:
            raise ValueError(f"expected one feature, got shape {x.shape}")
        x = x[:, 0]
    return x


def params_1d(params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(π, μ, σ), each (K,), of 1-D GaussianParams."""
    w = np.asarray(params.weights, dtype=float)
    mu = np.asarray(params.means, dtype=float).reshape(len(w), -1)[:, 0]
    var = np.asarray(params.covariances, dtype=float).reshape(len(w), -1)[:, 0]
    return w, mu, np.sqrt(np.maximum(var, 0.0))


def weighted_densities(grid: np.ndarray, params) -> np.ndarray:
    """(G, K) weighted component densities π_k N(g | μ_k, σ_k²) on a grid (via emcore)."""
    import emcore

    logp = emcore.component_log_density(np.asarray(grid, dtype=float)[:, None], params)
    logw = np.log(np.maximum(np.asarray(params.weights, dtype=float), 1e-300))
    return np.exp(logp + logw[None, :])


def blend_rgb(resp: np.ndarray) -> np.ndarray:
    """(N, 3) RGB (0..255): the responsibility-weighted blend of the component colours.

    Parameters
    ----------
    resp : (N, K) array, rows summing to 1
    """
    K = resp.shape[1]
    rgb = np.array([hex_to_rgb(component_color(k)) for k in range(K)], dtype=float)  # (K, 3)
    return np.clip(np.asarray(resp, dtype=float) @ rgb, 0, 255)


def blend_colors(resp: np.ndarray) -> list[str]:
    """One ``"#rrggbb"`` per row: :func:`blend_rgb` as hex strings."""
    mix = blend_rgb(resp).round().astype(int)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in mix]


def data_grid(x: np.ndarray, params_list=(), n: int = GRID_POINTS) -> np.ndarray:
    """An evaluation grid covering the data (with a margin) — and nothing absurdly wide."""
    lo, hi = float(np.min(x)), float(np.max(x))
    span = hi - lo if hi > lo else 1.0
    return np.linspace(lo - 0.08 * span, hi + 0.08 * span, n)


def histogram(x: np.ndarray, bins: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Density-normalised histogram: (centres (B,), heights (B,)) plus the edges' width."""
    edges = np.histogram_bin_edges(x, bins=bins or "fd")
    if len(edges) > 81:
        edges = np.histogram_bin_edges(x, bins=80)
    h, edges = np.histogram(x, bins=edges, density=True)
    return edges, h


def _dense_grid(x: np.ndarray, params, base: np.ndarray) -> np.ndarray:
    """The display grid refined around narrow components (so a collapsing spike is drawn)."""
    _, mu, sd = params_1d(params)
    extra = [m + sd_k * np.linspace(-4, 4, 41) for m, sd_k in zip(mu, sd, strict=True)
             if sd_k > 0 and sd_k < (base[1] - base[0]) * 4]
    if not extra:
        return base
    g = np.concatenate([base, *extra])
    return np.unique(g[(g >= base[0]) & (g <= base[-1])])


# ----------------------------------------------------------------------------------------------
# The main figure: histogram, weighted components, mixture, responsibilities
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AxisFormat:
    """How the x axis is labelled.

    ``tickvals``/``ticktext`` put e.g. dollar prices on a log10 axis; ``title`` names it.
    """

    title: str = "x"
    tickvals: tuple | None = None
    ticktext: tuple | None = None


def price_axis(x: np.ndarray, currency: str = "$", title: str = "sale price (log scale)") -> AxisFormat:
    """Dollar tick labels for data on a log10(price) scale."""
    lo, hi = 10 ** float(np.min(x)), 10 ** float(np.max(x))
    vals = np.zeros(0)
    for nice in ([1, 2, 5], [1, 1.5, 2, 3, 5, 7], [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8]):
        cands = np.concatenate([np.asarray(nice) * 10.0**e for e in range(2, 9)])
        vals = cands[(cands >= lo) & (cands <= hi)]
        if len(vals) >= 4:
            break
    text = [f"{currency}{v / 1000:,.0f}k" if v < 1e6 else f"{currency}{v / 1e6:g}M" for v in vals]
    return AxisFormat(title=title, tickvals=tuple(np.log10(vals)), ticktext=tuple(text))


def _axis_dict(fmt: AxisFormat | None) -> dict:
    fmt = fmt or AxisFormat()
    d = dict(title=dict(text=fmt.title))
    if fmt.tickvals is not None:
        d.update(tickvals=list(fmt.tickvals), ticktext=list(fmt.ticktext))
    return d


#: Columns of the rug strip across the x range (2–3 screen pixels each on a laptop).
RUG_COLUMNS = 480


def rug_strip(xs: np.ndarray, resp: np.ndarray | None, y0: float, y1: float,
              x_range: tuple[float, float], columns: int = RUG_COLUMNS) -> dict:
    """The rug, as one strip of ``columns`` equal columns across ``x_range``.

    A column that holds points is painted in the responsibility-weighted blend of the
    component colours, with the responsibilities averaged over its points (grey before the
    first E-step); a column without points is left clear. Hovering a column shows how many
    points it holds and their mean r_ik. Every point is in the strip, whatever N: it is one
    heatmap trace, which the browser paints as one image (a rug of ticks costs it a path
    segment per point, and most of a redraw of this chart).

    Parameters
    ----------
    xs : (N,) array of the points
    resp : (N, K) array of responsibilities, or None before the first E-step
    y0, y1 : the strip's bottom and top, in the y axis' units
    x_range : (lo, hi), the x axis' range; points outside it go to the end columns
    columns : int
    """
    xs = np.asarray(xs, dtype=float)
    lo, hi = float(x_range[0]), float(x_range[1])
    edges = np.linspace(lo, hi, columns + 1)
    col = np.clip(np.floor((xs - lo) / (hi - lo) * columns), 0, columns - 1).astype(np.intp)
    counts = np.bincount(col, minlength=columns)
    full = counts > 0
    if resp is None:
        mean = None
        rgb = np.tile(np.array(hex_to_rgb(NEUTRAL), dtype=float), (int(full.sum()), 1))
    else:
        resp = np.asarray(resp, dtype=float)
        K = resp.shape[1]
        sums = np.stack([np.bincount(col, weights=resp[:, k], minlength=columns)
                         for k in range(K)], axis=1)
        mean = sums[full] / counts[full, None]
        rgb = blend_rgb(mean)
    codes, scale, cmax = rgb_to_scale(rgb)
    z = np.full((1, columns), np.nan, dtype=np.float32)
    z[0, full] = codes
    # per column: the number of points, then their mean r_ik (single precision: shown to 3 decimals)
    cd = np.full((1, columns, 1 + (0 if mean is None else mean.shape[1])), np.nan, np.float32)
    cd[0, full, 0] = counts[full]
    if mean is None:
        hover = "%{customdata[0]} points near x = %{x:.4g}<extra>no responsibilities yet</extra>"
    else:
        cd[0, full, 1:] = mean
        hover = ("%{customdata[0]} points near x = %{x:.4g}<br>" + "<br>".join(
            f"mean r{sub(k + 1)} = %{{customdata[{k + 1}]:.3f}}" for k in range(mean.shape[1]))
            + "<extra></extra>")
    return dict(type="heatmap", name="points (colour = responsibilities)", x=edges,
                y=np.array([y0, y1]), z=z, customdata=cd, colorscale=scale, zmin=0, zmax=cmax,
                zsmooth=False, showscale=False, hoverongaps=False, hovertemplate=hover)


def mixture_figure(X, trace, hs, axis: AxisFormat | None = None, highlight: int | None = None,
                   true_params=None, bins: int | None = None,
                   height: int = 540, title: str | None = None,
                   show_legend: bool = True) -> dict:
    """Histogram + weighted component densities + mixture density + responsibility bands,
    as a Plotly figure dictionary (for the step player; ``go.Figure(fig)`` wraps it).

    Top panel: the data's density histogram (grey), each component's weighted density
    π_k N(x | μ_k, σ_k²) in its colour, the mixture density (their sum, dashed), and a rug of
    all the points (:func:`rug_strip`) coloured by the blend of component colours weighted by
    their responsibilities.
    Bottom panel: the responsibility bands p(z = k | x) over x that the E-step computed
    (stacked, so the bands fill [0, 1]).

    Parameters
    ----------
    X : (N,) or (N, 1) array
    trace : emcore Trace of a 1-D Gaussian fit
    hs : emcore.HalfStep
        The half-step shown (``trace.half_step(s)``).
    axis : AxisFormat, optional
        Title and tick labels of the x axis (e.g. :func:`price_axis`).
    highlight : int, optional
        Index of a point to mark (the learner's chosen house).
    true_params : GaussianParams, optional
        Generating parameters of synthetic data, drawn dotted.
    title : str, optional
        Replaces the default title (the half-step and what it did).
    show_legend : bool
        False for small multiples (restarts side by side), which also get a smaller top margin.
    """
    x = as_1d(X)
    kind, theta = hs.kind, hs.params
    t = None if hs.is_init else hs.t  # the E-step's θ⁽ᵗ⁾ and q_t (none before E-step 1)
    K = int(np.asarray(theta.weights).shape[0])
    w, mu, sd = params_1d(theta)

    data = []
    edges, h = histogram(x, bins)
    centres, widths = 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)
    data.append(dict(type="bar", x=centres, y=h, width=widths, name="data",
                     marker=dict(HIST_MARKER),
                     hovertemplate="density %{y:.3g}<extra>data</extra>"))
    base = data_grid(x)
    grid = _dense_grid(x, theta, base)
    dens = weighted_densities(grid, theta)
    for k in range(K):
        c = component_color(k)
        data.append(dict(type="scatter",
            x=grid, y=dens[:, k], mode="lines", name=f"component {k + 1}",
            line=dict(color=c, width=3), fill="tozeroy", fillcolor=rgba(c, 0.12),
            hovertemplate=(f"component {k + 1}<br>π={w[k]:.3f}, μ={mu[k]:.4g}, σ={sd[k]:.3g}"
                           "<br>x=%{x:.4g}<br>weighted density %{y:.3g}<extra></extra>")))
    mix = dens.sum(axis=1)
    data.append(dict(type="scatter", x=grid, y=mix, mode="lines", name="mixture",
                     line=dict(color=CURVE, width=2.5, dash="dash"),
                     hovertemplate="mixture %{y:.3g}<extra></extra>"))
    if true_params is not None:
        tdens = weighted_densities(base, true_params).sum(axis=1)
        data.append(dict(type="scatter", x=base, y=tdens, mode="lines", name="true mixture",
                         line=dict(color=CURVE, width=1.5, dash="dot"),
                         hovertemplate="true mixture %{y:.3g}<extra></extra>"))
    # y range: the histogram sets the scale; a collapsing spike is clipped, not rescaled.
    ymax_data = float(h.max()) if len(h) else 1.0
    peak = float(np.max(mix)) if len(mix) else 0.0
    y_top = 1.25 * (max(ymax_data, peak) if peak < 3 * ymax_data else ymax_data)
    rug_y = -0.06 * y_top
    data.append(rug_strip(x, hs.resp, rug_y * 0.55, rug_y * 1.45, (base[0], base[-1])))
    shapes = []
    if highlight is not None and 0 <= int(highlight) < len(x):
        xi = float(x[int(highlight)])
        data.append(dict(type="scatter", x=[xi], y=[rug_y * 2.3], mode="markers", name="chosen house",
                         showlegend=False,
                         marker=dict(symbol="triangle-up", size=13, color=CURVE),
                         hovertemplate="chosen: x = %{x:.4g}<extra></extra>"))
        shapes += vline_shape(xi, row=1, color=CURVE, dash="dot")

    # Bottom: responsibility bands p(z = k | x) under the parameters the E-step used.
    xa2, ya2 = axis_ref(2)
    if t is not None:
        bd = weighted_densities(base, trace.params[t])
        tot = bd.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            bands = np.where(tot > 0, bd / np.where(tot > 0, tot, 1.0), 1.0 / K)
        cum = np.zeros(len(base))
        for k in range(K):
            c = component_color(k)
            cum = cum + bands[:, k]
            data.append(dict(type="scatter",
                x=base, y=cum, mode="lines", showlegend=False, line=dict(color=c, width=0.5),
                fill="tozeroy" if k == 0 else "tonexty", fillcolor=rgba(c, 0.55),
                customdata=bands[:, k], xaxis=xa2, yaxis=ya2,
                hovertemplate=f"p(z={k + 1} | x) = %{{customdata:.3f}}<extra></extra>"))
        band_title = f"p(z=k | x), {_common.theta_it(t)}"
    else:
        data.append(dict(type="scatter", x=[0.5 * (base[0] + base[-1])], y=[0.5], mode="text",
                         text=["no responsibilities yet — press ▶ for E-step 1"],
                         showlegend=False, hoverinfo="skip", xaxis=xa2, yaxis=ya2))
        band_title = "responsibilities"

    layout = rows_layout(2, row_heights=[0.74, 0.26], vertical_spacing=0.06)
    layout["xaxis"].update(range=[base[0], base[-1]])
    layout["xaxis2"].update(range=[base[0], base[-1]], **_axis_dict(axis))
    density_ticks = nice_ticks(0.0, y_top * 0.98, 4)
    layout["yaxis"].update(range=[rug_y * 3.4, y_top], title=dict(text="density"),
                           tickvals=density_ticks, tickformat=_common.DENSITY_TICKFORMAT)
    layout["yaxis2"].update(range=[0, 1], title=dict(text=band_title), tickvals=[0, 0.5, 1])
    layout["shapes"] = shapes
    # Room for the tick labels up front (automargin would otherwise draw the figure twice).
    layout["margin"] = dict(l=_common.y_axis_room([f"{v:.3g}" for v in density_ticks] + ["0.5"]),
                            b=_common.X_TITLE_ROOM_PX)
    # on a phone the price labels take a second line
    layout["meta"] = dict(narrow=dict(below=_common.NARROW_PX,
                                      layout=dict(margin=dict(b=_common.X_TITLE_ROOM_PX + 17))))
    what = {"init": "starting guess θ⁽⁰⁾",
            "E": f"responsibilities recomputed from {_common.theta_it(hs.theta_index)}",
            "M": f"{_common.theta_it(hs.theta_index)} re-estimated from q{sub(hs.t)}"}[kind]
    layout = base_layout(title or f"{hs.label} — {what}", height, **layout)
    if not show_legend:
        layout.update(showlegend=False, margin={**layout["margin"], "t": 45})
    return {"data": data, "layout": layout}


# ----------------------------------------------------------------------------------------------
# Client-side animation
# ----------------------------------------------------------------------------------------------

def animation_figure(X, trace, axis: AxisFormat | None = None, max_frames: int = MAX_ANIM_FRAMES,
                     max_points: int = MAX_ANIM_POINTS, height: int = 470) -> go.Figure:
    """A Plotly animation of the run: one frame per half-step (subsampled when long).

    Each frame moves the weighted component curves and the mixture curve and recolours the
    rug by the responsibilities; play/pause buttons and a frame slider run in the browser,
    without a round trip to the server. Frames carry only what changes (curve heights as
    float32, rug colours as numbers), and at most ``max_points`` rug points and
    ``max_frames`` frames keep the figure's JSON small.
    """
    x = as_1d(X)
    S = int(trace.n_half_steps)
    steps = frame_indices(S, max_frames)
    base = data_grid(x, n=160)
    edges, h = histogram(x)
    centres, widths = 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)
    idx = display_sample(len(x), max_points)
    K = int(np.asarray(trace.params[0].weights).shape[0])
    ymax = float(h.max()) * 1.3
    rug_y = -0.06 * ymax

    half_steps = [trace.half_step(int(s)) for s in steps]

    def curves(hs) -> list[np.ndarray]:
        dens = weighted_densities(base, hs.params)
        cols = [np.minimum(dens[:, k], ymax * 3).astype(np.float32) for k in range(K)]
        cols.append(np.minimum(dens.sum(axis=1), ymax * 3).astype(np.float32))
        return cols

    # One colour scale for every frame: the union of all frames' rug colours.
    neutral = np.array(hex_to_rgb(NEUTRAL), dtype=float)
    rgb = np.concatenate([
        np.tile(neutral, (len(idx), 1)) if hs.resp is None
        else blend_rgb(np.asarray(hs.resp)[idx])
        for hs in half_steps])
    codes, cscale, cmax = rgb_to_scale(rgb)
    codes = codes.reshape(len(steps), len(idx))

    first = curves(half_steps[0])
    data = [go.Bar(x=centres, y=h, width=widths, name="data",
                   marker=HIST_MARKER, hoverinfo="skip")]
    for k in range(K):
        c = component_color(k)
        data.append(go.Scatter(x=base, y=first[k], mode="lines", line=dict(color=c, width=3),
                               fill="tozeroy", fillcolor=rgba(c, 0.12), name=f"component {k + 1}",
                               hoverinfo="skip"))
    data.append(go.Scatter(x=base, y=first[K], mode="lines", name="mixture",
                           line=dict(color=CURVE, width=2.5, dash="dash"), hoverinfo="skip"))
    data.append(go.Scatter(x=x[idx], y=np.full(len(idx), rug_y), mode="markers", showlegend=False,
                           hoverinfo="skip",
                           marker=dict(symbol="line-ns-open", size=14, color=codes[0],
                                       colorscale=cscale, cmin=0, cmax=cmax, showscale=False,
                                       line=dict(width=1.5))))
    names = [hs.label for hs in half_steps]
    layout = base_layout(f"{names[0]} — animation of the whole run", height,
                         xaxis=dict(range=[base[0], base[-1]], **_axis_dict(axis)),
                         yaxis=dict(range=[rug_y * 2, ymax], title=dict(text="density"),
                                    tickvals=nice_ticks(0.0, ymax * 0.98, 4),
                                    tickformat=_common.DENSITY_TICKFORMAT),
                         margin=dict(b=130), **animation_controls(names))
    frames = []
    for j, (hs, name) in enumerate(zip(half_steps, names, strict=True)):
        ys = curves(hs)  # float32: base64-encoded as 4-byte floats, a compact frame
        fdata = [{"type": "scatter", "y": ys[k]} for k in range(K + 1)]
        fdata.append({"type": "scatter", "marker": {"color": codes[j]}})
        frames.append({"name": name, "data": fdata, "traces": list(range(1, K + 3)),
                       "layout": {"title": {"text": f"{name} — animation of the whole run"}}})
    return frozen_figure(data, layout, frames)


# ----------------------------------------------------------------------------------------------
# One house's numbers: the E-step and M-step formulas filled in
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HouseNumbers:
    """The numbers of the E-step and M-step of iteration t+1, seen from point ``i``.

    Attributes (arrays have shape (K,))
    -----------------------------------
    t, i : int
    x_i : float
    weights, means, sds : θ_t, the parameters the E-step used
    densities : N(x_i | μ_k, σ_k²)
    numerators : π_k N(x_i | μ_k, σ_k²)
    evidence : p(x_i) = Σ_k numerators
    resp_i : r_ik = numerators / evidence
    Nk : Σ_i r_ik over all points
    sum_rx : Σ_i r_ik x_i
    new_means : sum_rx / Nk
    scatter : Σ_i r_ik (x_i − new_mean_k)²
    reg : float, regularisation added to the scatter
    new_vars : (scatter + reg) / Nk
    new_weights : Nk / N
    contrib_N, contrib_x : the point's own share r_ik and r_ik x_i of those sums
    """

    t: int
    i: int
    x_i: float
    weights: np.ndarray
    means: np.ndarray
    sds: np.ndarray
    densities: np.ndarray
    numerators: np.ndarray
    evidence: float
    resp_i: np.ndarray
    Nk: np.ndarray
    sum_rx: np.ndarray
    new_means: np.ndarray
    scatter: np.ndarray
    reg: float
    new_vars: np.ndarray
    new_weights: np.ndarray
    N: int


def house_numbers(X, trace, t: int, i: int) -> HouseNumbers:
    """Recompute iteration t+1's E-step for point ``i`` and the M-step sums, by hand.

    These are written out independently of emcore (plain numpy with the normal density
    formula) so that the page can show — and the tests can check — that they match
    ``trace.responsibilities(t)[i]`` and ``trace.params[t + 1]``.
    """
    x = as_1d(X)
    t, i = int(t), int(i)
    w, mu, sd = params_1d(trace.params[t])
    dens = np.exp(-0.5 * ((x[i] - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
    num = w * dens
    ev = float(num.sum())
    # Responsibilities of all points under θ_t (log-sum-exp, so far-away points do not underflow).
    logp = -0.5 * ((x[:, None] - mu) / sd) ** 2 - np.log(sd * np.sqrt(2 * np.pi)) + np.log(w)
    m = logp.max(axis=1, keepdims=True)
    R = np.exp(logp - m)
    R /= R.sum(axis=1, keepdims=True)
    resp_i = num / ev if ev > 0 else R[i]
    Nk = R.sum(axis=0)
    sum_rx = R.T @ x
    new_means = sum_rx / Nk
    scatter = np.einsum("nk,nk->k", R, (x[:, None] - new_means) ** 2)
    reg = float(getattr(trace, "reg", 0.0) or 0.0)
    new_vars = (scatter + reg) / Nk
    return HouseNumbers(t=t, i=i, x_i=float(x[i]), weights=w, means=mu, sds=sd, densities=dens,
                        numerators=num, evidence=ev, resp_i=resp_i, Nk=Nk, sum_rx=sum_rx,
                        new_means=new_means, scatter=scatter, reg=reg, new_vars=new_vars,
                        new_weights=Nk / len(x), N=len(x))


# ----------------------------------------------------------------------------------------------
# The reveal: fitted components against the true labels
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Agreement:
    """Components matched to true labels by the best one-to-one assignment.

    Attributes
    ----------
    fraction : float
        Share of points whose most likely component is matched to their true label.
    table : (K, L) int array
        Counts of points by most likely component (rows) and true label (columns).
    label_names : list of str, length L
    match : dict[int, str]
        Component index -> matched label (components without a partner are left out).
    """

    fraction: float
    table: np.ndarray
    label_names: list
    match: dict


def agreement(labels, assignments, n_components: int) -> Agreement:
    """Best-permutation agreement between hard assignments and true labels.

    Parameters
    ----------
    labels : (N,) array of hashable labels
    assignments : (N,) int array of component indices in ``0..n_components-1``
    n_components : int
    """
    labels = np.asarray(labels)
    names, lab = np.unique(labels.astype(str), return_inverse=True)
    table = np.zeros((n_components, len(names)), dtype=int)
    np.add.at(table, (np.asarray(assignments, dtype=int), lab), 1)
    rows, cols, correct = _common.match_counts(table)
    return Agreement(fraction=correct / max(1, len(labels)), table=table,
                     label_names=[str(n) for n in names],
                     match={int(r): str(names[c]) for r, c in zip(rows, cols, strict=True)})


def truth_figure(X, labels, resp, axis: AxisFormat | None = None, label_name: str = "label",
                 bins: int | None = None, height: int = 420) -> go.Figure:
    """Histograms of the data split by true label (top) and by most likely component (bottom).

    Each true group is drawn in the colour of the component it is matched to (pale, top), the
    fitted components in their own colours (solid, bottom): where the two panels agree, EM
    found the hidden groups.
    """
    x = as_1d(X)
    resp = np.asarray(resp, dtype=float)
    K = resp.shape[1]
    z = resp.argmax(axis=1)
    ag = agreement(labels, z, K)
    edges, _ = histogram(x, bins)
    centres, widths = 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)
    inv = {v: k for k, v in ag.match.items()}
    labs = np.asarray(labels).astype(str)
    data = []
    for name in ag.label_names:
        k = inv.get(name)
        c = component_color(k) if k is not None else NEUTRAL
        hh, _ = np.histogram(x[labs == name], bins=edges)
        data.append(go.Bar(x=centres, y=hh, width=widths, name=f"{label_name}: {name}",
                           marker=dict(color=rgba(c, 0.45), line=dict(width=1, color=c)),
                           legendgroup="labels"))
    xa2, ya2 = axis_ref(2)
    for k in range(K):
        hh, _ = np.histogram(x[z == k], bins=edges)
        data.append(go.Bar(x=centres, y=hh, width=widths, name=f"component {k + 1}",
                           marker=dict(color=rgba(component_color(k), 0.9), line=dict(width=0)),
                           legendgroup="components", xaxis=xa2, yaxis=ya2))
    layout = rows_layout(2, vertical_spacing=0.08)
    layout["yaxis"]["title"] = dict(text=f"true {label_name}")
    layout["yaxis2"]["title"] = dict(text="fitted component")
    layout["xaxis2"].update(_axis_dict(axis))
    layout = base_layout(f"Truth revealed — {100 * ag.fraction:.1f}% agreement", height,
                         barmode="stack", **layout)
    return go.Figure(data=data, layout=layout)


