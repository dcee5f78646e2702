"""2-D blobs: a Gaussian mixture in the plane, step by step (Old Faithful by default)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

import emdata
import emui
from emcore import half_step_label
from emviz import export
from emviz import gauss2d as g2
from emviz.common import frame_indices, loglik_figure, theta_it
from emviz.player import md_html

KEY = "blobs"
PAGE = "blobs_2d"
DATASETS = {
    "faithful": "Old Faithful geyser — eruptions (real)",
    "penguins": "Palmer penguins — bill length × depth (real)",
    "synthetic_2d": "Synthetic — three known Gaussian blobs",
}
DEFAULTS = {
    "faithful": dict(n_components=2, init="kmeans++", seed=0, reg=0.0, max_iter=100, tol=1e-6,
                     covariance_type="full", means_text="2 55; 4.5 80", standardise=True),
    # seed 0 lands penguins in a poorer local optimum (two species merged): a good
    # restarts exercise, but not the first thing a class should see
    "penguins": dict(n_components=3, init="kmeans++", seed=1, reg=0.0, max_iter=200, tol=1e-6,
                     covariance_type="full", means_text="39 18; 47 15; 49 19", standardise=True),
    "synthetic_2d": dict(n_components=3, init="kmeans++", seed=0, reg=0.0, max_iter=100,
                         tol=1e-6, covariance_type="full", means_text="-1 3; 3 3; 3 -1",
                         standardise=False),
}
# ``standardise``: on by default when the two features live on very different scales.
INTRO = ("**Colour = responsibilities**: a point that component *k* surely produced wears "
         "*k*'s colour, a point shared between components wears the blend. **Solid ellipse** "
         "= 1σ (about 39 % of a component's points inside), **dashed** = 2σ (about 86 %); "
         "grey lines = mixture density; thin lines with dots = where each mean has been. On "
         "an E-step the colours change, on an M-step the ellipses move.")
COV_NOTES = {
    "full": "each component has its own ellipse, of any shape and tilt",
    "diag": "each component has its own axis-aligned ellipse (no tilt: the features are "
            "independent within a component)",
    "spherical": "each component is a circle (one variance per component) — in the units "
                 "the fit uses",
    "tied": "all components share one ellipse (same shape and tilt, different centres)",
}


def _k(name: str) -> str:
    return emui.widget_key(KEY, name)


@st.cache_resource(show_spinner=False, max_entries=16)
def _animation(data_key, std, fit_key, flags, _X, _trace, _scaling, _names):
    return g2.blobs_animation(_X, _trace, feature_names=_names, scaling=_scaling,
                              show_ellipses=flags[0], show_trajectories=flags[1],
                              show_contours=flags[2])


@st.cache_resource(show_spinner=False, max_entries=16)
def _restarts(data_key, std, fit_key, n, _X, _traces, _scaling, _names, _seeds):
    return g2.restarts_figure(_X, _traces, feature_names=_names, scaling=_scaling, seeds=_seeds)


def _standardise_note(ds, sc: g2.Scaling, on: bool) -> str:
    names = [n.split(" (")[0] for n in ds.feature_names]
    sd = [float(np.std(np.asarray(ds.X, float)[:, d])) for d in range(2)]
    ratio = max(sd) / min(sd) if min(sd) > 0 else float("inf")
    spread = (f"The spread of {names[int(np.argmax(sd))]} is {ratio:.1f}× that of "
              f"{names[int(np.argmin(sd))]}.")
    if on:
        return (
            f"**Fitted on standardised features** (z-scores: minus the mean, divided by the "
            f"standard deviation — {names[0]}: mean {sc.center[0]:.3g}, sd {sc.scale[0]:.3g}; "
            f"{names[1]}: mean {sc.center[1]:.3g}, sd {sc.scale[1]:.3g}). {spread} Without "
            "standardising, circles (spherical covariances, hard EM, k-means) and the "
            "regularisation would measure distance almost only along the wider feature. The "
            "figures map the fitted model back to the original units, exactly (an affine map "
            "sends a Gaussian to a Gaussian). The log-likelihood and the proof are computed on "
            f"the standardised data: ℓ in original units is ℓ − N·Σ log sd = ℓ − "
            f"{len(ds.X) * sc.log_jacobian:,.2f}, a constant, so every difference and every "
            "inequality is unchanged."
        )
    return (
        f"**Fitted on the raw features.** {spread} A full-covariance fit does not care "
        "about the units, but circles (spherical covariances, hard EM, k-means), the "
        "regularisation and the k-means++ start measure plain distances, which the wider "
        "feature dominates."
    )


def _truth_tab(ds, X, trace, sc, labels_name) -> None:
    """The final fit (whatever half-step is on screen) against the known groups."""
    if ds.labels is None:
        st.info(
            "Old Faithful has no recorded truth: nobody labelled the eruptions. The two "
            "components EM finds are the geyser's well-known short and long eruptions — a short "
            "eruption is followed by a short wait for the next one, a long eruption by a long "
            "wait."
        )
        return
    st.caption(f"The fitted result — the last half-step, {theta_it(trace.n_iter)} — against "
               f"the true {labels_name}.")
    R = np.asarray(trace.responsibilities(trace.n_iter))
    agree, pairing = g2.label_agreement(ds.labels, R)
    st.metric(f"Agreement with the true {labels_name}", f"{100 * agree:.1f}%",
              help="Share of points whose most likely component is the one paired with their "
                   "true group (components paired with groups in the best one-to-one way).")
    classes, counts = g2.confusion_table(ds.labels, R)
    numeric = all(isinstance(c, (int, np.integer)) for c in classes)
    name = (lambda c: f"true {int(c) + 1}") if numeric else str  # noqa: E731
    table = pd.DataFrame(
        counts, columns=[name(c) for c in classes],
        index=[f"component {k + 1}" + "".join(f" → {name(c)}" for c, kk in pairing.items()
                                               if kk == k)
               for k in range(R.shape[1])],
    )
    st.caption(f"Points by most likely component (rows) and true {labels_name} (columns).")
    st.dataframe(table)
    if ds.true_params is not None and trace.n_components >= len(np.asarray(ds.true_params.weights)):
        st.caption("Fitted against true parameters, in the data's units (components paired by "
                   "the closest means). sd = standard deviation along each axis, ρ = "
                   "correlation.")
        st.dataframe(pd.DataFrame(g2.truth_table(ds.true_params, trace, sc)),
                     hide_index=True)


def _view_toggles(ds) -> tuple[tuple[bool, bool, bool], bool, bool]:
    """The toggles above the figure: ((ellipses, paths, contours), hard EM beside, truth)."""
    c = st.columns([1, 1, 1, 1.3])
    show_ell = c[0].toggle("Ellipses (1σ, 2σ)", value=True, key=_k("show_ellipses"))
    show_paths = c[1].toggle("Mean paths", value=True, key=_k("show_paths"))
    show_dens = c[2].toggle("Density contours", value=True, key=_k("show_contours"))
    hard_on = c[3].toggle("Hard EM beside soft EM", value=False, key=_k("hard_compare"),
                          help="Fit classification ('hard') EM with spherical covariances and "
                               "show it next to soft EM at the same step. Hard EM maximises "
                               "the classification log-likelihood ℓ_C, not ℓ; it is k-means "
                               "only with one shared, fixed spherical covariance and equal "
                               "weights.")
    show_truth = False
    if ds.true_params is not None:
        show_truth = st.toggle("Show the true components (grey dotted 2σ ellipses, ◇ means)",
                               value=True, key=_k("show_truth"))
    return (show_ell, show_paths, show_dens), hard_on, show_truth


def main() -> None:
    emui.url_state(KEY, page="blobs_2d", datasets=list(DATASETS), family="gaussian",
                   n_features=2, extra=[emui.Param("std", _k("standardise"),
                                                   emui.urlstate.parse_bool,
                                                   emui.urlstate.fmt_bool)])
    st.sidebar.header("Data")
    data_key = emui.dataset_picker(KEY, DATASETS, "faithful", DEFAULTS)
    ds = emdata.load_dataset(data_key)
    X = np.asarray(ds.X, dtype=float)
    names = list(ds.feature_names)
    if _k("standardise") not in st.session_state:
        st.session_state[_k("standardise")] = DEFAULTS[data_key]["standardise"]
    std = st.sidebar.toggle("Standardise features before fitting", key=_k("standardise"),
                            help="Fit on z-scores (each feature minus its mean, divided by its "
                                 "standard deviation); the figures stay in the original units.")
    sc = g2.Scaling.standardise(X) if std else g2.Scaling.identity(2)
    Z = sc.to_fit(X)

    settings = emui.fit_controls(KEY, family="gaussian", defaults=DEFAULTS[data_key],
                                 n_features=2)
    if settings.init == "custom" and settings.custom_means is not None:
        # The learner types means in the data's units; the fit runs in fitted units.
        fit_means = sc.to_fit(np.asarray(settings.custom_means, dtype=float))
        settings = replace(settings, custom_means=tuple(tuple(float(v) for v in m)
                                                        for m in fit_means))
    emui.reset_button(KEY, DEFAULTS[data_key])

    emui.page_header("🫧 2-D blobs: Gaussians in the plane", INTRO)
    data_id = f"{data_key}-{'z' if std else 'raw'}"
    trace = emui.run_fit(Z, settings, data_id)
    flags, hard_on, show_truth = _view_toggles(ds)

    if st.session_state.get(_k("step"), 0) >= trace.n_half_steps:
        st.session_state[_k("step")] = trace.n_half_steps - 1
    step_view(X, Z, ds, names, sc, std, trace, settings, data_id, flags, hard_on, show_truth)
    panels(X, Z, ds, names, sc, std, trace, settings, data_id, flags, hard_on, show_truth)
    emui.selection_panel(Z, settings, data_id, KEY)
    emui.publish_fit(PAGE, Z, trace, ds.title + (" (standardised)" if std else ""),
                     feature_names=names, standardised=std)


def _hard_caption(hard, s_hard: int, s: int) -> str:
    """Why the hard panel may stand still: its run stopped earlier than the soft one."""
    if hard.status == "degenerate":
        return f"Hard EM stopped after {hard.n_iter} iterations: {hard.message}"
    if s_hard < s:
        return (f"Hard EM stopped after {hard.n_iter} iterations ({hard.status}); its panel "
                "stays at its last half-step.")
    return ""


def _hard_view(X, hard, hs, fig_kw, player: bool = False):
    """The hard-EM half-step shown beside soft EM's half-step ``hs`` (its last one once its
    run has stopped) and its figure (``player``: the step player's lighter density grid)."""
    hs_hard = hard.half_step(min(hs.s, hard.n_half_steps - 1))
    fig = g2.blobs_figure(
        X, hard, hs_hard, height=520, compact_density=player,
        grid_n=g2.GRID_PLAYER if player else g2.GRID_STATIC,
        title=f"Hard EM (spherical) — {hs_hard.label}" + (" (end)" if hs_hard.s < hs.s else ""),
        **fig_kw)
    return hs_hard, fig


def _soft_vs_hard_html(trace, hard, hs) -> str:
    hs_hard = hard.half_step(min(hs.s, hard.n_half_steps - 1))
    caption = _hard_caption(hard, hs_hard.s, hs.s)
    return (md_html("⚖️ " + g2.soft_vs_hard_sentence(trace, hard, hs, hs_hard))
            + (md_html(caption).replace("<p>", '<p class="cap">') if caption else ""))


@st.fragment
def step_view(X, Z, ds, names, sc, std, trace, settings, data_id, flags, hard_on,
              show_truth) -> None:
    """The step player and the exercise (whose question is about the half-step on screen).
    The main chart(s), the narration, ℓ and the proof of every half-step go to the browser and
    ◀ / ▶ redraw them there (emui.step_player); when the learner stops, only this small
    fragment reruns. The panels below are the same at every half-step."""
    cov_name = settings.covariance_type
    shown, fig_kw = _view(ds, names, sc, std, trace, flags, show_truth)
    soft_chart = emui.Chart("blobs_fig_soft", lambda h: g2.blobs_figure(
        X, trace, h, title=f"Soft EM ({cov_name} covariances) — {h.label}",
        grid_n=g2.GRID_PLAYER, compact_density=True, **fig_kw), height=520)
    hard = _hard_fit(Z, settings, data_id) if hard_on else None
    if hard is not None:
        rows = [[soft_chart,
                 emui.Chart("blobs_fig_hard",
                            lambda h: _hard_view(X, hard, h, fig_kw, player=True)[1],
                            height=520)],
                [emui.Html("blobs_soft_vs_hard", lambda h: _soft_vs_hard_html(trace, hard, h),
                           box=True)]]
    else:
        rows = [[soft_chart]]
    rows += [[emui.narration(shown, feature_names=names),
              emui.Chart("blobs_loglik", lambda h: loglik_figure(trace, h))],
             [emui.proof(trace)]]
    hs = emui.step_player(trace, KEY, rows, options=(data_id, flags, show_truth, hard_on))
    emui.exercise_panel(shown, hs, KEY, X=X, feature_names=names, title=ds.title,
                        restarts=lambda: emui.run_restarts(Z, settings, data_id, n_restarts=4))


def _view(ds, names, sc, std, trace, flags, show_truth):
    """The trace the texts quote (means in the figure's units) and the figure options."""
    show_ell, show_paths, show_dens = flags
    shown = g2.DisplayTrace(trace, sc) if std else trace
    fig_kw = dict(feature_names=names, scaling=sc, show_ellipses=show_ell,
                  show_trajectories=show_paths, show_contours=show_dens,
                  true_params=ds.true_params if show_truth else None)
    return shown, fig_kw


def _hard_fit(Z, settings, data_id):
    return emui.run_fit(Z, replace(settings, hard=True, covariance_type="spherical"), data_id)


@st.fragment
def panels(X, Z, ds, names, sc, std, trace, settings, data_id, flags, hard_on,
           show_truth) -> None:
    """Everything below the player. It reruns on its own widgets (a tab), not when the
    learner steps: nothing in it depends on the half-step on screen (the truth tab shows the
    final fit; the downloads draw the half-step on screen when clicked)."""
    cov_name = settings.covariance_type
    _, fig_kw = _view(ds, names, sc, std, trace, flags, show_truth)
    hard = _hard_fit(Z, settings, data_id) if hard_on else None
    emui.status_banner(trace)
    emui.dataset_caption(ds)
    st.caption(f"{ds.description} Covariance type **{cov_name}**: {COV_NOTES[cov_name]}.")
    note = g2.sampling_note(len(X))
    if note:
        st.caption(note)
    with st.expander("Standardising is " + ("on" if std else "off") + " — why it matters here",
                     expanded=False):
        st.markdown(_standardise_note(ds, sc, std))

    # Only the open tab is built (switching tabs reruns this fragment); the first one is
    # cheap, so a step does not re-send the animation unless it is open.
    tabs = st.tabs(["🔍 Truth", "▶ Animation", "🎲 Restarts", "⬇ Downloads"],
                   key=_k("tab"), on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            _truth_tab(ds, X, trace, sc,
                       (ds.label_name or "group").lower().removeprefix("true "))
    if tabs[1].open:
        with tabs[1]:
            st.caption(
                f"Plays in your browser: one frame per half-step (long runs keep every early "
                f"half-step and thin the rest), at most {g2.MAX_ANIMATION_POINTS:,} points per "
                "frame and a coarser density grid.")
            emui.animation_chart(_animation(data_id, std, settings.cache_key(), flags, X, trace, sc,
                                            tuple(names)),
                                 key=_k("anim"))
    if tabs[2].open:
        with tabs[2]:
            _restarts_tab(X, Z, settings, data_id, std, sc, names)
    if tabs[3].open:
        with tabs[3]:
            if std:
                st.caption("The trace's parameters are in standardised units (see "
                           "“Standardising” above); the responsibilities CSV lists the data in "
                           "original units.")
            figures = {"Mixture at this step": lambda h: g2.blobs_figure(
                X, trace, h, title=f"Soft EM ({cov_name} covariances) — {h.label}", **fig_kw)}
            if hard is not None:
                figures["Hard EM at this step"] = lambda h: _hard_view(X, hard, h, fig_kw)[1]
            gif_steps = frame_indices(trace.n_half_steps, 40)
            emui.downloads(
                trace, X, KEY, figures=figures, feature_names=names,
                gif=lambda: export.run_gif(
                    lambda j: g2.blobs_figure(X, trace, trace.half_step(j),
                                              title=half_step_label(j), **fig_kw),
                    gif_steps))


def _restarts_tab(X, Z, settings, data_id, std, sc, names) -> None:
    if settings.n_restarts <= 1:
        st.info("Set “Restarts shown side by side” in the sidebar to 2 or more to compare "
                "the fits that different seeds reach.")
        return
    traces = emui.run_restarts(Z, settings, data_id)
    seeds = [settings.seed + i for i in range(len(traces))]
    st.plotly_chart(_restarts(data_id, std, settings.cache_key(), len(traces), X,
                              traces, sc, tuple(names), tuple(seeds)),
                    key=_k("restarts_fig"), theme="streamlit")
    st.caption("Colours are only names: two restarts can find the same solution with "
               "the components numbered differently (“label switching”). Compare the "
               "shapes and the log-likelihoods.")
    emui.restarts_chart(traces, key=_k("restarts"))


main()
