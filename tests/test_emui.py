"""emui: settings parsing, the text panels' numbers, downloads, and the widgets in AppTest."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import emcore
from emui import (
    FitSettings,
    data_fingerprint,
    describe_half_step,
    parse_means,
    responsibilities_csv_bytes,
    trace_json_bytes,
)
from emui.steps import proof_lines
from tests.playertest import text


@pytest.fixture(scope="module")
def x():
    rng = np.random.default_rng(11)
    return np.concatenate([rng.normal(-1, 0.5, 80), rng.normal(2, 0.7, 70)])


@pytest.fixture(scope="module")
def trace(x):
    return emcore.fit_gaussian_mixture(x, 2, seed=0, max_iter=12, tol=None)


@pytest.fixture(scope="module")
def trace_reg(x):
    return emcore.fit_gaussian_mixture(x, 2, seed=0, max_iter=6, tol=None, reg=0.3)


# -- settings -----------------------------------------------------------------------------------

def test_parse_means_1d_and_2d():
    assert parse_means("5.1, 5.4", 2, 1) == ((5.1,), (5.4,))
    assert parse_means("5.1 5.4 6", 3, 1) == ((5.1,), (5.4,), (6.0,))
    assert parse_means("2 60; 4.5, 80", 2, 2) == ((2.0, 60.0), (4.5, 80.0))


@pytest.mark.parametrize("text,k,d,fragment", [
    ("", 2, 1, "Type 2 starting means"),
    ("1, 2, 3", 2, 1, "Found 3 starting means but K = 2"),
    ("1 2; 3", 2, 2, "needs 2 number(s)"),
    ("1, abc", 2, 1, "is not a number"),
    ("1, inf", 2, 1, "finite"),
])
def test_parse_means_says_what_is_wrong(text, k, d, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_means(text, k, d)


def test_cache_key_ignores_restarts_but_not_the_fit():
    a = FitSettings(n_components=2, seed=0)
    assert a.cache_key() == FitSettings(n_components=2, seed=0, n_restarts=4).cache_key()
    assert a.cache_key() != FitSettings(n_components=2, seed=1).cache_key()
    assert a.cache_key() != FitSettings(n_components=2, seed=0, reg=1e-3).cache_key()
    assert a.cache_key() != FitSettings(n_components=2, seed=0, tol=None).cache_key()
    hash(a)  # frozen: usable as a cache key


def test_data_fingerprint_tells_arrays_apart():
    a = np.arange(10.0)
    assert data_fingerprint(a) == data_fingerprint(a.copy())
    assert data_fingerprint(a) != data_fingerprint(a + 1e-9)
    assert data_fingerprint(a) != data_fingerprint(a.reshape(5, 2))


# -- text panels --------------------------------------------------------------------------------

def test_proof_lines_carry_the_trace_numbers(trace):
    for t in (0, 5, trace.n_iter - 1):
        p = proof_lines(trace, t, "M")
        assert p["gain"] == pytest.approx(trace.objective[t + 1] - trace.objective[t])
        assert p["gain"] >= -1e-9 and p["kl"] >= -1e-12
        assert p["bound_gain"] + p["kl"] == pytest.approx(p["gain"], abs=1e-8)
        # The M line: Q + H = L(q_t, θ_{t+1}), printed to four decimals.
        assert f"{trace.q[t]:,.4f}".replace(",", "{,}") in p["latex"][1]
        assert f"{trace.elbo[t]:,.4f}".replace(",", "{,}") in p["latex"][1]
        assert f"{trace.objective[t + 1]:,.4f}".replace(",", "{,}") in p["latex"][2]
        assert "≥ 0 ✓" in p["summary"]


def test_proof_lines_with_a_prior_add_the_log_prior(trace_reg):
    t = 2
    p = proof_lines(trace_reg, t, "E")
    assert r"\log p(\theta^{(3)})" in p["latex"][1]
    assert r"\ell(\theta^{(2)}) + \log p(\theta^{(2)})" in p["latex"][0]
    assert "ℓ + log p" in p["title"] and "maximises Q + log p" in p["caption"]
    bound = trace_reg.elbo[t] + trace_reg.log_prior[t + 1]
    assert p["bound_gain"] == pytest.approx(bound - trace_reg.objective[t])
    assert p["bound_gain"] >= -1e-9
    assert p["gain"] == pytest.approx(trace_reg.objective[t + 1] - trace_reg.objective[t])


def test_describe_half_step_names_what_changed(trace):
    start = describe_half_step(trace, trace.half_step(0))
    assert "θ⁽⁰⁾" in start and f"{trace.log_likelihood[0]:.3f}" in start
    e2 = describe_half_step(trace, trace.half_step(3))
    R1, R0 = trace.responsibilities(1), trace.responsibilities(0)
    moved = int(np.sum(R1.argmax(1) != R0.argmax(1)))
    assert "E-step 2" in e2 and f"{moved:,} point" in e2
    assert f"component 1 {100 * R1.mean(0)[0]:.0f}%" in e2
    m2 = describe_half_step(trace, trace.half_step(4))
    assert f"{trace.objective[1]:.3f}" in m2 and f"{trace.objective[2]:.3f}" in m2
    mu1, mu2 = trace.params[1].means[:, 0], trace.params[2].means[:, 0]
    k = int(np.argmax(np.abs(mu2 - mu1)))
    assert f"μ{'₁₂'[k]} went from {mu1[k]:.4g} to {mu2[k]:.4g}" in m2


# -- downloads ----------------------------------------------------------------------------------

def test_trace_json_round_trips(trace):
    d = json.loads(trace_json_bytes(trace))
    assert d["n_iter"] == trace.n_iter
    np.testing.assert_allclose(d["log_likelihood"], trace.log_likelihood)


def test_responsibilities_csv(trace, x):
    raw = responsibilities_csv_bytes(trace, x.reshape(-1, 1), feature_names=["=price"],
                                     row_names=[f"=cmd|{i}" for i in range(len(x))])
    df = pd.read_csv(io.BytesIO(raw))
    R = trace.responsibilities(trace.n_iter)
    assert len(df) == len(x)
    np.testing.assert_allclose(df[["p_component_1", "p_component_2"]].to_numpy(), R, rtol=1e-9)
    np.testing.assert_array_equal(df["most_likely"], R.argmax(1) + 1)
    # Formula-looking cells stay inert in a spreadsheet.
    assert not any(str(v).startswith("=") for v in df["row"])
    assert not any(str(c).startswith("=") for c in df.columns)


# -- widgets (AppTest) --------------------------------------------------------------------------

def _controls_app():
    import numpy as np
    import streamlit as st

    import emui

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, 60), rng.normal(4, 1, 40)])
    settings = emui.fit_controls("t", n_features=1, defaults={"n_components": 2, "max_iter": 8})
    trace = emui.run_fit(X, settings, "test")
    hs = emui.step_slider(trace, "t")
    st.session_state["out"] = (settings, hs.s, trace.n_half_steps, id(trace))
    emui.status_banner(trace)
    emui.step_player(trace, "t2", [[emui.narration(trace), emui.proof(trace)]])
    emui.restarts_chart(emui.run_restarts(X, settings, "test", 2))
    emui.downloads(trace, X, "t")
    emui.publish_fit("test_page", X, trace, "test data")


def test_controls_slider_buttons_and_cached_fit():
    at = AppTest.from_function(_controls_app, default_timeout=60).run()
    assert not at.exception
    settings, s, n, trace_id = at.session_state["out"]
    assert settings.n_components == 2 and settings.max_iter == 8 and s == 0
    at.button(key="t_next").click().run()
    at.button(key="t_next").click().run()
    assert at.session_state["out"][1] == 2
    assert at.session_state["out"][3] == trace_id  # moving the slider never refits
    at.button(key="t_prev").click().run()
    assert at.session_state["out"][1] == 1
    at.select_slider(key="t_step").set_value(n - 1).run()
    assert at.session_state["out"][1] == n - 1
    assert at.button(key="t_next").disabled
    assert at.session_state["em_fits"]["test_page"]["title"] == "test data"
    # Own starting means: a bad entry says what is wrong and falls back; a good one is used.
    at.selectbox(key="t_init").set_value("custom").run()
    assert "Type 2 starting means" in at.error[0].value
    assert at.session_state["out"][0].init == "kmeans++"
    at.text_input(key="t_means").input("-1, 4").run()
    assert not at.error and not at.exception
    assert at.session_state["out"][0].custom_means == ((-1.0,), (4.0,))
    # Changing K refits and clamps the step into the new range.
    at.slider(key="t_n_components").set_value(3).run()
    st_out = at.session_state["out"]
    assert st_out[0].n_components == 3 and st_out[1] <= st_out[2] - 1 and not at.exception


def _multinomial_app():
    import numpy as np
    import streamlit as st

    import emui

    rng = np.random.default_rng(1)
    X = np.vstack([rng.multinomial(20, [0.7, 0.2, 0.1], 40), rng.multinomial(20, [0.1, 0.2, 0.7], 40)])
    settings = emui.fit_controls("m", family="multinomial", defaults={"n_components": 2})
    trace = emui.run_fit(X, settings, "counts", family="multinomial")
    st.session_state["out"] = (settings, trace.family, trace.status)
    emui.step_player(trace, "m", [[emui.narration(trace), emui.proof(trace)]])


def test_multinomial_controls_offer_alpha_and_kmeanspp():
    at = AppTest.from_function(_multinomial_app, default_timeout=60).run()
    assert not at.exception
    assert at.session_state["out"][1] == "multinomial"
    assert "k-means++ on the rows' profiles" in at.selectbox(key="m_init").options
    at.selectbox(key="m_init").set_value("kmeans++").run()
    at.select_slider(key="m_alpha").set_value(1.1).run()
    settings, family, status = at.session_state["out"]
    assert settings.init == "kmeans++" and settings.alpha == 1.1 and not at.exception
    # alpha != 1: the prior joins ℓ, and the panel says so
    proof = text(at, "proof")   # the step player's proof panel at the server's step
    assert "ℓ(θ(0)) + log p(θ(0))" in proof and "maximises ℓ + log p" in proof


def _picker_app():
    import streamlit as st

    import emui

    defaults = {"a": dict(n_components=2, seed=0, means_text="1, 2", standardise=True),
                "b": dict(n_components=3, seed=5, means_text="", standardise=False)}
    data_key = emui.dataset_picker("pk", {"a": "Data A", "b": "Data B"}, "a", defaults,
                                   drop=("pk_point",))
    settings = emui.fit_controls("pk", n_features=1, defaults=defaults[data_key])
    st.toggle("Standardise", key="pk_standardise")
    emui.reset_button("pk", defaults[data_key])
    st.session_state["out"] = (data_key, settings.n_components, settings.seed,
                               st.session_state.get("pk_means"),
                               st.session_state.get("pk_standardise"),
                               st.session_state.get("pk_step"), "pk_point" in st.session_state)


def test_dataset_picker_resets_the_controls_to_the_new_datasets_defaults():
    at = AppTest.from_function(_picker_app, default_timeout=60).run()
    assert not at.exception
    assert at.session_state["out"][:3] == ("a", 2, 0)
    # the learner changes things, then picks the other dataset
    at.session_state["pk_step"] = 4
    at.session_state["pk_point"] = 17
    at.number_input(key="pk_seed").set_value(9).run()
    assert at.session_state["out"][2] == 9
    at.selectbox(key="pk_data").set_value("b").run()
    assert at.session_state["out"] == ("b", 3, 5, "", False, 0, False)
    # "Reset to defaults" restores the current dataset's values (and θ⁽⁰⁾)
    at.number_input(key="pk_seed").set_value(7).run()
    at.session_state["pk_step"] = 2
    at.button(key="pk_reset").click().run()
    assert at.session_state["out"] == ("b", 3, 5, "", False, 0, False)


def test_a_download_draws_the_half_step_the_learner_last_stopped_on(trace):
    """The Downloads tab does not rerun on a step: a figure builder is called on click with
    the half-step ``now()`` gives then (kept within the run); a figure is exported as is."""
    from emui.downloads import figure_at

    stopped = {"s": 5}
    make = figure_at(lambda hs: ("built at", hs.s, hs.label), trace, lambda: stopped["s"])
    assert make() == ("built at", 5, trace.half_step(5).label)
    stopped["s"] = 2  # the learner stepped back: the next click draws that half-step
    assert make()[1] == 2
    stopped["s"] = 10**6  # never past the last half-step, nor before the first
    assert make()[1] == trace.n_half_steps - 1
    stopped["s"] = -3
    assert make()[1] == 0
    fig = {"data": [], "layout": {}}
    assert figure_at(fig, trace, lambda: 5)() is fig
