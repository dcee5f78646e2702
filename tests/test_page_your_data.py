"""AppTest of the "Your data" page: every bad file's message on screen, and every control path."""

import html
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emviz.common import theta_it
from tests.playertest import chart, set_step, shown, step_of, view
from tests.test_emdata_csv import BAD, CATALOGUE, K_FOR

PAGE = str(Path(__file__).parents[1] / "pages" / "your_data.py")


def unescape(text: str) -> str:
    """The page escapes Markdown in messages (so uploads show as text); undo it to compare."""
    return re.sub(r"\\(.)", r"\1", text)


def new_app(max_iter: int | None = None) -> AppTest:
    """A fresh session of the page; ``max_iter`` caps the fits (the step player packs every
    half-step of a fit, so tests about messages keep fits short)."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    if max_iter is not None:
        at.session_state["yd_max_iter"] = max_iter
    return at.run()


def upload(data: bytes, name: str = "data.csv", at: AppTest | None = None) -> AppTest:
    if at is None:
        at = new_app()
    at.file_uploader(key="yd_file").set_value((name, data, "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _version(at) -> str:
    """The step player's payload version: it changes whenever what it draws may change."""
    from tests.playertest import player_data

    return player_data(at)["v"]


def _floats(v) -> np.ndarray:
    """A Plotly JSON array (a plain list or a typed {dtype, bdata} array) as floats."""
    if isinstance(v, dict):
        import base64

        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).astype(float)
    return np.asarray(v, dtype=float)


def errors(at):
    return [unescape(e.value) for e in at.error]


def warnings(at):
    return [unescape(w.value) for w in at.warning]


def data_warnings(at):
    """Warnings about the file (not the fit's "stopped at the iteration limit" status)."""
    return [w for w in warnings(at) if not w.startswith("Stopped at the iteration limit")]


def test_empty_state_explains_the_formats():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "20 MB" in at.info[0].value and "200,000 rows" in at.info[0].value


def test_example_files_round_trip_through_the_parser():
    import emdata

    faithful = emdata.parse_csv(emdata.example_csv("faithful"))
    assert emdata.propose_model(faithful).model == "gmm" and faithful.n_rows == 272
    baskets = emdata.parse_csv(emdata.example_csv("baskets"))
    p = emdata.propose_model(baskets)
    assert (p.model, p.basket, p.item, p.quantity) == ("long", "basket_id", "item", "quantity")
    prep = emdata.prepare(baskets, "long", basket="basket_id", item="item", quantity="quantity")
    d = emdata.load_dataset("synthetic_baskets")
    assert prep.X.sum() == d.X.sum() and prep.X.shape == d.X.shape


@pytest.fixture(scope="module")
def shared_app():
    """One session for the whole catalogue: each file replaces the previous upload, as when a
    learner tries file after file (also checks that nothing of the last file lingers)."""
    return new_app(max_iter=10)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_bad_file_shows_its_one_message(name, shared_app):
    kind, message = CATALOGUE[name]
    at = upload((BAD / name).read_bytes(), name,
                at=new_app(max_iter=10) if name in K_FOR else shared_app)
    if name in K_FOR:
        at.sidebar.slider(key="yd_n_components").set_value(K_FOR[name]).run()
        assert not at.exception
    if kind == "error":
        assert errors(at) == [message]  # exactly one message, the right one
        assert not at.get("plotly_chart") and not at.get("bidi_component")  # no step player
    else:
        notes = data_warnings(at)
        assert len(notes) == 1 and message in notes[0]  # every note in one message
        assert not [e for e in errors(at) if "distinct point" not in e]


