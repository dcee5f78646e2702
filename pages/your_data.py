"""Your data: upload a CSV (or pick an example) and watch EM fit the model the page proposes.

The page only reads widgets and shows things: parsing, validation, the column proposal and
standardisation come from ``emdata`` (every message it raises is shown as text, once); fits
from ``emui``; marginals from ``emcore``; figures from ``emviz`` — the same views as the 1-D,
2-D and basket pages. After a file is read, the step slider and the main chart come first:
the table, the model and the columns are one line here and widgets in the sidebar.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import astuple, dataclass, replace

import numpy as np
import streamlit as st

import emcore
import emdata
import emui
from emviz import baskets as vb
from emviz import digits as vd
from emviz import gauss1d as v1
from emviz import gauss2d as v2
from emviz.common import loglik_figure, theta_it, trajectory_figure

KEY = "yd"
MAX_PREVIEW_ROWS = 10
NO_QTY = "(none: each line is one item)"


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
# where the table comes from: the uploader, or one click on an example
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    name: str  # file name (an upload's own, or the example's)
    data: bytes
    source_id: str  # changes when another file or example is chosen
    example: str | None = None  # the example's key, None for an upload


def _file_key() -> str:
    """The uploader's key; a new key (after an example is picked) is an empty uploader."""
    gen = int(st.session_state.get("yd_file_gen", 0))
    return _k("file") if gen == 0 else _k(f"file{gen}")


def _on_example() -> None:
    """An example replaces the upload: a fresh (empty) uploader drops the file."""
    if st.session_state.get(_k("example")) is not None:
        st.session_state["yd_file_gen"] = int(st.session_state.get("yd_file_gen", 0)) + 1
        st.session_state[_k("data")] = False  # fold the data panel: the fit comes first


def _on_upload() -> None:
    """An upload replaces the example."""
    st.session_state[_k("example")] = None
    st.session_state[_k("data")] = False


@st.cache_data(max_entries=8, show_spinner=False)
def _example_bytes(key: str) -> bytes:
    return emdata.example_csv(key)  # public, bundled data: safe to share between sessions


def current_source() -> Source | None:
    """The file to read, from the widgets' state (drawn later, in the data panel): the
    upload if there is one, else the example picked, else None."""
    uploaded = st.session_state.get(_file_key())
    if uploaded is not None:
        return Source(uploaded.name, uploaded.getvalue(), f"file-{uploaded.file_id}")
    example = st.session_state.get(_k("example"))
    if example in emdata.EXAMPLES:
        return Source(emdata.EXAMPLES[example][1], _example_bytes(example), f"example-{example}",
                      example)
    return None


def source_widgets() -> None:
    """The uploader and the one-click examples, side by side (stacked on a phone)."""
    up, ex = st.columns([1, 1], gap="medium")
    up.file_uploader(
        "Upload a CSV file", type=["csv", "tsv", "txt"], key=_file_key(), on_change=_on_upload,
        help=f"At most {emdata.MAX_UPLOAD_MB} MB. Nothing you upload is stored or shared.",
    )
    ex.pills(
        "…or try an example", list(emdata.EXAMPLES), key=_k("example"), on_change=_on_example,
        format_func=lambda key: emdata.EXAMPLES[key][0],
        help="One click loads the table as if you had uploaded it. "
             + " ".join(emdata.EXAMPLE_DESCRIPTIONS.values()),
    )


# ----------------------------------------------------------------------------------------------
# reading the table (kept per session: nothing uploaded is ever shared or unpickled)
# ----------------------------------------------------------------------------------------------


def read_table(source: Source, header: bool | None):
    """Parse the file once per (content, header choice) and keep it in this session.

    Returns (digest, ParsedTable) or raises DataError.
    """
    digest = hashlib.sha256(source.data).hexdigest()[:16]
    cache = st.session_state.setdefault("yd_parsed", {})
    key = (digest, header)
    if key not in cache:
        cache.clear()  # one file per session at a time
        try:
            cache[key] = emdata.parse_csv(source.data, source.name, header=header)
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


