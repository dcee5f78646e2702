"""The half-step slider and everything that reads the current half-step."""

from __future__ import annotations

import dataclasses
import functools
import hashlib

import numpy as np
import streamlit as st

from emcore import half_step_label
from emui import screen, urlstate
from emviz.common import (
    FrozenFigure,
    freeze,
    has_penalty,
    objective_phrase,
    objective_symbol,
    restarts_figure,
    theta_it,
    zero_if_round_off,
)
from emviz.texnum import fmt, fmt_small, fmt_term, sub


def _goto(state_key: str, s: int) -> None:
    st.session_state[state_key] = int(s)


def _toggle_play(key: str) -> None:
    st.session_state[f"{key}_playing"] = not st.session_state.get(f"{key}_playing", False)


def _player(key: str, n: int) -> None:
    """While playing, one half-step forward every 1.2 s (a fragment that reruns the page)."""
    @st.fragment(run_every=1.2)
    def tick() -> None:
        state_key = f"{key}_step"
        if not st.session_state.get(f"{key}_playing"):
            return
        if int(st.session_state.get(state_key, 0)) >= n - 1:
            st.session_state[f"{key}_playing"] = False
            return
        st.session_state[state_key] = int(st.session_state.get(state_key, 0)) + 1
        st.rerun()

    tick()


def _shift(state_key: str, delta: int, n: int) -> None:
    st.session_state[state_key] = int(np.clip(st.session_state.get(state_key, 0) + delta, 0, n - 1))


def step_slider(trace, key: str, start: str = "init", anchor: bool = True):
    """A "Step" slider over the half-steps with ◀ / ▶ buttons; returns the emcore ``HalfStep``.

    Parameters
    ----------
    trace : emcore Trace
    key : str
        Page prefix; the slider's session-state key is ``f"{key}_step"``.
    start : {"init", "end"}
        Where the slider starts on the first visit: θ₀ or the last half-step.
    anchor : bool
        Whether this is the page's main step control, the target of the "Skip to the step
        control" link (one per page: pass False for a second slider).

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
    # One row at every width (columns would stack on a phone): ◀, the slider, ▶, the link.
    # In presentation mode the keys ← → Home End step and Space plays.
    present = screen.presenting()
    playing = present and bool(st.session_state.get(f"{key}_playing", False))
    if anchor:
        screen.step_anchor()
    row = st.container(horizontal=True, wrap=False, vertical_alignment="bottom", gap="small",
                       key=f"{key}_steprow")
    with row:
        if present:
            row.button("⏮", key=f"{key}_first", on_click=_goto, args=(state_key, 0),
                       shortcut="Home", help="First half-step (Home)", width="content")
        row.button("◀", key=f"{key}_prev", on_click=_shift, args=(state_key, -1, n),
                   disabled=s <= 0, help="Previous half-step", width="content",
                   shortcut="Left" if present else None)
        if n > 1:
            s = row.select_slider("Step", options=list(range(n)), format_func=half_step_label,
                                  key=state_key, width="stretch",
                                  help="θ⁽⁰⁾ is the start; each iteration is an E-step (new "
                                       "responsibilities) then an M-step (new parameters).")
        else:
            row.caption("Step: θ⁽⁰⁾ only — the fit stopped before its first iteration.")
        row.button("▶", key=f"{key}_next", on_click=_shift, args=(state_key, 1, n),
                   disabled=s >= n - 1, help="Next half-step", width="content",
                   shortcut="Right" if present else None)
        if present:
            row.button("⏭", key=f"{key}_last", on_click=_goto, args=(state_key, n - 1),
                       shortcut="End", help="Last half-step (End)", width="content")
            row.button("⏸ Pause" if playing else "⏯ Play", key=f"{key}_play",
                       on_click=_toggle_play, args=(key,), shortcut="Space",
                       help="Play the run, one half-step at a time (Space)", width="content")
        urlstate.link_to_step(key, row)
    if playing:
        _player(key, n)
    urlstate.save_url(key)
    return trace.half_step(int(s))


def trace_key(trace) -> str:
    """A short hash that identifies a fit by its content (objective, ℓ, θ₀ and final θ, N, K).

    Two different fits cannot share it in practice; the same fit gets the same key in every
    session, so figures cached under it are shared by a whole class.
    """
    h = hashlib.sha1()
    for a in (trace.objective, trace.log_likelihood):
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    for p in (trace.params[0], trace.params[-1]):
        for f in dataclasses.fields(p):
            h.update(np.ascontiguousarray(getattr(p, f.name), dtype=float).tobytes())
    h.update(repr((int(trace.n_samples), int(trace.n_components), trace.family,
                   bool(getattr(trace, "hard", False)))).encode())
    return h.hexdigest()[:20]


@st.cache_resource(max_entries=400, show_spinner=False)
def _frozen_figure(name: str, fit: str, s: int, options: tuple, _build) -> FrozenFigure:
    return freeze(_build())


def step_figure(name: str, trace, hs, build, options: tuple = ()) -> FrozenFigure:
    """The figure ``build()`` draws for the half-step ``hs``, built once per (fit, step, options).

    A revisited step — by this learner or any other on the server — costs neither the build
    nor Plotly's validation and deep copy (``st.plotly_chart`` gets a :class:`FrozenFigure`).

    Parameters
    ----------
    name : str
        Which figure (e.g. ``"hp_mixture"``); part of the cache key.
    trace : emcore Trace
        The fit drawn; identified by :func:`trace_key`.
    hs : emcore.HalfStep
        The half-step (its position ``hs.s`` is the cache key).
    build : callable
        ``build() -> plotly Figure`` (or a figure dictionary, wrapped once by ``go.Figure``:
        see ``emviz.common.freeze``); called only on a cache miss. It must depend on nothing
        but (name, trace, hs, options) and the page's data, which the trace identifies.
    options : tuple of hashable values
        Everything else the figure depends on (highlighted point, toggles, ...).
    """
    return _frozen_figure(name, trace_key(trace), int(hs.s), tuple(options), build)


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


def restarts_chart(traces, key: str | None = None) -> None:
    """The restarts' log-likelihood curves side by side, the best one highlighted."""
    st.plotly_chart(restarts_figure(traces), key=key, theme="streamlit")
    st.caption(restarts_sentence(traces))


