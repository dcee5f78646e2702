"""Predict, then reveal: questions generated from an EM trace, their grading, the exercise sheet.

Pure functions of a ``Trace`` (no Streamlit), so every question and its grade can be tested
against a hand-computed run. They live in ``emviz`` rather than ``emcore`` because they add no
mathematics — every answer is *read off* the trace (θ_t, q_t, ℓ, the bound) — while the wording,
the choices and the sheet's layout are presentation, like the figures beside them; the PDF is
drawn with matplotlib, as ``emviz.export`` does.

A question at half-step ``s`` asks about the *next* half-step ``s + 1`` (the learner sees state
``s`` on screen); at the last half-step it asks whether the fit is a maximum, compared with
restarts. Kinds:

``assign``     next is an E-step: which component will this point mostly belong to?
``largest_share`` next is an E-step (no point to name): which component gets the most?
``e_effect``   next is an E-step: what happens to ℓ?
``direction``  next is an M-step: which way does a mean move?
``weight``     next is an M-step: set the new weight π_k (numeric, graded within a tolerance)
``m_effect``   next is an M-step: what happens to what EM maximises, and why?
``grows``      next is an M-step (not Gaussian): which component grows the most?
``local_max``  the last half-step: what kind of point did EM stop at?
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field

import numpy as np

from emcore import half_step_label, half_step_position
from emviz.common import has_penalty, objective_symbol, theta_it
from emviz.texnum import sub

__all__ = [
    "Question",
    "Grade",
    "question_for",
    "run_questions",
    "grade",
    "answer_text",
    "sheet_markdown",
    "sheet_lines",
    "sheet_pdf",
    "sheet_pages",
    "WEIGHT_TOLERANCE",
]

#: |π_answer − π_true| allowed for the weight slider.
WEIGHT_TOLERANCE = 0.02
#: A mean that moves less than this fraction of the data's spread "barely moves".
STILL_FRACTION = 1e-3


@dataclass(frozen=True)
class Question:
    """One prediction question about half-step ``s + 1`` (or, at the end, about the fit).

    Attributes
    ----------
    s : int
        The half-step on screen when the question is asked.
    kind : str
        See the module docstring.
    prompt : str
        The question (Markdown); it never contains the answer.
    choices : tuple of str
        The options of a multiple-choice question (empty for a numeric one).
    answer : str or float
        The correct choice, or the correct number.
    tolerance : float
        Allowed absolute error of a numeric answer.
    bounds : (min, max, step) or None
        Slider range of a numeric answer.
    explanation : str
        Why, with this run's numbers and the proof line that decides it.
    proof_line : str
        "E", "M", "KL" or "restarts" — the line of the proof panel that decides the answer.
    """

    s: int
    kind: str
    prompt: str
    choices: tuple = ()
    answer: object = ""
    tolerance: float = 0.0
    bounds: tuple | None = None
    explanation: str = ""
    proof_line: str = ""
    context: dict = field(default_factory=dict, compare=False)

    @property
    def numeric(self) -> bool:
        return not self.choices

    @property
    def about(self) -> str:
        """What the question is about: the next half-step's label, or "the end of the run"."""
        return self.context.get("about", "")


@dataclass(frozen=True)
class Grade:
    """The verdict on one response."""

    correct: bool
    response: object
    feedback: str


# ----------------------------------------------------------------------------------------------
# reading the trace
# ----------------------------------------------------------------------------------------------
def _objective_name(trace) -> str:
    """ℓ, ℓ + log p, ℓ_C or ℓ_C + log p: what this fit provably never lowers."""
    return objective_symbol(bool(getattr(trace, "hard", False)), has_penalty(trace))


def _bound_new(trace, t: int) -> float:
    lp = np.asarray(getattr(trace, "log_prior", np.zeros(trace.n_iter + 1)), dtype=float)
    return float(trace.elbo[t]) + (float(lp[t + 1]) if has_penalty(trace) else 0.0)


def _f(v: float) -> str:
    return f"{v:,.4f}"