def load(source: Source):
    """(data key, table, proposal) of the chosen file; raises DataError."""
    if st.session_state.get("yd_source_id") != source.source_id:  # a new file: detect again
        st.session_state["yd_source_id"] = source.source_id
        st.session_state.pop(_k("header"), None)
    digest, table = read_table(source, st.session_state.get(_k("header")))
    st.session_state["yd_digest"] = f"{digest}-{table.has_header}"
    proposal = _session_cached("yd_proposal", st.session_state["yd_digest"],
                               lambda: emdata.propose_model(table))
    return st.session_state["yd_digest"], table, proposal


# ----------------------------------------------------------------------------------------------
# the page
# ----------------------------------------------------------------------------------------------


def intro() -> None:
    emui.page_header(
        "📁 Your data",
        "Upload a table or try an example: EM fits **your** numbers, in the matching page's views.",
    )


def empty_state() -> None:
    st.info(
        "Upload a CSV file to begin, or click an example. Accepted: comma, semicolon, tab or "
        "pipe separated; UTF-8 (with or without BOM), UTF-16 or Latin-1; with or without a "
        f"header row; at most {emdata.MAX_UPLOAD_MB} MB. Gaussian fits use up to "
        f"{emdata.MAX_FIT_ROWS:,} rows and {emdata.MAX_GAUSS_CELLS:,} cells (a random sample "
        "beyond that, seed 0, always stated). Nothing you upload is stored, shared with other "
        "visitors, or run as code.",
        icon="📄",
    )
    st.markdown(
        "**The model the page proposes.** One numeric column: a 1-D Gaussian mixture. Two or "
        "more: a Gaussian mixture (plot any two, fit in all; row numbers, ids and years are "
        "left out, and columns on very different scales are standardised). A counts matrix or "
        "a basket list (`basket_id, item[, quantity]`): a mixture of multinomials. Columns of "
        "only 0s and 1s (yes/no answers): a mixture of Bernoullis. You can change the model "
        "and the columns in the sidebar."
    )


def left_out_sentence(proposal) -> str:
    """' Left out: 'year' (calendar years 2007–2009), ...' — labels, not measurements."""
    if not proposal.left_out:
        return ""
    parts = [f"'{c}' ({why})" for c, why in proposal.left_out.items()]
    return " Left out: " + ", ".join(parts) + " — a label of the row, not a measurement."


def data_panel(source: Source | None, table) -> None:
    """One line saying what was read; the uploader, the examples, the preview and the header
    switch fold into it (open until a table is read, folded after each new choice)."""
    if table is None:
        st.session_state[_k("data")] = True
        label = "Choose your data: upload a CSV file or try an example"
    else:
        origin = "example" if source.example else "file"
        label = (f"{md_escape(source.name)} ({origin}): {table.n_rows:,} rows × "
                 f"{len(table.columns)} columns · {table.delimiter_name} · {table.encoding} · "
                 f"header row: {'yes' if table.has_header else 'no'} — change the file, "
                 "preview the table")
    st.session_state.setdefault(_k("data"), True)
    with st.expander(label, icon="📂", key=_k("data"), on_change="rerun"):
        source_widgets()  # always drawn, open or folded: a widget not drawn forgets its file
        if table is None:
            return
        st.checkbox(
            "The first row holds column names", value=table.has_header, key=_k("header"),
            help="Detected automatically; untick if your first row is data.",
        )
        st.caption(f"First {min(MAX_PREVIEW_ROWS, table.n_rows)} rows, as text:")
        st.dataframe(table.preview(MAX_PREVIEW_ROWS), hide_index=True, key=_k("preview"))
        if source.example:
            st.caption(md_escape(emdata.EXAMPLE_DESCRIPTIONS[source.example]))
            st.download_button("Download this example as CSV", data=source.data,
                               file_name=source.name, mime="text/csv", key=_k("ex_download"),
                               on_click="ignore", icon="⬇")


