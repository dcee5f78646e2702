"""Figures of the Handwritten digits page: a Bernoulli mixture on 8×8 binary images.

Pure builders: (trace or arrays, half-step) -> plotly Figure. A component is drawn as the
image of its probabilities μ_k (white 0 … black 1), the "average digit" the component stands
for (Bishop, PRML §9.3.3, fig. 9.10).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from emviz.baskets import selection_chart
from emviz.common import (
    NARROW_PX,
    animation_controls,
    base_layout,
    frame_indices,
    frozen_figure,
)
from emviz.gauss2d import confusion_table, label_agreement
from emviz.palette import component_color, contrast_text_layers

__all__ = ["SIDE", "GREYS", "prototypes_figure", "prototypes_animation",
           "responsibility_figure", "confusion_figure", "samples_figure", "selection_chart",
           "match_labels", "example_rows", "probability_heatmap", "prototypes_gif"]

SIDE = 8
#: white (0) to black (1): ink is dark, as on paper
GREYS = [[0.0, "#FFFFFF"], [1.0, "#111111"]]
#: plotly.py's "Blues" spelled out: figures are built unvalidated, and plotly.js has its own,
#: different "Blues" (validation is where plotly.py would expand the name).
BLUES = get_colorscale("Blues")


def _grid_axes(n_panels: int, n_cols: int, gap: float = 0.02, top: float = 1.0,
               bottom: float = 0.0) -> dict:
    """Layout entries xaxis…, yaxis… for square image panels on a grid (row-major)."""
    n_rows = int(np.ceil(n_panels / n_cols))
    w = (1.0 - gap * (n_cols - 1)) / n_cols
    h = ((top - bottom) - gap * (n_rows - 1)) / n_rows
    axes = {}
    for i in range(n_panels):
        r, c = divmod(i, n_cols)
        sx = "" if i == 0 else str(i + 1)
        x0 = c * (w + gap)
        y1 = top - r * (h + gap)
        axes[f"xaxis{sx}"] = dict(domain=[x0, x0 + w], visible=False, range=[-0.5, SIDE - 0.5],
                                  constrain="domain", fixedrange=True)
        axes[f"yaxis{sx}"] = dict(domain=[max(y1 - h, 0.0), y1], visible=False,
                                  range=[SIDE - 0.5, -0.5], scaleanchor=f"x{sx}",
                                  constrain="domain", fixedrange=True)
    return axes


def _image_trace(values, i: int, hover: str, zmax: float = 1.0, name: str = "",
                 decimals: int | None = 4) -> dict:
    sx = "" if i == 0 else str(i + 1)
    z = np.asarray(values, dtype=float).reshape(SIDE, SIDE)
    if decimals is not None:
        z = np.round(z, decimals)
    return dict(type="heatmap", z=z.tolist(), xaxis=f"x{sx}", yaxis=f"y{sx}",
                zmin=0.0, zmax=zmax, colorscale=GREYS, showscale=False, name=name,
                hovertemplate=hover + "<extra></extra>", xgap=1, ygap=1)


def _figure(data, layout) -> dict:
    """A step player figure as a Plotly figure dictionary (see :mod:`emviz.common`)."""
    return {"data": data, "layout": layout}


def _panel_titles(params, names: Sequence[str] | None, n_cols: int, top: float = 1.0,
                  gap: float = 0.02) -> list:
    K = params.n_components
    n_rows = int(np.ceil(K / n_cols))
    w = (1.0 - gap * (n_cols - 1)) / n_cols
    h = (top - gap * (n_rows - 1)) / n_rows
    out = []
    for k in range(K):
        r, c = divmod(k, n_cols)
        label = names[k] if names else f"component {k + 1}"
        out.append(dict(text=f"<b>{label}</b><br>π = {params.weights[k]:.2f}", showarrow=False,
                        x=c * (w + gap) + w / 2, y=top - r * (h + gap), xref="paper", yref="paper",
                        xanchor="center", yanchor="bottom", font=dict(color=component_color(k), size=13)))
    return out


def prototypes_figure(params, title: str, names: Sequence[str] | None = None,
                      n_cols: int | None = None, height: int | None = None) -> dict:
    """Each component's μ_k as an 8×8 image, its weight π_k above it.

    Parameters
    ----------
    params : BernoulliParams with D = 64
    title : str
    names : labels of the components (e.g. the digit each was matched to), optional
    """
    K = params.n_components
    n_cols = n_cols or min(K, 6)
    n_rows = int(np.ceil(K / n_cols))
    top = 1.0 - 0.12 / n_rows
    # the trace name carries π_k at full precision (hover shows the panel title instead)
    data = [_image_trace(params.probs[k], k, f"component {k + 1}<br>row %{{y}}, column %{{x}}"
                         f"<br>μ = %{{z:.3f}}", name=f"component {k + 1}: π = {float(params.weights[k])!r}",
                         decimals=None) for k in range(K)]
    layout = base_layout(title, height or (90 + 190 * n_rows), **_grid_axes(K, n_cols, top=top),
                         annotations=_panel_titles(params, names, n_cols, top=top))
    layout["margin"] = dict(l=10, r=10, t=70, b=10)
    return _figure(data, layout)


def prototypes_animation(trace, names: Sequence[str] | None = None, max_frames: int = 120) -> go.Figure:
    """The μ_k images over the half-steps as a client-side animation (play / pause)."""
    K = trace.n_components
    steps = frame_indices(trace.n_half_steps, max_frames)
    n_cols = min(K, 6)
    n_rows = int(np.ceil(K / n_cols))
    top = 1.0 - 0.12 / n_rows
    frames = []
    for s in steps:
        hs = trace.half_step(int(s))
        p = hs.params
        frames.append(dict(
            name=hs.label,
            data=[dict(type="heatmap", z=np.round(p.probs[k].reshape(SIDE, SIDE), 4).tolist())
                  for k in range(K)],
            traces=list(range(K)),
            layout=dict(annotations=_panel_titles(p, names, n_cols, top=top)),
        ))
    p0 = trace.params[0]
    data = [_image_trace(p0.probs[k], k, f"component {k + 1}<br>μ = %{{z:.3f}}") for k in range(K)]
    layout = base_layout("Average digits emerging, half-step by half-step", 150 + 190 * n_rows,
                         **_grid_axes(K, n_cols, top=top),
                         annotations=_panel_titles(p0, names, n_cols, top=top),
                         **animation_controls([f["name"] for f in frames]))
    layout["margin"] = dict(l=10, r=10, t=70, b=90)
    return frozen_figure(data, layout, frames)


def example_rows(labels, n_per_class: int = 2, seed: int = 0) -> np.ndarray:
    """A few example rows: ``n_per_class`` of every label, seeded, in label order."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    rows = []
    for c in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == c)
        rows.extend(sorted(rng.choice(idx, size=min(n_per_class, idx.size), replace=False).tolist()))
    return np.array(rows, dtype=int)


