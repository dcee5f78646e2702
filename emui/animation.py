"""Keyboard controls for the client-side animations.

Plotly draws an animation's ▶ Play / ❚❚ Pause buttons and its frame slider in SVG: a mouse
can use them, a keyboard cannot reach them (they take no focus). :func:`animation_chart`
draws the chart with a row of ordinary Streamlit controls above it — ⏯ Play, ◀, a frame
slider and ▶ — which Tab reaches and Space / Enter / the arrow keys operate. They drive the
same chart: the chosen frame is drawn by the server (the figure starting at that frame, its
own slider on it), so Plotly's mouse controls keep working too. While playing, a fragment
advances one frame every :data:`FRAME_SECONDS`.
"""

from __future__ import annotations

import streamlit as st

from emviz.common import FrozenFigure

#: Seconds per frame when the keyboard's ⏯ Play runs the animation.
FRAME_SECONDS = 0.8


def _is_array(value) -> bool:
    """A Plotly data array, written as a list or as {"dtype", "bdata"} (replace it whole)."""
    return isinstance(value, dict) and "bdata" in value


def _merge(base: dict, update: dict) -> dict:
    """``base`` updated by ``update`` as Plotly's animate does: nested objects merged,
    everything else (numbers, strings, lists, typed arrays) replaced."""
    out = dict(base)
    for k, v in update.items():
        old = out.get(k)
        if isinstance(v, dict) and isinstance(old, dict) and not _is_array(v) \
                and not _is_array(old):
            out[k] = _merge(old, v)
        else:
            out[k] = v
    return out


def frame_labels(fig_dict: dict) -> list[str]:
    """The label of each frame: its step on the figure's own slider, else its name."""
    frames = fig_dict.get("frames") or []
    sliders = (fig_dict.get("layout") or {}).get("sliders") or []
    steps = sliders[0].get("steps", []) if sliders else []
    if len(steps) == len(frames):
        return [str(step.get("label", fr.get("name", i)))
                for i, (step, fr) in enumerate(zip(steps, frames, strict=True))]
    return [str(fr.get("name", i)) for i, fr in enumerate(frames)]


def at_frame(fig_dict: dict, i: int) -> dict:
    """The animated figure as it looks at frame ``i``: the frame's traces and layout applied
    to the first ones, the figure's own slider on ``i``; frames and buttons kept. A new
    dictionary: the (shared, cached) input is not modified."""
    frames = fig_dict.get("frames") or []
    if not frames:
        return fig_dict
    frame = frames[int(i)]
    data = list(fig_dict.get("data") or [])
    targets = frame.get("traces", range(len(frame.get("data") or [])))
    for idx, trace in zip(targets, frame.get("data") or [], strict=False):
        if 0 <= int(idx) < len(data):
            data[int(idx)] = _merge(data[int(idx)], trace)
    layout = _merge(fig_dict.get("layout") or {}, frame.get("layout") or {})
    sliders = layout.get("sliders")
    if sliders:
        layout["sliders"] = [{**sliders[0], "active": int(i)}, *sliders[1:]]
    return {**fig_dict, "data": data, "layout": layout}


def _toggle(key: str, n: int) -> None:
    playing = not st.session_state.get(f"{key}_playing", False)
    st.session_state[f"{key}_playing"] = playing
    if playing and int(st.session_state.get(f"{key}_frame", 0)) >= n - 1:
        st.session_state[f"{key}_frame"] = 0  # Play at the end starts again


def _shift(key: str, delta: int, n: int) -> None:
    state = f"{key}_frame"
    st.session_state[state] = min(max(int(st.session_state.get(state, 0)) + delta, 0), n - 1)
    st.session_state[f"{key}_playing"] = False


def _body(fig, key: str, playing: bool) -> None:
    d = fig.to_dict()
    labels = frame_labels(d)
    n = len(labels)
    state, play_key = f"{key}_frame", f"{key}_playing"
    if playing != bool(st.session_state.get(play_key, False)):
        st.rerun()  # Play / Pause pressed: the page draws the other fragment (ticking or not)
    i = min(max(int(st.session_state.get(state, 0)), 0), n - 1)
    if playing:
        if i >= n - 1:
            st.session_state[play_key] = False
            st.rerun()
        i += 1
    st.session_state[state] = i
    row = st.container(horizontal=True, wrap=False, vertical_alignment="bottom", gap="small",
                       key=f"{key}_keys")
    with row:
        row.button("⏸ Pause" if playing else "⏯ Play", key=f"{key}_kplay", on_click=_toggle,
                   args=(key, n), width="content",
                   help="Play the animation frame by frame (keyboard: Tab here, then Space)")
        row.button("◀", key=f"{key}_kprev", on_click=_shift, args=(key, -1, n),
                   disabled=i <= 0, width="content", help="Previous frame")
        row.select_slider("Animation frame", options=list(range(n)),
                          format_func=lambda j: labels[j], key=state, width="stretch",
                          help="With the keyboard: Tab to the slider, then ← / →.")
        row.button("▶", key=f"{key}_knext", on_click=_shift, args=(key, 1, n),
                   disabled=i >= n - 1, width="content", help="Next frame")
    shown = fig if i == 0 else FrozenFigure(at_frame(d, i))
    st.plotly_chart(shown, key=key, theme="streamlit")


@st.fragment
def _still(fig, key: str) -> None:
    _body(fig, key, playing=False)


@st.fragment(run_every=FRAME_SECONDS)
def _ticking(fig, key: str) -> None:
    _body(fig, key, playing=True)


def animation_chart(fig, key: str) -> None:
    """A Plotly animation with keyboard-operable controls above it.

    Parameters
    ----------
    fig : plotly Figure or FrozenFigure with ``frames`` (and, usually, the updatemenus and
        sliders of :func:`emviz.common.animation_controls`)
    key : str
        The chart's Streamlit key; the controls use ``f"{key}_frame"`` (frame index),
        ``f"{key}_playing"``, ``f"{key}_kplay"``, ``f"{key}_kprev"``, ``f"{key}_knext"``.
    """
    if len(fig.to_dict().get("frames") or []) < 2:
        st.plotly_chart(fig, key=key, theme="streamlit")
        return
    if st.session_state.get(f"{key}_playing", False):
        _ticking(fig, key)
    else:
        _still(fig, key)


__all__ = ["animation_chart", "at_frame", "frame_labels", "FRAME_SECONDS"]