def show_notes(slot, notes) -> None:
    """Everything changed or left out while reading and preparing: one message, one line each."""
    notes = [n for n in notes if n]
    if len(notes) == 1:
        slot.warning(md_escape(notes[0]), icon="⚠️")
    elif notes:
        slot.warning(f"{len(notes)} things to know about this file:\n"
                     + "\n".join(f"- {md_escape(n)}" for n in notes), icon="⚠️")


def _start_values(table, proposal) -> dict:
    return {
        "model": proposal.model,
        "cols": proposal.columns or table.numeric_columns[:2],
        "col1d": (proposal.columns or table.numeric_columns or table.columns)[0],
        "basket": proposal.basket or table.columns[0],
        "item": proposal.item or table.columns[min(1, len(table.columns) - 1)],
        "qty": proposal.quantity or NO_QTY,
        "std": bool(proposal.standardise),
    }


def data_controls(table, proposal):
    """Model, columns and standardisation in the sidebar; returns (model, kwargs for
    emdata.prepare)."""
    digest = st.session_state.get("yd_digest")
    new_file = st.session_state.get("yd_model_for") != digest
    st.session_state["yd_model_for"] = digest
    for name, value in _start_values(table, proposal).items():
        # a new file resets every choice to the proposal; a widget hidden on the last run
        # (Streamlit then forgets its state) starts again from the proposal too
        if new_file or _k(name) not in st.session_state:
            st.session_state[_k(name)] = value
    if new_file:
        st.session_state[_k("step")] = 0
    bar = st.sidebar
    bar.header("Model and columns")
    model = bar.selectbox("Model", list(emdata.MODELS), format_func=emdata.MODEL_LABELS.get,
                          key=_k("model"), help="  \n".join(emdata.MODELS.values()))
    if model in ("gmm1d", "gmm"):
        if model == "gmm1d":
            chosen = dict(columns=[bar.selectbox("Column to fit", table.columns, key=_k("col1d"))])
        else:
            chosen = dict(columns=bar.multiselect("Columns to fit", table.columns, key=_k("cols")))
        chosen["standardise"] = bar.toggle(
            "Standardise columns (z-scores)", key=_k("std"),
            help="Fit each column minus its mean, divided by its standard deviation. Proposed "
                 f"when the columns' standard deviations differ by more than a factor of "
                 f"{emdata.STANDARDISE_RATIO:g}.")
        return model, chosen
    if model in ("counts", "binary"):
        cols = bar.multiselect(
            {"counts": "Count columns (one per item)",
             "binary": "0/1 columns (one per yes/no answer)"}[model],
            table.columns, key=_k("cols"))
        return model, dict(columns=cols)
    basket = bar.selectbox("Basket id column", table.columns, key=_k("basket"))
    item = bar.selectbox("Item column", table.columns, key=_k("item"))
    qty = bar.selectbox("Quantity column", [NO_QTY, *table.columns], key=_k("qty"))
    return model, dict(basket=basket, item=item, quantity=None if qty == NO_QTY else qty)


def proposal_caption(proposal, prep, table, chosen: dict) -> str:
    """What is fitted, in one or two lines: the proposal, the columns left out, z-scores."""
    text = md_escape("Proposed: " + proposal.reason + left_out_sentence(proposal))
    if prep.family == "gaussian" and prep.standardised:
        text += (" **Fitted on z-scores** (each column minus its mean, over its standard "
                 "deviation): axes, parameters and downloads are in these units.")
    elif prep.family == "gaussian" and (
            ratio := emdata.scale_ratio(table, chosen["columns"])) > emdata.STANDARDISE_RATIO:
        text += md_escape(f" The chosen columns' standard deviations differ by a factor of "
                          f"{ratio:,.0f}; “Standardise columns” puts them on one scale.")
    return text + " Model and columns: sidebar."


def standardise_note(prep) -> str:
    """Under the switch: each column's mean ± sd, and where units matter to EM."""
    if not prep.standardised:
        return ("Off: the columns are fitted in their own units (a column with a very large "
                "or small spread is divided by a power of ten, as stated).")
    spread = "; ".join(f"{md_escape(n.removesuffix(' (z)'))}: {c:.4g} ± {s:.4g}" for n, c, s in
                       zip(prep.feature_names, prep.center, prep.scale, strict=True))
    return (f"On: z = (value − mean) / sd, with mean ± sd {spread}. With full, diagonal or "
            "tied covariances EM takes the same steps in any units from a matching start; "
            "the start (k-means++ picks by distance), reg and spherical covariances are "
            "where units matter.")


