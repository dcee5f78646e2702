"""Shareable states: every page's settings and half-step round-trip through the URL.

State → URL → a fresh AppTest opened with those query parameters gives the same fit (θ at
every iteration), the same half-step and the same numbers on screen. Bad or hostile query
values fall back to the defaults with one note, never raise, and never reach the page.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

import emcore
from emui import urlstate
from emui.controls import TOL_OPTIONS
from tests.playertest import player_data, set_step, shown, step_of, text

ROOT = Path(__file__).resolve().parents[1]
#: the Gaussian's declared choices of reg (every family option's link value is parsed so)
REG_OPTIONS = emcore.fit_spec("gaussian").option("reg").choices


def _page(name: str) -> str:
    return str(ROOT / "pages" / f"{name}.py")


def _open(name: str, query: dict | None = None, state: dict | None = None) -> AppTest:
    at = AppTest.from_file(_page(name), default_timeout=180)
    if query:
        at.query_params.update(query)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _screen_text(at: AppTest) -> str:
    """Everything written on the page: Markdown, captions, LaTeX, alerts, code, titles."""
    parts = []
    for kind in ("markdown", "caption", "latex", "code", "title", "header", "subheader",
                 "info", "warning", "error", "success", "text"):
        parts += [str(e.value) for e in at.get(kind)]
    return "\n".join(parts)


def _same_trace(a, b) -> None:
    assert a.n_iter == b.n_iter and a.status == b.status
    for pa, pb in zip(a.params, b.params, strict=True):
        for f in ("weights", "means", "covariances", "probs"):
            if hasattr(pa, f):
                np.testing.assert_array_equal(getattr(pa, f), getattr(pb, f))
    np.testing.assert_array_equal(a.objective, b.objective)


def _round_trip(name: str, key: str, change, step: int) -> tuple[AppTest, AppTest]:
    """Open the page, ``change(at)`` its settings, go to ``step``; reopen from the URL."""
    at = _open(name)
    change(at)
    at.run()
    n = at.session_state["em_fits"][name]["trace"].n_half_steps if name != "why_em_works" \
        else None
    s = step if n is None else min(step, n - 1)
    set_step(at, key, s)
    assert not at.exception
    query = dict(at.query_params)
    assert query["step"] == str(s)
    fresh = _open(name, query=query)
    assert step_of(fresh, key) == s
    assert dict(fresh.query_params) == query  # the fresh page writes back the same link
    assert not any("not valid" in c.value for c in fresh.caption)
    if name != "why_em_works":  # the fitting pages publish their trace: same θ at every step
        _same_trace(at.session_state["em_fits"][name]["trace"],
                    fresh.session_state["em_fits"][name]["trace"])
    return at, fresh


def test_house_prices_round_trip():
    def change(at):
        at.selectbox(key="hp_data").set_value("synthetic_1d").run()
        at.number_input(key="hp_syn_n").set_value(800)
        at.slider(key="hp_n_components").set_value(2)
        at.number_input(key="hp_seed").set_value(7)
        at.select_slider(key="hp_reg").set_value(1e-3)
        at.selectbox(key="hp_init").set_value("random_from_data")

    at, fresh = _round_trip("house_prices", "hp", change, step=5)
    q = dict(fresh.query_params)
    assert q["data"] == "synthetic_1d" and q["k"] == "2" and q["seed"] == "7" and q["n"] == "800"
    assert q["reg"] == "0.001" and q["init"] == "random_from_data"
    assert [e.value for e in at.latex] == [e.value for e in fresh.latex]


def test_house_prices_own_means_round_trip():
    def change(at):
        at.selectbox(key="hp_init").set_value("custom").run()
        at.text_input(key="hp_means").input("5.05, 5.5")

    at, fresh = _round_trip("house_prices", "hp", change, step=3)
    assert dict(fresh.query_params)["means"] == "5.05, 5.5"
    tr = fresh.session_state["em_fits"]["house_prices"]["trace"]
    np.testing.assert_allclose(np.ravel(tr.params[0].means), [5.05, 5.5])


def test_blobs_round_trip():
    def change(at):
        at.selectbox(key="blobs_data").set_value("penguins").run()
        at.slider(key="blobs_n_components").set_value(3)
        at.selectbox(key="blobs_covariance_type").set_value("diag")
        at.number_input(key="blobs_seed").set_value(3)
        at.toggle(key="blobs_standardise").set_value(False)

    at, fresh = _round_trip("blobs_2d", "blobs", change, step=4)
    q = dict(fresh.query_params)
    assert q["cov"] == "diag" and q["std"] == "0" and q["data"] == "penguins"


def test_baskets_round_trip():
    def change(at):
        at.selectbox(key="bk_data").set_value("synthetic_baskets").run()
        at.slider(key="bk_n_components").set_value(2)
        at.select_slider(key="bk_alpha").set_value(1.5)
        at.number_input(key="bk_seed").set_value(2)

    at, fresh = _round_trip("baskets", "bk", change, step=3)
    q = dict(fresh.query_params)
    assert q["alpha"] == "1.5" and q["k"] == "2" and "reg" not in q and "cov" not in q
    # the fresh page's step player opens on that half-step, with its narration
    assert shown(fresh)["label"] == "E-step 2" and text(fresh, "narration").startswith("E-step 2.")


def test_why_em_works_round_trip():
    def change(at):
        at.selectbox(key="why_data").set_value("ames").run()
        at.slider(key="why_k").set_value(3)
        at.number_input(key="why_seed").set_value(5)

    at, fresh = _round_trip("why_em_works", "why", change, step=4)
    q = dict(fresh.query_params)
    assert q["fit"] == "default" and q["data"] == "ames" and q["k"] == "3"
    assert [e.value for e in at.latex] == [e.value for e in fresh.latex]
    assert [m.value for m in at.metric] == [m.value for m in fresh.metric]


def test_why_em_works_bounds_round_trip():
    at = _open("why_em_works")
    at.slider(key="why_dlr_n").set_value(4).run()
    query = dict(at.query_params)
    assert query["bounds"] == "4"
    fresh = _open("why_em_works", query=query)
    assert fresh.slider(key="why_dlr_n").value == 4
    assert [d.value.to_dict() for d in fresh.table] == [d.value.to_dict() for d in at.table]
    assert len(at.table[-1].value) == 4  # the four bounds asked for


def test_digits_round_trip():
    def change(at):
        at.multiselect(key="dg_classes").set_value([1, 7]).run()
        at.slider(key="dg_threshold").set_value(5)
        at.select_slider(key="dg_alpha").set_value(1.5)
        at.number_input(key="dg_seed").set_value(3)
        at.selectbox(key="dg_init").set_value("random_from_data")

    at, fresh = _round_trip("digits", "dg", change, step=5)
    q = dict(fresh.query_params)
    assert q["classes"] == "1,7" and q["thr"] == "5" and q["k"] == "2" and q["alpha"] == "1.5"
    assert q["seed"] == "3" and q["init"] == "random_from_data" and "reg" not in q
    assert fresh.multiselect(key="dg_classes").value == [1, 7]
    assert shown(fresh)["label"] == "E-step 3" and text(fresh, "narration").startswith("E-step 3.")
    assert [e.value for e in at.markdown] == [e.value for e in fresh.markdown]


def test_derivations_round_trip():
    at = _open("derivations")
    at.select_slider(key="der_step").set_value(5).run()
    at.select_slider(key="der_dlr_step").set_value(7).run()
    at.toggle(key="der_dlr_zoom").set_value(True).run()
    at.button(key="der_resample").click().run()
    assert not at.exception
    query = dict(at.query_params)
    assert query == {"fit": "default", "step": "5", "dlr": "7", "zoom": "1", "sample": "2"}
    fresh = _open("derivations", query=query)
    assert fresh.select_slider(key="der_step").value == 5
    assert fresh.select_slider(key="der_dlr_step").value == 7
    assert fresh.toggle(key="der_dlr_zoom").value is True
    assert dict(fresh.query_params) == query
    assert not any("not valid" in c.value for c in fresh.caption)
    # the same numbers in every formula and sentence (the fit is the 1-D page's default)
    assert [e.value for e in at.latex] == [e.value for e in fresh.latex]
    assert [e.value for e in at.markdown] == [e.value for e in fresh.markdown]
    assert [e.value for e in at.caption] == [e.value for e in fresh.caption]


def test_derivations_bad_values_fall_back_with_one_note():
    hostile = "<script>alert(1)</script>"
    at = _open("derivations", query={"step": "3", "dlr": hostile, "zoom": "maybe",
                                     "sample": "0", "fit": "house_prices"})
    notes = [c.value for c in at.caption if "not valid" in c.value]
    assert len(notes) == 1 and all(f"`{n}`" in notes[0] for n in ("dlr", "zoom", "sample", "fit"))
    assert at.select_slider(key="der_step").value == 3
    assert at.select_slider(key="der_dlr_step").value == 0
    assert hostile not in _screen_text(at) and "<script>" not in str(dict(at.query_params))


def test_parse_int_set():
    p = urlstate.parse_int_set(0, 9)
    assert p("4,2,3") == [2, 3, 4] and urlstate.fmt_int_list([2, 3, 4]) == "2,3,4"
    for bad in ("", "2,,3", "2,2", "10", "-1", "1;2", "0,1,2,3,4,5,6,7,8,9,9", "x"):
        with pytest.raises(urlstate.BadValue):
            p(bad)


def test_bad_values_fall_back_with_one_note():
    hostile = "<img src=x onerror=alert(1)>"
    at = _open("house_prices", query={"k": hostile, "seed": "-3", "reg": "1e999",
                                      "tol": "nan", "init": "kmeans++", "step": "2",
                                      "means": "[x](javascript:alert(1))", "evil": hostile})
    notes = [c.value for c in at.caption if "not valid" in c.value]
    assert len(notes) == 1
    assert "`k`" in notes[0] and "`seed`" in notes[0] and "`reg`" in notes[0]
    assert "1 unknown link parameter ignored" in notes[0]
    assert at.slider(key="hp_n_components").value == 2  # the default
    assert step_of(at, "hp") == 2   # the valid value is kept
    assert hostile not in _screen_text(at) and "javascript" not in _screen_text(at)
    assert hostile not in str(dict(at.query_params))  # the URL is rewritten clean
    # The learner changes a setting: the note has done its job and goes.
    at.slider(key="hp_n_components").set_value(3).run()
    assert not any("not valid" in c.value for c in at.caption)


def test_step_beyond_the_run_is_clamped():
    at = _open("house_prices", query={"step": "999999"})
    n = at.session_state["em_fits"]["house_prices"]["trace"].n_half_steps
    assert step_of(at, "hp") == n - 1
    assert dict(at.query_params)["step"] == str(n - 1)


# --- the parsers alone (fast, many examples) -------------------------------------------

@given(st.text(max_size=40))
def test_parsers_never_raise_anything_but_bad_value(text):
    parsers = [urlstate.parse_int(0, 100), urlstate.parse_choice(["a", "b"]),
               urlstate.parse_int_set(0, 9),
               urlstate.parse_option(REG_OPTIONS), urlstate.parse_option(TOL_OPTIONS),
               urlstate.parse_bool, urlstate.parse_means]
    for parse in parsers:
        try:
            parse(text)
        except urlstate.BadValue:
            pass


@given(st.sampled_from(REG_OPTIONS))
def test_option_values_round_trip(v):
    assert urlstate.parse_option(REG_OPTIONS)(urlstate.fmt_float(v)) == v


def test_parsers_reject_the_edges():
    p = urlstate.parse_int(1, 8)
    assert p("8") == 8 and p("+1") == 1
    for bad in ("0", "9", "1.0", "1e3", "٣", " ", "", "0x3", "99999999999999"):
        with pytest.raises(urlstate.BadValue):
            p(bad)
    assert urlstate.parse_means("5.1, 5.4; -2e3") == "5.1, 5.4; -2e3"
    for bad in ("<b>", "[x](y)", "$x$", "", "   "):
        with pytest.raises(urlstate.BadValue):
            urlstate.parse_means(bad)


# --- the whole page under fuzzed query strings (few examples: each is a page run) -------

_NAMES = ["data", "k", "init", "means", "seed", "iter", "tol", "reg", "cov", "hard", "alpha",
          "step", "n", "gseed", "std", "fit", "present", "zz", "classes", "thr", "dlr", "zoom",
          "sample", "bounds"]
_VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["0", "1", "2", "-1", "1e-3", "0.001", "inf", "nan", "1e308", "ames",
                     "synthetic_1d", "custom", "kmeans++", "<script>alert(1)</script>",
                     "%00", "9" * 300, "5.1, 5.4", "full", "true", "2,3", "0,9,9", "default"]),
)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(_NAMES), _VALUES, max_size=6),
       st.sampled_from(["house_prices", "blobs_2d", "baskets", "why_em_works", "digits",
                        "derivations"]))
def test_fuzzed_query_never_raises(query, page):
    at = AppTest.from_file(_page(page), default_timeout=180)
    at.query_params.update(query)
    at.run()
    assert not at.exception, (query, [e.value for e in at.exception])
    text = _screen_text(at)
    assert "<script>" not in text and "alert(1)" not in text, query
    assert sum("not valid" in c.value or "ignored" in c.value for c in at.caption) <= 1, query
    after = dict(at.query_params)
    for name, v in after.items():  # what the page writes back is what a fresh page accepts
        assert len(v) <= urlstate.MAX_VALUE_LEN and "<" not in v, (name, v)


# --- presentation mode (app.py applies it on every page) --------------------------------

def test_present_param_turns_presentation_mode_on_and_off():
    app = str(ROOT / "app.py")
    at = AppTest.from_file(app, default_timeout=180)
    at.query_params["present"] = "1"
    at.run()
    at.switch_page("pages/house_prices.py").run()
    assert not at.exception
    assert at.session_state["em_present"] is True
    assert dict(at.query_params).get("present") == "1"  # the page's link keeps the mode
    # The step player takes ← / →, Home / End and Space in presentation mode (in the browser).
    assert player_data(at)["present"] is True
    n = at.session_state["em_fits"]["house_prices"]["trace"].n_half_steps
    set_step(at, "hp", n - 1)   # what End does once the player reports it
    assert step_of(at, "hp") == n - 1 and dict(at.query_params)["step"] == str(n - 1)
    at.session_state["em_present"] = False  # what ✕ Exit presentation (Esc) does
    at.run()
    assert "present" not in dict(at.query_params)
    assert player_data(at)["present"] is False  # arrows are free outside the mode


@given(st.text(max_size=8))
@settings(max_examples=20, deadline=None)
def test_present_param_values_never_raise(text):
    assert urlstate.parse_bool("1") and not urlstate.parse_bool("0")
    try:
        urlstate.parse_bool(text)
    except urlstate.BadValue:
        pass