def responsibility_figure(images, resp, captions: Sequence[str], title: str,
                          names: Sequence[str] | None = None) -> dict:
    """Example digits (their binary image) and their responsibilities r_ik as bars.

    Parameters
    ----------
    images : (n, 64) 0/1 rows
    resp : (n, K) responsibilities of those rows, or None before the first E-step
    captions : n strings (e.g. "a '3'")
    """
    images = np.asarray(images)
    n = images.shape[0]
    K = None if resp is None else np.asarray(resp).shape[1]
    row_h = 1.0 / n
    data, layout_axes, annotations = [], {}, []
    for i in range(n):
        y1 = 1.0 - i * row_h
        y0 = y1 - row_h * 0.86
        ix, iy = 2 * i + 1, 2 * i + 1
        bx, by = 2 * i + 2, 2 * i + 2
        # axis 1 is "xaxis" / "x" in the layout, not "xaxis1" / "x1" (the traces' "x1" Plotly
        # reads as "x")
        layout_axes["xaxis" if ix == 1 else f"xaxis{ix}"] = dict(
            domain=[0.0, 0.12], visible=False, range=[-0.5, SIDE - 0.5], fixedrange=True)
        layout_axes["yaxis" if iy == 1 else f"yaxis{iy}"] = dict(
            domain=[y0, y1], visible=False, range=[SIDE - 0.5, -0.5],
            scaleanchor="x" if ix == 1 else f"x{ix}",
            constrain="domain", fixedrange=True)
        data.append(dict(type="heatmap", z=images[i].reshape(SIDE, SIDE).astype(float).tolist(),
                         xaxis=f"x{ix}", yaxis=f"y{iy}", zmin=0, zmax=1, colorscale=GREYS,
                         showscale=False, hoverinfo="skip", xgap=1, ygap=1))
        layout_axes[f"xaxis{bx}"] = dict(domain=[0.2, 1.0], range=[0, 1.0], fixedrange=True,
                                         showticklabels=(i == n - 1), tickformat=".0%",
                                         showgrid=True, anchor=f"y{by}")
        layout_axes[f"yaxis{by}"] = dict(domain=[y0, y1], fixedrange=True, autorange="reversed",
                                         showticklabels=False, anchor=f"x{bx}")
        annotations.append(dict(text=captions[i], x=0.13, y=(y0 + y1) / 2, xref="paper",
                                yref="paper", xanchor="left", showarrow=False, font=dict(size=12)))
        if K is not None:
            r = np.asarray(resp)[i]
            labels = [names[k] if names else f"component {k + 1}" for k in range(K)]
            data.append(dict(type="bar", orientation="h", x=np.round(r, 4).tolist(), y=labels,
                             xaxis=f"x{bx}", yaxis=f"y{by}", showlegend=False,
                             marker=dict(color=[component_color(k) for k in range(K)]),
                             hovertemplate="%{y}: r = %{x:.3f}<extra></extra>"))
    if K is None:
        annotations.append(dict(text="No responsibilities yet: move to E-step 1.", x=0.6, y=0.5,
                                xref="paper", yref="paper", showarrow=False, font=dict(size=14)))
    layout = base_layout(title, 60 + 64 * n, annotations=annotations, **layout_axes)
    layout["margin"] = dict(l=10, r=10, t=50, b=30)
    return _figure(data, layout)


