"""Sidebar controls, page header and dataset caption."""

from __future__ import annotations

import streamlit as st

from emui.settings import (
    BERNOULLI_INIT_LABELS,
    INIT_LABELS,
    MULTINOMIAL_INIT_LABELS,
    FitSettings,
    parse_means,
)

REG_OPTIONS = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
ALPHA_OPTIONS = (1.0, 1.01, 1.1, 1.5, 2.0, 5.0)
TOL_OPTIONS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8, 0.0)  # 0.0 = off (run max_iter iterations)
COV_LABELS = {
    "full": "full (any ellipse)",
    "diag": "diagonal (axis-aligned)",
    "spherical": "spherical (circles)",
    "tied": "tied (one shared ellipse)",
}


#: Label and help of the prior slider α for each family that has one.
PRIOR_TEXT = {
    "multinomial": (
        "Dirichlet prior α",
        "α = 1 is plain maximum likelihood; α > 1 adds α − 1 pseudo-counts to every "
        "category of every segment, so no probability is exactly zero. With α ≠ 1 EM "
        "maximises ℓ + log p (a Dirichlet prior), and ℓ alone can fall."),
    "bernoulli": (
        "Beta prior α",
        "α = 1 is plain maximum likelihood; α > 1 adds α − 1 imaginary 0s and α − 1 imaginary "
        "1s to every pixel of every component, so no probability is exactly 0 or 1. With "
        "α ≠ 1 EM maximises ℓ + log p (a Beta(α, α) prior), and ℓ alone can fall."),
}


def widget_key(key: str, name: str) -> str:
    """Session-state key of one fit control: ``f"{key}_{name}"``.

    ``name`` is one of ``n_components``, ``init``, ``means``, ``seed``, ``reg``, ``alpha``,
    ``covariance_type``, ``hard``, ``max_iter``, ``tol``, ``n_restarts``. A page may set
    ``st.session_state[widget_key(key, "reg")] = 0.0`` *before* calling
    :func:`fit_controls` (e.g. from a preset button's callback) to change a control.
    """
    return f"{key}_{name}"


def reset_controls(key: str, values: dict, drop=()) -> None:
    """Put page ``key``'s widgets back to ``values`` and its Step slider to θ⁽⁰⁾.

    ``values`` maps widget names to values: the :func:`fit_controls` names (``means_text``
    sets the own-means box, as in its ``defaults``) and any of the page's own widgets
    (``standardise``, ``classes``, …), each stored under :func:`widget_key`. ``drop`` lists
    full session-state keys to forget (a chosen point, a preset's marker). Use it as a
    callback (a button's ``on_click``, a select box's ``on_change``): widgets take the new
    values when they are drawn on the next run.
    """
    for name, v in values.items():
        v = list(v) if isinstance(v, list) else v  # a session's own copy of a list default
        st.session_state[widget_key(key, "means" if name == "means_text" else name)] = v
    for k in drop:
        st.session_state.pop(k, None)
    st.session_state[widget_key(key, "step")] = 0


def reset_button(key: str, values: dict, drop=()) -> None:
    """The sidebar's "Reset to defaults" button (key ``f"{key}_reset"``): :func:`reset_controls`."""
    st.sidebar.button("Reset to defaults", key=widget_key(key, "reset"), on_click=reset_controls,
                      args=(key, values, tuple(drop)), width="stretch")


def _on_dataset_change(key: str, defaults: dict, drop: tuple) -> None:
    reset_controls(key, defaults[st.session_state[widget_key(key, "data")]], drop)


def dataset_picker(key: str, datasets: dict, default: str, defaults: dict, drop=(),
                   label: str = "Dataset", help: str | None = None) -> str:
    """The sidebar's dataset select box; returns the chosen dataset key.

    Parameters
    ----------
    key : str
        Page prefix; the select box's session-state key is ``f"{key}_data"`` (the URL's
        ``data`` parameter, see ``emui.url_state``).
    datasets : dict
        Dataset key → title shown in the list.
    default : str
        The dataset of a first visit.
    defaults : dict
        Dataset key → widget values (as for :func:`reset_controls`). Choosing another
        dataset resets every control to the new dataset's values, the Step slider to θ⁽⁰⁾,
        and forgets the session-state keys in ``drop``.
    """
    k = widget_key(key, "data")
    if k not in st.session_state:
        st.session_state[k] = default
    return st.sidebar.selectbox(label, list(datasets), format_func=datasets.get, key=k,
                                on_change=_on_dataset_change, args=(key, defaults, tuple(drop)),
                                help=help)