#: First-visit values (``reg`` is read only by a family that declares it: the Gaussian). The
#: family brings its default initialisation and which controls exist (``emcore.fit_spec``).
FIT_DEFAULTS = dict(seed=0, reg=1e-6, max_iter=100, tol=1e-6)
#: K of a first visit: two groups of measurements, three segments of baskets or answers.
FIRST_K = {"gaussian": 2}


def fit_settings(family: str, D: int):
    return emui.fit_controls(KEY, family=family, n_features=D, hard_switch=D >= 2,
                             defaults=dict(FIT_DEFAULTS, n_components=FIRST_K.get(family, 3)))


def axis_pickers(prep) -> tuple[int, int]:
    """With more than two Gaussian columns: which two the chart shows (sidebar, under the
    columns; the fit uses all of them)."""
    names, D = prep.feature_names, prep.X.shape[1]
    for name, default in (("ax", 0), ("ay", 1)):
        if st.session_state.get(_k(name)) not in range(D):
            st.session_state[_k(name)] = default
    bar = st.sidebar
    ax = bar.selectbox("Chart: horizontal axis", range(D), format_func=lambda j: names[j],
                       key=_k("ax"))
    ay = bar.selectbox("Chart: vertical axis", range(D), format_func=lambda j: names[j],
                       key=_k("ay"))
    bar.caption(f"The fit uses all {D} columns; the chart shows the mixture's marginal on the "
                "two chosen ones (points coloured by the full fit's responsibilities).")
    return int(ax), int(ay)


def main() -> None:
    # The data is an upload or an example, which no link can carry: the URL holds nothing.
    emui.url_state(KEY, page="your_data", params=[])
    intro()
    source = current_source()
    try:
        digest, table, proposal = load(source) if source else (None, None, None)
    except emdata.DataError as err:
        data_panel(source, None)
        show_error(str(err))
        return
    data_panel(source, table)
    if table is None:
        empty_state()
        return
    notes = st.empty()
    model, chosen = data_controls(table, proposal)
    try:
        prep = _session_cached("yd_prep", (digest, model, repr(chosen)),
                               lambda: emdata.prepare(table, model, **chosen))
    except emdata.DataError as err:
        show_notes(notes, table.notes)
        show_error(str(err))
        return
    show_notes(notes, table.notes + prep.notes)
    st.caption(proposal_caption(proposal, prep, table, chosen))
    dims = (0, 1)
    if prep.family == "gaussian":
        st.sidebar.caption(standardise_note(prep))  # under the switch
        if prep.X.shape[1] > 2:
            dims = axis_pickers(prep)
    fit_and_show(prep, f"upload-{digest}-{model}", source.name, model, dims)


def fit_and_show(prep, data_key: str, file_name: str, model: str, dims: tuple[int, int]) -> None:
    X = prep.X
    settings = fit_settings(prep.family, X.shape[1])
    try:
        emdata.check_n_components(X, settings.n_components)
    except emdata.DataError as err:
        show_error(str(err))
        return
    data_key = f"{data_key}-{emui.data_fingerprint(X)}"  # columns, standardised or not
    trace = emui.run_fit(X, settings, data_key, family=prep.family)
    if st.session_state.get(_k("step"), 0) >= trace.n_half_steps:
        st.session_state[_k("step")] = trace.n_half_steps - 1
    # Everything the player's figures and texts depend on besides the fit: the file (its
    # digest), the model, the columns (their names), z-scores or not, the two plotted axes.
    view = View(data_key, model, tuple(prep.feature_names), bool(prep.standardised), dims)
    if prep.family == "gaussian" and X.shape[1] > 1 and dims[0] == dims[1]:
        st.warning("Pick two different columns for the axes.")
    else:
        step_view(X, prep, trace, view)
        panels(X, prep, trace, settings, view)
    if prep.family == "gaussian":
        emui.selection_panel(X, settings, data_key, KEY)
    # the file name travels to another page: keep only harmless characters
    safe_name = re.sub(r"[^\w .-]", "_", file_name)[:60]
    emui.publish_fit("your_data", X, trace, f"Your data ({safe_name})")


