"""Derivations: what the other pages state, derived step by step with the current fit's numbers.

Thin page: it picks a fit (one published by another page through ``emui.publish_fit``, or the
default Ames fit of the 1-D page), reads two step sliders, and shows numbers computed by
``emcore.derivations`` and ``emcore.linkage``; the figures come from ``emviz.derivations``.
"""

from __future__ import annotations

import streamlit as st

import emcore
import emdata
import emui
from emcore import derivations as D
from emcore import linkage as L
from emui import glossary
from emui.settings import FitSettings
from emviz import derivations as V
from emviz.common import theta_it
from emviz.gauss1d import price_axis
from emviz.texnum import fmt, fmt_plain, fmt_small, sub

KEY = "der"
DEFAULT = "default"
PAGE_NAMES = {"house_prices": "1-D house prices", "your_data": "Your data",
              "baskets": "Market baskets"}
#: The 1-D page's default fit (the same settings, so the two pages share one cached fit).
AMES_SETTINGS = FitSettings(n_components=2, init="kmeans++", seed=0, reg=0.0, max_iter=100,
                            tol=1e-6)
#: A small multinomial fit for the θ_k derivation when no baskets fit has been published.
CRACKER_SETTINGS = FitSettings(n_components=3, init="random", seed=0, alpha=1.01, max_iter=200,
                               tol=1e-6)
DLR_URL = "https://doi.org/10.1111/j.2517-6161.1977.tb01600.x"


def f4(x: float) -> str:
    """A number for a formula: four decimals."""
    return fmt(float(x), 4)


def eq(*lines: str) -> None:
    """A displayed formula, one short line per argument (aligned at "&"), so that it fits a
    phone screen without being cut."""
    st.latex(r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}")


# --------------------------------------------------------------------------------------------
# Which fit
# --------------------------------------------------------------------------------------------

def _usable(fit) -> bool:
    tr = fit.get("trace")
    return (tr is not None and getattr(tr, "family", "") == "gaussian" and tr.n_iter > 0
            and not getattr(tr, "hard", False) and getattr(tr, "status", "") != "degenerate"
            and D.is_1d_gaussian(tr.params[0]))


def choose_fit():
    """A one-dimensional Gaussian fit published by another page, else the default Ames fit."""
    fits = st.session_state.get("em_fits", {}) or {}
    options = [name for name, fit in fits.items() if _usable(fit)] + [DEFAULT]
    labels = {name: f"{fits[name]['title']} (from the {PAGE_NAMES.get(name, name)} page)"
              for name in options[:-1]}
    labels[DEFAULT] = "Ames prices, K = 2 (the 1-D page's default)"
    state = f"{KEY}_source"
    if state not in st.session_state or st.session_state[state] not in options:
        last = st.session_state.get("em_last_fit")
        st.session_state[state] = last if last in options else options[0]
    source = st.selectbox("Fit whose numbers fill the formulas", options, key=state,
                          format_func=labels.get,
                          help="Any one-dimensional soft-EM fit from the 1-D house prices or "
                               "Your data page appears here once you have run it.")
    skipped = [fits[name]["title"] for name in fits if name not in options]
    if skipped:
        st.caption("Not offered here (the derivations below are for one-dimensional soft EM "
                   "that ended without a collapsed component): " + ", ".join(skipped) + ".")
    if source == DEFAULT:
        ds = emdata.load_dataset("ames")
        x = ds.X[:, 0]
        trace = emui.run_fit(x, AMES_SETTINGS, "ames")
        return x, trace, ds.title, price_axis(x, title="log₁₀ sale price")
    fit = fits[source]
    return D._x(fit["X"]), fit["trace"], fit["title"], None


def choose_multinomial_fit():
    """A published (soft-EM) multinomial fit, else a small fit of the Cracker counts."""
    fit = (st.session_state.get("em_fits", {}) or {}).get("baskets")
    if fit is not None and getattr(fit["trace"], "family", "") == "multinomial" \
            and not getattr(fit["trace"], "hard", False) and fit["trace"].n_iter > 0 \
            and getattr(fit["trace"], "status", "") != "degenerate":
        return fit["X"], fit["trace"], fit["title"], fit.get("feature_names")
    ds = emdata.load_dataset("cracker")
    trace = emui.run_fit(ds.X, CRACKER_SETTINGS, "cracker", family="multinomial")
    return ds.X, trace, ds.title, ds.feature_names


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------

