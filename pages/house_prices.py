"""1-D house prices: a two-component Gaussian mixture on log sale prices, step by step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import emdata
import emui
from emcore import landscape as land
from emviz.common import loglik_figure, theta_it, trajectory_figure
from emviz.gauss1d import (
    AxisFormat,
    agreement,
    animation_figure,
    house_numbers,
    mixture_figure,
    params_1d,
    price_axis,
    truth_figure,
)
from emviz.palette import component_color
from emviz.player import md_html, tex_html
from emviz.texnum import fmt_small

KEY = "hp"
DATASETS = {
    "ames": "Ames, Iowa — two neighbourhoods (real)",
    "windsor": "Windsor, Canada — 546 houses (real)",
    "synthetic_1d": "Synthetic — three known Gaussians",
}
INTROS = {
    "ames": (
        "Sale prices from two neighbourhoods are pooled into one list and the neighbourhood "
        "is hidden. A mixture of two bell curves (on the log-price scale) tries to recover "
        "them: the **E-step** colours every house by how likely each curve is to have "
        "produced it, the **M-step** refits each curve to the houses, weighted by those "
        "colours. Step through it, then reveal the true neighbourhoods."),
    "windsor": (
        "All house sales of one Canadian city in 1987, with no groups recorded at all. Does a "
        "mixture of bell curves (on the log-price scale) still find cheaper and dearer "
        "sub-markets? The **E-step** colours every house by how likely each curve is to have "
        "produced it, the **M-step** refits each curve to the houses, weighted by those "
        "colours. There is no truth to reveal here. Do not pick K by comparing ℓ: a bigger K "
        "can always fit at least as well, so ℓ grows with K. **How many components?** below "
        "compares K = 1 … 6 with BIC and ICL, which charge for the extra parameters."),
    "synthetic_1d": (
        "Points drawn from three bell curves whose parameters we know (dotted: the true "
        "mixture). The **E-step** colours every point by how likely each fitted curve is to "
        "have produced it, the **M-step** refits each curve to the points, weighted by those "
        "colours. At the end, compare the fit with the truth."),
}
DEFAULTS = {
    "ames": dict(n_components=2, init="kmeans++", seed=0, reg=0.0, max_iter=100, tol=1e-6),
    "windsor": dict(n_components=2, init="kmeans++", seed=0, reg=0.0, max_iter=100, tol=1e-6),
    "synthetic_1d": dict(n_components=3, init="kmeans++", seed=0, reg=0.0, max_iter=100, tol=1e-6),
}

#: The synthetic data's generator settings and the chosen house also go into the link.
URL_EXTRA = [emui.Param("n", f"{KEY}_syn_n", emui.urlstate.parse_int(100, 5000)),
             emui.Param("gseed", f"{KEY}_syn_seed", emui.urlstate.parse_int(0, 10_000)),
             emui.Param("house", f"{KEY}_house_rank", emui.urlstate.parse_int(1, 1_000_000))]


@st.cache_resource(show_spinner=False)
def _animation(data_key: str, settings_key: str, _x, _trace, _axis):
    return animation_figure(_x, _trace, axis=_axis)


def _gif(x, trace, axis_fmt) -> bytes:
    """The animated GIF of the run (matplotlib is imported only when it is asked for)."""
    from emviz import export

    return export.gauss1d_gif(x, trace, axis=axis_fmt)


def _k(name: str) -> str:
    return emui.widget_key(KEY, name)


def _price(v: float, ds) -> str:
    """A log10 price as money (or the raw value for synthetic data)."""
    if ds.display_transform == "log10(price)":
        cur = "CA$" if ds.extra.get("price_unit") == "CAD" else "$"
        return f"{cur}{10 ** v:,.0f}"
    return f"{v:.4g}"


@st.cache_data(show_spinner=False)
def _collapse_start(data_key: str, x: np.ndarray) -> tuple[float, float]:
    """The collapse preset's start (price, σ₀), found by ``emcore.landscape.collapse_start``."""
    return land.collapse_start(x)