@dataclass(frozen=True)
class View:
    """What the step player's figures depend on besides the fit (its cache key, and the key
    of every view that follows it)."""

    data_key: str
    model: str
    names: tuple[str, ...]
    standardised: bool
    dims: tuple[int, int]


# ----------------------------------------------------------------------------------------------
# figure builders: build(hs) for an emcore HalfStep of the fit, shared by the player, the
# views in the tabs and the downloads (which draw the half-step the learner stopped on)
# ----------------------------------------------------------------------------------------------


def _axis_1d(prep):
    return v1.AxisFormat(title=plot_names(prep.feature_names)[0])


def mixture_1d(X, prep, trace):
    """The one column's histogram and the fitted components."""
    x, axis = X[:, 0], _axis_1d(prep)
    return lambda h: v1.mixture_figure(x, trace, h, axis=axis)


def plane(X, prep, trace, dims):
    """A Gaussian fit seen on the two plotted columns ``dims``: their data, the fit's marginal
    on them (the fit itself when it has two columns) and their names for Plotly."""
    marginal = emcore.MarginalTrace(trace, dims) if X.shape[1] > 2 else trace
    return X[:, list(dims)], marginal, plot_names([prep.feature_names[d] for d in dims])


def blobs_2d(X, prep, trace, dims, grid_n=v2.GRID_PLAYER):
    """The points and the mixture on the plotted columns, at a half-step of the full fit."""
    Xp, marginal, names = plane(X, prep, trace, dims)
    full = X.shape[1] == 2

    def build(h):  # θ of the full fit's half-step, on the plotted columns
        h = h if full else replace(h, params=marginal.params[h.theta_index])
        return v2.blobs_figure(Xp, marginal, h, feature_names=names, grid_n=grid_n,
                               title="Your data: mixture at this step")

    return build


def basket_names(X, prep, trace):
    """(item names for Plotly, each item's overall share, the segments' names from the fit)."""
    names = plot_names(prep.feature_names)
    share = vb.overall_share(X)
    return names, share, vb.segment_names(np.asarray(trace.params[-1].probs), share, names)


def profile(trace, names, share, seg):
    """The segments' item profiles (baskets and counts; the arguments from basket_names)."""
    return lambda h: vb.profile_heatmap(trace, h, names, share, names=seg)


def binary_heatmap(prep):
    """Each component's chance of a 1 per 0/1 column."""
    names = plot_names(prep.feature_names)
    return lambda h: vd.probability_heatmap(
        h.params, names, f"Each component's chance of a 1 per column · {h.label}")


def narration(trace, names):
    """The player's "what changed" block; column names are Markdown-escaped (md_html turns
    the escapes back into the plain characters, HTML-escaped)."""
    return emui.narration(trace, feature_names=[md_escape(n) for n in names])


def _loglik(trace, flex: float = 1.0):
    return emui.Chart(_k("loglik"), lambda h: loglik_figure(trace, h), flex=flex, height=320)


def player_rows(X, prep, trace, view: View) -> list:
    """What the step player draws for this fit: the main chart, the narration beside ℓ (for
    baskets, the segments' sizes beside ℓ, then the narration), then the proof."""
    gauss, D = prep.family == "gaussian", X.shape[1]
    middle = [[narration(trace, view.names), _loglik(trace, flex=1.5)]]
    if gauss and D == 1:
        top = emui.Chart(_k("mixture"), mixture_1d(X, prep, trace), height=540)
    elif gauss:
        top = emui.Chart(_k("blobs"), blobs_2d(X, prep, trace, view.dims), height=520)
    elif prep.family == "bernoulli":
        top = emui.Chart(_k("bernoulli"), binary_heatmap(prep),
                         height=140 + 44 * trace.n_components)
    else:
        names, share, seg = basket_names(X, prep, trace)
        # the boxes keep the figures' own heights (vb: 160 px + 24 per item; sizes 340 px)
        top = emui.Chart(_k("profile"), profile(trace, names, share, seg),
                         height=max(380, 160 + 24 * len(view.names)))
        middle = [[emui.Chart(_k("sizes"), lambda h: vb.segment_sizes(trace, h, names=seg),
                              height=340), _loglik(trace)],
                  [narration(trace, view.names)]]
    return [[top], *middle, [emui.proof(trace)]]