def match_labels(labels, resp):
    """Pair components with true labels (the one label-matching helper, ``label_agreement``).

    Returns
    -------
    agreement : float
        Share of digits whose most likely component is the one paired with their label.
    names : list of str, length K
        "≈ '3'" for a paired component, "unpaired" for the others.
    classes : list, table : (K, C) int
        As ``confusion_table``.
    """
    agreement, pairing = label_agreement(labels, resp)
    K = np.asarray(resp).shape[1]
    names = ["unpaired"] * K
    for label, k in pairing.items():
        names[k] = f"≈ '{label}'"
    classes, table = confusion_table(labels, resp)
    return agreement, names, classes, table


def confusion_figure(labels, resp, title: str | None = None) -> go.Figure:
    """Digits by true label (columns) and most likely component (rows), with the pairing."""
    agreement, names, classes, table = match_labels(labels, resp)
    K = table.shape[0]
    rows = [f"component {k + 1} ({names[k]})" for k in range(K)]
    cols = [f"'{c}'" for c in classes]
    frac = table / np.maximum(table.sum(axis=0, keepdims=True), 1)
    data = contrast_text_layers(dict(
        type="heatmap", z=np.round(frac, 4).tolist(), x=cols, y=rows, text=table.tolist(),
        texttemplate="%{text}", colorscale=BLUES, zmin=0, zmax=1, showscale=False,
        textfont=dict(size=15), hovertemplate="true %{x}, %{y}: %{text} digits<extra></extra>"))
    head, tail = "Most likely component against", f"the true digit — {agreement:.1%} agree"
    height = 130 + 46 * K
    layout = base_layout(title or f"{head} {tail}", height,
                         xaxis=dict(title=dict(text="true digit"), side="bottom", fixedrange=True,
                                    type="category"),
                         yaxis=dict(autorange="reversed", fixedrange=True, automargin=True,
                                    type="category"))
    layout["margin"] = dict(l=10, r=10, t=60, b=10)
    if title is None:  # on a phone (the step player's narrow variant) the title takes two lines
        layout["meta"] = {"narrow": {"below": NARROW_PX, "layout": {
            "title": {"text": f"{head}<br>{tail}", "pad": {"t": 20}}, "height": height + 24,
            "margin": {"t": 84}}}}
    return go.Figure(data=data, layout=layout)


def samples_figure(samples, z, title: str, n_cols: int = 10) -> go.Figure:
    """Images drawn from the fitted mixture, framed by the colour of their component."""
    samples = np.asarray(samples)
    n = samples.shape[0]
    n_rows = int(np.ceil(n / n_cols))
    data = [_image_trace(samples[i], i, f"drawn from component {int(z[i]) + 1}") for i in range(n)]
    axes = _grid_axes(n, n_cols, gap=0.015)
    shapes = []
    for i in range(n):
        sx = "" if i == 0 else str(i + 1)
        shapes.append(dict(type="rect", xref=f"x{sx}", yref=f"y{sx}", x0=-0.5, x1=SIDE - 0.5,
                           y0=-0.5, y1=SIDE - 0.5, line=dict(color=component_color(int(z[i])), width=3)))
    layout = base_layout(title, 60 + 100 * n_rows, shapes=shapes, **axes)
    layout["margin"] = dict(l=10, r=10, t=50, b=10)
    return go.Figure(data=data, layout=layout)


def probability_heatmap(params, feature_names: Sequence[str], title: str,
                        names: Sequence[str] | None = None) -> dict:
    """Any Bernoulli mixture: μ_kd as a components × features heatmap, π_k in the row names
    (for 0/1 tables that are not images, e.g. survey answers)."""
    K = params.n_components
    rows = [f"{names[k] if names else f'component {k + 1}'} (π = {params.weights[k]:.2f})"
            for k in range(K)]
    z = np.round(np.asarray(params.probs, dtype=float), 4)
    data = contrast_text_layers(dict(
        type="heatmap", z=z.tolist(), x=list(feature_names), y=rows, zmin=0, zmax=1,
        colorscale=BLUES, text=np.round(z, 2).tolist(), texttemplate="%{text}",
        colorbar=dict(title=dict(text="P(1)"), thickness=12),
        hovertemplate="%{y}<br>%{x}: P(1) = %{z:.3f}<extra></extra>"))
    layout = base_layout(title, 140 + 44 * K,
                         xaxis=dict(type="category", fixedrange=True, automargin=True),
                         yaxis=dict(type="category", autorange="reversed", fixedrange=True,
                                    automargin=True))
    layout["margin"] = dict(l=10, r=10, t=60, b=10)
    return _figure(data, layout)


def prototypes_gif(trace, names: Sequence[str] | None = None, max_frames: int = 24) -> bytes:
    """The μ_k images over the run as an animated GIF (matplotlib, for slides)."""
    from emviz.export import run_gif

    def build(s: int) -> dict:
        hs = trace.half_step(int(s))
        return prototypes_figure(hs.params, f"Average digits · {hs.label}", names)

    return run_gif(build, frame_indices(trace.n_half_steps, max_frames), width_px=900)
