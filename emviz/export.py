"""Figures for slides: PNG/SVG and animated GIFs drawn on the server with matplotlib.

Plotly's own static export needs kaleido and a browser engine, which the app does not ship.
Instead :func:`to_matplotlib` *redraws* a Plotly figure with matplotlib — the same data, the
same colours, titles and axis labels — for the trace types the app's builders use: scatter
(lines, markers, fills), bar, histogram, heatmap and contour, on one or several subplot axes,
plus the layout's vertical/horizontal guide lines and subplot titles.

:func:`run_gif` turns any page's figure builder ``s -> figure`` into an animated GIF of
the run, one frame per half-step (subsampled for long runs), so the GIF shows exactly the
colours and half-steps of the page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DEFAULT_WIDTH_PX = 1100
DEFAULT_HEIGHT_PX = 450
_DASHES = {"solid": "-", "dot": ":", "dash": "--", "dashdot": "-.", "longdash": (0, (8, 3)),
           "longdashdot": (0, (8, 3, 1, 3))}
_NAMED = {"white": (1, 1, 1, 1), "black": (0, 0, 0, 1), "grey": (0.5, 0.5, 0.5, 1),
          "gray": (0.5, 0.5, 0.5, 1), "transparent": (0, 0, 0, 0)}
_RGBA = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)")


def to_rgba(color, default=(0.35, 0.35, 0.35, 1.0)) -> tuple[float, float, float, float]:
    """A Plotly colour (``"#0072B2"``, ``"rgba(0,114,178,0.3)"``, ``"rgb(…)"``, a few names)
    as a matplotlib RGBA tuple in [0, 1]."""
    if color is None:
        return default
    if isinstance(color, (tuple, list)) and len(color) in (3, 4):
        c = tuple(float(v) for v in color)
        return c if len(c) == 4 else (*c, 1.0)
    c = str(color).strip().lower()
    if c.startswith("#"):
        h = c[1:]
        if len(h) == 3:
            h = "".join(ch * 2 for ch in h)
        r, g, b = (int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))
        a = int(h[6:8], 16) / 255 if len(h) == 8 else 1.0
        return (r, g, b, a)
    m = _RGBA.fullmatch(c)
    if m:
        r, g, b = (float(m.group(i)) / 255 for i in (1, 2, 3))
        a = float(m.group(4)) if m.group(4) is not None else 1.0
        return (r, g, b, a)
    if c in _NAMED:
        return _NAMED[c]
    try:
        return matplotlib.colors.to_rgba(c)
    except ValueError:
        return default


def _colors(value, n: int, default) -> list | tuple:
    """A single RGBA tuple, or a list of n tuples when Plotly got one colour per point."""
    if value is None:
        return to_rgba(None, default)
    if isinstance(value, str):
        return to_rgba(value, default)
    arr = list(value)
    if len(arr) == n and all(isinstance(v, str) for v in arr):
        return [to_rgba(v, default) for v in arr]
    return to_rgba(None, default)


def _resolve(value, owner, n: int, default):
    """Colours of n markers: one RGBA, a list of RGBA (one per point), or None.

    Handles a single colour, a list of colour strings, and numbers mapped through the
    owner's ``colorscale`` between ``cmin`` and ``cmax`` (plotly's numeric colouring).
    """
    if value is None:
        return default
    if isinstance(value, str):
        return to_rgba(value, default)
    arr = np.asarray(value)
    if arr.dtype.kind in "iuf" and arr.ndim == 1:
        cs = getattr(owner, "colorscale", None)
        cmap = _plotly_cmap(cs) if cs is not None else matplotlib.colormaps["viridis"]
        if isinstance(cmap, str):
            cmap = matplotlib.colormaps[cmap]
        lo = owner.cmin if getattr(owner, "cmin", None) is not None else float(arr.min())
        hi = owner.cmax if getattr(owner, "cmax", None) is not None else float(arr.max())
        t = (arr.astype(float) - lo) / (hi - lo) if hi > lo else np.zeros(len(arr))
        return [tuple(c) for c in cmap(np.clip(t, 0, 1))]
    if len(arr) == n:
        return [to_rgba(v, default) for v in arr]
    return default


def _arr(v) -> np.ndarray | None:
    if v is None:
        return None
    a = np.asarray(v)
    if a.dtype == object:
        try:
            a = a.astype(float)
        except (TypeError, ValueError):
            return a
    return a


def _text(t) -> str:
    """Plotly title text without the bits of HTML Plotly allows (<b>, <br>, <sup>)."""
    if t is None:
        return ""
    s = t if isinstance(t, str) else getattr(t, "text", None) or ""
    s = re.sub(r"<br\s*/?>", "\n", s)
    return re.sub(r"<[^>]+>", "", s)


def _axis_name(ref: str, letter: str) -> str:
    """``"x2"`` -> ``"xaxis2"``; ``"x"`` -> ``"xaxis"``."""
    n = ref[1:]
    return f"{letter}axis{n}"


def _plotly_cmap(colorscale, name="plotly") -> LinearSegmentedColormap | str:
    if colorscale is None:
        return "viridis"
    if isinstance(colorscale, str):
        try:
            from plotly.colors import get_colorscale

            colorscale = get_colorscale(colorscale)
        except Exception:  # noqa: BLE001 - unknown name: fall back to a safe default
            return "viridis"
    stops = []
    for pos, col in colorscale:
        stops.append((float(pos), to_rgba(col)[:3]))
    return LinearSegmentedColormap.from_list(name, stops, N=max(256, 4 * len(stops)))


def to_matplotlib(fig: go.Figure | dict, width_px: int | None = None, height_px: int | None = None,
                  dpi: int = 100, dark: bool = False) -> Figure:
    """Redraw a Plotly figure with matplotlib.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure, or a Plotly figure dictionary
        A dictionary (what the step player's builders return) is wrapped once by the public
        ``go.Figure`` constructor. Frames, buttons and sliders are ignored: the figure is drawn
        as it currently stands.
    width_px, height_px : int, optional
        Output size in pixels at ``dpi`` (defaults: 1100 wide, the figure's own height).
    dpi : int
    dark : bool
        Draw on a dark background (for dark slides); text and grid become light.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(fig, go.Figure):
        fig = go.Figure(fig)
    layout = fig.layout
    w = width_px or (layout.width if layout.width else DEFAULT_WIDTH_PX)
    h = height_px or (layout.height if layout.height else DEFAULT_HEIGHT_PX)
    fg = (0.92, 0.92, 0.92, 1) if dark else (0.15, 0.15, 0.15, 1)
    bg = (0.08, 0.09, 0.12, 1) if dark else (1, 1, 1, 1)
    mfig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi, facecolor=bg)
    FigureCanvasAgg(mfig)

    # --- axes from the traces' axis references and the layout's domains ------------------
    refs: list[tuple[str, str]] = []
    for tr in fig.data:
        xr = getattr(tr, "xaxis", None) or "x"
        yr = getattr(tr, "yaxis", None) or "y"
        if (xr, yr) not in refs:
            refs.append((xr, yr))
    if not refs:
        refs = [("x", "y")]
    top_room = 0.12 if _text(layout.title) else 0.04
    has_legend = any(getattr(tr, "showlegend", None) is not False and getattr(tr, "name", None)
                     for tr in fig.data) and layout.showlegend is not False
    right_room = 0.20 if has_legend else 0.03
    left, bottom = 0.085, 0.12
    usable_w, usable_h = 1 - left - right_room, 1 - bottom - top_room
    axes: dict[tuple[str, str], object] = {}
    for xr, yr in refs:
        xa = layout[_axis_name(xr, "x")] if _axis_name(xr, "x") in layout else None
        ya = layout[_axis_name(yr, "y")] if _axis_name(yr, "y") in layout else None
        xd = list(xa.domain) if xa is not None and xa.domain else [0.0, 1.0]
        yd = list(ya.domain) if ya is not None and ya.domain else [0.0, 1.0]
        rect = [left + xd[0] * usable_w, bottom + yd[0] * usable_h,
                (xd[1] - xd[0]) * usable_w * 0.97, (yd[1] - yd[0]) * usable_h * 0.93]
        ax = mfig.add_axes(rect, facecolor=bg)
        for spine in ax.spines.values():
            spine.set_color(fg)
        ax.tick_params(colors=fg, labelsize=9)
        ax.grid(True, color=(*fg[:3], 0.15), linewidth=0.6)
        ax.set_axisbelow(True)
        if xa is not None:
            ax.set_xlabel(_text(xa.title), color=fg, fontsize=10)
            if xa.type == "log":
                ax.set_xscale("log")
            if xa.range is not None:
                ax.set_xlim(*xa.range)
            if xa.ticktext is not None and xa.tickvals is not None:
                ax.set_xticks(list(xa.tickvals), [_text(t) for t in xa.ticktext])
            if xa.showticklabels is False:
                ax.tick_params(labelbottom=False)
        if ya is not None:
            ax.set_ylabel(_text(ya.title), color=fg, fontsize=10)
            if ya.type == "log":
                ax.set_yscale("log")
            if ya.range is not None:
                ax.set_ylim(*ya.range)
            if ya.autorange == "reversed":
                ax.invert_yaxis()
            if ya.ticktext is not None and ya.tickvals is not None:
                ax.set_yticks(list(ya.tickvals), [_text(t) for t in ya.ticktext])
        axes[(xr, yr)] = ax

    # --- traces ---------------------------------------------------------------------------
    prev_y: dict[tuple[str, str], np.ndarray] = {}
    for tr in fig.data:
        key = (getattr(tr, "xaxis", None) or "x", getattr(tr, "yaxis", None) or "y")
        ax = axes[key]
        label = tr.name if (getattr(tr, "showlegend", None) is not False and tr.name) else None
        if getattr(tr, "visible", True) in (False, "legendonly"):
            continue
        kind = tr.type
        if kind in ("scatter", "scattergl"):
            prev_y[key] = _draw_scatter(ax, tr, label, prev_y.get(key))
        elif kind == "bar":
            _draw_bar(ax, tr, label)
        elif kind == "histogram":
            _draw_histogram(ax, tr, label)
        elif kind == "heatmap":
            _draw_heatmap(ax, tr, mfig)
        elif kind in ("contour", "histogram2dcontour"):
            _draw_contour(ax, tr)

    # --- shapes (vertical / horizontal guides, rectangles) --------------------------------
    for shp in layout.shapes or ():
        xr = (shp.xref or "x").replace(" domain", "")
        yr = (shp.yref or "y").replace(" domain", "")
        ax = axes.get((xr, yr)) or next((a for (x_, _), a in axes.items() if x_ == xr), None) \
            or next((a for (_, y_), a in axes.items() if y_ == yr), None)
        if ax is None:
            continue
        color = to_rgba(shp.line.color if shp.line else None, (0.5, 0.5, 0.5, 1))
        ls = _DASHES.get((shp.line.dash if shp.line else None) or "solid", "-")
        lw = (shp.line.width if shp.line and shp.line.width is not None else 1) * 0.9
        x_dom = "domain" in (shp.xref or "")
        y_dom = "domain" in (shp.yref or "")
        if shp.type == "line" and shp.x0 == shp.x1 and y_dom:
            ax.axvline(shp.x0, color=color, linestyle=ls, linewidth=lw)
        elif shp.type == "line" and shp.y0 == shp.y1 and x_dom:
            ax.axhline(shp.y0, color=color, linestyle=ls, linewidth=lw)
        elif shp.type == "line":
            ax.plot([shp.x0, shp.x1], [shp.y0, shp.y1], color=color, linestyle=ls, linewidth=lw)
        elif shp.type == "rect" and not x_dom and not y_dom:
            fc = to_rgba(shp.fillcolor, (0.5, 0.5, 0.5, 0.15))
            ax.add_patch(matplotlib.patches.Rectangle((shp.x0, shp.y0), shp.x1 - shp.x0,
                                                      shp.y1 - shp.y0, facecolor=fc, edgecolor=color,
                                                      linewidth=lw))
        elif shp.type == "rect" and x_dom and not y_dom:
            fc = to_rgba(shp.fillcolor, (0.5, 0.5, 0.5, 0.15))
            ax.axhspan(shp.y0, shp.y1, color=fc)
        elif shp.type == "rect" and y_dom and not x_dom:
            fc = to_rgba(shp.fillcolor, (0.5, 0.5, 0.5, 0.15))
            ax.axvspan(shp.x0, shp.x1, color=fc)

    # --- texts ----------------------------------------------------------------------------
    title = _text(layout.title)
    if title:
        mfig.text(0.01, 0.985, title, ha="left", va="top", fontsize=13, color=fg,
                  fontweight="bold")
    for ann in layout.annotations or ():
        if ann.xref == "paper" and ann.yref == "paper" and ann.text:
            mfig.text(left + float(ann.x) * usable_w, bottom + float(ann.y) * usable_h,
                      _text(ann.text), ha="center", va="bottom", fontsize=10.5, color=fg)
        elif ann.text and ann.x is not None and ann.y is not None:
            ax = axes.get(((ann.xref or "x"), (ann.yref or "y")))
            if ax is not None:
                ax.annotate(_text(ann.text), (ann.x, ann.y), fontsize=9, color=fg)
    if has_legend:
        handles, labels = [], []
        for ax in axes.values():
            hs, ls = ax.get_legend_handles_labels()
            for h_, l_ in zip(hs, ls, strict=False):
                if l_ not in labels:
                    handles.append(h_)
                    labels.append(l_)
        if handles:
            leg = mfig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1 - right_room + 0.01,
                              1 - top_room), fontsize=9, frameon=False)
            for t in leg.get_texts():
                t.set_color(fg)
    return mfig


