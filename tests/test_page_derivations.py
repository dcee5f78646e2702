"""AppTest of the Derivations page: every number on screen, recomputed independently.

The fits themselves are refitted here with emcore (the same settings as the page); every
number the page derives from them is recomputed with scipy.stats and explicit formulas that
share no code with emcore.derivations / emcore.linkage, and looked up in the page's text.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from streamlit.testing.v1 import AppTest

import emcore
import emdata
from emviz.texnum import fmt, fmt_plain, sub
from tests.test_derivations import ref_log_joint, ref_resp
from tests.test_linkage import PUBLISHED, elbo_by_expectation, exact_iterates

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "derivations.py")


def f4(v: float) -> str:
    return fmt(float(v), 4)


def ref_bound(x, q, params):
    """(ℓ, ELBO, KL) from their three textbook formulas."""
    lj = ref_log_joint(x, params)
    ll_rows = logsumexp(lj, axis=1)
    post = np.exp(lj - ll_rows[:, None])
    elbo = float(np.sum(q * (lj - np.log(q))))
    kl = float(np.sum(q * np.log(q / post)))
    return float(ll_rows.sum()), elbo, kl


def page_text(at) -> str:
    parts = [el.value for el in at.markdown] + [el.value for el in at.latex]
    parts += [el.value for el in at.caption]
    return "\n".join(parts)


def table(at, i: int):
    return at.dataframe[i].value


def ames_trace():
    x = emdata.load_dataset("ames").X[:, 0]
    return x, emcore.fit_gaussian_mixture(x, 2, init="kmeans++", seed=0, max_iter=100, tol=1e-6)


@pytest.fixture(scope="module")
def ames():
    return ames_trace()


@pytest.fixture
def at():
    app = AppTest.from_file(PAGE, default_timeout=90)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_renders_and_sections(at):
    heads = [h.value for h in at.header]
    assert heads[:6] == [
        "1 · Why direct maximum likelihood fails", "2 · The generative story",
        "3 · Q, written out for the 1-D mixture", "4 · The M-step, derived from Q",
        "5 · Two roads to the lower bound",
        "6 · The first example: genetic linkage (Dempster, Laird & Rubin, 1977)"]
    assert heads[-1] == "References"
    assert at.selectbox(key="der_source").value == "default"
    text = page_text(at)
    for ref in ("doi.org/10.1111/j.2517-6161.1977.tb01600.x", "Neal, G. E. Hinton (1998)",
                "Bishop (2006)", "Brian Keng", "Jake Tae", "Adrien Biarnes",
                "Matthew N. Bernstein", "jaketae.github.io/study/gaussian-mixture-models/"):
        assert ref in text
    assert "evidence lower bound (ELBO)" in text and "the same inequality" in text
    assert "improper prior" in text and "Lagrange multiplier" in text


def test_stationarity_numbers(at, ames):
    x, tr = ames
    n_it = tr.n_iter
    text = page_text(at)
    assert f"N = {x.size:,} points, K = 2 components, {n_it} iterations" in text
    df = table(at, 0)
    for params, check_table in ((tr.params[-1], True), (tr.params[0], False)):
        R = ref_resp(x, params)
        Nk = R.sum(axis=0)
        w = np.asarray(params.weights)
        mu = np.asarray(params.means)[:, 0]
        var = np.asarray(params.covariances)[:, 0, 0]
        mu_rhs = R.T @ x / Nk
        var_rhs = np.array([R[:, k] @ (x - mu[k]) ** 2 for k in range(2)]) / Nk
        rel = max(np.max(np.abs(w - Nk / x.size) / w), np.max(np.abs(mu - mu_rhs) / np.sqrt(var)),
                  np.max(np.abs(var - var_rhs) / var))
        assert f"**{100 * rel:.3g} %**" in text
        if check_table:
            for k in range(2):
                row = df.iloc[k]
                assert row.iloc[1] == f"{w[k]:.5f}" and row.iloc[2] == f"{Nk[k] / x.size:.5f}"
                assert row.iloc[3] == f"{mu[k]:.5f}" and row.iloc[4] == f"{mu_rhs[k]:.5f}"
                assert row.iloc[5] == f"{var[k]:.6f}" and row.iloc[6] == f"{var_rhs[k]:.6f}"
            lam = ", ".join(f"{v:.2f}" for v in Nk / w)
            assert f"here {lam}, all close to N = {x.size:,}" in text
    # the recipe with the fitted numbers, and the expected counts of a sample
    p = tr.params[-1]
    for k in range(2):
        assert (f"π{sub(k + 1)} = {p.weights[k]:.4f}, then x ~ "
                f"N({p.means[k, 0]:.4f}, {np.sqrt(p.covariances[k, 0, 0]):.4f}²)") in text
    assert "N·π_k = " + ", ".join(f"{x.size * v:.1f}" for v in p.weights) in text


@pytest.mark.parametrize("s", [0, 4])
def test_q_m_step_and_bound_numbers(at, ames, s):
    x, tr = ames
    if s:
        at.select_slider(key="der_step").set_value(s).run()
        assert not at.exception
    t = max((s - 1) // 2, 0)
    text = page_text(at)
    R = ref_resp(x, tr.params[t])
    p1 = tr.params[t + 1]
    lj = ref_log_joint(x, p1)
    # §3 one point: the row whose largest responsibility is smallest
    i = int(np.argmin(R.max(axis=1)))
    assert f"Point #{i + 1}, x = {x[i]:.4f}," in text
    for k in range(2):
        assert f"{lj[i, k]:.4f} (if z = {k + 1})" in text
        assert rf"{R[i, k]:.4f} \cdot ({f4(lj[i, k])})" in text
    assert "&= " + f4(float(R[i] @ lj[i])) + "." in text
    # Q's two parts and its total
    Nk = R.sum(axis=0)
    wpart = float(Nk @ np.log(p1.weights))
    total = float(np.sum(R * lj))
    assert rf"&\quad= ({f4(wpart)}) + ({f4(total - wpart)})" in text
    assert rf"&\quad= {f4(total)}." in text
    # §4 the M-step table
    df = table(at, 1)
    for k in range(2):
        mu = R[:, k] @ x / Nk[k]
        S = R[:, k] @ (x - mu) ** 2
        row = df.iloc[k]
        assert list(row.iloc[1:]) == [f"{Nk[k]:.4f}", f"{R[:, k] @ x:.4f}", f"{mu:.6f}",
                                      f"{S:.6f}", f"{S / Nk[k]:.6f}", f"{Nk[k] / x.size:.6f}"]
    gap = float(re.search(r"recorded to within (\S+) \(round-off\)", text).group(1))
    assert 0 <= gap < 1e-10
    # §5 the bound at θ_t and θ_{t+1}
    ll_t, elbo_t, kl_t = ref_bound(x, R, tr.params[t])
    ll_n, elbo_n, kl_n = ref_bound(x, R, p1)
    assert abs(kl_t) < 1e-8
    assert rf"\ell &= {f4(ll_t)}" in text
    assert rf"\mathcal{{L}} &= {f4(elbo_t)},\;\; \mathrm{{KL}} = 0\;(\approx 0)" in text
    assert rf"\ell &= {f4(ll_n)}" in text
    assert rf"\mathcal{{L}} &= {f4(elbo_n)},\;\; \mathrm{{KL}} = {f4(kl_n)}" in text
    assert rf"\mathcal{{L}} + \mathrm{{KL}} &= {f4(ll_n)}" in text


def ref_segment_counts(X, tr):
    """C_kv = Σ_i r_ik x_iv at the last M-step, responsibilities from scipy's multinomial pmf."""
    p = tr.params[tr.n_iter - 1]
    K = len(p.weights)
    lj = np.column_stack([np.log(p.weights[k]) + stats.multinomial.logpmf(X, X.sum(axis=1),
                                                                         p.probs[k])
                          for k in range(K)])
    R = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
    return R.T @ X


