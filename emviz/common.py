"""Figure builders shared by every fitting page (no Streamlit here).

Half-steps
----------
A fit with ``n_iter`` iterations has ``2 * n_iter + 1`` half-steps ``s``:

* ``s = 0``        — the starting guess θ₀;
* ``s = 2t + 1``   — "E-step t+1": θ_t is unchanged, the responsibilities q_t are recomputed;
* ``s = 2t + 2``   — "M-step t+1": θ_{t+1} is re-estimated from q_t.

The helpers below turn ``s`` into labels and iteration indices without computing any
responsibilities, so they are cheap enough to call on every rerun.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from emviz.palette import NEUTRAL, component_color

#: Colour of curves that belong to no component (log-likelihood, bound). A mid grey reads on
#: both the light and the dark Streamlit theme.
CURVE = "#8C8C8C"
#: Colour of the "you are here" marker: Okabe–Ito vermillion would clash with component 5,
#: so the marker is a hollow ring of the curve colour plus a vertical guide.
MARKER_LINE = "#8C8C8C"

FONT = dict(size=15)


def half_step_kind(s: int) -> str:
    """``"init"``, ``"E"`` or ``"M"`` for half-step ``s``."""
    if s < 0:
        raise ValueError(f"half-step must be >= 0, got {s}")
    if s == 0:
        return "init"
    return "E" if s % 2 == 1 else "M"


def half_step_label(s: int) -> str:
    """Human label of half-step ``s``: ``"θ₀ (start)"``, ``"E-step 3"``, ``"M-step 3"``."""
    kind = half_step_kind(s)
    if kind == "init":
        return "θ₀ (start)"
    return f"{kind}-step {(s + 1) // 2}"


def half_step_theta_index(s: int) -> int:
    """Index t of the parameters θ_t shown at half-step ``s`` (θ_t at E-step t+1, θ_{t+1} at M)."""
    kind = half_step_kind(s)
    if kind == "init":
        return 0
    if kind == "E":
        return (s - 1) // 2
    return s // 2


def half_step_iteration(s: int) -> int | None:
    """Index t of the step θ_t → θ_{t+1} that half-step ``s`` belongs to (None at s = 0)."""
    if s == 0:
        return None
    return (s - 1) // 2


def has_penalty(trace) -> bool:
    """True when the fit maximised ℓ plus a non-trivial log-prior (reg > 0 or alpha != 1)."""
    if getattr(trace, "family", "gaussian") == "multinomial":
        return float(getattr(trace, "alpha", 1.0) or 1.0) != 1.0
    return float(getattr(trace, "reg", 0.0) or 0.0) > 0.0


def half_step_values(trace) -> dict[str, np.ndarray]:
    """Per-half-step series of a trace.

    Returns
    -------
    dict with arrays of length ``2 * n_iter + 1``:
        ``loglik`` — ℓ of the parameters shown at each half-step;
        ``objective`` — ℓ + log prior of those parameters (what EM maximises);
        ``bound`` — the lower bound L(q, θ) (+ log prior) at each half-step: at s = 0 it is
        undefined (NaN), right after E-step t+1 it equals ``objective[t]`` (KL = 0), after
        M-step t+1 it is ``elbo[t]`` = L(q_t, θ_{t+1}).
    """
    ll = np.asarray(trace.log_likelihood, dtype=float)
    obj = np.asarray(trace.objective, dtype=float)
    elbo = np.asarray(trace.elbo, dtype=float)
    n_iter = int(trace.n_iter)
    S = 2 * n_iter + 1
    idx = np.array([half_step_theta_index(s) for s in range(S)], dtype=int)
    bound = np.full(S, np.nan)
    for t in range(n_iter):
        bound[2 * t + 1] = obj[t]
        bound[2 * t + 2] = elbo[t]
    return {"loglik": ll[idx], "objective": obj[idx], "bound": bound}


def _style(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left", font=dict(size=17)),
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        font=FONT,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
    )
    return fig


def loglik_figure(trace, s: int, height: int = 320) -> go.Figure:
    """The log-likelihood over half-steps with the current half-step marked.

    E-steps leave ℓ unchanged (flat segments) and lift the lower bound up to it; M-steps raise
    both. With a penalty (reg > 0, alpha != 1) the curve shows the objective EM maximises,
    ℓ + log prior, and ℓ itself is drawn dotted.

    Parameters
    ----------
    trace : emcore Trace
    s : int
        Current half-step, ``0 <= s <= 2 * n_iter``.
    """
    v = half_step_values(trace)
    S = len(v["loglik"])
    s = int(np.clip(s, 0, S - 1))
    x = np.arange(S)
    labels = [half_step_label(i) for i in range(S)]
    penalised = has_penalty(trace)
    main = v["objective"] if penalised else v["loglik"]
    main_name = "ℓ(θ) + log prior (maximised)" if penalised else "log-likelihood ℓ(θ)"
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x, y=main, mode="lines+markers", name=main_name, customdata=labels,
            line=dict(color=CURVE, width=3), marker=dict(size=5, color=CURVE),
            hovertemplate="%{customdata}<br>%{y:.4f}<extra></extra>",
        )
    )
    if penalised:
        fig.add_trace(
            go.Scatter(
                x=x, y=v["loglik"], mode="lines", name="ℓ(θ) alone", customdata=labels,
                line=dict(color=CURVE, width=1.5, dash="dot"),
                hovertemplate="%{customdata}<br>ℓ = %{y:.4f}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x, y=v["bound"], mode="markers", name="lower bound L(q, θ)", customdata=labels,
            marker=dict(size=7, symbol="triangle-up", color="rgba(0,0,0,0)",
                        line=dict(color=CURVE, width=1.5)),
            hovertemplate="%{customdata}<br>L = %{y:.4f}<extra></extra>",
        )
    )
    fig.add_vline(x=s, line=dict(color=MARKER_LINE, width=1, dash="dash"))
    fig.add_trace(
        go.Scatter(
            x=[s], y=[main[s]], mode="markers", name=labels[s], showlegend=False,
            marker=dict(size=15, symbol="circle-open", color=CURVE, line=dict(width=3)),
            hoverinfo="skip",
        )
    )
    fig.update_xaxes(title_text="half-step (θ₀, E1, M1, E2, M2, …)", rangemode="tozero")
    fig.update_yaxes(title_text="log-likelihood (nats)")
    return _style(fig, f"Log-likelihood — now at {labels[s]}: {main[s]:.3f}", height)


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


def trajectory_figure(trace, s: int, feature_names: list[str] | None = None,
                      unit: str | None = None, height: int | None = None) -> go.Figure:
    """Trajectories of π_k (and μ_k, σ_k for Gaussians) over iterations, current one marked.

    Rows: mixing weights π; for a Gaussian fit, one row of means per feature (at most three)
    and, when D = 1, a row of standard deviations σ. Component k is drawn in
    ``component_color(k)``. The vertical guide marks the θ shown at half-step ``s``.
    """
    series = parameter_series(trace)
    W = series["weights"]
    T1, K = W.shape
    t_now = half_step_theta_index(int(s))
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
    fig = make_subplots(rows=n_rows, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[r[0] for r in rows])
    t = np.arange(T1)
    for r, (_, vals, ylab) in enumerate(rows, start=1):
        for k in range(K):
            fig.add_trace(
                go.Scatter(
                    x=t, y=vals[:, k], mode="lines", name=f"component {k + 1}",
                    legendgroup=f"c{k}", showlegend=(r == 1),
                    line=dict(color=component_color(k), width=2.5),
                    hovertemplate=f"component {k + 1}<br>t = %{{x}}<br>%{{y:.4g}}<extra></extra>",
                ),
                row=r, col=1,
            )
            fig.add_trace(
                go.Scatter(
                    x=[t_now], y=[vals[min(t_now, T1 - 1), k]], mode="markers",
                    showlegend=False, legendgroup=f"c{k}", hoverinfo="skip",
                    marker=dict(size=9, color=component_color(k), line=dict(width=1, color="white")),
                ),
                row=r, col=1,
            )
        fig.update_yaxes(title_text=ylab, row=r, col=1)
    fig.add_vline(x=t_now, line=dict(color=MARKER_LINE, width=1, dash="dash"))
    fig.update_xaxes(title_text="iteration t", row=n_rows, col=1)
    return _style(fig, f"Parameters over iterations — θ_{t_now} shown", height or 150 + 170 * n_rows)


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
                      currentvalue=dict(prefix="Animation: ", font=dict(size=14)),
                      pad=dict(t=10, b=0))],
    )
