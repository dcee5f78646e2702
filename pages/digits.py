"""Handwritten digits: a mixture of Bernoulli distributions on 8×8 binary images (Bishop §9.3.3)."""

from __future__ import annotations

import numpy as np
import streamlit as st

import emcore
import emui
from emdata.digits import digits_subset
from emviz import digits as V
from emviz.common import loglik_figure

KEY = "dg"
DEFAULT_CLASSES = [2, 3, 4]
DEFAULTS = dict(n_components=3, init="kmeans++", seed=0, alpha=1.0, max_iter=100, tol=1e-6,
                n_restarts=1)
DEFAULT_THRESHOLD = 8
#: What "Reset to defaults" restores: the data choice and the fit controls.
RESET = dict(DEFAULTS, classes=DEFAULT_CLASSES, threshold=DEFAULT_THRESHOLD)
K_MAX = 8          # BIC over K = 1 … K_MAX
SELECT_RESTARTS = 3
N_SAMPLES = 20     # images drawn from the fitted model
N_EXAMPLES = 2     # example digits per class in the responsibility bars


def _k(name: str) -> str:
    return emui.widget_key(KEY, name)


def _on_classes_change() -> None:
    """One component per chosen digit class, and the slider back to θ₀."""
    n = len(st.session_state.get(_k("classes")) or [])
    if n:
        st.session_state[_k("n_components")] = int(min(max(n, 1), K_MAX))
    st.session_state[_k("step")] = 0


@st.cache_resource(max_entries=16, show_spinner=f"Fitting K = 1 … {K_MAX} to compare them…")
def _selection(data_key: str, init: str, alpha: float, max_iter: int, tol, seed: int, _X):
    return emcore.select_n_components(_X, K_MAX, n_init=SELECT_RESTARTS, seed=seed,
                                      family="bernoulli", init=init, alpha=alpha,
                                      max_iter=max_iter, tol=tol)


@st.cache_resource(max_entries=16, show_spinner=False)
def _animation(data_key: str, settings_key: str, _trace, names: tuple):
    return V.prototypes_animation(_trace, list(names))


def intro() -> None:
    emui.page_header(
        "🔢 Handwritten digits: average digits from a mixture of Bernoullis",
        "Each image is 8×8 pixels, and each pixel is either ink (1) or paper (0). A "
        "**Bernoulli mixture** says an image was made by first picking a hidden component k "
        "(with probability π_k) and then inking every pixel d independently with that "
        "component's own probability μ_kd. A component is therefore an image of "
        "probabilities — an *average digit*. EM alternates between asking how likely each "
        "component is to have drawn each image (**E-step**) and re-averaging the images each "
        "component was given (**M-step**). Nobody tells EM which image shows which digit; "
        "at the end we compare its components with the true labels. This is Bishop's "
        "example in *Pattern Recognition and Machine Learning*, §9.3.3.")
    with st.expander("The model and the two steps, in formulas", expanded=False):
        st.latex(r"p(\mathbf{x}_i) = \sum_{k=1}^{K}\pi_k\prod_{d=1}^{64}"
                 r"\mu_{kd}^{\,x_{id}}(1-\mu_{kd})^{1-x_{id}}")
        st.latex(r"\textbf{E-step:}\quad r_{ik} = \frac{\pi_k\,p(\mathbf{x}_i\mid\boldsymbol\mu_k)}"
                 r"{\sum_j \pi_j\,p(\mathbf{x}_i\mid\boldsymbol\mu_j)}\quad(\text{in logs: }"
                 r"\log\pi_k + \textstyle\sum_d \log(1-\mu_{kd}) + \sum_d x_{id}\,"
                 r"\mathrm{logit}\,\mu_{kd})")
        st.latex(r"\textbf{M-step:}\quad \pi_k = \frac{N_k}{N},\qquad \mu_{kd} = "
                 r"\frac{\sum_i r_{ik}\,x_{id} + \alpha - 1}{N_k + 2(\alpha - 1)},\qquad "
                 r"N_k = \sum_i r_{ik}")
        st.markdown(
            "**α, the Beta prior.** With α = 1 the M-step is plain maximum likelihood: μ_kd is "
            "the responsibility-weighted share of the component's images with ink at pixel d. "
            "A pixel that is blank in every image (the border) gets μ = 0 exactly, which is "
            "harmless: no image has ink there. α > 1 adds α − 1 imaginary inked and α − 1 "
            "imaginary blank images to every component, so no μ is exactly 0 or 1; EM then "
            "maximises ℓ + log p with log p = (α − 1) Σ [log μ_kd + log(1 − μ_kd)] up to a "
            "constant, which never falls, while ℓ alone can.")


