"""Predict-then-reveal questions: every kind, its right and a wrong answer, on hand-computed runs.

The runs are small enough to do by hand: five points, two unit-variance components with equal
weights to start, so the first responsibilities are a logistic function of x. The test
recomputes each EM step with its own few lines of numpy (not emcore) and checks the questions'
answers against them.
"""

import math
import re

import numpy as np
import pytest

import emcore
from emviz import exercises as ex

X = np.array([-1.0, 0.0, 1.5, 3.0, 5.0])
START = emcore.GaussianParams([0.5, 0.5], [[0.0], [4.0]], [1.0, 1.0])


def _hand_step(x, w, mu, var):
    """One EM step by hand: responsibilities, then weighted means, variances, weights."""
    dens = np.array([w[k] / math.sqrt(2 * math.pi * var[k]) * np.exp(-(x - mu[k]) ** 2 / (2 * var[k]))
                     for k in range(2)]).T
    ll = float(np.sum(np.log(dens.sum(axis=1))))
    r = dens / dens.sum(axis=1, keepdims=True)
    Nk = r.sum(axis=0)
    mu1 = (r * x[:, None]).sum(axis=0) / Nk
    var1 = (r * (x[:, None] - mu1) ** 2).sum(axis=0) / Nk
    return r, ll, Nk / len(x), mu1, var1


@pytest.fixture(scope="module")
def run():
    trace = emcore.fit_gaussian_mixture(X, 2, init=START, max_iter=6, tol=None)
    w, mu, var = np.array([0.5, 0.5]), np.array([0.0, 4.0]), np.array([1.0, 1.0])
    hand = []
    for _ in range(6):
        r, ll, w1, mu1, var1 = _hand_step(X, w, mu, var)
        hand.append(dict(r=r, ll=ll, w=w, mu=mu, w1=w1, mu1=mu1))
        w, mu, var = w1, mu1, var1
    return trace, hand


def test_hand_run_matches_the_trace(run):
    trace, hand = run
    # first responsibilities: equal weights and variances, so r_i2 = logistic(4x − 8)
    assert np.allclose(hand[0]["r"][:, 1], 1 / (1 + np.exp(-(4 * X - 8))))
    for t in range(6):
        assert trace.log_likelihood[t] == pytest.approx(hand[t]["ll"], rel=1e-12)
        assert np.allclose(trace.params[t + 1].means[:, 0], hand[t]["mu1"])


def _wrong(q):
    return next(c for c in q.choices if c != q.answer)


def _check_both(q):
    assert ex.grade(q, q.answer).correct
    bad = ex.grade(q, _wrong(q))
    assert not bad.correct and str(q.answer) in bad.feedback
    assert str(q.answer) not in q.prompt  # the wording never gives the answer away


def test_assign(run):
    trace, hand = run
    q = ex.question_for(trace, 0)
    assert q.kind == "assign" and q.proof_line == "E" and q.about == "E-step 1"
    i = q.context["point"]
    k = int(np.argmax(hand[0]["r"][i]))
    assert q.answer == f"component {k + 1}" and f"x = {X[i]:.4f}" in q.prompt
    assert np.allclose(q.context["resp"], hand[0]["r"][i])
    _check_both(q)
    # the point is an interesting one: not certain
    assert hand[0]["r"][i].max() < 0.95 or np.all(hand[0]["r"].max(axis=1) >= 0.95)
    q4 = ex.question_for(trace, 4)  # θ⁽²⁾ on screen, E-step 3 next
    assert q4.kind == "assign"
    assert q4.answer == f"component {int(np.argmax(hand[2]['r'][q4.context['point']])) + 1}"


def test_e_effect(run):
    trace, hand = run
    q = ex.question_for(trace, 2)  # θ₁ after M-step 1, E-step 2 next
    assert q.kind == "e_effect" and q.answer == "it stays exactly the same"
    assert f"ℓ(θ⁽¹⁾) = {hand[1]['ll']:,.4f}" in q.explanation and "E line" in q.explanation
    assert not ex.grade(q, "it rises").correct
    _check_both(q)


