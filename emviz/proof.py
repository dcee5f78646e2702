"""Numbers, derivation lines and figures for the "Why EM works" page.

Everything the page shows about one EM step θ⁽ᵗ⁾ → θ⁽ᵗ⁺¹⁾ is gathered in a
:class:`ProofStep`, whose fields are read from the :class:`emcore.Trace` or computed by
``emcore`` (``expected_complete_loglik``, ``entropy``, ``cross_entropy``, ``log_prior``). This
module only adds and subtracts those numbers to show the margins of the inequalities, formats
them, and draws them; it never re-derives a likelihood itself. No Streamlit here: every
function is pure and testable without a server.

Notation on the page (the glossary, ``emui.glossary``, lists it): iterations are superscripts,
θ⁽ᵗ⁾ (LaTeX ``\\theta^{(t)}``), and a subscript always means a component, θ_k. In code and
docstrings below, θ_t is shorthand for θ⁽ᵗ⁾. ``q_t = p(z | x, θ⁽ᵗ⁾)`` is the E-step's
distribution over the labels, q_t(z_i = k) = r_ik; ``Q(θ | θ⁽ᵗ⁾) = Σ_i Σ_k r_ik log[π_k
p(x_i | θ_k)]`` the expected complete-data log-likelihood; ``H(q_t)`` its entropy;
``𝓛(q, θ) = Q + H(q)`` the lower bound (Bishop's ℒ, the ELBO); ``KL = ℓ(θ) − 𝓛(q, θ)``. With a
prior or penalty, ℓ and Q are both taken together with ``log p(θ)`` and the argument is
unchanged; for hard EM the objective is the classification log-likelihood ℓ_C.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import emcore
from emviz.common import has_penalty, nice_ticks, objective_symbol, y_axis_room
from emviz.texnum import fmt, fmt_plain, fmt_small

# Colours of the three quantities of the proof. They are Okabe–Ito colours (colour-blind
# safe) but this page shows no mixture components, so they cannot be confused with them.
LOGLIK_COLOR = "#0072B2"  # ℓ(θ) (or the objective ℓ + log prior)
BOUND_COLOR = "#009E73"  # the lower bound L(q, θ)
KL_COLOR = "#D55E00"  # the gap KL(q ‖ p(z | x, θ))
#: Annotation arrows: a mid grey that reads on the light and the dark theme (Plotly's
#: default #444 vanishes on dark).
ARROW_COLOR = "#8C8C8C"
CURRENT_COLOR = "#D55E00"  # the current step in the gains chart
OTHER_COLOR = "#56B4E9"  # the other steps in the gains chart

#: Points of the bound curve the page asks ``emcore.bound_curve`` for (a ∈ [−0.5, 1.5]).
CURVE_POINTS = 41

#: Relative size below which a negative margin is floating-point rounding, not a violation.
ROUNDING = 1e-10


@dataclass(frozen=True)
class ProofStep:
    """Every number of the proof for one EM step θ_t → θ_{t+1} (t = 0 … n_iter − 1).

    All ``*_obj`` quantities include the log-prior when the fit is regularised (they equal the
    plain quantities when it is not).

    Attributes
    ----------
    t : int
        The step index: this is "iteration t + 1" on the page.
    loglik_t, loglik_next : float
        ℓ(θ_t) and ℓ(θ_{t+1}) (``trace.log_likelihood``).
    objective_t, objective_next : float
        ℓ + log p(θ) at θ_t and θ_{t+1} (``trace.objective``).
    log_prior_t, log_prior_next : float
        log p(θ_t) and log p(θ_{t+1}) (``emcore.log_prior``; 0 without regularisation).
    q_old : float
        Q(θ_t | θ_t) = ``emcore.expected_complete_loglik(X, q_t, θ_t)``.
    q_new : float
        Q(θ_{t+1} | θ_t) (``trace.q[t]``).
    entropy : float
        H(q_t) (``trace.entropy[t]``).
    elbo : float
        L(q_t, θ_{t+1}) = Q(θ_{t+1} | θ_t) + H(q_t) (``trace.elbo[t]``, no prior).
    kl : float
        KL(q_t ‖ p(z | x, θ_{t+1})) (``trace.kl[t]``).
    regularised, hard : bool
        Whether the fit maximised ℓ + log prior, and whether it was hard (classification) EM.
    n_samples : int
        N, used to judge floating-point rounding.
    ce_old, ce_new : float
        The cross-entropies H(q_t, p_{θ_t}) and H(q_t, p_{θ_{t+1}}) = −Σ q_t log p(z | x, θ),
        computed by ``emcore.cross_entropy`` from the data (not from ℓ − Q), so the proof's
        cross-entropy rows are a real check. NaN for hard EM (not shown there).
    """

    t: int
    loglik_t: float
    loglik_next: float
    objective_t: float
    objective_next: float
    log_prior_t: float
    log_prior_next: float
    q_old: float
    q_new: float
    entropy: float
    elbo: float
    kl: float
    regularised: bool
    hard: bool
    n_samples: int
    ce_old: float
    ce_new: float

    # --- sums and differences of the numbers above (the page shows these) -----------------
    @property
    def q_old_obj(self) -> float:
        """Q(θ_t | θ_t) + log p(θ_t): what the M-step compares against."""
        return self.q_old + self.log_prior_t

    @property
    def q_new_obj(self) -> float:
        """Q(θ_{t+1} | θ_t) + log p(θ_{t+1}): what the M-step maximised."""
        return self.q_new + self.log_prior_next

    @property
    def bound_e(self) -> float:
        """L(q_t, θ_t) (+ log prior): the bound right after the E-step."""
        return self.q_old_obj + self.entropy

    @property
    def bound_m(self) -> float:
        """L(q_t, θ_{t+1}) (+ log prior): the bound right after the M-step."""
        return self.elbo + self.log_prior_next

    @property
    def kl_e(self) -> float:
        """KL(q_t ‖ p(z | x, θ_t)) = objective(θ_t) − L(q_t, θ_t): zero for exact EM."""
        return self.objective_t - self.bound_e

    @property
    def cross_entropy_old(self) -> float:
        """H(q_t, p_{θ_t}), computed independently (equals H(q_t) for exact EM)."""
        return self.ce_old

    @property
    def cross_entropy_new(self) -> float:
        """H(q_t, p_{θ_{t+1}}), computed independently (= H(q_t) + KL(q_t ‖ p_{θ_{t+1}}))."""
        return self.ce_new

    @property
    def identity_gap_new(self) -> float:
        """objective(θ_{t+1}) − (Q(θ_{t+1} | θ_t) + log p + H(q_t, p_{θ_{t+1}})): zero up to
        round-off when the chain rule ℓ = Q + cross-entropy holds for these numbers."""
        return self.objective_next - self.q_new_obj - self.ce_new

    @property
    def q_gain(self) -> float:
        """Q(θ_{t+1} | θ_t) − Q(θ_t | θ_t) (each + log prior): the M-step's gain."""
        return self.q_new_obj - self.q_old_obj

    @property
    def bound_gain(self) -> float:
        """L(q_t, θ_{t+1}) − L(q_t, θ_t): equals :attr:`q_gain` (H(q_t) cancels)."""
        return self.bound_m - self.bound_e

    @property
    def loglik_gap_t(self) -> float:
        """ℓ(θ_t) + log p(θ_t) − objective(θ_t): 0 for soft EM; ℓ − ℓ_C > 0 for hard EM."""
        return self.loglik_t + self.log_prior_t - self.objective_t

    @property
    def loglik_change(self) -> float:
        """ℓ(θ_{t+1}) − ℓ(θ_t), the plain log-likelihood (guaranteed ≥ 0 only for soft EM)."""
        return self.loglik_next - self.loglik_t

    @property
    def gain(self) -> float:
        """objective(θ_{t+1}) − objective(θ_t): what EM promises is ≥ 0."""
        return self.objective_next - self.objective_t

    @property
    def scale(self) -> float:
        """Magnitude of the numbers involved, for judging floating-point rounding."""
        return max(1.0, abs(self.objective_t), abs(self.q_old), float(self.n_samples))

    def holds(self, margin: float) -> bool:
        """Whether ``margin ≥ 0`` up to floating-point rounding."""
        return margin >= -ROUNDING * self.scale

    def is_zero(self, value: float) -> bool:
        """Whether ``value`` is zero up to floating-point rounding."""
        return abs(value) <= ROUNDING * self.scale


