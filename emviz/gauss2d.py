"""Figure builders for the 2-D Gaussian-mixture page ("2-D blobs").

Every builder is a pure function ``(data, trace, hs, ...) -> plotly Figure`` (hs an
``emcore.HalfStep``): no Streamlit,
no fitting. The page fits (through emui/emcore) and hands the trace to these functions.

Coordinates
-----------
The fit may run on standardised features (z-scores) while the learner looks at the data
in its own units (minutes, millimetres). :class:`Scaling` carries that affine map; every
builder draws in *display* units, mapping a fitted mean ``m`` to ``center + scale * m`` and
a covariance ``S`` to ``diag(scale) S diag(scale)``. An affine map sends a Gaussian to a
Gaussian, so ellipses, trajectories and density contours drawn this way are exactly those
of the fitted model expressed in the original units.

Colours
-------
A point's colour is the responsibility-weighted blend of the component colours,
``rgb_i = sum_k r_ik * rgb(colour_k)``: a point owned by one component has that
component's colour, a point shared half-half has the midpoint colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy.special import logsumexp

import emcore
from emviz import common as _common
from emviz.common import (
    FONT,
    animation_controls,
    frame_indices,
    freeze,
    frozen_figure,
    match_by_cost,
    match_counts,
    tick_labels,
    y_axis_room,
)
from emviz.palette import NEUTRAL, component_color, hex_to_rgb

# ----------------------------------------------------------------------------------------
# display settings
# ----------------------------------------------------------------------------------------

#: Points drawn in one figure at most (the fit always uses every row).
MAX_POINTS = 2000
#: Points drawn in each animation frame at most.
MAX_ANIMATION_POINTS = 800
#: Frames of the client-side animation at most (half-steps are thinned evenly beyond that).
MAX_FRAMES = 40
#: Density grid resolution (per axis) for the static figure and for animation frames.
GRID_STATIC = 70
GRID_ANIMATION = 36
#: ... and for the client-side step player, which holds every half-step's grid at once.
GRID_PLAYER = 50
#: Vertices of a drawn ellipse.
ELLIPSE_POINTS = 73
#: Probability mass inside the n-sigma ellipse of a 2-D Gaussian: 1 - exp(-n^2 / 2).
ELLIPSE_MASS = {1: 1.0 - np.exp(-0.5), 2: 1.0 - np.exp(-2.0)}

_TRANSPARENT = "rgba(0,0,0,0)"

@dataclass(frozen=True)
class Scaling:
    """Affine map from fitted coordinates to display coordinates: ``x = center + scale * z``.

    Parameters
    ----------
    center : ndarray, shape (D,)
    scale : ndarray, shape (D,)
        Strictly positive.
    """

    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def identity(cls, n_features: int) -> Scaling:
        """The map that changes nothing."""
        return cls(np.zeros(n_features), np.ones(n_features))

    @classmethod
    def standardise(cls, X: np.ndarray) -> Scaling:
        """Z-scores of the columns of ``X`` (N, D): mean 0 and standard deviation 1 (ddof=0).

        A constant column keeps scale 1 so that the map stays invertible.
        """
        X = np.asarray(X, dtype=float)
        sd = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(sd > 0, sd, 1.0))

    @property
    def is_identity(self) -> bool:
        return bool(np.all(self.center == 0) and np.all(self.scale == 1))

    def to_fit(self, X: np.ndarray) -> np.ndarray:
        """Display coordinates (N, D) -> fitted coordinates (N, D)."""
        return (np.asarray(X, dtype=float) - self.center) / self.scale

    def to_display(self, Z: np.ndarray) -> np.ndarray:
        """Fitted coordinates (N, D) -> display coordinates (N, D)."""
        return self.center + self.scale * np.asarray(Z, dtype=float)

    def means(self, means: np.ndarray) -> np.ndarray:
        """Component means (K, D) in display units."""
        return self.to_display(means)

    def covariances(self, covariances: np.ndarray) -> np.ndarray:
        """Covariances (K, D, D) in display units: ``diag(s) S_k diag(s)``."""
        s = self.scale
        return np.asarray(covariances, dtype=float) * s[None, :, None] * s[None, None, :]

    @property
    def log_jacobian(self) -> float:
        """``sum_d log s_d``: ℓ in display units = ℓ in fitted units − N · log_jacobian."""
        return float(np.sum(np.log(self.scale)))


class _DisplayParams(Sequence):
    """``trace.params`` mapped to display units on access (a run may hold 1,000 θ's; a
    text needs two of them)."""

    def __init__(self, params, scaling: Scaling):
        self._params, self._scaling, self._done = params, scaling, {}

    def __len__(self) -> int:
        return len(self._params)

    def __getitem__(self, t):
        if isinstance(t, slice):
            return [self[i] for i in range(*t.indices(len(self)))]
        t = range(len(self))[t]  # negative indices, IndexError
        if t not in self._done:
            p, sc = self._params[t], self._scaling
            self._done[t] = emcore.GaussianParams(
                np.asarray(p.weights), sc.means(np.asarray(p.means)),
                sc.covariances(np.asarray(p.covariances)))
        return self._done[t]


class DisplayTrace:
    """Read-only view of a trace whose ``params`` are expressed in display units.

    Everything else (log-likelihoods, responsibilities, half-steps, status) is the wrapped
    trace's own. Used for texts that quote means ("the mean moved from 2.1 to 1.9 min"), so
    they speak the units of the figure even when the fit ran on standardised features.
    """

    def __init__(self, trace, scaling: Scaling):
        self._trace = trace
        self.params = _DisplayParams(trace.params, scaling)

    def __getattr__(self, name):
        return getattr(self._trace, name)


# ----------------------------------------------------------------------------------------
# small pure helpers (tested directly)
# ----------------------------------------------------------------------------------------


def ellipse_xy(
    mean: np.ndarray, cov: np.ndarray, n_sigma: float = 1.0, n_points: int = ELLIPSE_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the n-sigma ellipse ``{x : (x-μ)ᵀ Σ⁻¹ (x-μ) = n_sigma²}``.

    From the eigen-decomposition ``Σ = V diag(λ) Vᵀ``: the semi-axes point along the
    eigenvectors and have lengths ``n_sigma * sqrt(λ)``.

    Parameters
    ----------
    mean : ndarray, shape (2,)
    cov : ndarray, shape (2, 2)
        Symmetric positive semi-definite.
    n_sigma : float
        Mahalanobis radius.
    n_points : int
        Number of vertices; the first and last coincide so the outline is closed.

    Returns
    -------
    x, y : ndarray, shape (n_points,)
    """
    mean = np.asarray(mean, dtype=float)
    cov = np.asarray(cov, dtype=float)
    eigval, eigvec = np.linalg.eigh(0.5 * (cov + cov.T))
    radii = n_sigma * np.sqrt(np.clip(eigval, 0.0, None))
    angle = np.linspace(0.0, 2.0 * np.pi, n_points)
    unit = np.stack([np.cos(angle), np.sin(angle)])  # (2, n_points)
    pts = mean[:, None] + eigvec @ (radii[:, None] * unit)
    return pts[0], pts[1]


