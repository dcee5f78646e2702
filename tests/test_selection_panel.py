"""BIC / ICL over K on the Gaussian pages: the numbers, the figure, and that it fits only on
request (never on a slider step)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm
from streamlit.testing.v1 import AppTest

import emcore
import emdata
from emviz.selection import selection_figure
from tests.playertest import set_step, step_of
from tests.test_emviz_proof import decode

ROOT = Path(__file__).resolve().parents[1]


def test_selection_figure_marks_minima_and_draws_ell():
    ks, bic, icl = [1, 2, 3, 4], [10.0, 7.0, 8.0, 9.0], [11.0, 9.0, 8.5, 9.5]
    fig = json.loads(selection_figure(ks, bic, icl, loglik=[-5.0, -3.0, -2.5, -2.4],
                                      chosen_k=2).to_json())
    stars = [tr for tr in fig["data"] if tr.get("marker", {}).get("symbol") == "star"]
    assert [decode(s["x"])[0] for s in stars] == [2, 3]
    (ell,) = [tr for tr in fig["data"] if tr.get("yaxis") == "y2"]
    np.testing.assert_allclose(decode(ell["y"]), [-5.0, -3.0, -2.5, -2.4])
    assert "How many components?" in fig["layout"]["title"]["text"]


def test_selection_figure_is_valid_plotly():
    selection_figure([1, 2, 3], [3.0, 1.0, 2.0], [3.0, 2.0, 2.5], loglik=[-3, -1, -0.5],
                     chosen_k=3)
    selection_figure([1, 2, 3], [3.0, 1.0, 2.0], [3.0, 2.0, 2.5])


def _by_hand_1d(x, params):
    """BIC and MAP-label ICL of a 1-D mixture, written out with scipy."""
    w, mu, sd = params.weights, params.means[:, 0], np.sqrt(params.covariances[:, 0, 0])
    lj = np.log(w) + norm.logpdf(x[:, None], mu, sd)
    ll = logsumexp(lj, axis=1)
    K = len(w)
    p = (K - 1) + K + K  # weights, means, variances
    bic = -2 * ll.sum() + p * np.log(len(x))
    r = np.exp(lj - ll[:, None])
    return bic, bic - 2 * np.log(r.max(axis=1)).sum()


def _chart(at, key):
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        if any(tr.get("name", "").startswith("BIC") for tr in spec.get("data", [])):
            return spec
    return None


def test_house_prices_compares_k_only_when_asked_and_never_on_a_step(monkeypatch):
    import emui.selection

    emui.selection._selection.clear()
    calls = []
    real = emcore.select_n_components

    def counting(*a, **kw):
        calls.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(emcore, "select_n_components", counting)
    at = AppTest.from_file(str(ROOT / "pages" / "house_prices.py"), default_timeout=120).run()
    assert not at.exception
    (exp,) = [e for e in at.expander if "How many components" in e.label]
    assert "ℓ alone" in exp.markdown[0].value or "more is always better" in exp.markdown[0].value
    assert "mclust" in exp.markdown[0].value and "higher* is better" in exp.markdown[0].value
    assert not calls and _chart(at, "hp") is None   # nothing fitted before the click
    at.button(key="hp_select").click().run()
    assert not at.exception and len(calls) == 1
    spec = _chart(at, "hp")
    bic = decode(spec["data"][0]["y"])
    icl = decode(spec["data"][2]["y"])
    # the numbers against a computation by hand from the best fit of each K
    x = np.asarray(emdata.load_dataset("ames").X, dtype=float)[:, 0]
    sel = real(x, 6, n_init=3, seed=0, init="kmeans++", max_iter=100, tol=1e-6,
               covariance_type="full", reg=0.0)
    for j, k in enumerate(sel.ks):
        b, i = _by_hand_1d(x, sel.best[int(k)].params[-1])
        assert bic[j] == pytest.approx(b, rel=1e-9) and icl[j] == pytest.approx(i, rel=1e-9)
    caption = " ".join(c.value for c in at.caption)
    assert f"Lowest BIC at K = {int(sel.ks[np.argmin(bic)])}" in caption
    assert "Had ℓ chosen, the largest K tried would have won" in caption
    # stepping through the fit never refits the sweep
    for _ in range(3):
        set_step(at, "hp", step_of(at, "hp") + 1)
    assert len(calls) == 1 and _chart(at, "hp") is not None and not at.exception


@pytest.mark.parametrize("page,key", [("blobs_2d.py", "blobs")])
def test_blobs_offers_the_same_panel(page, key):
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120).run()
    assert any("How many components" in e.label for e in at.expander)
    at.button(key=f"{key}_select").click().run()
    assert not at.exception and _chart(at, key) is not None


def test_your_data_offers_the_panel_for_gaussian_uploads_only():
    at = AppTest.from_file(str(ROOT / "pages" / "your_data.py"), default_timeout=120).run()
    at.file_uploader(key="yd_file").set_value(
        ("faithful.csv", emdata.example_csv("faithful"), "text/csv")).run()
    assert any("How many components" in e.label for e in at.expander)
    at.file_uploader(key="yd_file").set_value(
        ("baskets.csv", emdata.example_csv("baskets"), "text/csv")).run()
    assert not at.exception
    assert not any("How many components" in e.label for e in at.expander)


def test_icl_map_form_is_never_above_the_entropy_form():
    X, *_ = emcore.make_gaussian_mixture_data(200, 3, 2, separation=2.0, seed=1)
    tr = emcore.fit_gaussian_mixture(X, 3, seed=0)
    assert emcore.bic(tr) <= emcore.icl(tr) <= emcore.icl(tr, labels="soft")
