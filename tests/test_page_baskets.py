"""AppTest of the market-baskets page: every control path runs without an exception element,
the step slider changes the figures, and the small datasets exercise the truth tab and BIC/ICL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emviz.common import theta_it
from tests.playertest import chart, set_step, shown, text, view

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "baskets.py")


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


_chart = chart  # a step player's chart at the server's step, else a keyed st.plotly_chart


def _new(dataset: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    if dataset is not None:
        at.session_state["bk_data"] = dataset
    return _run(at)


def _open_tab(at: AppTest, label_part: str) -> AppTest:
    """Open the tab whose label contains ``label_part`` (the page builds only the open tab)."""
    at.session_state["bk_tab"] = next(t.label for t in at.tabs if label_part in t.label)
    return _run(at)


@pytest.fixture(scope="module")
def default_page():
    return _new()


def test_default_page_renders_complete_journey(default_page):
    at = default_page
    assert at.title[0].value.startswith("🛒 Market baskets")
    assert at.session_state["bk_data"] == "completejourney"
    # The step's charts and texts are the step player's; the open tab's lift chart is a view
    # that follows the player in the browser.
    assert shown(at)["step"] == 0 and shown(at)["label"].startswith("θ⁽⁰⁾")
    assert set(shown(at)["figures"]) == {"bk_profile", "bk_sizes", "bk_resp", "bk_loglik"}
    assert set(shown(at)["texts"]) == {"narration", "proof"}
    assert "cannot go down" in text(at, "proof")
    assert "No segment has learnt anything yet" in text(at, "narration")
    assert set(view(at, "lift")["figures"]) == {"bk_lift"}
    assert not at.get("plotly_chart")  # every chart on the first screen is drawn by the player
    _open_tab(at, "Animation")  # hidden tabs are built only when opened
    keys = {el.proto.id for el in at.get("plotly_chart")}
    assert any("bk_anim" in k for k in keys)
    with pytest.raises(AssertionError, match="no step view"):
        view(at, "lift")
    _open_tab(at, "Top categories")
    assert "em_fits" in at.session_state and "baskets" in at.session_state["em_fits"]
    assert at.session_state["em_fits"]["baskets"]["trace"].family == "multinomial"


def test_each_half_step_changes_the_figures(default_page):
    at = default_page
    set_step(at, "bk", 0)
    z0 = _chart(at, "bk_profile")["data"][0]["z"]
    lift0 = _chart(at, "bk_lift")  # the open tab: θ⁽⁰⁾'s lifts
    assert "· θ⁽⁰⁾ (dotted" in lift0["layout"]["title"]["text"]
    assert _chart(at, "bk_resp")["data"] == []  # θ₀: no responsibilities yet
    set_step(at, "bk", 1)
    assert not at.exception and shown(at)["label"] == "E-step 1"
    # E-step 1: θ unchanged, responsibilities appear (those of the page's sampled rows)
    assert _chart(at, "bk_profile")["data"][0]["z"] == z0
    assert _chart(at, "bk_lift") == lift0  # same θ, same figure: nothing to redraw
    resp1 = _chart(at, "bk_resp")["data"]
    assert len(resp1) == 4
    trace = at.session_state["em_fits"]["baskets"]["trace"]
    R1 = np.asarray(trace.responsibilities(0))  # the E-step from θ⁽⁰⁾
    drawn = np.array([np.asarray(t["z"], float)[:, 0] for t in resp1]).T  # (rows, K)
    assert drawn.shape == (200, 4)
    # every drawn row is a data row's r (to the 3 decimals drawn), in the sampled order
    match = np.abs(drawn[:, None, :] - R1[None, :, :]).max(axis=2) <= 5e-4 + 1e-12
    assert match.any(axis=1).all()
    narr = text(at, "narration")
    assert narr.startswith("E-step 1.") and "belong to one segment" in narr
    set_step(at, "bk", 2)
    # M-step 1: θ changes, responsibilities stay those of E-step 1
    assert _chart(at, "bk_profile")["data"][0]["z"] != z0
    assert _chart(at, "bk_resp")["data"][0]["z"] == resp1[0]["z"]
    assert "M-step 1" in _chart(at, "bk_sizes")["layout"]["title"]["text"]
    lift1 = _chart(at, "bk_lift")
    assert "· θ⁽¹⁾ (dotted" in lift1["layout"]["title"]["text"] and lift1["data"] != lift0["data"]
    assert "The biggest change in a basket" in text(at, "narration")
    set_step(at, "bk", 5)
    assert "E-step 3" in _chart(at, "bk_profile")["layout"]["title"]["text"]
    n = trace.n_half_steps
    set_step(at, "bk", n - 1)
    ring = _chart(at, "bk_loglik")["layout"]["shapes"][-1]
    assert ring["type"] == "circle" and ring["xanchor"] == n - 1
    set_step(at, "bk", 10**6)  # a step beyond the run is clamped
    assert at.session_state["bk_step"] == n - 1


def test_panels_below_the_player_hold_no_step(default_page):
    """Below the player the page reruns only on its own widgets, never on a step: its text is
    the same at every half-step, and the lift chart is a view whose bars, at each half-step,
    are θ_kv / (category share of all purchases) of that half-step's θ (numpy here)."""
    at = default_page
    _open_tab(at, "Top categories")
    trace = at.session_state["em_fits"]["baskets"]["trace"]
    X = at.session_state["em_fits"]["baskets"]["X"]
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X, float)
    share = X.sum(axis=0) / X.sum()

    def below():  # every element outside the player's own blocks
        return ([m.value for m in at.markdown], [c.value for c in at.caption],
                [e.value for kind in (at.success, at.warning, at.info, at.error) for e in kind],
                [d.value.to_dict() for d in at.table])

    set_step(at, "bk", 0)
    first = below()
    # the end-of-run summary is a static table (it wraps on a narrow screen): one row per segment
    (summary,) = first[3]
    assert len(summary["segment"]) == trace.n_components
    assert list(summary) == ["segment", "share of households", "buys more than average",
                             "biggest category"]
    for s in (1, 2, 7, trace.n_half_steps - 1):
        set_step(at, "bk", s)
        assert below() == first, s
        hs = trace.half_step(s)
        lifts = np.asarray(trace.params[hs.theta_index].probs, float) / share
        fig = view(at, "lift")["figures"]["bk_lift"]
        assert view(at, "lift")["step"] == s
        assert len(fig["data"]) == trace.n_components
        for k, bars in enumerate(fig["data"]):
            got = np.asarray(bars["x"], float)
            # bars above the average shopper only (or the single best when none is)
            assert got.size == 1 or (got.size and np.all(got > 1.0))
            # each bar is one of segment k's lifts at this half-step's θ
            assert np.all(np.min(np.abs(got[:, None] - lifts[k][None, :]), axis=1) < 1e-9)


