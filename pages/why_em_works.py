"""Why EM works: the proof that EM never lowers what it maximises, with live numbers.

Thin page: it picks a fit (one published by another page, or a small default fit), reads the
half-step slider, and hands the trace to ``emviz.proof`` for the numbers, the derivation lines
and the figures. Every number comes from the emcore trace or emcore functions.
"""

from __future__ import annotations

import hashlib
import html

import numpy as np
import streamlit as st

import emcore
import emdata
import emui
from emcore import linkage as L
from emui.settings import FitSettings
from emviz import derivations as DV
from emviz import proof
from emviz.common import theta_it
from emviz.player import md_html, md_tex_html, tex_html
from emviz.texnum import fmt_metric, fmt_plain, sub

KEY = "why"
#: On-screen names of the pages that publish fits (``emui.publish_fit``'s page_name).
PAGE_NAMES = {"house_prices": "1-D house prices", "blobs_2d": "2-D blobs",
              "baskets": "Market baskets", "your_data": "Your data"}
DEFAULT = "default"
REG_OPTIONS = (0.0, 1e-3, 1e-2, 1e-1, 1.0)
#: Above this many rows the bound curve (41 full passes over the data) is drawn on request.
CURVE_AUTO_MAX_N = 20_000
#: The step player holds every iteration's bound curve when N × iterations stays below this
#: (41 passes over the data per iteration); otherwise the curve is drawn for the stopped step.
CURVE_PLAYER_BUDGET = 400_000

# The default fit: a one-dimensional, two-component mixture on a real data set, started from
# two means close together so that EM needs a dozen visible iterations to separate them.
DEFAULT_DATA = {
    "faithful": ("Old Faithful: minutes to the next eruption", 1, (60.0, 66.0)),
    "ames": ("Ames: log10 sale prices (two neighbourhoods)", 0, None),
}


def _default_X(name: str) -> np.ndarray:
    dataset = emdata.load_dataset(name)
    column = DEFAULT_DATA[name][1]
    return np.ascontiguousarray(np.asarray(dataset.X, dtype=float)[:, column])


def _default_settings(name: str, k: int, seed: int, reg: float) -> FitSettings:
    means = DEFAULT_DATA[name][2]
    if means is not None and k == 2:
        return FitSettings(n_components=2, init="custom", seed=seed, reg=reg, max_iter=40,
                           tol=1e-8, custom_means=tuple((m,) for m in means))
    return FitSettings(n_components=k, init="random_from_data", seed=seed, reg=reg,
                       max_iter=40, tol=1e-8)


def default_fit_controls() -> tuple[np.ndarray, object, str]:
    """Sidebar controls of the default fit; returns (X, trace, title)."""
    box = st.sidebar
    box.header("Default fit")
    for name, value in (("data", "faithful"), ("k", 2), ("seed", 0), ("reg", 0.0)):
        st.session_state.setdefault(f"{KEY}_{name}", value)  # defaults; a link may set them
    name = box.selectbox("Data", list(DEFAULT_DATA), key=f"{KEY}_data",
                         format_func=lambda v: DEFAULT_DATA[v][0])
    k = box.slider("Number of components K", 2, 4, key=f"{KEY}_k")
    seed = box.number_input("Seed", 0, 10_000, step=1, key=f"{KEY}_seed",
                            help="Used when the start is not the fixed pair of means.")
    reg = box.select_slider("Regularisation reg", REG_OPTIONS,
                            key=f"{KEY}_reg",
                            format_func=lambda v: "0 (off)" if v == 0 else f"{v:g}",
                            help="With reg > 0 EM maximises ℓ + log p (a penalty, an "
                                 "improper prior); the proof is the same for that objective, "
                                 "and ℓ alone can fall.")
    X = _default_X(name)
    settings = _default_settings(name, int(k), int(seed), float(reg))
    trace = emui.run_fit(X, settings, data_key=f"why_{name}")
    return X, trace, DEFAULT_DATA[name][0]


def _fingerprint(trace) -> str:
    h = hashlib.sha1(np.asarray(trace.objective, dtype=float).tobytes())
    h.update(np.asarray(trace.log_likelihood, dtype=float).tobytes())
    return h.hexdigest()


@st.cache_resource(max_entries=256, show_spinner=False)
def _proof_step(fingerprint: str, t: int, _X, _trace):
    """The proof numbers of step t (cached: stepping back and forth never recomputes)."""
    return proof.proof_step(_X, _trace, t)