def _apply_collapse(data_key: str, x: np.ndarray) -> None:
    """Button callback: reg 0, K = 2, one component started on a single price."""
    x0, sd0 = _collapse_start(data_key, x)
    st.session_state[_k("n_components")] = 2
    st.session_state[_k("init")] = "custom"
    st.session_state[_k("means")] = f"{x0:.6f}, {float(np.mean(x)):.6f}"
    st.session_state[_k("reg")] = 0.0
    st.session_state[_k("tol")] = 0.0
    st.session_state[_k("max_iter")] = 100
    st.session_state[_k("step")] = 0
    st.session_state["hp_collapse_means"] = st.session_state[_k("means")]
    st.session_state["hp_collapse_sd"] = sd0


def _fix_collapse() -> None:
    """Button callback: turn regularisation on (same start), and jump to the end of the run."""
    st.session_state[_k("reg")] = 1e-3
    st.session_state[_k("tol")] = 1e-6
    st.session_state[_k("step")] = 10**9


def chosen_house(x, trace) -> int:
    """Index of the learner's house: the slider's price rank, or by default the house the
    final fit is unsure about (its largest responsibility near 0.6) — the interesting case."""
    order = np.argsort(x, kind="stable")
    key = _k("house_rank")
    if key not in st.session_state or not 1 <= int(st.session_state[key]) <= len(x):
        final_r = np.asarray(trace.responsibilities(trace.n_iter))
        i0 = int(np.argmin(np.abs(final_r.max(axis=1) - 1 / final_r.shape[1] - 0.1)))
        st.session_state[key] = int(np.flatnonzero(order == i0)[0]) + 1
    return int(order[int(st.session_state[key]) - 1])


def _house_moved() -> None:
    """The house slider moved: the main chart highlights the house, so the whole page reruns."""
    st.session_state[_k("house_moved")] = True


def house_panel(x, ds, trace, data_id: str) -> None:
    """One house, chosen by the learner; its E- and M-step formulas, filled in at the half-step
    on screen, are a view of the step player (they follow ◀ / ▶ in the browser)."""
    n = len(x)
    label = "house" if ds.display_transform == "log10(price)" else "point"
    chosen_house(x, trace)
    st.slider(f"Choose a {label} by its rank, from the cheapest (1) to the dearest ({n})"
              if label == "house" else f"Choose a point by its rank, smallest (1) to largest ({n})",
              min_value=1, max_value=n, key=_k("house_rank"), on_change=_house_moved)
    i = chosen_house(x, trace)
    if trace.n_iter == 0:
        st.info("The fit stopped before its first iteration, so there is no step to show.")
        return
    rank = int(st.session_state[_k("house_rank")])
    emui.step_view(trace, KEY, "house", [[emui.Html(
        "hp_house", lambda h: house_html(x, ds, trace, h, i, rank))]], options=(data_id, i))