def test_multinomial_table(at):
    ds = emdata.load_dataset("cracker")
    X = np.asarray(ds.X)
    tr = emcore.fit_multinomial_mixture(X, 3, init="random", max_iter=200, tol=1e-6, alpha=1.01,
                                        seed=0)
    mt = tr.n_iter - 1
    C = ref_segment_counts(X, tr)
    ml = C[0] / C[0].sum()
    mp = (C[0] + 0.01) / (C[0] + 0.01).sum()
    df = table(at, 2)
    assert len(df) == 4
    order = np.argsort(-C[0])
    for row, v in zip(df.itertuples(index=False), order, strict=True):
        assert list(row) == [ds.feature_names[v], f"{C[0, v]:.3f}", f"{ml[v]:.5f}",
                             f"{mp[v]:.5f}", f"{tr.params[mt + 1].probs[0, v]:.5f}"]
    assert f"iteration {mt + 1})" in page_text(at)


def test_linkage_section(at):
    text = page_text(at)
    ell0 = stats.multinomial.logpmf((125, 18, 20, 34), n=197, p=[0.625, 0.125, 0.125, 0.125])
    assert f"θ⁽⁰⁾ = 0.500000000, ℓ(θ⁽⁰⁾) = {ell0:.6f}" in text
    exact = exact_iterates(40)
    star = (15 + np.sqrt(53809)) / 394
    # the table: our column from exact arithmetic, DLR's column as printed, the ratios
    df = table(at, 3)
    n = len(df)
    for t in range(n):
        row = df.iloc[t]
        assert row.iloc[1] == f"{float(exact[t]):.9f}"
        assert row.iloc[2] == (f"{PUBLISHED[t]:.9f}" if t < len(PUBLISHED) else "")
        assert row.iloc[3] == f"{float(exact[t]) - star:.3e}"
        if t < n - 1:
            ratio = (float(exact[t + 1]) - star) / (float(exact[t]) - star)
            assert row.iloc[4] == f"{ratio:.4f}"
    assert abs(float(exact[n - 1]) - float(exact[n - 2])) < 1e-10
    assert f"θ* = (15 + √53809)/394 = **{star:.9f}**" in text
    diffs = [t for t in range(len(PUBLISHED)) if f"{float(exact[t]):.9f}" != f"{PUBLISHED[t]:.9f}"]
    worst = max(abs(float(exact[t]) - PUBLISHED[t]) for t in range(len(PUBLISHED)))
    assert f"to within {worst:.1e}" in text
    assert f"(t = {', '.join(map(str, diffs))})" in text
    # the rate: a numerical derivative of the EM map at θ*
    def em_map(th):
        x2 = 125 * th / (2 + th)
        return (x2 + 34) / (x2 + 72)
    rate = (em_map(star + 1e-6) - em_map(star - 1e-6)) / 2e-6
    assert f"settles at **{rate:.4f}**" in text
    assert f"1 − I_obs/I_complete = {rate:.4f}" in text


