"""The Handwritten digits page (AppTest), its figures (emviz.digits) and the shipped data
(emdata.digits): every control path runs without an exception, an E-step leaves the average
digits alone and an M-step moves them to exactly one Bernoulli EM step, the confusion table
counts the digits, and the shipped file equals scikit-learn's load_digits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import emcore
from emdata.digits import digits_subset, load_digits8x8
from emviz import digits as V
from tests.playertest import chart, set_step, shown, text, view

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "digits.py")


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


_chart = chart  # a step player's chart at the server's step, else a keyed st.plotly_chart


def _prototypes(at: AppTest):
    """μ (K, 64) and π (K,) as drawn (π from the heatmaps' names, at full precision)."""
    heat = [t for t in _chart(at, "dg_proto")["data"] if t["type"] == "heatmap"]
    mu = np.array([np.asarray(t["z"], float).ravel() for t in heat])
    pi = np.array([float(t["name"].split("π = ")[1]) for t in heat])
    return mu, pi


def _open_tab(at: AppTest, label_part: str) -> AppTest:
    """Open the tab whose label contains ``label_part`` (the page builds only the open tab)."""
    at.session_state["dg_tab"] = next(t.label for t in at.tabs if label_part in t.label)
    return _run(at)


@pytest.fixture(scope="module")
def page():
    return _run(AppTest.from_file(PAGE, default_timeout=180))


def test_shipped_digits_equal_scikit_learn():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")  # dev-only dependency
    d = sklearn_datasets.load_digits()
    images, labels = load_digits8x8()
    np.testing.assert_array_equal(images, d.data)
    np.testing.assert_array_equal(labels, d.target)


def test_digits_subset_binarises_and_filters():
    images, labels = load_digits8x8()
    sub = digits_subset([4, 2, 3], threshold=5)
    keep = np.isin(labels, [2, 3, 4])
    assert sub.classes == (2, 3, 4) and sub.X.shape == (int(keep.sum()), 64)
    np.testing.assert_array_equal(sub.X, (images[keep] >= 5).astype(np.uint8))
    np.testing.assert_array_equal(sub.labels, labels[keep])
    with pytest.raises(ValueError):
        digits_subset([], 8)
    with pytest.raises(ValueError):
        digits_subset([1], 0)


def test_default_page_renders(page):
    at = page
    assert at.title[0].value.startswith("🔢 Handwritten digits")
    # The step's charts and texts are the step player's; the open tab's chart is the page's.
    assert shown(at)["step"] == 0 and shown(at)["label"].startswith("θ⁽⁰⁾")
    assert set(shown(at)["figures"]) == {"dg_proto", "dg_resp", "dg_loglik"}
    assert set(shown(at)["texts"]) == {"narration", "proof"}
    assert "cannot go down" in text(at, "proof") and "ℓ(θ⁽⁰⁾)" in text(at, "narration")
    # the open tab's table is the end of the run, drawn by the player's code at every half-step
    conf = view(at, "confusion")["figures"]
    assert set(conf) == {"dg_confusion"} and "agree" in conf["dg_confusion"]["layout"]["title"]["text"]
    set_step(at, "dg", shown(at)["n"] - 1)
    assert view(at, "confusion")["figures"] == conf
    set_step(at, "dg", 0)
    keys = {el.proto.id for el in at.get("plotly_chart")}
    # so the page loads one Plotly.js, the player's; and the hidden tabs (the samples, the
    # animation: st.plotly_chart figures) are not built until opened
    assert not keys, keys
    fit = at.session_state["em_fits"]["digits"]
    assert fit["trace"].family == "bernoulli" and fit["trace"].n_components == 3
    _open_tab(at, "Samples")
    assert any("dg_samples" in el.proto.id for el in at.get("plotly_chart"))
    _open_tab(at, "Animation")
    anim = _chart(at, "dg_anim")
    assert len(anim["frames"]) >= 3
    assert not any(el.proto.id.endswith("_view_confusion") for el in at.get("bidi_component"))
    _open_tab(at, "Against the true digits")


def test_e_step_keeps_mu_and_m_step_is_one_em_step(page):
    at = page
    X = digits_subset((2, 3, 4), 8).X.astype(float)
    set_step(at, "dg", 0)
    mu0, pi0 = _prototypes(at)
    assert np.allclose(pi0.sum(), 1.0)
    set_step(at, "dg", 1)
    assert not at.exception and shown(at)["label"] == "E-step 1"
    mu1, pi1 = _prototypes(at)
    assert np.array_equal(mu1, mu0) and np.array_equal(pi1, pi0)
    bars = [t for t in _chart(at, "dg_resp")["data"] if t["type"] == "bar"]
    assert len(bars) == 6 and all(abs(sum(b["x"]) - 1) < 1e-3 for b in bars)
    set_step(at, "dg", 2)
    mu2, pi2 = _prototypes(at)
    # one EM step of a Bernoulli mixture (α = 1), written out with numpy
    with np.errstate(divide="ignore"):
        logp = X @ np.log(mu0).T + (1 - X) @ np.log1p(-mu0).T + np.log(pi0)
    logp = np.nan_to_num(logp, nan=-np.inf)
    r = np.exp(logp - logp.max(axis=1, keepdims=True))
    r /= r.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(pi2, r.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(mu2, (r.T @ X) / r.sum(axis=0)[:, None], atol=1e-12)
    # the bars of E-step 1 are those r (of the page's example digits, to the 4 decimals drawn)
    rows = V.example_rows(digits_subset((2, 3, 4), 8).labels, 2)
    np.testing.assert_allclose([b["x"] for b in bars], r[rows], atol=5e-5 + 1e-12)
    assert [b["x"] for b in bars] == [b["x"] for b in _chart(at, "dg_resp")["data"]
                                      if b["type"] == "bar"]  # an M-step keeps them
    assert text(at, "narration").startswith("M-step 1.")
    n = at.session_state["em_fits"]["digits"]["trace"].n_half_steps
    set_step(at, "dg", n - 1)
    ring = _chart(at, "dg_loglik")["layout"]["shapes"][-1]
    assert ring["type"] == "circle" and ring["xanchor"] == n - 1
    assert _chart(at, "dg_proto")["layout"]["title"]["text"].endswith(shown(at)["label"])


def test_controls_classes_threshold_alpha_restarts_and_bic(page):
    at = page
    at.multiselect(key="dg_classes").set_value([0, 1])
    _run(at)
    assert at.session_state["dg_n_components"] == 2 and at.session_state["dg_step"] == 0
    at.slider(key="dg_threshold").set_value(4)
    _run(at)
    at.select_slider(key="dg_alpha").set_value(2.0)
    at.slider(key="dg_n_restarts").set_value(2)
    _run(at)
    tr = at.session_state["em_fits"]["digits"]["trace"]
    assert tr.has_prior and tr.alpha == 2.0
    _open_tab(at, "Restarts")
    assert any("dg_restarts" in el.proto.id for el in at.get("plotly_chart"))
    _open_tab(at, "How many components")
    at.button(key="dg_select").click()
    _run(at)
    assert any("dg_bic" in el.proto.id for el in at.get("plotly_chart"))
    at.multiselect(key="dg_classes").set_value([])
    _run(at)
    assert at.warning and "at least one digit" in at.warning[0].value
    at.button(key="dg_reset").click()
    _run(at)
    assert at.session_state["dg_classes"] == [2, 3, 4]


def test_figures_are_valid_plotly_and_confusion_counts():
    from tests.figcheck import validated

    d = digits_subset((2, 3, 4), 8)
    tr = emcore.fit_bernoulli_mixture(d.X, 4, init="kmeans++", seed=0, max_iter=30)
    R = tr.responsibilities(-1)
    agreement, names, classes, table = V.match_labels(d.labels, R)
    assert table.sum() == len(d.labels) and classes == [2, 3, 4]
    assert names.count("unpaired") == 1
    want = sum(table[k, classes.index(int(n.split("'")[1]))] for k, n in enumerate(names) if n != "unpaired")
    assert agreement == pytest.approx(want / len(d.labels))
    Xs, z = emcore.sample(tr.final_params, 12, seed=1)
    rows = V.example_rows(d.labels, 2)
    figs = [V.prototypes_figure(tr.params[3], "t", names), V.prototypes_animation(tr),
            V.responsibility_figure(d.X[rows], R[rows], ["x"] * len(rows), "r"),
            V.responsibility_figure(d.X[rows], None, ["x"] * len(rows), "r"),
            V.confusion_figure(d.labels, R), V.samples_figure(Xs, z, "s")]
    for fig in figs:
        validated(fig)  # raises on any invalid property


def test_your_data_proposes_a_bernoulli_mixture_for_a_0_1_table():
    import emdata
    from emdata.examples import goodman_values

    table = emdata.parse_csv(emdata.example_csv("survey"), "values_survey.csv")
    proposal = emdata.propose_model(table)
    assert proposal.model == "binary" and proposal.columns == ["A", "B", "C", "D"]
    prep = emdata.prepare(table, "binary", proposal.columns)
    assert prep.family == "bernoulli"
    np.testing.assert_array_equal(prep.X, goodman_values())
    # a value other than 0/1 is left out and counted; text columns are refused
    bad = emdata.parse_csv(b"a,b\n0,1\n1,1\n2,0\n,1\n0,0\n", "bad.csv")
    prep = emdata.binary_matrix(bad, ["a", "b"])
    assert prep.X.shape == (3, 2) and prep.dropped["not 0/1"] == 1 and prep.dropped["missing"] == 1
    assert "Left out 2 of 5 rows" in prep.notes[0]

    page = str(Path(__file__).resolve().parents[1] / "pages" / "your_data.py")
    at = AppTest.from_file(page, default_timeout=120).run()
    at.file_uploader(key="yd_file").set_value(
        ("values_survey.csv", emdata.example_csv("survey"), "text/csv"))
    _run(at)
    assert at.selectbox(key="yd_model").value == "binary"
    heat = chart(at, "yd_bernoulli")  # drawn by the step player
    assert heat["data"][0]["type"] == "heatmap"
    tr = at.session_state["em_fits"]["your_data"]["trace"]
    assert tr.family == "bernoulli" and tr.n_samples == 216
    set_step(at, "yd", 2)  # M-step 1: the heatmap shows θ⁽¹⁾'s probabilities
    assert not at.exception
    np.testing.assert_allclose(chart(at, "yd_bernoulli")["data"][0]["z"], tr.params[1].probs,
                               atol=5e-5)


def test_prototypes_gif_has_one_frame_per_chosen_half_step():
    import io

    from PIL import Image

    d = digits_subset((2, 3), 8)
    tr = emcore.fit_bernoulli_mixture(d.X, 2, init="kmeans++", seed=0, max_iter=1, tol=None)
    gif = V.prototypes_gif(tr, ["a", "b"])
    img = Image.open(io.BytesIO(gif))
    assert img.format == "GIF" and img.n_frames == tr.n_half_steps == 3


def test_confusion_title_takes_two_lines_that_fit_a_phone():
    """The wide title is one line; the step player's narrow variant (a phone's chart, at most
    NARROW_PX wide) breaks the same words into two lines, each of which fits a 390 px screen's
    358 px chart (Source Sans widths, checked against chromium in the screens test)."""
    from emviz.common import NARROW_PX
    from emviz.fontmetrics import text_px

    d = digits_subset((2, 3, 4), 8)
    tr = emcore.fit_bernoulli_mixture(d.X, 3, init="kmeans++", seed=0, max_iter=30)
    lay = V.confusion_figure(d.labels, tr.responsibilities(-1)).to_plotly_json()["layout"]
    wide = lay["title"]["text"]
    narrow = lay["meta"]["narrow"]
    assert narrow["below"] == NARROW_PX
    lines = narrow["layout"]["title"]["text"].split("<br>")
    assert len(lines) == 2 and " ".join(lines) == wide and "% agree" in lines[1]
    size = lay["title"]["font"]["size"]
    assert text_px(wide, size) > 358 - 20  # why the variant exists
    assert all(text_px(line, size) <= 358 - 20 for line in lines)
    assert narrow["layout"]["margin"]["t"] > lay["margin"]["t"]
    assert narrow["layout"]["height"] - lay["height"] == narrow["layout"]["margin"]["t"] - lay["margin"]["t"]
    # a title given by the caller (an export's) has no variant
    assert "meta" not in V.confusion_figure(d.labels, tr.responsibilities(-1), title="t").to_plotly_json()["layout"]
