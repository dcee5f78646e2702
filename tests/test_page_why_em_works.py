"""AppTest of the "Why EM works" page: the numbers on screen are the trace's numbers.

Every check compares what the page displays (metrics, proof lines, chart JSON) with values
read from an emcore trace fitted here, for the default fit and for fits "published" by
other pages through ``st.session_state["em_fits"]``. The step-dependent part is drawn by the
client-side step player: the tests read what it draws at the server's step (tests.playertest).
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import emcore
import emdata
from emviz import proof
from emviz.common import theta_it
from emviz.player import tex_html
from emviz.texnum import fmt, fmt_metric, sub
from tests.playertest import chart, set_step, shown, step_of

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "why_em_works.py")


def decode(values):
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float)
    return np.asarray(values, dtype=float)


def plain(h: str) -> str:
    """HTML as the text a reader sees."""
    return html.unescape(re.sub(r"<[^>]+>", "", h))


def tex(latex: str) -> str:
    """A LaTeX snippet as the player shows it (emviz.player.tex_html), as plain text."""
    return plain(tex_html(latex))


def charts(at) -> list[dict]:
    """The page's Plotly figures as dicts, in page order: the step player's (bars, bound
    curve, gains) at the server's step, then the charts below it (one-parameter example)."""
    return ([*shown(at)["figures"].values()]
            + [json.loads(el.proto.spec) for el in at.get("plotly_chart")])


def latex_text(at) -> str:
    """The proof's lines (derivation and Bishop's form) as the player shows them."""
    texts = shown(at)["texts"]
    return plain(texts["why_proof"] + texts["why_bishop"])


def stage_text(at) -> str:
    """Where the learner is and the notes on hard EM / the prior, as shown."""
    return plain(shown(at)["texts"]["why_stage"])


def metrics(at) -> dict[str, str]:
    found = re.findall(r'<div class="metric"><p class="cap">(.*?)</p><p class="val">(.*?)</p>',
                       shown(at)["texts"]["why_stage"])
    return {html.unescape(label): html.unescape(value) for label, value in found}


def assert_page_shows(at, trace, t: int) -> None:
    """Metrics, LaTeX lines and charts show step t of ``trace``."""
    assert not at.exception, [e.message for e in at.exception]
    m = metrics(at)
    ell = ("ℓ_C" if trace.hard else "ℓ") + (" + log p" if proof.is_regularised(trace) else "")
    assert m[f"{ell}({theta_it(t)})"] == fmt_metric(trace.objective[t])
    assert m[f"{ell}({theta_it(t + 1)})"] == fmt_metric(trace.objective[t + 1])
    prior = " + log p" if proof.is_regularised(trace) else ""
    assert m[f"Q({theta_it(t + 1)} | {theta_it(t)}){prior}"] == fmt_metric(
        trace.q[t] + trace.log_prior[t + 1])
    assert m[f"H(q{sub(t)})"] == fmt_metric(trace.entropy[t])
    text = latex_text(at)
    for value in (trace.objective[t], trace.objective[t + 1], trace.q[t] + trace.log_prior[t + 1]):
        assert tex(fmt(float(value))) in text
    if not trace.hard:
        assert tex(fmt(float(trace.entropy[t]))) in text
        assert tex(fmt(float(trace.entropy[t] + trace.kl[t]))) in text  # cross-entropy
        assert tex(fmt(float(trace.kl[t]))) in text
    bars, curve, gains = (chart(at, f"why_{name}") for name in ("bars", "curve", "gains"))
    # bars: bound + gap after the M-step stack up to objective[t+1]
    np.testing.assert_allclose(decode(bars["data"][2]["y"]), trace.objective[t:t + 2])
    np.testing.assert_allclose(decode(bars["data"][1]["customdata"])[1], trace.kl[t])
    # the bound curve is emcore.bound_curve(trace, t)
    expected = emcore.bound_curve(trace, t, n_points=proof.CURVE_POINTS)
    np.testing.assert_allclose(decode(curve["data"][0]["y"]), expected["objective"])
    np.testing.assert_allclose(decode(curve["data"][1]["y"]), expected["bound"])
    # gains: every step, the current one marked by a band in the layout (the bars themselves
    # are the same at every step, so the browser redraws only the layout)
    np.testing.assert_allclose(decode(gains["data"][0]["customdata"]), np.diff(trace.objective))
    assert set(gains["data"][0]["marker"]["color"]) <= {proof.OTHER_COLOR, "#CC0000"}
    (band,) = [sh for sh in gains["layout"]["shapes"] if sh["type"] == "rect"]
    assert (band["x0"], band["x1"]) == (t + 0.5, t + 1.5)
    assert any(a["text"].startswith(f"iteration {t + 1}:") for a in gains["layout"]["annotations"])


