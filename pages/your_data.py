"""Your data: upload a CSV, pick columns, and watch EM fit the model the page proposes.

The page only reads widgets and shows things: parsing, validation and the matrices come from
``emdata`` (every message it raises is shown as text, once); fits from ``emui``; figures
from ``emviz`` — the same views as the 1-D, 2-D and basket pages.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import replace

import numpy as np
import streamlit as st

import emcore
import emdata
import emui
from emviz import baskets as vb
from emviz import digits as vd
from emviz import gauss1d as v1
from emviz import gauss2d as v2
from emviz.common import trajectory_figure

KEY = "yd"
MAX_PREVIEW_ROWS = 10


def _k(name: str) -> str:
    return emui.widget_key(KEY, name)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md_escape(text: str) -> str:
    """Escape Markdown (and with it any HTML) so that uploaded names show as plain text."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def plot_names(names) -> list[str]:
    """Names for Plotly, which reads a few HTML tags in text: anything with < or > is
    entity-escaped (Plotly shows the characters, and no tag is ever interpreted)."""
    return [html.escape(n, quote=False) if ("<" in n or ">" in n) else n for n in names]


def show_error(message: str) -> None:
    """The one message of a DataError, as plain text in a red box."""
    st.error(md_escape(message), icon="🚫")


# ----------------------------------------------------------------------------------------------
# reading the upload (kept per session: nothing uploaded is ever shared or unpickled)
# ----------------------------------------------------------------------------------------------


def read_upload(uploaded, header: bool | None):
    """Parse the uploaded file once per (content, header choice) and keep it in this session.

    Returns (digest, ParsedTable) or raises DataError.
    """
    data = uploaded.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:16]
    cache = st.session_state.setdefault("yd_parsed", {})
    key = (digest, header)
    if key not in cache:
        cache.clear()  # one upload per session at a time
        try:
            cache[key] = emdata.parse_csv(data, uploaded.name, header=header)
        except emdata.DataError as err:
            cache[key] = err
    result = cache[key]
    if isinstance(result, emdata.DataError):
        raise result
    return digest, result


def _session_cached(name: str, key, compute):
    """Keep the last result (or DataError) of ``compute`` in this session, keyed by ``key``,
    so that moving the step slider does not redo the data preparation."""
    last = st.session_state.get(name)
    if last is None or last[0] != key:
        try:
            last = (key, compute())
        except emdata.DataError as err:
            last = (key, err)
        st.session_state[name] = last
    if isinstance(last[1], emdata.DataError):
        raise last[1]
    return last[1]


@st.cache_resource(max_entries=16, show_spinner="Drawing the animation…")
def _animation(kind: str, data_key: str, settings_key: str, extra: tuple, _build):
    """Animations are the heaviest figures: build each once per (data, settings, view)."""
    return _build()


def animation_tab(kind, data_key, settings, extra, build) -> None:
    """The client-side animation, built on request (it costs ~1 s; the slider stays fast)."""
    st.caption("Plays in your browser, one frame per half-step (long runs are thinned).")
    if st.toggle("Build the animation", key=_k("anim_on")):
        st.plotly_chart(_animation(kind, data_key, settings.cache_key(), extra, build),
                        key=_k("anim"), theme="streamlit")


# ----------------------------------------------------------------------------------------------
# the page
# ----------------------------------------------------------------------------------------------


def intro() -> None:
    emui.page_header(
        "📁 Your data",
        "Upload a table and watch EM work on **your** numbers. The page reads the file, shows "
        "what it found, proposes a model — one numeric column: a 1-D Gaussian mixture; two or "
        "more: a Gaussian mixture (plot any two, fit in all); a counts matrix or a basket list "
        "(`basket_id, item[, quantity]`): a mixture of multinomials; columns of only 0s and "
        "1s (yes/no answers): a mixture of Bernoullis — and then shows the same "
        "views as the matching page.",
    )