def restarts_sentence(traces) -> str:
    """What the restarts' final objectives say (and do not say) about local maxima."""
    finals = [float(tr.objective[-1]) for tr in traces]
    n = len(traces)
    if n < 2:
        return "One run only: add restarts to see whether other starts end elsewhere."
    spread = max(finals) - min(finals)
    if spread > 1e-6 * max(1.0, abs(max(finals))):
        return (f"The {n} restarts end up to {spread:.2f} nats apart: EM climbs to a *local* "
                "maximum, and which one depends on where it starts.")
    return (f"All {n} restarts reach the same value here (up to rounding). That only says "
            f"these {n} starts found the same maximum; starts not tried could still end "
            "elsewhere.")


#: The proof panel's numbers: four decimals with thousands groups (``-1{,}234.5678``).
_f = functools.partial(fmt, grouped=True)


def _signed(x: float) -> str:
    """A change in one style on every line: ``+0.1234`` / ``-2.861`` (4 significant digits),
    ``+11,846.4`` from 1,000 up (never ``+1.185e+04``), a tiny one as ``+3.2e-07``; exactly 0
    as ``0``."""
    if x == 0:
        return "0"
    return f"{x:+,.1f}" if abs(x) >= 1000 else f"{x:+.4g}"


def _size(x: float) -> str:
    """A non-negative amount in the same style as :func:`_signed`, without the sign."""
    return "0" if x == 0 else _signed(x).lstrip("+")


#: One-line glosses of the proof's symbols, shown under the proof panel's title (the full
#: definitions are on the Why EM works page and in the glossary).
PROOF_GLOSS = ("Q: the expected complete-data log-likelihood (each point's log π_k p(x | θ_k) "
               "averaged over its responsibilities r_ik); H: the entropy of the "
               "responsibilities; 𝓛 = Q + H: a lower bound on ℓ; KL ≥ 0: the gap ℓ − 𝓛 "
               "(Kullback–Leibler divergence). The Why EM works page derives all of it; "
               "📖 Notation in the sidebar lists every symbol.")
PROOF_GLOSS_HARD = ("Hard EM gives each point wholly to its most likely component. ℓ_C: the "
                    "classification log-likelihood Σᵢ maxₖ log πₖ p(xᵢ | θₖ), what hard EM "
                    "never lowers (with a prior, ℓ_C + log p); Q: the same sum with the labels held fixed. The Why EM "
                    "works page has the argument line by line; 📖 Notation in the sidebar "
                    "lists every symbol.")