def _draw_scatter(ax, tr, label, prev_y):
    x, y = _arr(tr.x), _arr(tr.y)
    if y is None:
        return prev_y
    if x is None:
        x = np.arange(len(y))
    mode = tr.mode or ("lines+markers" if len(y) < 20 else "lines")
    line_color = to_rgba(tr.line.color if tr.line else None)
    lw = (tr.line.width if tr.line and tr.line.width is not None else 2) * 0.8
    ls = _DASHES.get((tr.line.dash if tr.line else None) or "solid", "-")
    fill = tr.fill
    fillcolor = to_rgba(tr.fillcolor, (*line_color[:3], 0.3)) if fill else None
    if fill == "tozeroy":
        ax.fill_between(x, y, 0, color=fillcolor, linewidth=0)
    elif fill == "tonexty" and prev_y is not None and len(prev_y) == len(y):
        ax.fill_between(x, prev_y, y, color=fillcolor, linewidth=0)
    elif fill == "toself":
        ax.fill(x, y, color=fillcolor, linewidth=0)
    drew_label = False
    if "lines" in mode and not (tr.line and tr.line.width == 0):
        ax.plot(x, y, color=line_color, linewidth=lw, linestyle=ls, label=label)
        drew_label = True
    if "markers" in mode:
        mk = tr.marker
        size = mk.size if mk is not None and mk.size is not None else 6
        sizes = np.asarray(size, dtype=float) if not np.isscalar(size) else float(size)
        face = _resolve(mk.color if mk is not None else None, mk, len(y), line_color)
        edge = _resolve(mk.line.color, mk.line, len(y), None) if mk is not None and mk.line else None
        symbol = str(mk.symbol or "circle") if mk is not None else "circle"
        open_ = symbol.endswith("-open") or symbol.startswith("line-")
        m = {"circle": "o", "square": "s", "diamond": "D", "x": "x", "cross": "P",
             "triangle-up": "^", "triangle-down": "v", "star": "*", "line-ns": "|",
             "line-ew": "_"}.get(symbol.replace("-open", ""), "o")
        kw = dict(s=np.square(sizes) * 0.6, marker=m, zorder=3,
                  label=None if drew_label else label, linewidths=0.9)
        if m in ("|", "_", "x"):
            col = edge if (open_ and edge is not None) else face
            kw.update(c=col if isinstance(col, list) else [col], linewidths=1.4)
        elif open_:
            kw.update(facecolors="none",
                      edgecolors=(edge if edge is not None else face) if isinstance(
                          edge if edge is not None else face, list) else [edge if edge is not None else face])
        else:
            kw.update(c=face if isinstance(face, list) else [face])
            if edge is not None:
                kw.update(edgecolors=edge if isinstance(edge, list) else [edge])
        ax.scatter(x, y, **kw)
    if "text" in mode and tr.text is not None:
        texts = [tr.text] * len(y) if isinstance(tr.text, str) else list(tr.text)
        for xi, yi, ti in zip(x, y, texts, strict=False):
            ax.annotate(_text(ti), (xi, yi), fontsize=8, ha="center", va="bottom")
    return np.asarray(y, dtype=float) if np.issubdtype(np.asarray(y).dtype, np.number) else prev_y


