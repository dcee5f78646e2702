"""Density axes never label ticks with an SI prefix ("2.5μ" would read as the mean μ)."""

import numpy as np

import emcore
from emviz import common, derivations, gauss1d
from tests.figcheck import validated


def _d3_g(value: float, fmt: str) -> str:
    """What d3-format's ".3~g" prints (precision 3, insignificant zeros trimmed); Python's
    "g" differs only in the exponent's width, which cannot produce an SI prefix either."""
    assert fmt == ".3~g"
    return f"{value:.3g}"


def test_the_density_tick_format_is_plain_or_exponent():
    fmt = common.DENSITY_TICKFORMAT
    assert fmt.endswith("g") and "s" not in fmt  # d3's "s" is the SI-prefix type
    for v in (2.5e-6, 0.0005, 1.25, 3e-9):
        assert "μ" not in _d3_g(v, fmt) and "µ" not in _d3_g(v, fmt)


def test_small_densities_get_the_plain_format_in_every_density_figure():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(3000, 300, 150), rng.normal(5000, 400, 150)])  # grams
    tr = emcore.fit_gaussian_mixture(x, 2, seed=0, max_iter=5)
    fig = validated(gauss1d.mixture_figure(x, tr, tr.half_step(3)))
    yaxis = fig.layout.yaxis
    assert yaxis.tickformat == common.DENSITY_TICKFORMAT
    assert max(yaxis.tickvals) < 1e-2  # the values that Plotly's default would print as μ
    anim = gauss1d.animation_figure(x, tr)  # a frozen figure: read its dict
    assert anim.to_dict()["layout"]["yaxis"]["tickformat"] == common.DENSITY_TICKFORMAT
    sx, sz = emcore.sample(tr.final_params, 300, seed=1)
    fig = derivations.sample_figure(x, sx[:, 0], sz, tr.final_params)
    assert fig.layout.yaxis.tickformat == fig.layout.yaxis2.tickformat == common.DENSITY_TICKFORMAT