def proof_lines(trace, t: int, kind: str = "") -> dict:
    """The proof panel's content for step t (testable without a server).

    Returns
    -------
    dict with ``title``, ``caption`` (str), ``latex`` (list of three LaTeX strings),
    ``summary`` (str), ``gain`` (objective[t+1] − objective[t]), ``bound_gain`` (M-step gain
    of the bound) and ``kl`` (the gap after the M-step; 0 when it is round-off).
    """
    obj = np.asarray(trace.objective, dtype=float)
    ll = np.asarray(trace.log_likelihood, dtype=float)
    n_iter = int(trace.n_iter)
    lp = np.asarray(getattr(trace, "log_prior", np.zeros(n_iter + 1)), dtype=float)
    hard = bool(getattr(trace, "hard", False))
    prior = has_penalty(trace)
    q, h = float(trace.q[t]), float(trace.entropy[t])
    a, b = float(obj[t]), float(obj[t + 1])
    scale = max(abs(a), float(trace.n_samples))
    kl = zero_if_round_off(float(trace.kl[t]), scale)
    ell = r"\ell_C" if hard else r"\ell"
    th0, th1 = theta_it(t, latex=True), theta_it(t + 1, latex=True)
    lp0 = rf" + \log p({th0})" if prior else ""
    lp1 = rf" + \log p({th1})" if prior else ""
    lp_num = fmt_term(lp[t + 1]) if prior else ""
    bound_new = float(trace.elbo[t]) + (float(lp[t + 1]) if prior else 0.0)
    mark_e = r"\quad\blacktriangleleft" if kind == "E" else ""
    mark_m = r"\quad\blacktriangleleft" if kind == "M" else ""
    Qs = rf"Q({th1}\mid {th0})"
    if hard:
        latex = [
            rf"\text{{E (hard): }} {ell}({th0}){lp0} = Q({th0}\mid {th0}){lp0} = {_f(a)}{mark_e}",
            rf"\text{{M: }} {Qs}{lp1} = " + (f"{_f(q)}{lp_num} = " if prior else "")
            + rf"{_f(bound_new)} \;\ge\; {_f(a)}{mark_m}",
            rf"\begin{{aligned}}{ell}({th1}){lp1} &= {Qs}{lp1} + \text{{re-assignment gain}}"
            rf"\\ &= {_f(bound_new)} + {fmt_small(kl)} \\ &= {_f(b)} \;\ge\; {ell}({th0}){lp0}"
            r"\end{aligned}",
        ]
    else:
        L1 = rf"\mathcal{{L}}(q_{{{t}}},{th1})"
        latex = [
            rf"\text{{E: }} {ell}({th0}){lp0} = \mathcal{{L}}(q_{{{t}}},{th0}){lp0}"
            rf" = {_f(a)} \quad (\mathrm{{KL}}=0){mark_e}",
            # With a prior the M line is long: break it after "Q + H + log p" so it fits 1280 px.
            (rf"\begin{{aligned}}\text{{M: }} {L1}{lp1} &= Q + H{lp1}"
             rf"\\ &= {_f(q)} + {_f(h)}{lp_num}"
             rf"\\ &= {_f(bound_new)} \;\ge\; {_f(a)}{mark_m}\end{{aligned}}"
             if prior else
             rf"\text{{M: }} {L1} = Q + H = {_f(q)} + {_f(h)} = {_f(bound_new)} \;\ge\; "
             rf"{_f(a)}{mark_m}"),
            # with a prior this line is long too: the numbers go on a second row
            (rf"\begin{{aligned}}{ell}({th1}){lp1} &= \mathcal{{L}}{lp1} + \mathrm{{KL}}"
             rf"\\ &= {_f(bound_new)} + {fmt_small(kl)} \\ &= {_f(b)} \;\ge\; {ell}({th0}){lp0}"
             r"\end{aligned}"
             if prior else
             rf"{ell}({th1}) = \mathcal{{L}} + \mathrm{{KL}} = {_f(bound_new)} + {fmt_small(kl)}"
             rf" = {_f(b)} \;\ge\; {ell}({th0})"),
        ]
    sym = objective_symbol(hard, prior)
    t0, t1 = theta_it(t), theta_it(t + 1)
    title = f"**Why {sym} cannot go down — with this fit's numbers**"
    caption = f"Step {t0} → {t1} (E-step {t + 1} then M-step {t + 1}). "
    if prior:
        caption += (f"This fit has a prior (penalty), so EM maximises {sym}(θ): the M-step "
                    f"maximises Q + log p, and it is {sym}, not {'ℓ_C' if hard else 'ℓ'} "
                    "alone, that cannot fall. ")
    caption += PROOF_GLOSS_HARD if hard else PROOF_GLOSS
    gain, bound_gain = b - a, bound_new - a
    ok = gain >= -1e-9 * max(1.0, abs(a))
    gap = "the re-assignment gain" if hard else "KL"
    at = (lambda th: f"({sym})({th})") if prior else (lambda th: f"{sym}({th})")  # noqa: E731
    summary = (f"The M-step lifts {'Q' if hard else '𝓛'}"
               f"{' + log p' if prior else ''} by {_signed(zero_if_round_off(bound_gain, scale))}"
               f"; adding {gap} = {_size(kl)} ≥ 0 gives "
               f"{at(t1)} − {at(t0)} = {_signed(zero_if_round_off(gain, scale))} "
               f"{'≥ 0 ✓' if ok else '< 0 ✗ (numerical error)'}.")
    if hard or prior:
        dl = float(ll[t + 1] - ll[t])
        summary += (f" The log-likelihood ℓ alone went from {ll[t]:,.4f} to {ll[t + 1]:,.4f} "
                    f"({_signed(dl)}): {'hard EM' if hard else 'EM with a prior'} does not "
                    "promise that ℓ rises.")
    return {"title": title, "caption": caption, "latex": latex, "summary": summary,
            "gain": gain, "bound_gain": bound_gain, "kl": kl}