def test_m_effect(run):
    trace, hand = run
    q = ex.question_for(trace, 1)  # E-step 1 on screen, M-step 1 next
    assert q.kind == "m_effect" and q.proof_line == "KL"
    assert q.answer.startswith("it rises or stays equal: the M-step maximises a lower bound")
    assert len(q.choices) == 4 and q.answer in q.choices
    assert f"{hand[0]['ll']:,.4f}" in q.explanation and f"{hand[1]['ll']:,.4f}" in q.explanation
    assert not ex.grade(q, "it can fall when the update overshoots, as a gradient step with too "
                           "large a step can").correct
    _check_both(q)
    # the choices are shuffled per half-step, so the right one is not always in one place
    long = emcore.fit_gaussian_mixture(X, 2, init=START, max_iter=30, tol=None)
    qs = [ex.question_for(long, s) for s in range(1, 60, 6)]
    assert all(q.kind == "m_effect" for q in qs)
    assert len({q.choices.index(q.answer) for q in qs}) >= 3


def test_direction(run):
    trace, hand = run
    q = ex.question_for(trace, 3)  # E-step 2 on screen, M-step 2 next (t = 1)
    assert q.kind == "direction" and q.proof_line == "M"
    k = q.context["k"]
    delta = hand[1]["mu1"][k] - hand[1]["mu"][k]
    assert q.context["delta"] == pytest.approx(delta)
    spread = X.std()
    expected = ("it barely moves" if abs(delta) < ex.STILL_FRACTION * spread else
                "to the left (lower)" if delta < 0 else "to the right (higher)")
    assert q.answer.startswith(expected)
    assert f"μ{'₁₂'[k]}" in q.prompt
    _check_both(q)


def test_weight(run):
    trace, hand = run
    q = ex.question_for(trace, 5)  # E-step 3 on screen, M-step 3 next (t = 2)
    assert q.kind == "weight" and q.numeric and q.bounds == (0.0, 1.0, 0.01)
    k = q.context["k"]
    assert k == 1 and "π₂" in q.prompt
    truth = hand[2]["w1"][k]
    assert q.answer == pytest.approx(truth, abs=1e-12)
    assert ex.grade(q, truth + 0.015).correct and ex.grade(q, truth - 0.019).correct
    assert not ex.grade(q, truth + 0.03).correct and not ex.grade(q, truth - 0.5).correct
    assert not ex.grade(q, "abc").correct and not ex.grade(q, float("nan")).correct
    assert f"{truth:.2f}" not in q.prompt


def test_local_max(run):
    trace, _ = run
    last = trace.n_half_steps - 1
    assert trace.status == "max_iter"
    q = ex.question_for(trace, last, restart_objectives=[trace.objective[-1] - 5])
    assert q.kind == "local_max" and q.answer == ex.LOCAL_CHOICES[2]
    _check_both(q)
    conv = emcore.fit_gaussian_mixture(X, 2, init=START, tol=1e-10, max_iter=500)
    assert conv.status == "converged"
    end = conv.n_half_steps - 1
    f = conv.objective[-1]
    assert ex.question_for(conv, end, restart_objectives=[f - 1, f]).answer == ex.LOCAL_CHOICES[0]
    q = ex.question_for(conv, end, restart_objectives=[f - 1, f + 2])
    assert q.answer == ex.LOCAL_CHOICES[1] and f"{f + 2:.3f}" in q.explanation
    _check_both(q)
    assert ex.question_for(conv, end).answer == ex.LOCAL_CHOICES[0]


def test_local_max_degenerate():
    x = np.concatenate([np.linspace(0, 1, 30), [6.0]])
    start = emcore.GaussianParams([0.5, 0.5], [[6.0], [0.5]], [1e-4, 0.1])
    tr = emcore.fit_gaussian_mixture(x, 2, init=start, max_iter=100, tol=None)
    assert tr.status == "degenerate"
    q = ex.question_for(tr, tr.n_half_steps - 1, restart_objectives=[0.0])
    assert q.answer == ex.LOCAL_CHOICES[3]
    _check_both(q)