def proof_step(X, trace, t: int) -> ProofStep:
    """Collect the numbers of the proof for the step θ_t → θ_{t+1} of ``trace``.

    Parameters
    ----------
    X : array (N, D) or (N, V) counts, dense or sparse
        The data the trace was fitted on (needed only for Q(θ_t | θ_t)).
    trace : emcore.Trace
    t : int
        0 ≤ t < trace.n_iter.

    Returns
    -------
    ProofStep
        Everything read from the trace (``objective``, ``log_likelihood``, ``log_prior``,
        ``q``, ``entropy``, ``elbo``, ``kl``) plus Q(θ_t | θ_t) from
        ``emcore.expected_complete_loglik`` with the trace's own q_t.
    """
    if not 0 <= t < trace.n_iter:
        raise ValueError(f"step t={t} outside 0..{trace.n_iter - 1}")
    resp = trace.responsibilities(t)
    hard = bool(getattr(trace, "hard", False))
    nan = float("nan")
    return ProofStep(
        t=int(t),
        loglik_t=float(trace.log_likelihood[t]),
        loglik_next=float(trace.log_likelihood[t + 1]),
        objective_t=float(trace.objective[t]),
        objective_next=float(trace.objective[t + 1]),
        log_prior_t=float(trace.log_prior[t]),
        log_prior_next=float(trace.log_prior[t + 1]),
        q_old=float(emcore.expected_complete_loglik(X, resp, trace.params[t])),
        q_new=float(trace.q[t]),
        entropy=float(trace.entropy[t]),
        elbo=float(trace.elbo[t]),
        kl=float(trace.kl[t]),
        regularised=is_regularised(trace),
        hard=hard,
        n_samples=int(trace.n_samples),
        ce_old=nan if hard else float(emcore.cross_entropy(X, resp, trace.params[t])),
        ce_new=nan if hard else float(emcore.cross_entropy(X, resp, trace.params[t + 1])),
    )


def is_regularised(trace) -> bool:
    """Whether the fit maximised ℓ + log prior rather than ℓ alone (``Trace.has_prior``)."""
    return has_penalty(trace)


# --- labels (numbers are formatted by emviz.texnum) -------------------------------------------


def shown_gap(step: ProofStep, value: float) -> float:
    """A gap theory says is ≥ 0 (a KL divergence), as shown: 0 when it is round-off."""
    return 0.0 if step.is_zero(value) else float(value)