@st.cache_resource(max_entries=256, show_spinner="Evaluating ℓ and the bound along the path…")
def _bound_curve(fingerprint: str, t: int, _trace):
    """``emcore.bound_curve`` of step t (one full E-step per point of the curve, so cached)."""
    return emcore.bound_curve(_trace, t, n_points=proof.CURVE_POINTS)


def choose_fit():
    """The fit picker: any fit published by another page, or the default."""
    fits = st.session_state.get("em_fits", {}) or {}
    options = [name for name in fits if getattr(fits[name]["trace"], "n_iter", 0) > 0]
    options.append(DEFAULT)
    last = st.session_state.get("em_last_fit")
    labels = {name: f"{fits[name]['title']} (from the {PAGE_NAMES.get(name, name)} page)"
              for name in options[:-1]}
    labels[DEFAULT] = "a small default fit (settings in the sidebar)"
    if f"{KEY}_source" not in st.session_state or st.session_state[f"{KEY}_source"] not in options:
        # the fit the learner looked at last, else any published fit, else the default
        st.session_state[f"{KEY}_source"] = last if last in options else options[0]
    source = st.selectbox("Fit to explain", options, key=f"{KEY}_source",
                          format_func=labels.get,
                          help="Fit something on another page and it appears here.")
    if source == DEFAULT:
        return default_fit_controls()
    fit = fits[source]
    return fit["X"], fit["trace"], fit["title"]


#: What a link to this page holds: the default fit's settings and the half-step. A fit
#: published by another page lives in this session only; its link gives the default fit.
URL_PARAMS = [
    emui.Param("fit", f"{KEY}_source", emui.urlstate.parse_choice([DEFAULT])),
    emui.Param("data", f"{KEY}_data", emui.urlstate.parse_choice(DEFAULT_DATA)),
    emui.Param("k", f"{KEY}_k", emui.urlstate.parse_int(2, 4)),
    emui.Param("seed", f"{KEY}_seed", emui.urlstate.parse_int(0, 10_000)),
    emui.Param("reg", f"{KEY}_reg", emui.urlstate.parse_option(REG_OPTIONS),
               emui.urlstate.fmt_float),
    emui.Param("step", f"{KEY}_step", emui.urlstate.parse_int(0, 1_000_000)),
    emui.Param("bounds", f"{KEY}_dlr_n", emui.urlstate.parse_int(1, 4)),
]
emui.url_state(KEY, page="why_em_works", params=URL_PARAMS)
emui.page_header(
    "Why EM works",
    "EM never lowers what it maximises: the log-likelihood ℓ(θ) for plain EM; ℓ(θ) + "
    "log p(θ) when the fit has a prior or penalty (reg > 0, or a Dirichlet α ≠ 1), and then "
    "ℓ alone can fall; the classification log-likelihood ℓ_C for hard EM (ℓ_C + log p with a "
    "prior). Below is the proof, "
    "one line at a time, with **the numbers of the current iteration** filled in, so you can "
    "check every step yourself. Move the **Step** slider to see it hold at every iteration.",
)

X, trace, title = choose_fit()
N, K = int(trace.n_samples), int(trace.n_components)
st.caption(f"**{title}** — N = {N:,} points, K = {K} components, {trace.n_iter} iterations "
           f"({trace.status}).")
if trace.n_iter < 1:
    st.info("This fit stopped before its first EM step, so there is nothing to prove yet. "
            "Pick another fit above.")
    st.stop()

