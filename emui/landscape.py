"""The likelihood-landscape panel (1-D pages, K = 2): built only when the learner asks.

A toggle (off by default) opens it. The slice holds σ and π at one half-step, pinned when the
panel is opened or when the learner presses "Re-slice"; moving the step slider never
recomputes the grid (it is cached per fit and pinned θ). The panel is a fragment, so its own
controls rerun only the panel.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from emcore import half_step_label
from emcore import landscape as land
from emui.fitting import data_fingerprint
from emviz.common import freeze, theta_it
from emviz.landscape import ascent_figure, collapse_figure, landscape_figure
from emviz.texnum import sub

GRID_POINTS = 81
N_RESTARTS = 4
ASCENT_STEPS = 200
STEP_SIZES = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)
PRIOR_FOR_DEMO = 1e-3


_SUPS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _sup(k: int) -> str:
    return str(int(k)).translate(_SUPS)


@st.cache_resource(max_entries=16, show_spinner="Fitting the restarts…")
def _restarts(fp: str, settings_key: str, _x, _settings):
    import emcore

    s = _settings
    return emcore.fit_restarts(_x, 2, n_init=N_RESTARTS, seed=int(s.seed) + 1,
                               init="random_from_data", reg=s.reg, max_iter=s.max_iter,
                               tol=s.tol)


@st.cache_resource(max_entries=32, show_spinner="Computing ℓ on the grid…")
def _grid(fp: str, settings_key: str, t: int, _x, _trace, _restart_means):
    means = [land.mean_path(_trace)["means"], *_restart_means]
    lo, hi = land.mean_region(_x, means)
    grid = np.linspace(lo, hi, GRID_POINTS)
    return grid, land.mean_slice(_x, _trace.params[t], grid)


@st.cache_resource(max_entries=32, show_spinner=False)
def _ascent(fp: str, settings_key: str, step: float, free: str, _x, _start):
    return land.gradient_ascent(_x, _start, step, n_steps=ASCENT_STEPS, free=free)


def _pin(key: str) -> None:
    st.session_state[f"{key}_land_at"] = int(st.session_state.get(f"{key}_step", 0))


def landscape_panel(x, trace, settings, key: str, axis=None, unit: str = "") -> None:
    """The landscape toggle and, when it is on, the panel. Does nothing unless K = 2 and D = 1.

    Parameters
    ----------
    x : ndarray (N,)
        The 1-D data of the fit.
    trace : emcore Trace of that fit
    settings : emui.FitSettings of that fit (the restarts reuse reg, max_iter, tol)
    key : str
        The page prefix (the step slider's state is ``f"{key}_step"``).
    axis : emviz.gauss1d.AxisFormat, optional
        Tick labels of both mean axes.
    unit : str
        Appended to the axis titles.
    """
    if trace.n_components != 2 or trace.params[0].n_features != 1 or trace.family != "gaussian":
        return
    on = st.toggle("⛰ Likelihood landscape ℓ(μ₁, μ₂)", key=f"{key}_land_on", value=False,
                   on_change=_pin, args=(key,),
                   help="A contour map of the log-likelihood over the two means, with EM's path, "
                        "restarts and gradient ascent drawn on it.")
    if on:
        _panel(np.asarray(x, dtype=float).ravel(), trace, settings, key, axis, unit)


@st.cache_resource(max_entries=32, show_spinner=False)
def _built(fp: str, settings_key: str, s_at: int, step: float, free: str, swapped: bool, k: int,
           _x, _trace, _settings, _axis, _unit):
    """Figures (frozen: built and converted to JSON once) and captions of one panel state."""
    hs_at = _trace.half_step(s_at)
    t_at = hs_at.theta_index
    restarts = _restarts(fp, settings_key, _x, _settings)
    r_paths = [land.mean_path(tr) for tr in restarts]
    grid, Z = _grid(fp, settings_key, t_at, _x, _trace, tuple(p["means"] for p in r_paths))
    path = land.mean_path(_trace)
    ga = _ascent(fp, settings_key, float(step), free, _x, _trace.params[0])
    label = hs_at.label
    fig = landscape_figure(grid, Z.T if swapped else Z, path["means"], path["loglik"], t_at, label,
                           restarts=[(p["means"], p["loglik"]) for p in r_paths], ascent=ga,
                           swapped=swapped, axis=_axis, unit=_unit)
    reg = float(_settings.reg) if _settings.reg > 0 else PRIOR_FOR_DEMO
    sl = land.collapse_slice(_x, _trace.params[t_at], int(k), reg=reg)
    return {
        "landscape": freeze(fig),
        "ascent": freeze(ascent_figure(path["loglik"], ga)),
        "collapse": freeze(collapse_figure(sl)),
        "path_caption": path_caption(_trace, t_at, label) + " " + restarts_caption(restarts, _trace),
        "mirror_caption": mirror_caption(land.mirror_gap(_x, _trace.final_params), swapped),
        "ascent_caption": ascent_caption(ga, _trace, land.em_step_sizes(_x, _trace.params[0])),
        "collapse_caption": collapse_caption(sl, _settings.reg > 0),
    }


@st.fragment
def _panel(x, trace, settings, key, axis, unit) -> None:
    fp = data_fingerprint(x)
    sk = settings.cache_key()
    n_half = int(trace.n_half_steps)
    s_at = int(np.clip(st.session_state.get(f"{key}_land_at", 0), 0, n_half - 1))
    t_at = trace.half_step(s_at).theta_index
    with st.container(border=True):
        c1, c2, c3 = st.columns([3, 3, 2], vertical_alignment="bottom")
        step = c1.select_slider("Gradient-ascent rate η", options=STEP_SIZES, value=0.01,
                                key=f"{key}_land_eta", format_func=lambda v: f"{v:g}",
                                help="The fixed step size: θ ← θ + η·∇(ℓ/N). Too small "
                                     "crawls, too large overshoots or leaves the valid region.")
        free = c2.radio("Gradient ascent moves", ["all", "means"], horizontal=True,
                        key=f"{key}_land_free",
                        format_func=lambda v: "π, μ and σ" if v == "all" else "only μ (σ, π of θ⁽⁰⁾)")
        swapped = c3.toggle("Swap the held σ, π", key=f"{key}_land_swap",
                            help="Give component 1 the σ and π of component 2 and vice versa: the "
                                 "map becomes its mirror image across μ₁ = μ₂.")
        k_key = f"{key}_land_k"
        if k_key not in st.session_state:  # start with the narrower component at the pinned θ
            sds = np.sqrt(np.asarray(trace.params[t_at].covariances)[:, 0, 0])
            st.session_state[k_key] = int(np.argmin(sds))
        k = int(st.session_state[k_key])
        built = _built(fp, sk, s_at, float(step), free, bool(swapped), k, x, trace, settings,
                       axis, unit)
        st.plotly_chart(built["landscape"], key=f"{key}_land_fig", theme="streamlit")
        # The panel does not rerun when the learner steps, so the button does not name the
        # step: it re-slices at whatever half-step the player shows when it is pressed.
        st.button("Re-slice at the half-step on screen", key=f"{key}_land_repin",
                  on_click=_pin, args=(key,),
                  help=f"The slice is now taken at {half_step_label(s_at)}.")
        st.caption(built["path_caption"])
        st.caption(built["mirror_caption"])
        left, right = st.columns(2, gap="medium")
        with left:
            st.plotly_chart(built["ascent"], key=f"{key}_land_ga", theme="streamlit")
            st.caption(built["ascent_caption"])
        with right:
            st.radio("Collapse which component?", [0, 1], key=k_key, horizontal=True,
                     format_func=lambda v: f"component {v + 1}")
            st.plotly_chart(built["collapse"], key=f"{key}_land_spike", theme="streamlit")
            st.caption(built["collapse_caption"])


def path_caption(trace, t_at: int, held_label: str) -> str:
    """What the EM path and the contours mean (and which quantity never falls)."""
    if trace.hard:
        what = "the classification log-likelihood ℓ_C (hard EM)"
    elif trace.has_prior:
        what = f"ℓ + log prior (reg = {trace.reg:g}; ℓ alone may dip)"
    else:
        what = "ℓ(θ⁽ᵗ⁾)"
    return (f"Each orange dot is one θ⁽ᵗ⁾ of this run, drawn at its two means. Along the path "
            f"{what} — the value in its hover, with that θ⁽ᵗ⁾'s own σ and π — never decreases. "
            f"The contours are one slice through a five-dimensional surface: σ and π held at "
            f"{theta_it(t_at)} ({held_label}). Only the ringed dot sits at its own height on this "
            f"map; earlier dots had other σ and π, so the colour under them is not their ℓ.")


def restarts_caption(restarts, trace) -> str:
    """Where the restarts started and ended, against this run."""
    ends = ", ".join(f"{float(tr.log_likelihood[-1]):.3f}" for tr in restarts)
    return (f"Dashed black: {len(restarts)} restarts from random data points as starting means "
            f"(seeds {int(restarts[0].settings.get('seed') or 0)}…"
            f"{int(restarts[-1].settings.get('seed') or 0)}), each climbing to its own end ◇ "
            f"(ℓ = {ends}; this run: {float(trace.log_likelihood[-1]):.3f}).")


def mirror_caption(gap: dict, swapped: bool) -> str:
    """Label switching, stated for this slice."""
    if abs(gap["gap"]) < 1e-6 * max(1.0, abs(gap["loglik"])):
        tail = ("Here σ₁ = σ₂ and π₁ = π₂, so the slice itself is mirror-symmetric.")
    else:
        tail = (f"On the slice it sits {gap['gap']:.1f} nats lower, because only the means are "
                f"swapped there while σ and π stay; "
                + ("the switch above gives component 1 the σ and π of component 2, which "
                   "mirrors the whole map." if swapped else
                   "“Swap the held σ, π” mirrors the whole map across the dashed line."))
    return ("Label switching: swapping the names of the two components — all of (π₁, μ₁, σ₁) "
            "with (π₂, μ₂, σ₂) — gives the same fit with the same ℓ = "
            f"{gap['full_swap']:.3f}; the hollow star is EM's end reflected in μ₁ = μ₂. " + tail)


def ascent_caption(ga, trace, em_steps) -> str:
    """How gradient ascent ended, against EM, and EM's implicit step sizes."""
    moved = "π₁, μ₁, μ₂, σ₁, σ₂ (π₂ = 1 − π₁)" if ga.free == "all" else "μ₁, μ₂ only"
    text = (f"Gradient ascent θ ← θ + {ga.step_size:g}·∇(ℓ/N) on {moved}, from EM's θ⁽⁰⁾: "
            f"{ga.message} Its last ℓ is {ga.loglik[-1]:.3f} (step {ga.n_steps}); EM reached "
            f"{trace.log_likelihood[-1]:.3f} in {trace.n_iter} iterations.")
    if ga.n_decreases:
        text += f" ℓ fell on {ga.n_decreases} step(s), first at step {ga.first_decrease}: the step overshot."
    text += (f" EM needs no step size: its new μ_k equals a gradient step with "
             f"η_k = σ_k²/π̂_k (here {em_steps[0]:.3g} for μ₁ and {em_steps[1]:.3g} for μ₂ at θ⁽⁰⁾), "
             f"read off the data, and its π and σ are weighted averages, valid by construction.")
    return text


def collapse_caption(sl: dict, fit_has_prior: bool) -> str:
    """The collapse spike in numbers."""
    k = sl["k"] + 1
    m = sl["m"]
    where = (f"10{_sup(round(sl['log10_sigma_cross']))}" if sl["log10_sigma_cross"] < -4
             else f"{sl['sigma_cross']:.3g}")
    pts = "this point's density grows" if m == 1 else f"these {m} equal points' densities grow"
    text = (f"μ{sub(k)} moved onto one data point, σ{sub(k)} shrinking to the left: {pts} "
            f"like 1/σ{sub(k)}, so ℓ climbs without limit (slope −{m} per unit of ln σ). It "
            f"passes the fit's ℓ = {sl['loglik_now']:.2f} once σ{sub(k)} < {where}: a maximum "
            f"of ℓ does not exist; EM can at best stop at a local maximum, or run into the spike (try the "
            f"collapse preset).")
    prior = "the fit's prior" if fit_has_prior else "a prior it does not use yet"
    text += (f" The dashed curve adds {prior}, −(reg/2)·Σ 1/σ², reg = {sl['reg']:g}: "
             f"it turns the spike into a pit.")
    return text


__all__ = ["landscape_panel", "path_caption", "restarts_caption", "mirror_caption", "ascent_caption",
           "collapse_caption"]