def check_latex(step: ProofStep, margin: float, what: str = "margin") -> str:
    """``✓ margin …`` (or ``✗ violated by …``) as a LaTeX fragment."""
    if step.holds(margin):
        if margin == 0:
            return r"\quad\color{#009E73}{\checkmark\ \text{equal}}"
        if margin > 0:
            return rf"\quad\color{{#009E73}}{{\checkmark\ \text{{{what} }} {fmt_small(margin)}}}"
        return r"\quad\color{#009E73}{\checkmark\ \text{equal up to rounding}}"
    return rf"\quad\color{{#D55E00}}{{\times\ \text{{violated by }} {fmt_small(-margin)}}}"


# --- the derivation, line by line -----------------------------------------------------------


@dataclass(frozen=True)
class DerivationLine:
    """One line of the proof: a sentence, the formula, and the formula with numbers.

    Attributes
    ----------
    text : str
        Plain-language markdown (may contain ``$…$`` inline math).
    formula : str
        The symbolic LaTeX line.
    numbers : str or None
        The same line with the current step's numbers (LaTeX), ending in a check mark for
        inequalities and identities.
    holds : bool or None
        For an inequality or identity, whether it holds for these numbers.
    """

    text: str
    formula: str
    numbers: str | None = None
    holds: bool | None = None

    @property
    def latex(self) -> str:
        """Formula and numbers stacked in one ``aligned`` block for ``st.latex``."""
        if self.numbers is None:
            return self.formula
        return r"\begin{aligned}" + self.formula + r"\\[2pt]" + self.numbers + r"\end{aligned}"


def _names(step: ProofStep) -> dict[str, str]:
    """LaTeX names of ℓ and Q, with the log prior when the fit is regularised.

    For hard EM the quantity that provably rises is the classification log-likelihood
    ℓ_C(θ) = Σ_i max_k log π_k p(x_i | θ_k), so it is named ℓ_C.
    """
    ell = r"\ell_C" if step.hard else r"\ell"
    if step.regularised:
        return {
            "l_t": ell + r"(\theta^{(t)})+\log p(\theta^{(t)})",
            "l_n": ell + r"(\theta^{(t+1)})+\log p(\theta^{(t+1)})",
            "q_o": r"Q(\theta^{(t)}\mid\theta^{(t)})+\log p(\theta^{(t)})",
            "q_n": r"Q(\theta^{(t+1)}\mid\theta^{(t)})+\log p(\theta^{(t+1)})",
            "dl": r"\Delta(" + ell + r"+\log p)",
            "q_o_paren": r"\big(Q(\theta^{(t)}\mid\theta^{(t)})+\log p(\theta^{(t)})\big)",
        }
    return {
        "l_t": ell + r"(\theta^{(t)})",
        "l_n": ell + r"(\theta^{(t+1)})",
        "q_o": r"Q(\theta^{(t)}\mid\theta^{(t)})",
        "q_n": r"Q(\theta^{(t+1)}\mid\theta^{(t)})",
        "dl": ell + r"(\theta^{(t+1)})-" + ell + r"(\theta^{(t)})",
        "q_o_paren": r"Q(\theta^{(t)}\mid\theta^{(t)})",
    }


def _sum_line(a: float, b: float, c: float) -> str:
    """``a = b + c`` with numbers (a real minus sign for a negative c)."""
    sign = "-" if c < 0 else "+"
    return rf"{fmt(a)} &= {fmt(b)} {sign} {fmt(abs(c))}"


