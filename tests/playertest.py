"""AppTest helpers for pages whose half-steps are drawn by the client-side step player.

AppTest runs no JavaScript, so these read what the player would draw straight from the data
the page sends it (emviz.player's packed payload) at the step the server holds.
"""

from __future__ import annotations

import json

from emviz import player as packer

#: Payloads seen, by version: like the browser, a test gets each fit's half-steps once per
#: session (later reruns send only the version).
_SEEN: dict[str, dict] = {}


def player_data(at) -> dict:
    """The data of the page's step player (the first ``em_step_player`` element)."""
    for el in at.get("bidi_component"):
        if el.proto.component_name == "em_step_player":
            return json.loads(el.proto.json)
    raise AssertionError("no step player on the page")


def _remember(at) -> dict:
    """The player's data of the last run, its payload kept if this run sent one."""
    data = player_data(at)
    if data.get("z") and data["v"] not in _SEEN:
        _SEEN[data["v"]] = packer.decode(data["z"])
    return data


def remember(at) -> None:
    """Keep the half-steps the last run sent, if it sent them (a test that reruns a page
    without reading the player calls this, so a later :func:`shown` finds them); nothing on
    a page without a step player."""
    try:
        _remember(at)
    except AssertionError:
        pass


def shown(at) -> dict:
    """What the player draws at the server's step: ``{"step", "label", "figures", "texts"}``
    (figures as Plotly JSON dicts, texts as HTML)."""
    data = _remember(at)
    if data["v"] not in _SEEN:
        raise AssertionError("the step player's half-steps were sent in a run this test did "
                             "not read: call shown(at) after the run that changed the fit")
    payload = _SEEN[data["v"]]
    s = int(data["step"])
    out = packer.unpack(payload, s)
    return {"step": s, "label": payload["labels"][s], "n": payload["n"], **out}


def chart(at, key_part: str) -> dict:
    """The Plotly spec of the chart whose key contains ``key_part``: a player chart at the
    current step, else a keyed ``st.plotly_chart``."""
    try:
        figs = shown(at)["figures"]
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

    return re.sub(r"<[^>]+>", "", shown(at)["texts"][name])


def set_step(at, key: str, s: int):
    """Move the page to half-step ``s`` as the player would (it reports the step the learner
    stopped on through the component's state; the page keeps it in ``{key}_step``)."""
    remember(at)  # the run before may have sent a new fit's half-steps: keep them
    at.session_state[f"{key}_step"] = int(s)
    at.run()
    remember(at)
    return at


def page_text(at) -> str:
    """Every sentence on the page: Markdown, captions, LaTeX sources, and the player's texts
    at the current step (HTML tags removed)."""
    import re

    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [lt.value for lt in at.latex]
    try:
        parts += [re.sub(r"<[^>]+>", "", h) for h in shown(at)["texts"].values()]
    except AssertionError:
        pass
    return "\n".join(parts)


def step_of(at, key: str) -> int:
    """The half-step the page holds (the step player's and the slider's state key)."""
    return int(at.session_state[f"{key}_step"])