def blend_colors(resp: np.ndarray, colors: Sequence[str] | None = None) -> np.ndarray:
    """Responsibility-weighted blend of component colours.

    Parameters
    ----------
    resp : ndarray, shape (N, K)
        Rows sum to one.
    colors : sequence of K hex colours, optional
        Defaults to ``component_color(k)``.

    Returns
    -------
    rgb : ndarray of int, shape (N, 3)
        ``round(sum_k r_ik * rgb_k)`` per channel, in 0..255.
    """
    resp = np.asarray(resp, dtype=float)
    K = resp.shape[1]
    if colors is None:
        colors = [component_color(k) for k in range(K)]
    palette = np.array([hex_to_rgb(c) for c in colors], dtype=float)  # (K, 3)
    rgb = resp @ palette
    return np.clip(np.rint(rgb), 0, 255).astype(int)


def hex_strings(rgb: np.ndarray) -> list[str]:
    """(N, 3) ints in 0..255 -> CSS ``"#rrggbb"`` strings (the shortest exact form)."""
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in np.asarray(rgb, dtype=int).tolist()]


def display_sample(n: int, max_points: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """:func:`emviz.common.display_sample`, with this module's default cap."""
    return _common.display_sample(n, max_points, seed)


def sampling_note(n: int, max_points: int = MAX_POINTS) -> str | None:
    """The sentence shown under a figure when it draws a sample, else None."""
    if n <= max_points:
        return None
    return f"Showing {max_points:,} of {n:,} points (a fixed random sample); the fit uses all {n:,}."


def plot_extent(X: np.ndarray, pad: float = 0.08) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges covering the data with a margin, fixed for every step of a run."""
    X = np.asarray(X, dtype=float)
    lo, hi = X.min(axis=0), X.max(axis=0)
    width = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - pad * width, hi + pad * width
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def mixture_density_grid(
    params,
    scaling: Scaling,
    xrange: tuple[float, float],
    yrange: tuple[float, float],
    n: int = GRID_STATIC,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mixture density ``p(x) = sum_k π_k N(x | μ_k, Σ_k)`` on a display-unit grid.

    The model lives in fitted coordinates ``z = (x - c)/s``, so the density in display
    units is ``p_z(z) / prod(s)`` (change of variables).

    Returns
    -------
    xs : ndarray, shape (n,)
    ys : ndarray, shape (n,)
    density : ndarray, shape (n, n)
        ``density[j, i]`` is the density at ``(xs[i], ys[j])`` (Plotly's contour layout).
    """
    xs = np.linspace(*xrange, n)
    ys = np.linspace(*yrange, n)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    log_comp = emcore.component_log_density(scaling.to_fit(grid), params)  # (n*n, K)
    log_p = logsumexp(log_comp + np.log(np.asarray(params.weights)), axis=1)
    density = np.exp(log_p - scaling.log_jacobian)
    return xs, ys, density.reshape(n, n)


def match_components(reference_means: np.ndarray, fitted_means: np.ndarray) -> np.ndarray:
    """Pair fitted components with reference ones (e.g. the true ones) by the assignment
    that minimises the total squared distance between means.

    Returns
    -------
    order : ndarray of int, shape (K_ref,)
        ``order[j]`` is the fitted component matched to reference component ``j``
        (requires K_fit >= K_ref).
    """
    a = np.asarray(reference_means, dtype=float)
    b = np.asarray(fitted_means, dtype=float)
    return match_by_cost(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))