def keng_lines(step: ProofStep) -> list[DerivationLine]:
    """The proof as ℓ = Q + cross-entropy and Gibbs' inequality, with this step's numbers."""
    n = _names(step)
    s = step
    lines = [
        DerivationLine(
            text=(
                "**1. Chain rule.** For every point, $\\log p(x_i\\mid\\theta) = "
                "\\log p(x_i, z_i\\mid\\theta) - \\log p(z_i\\mid x_i,\\theta)$. Average both "
                "sides over the E-step's guess $q_t(z_i) = p(z_i\\mid x_i,\\theta^{(t)})$ and sum "
                "over $i$: the left side does not depend on $z_i$, so for **every** $\\theta$"
            ),
            formula=(
                r"\ell(\theta) = \underbrace{\sum_i\sum_k q_{t,ik}\log p(x_i, z_i{=}k\mid\theta)}"
                r"_{Q(\theta\mid\theta^{(t)})} \;+\; \underbrace{\Big(-\sum_i\sum_k q_{t,ik}"
                r"\log p(z_i{=}k\mid x_i,\theta)\Big)}_{H(q_t,\;p_\theta)\ \text{(cross-entropy)}}"
            ),
        ),
        DerivationLine(
            text=(
                "**2. At the old parameters** $\\theta=\\theta^{(t)}$ the cross-entropy of $q_t$ "
                "with itself is just its entropy $H(q_t)$:"
            ),
            formula=rf"{n['l_t']} &= {n['q_o']} + H(q_t)",
            numbers=_sum_line(s.objective_t, s.q_old_obj, s.entropy)
            + check_latex(s, -abs(s.kl_e), "gap"),
            holds=s.is_zero(s.kl_e) and s.is_zero(s.cross_entropy_old - s.entropy),
        ),
        DerivationLine(
            text=(
                "**3. At the new parameters** $\\theta=\\theta^{(t+1)}$ from the M-step, the "
                "same identity holds with the cross-entropy of $q_t$ against the new "
                "posterior $p_{\\theta^{(t+1)}}$:"
            ),
            formula=rf"{n['l_n']} &= {n['q_n']} + H(q_t,\,p_{{\theta^{{(t+1)}}}})",
            numbers=_sum_line(s.objective_next, s.q_new_obj, s.cross_entropy_new)
            + check_latex(s, -abs(s.identity_gap_new), "gap"),
            holds=s.is_zero(s.identity_gap_new),
        ),
        DerivationLine(
            text="**4. Subtract line 2 from line 3:**",
            formula=(
                n["dl"] + r" &= \big[" + n["q_n"] + "-" + n["q_o_paren"] + r"\big] + "
                r"\big[H(q_t,\,p_{\theta^{(t+1)}})-H(q_t)\big]"
            ),
            numbers=(
                rf"{fmt_small(s.gain)} &= {fmt_small(s.q_gain)} + "
                rf"{fmt_small(s.cross_entropy_new - s.entropy)}"
            ),
        ),
        DerivationLine(
            text=(
                "**5. The M-step** chose $\\theta^{(t+1)}$ to maximise "
                + ("$Q(\\theta\\mid\\theta^{(t)}) + \\log p(\\theta)$ (the prior is part of "
                   "what it maximises)" if s.regularised else "$Q(\\theta\\mid\\theta^{(t)})$")
                + ", so it did at least as well as keeping $\\theta^{(t)}$: the first bracket is "
                "never negative."
            ),
            formula=rf"{n['q_n']} &\ge {n['q_o']}",
            numbers=rf"{fmt(s.q_new_obj)} &\ge {fmt(s.q_old_obj)}" + check_latex(s, s.q_gain),
            holds=s.holds(s.q_gain),
        ),
        DerivationLine(
            text=(
                "**6. Gibbs' inequality:** a distribution's cross-entropy with any other "
                "distribution is at least its own entropy (the difference is the KL "
                "divergence), so the second bracket is never negative either."
            ),
            formula=(
                r"H(q_t,\,p_{\theta^{(t+1)}}) &\ge H(q_t)"
                r"\qquad\big(\text{difference} = \mathrm{KL}(q_t\,\|\,p_{\theta^{(t+1)}})\big)"
            ),
            numbers=(
                rf"{fmt(s.cross_entropy_new)} &\ge {fmt(s.entropy)}"
                + check_latex(s, s.cross_entropy_new - s.entropy)
            ),
            holds=s.holds(s.cross_entropy_new - s.entropy),
        ),
        DerivationLine(
            text=("**7. Therefore** the penalised log-likelihood ℓ + log p cannot go down "
                  "(ℓ alone can):" if s.regularised else
                  "**7. Therefore** the log-likelihood cannot go down:"),
            formula=rf"{n['l_n']} &\ge {n['l_t']}",
            numbers=(
                rf"{fmt(s.objective_next)} &\ge {fmt(s.objective_t)}" + check_latex(s, s.gain)
            ),
            holds=s.holds(s.gain),
        ),
    ]
    return lines


def hard_lines(step: ProofStep) -> list[DerivationLine]:
    """The argument for hard (classification) EM, which raises ℓ_C rather than ℓ."""
    n = _names(step)
    s = step
    return [
        DerivationLine(
            text=(
                "**1. Hard E-step.** Each point is given wholly to its most likely component "
                "$z_i = \\arg\\max_k \\pi_k p(x_i\\mid\\theta^{(t)}_k)$. With those labels "
                "$Q(\\theta\\mid\\theta^{(t)}) = \\sum_i \\log \\pi_{z_i} p(x_i\\mid\\theta_{z_i})$, "
                "and at $\\theta^{(t)}$ it equals the classification log-likelihood "
                "$\\ell_C(\\theta^{(t)}) = \\sum_i \\max_k \\log \\pi_k p(x_i\\mid\\theta^{(t)}_k)$:"
            ),
            formula=rf"{n['l_t']} &= {n['q_o']}",
            numbers=rf"{fmt(s.objective_t)} &= {fmt(s.q_old_obj)}"
            + check_latex(s, -abs(s.kl_e), "gap"),
            holds=s.is_zero(s.kl_e),
        ),
        DerivationLine(
            text=("**2. M-step.** $\\theta^{(t+1)}$ maximises "
                  + ("$Q + \\log p$" if s.regularised else "$Q$") + " for those fixed labels:"),
            formula=rf"{n['q_n']} &\ge {n['q_o']}",
            numbers=rf"{fmt(s.q_new_obj)} &\ge {fmt(s.q_old_obj)}" + check_latex(s, s.q_gain),
            holds=s.holds(s.q_gain),
        ),
        DerivationLine(
            text=(
                "**3. Re-assigning** every point to its best component under "
                "$\\theta^{(t+1)}$ can only raise the sum, so:"
            ),
            formula=rf"{n['l_n']} &\ge {n['q_n']} \;\ge\; {n['l_t']}",
            numbers=(
                rf"{fmt(s.objective_next)} &\ge {fmt(s.q_new_obj)} \;\ge\; "
                rf"{fmt(s.objective_t)}" + check_latex(s, s.gain)
            ),
            holds=s.holds(s.gain) and s.holds(s.kl),
        ),
    ]


def derivation_lines(step: ProofStep) -> list[DerivationLine]:
    """The lines the page shows first: the cross-entropy proof, or the hard-EM argument."""
    return hard_lines(step) if step.hard else keng_lines(step)