def test_narration_names_the_biggest_basket_change(default_page):
    """At M-step 1 the narration names the segment and the category whose θ_kv moved most
    (found here with numpy), with its new and old share; at θ₀ and E-steps it says what the
    half-step did."""
    at = default_page
    set_step(at, "bk", 2)
    trace = at.session_state["em_fits"]["baskets"]["trace"]
    before = np.asarray(trace.params[0].probs, float)
    after = np.asarray(trace.params[1].probs, float)
    k, v = np.unravel_index(np.argmax(np.abs(after - before)), after.shape)
    narr = text(at, "narration")
    assert narr.startswith("M-step 1.")
    pct = lambda p: f"{p:.0%}" if p >= 0.1 else f"{p:.1%}"  # noqa: E731
    assert f"S{k + 1} · " in narr and f"now puts {pct(after[k, v])} of its items" in narr
    assert f"(was {pct(before[k, v])})" in narr
    # The HTML is the Markdown of both sentences: bold becomes <strong>, two paragraphs.
    raw = shown(at)["texts"]["narration"]
    assert raw.startswith("<p><strong>M-step 1") and raw.count("<p>") >= 2 and "**" not in raw


def test_display_options(default_page):
    at = default_page
    at.radio(key="bk_value").set_value("lift")
    at.radio(key="bk_order").set_value("share")
    at.select_slider(key="bk_n_show").set_value(100)
    _run(at)
    fig = _chart(at, "bk_profile")
    assert "lift" in fig["layout"]["title"]["text"]
    assert "showing 100 of" in _chart(at, "bk_resp")["layout"]["title"]["text"]