#: What a link to this page holds: the default fit (a fit published by another page lives in
#: this session only), the two half-steps, the zoom and the sample number.
URL_PARAMS = [
    emui.Param("fit", f"{KEY}_source", emui.urlstate.parse_choice([DEFAULT])),
    emui.Param("step", f"{KEY}_step", emui.urlstate.parse_int(0, 1_000_000)),
    emui.Param("dlr", f"{KEY}_dlr_step", emui.urlstate.parse_int(0, 1_000)),
    emui.Param("zoom", f"{KEY}_dlr_zoom", emui.urlstate.parse_bool, emui.urlstate.fmt_bool),
    emui.Param("sample", f"{KEY}_sample_seed", emui.urlstate.parse_int(1, 1_000_000)),
]
emui.url_state(KEY, page="derivations", params=URL_PARAMS)
emui.page_header(
    "Derivations",
    "The other pages *state* the E-step, the M-step and the lower bound. Here each one is "
    "*derived*, and wherever a number can be shown it is the number of a real fit, so every "
    "step can be checked. The page ends with the first EM example ever published, worked "
    f"step by step. Every symbol is defined in {glossary.WHERE}.",
)
x, trace, title, axis = choose_fit()
N, K = int(trace.n_samples), int(trace.n_components)
theta_hat = trace.params[-1]
reg = float(trace.reg)
what = "ℓ + log p(θ)" if reg > 0 else "ℓ"
st.caption(f"**{title}** — N = {N:,} points, K = {K} components, {trace.n_iter} iterations "
           f"({trace.status}); EM maximised {what}"
           + (f" with the penalty reg = {reg:g}." if reg > 0 else "."))

# --- 1. Why direct maximum likelihood fails -------------------------------------------------
st.header("1 · Why direct maximum likelihood fails")
st.markdown(
    "For one-dimensional data and K Gaussian components the log-likelihood is")
st.latex(r"\ell(\theta) = \sum_{i=1}^{N} \log \sum_{k=1}^{K} \pi_k\,"
         r"\mathcal{N}(x_i \mid \mu_k, \sigma_k^2).")
st.markdown(
    "The logarithm sits **outside** the sum over components: it cannot reach the Gaussians, "
    "so ℓ does not split into one simple term per component the way a single Gaussian's "
    "log-likelihood does. Differentiate anyway, with respect to $\\mu_k$:")
eq(r"\frac{\partial \ell}{\partial \mu_k} &= \sum_{i=1}^{N} \frac{\pi_k \mathcal{N}(x_i \mid "
   r"\mu_k, \sigma_k^2)}{\sum_{j} \pi_j \mathcal{N}(x_i \mid \mu_j, \sigma_j^2)}\,"
   r"\frac{x_i - \mu_k}{\sigma_k^2}",
   r"&= \sum_{i=1}^{N} r_{ik}\, \frac{x_i - \mu_k}{\sigma_k^2},",
   r"r_{ik} &= p(z_i = k \mid x_i, \theta).")
st.markdown(
    "The fraction is the **responsibility** $r_{ik}$, the probability that component $k$ "
    "produced $x_i$. Setting this and the other derivatives to zero (for π with a Lagrange multiplier, "
    "because the weights must sum to 1; §4 does it for Q) gives, with $N_k = \\sum_i r_{ik}$:")
eq(r"\mu_k &= \frac{1}{N_k}\sum_{i} r_{ik}\, x_i,",
   (r"\sigma_k^2 &= \frac{1}{N_k}\Big(\sum_{i} r_{ik}\,(x_i - \mu_k)^2 + \mathrm{reg}\Big),"
    if reg > 0 else r"\sigma_k^2 &= \frac{1}{N_k}\sum_{i} r_{ik}\,(x_i - \mu_k)^2,"),
   r"\pi_k &= \frac{N_k}{N}.")
st.markdown(
    "These look like answers, but they are not: every $r_{ik}$ on the right depends on *all* "
    "of $\\mu$, $\\sigma$ and $\\pi$ on the left. The equations are **circular** and have no closed-form solution. "
    "They do suggest a procedure — guess θ, compute the $r_{ik}$, solve the equations as if "
    "the $r_{ik}$ were fixed, repeat — and that procedure is EM. Its fixed point satisfies the "
    "equations:")
stat_end = D.stationarity_1d(x, theta_hat, reg)
stat_0 = D.stationarity_1d(x, trace.params[0], reg)
n_it = trace.n_iter
rows = []
for k in range(K):
    rows.append({
        "k": k + 1,
        f"πₖ ({theta_it(n_it)})": f"{stat_end['weights'][k]:.5f}",
        "Nₖ / N": f"{stat_end['weights_rhs'][k]:.5f}",
        f"μₖ ({theta_it(n_it)})": f"{stat_end['means'][k]:.5f}",
        "Σᵢ rᵢₖ xᵢ / Nₖ": f"{stat_end['means_rhs'][k]:.5f}",
        f"σₖ² ({theta_it(n_it)})": f"{stat_end['variances'][k]:.6f}",
        "right-hand side": f"{stat_end['variances_rhs'][k]:.6f}",
    })