def _unit(trace) -> str:
    """What a component is called on its page."""
    return "segment" if getattr(trace, "family", "gaussian") == "multinomial" else "component"


def _gaussian(trace) -> bool:
    return getattr(trace, "family", "gaussian") == "gaussian"


def _point_text(X, i: int, fmt, feature_names) -> str:
    X = np.asarray(X, dtype=float)
    row = X[i] if X.ndim == 2 else np.atleast_1d(X[i])
    if row.size == 1:
        v = float(row[0])
        shown = fmt(v) if fmt else f"{v:.4g}"
        return f"the point at x = {v:.4f}" + (f" ({shown})" if fmt else "")
    names = feature_names or [f"x{d + 1}" for d in range(row.size)]
    return "the point (" + ", ".join(f"{n} {v:.4g}" for n, v in zip(names, row, strict=False)) + ")"


def _shuffled(choices: list[str], s: int) -> tuple[str, ...]:
    order = np.random.default_rng(10_007 + int(s)).permutation(len(choices))
    return tuple(choices[i] for i in order)


# ----------------------------------------------------------------------------------------------
# the question kinds
# ----------------------------------------------------------------------------------------------
def _assign(trace, s, t, X, fmt, feature_names) -> Question | None:
    if X is None or not _gaussian(trace):
        return None
    R = np.asarray(trace.responsibilities(t), dtype=float)
    if getattr(trace, "hard", False):
        from emcore import e_step

        R, _ = e_step(X, trace.params[t])
    top = R.max(axis=1)
    K = R.shape[1]
    cand = np.flatnonzero((top > 0.6) & (top < 0.95))
    if cand.size == 0:
        cand = np.flatnonzero(top < 1.0 - 1e-9)
    if cand.size == 0:
        cand = np.arange(len(top))
    i = int(np.random.default_rng(20_011 + int(s)).choice(cand))
    k = int(np.argmax(np.asarray(trace.responsibilities(t))[i]))
    r = R[i]
    nxt = half_step_label(s + 1)
    prompt = (f"**Predict {nxt}.** After this E-step, which component will "
              f"{_point_text(X, i, fmt, feature_names)} mostly belong to (its largest "
              f"responsibility)?")
    rs = ", ".join(f"{v:.3f}" for v in r)
    expl = (f"The E-step computes r_ik ∝ π_k·p(x_i | θ_k) from the parameters {theta_it(t)} already on "
            f"screen: for this point r = ({rs}), so component {k + 1}. Proof panel, E line: the E-step "
            f"sets q{sub(t)} = p(z | x, {theta_it(t)}), which makes KL = 0.")
    return Question(s, "assign", prompt, tuple(f"component {j + 1}" for j in range(K)),
                    f"component {k + 1}", explanation=expl, proof_line="E",
                    context={"about": nxt, "point": i, "resp": r.tolist()})


def _largest_share(trace, s, t) -> Question:
    R = np.asarray(trace.responsibilities(t), dtype=float)
    shares = R.mean(axis=0)
    k = int(np.argmax(shares))
    K = R.shape[1]
    name = _unit(trace)
    nxt = half_step_label(s + 1)
    expl = (f"The E-step gives every row its responsibilities from {theta_it(t)}, the parameters on "
            f"screen; their averages are ({', '.join(f'{v:.3f}' for v in shares)}), largest for "
            f"{name} {k + 1}. Big sizes π_k and profiles that fit many rows both pull "
            f"responsibility in. Proof panel, E line: q{sub(t)} = p(z | x, {theta_it(t)}).")
    return Question(s, "largest_share",
                    f"**Predict {nxt}.** After this E-step, which {name} will hold the largest "
                    f"share of the responsibilities (summed over all rows)?",
                    tuple(f"{name} {j + 1}" for j in range(K)), f"{name} {k + 1}",
                    explanation=expl, proof_line="E", context={"about": nxt, "shares": shares.tolist()})