def _draw_bar(ax, tr, label):
    x, y = _arr(tr.x), _arr(tr.y)
    horizontal = tr.orientation == "h"
    color = _colors(tr.marker.color if tr.marker else None, len(y if not horizontal else x),
                    (0.45, 0.45, 0.45, 1))
    if horizontal:
        ax.barh(np.arange(len(y)) if y.dtype == object else y, x, color=color, label=label)
        if y.dtype == object:
            ax.set_yticks(np.arange(len(y)), [str(v) for v in y])
    else:
        pos = np.arange(len(x)) if x.dtype.kind in "OUS" else x
        width = tr.width if tr.width is not None else (0.8 if x.dtype.kind in "OUS" or len(x) < 2
                                                      else 0.8 * float(np.min(np.diff(np.sort(x)))))
        base = _arr(tr.base) if tr.base is not None else None
        ax.bar(pos, y, width=width, color=color, label=label, bottom=base)
        if x.dtype.kind in "OUS":
            ax.set_xticks(pos, [str(v) for v in x], rotation=30, ha="right")


def _draw_histogram(ax, tr, label):
    x = _arr(tr.x)
    if x is None:
        return
    x = np.asarray(x, dtype=float)
    if tr.xbins is not None and tr.xbins.size:
        edges = np.arange(float(tr.xbins.start), float(tr.xbins.end) + float(tr.xbins.size) * 0.999,
                          float(tr.xbins.size))
    else:
        edges = np.histogram_bin_edges(x, bins=tr.nbinsx or "auto")
    density = tr.histnorm in ("probability density",)
    color = to_rgba(tr.marker.color if tr.marker else None, (0.55, 0.55, 0.55, 1))
    alpha = tr.opacity if tr.opacity is not None else 1.0
    ax.hist(x, bins=edges, density=density, color=(*color[:3], color[3] * alpha), label=label,
            edgecolor=(1, 1, 1, 0.6), linewidth=0.5)