def empty_state() -> None:
    st.info(
        "Upload a CSV file to begin. Accepted: comma, semicolon, tab or pipe separated; "
        "UTF-8 (with or without BOM), UTF-16 or Latin-1; with or without a header row; at most "
        f"{emdata.MAX_UPLOAD_MB} MB. Gaussian fits use up to {emdata.MAX_FIT_ROWS:,} rows and "
        f"{emdata.MAX_GAUSS_CELLS:,} cells (a random sample beyond that, seed 0, always stated). "
        "Nothing you upload is stored, shared with other visitors, or run as code.",
        icon="📄",
    )
    st.caption("No file at hand? Download an example, then upload it above:")
    for col, (key, (label, file_name)) in zip(st.columns(len(emdata.EXAMPLES)),
                                             emdata.EXAMPLES.items(), strict=True):
        col.download_button(label, data=lambda key=key: emdata.example_csv(key),
                            file_name=file_name, mime="text/csv", key=_k(f"ex_{key}"),
                            on_click="ignore", icon="⬇")


def left_out_sentence(proposal) -> str:
    """' Left out: year (calendar years 2007–2009), ...' — labels, not measurements."""
    if not proposal.left_out:
        return ""
    parts = [f"'{c}' ({why})" for c, why in proposal.left_out.items()]
    return (" Left out: " + ", ".join(parts) + " — a label of the row, not a measurement; "
            "pick it below if you want it fitted.")


def choose_columns(table, proposal):
    """Model and column widgets; returns (model, kwargs for emdata.prepare)."""
    models = list(emdata.MODELS)
    digest = st.session_state.get("yd_digest")
    none = "(none: each line is one item)"
    start = {
        "model": proposal.model,
        "cols": proposal.columns or table.numeric_columns[:2],
        "col1d": (proposal.columns or table.numeric_columns or table.columns)[0],
        "basket": proposal.basket or table.columns[0],
        "item": proposal.item or table.columns[min(1, len(table.columns) - 1)],
        "qty": proposal.quantity or none,
    }
    new_file = st.session_state.get("yd_model_for") != digest
    st.session_state["yd_model_for"] = digest
    for name, value in start.items():
        # a new file resets every choice to the proposal; a widget hidden on the last run
        # (Streamlit then forgets its state) starts again from the proposal too
        if new_file or _k(name) not in st.session_state:
            st.session_state[_k(name)] = value
    if new_file:
        st.session_state[_k("step")] = 0
    model = st.radio("Model", models, format_func=emdata.MODELS.get, key=_k("model"))
    st.caption("Proposed: " + md_escape(proposal.reason + left_out_sentence(proposal)))
    if model == "gmm1d":
        col = st.selectbox("Column to fit", table.columns, key=_k("col1d"))
        return model, dict(columns=[col])
    if model in ("gmm", "counts", "binary"):
        cols = st.multiselect(
            {"gmm": "Columns to fit", "counts": "Count columns (one per item)",
             "binary": "0/1 columns (one per yes/no answer)"}[model],
            table.columns, key=_k("cols"),
        )
        return model, dict(columns=cols)
    c1, c2, c3 = st.columns(3)
    basket = c1.selectbox("Basket id column", table.columns, key=_k("basket"))
    item = c2.selectbox("Item column", table.columns, key=_k("item"))
    qty = c3.selectbox("Quantity column", [none, *table.columns], key=_k("qty"))
    return model, dict(basket=basket, item=item, quantity=None if qty == none else qty)