st.dataframe(rows, hide_index=True, width="stretch")
lam = ", ".join(f"{v:.2f}" for v in stat_end["lagrange"])
st.markdown(
    f"At the fitted {theta_it(n_it)} each side matches the other to within "
    f"**{100 * stat_end['max_rel_residual']:.3g} %** (the largest gap, against πₖ, σₖ² and, "
    "for the means, σₖ; "
    + (f"EM stopped when an iteration raised {what} by less than its tolerance per point, so "
       "the fixed point is reached only to that accuracy"
       if trace.status == "converged" else f"EM stopped after {n_it} iterations ({trace.status})")
    + "). At the start θ⁽⁰⁾ the largest gap was "
    f"**{100 * stat_0['max_rel_residual']:.3g} %**. The Lagrange multiplier of the weights "
    f"is λ = N_k/π_k for every k: here {lam}, all close to N = {N:,}.")

# --- 2. The generative story ----------------------------------------------------------------
st.header("2 · The generative story")
st.markdown(
    "A mixture model is a recipe for making data. For each point i = 1…N:\n"
    "1. draw a hidden label $z_i \\sim \\mathrm{Cat}(\\pi)$: component $k$ with probability "
    "$\\pi_k$;\n"
    "2. draw $x_i$ from that component: $x_i \\mid z_i = k \\sim \\mathcal{N}(\\mu_k, \\sigma_k^2)$.\n\n"
    "Only $x_i$ is recorded. Summing the hidden label out gives back the mixture density, "
    "$p(x_i \\mid \\theta) = \\sum_k p(z_i = k)\\, p(x_i \\mid z_i = k)$, that is "
    "$\\sum_k \\pi_k \\mathcal{N}(x_i \\mid \\mu_k, \\sigma_k^2)$. The "
    "graphical model draws the recipe: the shaded circle is observed, the open one hidden, "
    "dots are parameters, and each box (a *plate*) repeats what it holds N or K times.")
g_left, g_right = st.columns([3, 2], vertical_alignment="center")
with g_left:
    st.plotly_chart(V.graphical_model_figure(theta_hat, n_samples=N), key=f"{KEY}_gm",
                    theme="streamlit")
with g_right:
    sd_hat = stat_end["variances"] ** 0.5
    st.markdown(
        f"**The fitted recipe** ({theta_it(n_it)}):\n\n"
        + "\n".join(f"- z = {k + 1} with probability π{sub(k + 1)} = "
                     f"{stat_end['weights'][k]:.4f}, then x ~ N({stat_end['means'][k]:.4f}, "
                     f"{sd_hat[k]:.4f}²)" for k in range(K)))
seed_key = f"{KEY}_sample_seed"
st.session_state.setdefault(seed_key, 1)
st.button("🎲 Draw another sample", key=f"{KEY}_resample",
          on_click=lambda: st.session_state.__setitem__(seed_key, st.session_state[seed_key] + 1))
sx, sz = emcore.sample(theta_hat, N, seed=int(st.session_state[seed_key]))
st.plotly_chart(V.sample_figure(x, sx[:, 0], sz, theta_hat, axis=axis), key=f"{KEY}_sample",
                theme="streamlit")
expected = ", ".join(f"{N * w:.1f}" for w in stat_end["weights"])
st.caption(
    f"Bottom: {N:,} points generated by the recipe from the fitted θ (sample "
    f"#{st.session_state[seed_key]}), coloured by the label z that produced each one. On "
    f"average the recipe gives N·π_k = {expected} points per component. If the model is "
    "good, the two panels look alike up to sampling noise.")

