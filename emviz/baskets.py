"""Figures for the market-baskets page: a mixture of multinomials over purchase categories.

Each segment k of shoppers has a share π_k of the households and a "typical basket"
θ_k = (θ_k1, …, θ_kV): the probability that one item bought by a member of the segment
falls in category v. The figures below show θ and π at any half-step of a fitted
:class:`emcore.Trace`, the categories that make each segment special (lift over the
overall basket), the responsibilities of a sample of households, BIC/ICL over K, and,
for synthetic data, the true parameters against the fitted ones; a client-side animation of
the run and a matplotlib GIF of it for slides (:func:`profile_gif`).

Everything here is a pure function of arrays and traces: no Streamlit, no fitting. The only
arithmetic is on fitted parameters (shares, lifts, a matching of components) and is tested
against direct computations in ``tests/test_emviz_baskets.py``.

Component ``k`` is drawn in ``emviz.palette.component_color(k)`` everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import scipy.sparse as sp
from plotly.colors import get_colorscale

from emviz.common import (
    NARROW_PX,
    animation_controls,
    colorbar_room,
    frame_indices,
    frozen_figure,
    match_by_cost,
    y_axis_room,
)
from emviz.palette import (
    NEUTRAL,
    component_color,
    contrast_text_layers,
    rgba,
)

#: Lowest probability shown on the log colour scale of the profile heatmap.
PROB_FLOOR = 1e-4
#: log2(lift) is clipped to ±LIFT_CLIP on the colour scale (a lift of 8× or 1/8×).
LIFT_CLIP = 3.0
#: A category must make up at least this share of a segment's basket to name or rank it by
#: lift, so that a tiny category bought by a handful of households cannot top the list.
MIN_PROB_FOR_LIFT = 0.01
#: Most frames in a client-side animation (the half-steps are thinned beyond this; fewer
#: frames keep the page's rerun fast, since Streamlit re-serialises the figure every run).
MAX_FRAMES = 40

_TRANSPARENT = "rgba(0,0,0,0)"
# Colour scales spelled out (plotly.js does not know plotly.py's "_r" names, and figures
# are built without validation, which is where plotly.py would expand them).
_PROB_SCALE = get_colorscale("Viridis")
_LIFT_SCALE = get_colorscale("RdBu_r")
_FONT = dict(size=14)


# --------------------------------------------------------------------------------------
# Arithmetic on the data and on fitted parameters
# --------------------------------------------------------------------------------------
def overall_share(X) -> np.ndarray:
    """Share of every category in all purchases together (the "overall basket").

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (N, V)
        Non-negative counts, one row per customer.

    Returns
    -------
    share : ndarray, shape (V,)
        ``share[v] = Σ_i x_iv / Σ_i Σ_w x_iw``; sums to 1.
    """
    totals = np.asarray(X.sum(axis=0), dtype=float).ravel() if sp.issparse(X) else (
        np.asarray(X, dtype=float).sum(axis=0)
    )
    grand = totals.sum()
    if not grand > 0:
        raise ValueError("the count matrix has no purchases at all")
    return totals / grand


def lift(probs, share) -> np.ndarray:
    """Lift of every category in every segment over the overall basket.

    Parameters
    ----------
    probs : array_like, shape (K, V)
        θ_kv, each row sums to 1.
    share : array_like, shape (V,)
        Overall share of each category (see :func:`overall_share`).

    Returns
    -------
    lift : ndarray, shape (K, V)
        ``θ_kv / share_v``: 2 means "members of segment k put twice as much of their basket
        in category v as the average shopper". NaN where ``share_v`` is 0.
    """
    probs = np.asarray(probs, dtype=float)
    share = np.asarray(share, dtype=float)
    out = np.full(probs.shape, np.nan)
    np.divide(probs, share[None, :], out=out, where=share[None, :] > 0)
    return out


def top_lift(probs, share, n_top: int = 5, min_prob: float = MIN_PROB_FOR_LIFT) -> list[np.ndarray]:
    """Indices of the categories with the highest lift in each segment.

    Only categories with ``θ_kv ≥ min_prob`` compete (if none does, all do), so a category
    that is a tiny part of the segment's basket cannot top the list on noise.

    Returns
    -------
    list of K int arrays, each of length ≤ n_top, highest lift first (ties: larger θ first).
    """
    probs = np.asarray(probs, dtype=float)
    lifts = lift(probs, share)
    result = []
    for k in range(probs.shape[0]):
        eligible = np.flatnonzero((probs[k] >= min_prob) & np.isfinite(lifts[k]))
        if eligible.size == 0:
            eligible = np.flatnonzero(np.isfinite(lifts[k]))
        # lexsort: last key is primary -> sort by -lift, then by -θ
        order = np.lexsort((-probs[k, eligible], -lifts[k, eligible]))
        result.append(eligible[order][:n_top])
    return result


def pretty_label(name: str, max_len: int = 22) -> str:
    """A category name fit for an axis: all-caps names in title case, long names shortened.

    >>> pretty_label("MEAT-PCKGD")
    'Meat-Pckgd'
    """
    text = str(name).strip()
    if text.isupper():
        text = text.title()
    if len(text) > max_len:
        text = text[: max_len - 1].rstrip() + "…"
    return text


def segment_names(probs, share, feature_names: Sequence[str],
                  min_prob: float = MIN_PROB_FOR_LIFT) -> list[str]:
    """Short names for the segments: number and the category with the highest lift.

    Parameters
    ----------
    probs : array_like, shape (K, V)
        θ of the fit the names describe (usually the last one of the run, so that a
        segment keeps its name while the learner steps through the run).
    share : array_like, shape (V,)
    feature_names : sequence of V str

    Returns
    -------
    list of K str such as ``"S1 · Produce"``. The number keeps the names unique.
    """
    if np.asarray(probs).shape[0] == 1:
        return ["S1 · everyone"]  # one segment: every lift is 1, no category stands out
    tops = top_lift(probs, share, n_top=1, min_prob=min_prob)
    return [f"S{k + 1} · {pretty_label(feature_names[t[0]], 22)}" if t.size else f"S{k + 1}"
            for k, t in enumerate(tops)]


def segment_summary(params, share, feature_names: Sequence[str], names=None, *,
                    n_top: int = 3, min_prob: float = MIN_PROB_FOR_LIFT,
                    rows_label: str = "customers") -> list[dict]:
    """One plain row per segment for a table: size, favourite categories, biggest category.

    Parameters
    ----------
    params : emcore.MultinomialParams
        Usually the final fit.
    share : array_like, shape (V,)
    feature_names : sequence of V str
    names : sequence of K str, optional
    n_top : int
        Favourite categories listed (those with lift > 1 among :func:`top_lift`).

    Returns
    -------
    list of K dicts with keys "segment", f"share of {rows_label}", "buys more than average",
    "biggest category".
    """
    probs = np.asarray(params.probs, dtype=float)
    weights = np.asarray(params.weights, dtype=float)
    k_count = probs.shape[0]
    names = [f"S{j + 1}" for j in range(k_count)] if names is None else list(names)
    lifts = lift(probs, share)
    rows = []
    for k, idx in enumerate(top_lift(probs, share, n_top=n_top, min_prob=min_prob)):
        fav = [f"{pretty_label(feature_names[v])} ×{lifts[k, v]:.1f}" for v in idx
               if lifts[k, v] > 1.0]
        big = int(np.argmax(probs[k]))
        rows.append({
            "segment": names[k],
            f"share of {rows_label}": f"{weights[k]:.1%}",
            "buys more than average": ", ".join(fav) if fav else "nothing stands out",
            "biggest category": f"{pretty_label(feature_names[big])} ({probs[k, big]:.0%})",
        })
    return rows


def category_order(probs, share, by: str = "share") -> np.ndarray:
    """An order of the V categories for the heatmap rows (first = top row).

    Parameters
    ----------
    probs : array_like, shape (K, V)
        θ of the final fit (the order must not change while the learner steps).
    share : array_like, shape (V,)
    by : {"share", "segment"}
        ``"share"``: the biggest categories of the overall basket first.
        ``"segment"``: categories grouped by the segment in which their lift is highest
        (segment 1's categories first), biggest lift first inside a group, so the heatmap
        shows each segment's block of favourites.

    Returns
    -------
    order : int ndarray, shape (V,), a permutation of range(V).
    """
    share = np.asarray(share, dtype=float)
    if by == "share":
        return np.argsort(-share, kind="stable")
    if by == "segment":
        lifts = np.nan_to_num(lift(probs, share), nan=0.0)
        owner = lifts.argmax(axis=0)
        best = lifts.max(axis=0)
        return np.lexsort((-best, owner))
    raise ValueError(f"unknown category order {by!r}; use 'share' or 'segment'")


def best_permutation(true_probs, fitted_probs) -> np.ndarray:
    """Match fitted segments to true ones (fitted labels are arbitrary).

    Minimises the summed total-variation distance ``½ Σ_v |θ_true_jv − θ_fit_kv|`` over all
    one-to-one matchings (Hungarian algorithm).

    Parameters
    ----------
    true_probs : array_like, shape (K, V)
    fitted_probs : array_like, shape (K, V)

    Returns
    -------
    perm : int ndarray, shape (K,)
        ``perm[j]`` is the fitted segment matched to true segment ``j``.
    """
    a = np.asarray(true_probs, dtype=float)
    b = np.asarray(fitted_probs, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"true {a.shape} and fitted {b.shape} parameters differ in shape")
    return match_by_cost(0.5 * np.abs(a[:, None, :] - b[None, :, :]).sum(axis=2))


def display_rows(resp_final, n_show: int = 200, seed: int = 0) -> np.ndarray:
    """Which customers to show in the responsibility heatmap, and in which order.

    A random sample (without replacement, seeded) of at most ``n_show`` rows, sorted by the
    segment that is most responsible for them at the end of the run, then by that
    responsibility (most certain first). The same rows and order are used at every step.

    Parameters
    ----------
    resp_final : array_like, shape (N, K)
    n_show : int
    seed : int

    Returns
    -------
    rows : int ndarray, shape (min(N, n_show),)
    """
    resp_final = np.asarray(resp_final, dtype=float)
    n = resp_final.shape[0]
    if n <= n_show:
        rows = np.arange(n)
    else:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=n_show, replace=False))
    r = resp_final[rows]
    dominant = r.argmax(axis=1)
    certainty = r[np.arange(rows.size), dominant]
    return rows[np.lexsort((-certainty, dominant))]


# --------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------
def _layout(title: str, height: int, **extra) -> dict:
    """The common layout of every figure here (transparent, so it suits light and dark themes).

    Figures are built from one layout dict, not by many ``update_*`` calls, because Plotly's
    incremental updates are slow and a slider step must stay fast.
    """
    layout = dict(
        title=dict(text=title, x=0.0, xanchor="left"),
        height=height,
        margin=dict(l=10, r=10, t=60, b=10),
        paper_bgcolor=_TRANSPARENT,
        plot_bgcolor=_TRANSPARENT,
        font=_FONT,
    )
    layout.update(extra)
    return layout


def _figure(data, layout) -> dict:
    """A step player figure as a Plotly figure dictionary (see :mod:`emviz.common`)."""
    return {"data": list(data), "layout": layout}


def _colored(name: str, k: int) -> str:
    """Axis tick text in the colour of component k (Plotly's own text markup)."""
    return f'<span style="color:{component_color(k)}"><b>{name}</b></span>'


def prob_range(trace) -> tuple[float, float]:
    """log10 range of θ over the whole run, for a colour scale that is fixed across steps."""
    all_probs = np.concatenate([np.asarray(p.probs, dtype=float).ravel() for p in trace.params])
    lo = np.log10(max(float(all_probs.min()), PROB_FLOOR))
    hi = np.log10(max(float(all_probs.max()), PROB_FLOOR * 10))
    return float(np.floor(lo * 2) / 2), float(np.ceil(hi * 2) / 2)


def _percent(p: float) -> str:
    if p >= 0.1:
        return f"{p:.0%}"
    if p >= 0.001:
        return f"{p:.1%}"
    return "<0.1%"


def _heatmap_values(probs, share, order, value):
    """z, cell text and hover data of the profile heatmap, rows = categories in ``order``."""
    probs = np.asarray(probs, dtype=float)[:, order]
    lifts = lift(probs, np.asarray(share, dtype=float)[order])
    if value == "prob":
        z = np.log10(np.clip(probs, PROB_FLOOR, None)).T
        text = [[_percent(p) for p in row] for row in probs.T]
    elif value == "lift":
        with np.errstate(divide="ignore"):
            z = np.clip(np.log2(np.nan_to_num(lifts, nan=1.0)), -LIFT_CLIP, LIFT_CLIP).T
        text = [[f"×{v:.1f}" if v < 9.95 else f"×{v:.0f}" for v in row]
                for row in np.nan_to_num(lifts.T, nan=1.0)]
    else:
        raise ValueError(f"unknown heatmap value {value!r}; use 'prob' or 'lift'")
    custom = np.stack([probs.T, np.nan_to_num(lifts.T, nan=0.0)], axis=-1)
    return z, text, custom


def _cell_names(names, labels) -> list[list[list[str]]]:
    """customdata[v][k] = [segment name, category label] for hover over numeric axes."""
    return [[[str(n), str(lab)] for n in names] for lab in labels]


def _profile_trace(probs, share, feature_names, names, order, value, zrange, **extra) -> dict:
    """The heatmap trace (a plain dict; z as nested lists so animation frames decode)."""
    z, text, custom = _heatmap_values(probs, share, order, value)
    labels = [pretty_label(feature_names[v]) for v in order]
    if value == "prob":
        lo, hi = zrange
        ticks = [t for t in (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)
                 if lo - 1e-9 <= np.log10(t) <= hi + 1e-9]
        colorbar = dict(title=dict(text="θ<sub>kv</sub>"), tickvals=np.log10(ticks).tolist(),
                        ticktext=[_percent(t) if t < 1 else "100%" for t in ticks])
        scale = dict(colorscale=_PROB_SCALE, zmin=lo, zmax=hi)
    else:
        ticks = np.arange(-LIFT_CLIP, LIFT_CLIP + 1)
        colorbar = dict(title=dict(text="lift"), tickvals=ticks.tolist(),
                        ticktext=[f"×{2.0 ** t:g}" if t >= 0 else f"×1/{2.0 ** -t:g}" for t in ticks])
        scale = dict(colorscale=_LIFT_SCALE, zmin=-LIFT_CLIP, zmax=LIFT_CLIP, zmid=0.0)
    colorbar.update(extra.pop("colorbar", {}))
    # numeric cell positions (x = segment index, y = row index) with tick labels on the axes:
    # the matplotlib export (emviz.export) draws them the same way
    cells = _cell_names(names, labels)
    custom = [[[*map(float, c), *nm] for c, nm in zip(crow, nrow, strict=True)]
              for crow, nrow in zip(custom.tolist(), cells, strict=True)]
    return dict(
        type="heatmap", z=z.tolist(), x0=0, dx=1, y0=0, dy=1, text=text,
        texttemplate="%{text}", customdata=custom, colorbar=colorbar, xgap=2, ygap=1,
        hovertemplate=("%{customdata[2]}<br>%{customdata[3]}<br>θ = %{customdata[0]:.2%} of the "
                       "basket<br>lift = ×%{customdata[1]:.2f} over the overall basket"
                       "<extra></extra>"),
        **scale, **extra,
    )


def _two_lines(name: str, max_chars: int | None = None) -> str:
    """ "S1 · Produce" -> "S1<br>Produce" (the second line shortened to ``max_chars``)."""
    head, _, tail = name.partition(" · ")
    if not tail:
        return head
    if max_chars is not None and len(tail) > max_chars:
        tail = tail[: max_chars - 1].rstrip() + "…"
    return f"{head}<br>{tail}"


def segment_label_chars(k_count: int) -> int:
    """How many characters of a segment's name fit under its column: the columns share about
    44 characters of width, and at least 6 are kept."""
    return max(6, 44 // max(k_count, 1))


def _profile_axes(names, labels, max_chars: int | None = None) -> tuple[dict, dict]:
    """x axis (segments, on top, in their colours) and y axis (categories, first on top)."""
    k_count, n_rows = len(names), len(labels)
    xaxis = dict(side="top", tickvals=list(range(k_count)), tickangle=0,
                 ticktext=[_colored(_two_lines(n, max_chars), k) for k, n in enumerate(names)],
                 range=[-0.5, k_count - 0.5], showgrid=False, zeroline=False)
    yaxis = dict(title=dict(text="category"), tickvals=list(range(n_rows)), ticktext=list(labels),
                 range=[n_rows - 0.5, -0.5], showgrid=False, zeroline=False)
    return xaxis, yaxis



#: Most category rows in one heatmap (more would not be readable on a projector).
MAX_HEATMAP_ROWS = 30


def default_order(trace, share, max_rows: int = MAX_HEATMAP_ROWS) -> np.ndarray:
    """Rows of the heatmap when the caller gives none: biggest overall share first, and at
    most ``max_rows`` categories (:func:`heatmap_categories` of the final fit)."""
    full = np.argsort(-np.asarray(share, dtype=float), kind="stable")
    shown = heatmap_categories(trace.params[-1].probs, share, max_rows)
    return full[np.isin(full, shown)]


def profile_heatmap(trace, hs, feature_names: Sequence[str], share, *, order=None,
                    names=None, value: str = "prob", zrange=None) -> dict:
    """Heatmap of every segment's category probabilities θ_kv at half-step ``s``.

    Parameters
    ----------
    trace : emcore.Trace
        A multinomial fit.
    hs : emcore.HalfStep
        The half-step shown (θ₀, E-step 1, M-step 1, …: ``trace.half_step(s)``).
    feature_names : sequence of V str
    share : array_like, shape (V,)
        Overall basket (:func:`overall_share` of the data).
    order : int array, shape (V',), optional
        Rows to show, top first (:func:`category_order`, optionally restricted to
        :func:`heatmap_categories`); default :func:`default_order` (biggest overall share
        first, at most :data:`MAX_HEATMAP_ROWS` rows). The title says when rows are left out.
    names : sequence of K str, optional
        Segment names (:func:`segment_names`); default "S1", "S2", ….
    value : {"prob", "lift"}
        Colour by θ_kv (log scale) or by log2 of the lift θ_kv / share_v.
    zrange : (float, float), optional
        log10 colour range for ``value="prob"``; default :func:`prob_range` of the run.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    probs = np.asarray(hs.params.probs, dtype=float)
    k = probs.shape[0]
    order = default_order(trace, share) if order is None else np.asarray(order)
    names = [f"S{j + 1}" for j in range(k)] if names is None else list(names)
    zrange = prob_range(trace) if zrange is None else zrange
    xaxis, yaxis = _profile_axes(names, [pretty_label(feature_names[v]) for v in order],
                                 max_chars=segment_label_chars(k))
    what = "θ, share of the basket" if value == "prob" else "lift over the overall basket"
    v_count = probs.shape[1]
    subset = f" · {len(order)} of {v_count} categories" if len(order) < v_count else ""
    layout = _layout(f"Category profile of each segment<br><sup>{what} · {hs.label}"
                     f"{subset}</sup>",
                     height=max(380, 160 + 24 * len(order)), xaxis=xaxis, yaxis=yaxis)
    heat = _profile_trace(probs, share, feature_names, names, order, value, zrange)
    # Room for the category names (left) and the colour bar (right) asked for up front, so that
    # Plotly's automargin does not draw the figure a second time to make it (emviz.fontmetrics).
    layout["margin"] = dict(l=y_axis_room(yaxis["ticktext"], _FONT["size"]),
                            r=colorbar_room(heat["colorbar"]["ticktext"], _FONT["size"]),
                            t=100, b=10)
    # On a narrow screen (a phone) the step player shows only "S1", "S2", … over the columns
    # and leaves the numbers to the hover: full names and cell labels would overlap there.
    layout["meta"] = {"narrow": {
        "below": NARROW_PX,
        "layout": {"xaxis": {"ticktext": [_colored(n.partition(" · ")[0], j)
                                          for j, n in enumerate(names)]}},
        "data": {"1": {"texttemplate": ""}, "2": {"texttemplate": ""}}}}
    return _figure(data=contrast_text_layers(heat), layout=layout)


def _bar_trace(weights, names, **extra) -> dict:
    """Bars of the segment sizes at x = 0 … K−1 (labels come from the axis ticks)."""
    w = np.asarray(weights, dtype=float)
    return dict(type="bar", x=list(range(w.size)), y=w.tolist(), customdata=list(names),
                marker=dict(color=[component_color(k) for k in range(w.size)]),
                text=[f"{v:.1%}" for v in w], textposition="outside", cliponaxis=False,
                showlegend=False, hovertemplate="%{customdata}<br>π = %{y:.2%} of the customers"
                                                "<extra></extra>", **extra)


def _max_weight(trace) -> float:
    return max(float(np.max([np.max(p.weights) for p in trace.params])), 1e-9)


def segment_sizes(trace, hs, names=None) -> dict:
    """Bar chart of the segment sizes π_k at the half-step ``hs`` (y-axis fixed over the run)."""
    w = np.asarray(hs.params.weights, dtype=float)
    names = [f"S{j + 1}" for j in range(w.size)] if names is None else list(names)
    short = [n.split(" · ")[0] for n in names]
    layout = _layout(
        f"Segment sizes π · {hs.label}", height=340,
        xaxis=dict(title=dict(text="segment"), tickvals=list(range(w.size)),
                   ticktext=[_colored(n, k) for k, n in enumerate(short)],
                   range=[-0.5, w.size - 0.5], showgrid=False, zeroline=False),
        yaxis=dict(title=dict(text="share of customers π<sub>k</sub>"), tickformat=".0%",
                   range=[0, min(1.0, _max_weight(trace) * 1.2)]),
    )
    return _figure(data=[_bar_trace(w, names)], layout=layout)


def _grid(n_panels: int, n_cols: int, h_space: float = 0.1, v_space: float = 0.12):
    """Domains of a grid of panels (row-major): list of ((x0, x1), (y0, y1))."""
    n_rows = int(np.ceil(n_panels / n_cols))
    w = (1.0 - h_space * (n_cols - 1)) / n_cols
    h = (1.0 - v_space * (n_rows - 1)) / n_rows
    out = []
    for i in range(n_panels):
        r, c = divmod(i, n_cols)
        x0 = c * (w + h_space)
        y1 = 1.0 - r * (h + v_space)
        out.append(((x0, x0 + w), (y1 - h, y1)))
    return out, n_rows


#: Panels per row in :func:`lift_bars`.
LIFT_COLUMNS = 2


def lift_bars(probs, share, feature_names: Sequence[str], names=None, *, n_top: int = 5,
              min_prob: float = MIN_PROB_FOR_LIFT, title: str = "") -> go.Figure:
    """Small multiples: each segment's top categories by lift over the overall basket.

    Parameters
    ----------
    probs : array_like, shape (K, V)
    share : array_like, shape (V,)
    feature_names : sequence of V str
    names : sequence of K str, optional
    n_top : int
        At most this many bars per segment: its highest-lift categories with lift > 1
        (if none has, the single highest).
    min_prob : float
        Categories below this share of the segment's basket are not ranked.
    title : str
        Figure title (a default is used when empty).
    """
    probs = np.asarray(probs, dtype=float)
    share = np.asarray(share, dtype=float)
    k_count = probs.shape[0]
    names = [f"S{j + 1}" for j in range(k_count)] if names is None else list(names)
    lifts = lift(probs, share)
    # only categories the segment buys *more* of than the average shopper (at least one bar)
    tops = [t[lifts[k, t] > 1.0] if np.any(lifts[k, t] > 1.0) else t[:1]
            for k, t in enumerate(top_lift(probs, share, n_top=n_top, min_prob=min_prob))]
    x_max = max([1.0] + [float(np.nanmax(lifts[k, t])) for k, t in enumerate(tops) if t.size])
    data = []
    for k, idx in enumerate(tops):
        sfx = "" if k == 0 else str(k + 1)
        data.append(dict(
            type="bar", orientation="h", x=lifts[k, idx].tolist(),
            y=[pretty_label(feature_names[v], 18) for v in idx], xaxis=f"x{sfx}",
            yaxis=f"y{sfx}", marker=dict(color=component_color(k)), showlegend=False,
            text=[f"×{x:.1f}" for x in lifts[k, idx]], textposition="outside", cliponaxis=False,
            customdata=np.stack([probs[k, idx], share[idx]], axis=-1).tolist(),
            hovertemplate=("%{y}: lift ×%{x:.2f}<br>%{customdata[0]:.2%} of this segment's "
                           "basket vs %{customdata[1]:.2%} overall<extra></extra>"),
        ))

    def grid(n_cols: int) -> dict:
        """The panels' axes, dotted lines, names and height with ``n_cols`` panels a row."""
        domains, n_rows = _grid(k_count, n_cols, h_space=0.3 if n_cols > 1 else 0.0,
                                v_space=(0.22 if n_cols > 1 else 0.12) if k_count > n_cols
                                else 0.0)
        out = {"height": 70 + 240 * n_rows, "shapes": [], "annotations": []}
        for k, ((x0, x1), (y0, y1)) in enumerate(domains):
            sfx = "" if k == 0 else str(k + 1)
            # the bottom row names its axis
            out[f"xaxis{sfx}"] = dict(domain=[x0, x1], anchor=f"y{sfx}", range=[0, x_max * 1.35],
                                      title=dict(text="lift" if y0 < 0.05 else ""))
            out[f"yaxis{sfx}"] = dict(domain=[y0, y1], anchor=f"x{sfx}", type="category",
                                      autorange="reversed")
            out["shapes"].append(dict(type="line", xref=f"x{sfx}", yref=f"y{sfx} domain", x0=1,
                                      x1=1, y0=0, y1=1,
                                      line=dict(color=NEUTRAL, dash="dot", width=1)))
            out["annotations"].append(dict(
                text=f"<b>{names[k]}</b>", x=(x0 + x1) / 2, y=y1, xref="paper", yref="paper",
                xanchor="center", yanchor="bottom", showarrow=False,
                font=dict(color=component_color(k), size=14)))
        return out

    # Two panels per row at most: each panel's category names (left of it) then have room
    # beside the previous panel's "×1.0" labels on a tablet as on a projector. On a phone the
    # step player draws one panel a row (layout.meta.narrow): two would crowd the names.
    wide = grid(min(k_count, LIFT_COLUMNS))
    layout = _layout(title or "Top categories per segment, by lift over the overall basket "
                     "(dotted line = average shopper)", **wide)
    layout["margin"] = dict(l=10, r=10, t=80, b=10)
    if k_count > 1:
        layout["meta"] = {"narrow": {"below": NARROW_PX, "layout": grid(1)}}
    return go.Figure(data=data, layout=layout)


def responsibility_heatmap(resp, names, *, n_total: int, rows_label: str = "customers",
                           block_of=None, title_suffix: str = "",
                           short_labels: bool = False, decimals: int | None = None) -> dict:
    """Customers × segments heatmap of responsibilities r_ik, one colour per segment.

    Parameters
    ----------
    resp : ndarray, shape (n, K), or None
        Responsibilities of the displayed rows (already sampled and ordered, see
        :func:`display_rows`), or None at θ₀ where no E-step has run yet.
    names : sequence of K str
    n_total : int
        N, the number of customers in the fit (for the "showing n of N" title).
    rows_label : str
        What a row is, plural ("households", "baskets", …).
    block_of : int array, shape (n,), optional
        Final dominant segment of each displayed row; labels the blocks on the y-axis.
    title_suffix : str
        Appended to the title (e.g. the half-step label).
    short_labels : bool
        Label the columns "S1", "S2", … only (for a narrow column of the page).
    decimals : int, optional
        Round the drawn responsibilities to this many decimals (3 is what the hover shows and
        far more than the colour can; it keeps a step player's payload of every E-step small).
    """
    k_count = len(names)
    n = 0 if resp is None else int(resp.shape[0])
    row_word = rows_label[:-1] if rows_label.endswith("s") else rows_label
    data, annotations = [], []
    if resp is not None:
        resp = np.asarray(resp, dtype=float)
        if decimals is not None:
            resp = np.round(resp, decimals)
        for k in range(k_count):
            color = component_color(k)
            data.append(dict(
                type="heatmap", z=resp[:, k:k + 1].tolist(), x0=k, dx=1, y0=0, dy=1,
                zmin=0.0, zmax=1.0, colorscale=[[0.0, rgba(color, 0.0)], [1.0, rgba(color, 1.0)]],
                showscale=False, xgap=3, name=names[k],
                hovertemplate=(f"{row_word} %{{y}}<br>{names[k]}<br>"
                               "responsibility r = %{z:.3f}<extra></extra>"),
            ))
    else:
        annotations.append(dict(text="No responsibilities yet: the first E-step computes them.",
                                showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                                font=dict(size=16, color=NEUTRAL)))
    ticks = [nm.split(" · ")[0] if short_labels else nm.replace(" · ", "<br>") for nm in names]
    xaxis = dict(side="top", tickvals=list(range(k_count)), tickangle=0,
                 ticktext=[_colored(t, k) for k, t in enumerate(ticks)],
                 range=[-0.5, k_count - 0.5], showgrid=False, zeroline=False)
    yaxis = dict(title=dict(text=f"{rows_label} (sorted by final segment)"),
                 range=[max(n, 1) - 0.5, -0.5], showgrid=False, zeroline=False,
                 showticklabels=False)
    if block_of is not None and n:
        block_of = np.asarray(block_of)
        ticks, texts = [], []
        for k in range(k_count):
            where = np.flatnonzero(block_of == k)
            if where.size:
                ticks.append(float(where.mean()))
                texts.append(f"{names[k].split(' · ')[0]}: {where.size}")
        yaxis.update(tickvals=ticks, ticktext=texts, showticklabels=True)
    shown = f"showing {n:,} of {n_total:,} {rows_label}" if n < n_total else f"all {n:,} {rows_label}"
    layout = _layout(f"Responsibilities p(segment | {row_word})<br><sup>{shown}{title_suffix}"
                     "</sup>", height=540, xaxis=xaxis, yaxis=yaxis)
    if annotations:
        layout["annotations"] = annotations
    layout["margin"] = dict(l=10, r=10, t=110, b=10)
    return _figure(data=data, layout=layout)


def selection_chart(ks, bic, icl, aic=None, *, chosen_k: int | None = None) -> go.Figure:
    """BIC and ICL (and optionally AIC) against the number of segments K; lower is better.

    :func:`emviz.selection.selection_figure` with the baskets' wording ("segments").
    """
    from emviz.selection import selection_figure

    return selection_figure(ks, bic, icl, aic=aic, chosen_k=chosen_k, unit="segments")


def truth_vs_fit(true_params, fitted_params, perm, feature_names: Sequence[str],
                 names=None) -> go.Figure:
    """True against fitted parameters of synthetic shoppers, segments matched by ``perm``.

    Left: every θ_kv, true on x and fitted on y (on the diagonal = recovered exactly).
    Right: segment sizes π, true beside fitted. Colours are those of the fitted segments.

    Parameters
    ----------
    true_params, fitted_params : emcore.MultinomialParams
    perm : int array, shape (K,)
        :func:`best_permutation` (``perm[j]`` = fitted segment of true segment j).
    feature_names : sequence of V str
    names : sequence of K str, optional
        Names of the fitted segments.
    """
    t_probs = np.asarray(true_params.probs, dtype=float)
    f_probs = np.asarray(fitted_params.probs, dtype=float)
    t_w = np.asarray(true_params.weights, dtype=float)
    f_w = np.asarray(fitted_params.weights, dtype=float)
    perm = np.asarray(perm, dtype=int)
    k_count = t_probs.shape[0]
    names = [f"S{j + 1}" for j in range(k_count)] if names is None else list(names)
    hi = float(max(t_probs.max(), f_probs.max())) * 1.05
    labels = [pretty_label(f) for f in feature_names]
    data = [dict(type="scatter", x=[0, hi], y=[0, hi], mode="lines", showlegend=False,
                 line=dict(color=NEUTRAL, dash="dot"), hoverinfo="skip")]
    for j in range(k_count):
        k = int(perm[j])
        data.append(dict(
            type="scatter", x=t_probs[j].tolist(), y=f_probs[k].tolist(), mode="markers",
            name=f"true segment {j + 1} → {names[k]}",
            marker=dict(color=component_color(k), size=9, line=dict(width=0.5, color="white")),
            text=labels, hovertemplate=("%{text}<br>true θ = %{x:.2%}<br>fitted θ = %{y:.2%}"
                                        "<extra>" + names[k] + "</extra>"),
        ))
    matched = [names[int(perm[j])] for j in range(k_count)]
    colors = [component_color(int(perm[j])) for j in range(k_count)]
    data.append(dict(type="bar", x=matched, y=t_w.tolist(), name="true π", xaxis="x2",
                     yaxis="y2", marker=dict(color=[rgba(c, 0.3) for c in colors],
                                             line=dict(color=colors, width=2)),
                     hovertemplate="%{x}<br>true π = %{y:.2%}<extra></extra>"))
    data.append(dict(type="bar", x=matched, y=f_w[perm].tolist(), name="fitted π", xaxis="x2",
                     yaxis="y2", marker=dict(color=colors),
                     hovertemplate="%{x}<br>fitted π = %{y:.2%}<extra></extra>"))
    layout = _layout(
        "Synthetic shoppers: true parameters against the fit", height=480, barmode="group",
        legend=dict(orientation="h", y=-0.22, x=0),
        xaxis=dict(domain=[0, 0.52], title=dict(text="true θ<sub>kv</sub> (category probability)"),
                   tickformat=".0%", range=[0, hi]),
        yaxis=dict(title=dict(text="fitted θ<sub>kv</sub>"), tickformat=".0%", range=[0, hi]),
        xaxis2=dict(domain=[0.64, 1.0], anchor="y2", type="category",
                    title=dict(text="segment sizes π: true (light) and fitted")),
        yaxis2=dict(anchor="x2", tickformat=".0%", title=dict(text="share of customers")),
    )
    return go.Figure(data=data, layout=layout)


def run_animation(trace, feature_names: Sequence[str], share, *, order=None, names=None,
                  value: str = "prob", max_frames: int = MAX_FRAMES) -> go.Figure:
    """Client-side Plotly animation of the whole run: category profile and segment sizes.

    One frame per half-step (θ₀, E-step 1, M-step 1, …), thinned to at most ``max_frames``
    frames (:func:`emviz.common.frame_indices`); play/pause buttons and a frame slider run
    in the browser. Parameters as for :func:`profile_heatmap`.
    """
    k_count = int(np.asarray(trace.params[0].probs).shape[0])
    order = default_order(trace, share) if order is None else np.asarray(order)
    names = [f"S{j + 1}" for j in range(k_count)] if names is None else list(names)
    short = [n.split(" · ")[0] for n in names]
    zrange = prob_range(trace)
    steps = frame_indices(trace.n_half_steps, max_frames)
    note = "" if len(steps) == trace.n_half_steps else (
        f" ({len(steps)} of {trace.n_half_steps} half-steps shown)")
    title = "The whole run, half-step by half-step{note} · {label}"
    half_steps = [trace.half_step(int(s)) for s in steps]
    labels = [hs.label for hs in half_steps]

    def traces_at(hs):
        params = hs.params
        heat = _profile_trace(params.probs, share, feature_names, names, order, value, zrange,
                              colorbar=dict(x=0.62, len=0.8, thickness=14))
        # hover reads the cell text, which every frame updates; customdata keeps only the
        # names, which do not change (θ and lift in it would go stale)
        heat["customdata"] = _cell_names(names, [pretty_label(feature_names[v]) for v in order])
        heat["hovertemplate"] = "%{customdata[0]}<br>%{customdata[1]}: %{text}<extra></extra>"
        bars = _bar_trace(params.weights, names, xaxis="x2", yaxis="y2")
        bars["text"] = [f"{v:.0%}" for v in np.asarray(params.weights, dtype=float)]
        heat, dark, light = contrast_text_layers(heat)
        return [heat, bars, dark, light]  # the label layers last: trace indices 0, 1 as before

    # narrower than the page's heatmap: shorten long segment names (hover shows them whole)
    xaxis, yaxis = _profile_axes(names, [pretty_label(feature_names[v]) for v in order],
                                 max_chars=segment_label_chars(k_count))
    xaxis["domain"] = [0.0, 0.6]
    layout = _layout(
        title.format(note=note, label=labels[0]), height=max(460, 190 + 24 * len(order)),
        xaxis=xaxis, yaxis=yaxis,
        xaxis2=dict(domain=[0.82, 1.0], anchor="y2", tickvals=list(range(k_count)),
                    ticktext=[_colored(n, k) for k, n in enumerate(short)],
                    range=[-0.5, k_count - 0.5], showgrid=False, zeroline=False,
                    title=dict(text="segment sizes π")),
        yaxis2=dict(anchor="x2", tickformat=".0%", range=[0, min(1.0, _max_weight(trace) * 1.2)]),
    )
    controls = animation_controls([str(int(s)) for s in steps], duration_ms=450)
    for step, lab in zip(controls["sliders"][0]["steps"], labels, strict=True):
        step["label"] = lab
    controls["sliders"][0]["currentvalue"]["prefix"] = ""
    layout.update(controls)
    layout["margin"] = dict(l=10, r=10, t=100, b=130)

    def frame_data(hs):
        # only what changes between frames (z, text, bar heights): keeps the JSON small
        heat, bars, dark, light = traces_at(hs)
        return [dict(type="heatmap", z=heat["z"], text=heat["text"]),
                dict(type="bar", y=bars["y"], text=bars["text"]),
                dict(type="heatmap", text=dark["text"]), dict(type="heatmap", text=light["text"])]

    frames = [dict(data=frame_data(hs), traces=[0, 1, 2, 3], name=str(hs.s),
                   layout=dict(title=dict(text=title.format(note=note, label=lab))))
              for hs, lab in zip(half_steps, labels, strict=True)]
    return frozen_figure(traces_at(half_steps[0]), layout, frames)


def heatmap_categories(probs, share, max_rows: int = 30,
                       min_prob: float = MIN_PROB_FOR_LIFT) -> np.ndarray:
    """Which categories to show when there are too many for one readable heatmap.

    Every segment's top categories by lift come first (in turn, so each segment gets its
    share of the rows), then the biggest categories of the overall basket fill the rest.

    Parameters
    ----------
    probs : array_like, shape (K, V)
        θ of the final fit.
    share : array_like, shape (V,)
    max_rows : int

    Returns
    -------
    idx : int ndarray, shape (min(V, max_rows),), sorted ascending (apply an order after).
    """
    probs = np.asarray(probs, dtype=float)
    k_count, v_count = probs.shape
    if v_count <= max_rows:
        return np.arange(v_count)
    tops = top_lift(probs, share, n_top=v_count, min_prob=min_prob)
    chosen: list[int] = []
    per_segment = max(1, max_rows // (2 * k_count))  # half the rows for favourites
    for rank in range(per_segment):
        for k in range(k_count):
            if rank < tops[k].size and int(tops[k][rank]) not in chosen:
                chosen.append(int(tops[k][rank]))
    for v in np.argsort(-np.asarray(share, dtype=float), kind="stable"):
        if len(chosen) >= max_rows:
            break
        if int(v) not in chosen:
            chosen.append(int(v))
    return np.sort(np.asarray(chosen[:max_rows], dtype=int))


def describe_profile_change(trace, hs, feature_names: Sequence[str], names=None) -> str:
    """One plain sentence on what the half-step ``hs`` did to the segments' baskets.

    M-step: the biggest change of one θ_kv (segment, category, from → to). E-step: how many
    customers changed their most likely segment. θ₀: nothing yet.
    """
    k_count = trace.n_components
    names = [f"S{j + 1}" for j in range(k_count)] if names is None else list(names)
    if hs.is_init:
        return ("No segment has learnt anything yet: θ⁽⁰⁾ is the starting guess of each "
                "segment's basket.")
    t = hs.t
    if hs.kind == "E":  # E-step t+1
        r = hs.resp
        sure = float(np.mean(r.max(axis=1) >= 0.9))
        return (f"After this E-step {sure:.0%} of the customers belong to one segment with "
                f"probability 90% or more.")
    before = np.asarray(trace.params[t].probs, dtype=float)
    after = np.asarray(trace.params[t + 1].probs, dtype=float)
    k, v = np.unravel_index(int(np.argmax(np.abs(after - before))), after.shape)
    if abs(after[k, v] - before[k, v]) < 5e-4:
        return (f"The baskets barely moved: no category probability changed by more than "
                f"{abs(after[k, v] - before[k, v]):.1e} — EM has (nearly) converged.")
    return (f"The biggest change in a basket: {names[k]} now puts {_percent(after[k, v])} of "
            f"its items in {pretty_label(feature_names[v])} (was {_percent(before[k, v])}).")


def profile_gif(trace, feature_names: Sequence[str], share, *, order=None, names=None,
                value: str = "prob", max_frames: int = MAX_FRAMES, width_px: int = 1000,
                dpi: int = 80, frame_ms: int = 450, last_frame_ms: int = 2500) -> bytes:
    """Animated GIF of the run for slides: the category heatmap and the segment sizes.

    The same picture as :func:`run_animation` (colour scale, cell labels, segment colours,
    half-step titles), drawn with matplotlib on the server. The figure is built once and only
    the cell colours, cell labels, bar heights and title change between frames, which is far
    faster than redrawing a Plotly figure per frame.

    Parameters
    ----------
    trace : emcore.Trace
    feature_names : sequence of V str
    share : array_like, shape (V,)
    order, names, value : as for :func:`profile_heatmap`
    max_frames : int
        At most this many half-steps (:func:`emviz.common.frame_indices`).

    Returns
    -------
    bytes of a looping GIF.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    from emviz.export import _plotly_cmap, encode_gif

    k_count = int(np.asarray(trace.params[0].probs).shape[0])
    order = default_order(trace, share) if order is None else np.asarray(order)
    names = [f"S{j + 1}" for j in range(k_count)] if names is None else list(names)
    labels = [pretty_label(feature_names[v]) for v in order]
    n_rows = len(order)
    steps = frame_indices(trace.n_half_steps, max_frames)
    if value == "prob":
        lo, hi = prob_range(trace)
        cmap = _plotly_cmap(_PROB_SCALE)
    else:
        lo, hi = -LIFT_CLIP, LIFT_CLIP
        cmap = _plotly_cmap(_LIFT_SCALE)
    what = "θ, share of the basket" if value == "prob" else "lift over the overall basket"
    height_px = max(420, 150 + 26 * n_rows)
    mfig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, facecolor="white")
    canvas = FigureCanvasAgg(mfig)
    gs = mfig.add_gridspec(1, 2, width_ratios=[3, 1.2], wspace=0.25, left=0.17, right=0.98,
                           top=1 - 95 / height_px, bottom=40 / height_px)
    ax = mfig.add_subplot(gs[0])
    axb = mfig.add_subplot(gs[1])
    z0, text0, _ = _heatmap_values(trace.params[0].probs, share, order, value)
    im = ax.imshow(z0, aspect="auto", cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    ax.set_yticks(range(n_rows), labels, fontsize=10)
    ax.set_xticks(range(k_count), [n.replace(" · ", "\n") for n in names], fontsize=10)
    ax.xaxis.tick_top()
    for k, tick in enumerate(ax.get_xticklabels()):
        tick.set_color(component_color(k))
        tick.set_fontweight("bold")
    seps = [ax.axvline(x, color="white", linewidth=1.5) for x in np.arange(0.5, k_count - 1, 1)]
    seps += [ax.axhline(y, color="white", linewidth=1.5) for y in np.arange(0.5, n_rows - 1, 1)]
    cells = [[ax.text(k, v, "", ha="center", va="center", fontsize=9) for k in range(k_count)]
             for v in range(n_rows)]
    w0 = np.asarray(trace.params[0].weights, dtype=float)
    bars = axb.bar(range(k_count), w0, color=[component_color(k) for k in range(k_count)])
    bar_text = [axb.text(k, 0, "", ha="center", va="bottom", fontsize=10) for k in range(k_count)]
    axb.set_ylim(0, min(1.0, _max_weight(trace) * 1.25))
    axb.set_xticks(range(k_count), [n.split(" · ")[0] for n in names])
    for k, tick in enumerate(axb.get_xticklabels()):
        tick.set_color(component_color(k))
    axb.set_title("segment sizes π", fontsize=11)
    axb.yaxis.set_major_formatter(lambda y, _: f"{y:.0%}")
    axb.grid(True, axis="y", alpha=0.2)
    title = mfig.text(0.01, 0.985, "", ha="left", va="top", fontsize=15, fontweight="bold")
    mfig.text(0.01, 0.985 - 26 / height_px, f"Category profile of each segment ({what})",
              ha="left", va="top", fontsize=11, color=(0.3, 0.3, 0.3))

    # Blitting: draw the static parts (axes, tick labels) once, then only the changing artists.
    dynamic = [im, *seps, *[c for row in cells for c in row], *bars, *bar_text, title]
    for a in dynamic:
        a.set_visible(False)
    canvas.draw()
    background = canvas.copy_from_bbox(mfig.bbox)
    for a in dynamic:
        a.set_visible(True)

    images = []
    for s in steps:
        hs = trace.half_step(int(s))
        params = hs.params
        z, text, _ = _heatmap_values(params.probs, share, order, value)
        im.set_data(z)
        rgba = cmap((np.clip(z, lo, hi) - lo) / (hi - lo))
        lum = 0.299 * rgba[..., 0] + 0.587 * rgba[..., 1] + 0.114 * rgba[..., 2]
        for v in range(n_rows):
            for k in range(k_count):
                cells[v][k].set_text(text[v][k])
                cells[v][k].set_color("black" if lum[v, k] > 0.55 else "white")
        w = np.asarray(params.weights, dtype=float)
        for k in range(k_count):
            bars[k].set_height(w[k])
            bar_text[k].set_position((k, w[k]))
            bar_text[k].set_text(f"{w[k]:.0%}")
        title.set_text(hs.label)
        canvas.restore_region(background)
        for a in dynamic:
            mfig.draw_artist(a)
        frame = np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
        images.append(Image.fromarray(frame))
    return encode_gif(images, frame_ms, last_frame_ms)
