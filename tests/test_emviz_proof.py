"""emviz.proof: the proof's numbers, derivation lines and figures.

The numbers are checked against independent computations with scipy (log-densities,
posteriors, KL divergences written out here), not against the code under test; the figures
are checked to carry exactly those numbers.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multinomial, multivariate_normal

import emcore
from emviz import proof
from emviz.texnum import fmt_small
from tests.figcheck import same_drawing, validated

# --- independent computations ----------------------------------------------------------------


def log_joint(X, params):
    """(N, K) log π_k + log p(x_i | θ_k), written with scipy."""
    if isinstance(params, emcore.MultinomialParams):
        X = np.asarray(X.toarray() if hasattr(X, "toarray") else X)
        n = X.sum(axis=1)
        cols = [
            np.array([multinomial.logpmf(x, int(m), p) for x, m in zip(X, n, strict=True)])
            for p in np.asarray(params.probs)
        ]
    else:
        X = np.asarray(X, dtype=float).reshape(len(X), -1)
        cols = [
            multivariate_normal(mean=m, cov=c).logpdf(X).reshape(-1)
            for m, c in zip(params.means, params.covariances, strict=True)
        ]
    return np.log(np.asarray(params.weights))[None, :] + np.column_stack(cols)


def posterior(X, params):
    lj = log_joint(X, params)
    return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))


def kl_divergence(q, p):
    """Σ_i Σ_k q log(q / p), with 0 log 0 = 0."""
    mask = q > 0
    return float(np.sum(q[mask] * (np.log(q[mask]) - np.log(p[mask]))))


def decode(values):
    """Plotly 7 stores arrays as {"dtype", "bdata"}; return a float array either way."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float)
    return np.asarray(values, dtype=float)


# --- fits used by the tests (small, so the suite stays fast) ------------------------------


@pytest.fixture(scope="module")
def faithful():
    import emdata

    return np.asarray(emdata.load_dataset("faithful").X, dtype=float)


@pytest.fixture(scope="module")
def fit_1d(faithful):
    X = faithful[:, 1]
    init = emcore.params_from_means(X[:, None], np.array([[60.0], [66.0]]))
    return X, emcore.fit_gaussian_mixture(X, 2, init=init, max_iter=25, tol=None)


@pytest.fixture(scope="module")
def fit_2d_reg(faithful):
    X = faithful
    return X, emcore.fit_gaussian_mixture(X, 3, init="random_from_data", max_iter=12, tol=None,
                                          reg=0.5, seed=3)


@pytest.fixture(scope="module")
def fit_counts():
    rng = np.random.default_rng(0)
    probs = np.array([[0.6, 0.2, 0.1, 0.1], [0.1, 0.1, 0.3, 0.5]])
    z = rng.integers(0, 2, size=120)
    X = np.array([rng.multinomial(8, probs[k]) for k in z])
    return X, emcore.fit_multinomial_mixture(X, 2, max_iter=10, tol=None, alpha=1.0, seed=1)


@pytest.fixture(scope="module")
def fit_counts_sparse_prior(fit_counts):
    # the baskets page publishes sparse counts; a Dirichlet prior α > 1 makes it MAP-EM
    import scipy.sparse

    X = scipy.sparse.csr_matrix(fit_counts[0])
    return X, emcore.fit_multinomial_mixture(X, 2, max_iter=10, tol=None, alpha=1.5, seed=1)


@pytest.fixture(scope="module")
def fit_hard(faithful):
    X = faithful
    return X, emcore.fit_gaussian_mixture(X, 2, covariance_type="spherical", hard=True,
                                          init="random_from_data", max_iter=8, tol=None, seed=5)


ALL_FITS = ["fit_1d", "fit_2d_reg", "fit_counts", "fit_counts_sparse_prior"]


