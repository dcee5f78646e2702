"""How numbers are written on screen: the one home of the app's number formatters.

Every LaTeX line (proof panels, hand-worked E-steps, derivations) and every short plain-text
margin goes through these functions, so a tiny value is never printed as ``0.0000`` or
``-0.0000`` and a huge one never runs off the line. Pure Python, no Streamlit.

- :func:`fmt` — a value in a LaTeX line: fixed decimals (optionally with thousands groups),
  ``m \\times 10^{e}`` when it is not zero but too small for the decimals.
- :func:`fmt_small` — a small number in LaTeX (a margin, a density, a KL gap): ``0``, four
  significant digits, or ``m \\times 10^{e}`` when tiny or huge.
- :func:`fmt_plain` — the same rule in plain text (Plotly labels, captions).
- :func:`fmt_term` — a signed term appended to a sum: `` + 2.8613`` / `` - 2.8613``.
- :func:`fmt_metric` — a headline number for a metric card.
- :func:`sub` — subscript digits for plain-text labels (``12`` → ``₁₂``).
"""

from __future__ import annotations

import math

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

#: |x| in [SMALL, LARGE) is written in positional notation by fmt_small / fmt_plain.
SMALL = 1e-3
LARGE = 1e6


def _not_finite(x: float, latex: bool) -> str:
    if math.isnan(x):
        return r"\text{NaN}" if latex else "NaN"
    if latex:
        return r"\infty" if x > 0 else r"-\infty"
    return "∞" if x > 0 else "−∞"


def _scientific(x: float) -> tuple[str, str]:
    """(mantissa, exponent) with three significant digits; the rounding is done once, so
    9.9996e-4 becomes 1.00 × 10⁻³, never 10.0 × 10⁻⁴."""
    mantissa, exponent = f"{x:.2e}".split("e")
    return mantissa, str(int(exponent))


def _small(x: float, latex: bool) -> str:
    x = float(x)
    if not math.isfinite(x):
        return _not_finite(x, latex)
    if x == 0:
        return "0"
    if SMALL <= abs(x) < LARGE:
        return f"{x:.4g}" if abs(x) < 1 else f"{x:.4f}"
    if not latex:
        return f"{x:.2e}"
    mantissa, exponent = _scientific(x)
    return rf"{mantissa}\times 10^{{{exponent}}}"


def fmt_small(x: float) -> str:
    """A small number in LaTeX: ``0``, ``0.01234``, ``12.5000`` or ``3.20\\times 10^{-7}``.

    Exactly 0 is ``0``; 10⁻³ ≤ |x| < 1 keeps four significant digits; 1 ≤ |x| < 10⁶ four
    decimals; anything smaller or larger is written as mantissa × 10^exponent.
    """
    return _small(x, latex=True)


def fmt_plain(x: float) -> str:
    """:func:`fmt_small` in plain text (Plotly labels, captions): ``0.0123`` or ``3.20e-07``."""
    return _small(x, latex=False)


def fmt(x: float, decimals: int = 4, grouped: bool = False) -> str:
    """A value for a LaTeX line with ``decimals`` fixed decimals.

    A value that is not zero but would round to zero is written by :func:`fmt_small`
    instead (``-1.00\\times 10^{-5}``, never ``-0.0000``); exactly 0 (or -0.0) is
    ``0.0000``. ``grouped=True`` separates thousands with LaTeX's ``{,}``
    (``-209{,}045.5961``).
    """
    x = float(x)
    if not math.isfinite(x):
        return _not_finite(x, latex=True)
    if x == 0:
        x = 0.0  # -0.0 -> 0.0
    text = f"{x:,.{decimals}f}".replace(",", "{,}") if grouped else f"{x:.{decimals}f}"
    if x != 0 and text.lstrip("-").strip("0.") == "":
        return fmt_small(x)  # it would read 0.0000 (or -0.0000)
    return text


def fmt_term(x: float, decimals: int = 4, grouped: bool = True) -> str:
    """A signed term appended to a LaTeX sum: `` + 2.8613`` or `` - 2.8613`` (never
    ``+ -2.8613``); a tiny term as `` - 4.05\\times 10^{-6}``."""
    x = float(x)
    sign = " - " if x < 0 else " + "
    return sign + fmt(abs(x), decimals, grouped)


def fmt_metric(x: float) -> str:
    """A headline number: 4 decimals, fewer for big magnitudes so it fits a metric card."""
    x = float(x)
    if not math.isfinite(x):
        return _not_finite(x, latex=False)
    decimals = 4 if abs(x) < 1e4 else (2 if abs(x) < 1e6 else 0)
    return f"{x:.{decimals}f}"


def sub(k: int) -> str:
    """Subscript digits for plain-text labels: ``12`` → ``"₁₂"`` (component k, iteration t)."""
    return str(int(k)).translate(_SUBSCRIPTS)


__all__ = ["fmt", "fmt_small", "fmt_plain", "fmt_term", "fmt_metric", "sub", "SMALL", "LARGE"]