def _draw_heatmap(ax, tr, mfig):
    z = np.asarray(tr.z, dtype=float)
    cmap = _plotly_cmap(tr.colorscale)
    x = _arr(tr.x)
    y = _arr(tr.y)
    if x is not None and y is not None and x.dtype.kind in "fi" and y.dtype.kind in "fi":
        # numeric x and y (cell edges or centres, as Plotly takes them); NaN cells stay clear
        ax.pcolormesh(x, y, np.ma.masked_invalid(z), cmap=cmap, vmin=tr.zmin, vmax=tr.zmax,
                      shading="flat" if len(x) == z.shape[1] + 1 else "nearest")
        return
    im = ax.imshow(z, aspect="auto", cmap=cmap, origin="lower" if y is not None and y.dtype.kind in "fi"
                   else "upper", vmin=tr.zmin, vmax=tr.zmax, interpolation="nearest")
    if x is not None and x.dtype.kind in "OUS":
        ax.set_xticks(np.arange(len(x)), [str(v) for v in x], rotation=45, ha="right", fontsize=8)
    if y is not None and y.dtype.kind in "OUS":
        ax.set_yticks(np.arange(len(y)), [str(v) for v in y], fontsize=8)
    if tr.showscale is not False:
        mfig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)


def _draw_contour(ax, tr):
    z = np.asarray(tr.z, dtype=float)
    x = _arr(tr.x)
    y = _arr(tr.y)
    if x is None:
        x = np.arange(z.shape[1])
    if y is None:
        y = np.arange(z.shape[0])
    cmap = _plotly_cmap(tr.colorscale)
    color = None
    if tr.line is not None and tr.line.color is not None:
        color = [to_rgba(tr.line.color)]
        cmap = None
    ncont = tr.ncontours or 10
    if tr.contours is not None and tr.contours.coloring == "lines" or color is not None:
        ax.contour(x, y, z, levels=ncont, cmap=cmap, colors=color, linewidths=1)
    else:
        ax.contourf(x, y, z, levels=ncont, cmap=cmap, alpha=tr.opacity if tr.opacity else 0.6)


