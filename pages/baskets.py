"""Market baskets: a mixture of multinomials finds shopper segments, step by step."""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

import emcore
import emdata
import emui
from emui.selection import criteria_explainer, icl_gap_sentence
from emviz import baskets as B
from emviz.common import loglik_figure, theta_it
from emviz.player import md_html

KEY = "bk"
DATASETS = {
    "completejourney": "Complete Journey — households × departments (real)",
    "completejourney_baskets": "Complete Journey — baskets × product categories (real)",
    "cracker": "Cracker brand choices — households × brands (real)",
    "synthetic_baskets": "Synthetic shoppers — three known segments",
}
_COMMON = dict(init="random", seed=0, alpha=1.01, max_iter=200, tol=1e-6, n_restarts=1)
DEFAULTS = {
    "completejourney": dict(_COMMON, n_components=4),
    "completejourney_baskets": dict(_COMMON, n_components=4),
    "cracker": dict(_COMMON, n_components=3),
    "synthetic_baskets": dict(_COMMON, n_components=3),
}
#: Department names of Complete Journey that read badly when merely title-cased.
FRIENDLY = {
    "DRUG GM": "Drug & general merch.",
    "MEAT-PCKGD": "Meat (packaged)",
    "SEAFOOD-PCKGD": "Seafood (packaged)",
    "MISCELLANEOUS": "Miscellaneous",
}
K_MAX = 8          # BIC/ICL over K = 1 … K_MAX
SELECT_RESTARTS = 3
ROW_OPTIONS = (100, 200, 400, 800)


def _k(name: str) -> str:
    return emui.widget_key(KEY, name)


def _labels(ds) -> list[str]:
    return [FRIENDLY.get(n, B.pretty_label(n, 24)) for n in ds.feature_names]


def _row_word(ds) -> str:
    """What one row is, plural: "households", "baskets"."""
    if ds.row_names:
        return ds.row_names[0].split()[0] + "s"
    return "customers"


@st.cache_resource(max_entries=16, show_spinner="Fitting K = 1 … 8 to compare them…")
def _selection(data_key: str, fingerprint: str, init: str, alpha: float, max_iter: int,
               tol: float | None, seed: int, _X):
    return emcore.select_n_components(_X, K_MAX, n_init=SELECT_RESTARTS, seed=seed,
                                      family="multinomial", init=init, alpha=alpha,
                                      max_iter=max_iter, tol=tol)


@st.cache_resource(max_entries=16, show_spinner=False)
def _animation(data_key: str, settings_key: str, value: str, order_by: str, _trace, _labels,
               _share, _order, _names):
    return B.run_animation(_trace, _labels, _share, order=_order, names=_names, value=value)


@st.cache_resource(max_entries=16, show_spinner=False)
def _rows(data_key: str, settings_key: str, n_show: int, _trace):
    """Displayed rows of the responsibility heatmap and their final segment."""
    final = np.asarray(_trace.responsibilities(_trace.n_iter))
    rows = B.display_rows(final, n_show=n_show, seed=0)
    return rows, final[rows].argmax(axis=1)