def _stage_html(trace, step, hs) -> str:
    """Where the learner is, what the fit maximises (hard EM, a prior) and the four numbers
    of this iteration, as player HTML."""
    t = hs.t
    parts = [md_html({
        "init": "You are at θ⁽⁰⁾, the start, before any step; the proof below is about "
                "**iteration 1** (θ⁽⁰⁾ → θ⁽¹⁾).",
        "E": f"You are at the **E-step of iteration {t + 1}**: q{sub(t)} = p(z | x, "
             f"{theta_it(t)}) has just been computed; θ has not moved yet.",
        "M": f"You are at the **M-step of iteration {t + 1}**: {theta_it(t + 1)} has just "
             f"been chosen to maximise Q(θ | {theta_it(t)}).",
    }[hs.kind])]
    if step.hard:
        parts.append(_note("⚠️", "warn",
            "This fit uses **hard EM**: each point is assigned wholly to one component instead "
            "of being shared by responsibilities. What hard EM provably never lowers is the "
            "*classification* log-likelihood ℓ_C(θ) = Σᵢ maxₖ log πₖ p(xᵢ | θₖ), so the proof "
            "below is about ℓ_C. The real log-likelihood ℓ has no such guarantee: in this "
            f"iteration it went from {step.loglik_t:.4f} to {step.loglik_next:.4f} "
            f"(change {fmt_plain(step.loglik_change)}), and after the hard "
            f"E-step it sits {fmt_plain(step.loglik_gap_t)} "
            "above ℓ_C, where the bound touches, instead of touching the bound itself."))
    if step.regularised:
        penalty = {
            "multinomial": "the Dirichlet log-prior (α − 1) Σ log θ_kv",
            "bernoulli": "the Beta log-prior (α − 1) Σ [log μ_kd + log(1 − μ_kd)]",
        }.get(trace.family, "the penalty −(reg/2)·tr Σ⁻¹ on each covariance matrix (an "
                            "improper prior, defined up to a constant)")
        parts.append(_note("ℹ️", "info",
            "This fit has a **prior**: EM maximises ℓ(θ) + log p(θ), with log p(θ) "
            f"{penalty}. The M-step maximises Q + log p, so add log p(θ) to Q and to ℓ in "
            "every line and the argument goes through: it is ℓ + log p that cannot fall. The "
            "log-likelihood ℓ alone has no such guarantee: in this iteration it went from "
            f"{step.loglik_t:.4f} to {step.loglik_next:.4f} "
            f"(change {fmt_plain(step.loglik_change)})."))
    ell = ("ℓ_C" if step.hard else "ℓ") + (" + log p" if step.regularised else "")
    up = step.gain >= 0
    metrics = [
        (f"{ell}({theta_it(t)})", fmt_metric(step.objective_t), ""),
        (f"Q({theta_it(t + 1)} | {theta_it(t)})" + (" + log p" if step.regularised else ""),
         fmt_metric(step.q_new_obj), ""),
        (f"H(q{sub(t)})", fmt_metric(step.entropy), ""),
        (f"{ell}({theta_it(t + 1)})", fmt_metric(step.objective_next),
         f'<p class="delta {"up" if up else "down"}">{"↑" if up else "↓"} '
         f"{html.escape(fmt_plain(step.gain))}</p>"),
    ]
    parts.append('<div class="metrics">' + "".join(
        f'<div class="metric"><p class="cap">{html.escape(label)}</p>'
        f'<p class="val">{html.escape(value)}</p>{delta}</div>'
        for label, value, delta in metrics) + "</div>")
    return "".join(parts)


def _note(icon: str, kind: str, text: str) -> str:
    """An alert box (like st.warning / st.info) inside the player's HTML."""
    return f'<div class="note {kind}">{md_html(icon + " " + text)}</div>'


def _lines_html(lines) -> str:
    """Derivation lines: each sentence (Markdown with inline math), then its formula."""
    return "".join(md_tex_html(line.text) + tex_html(line.latex) for line in lines)


def _derivation_html(step, t: int) -> str:
    if step.hard:
        head = (f"The argument for iteration {t + 1} (hard EM, {theta_it(t)} → "
                f"{theta_it(t + 1)})")
        intro = (f"Three lines show that hard EM never lowers {proof.objective_text(step)}. "
                 "Under each formula: the same line with this iteration's numbers.")
    else:
        head = (f"The proof for iteration {t + 1} ({theta_it(t)} → {theta_it(t + 1)}): "
                "ℓ = Q + cross-entropy")
        intro = ("Write the log-likelihood as an *expected complete-data log-likelihood* Q "
                 "plus a *cross-entropy*, then compare the old and the new parameters. Under "
                 f"each formula: the same line with this iteration's numbers (t = {t}).")
    return (f"<h3>{html.escape(head)}</h3>" + md_html(intro)
            + _lines_html(proof.derivation_lines(step)))


def _bishop_html(step) -> str:
    head = "<h3>The same proof in Bishop's form: ℓ = 𝓛(q, θ) + KL</h3>"
    if step.hard:
        return head + md_html(
            "Bishop's decomposition ℓ(θ) = 𝓛(q, θ) + KL(q ‖ p(z | x, θ)) holds for *any* q, "
            "but its gap closes only when q is the posterior. Hard EM's one-hot q is not, so "
            "the bound never touches ℓ itself; it touches ℓ_C, and the orange piece below is "
            "the gain from re-assigning each point to its best component.")
    return head + _lines_html(proof.bishop_lines(step))