def figure_png(fig: go.Figure | dict, width_px: int | None = None, height_px: int | None = None,
               scale: float = 2.0, dark: bool = False) -> bytes:
    """PNG bytes of a Plotly figure redrawn with matplotlib (``scale`` × 100 dpi)."""
    mfig = to_matplotlib(fig, width_px, height_px, dpi=100, dark=dark)
    buf = io.BytesIO()
    mfig.savefig(buf, format="png", dpi=int(100 * scale), facecolor=mfig.get_facecolor())
    return buf.getvalue()


def figure_svg(fig: go.Figure | dict, width_px: int | None = None, height_px: int | None = None,
               dark: bool = False) -> bytes:
    """SVG bytes of a Plotly figure redrawn with matplotlib (text kept as text)."""
    import matplotlib as mpl

    mfig = to_matplotlib(fig, width_px, height_px, dpi=100, dark=dark)
    buf = io.BytesIO()
    with mpl.rc_context({"svg.fonttype": "none"}):
        mfig.savefig(buf, format="svg", facecolor=mfig.get_facecolor())
    return buf.getvalue()


def run_gif(builder: Callable[[int], go.Figure | dict], steps: Sequence[int], width_px: int = 900,
            height_px: int | None = None, dpi: int = 80, frame_ms: int = 500,
            last_frame_ms: int = 2000) -> bytes:
    """An animated GIF: one frame per half-step, each the page's own figure redrawn.

    Parameters
    ----------
    builder : callable ``s -> plotly Figure``
        The page's figure builder for half-step ``s`` (so colours and labels match the page).
    steps : sequence of int
        Half-steps to draw, in order (e.g. ``emviz.common.frame_indices(n, 60)``).
    width_px, height_px, dpi : int
        Frame size; the frames are drawn at ``dpi`` and quantised to a shared palette.
    frame_ms, last_frame_ms : int
        Display time of each frame and of the final frame (which holds the fitted result).

    Returns
    -------
    bytes of a looping GIF.
    """
    from PIL import Image

    steps = list(steps)
    if not steps:
        raise ValueError("run_gif needs at least one half-step")
    frames = []
    for s in steps:
        mfig = to_matplotlib(builder(int(s)), width_px, height_px, dpi=dpi)
        canvas = mfig.canvas
        canvas.draw()
        rgba = np.asarray(canvas.buffer_rgba())
        frames.append(Image.fromarray(rgba[:, :, :3].copy()))
    return encode_gif(frames, frame_ms, last_frame_ms)