# --- the step of the fit used in §3–§5 ------------------------------------------------------
@st.fragment
def iteration_sections(x, trace, reg: float) -> None:
    """§3–§5, filled with the numbers of the iteration the Step slider picks (a fragment: a
    step reruns only these sections)."""
    N, K = int(trace.n_samples), int(trace.n_components)
    st.header("3 · Q, written out for the 1-D mixture")
    st.markdown(
        "Pick an iteration of the fit: §3–§5 fill their formulas with its numbers "
        "(the E-step of iteration t + 1 uses θ⁽ᵗ⁾, its M-step produces θ⁽ᵗ⁺¹⁾).")
    hs = emui.step_slider(trace, KEY)
    t = hs.t
    R = trace.responsibilities(t)
    theta_t, theta_n = trace.params[t], trace.params[t + 1]
    st.markdown(
        "If the labels $z_i$ were known, the **complete-data** log-likelihood would be easy. The "
        "indicator $\\mathbb{1}[z_i = k]$ (1 if point $i$ came from component $k$, else 0) picks "
        "out the one "
        "term that applies:")
    eq(r"\log p(x, z \mid \theta) &= \sum_{i=1}^{N} \sum_{k=1}^{K} \mathbb{1}[z_i = k]\; a_{ik},",
       r"a_{ik} &= \log \pi_k + \log \mathcal{N}(x_i \mid \mu_k, \sigma_k^2).")
    st.markdown(
        "The labels are unknown, so EM averages over them with $q_t(z) = p(z \\mid x, \\theta^{(t)})$. "
        "The "
        "expression is *linear* in the indicators, so the average only has to replace each "
        "indicator by its expectation, $\\mathbb{E}\\,\\mathbb{1}[z_i = k] = p(z_i = k \\mid x_i, "
        "\\theta^{(t)}) = r_{ik}^{(t)}$. That is "
        "the whole E-step, and why it is called an *expectation* step:")
    eq(r"Q(\theta \mid \theta^{(t)}) &= \mathbb{E}_{q_t}\!\left[\log p(x, z \mid \theta)\right]",
       r"&= \sum_{i=1}^{N}\sum_{k=1}^{K} r_{ik}^{(t)}\, a_{ik}",
       r"&= \sum_{i=1}^{N}\sum_{k=1}^{K} r_{ik}^{(t)} \Big(\log \pi_k",
       r"&\qquad - \tfrac12 \log(2\pi\sigma_k^2)",
       r"&\qquad - \frac{(x_i - \mu_k)^2}{2\sigma_k^2}\Big).")
    i = D.most_uncertain_row(R)
    lj = D.log_joint_1d(x[i:i + 1], theta_n)[0]
    st.markdown(
        f"**One point, iteration {t + 1}.** Point #{i + 1}, x = {x[i]:.4f}, is the one EM is "
        f"least sure about at {theta_it(t)}. Its complete-data term $a_{{ik}}$ at {theta_it(t + 1)} is "
        + " or ".join(f"{lj[k]:.4f} (if z = {k + 1})" for k in range(K))
        + "; Q weights them by the responsibilities:")
    eq(r"\textstyle\sum_k r_{ik}^{(" + str(t) + r")}\, a_{ik} &= "
       + rf"{R[i, 0]:.4f} \cdot ({f4(lj[0])})",
       *[rf"&\quad + {R[i, k]:.4f} \cdot ({f4(lj[k])})" for k in range(1, K)],
       r"&= " + f4(float(R[i] @ lj)) + ".")
    qp = D.q_parts_1d(x, R, theta_n)
    st.markdown(f"Summed over all {N:,} points, Q splits into a weights part and a Gaussian part:")
    eq(r"&Q(\theta^{(" + str(t + 1) + r")} \mid \theta^{(" + str(t) + r")})",
       r"&\quad= \textstyle\sum_k N_k \log \pi_k",
       r"&\qquad + \textstyle\sum_i\sum_k r_{ik}\log\mathcal{N}(x_i\mid\mu_k,\sigma_k^2)",
       r"&\quad= (" + f4(qp["weights_part"]) + r") + (" + f4(qp["gaussian_part"]) + r")",
       r"&\quad= " + f4(qp["total"]) + ".")

    # --- 4. The M-step from Q -------------------------------------------------------------------
    st.header("4 · The M-step, derived from Q")
    st.markdown(
        "With the $r_{ik}$ fixed by the E-step, Q separates into one term per parameter, and every "
        "maximiser has a closed form. Unlike §1, nothing on the right-hand sides depends on the "
        "unknowns any more.")
    st.markdown("**Means** — set the gradient to zero:")
    eq(r"\frac{\partial Q}{\partial \mu_k} &= \sum_i r_{ik}\,\frac{x_i - \mu_k}{\sigma_k^2} = 0",
       r"\Longrightarrow\;\; \mu_k &= \frac{\sum_i r_{ik}\, x_i}{N_k}.")
    st.markdown(r"**Variances** — the same, with respect to $\sigma_k^2$:")
    eq(r"\frac{\partial Q}{\partial \sigma_k^2} &= \sum_i r_{ik}\,\frac{(x_i - \mu_k)^2}"
       r"{2\sigma_k^4} - \frac{N_k}{2\sigma_k^2}",
       r"&= 0",
       r"\Longrightarrow\;\; \sigma_k^2 &= \frac{S_k}{N_k},",
       r"S_k &= \sum_i r_{ik}(x_i - \mu_k)^2.")
    st.markdown(
        "**Weights** — Q\'s weights part $\\sum_k N_k \\log \\pi_k$ grows without bound if the "
        "$\\pi_k$ may grow, so maximise it subject to $\\sum_k \\pi_k = 1$ with a Lagrange "
        "multiplier $\\lambda$:")
    eq(r"J &= \sum_j N_j \log \pi_j",
       r"&\quad + \lambda\Big(1 - \sum_j \pi_j\Big),",
       r"\frac{\partial J}{\partial \pi_k} &= \frac{N_k}{\pi_k} - \lambda = 0",
       r"&\Longrightarrow\;\; \pi_k = N_k / \lambda;",
       r"\textstyle\sum_k \pi_k = 1 &\Longrightarrow\;\; \lambda = \textstyle\sum_k N_k = N,",
       r"\pi_k &= \frac{N_k}{N}.")
    st.markdown(
        "**With a penalty (reg > 0).** The app can add "
        "$-\\tfrac{\\mathrm{reg}}{2}\\operatorname{tr}\\Sigma_k^{-1}$ per component, which in "
        "one dimension is $-\\mathrm{reg}/(2\\sigma_k^2)$. It is a *penalty*, an improper prior log p(θ) defined up "
        "to an additive constant, and it keeps $\\sigma_k^2$ away from 0. The M-step then maximises "
        "Q + log p(θ): the derivative gains $+\\mathrm{reg}/(2\\sigma_k^4)$, and")
    st.latex(r"\sigma_k^2 = \frac{S_k + \mathrm{reg}}{N_k}.")
    st.markdown(
        "With a penalty, EM never lowers **ℓ + log p(θ)**, the quantity it maximises; ℓ alone can "
        "fall. Without one (reg = 0) it never lowers ℓ.")
    ms = D.m_step_1d(x, R, reg)
    rows = []
    for k in range(K):
        rows.append({
            "k": k + 1, "Nₖ": f"{ms['N_k'][k]:.4f}", "Σᵢ rᵢₖ xᵢ": f"{ms['sum_x'][k]:.4f}",
            "μₖ": f"{ms['means'][k]:.6f}", "Sₖ": f"{ms['scatter'][k]:.6f}",
            "σₖ²": f"{ms['variances'][k]:.6f}", "πₖ": f"{ms['weights'][k]:.6f}",
        })
    st.markdown(f"**Iteration {t + 1} with this fit's numbers** (responsibilities of {theta_it(t)}"
                + (f", reg = {reg:g}" if reg > 0 else "") + "):")
    st.dataframe(rows, hide_index=True, width="stretch")
    gap = D.m_step_gap_1d(ms, theta_n)
    st.caption(f"These closed forms reproduce the {theta_it(t + 1)} the fit recorded to within "
               f"{gap:.1e} (round-off).")

    st.subheader("The same for a mixture of multinomials")
    Xm, mtrace, mtitle, mnames = choose_multinomial_fit()
    alpha = float(mtrace.alpha)
    st.markdown(
        r"On the Market baskets page each row $x_i$ counts items per category $v = 1, \dots, V$, "
        r"and component $k$ has category probabilities $\theta_k = (\theta_{k1}, \dots, "
        r"\theta_{kV})$. Q's θ part is $\sum_k \sum_v C_{kv} \log \theta_{kv}$ with "
        r"$C_{kv} = \sum_i r_{ik} x_{iv}$ (the multinomial coefficient does not involve θ). Each "
        r"$\theta_k$ must sum to 1, so again a Lagrange multiplier, one per component:")
    eq(r"J_k &= \sum_w C_{kw}\log\theta_{kw}",
       r"&\quad + \lambda_k\Big(1 - \sum_w \theta_{kw}\Big),",
       r"\frac{\partial J_k}{\partial \theta_{kv}} &= \frac{C_{kv}}{\theta_{kv}} - \lambda_k = 0",
       r"&\Longrightarrow\;\; \theta_{kv} = \frac{C_{kv}}{\sum_w C_{kw}}.")
    st.markdown(
        r"A Dirichlet(α) prior on each $\theta_k$ adds $(\alpha - 1) \sum_v \log \theta_{kv}$ (up "
        r"to a constant) to the objective, which acts like $\alpha - 1$ extra counts in every "
        r"category: the **MAP** form is")
    eq(r"\theta_{kv} &= \frac{C_{kv} + \alpha - 1}{\sum_w \big(C_{kw} + \alpha - 1\big)}",
       r"&\propto \sum_i r_{ik}\, x_{iv} + \alpha - 1 \qquad (\alpha \ge 1).")
    st.markdown(
        "With α ≠ 1 EM maximises ℓ + log p(θ); α = 1 is plain maximum likelihood.")
    mt = max(int(mtrace.n_iter) - 1, 0)
    mm = D.multinomial_m_step(Xm, mtrace.responsibilities(mt), alpha)
    names = mnames or [f"category {v + 1}" for v in range(mm["counts"].shape[1])]
    V_show = min(len(names), 6)
    order = D.top_categories(mm["counts"][0], V_show)
    rows = [{"category": names[v], "C₁ᵥ = Σᵢ rᵢ₁ xᵢᵥ": f"{mm['counts'][0, v]:.3f}",
             "θ₁ᵥ, ML": f"{mm['theta_ml'][0, v]:.5f}",
             f"θ₁ᵥ, MAP (α = {alpha:g})": f"{mm['theta_map'][0, v]:.5f}",
             "θ₁ᵥ recorded by the fit": f"{float(mtrace.params[mt + 1].probs[0, v]):.5f}"}
            for v in order]
    st.markdown(f"**{mtitle}**, component 1, last M-step (iteration {mt + 1})"
                + (f", its {V_show} largest categories" if V_show < len(names) else "") + ":")
    st.dataframe(rows, hide_index=True, width="stretch")

    # --- 5. Two roads to the bound --------------------------------------------------------------
    st.header("5 · Two roads to the lower bound")
    st.markdown(
        r"**Road 1: Jensen's inequality.** Take any distribution $q_i(k)$ over each point's "
        r"label and multiply and divide by it inside the log ($p(x_i, k \mid \theta)$ is short for "
        r"$p(x_i, z_i = k \mid \theta) = \pi_k \mathcal{N}(x_i \mid \mu_k, \sigma_k^2)$). The log "
        r"is concave, so the log of an average is at least the average of the logs:")
    eq(r"\ell(\theta) &= \sum_i \log \sum_k q_i(k)\,\frac{p(x_i, k \mid \theta)}{q_i(k)}",
       r"&\ge \sum_i \sum_k q_i(k) \log \frac{p(x_i, k \mid \theta)}{q_i(k)}",
       r"&= \mathcal{L}(q, \theta).")
    st.markdown(
        "𝓛(q, θ) is the **evidence lower bound (ELBO)**. Split the log of the ratio and it is "
        "Q plus the entropy of q: 𝓛(q, θ) = Q + H(q).")
    st.markdown(
        r"**Road 2: the KL decomposition.** Write $p(x_i, z_i = k \mid \theta) = p(x_i \mid "
        r"\theta)\, p(z_i = k \mid x_i, \theta)$. Then the ratio inside the bound splits, and "
        r"averaging over $q$ gives an identity, not just an inequality:")
    eq(r"\mathcal{L}(q, \theta) &= \sum_i \sum_k q_i(k) \Big(\log p(x_i \mid \theta)",
       r"&\qquad - \log \frac{q_i(k)}{p(k \mid x_i, \theta)}\Big)",
       r"&= \ell(\theta) - \mathrm{KL}\big(q \,\|\, p(z \mid x, \theta)\big).")
    st.markdown(
        "So ℓ = 𝓛 + KL. The two roads are **the same inequality**: the gap Jensen leaves open is "
        "exactly the KL divergence, which is never negative (Gibbs' inequality) and is zero "
        "exactly when q is the posterior p(z | x, θ). The E-step picks that q and closes the gap; "
        "the M-step raises 𝓛 by moving θ, which can only reopen the gap, adding to the gain.")
    b_t = D.bound_parts(x[:, None], R, theta_t)
    b_n = D.bound_parts(x[:, None], R, theta_n)
    kl_t = b_t["kl"] if abs(b_t["kl"]) > 1e-9 * max(1.0, abs(b_t["loglik"])) else 0.0
    st.markdown(f"**Iteration {t + 1} with this fit's numbers** (q = q{sub(t)}, the posterior "
                f"at {theta_it(t)}; each number computed on its own):")
    eq(r"\text{at } \theta^{(" + str(t) + r")}:\;\; \ell &= " + f4(b_t["loglik"]),
       r"\mathcal{L} &= " + f4(b_t["elbo"]) + r",\;\; \mathrm{KL} = " + fmt_small(kl_t)
       + r"\;(\approx 0)",
       r"\text{at } \theta^{(" + str(t + 1) + r")}:\;\; \ell &= " + f4(b_n["loglik"]),
       r"\mathcal{L} &= " + f4(b_n["elbo"]) + r",\;\; \mathrm{KL} = " + f4(b_n["kl"]),
       r"\mathcal{L} + \mathrm{KL} &= " + f4(b_n["elbo"] + b_n["kl"]) + r" = \ell(\theta_{"
       + str(t + 1) + r"}).")
    st.caption("The Why EM works page follows the same step as ℓ = Q + cross-entropy and draws "
               "the bound along a path from θ⁽ᵗ⁾ to θ⁽ᵗ⁺¹⁾.")


