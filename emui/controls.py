"""Sidebar controls, page header and dataset caption."""

from __future__ import annotations

import streamlit as st

import emcore
from emui.settings import FitSettings, parse_means

TOL_OPTIONS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8, 0.0)  # 0.0 = off (run max_iter iterations)
#: The settings every family has, with the values of a first visit (the family's own options
#: and its default initialisation come from its ``emcore.FitSpec``).
LOOP_DEFAULTS = dict(n_components=2, seed=0, max_iter=100, tol=1e-6, hard=False, n_restarts=1)
HARD_LABEL = "Hard EM (classification EM)"


def widget_key(key: str, name: str) -> str:
    """Session-state key of one fit control: ``f"{key}_{name}"``.

    ``name`` is one of ``n_components``, ``init``, ``means``, ``seed``, ``hard``,
    ``max_iter``, ``tol``, ``n_restarts`` or the name of an option the family declares
    (``reg``, ``covariance_type``, ``alpha``, …; see ``emcore.fit_spec``). A page may set
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


def dataset_caption(dataset) -> None:
    """One caption line about a dataset: title, N, source, licence, transform.

    Parameters
    ----------
    dataset : emdata.Dataset
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


def fit_controls(key: str, family: str = "gaussian", defaults: dict | None = None,
                 n_features: int = 1, hard_switch: bool = False,
                 container=None, means_help: str | None = None) -> FitSettings:
    """Draw the fit controls in the sidebar and return the chosen :class:`FitSettings`.

    Which controls appear is read from the family's declaration (``emcore.fit_spec(family)``):
    its initialisations (with "custom", a box for the learner's starting means), one widget
    per declared option (a drop-down or a select-slider, offered when the data have at least
    its ``min_features``; otherwise its default is used) and, when the family offers it and
    ``hard_switch`` is set, the hard-EM switch. Nothing here depends on which family it is.

    Parameters
    ----------
    key : str
        Prefix of every widget key (see :func:`widget_key`); one per page.
    family : str
        A registered family name (``emcore.family_names()``).
    defaults : dict, optional
        Initial values by :class:`FitSettings` field or option name (``n_components``,
        ``init``, ``seed``, ``max_iter``, ``tol``, ``hard``, ``n_restarts``, ``reg``,
        ``alpha``, ``covariance_type``, …; options the family does not declare are ignored)
        plus ``means_text`` (initial text of the own-means box) and ``max_components``
        (slider maximum, default 8). Unset ones: :data:`LOOP_DEFAULTS`, the family's default
        initialisation and its options' defaults.
    n_features : int
        D: parses the learner's own starting means and decides which options are offered.
    hard_switch : bool
        Show the "hard EM" toggle (for a family that offers one).
    container : Streamlit container, optional
        Where to draw (default: the sidebar).
    means_help : str, optional
        Tooltip of the own-starting-means box (e.g. to say which units it takes).
    """
    spec = emcore.fit_spec(family)
    d = dict(LOOP_DEFAULTS, init=emcore.family_class(family).default_init)
    d.update(defaults or {})
    box = container if container is not None else st.sidebar
    k = lambda name: widget_key(key, name)  # noqa: E731
    box.header("Fit settings")

    _init_state(k("n_components"), int(d["n_components"]))
    K = box.slider("Number of components K", 1, int(d.get("max_components", 8)),
                   key=k("n_components"),
                   help="How many groups (components) the mixture uses.")

    init_options = list(spec.inits)
    init_default = d["init"] if d["init"] in init_options else init_options[0]
    _init_state(k("init"), init_default)
    if st.session_state[k("init")] not in init_options:
        st.session_state[k("init")] = init_options[0]
    init = box.selectbox("Initialisation", init_options, key=k("init"),
                         format_func=lambda v: spec.inits.get(v, v),
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

    options = {o.name: option_control(box, o, k(o.name), d.get(o.name, o.default))
               if n_features >= o.min_features else o.default for o in spec.options}
    hard = False
    if hard_switch and spec.hard_em:
        _init_state(k("hard"), bool(d["hard"]))
        hard = box.toggle(HARD_LABEL, key=k("hard"), help=spec.hard_em)

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
        n_components=int(K), init=init, seed=int(seed), max_iter=int(max_iter),
        tol=None if float(tol) == 0.0 else float(tol), hard=bool(hard),
        custom_means=custom_means, n_restarts=int(n_restarts), **options,
    )


def option_control(box, option, state_key: str, default):
    """One widget for a family's declared option (an ``emcore.FitOption``); returns its value.

    ``default`` (a page's value, snapped to the nearest choice) is the value of a first
    visit; afterwards the widget keeps the learner's choice under ``state_key``.
    """
    _init_state(state_key, option.nearest(default))
    if st.session_state[state_key] not in option.choices:  # e.g. a stale value of a page
        st.session_state[state_key] = option.default
    fmt = option.text if option.choice_labels is not None else str
    draw = box.selectbox if option.kind == "select" else box.select_slider
    return draw(option.label, list(option.choices), key=state_key, format_func=fmt,
                help=option.help or None)