def intro() -> None:
    emui.page_header(
        "🛒 Market baskets: shopper segments from what people buy",
        "A mixture does not have to be made of bell curves. Here every customer belongs to a "
        "hidden **segment** k (with probability π_k), and each segment has its own typical "
        "basket θ_k: the chance that any one item it buys comes from each category. A "
        "customer's counts are then a multinomial draw from their segment's basket. EM "
        "alternates between guessing each customer's segment (**E-step**) and re-estimating "
        "each segment's basket from the customers it was given (**M-step**) — the same "
        "recipe as for Gaussians, with counts instead of coordinates. The segments are what a "
        "marketing team would target: who buys fresh produce, who fills up on packaged meat.")
    with st.expander("The model and the two steps, in formulas", expanded=False):
        st.latex(r"p(\mathbf{x}_i) = \sum_{k=1}^{K} \pi_k\,\frac{n_i!}{\prod_v x_{iv}!}"
                 r"\prod_{v=1}^{V} \theta_{kv}^{\,x_{iv}},\qquad n_i = \sum_v x_{iv}")
        st.latex(r"\textbf{E-step:}\quad r_{ik} = \frac{\pi_k \prod_v \theta_{kv}^{x_{iv}}}"
                 r"{\sum_j \pi_j \prod_v \theta_{jv}^{x_{iv}}}"
                 r"\quad(\text{computed as }\log\pi_k + \textstyle\sum_v x_{iv}\log\theta_{kv}"
                 r"\text{, then log-sum-exp})")
        st.latex(r"\textbf{M-step:}\quad \pi_k = \frac{1}{N}\sum_i r_{ik},\qquad"
                 r"\theta_{kv} = \frac{\sum_i r_{ik}\,x_{iv} + \alpha - 1}"
                 r"{\sum_{w}\sum_i r_{ik}\,x_{iw} + V(\alpha - 1)}")
        st.markdown(
            "**α, the Dirichlet prior.** With α = 1 the M-step is plain maximum likelihood: "
            "θ_kv is the responsibility-weighted share of category v. Soft responsibilities "
            "are never exactly 0, so θ_kv can only reach 0 when they underflow (a segment "
            "far from every customer who bought v) or with hard EM, where they are 0/1. Then "
            "a single purchase in that category makes the segment *impossible* for that "
            "customer. α > 1 adds α − 1 imaginary purchases of every category to every "
            "segment, so no probability is ever zero. The default α = 1.01 adds only 0.01 of "
            "an item — invisible next to thousands of real purchases, but enough to keep every "
            "log θ finite. It also changes what EM maximises: ℓ + log p, with log p = "
            "(α − 1) Σ log θ_kv up to a constant (a MAP fit). That sum never decreases; ℓ "
            "alone can.\n\n"
            "**Lift** of category v in segment k is θ_kv divided by v's share of all purchases: "
            "×2 means that twice the average share of the segment's purchases (receipt lines, "
            "not money) fall in that category. Segments "
            "are named after their highest-lift category (among categories that make up at "
            f"least {B.MIN_PROB_FOR_LIFT:.0%} of the segment's basket) at the end of the run.")


def main() -> None:
    emui.url_state(KEY, page="baskets", datasets=list(DATASETS), family="multinomial")
    st.sidebar.header("Data")
    data_key = emui.dataset_picker(KEY, DATASETS, "completejourney", DEFAULTS)
    ds = emdata.load_dataset(data_key)
    X = ds.X
    labels = _labels(ds)
    rows_word = _row_word(ds)
    settings = emui.fit_controls(KEY, family="multinomial", defaults=DEFAULTS[data_key],
                                 n_features=X.shape[1])
    emui.reset_button(KEY, DEFAULTS[data_key])
    st.sidebar.header("Display")
    value = st.sidebar.radio("Colour the heatmap by", ["prob", "lift"], key=_k("value"),
                             format_func={"prob": "probability θ (share of the basket)",
                                          "lift": "lift over the overall basket"}.get)
    order_by = st.sidebar.radio("Sort categories by", ["segment", "share"], key=_k("order"),
                                format_func={"segment": "the segment they characterise",
                                             "share": "overall share (biggest first)"}.get)
    n_show = st.sidebar.select_slider(f"{rows_word.capitalize()} in the responsibility heatmap",
                                      ROW_OPTIONS, value=200, key=_k("n_show"))

    intro()

    trace = emui.run_fit(X, settings, data_key, family="multinomial")
    if st.session_state.get(_k("step"), 0) >= trace.n_half_steps:
        st.session_state[_k("step")] = trace.n_half_steps - 1
    step_view(ds, X, labels, rows_word, settings, data_key, trace, value, order_by, int(n_show))
    panels(ds, X, labels, rows_word, settings, data_key, trace, value, order_by, int(n_show))
    # Where the data comes from, below the run (the step control stays on the first screen).
    emui.dataset_caption(ds)
    st.caption(ds.description)
    emui.publish_fit("baskets", X, trace, ds.title)


