"""emui.animation: the keyboard controls of the client-side animations.

``at_frame`` is checked against the frames' own data (what Plotly's animate would show), and
an AppTest drives the controls (▶, the frame slider, ⏯ Play) and reads the drawn figure.
"""

from __future__ import annotations

import copy
import json

import numpy as np
from streamlit.testing.v1 import AppTest

from emui.animation import at_frame, frame_labels
from emviz import baskets as B
from tests.test_emviz_baskets import small_basket_fit


def _basket_animation():
    X, _, _, trace, names = small_basket_fit()
    return trace, B.run_animation(trace, names, B.overall_share(X), max_frames=6)


def test_at_frame_shows_each_frame_and_leaves_the_figure_alone():
    trace, fig = _basket_animation()
    d = fig.to_dict()
    before = copy.deepcopy(d)
    labels = frame_labels(d)
    assert labels == [s["label"] for s in d["layout"]["sliders"][0]["steps"]]
    assert labels[0] == "θ⁽⁰⁾ (start)"
    for i, fr in enumerate(d["frames"]):
        view = at_frame(d, i)
        assert view["layout"]["sliders"][0]["active"] == i
        assert view["layout"]["title"]["text"] == fr["layout"]["title"]["text"]
        assert view["frames"] is d["frames"]  # the mouse controls keep working
        for idx, tr in zip(fr["traces"], fr["data"], strict=True):
            for k, v in tr.items():
                assert view["data"][idx][k] == v
        # untouched properties stay (colour scale, geometry, hover)
        assert view["data"][0]["colorscale"] == d["data"][0]["colorscale"]
        z = np.asarray(view["data"][0]["z"], dtype=float)
        s = int(fr["name"])
        theta = trace.half_step(s).params
        order = np.argsort(-B.overall_share(trace.X), kind="stable")
        np.testing.assert_allclose(
            z, np.log10(np.clip(np.asarray(theta.probs)[:, order], B.PROB_FLOOR, None)).T)
    assert d == before


def _app():
    import streamlit as st

    import emui
    from tests.test_animation_keys import _basket_animation

    if "fig" not in st.session_state:
        st.session_state["fig"] = _basket_animation()[1]
    emui.animation_chart(st.session_state["fig"], key="kb_anim")


def _active(at) -> int | None:
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return spec["layout"]["sliders"][0].get("active")


def test_keyboard_controls_drive_the_chart():
    at = AppTest.from_function(_app, default_timeout=120)
    at.run()
    assert not at.exception
    n = len(at.select_slider(key="kb_anim_frame").options)
    assert n >= 3 and _active(at) in (0, None)
    assert at.button(key="kb_anim_kprev").disabled
    at.button(key="kb_anim_knext").click().run()
    assert at.select_slider(key="kb_anim_frame").value == 1 and _active(at) == 1
    at.select_slider(key="kb_anim_frame").set_value(n - 1).run()
    assert _active(at) == n - 1 and at.button(key="kb_anim_knext").disabled
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(spec["frames"]) == n  # still the whole animation
    # ⏯ Play at the last frame starts again from the first and ticks forward
    at.button(key="kb_anim_kplay").click().run()
    assert at.session_state["kb_anim_playing"] is True
    assert at.button(key="kb_anim_kplay").label.startswith("⏸")
    assert at.select_slider(key="kb_anim_frame").value == 1 and _active(at) == 1
    at.button(key="kb_anim_kplay").click().run()  # ⏸ Pause
    assert at.session_state["kb_anim_playing"] is False
    assert at.select_slider(key="kb_anim_frame").value == 1