# --- the numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_FITS)
def test_proof_step_numbers_equal_trace_and_independent_computation(name, request):
    X, trace = request.getfixturevalue(name)
    assert trace.n_iter >= 3
    for t in (0, 1, trace.n_iter - 1):
        s = proof.proof_step(X, trace, t)
        # straight from the trace
        assert s.t == t
        assert s.objective_t == trace.objective[t]
        assert s.objective_next == trace.objective[t + 1]
        assert s.loglik_t == trace.log_likelihood[t]
        assert s.loglik_next == trace.log_likelihood[t + 1]
        assert s.q_new == trace.q[t]
        assert s.entropy == trace.entropy[t]
        assert s.elbo == trace.elbo[t]
        assert s.kl == trace.kl[t]
        # independently: ℓ, Q(θ_t | θ_t), H(q_t), KL(q_t ‖ p_{θ_{t+1}})
        theta_t, theta_n = trace.params[t], trace.params[t + 1]
        lj_t, lj_n = log_joint(X, theta_t), log_joint(X, theta_n)
        q_t = posterior(X, theta_t)
        scale = max(1.0, abs(s.loglik_t))
        tol = 1e-9 * scale
        assert s.loglik_t == pytest.approx(logsumexp(lj_t, axis=1).sum(), abs=tol)
        assert s.q_old == pytest.approx(np.sum(q_t * lj_t), abs=tol)
        assert s.q_new == pytest.approx(np.sum(q_t * lj_n), abs=tol)
        h = -np.sum(q_t[q_t > 0] * np.log(q_t[q_t > 0]))
        assert s.entropy == pytest.approx(h, abs=tol)
        assert s.kl == pytest.approx(kl_divergence(q_t, posterior(X, theta_n)), abs=1e-7 * scale)
        # the cross-entropy rows: −Σ q_t log p(z | x, θ), from scipy, not from ℓ − Q
        p_n = posterior(X, theta_n)
        ce_n = -np.sum(q_t[q_t > 0] * np.log(p_n[q_t > 0]))
        assert s.cross_entropy_new == pytest.approx(ce_n, abs=1e-8 * scale)
        assert s.cross_entropy_old == pytest.approx(h, abs=1e-8 * scale)
        # the log prior is what separates the objective from ℓ
        assert s.log_prior_t == pytest.approx(s.objective_t - s.loglik_t, abs=tol)
        assert s.log_prior_next == pytest.approx(s.objective_next - s.loglik_next, abs=tol)
        # the identities the page shows
        assert s.kl_e == pytest.approx(0.0, abs=1e-8 * scale)
        assert s.loglik_gap_t == pytest.approx(0.0, abs=1e-9 * scale)
        assert s.bound_e == pytest.approx(s.objective_t, abs=1e-8 * scale)
        assert s.bound_m + s.kl == pytest.approx(s.objective_next, abs=1e-8 * scale)
        assert s.q_gain == pytest.approx(s.bound_gain, abs=1e-8 * scale)
        assert s.gain == pytest.approx(s.q_gain + (s.cross_entropy_new - s.cross_entropy_old),
                                       abs=1e-8 * scale)


def test_regularised_fit_is_flagged_and_uses_the_objective(fit_2d_reg, fit_1d):
    X, trace = fit_2d_reg
    s = proof.proof_step(X, trace, 2)
    assert s.regularised and not s.hard
    assert s.log_prior_t != 0.0
    assert s.objective_t != s.loglik_t
    assert not proof.proof_step(*fit_1d, 2).regularised


@pytest.mark.parametrize("name", ALL_FITS)
def test_every_inequality_holds_at_every_step_of_exact_em(name, request):
    X, trace = request.getfixturevalue(name)
    for t in range(trace.n_iter):
        s = proof.proof_step(X, trace, t)
        for line in proof.keng_lines(s) + proof.bishop_lines(s):
            assert line.holds in (None, True), (t, line.formula)


def test_hard_em_proves_the_classification_likelihood(fit_hard):
    X, trace = fit_hard
    for t in range(trace.n_iter):
        s = proof.proof_step(X, trace, t)
        assert s.hard and s.entropy == 0.0
        lj_t, lj_n = log_joint(X, trace.params[t]), log_joint(X, trace.params[t + 1])
        # independently: ℓ_C(θ) = Σ_i max_k log π_k p(x_i | θ_k); Q with the one-hot labels of θ_t
        labels = np.argmax(lj_t, axis=1)
        rows = np.arange(len(labels))
        scale = max(1.0, abs(s.objective_t))
        assert s.objective_t == pytest.approx(lj_t.max(axis=1).sum(), abs=1e-9 * scale)
        assert s.objective_next == pytest.approx(lj_n.max(axis=1).sum(), abs=1e-9 * scale)
        assert s.q_old == pytest.approx(lj_t[rows, labels].sum(), abs=1e-9 * scale)
        assert s.q_new == pytest.approx(lj_n[rows, labels].sum(), abs=1e-9 * scale)
        assert s.kl_e == pytest.approx(0.0, abs=1e-9 * scale)  # the bound touches ℓ_C
        # ... but not ℓ: the true log-likelihood lies strictly above ℓ_C
        assert s.loglik_t - s.objective_t == pytest.approx(
            logsumexp(lj_t, axis=1).sum() - lj_t.max(axis=1).sum(), abs=1e-9 * scale)
        assert s.loglik_t > s.objective_t
        assert s.loglik_gap_t == pytest.approx(s.loglik_t - s.objective_t, abs=0)
        lines = proof.derivation_lines(s)
        assert lines == proof.hard_lines(s) and len(lines) == 3
        assert all(line.holds for line in lines)
        assert r"\ell_C" in lines[0].formula


