"""Checking figures in tests: every builder's output goes through Plotly's own validation.

The step player's builders return Plotly figure dictionaries and the others ``go.Figure``
objects built by the public constructor (see :mod:`emviz.common`). :func:`validated` turns
either into a ``go.Figure`` the public way, which raises on any invalid property (frames
included), so a test that reads a figure through it also checks that Plotly accepts it.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go

from emviz.player import figure_json


def validated(fig) -> go.Figure:
    """``fig`` (a figure dictionary, a ``go.Figure`` or a FrozenFigure) as a validated
    ``go.Figure``: the public constructor checks every property, frames included."""
    return go.Figure(fig if isinstance(fig, dict) else fig.to_dict())


def values(v):
    """A figure's JSON with typed arrays decoded, so that two figures compare by their values,
    not by how an array was encoded (int8 or int32, base64 or a list)."""
    if isinstance(v, dict):
        if set(v) >= {"dtype", "bdata"} and set(v) <= {"dtype", "bdata", "shape"}:
            a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
            if "shape" in v:
                a = a.reshape([int(s) for s in v["shape"].split(",")])
            return ["array", a.dtype.kind == "f", a.tolist()]
        return {k: values(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            return ["array", any(isinstance(x, float) for x in v), list(v)]
        return [values(x) for x in v]
    return v


def same_drawing(a, b) -> bool:
    """True when two figures (dicts or graph objects) give Plotly.js the same values."""
    return (json.dumps(values(figure_json(a)), sort_keys=True)
            == json.dumps(values(figure_json(b)), sort_keys=True))