def _e_effect(trace, s, t) -> Question:
    name = _objective_name(trace)
    nxt = half_step_label(s + 1)
    choices = ["it rises", "it stays exactly the same", "it falls",
               "it depends on the data"]
    val = float(trace.objective[t])
    expl = (f"The E-step changes the responsibilities q, not the parameters, so {name}({theta_it(t)}) "
            f"= {_f(val)} cannot change. What moves is the lower bound: it rises to touch {name}. "
            f"Proof panel, E line: {name}({theta_it(t)}) = 𝓛(q{sub(t)}, {theta_it(t)})"
            + (" + log p" if has_penalty(trace) and not trace.hard else "") + ", KL = 0.")
    return Question(s, "e_effect",
                    f"**Predict {nxt}.** What will this E-step do to {name}, the quantity EM "
                    f"maximises here?", tuple(choices), "it stays exactly the same",
                    explanation=expl, proof_line="E", context={"about": nxt})


def _direction(trace, s, t, X, feature_names) -> Question | None:
    if not _gaussian(trace):
        return None
    m0 = np.asarray(trace.params[t].means, dtype=float)
    m1 = np.asarray(trace.params[t + 1].means, dtype=float)
    Xa = np.asarray(trace.X if X is None else X, dtype=float)
    Xa = Xa.reshape(len(Xa), -1)
    spread = Xa.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    rel = np.abs(m1 - m0) / spread  # (K, D)
    moving = np.argwhere(rel > STILL_FRACTION)
    rng = np.random.default_rng(30_011 + int(s))
    if moving.size:
        k, d = (int(v) for v in moving[rng.integers(len(moving))])
    else:
        k, d = int(rng.integers(m0.shape[0])), 0
    delta = float(m1[k, d] - m0[k, d])
    still = float(STILL_FRACTION * spread[d])
    nxt = half_step_label(s + 1)
    if m0.shape[1] == 1:
        what = f"μ{sub(k + 1)}"
        choices = ["to the left (lower)", "to the right (higher)",
                   f"it barely moves (less than {still:.2g})"]
    else:
        names = feature_names or [f"x{j + 1}" for j in range(m0.shape[1])]
        what = f"the mean of component {k + 1} in {names[d]}"
        choices = [f"lower {names[d]}", f"higher {names[d]}",
                   f"it barely moves (less than {still:.2g})"]
    ans = choices[2] if abs(delta) < still else (choices[0] if delta < 0 else choices[1])
    expl = (f"The M-step sets each mean to the responsibility-weighted average of the points, "
            f"μ_k = Σ_i r_ik x_i / Σ_i r_ik, with the colours (responsibilities) now on screen: "
            f"{what} goes from {m0[k, d]:.4f} to {m1[k, d]:.4f} ({delta:+.4g}). Proof panel, M line: "
            f"{theta_it(t + 1)} maximises the bound Q + H with q{sub(t)} held fixed.")
    return Question(s, "direction", f"**Predict {nxt}.** Which way will {what} move?",
                    tuple(choices), ans, explanation=expl, proof_line="M",
                    context={"about": nxt, "k": k, "d": d, "delta": delta})


def _weight(trace, s, t) -> Question:
    K = trace.n_components
    k = (t + 1) % K
    w1 = float(np.asarray(trace.params[t + 1].weights)[k])
    nxt = half_step_label(s + 1)
    label = "segment size π" if _unit(trace) == "segment" else "π"
    counts = "assigned points" if getattr(trace, "hard", False) else "responsibilities"
    expl = (f"π_k = N_k / N: the average of component k's {counts} from the E-step on screen, "
            f"here π{sub(k + 1)} = {w1:.4f}. Proof panel, M line: these weights maximise "
            f"Σ_k N_k log π_k subject to Σ_k π_k = 1 (a Lagrange multiplier gives N_k / N).")
    return Question(s, "weight",
                    f"**Predict {nxt}.** Set the new {label}{sub(k + 1)} with the slider.",
                    (), w1, tolerance=WEIGHT_TOLERANCE, bounds=(0.0, 1.0, 0.01),
                    explanation=expl, proof_line="M", context={"about": nxt, "k": k})