def _curve_intro(hard: bool, regularised: bool) -> str:
    return "<h3>The bound curve</h3>" + md_html(
        "Walk along a straight line from θ⁽ᵗ⁾ (a = 0) to θ⁽ᵗ⁺¹⁾ (a = 1) and beyond, in "
        "coordinates where every point is a valid mixture (log-weights, means, log-Cholesky "
        "factors of the covariances; log-probabilities for multinomials; logits for Bernoulli "
        "images). "
        + ("For this hard-EM fit the solid curve is ℓ_C, what hard EM maximises, and the "
           "dashed one is Q with the labels held fixed: it never exceeds ℓ_C, touches it at "
           "θ⁽ᵗ⁾ and peaks at θ⁽ᵗ⁺¹⁾. The lower panel shows the gap between them, the gain "
           "from re-assigning the points, which is zero at θ⁽ᵗ⁾ and never negative."
           if hard else
           f"The lower bound 𝓛(qₜ, θ){' + log p(θ)' if regularised else ''} (dashed) "
           f"never exceeds {'ℓ(θ) + log p(θ)' if regularised else 'ℓ(θ)'} (solid): it "
           "touches it at θ⁽ᵗ⁾ and peaks at θ⁽ᵗ⁺¹⁾, which is exactly what the E-step and the "
           "M-step do. The lower panel shows the gap between them, the KL divergence, which "
           "is zero at θ⁽ᵗ⁾ and never negative."))


def _cap(text: str) -> str:
    return md_html(text).replace("<p>", '<p class="cap">')


@st.fragment
def step_view(X, trace) -> None:
    """Everything that depends on the half-step. Every half-step's proof, numbers and charts
    go to the browser once and ◀ / ▶ redraw them there (emui.step_player); when the learner
    stops, only this fragment reruns."""
    N, n_iter = int(trace.n_samples), int(trace.n_iter)
    fingerprint = _fingerprint(trace)
    hard, regularised = bool(getattr(trace, "hard", False)), proof.is_regularised(trace)

    def step_at(hs):
        return _proof_step(fingerprint, hs.t, X, trace)

    # Each point of the bound curve is a pass over all N rows: the player holds every
    # iteration's curve only when that is cheap; otherwise it is drawn below, on request
    # for big data, for the step the learner stops on.
    curve_in_player = N <= CURVE_AUTO_MAX_N and N * n_iter <= CURVE_PLAYER_BUDGET
    log_scale = bool(st.session_state.get(f"{KEY}_log", False))
    what = ("classification log-likelihood ℓ_C" if hard
            else "objective ℓ + log p(θ)" if regularised else "log-likelihood ℓ")
    rows = [
        [emui.Html("why_stage", lambda hs: _stage_html(trace, step_at(hs), hs))],
        [emui.Html("why_proof", lambda hs: _derivation_html(step_at(hs), hs.t))],
        [emui.Html("why_bishop", lambda hs: _bishop_html(step_at(hs)))],
        [emui.Chart("why_bars", lambda hs: proof.bishop_bars_figure(step_at(hs), hs.kind))],
        [emui.Html("why_bars_caption", lambda hs: _cap(
            "Green: the lower bound 𝓛(q, θ) = Q + H"
            + (" (+ log p(θ), as this fit is regularised)" if regularised else "")
            + ". Orange: the gap. Together they make the full bar. After the E-step the gap "
              "is zero; the M-step raises 𝓛, and the gap that reopens only adds to the gain. "
              "The bar for the half-step you are on is solid."))],
        [emui.Html("why_curve_intro", lambda hs: _curve_intro(hard, regularised)
                   + ("" if curve_in_player else _cap(
                       "The curve is drawn below the gains, for the step you stop on.")))],
    ]
    if curve_in_player:
        rows.append([emui.Chart("why_curve", lambda hs: proof.bound_curve_figure(
            _bound_curve(fingerprint, hs.t, trace), step_at(hs)))])
    rows += [
        [emui.Html("why_gains_head", lambda hs: "<h3>Every iteration's gain</h3>")],
        [emui.Chart("why_gains", lambda hs: proof.gains_figure(
            trace, hs.t, log_scale=log_scale, colour_current=False))],
    ]
    hs = emui.step_player(trace, KEY, rows, options=(fingerprint, log_scale, curve_in_player))
    st.toggle("Logarithmic scale", key=f"{KEY}_log",
              help="Late gains are tiny; a log axis shows them all.")
    st.caption(f"Each bar is how much one EM iteration raised the {what}"
               + "; the current iteration is marked in orange. By the proof above, no bar can "
                 "be negative (beyond floating-point rounding).")
    if not curve_in_player:
        st.subheader("The bound curve, at the step you stopped on")
        draw_curve = N <= CURVE_AUTO_MAX_N or st.toggle(
            f"Draw the bound curve ({proof.CURVE_POINTS} passes over all {N:,} points; this "
            "takes a few seconds for each new iteration)", key=f"{KEY}_draw_curve")
        if draw_curve:
            curve = _bound_curve(fingerprint, hs.t, trace)
            st.plotly_chart(emui.step_figure(
                "why_curve", trace, hs,
                lambda: proof.bound_curve_figure(curve, _proof_step(fingerprint, hs.t, X, trace))),
                key=f"{KEY}_curve", theme="streamlit")