def house_html(x, ds, trace, hs, i: int, rank: int) -> str:
    """The one-house panel at half-step ``hs`` as HTML: the E-step of iteration t for point
    ``i`` (price rank ``rank``), then the M-step, every number from :func:`house_numbers`,
    checked against the engine's θ⁽ᵗ⁺¹⁾."""
    md, tex = md_html, tex_html
    n = len(x)
    label = "house" if ds.display_transform == "log10(price)" else "point"
    t = hs.t  # at θ⁽⁰⁾ the panel shows iteration 1
    hn = house_numbers(x, trace, t, i)
    K = len(hn.weights)
    sub = lambda k: f"{k + 1}"  # noqa: E731
    out = [md(f"**E-step {t + 1}** for the {label} of rank {rank} (of {n}, by price): "
              f"x = log₁₀({_price(hn.x_i, ds)}) = {hn.x_i:.4f}" if label == "house" else
              f"**E-step {t + 1}** for the point of rank {rank} (of {n}): x = {hn.x_i:.4f}"),
           _cap(f"Parameters {theta_it(t)} used: " + "; ".join(
               f"π{k + 1} = {hn.weights[k]:.3f}, μ{k + 1} = {hn.means[k]:.4f}, "
               f"σ{k + 1} = {hn.sds[k]:.4f}" for k in range(K))),
           tex(r"r_{ik} = \frac{\pi_k\,\mathcal{N}(x_i \mid \mu_k, \sigma_k^2)}"
               r"{\sum_j \pi_j\,\mathcal{N}(x_i \mid \mu_j, \sigma_j^2)},\qquad"
               r"\mathcal{N}(x\mid\mu,\sigma^2)=\frac{1}{\sigma\sqrt{2\pi}}"
               r"e^{-(x-\mu)^2/2\sigma^2}")]
    terms = " + ".join(rf"{hn.weights[j]:.3f}\times{fmt_small(hn.densities[j])}"
                       for j in range(K)) if K <= 4 else fmt_small(hn.evidence)
    for k in range(K):
        out.append(tex(
            rf"r_{{i{sub(k)}}} = \frac{{{hn.weights[k]:.3f}\times{fmt_small(hn.densities[k])}}}"
            rf"{{{terms}}} = \frac{{{fmt_small(hn.numerators[k])}}}{{{fmt_small(hn.evidence)}}}"
            rf" = \mathbf{{{hn.resp_i[k]:.4f}}}"))
    out.append(md(f"**M-step {t + 1}**: every point votes with its responsibility; this {label} "
                  f"contributes r_ik to N_k and r_ik·x_i to the weighted sum."))
    out.append(tex(r"N_k=\sum_i r_{ik},\quad \mu_k^{\text{new}}=\frac{1}{N_k}\sum_i r_{ik}x_i,"
                   r"\quad\sigma_k^{2,\text{new}}=\frac{\sum_i r_{ik}(x_i-\mu_k^{\text{new}})^2"
                   + (r" + \text{reg}" if hn.reg > 0 else "") + r"}{N_k},\quad"
                   r"\pi_k^{\text{new}}=\frac{N_k}{N}"))
    new = trace.params[t + 1]
    w1, mu1, sd1 = params_1d(new)
    for k in range(K):
        reg_txt = rf" + {hn.reg:g}" if hn.reg > 0 else ""
        out.append(tex(
            rf"\textcolor{{{component_color(k)}}}{{\blacksquare}}\;"
            rf"N_{sub(k)} = {hn.Nk[k]:.2f}\;(\text{{this {label}: }}{hn.resp_i[k]:.3f}),\quad"
            rf"\mu_{sub(k)} = \frac{{{hn.sum_rx[k]:.3f}}}{{{hn.Nk[k]:.2f}}} = {hn.new_means[k]:.4f}"
            rf"\;(\text{{this {label}: }}{hn.resp_i[k] * hn.x_i:.3f}),"))
        out.append(tex(
            rf"\sigma^2_{sub(k)} = \frac{{{hn.scatter[k]:.4f}{reg_txt}}}{{{hn.Nk[k]:.2f}}}"
            rf" = {hn.new_vars[k]:.5f}\;(\sigma_{sub(k)} = {np.sqrt(hn.new_vars[k]):.4f}),\quad"
            rf"\pi_{sub(k)} = \frac{{{hn.Nk[k]:.2f}}}{{{hn.N}}} = {hn.new_weights[k]:.4f}"))
    ok = np.allclose(hn.new_means, mu1, rtol=1e-6, atol=1e-9) and \
        np.allclose(hn.new_weights, w1, rtol=1e-6, atol=1e-9) and \
        np.allclose(np.sqrt(hn.new_vars), sd1, rtol=1e-5, atol=1e-9)
    if ok:
        out.append(_cap(f"✓ These hand-computed numbers equal {theta_it(t + 1)} from the EM "
                        f"engine (μ = {', '.join(f'{m:.4f}' for m in mu1)})."))
    else:
        out.append(_cap("These hand-computed numbers differ from the engine's θ — a degenerate "
                        "step (a variance hit zero) cannot be redone by hand."))
    return "".join(out)


