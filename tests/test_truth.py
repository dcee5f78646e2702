"""Every sentence about what EM guarantees is true: with a prior, with hard EM, with round-off.

The claims are checked against an independent numpy EM written here (not emcore's), and the
pages are checked in AppTest for what they say about hard EM and about priors.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm
from streamlit.testing.v1 import AppTest

import emcore
import emdata
from emui.steps import describe_half_step, proof_lines
from emviz.player import tex_html
from tests.playertest import page_text, set_step, shown
from tests.playertest import text as player_text

ROOT = Path(__file__).resolve().parents[1]


# --- an independent 1-D EM with the ridge penalty ---------------------------------------------


def em_1d_step(x, w, mu, var, reg):
    """One EM step of a 1-D Gaussian mixture maximising ℓ − (reg/2) Σ_k 1/σ²_k."""
    lj = np.log(w) + norm.logpdf(x[:, None], mu, np.sqrt(var))
    r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
    nk = r.sum(axis=0)
    mu_n = (r * x[:, None]).sum(axis=0) / nk
    var_n = ((r * (x[:, None] - mu_n) ** 2).sum(axis=0) + reg) / nk
    return nk / len(x), mu_n, var_n


def loglik_1d(x, w, mu, var):
    return float(logsumexp(np.log(w) + norm.logpdf(x[:, None], mu, np.sqrt(var)), axis=1).sum())


def log_penalty(var, reg):
    return float(-0.5 * reg * np.sum(1.0 / var))


@pytest.fixture(scope="module")
def ames():
    return np.asarray(emdata.load_dataset("ames").X, dtype=float)[:, 0]


@pytest.fixture(scope="module")
def reg10(ames):
    """Start at the maximum-likelihood fit and switch on reg = 10 (the issue's example)."""
    ml = emcore.fit_gaussian_mixture(ames, 2, seed=0, tol=1e-12, max_iter=1000)
    return emcore.fit_gaussian_mixture(ames, 2, init=ml.params[-1], reg=10.0, max_iter=4,
                                       tol=None)


def test_with_a_prior_ell_falls_while_ell_plus_log_prior_rises(ames, reg10):
    # independently: the same start, our own EM step
    p0 = reg10.params[0]
    w, mu, var = p0.weights, p0.means[:, 0], p0.covariances[:, 0, 0]
    ell0, obj0 = loglik_1d(ames, w, mu, var), loglik_1d(ames, w, mu, var) + log_penalty(var, 10)
    w1, mu1, var1 = em_1d_step(ames, w, mu, var, 10.0)
    ell1 = loglik_1d(ames, w1, mu1, var1)
    obj1 = ell1 + log_penalty(var1, 10)
    assert ell1 < ell0 - 1.0          # ℓ falls, by a lot
    assert obj1 > obj0 + 1.0          # what EM maximises rises
    # the engine agrees with the independent computation
    assert reg10.log_likelihood[:2] == pytest.approx([ell0, ell1], rel=1e-9)
    assert reg10.objective[:2] == pytest.approx([obj0, obj1], rel=1e-9)
    # and the proof panel says what rises and that ℓ did not
    p = proof_lines(reg10, 0, "M")
    assert "ℓ + log p" in p["title"] and "Why ℓ cannot" not in p["title"]
    assert "maximises Q + log p" in p["caption"]
    assert f"from {ell0:,.4f} to {ell1:,.4f}" in p["summary"]
    assert "does not promise that ℓ rises" in p["summary"]
    m = describe_half_step(reg10, reg10.half_step(2))
    assert "penalised log-likelihood ℓ + log p" in m and "it can fall" in m
    assert f"{obj0:.3f}" in m and f"{ell1:.3f}" in m


def test_a_multinomial_prior_is_named_too():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.multinomial(15, [0.6, 0.3, 0.1], 50), rng.multinomial(15, [0.1, 0.2, 0.7], 50)])
    tr = emcore.fit_multinomial_mixture(X, 2, alpha=1.01, seed=0, max_iter=5, tol=None)
    p = proof_lines(tr, 1, "E")
    assert "ℓ + log p" in p["title"] and r"\log p(\theta^{(1)})" in p["latex"][0]


# --- hard EM ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hard_fit():
    X = np.asarray(emdata.load_dataset("faithful").X, dtype=float)
    Z = (X - X.mean(0)) / X.std(0)
    return Z, emcore.fit_gaussian_mixture(Z, 3, hard=True, seed=0, max_iter=12, tol=None)


