"""One colour-blind-safe palette for the whole app (Okabe & Ito, 2008).

Component ``k`` gets ``component_color(k)`` in every figure, so a learner can follow a
component from the histogram to the trajectories to the proof page.
"""

from __future__ import annotations

import numpy as np

# Okabe–Ito, reordered so that the first components are the most distinct on a projector.
COMPONENT_COLORS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)

NEUTRAL = "#7F7F7F"  # points before any responsibilities exist, data histograms
MIXTURE = "#333333"  # the mixture density / overall curves


def component_color(k: int) -> str:
    """Colour of component ``k`` (wraps around after eight components)."""
    return COMPONENT_COLORS[k % len(COMPONENT_COLORS)]


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``"#0072B2"`` -> ``(0, 114, 178)``."""
    color = color.lstrip("#")
    return tuple(int(color[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def rgba(color: str, alpha: float) -> str:
    """A CSS ``rgba(...)`` string of a hex colour with transparency ``alpha``."""
    r, g, b = hex_to_rgb(color)
    return f"rgba({r},{g},{b},{alpha:.3g})"


# --------------------------------------------------------------------------------------------
# Text on coloured cells: WCAG 2 contrast
# --------------------------------------------------------------------------------------------
#: Text colours for heatmap cells: whichever of the two contrasts more with the cell. For any
#: cell colour one of them reaches at least 4.58:1 (the worst case is a cell of relative
#: luminance 0.179, where both give (0.179 + 0.05) / 0.05 = 1.05 / 0.229 = 4.58).
DARK_TEXT, LIGHT_TEXT = "#000000", "#FFFFFF"


def _rgb(color) -> tuple[float, float, float]:
    """``"#RRGGBB"``, ``"rgb(r, g, b)"`` / ``"rgba(...)"`` or an (r, g, b) tuple -> floats 0…255."""
    if isinstance(color, str):
        c = color.strip()
        if c.startswith("#"):
            return tuple(float(v) for v in hex_to_rgb(c))  # type: ignore[return-value]
        inner = c[c.index("(") + 1: c.rindex(")")]
        return tuple(float(v) for v in inner.split(",")[:3])  # type: ignore[return-value]
    return tuple(float(v) for v in color[:3])  # type: ignore[return-value]


def relative_luminance(color) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0 = black, 1 = white)."""
    chans = []
    for v in _rgb(color):
        c = v / 255.0
        chans.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = chans
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a, b) -> float:
    """WCAG 2 contrast ratio (L_light + 0.05) / (L_dark + 0.05), between 1 and 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color_on(background) -> str:
    """Black or white text, whichever contrasts more with ``background``."""
    return (DARK_TEXT if contrast_ratio(DARK_TEXT, background) >= contrast_ratio(LIGHT_TEXT, background)
            else LIGHT_TEXT)


def colorscale_rgb(colorscale, fraction: float) -> tuple[float, float, float]:
    """The colour at ``fraction`` (clipped to 0…1) of a Plotly colorscale [[f, colour], …],
    interpolated linearly in RGB between its stops as plotly.js draws it."""
    f = min(max(float(fraction), 0.0), 1.0)
    stops = [(float(s), _rgb(c)) for s, c in colorscale]
    for (f0, c0), (f1, c1) in zip(stops, stops[1:], strict=False):
        if f <= f1:
            w = 0.0 if f1 == f0 else (f - f0) / (f1 - f0)
            return tuple(a + w * (b - a) for a, b in zip(c0, c1, strict=True))  # type: ignore[return-value]
    return stops[-1][1]


def text_colors(z, colorscale, zmin=None, zmax=None) -> list[list[str | None]]:
    """For each heatmap cell, :func:`text_color_on` its colour (None where z is missing).

    ``colorscale`` is a Plotly colorscale (a list of [fraction, colour] or a name such as
    "Blues"); zmin / zmax default to the finite range of ``z``, as Plotly's own.
    """
    if isinstance(colorscale, str):
        from plotly.colors import get_colorscale

        colorscale = get_colorscale(colorscale)
    z = np.asarray(z, dtype=float)
    finite = z[np.isfinite(z)]
    lo = (float(np.min(finite)) if finite.size else 0.0) if zmin is None else float(zmin)
    hi = (float(np.max(finite)) if finite.size else 1.0) if zmax is None else float(zmax)
    span = hi - lo
    return [[None if not np.isfinite(v) else
             text_color_on(colorscale_rgb(colorscale, (v - lo) / span if span > 0 else 0.0))
             for v in row] for row in z]


#: A colorscale that paints nothing (the text-only layers of :func:`contrast_text_layers`).
CLEAR_SCALE = [[0.0, "rgba(0,0,0,0)"], [1.0, "rgba(0,0,0,0)"]]
_GEOMETRY = ("x", "y", "x0", "dx", "y0", "dy", "xgap", "ygap", "xaxis", "yaxis", "zsmooth")


def contrast_text_layers(heat: dict) -> list[dict]:
    """A heatmap trace whose cell labels all reach ≥ 4.5:1 (WCAG AA) on their cells.

    Plotly's own label colour ("auto") is #444 or white by a brightness rule, which leaves
    some mid-tone cells near 3.3:1. Plotly draws one colour per trace, so the labels move to
    two text-only layers over the cells — black labels and white labels, each cell's chosen
    by :func:`text_colors` — while the coloured trace keeps its ``text`` for hovering.
    Plotly still sizes the labels to the cells (as it does for plain text). The layers paint
    nothing, so they are rasterised at one pixel per cell (``zsmooth="fast"``) instead of at
    full size with the gaps: the same picture, with two fewer plot-sized PNG encodings per
    redraw (the gaps still size the labels).

    Parameters
    ----------
    heat : dict
        A plain heatmap trace with ``z``, ``text`` and ``texttemplate``.

    Returns
    -------
    [colour trace (no texttemplate), black-label layer, white-label layer]; the layers skip
    hovering and show no colour bar.
    """
    colour = {k: v for k, v in heat.items() if k != "texttemplate"}
    base = {k: heat[k] for k in _GEOMETRY if k in heat}
    layers = []
    for text, color in zip(contrast_text_split(heat), (DARK_TEXT, LIGHT_TEXT), strict=True):
        layers.append(dict(type="heatmap", z=heat["z"], text=text,
                           texttemplate=heat.get("texttemplate", "%{text}"),
                           textfont={**heat.get("textfont", {}), "color": color},
                           colorscale=CLEAR_SCALE, showscale=False, hoverinfo="skip",
                           **{**base, "zsmooth": "fast"}))
    return [colour, *layers]


def contrast_text_split(heat: dict) -> tuple[list, list]:
    """The cell labels of ``heat`` split into (black labels, white labels), "" elsewhere."""
    colors = text_colors(heat["z"], heat.get("colorscale") or "Viridis", heat.get("zmin"),
                         heat.get("zmax"))
    return tuple([[str(lab) if c == want else "" for lab, c in zip(trow, crow, strict=True)]
                  for trow, crow in zip(heat["text"], colors, strict=True)]
                 for want in (DARK_TEXT, LIGHT_TEXT))