def _cap(text: str) -> str:
    return md_html(text).replace("<p>", '<p class="cap">')


def _data(data_key: str):
    """The chosen dataset (the synthetic one with its generator controls) and its cache id."""
    if data_key != "synthetic_1d":
        return emdata.load_dataset(data_key), data_key
    st.session_state.setdefault(_k("syn_n"), 600)
    st.session_state.setdefault(_k("syn_seed"), 1)
    n_syn = int(st.sidebar.number_input(
        "Points to generate", min_value=100, max_value=5000, step=100,
        key=_k("syn_n"), help="Drawn from three Gaussians with known parameters."))
    seed_syn = int(st.sidebar.number_input("Generator seed", min_value=0, max_value=10_000,
                                           step=1, key=_k("syn_seed")))
    return (emdata.load_dataset("synthetic_1d", n=n_syn, seed=seed_syn),
            f"synthetic_1d-n{n_syn}-s{seed_syn}")


def _fit_settings(data_key: str, data_id: str, x, is_price: bool):
    """The collapse preset button and the fit controls; returns (settings, collapse) where
    ``collapse`` says the run starts from the collapse preset."""
    from dataclasses import replace

    st.sidebar.button("Collapse preset: reg 0, one component on a single price",
                      key=_k("collapse"), on_click=_apply_collapse, args=(data_id, x),
                      help="Starts one component on an isolated price with a tiny spread and no "
                           "regularisation, so you can watch it shrink until the fit breaks.",
                      width="stretch")
    settings = emui.fit_controls(
        KEY, family="gaussian", defaults=DEFAULTS[data_key], n_features=1,
        means_help=("One starting price per component, in dollars (e.g. '130000, 260000') or "
                    "as log10 of the price (e.g. '5.1, 5.4').") if is_price else None)
    if is_price and settings.custom_means is not None and min(
            m[0] for m in settings.custom_means) > 100:
        # Prices typed in dollars: the fit works on log10(price).
        settings = replace(settings, custom_means=tuple(
            (float(np.log10(m[0])),) for m in settings.custom_means))
    collapse = (st.session_state.get("hp_collapse_means") is not None
                and settings.init == "custom"
                and st.session_state.get(_k("means")) == st.session_state.get("hp_collapse_means"))
    if collapse:
        settings = replace(settings, custom_sds=(float(st.session_state.get("hp_collapse_sd", 1e-3)),
                                                 float(np.std(x))))
    emui.reset_button(KEY, DEFAULTS[data_key], drop=("hp_collapse_means",))
    return settings, collapse


def _collapse_news(trace, settings, collapse: bool) -> None:
    """A degenerate fit's news (with the fix button) first; or why the preset did not collapse."""
    if trace.status == "degenerate":  # the news comes first; otherwise it waits below the chart
        emui.status_banner(trace)
        with st.container(border=True):
            st.markdown(
                "**What happened?** One component shrank onto a single price. A normal curve "
                "with spread σ has height 1/(σ√2π) at its centre, so as σ → 0 that one house's "
                "density — and with it the log-likelihood — grows without limit. The "
                "likelihood of a Gaussian mixture is unbounded, so it has no global maximum; "
                "EM climbed into one of its spikes, where ℓ → +∞. The sensible fits are "
                "*local* maxima, and those remain meaningful. **The fix** is a penalty that "
                "keeps variances away from zero: regularisation adds reg to each component's "
                "scatter before dividing by N_k, and EM then maximises ℓ + log p, which is "
                "bounded.")
            st.button("Fix it: turn regularisation on (reg = 0.001)", key=_k("fix"),
                      on_click=_fix_collapse, type="primary")
    elif collapse and settings.reg > 0:
        st.info("Same start as the collapse preset, but with regularisation on: the spike "
                "cannot shrink below σ² ≈ reg/N_k, so it stays a proper component.", icon="🛟")