def bishop_lines(step: ProofStep) -> list[DerivationLine]:
    """The same proof in Bishop's form ln p = L(q, θ) + KL(q ‖ p), with this step's numbers."""
    n = _names(step)
    s = step
    lp = r"+\log p(\theta)" if s.regularised else ""
    return [
        DerivationLine(
            text=(
                "**A. The decomposition.** For *any* distribution $q$ over the labels and "
                "any $\\theta$, the log-likelihood splits into a lower bound and a gap. Here "
                "$Q_q(\\theta) = \\sum_i\\sum_k q_{ik}\\log p(x_i, z_i{=}k\\mid\\theta)$ is the "
                "expected complete-data log-likelihood under $q$ (with $q = q_t$ it is "
                "$Q(\\theta\\mid\\theta^{(t)})$), and $H(q)$ the entropy of $q$:"
            ),
            formula=(
                r"\ell(\theta)" + lp + r" = \underbrace{Q_q(\theta) + H(q)" + lp + r"}"
                r"_{\mathcal{L}(q,\theta)} + \underbrace{\sum_i\sum_k q_{ik}"
                r"\log\frac{q_{ik}}{p(z_i{=}k\mid x_i,\theta)}}_{\mathrm{KL}(q\,\|\,p_\theta)"
                r"\;\ge\;0}"
            ),
        ),
        DerivationLine(
            text=(
                "**B. E-step:** choosing $q_t = p(z\\mid x,\\theta^{(t)})$ closes the gap, so the "
                "bound touches the log-likelihood at $\\theta^{(t)}$:"
            ),
            formula=(
                r"\mathrm{KL}(q_t\,\|\,p_{\theta^{(t)}}) = 0,\qquad "
                r"\mathcal{L}(q_t,\theta^{(t)}) &= " + n["l_t"]
            ),
            numbers=(
                rf"\mathrm{{KL}} = {fmt_small(shown_gap(s, s.kl_e))},\qquad {fmt(s.bound_e)} &= "
                rf"{fmt(s.objective_t)}"
                + check_latex(s, -abs(s.kl_e), "gap")
            ),
            holds=s.is_zero(s.kl_e),
        ),
        DerivationLine(
            text=(
                "**C. M-step:** with $q_t$ held fixed, $\\theta^{(t+1)}$ maximises the bound"
                + (" plus the log prior (what the M-step maximises is $Q + \\log p$)"
                   if s.regularised else "")
                + " (its entropy term does not depend on $\\theta$), so the bound rises:"
            ),
            formula=(r"\mathcal{L}(q_t,\theta^{(t+1)})" + lp.replace(r"\theta", r"\theta^{(t+1)}")
                     + r" &\ge \mathcal{L}(q_t,\theta^{(t)})" + lp.replace(r"\theta", r"\theta^{(t)}")),
            numbers=(
                rf"{fmt(s.bound_m)} &\ge {fmt(s.bound_e)}" + check_latex(s, s.bound_gain)
            ),
            holds=s.holds(s.bound_gain),
        ),
        DerivationLine(
            text=(
                "**D. The gap reopens** because $q_t$ is no longer the posterior under "
                "$\\theta^{(t+1)}$; it only adds to the gain:"
            ),
            formula=(
                n["l_n"] + r" &= \mathcal{L}(q_t,\theta^{(t+1)}) + "
                r"\mathrm{KL}(q_t\,\|\,p_{\theta^{(t+1)}}) \;\ge\; \mathcal{L}(q_t,\theta^{(t+1)})"
                r"\;\ge\;" + n["l_t"]
            ),
            numbers=(
                rf"{fmt(s.objective_next)} &= {fmt(s.bound_m)} + {fmt(shown_gap(s, s.kl))} \;\ge\; "
                rf"{fmt(s.objective_t)}" + check_latex(s, s.gain)
            ),
            holds=s.holds(s.gain) and s.holds(s.kl),
        ),
    ]


# --- figures --------------------------------------------------------------------------------
#
# The figures are Plotly figure dictionaries (see :mod:`emviz.common`): the step player builds
# them for every half-step, and Plotly's per-property validation would cost tens of
# milliseconds per figure. The tests validate every figure with ``go.Figure(fig)``.

GRID = "rgba(127,127,127,0.25)"


def _figure(data: list[dict], layout: dict) -> dict:
    return {"data": data, "layout": layout}


def _layout(title: str, height: int = 380, **extra) -> dict:
    layout = {
        "title": {"text": title, "x": 0.0, "xanchor": "left"},
        "height": height,
        "margin": {"l": 70, "r": 20, "t": 60, "b": 55},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1.0,
                   "xanchor": "right"},
    }
    layout.update(extra)
    return layout


def _hline(y: float, color: str, dash: str = "dot") -> dict:
    return {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y,
            "line": {"color": color, "dash": dash, "width": 1}}


def _vline(x: float, xref: str = "x", yref: str = "y domain") -> dict:
    return {"type": "line", "yref": yref, "y0": 0, "y1": 1, "xref": xref, "x0": x, "x1": x,
            "line": {"color": "rgba(127,127,127,0.5)", "dash": "dot", "width": 1}}


def _objective_name(step: ProofStep) -> str:
    ell = "ℓ_C(θ)" if step.hard else "ℓ(θ)"
    return f"{ell} + log p(θ)" if step.regularised else ell


def objective_text(step: ProofStep) -> str:
    """What this step's fit never lowers, in plain text: ``ℓ``, ``ℓ + log p``, ``ℓ_C``, …"""
    return objective_symbol(step.hard, step.regularised)


