"""Predict, then reveal: the optional exercise panel every fitting page adds with one call.

The questions and their grading are pure (``emviz.exercises``); this module only shows them,
records the learner's answers in the session and offers the exercise sheet.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from emcore import half_step_label
from emviz import exercises as ex

#: session-state key of every answer given in this session, on every page:
#: {(page key, run signature, s): Grade}
LOG_KEY = "em_exercise_log"
N_RESTARTS = 4


def run_signature(trace) -> str:
    """A short id of a run (so answers to one fit are not shown for another)."""
    h = hashlib.sha1()
    h.update(repr((int(trace.n_iter), int(trace.n_components), str(trace.status))).encode())
    h.update(trace.objective.tobytes())
    return h.hexdigest()[:12]


def session_score() -> tuple[int, int]:
    """(right, answered) over every question answered in this session."""
    log = st.session_state.get(LOG_KEY, {})
    return sum(1 for g in log.values() if g.correct), len(log)


def _check(log_id, question, widget_key) -> None:
    log = st.session_state.setdefault(LOG_KEY, {})
    if log_id in log:
        return
    response = st.session_state.get(widget_key)
    if response is None:
        return
    log[log_id] = ex.grade(question, response)


def _goto(step_key: str, s: int) -> None:
    st.session_state[step_key] = int(s)


def exercise_panel(trace, hs, key: str, X=None, fmt=None, feature_names=None,
                   restarts=None, title: str = "") -> None:
    """The "Exercise mode" toggle and, when it is on, one question about the next half-step.

    Parameters
    ----------
    trace : emcore Trace (or a view with display-unit ``params``, like gauss2d.DisplayTrace)
    hs : emcore.HalfStep
        The half-step on screen (``trace.half_step(s)``).
    key : str
        The page prefix (the step slider's state is ``f"{key}_step"``).
    X : array_like, optional
        The data in the units shown (for the point a question names).
    fmt : callable, optional
        Formats a 1-D value (e.g. a log price as dollars).
    feature_names : list of str, optional
    restarts : callable, optional
        Returns the page's restart traces (restart 0 being this fit); called only at the last
        half-step, for the "is this a maximum?" question.
    title : str
        Names the run on the exercise sheet.
    """
    on = st.toggle("🎓 Exercise mode: predict, then reveal", key=f"{key}_ex_on", value=False,
                   help="Before each half-step, one question about what it will do. Answer, "
                        "check, then reveal the half-step.")
    if not on:
        return
    s = int(hs.s)
    last = int(trace.n_half_steps) - 1
    other = None
    if s == last and restarts is not None:
        other = [tr for tr in restarts()[1:]]
    q = ex.question_for(trace, s, X=X, fmt=fmt, feature_names=feature_names,
                        restart_objectives=None if other is None else
                        [float(tr.objective[-1]) for tr in other])
    sig = run_signature(trace)
    log_id = (key, sig, s)
    log = st.session_state.get(LOG_KEY, {})
    done = log.get(log_id)
    wkey = f"{key}_ex_{sig}_{s}"
    with st.container(border=True):
        st.markdown(q.prompt)
        if q.kind == "local_max":
            if other:
                st.caption("Restarts (other seeds, same settings): " + "; ".join(
                    f"seed {int(tr.settings.get('seed', 0) or 0)}: {float(tr.objective[-1]):.3f} "
                    f"({tr.status})" for tr in other)
                    + f". This run: {float(trace.objective[-1]):.3f} ({trace.status}).")
            else:
                st.caption(f"This run: {float(trace.objective[-1]):.3f} ({trace.status}); no "
                           "restarts on this page.")
        if q.numeric:
            lo, hi, step = q.bounds
            st.slider("Your answer", float(lo), float(hi), value=float(lo + hi) / 2,
                      step=float(step), key=wkey, disabled=done is not None)
        else:
            st.radio("Your answer", list(q.choices), index=None, key=wkey,
                     disabled=done is not None)
        c1, c2 = st.columns([1, 2], vertical_alignment="center")
        c1.button("Check", key=f"{wkey}_check", on_click=_check, args=(log_id, q, wkey),
                  disabled=done is not None, type="primary")
        right, answered = session_score()
        c2.caption(f"Score this session: **{right} / {answered}**" if answered else
                   "Score this session: no answers yet.")
        if done is not None:
            (st.success if done.correct else st.error)(done.feedback)
            st.markdown(q.explanation)
            if s < last:
                st.button(f"Reveal {half_step_label(s + 1)} ▶", key=f"{wkey}_reveal",
                          on_click=_goto, args=(f"{key}_step", s + 1))
        _sheet(trace, key, sig, X, fmt, feature_names, title)


def _sheet(trace, key, sig, X, fmt, feature_names, title) -> None:
    def questions():
        return ex.run_questions(trace, X=X, fmt=fmt, feature_names=feature_names)

    # read now: the download callables run on another thread, without the session
    log = st.session_state.get(LOG_KEY, {})
    given = {s: g.response for (k, sg, s), g in log.items() if k == key and sg == sig}

    head = title or "this run"
    sub = (f"K = {trace.n_components}, {trace.n_iter} iterations ({trace.status}); one question "
           "per half-step, each asked with that half-step on screen.")
    a, b = st.columns(2)
    a.download_button("Exercise sheet (Markdown)", key=f"{key}_ex_md",
                      data=lambda: ex.sheet_markdown(questions(), head, sub, given),
                      file_name=f"exercise_sheet_{key}.md", mime="text/markdown",
                      width="stretch")
    b.download_button("Exercise sheet (PDF)", key=f"{key}_ex_pdf",
                      data=lambda: ex.sheet_pdf(questions(), head, sub, given),
                      file_name=f"exercise_sheet_{key}.pdf", mime="application/pdf",
                      width="stretch")


__all__ = ["exercise_panel", "session_score", "run_signature", "LOG_KEY"]