def main() -> None:
    emui.url_state(KEY, page="house_prices", datasets=list(DATASETS), family="gaussian",
                   n_features=1, extra=URL_EXTRA)
    st.sidebar.header("Data")
    data_key = emui.dataset_picker(KEY, DATASETS, "ames", DEFAULTS,
                                   drop=("hp_collapse_means", _k("house_rank")))
    ds, data_id = _data(data_key)
    x = np.asarray(ds.X, dtype=float)[:, 0]
    is_price = ds.display_transform == "log10(price)"
    axis_fmt = price_axis(x, "CA$" if ds.extra.get("price_unit") == "CAD" else "$") if is_price \
        else AxisFormat(title=ds.feature_names[0])
    settings, collapse = _fit_settings(data_key, data_id, x, is_price)

    emui.page_header("🏠 House prices", INTROS[data_key])
    trace = emui.run_fit(x, settings, data_id)
    if st.session_state.get(_k("step"), 0) >= trace.n_half_steps:
        st.session_state[_k("step")] = trace.n_half_steps - 1
    _collapse_news(trace, settings, collapse)
    step_view(x, ds, trace, settings, data_id, axis_fmt)
    panels(x, ds, trace, settings, data_id, axis_fmt)
    emui.selection_panel(x, settings, data_id, KEY)
    emui.publish_fit("house_prices", x.reshape(-1, 1), trace, ds.title)


@st.fragment
def step_view(x, ds, trace, settings, data_id: str, axis_fmt) -> None:
    """The step player and the exercise (whose question is about the half-step on screen):
    when the learner stops on a half-step, only this small fragment reruns. The panels below
    are the same at every half-step, or are views that follow the player in the browser."""
    is_price = ds.display_transform == "log10(price)"
    highlight = chosen_house(x, trace)
    # The chart, the narration, ℓ and the proof for every half-step go to the browser once;
    # ◀ / ▶ then redraw them there (emui.player).
    hs = emui.step_player(trace, KEY, [
        [emui.Chart("hp_mixture", lambda h: mixture_figure(
            x, trace, h, axis=axis_fmt, highlight=highlight, true_params=ds.true_params),
            height=540)],
        [emui.narration(trace, fmt=lambda v: _price(v, ds)),
         emui.Chart("hp_loglik", lambda h: loglik_figure(trace, h))],
        [emui.proof(trace)],
    ], options=(data_id, highlight))
    emui.exercise_panel(trace, hs, KEY, X=x, fmt=(lambda v: _price(v, ds)) if is_price else None,
                        restarts=lambda: emui.run_restarts(x, settings, data_id, n_restarts=4),
                        title=ds.title)