def default_trace(name: str = "faithful"):
    """The page's default fit, refitted here with emcore directly (same settings)."""
    X = np.asarray(emdata.load_dataset("faithful").X, dtype=float)[:, 1]
    init = emcore.params_from_means(X[:, None], np.array([[60.0], [66.0]]))
    return emcore.fit_gaussian_mixture(X, 2, init=init, max_iter=40, tol=1e-8, reg=0.0)


@pytest.fixture
def at():
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.run()
    return app


def test_default_fit_shows_the_traces_numbers_and_steps(at):
    trace = default_trace()
    assert at.selectbox(key="why_source").value == "default"
    assert trace.n_iter >= 10  # the default start makes EM take visible steps
    assert_page_shows(at, trace, 0)
    first = charts(at)
    # one step further (E-step of iteration 3): new numbers, new figures
    set_step(at, "why", 5)
    assert_page_shows(at, trace, 2)
    assert "E-step of iteration 3" in stage_text(at)
    later = charts(at)
    assert first[0]["data"][2] != later[0]["data"][2]
    assert first[1]["data"][0]["y"] != later[1]["data"][0]["y"]
    # M-step of the same iteration: same numbers, the other bar highlighted
    set_step(at, "why", 6)
    assert_page_shows(at, trace, 2)
    assert chart(at, "why_bars")["data"][0]["marker"]["opacity"] == [0.35, 1.0]
    assert "M-step of iteration 3" in stage_text(at)
    # one half-step further (what ▶ does in the browser)
    set_step(at, "why", 7)
    assert step_of(at, "why") == 7
    assert_page_shows(at, trace, 3)
    assert shown(at)["n"] == trace.n_half_steps
    # the last half-step
    set_step(at, "why", trace.n_half_steps - 1)
    assert_page_shows(at, trace, trace.n_iter - 1)


def test_every_inequality_on_screen_is_ticked(at):
    text = latex_text(at)
    assert text.count("✓") >= 6
    assert "violated" not in text
    assert "Gibbs" in text


def test_log_scale_toggle(at):
    at.toggle(key="why_log").set_value(True).run()
    assert not at.exception
    assert chart(at, "why_gains")["layout"]["yaxis"]["type"] == "log"


def test_default_controls_other_data_more_components_and_regularisation(at):
    at.selectbox(key="why_data").set_value("ames").run()
    assert not at.exception
    at.slider(key="why_k").set_value(3).run()
    assert not at.exception
    at.select_slider(key="why_reg").set_value(0.1).run()
    assert not at.exception
    # the page says exactly what is maximised, and that ℓ alone is not
    info = stage_text(at)
    assert "EM maximises ℓ(θ) + log p(θ)" in info and "M-step maximises Q + log p" in info
    assert "tr Σ⁻¹" in info and "improper prior" in info
    # the regularised proof names the prior and every check still holds
    text = latex_text(at)
    assert tex(r"\log p(\theta^{(t)})") in text and "violated" not in text


def published(X, trace, page="blobs_2d", title="Old Faithful (2-D)"):
    return {page: {"page": page, "title": title, "X": X, "trace": trace}}


def test_a_published_fit_is_explained_with_its_own_numbers():
    X = np.asarray(emdata.load_dataset("faithful").X, dtype=float)
    trace = emcore.fit_gaussian_mixture(X, 3, init="random_from_data", max_iter=15, tol=None,
                                        reg=0.5, seed=4)
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["em_fits"] = published(X, trace)
    app.session_state["em_last_fit"] = "blobs_2d"
    app.run()
    assert app.selectbox(key="why_source").value == "blobs_2d"
    assert "EM maximises ℓ(θ) + log p(θ)" in stage_text(app)
    assert_page_shows(app, trace, 0)
    set_step(app, "why", 8)
    assert_page_shows(app, trace, 3)
    # switching to the default fit still works
    app.selectbox(key="why_source").set_value("default").run()
    assert_page_shows(app, default_trace(), 3)


def test_a_published_multinomial_fit():
    rng = np.random.default_rng(2)
    probs = np.array([[0.5, 0.3, 0.1, 0.1], [0.05, 0.15, 0.4, 0.4]])
    X = np.array([rng.multinomial(10, probs[k]) for k in rng.integers(0, 2, 150)])
    trace = emcore.fit_multinomial_mixture(X, 2, max_iter=8, tol=None, alpha=1.0, seed=0)
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["em_fits"] = published(X, trace, page="baskets", title="Baskets")
    app.session_state["em_last_fit"] = "baskets"
    app.run()
    set_step(app, "why", 3)
    assert_page_shows(app, trace, 1)


def test_a_published_hard_em_fit_explains_the_classification_likelihood():
    X = np.asarray(emdata.load_dataset("faithful").X, dtype=float)
    trace = emcore.fit_gaussian_mixture(X, 2, covariance_type="spherical", hard=True,
                                        init="random_from_data", max_iter=6, tol=None, seed=5)
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["em_fits"] = published(X, trace)
    app.run()
    assert app.selectbox(key="why_source").value == "blobs_2d"  # the only published fit
    assert_page_shows(app, trace, 0)
    warning = stage_text(app)
    assert "hard EM" in warning and f"{trace.log_likelihood[0]:.4f}" in warning
    assert tex(r"\ell_C") in latex_text(app)