def _ell(step: ProofStep) -> str:
    """Short plain-text name of what the proof is about, for figure labels."""
    ell = "ℓ<sub>C</sub>" if step.hard else "ℓ"
    return f"({ell} + log p)" if step.regularised else ell


def _gap_name(step: ProofStep) -> str:
    return "gap (gain from re-assigning points)" if step.hard else "gap KL(q ‖ p(z | x, θ))"


def bishop_bars_figure(step: ProofStep, stage: str = "M") -> dict:
    """Stacked bars ℓ = L(q_t, θ) + KL after the E-step and after the M-step of step t.

    The E-step bar (θ = θ_t) has KL = 0 for exact EM; the M-step bar (θ = θ_{t+1}) shows the
    bound risen above ℓ(θ_t) and the gap reopened. The y-axis is zoomed to this step (the
    bars start below ℓ(θ_t) by the size of the step), and each piece is labelled with its
    value.

    Parameters
    ----------
    step : ProofStep
    stage : {"init", "E", "M"}
        The half-step the learner is on; the other bar is drawn faded.

    Returns
    -------
    dict
        A Plotly figure dictionary.
        Traces: 0 the bound 𝓛 (bars from ``base``), 1 the gap (bars on top of 𝓛, true
        values in ``customdata``), 2 the top of each bar, ℓ (markers).
    """
    s = step
    it = s.t + 1
    x = [f"after E-step {it}<br>(q = q<sub>{s.t}</sub>, θ = θ<sup>({s.t})</sup>)",
         f"after M-step {it}<br>(q = q<sub>{s.t}</sub>, θ = θ<sup>({it})</sup>)"]
    bounds = np.array([s.bound_e, s.bound_m])
    kls = np.array([shown_gap(s, s.kl_e), shown_gap(s, s.kl)])  # round-off shown as 0
    tops = np.array([s.objective_t, s.objective_next])
    span = max(abs(s.gain), abs(s.kl), abs(s.kl_e), abs(s.bound_gain), 1e-9 * s.scale)
    base = float(min(bounds.min(), s.objective_t) - span)
    top = float(max(tops.max(), (bounds + np.maximum(kls, 0)).max()))
    current = {"E": 0, "M": 1}.get(stage)
    gap = "gap" if s.hard else "KL"
    opacity = [1.0 if current in (None, i) else 0.35 for i in range(2)]
    data = [
        {"type": "bar", "x": x, "y": bounds - base, "base": [base, base], "width": 0.4,
         "name": "lower bound 𝓛(q, θ)", "marker": {"color": BOUND_COLOR, "opacity": opacity},
         "customdata": bounds, "hovertemplate": "𝓛 = %{customdata:.6f}<extra></extra>"},
        {"type": "bar", "x": x, "y": np.maximum(kls, 0.0), "base": bounds, "width": 0.4,
         "name": _gap_name(s), "marker": {"color": KL_COLOR, "opacity": opacity},
         "customdata": kls, "hovertemplate": gap + " = %{customdata:.3e}<extra></extra>"},
        {"type": "scatter", "x": x, "y": tops, "mode": "markers", "name": _objective_name(s),
         "marker": {"symbol": "line-ew-open", "size": 48, "color": LOGLIK_COLOR,
                    "line": {"width": 3, "color": LOGLIK_COLOR}},
         "hovertemplate": "%{y:.6f}<extra></extra>"},
    ]
    annotations = [
        {"xref": "paper", "x": 1.0, "y": s.objective_t, "yref": "y", "showarrow": False,
         "xanchor": "right", "yanchor": "top", "text": f"level of {_ell(s)}(θ<sup>({s.t})</sup>)",
         "font": {"color": LOGLIK_COLOR, "size": 12}},
    ]
    for i in range(2):
        annotations.append(
            {"x": x[i], "y": (base + bounds[i]) / 2, "text": f"𝓛 = {bounds[i]:.4f}",
             "showarrow": False, "font": {"color": "white", "size": 13}})
        annotations.append(
            {"x": x[i], "y": tops[i], "showarrow": False, "xanchor": "left", "xshift": 80,
             "align": "left", "font": {"size": 13},
             "text": f"{gap} = {fmt_plain(kls[i])}<br>{_ell(s)} = {tops[i]:.4f}"})
    pad = 0.15 * (top - base)
    # Room for the y labels (the axis's ".6g" tick format: six significant digits, trailing
    # zeros kept; an estimate of what Plotly prints, not text shown, so not emviz.texnum's;
    # in Plotly's default 12 px font) and, below, the two-line bar labels and the legend, asked for up front:
    # automargin would otherwise draw the figure twice.
    ylabels = [f"{v:#.6g}".replace("-", "−") for v in nice_ticks(base, top + pad, 6)]
    layout = _layout(
        f"{_ell(s)} = 𝓛(q, θ) + {gap} at this step (Bishop's picture)",
        barmode="overlay", annotations=annotations, height=420,
        margin={"l": max(70, y_axis_room(ylabels, 12)), "r": 20, "t": 50, "b": 100},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0.0, "xanchor": "left"},
        shapes=[_hline(s.objective_t, LOGLIK_COLOR)],
        yaxis={"title": {"text": "nats (axis zoomed to this step)"}, "range": [base, top + pad],
               "tickformat": ".6g", "exponentformat": "none", "gridcolor": GRID},
        xaxis={"title": {"text": ""}},
    )
    return _figure(data, layout)