def main() -> None:
    # The data is an upload, which no link can carry: the URL holds nothing on this page.
    emui.url_state(KEY, page="your_data", params=[])
    intro()
    uploaded = st.file_uploader(
        "Upload a CSV file", type=["csv", "tsv", "txt"], key=_k("file"),
        help=f"At most {emdata.MAX_UPLOAD_MB} MB.",
    )
    if uploaded is None:
        empty_state()
        return
    if st.session_state.get("yd_file_id") != uploaded.file_id:  # a new file: detect again
        st.session_state["yd_file_id"] = uploaded.file_id
        st.session_state.pop(_k("header"), None)
    header_choice = st.session_state.get(_k("header"))
    try:
        digest, table = read_upload(uploaded, header_choice)
    except emdata.DataError as err:
        show_error(str(err))
        return
    st.session_state["yd_digest"] = f"{digest}-{table.has_header}"

    with st.container(border=True):
        st.markdown(
            f"**Read {table.n_rows:,} rows × {len(table.columns)} columns** · separator: "
            f"{table.delimiter_name} · encoding: {table.encoding} · header row: "
            f"{'yes' if table.has_header else 'no'}"
        )
        st.checkbox(
            "The first row holds column names", value=table.has_header, key=_k("header"),
            help="Detected automatically; untick if your first row is data.",
        )
        st.caption(f"First {min(MAX_PREVIEW_ROWS, table.n_rows)} rows, as text:")
        st.dataframe(table.preview(MAX_PREVIEW_ROWS), hide_index=True, key=_k("preview"))
    for note in table.notes:
        st.warning(md_escape(note), icon="⚠️")

    try:
        proposal = _session_cached("yd_proposal", st.session_state["yd_digest"],
                                   lambda: emdata.propose_model(table))
    except emdata.DataError as err:
        show_error(str(err))
        return
    model, chosen = choose_columns(table, proposal)
    try:
        prep = _session_cached("yd_prep", (st.session_state["yd_digest"], model, repr(chosen)),
                               lambda: emdata.prepare(table, model, **chosen))
    except emdata.DataError as err:
        show_error(str(err))
        return
    for note in prep.notes:
        st.warning(md_escape(note), icon="⚠️")

    family = prep.family
    X = prep.X
    D = X.shape[1]
    defaults = dict(n_components=2 if family == "gaussian" else 3, init="kmeans++" if family == "gaussian" else "random",
                    seed=0, reg=1e-6 if family == "gaussian" else 0.0, alpha=1.0, max_iter=100, tol=1e-6)
    settings = emui.fit_controls(KEY, family=family, defaults=defaults, n_features=D,
                                 hard_switch=family == "gaussian" and D >= 2)
    if family == "gaussian" and D == 1 and settings.covariance_type != "full":
        settings = replace(settings, covariance_type="full")
    try:
        emdata.check_n_components(X, settings.n_components)
    except emdata.DataError as err:
        show_error(str(err))
        return
    data_key = f"upload-{digest}-{model}"
    trace = emui.run_fit(X, settings, data_key, family=family)
    if st.session_state.get(_k("step"), 0) >= trace.n_half_steps:
        st.session_state[_k("step")] = trace.n_half_steps - 1
    st.subheader("EM on your data")
    step_view(X, prep, trace, settings, data_key)
    if family == "gaussian":
        emui.selection_panel(X, settings, data_key, KEY)
    # the file name travels to another page: keep only harmless characters
    safe_name = re.sub(r"[^\w .-]", "_", uploaded.name)[:60]
    emui.publish_fit("your_data", X, trace, f"Your data ({safe_name})")


@st.fragment
def step_view(X, prep, trace, settings, data_key: str) -> None:
    """Everything that depends on the half-step: a step reruns only this fragment, and the
    views build only their open tab."""
    hs = emui.step_slider(trace, KEY)
    s = int(hs.s)
    emui.status_banner(trace)
    family, D = prep.family, X.shape[1]
    if family == "gaussian" and D == 1:
        views_1d(X, prep, trace, s, settings, data_key)
    elif family == "gaussian":
        views_2d(X, prep, trace, s, settings, data_key)
    elif family == "bernoulli":
        views_binary(X, prep, trace, s, settings, data_key)
    else:
        views_baskets(X, prep, trace, s, settings, data_key)