def confusion_table(labels: np.ndarray, resp: np.ndarray) -> tuple[list, np.ndarray]:
    """Counts of points by most likely component and true label.

    Parameters
    ----------
    labels : ndarray, shape (N,)
        True labels (any hashable values).
    resp : ndarray, shape (N, K)

    Returns
    -------
    classes : list
        The distinct labels, sorted.
    table : ndarray of int, shape (K, len(classes))
        ``table[k, c]`` = number of points of label ``classes[c]`` whose argmax is ``k``.
    """
    labels = np.asarray(labels)
    assign = np.asarray(resp).argmax(axis=1)
    classes = sorted(set(labels.tolist()))
    K = np.asarray(resp).shape[1]
    table = np.zeros((K, len(classes)), dtype=int)
    for ci, c in enumerate(classes):
        table[:, ci] = np.bincount(assign[labels == c], minlength=K)
    return classes, table


def label_agreement(labels: np.ndarray, resp: np.ndarray) -> tuple[float, dict]:
    """Share of points whose hard assignment (argmax responsibility) agrees with the true
    label, after the best one-to-one pairing of components with labels.

    Returns
    -------
    agreement : float in [0, 1]
    pairing : dict label -> component index (labels left unpaired when K < #labels)
    """
    classes, table = confusion_table(labels, resp)
    rows, cols, correct = match_counts(table)  # rows: components, cols: labels
    agree = correct / len(np.asarray(labels))
    return float(agree), {classes[c]: int(r) for r, c in zip(rows, cols, strict=True)}