def bound_curve_figure(curve: dict, step: ProofStep) -> dict:
    """ℓ(θ(a)) and the bound L(q_t, θ(a)) along the straight path θ_t (a=0) → θ_{t+1} (a=1).

    Parameters
    ----------
    curve : dict
        ``emcore.bound_curve(trace, t)``: arrays ``a``, ``objective`` and ``bound`` of equal
        length (both include the log-prior when the fit is regularised).
    step : ProofStep
        The numbers of the same step, for the marked points.

    Returns
    -------
    dict
        A Plotly figure dictionary.
        Traces: 0 the objective curve, 1 the bound curve, 2 the marked points (ℓ(θ_t),
        𝓛(q_t, θ_{t+1}), ℓ(θ_{t+1})), 3 the KL gap at a = 1; 4 (lower panel) the gap
        objective − bound along the path.
    """
    s = step
    a = np.asarray(curve["a"], dtype=float)
    obj = np.asarray(curve["objective"], dtype=float)
    bnd = np.asarray(curve["bound"], dtype=float)
    data = [
        {"type": "scatter", "x": a, "y": obj, "mode": "lines", "name": _objective_name(s),
         "line": {"color": LOGLIK_COLOR, "width": 3},
         "hovertemplate": "a = %{x:.3f}<br>value = %{y:.6f}<extra></extra>"},
        {"type": "scatter", "x": a, "y": bnd, "mode": "lines",
         "name": f"lower bound 𝓛(q<sub>{s.t}</sub>, θ)",
         "line": {"color": BOUND_COLOR, "width": 3, "dash": "dash"},
         "hovertemplate": "a = %{x:.3f}<br>𝓛 = %{y:.6f}<extra></extra>"},
        {"type": "scatter", "x": [0.0, 1.0, 1.0],
         "y": [s.objective_t, s.bound_m, s.objective_next], "mode": "markers",
         "showlegend": False,
         "marker": {"size": 11, "color": [LOGLIK_COLOR, BOUND_COLOR, LOGLIK_COLOR],
                    "line": {"width": 1.5, "color": "white"}},
         "hovertemplate": "%{y:.6f}<extra></extra>"},
        {"type": "scatter", "x": [1.0, 1.0], "y": [s.bound_m, s.objective_next],
         "mode": "lines", "showlegend": False, "hoverinfo": "skip",
         "line": {"color": KL_COLOR, "width": 4}},
    ]
    gap = "gap" if s.hard else "gap KL"
    data.append(
        {"type": "scatter", "x": a, "y": obj - bnd, "mode": "lines", "xaxis": "x2",
         "yaxis": "y2", "name": f"gap {_ell(s)} − 𝓛", "showlegend": False,
         "line": {"color": KL_COLOR, "width": 2}, "fill": "tozeroy",
         "fillcolor": "rgba(213,94,0,0.15)",
         "hovertemplate": "a = %{x:.3f}<br>gap = %{y:.3e}<extra></extra>"})
    annotations = [
        {"x": 0.0, "y": s.objective_t, "ax": 50, "ay": 35, "showarrow": True, "arrowhead": 2,
         "arrowcolor": ARROW_COLOR, "arrowwidth": 1.5, "xanchor": "left", "font": {"size": 13},
         "text": f"touch at θ<sup>({s.t})</sup>: {_ell(s)} = 𝓛 = {s.objective_t:.4f}"},
        {"x": 1.0, "y": s.bound_m, "ax": -50, "ay": 40, "showarrow": True, "arrowhead": 2,
         "arrowcolor": ARROW_COLOR, "arrowwidth": 1.5, "xanchor": "right", "font": {"size": 13},
         "text": f"the bound peaks at θ<sup>({s.t + 1})</sup>: 𝓛 = {s.bound_m:.4f}"},
        {"x": 1.0, "y": s.objective_next, "ax": -50, "ay": -30, "showarrow": True,
         "arrowhead": 2, "arrowcolor": KL_COLOR, "arrowwidth": 1.5, "xanchor": "right", "font": {"color": KL_COLOR, "size": 13},
         "text": (f"{_ell(s)}(θ<sup>({s.t + 1})</sup>) = {s.objective_next:.4f}, "
                  f"{gap} = {fmt_plain(shown_gap(s, s.kl))}")},
        {"xref": "paper", "yref": "paper", "x": 0.0, "y": 0.24, "showarrow": False,
         "xanchor": "left", "yanchor": "bottom", "font": {"size": 12},
         "text": f"the gap {_ell(s)}(θ) − 𝓛(q<sub>{s.t}</sub>, θ) ≥ 0 "
                 f"(zero at θ<sup>({s.t})</sup>, {fmt_plain(shown_gap(s, s.kl))} at "
                 f"θ<sup>({s.t + 1})</sup>)"},
    ]
    lo, hi = _zoom_range(s, obj, bnd, a)
    ticks = {
        "tickvals": [-0.5, 0.0, 0.5, 1.0, 1.5],
        "ticktext": ["−0.5", f"0 = θ<sup>({s.t})</sup>", "0.5", f"1 = θ<sup>({s.t + 1})</sup>",
                     "1.5"],
        "range": [float(a.min()), float(a.max())], "gridcolor": GRID,
    }
    layout = _layout(
        f"The bound touches {_ell(s)} at θ<sup>({s.t})</sup> and peaks at θ<sup>({s.t + 1})</sup>",
        height=520, annotations=annotations,
        shapes=[_vline(0.0), _vline(1.0), _vline(0.0, "x2", "y2 domain"),
                _vline(1.0, "x2", "y2 domain")],
        yaxis={"title": {"text": "nats"}, "range": [lo, hi], "tickformat": ".6g",
               "exponentformat": "none", "gridcolor": GRID, "domain": [0.36, 1.0]},
        xaxis={**ticks, "anchor": "y", "showticklabels": False},
        yaxis2={"title": {"text": "gap"}, "domain": [0.0, 0.24],
                "range": [0.0, 2.5 * max(s.kl, 1e-12 * s.scale)],
                "gridcolor": GRID, "exponentformat": "power"},
        xaxis2={**ticks, "anchor": "y2", "matches": "x",
                "title": {"text": "position a on the straight path "
                                  "θ(a) = θ<sup>(t)</sup> + a (θ<sup>(t+1)</sup> − θ<sup>(t)</sup>)"}},
    )
    return _figure(data, layout)


