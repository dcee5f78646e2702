"""Widths of text in the charts' font, to size a figure's margins before Plotly draws it.

Plotly's ``automargin`` measures the tick labels after a first drawing and, when they need
more room than the figure's margin, draws the whole figure again. A figure that asks for
enough room up front is drawn once, about half the cost of its first drawing (on house prices'
load, its two charts took 136-147 ms instead of 236-347 ms). The figures still keep
``automargin``, so a label wider than estimated gets its room all the same, at the cost of
that second drawing.

The charts are drawn in Streamlit's font, Source Sans. The widths below are its advance widths
in em (the font size is 1 em), measured in chromium with a canvas's ``measureText`` at 100 px;
``tests/browser/test_screens_browser.py`` measures sample strings that use most of them again
on the running app. A character not listed counts as :data:`OTHER_EM`, a little more than a
typical letter.
"""

from __future__ import annotations

_GROUPS = {
    " ": 0.2, "|": 0.241, "i": 0.246, "j": 0.247, "',.:;·’": 0.249, "l": 0.255, "I": 0.263,
    "!": 0.289, "f": 0.292, "()[]{}": 0.303, "-": 0.311, "t": 0.338, "r": 0.347, "/\\": 0.35,
    "ℓ": 0.409, "*": 0.418, "s": 0.419, "?z": 0.425, '"': 0.426, "x": 0.446, "c": 0.456,
    "vy": 0.467, "Y": 0.476, "J": 0.479, "–": 0.48, "L": 0.486, "F": 0.494, "k": 0.495,
    "eéè": 0.496, "0123456789#$+<=>^~−": 0.497, "_": 0.5, "ag": 0.504, "X": 0.513, "V": 0.515,
    "θ": 0.522, "E": 0.527, "S": 0.534, "T": 0.536, "Z": 0.539, "`o": 0.542, "A": 0.543,
    "hu": 0.544, "σ": 0.546, "n": 0.547, "b": 0.553, "dpq": 0.555, "μ": 0.562, "P": 0.566,
    "R": 0.569, "C": 0.571, "K": 0.579, "π": 0.586, "B": 0.588, "&": 0.609, "D": 0.615,
    "G": 0.617, "U": 0.645, "N": 0.647, "H": 0.652, "OQ": 0.664, "w": 0.719, "M": 0.727,
    "W": 0.786, "—": 0.8, "%": 0.824, "m": 0.829, "@": 0.847, "…": 0.948,
}
#: Advance width (em) of each measured character.
EM = {ch: w for chars, w in _GROUPS.items() for ch in chars}
#: Width (em) assumed for a character not in :data:`EM`.
OTHER_EM = 0.6


def text_px(text: str, size: float) -> float:
    """Width in pixels of ``text`` set in Source Sans at ``size`` px."""
    return size * sum(EM.get(ch, OTHER_EM) for ch in text)


def widest_px(labels, size: float) -> float:
    """Width in pixels of the widest of ``labels`` (0 for none)."""
    return max((text_px(str(t), size) for t in labels), default=0.0)


__all__ = ["EM", "OTHER_EM", "text_px", "widest_px"]