def test_derivation_lines_are_the_cross_entropy_proof_for_soft_em(fit_1d):
    s = proof.proof_step(*fit_1d, 0)
    assert proof.derivation_lines(s) == proof.keng_lines(s)


def test_out_of_range_step_is_refused(fit_1d):
    X, trace = fit_1d
    with pytest.raises(ValueError):
        proof.proof_step(X, trace, trace.n_iter)
    with pytest.raises(ValueError):
        proof.proof_step(X, trace, -1)


# --- formatting and derivation lines --------------------------------------------------------


@pytest.mark.parametrize("name", ALL_FITS)
def test_lines_show_this_steps_numbers(name, request):
    X, trace = request.getfixturevalue(name)
    t = 1
    s = proof.proof_step(X, trace, t)
    keng = proof.keng_lines(s)
    bishop = proof.bishop_lines(s)
    assert len(keng) == 7 and len(bishop) == 4
    f = proof.fmt
    # line 2: ℓ(θ_t) = Q(θ_t|θ_t) + H(q_t)
    assert f(trace.objective[t]) in keng[1].numbers
    assert f(s.q_old_obj) in keng[1].numbers
    assert f(trace.entropy[t]) in keng[1].numbers
    # line 3: ℓ(θ_{t+1}) = Q(θ_{t+1}|θ_t) + cross-entropy
    assert f(trace.objective[t + 1]) in keng[2].numbers
    assert f(s.q_new_obj) in keng[2].numbers
    assert f(trace.entropy[t] + trace.kl[t]) in keng[2].numbers
    # line 5 and 7: the inequalities with their margins
    assert fmt_small(s.q_gain) in keng[4].numbers
    assert fmt_small(trace.objective[t + 1] - trace.objective[t]) in keng[6].numbers
    # Bishop: the bound after the M-step and the KL gap
    assert f(s.bound_m) in bishop[3].numbers and f(trace.kl[t]) in bishop[3].numbers
    for line in keng + bishop:
        assert line.latex.count(r"\begin{aligned}") == line.latex.count(r"\end{aligned}")


def test_regularised_lines_name_the_prior(fit_2d_reg):
    s = proof.proof_step(*fit_2d_reg, 1)
    assert r"\log p(\theta^{(t)})" in proof.keng_lines(s)[1].formula
    assert r"\log p(\theta)" in proof.bishop_lines(s)[0].formula
    # line 4 subtracts the whole of (Q + log p) at θ_t
    assert r"-\big(Q(\theta^{(t)}\mid\theta^{(t)})+\log p(\theta^{(t)})\big)" in proof.keng_lines(s)[3].formula


def test_a_violation_is_reported_not_hidden():
    s = proof.ProofStep(t=0, loglik_t=-10.0, loglik_next=-11.0, objective_t=-10.0,
                        objective_next=-11.0, log_prior_t=0.0, log_prior_next=0.0, q_old=-12.0,
                        q_new=-12.5, entropy=2.0, elbo=-10.5, kl=-0.5, regularised=False,
                        hard=False, n_samples=10, ce_old=2.0, ce_new=1.5)
    keng = proof.keng_lines(s)
    assert keng[4].holds is False and keng[6].holds is False
    assert r"\times" in keng[6].numbers


def test_rounding_level_negative_is_equal_not_violated():
    s = proof.ProofStep(t=0, loglik_t=-1000.0, loglik_next=-1000.0 - 1e-12, objective_t=-1000.0,
                        objective_next=-1000.0 - 1e-12, log_prior_t=0.0, log_prior_next=0.0,
                        q_old=-1100.0, q_new=-1100.0, entropy=100.0, elbo=-1000.0, kl=0.0,
                        regularised=False, hard=False, n_samples=272, ce_old=100.0,
                        ce_new=100.0)
    line = proof.keng_lines(s)[6]
    assert line.holds is True and "rounding" in line.numbers