def test_a_fit_without_iterations_is_not_offered():
    X = np.asarray(emdata.load_dataset("faithful").X, dtype=float)
    trace = emcore.fit_gaussian_mixture(X, 2, max_iter=1, tol=None, seed=0)
    empty = type("Empty", (), {"n_iter": 0})()
    app = AppTest.from_file(PAGE, default_timeout=60)
    fits = published(X, trace)
    fits["house_prices"] = {"page": "house_prices", "title": "none", "X": X, "trace": empty}
    app.session_state["em_fits"] = fits
    app.session_state["em_last_fit"] = "house_prices"
    app.run()
    assert not app.exception
    assert app.selectbox(key="why_source").options == [
        "Old Faithful (2-D) (from the 2-D blobs page)",
        "a small default fit (settings in the sidebar)",
    ]
    # the last-viewed fit cannot be explained, so the page falls back to the other published one
    assert app.selectbox(key="why_source").value == "blobs_2d"


def test_a_large_fit_draws_the_bound_curve_on_request():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0.0, 1.0, 12_000), rng.normal(4.0, 1.0, 12_000)])
    trace = emcore.fit_gaussian_mixture(X, 2, max_iter=3, tol=None, seed=0)
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.session_state["em_fits"] = published(X, trace, page="your_data", title="Big")
    app.run()
    assert not app.exception
    # bars, gains and the one-parameter example; the curve waits for the toggle
    figs = charts(app)
    assert len(figs) == 3 and figs[2]["layout"]["title"]["text"].startswith("ℓ(θ) and EM's bounds")
    assert "why_curve" not in shown(app)["figures"]
    app.toggle(key="why_draw_curve").set_value(True).run()
    assert_page_shows(app, trace, 0)


def test_linkage_climb_shows_emcores_numbers_and_successive_bounds(at):
    """DLR's one-parameter example (Bishop's fig. 9.14 repeated): the table and the figure
    against exact-fraction EM, scipy's multinomial ℓ and the bound as an expectation."""
    from scipy import stats

    from tests.test_linkage import elbo_by_expectation, exact_iterates

    def ell(th):
        return float(stats.multinomial.logpmf((125, 18, 20, 34), n=197,
                                              p=[0.5 + th / 4, (1 - th) / 4, (1 - th) / 4, th / 4]))

    for n in (1, 3):
        at.slider(key="why_dlr_n").set_value(n).run()
        assert not at.exception
        exact = [float(v) for v in exact_iterates(n)]
        df = at.table[-1].value
        assert len(df) == n
        for t in range(n):
            row = list(df.iloc[t])
            assert row == [t + 1, f"{exact[t]:.9f}", f"{ell(exact[t]):.9f}",
                           f"{exact[t + 1]:.9f}", f"{elbo_by_expectation(exact[t + 1], exact[t]):.9f}",
                           f"{ell(exact[t + 1]):.9f}"]
            assert ell(exact[t]) <= elbo_by_expectation(exact[t + 1], exact[t]) <= ell(exact[t + 1])
        fig = json.loads(at.get("plotly_chart")[-1].proto.spec)  # below the step player
        assert fig["layout"]["title"]["text"].endswith(f"{theta_it(n - 1)}")
        grid = decode(fig["data"][0]["x"])
        ll = decode(fig["data"][0]["y"])
        np.testing.assert_allclose(ll, [ell(v) for v in grid], atol=1e-9)
        bounds = [tr for tr in fig["data"] if str(tr.get("name", "")).startswith("bound")]
        assert [b["name"] for b in sorted(bounds, key=lambda b: b.get("legendrank", 0))] == \
            [f"bound 𝓛(q{sub(u)}, θ)" for u in range(n)]
        for b in bounds:
            u = int(b["name"].translate(str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789"))[9:-4])
            y = decode(b["y"])
            assert np.all(y <= ll + 1e-9)                    # never above ℓ
            i = int(np.argmax(y))                            # peaks at θ⁽ᵘ⁺¹⁾ (grid spacing)
            assert abs(grid[i] - exact[u + 1]) <= grid[1] - grid[0]
            j = int(np.argmin(np.abs(grid - exact[u])))      # touches ℓ at θ⁽ᵘ⁾
            assert abs(y[j] - ll[j]) < 1e-2 and abs(grid[j] - exact[u]) < 1e-3
            far = exact[u] + 0.1                             # and is apart from it elsewhere
            assert ll[j] - y[j] < float(np.interp(far, grid, ll) - np.interp(far, grid, y))
            assert elbo_by_expectation(grid[i], exact[u]) == pytest.approx(y[i], abs=1e-7)