def encode_gif(images, frame_ms: int = 500, last_frame_ms: int = 2000) -> bytes:
    """A looping GIF of RGB PIL images (the one GIF encoder of the app).

    One shared adaptive palette, taken from the last frame (the fitted result), keeps the
    component colours identical across frames; the last frame is shown ``last_frame_ms``.
    """
    from PIL import Image

    palette_src = images[-1].quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    frames = [f.quantize(palette=palette_src, dither=Image.Dither.NONE) for f in images]
    durations = [frame_ms] * (len(frames) - 1) + [last_frame_ms]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], loop=0,
                   duration=durations, optimize=False, disposal=1)
    return buf.getvalue()


def gauss1d_gif(X, trace, axis=None, max_frames: int = 60, width_px: int = 960,
                height_px: int = 540, dpi: int = 80, frame_ms: int = 450,
                last_frame_ms: int = 2500, max_points: int = 1500) -> bytes:
    """Animated GIF of a 1-D Gaussian-mixture run, drawn directly with matplotlib.

    The same picture as the page's main figure (:func:`emviz.gauss1d.mixture_figure`): the
    density histogram, each weighted component density in its palette colour, the mixture
    density dashed, the rug coloured by the blend of responsibilities, and the bands
    p(z = k | x) below; one frame per half-step (subsampled like the page's animation). The
    figure is built once and only the changing artists are updated, which is an order of
    magnitude faster than redrawing a Plotly figure per frame.

    Parameters
    ----------
    X : (N,) or (N, 1) array
    trace : emcore Trace of a 1-D Gaussian fit
    axis : emviz.gauss1d.AxisFormat, optional
        x-axis title and tick labels (e.g. dollar prices on a log scale).

    Returns
    -------
    bytes of a looping GIF.
    """
    from PIL import Image

    from emviz.common import (
        CURVE,
        frame_indices,
        theta_it,
    )
    from emviz.gauss1d import (
        as_1d,
        blend_rgb,
        data_grid,
        display_sample,
        histogram,
        weighted_densities,
    )
    from emviz.palette import NEUTRAL, component_color

    x = as_1d(X)
    steps = frame_indices(int(trace.n_half_steps), max_frames)
    K = int(np.asarray(trace.params[0].weights).shape[0])
    grid = data_grid(x, n=300)
    edges, h = histogram(x)
    idx = display_sample(len(x), max_points)
    ymax = 1.3 * float(h.max())
    rug_lo, rug_hi = -0.09 * ymax, -0.02 * ymax

    mfig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, facecolor="white")
    canvas = FigureCanvasAgg(mfig)
    gs = mfig.add_gridspec(2, 1, height_ratios=[3, 1], hspace=0.08, left=0.08, right=0.98,
                           top=0.86, bottom=0.13)
    ax = mfig.add_subplot(gs[0])
    axb = mfig.add_subplot(gs[1], sharex=ax)
    ax.hist(x, bins=edges, density=True, color=(*to_rgba(NEUTRAL)[:3], 0.35), linewidth=0)
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(rug_lo * 1.6, ymax)
    ax.set_ylabel("density")
    ax.tick_params(labelbottom=False)
    ax.grid(True, alpha=0.15)
    axb.set_ylim(0, 1)
    axb.set_yticks([0, 0.5, 1])
    axb.set_ylabel("p(z=k | x)")
    if axis is not None:
        axb.set_xlabel(axis.title)
        if axis.tickvals is not None:
            axb.set_xticks(list(axis.tickvals), list(axis.ticktext))
    lines = [ax.plot([], [], color=component_color(k), linewidth=2.5, label=f"component {k + 1}")[0]
             for k in range(K)]
    mix_line, = ax.plot([], [], color=CURVE, linewidth=2.2, linestyle="--", label="mixture")
    rug = ax.vlines(x[idx], rug_lo, rug_hi, colors=[to_rgba(NEUTRAL)] * len(idx), linewidth=1.2)
    ax.legend(loc="upper right", fontsize=9, frameon=False, ncols=K + 1)
    title = mfig.text(0.01, 0.965, "", ha="left", va="top", fontsize=14, fontweight="bold")
    colors = np.array([to_rgba(component_color(k))[:3] for k in range(K)])

    # Blitting: draw the static parts (axes, ticks, histogram, legend) once, then per frame
    # restore that background and draw only the artists that change.
    dynamic = [*lines, mix_line, rug, title]
    for a in dynamic:
        a.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(mfig.bbox)

    images = []
    for s in steps:
        hs = trace.half_step(int(s))
        canvas.restore_region(background)
        dens = weighted_densities(grid, hs.params)
        extra = []
        for k in range(K):
            lines[k].set_data(grid, dens[:, k])
            extra.append(ax.fill_between(grid, dens[:, k], color=(*colors[k], 0.12), linewidth=0,
                                         animated=True))
        mix_line.set_data(grid, dens.sum(axis=1))
        if hs.resp is None:
            rug.set_colors([to_rgba(NEUTRAL)] * len(idx))
            extra.append(axb.text(0.5 * (grid[0] + grid[-1]), 0.5, "no responsibilities yet",
                                  ha="center", va="center", color=(0.4, 0.4, 0.4), animated=True))
        else:
            R = np.asarray(hs.resp)[idx]
            rug.set_colors(np.clip(blend_rgb(R) / 255.0, 0, 1))
            bd = weighted_densities(grid, trace.params[hs.t])  # the θ⁽ᵗ⁾ the E-step used
            tot = bd.sum(axis=1, keepdims=True)
            bands = np.where(tot > 0, bd / np.where(tot > 0, tot, 1.0), 1.0 / K)
            polys = axb.stackplot(grid, bands.T, colors=[(*c, 0.55) for c in colors])
            for poly in polys:
                poly.set_animated(True)
            extra.extend(polys)
        what = {"init": "starting guess θ⁽⁰⁾",
                "E": f"responsibilities recomputed from {theta_it(hs.theta_index)}",
                "M": f"{theta_it(hs.theta_index)} re-estimated"}[hs.kind]
        ll = float(trace.half_step_loglik(hs.s))
        title.set_text(f"{hs.label} — {what}    (ℓ = {ll:.2f})")
        for a in extra:
            a.axes.draw_artist(a)
        for a in (*lines, mix_line, rug):
            ax.draw_artist(a)
        mfig.draw_artist(title)
        rgba = np.asarray(canvas.buffer_rgba())
        images.append(Image.fromarray(rgba[:, :, :3].copy()))
        for a in extra:
            a.remove()
    return encode_gif(images, frame_ms, last_frame_ms)