# ----------------------------------------------------------------------------------------------
# the two fragments: the player (reruns when the learner stops on a half-step), the panels
# ----------------------------------------------------------------------------------------------


@st.fragment
def step_view(X, prep, trace, view: View) -> None:
    """The step player and the exercise (whose question is about the half-step on screen):
    when the learner stops on a half-step, only this small fragment reruns. The main chart,
    the narration, ℓ and the proof of every half-step go to the browser once, and ◀ / ▶
    redraw them there (emui.step_player)."""
    hs = emui.step_player(trace, KEY, player_rows(X, prep, trace, view), options=astuple(view))
    gauss, D = prep.family == "gaussian", X.shape[1]
    if not gauss or D <= 2:  # a question names a point by all its coordinates: only when
        # the chart shows them all (the fitted data, as on screen)
        emui.exercise_panel(trace, hs, KEY, X=(X[:, 0] if D == 1 else X) if gauss else None,
                            feature_names=list(view.names), title=f"Your data ({view.model})")


@st.fragment
def panels(X, prep, trace, settings, view: View) -> None:
    """Everything below the player: the status, the tabs. It reruns on its own widgets (a tab,
    the animation's switch), not when the learner steps: what it shows is the same at every
    half-step, or is a view of the player (emui.step_view) that follows the step in the
    browser. Only the open tab is built."""
    gauss, D = prep.family == "gaussian", X.shape[1]
    if gauss and D == 1:
        tabs_1d(X, prep, trace, settings, view)
    elif gauss:
        tabs_2d(X, prep, trace, settings, view)
    elif prep.family == "bernoulli":
        tabs_binary(X, prep, trace, settings, view)
    else:
        tabs_baskets(X, prep, trace, settings, view)


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


def restarts_tab(X, settings, data_key, family, draw=None):
    if settings.n_restarts > 1:
        traces = emui.run_restarts(X, settings, data_key, family=family)
        emui.restarts_chart(traces, key=_k("restarts"))
        if draw is not None:
            draw(traces)
    else:
        st.info("Set “Restarts shown side by side” in the sidebar to 2 or more to compare "
                "fits from different seeds.")