def common_panels(trace, s, names, key_suffix=""):
    left, right = st.columns([2, 3], gap="medium")
    with left:
        emui.what_changed(trace, s, feature_names=[md_escape(n) for n in names])
    with right:
        emui.loglik_chart(trace, s, key=_k("loglik" + key_suffix))
    emui.proof_panel(trace, s)


def restarts_tab(X, settings, data_key, family, draw=None):
    if settings.n_restarts > 1:
        traces = emui.run_restarts(X, settings, data_key, family=family)
        emui.restarts_chart(traces, key=_k("restarts"))
        if draw is not None:
            draw(traces)
    else:
        st.info("Set “Restarts shown side by side” in the sidebar to 2 or more to compare "
                "fits from different seeds.")


def views_1d(X, prep, trace, s, settings, data_key):
    x = X[:, 0]
    axis = v1.AxisFormat(title=plot_names(prep.feature_names)[0])
    n_shown = min(len(x), v1.MAX_RUG_POINTS)
    if n_shown < len(x):
        st.caption(f"Showing {n_shown:,} of {len(x):,} points in the rug (a random sample); "
                   f"the fit uses all {len(x):,}.")
    fig = v1.mixture_figure(x, trace, s, axis=axis)
    st.plotly_chart(fig, key=_k("mixture"), theme="streamlit")
    common_panels(trace, s, prep.feature_names)
    tabs = st.tabs(["📈 μ, σ, π over iterations", "▶ Animation", "🎲 Restarts", "⬇ Downloads"],
                   key=_k("tab1d"), on_change="rerun")
    fig_traj = (trajectory_figure(trace, s, feature_names=plot_names(prep.feature_names))
                if tabs[0].open or tabs[3].open else None)
    if tabs[0].open:
        with tabs[0]:
            st.plotly_chart(fig_traj, key=_k("traj"), theme="streamlit")
    if tabs[1].open:
        with tabs[1]:
            animation_tab("1d", data_key, settings, (), lambda: v1.animation_figure(x, trace, axis=axis))
    if tabs[2].open:
        with tabs[2]:
            restarts_tab(x, settings, data_key, "gaussian")
    if tabs[3].open:
        with tabs[3]:
            emui.downloads(trace, X, KEY, figures={"Histogram and components": fig,
                                                   "Parameter trajectories": fig_traj},
                           feature_names=prep.feature_names)


def views_2d(X, prep, trace, s, settings, data_key):
    names = prep.feature_names
    D = X.shape[1]
    if D > 2:
        c1, c2 = st.columns(2)
        st.session_state.setdefault(_k("ax"), 0)
        st.session_state.setdefault(_k("ay"), 1)
        ax = c1.selectbox("Horizontal axis", range(D), format_func=lambda j: names[j], key=_k("ax"))
        ay = c2.selectbox("Vertical axis", range(D), format_func=lambda j: names[j], key=_k("ay"))
        if ax == ay:
            st.warning("Pick two different columns for the axes.")
            return
        st.caption(f"The fit uses all {D} columns; the figure shows the mixture's marginal on the "
                   "two chosen ones (points coloured by the full fit's responsibilities).")
        dims = (ax, ay)
    else:
        dims = (0, 1)
    view = emcore.MarginalTrace(trace, dims) if D > 2 else trace
    Xp = X[:, list(dims)]
    fnames = plot_names([names[dims[0]], names[dims[1]]])
    note = v2.sampling_note(len(Xp))
    if note:
        st.caption(note)
    fig = v2.blobs_figure(Xp, view, s, feature_names=fnames, title="Your data: mixture at this step")
    st.plotly_chart(fig, key=_k("blobs"), theme="streamlit")
    common_panels(trace, s, names)
    tabs = st.tabs(["📈 Means over iterations", "▶ Animation", "🎲 Restarts", "⬇ Downloads"],
                   key=_k("tab2d"), on_change="rerun")
    # means of the two plotted columns (a panel per fitted column would not fit on screen)
    fig_traj = (trajectory_figure(view, s, feature_names=fnames)
                if tabs[0].open or tabs[3].open else None)
    if tabs[0].open:
        with tabs[0]:
            st.plotly_chart(fig_traj, key=_k("traj"), theme="streamlit")
    if tabs[1].open:
        with tabs[1]:
            animation_tab("2d", data_key, settings, dims,
                          lambda: v2.blobs_animation(Xp, view, feature_names=fnames))
    if tabs[2].open:
        with tabs[2]:
            restarts_tab(X, settings, data_key, "gaussian", draw=lambda traces: st.plotly_chart(
                v2.restarts_figure(Xp, [emcore.MarginalTrace(t, dims) if D > 2 else t for t in traces],
                                   feature_names=fnames, seeds=[settings.seed + i for i in range(len(traces))]),
                key=_k("restarts_2d"), theme="streamlit"))
    if tabs[3].open:
        with tabs[3]:
            emui.downloads(trace, X, KEY, figures={"Mixture": fig, "Mean trajectories": fig_traj},
                           feature_names=names)