if trace.status == "degenerate":
    st.warning(f"This fit ended degenerate: {trace.message}", icon="⚠️")
step_view(X, trace)


@st.fragment
def linkage_climb() -> None:
    """Bishop's fig. 9.14 repeated on DLR's one-parameter example: ℓ(θ) and successive bounds."""
    st.subheader("Every iteration at once: a one-parameter example")
    lt = L.fit_linkage()
    st.markdown(
        "With a single parameter the whole climb fits in one picture. Dempster, Laird & Rubin's "
        f"genetic-linkage data (1977; y = {L.DLR_Y}, one unknown θ, worked through on the "
        "Derivations page) has this ℓ(θ). Each E-step builds a lower bound 𝓛(qₜ, θ) that "
        "touches ℓ at θ⁽ᵗ⁾; the M-step moves to the bound's peak θ⁽ᵗ⁺¹⁾, where ℓ is at least as "
        "high as the bound; the next E-step builds a new bound touching ℓ there. The same two "
        "facts as in the proof above (the bound touches, the bound never exceeds ℓ) make each "
        "step a climb.")
    st.session_state.setdefault(f"{KEY}_dlr_n", 2)  # the default; a link may set it
    n = st.slider("Iterations drawn", 1, 4, key=f"{KEY}_dlr_n",
                  help="One bound per iteration, from θ⁽⁰⁾ = 0.5.")
    emui.urlstate.save_url(KEY)  # the number of bounds is part of the page's link
    st.plotly_chart(DV.linkage_figure(lt, lt.half_step(2 * n), history=n - 1), key=f"{KEY}_dlr_fig",
                    theme="streamlit")
    hidden = [t for t in range(n) if DV.step_hidden(lt, t, zoom=False)]
    st.caption(
        "Solid: ℓ(θ) = log p(y | θ). Dashed: the bound of the last iteration drawn; dotted: "
        "the bounds of the earlier ones, 𝓛(qₜ, θ) = ℓ(θ⁽ᵗ⁾) + Q(θ | θ⁽ᵗ⁾) − Q(θ⁽ᵗ⁾ | θ⁽ᵗ⁾). Each "
        "lies below ℓ, touches it at θ⁽ᵗ⁾ and peaks at θ⁽ᵗ⁺¹⁾ (diamonds: the earlier peaks, "
        "each below ℓ at the same θ). Vertical dotted line: the maximum θ*."
        + (f" Iteration {hidden[0] + 1}'s step is narrower than a pixel at this scale."
           if hidden else ""))
    rows = [{"iteration": t + 1,
             "θ⁽ᵗ⁾ (bound touches)": f"{lt.theta[t]:.9f}",
             "ℓ(θ⁽ᵗ⁾)": f"{lt.log_likelihood[t]:.9f}",
             "θ⁽ᵗ⁺¹⁾ (bound's peak)": f"{lt.theta[t + 1]:.9f}",
             "𝓛(qₜ, θ⁽ᵗ⁺¹⁾)": f"{lt.bound[t]:.9f}",
             "ℓ(θ⁽ᵗ⁺¹⁾)": f"{lt.log_likelihood[t + 1]:.9f}"} for t in range(n)]
    st.table(rows, hide_index=True)  # a few rows: a static table (no data grid to load)
    st.caption("In every row ℓ(θ⁽ᵗ⁾) ≤ 𝓛(qₜ, θ⁽ᵗ⁺¹⁾) ≤ ℓ(θ⁽ᵗ⁺¹⁾): the M-step raised the bound, "
               "and ℓ lies on or above the bound.")


linkage_climb()

with st.expander("Further reading"):
    st.markdown(
        "- The decomposition into an expected complete-data log-likelihood and a "
        "cross-entropy, with Gibbs' inequality, follows the usual textbook treatment of EM "
        "for latent-variable models (e.g. Murphy, *Machine Learning: A Probabilistic "
        "Perspective*, ch. 11).\n"
        "- The lower bound 𝓛(q, θ) and the KL gap are Bishop's *Pattern Recognition and "
        "Machine Learning*, §9.4.\n"
        "- Blog posts on the same story: Gaussian mixtures and EM, the EM lower-bound proof, "
        "and mixtures of multinomials for shopper segmentation.")
