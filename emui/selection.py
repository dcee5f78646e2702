"""How many components? BIC and ICL over K, fitted only when the learner asks.

The sweep refits the data K_max × restarts times, so it never runs on a slider step: the page
shows a button, and after the click the result is cached per (data, fit settings).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from emui.fitting import complete, data_fingerprint
from emui.settings import FitSettings

K_MAX = 6
N_INIT = 3


def criteria_explainer(unit: str = "components", k_max: int = K_MAX, n_init: int = N_INIT) -> str:
    """What BIC and ICL are, why ℓ alone cannot choose K, and mclust's opposite sign."""
    return (
        f"Fit K = 1 … {k_max} {unit} ({n_init} restarts each, the best kept) and score each "
        "fit. **Why not just compare ℓ?** A mixture with one more component can do everything "
        "the smaller one does (copy one component and split its weight between the two "
        "copies: the same density, the same ℓ), so the best reachable log-likelihood never "
        "falls as K grows: by ℓ alone, more is always better. The criteria below charge for "
        "that. **BIC** = −2ℓ + p·log N, with p the "
        "number of free parameters. **ICL** (Biernacki, Celeux & Govaert, 2000) also gives "
        "every point to its most likely component and adds −2·log of that responsibility, "
        "ICL = BIC + 2·Σᵢ (−log maxₖ r_ik), so it charges for "
        f"{unit} that overlap. For both, **lower is better**. (R's mclust prints the same "
        "criteria with the opposite sign, 2ℓ − p·log N, where *higher* is better.)"
    )


def icl_gap_sentence(sel, k_now: int, n_rows: int, row_word: str = "point",
                     unit_word: str = "component") -> str:
    """ICL − BIC at the current K, per row and next to the differences between K."""
    ks = [int(k) for k in sel.ks]
    if k_now not in ks or k_now < 2:
        return ""
    j = ks.index(k_now)
    gap = float(sel.icl[j] - sel.bic[j])
    per_row = gap / 2 / n_rows
    typical = float(np.median(np.abs(np.diff(np.asarray(sel.bic, dtype=float)))))
    return (
        f"ICL − BIC at K = {k_now} is {gap:,.1f}, i.e. {per_row:.3f} nats of doubt per "
        f"{row_word} (0 = every {row_word} certain of its {unit_word}, at most "
        f"log K = {np.log(k_now):.3f}). "
        + ("That is small next to the differences between neighbouring K, so the two curves "
           "nearly coincide." if gap < 0.2 * typical else
           f"That is large next to the differences between neighbouring K: the {unit_word}s "
           "overlap, and ICL prefers fewer, better-separated ones.")
    )


def loglik_sentence(sel) -> str:
    """How ℓ of the best fit changed with K (never claims more than the numbers show)."""
    ll = np.array([float(sel.best[int(k)].log_likelihood[-1]) for k in sel.ks])
    ks = [int(k) for k in sel.ks]
    if len(ll) < 2:
        return ""
    rises = bool(np.all(np.diff(ll) >= -1e-9 * max(1.0, abs(ll).max())))
    text = (f"ℓ went from {ll[0]:,.1f} at K = {ks[0]} to {ll[-1]:,.1f} at K = {ks[-1]}"
            + (", rising with every extra component." if rises else
               "; it dipped somewhere, because EM found only a local maximum for that K."))
    return text + " Had ℓ chosen, the largest K tried would have won."


@st.cache_resource(max_entries=16, show_spinner="Fitting every K, a few restarts each…")
def _selection(data_key: str, fingerprint: str, family: str, k_max: int, n_init: int,
               fit_args: tuple, seed: int, _X):
    import emcore

    return emcore.select_n_components(_X, k_max, n_init=n_init, seed=seed, family=family,
                                      **dict(fit_args))


def _fit_args(settings: FitSettings, family: str) -> tuple:
    """The fit settings the sweep uses (soft EM; a custom start becomes k-means++): the loop's
    and the family's own options (``emcore.fit_spec``), whatever the family."""
    init = settings.init if settings.init != "custom" else "kmeans++"
    common = (("init", init), ("max_iter", int(settings.max_iter)), ("tol", settings.tol))
    return common + complete(settings, family).options


def selection_panel(X, settings: FitSettings, data_key: str, key: str,
                    family: str = "gaussian", k_max: int = K_MAX, n_init: int = N_INIT,
                    unit: str = "components", row_word: str = "point") -> None:
    """An expander with the BIC/ICL-over-K view; the fits run only after its button.

    Parameters
    ----------
    X : the data as fitted (N, D) or (N,)
    settings : the page's current fit settings (covariance type, reg, init, … are reused;
        hard EM is not: the sweep fits soft EM, which is what BIC and ICL assume)
    data_key : str
        A name for the data (the cache key also hashes X).
    key : str
        The page's widget prefix.
    """
    import emviz.selection as vsel

    n = int(np.asarray(X).shape[0])
    k_max = int(min(k_max, n))
    with st.expander(f"🔢 How many {unit}? BIC and ICL over K = 1 … {k_max}"):
        st.markdown(criteria_explainer(unit, k_max, n_init))
        args = (data_key, data_fingerprint(X), family, k_max, int(n_init),
                _fit_args(settings, family), int(settings.seed))
        done = st.session_state.setdefault(f"{key}_selection_done", set())
        if args not in done:
            if not st.button(f"Compare K = 1 … {k_max}", key=f"{key}_select", type="primary",
                             help=f"Runs {k_max * n_init} soft-EM fits with the sidebar's "
                                  "settings (restart i uses seed + i)."):
                return
            done.add(args)
        sel = _selection(*args, X)
        ll = [float(sel.best[int(k)].log_likelihood[-1]) for k in sel.ks]
        st.plotly_chart(vsel.selection_figure(sel.ks, sel.bic, sel.icl, loglik=ll,
                                              chosen_k=int(settings.n_components), unit=unit),
                        key=f"{key}_selection_fig", theme="streamlit")
        kb, ki = sel.best_k_bic, sel.best_k_icl
        verdict = (f"Lowest BIC at K = {kb}, lowest ICL at K = {ki}."
                   + (f" Both still fall at K = {k_max}: look for where the curve flattens "
                      "rather than for its minimum." if kb == k_max and ki == k_max else ""))
        bad = [int(k) for k in sel.ks if sel.best[int(k)].status == "degenerate"]
        if bad:
            st.warning(f"At K = {', '.join(map(str, bad))} every restart collapsed (a component "
                       "shrank onto a point), so ℓ there is not a real maximum and those "
                       "criteria mean nothing. Turn regularisation on and compare again.",
                       icon="⚠️")
        st.caption(" ".join(x for x in (verdict, loglik_sentence(sel),
                                        icl_gap_sentence(sel, int(settings.n_components), n,
                                                         row_word)) if x))


__all__ = ["selection_panel", "criteria_explainer", "icl_gap_sentence", "loglik_sentence",
           "K_MAX", "N_INIT"]