def test_over_size_file_is_refused_with_its_message():
    data = b"x\n" + b"1.5\n" * (21 * 2**20 // 4)
    at = upload(data, "big.csv")
    assert errors(at) == [
        f"The file is {len(data) / 2**20:.1f} MB, more than the 20 MB limit. "
        "Upload a smaller file, for example a random sample of its rows."
    ]


def _two_blobs(n=120, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (n // 2, d)), rng.normal(4, 1, (n // 2, d))])
    head = ",".join(["<img src=x onerror=alert(1)>", "=cmd|' /C calc'!A0", "z"][:d])
    return (head + "\n" + "\n".join(",".join(f"{v:.4f}" for v in row) for row in X) + "\n").encode()


def test_gaussian_3d_upload_plots_two_fits_all_and_slider_moves_figure():
    at = upload(_two_blobs(), "<b>x</b>.csv")
    fit = at.session_state["em_fits"]["your_data"]  # shared with "Why EM works"
    assert fit["title"] == "Your data (_b_x__b_.csv)" and fit["X"].shape == (120, 3)
    assert at.selectbox(key="yd_model").value == "gmm"
    assert at.multiselect(key="yd_cols").value == ["<img src=x onerror=alert(1)>", "=cmd|' /C calc'!A0", "z"]
    # the hostile column name is a plain string in the table, never HTML
    df = at.dataframe[0].value
    assert list(df.columns)[0] == "<img src=x onerror=alert(1)>"
    for md in at.markdown:
        assert "<img" not in md.value
    assert "<b>" not in at.expander(key="yd_data").label  # the file name is escaped text
    # the step player draws the chart, the narration, ℓ and the proof of every half-step
    assert set(shown(at)["figures"]) == {"yd_blobs", "yd_loglik"}
    assert set(shown(at)["texts"]) == {"narration", "proof"}
    before = chart(at, "yd_blobs")
    set_step(at, "yd", 2)  # M-step 1
    assert not at.exception and step_of(at, "yd") == 2 and shown(at)["label"] == "M-step 1"
    assert chart(at, "yd_blobs") != before
    # the means drawn are θ⁽¹⁾'s on the two plotted columns (0 and 1)
    tr = at.session_state["em_fits"]["your_data"]["trace"]
    means = next(t for t in chart(at, "yd_blobs")["data"] if t.get("name") == "means μk")
    np.testing.assert_allclose(np.c_[_floats(means["x"]), _floats(means["y"])],
                               tr.params[1].means[:, :2], rtol=1e-9)
    # the hostile name is text in the narration (escaped HTML), never a tag
    story = shown(at)["texts"]["narration"]
    assert html.escape("<img src=x onerror=alert(1)>") in story and "<img" not in story
    assert "=cmd|' /C calc'!A0" in html.unescape(story) and "\\" not in story
    # ... and entity-escaped in the chart's axis title (Plotly reads a few tags in text)
    assert chart(at, "yd_blobs")["layout"]["xaxis"]["title"]["text"] == \
        "&lt;img src=x onerror=alert(1)&gt;"
    # the means over iterations are a view that follows the player: at M-step 1, θ⁽¹⁾'s
    # means of the two plotted columns, marked
    traj = view(at, "traj")["figures"]["yd_traj"]
    assert traj["layout"]["title"]["text"].endswith("θ⁽¹⁾ shown")
    marks = [t for t in traj["data"] if t.get("mode") == "markers"]
    np.testing.assert_allclose([_floats(m["y"]) for m in marks[:2]], tr.params[1].means[:, :2].T,
                               rtol=1e-9)
    # only the open tab is built: opening the animation's tab drops the trajectories' view
    assert not at.get("plotly_chart")
    at.session_state["yd_tab2d"] = next(t.label for t in at.tabs if "Animation" in t.label)
    at.run()
    assert not at.exception and not at.get("plotly_chart")
    with pytest.raises(AssertionError):
        view(at, "traj")
    at.toggle(key="yd_anim_on").set_value(True).run()
    assert not at.exception and len(at.get("plotly_chart")) == 1
    v01 = _version(at)
    at.selectbox(key="yd_ay").set_value(2).run()
    assert not at.exception and _version(at) != v01  # the axes are part of the player's key
    means = next(t for t in chart(at, "yd_blobs")["data"] if t.get("name") == "means μk")
    np.testing.assert_allclose(_floats(means["y"]), tr.params[1].means[:, 2], rtol=1e-9)
    assert chart(at, "yd_blobs")["layout"]["yaxis"]["title"]["text"] == "z"
    assert step_of(at, "yd") == 2  # the step stays where the learner left it
    at.selectbox(key="yd_ay").set_value(0).run()  # same as x: a warning, no figure error
    assert "Pick two different columns for the axes." in warnings(at)
    assert not at.get("bidi_component")


def test_switch_models_and_columns():
    at = upload(_two_blobs(d=2))
    at.selectbox(key="yd_model").set_value("gmm1d").run()
    assert not at.exception and set(shown(at)["figures"]) == {"yd_mixture", "yd_loglik"}
    v = _version(at)
    at.selectbox(key="yd_col1d").set_value("=cmd|' /C calc'!A0").run()
    assert not at.exception and _version(at) != v  # another column: another payload
    assert chart(at, "yd_mixture")["layout"]["xaxis2"]["title"]["text"] == "=cmd|' /C calc'!A0"
    at.selectbox(key="yd_model").set_value("counts").run()
    assert not at.exception
    assert errors(at) == [
        "No row is a valid basket: counts must be whole numbers ≥ 0 with at least one item "
        "per row. Check that you picked the count columns."
    ]
    at.selectbox(key="yd_model").set_value("gmm").run()
    at.multiselect(key="yd_cols").set_value(["<img src=x onerror=alert(1)>"]).run()
    assert errors(at) == [
        "A Gaussian mixture in several dimensions needs at least two numeric columns. "
        "Pick more columns, or choose the 1-D model."
    ]


def test_basket_list_restarts_and_header_toggle():
    rng = np.random.default_rng(1)
    lines = ["basket_id,item,quantity"]
    for b in range(60):
        kind = b % 2
        for _ in range(5):
            item = rng.choice(["milk", "bread", "eggs"] if kind else ["beer", "crisps", "salsa"])
            lines.append(f"{b},{item},{rng.integers(1, 3)}")
    at = upload(("\n".join(lines) + "\n").encode(), "baskets.csv")
    assert at.selectbox(key="yd_model").value == "long"
    assert at.selectbox(key="yd_basket").value == "basket_id"
    assert at.selectbox(key="yd_qty").value == "quantity"
    assert set(shown(at)["figures"]) == {"yd_profile", "yd_sizes", "yd_loglik"} and not errors(at)
    assert set(shown(at)["texts"]) == {"narration", "proof"}
    set_step(at, "yd", 2)
    assert not at.exception and "M-step 1" in shown(at)["texts"]["narration"]
    at.sidebar.slider(key="yd_n_restarts").set_value(3).run()
    assert not at.exception
    at.selectbox(key="yd_qty").set_value("(none: each line is one item)").run()
    assert not at.exception and not errors(at)
    at.checkbox(key="yd_header").uncheck().run()
    assert not at.exception  # first row now data: 'basket_id' is a basket, 'quantity' text
    assert at.checkbox(key="yd_header").value is False


def test_sessions_do_not_share_uploads():
    a = upload(_two_blobs(seed=1), "a.csv")
    b = upload(b"alpha,beta\n" + b"".join(f"{i % 7},{i % 5 + 0.5}\n".encode() for i in range(50)), "b.csv")
    assert a.multiselect(key="yd_cols").value[0] == "<img src=x onerror=alert(1)>"
    assert b.multiselect(key="yd_cols").value == ["alpha", "beta"]
    a.run()
    assert a.multiselect(key="yd_cols").value[0] == "<img src=x onerror=alert(1)>"


def test_uploaded_formulas_stay_inert_in_the_responsibilities_export():
    import csv
    import io

    import emcore
    import emdata
    import emui

    lines = ["basket,item"] + [
        f"{b},{item}"
        for b in ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "+1+1", "-2+3", "plain"] * 8
        for item in ["=cmd|' /C calc'!A0", "milk"]
    ]
    table = emdata.parse_csv(("\n".join(lines) + "\n").encode())
    prep = emdata.prepare(table, "long", basket="basket", item="item")
    trace = emcore.fit_multinomial_mixture(prep.X, 2, seed=0, max_iter=5)
    out = emui.responsibilities_csv_bytes(trace, prep.X, prep.feature_names, prep.row_names)
    rows = list(csv.reader(io.StringIO(out.decode("utf-8"))))
    cells = [c for r in rows for c in r]
    assert "'=HYPERLINK(\"http://x\")" in cells and "'@SUM(A1)" in cells
    for c in cells:
        assert not c.startswith(("=", "+", "@", "\t", "\r")), c
        if c.startswith("-"):
            float(c)  # only real negative numbers may start with '-'


def test_full_penguins_table_is_fitted_without_its_year_column():
    import emdata

    at = upload(emdata.example_csv("penguins"), "penguins.csv")
    assert at.multiselect(key="yd_cols").value == [
        "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    said = " ".join(unescape(c.value) for c in at.caption)
    assert "Left out: 'year' (calendar years 2007–2009)" in said


# --- one click on an example, the proposal, standardising, one message, density ticks ----------


def _fit(at):
    return at.session_state["em_fits"]["your_data"]


def test_an_example_loads_in_one_click_and_an_upload_replaces_it():
    import emdata

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert at.button_group(key="yd_example").value is None and not at.get("plotly_chart")
    at.button_group(key="yd_example").set_value("penguins").run()  # the one click
    assert not at.exception and "yd_blobs" in shown(at)["figures"]
    assert _fit(at)["title"] == "Your data (penguins.csv)" and _fit(at)["X"].shape == (342, 4)
    assert at.expander(key="yd_data").label.startswith("penguins\\.csv (example): 344 rows × 8")
    assert at.session_state["yd_data"] is False  # the data panel folds: the fit comes first
    # an upload replaces the example ...
    at.file_uploader(key="yd_file1").set_value(("blobs.csv", _two_blobs(d=2), "text/csv")).run()
    assert not at.exception and at.button_group(key="yd_example").value is None
    assert _fit(at)["title"] == "Your data (blobs.csv)" and _fit(at)["X"].shape == (120, 2)
    # ... and an example replaces the upload: a fresh, empty uploader
    at.button_group(key="yd_example").set_value("survey").run()
    assert not at.exception and at.file_uploader(key="yd_file2").value is None
    assert at.selectbox(key="yd_model").value == "binary" and _fit(at)["trace"].family == "bernoulli"
    np.testing.assert_array_equal(_fit(at)["X"], emdata.examples.goodman_values())
    assert not dict(at.query_params)  # an upload or example cannot travel in a link
    # clicking the chosen example again empties the page
    at.button_group(key="yd_example").set_value(None).run()
    assert not at.exception and not at.get("plotly_chart") and "20 MB" in at.info[0].value
    assert not at.get("bidi_component")


def test_standardise_switch_fits_z_scores_and_says_so():

    import pandas as pd

    import emdata

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.button_group(key="yd_example").set_value("penguins").run()
    assert at.sidebar.toggle(key="yd_std").value is True  # mm and g: scales 400× apart
    cols = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    raw = pd.read_csv(io.BytesIO(emdata.example_csv("penguins")))[cols].dropna()

    def weighted_mean(at):  # Σ_k π_k μ_k: after an M-step, the mean of the fitted data
        p = _fit(at)["trace"].final_params
        return p.weights @ p.means

    np.testing.assert_allclose(weighted_mean(at), 0, atol=1e-9)
    np.testing.assert_allclose(_fit(at)["X"].std(axis=0), 1, rtol=1e-12)
    said = " ".join(unescape(c.value) for c in at.caption)
    assert "Fitted on z-scores" in said and "body_mass_g: 4202 ± 800.8" in said
    v_z = _version(at)
    spec = chart(at, "yd_blobs")
    assert spec["layout"]["xaxis"]["title"]["text"] == "bill_length_mm (z)"
    assert spec["layout"]["yaxis"]["title"]["text"] == "bill_depth_mm (z)"

    at.sidebar.toggle(key="yd_std").set_value(False).run()
    assert not at.exception
    np.testing.assert_allclose(weighted_mean(at), raw.mean().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(_fit(at)["X"], raw.to_numpy(), rtol=1e-12)
    said = " ".join(unescape(c.value) for c in at.caption)
    assert "Fitted on z-scores" not in said and "differ by a factor of 406" in said
    spec = chart(at, "yd_blobs")
    assert spec["layout"]["xaxis"]["title"]["text"] == "bill_length_mm"
    assert _version(at) != v_z  # the switch is part of the player's key
    # the hint is about the columns chosen: sds 7.1x apart (under 10), no hint ...
    at.multiselect(key="yd_cols").set_value(["bill_depth_mm", "flipper_length_mm"]).run()
    said = " ".join(unescape(c.value) for c in at.caption)
    assert not at.exception and "differ by a factor" not in said
    # ... grams against millimetres, the hint with their own ratio
    at.multiselect(key="yd_cols").set_value(["bill_length_mm", "body_mass_g"]).run()
    said = " ".join(unescape(c.value) for c in at.caption)
    expected = raw["body_mass_g"].std(ddof=0) / raw["bill_length_mm"].std(ddof=0)
    assert f"differ by a factor of {expected:,.0f}" in said and 140 < expected < 150


def test_notes_on_a_messy_file_come_in_one_message():
    body = ["mass_g,length_mm,year"] + [f"{4000 + 37 * i % 900},{40 + i % 9}.5,{2007 + i % 3}"
                                        for i in range(60)]
    body[5] = "NA,41.5,2008"       # a missing value
    body[9] = body[8]              # a repeated row
    data = b"\xef\xbb\xbf" + ("\n".join(body[:30]) + "\n\n" + "\n".join(body[30:]) + "\n").encode()
    at = upload(data, "messy.csv")
    notes = data_warnings(at)
    assert len(notes) == 1, notes
    assert notes[0].startswith("4 things to know about this file:")
    for part in ("byte-order mark", "empty line", "Left out 1 of 60 rows", "repeat an earlier row"):
        assert part in notes[0], part
    assert at.multiselect(key="yd_cols").value == ["mass_g", "length_mm"]  # year left out


def test_density_axis_never_prints_an_si_prefix():

    from emviz.common import DENSITY_TICKFORMAT

    rng = np.random.default_rng(3)
    grams = np.concatenate([rng.normal(3500, 300, 100), rng.normal(5200, 400, 100)])
    at = upload(("body_mass_g\n" + "\n".join(f"{g:.0f}" for g in grams) + "\n").encode(), "g.csv")
    assert at.selectbox(key="yd_model").value == "gmm1d"
    spec = chart(at, "yd_mixture")
    yaxis = spec["layout"]["yaxis"]
    assert yaxis["title"]["text"] == "density" and yaxis["tickformat"] == DENSITY_TICKFORMAT
    assert max(yaxis["tickvals"]) < 1e-2  # ticks Plotly would otherwise print as 250μ, 500μ
    labels = [f"{v:{DENSITY_TICKFORMAT.replace('~', '')}}" for v in yaxis["tickvals"]]
    assert not [lab for lab in labels if "μ" in lab or "µ" in lab]


# --- a stop on a half-step reruns only the player: the rest must be true at every half-step ----


def _besides_the_player(at) -> list[str]:
    """Everything on the page but the step player, as protos; a view without the half-step it
    is first drawn at (the browser draws it at the player's step), a download button without
    the id of its deferred file."""
    out = []

    def walk(node):
        if node.type == "bidi_component":
            data = json.loads(node.proto.json)
            if data.pop("follow", None):
                data.pop("step")
                out.append(json.dumps(data, sort_keys=True))
            return
        if getattr(node, "proto", None) is not None:  # a download's file id is new each run
            out.append(re.sub(r'deferred_file_id: "\w+"', "", str(node.proto)))
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at.main)
    return out


@pytest.mark.parametrize("example, model, tab_key", [
    ("faithful", "gmm1d", "yd_tab1d"), ("penguins", None, "yd_tab2d"),
    ("survey", None, "yd_tabbin"), ("baskets", None, "yd_tabbk")])
def test_every_tab_is_the_same_at_every_half_step(example, model, tab_key):
    """The panels under the player do not rerun when the learner stops on a half-step: every
    tab of every variant (1-D, 2-D, 0/1, baskets) draws the same thing at two half-steps,
    its step-dependent charts being views that follow the player in the browser."""
    at = new_app(max_iter=6)
    at.button_group(key="yd_example").set_value(example).run()
    if model:
        at.selectbox(key="yd_model").set_value(model).run()
    assert not at.exception
    labels = [t.label for t in at.tabs]
    assert len(labels) >= 2
    for label in labels:
        at.session_state[tab_key] = label
        set_step(at, "yd", 1)
        first = _besides_the_player(at)
        set_step(at, "yd", 4)
        assert not at.exception and step_of(at, "yd") == 4
        assert _besides_the_player(at) == first, label


def test_baskets_lift_view_follows_the_step():
    at = new_app(max_iter=6)
    at.button_group(key="yd_example").set_value("baskets").run()
    tr, X = _fit(at)["trace"], _fit(at)["X"]
    share = np.asarray(X.sum(axis=0)).ravel() / X.sum()  # each item's share of all items
    for s in (0, 2):  # θ⁽⁰⁾, then M-step 1 (θ⁽¹⁾)
        set_step(at, "yd", s)
        bars = [t for t in view(at, "lift")["figures"]["yd_lift"]["data"] if t["type"] == "bar"]
        probs = np.asarray(tr.params[tr.half_step(s).theta_index].probs)
        assert len(bars) == tr.n_components
        for k, bar in enumerate(bars):  # each segment's bars are its items' lifts p_kv / share_v
            lifts = probs[k] / share
            assert all(np.isclose(v, lifts).any() for v in _floats(bar["x"])), (s, k)
    # the responsibilities' tab shows the fitted result, and says so, at any half-step
    at.session_state["yd_tabbk"] = next(t.label for t in at.tabs if "segments" in t.label)
    at.run()
    said = " ".join(unescape(c.value) for c in at.caption)
    assert f"The fitted result — the last half-step, {theta_it(tr.n_iter)} —" in said