# --- figures ------------------------------------------------------------------------------------


def test_bars_figure_carries_the_numbers(fit_1d):
    X, trace = fit_1d
    s = proof.proof_step(X, trace, 2)
    fig = validated(proof.bishop_bars_figure(s, "M"))
    bound, kl, top = fig.data[0], fig.data[1], fig.data[2]
    tops = decode(bound.base) + decode(bound.y)
    np.testing.assert_allclose(tops, [s.bound_e, s.bound_m], rtol=0, atol=1e-9)
    np.testing.assert_allclose(decode(kl.base), [s.bound_e, s.bound_m], rtol=0, atol=0)
    # gaps are shown as they are, except round-off (|gap| ≤ 1e-10 of the scale), shown as 0
    scale = max(1.0, abs(trace.objective[2]), abs(s.q_old), len(X))
    shown = [0.0 if abs(v) <= 1e-10 * scale else v for v in (s.kl_e, trace.kl[2])]
    np.testing.assert_allclose(decode(kl.customdata), shown, rtol=0, atol=0)
    np.testing.assert_allclose(decode(top.y), trace.objective[2:4], rtol=0, atol=0)
    # bound + KL stack up to ℓ(θ_{t+1}) on the M-step bar
    assert tops[1] + decode(kl.y)[1] == pytest.approx(trace.objective[3], abs=1e-8)
    # the E-step bar is faded on the M half-step, and the other way round
    assert list(bound.marker.opacity) == [0.35, 1.0]
    assert list(validated(proof.bishop_bars_figure(s, "E")).data[0].marker.opacity) == [1.0, 0.35]
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert f"{trace.objective[3]:.4f}" in texts
    # the axis starts below both bars and leaves room above ℓ(θ_{t+1})
    lo, hi = fig.layout.yaxis.range
    assert lo < s.bound_e and hi > trace.objective[3]


def test_bound_curve_figure_plots_emcore_bound_curve(fit_1d):
    X, trace = fit_1d
    t = 1
    s = proof.proof_step(X, trace, t)
    curve = emcore.bound_curve(trace, t)
    fig = validated(proof.bound_curve_figure(curve, s))
    np.testing.assert_array_equal(decode(fig.data[0].x), curve["a"])
    np.testing.assert_array_equal(decode(fig.data[0].y), curve["objective"])
    np.testing.assert_array_equal(decode(fig.data[1].y), curve["bound"])
    np.testing.assert_allclose(decode(fig.data[2].y),
                               [trace.objective[t], s.bound_m, trace.objective[t + 1]])
    # the marked points lie on the curves: touching at a=0, bound peak at a=1
    a = np.asarray(curve["a"])
    i0, i1 = np.argmin(np.abs(a)), np.argmin(np.abs(a - 1))
    scale = max(1.0, abs(trace.objective[t]))
    assert curve["objective"][i0] == pytest.approx(trace.objective[t], abs=1e-8 * scale)
    assert curve["bound"][i0] == pytest.approx(trace.objective[t], abs=1e-8 * scale)
    assert curve["bound"][i1] == pytest.approx(s.bound_m, abs=1e-8 * scale)
    assert curve["objective"][i1] == pytest.approx(trace.objective[t + 1], abs=1e-8 * scale)
    lo, hi = fig.layout.yaxis.range
    assert lo < trace.objective[t] < trace.objective[t + 1] < hi


