"""emcore.linkage: Dempster, Laird & Rubin's genetic-linkage EM against independent computations.

The references here are (a) the values printed in DLR (1977), Table 1, (b) exact rational
arithmetic with ``fractions.Fraction``, (c) scipy's multinomial log-pmf and root finder, and
(d) the lower bound computed as an explicit expectation over the binomial split of y₁.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from scipy import optimize, stats

from emcore import half_step_label
from emcore import linkage as L

Y = (125, 18, 20, 34)
#: DLR (1977), Table 1, column θ^(p), p = 0 … 8, and their θ* — typed in from the paper.
PUBLISHED = [0.500000000, 0.608247423, 0.624321051, 0.626488879, 0.626777323, 0.626815632,
             0.626820719, 0.626821395, 0.626821484]
PUBLISHED_STAR = 0.626821498


def exact_iterates(n: int) -> list[Fraction]:
    """EM in exact rational arithmetic: x₂ = y₁θ/(2 + θ), θ' = (x₂ + y₄)/(x₂ + y₂ + y₃ + y₄)."""
    th = Fraction(1, 2)
    out = [th]
    for _ in range(n):
        x2 = Fraction(Y[0]) * th / (2 + th)
        th = (x2 + Y[3]) / (x2 + Y[1] + Y[2] + Y[3])
        out.append(th)
    return out


def scipy_loglik(theta: float) -> float:
    p = [0.5 + theta / 4, (1 - theta) / 4, (1 - theta) / 4, theta / 4]
    return float(stats.multinomial.logpmf(Y, n=sum(Y), p=p))


@pytest.fixture(scope="module")
def trace():
    return L.fit_linkage()


def test_iterates_match_dlr_table_1_to_1e9(trace):
    assert trace.n_iter >= len(PUBLISHED) - 1
    np.testing.assert_allclose(trace.theta[:len(PUBLISHED)], PUBLISHED, rtol=0, atol=1e-9)
    np.testing.assert_allclose(L.DLR_TABLE1, PUBLISHED, rtol=0, atol=0)
    assert abs(trace.theta[-1] - PUBLISHED_STAR) < 1e-9


def test_iterates_match_exact_rational_arithmetic(trace):
    exact = exact_iterates(trace.n_iter)
    np.testing.assert_allclose(trace.theta, [float(v) for v in exact], rtol=0, atol=2e-16)
    # where our nine decimals differ from DLR's print, the exact value rounds to ours
    cmp = L.compare_table1(trace)
    assert cmp["rows"] == len(PUBLISHED) and cmp["max_abs_diff"] < 1e-9
    assert cmp["differ_rows"]  # the page states which rows differ: there are some
    for t in range(len(PUBLISHED)):
        exact9 = f"{float(exact[t]):.9f}"
        assert exact9 == f"{trace.theta[t]:.9f}"
        assert (exact9 != f"{PUBLISHED[t]:.9f}") == (t in cmp["differ_rows"])
        # and they differ by one unit in the ninth decimal at most
        assert abs(round(float(exact[t]) * 1e9) - round(PUBLISHED[t] * 1e9)) <= 1


def test_closed_form_maximum(trace):
    ts = L.mle(Y)
    # independent: the root of ℓ'(θ) from scipy's multinomial log-pmf (numerical derivative)
    root = optimize.brentq(lambda th: (scipy_loglik(th + 1e-7) - scipy_loglik(th - 1e-7)), 0.3,
                           0.9, xtol=1e-14)
    assert abs(ts - root) < 1e-8
    # the quadratic 197θ² − 15θ − 68 = 0 the page quotes, and (15 + √53809)/394
    assert abs(197 * ts**2 - 15 * ts - 68) < 1e-12
    assert abs(ts - (15 + np.sqrt(53809)) / 394) < 1e-15
    assert abs(ts - PUBLISHED_STAR) < 5e-10
    # θ* is the fixed point of the EM map, and the iterates converge to it
    assert abs(L.m_step(L.e_step(ts)) - ts) < 1e-15
    assert abs(trace.theta[-1] - ts) < 1e-10
    assert trace.theta_star == ts


def test_log_likelihood_is_the_multinomial_log_pmf(trace):
    for th in (0.1, 0.5, trace.theta[3], 0.9):
        assert L.log_likelihood(th) == pytest.approx(scipy_loglik(th), abs=1e-10)
    np.testing.assert_allclose(trace.log_likelihood, [scipy_loglik(v) for v in trace.theta],
                               atol=1e-10)
    assert np.all(np.diff(trace.log_likelihood) >= -1e-12)


def test_rate_is_the_derivative_of_the_em_map_and_the_missing_information():
    ts = L.mle(Y)
    h = 1e-6
    numeric = (L.m_step(L.e_step(ts + h)) - L.m_step(L.e_step(ts - h))) / (2 * h)
    assert L.rate(Y) == pytest.approx(numeric, abs=1e-8)
    assert L.missing_information_fraction(Y) == pytest.approx(L.rate(Y), abs=1e-13)
    # DLR's ratio column: .1465, .1346, .1330, .1328, .1328, ...
    r = L.fit_linkage().ratios
    np.testing.assert_allclose(r[:4], [0.1465, 0.1346, 0.1330, 0.1328], atol=6e-5)
    assert abs(r[6] - L.rate(Y)) < 1e-6