#: What a link to this page holds: the digit classes, the ink threshold, the fit's settings
#: and the half-step (names as on every page; see emui.urlstate).
URL_EXTRA = [
    emui.Param("classes", _k("classes"), emui.urlstate.parse_int_set(0, 9),
               emui.urlstate.fmt_int_list),
    emui.Param("thr", _k("threshold"), emui.urlstate.parse_int(1, 16)),
]


def main() -> None:
    emui.url_state(KEY, page="digits", family="bernoulli", n_features=64, extra=URL_EXTRA)
    st.sidebar.header("Data")
    if _k("classes") not in st.session_state:
        st.session_state[_k("classes")] = list(DEFAULT_CLASSES)
    classes = st.sidebar.multiselect("Digit classes", list(range(10)), key=_k("classes"),
                                     on_change=_on_classes_change,
                                     help="Which digits go into the data (their labels are "
                                          "hidden from EM).")
    if _k("threshold") not in st.session_state:
        st.session_state[_k("threshold")] = DEFAULT_THRESHOLD
    threshold = st.sidebar.slider("Ink threshold (grey level 0–16)", 1, 16, key=_k("threshold"),
                                  help="A pixel counts as ink (1) when its grey level is at least "
                                       "this; the original images have 17 grey levels.")
    if not classes:
        emui.reset_button(KEY, RESET)
        intro()
        st.warning("Choose at least one digit class in the sidebar.", icon="🔢")
        return
    data = digits_subset(classes, threshold)
    X = data.X
    settings = emui.fit_controls(KEY, family="bernoulli", defaults=DEFAULTS, n_features=X.shape[1])
    emui.reset_button(KEY, RESET)

    intro()
    st.caption(f"{data.description} Source: {data.source}. Licence: {data.licence}.")
    data_key = f"digits-{'-'.join(map(str, data.classes))}-t{threshold}"
    try:
        trace = emui.run_fit(X, settings, data_key, family="bernoulli")
    except ValueError as err:
        st.error(f"EM could not start: {err}", icon="⚠️")
        return
    step_view(data, X, settings, data_key, trace)
    panels(data, X, settings, data_key, trace)
    emui.publish_fit("digits", X, trace, f"Handwritten digits {', '.join(map(str, data.classes))}")


def _names(data, trace) -> tuple[np.ndarray, float, list[str]]:
    """The final responsibilities, the agreement with the labels, and each component's name
    (the digit it is paired with at the end of the run)."""
    final_resp = np.asarray(trace.responsibilities(trace.n_iter))
    agreement, names, _, _ = V.match_labels(data.labels, final_resp)
    return final_resp, agreement, [f"{k + 1} {names[k]}" for k in range(trace.n_components)]


@st.fragment
def step_view(data, X, settings, data_key: str, trace) -> None:
    """The step player and the exercise (whose question is about the half-step on screen):
    when the learner stops on a half-step, only this small fragment reruns. The panels below
    are the same at every half-step."""
    _, _, comp_names = _names(data, trace)
    rows = V.example_rows(data.labels, N_EXAMPLES)
    captions = [f"a '{data.labels[i]}'" for i in rows]
    n_rows = int(np.ceil(trace.n_components / min(trace.n_components, 6)))

    # The average digits, the narration, the example digits' responsibilities, ℓ and the
    # proof of every half-step go to the browser once; ◀ / ▶ then redraw them there
    # (emui.player), and only the panels below rerun here.
    hs = emui.step_player(trace, KEY, [
        [emui.Chart("dg_proto", lambda h: V.prototypes_figure(
            h.params, f"Each component's ink probabilities μ_k · {h.label}", comp_names),
            height=90 + 190 * n_rows)],
        [emui.narration(trace),
         emui.Chart("dg_resp", lambda h: V.responsibility_figure(
             X[rows], None if h.resp is None else np.asarray(h.resp)[rows], captions,
             f"Responsibilities of a few digits · {h.label}", comp_names),
             height=60 + 64 * len(rows))],
        [emui.Chart("dg_loglik", lambda h: loglik_figure(trace, h), height=320)],
        [emui.proof(trace)],
    ], options=(data_key,))
    emui.exercise_panel(trace, hs, KEY, title="Handwritten digits", restarts=lambda: emui.run_restarts(
        X, settings, data_key, n_restarts=4, family="bernoulli"))