def describe_half_step(trace, hs, feature_names: list[str] | None = None, fmt=None) -> str:
    """Two or three plain sentences about what half-step ``hs`` changed, as Markdown (the
    step player's narration, :func:`emui.narration`).

    It names what the fit maximises: ℓ for plain EM, ℓ + log p with a prior (reg > 0 or
    α ≠ 1), ℓ_C for hard EM; the plain ℓ is quoted beside it whenever the two differ.
    """
    s, kind, label = hs.s, hs.kind, hs.label
    fmt = fmt or (lambda v: f"{v:.4g}")
    obj = np.asarray(trace.objective, dtype=float)
    ll = np.asarray(trace.log_likelihood, dtype=float)
    gaussian = getattr(trace, "family", "gaussian") == "gaussian"
    hard = bool(getattr(trace, "hard", False))
    prior = has_penalty(trace)
    sym = objective_symbol(hard, prior)
    log_prior = np.asarray(getattr(trace, "log_prior", np.zeros(len(obj))), dtype=float)
    if kind == "init":
        text = (f"**{label}.** This is the starting guess {theta_it(0)}. No point "
                f"has been assigned to a component yet; the log-likelihood of this guess is "
                f"ℓ({theta_it(0)}) = {ll[0]:.3f}")
        if hard or prior:
            text += f", and {sym} = {obj[0]:.3f}, the quantity this fit maximises"
        return text + ". Press ▶ to run the first E-step."
    t = hs.t
    th = theta_it(t)
    lp_t = float(log_prior[t])
    if kind == "E":
        R = np.asarray(hs.resp)
        shares = R.mean(axis=0)
        share_txt = ", ".join(f"component {k + 1} {100 * v:.0f}%" for k, v in enumerate(shares))
        if hard:
            text = (f"**{label}.** The parameters {th} stay fixed; every point is "
                    f"given wholly to its most likely component (a hard E-step). With these "
                    f"labels Q({th} | {th}) equals the classification log-likelihood "
                    + (f"ℓ_C({th}) = {obj[t] - lp_t:.3f} (with the prior, "
                       f"{sym} = {obj[t]:.3f})" if prior else f"ℓ_C({th}) = {obj[t]:.3f}")
                    + f"; the log-likelihood is still "
                    f"ℓ({th}) = {ll[t]:.3f}, which hard EM does not promise to raise. "
                    f"Shares of the points: {share_txt}.")
        else:
            text = (f"**{label}.** The parameters {th} stay fixed; every point "
                    f"gets its responsibilities r_ik — the probability that component k "
                    f"produced point i. ")
            if prior:
                text += (f"{sym} is unchanged ({obj[t]:.3f}; ℓ alone {ll[t]:.3f}), and the lower "
                         f"bound 𝓛 + log p now touches it (KL = 0). ")
            else:
                text += (f"ℓ is unchanged ({ll[t]:.3f}), but the lower bound 𝓛 now touches it "
                         f"(KL = 0). ")
            text += f"Responsibility shares: {share_txt}."
        if t > 0:
            prev = np.asarray(trace.responsibilities(t - 1)).argmax(axis=1)
            moved = int(np.sum(prev != R.argmax(axis=1)))
            text += (f" {moved:,} point{'s' if moved != 1 else ''} "
                     f"({100 * moved / len(prev):.1f}%) changed their most likely component since "
                     f"E-step {t}.")
        return text
    # M-step t+1: θ⁽ᵗ⁾ -> θ⁽ᵗ⁺¹⁾
    p0, p1 = trace.params[t], trace.params[t + 1]
    family = getattr(trace, "family", "gaussian")
    what = {"gaussian": "weights, means and covariances",
            "multinomial": "segment sizes and probabilities",
            "bernoulli": "weights and pixel probabilities"}.get(family,
                                                               "weights and parameters")
    how = ("from the points, each counted with its 0/1 label" if hard
           else "as responsibility-weighted averages")
    if prior:
        how += (" plus the prior's pseudo-counts" if not gaussian
                else ", with reg added to each scatter")
    delta = obj[t + 1] - obj[t]
    text = (f"**{label}.** Holding the {'labels' if hard else 'responsibilities'} "
            f"fixed, the {what} were re-estimated {how}. The "
            f"{objective_phrase(hard, prior)} went from {obj[t]:.3f} to {obj[t + 1]:.3f} "
            f"({_signed(delta)}).")
    if hard or prior:
        dl = ll[t + 1] - ll[t]
        text += (f" ℓ alone went from {ll[t]:.3f} to {ll[t + 1]:.3f} ({_signed(dl)})"
                 + (" — it can fall, because it is not what this fit maximises." if dl < 0
                    else "."))
    w0, w1 = np.asarray(p0.weights, float), np.asarray(p1.weights, float)
    if gaussian:
        m0, m1 = np.asarray(p0.means, float), np.asarray(p1.means, float)
        move = np.linalg.norm(m1 - m0, axis=1)
        k = int(np.argmax(move))
        if m0.shape[1] == 1:
            text += (f" The biggest move: μ{sub(k + 1)} went from {fmt(m0[k, 0])} to "
                     f"{fmt(m1[k, 0])}, and π{sub(k + 1)} from {w0[k]:.3f} to {w1[k]:.3f}.")
        else:
            names = feature_names or [f"x{d + 1}" for d in range(m0.shape[1])]
            coords = ", ".join(f"{n} {a:.3g}→{b:.3g}" for n, a, b in zip(names, m0[k], m1[k], strict=False))
            text += (f" The biggest move: the mean of component {k + 1} ({coords}); its weight "
                     f"{_went(w0[k], w1[k])}.")
    else:
        k = int(np.argmax(np.abs(w1 - w0)))
        who = f"Segment {k + 1}'s size" if family == "multinomial" else \
            f"Component {k + 1}'s weight π{sub(k + 1)}"
        moved = _went(w0[k], w1[k])
        text += (f" {who} changed most: it {moved}." if moved.startswith("went") else
                 " No weight changed (to 10 decimals).")
    if s == 2 * int(trace.n_iter) and getattr(trace, "status", "") == "degenerate":
        text += f" The fit stopped here: {getattr(trace, 'message', '')}"
    return text


def _went(a: float, b: float) -> str:
    """"went from a to b", with as many decimals (3 to 10) as it takes for two different
    values to read differently; "stayed at a" when they agree to 10 decimals."""
    for places in range(3, 11):
        fa, fb = f"{a:.{places}f}", f"{b:.{places}f}"
        if fa != fb:
            return f"went from {fa} to {fb}"
    return f"stayed at {a:.3f}"


__all__ = [
    "step_slider", "step_figure", "trace_key", "status_banner", "restarts_chart",
    "describe_half_step", "proof_lines",
]