def _m_effect(trace, s, t) -> Question:
    nxt = half_step_label(s + 1)
    hard = getattr(trace, "hard", False)
    prior = has_penalty(trace)
    a, b = float(trace.objective[t]), float(trace.objective[t + 1])
    if hard:
        name = ("ℓ_C, the classification log-likelihood Σ_i max_k log π_k p(x_i | θ_k)"
                + (", plus log p" if prior else ""))
        right = ("ℓ_C" + (" + log p" if prior else "") + " rises or stays equal: the M-step maximises it for the fixed assignments, "
                 "and re-assigning points can only raise it further (ℓ itself may fall)")
        sym = _objective_name(trace)
        expl = (f"{sym}({theta_it(t)}) = {_f(a)} → {sym}({theta_it(t + 1)}) = {_f(b)}. Hard EM maximises ℓ_C, "
                f"not ℓ: the M-step raises Σ_i log π_z p(x_i | θ_z) for the current labels z, and "
                f"the next assignment takes the best label for each point (proof panel, M line).")
    else:
        name = "ℓ + log p, the objective with the prior" if prior else "ℓ"
        ell = "ℓ + log p" if prior else "ℓ"
        right = ((f"{ell} rises or stays equal" if prior else "it rises or stays equal")
                 + f": the M-step maximises a lower bound that touches {ell} at the current θ"
                 + ("; ℓ alone may dip" if prior else ""))
        bn = _bound_new(trace, t)
        kl = float(trace.kl[t])
        expl = (f"M line: 𝓛(q{sub(t)}, {theta_it(t + 1)})" + (" + log p" if prior else "")
                + f" = {_f(bn)} ≥ {_f(a)}, because the M-step maximises the bound, which equals "
                f"{ell} at {theta_it(t)}. Last line: {ell}({theta_it(t + 1)}) = bound + KL = {_f(b)} with "
                f"KL = {kl:.3g} ≥ 0.")
    wrong = [
        ("it rises or stays equal: the E-step made the responsibilities optimal for the new "
         "parameters"),
        "it can fall when the update overshoots, as a gradient step with too large a step can",
        "it stays exactly the same: only the responsibilities change",
    ]
    if prior and not hard:
        wrong[0] = "ℓ itself always rises: the prior only adds a constant"
    return Question(s, "m_effect",
                    f"**Predict {nxt}.** What will this M-step do to {name}, and why?",
                    _shuffled([right, *wrong], s), right, explanation=expl,
                    proof_line="KL" if not hard else "M", context={"about": nxt})


def _grows(trace, s, t) -> Question | None:
    w0 = np.asarray(trace.params[t].weights, dtype=float)
    w1 = np.asarray(trace.params[t + 1].weights, dtype=float)
    d = w1 - w0
    if np.max(np.abs(d)) < 1e-4:
        return None
    k = int(np.argmax(d))
    nxt = half_step_label(s + 1)
    name = _unit(trace)
    expl = (f"Each new size is the average responsibility, π_k = N_k/N, using the E-step now on "
            f"screen; {name} {k + 1} goes from {w0[k]:.4f} to {w1[k]:.4f} ({d[k]:+.4f}), the "
            f"largest gain. Proof panel, M line.")
    return Question(s, "grows",
                    f"**Predict {nxt}.** Which {name}'s size π_k will grow the most?",
                    tuple(f"{name} {j + 1}" for j in range(len(w0))), f"{name} {k + 1}",
                    explanation=expl, proof_line="M", context={"about": nxt})


LOCAL_CHOICES = (
    "the highest of all these runs: a local maximum that no restart beat",
    "a local maximum, but a restart climbed higher",
    "no maximum yet: it stopped at the iteration limit",
    "no maximum at all: a component collapsed and ℓ grows without bound",
)