def test_fit_controls_refit(default_page):
    at = default_page
    at.slider(key="bk_n_components").set_value(3)
    at.selectbox(key="bk_init").set_value("random_from_data")
    at.select_slider(key="bk_alpha").set_value(1.0)
    at.slider(key="bk_n_restarts").set_value(2)
    _run(at)
    trace = at.session_state["em_fits"]["baskets"]["trace"]
    assert trace.n_components == 3 and trace.alpha == 1.0
    assert len(_chart(at, "bk_sizes")["data"][0]["marker"]["color"]) == 3
    _open_tab(at, "Restarts")
    assert any("bk_restarts" in el.proto.id for el in at.get("plotly_chart"))
    at.number_input(key="bk_seed").set_value(3)
    at.number_input(key="bk_max_iter").set_value(3)
    at.select_slider(key="bk_tol").set_value(0.0)
    _run(at)
    trace = at.session_state["em_fits"]["baskets"]["trace"]
    assert trace.n_iter == 3 and trace.status == "max_iter"
    assert any("iteration limit" in w.value for w in at.warning)
    at.button(key="bk_reset").click()
    _run(at)
    assert at.session_state["bk_n_components"] == 4
    assert at.session_state["bk_max_iter"] == 200


def test_synthetic_truth_tab_and_selection():
    at = _new("synthetic_baskets")
    assert at.session_state["bk_n_components"] == 3
    set_step(at, "bk", 3)  # whatever the half-step on screen, the tab shows the final fit
    _open_tab(at, "Truth vs fit")
    trace = at.session_state["em_fits"]["baskets"]["trace"]
    assert any(f"the last half-step, {theta_it(trace.n_iter)} —" in c.value for c in at.caption)
    truth = _chart(at, "bk_truth")
    assert truth["layout"]["title"]["text"].startswith("Synthetic shoppers")
    metrics = {m.label: m.value for m in at.metric}
    agree = float(metrics["Baskets assigned to their true segment"].rstrip("%"))
    assert agree > 90
    _open_tab(at, "How many segments")
    at.button(key="bk_select").click()
    _run(at)
    sel = _chart(at, "bk_bic")
    assert any("How much BIC falls" in c.value for c in at.caption)
    bic = np.asarray(sel["data"][0]["y"], dtype=float)
    assert sel["data"][0]["name"] == "BIC (lowest at K = 3)"
    assert int(np.argmin(bic)) == 2 and bic.size == 8
    # with K ≠ 3 the truth tab explains instead of comparing
    at.slider(key="bk_n_components").set_value(2)
    _run(at)
    _open_tab(at, "Truth vs fit")
    assert any("set K = 3" in i.value for i in at.info)


def test_cracker_and_basket_data_render():
    at = _new("cracker")
    assert at.session_state["bk_n_components"] == 3
    labels = _chart(at, "bk_profile")["layout"]["yaxis"]["ticktext"]
    assert sorted(labels) == sorted(["Sunshine", "Keebler", "Nabisco", "Private label"])
    at.slider(key="bk_n_components").set_value(1)  # one segment: nothing to separate
    _run(at)
    assert "everyone" in _chart(at, "bk_profile")["layout"]["xaxis"]["ticktext"][0]
    at.selectbox(key="bk_data").set_value("completejourney_baskets")
    _run(at)
    fig = _chart(at, "bk_profile")
    assert len(fig["layout"]["yaxis"]["ticktext"]) == 30  # 100 categories, 30 shown
    assert len(fig["data"][0]["z"]) == 30
    assert any("shows 30 of 100 categories" in c.value for c in at.caption)