def classification_loglik(X, params):
    lj = np.column_stack([np.log(w) + multivariate_normal(m, c).logpdf(X)
                          for w, m, c in zip(params.weights, params.means, params.covariances,
                                             strict=True)])
    return float(lj.max(axis=1).sum())


def assert_hard_text_is_true(text: str) -> None:
    assert "ℓ is unchanged" not in text
    assert "KL = 0" not in text and r"\mathrm{KL}=0" not in text and "KL=0" not in text
    assert "cannot go down" not in text or "ℓ_C" in text


def test_hard_em_proof_names_the_classification_likelihood(hard_fit):
    Z, tr = hard_fit
    for t in range(tr.n_iter):
        for kind in ("E", "M"):
            p = proof_lines(tr, t, kind)
            text = " ".join([p["title"], p["caption"], p["summary"], *p["latex"]])
            assert "ℓ_C" in p["title"] and r"\ell_C" in p["latex"][0]
            assert_hard_text_is_true(text)
        # the numbers are ℓ_C, written out with scipy
        assert tr.objective[t] == pytest.approx(classification_loglik(Z, tr.params[t]), rel=1e-10)
        assert f"{tr.objective[t]:,.4f}".replace(",", "{,}") in proof_lines(tr, t)["latex"][0]
    for s in range(tr.n_half_steps):
        d = describe_half_step(tr, tr.half_step(s))
        assert_hard_text_is_true(d)
        if s:
            assert "ℓ_C" in d or "classification log-likelihood" in d


def test_hard_em_where_ell_falls_says_so():
    """Hard EM can lower ℓ; the text must then not claim that ℓ rose."""
    X, *_ = emcore.make_gaussian_mixture_data(300, 3, 2, separation=1.5, seed=2)
    for seed in range(20):
        tr = emcore.fit_gaussian_mixture(X, 3, hard=True, seed=seed, max_iter=30, tol=None)
        drops = np.flatnonzero(np.diff(tr.log_likelihood) < -1e-6)
        if drops.size:
            break
    else:
        pytest.skip("no hard-EM run with a falling ℓ found")
    t = int(drops[0])
    assert tr.objective[t + 1] >= tr.objective[t] - 1e-9  # ℓ_C never falls
    d = describe_half_step(tr, tr.half_step(2 * t + 2))
    assert "it can fall" in d
    assert "does not promise that ℓ rises" in proof_lines(tr, t, "M")["summary"]


# --- round-off ----------------------------------------------------------------------------------


def test_round_off_kl_is_shown_as_zero_not_negative():
    X = np.asarray(emdata.load_dataset("faithful").X, dtype=float)
    tr = emcore.fit_gaussian_mixture(X, 2, seed=0, tol=None, max_iter=60)
    neg = np.flatnonzero(tr.kl < 0)
    assert neg.size, "this run was chosen because late KLs are round-off negatives"
    t = int(neg[0])
    assert -1e-10 * abs(tr.objective[t]) < tr.kl[t] < 0
    p = proof_lines(tr, t, "M")
    assert p["kl"] == 0.0
    assert r"\mathrm{KL} = " in p["latex"][2] and "+ 0 =" in p["latex"][2]
    assert "10^{-13}" not in p["latex"][2] and "e-13" not in p["summary"]


# --- the pages ------------------------------------------------------------------------------------


def _proof_text(at) -> str:
    return page_text(at)


def test_your_data_hard_em_panel_is_about_ell_c():
    at = AppTest.from_file(str(ROOT / "pages" / "your_data.py"), default_timeout=90).run()
    at.file_uploader(key="yd_file").set_value(
        ("faithful.csv", emdata.example_csv("faithful"), "text/csv")).run()
    assert not at.exception
    at.sidebar.toggle(key="yd_hard").set_value(True).run()
    assert not at.exception
    assert "classification" in at.sidebar.toggle(key="yd_hard").label.lower()
    assert shown(at)["n"] == at.session_state["em_fits"]["your_data"]["trace"].n_half_steps
    for step in (1, 2, 5):
        set_step(at, "yd", step)
        text = _proof_text(at)
        assert "Why ℓ_C + log p cannot go down" in text  # reg 1e-6
        # the step player's proof: each LaTeX line as HTML, ℓ_C as ℓ<sub>C</sub>
        assert "ℓ<sub>C</sub>(θ<sup>(" in shown(at)["texts"]["proof"]
        assert_hard_text_is_true(text)