# ----------------------------------------------------------------------------------------
# the traces of one half-step
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Everything drawn at one half-step, in display units."""

    label: str
    colors: list[str]  # per drawn point
    resp: np.ndarray | None  # (n_drawn, K) or None at θ₀
    means: np.ndarray  # (K, 2)
    covs: np.ndarray  # (K, 2, 2)
    weights: np.ndarray  # (K,)
    paths: np.ndarray  # (t+1, K, 2) means θ_0..θ_t
    density: tuple[np.ndarray, np.ndarray, np.ndarray] | None


def _frame(hs, idx, scaling, extent, grid_n, contours, all_means) -> _Frame:
    """Collect what is drawn at the half-step ``hs`` for the drawn rows ``idx``."""
    params = hs.params
    if hs.resp is None:
        resp = None
        colors = [NEUTRAL] * len(idx)
    else:
        resp = np.asarray(hs.resp)[idx]
        colors = hex_strings(blend_colors(resp))
    density = (
        mixture_density_grid(params, scaling, extent[0], extent[1], grid_n) if contours else None
    )
    return _Frame(
        label=hs.label,
        colors=colors,
        resp=resp,
        means=scaling.means(np.asarray(params.means)),
        covs=scaling.covariances(np.asarray(params.covariances)),
        weights=np.asarray(params.weights, dtype=float),
        paths=all_means[: hs.theta_index + 1],
        density=density,
    )


def _all_means(trace, scaling) -> np.ndarray:
    """(n_iter+1, K, 2) means of θ_0..θ_n in display units."""
    return np.stack([scaling.means(np.asarray(p.means)) for p in trace.params])


def _traces(
    fr: _Frame,
    X_shown: np.ndarray,
    *,
    K: int,
    feature_names: Sequence[str],
    show_ellipses: bool,
    show_trajectories: bool,
    show_contours: bool,
    hover: bool,
    showlegend: bool = True,
    points_xy: bool = True,
    compact_density: bool = False,
) -> list:
    """Plotly traces (dictionaries) of one frame, always the same number and order (needed
    by frames).

    ``points_xy=False`` leaves the points' coordinates out of the scatter trace: animation
    frames only restyle the colours, Plotly keeps the x and y of the first frame.
    """
    out: list = []
    if show_contours:
        xs, ys, dens = fr.density
        top = float(dens.max()) if np.isfinite(dens.max()) and dens.max() > 0 else 1.0
        if compact_density:
            # Only the contour lines at 10 %, 30 %, ... of the peak are drawn (no hover), so
            # the density as 0..250 of its peak in one byte draws the same lines (to 0.2 %
            # of the peak) at a quarter of float32's bytes.
            dens, top = np.round(np.clip(dens / top, 0.0, 1.0) * 250.0).astype(np.uint8), 250.0
        out.append(
            dict(
                type="contour",
                x=xs,
                y=ys,
                z=dens if compact_density else dens.astype(np.float32),  # plenty for contours
                name="mixture density",
                showscale=False,
                contours=dict(
                    coloring="lines", start=0.1 * top, end=0.9 * top, size=0.2 * top
                ),
                ncontours=5,
                colorscale=[[0, NEUTRAL], [1, NEUTRAL]],
                line=dict(width=1.2),
                hoverinfo="skip",
                showlegend=showlegend,
            )
        )
    fx, fy = feature_names[0], feature_names[1]
    scatter = dict(
        mode="markers",
        name="data (colour = responsibilities)",
        marker=dict(color=fr.colors, size=7, opacity=0.85, line=dict(width=0.5, color="white")),
        showlegend=False,
    )
    if points_xy:
        scatter["x"], scatter["y"] = X_shown[:, 0], X_shown[:, 1]
    if hover and fr.resp is not None:
        # float32 holds the 3 decimals shown, at half the bytes (a step player sends every step)
        scatter["customdata"] = np.round(fr.resp, 3).astype(np.float32)
        parts = " · ".join(f"r{k + 1}=%{{customdata[{k}]:.3f}}" for k in range(K))
        scatter["hovertemplate"] = f"{fx}=%{{x}}<br>{fy}=%{{y}}<br>{parts}<extra></extra>"
    elif hover:
        scatter["hovertemplate"] = f"{fx}=%{{x}}<br>{fy}=%{{y}}<br>no responsibilities yet<extra></extra>"
    else:
        scatter["hoverinfo"] = "skip"
    out.append(dict(type="scatter", **scatter))
    if show_ellipses:
        for k in range(K):
            col = component_color(k)
            for n_sigma, dash, width in ((2, "dash", 1.6), (1, "solid", 2.6)):
                ex, ey = ellipse_xy(fr.means[k], fr.covs[k], n_sigma)
                out.append(
                    dict(
                type="scatter",
                        x=ex,
                        y=ey,
                        mode="lines",
                        line=dict(color=col, width=width, dash=dash),
                        name=f"component {k + 1}: {n_sigma}σ",
                        legendgroup=f"c{k}",
                        showlegend=False,
                        hoverinfo="skip",
                    )
                )
    if show_trajectories:
        for k in range(K):
            out.append(
                dict(
                type="scatter",
                    x=fr.paths[:, k, 0],
                    y=fr.paths[:, k, 1],
                    mode="lines+markers",
                    line=dict(color=component_color(k), width=2),
                    marker=dict(size=4, color=component_color(k)),
                    name=f"path of μ{k + 1}",
                    legendgroup=f"c{k}",
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
    out.append(
        dict(
                type="scatter",
            x=fr.means[:, 0],
            y=fr.means[:, 1],
            mode="markers",
            marker=dict(
                symbol="x",
                size=15,
                color=[component_color(k) for k in range(K)],
                line=dict(width=1.5, color="white"),
            ),
            customdata=np.column_stack([np.arange(1, K + 1), fr.weights]),
            hovertemplate=(
                "μ%{customdata[0]}: (%{x:.3g}, %{y:.3g})<br>π=%{customdata[1]:.3f}<extra></extra>"
            ),
            name="means μk",
            showlegend=False,
        )
    )
    return out


def _legend_keys(show_ellipses: bool, show_trajectories: bool) -> list:
    """Legend-only entries in neutral grey explaining the line styles (one legend row
    whatever K is; the colours themselves identify the components)."""
    keys = []
    if show_ellipses:
        keys.append(dict(name="1σ ellipse", line=dict(color=NEUTRAL, width=2.6), mode="lines"))
        keys.append(dict(name="2σ ellipse", line=dict(color=NEUTRAL, width=1.6, dash="dash"),
                         mode="lines"))
    if show_trajectories:
        keys.append(dict(name="path of a mean", line=dict(color=NEUTRAL, width=2),
                         marker=dict(size=4, color=NEUTRAL), mode="lines+markers"))
    return [dict(type="scatter", x=[None], y=[None], hoverinfo="skip", **k)
            for k in keys]


def _truth_traces(true_params, K_true: int) -> list:
    """Grey dotted 2σ ellipses and diamonds at the true means (synthetic data)."""
    out = []
    means = np.asarray(true_params.means, dtype=float)
    covs = np.asarray(true_params.covariances, dtype=float)
    for k in range(K_true):
        ex, ey = ellipse_xy(means[k], covs[k], 2.0)
        out.append(
            dict(
                type="scatter",
                x=ex,
                y=ey,
                mode="lines",
                line=dict(color=NEUTRAL, width=1.6, dash="dot"),
                name="true 2σ ellipses",
                legendgroup="truth",
                showlegend=k == 0,
                hoverinfo="skip",
            )
        )
    out.append(
        dict(
                type="scatter",
            x=means[:, 0],
            y=means[:, 1],
            mode="markers",
            marker=dict(symbol="diamond-open", size=13, color=NEUTRAL, line=dict(width=2.5)),
            name="true means",
            legendgroup="truth",
            hovertemplate="true mean: (%{x:.3g}, %{y:.3g})<extra></extra>",
        )
    )
    return out


def _layout(title: str, feature_names, extent, height: int) -> dict:
    """Layout shared by the 2-D figures: fixed axis ranges (the view never jumps between
    steps), transparent backgrounds (light and dark themes), legend under the title."""
    grid = "rgba(127,127,127,0.2)"
    return dict(
        title=dict(text=title, x=0.0, xanchor="left", font=dict(size=17)),
        height=height,
        font=FONT,
        # the legend under the plot takes 165 px with the axis title: asked for up front, so
        # that Plotly's automargin does not draw the figure a second time to make room
        margin=dict(l=max(60, y_axis_room(tick_labels(*extent[1]))), r=20, t=50, b=165),
        paper_bgcolor=_TRANSPARENT,
        plot_bgcolor=_TRANSPARENT,
        legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0.0,
                    font=dict(size=13)),
        # keep the learner's zoom while stepping, reset it when the data (extent) changes
        uirevision=f"blobs {extent}",
        xaxis=dict(title=dict(text=feature_names[0]), range=list(extent[0]), showgrid=True,
                   gridcolor=grid, zeroline=False),
        yaxis=dict(title=dict(text=feature_names[1]), range=list(extent[1]), showgrid=True,
                   gridcolor=grid, zeroline=False),
    )


# ----------------------------------------------------------------------------------------
# public figure builders
# ----------------------------------------------------------------------------------------


def blobs_figure(
    X: np.ndarray,
    trace,
    hs,
    *,
    feature_names: Sequence[str] = ("x1", "x2"),
    scaling: Scaling | None = None,
    show_ellipses: bool = True,
    show_trajectories: bool = True,
    show_contours: bool = True,
    true_params=None,
    title: str | None = None,
    max_points: int = MAX_POINTS,
    height: int = 520,
    extent=None,
    grid_n: int = GRID_STATIC,
    compact_density: bool = False,
) -> dict:
    """The 2-D mixture at the half-step ``hs``, as a Plotly figure dictionary (for the step
    player; ``go.Figure(fig)`` wraps it).

    Points are coloured by the responsibility-weighted blend of component colours (grey at
    θ₀, before any E-step); each component gets its 1σ (solid) and 2σ (dashed) covariance
    ellipse, the path of its mean over θ₀..θ_t, and the mixture density is drawn as grey
    contour lines at 10 %, 30 %, 50 %, 70 % and 90 % of its highest value.

    Parameters
    ----------
    X : ndarray, shape (N, 2)
        Data in display units (the trace was fitted on ``scaling.to_fit(X)``).
    trace : emcore Trace
        A Gaussian-mixture trace with D = 2.
    hs : emcore.HalfStep
        The half-step shown (``trace.half_step(s)``).
    feature_names : (str, str)
        Axis titles, with units.
    scaling : Scaling, optional
        Fitted -> display map; identity when None.
    true_params : GaussianParams, optional
        True parameters (display units) drawn as grey dotted 2σ ellipses and diamonds.
    max_points : int
        At most this many points are drawn (a fixed sample; see :func:`display_sample`).
    extent : ((x0, x1), (y0, y1)), optional
        Axis ranges; defaults to the data range with a margin.
    grid_n : int
        Density grid points per axis (a step player, which sends every half-step, uses
        :data:`GRID_PLAYER`).
    compact_density : bool
        Send the density as whole numbers 0..250 of its peak (uint8) instead of float32: the
        same contour lines, a quarter of the bytes (for the step player).
    """
    X = np.asarray(X, dtype=float)
    scaling = scaling or Scaling.identity(2)
    extent = extent or plot_extent(X)
    idx = display_sample(len(X), max_points)
    K = trace.n_components
    fr = _frame(hs, idx, scaling, extent, grid_n, show_contours,
                _all_means(trace, scaling))
    data = _traces(fr, X[idx], K=K, feature_names=feature_names, show_ellipses=show_ellipses,
                   show_trajectories=show_trajectories, show_contours=show_contours, hover=True,
                   compact_density=compact_density)
    data += _legend_keys(show_ellipses, show_trajectories)
    if true_params is not None:
        data += _truth_traces(true_params, len(np.asarray(true_params.weights)))
    return {"data": data, "layout": _layout(title or fr.label, feature_names, extent, height)}


def blobs_animation(
    X: np.ndarray,
    trace,
    *,
    feature_names: Sequence[str] = ("x1", "x2"),
    scaling: Scaling | None = None,
    show_ellipses: bool = True,
    show_trajectories: bool = True,
    show_contours: bool = True,
    title: str = "EM, half-step by half-step",
    max_frames: int = MAX_FRAMES,
    max_points: int = MAX_ANIMATION_POINTS,
    frame_ms: int = 450,
    height: int = 560,
) -> go.Figure:
    """Client-side Plotly animation of the whole run: one frame per half-step (long runs are
    thinned by ``emviz.common.frame_indices``: every early half-step, then evenly spread
    ones), play/pause buttons and a frame slider. Returns an :class:`emviz.common.FrozenFigure`.

    Colours, ellipses, paths and contours are those of :func:`blobs_figure` at each
    half-step; the points shown are a fixed sample of at most ``max_points`` rows and the
    density grid is coarser, so the figure's JSON stays small whatever N is.
    """
    X = np.asarray(X, dtype=float)
    scaling = scaling or Scaling.identity(2)
    extent = plot_extent(X)
    idx = display_sample(len(X), max_points)
    K = trace.n_components
    means = _all_means(trace, scaling)
    steps = [int(v) for v in frame_indices(trace.n_half_steps, max_frames)]
    kw = dict(K=K, feature_names=feature_names, show_ellipses=show_ellipses,
              show_trajectories=show_trajectories, show_contours=show_contours, hover=False)
    frames = []
    first_traces = None
    for s in steps:
        fr = _frame(trace.half_step(s), idx, scaling, extent, GRID_ANIMATION, show_contours, means)
        if first_traces is None:
            first_traces = _traces(fr, X[idx], **kw)
        frames.append(dict(data=_traces(fr, X[idx], points_xy=False, **kw), name=str(s)))
    # Plotly's animate does not redraw the title from frames, so the frame slider's
    # current-value label names the half-step on screen; the static figure explains the
    # line styles, so no legend here.
    layout = _layout(title, feature_names, extent, height)
    del layout["uirevision"]
    layout.update(showlegend=False, margin=dict(l=60, r=20, t=50, b=120),
                  **animation_controls([str(s) for s in steps], duration_ms=frame_ms))
    slider = layout["sliders"][0]
    for step, s in zip(slider["steps"], steps, strict=True):
        step["label"] = emcore.half_step_label(s)
    slider.update(x=0.24, len=0.76, currentvalue=dict(visible=True, prefix="now: ",
                                                       xanchor="right", font=dict(size=15)))
    return frozen_figure(first_traces, layout, frames)


def restarts_figure(
    X: np.ndarray,
    traces: Sequence,
    *,
    feature_names: Sequence[str] = ("x1", "x2"),
    scaling: Scaling | None = None,
    seeds: Sequence[int] | None = None,
    max_points: int = 800,
    height: int = 330,
) -> go.Figure:
    """Final fits of several restarts side by side (one panel each): points coloured by
    their final responsibilities, 1σ/2σ ellipses, and the final log-likelihood in the
    panel title, so different local optima are visible at a glance.

    Returns an :class:`emviz.common.FrozenFigure` (it does not change with the step slider)."""
    X = np.asarray(X, dtype=float)
    scaling = scaling or Scaling.identity(2)
    extent = plot_extent(X)
    idx = display_sample(len(X), max_points)
    n = len(traces)
    seeds = list(seeds) if seeds is not None else list(range(n))
    finals = np.array([tr.log_likelihood[-1] for tr in traces], dtype=float)
    best = int(np.argmax(finals))
    # "best" only when the restarts really differ (not by rounding noise)
    distinct = finals.max() - finals.min() > 1e-6 * max(1.0, abs(finals.max()))
    titles = [
        f"seed {seeds[i]}: ℓ = {finals[i]:,.2f}" + (" (best)" if distinct and i == best else "")
        for i in range(n)
    ]
    fig = make_subplots(rows=1, cols=n, subplot_titles=titles, horizontal_spacing=0.04,
                        shared_yaxes=True)
    for i, tr in enumerate(traces):
        s_last = tr.n_half_steps - 1
        fr = _frame(tr.half_step(s_last), idx, scaling, extent, 0, False, _all_means(tr, scaling))
        for t in _traces(fr, X[idx], K=tr.n_components, feature_names=feature_names,
                         show_ellipses=True, show_trajectories=False, show_contours=False,
                         hover=False, showlegend=False):
            if t["type"] == "scatter" and t["mode"] == "markers" and t["marker"]["size"] == 7:
                t["marker"]["size"] = 5
            fig.add_trace(t, row=1, col=i + 1)
    fig.update_layout(height=height, margin=dict(l=50, r=10, t=50, b=45),
                      paper_bgcolor=_TRANSPARENT, plot_bgcolor=_TRANSPARENT, showlegend=False,
                      title=None)
    fig.update_xaxes(range=list(extent[0]), gridcolor="rgba(127,127,127,0.2)", zeroline=False)
    fig.update_yaxes(range=list(extent[1]), gridcolor="rgba(127,127,127,0.2)", zeroline=False)
    for i in range(n):
        fig.update_xaxes(title_text=feature_names[0], row=1, col=i + 1)
    fig.update_yaxes(title_text=feature_names[1], row=1, col=1)
    for ann in fig.layout.annotations:
        ann.font.size = 12
    return freeze(fig)


def truth_table(true_params, trace, scaling: Scaling | None = None) -> list[dict]:
    """Rows comparing true and fitted parameters (display units), components paired by
    :func:`match_components` on the final means.

    Returns
    -------
    list of dict with keys "component", "true π", "fitted π", "true μ", "fitted μ",
    "true σ (sd per axis)", "fitted σ (sd per axis)", "true ρ", "fitted ρ".
    """
    scaling = scaling or Scaling.identity(2)
    final = trace.params[-1]
    f_means = scaling.means(np.asarray(final.means))
    f_covs = scaling.covariances(np.asarray(final.covariances))
    f_w = np.asarray(final.weights)
    t_means = np.asarray(true_params.means, dtype=float)
    t_covs = np.asarray(true_params.covariances, dtype=float)
    t_w = np.asarray(true_params.weights, dtype=float)
    order = match_components(t_means, f_means)

    def fmt_vec(v):
        return "(" + ", ".join(f"{x:.3g}" for x in v) + ")"

    def sd_rho(c):
        sd = np.sqrt(np.diag(c))
        return sd, c[0, 1] / (sd[0] * sd[1])

    rows = []
    for j, k in enumerate(order):
        tsd, trho = sd_rho(t_covs[j])
        fsd, frho = sd_rho(f_covs[k])
        rows.append({
            "true component": j + 1,
            "fitted component": int(k) + 1,
            "true π": round(float(t_w[j]), 3),
            "fitted π": round(float(f_w[k]), 3),
            "true μ": fmt_vec(t_means[j]),
            "fitted μ": fmt_vec(f_means[k]),
            "true sd": fmt_vec(tsd),
            "fitted sd": fmt_vec(fsd),
            "true ρ": round(float(trho), 3),
            "fitted ρ": round(float(frho), 3),
        })
    return rows


def nearest_mean_share(Z: np.ndarray, means: np.ndarray, resp: np.ndarray) -> float:
    """Share of points whose (hard) assignment is their nearest mean in Euclidean distance,
    i.e. the assignment k-means would make with these means.

    Parameters
    ----------
    Z : ndarray, shape (N, D)
        Data in the fitted coordinates.
    means : ndarray, shape (K, D)
    resp : ndarray, shape (N, K)
        Responsibilities (one-hot for hard EM); the assignment is their argmax.
    """
    d2 = ((np.asarray(Z)[:, None, :] - np.asarray(means)[None, :, :]) ** 2).sum(axis=2)
    return float(np.mean(d2.argmin(axis=1) == np.asarray(resp).argmax(axis=1)))


def soft_vs_hard_sentence(soft, hard, hs_soft, hs_hard) -> str:
    """Three plain sentences on what differs between the soft and the hard panel at the
    shown half-steps, with the numbers of the two traces.

    ``hard`` is a classification-EM trace (``hard=True``) with spherical covariances. It is
    k-means exactly only when the weights are equal and the variance is shared; the text
    says how many points it assigns to their nearest mean, as k-means would.
    """
    sentences = []
    if hs_soft.resp is not None:
        r = np.asarray(hs_soft.resp)
        shared = float(np.mean(r.max(axis=1) < 0.9))
        sentences.append(
            f"Soft EM shares points between components: {shared:.0%} of the points give no "
            "component more than 90 % of their weight, so their colours are blends."
        )
    else:
        sentences.append("At θ⁽⁰⁾ neither run has assigned any point yet.")
    text = (
        "Hard EM gives every point wholly to its most probable component (pure colours) and "
        "fits circles (spherical covariances, in the fitted units)"
    )
    if hs_hard.resp is not None:
        share = nearest_mean_share(hard.X, np.asarray(hs_hard.params.means), hs_hard.resp)
        text += (
            f"; here {share:.0%} of the points sit with their nearest mean, exactly what "
            "k-means would do"
        )
    sentences.append(
        text + ". With equal weights and one shared variance the two would always agree: "
        "that is k-means, the limit of soft EM as the shared variance shrinks to zero."
    )
    prior = _common.has_penalty(soft)
    ended = {"converged": "converged", "max_iter": "hit the iteration limit",
             "degenerate": "stopped (degenerate)"}
    sentences.append(
        f"Soft EM {ended.get(soft.status, soft.status)} after {soft.n_iter} iterations with "
        f"ℓ = {soft.log_likelihood[-1]:,.2f}; hard EM {ended.get(hard.status, hard.status)} "
        f"after {hard.n_iter} with ℓ = {hard.log_likelihood[-1]:,.2f}, the mixture "
        "log-likelihood of its parameters. Soft EM never lowers "
        + ("ℓ + log p" if prior else "ℓ") + "; hard EM does not promise that: it never "
        "lowers the classification log-likelihood " + ("ℓ_C + log p" if prior else "ℓ_C")
        + " instead."
    )
    return " ".join(sentences)


__all__ = [
    "DisplayTrace",
    "ELLIPSE_MASS",
    "MAX_ANIMATION_POINTS",
    "MAX_FRAMES",
    "MAX_POINTS",
    "GRID_PLAYER",
    "Scaling",
    "blend_colors",
    "confusion_table",
    "blobs_animation",
    "blobs_figure",
    "display_sample",
    "ellipse_xy",
    "label_agreement",
    "match_components",
    "mixture_density_grid",
    "nearest_mean_share",
    "plot_extent",
    "restarts_figure",
    "hex_strings",
    "sampling_note",
    "soft_vs_hard_sentence",
    "truth_table",
]