def _init_state(k: str, value) -> None:
    if k not in st.session_state:
        st.session_state[k] = value


def _fmt_reg(v: float) -> str:
    return "0 (off)" if v == 0 else f"{v:g}"


def _fmt_tol(v: float) -> str:
    return "off (run all iterations)" if v == 0 else f"{v:g}"


def page_header(title: str, intro_markdown: str) -> None:
    """Page title and a short introduction (Markdown, KaTeX allowed with ``$...$``).

    In presentation mode the introduction folds into an expander, so the step control and
    the main chart share the first screen.
    """
    from emui.screen import presenting

    st.title(title)
    if presenting():
        with st.expander("About this page"):
            st.markdown(intro_markdown)
    else:
        st.markdown(intro_markdown)


def dataset_caption(dataset, n_shown: int | None = None) -> None:
    """One caption line about a dataset: title, N, source, licence, transform, sampling.

    Parameters
    ----------
    dataset : emdata.Dataset
    n_shown : int, optional
        Number of points actually drawn when the display is sampled; the caption then says
        "showing n_shown of N points (the fit uses all N)".
    """
    X = dataset.X
    n = X.shape[0]
    parts = [f"**{dataset.title}** — {n:,} rows"]
    if getattr(dataset, "display_transform", None):
        parts.append(f"shown as {dataset.display_transform}")
    parts.append(f"source: {dataset.source}")
    if getattr(dataset, "licence", None):
        parts.append(f"licence: {dataset.licence}")
    st.caption(" · ".join(parts))
    if n_shown is not None and n_shown < n:
        st.caption(f"Showing {n_shown:,} of {n:,} points in the figures (a random sample, for "
                   f"speed); the fit uses all {n:,}.")