def test_linkage_steps(at):
    at.select_slider(key="der_dlr_step").set_value(3).run()  # E-step 2
    assert not at.exception
    text = page_text(at)
    exact = exact_iterates(3)
    th1 = float(exact[1])
    x2 = 125 * th1 / (2 + th1)
    assert rf"\theta^{{(1)}} &= {th1:.9f}" in text and f"&= {x2:.9f}" in text
    assert f"({125 - x2:.4f} + {x2:.4f})" in text
    at.button(key="der_dlr_next").click().run()  # M-step 2
    text = page_text(at)
    th2 = float(exact[2])
    assert f"&= {th2:.9f}" in text
    ll = [stats.multinomial.logpmf((125, 18, 20, 34), n=197,
                                   p=[0.5 + v / 4, (1 - v) / 4, (1 - v) / 4, v / 4])
          for v in (th1, th2)]
    bound = elbo_by_expectation(th2, th1)
    assert f"The step raised ℓ by {fmt_plain(ll[1] - ll[0])}, to ℓ(θ⁽²⁾) = {ll[1]:.9f}." \
        in text
    assert f"𝓛(q₁, θ⁽²⁾) = {bound:.9f}, lies {fmt_plain(bound - ll[0])} above ℓ(θ⁽¹⁾)" in text
    assert f"KL = {fmt_plain(ll[1] - bound)} below ℓ(θ⁽²⁾)." in text
    assert not any("narrower than a pixel" in el.value for el in at.info)
    at.select_slider(key="der_dlr_step").set_value(12).run()  # M-step 6: a sub-pixel step
    assert any("narrower than a pixel" in el.value for el in at.info)
    at.toggle(key="der_dlr_zoom").set_value(True).run()
    assert not at.exception
    assert not any("narrower than a pixel" in el.value for el in at.info)