@pytest.mark.parametrize("log_scale", [False, True])
def test_gains_figure(fit_1d, log_scale):
    _, trace = fit_1d
    t = 3
    fig = validated(proof.gains_figure(trace, t, log_scale=log_scale))
    bar = fig.data[0]
    gains = np.array([trace.objective[i + 1] - trace.objective[i] for i in range(trace.n_iter)])
    np.testing.assert_array_equal(decode(bar.x), np.arange(1, trace.n_iter + 1))
    np.testing.assert_allclose(decode(bar.customdata), gains, rtol=0, atol=0)
    y = decode(bar.y)
    if log_scale:
        assert fig.layout.yaxis.type == "log"
        np.testing.assert_allclose(y[gains > 0], gains[gains > 0])
        assert np.all(np.isnan(y[gains <= 0]))
    else:
        np.testing.assert_allclose(y, gains)
    colors = list(bar.marker.color)
    assert colors[t] == proof.CURRENT_COLOR
    assert colors.count(proof.CURRENT_COLOR) == 1
    assert "≥ 0 ✓" in fig.layout.title.text
    # for the step player: the bars are the same at every t, only the layout's band moves
    a, b = (validated(proof.gains_figure(trace, u, log_scale=log_scale, colour_current=False))
            for u in (t, t + 1))
    assert a.data == b.data and set(a.data[0].marker.color) == {proof.OTHER_COLOR}
    (band_a,), (band_b,) = ([sh for sh in f.layout.shapes if sh.type == "rect"] for f in (a, b))
    assert (band_a.x0, band_a.x1, band_b.x0) == (t + 0.5, t + 1.5, t + 1.5)


def test_gains_figure_flags_a_decrease():
    class FakeTrace:  # only the attributes gains_figure reads
        objective = np.array([-10.0, -9.0, -9.5, -9.4])
        n_samples = 10
        family = "gaussian"
        reg = 0.0

    fig = validated(proof.gains_figure(FakeTrace(), 0))
    assert "went DOWN" in fig.layout.title.text
    assert list(fig.data[0].marker.color)[1] == "#CC0000"


@pytest.mark.parametrize("stage", ["init", "E", "M"])
def test_every_figure_is_valid_plotly(fit_1d, fit_hard, fit_2d_reg, stage):
    # the builders return figure dictionaries (no validation, for speed): Plotly's validation
    # accepts every property and keeps every value as the builder wrote it
    for X, trace in (fit_1d, fit_hard, fit_2d_reg):
        s = proof.proof_step(X, trace, 1)
        figs = [proof.bishop_bars_figure(s, stage),
                proof.bound_curve_figure(emcore.bound_curve(trace, 1, n_points=11), s),
                proof.gains_figure(trace, 1), proof.gains_figure(trace, 1, log_scale=True)]
        for raw in figs:
            fig = validated(raw)
            assert same_drawing(raw, fig)
            assert fig.layout.title.text and len(fig.to_json()) < 5_000_000


def test_a_fit_that_collapses_still_obeys_every_line():
    # one far-away point and a component started on it: the variance shrinks towards zero,
    # ℓ runs away upwards and EM stops as degenerate — but every step it took is still a rise
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0.0, 1.0, 200), [8.0]])
    start = emcore.GaussianParams(np.array([0.5, 0.5]), np.array([[8.0], [0.0]]),
                                  np.array([[[9.0]], [[1.0]]]))
    trace = emcore.fit_gaussian_mixture(x, 2, init=start, reg=0.0, max_iter=100, tol=None)
    assert trace.status == "degenerate" and trace.n_iter >= 3
    for t in range(trace.n_iter):
        s = proof.proof_step(x, trace, t)
        assert all(line.holds is not False for line in proof.keng_lines(s) + proof.bishop_lines(s))
        curve = emcore.bound_curve(trace, t, n_points=proof.CURVE_POINTS)
        fig = validated(proof.bound_curve_figure(curve, s))
        assert np.isfinite(decode(fig.data[0].y)).all() and np.isfinite(decode(fig.data[1].y)).all()
        lo, hi = fig.layout.yaxis.range
        assert np.isfinite([lo, hi]).all() and lo < s.objective_t < s.objective_next < hi
    assert "≥ 0 ✓" in validated(proof.gains_figure(trace)).layout.title.text


def _luminance(hex_color: str) -> float:
    r, g, b = (int(hex_color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_bound_curve_arrows_read_on_light_and_dark(fit_1d):
    """Every arrow has its own colour, with ≥ 3:1 contrast on Streamlit's light and dark
    backgrounds (Plotly's default #444 is 1.8:1 on the dark one)."""
    X, trace = fit_1d
    curve = emcore.bound_curve(trace, 1, n_points=11)
    fig = validated(proof.bound_curve_figure(curve, proof.proof_step(X, trace, 1)))
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    assert len(arrows) == 3
    for a in arrows:
        assert a.arrowcolor is not None
        assert _contrast(a.arrowcolor, "#FFFFFF") >= 3.0 and _contrast(a.arrowcolor, "#0E1117") >= 3.0