# --- 6. The first EM example: Dempster, Laird & Rubin (1977) --------------------------------
@st.fragment
def linkage_section() -> None:
    """§6, Dempster, Laird & Rubin's example with its own step slider (a fragment)."""
    st.header("6 · The first example: genetic linkage (Dempster, Laird & Rubin, 1977)")
    y = L.DLR_Y
    st.markdown(
        "The 1977 paper that named EM opens with a small genetics problem taken from Rao (1965). "
        f"197 animals fall into four categories with counts y = {y}, and the model gives the "
        "categories probabilities (1/2 + θ/4, (1 − θ)/4, (1 − θ)/4, θ/4) for an unknown "
        "0 < θ < 1. The log-likelihood is")
    eq(r"\ell(\theta) &= \log p(y \mid \theta)",
       r"&= y_1 \log(2 + \theta)",
       r"&\quad + (y_2 + y_3)\log(1 - \theta)",
       r"&\quad + y_4 \log\theta + c,")
    st.markdown("where c = log(197! / (125! 18! 20! 34!)) − 197 log 4 does not involve θ (the "
                "values of ℓ below include it).")
    st.markdown(
        "**The missing data.** Pretend the first category is two: x₁ animals with probability "
        "1/2 and x₂ with probability θ/4, where x₁ + x₂ = y₁ = 125. With x₂ known the likelihood "
        r"would be $\theta^{x_2 + y_4}(1 - \theta)^{y_2 + y_3}$, maximised by a ratio of counts. "
        "EM alternates:")
    eq(r"\text{E:}\;\; x_2^{(t)} &= \mathbb{E}[x_2 \mid y, \theta^{(t)}]",
       r"&= y_1\, \frac{\theta^{(t)}/4}{1/2 + \theta^{(t)}/4},",
       r"\text{M:}\;\; \theta^{(t+1)} &= \frac{x_2^{(t)} + y_4}{x_2^{(t)} + y_2 + y_3 + y_4}.")
    lt = L.fit_linkage()
    lh = emui.step_slider(lt, f"{KEY}_dlr", anchor=False)
    lt_t = int(lh.t)
    if lh.kind == "init":
        st.markdown(f"**Start:** θ⁽⁰⁾ = {lt.theta[0]:.9f}, ℓ(θ⁽⁰⁾) = {lt.log_likelihood[0]:.6f}. "
                    "Press ▶ for the first E-step.")
    else:
        x2 = float(lt.x2[lt_t])
        th, thn = float(lt.theta[lt_t]), float(lt.theta[lt_t + 1])
        lines = [r"\theta^{(" + str(lt_t) + r")} &= " + f"{th:.9f}",
                 r"x_2^{(" + str(lt_t) + r")} &= 125 \cdot \frac{\theta^{(" + str(lt_t)
                 + r")}/4}{1/2 + \theta^{(" + str(lt_t) + r")}/4}",
                 r"&= " + f"{x2:.9f}"]
        if lh.kind == "M":
            lines += [r"\theta^{(" + str(lt_t + 1) + r")} &= \frac{x_2^{(" + str(lt_t) + r")} + 34}"
                      r"{x_2^{(" + str(lt_t) + r")} + 72}",
                      r"&= " + f"{thn:.9f}"]
        eq(*lines)
        if lh.kind == "M":
            st.markdown(
                f"Here 72 = y₂ + y₃ + y₄. The step raised ℓ by "
                f"{fmt_plain(lt.gain[lt_t])}, to ℓ({theta_it(lt_t + 1)}) = "
                f"{lt.log_likelihood[lt_t + 1]:.9f}. The bound at its peak, "
                f"𝓛(q{sub(lt_t)}, {theta_it(lt_t + 1)}) = {lt.bound[lt_t]:.9f}, lies "
                f"{fmt_plain(lt.gain[lt_t] - lt.kl[lt_t])} above ℓ({theta_it(lt_t)}) and "
                f"KL = {fmt_plain(lt.kl[lt_t])} below ℓ({theta_it(lt_t + 1)}).")
        else:
            st.markdown(
                f"The E-step fills in the expected split of the 125 animals "
                f"({125 - x2:.4f} + {x2:.4f}) and builds the bound 𝓛(q{sub(lt_t)}, θ), which "
                f"touches ℓ at {theta_it(lt_t)} = {th:.9f}.")
    zoom = st.toggle("Zoom to this step", key=f"{KEY}_dlr_zoom",
                     help="Late steps are tiny; the zoomed view shows ℓ − ℓ(θ⁽ᵗ⁾) around θ⁽ᵗ⁾ and θ⁽ᵗ⁺¹⁾.")
    emui.urlstate.save_url(KEY)  # this section's step and zoom are part of the page's link
    st.plotly_chart(V.linkage_figure(lt, lh, zoom=zoom), key=f"{KEY}_dlr_fig",
                    theme="streamlit")
    if lh.kind != "init" and V.step_hidden(lt, lt_t, zoom):
        st.info("At this scale the step is narrower than a pixel: switch on **Zoom to this "
                "step** to see the bound touch ℓ and peak.", icon="🔍")
    st.caption(
        "Solid: ℓ(θ). Dashed: the lower bound 𝓛(qₜ, θ) = ℓ(θ⁽ᵗ⁾) + Q(θ | θ⁽ᵗ⁾) − Q(θ⁽ᵗ⁾ | θ⁽ᵗ⁾) built by "
        "the E-step; it touches ℓ at θ⁽ᵗ⁾ and never exceeds it, and the M-step jumps to its peak "
        "θ⁽ᵗ⁺¹⁾ (Bishop, PRML, fig. 9.14). Dotted: the maximum θ*.")
    errors, ratios = lt.errors, lt.ratios
    rows = [{"t": tt, "θ⁽ᵗ⁾ (this page)": f"{lt.theta[tt]:.9f}",
             "θ⁽ᵗ⁾ (DLR Table 1)": f"{L.DLR_TABLE1[tt]:.9f}" if tt < len(L.DLR_TABLE1) else "",
             "θ⁽ᵗ⁾ − θ*": f"{errors[tt]:.3e}",
             "(θ⁽ᵗ⁺¹⁾ − θ*) / (θ⁽ᵗ⁾ − θ*)": f"{ratios[tt]:.4f}" if tt < lt.n_iter else ""}
            for tt in range(lt.n_iter + 1)]
    st.dataframe(rows, hide_index=True, width="stretch")
    ts = L.mle(y)
    cmp = L.compare_table1(lt)
    st.markdown(
        "Here ℓ′(θ) = 0 is a quadratic, 197θ² − 15θ − 68 = 0, so the answer is known exactly: "
        f"θ* = (15 + √53809)/394 = **{ts:.9f}** (DLR print {L.DLR_THETA_STAR:.9f}). Our "
        f"iterates agree with the {cmp['rows']} printed in DLR's Table 1 to within "
        f"{cmp['max_abs_diff']:.1e}"
        + (f"; in {len(cmp['differ_rows'])} of them (t = "
           + ", ".join(str(v) for v in cmp["differ_rows"])
           + ") the ninth decimal differs by one, and exact fractions confirm our rounding"
           if cmp["differ_rows"] else "")
        + ". The last column settles at "
        f"**{L.rate(y):.4f}**: near θ* each iteration shrinks the error by that factor, which "
        "is the fraction of the complete-data information that the unobserved split takes away, "
        f"1 − I_obs/I_complete = {L.missing_information_fraction(y):.4f}. The more information is "
        "missing, the slower EM converges.")


