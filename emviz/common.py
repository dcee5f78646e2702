"""Figure builders shared by every fitting page (no Streamlit here).

Half-steps
----------
A fit with ``n_iter`` iterations has ``2 * n_iter + 1`` half-steps ``s``:

* ``s = 0``        — the starting guess θ₀;
* ``s = 2t + 1``   — "E-step t+1": θ_t is unchanged, the responsibilities q_t are recomputed;
* ``s = 2t + 2``   — "M-step t+1": θ_{t+1} is re-estimated from q_t.

The one rule mapping ``s`` to its kind and iteration is ``emcore.half_step_position``; every
builder takes the ``emcore.HalfStep`` (``emui.step_slider`` returns it, ``trace.half_step(s)``
makes it) and reads ``kind``, ``t``, ``theta_index``, ``params``, ``resp`` and ``label`` from it.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from scipy.optimize import linear_sum_assignment

from emcore import half_step_label, half_step_position
from emviz.fontmetrics import widest_px
from emviz.palette import NEUTRAL, component_color
from emviz.player import figure_json

#: Colour of curves that belong to no component (log-likelihood, bound). A mid grey reads on
#: both the light and the dark Streamlit theme.
CURVE = "#8C8C8C"
#: Colour of the "you are here" marker: Okabe–Ito vermillion would clash with component 5,
#: so the marker is a hollow ring of the curve colour plus a vertical guide.
MARKER_LINE = "#8C8C8C"

FONT = dict(size=15)

#: Tick labels of every density axis: at most 3 significant digits, plain or with an exponent
#: (0.0005, 2.5e-7), never an SI prefix. Plotly's default would print 2.5e-6 as "2.5μ", which
#: reads as the mean μ.
DENSITY_TICKFORMAT = ".3~g"

#: How builders return figures. Plotly validates every property of a ``go.Figure`` as it is
#: built (about three times the cost of building the figure itself); the step player builds
#: every half-step's figures once per fit, so the builders it calls (``loglik_figure``,
#: ``gauss1d.mixture_figure``, ``gauss2d.blobs_figure``, the baskets, digits and proof
#: figures) return the figure as a plain dictionary in Plotly's documented figure schema,
#: ``{"data": [{"type": "scatter", ...}], "layout": {...}}``, which the player, ``st.plotly_chart``
#: and the exports take as it is. Where a ``go.Figure`` is needed, the public constructor wraps
#: it once: ``go.Figure(fig)`` (validated; the tests do this for every builder). The other
#: builders (drawn once per fit or on request) return a ``go.Figure`` built the ordinary way.


# ----------------------------------------------------------------------------------------------
# Fast layout helpers. plotly's make_subplots / add_vline and per-point colour strings cost tens
# of milliseconds each (validation); a slider step must rerun a page in ~150 ms, so the builders
# lay out stacked rows by hand and pass per-point colours as numbers on a colour scale.
# ----------------------------------------------------------------------------------------------

def axis_ref(row: int) -> tuple[str, str]:
    """Trace axis references ``(xaxis, yaxis)`` of stacked row ``row`` (1 = top)."""
    return ("x", "y") if row == 1 else (f"x{row}", f"y{row}")


def rows_layout(n_rows: int, row_heights=None, vertical_spacing: float = 0.07,
                titles=None) -> dict:
    """Layout entries for ``n_rows`` vertically stacked panels sharing one x range.

    Row 1 is the top row; only the bottom row shows x tick labels. ``titles`` become
    annotations above each panel (like make_subplots' subplot titles).
    """
    h = np.asarray(row_heights if row_heights is not None else [1.0] * n_rows, dtype=float)
    h = h / h.sum() * (1 - vertical_spacing * (n_rows - 1))
    out: dict = {}
    annotations = []
    top = 1.0
    for r in range(1, n_rows + 1):
        lo = top - h[r - 1]
        xname = "xaxis" if r == 1 else f"xaxis{r}"
        yname = "yaxis" if r == 1 else f"yaxis{r}"
        xa, ya = axis_ref(r)
        out[xname] = dict(anchor=ya, domain=[0.0, 1.0], showticklabels=(r == n_rows))
        if r > 1:
            out[xname]["matches"] = "x"
        out[yname] = dict(anchor=xa, domain=[max(lo, 0.0), top])
        if titles is not None and titles[r - 1]:
            annotations.append(dict(text=titles[r - 1], x=0.5, y=top, xref="paper", yref="paper",
                                    xanchor="center", yanchor="bottom", showarrow=False,
                                    font=dict(size=14)))
        top = lo - vertical_spacing
    if annotations:
        out["annotations"] = annotations
    return out


def vline_shape(x: float, row: int | None = None, color: str = MARKER_LINE, dash: str = "dash",
                width: float = 1.0, n_rows: int = 1) -> list[dict]:
    """Vertical guide line(s) at ``x`` spanning one row (or all ``n_rows`` when row is None)."""
    rows = [row] if row is not None else range(1, n_rows + 1)
    shapes = []
    for r in rows:
        xa, ya = axis_ref(r)
        shapes.append(dict(type="line", x0=x, x1=x, y0=0, y1=1, xref=xa, yref=f"{ya} domain",
                           line=dict(color=color, dash=dash, width=width)))
    return shapes


def display_sample(n: int, max_points: int, seed: int = 0) -> np.ndarray:
    """Indices of the rows drawn: all of them when ``n <= max_points``, else a fixed
    random subset of ``max_points`` rows (sorted), the same on every step."""
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_points, replace=False))


def rgb_to_scale(rgb: np.ndarray, quantum: int = 4) -> tuple[np.ndarray, list, int]:
    """Per-point RGB colours as integer codes on a colour scale that reproduces them.

    Colours are rounded to multiples of ``quantum`` per channel (invisible on screen); the
    distinct ones become the stops of a colour scale, and point i gets the code of its
    colour. Draw with ``color=codes, colorscale=scale, cmin=0, cmax=cmax``: plotly validates
    numbers far faster than colour strings, and integer codes stay exact in JSON.

    Parameters
    ----------
    rgb : (N, 3) array of 0..255 values

    Returns
    -------
    codes : (N,) array in 0..cmax of the smallest unsigned integer type that holds cmax
        (uint8 for up to 256 colours: a compact typed array in the figure's JSON)
    colorscale : list of [position, "#rrggbb"]
    cmax : int (at least 1)
    """
    rgb = np.asarray(rgb, dtype=float).reshape(-1, 3)
    if len(rgb) == 0:
        return np.zeros(0, dtype=np.uint8), [[0.0, NEUTRAL], [1.0, NEUTRAL]], 1
    q = np.clip(np.round(rgb / quantum) * quantum, 0, 255).astype(np.int64)
    packed = (q[:, 0] << 16) | (q[:, 1] << 8) | q[:, 2]  # one integer per colour: fast unique
    uniq, inv = np.unique(packed, return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    hexes = [f"#{int(v):06x}" for v in uniq]
    if len(uniq) == 1:
        return np.zeros(len(rgb), dtype=np.uint8), [[0.0, hexes[0]], [1.0, hexes[0]]], 1
    pos = np.linspace(0.0, 1.0, len(uniq))
    codes = inv.astype(np.min_scalar_type(len(uniq) - 1))
    return codes, [[float(p), h] for p, h in zip(pos, hexes, strict=True)], len(uniq) - 1


def colors_to_scale(colors: list[str], quantum: int = 4) -> tuple[np.ndarray, list]:
    """Per-point hex colours as (values in [0, 1], colour scale); see :func:`rgb_to_scale`."""
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=float)
    codes, scale, cmax = rgb_to_scale(rgb.reshape(-1, 3), quantum)
    return codes / cmax, scale


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (1, 2, 2.5 or 5 times a power of ten)."""
    if not np.isfinite(hi - lo) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, n)
    mag = 10 ** np.floor(np.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    start = np.ceil(lo / step) * step
    return [float(v) for v in np.arange(start, hi + step * 1e-9, step)]


#: Room that Plotly's automargin takes beside a y axis with a title, besides the widest tick
#: label: the title's line (0.92 of the font size: Plotly sets an axis title 7/6 as big as the
#: tick labels) and fixed gaps. Measured in chromium (37 px at the app's 15 px font, 34 px at
#: Plotly's default 12 px), and 3 px asked for to spare (see :mod:`emviz.fontmetrics`).
Y_TITLE_GAP_PX = 26
Y_TITLE_EM = 0.92
#: Room below an x axis with a title and one line of tick labels, measured the same way
#: (57 px, and 3 to spare).
X_TITLE_ROOM_PX = 60


def tick_labels(lo: float, hi: float, n: int = 6) -> list[str]:
    """The tick labels Plotly prints on a linear axis over [lo, hi] with no tick format of its
    own, near enough to size a margin: about ``n`` ticks 1, 2 or 5 times a power of ten apart,
    with the decimals that spacing needs and trailing zeros dropped; from 10 000 on, the whole
    axis in thousands, millions or billions (10k, 1.5M, 2B: Plotly's default exponent format);
    a minus sign as "−"."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return [f"{lo:g}".replace("-", "−")]
    raw = (hi - lo) / max(1, n)
    mag = 10 ** np.floor(np.log10(raw))
    step = min(m * mag for m in (1, 2, 5, 10) if m * mag >= raw * (1 - 1e-12))
    big = max(abs(lo), abs(hi))
    unit, suffix = next(((u, x) for u, x in ((1e9, "B"), (1e6, "M"), (1e3, "k"))
                         if big >= 1e4 and big >= u), (1.0, ""))
    dec = max(0, int(np.ceil(-np.log10(step / unit) - 1e-9)))
    out = []
    for v in np.arange(np.ceil(lo / step) * step, hi + step * 1e-9, step):
        text = f"{abs(v) / unit:.{dec}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        out.append("0" if text == "0" else ("−" if v < 0 else "") + text + suffix)
    return out


def y_axis_room(labels, size: float = FONT["size"]) -> int:
    """Left margin (px) for a titled y axis with these tick labels: what Plotly's automargin
    would take, and a little more (see :mod:`emviz.fontmetrics` for why a figure asks for it
    up front)."""
    return int(np.ceil(Y_TITLE_GAP_PX + Y_TITLE_EM * size + widest_px(labels, size)))


#: Room that a colour bar to the right of the plot takes besides its widest tick label (its
#: bar, gaps and title), measured in chromium with the chart 820 px wide; the gap before the
#: bar is 2 % of the plot's width, so a much wider chart still widens the margin itself.
COLORBAR_ROOM_PX = 72


def colorbar_room(labels, size: float = FONT["size"]) -> int:
    """Right margin (px) for a colour bar with these tick labels (see :func:`y_axis_room`)."""
    return int(np.ceil(COLORBAR_ROOM_PX + widest_px(labels, size)))


def _span(*series) -> tuple[float, float]:
    """Smallest and largest finite value over the series."""
    vals = np.concatenate([np.asarray(a, dtype=float).ravel() for a in series])
    vals = vals[np.isfinite(vals)]
    return (float(vals.min()), float(vals.max())) if len(vals) else (0.0, 1.0)


def has_penalty(trace) -> bool:
    """True when the fit maximised ℓ plus a non-trivial log-prior (``Trace.has_prior``)."""
    return bool(getattr(trace, "has_prior", False))


#: Relative size below which a number that theory says is ≥ 0 (a KL divergence, a gap) is
#: floating-point round-off: such a number is shown as 0, never as a tiny negative.
ROUND_OFF = 1e-10


def zero_if_round_off(x: float, scale: float = 1.0) -> float:
    """``0.0`` when ``|x| ≤ ROUND_OFF · max(1, |scale|)``, else ``x`` unchanged."""
    x = float(x)
    return 0.0 if abs(x) <= ROUND_OFF * max(1.0, abs(float(scale))) else x


_SUPS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def theta_it(t: int, latex: bool = False) -> str:
    """θ at iteration t: ``"θ⁽³⁾"``, or ``r"\theta^{(3)}"`` with ``latex=True``.

    Iterations are superscripts in parentheses everywhere in the app; a subscript (θ_k)
    always means component k.
    """
    if latex:
        return rf"\theta^{{({int(t)})}}"
    return "θ⁽" + str(int(t)).translate(_SUPS) + "⁾"


def objective_symbol(hard: bool, penalised: bool, latex: bool = False) -> str:
    """What EM provably never lowers: ``ℓ``, ``ℓ + log p``, ``ℓ_C`` or ``ℓ_C + log p``.

    Plain EM maximises the log-likelihood ℓ; with a prior or penalty (reg > 0, α ≠ 1) it
    maximises ℓ + log p(θ); hard (classification) EM maximises the classification
    log-likelihood ℓ_C (plus log p with a prior).
    """
    if latex:
        ell = r"\ell_C" if hard else r"\ell"
        return ell + (r" + \log p" if penalised else "")
    ell = "ℓ_C" if hard else "ℓ"
    return ell + (" + log p" if penalised else "")


def objective_phrase(hard: bool, penalised: bool) -> str:
    """The same in words, e.g. ``"classification log-likelihood ℓ_C"``."""
    if hard:
        base = "classification log-likelihood ℓ_C"
    else:
        base = "log-likelihood ℓ"
    return f"penalised {base} + log p" if penalised else base


def half_step_values(trace) -> dict[str, np.ndarray]:
    """Per-half-step series of a trace.

    Returns
    -------
    dict with arrays of length ``2 * n_iter + 1``:
        ``loglik`` — ℓ of the parameters shown at each half-step;
        ``objective`` — ℓ + log prior of those parameters (what EM maximises);
        ``bound`` — the lower bound L(q, θ) + log prior at each half-step: at s = 0 it is
        undefined (NaN), right after E-step t+1 it equals ``objective[t]`` (KL = 0), after
        M-step t+1 it is ``elbo[t] + log_prior[t+1]`` = L(q_t, θ_{t+1}) + log p(θ_{t+1}).
    """
    ll = np.asarray(trace.log_likelihood, dtype=float)
    obj = np.asarray(trace.objective, dtype=float)
    elbo = np.asarray(trace.elbo, dtype=float)
    n_iter = int(trace.n_iter)
    lp = np.asarray(getattr(trace, "log_prior", np.zeros(n_iter + 1)), dtype=float)
    S = 2 * n_iter + 1
    positions = [half_step_position(s) for s in range(S)]
    idx = np.array([t + (kind == "M") for kind, t in positions], dtype=int)
    bound = np.array([np.nan if kind == "init" else obj[t] if kind == "E"
                      else elbo[t] + lp[t + 1] for kind, t in positions])
    return {"loglik": ll[idx], "objective": obj[idx], "bound": bound}


#: Below this chart width (px) the step player draws a figure's narrow variant, when it has
#: one (``layout.meta.narrow = {"below": NARROW_PX, "layout": {...}, "data": {...}}``).
NARROW_PX = 560

#: Room (px) for a subplot's title between the top panel and a legend above it.
TITLE_ROOM_PX = 26


def base_layout(title: str, height: int, **extra) -> dict:
    """The layout every figure shares: title, height, font, transparent backgrounds, legend.

    The title sits at the top left; the legend runs in one row between the title and the
    plot (the top margin leaves room for both).

    Extra keyword arguments are merged in (``xaxis=dict(...)``, ``shapes=[...]``, …). Passing
    the layout once to ``go.Figure`` is several times faster than repeated ``update_layout``.
    """
    lay = dict(
        title=dict(text=title, x=0.0, xanchor="left", y=1.0, yanchor="top", yref="container",
                   pad=dict(t=8), font=dict(size=17)),
        height=height,
        margin=dict(l=10, r=10, t=88, b=10),
        font=FONT,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0.0,
                    font=dict(size=13), traceorder="normal"),
    )
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(lay.get(k), dict):
            lay[k] = {**lay[k], **v}
        else:
            lay[k] = v
    return lay


def _style(fig: go.Figure, title: str, height: int) -> go.Figure:
    """Apply :func:`base_layout` to an existing figure (for builders outside the hot path)."""
    fig.update_layout(**base_layout(title, height))
    return fig


def _iteration_ticks(n_half_steps: int) -> dict:
    """x ticks of a half-step axis labelled by iteration: iteration t ends at half-step 2t."""
    n_iter = (n_half_steps - 1) // 2
    its = [int(v) for v in nice_ticks(0, max(n_iter, 1), 6) if v <= n_iter and float(v).is_integer()]
    return dict(tickvals=[2 * t for t in its], ticktext=[str(t) for t in its])


def loglik_figure(trace, hs, height: int = 320) -> dict:
    """The log-likelihood over half-steps with the current half-step marked.

    E-steps leave ℓ unchanged (flat segments) and lift the lower bound up to it; M-steps raise
    both. With a penalty (reg > 0, alpha != 1) the curve shows the objective EM maximises,
    ℓ + log prior, and ℓ itself is drawn dotted. For hard EM the main curve is what hard EM
    maximises, the classification log-likelihood ℓ_C (+ log prior), and ℓ is drawn dotted.

    Parameters
    ----------
    trace : emcore Trace
    hs : emcore.HalfStep
        The current half-step (``trace.half_step(s)``).

    Returns
    -------
    dict
        The figure as a Plotly figure dictionary (see the note at the top of this module).
    """
    v = half_step_values(trace)
    S = len(v["loglik"])
    s = int(hs.s)
    if not 0 <= s < S:
        raise IndexError(f"half-step must be in 0..{S - 1}, got {s}")
    x = np.arange(S)
    labels = np.array([half_step_label(i) for i in range(S)])
    penalised = has_penalty(trace)
    hard = bool(getattr(trace, "hard", False))
    other = penalised or hard  # the maximised objective is not ℓ itself
    main = v["objective"] if other else v["loglik"]
    main_name = (objective_symbol(hard, penalised) + " (maximised)") if other \
        else "log-likelihood ℓ(θ)"
    data = [dict(type="scatter",
        x=x, y=main, mode="lines+markers", name=main_name, customdata=labels,
        line=dict(color=CURVE, width=3), marker=dict(size=5, color=CURVE),
        hovertemplate="%{customdata}<br>%{y:.4f}<extra></extra>")]
    if other:
        data.append(dict(type="scatter",
            x=x, y=v["loglik"], mode="lines", name="ℓ alone", customdata=labels,
            line=dict(color=CURVE, width=1.5, dash="dot"),
            hovertemplate="%{customdata}<br>ℓ = %{y:.4f}<extra></extra>"))
    data.append(dict(type="scatter",
        x=x, y=v["bound"], mode="markers",
        name="Q with the labels fixed" if hard else "lower bound 𝓛", customdata=labels,
        marker=dict(size=7, symbol="triangle-up-open", color=CURVE, line=dict(color=CURVE, width=1.5)),
        hovertemplate="%{customdata}<br>" + ("Q" if hard else "𝓛")
        + " = %{y:.4f}<extra></extra>"))
    # The current half-step is marked by layout shapes (a ring and a dotted line), not by a
    # trace: a step then changes only the layout, which Plotly redraws without the curves.
    ring = dict(type="circle", xref="x", yref="y", xsizemode="pixel", ysizemode="pixel",
                xanchor=s, yanchor=float(main[s]), x0=-8, x1=8, y0=-8, y1=8,
                line=dict(color=CURVE, width=3), name=str(labels[s]))
    layout = base_layout(
        (f"{objective_symbol(hard, penalised)} — {labels[s]}: {main[s]:.3f}" if other
         else f"Log-likelihood — {labels[s]}: {main[s]:.3f}"), height,
        xaxis=dict(title=dict(text="iteration t (one E-step + one M-step each)"),
                   rangemode="tozero", **_iteration_ticks(S)),
        yaxis=dict(title=dict(text="log-likelihood (nats)")),
        shapes=vline_shape(s) + [ring],
        # room for the tick labels up front (automargin would otherwise draw the figure twice)
        margin=dict(l=y_axis_room(tick_labels(*_span(main, v["loglik"], v["bound"]))),
                    b=X_TITLE_ROOM_PX))
    return {"data": data, "layout": layout}


def _component_sd(params) -> np.ndarray:
    """(K, D) standard deviations (square roots of the covariance diagonals)."""
    cov = np.asarray(params.covariances, dtype=float)
    return np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0))


def parameter_series(trace) -> dict[str, np.ndarray]:
    """Trajectories of the parameters over iterations t = 0..n_iter.

    Returns
    -------
    dict with ``weights`` (T+1, K) and, for Gaussian fits, ``means`` (T+1, K, D) and ``sds``
    (T+1, K, D) (square roots of the covariance diagonals).
    """
    out = {"weights": np.array([np.asarray(p.weights, dtype=float) for p in trace.params])}
    if getattr(trace, "family", "gaussian") == "gaussian":
        out["means"] = np.array([np.asarray(p.means, dtype=float) for p in trace.params])
        out["sds"] = np.array([_component_sd(p) for p in trace.params])
    return out


def trajectory_figure(trace, hs, feature_names: list[str] | None = None,
                      unit: str | None = None, height: int | None = None) -> go.Figure:
    """Trajectories of π_k (and μ_k, σ_k for Gaussians) over iterations, current one marked.

    Rows: mixing weights π; for a Gaussian fit, one row of means per feature (at most three)
    and, when D = 1, a row of standard deviations σ. Component k is drawn in
    ``component_color(k)``. The vertical guide marks the θ shown at the half-step ``hs``.
    """
    series = parameter_series(trace)
    W = series["weights"]
    T1, K = W.shape
    t_now = hs.theta_index
    rows: list[tuple[str, np.ndarray, str]] = []  # (title, (T+1, K) values, y label)
    suffix = f" ({unit})" if unit else ""
    if "means" in series:
        D = series["means"].shape[2]
        names = feature_names or [f"x{d + 1}" for d in range(D)]
        for d in range(min(D, 3)):
            name = names[d] if d < len(names) else f"x{d + 1}"
            label = "means μₖ" if D == 1 else f"means μₖ of {name}"
            rows.append((label, series["means"][:, :, d], f"μ{suffix}" if D == 1 else name))
        if D == 1:
            rows.append(("standard deviations σₖ", series["sds"][:, :, 0], f"σ{suffix}"))
    rows.append(("mixing weights πₖ", W, "π"))
    n_rows = len(rows)
    data = []
    t = np.arange(T1)
    t_idx = min(t_now, T1 - 1)
    layout = rows_layout(n_rows, vertical_spacing=0.1 / max(1, n_rows - 1) if n_rows > 1 else 0.0,
                         titles=[r[0] for r in rows])
    for r, (_, vals, ylab) in enumerate(rows, start=1):
        xa, ya = axis_ref(r)
        for k in range(K):
            data.append(go.Scatter(
                x=t, y=vals[:, k], mode="lines", name=f"component {k + 1}",
                legendgroup=f"c{k}", showlegend=(r == 1), xaxis=xa, yaxis=ya,
                line=dict(color=component_color(k), width=2.5),
                hovertemplate=f"component {k + 1}<br>t = %{{x}}<br>%{{y:.4g}}<extra></extra>"))
        data.append(go.Scatter(
            x=[t_idx] * K, y=vals[t_idx, :], mode="markers", showlegend=False,
            hoverinfo="skip", xaxis=xa, yaxis=ya,
            marker=dict(size=9, color=[component_color(k) for k in range(K)],
                        line=dict(width=1, color="white"))))
        layout[("yaxis" if r == 1 else f"yaxis{r}")]["title"] = dict(text=ylab)
    layout[("xaxis" if n_rows == 1 else f"xaxis{n_rows}")]["title"] = dict(text="iteration t")
    layout["shapes"] = vline_shape(t_now, n_rows=n_rows)
    h = height or 150 + 170 * n_rows
    layout = base_layout(f"Parameters over iterations — {theta_it(t_now)} shown", h, **layout)
    # The legend sits above the first panel's title, not on it (the title is centred, the
    # legend starts at the left: they met at 1024 px with long column names, and on a phone).
    layout["margin"]["t"] += TITLE_ROOM_PX
    plot_h = h - layout["margin"]["t"] - layout["margin"]["b"]
    layout["legend"]["y"] = 1.0 + TITLE_ROOM_PX / max(plot_h, 1)
    return go.Figure(data=data, layout=layout)


def restarts_figure(traces, height: int = 340) -> go.Figure:
    """The log-likelihood of several restarts (one per seed) over iterations.

    The restart with the highest final objective is drawn solid and thick; the others dotted.
    Legend entries give each restart's seed label, final ℓ and status, so local optima that
    end lower are visible at a glance.
    """
    if not traces:
        raise ValueError("restarts_figure needs at least one trace")
    finals = np.array([float(tr.objective[-1]) for tr in traces])
    best = int(np.argmax(finals))
    fig = go.Figure()
    for i, tr in enumerate(traces):
        ll = np.asarray(tr.objective if has_penalty(tr) else tr.log_likelihood, dtype=float)
        is_best = i == best
        fig.add_trace(
            go.Scatter(
                x=np.arange(len(ll)), y=ll, mode="lines",
                name=f"restart {i + 1}: ℓ = {ll[-1]:.2f} ({tr.status})" + (" ★ best" if is_best else ""),
                line=dict(color=CURVE if is_best else NEUTRAL, width=3.5 if is_best else 1.8,
                          dash="solid" if is_best else ["dot", "dash", "dashdot", "longdash"][i % 4]),
                hovertemplate=f"restart {i + 1}<br>t = %{{x}}<br>ℓ = %{{y:.4f}}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="iteration t")
    fig.update_yaxes(title_text="log-likelihood (nats)")
    fig.update_layout(legend=dict(orientation="v", yanchor="top", y=-0.25, x=0.0, xanchor="left"))
    fig = _style(fig, f"{len(traces)} restarts (different seeds) — different local optima", height)
    fig.update_layout(legend=dict(orientation="v", yanchor="top", y=-0.22, x=0.0, xanchor="left"),
                      margin=dict(b=20 + 24 * len(traces)), height=height + 24 * len(traces))
    return fig


class FrozenFigure(go.Figure):
    """A finished figure held as its JSON dictionary: the one frozen-figure mechanism.

    ``st.plotly_chart`` and ``plotly.io.to_json`` read a figure through its public
    ``to_dict()``, which for an ordinary figure deep-copies (and base64-encodes) every trace
    and every animation frame on every rerun. A frozen figure returns the dictionary it was
    made from, so a cached figure costs only its JSON encoding and is never validated again.

    Make one with :func:`freeze` (a finished figure) or :func:`frozen_figure` (traces,
    layout and animation frames, the fast way). Read it through ``to_dict()`` /
    ``to_json()``: the graph-object attributes (``.data``, ``.layout``, ``.frames``) stay
    empty. Never modify the dictionary: it is shared by every session that draws the figure.
    """

    def __init__(self, fig_dict: dict):
        super().__init__()
        self._frozen_dict = fig_dict

    def to_dict(self):  # noqa: D102 - see class docstring
        return self._frozen_dict

    def to_plotly_json(self):  # noqa: D102
        return self._frozen_dict


def freeze(fig) -> FrozenFigure:
    """A finished figure as a :class:`FrozenFigure` (its ``to_dict()`` computed once).

    ``fig`` is a ``go.Figure`` or a figure dictionary; a dictionary is wrapped once by the
    public constructor ``go.Figure(fig)`` (validated, with the default template, as
    ``st.plotly_chart`` would on every rerun)."""
    return FrozenFigure((fig if isinstance(fig, go.Figure) else go.Figure(fig)).to_dict())


def frozen_figure(data, layout: dict, frames=()) -> FrozenFigure:
    """Build a (possibly animated) figure once, as a :class:`FrozenFigure`.

    Parameters
    ----------
    data : list of traces (graph objects or dicts)
    layout : dict
    frames : sequence of dict
        Animation frames as Plotly describes them: ``name``, ``data`` (a list of trace
        dictionaries with their ``type``, only the properties that change) and optionally
        ``traces`` (the indices of the traces they update) and ``layout``.

    The traces and the layout go through the public ``go.Figure`` constructor (validated
    once). The frames do not: ``go.Figure(frames=...)`` would validate every frame (one
    regular expression per point colour: seconds for a long run), so their traces are put
    in the dictionary as Plotly.js reads them (numeric arrays as typed arrays, by
    :func:`emviz.player.figure_json`). The tests validate the frames by rebuilding the whole
    figure with ``go.Figure(fig.to_dict())``.
    """
    frames = list(frames)
    fig_dict = go.Figure(data=data, layout=layout).to_dict()
    if frames:
        flat = [tr for fr in frames for tr in fr["data"]]
        encoded = figure_json({"data": flat})["data"]
        out, start = [], 0
        for fr in frames:
            stop = start + len(fr["data"])
            out.append({**{k: v for k, v in fr.items() if k != "data"},
                        "data": encoded[start:stop]})
            start = stop
        fig_dict["frames"] = out
    return FrozenFigure(fig_dict)


def frame_indices(n_half_steps: int, max_frames: int = 120) -> np.ndarray:
    """Half-steps used as animation frames: all of them when few, else an even subsample.

    The first and last half-steps are always included, and the E/M alternation is kept for
    the early iterations (where most of the change happens) by taking every half-step of the
    first ``max_frames // 2`` and spacing the rest evenly.
    """
    if n_half_steps <= max_frames:
        return np.arange(n_half_steps)
    head = np.arange(max_frames // 2)
    tail = np.linspace(max_frames // 2, n_half_steps - 1, max_frames - len(head)).round().astype(int)
    return np.unique(np.concatenate([head, tail]))


def animation_controls(frame_names: list[str], duration_ms: int = 350) -> dict:
    """Plotly ``updatemenus`` + ``sliders`` layout entries for a play/pause animation."""
    play = dict(label="▶ Play", method="animate",
                args=[None, dict(frame=dict(duration=duration_ms, redraw=True),
                                 transition=dict(duration=0), fromcurrent=True, mode="immediate")])
    pause = dict(label="❚❚ Pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate",
                                    transition=dict(duration=0))])
    steps = [dict(method="animate", label=name,
                  args=[[name], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                     transition=dict(duration=0))])
             for name in frame_names]
    return dict(
        updatemenus=[dict(type="buttons", direction="left", buttons=[play, pause], showactive=False,
                          x=0.0, xanchor="left", y=-0.18, yanchor="top", pad=dict(t=0, r=10))],
        sliders=[dict(active=0, steps=steps, x=0.18, len=0.82, y=-0.12, yanchor="top",
                      currentvalue=dict(prefix="Animation: ", xanchor="right", font=dict(size=14)),
                      pad=dict(t=10, b=0))],
    )


# ----------------------------------------------------------------------------------------------
# matching fitted components with a reference (the one home of the Hungarian algorithm)
# ----------------------------------------------------------------------------------------------
def match_by_cost(cost) -> np.ndarray:
    """The one-to-one pairing of rows with columns of ``cost`` (R ≤ C) of least total cost.

    Returns ``order`` (R,): ``order[j]`` is the column paired with row ``j``.
    """
    cost = np.asarray(cost, dtype=float)
    rows, cols = linear_sum_assignment(cost)
    order = np.empty(cost.shape[0], dtype=int)
    order[rows] = cols
    return order


def match_counts(table) -> tuple[np.ndarray, np.ndarray, int]:
    """Pair the rows (components) of a contingency ``table`` with its columns (labels) so that
    as many items as possible agree: returns (rows, cols, number of agreeing items)."""
    table = np.asarray(table)
    rows, cols = linear_sum_assignment(-table)
    return rows, cols, int(table[rows, cols].sum())