def _layout_of(X, labels, trace, order_by: str):
    """What both fragments draw with: the overall basket, the segments' names (from the end of
    the run), the heatmap's category rows in display order."""
    share = B.overall_share(X)
    final = trace.params[-1]
    names = B.segment_names(final.probs, share, labels)
    shown = B.heatmap_categories(final.probs, share, B.MAX_HEATMAP_ROWS)
    full_order = B.category_order(final.probs, share, by=order_by)
    return share, names, full_order[np.isin(full_order, shown)]


@st.fragment
def step_view(ds, X, labels, rows_word: str, settings, data_key: str, trace, value: str,
              order_by: str, n_show: int) -> None:
    """The step player and the exercise (whose question is about the half-step on screen):
    when the learner stops on a half-step, only this small fragment reruns. The panels below
    are the same at every half-step, or are views that follow the player in the browser."""
    share, names, order = _layout_of(X, labels, trace, order_by)
    rows, block = _rows(data_key, settings.cache_key(), int(n_show), trace)
    # The profile, the narration, the sizes, the responsibilities, ℓ and the proof of every
    # half-step go to the browser once; ◀ / ▶ then redraw them there (emui.player).
    narration = emui.narration(trace)
    hs = emui.step_player(trace, KEY, [
        [emui.Chart("bk_profile", lambda h: B.profile_heatmap(
            trace, h, labels, share, order=order, names=names, value=value),
            height=max(380, 160 + 24 * len(order)))],
        [emui.Html("narration", lambda h: narration.render(h) + md_html(
            B.describe_profile_change(trace, h, labels, names))),
         emui.Chart("bk_sizes", lambda h: B.segment_sizes(trace, h, names), height=340)],
        [emui.Chart("bk_resp", lambda h: B.responsibility_heatmap(
            None if h.resp is None else np.asarray(h.resp)[rows], names, n_total=X.shape[0],
            rows_label=rows_word, block_of=block, title_suffix=f" · {h.label}",
            short_labels=True, decimals=3), height=540),
         emui.Chart("bk_loglik", lambda h: loglik_figure(trace, h), height=320)],
        [emui.proof(trace)],
    ], options=(data_key, value, order_by, int(n_show)))
    emui.exercise_panel(trace, hs, KEY, title=ds.title, restarts=lambda: emui.run_restarts(
        X, settings, data_key, n_restarts=4, family="multinomial"))


def _lift_figure(share, labels, names, hs):
    """The top categories by lift at half-step ``hs``. Titled by the parameters it shows
    (θ⁽ᵗ⁾), not the half-step: an E-step leaves θ, and so this figure, as it was."""
    return B.lift_bars(hs.params.probs, share, labels, names,
                       title=f"Top categories per segment by lift · {theta_it(hs.theta_index)} "
                             "(dotted line = the average shopper)")


