"""The half-step slider and everything that reads the current half-step."""

from __future__ import annotations

import numpy as np
import streamlit as st

from emviz.common import (
    half_step_iteration,
    half_step_kind,
    half_step_label,
    half_step_theta_index,
    has_penalty,
    loglik_figure,
    restarts_figure,
)


def _shift(state_key: str, delta: int, n: int) -> None:
    st.session_state[state_key] = int(np.clip(st.session_state.get(state_key, 0) + delta, 0, n - 1))


def step_slider(trace, key: str, start: str = "init"):
    """A "Step" slider over the half-steps with ◀ / ▶ buttons; returns the emcore ``HalfStep``.

    Parameters
    ----------
    trace : emcore Trace
    key : str
        Page prefix; the slider's session-state key is ``f"{key}_step"``.
    start : {"init", "end"}
        Where the slider starts on the first visit: θ₀ or the last half-step.

    Returns
    -------
    HalfStep
        ``trace.half_step(s)`` with ``s``, ``kind``, ``t``, ``params``, ``resp``, ``label``.
    """
    n = int(trace.n_half_steps)
    state_key = f"{key}_step"
    if state_key not in st.session_state:
        st.session_state[state_key] = 0 if start == "init" else n - 1
    st.session_state[state_key] = int(np.clip(st.session_state[state_key], 0, n - 1))
    s = st.session_state[state_key]
    c_prev, c_slider, c_next = st.columns([1, 12, 1], vertical_alignment="bottom")
    c_prev.button("◀", key=f"{key}_prev", on_click=_shift, args=(state_key, -1, n),
                  disabled=s <= 0, help="Previous half-step", width="stretch")
    c_next.button("▶", key=f"{key}_next", on_click=_shift, args=(state_key, 1, n),
                  disabled=s >= n - 1, help="Next half-step", width="stretch")
    with c_slider:
        if n > 1:
            s = st.select_slider("Step", options=list(range(n)), format_func=half_step_label,
                                 key=state_key,
                                 help="θ₀ is the start; each iteration is an E-step (new "
                                      "responsibilities) then an M-step (new parameters).")
        else:
            st.caption("Step: θ₀ only — the fit stopped before its first iteration.")
    return trace.half_step(int(s))


def status_banner(trace) -> None:
    """Say how the fit ended: converged, hit max iterations, or degenerate (with the reason)."""
    status = getattr(trace, "status", "")
    n_iter = int(trace.n_iter)
    if status == "converged":
        st.success(f"Converged after {n_iter} iteration{'s' if n_iter != 1 else ''}: the "
                   "objective stopped improving by more than the tolerance.", icon="✅")
    elif status == "max_iter":
        st.warning(f"Stopped at the iteration limit ({n_iter}) before converging; raise "
                   "“Max iterations” to let EM continue.", icon="⏱️")
    elif status == "degenerate":
        msg = getattr(trace, "message", "") or "a component became degenerate."
        st.error(f"Degenerate after {n_iter} iteration{'s' if n_iter != 1 else ''}: {msg}",
                 icon="⚠️")
    else:
        st.info(f"{n_iter} iterations ({status}).")


def loglik_chart(trace, s: int, key: str | None = None) -> None:
    """The log-likelihood (or penalised objective) over half-steps, current half-step marked."""
    st.plotly_chart(loglik_figure(trace, int(s)), key=key, theme="streamlit")


def restarts_chart(traces, key: str | None = None) -> None:
    """The restarts' log-likelihood curves side by side, the best one highlighted."""
    st.plotly_chart(restarts_figure(traces), key=key, theme="streamlit")
    finals = [float(tr.objective[-1]) for tr in traces]
    if len(traces) > 1:
        spread = max(finals) - min(finals)
        if spread > 1e-6 * max(1.0, abs(max(finals))):
            st.caption(f"The restarts end up to {spread:.2f} nats apart: EM climbs to a *local* "
                       "maximum, and which one depends on where it starts.")
        else:
            st.caption("All restarts reach the same log-likelihood here (up to rounding): "
                       "this fit is not sensitive to the start.")


def _f(x: float) -> str:
    return f"{x:,.4f}".replace(",", "{,}")


def _g(x: float) -> str:
    """A small number in LaTeX: 4.05e-06 -> 4.05 \\times 10^{-6}."""
    if abs(x) < 1e-3 and x != 0:
        mant, exp = f"{x:.3g}".split("e") if "e" in f"{x:.3g}" else (f"{x:.3g}", "0")
        return mant if exp == "0" else rf"{mant} \times 10^{{{int(exp)}}}"
    return f"{x:.4f}"