def test_why_em_works_with_a_published_hard_fit_claims_nothing_about_kl(hard_fit):
    Z, tr = hard_fit
    at = AppTest.from_file(str(ROOT / "pages" / "why_em_works.py"), default_timeout=90)
    at.session_state["em_fits"] = {"your_data": {"page": "your_data", "title": "hard",
                                                 "X": Z, "trace": tr}}
    at.run()
    # the proof is drawn by the step player: its formulas reach the page as HTML
    def shown_tex(latex: str) -> str:
        return re.sub(r"<[^>]+>", "", tex_html(latex))

    for step in (1, 2):
        set_step(at, "why", step)
        assert not at.exception
        text = html.unescape(_proof_text(at))
        assert shown_tex(r"\ell_C") in text and "hard EM" in text
        assert "ℓ is unchanged" not in text
        assert shown_tex(r"\mathrm{KL}(q_t\,\|\,p_{\theta^{(t)}}) = 0") not in text


def test_blobs_hard_switch_says_classification_em():
    at = AppTest.from_file(str(ROOT / "pages" / "blobs_2d.py"), default_timeout=90).run()
    at.toggle(key="blobs_hard_compare").set_value(True).run()
    assert not at.exception
    info = player_text(at, "blobs_soft_vs_hard")  # the step player's soft-vs-hard sentence
    assert "ℓ_C" in info and "k-means limit" not in info


@pytest.mark.parametrize("page,setup", [
    ("baskets.py", None),                              # the default α = 1.01 is a MAP fit
    ("house_prices.py", ("hp_reg", 0.1)),
    ("blobs_2d.py", ("blobs_reg", 0.01)),
])
def test_a_page_with_a_prior_states_what_is_maximised(page, setup):
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120).run()
    if setup is not None:
        at.sidebar.select_slider(key=setup[0]).set_value(setup[1]).run()
    assert not at.exception
    text = _proof_text(at)
    assert "Why ℓ + log p cannot go down" in text
    assert "EM maximises ℓ + log p(θ)" in text and "M-step maximises Q + log p" in text


def test_hard_em_with_a_prior_names_ell_c_plus_log_p(hard_fit):
    Z, _ = hard_fit
    tr = emcore.fit_gaussian_mixture(Z, 2, hard=True, reg=1e-6, seed=0, max_iter=5, tol=None)
    p = proof_lines(tr, 1, "M")
    assert "Why ℓ_C + log p cannot go down" in p["title"]
    assert "EM maximises ℓ_C + log p(θ)" in p["caption"] and "not ℓ_C alone" in p["caption"]
    assert "maximises ℓ + log p" not in p["caption"]
    # a log prior of order 1e-5 is written as a × 10^b, never as "− 0.0000"
    assert "0.0000" not in p["latex"][1] and r"\times 10^{" in p["latex"][1]
    e = describe_half_step(tr, tr.half_step(3))
    lc = classification_loglik(Z, tr.params[1])
    assert f"ℓ_C(θ⁽¹⁾) = {lc:.3f}" in e and f"ℓ_C + log p = {tr.objective[1]:.3f}" in e


def test_m_step_narration_names_each_familys_parameters():
    rng = np.random.default_rng(3)
    Xb = (rng.random((120, 16)) < np.where(np.arange(120)[:, None] < 60, 0.8, 0.2)).astype(float)
    tb = emcore.fit_bernoulli_mixture(Xb, 2, seed=0, max_iter=5, tol=None)
    text = describe_half_step(tb, tb.half_step(2))
    w0, w1 = tb.params[0].weights, tb.params[1].weights
    k = int(np.argmax(np.abs(w1 - w0)))
    assert "weights and pixel probabilities" in text and "egment" not in text
    assert f"Component {k + 1}'s weight π{'₁₂'[k]} changed most: it went from {w0[k]:.3f}" in text
    Xm = rng.multinomial(20, [0.5, 0.3, 0.2], size=80)
    tm = emcore.fit_multinomial_mixture(Xm, 2, seed=0, max_iter=5, tol=None)
    assert "segment sizes and probabilities" in describe_half_step(tm, tm.half_step(2))


def test_a_change_too_small_for_three_decimals_is_printed_with_more():
    """Two different numbers never read the same: "from 0.354 to 0.354" cannot be printed."""
    from emui.steps import _went

    assert _went(0.3541, 0.3542) == "went from 0.3541 to 0.3542"
    assert _went(0.35411, 0.35412) == "went from 0.35411 to 0.35412"
    assert _went(0.2, 0.71) == "went from 0.200 to 0.710"
    assert _went(0.5, 0.5 + 1e-12) == "stayed at 0.500"