def test_prior_and_hard_say_what_rises():
    reg = emcore.fit_gaussian_mixture(X, 2, init=START, max_iter=3, tol=None, reg=0.5)
    q = ex.question_for(reg, 1)
    assert q.kind == "m_effect" and q.answer.startswith("ℓ + log p rises or stays equal")
    assert "ℓ alone may dip" in q.answer and "ℓ + log p" in q.prompt
    assert "ℓ itself always rises: the prior only adds a constant" in q.choices
    assert ex.question_for(reg, 2).prompt.count("ℓ + log p") == 1
    assert f"ℓ + log p(θ⁽¹⁾) = {reg.objective[1]:,.4f}" in ex.question_for(reg, 2).explanation
    hard = emcore.fit_gaussian_mixture(X, 2, init=START, max_iter=3, tol=None, hard=True)
    qh = ex.question_for(hard, 1)
    assert qh.answer.startswith("ℓ_C rises or stays equal") and "ℓ itself may fall" in qh.answer
    assert "ℓ_C" in qh.prompt
    _check_both(qh)


def _hand_multinomial_step(C, w, P):
    logp = np.log(w)[None, :] + C @ np.log(P).T
    r = np.exp(logp - logp.max(axis=1, keepdims=True))
    r /= r.sum(axis=1, keepdims=True)
    P1 = r.T @ C
    return r, r.mean(axis=0), P1 / P1.sum(axis=1, keepdims=True)


def test_multinomial_questions():
    C = np.array([[5, 1, 0], [4, 2, 1], [0, 1, 6], [1, 0, 5], [3, 3, 3], [6, 0, 1]])
    w0 = np.array([0.3, 0.7])
    P0 = np.array([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    tr = emcore.fit_multinomial_mixture(C, 2, init=emcore.MultinomialParams(w0, P0), max_iter=4,
                                        tol=None)
    w, P = w0, P0
    steps = []
    for _ in range(3):
        r, w1, P1 = _hand_multinomial_step(C, w, P)
        steps.append((r, w, w1))
        w, P = w1, P1
    q0 = ex.question_for(tr, 0)  # no point to name: the largest share instead
    assert q0.kind == "largest_share"
    assert q0.answer == f"segment {int(np.argmax(steps[0][0].mean(axis=0))) + 1}"
    _check_both(q0)
    q3 = ex.question_for(tr, 3)  # M-step 2 next: which segment grows most
    assert q3.kind == "grows"
    assert q3.answer == f"segment {int(np.argmax(steps[1][2] - steps[1][1])) + 1}"
    _check_both(q3)
    q5 = ex.question_for(tr, 5)
    assert q5.kind == "weight" and q5.answer == pytest.approx(steps[2][2][q5.context["k"]])


def test_every_half_step_has_a_question(run):
    trace, _ = run
    kinds = [ex.question_for(trace, s).kind for s in range(trace.n_half_steps)]
    assert kinds[-1] == "local_max" and set(kinds) >= {"assign", "e_effect", "m_effect",
                                                        "direction", "weight"}
    with pytest.raises(IndexError):
        ex.question_for(trace, trace.n_half_steps)


def test_sheet(run):
    trace, hand = run
    qs = ex.run_questions(trace, max_questions=6)
    assert [q.s for q in qs] == [0, 1, 2, 3, 4, trace.n_half_steps - 1]
    responses = {0: qs[0].answer, 1: _wrong(qs[1])}
    md = ex.sheet_markdown(qs, "Five points", "K = 2", responses)
    assert md.startswith("# Exercise sheet — Five points")
    qpart, apart = md.split("## Answers")
    for n, q in enumerate(qs, 1):
        assert f"{n}. *On screen: " in qpart and q.prompt in qpart
        for c in q.choices:
            assert c in qpart
        assert ex.answer_text(q) in apart and q.explanation in apart
    assert "Your answer: " + qs[0].answer + " (right)" in apart
    assert "(wrong)" in apart and apart.count("Your answer") == 2
    lines = ex.sheet_lines(qs, "Five points", "K = 2", responses)
    assert all(len(t) <= 92 for _, t in lines) and ("head", "Answers") in lines
    # every character is in the PDF's font
    from matplotlib import font_manager, ft2font

    font = ft2font.FT2Font(font_manager.findfont("DejaVu Sans"))
    have = set(font.get_charmap())
    missing = {c for _, t in lines for c in t if ord(c) not in have}
    assert not missing
    pdf = ex.sheet_pdf(qs, "Five points", "K = 2", responses)
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    n_pages = math.ceil(len(lines) / ex.PER_PAGE)
    assert n_pages >= 2
    assert len(re.findall(rb"/Type /Page[^s]", pdf)) == n_pages
    assert re.search(rb"/Count (\d+)", pdf).group(1) == str(n_pages).encode()