def _plus(x: float) -> str:
    """`` + 2.8613`` or `` - 2.8613`` (never "+ -2.8613")."""
    return f" - {_f(-x)}" if x < 0 else f" + {_f(x)}"


def proof_panel(trace, s: int) -> None:
    """A compact, numeric version of the proof that EM never decreases the objective.

    For the step θ_t → θ_{t+1} that half-step ``s`` belongs to, show
    ℓ(θ_t) = L(q_t, θ_t) ≤ L(q_t, θ_{t+1}) ≤ L(q_t, θ_{t+1}) + KL = ℓ(θ_{t+1})
    with this fit's numbers (``objective``, ``q``, ``entropy``, ``elbo``, ``kl`` and, with a
    penalty, ``log_prior``: then every side carries the log prior, ℓ* = ℓ + log p(θ)).
    """
    n_iter = int(trace.n_iter)
    with st.container(border=True):
        st.markdown("**Why ℓ cannot go down — with this fit's numbers**")
        if n_iter == 0:
            st.caption("The fit has no iterations yet, so there is no step to check.")
            return
        t = half_step_iteration(int(s))
        kind = half_step_kind(int(s))
        if t is None:
            t = 0
        t = min(t, n_iter - 1)
        lines = proof_lines(trace, t, kind)
        st.caption(lines["caption"])
        for line in lines["latex"]:
            st.latex(line)
        st.caption(lines["summary"])


def proof_lines(trace, t: int, kind: str = "") -> dict:
    """The proof panel's content for step t (testable without a server).

    Returns
    -------
    dict with ``caption`` (str), ``latex`` (list of three LaTeX strings), ``summary`` (str),
    ``gain`` (objective[t+1] − objective[t]), ``bound_gain`` (M-step gain of the bound) and
    ``kl``.
    """
    obj = np.asarray(trace.objective, dtype=float)
    n_iter = int(trace.n_iter)
    lp = np.asarray(getattr(trace, "log_prior", np.zeros(n_iter + 1)), dtype=float)
    q, h = float(trace.q[t]), float(trace.entropy[t])
    elbo, kl = float(trace.elbo[t]), float(trace.kl[t])
    prior = has_penalty(trace)
    ell = r"\ell^{\ast}" if prior else r"\ell"
    a, b = obj[t], obj[t + 1]
    bound_new = elbo + (lp[t + 1] if prior else 0.0)
    mark_e = r"\quad\blacktriangleleft" if kind == "E" else ""
    mark_m = r"\quad\blacktriangleleft" if kind == "M" else ""
    lp_sym = rf" + \log p(\theta_{{{t + 1}}})" if prior else ""
    lp_num = _plus(lp[t + 1]) if prior else ""
    latex = [
        rf"\text{{E: }} {ell}(\theta_{{{t}}}) = \mathcal{{L}}(q_{{{t}}},\theta_{{{t}}})"
        + (rf" + \log p(\theta_{{{t}}})" if prior else "")
        + rf" = {_f(a)} \quad (\mathrm{{KL}}=0){mark_e}",
        # With a prior the M line is long: break it after "Q + H + log p" so it fits 1280 px.
        (rf"\begin{{aligned}}\text{{M: }} \mathcal{{L}}(q_{{{t}}},\theta_{{{t + 1}}}){lp_sym} &= Q + H{lp_sym}"
         rf"\\ &= {_f(q)} + {_f(h)}{lp_num}"
         rf"\\ &= {_f(bound_new)} \;\ge\; {_f(a)}{mark_m}\end{{aligned}}"
         if prior else
         rf"\text{{M: }} \mathcal{{L}}(q_{{{t}}},\theta_{{{t + 1}}}) = Q + H = "
         rf"{_f(q)} + {_f(h)} = {_f(bound_new)} \;\ge\; {_f(a)}{mark_m}"),
        rf"{ell}(\theta_{{{t + 1}}}) = \mathcal{{L}}{lp_sym} + \mathrm{{KL}} = {_f(bound_new)} + {_g(kl)}"
        rf" = {_f(b)} \;\ge\; {ell}(\theta_{{{t}}})",
    ]
    star = "*" if prior else ""
    caption = (f"Step θ{_sub(t)} → θ{_sub(t + 1)} (E-step {t + 1} then M-step {t + 1})"
               + ("; ℓ* = ℓ + log p(θ), the objective maximised with the prior."
                  if prior else "."))
    gain, bound_gain = b - a, bound_new - a
    ok = gain >= -1e-9 * max(1.0, abs(a))
    summary = (f"The M-step lifts the bound by {bound_gain:+.4g}; adding KL = {kl:.3g} ≥ 0 gives "
               f"ℓ{star}(θ{_sub(t + 1)}) − ℓ{star}(θ{_sub(t)}) = {gain:+.4g} "
               f"{'≥ 0 ✓' if ok else '< 0 ✗ (numerical error)'}")
    return {"caption": caption, "latex": latex, "summary": summary, "gain": gain,
            "bound_gain": bound_gain, "kl": kl}