def gaussian_tabs(X, prep, trace, settings, view: View, *, kind: str, traj_tab: str, main,
                  traj, animation, restarts_X, restarts_draw=None) -> None:
    """The tabs under a Gaussian fit, 1-D or 2-D: its parameters over iterations (a view that
    follows the player), the animation, restarts from other seeds, the downloads.

    ``kind`` ("1d", "2d") names the tab widget and the animation's cache entry; ``main`` and
    ``traj`` are (name among the downloads, build(hs)) of the main figure and of the
    trajectories; ``animation()`` builds the animation; ``restarts_X`` is the data the restarts
    fit and ``restarts_draw(traces)`` draws more under their ℓ chart.
    """
    tabs = st.tabs([f"📈 {traj_tab}", "▶ Animation", "🎲 Restarts", "⬇ Downloads"],
                   key=_k(f"tab{kind}"), on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            emui.step_view(trace, KEY, "traj", [[emui.Chart(_k("traj"), traj[1])]],
                           options=astuple(view))
    if tabs[1].open:
        with tabs[1]:
            animation_tab(kind, view.data_key, settings, view.dims, animation)
    if tabs[2].open:
        with tabs[2]:
            restarts_tab(restarts_X, settings, view.data_key, "gaussian", draw=restarts_draw)
    if tabs[3].open:
        with tabs[3]:
            emui.downloads(trace, X, KEY, figures=dict([main, traj]),
                           feature_names=prep.feature_names)


def tabs_1d(X, prep, trace, settings, view: View) -> None:
    x = X[:, 0]
    emui.status_banner(trace)
    axis, names = _axis_1d(prep), plot_names(prep.feature_names)
    gaussian_tabs(
        X, prep, trace, settings, view, kind="1d", traj_tab="μ, σ, π over iterations",
        main=("Histogram and components", mixture_1d(X, prep, trace)),
        traj=("Parameter trajectories", lambda h: trajectory_figure(trace, h, feature_names=names)),
        animation=lambda: v1.animation_figure(x, trace, axis=axis), restarts_X=x)


def tabs_2d(X, prep, trace, settings, view: View) -> None:
    dims, D = view.dims, X.shape[1]
    Xp, marginal, names = plane(X, prep, trace, dims)
    if note := v2.sampling_note(len(Xp)):
        st.caption(note)
    emui.status_banner(trace)

    def restarts(traces) -> None:  # each restart's final mixture on the plotted columns
        st.plotly_chart(v2.restarts_figure(
            Xp, [emcore.MarginalTrace(t, dims) if D > 2 else t for t in traces],
            feature_names=names, seeds=[settings.seed + i for i in range(len(traces))]),
            key=_k("restarts_2d"), theme="streamlit")

    gaussian_tabs(
        X, prep, trace, settings, view, kind="2d", traj_tab="Means over iterations",
        main=("Mixture", blobs_2d(X, prep, trace, dims, grid_n=v2.GRID_STATIC)),
        # means of the two plotted columns (a panel per fitted column would not fit on screen)
        traj=("Mean trajectories", lambda h: trajectory_figure(marginal, h, feature_names=names)),
        animation=lambda: v2.blobs_animation(Xp, marginal, feature_names=names),
        restarts_X=X, restarts_draw=restarts)


def tabs_baskets(X, prep, trace, settings, view: View) -> None:
    names, share, seg = basket_names(X, prep, trace)
    emui.status_banner(trace)
    tabs = st.tabs(["🏷 Top items by lift", "🧺 Baskets × segments", "▶ Animation", "🎲 Restarts",
                    "⬇ Downloads"],
                   key=_k("tabbk"), on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            emui.step_view(trace, KEY, "lift", [[emui.Chart(_k("lift"), lambda h: vb.lift_bars(
                np.asarray(h.params.probs), share, names, names=seg))]],
                options=astuple(view))
    if tabs[1].open:
        with tabs[1]:
            st.caption(f"The fitted result — the last half-step, {theta_it(trace.n_iter)} — "
                       "whatever half-step the player shows: each basket's responsibilities "
                       "p(segment | basket).")
            R = np.asarray(trace.responsibilities(trace.n_iter))
            rows = vb.display_rows(R)
            st.plotly_chart(vb.responsibility_heatmap(R[rows], seg, n_total=len(R),
                                                      rows_label="baskets"),
                            key=_k("resp"), theme="streamlit")
    if tabs[2].open:
        with tabs[2]:
            animation_tab("baskets", view.data_key, settings, (),
                          lambda: vb.run_animation(trace, names, share, names=seg))
    if tabs[3].open:
        with tabs[3]:
            restarts_tab(X, settings, view.data_key, "multinomial")
    if tabs[4].open:
        with tabs[4]:
            emui.downloads(trace, X, KEY,
                           figures={"Segment profiles": profile(trace, names, share, seg)},
                           feature_names=prep.feature_names, row_names=prep.row_names)


def tabs_binary(X, prep, trace, settings, view: View) -> None:
    emui.status_banner(trace)
    tabs = st.tabs(["🎲 Restarts", "⬇ Downloads"], key=_k("tabbin"), on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            restarts_tab(X, settings, view.data_key, "bernoulli")
    if tabs[1].open:
        with tabs[1]:
            emui.downloads(trace, X, KEY, figures={"Component profiles": binary_heatmap(prep)},
                           feature_names=prep.feature_names)


main()
