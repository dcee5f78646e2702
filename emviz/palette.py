"""One colour-blind-safe palette for the whole app (Okabe & Ito, 2008).

Component ``k`` gets ``component_color(k)`` in every figure, so a learner can follow a
component from the histogram to the trajectories to the proof page.
"""

from __future__ import annotations

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