@st.fragment
def panels(ds, X, labels, rows_word: str, settings, data_key: str, trace, value: str,
           order_by: str, n_show: int) -> None:
    """Everything below the player. It reruns on its own widgets (a tab, a button), not when
    the learner steps: what it shows is the same at every half-step, or is a view of the
    player (emui.step_view) that follows the step in the browser."""
    share, names, order = _layout_of(X, labels, trace, order_by)
    final = trace.params[-1]
    emui.status_banner(trace)
    if len(order) < X.shape[1]:
        st.caption(f"The profile shows {len(order)} of {X.shape[1]} categories: each "
                   "segment's highest-lift favourites, then the biggest categories overall.")
    n_rows = len(_rows(data_key, settings.cache_key(), int(n_show), trace)[0])
    sample_txt = (f"a random sample of {n_rows:,} of the {X.shape[0]:,} {rows_word}"
                  if n_rows < X.shape[0] else f"all {n_rows:,} {rows_word}")
    st.caption(f"Each row of the responsibilities is one of {sample_txt} (the fit uses all of "
               "them), sorted by the segment they end up in and, within it, by how sure the "
               "fit is. An E-step changes that picture; an M-step changes the baskets and the "
               "sizes.")

    # Only the open tab is built (switching tabs reruns this fragment).
    tab_names = ["🏷️ Top categories by lift", "🔢 How many segments?", "▶ Animation",
                 "🎲 Restarts"]
    if ds.true_params is not None:
        tab_names.append("🎯 Truth vs fit")
    tab_names.append("⬇ Downloads")
    tabs = dict(zip(tab_names, st.tabs(tab_names, key=_k("tab"), on_change="rerun"),
                    strict=True))
    lift_figure = partial(_lift_figure, share, labels, names)

    if tabs[tab_names[0]].open:
        with tabs[tab_names[0]]:
            # θ of the half-step on screen, drawn in the browser with the player's step
            emui.step_view(trace, KEY, "lift", [[emui.Chart(
                "bk_lift", lift_figure, height=lift_figure(trace.half_step(0))["layout"]["height"])]],
                options=(data_key,))
            st.markdown(f"**The segments at the end of the run** — what a marketing team would "
                        f"take away: who they are, how many {rows_word}, what they buy more of.")
            # a static table wraps its cells, so every favourite category shows on a narrow screen
            st.table(B.segment_summary(final, share, labels, names, rows_label=rows_word),
                     hide_index=True)
            st.caption("Lift = the segment's share of its basket in a category ÷ that "
                       "category's share of all purchases. Only categories that make up at "
                       f"least {B.MIN_PROB_FOR_LIFT:.0%} of the segment's basket are ranked, so "
                       "a rare category bought by a handful of customers cannot top the list.")
    if tabs[tab_names[1]].open:
        with tabs[tab_names[1]]:
            selection_tab(data_key, X, settings)
    if tabs[tab_names[2]].open:
        with tabs[tab_names[2]]:
            st.caption("Plays in your browser: one frame per half-step (long runs are "
                       f"subsampled to {B.MAX_FRAMES} frames). Press ▶ Play, or drag the "
                       "animation's own slider.")
            emui.animation_chart(_animation(data_key, settings.cache_key(), value, order_by, trace,
                                            labels, share, order, names),
                                 key=_k("anim"))
    if tabs[tab_names[3]].open:
        with tabs[tab_names[3]]:
            restarts_tab(X, settings, data_key, share, labels)
    if ds.true_params is not None and tabs["🎯 Truth vs fit"].open:
        with tabs["🎯 Truth vs fit"]:
            truth_tab(ds, trace, labels, names, rows_word)
    if tabs["⬇ Downloads"].open:
        with tabs["⬇ Downloads"]:
            emui.downloads(
                trace, X, KEY,
                figures={"Category profile": lambda h: B.profile_heatmap(
                             trace, h, labels, share, order=order, names=names, value=value),
                         "Segment sizes": lambda h: B.segment_sizes(trace, h, names),
                         "Top categories by lift": lift_figure},
                gif=lambda: B.profile_gif(trace, labels, share, order=order, names=names,
                                          value=value),
                feature_names=ds.feature_names, row_names=ds.row_names)


def restarts_tab(X, settings, data_key: str, share, labels) -> None:
    if settings.n_restarts <= 1:
        st.info("Set “Restarts shown side by side” in the sidebar to 2 or more to compare "
                "fits from different seeds.")
        return
    traces = emui.run_restarts(X, settings, data_key, family="multinomial")
    emui.restarts_chart(traces, key=_k("restarts"))
    for i, tr in enumerate(traces):
        nm = B.segment_names(tr.params[-1].probs, share, labels)
        st.caption(f"Seed {settings.seed + i}: ℓ = {tr.log_likelihood[-1]:,.1f} — "
                   + ", ".join(nm))


