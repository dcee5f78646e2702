from emviz.palette import COMPONENT_COLORS, component_color, rgba


def test_component_colors_are_distinct_and_wrap():
    assert len(set(COMPONENT_COLORS)) == len(COMPONENT_COLORS)
    assert component_color(0) == component_color(len(COMPONENT_COLORS))


def test_rgba():
    assert rgba("#0072B2", 0.5) == "rgba(0,114,178,0.5)"


# --- contrast (WCAG 2), computed here from the definition --------------------------------
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from plotly.colors import get_colorscale, sample_colorscale  # noqa: E402

from emviz import palette  # noqa: E402

LIGHT_BG, DARK_BG = "#FFFFFF", "#0E1117"  # Streamlit's light and dark backgrounds


def _lum(rgb) -> float:
    def lin(c):
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(float(v)) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _parse(color):
    color = color.strip()
    if color.startswith("#"):
        return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
    return tuple(float(v) for v in color[color.index("(") + 1:color.index(")")].split(",")[:3])


def ratio(a, b) -> float:
    la, lb = sorted((_lum(_parse(a)), _lum(_parse(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_ratio_matches_the_wcag_examples():
    assert palette.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert palette.contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)
    assert palette.contrast_ratio("rgb(0, 114, 178)", "#0E1117") == pytest.approx(
        ratio("#0072B2", "#0E1117"))
    for bg in ("#000000", "#FFFFFF", "#2E2E2E", "#767676", "#21918C", "#5EC962"):
        text = palette.text_color_on(bg)
        assert ratio(text, bg) >= 4.5
        other = "#FFFFFF" if text == "#000000" else "#000000"
        assert ratio(text, bg) >= ratio(other, bg)


def test_colorscale_rgb_is_plotlys_interpolation():
    for name in ("Viridis", "Blues", "RdBu_r"):
        scale = get_colorscale(name)
        for f in np.linspace(0, 1, 23):
            mine = palette.colorscale_rgb(scale, f)
            theirs = _parse(sample_colorscale(scale, [f])[0])
            np.testing.assert_allclose(mine, theirs, atol=0.51)


def _cell_contrasts(fig) -> list[float]:
    """The WCAG ratio of every drawn heatmap label against its own cell's colour."""
    data = [t if isinstance(t, dict) else t.to_plotly_json() for t in fig["data"]] \
        if isinstance(fig, dict) else [t.to_plotly_json() for t in fig.data]
    coloured = [t for t in data if t.get("type") == "heatmap" and not t.get("texttemplate")]
    layers = [t for t in data if t.get("type") == "heatmap" and t.get("texttemplate")]
    assert len(coloured) == 1 and len(layers) == 2
    heat = coloured[0]
    assert all(t.get("hoverinfo") == "skip" and t.get("showscale") is False for t in layers)
    z = np.asarray(heat["z"], dtype=float)
    scale = heat["colorscale"]
    scale = get_colorscale(scale) if isinstance(scale, str) else [list(s) for s in scale]
    lo, hi = float(heat["zmin"]), float(heat["zmax"])
    out = []
    shown = np.zeros(z.shape, dtype=int)
    for layer in layers:
        color = layer["textfont"]["color"]
        for i, row in enumerate(layer["text"]):
            for j, lab in enumerate(row):
                if lab == "":
                    continue
                assert lab == str(heat["text"][i][j])  # the same label, only recoloured
                shown[i, j] += 1
                cell = sample_colorscale(scale, [min(max((z[i, j] - lo) / (hi - lo), 0), 1)])[0]
                out.append(ratio(color, cell))
    assert np.all(shown == 1)  # every label drawn exactly once
    return out


def test_every_heatmap_label_reaches_4_5_to_1():
    import emcore
    from emviz import baskets as B
    from emviz import digits as V
    from tests.test_emviz_baskets import small_basket_fit

    rng = np.random.default_rng(7)
    X, _, _, trace, names = small_basket_fit()
    share = B.overall_share(X)
    figs = [B.profile_heatmap(trace, trace.half_step(s), names, share, value=v)
            for s in (0, trace.n_half_steps - 1) for v in ("prob", "lift")]
    labels = np.repeat([2, 3, 4], 40)
    resp = np.eye(3)[rng.integers(0, 3, 120)] * 0.8 + 0.2 / 3
    figs.append(V.confusion_figure(labels, resp))
    bern = emcore.BernoulliParams(np.array([0.6, 0.4]), rng.uniform(0, 1, (2, 9)))
    figs.append(V.probability_heatmap(bern, [f"q{d}" for d in range(9)], "t"))
    ratios = [r for f in figs for r in _cell_contrasts(f)]
    assert len(ratios) > 100 and min(ratios) >= 4.5, min(ratios)
    # the animation's frames carry the same layers (trace indices 0, 1 unchanged)
    anim = B.run_animation(trace, names, share, max_frames=4)
    for fr in anim.frames:
        assert list(fr.traces) == [0, 1, 2, 3]
        d = [t.to_plotly_json() for t in fr.data]
        base = anim.data[0].to_plotly_json()
        frame_fig = {"data": [{**base, **d[0]},
                              {**anim.data[2].to_plotly_json(), **d[2]},
                              {**anim.data[3].to_plotly_json(), **d[3]}]}
        assert min(_cell_contrasts(frame_fig)) >= 4.5


def test_plotlys_own_label_colour_falls_short_on_some_cells():
    """Why the labels are recoloured: Plotly's "auto" picks #444 or white by brightness
    (tinycolor's isDark, brightness < 128), which stays under 4.5:1 on mid-tone cells."""
    def plotly_auto(rgb):
        brightness = (299 * rgb[0] + 587 * rgb[1] + 114 * rgb[2]) / 1000
        return "#FFFFFF" if brightness < 128 else "#444444"

    worst = min(ratio(plotly_auto(c), "#{:02X}{:02X}{:02X}".format(*(round(v) for v in c)))
                for c in (palette.colorscale_rgb(get_colorscale("Viridis"), f)
                          for f in np.linspace(0, 1, 101)))
    assert worst < 4.0