def test_published_fit_with_a_penalty_is_used_and_named():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 150), rng.normal(5, 0.5, 100), rng.normal(9, 1, 60)])
    tr = emcore.fit_gaussian_mixture(x, 3, init="kmeans++", seed=1, max_iter=50, tol=1e-8, reg=0.5)
    Z = rng.normal(size=(50, 2))
    tr2 = emcore.fit_gaussian_mixture(Z, 2, seed=0, max_iter=5)
    app = AppTest.from_file(PAGE, default_timeout=90)
    app.session_state["em_fits"] = {
        "your_data": {"page": "your_data", "title": "Mine", "X": x[:, None], "trace": tr},
        "blobs_2d": {"page": "blobs_2d", "title": "2-D", "X": Z, "trace": tr2}}
    app.session_state["em_last_fit"] = "your_data"
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.selectbox(key="der_source").value == "your_data"
    assert app.selectbox(key="der_source").options == [
        "Mine (from the Your data page)", "Ames prices, K = 2 (the 1-D page's default)"]
    text = page_text(app)
    assert "Not offered here" in text and "2-D" in text
    assert "EM maximised ℓ + log p(θ) with the penalty reg = 0.5." in text
    assert r"+ \mathrm{reg}\Big)" in text
    # the M-step table carries the penalty: σ² = (S + reg)/N_k
    R = ref_resp(x, tr.params[0])
    Nk = R.sum(axis=0)
    df = table(app, 1)
    assert len(df) == 3
    for k in range(3):
        mu = R[:, k] @ x / Nk[k]
        S = R[:, k] @ (x - mu) ** 2
        assert df.iloc[k].iloc[5] == f"{(S + 0.5) / Nk[k]:.6f}"
    # the one-point line has one term per component
    i = int(np.argmin(R.max(axis=1)))
    lj = ref_log_joint(x, tr.params[1])
    for k in range(3):
        assert rf"{R[i, k]:.4f} \cdot ({f4(lj[i, k])})" in text


def test_published_sparse_baskets_fit_with_a_dirichlet_prior():
    import scipy.sparse as sp

    X, _, _ = emcore.make_multinomial_mixture_data(150, 3, 8, seed=4)
    Xs = sp.csr_matrix(X)
    tr = emcore.fit_multinomial_mixture(Xs, 3, init="random", seed=2, max_iter=15, tol=None,
                                        alpha=1.5)
    app = AppTest.from_file(PAGE, default_timeout=90)
    app.session_state["em_fits"] = {
        "baskets": {"page": "baskets", "title": "Toy baskets", "X": Xs, "trace": tr}}
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    C = ref_segment_counts(X, tr)
    mp = (C[0] + 0.5) / (C[0] + 0.5).sum()
    df = table(app, 2)
    assert len(df) == 6  # the six largest of eight categories
    for row, v in zip(df.itertuples(index=False), np.argsort(-C[0])[:6], strict=True):
        assert list(row)[1:4] == [f"{C[0, v]:.3f}", f"{C[0, v] / C[0].sum():.5f}", f"{mp[v]:.5f}"]
        assert row[0] == f"category {v + 1}"
    assert "**Toy baskets**, component 1" in page_text(app)