iteration_sections(x, trace, reg)
linkage_section()

# --- References -----------------------------------------------------------------------------
st.header("References")
st.markdown(
    "- A. P. Dempster, N. M. Laird, D. B. Rubin (1977). [Maximum likelihood from incomplete "
    f"data via the EM algorithm]({DLR_URL}). *Journal of the Royal Statistical Society, "
    "Series B* 39(1), 1–38. The genetic-linkage example is in §1, Table 1.\n"
    "- R. M. Neal, G. E. Hinton (1998). [A view of the EM algorithm that justifies "
    "incremental, sparse, and other variants]"
    "(https://www.cs.toronto.edu/~hinton/absps/emk.pdf). In M. I. Jordan (ed.), *Learning in "
    "Graphical Models*, 355–368. EM as coordinate ascent on 𝓛(q, θ).\n"
    "- C. M. Bishop (2006). [*Pattern Recognition and Machine Learning*]"
    "(https://www.microsoft.com/en-us/research/publication/pattern-recognition-machine-learning/)"
    ", ch. 9 (mixture models and EM; §9.4 and fig. 9.14 for the bound).\n"
    "- Brian Keng (2016). [The Expectation-Maximization Algorithm]"
    "(https://bjlkeng.github.io/posts/the-expectation-maximization-algorithm/): latent "
    "variables, Q with the indicator trick, and the proof via cross-entropy.\n"
    "- Jake Tae (2020). [Gaussian Mixture Models]"
    "(https://jaketae.github.io/study/gaussian-mixture-models/): the generative story and the "
    "circular equations of direct maximum likelihood.\n"
    "- Adrien Biarnes, a series on latent-variable models on Towards Data Science "
    "([author page](https://biarnes-adrien.medium.com/)): [Gaussian Mixture Models and "
    "Expectation-Maximization (A full explanation)]"
    "(https://towardsdatascience.com/gaussian-mixture-models-and-expectation-maximization-a-"
    "full-explanation-50fa94111ddd), a companion article deriving the closed-form M-step, and "
    "a mixture of multinomials for customer segmentation.\n"
    "- Matthew N. Bernstein (2020). [Gaussian mixture models]"
    "(https://mbernste.github.io/posts/gmm_em/): the mixture as a graphical model and EM for "
    "it.")
