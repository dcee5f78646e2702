"""AppTest helpers for pages whose half-steps are drawn by the client-side step player.

AppTest runs no JavaScript, so these read what the player would draw straight from the
windows the page publishes (emviz.player's packed files) at the step the server holds.
"""

from __future__ import annotations

import json
import time

from emui import player
from emviz import player as packer


def player_data(at) -> dict:
    """The data of the page's step player (the first ``em_step_player`` element that is not
    a view following it)."""
    for el in at.get("bidi_component"):
        if el.proto.component_name == "em_step_player":
            data = json.loads(el.proto.json)
            if not data.get("follow"):
                return data
    raise AssertionError("no step player on the page")


def _views(at) -> list[dict]:
    return [json.loads(el.proto.json) for el in at.get("bidi_component")
            if el.proto.component_name == "em_step_player"
            and json.loads(el.proto.json).get("follow")]


def view_data(at, name: str) -> dict:
    """The data of the view ``name`` (emui.player.step_view) on the page."""
    for el in at.get("bidi_component"):
        if el.proto.component_name == "em_step_player" and el.proto.id.endswith(f"_view_{name}"):
            return json.loads(el.proto.json)
    raise AssertionError(f"no step view {name!r} on the page")


def window_of(data: dict, s: int) -> dict:
    """The published window holding half-step ``s`` (read from the file the browser fetches)."""
    w = int(s) // int(data["window"])
    path = player.window_path(data["v"], w)
    for _ in range(600):  # a window other than the one on screen may still be packing
        if path.exists():
            break
        time.sleep(0.1)
    return packer.decode(path.read_bytes())


def shown(at) -> dict:
    """What the player draws at the server's step: ``{"step", "label", "figures", "texts"}``
    (figures as Plotly JSON dicts, texts as HTML)."""
    data = player_data(at)
    s = int(data["step"])
    out = packer.unpack(window_of(data, s), s)
    return {"step": s, "label": data["labels"][s], "n": int(data["n"]), **out}


def view(at, name: str) -> dict:
    """What the view ``name`` draws when its player shows the server's step (the browser
    draws the view at the player's step): ``{"step", "figures", "texts"}``."""
    data = view_data(at, name)
    s = int(player_data(at)["step"])
    return {"step": s, **packer.unpack(window_of(data, s), s)}


def chart(at, key_part: str) -> dict:
    """The Plotly spec of the chart whose key contains ``key_part``: a player chart at the
    current step, else a keyed ``st.plotly_chart``."""
    try:
        figs = dict(shown(at)["figures"])
        s = int(player_data(at)["step"])
        for data in _views(at):
            figs.update(packer.unpack(window_of(data, s), s)["figures"])
    except AssertionError:
        figs = {}
    for name, fig in figs.items():
        if key_part in name:
            return fig
    for el in at.get("plotly_chart"):
        if key_part in el.proto.id:
            return json.loads(el.proto.spec)
    raise AssertionError(f"no chart with key {key_part!r}")


def text(at, name: str) -> str:
    """An HTML block of the player at the current step, tags removed."""
    import re

    texts = dict(shown(at)["texts"])
    s = int(player_data(at)["step"])
    for data in _views(at):
        texts.update(packer.unpack(window_of(data, s), s)["texts"])
    return re.sub(r"<[^>]+>", "", texts[name])


def set_step(at, key: str, s: int):
    """Move the page to half-step ``s`` as the player would (it reports the step the learner
    stopped on through the component's state; the page keeps it in ``{key}_step``)."""
    at.session_state[f"{key}_step"] = int(s)
    at.run()
    return at


def page_text(at) -> str:
    """Every sentence on the page: Markdown, captions, LaTeX sources, and the player's texts
    at the current step (HTML tags removed)."""
    import re

    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [lt.value for lt in at.latex]
    try:
        parts += [re.sub(r"<[^>]+>", "", h) for h in shown(at)["texts"].values()]
        s = int(player_data(at)["step"])
        for data in _views(at):
            parts += [re.sub(r"<[^>]+>", "", h)
                      for h in packer.unpack(window_of(data, s), s)["texts"].values()]
    except AssertionError:
        pass
    return "\n".join(parts)


def step_of(at, key: str) -> int:
    """The half-step the page holds (the step player's and the slider's state key)."""
    return int(at.session_state[f"{key}_step"])