def selection_tab(data_key: str, X, settings) -> None:
    st.markdown(criteria_explainer("segments", K_MAX, SELECT_RESTARTS)
                + " Pick the K at the bottom of the curve, or, when the curve keeps falling, "
                  "the K after which it flattens out.")
    fp = emui.data_fingerprint(X)
    args = (data_key, fp, settings.init, float(settings.alpha), int(settings.max_iter),
            settings.tol, int(settings.seed))
    done = st.session_state.setdefault("bk_selection_done", set())
    if args not in done:
        if not st.button(f"Compare K = 1 … {K_MAX}", key=_k("select"), type="primary",
                         help=f"Runs {K_MAX * SELECT_RESTARTS} fits; a second or two on the "
                              "default data, longer on the basket data."):
            return
        done.add(args)
        st.rerun()  # draw the tab again without the button
    sel = _selection(*args, X)
    fig = B.selection_chart(sel.ks, sel.bic, sel.icl, chosen_k=settings.n_components)
    st.plotly_chart(fig, key=_k("bic"), theme="streamlit")
    kb, ki = sel.best_k_bic, sel.best_k_icl
    gap_text = icl_gap_sentence(sel, int(settings.n_components), X.shape[0], "row",
                                "segment")
    if gap_text:
        st.caption(gap_text)
    drops = -np.diff(np.asarray(sel.bic, dtype=float))
    if drops.size:
        steps_txt = ", ".join(f"{int(sel.ks[i])}→{int(sel.ks[i + 1])}: {d:,.0f}"
                              for i, d in enumerate(drops))
        st.caption(f"How much BIC falls with each extra segment ({steps_txt}). Where these "
                   "drops become small, extra segments mostly split existing ones.")
    if kb == K_MAX or ki == K_MAX:
        st.info(f"The criteria still fall at K = {K_MAX}. With thousands of items per "
                "customer the data can afford many parameters, and real shoppers vary more "
                "than a handful of multinomials allow, so extra segments keep paying off. "
                "Look for the elbow — where the curve stops dropping steeply — rather than "
                "the minimum.", icon="📉")
    else:
        st.success(f"Lowest BIC at K = {kb}, lowest ICL at K = {ki}.", icon="✅")


def truth_tab(ds, trace, labels, names, rows_word: str) -> None:
    final = trace.params[-1]
    true = ds.true_params
    if true.probs.shape != final.probs.shape:
        st.info(f"The data were generated by {true.probs.shape[0]} segments; set K = "
                f"{true.probs.shape[0]} in the sidebar to compare the fit with the truth.")
        return
    st.caption(f"The fitted result — the last half-step, {theta_it(trace.n_iter)} — against "
               "the segments that generated the data.")
    perm = B.best_permutation(true.probs, final.probs)
    st.plotly_chart(B.truth_vs_fit(true, final, perm, labels, names), key=_k("truth"),
                    theme="streamlit")
    tv = 0.5 * np.abs(true.probs - final.probs[perm]).sum(axis=1)
    R = np.asarray(trace.responsibilities(trace.n_iter))
    inv = np.argsort(perm)  # fitted segment -> true segment
    agree = float(np.mean(inv[R.argmax(axis=1)] == np.asarray(ds.labels)))
    c1, c2 = st.columns(2)
    c1.metric(f"{rows_word.capitalize()} assigned to their true segment", f"{agree:.1%}",
              help="Share of rows whose most likely fitted segment is the (matched) segment "
                   "that generated them.")
    c2.metric("Largest basket error (total variation)", f"{tv.max():.3f}",
              help="½ Σ_v |θ_true − θ_fit| for the worst-matched segment: 0 = identical, "
                   "1 = nothing in common.")
    st.caption("Fitted segments are matched to the true ones by the pairing that makes their "
               "baskets most alike (the labels EM gives are arbitrary). Points on the dotted "
               "diagonal are probabilities recovered exactly.")


main()