def _zoom_range(s: ProofStep, obj: np.ndarray, bnd: np.ndarray, a: np.ndarray):
    """y-range of the top panel: from a little below ℓ(θ_t) to a little above the peak.

    The curves fall steeply away from the step; showing all of them would squash the step
    itself into a line, so the range is set by the size of the step.
    """
    rise = max(s.objective_next - s.objective_t, s.kl, 1e-9 * s.scale)
    hi = max(s.objective_next, float(np.nanmax(obj))) + 0.3 * rise
    return float(s.objective_t - 1.2 * rise), float(hi)


def gains_figure(trace, t: int | None = None, log_scale: bool = False,
                 colour_current: bool = True) -> dict:
    """Bars of objective(θ_{t+1}) − objective(θ_t) for every step, the current one marked.

    Parameters
    ----------
    trace : emcore.Trace
    t : int or None
        The step to highlight (a band behind its bar and a label, in the layout).
    log_scale : bool
        A logarithmic y-axis; steps whose gain is zero (or a rounding-level negative) cannot
        be drawn on it and are counted in the title instead.
    colour_current : bool
        Also colour the current bar. A step player leaves it off: then the bars are the same
        at every step and only the layout (band, label) moves, which Plotly redraws cheaply.

    Returns
    -------
    dict
        A Plotly figure dictionary.
        One bar trace: x = iteration 1 … n_iter, y = the gains (NaN where a log axis cannot
        draw them), the exact gains in ``customdata``.
    """
    objective = np.asarray(trace.objective, dtype=float)
    gains = np.diff(objective)
    steps = np.arange(1, len(gains) + 1)
    scale = max(1.0, float(np.max(np.abs(objective))), float(trace.n_samples))
    tol = ROUNDING * scale
    colors = [OTHER_COLOR] * len(gains)
    if colour_current and t is not None and 0 <= t < len(gains):
        colors[t] = CURRENT_COLOR
    violations = gains < -tol
    for i in np.flatnonzero(violations):
        colors[i] = "#CC0000"
    y = gains.copy()
    note = ""
    if log_scale:
        hidden = int(np.sum(y <= 0))
        y = np.where(y > 0, y, np.nan)
        if hidden:
            note = f" — {hidden} step(s) with gain ≤ 0 not drawn on the log axis"
    ell = "ℓ_C" if getattr(trace, "hard", False) else "ℓ"
    what = f"{ell} + log p(θ)" if is_regularised(trace) else ell
    smallest = float(gains.min()) if len(gains) else 0.0
    verdict = (
        f"smallest gain {fmt_plain(smallest)} ≥ 0 ✓"
        if not violations.any()
        else f"{int(violations.sum())} step(s) went DOWN ✗"
    )
    data = [{"type": "bar", "x": steps, "y": y, "marker": {"color": colors},
             "customdata": gains, "name": "gain",
             "hovertemplate": "iteration %{x}<br>gain = %{customdata:.3e}<extra></extra>"}]
    yaxis = {"title": {"text": f"gain in {what} (nats)"}, "gridcolor": GRID}
    shapes, annotations = [], []
    if t is not None and 0 <= t < len(gains):
        # a band behind the current iteration, so it is visible even when its bar is tiny
        shapes.append({"type": "rect", "xref": "x", "yref": "y domain", "x0": t + 0.5,
                       "x1": t + 1.5, "y0": 0, "y1": 1, "layer": "below", "line": {"width": 0},
                       "fillcolor": "rgba(213,94,0,0.15)"})
        annotations.append({"x": t + 1, "xref": "x", "y": 1.0, "yref": "y domain",
                            "yanchor": "bottom", "showarrow": False,
                            "xanchor": "left" if t < len(gains) / 2 else "right",
                            "font": {"color": CURRENT_COLOR, "size": 12},
                            "text": f"iteration {t + 1}: {fmt_plain(float(gains[t]))}"})
    if log_scale:
        yaxis.update(type="log", exponentformat="power",
                     title={"text": f"gain in {what} (nats, log scale)"})
    else:
        yaxis.update(rangemode="tozero")
        shapes.append(_hline(0.0, "rgba(127,127,127,0.8)", dash="solid"))
    layout = _layout(
        f"How much each EM step raised {what} ({verdict}){note}", height=340,
        showlegend=False, yaxis=yaxis, shapes=shapes, annotations=annotations,
        xaxis={"title": {"text": "iteration (the step θ<sup>(t)</sup> → θ<sup>(t+1)</sup>)"},
               "gridcolor": GRID},
    )
    return _figure(data, layout)