def fit_controls(key: str, family: str = "gaussian", defaults: dict | None = None,
                 n_features: int = 1, hard_switch: bool = False,
                 container=None, means_help: str | None = None) -> FitSettings:
    """Draw the fit controls in the sidebar and return the chosen :class:`FitSettings`.

    Parameters
    ----------
    key : str
        Prefix of every widget key (see :func:`widget_key`); one per page.
    family : {"gaussian", "multinomial"}
        Gaussian shows regularisation (and covariance type when ``n_features > 1``);
        multinomial shows the Dirichlet prior α.
    defaults : dict, optional
        Initial values by :class:`FitSettings` field name (``n_components``, ``init``,
        ``seed``, ``reg``, ``alpha``, ``max_iter``, ``tol``, ``covariance_type``, ``hard``,
        ``n_restarts``) plus ``means_text`` (initial text of the own-means box) and
        ``max_components`` (slider maximum, default 8).
    n_features : int
        D, needed to parse the learner's own starting means.
    hard_switch : bool
        Show the "hard EM" toggle (Gaussian only).
    container : Streamlit container, optional
        Where to draw (default: the sidebar).
    means_help : str, optional
        Tooltip of the own-starting-means box (e.g. to say which units it takes).
    """
    d = dict(FitSettings().__dict__)
    d.update(defaults or {})
    box = container if container is not None else st.sidebar
    k = lambda name: widget_key(key, name)  # noqa: E731
    box.header("Fit settings")

    _init_state(k("n_components"), int(d["n_components"]))
    K = box.slider("Number of components K", 1, int(d.get("max_components", 8)),
                   key=k("n_components"),
                   help="How many groups (components) the mixture uses.")

    init_options = list(INIT_LABELS) if family == "gaussian" else [
        "random", "random_from_data", "kmeans++"]
    labels = {"gaussian": INIT_LABELS, "bernoulli": BERNOULLI_INIT_LABELS}.get(
        family, MULTINOMIAL_INIT_LABELS)
    init_default = d["init"] if d["init"] in init_options else init_options[0]
    _init_state(k("init"), init_default)
    if st.session_state[k("init")] not in init_options:
        st.session_state[k("init")] = init_options[0]
    init = box.selectbox("Initialisation", init_options, key=k("init"),
                         format_func=lambda v: labels.get(v, v),
                         help="How θ⁽⁰⁾, the starting guess, is chosen.")
    custom_means = None
    if init == "custom":
        _init_state(k("means"), str(d.get("means_text", "")))
        text = box.text_input("Starting means", key=k("means"),
                              help=means_help or (
                                  "One mean per component. 1-D: '5.1, 5.4'. "
                                  "2-D: '2 60; 4.5 80' (coordinates by spaces, means by ';')."))
        try:
            custom_means = parse_means(text, K, n_features)
        except ValueError as err:
            box.error(f"{err} Using k-means++ until then.")
            init = "kmeans++"

    _init_state(k("seed"), int(d["seed"]))
    seed = box.number_input("Seed", min_value=0, max_value=100_000, step=1, key=k("seed"),
                            help="Random seed of the initialisation (restart i uses seed + i).")

    reg, alpha, cov, hard = 0.0, 1.0, "full", False
    if family == "gaussian":
        if n_features > 1:
            _init_state(k("covariance_type"), d["covariance_type"])
            cov = box.selectbox("Covariance type", list(COV_LABELS), key=k("covariance_type"),
                                format_func=COV_LABELS.get)
        reg_default = min(REG_OPTIONS, key=lambda v: abs(v - float(d["reg"])))
        _init_state(k("reg"), reg_default)
        reg = box.select_slider(
            "Regularisation reg", REG_OPTIONS, key=k("reg"), format_func=_fmt_reg,
            help="Adds reg to each covariance's scatter before dividing by N_k. This is the "
                 "M-step of a penalty −(reg/2)·tr Σ⁻¹ on each covariance matrix (an improper prior, "
                 "defined up to a constant): EM then maximises ℓ + log p, and ℓ alone can "
                 "fall. 0 is plain maximum likelihood, where a component can collapse onto a "
                 "single point.")
        if hard_switch:
            _init_state(k("hard"), bool(d["hard"]))
            hard = box.toggle("Hard EM (classification EM)", key=k("hard"),
                              help="Replace each responsibility by a 0/1 assignment to the most "
                                   "likely component. Hard EM never lowers the classification "
                                   "log-likelihood ℓ_C (ℓ_C + log p when reg > 0), but ℓ itself "
                                   "can fall. It is k-means "
                                   "only with one shared, fixed spherical covariance and equal "
                                   "weights.")
    else:
        alpha_default = min(ALPHA_OPTIONS, key=lambda v: abs(v - float(d["alpha"])))
        _init_state(k("alpha"), alpha_default)
        label, help_text = PRIOR_TEXT.get(family, PRIOR_TEXT["multinomial"])
        alpha = box.select_slider(label, ALPHA_OPTIONS, key=k("alpha"), help=help_text)

    _init_state(k("max_iter"), int(d["max_iter"]))
    max_iter = box.number_input("Max iterations", min_value=1, max_value=1000, step=10,
                                key=k("max_iter"))
    tol_default = 0.0 if d["tol"] is None else min(TOL_OPTIONS, key=lambda v: abs(v - float(d["tol"])))
    _init_state(k("tol"), tol_default)
    tol = box.select_slider("Tolerance (per sample)", TOL_OPTIONS, key=k("tol"),
                            format_func=_fmt_tol,
                            help="Stop when the objective improves by less than this per data point.")
    _init_state(k("n_restarts"), int(d["n_restarts"]))
    n_restarts = box.slider("Restarts shown side by side", 1, 6, key=k("n_restarts"),
                            help="Extra fits with seeds seed+1, seed+2, … to compare local optima.")
    return FitSettings(
        n_components=int(K), init=init, seed=int(seed), reg=float(reg), max_iter=int(max_iter),
        tol=None if float(tol) == 0.0 else float(tol), covariance_type=cov, hard=bool(hard),
        alpha=float(alpha), custom_means=custom_means, n_restarts=int(n_restarts),
    )