@st.fragment
def panels(x, ds, trace, settings, data_id: str, axis_fmt) -> None:
    """Everything below the player. It reruns on its own widgets (a tab, the house slider),
    not when the learner steps: what it shows is the same at every half-step, or is a view of
    the player (emui.step_view) that follows the step in the browser."""
    if st.session_state.pop(_k("house_moved"), False):
        st.rerun(scope="app")  # the main chart highlights the chosen house
    # The chosen house's slider lives in a tab that is not always built; keep its value.
    if _k("house_rank") in st.session_state:
        st.session_state[_k("house_rank")] = st.session_state[_k("house_rank")]
    is_price = ds.display_transform == "log10(price)"
    unit = "log₁₀ $" if is_price else None
    highlight = chosen_house(x, trace)
    if trace.status != "degenerate":
        emui.status_banner(trace)
    emui.dataset_caption(ds)
    emui.landscape_panel(x, trace, settings, KEY, axis=axis_fmt)

    # Only the open tab is built (switching tabs reruns this fragment).
    tabs = st.tabs(["🏠 One house, by the numbers", "📈 μ, σ, π over iterations", "▶ Animation",
                    "🎲 Restarts", "🔍 Reveal the truth", "⬇ Downloads"],
                   key=_k("tab"), on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            house_panel(x, ds, trace, data_id)
    if tabs[1].open:
        with tabs[1]:
            emui.step_view(trace, KEY, "traj", [[emui.Chart(
                "hp_traj", lambda h: trajectory_figure(trace, h, unit=unit))]],
                options=(data_id, unit))
    if tabs[2].open:
        with tabs[2]:
            st.caption("Plays in your browser: one frame per half-step (long runs are "
                       "subsampled), up to 600 points in the rug.")
            emui.animation_chart(_animation(data_id, settings.cache_key(), x, trace, axis_fmt),
                                 key=_k("anim"))
    if tabs[3].open:
        with tabs[3]:
            restarts_tab(x, settings, data_id, axis_fmt)
    if tabs[4].open:
        with tabs[4]:
            truth_tab(x, ds, trace, axis_fmt)
    if tabs[5].open:
        with tabs[5]:
            emui.downloads(
                trace, x, KEY,
                figures={"Histogram and components": lambda h: mixture_figure(
                             x, trace, h, axis=axis_fmt, highlight=highlight,
                             true_params=ds.true_params),
                         "Parameter trajectories": lambda h: trajectory_figure(trace, h, unit=unit),
                         "Log-likelihood": lambda h: loglik_figure(trace, h)},
                gif=lambda: _gif(x, trace, axis_fmt),
                feature_names=ds.feature_names)


def restarts_tab(x, settings, data_id: str, axis_fmt) -> None:
    if settings.n_restarts <= 1:
        st.info("Set “Restarts shown side by side” in the sidebar to 2 or more to compare "
                "fits from different seeds.")
        return
    traces = emui.run_restarts(x, settings, data_id)
    emui.restarts_chart(traces, key=_k("restarts"))
    cols = st.columns(len(traces))
    for i, (col, tr) in enumerate(zip(cols, traces, strict=True)):
        with col:
            last = tr.half_step(tr.n_half_steps - 1)
            st.plotly_chart(emui.step_figure(
                "hp_restart", tr, last, lambda tr=tr, last=last, i=i: mixture_figure(
                    x, tr, last, axis=axis_fmt, height=340, show_legend=False,
                    title=f"Restart {i + 1}: ℓ = {tr.log_likelihood[-1]:.1f}"),
                options=(data_id, i)), key=_k(f"restart_fig_{i}"), theme="streamlit")

def truth_tab(x, ds, trace, axis_fmt) -> None:
    """The final fit (whatever half-step is on screen) against the known groups."""
    if ds.labels is None:
        st.info("This dataset has no known groups to compare with. Try Ames (neighbourhoods) "
                "or the synthetic data (true components).")
        return
    st.caption(f"The fitted result — the last half-step, {theta_it(trace.n_iter)} — against "
               f"the true {ds.label_name.lower()}s.")
    R = np.asarray(trace.responsibilities(trace.n_iter))
    ag = agreement(ds.labels, R.argmax(axis=1), R.shape[1])
    st.metric("Agreement with the truth", f"{100 * ag.fraction:.1f}%",
              help="Share of points whose most likely component matches their true group, "
                   "after matching components to groups in the best way.")
    st.plotly_chart(truth_figure(x, ds.labels, R, axis=axis_fmt, label_name=ds.label_name.lower()),
                    key=_k("truth"), theme="streamlit")
    table = pd.DataFrame(ag.table, columns=ag.label_names,
                         index=[f"component {k + 1}" + (f" → {ag.match[k]}" if k in ag.match else "")
                                for k in range(ag.table.shape[0])])
    st.caption(f"Points by most likely component (rows) and true {ds.label_name.lower()} (columns).")
    st.dataframe(table)
    if ds.true_params is not None:
        w, mu, sd = params_1d(trace.params[-1])
        tw, tmu, tsd = params_1d(ds.true_params)
        rows = []
        for k, lab in ag.match.items():
            j = int(lab) if lab.isdigit() else None
            if j is not None and j < len(tw):
                rows.append({"component": k + 1, "fitted π": w[k], "true π": tw[j],
                             "fitted μ": mu[k], "true μ": tmu[j], "fitted σ": sd[k], "true σ": tsd[j]})
        if rows:
            st.caption("Fitted against true parameters (matched components).")
            st.dataframe(pd.DataFrame(rows).set_index("component").round(3))


main()