def _local_max(trace, s, restart_objectives) -> Question:
    name = _objective_name(trace)
    final = float(trace.objective[-1])
    others = [float(v) for v in (restart_objectives or [])]
    best = max(others) if others else -np.inf
    tol = 1e-6 * max(1.0, abs(final)) + 1e-3
    status = getattr(trace, "status", "converged")
    if status == "degenerate":
        ans = LOCAL_CHOICES[3]
    elif status == "max_iter":
        ans = LOCAL_CHOICES[2]
    elif best > final + tol:
        ans = LOCAL_CHOICES[1]
    else:
        ans = LOCAL_CHOICES[0]
    listed = ", ".join(f"{v:.3f}" for v in others) if others else "none"
    expl = (f"This run ended with {name} = {final:.3f} ({status}); the restarts ended at {listed}. "
            f"The proof only shows that {name} never falls, so EM climbs to a stationary point "
            f"near its start — which one depends on θ⁽⁰⁾, hence the restarts.")
    return Question(s, "local_max",
                    f"**The run has ended.** Compare its final {name} with the restarts listed "
                    f"below. What did EM stop at?", LOCAL_CHOICES, ans, explanation=expl,
                    proof_line="restarts",
                    context={"about": "the end of the run", "restarts": others, "final": final})


# ----------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------
def question_for(trace, s: int, X=None, fmt=None, feature_names=None,
                 restart_objectives=None) -> Question:
    """The question asked while half-step ``s`` is on screen.

    Parameters
    ----------
    trace : emcore Trace
    s : int
        The slider position of the half-step on screen (0 … 2·n_iter). Below the last half-step the question is
        about half-step s + 1; at the last one it is the ``local_max`` question.
    X : array_like, optional
        The data (for the ``assign`` question's point; default ``trace.X``).
    fmt : callable, optional
        Formats a 1-D value for display (e.g. as a price).
    feature_names : list of str, optional
    restart_objectives : sequence of float, optional
        Final objectives of other runs, for the ``local_max`` question.
    """
    s = int(s)
    last = int(trace.n_half_steps) - 1
    if not 0 <= s <= last:
        raise IndexError(f"half-step must be in 0..{last}, got {s}")
    if s == last:
        return _local_max(trace, s, restart_objectives)
    if X is None and _gaussian(trace):
        X = trace.X
    nxt_kind, t = half_step_position(s + 1)  # the question is about the next half-step
    if nxt_kind == "E":
        if t % 2 == 1:
            return _e_effect(trace, s, t)
        return _assign(trace, s, t, X, fmt, feature_names) or _largest_share(trace, s, t)
    turn = t % 3
    if turn == 0:
        return _m_effect(trace, s, t)
    if turn == 1:
        q = _direction(trace, s, t, X, feature_names) if _gaussian(trace) else _grows(trace, s, t)
        if q is not None:
            return q
    return _weight(trace, s, t)


def run_questions(trace, max_questions: int = 16, **kwargs) -> list[Question]:
    """The questions of a run for the exercise sheet: half-steps 0, 1, … (at most
    ``max_questions − 1`` of them) and the final ``local_max`` question."""
    last = int(trace.n_half_steps) - 1
    steps = list(range(min(last, max(0, int(max_questions) - 1))))
    return [question_for(trace, s, **kwargs) for s in steps] + [
        question_for(trace, last, **kwargs)]


def grade(question: Question, response) -> Grade:
    """Check a response: the exact choice, or a number within the question's tolerance."""
    if question.numeric:
        try:
            v = float(response)
        except (TypeError, ValueError):
            return Grade(False, response, "Give a number.")
        ok = bool(np.isfinite(v) and abs(v - float(question.answer)) <= question.tolerance + 1e-12)
        fb = (f"Right: {float(question.answer):.3f} (you said {v:.2f})." if ok else
              f"Not quite: the answer is {float(question.answer):.3f}, you said {v:.2f} "
              f"(answers within ±{question.tolerance:g} count as right).")
        return Grade(ok, v, fb)
    ok = response == question.answer
    fb = "Right." if ok else f"Not quite: the answer is “{question.answer}”."
    return Grade(ok, response, fb)


def answer_text(question: Question) -> str:
    """The answer as one line of text."""
    if question.numeric:
        return f"{float(question.answer):.3f} (graded within ±{question.tolerance:g})"
    return str(question.answer)