def elbo_by_expectation(theta: float, theta_t: float) -> float:
    """𝓛(q_t, θ) = Σ_{x₂} q_t(x₂) [log p(x₁, x₂, y₂, y₃, y₄ | θ) − log q_t(x₂)],
    q_t = Binomial(y₁, (θ_t/4)/(1/2 + θ_t/4)), the complete data a 5-cell multinomial."""
    p = (theta_t / 4) / (0.5 + theta_t / 4)
    x2 = np.arange(Y[0] + 1)
    q = stats.binom.pmf(x2, Y[0], p)
    cells = [0.5, theta / 4, (1 - theta) / 4, (1 - theta) / 4, theta / 4]
    total = 0.0
    for k, qk in zip(x2, q, strict=True):
        if qk == 0:
            continue
        comp = [Y[0] - k, k, Y[1], Y[2], Y[3]]
        total += qk * (stats.multinomial.logpmf(comp, n=sum(Y), p=cells) - np.log(qk))
    return float(total)


@pytest.mark.parametrize("t", [0, 1, 3])
def test_bound_is_the_elbo_touches_at_theta_t_peaks_at_theta_next(trace, t):
    th_t = float(trace.theta[t])
    grid = np.linspace(0.02, 0.98, 481)
    c = L.curves(grid, th_t)
    ll = c["loglik_t"] + c["loglik_rel"]
    bd = c["loglik_t"] + c["bound_rel"]
    np.testing.assert_allclose(ll, [scipy_loglik(v) for v in grid], atol=1e-9)
    # the bound is Neal & Hinton's 𝓛(q_t, θ), computed here as an explicit expectation
    for th in (0.2, th_t, float(trace.theta[t + 1]), 0.8):
        cc = L.curves(th, th_t)
        assert cc["loglik_t"] + cc["bound_rel"] == pytest.approx(elbo_by_expectation(th, th_t),
                                                                abs=1e-8)
    # below ℓ everywhere, touching at θ_t
    assert np.all(bd <= ll + 1e-12)
    at_t = L.curves(th_t, th_t)
    assert at_t["loglik_rel"] == 0.0 and at_t["bound_rel"] == 0.0
    # peaks at θ_{t+1}: the bound's derivative vanishes there and it is lower on both sides
    nxt = float(trace.theta[t + 1])
    d = 1e-6
    left, mid, right = (L.curves(v, th_t)["bound_rel"] for v in (nxt - d, nxt, nxt + d))
    assert mid >= left and mid >= right
    assert trace.bound[t] == pytest.approx(elbo_by_expectation(nxt, th_t), abs=1e-8)
    assert trace.kl[t] == pytest.approx(scipy_loglik(nxt) - elbo_by_expectation(nxt, th_t),
                                        abs=1e-8)


def test_late_steps_keep_their_digits(trace):
    """With |θ − θₜ| ~ 1e-10 the relative curves are still ordered and non-zero."""
    t = trace.n_iter - 2
    th_t, nxt = float(trace.theta[t]), float(trace.theta[t + 1])
    c = L.curves(np.array([th_t, nxt]), th_t)
    assert c["bound_rel"][1] > 0 and c["loglik_rel"][1] >= c["bound_rel"][1]


def _dec(v: Fraction) -> Decimal:
    return Decimal(v.numerator) / Decimal(v.denominator)


def decimal_loglik(theta: Fraction) -> Decimal:
    """ℓ(θ) − const = y₁ log(2 + θ) + (y₂ + y₃) log(1 − θ) + y₄ log θ in 60-digit decimals."""
    th = _dec(theta)
    return (Y[0] * (2 + th).ln() + (Y[1] + Y[2]) * (1 - th).ln() + Y[3] * th.ln())


def decimal_bound_gain(theta: Fraction, theta_t: Fraction) -> Decimal:
    """Q(θ | θₜ) − Q(θₜ | θₜ) = (x₂ + y₄) log(θ/θₜ) + (y₂ + y₃) log((1 − θ)/(1 − θₜ))."""
    x2 = _dec(Fraction(Y[0]) * theta_t / (2 + theta_t))
    return ((x2 + Y[3]) * (_dec(theta) / _dec(theta_t)).ln()
            + (Y[1] + Y[2]) * ((1 - _dec(theta)) / (1 - _dec(theta_t))).ln())


def test_gains_and_gaps_keep_their_digits_at_every_step(trace):
    """ℓ's gain and the KL gap of every step against 60-digit decimal arithmetic on the exact
    iterates; late steps (gains ~ 1e-20) keep their leading digits."""
    exact = exact_iterates(trace.n_iter)
    with localcontext() as ctx:
        ctx.prec = 60
        for t in range(trace.n_iter):
            gain = decimal_loglik(exact[t + 1]) - decimal_loglik(exact[t])
            kl = gain - decimal_bound_gain(exact[t + 1], exact[t])
            assert trace.gain[t] == pytest.approx(float(gain), rel=1e-5)
            assert trace.kl[t] == pytest.approx(float(kl), rel=1e-4)
            assert trace.gain[t] > 0 and 0 < trace.kl[t] < trace.gain[t]


def test_half_steps_follow_the_slider_convention(trace):
    assert trace.n_half_steps == 2 * trace.n_iter + 1
    for s in range(trace.n_half_steps):
        hs = trace.half_step(s)
        assert hs.label == half_step_label(s)
    assert trace.half_step(0).params == 0.5 and trace.half_step(0).resp is None
    e1, m1 = trace.half_step(1), trace.half_step(2)
    assert e1.kind == "E" and e1.params == 0.5 and e1.resp[1] == pytest.approx(25.0)
    assert m1.kind == "M" and m1.params == pytest.approx(59 / 97, abs=1e-16)
    with pytest.raises(IndexError):
        trace.half_step(trace.n_half_steps)


def test_bad_input():
    with pytest.raises(ValueError):
        L.fit_linkage(theta0=1.0)
    with pytest.raises(ValueError):
        L.fit_linkage(y=(1, 2, 3))
    with pytest.raises(ValueError):
        L.log_likelihood(0.5, y=(-1, 2, 3, 4))