_SUBS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(t: int) -> str:
    return str(t).translate(_SUBS)


def what_changed(trace, s: int, feature_names: list[str] | None = None,
                 fmt=None) -> None:
    """Two or three plain sentences about what half-step ``s`` changed.

    Parameters
    ----------
    fmt : callable, optional
        Formats a 1-D mean for display (e.g. ``lambda v: f"${10**v:,.0f}"`` for log prices).
    """
    st.markdown(describe_half_step(trace, s, feature_names, fmt))


def describe_half_step(trace, s: int, feature_names: list[str] | None = None, fmt=None) -> str:
    """The text of :func:`what_changed` (a Markdown string, testable without a server)."""
    s = int(s)
    kind = half_step_kind(s)
    fmt = fmt or (lambda v: f"{v:.4g}")
    obj = np.asarray(trace.objective, dtype=float)
    ll = np.asarray(trace.log_likelihood, dtype=float)
    gaussian = getattr(trace, "family", "gaussian") == "gaussian"
    if kind == "init":
        text = (f"**{half_step_label(s)}.** This is the starting guess θ₀. No point has been "
                f"assigned to a component yet; the log-likelihood of this guess is "
                f"ℓ(θ₀) = {ll[0]:.3f}. Press ▶ to run the first E-step.")
        return text
    t = half_step_iteration(s)
    if kind == "E":
        R = np.asarray(trace.responsibilities(t))
        shares = R.mean(axis=0)
        share_txt = ", ".join(f"component {k + 1} {100 * v:.0f}%" for k, v in enumerate(shares))
        text = (f"**{half_step_label(s)}.** The parameters θ{_sub(t)} stay fixed; every point gets "
                f"its responsibilities — the probability that each component produced it. "
                f"ℓ is unchanged ({ll[t]:.3f}), but the lower bound now touches it (KL = 0). "
                f"Responsibility shares: {share_txt}.")
        if t > 0:
            prev = np.asarray(trace.responsibilities(t - 1)).argmax(axis=1)
            moved = int(np.sum(prev != R.argmax(axis=1)))
            text += (f" {moved:,} point{'s' if moved != 1 else ''} "
                     f"({100 * moved / len(prev):.1f}%) changed their most likely component since "
                     f"E-step {t}.")
        return text
    # M-step t+1: θ_t -> θ_{t+1}
    p0, p1 = trace.params[t], trace.params[t + 1]
    what = "weights, means and covariances" if gaussian else "segment sizes and probabilities"
    delta = obj[t + 1] - obj[t]
    text = (f"**{half_step_label(s)}.** Holding the responsibilities fixed, the {what} were "
            f"re-estimated as responsibility-weighted averages. The "
            f"{'objective' if has_penalty(trace) else 'log-likelihood'} rose from {obj[t]:.3f} "
            f"to {obj[t + 1]:.3f} ({delta:+.4g}).")
    w0, w1 = np.asarray(p0.weights, float), np.asarray(p1.weights, float)
    if gaussian:
        m0, m1 = np.asarray(p0.means, float), np.asarray(p1.means, float)
        move = np.linalg.norm(m1 - m0, axis=1)
        k = int(np.argmax(move))
        if m0.shape[1] == 1:
            text += (f" The biggest move: μ{_sub(k + 1)} went from {fmt(m0[k, 0])} to "
                     f"{fmt(m1[k, 0])}, and π{_sub(k + 1)} from {w0[k]:.3f} to {w1[k]:.3f}.")
        else:
            names = feature_names or [f"x{d + 1}" for d in range(m0.shape[1])]
            coords = ", ".join(f"{n} {a:.3g}→{b:.3g}" for n, a, b in zip(names, m0[k], m1[k], strict=False))
            text += (f" The biggest move: the mean of component {k + 1} ({coords}); its weight went "
                     f"from {w0[k]:.3f} to {w1[k]:.3f}.")
    else:
        k = int(np.argmax(np.abs(w1 - w0)))
        text += f" Segment {k + 1}'s size changed most: from {w0[k]:.3f} to {w1[k]:.3f}."
    if s == 2 * int(trace.n_iter) and getattr(trace, "status", "") == "degenerate":
        text += f" The fit stopped here: {getattr(trace, 'message', '')}"
    return text


__all__ = [
    "step_slider", "status_banner", "loglik_chart", "restarts_chart", "proof_panel",
    "what_changed", "describe_half_step", "proof_lines", "half_step_label", "half_step_theta_index",
]