def views_baskets(X, prep, trace, s, settings, data_key):
    raw_names = prep.feature_names
    names = plot_names(raw_names)
    share = vb.overall_share(X)
    final = np.asarray(trace.params[-1].probs)
    seg = vb.segment_names(final, share, names)
    fig = vb.profile_heatmap(trace, s, names, share, names=seg)
    st.plotly_chart(fig, key=_k("profile"), theme="streamlit")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(vb.segment_sizes(trace, s, names=seg), key=_k("sizes"), theme="streamlit")
    with right:
        emui.loglik_chart(trace, s, key=_k("loglik"))
    emui.what_changed(trace, s, feature_names=[md_escape(n) for n in raw_names])
    emui.proof_panel(trace, s)
    tabs = st.tabs(["🏷 Top items by lift", "🧺 Baskets × segments", "▶ Animation", "🎲 Restarts",
                    "⬇ Downloads"],
                   key=_k("tabbk"), on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            probs_s = np.asarray(trace.half_step(s).params.probs)
            st.plotly_chart(vb.lift_bars(probs_s, share, names, names=seg), key=_k("lift"),
                            theme="streamlit")
    if tabs[1].open:
        with tabs[1]:
            R = np.asarray(trace.responsibilities(trace.n_iter))
            rows = vb.display_rows(R)
            st.plotly_chart(vb.responsibility_heatmap(R[rows], seg, n_total=len(R), rows_label="baskets"),
                            key=_k("resp"), theme="streamlit")
    if tabs[2].open:
        with tabs[2]:
            animation_tab("baskets", data_key, settings, (),
                          lambda: vb.run_animation(trace, names, share, names=seg))
    if tabs[3].open:
        with tabs[3]:
            restarts_tab(X, settings, data_key, "multinomial")
    if tabs[4].open:
        with tabs[4]:
            emui.downloads(trace, X, KEY, figures={"Segment profiles": fig}, feature_names=raw_names,
                           row_names=prep.row_names)


def views_binary(X, prep, trace, s, settings, data_key):
    raw_names = prep.feature_names
    hs = trace.half_step(s)
    fig = vd.probability_heatmap(hs.params, plot_names(raw_names),
                                 f"Each component's chance of a 1 per column · {hs.label}")
    st.plotly_chart(fig, key=_k("bernoulli"), theme="streamlit")
    common_panels(trace, s, raw_names)
    tabs = st.tabs(["🎲 Restarts", "⬇ Downloads"],
                   key=_k("tabbin"), on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            restarts_tab(X, settings, data_key, "bernoulli")
    if tabs[1].open:
        with tabs[1]:
            emui.downloads(trace, X, KEY, figures={"Component profiles": fig}, feature_names=raw_names)


main()