# ----------------------------------------------------------------------------------------------
# the exercise sheet
# ----------------------------------------------------------------------------------------------
#: characters DejaVu Sans (the PDF's font) lacks, and their stand-ins
_PDF_SAFE = str.maketrans({"𝓛": "L"})


def _plain(md: str) -> str:
    return md.replace("**", "").translate(_PDF_SAFE)


def sheet_markdown(questions, title: str, subtitle: str = "", responses=None) -> str:
    """The exercise sheet as Markdown: the questions first, then the answers with explanations.

    ``responses`` maps a question's half-step ``s`` to the learner's response (graded and shown
    in the answers when present).
    """
    responses = responses or {}
    out = [f"# Exercise sheet — {title}", ""]
    if subtitle:
        out += [subtitle, ""]
    out += ["## Questions", ""]
    for n, q in enumerate(questions, 1):
        out.append(f"{n}. *On screen: {half_step_label(q.s)}.* {q.prompt}")
        if q.numeric:
            lo, hi, _ = q.bounds or (0.0, 1.0, 0.01)
            out.append(f"   - Answer with a number between {lo:g} and {hi:g}.")
        for j, c in enumerate(q.choices):
            out.append(f"   - ({chr(97 + j)}) {c}")
        out.append("")
    out += ["## Answers", ""]
    for n, q in enumerate(questions, 1):
        line = f"{n}. **{answer_text(q)}** — {q.explanation}"
        if q.s in responses:
            g = grade(q, responses[q.s])
            line += f" *Your answer: {g.response} ({'right' if g.correct else 'wrong'}).*"
        out += [line, ""]
    return "\n".join(out)


def sheet_lines(questions, title: str, subtitle: str = "", responses=None,
                width: int = 92) -> list[tuple[str, str]]:
    """The sheet as wrapped plain-text lines with a style each ("title", "head", "text"),
    in characters the PDF's font has."""
    md = sheet_markdown(questions, title, subtitle, responses)
    lines: list[tuple[str, str]] = []
    for raw in md.splitlines():
        if raw.startswith("# "):
            lines.append(("title", _plain(raw[2:])))
            continue
        if raw.startswith("## "):
            lines += [("text", ""), ("head", _plain(raw[3:]))]
            continue
        text = _plain(raw).replace("*", "")
        if not text.strip():
            lines.append(("text", ""))
            continue
        indent = len(text) - len(text.lstrip())
        sub = " " * (indent + 3)
        for w in textwrap.wrap(text.strip(), width=width - indent, subsequent_indent=sub[indent:]):
            lines.append(("text", " " * indent + w))
    return lines


PER_PAGE = 58


def sheet_pages(questions, title: str, subtitle: str = "", responses=None) -> list:
    """The sheet as A4 matplotlib figures, :data:`PER_PAGE` lines each."""
    from matplotlib.figure import Figure

    lines = sheet_lines(questions, title, subtitle, responses)
    pages = []
    for start in range(0, max(len(lines), 1), PER_PAGE):
        fig = Figure(figsize=(8.27, 11.69))
        y = 0.955
        for style, text in lines[start:start + PER_PAGE]:
            size = {"title": 15, "head": 12.5}.get(style, 9.5)
            weight = "bold" if style in ("title", "head") else "normal"
            if text:
                fig.text(0.07, y, text, fontsize=size, fontweight=weight, va="top",
                         family="DejaVu Sans")
            y -= 0.0155 if style == "text" else 0.024
        fig.text(0.93, 0.03, f"{start // PER_PAGE + 1}", ha="right", fontsize=8)
        pages.append(fig)
    return pages


def sheet_pdf(questions, title: str, subtitle: str = "", responses=None) -> bytes:
    """The sheet as an A4 PDF drawn with matplotlib (questions, then answers)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with PdfPages(buf, metadata={"Title": f"Exercise sheet — {title}", "Creator": "EM Explorer"}) as pdf:
        for fig in sheet_pages(questions, title, subtitle, responses):
            pdf.savefig(fig)
    return buf.getvalue()