@st.fragment
def panels(data, X, settings, data_key: str, trace) -> None:
    """Everything below the player. It reruns on its own widgets (a tab), not when the
    learner steps: nothing in it depends on the half-step on screen (the downloads draw it
    when clicked)."""
    final_resp, agreement, comp_names = _names(data, trace)
    emui.status_banner(trace)
    st.caption("Average digits: white = never ink, black = always ink. Names: the digit each "
               "component is paired with at the end of the run (for reading only; EM never "
               "saw the labels).")

    tab_names = ["🎯 Against the true digits", "🎲 Samples from the model",
                 "📊 How many components?", "▶ Animation", "🔁 Restarts", "⬇ Downloads"]
    # Only the open tab is built (switching tabs reruns this fragment).
    tabs = dict(zip(tab_names, st.tabs(tab_names, key=_k("tab"), on_change="rerun"),
                    strict=True))
    fig_conf = V.confusion_figure(data.labels, final_resp) if (
        tabs[tab_names[0]].open or tabs[tab_names[5]].open) else None
    if tabs[tab_names[0]].open:
        with tabs[tab_names[0]]:
            # The end of the run at every half-step, drawn by the step player's code: the page
            # then loads one Plotly.js, and draws the table only when it comes near the screen.
            emui.step_view(trace, KEY, "confusion",
                           [[emui.Chart("dg_confusion", lambda h: fig_conf)]],
                           options=(data_key,))
            st.caption(f"At the end of the run ({trace.n_iter} iterations). Each digit goes to its "
                       "most likely component; components are paired one-to-one with digits so that "
                       f"as many as possible agree ({agreement:.1%} do). With more components than "
                       "classes the extra ones are 'unpaired' — often a second way of writing a digit.")
    if tabs[tab_names[1]].open:
        with tabs[tab_names[1]]:
            Xs, zs = emcore.sample(trace.final_params, N_SAMPLES, seed=int(settings.seed))
            st.plotly_chart(V.samples_figure(Xs, zs, "Images drawn from the fitted mixture"),
                            key=_k("samples"), theme="streamlit")
            st.caption("Each image: pick a component with probability π_k (frame colour), then ink "
                       "every pixel independently with probability μ_kd. The pixels do not talk to "
                       "each other, so strokes come out speckled — what the model cannot capture.")
    if tabs[tab_names[2]].open:
        with tabs[tab_names[2]]:
            selection_tab(data_key, X, settings)
    if tabs[tab_names[3]].open:
        with tabs[tab_names[3]]:
            st.caption("Plays in your browser: the average digits emerging from noise, one frame "
                       "per half-step (long runs are subsampled).")
            emui.animation_chart(_animation(data_key, settings.cache_key(), trace, tuple(comp_names)),
                                 key=_k("anim"))
    if tabs[tab_names[4]].open:
        with tabs[tab_names[4]]:
            if settings.n_restarts > 1:
                traces = emui.run_restarts(X, settings, data_key, family="bernoulli")
                emui.restarts_chart(traces, key=_k("restarts"))
            else:
                st.info("Set “Restarts shown side by side” in the sidebar to 2 or more to compare "
                        "fits from different seeds.")
    if tabs[tab_names[5]].open:
        with tabs[tab_names[5]]:
            emui.downloads(trace, X, KEY,
                           figures={"Average digits": lambda h: V.prototypes_figure(
                               h.params, f"Each component's ink probabilities μ_k · {h.label}",
                               comp_names), "Confusion": fig_conf},
                           gif=lambda: V.prototypes_gif(trace, comp_names),
                           feature_names=[f"r{r + 1}c{c + 1}" for r in range(8) for c in range(8)])


def selection_tab(data_key: str, X, settings) -> None:
    st.markdown(
        f"Fit K = 1 … {K_MAX} components ({SELECT_RESTARTS} restarts each, the best kept) and "
        "score each fit. **BIC** = −2ℓ + p·log N with p = (K − 1) + 64·K parameters; **ICL** "
        "adds twice the entropy of the responsibilities. Lower is better.")
    args = (data_key, settings.init, float(settings.alpha), int(settings.max_iter),
            settings.tol, int(settings.seed))
    done = st.session_state.setdefault(f"{KEY}_selection_done", set())
    if args not in done:
        if not st.button(f"Compare K = 1 … {K_MAX}", key=_k("select"), type="primary"):
            return
        done.add(args)
        st.rerun()
    sel = _selection(*args, X)
    st.plotly_chart(V.selection_chart(sel.ks, sel.bic, sel.icl, chosen_k=settings.n_components),
                    key=_k("bic"), theme="streamlit")
    st.caption(f"Lowest BIC at K = {sel.best_k_bic}, lowest ICL at K = {sel.best_k_icl}.")


main()
