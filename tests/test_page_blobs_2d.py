"""AppTest of the 2-D blobs page: every control path runs without an exception element, the
step player changes the figure, the hard-EM switch adds the k-means-limit panel."""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.playertest import set_step, shown, step_of, text

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "blobs_2d.py")


def _app():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    _ok(at)
    return at


def _ok(at):
    assert not at.exception, [e.value for e in at.exception]


def _charts(at):
    """Plotly figures on the page as dicts, by their title text: the step player's at the
    server's step, then the keyed charts below it."""
    out = {}
    for spec in shown(at)["figures"].values():
        out[spec["layout"].get("title", {}).get("text", "")] = spec
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        title = spec["layout"].get("title", {}).get("text", "")
        out[title] = spec
    return out


def _main(at):
    (fig,) = [f for t, f in _charts(at).items() if t.startswith("Soft EM")]
    return fig


def _points_colours(fig):
    (pts,) = [t for t in fig["data"] if t.get("name", "").startswith("data")]
    return pts["marker"]["color"]


def _open_tab(at, label_part: str):
    """Open the tab whose label contains ``label_part`` (the page builds only the open tab)."""
    at.session_state["blobs_tab"] = next(t.label for t in at.tabs if label_part in t.label)
    at.run()
    _ok(at)
    return at


@pytest.fixture(scope="module")
def app():
    return _app()


def test_default_page_renders_old_faithful(app):
    at = app
    assert step_of(at, "blobs") == 0
    assert set(shown(at)["figures"]) == {"blobs_fig_soft", "blobs_loglik"}
    assert "starting guess" in text(at, "narration")
    assert "cannot go down" in text(at, "proof")
    assert at.selectbox(key="blobs_data").value == "faithful"
    assert at.toggle(key="blobs_standardise").value is True
    titles = list(_charts(at))
    assert any(t.startswith("Soft EM (full covariances) — θ⁽⁰⁾ (start)") for t in titles)
    assert any(t.startswith("Log-likelihood") for t in titles)
    # The Truth tab is open first: the animation is neither built nor sent on a step ...
    assert not any(t.startswith("EM, half-step by half-step") for t in titles)
    _open_tab(at, "Animation")  # ... until its tab is opened
    assert any(t.startswith("EM, half-step by half-step") for t in _charts(at))
    _open_tab(at, "Truth")
    assert any("no recorded truth" in i.value for i in at.info)
    assert "Why ℓ cannot go down" in text(at, "proof")
    assert "blobs_2d" in at.session_state["em_fits"]
    assert at.session_state["em_fits"]["blobs_2d"]["trace"].n_components == 2


def test_steps_change_the_figure():
    at = _app()
    grey = _points_colours(_main(at))
    set_step(at, "blobs", 1)
    _ok(at)
    assert shown(at)["label"] == "E-step 1"
    e1 = _main(at)
    assert e1["layout"]["title"]["text"].endswith("E-step 1")
    assert _points_colours(e1) != grey
    assert "responsibilities r_ik" in text(at, "narration")
    set_step(at, "blobs", 4)
    _ok(at)
    m2 = _main(at)
    assert m2["layout"]["title"]["text"].endswith("M-step 2")
    assert "M-step 2" in text(at, "narration")
    set_step(at, "blobs", 3)
    assert _main(at)["layout"]["title"]["text"].endswith("E-step 2")
    # The player's trace count never changes between steps (Plotly.react redraws in place).
    counts = set()
    for s in (0, 1, 2, 7):
        set_step(at, "blobs", s)
        counts.add(len(_main(at)["data"]))
    assert len(counts) == 1


def test_hard_em_switch_shows_both_panels():
    at = _app()
    set_step(at, "blobs", 3)
    at.toggle(key="blobs_hard_compare").set_value(True).run()
    _ok(at)
    titles = list(_charts(at))
    assert any(t.startswith("Soft EM") and t.endswith("E-step 2") for t in titles)
    (hard_title,) = [t for t in titles if t.startswith("Hard EM")]
    assert "spherical" in hard_title
    hard = _charts(at)[hard_title]
    # hard assignments: every point wears exactly one component colour
    assert set(_points_colours(hard)) <= {"#0072b2", "#e69f00"}
    sentence = text(at, "blobs_soft_vs_hard")
    assert "k-means" in sentence and "Soft EM shares points" in sentence
    assert set(shown(at)["figures"]) == {"blobs_fig_soft", "blobs_fig_hard", "blobs_loglik"}
    # past the end of the hard run, its panel stays at its last half-step and says so
    n = shown(at)["n"]
    set_step(at, "blobs", n - 1)
    _ok(at)
    hard_trace = at.session_state["em_fits"]["blobs_2d"]["trace"]
    assert hard_trace.n_half_steps == n  # (the soft trace is the one published)
    (hard_title,) = [t for t in _charts(at) if t.startswith("Hard EM")]
    if "(end)" in hard_title:
        assert "its panel stays at its last half-step" in text(at, "blobs_soft_vs_hard")


@pytest.mark.parametrize("cov", ["diag", "spherical", "tied"])
def test_covariance_types(cov):
    at = _app()
    at.selectbox(key="blobs_covariance_type").set_value(cov).run()
    _ok(at)
    assert at.session_state["em_fits"]["blobs_2d"]["trace"].covariance_type == cov
    assert any(f"Covariance type **{cov}**" in c.value for c in at.caption)


def test_penguins_truth_and_restarts():
    at = _app()
    at.selectbox(key="blobs_data").set_value("penguins").run()
    _ok(at)
    n = shown(at)["n"]  # (a fit's half-steps reach the session once: read them now)
    assert at.slider(key="blobs_n_components").value == 3
    at.slider(key="blobs_n_restarts").set_value(3).run()
    _ok(at)
    set_step(at, "blobs", n - 1)
    _ok(at)
    (metric,) = at.metric
    assert metric.label == "Agreement with the true species"
    assert 90.0 < float(metric.value.rstrip("%")) <= 100.0  # species found (default seed)
    _open_tab(at, "Restarts")
    assert any(t.startswith("seed 1") for f in _charts(at).values()
               for t in [a.get("text", "") for a in f["layout"].get("annotations", [])])


def test_synthetic_truth_layers_and_table():
    at = _app()
    at.selectbox(key="blobs_data").set_value("synthetic_2d").run()
    _ok(at)
    assert at.toggle(key="blobs_standardise").value is False
    names = [t.get("name") for t in _main(at)["data"]]
    assert "true 2σ ellipses" in names and "true means" in names
    set_step(at, "blobs", shown(at)["n"] - 1)
    _ok(at)
    assert len(at.dataframe) == 2  # confusion table + true-vs-fitted parameters
    at.toggle(key="blobs_show_truth").set_value(False).run()
    assert "true means" not in [t.get("name") for t in _main(at)["data"]]


def test_own_starting_means_are_in_data_units():
    at = _app()
    at.selectbox(key="blobs_init").set_value("custom").run()
    at.text_input(key="blobs_means").set_value("2 50; 4.5 85").run()
    _ok(at)
    fit = at.session_state["em_fits"]["blobs_2d"]
    X = np.asarray(at.session_state["em_fits"]["blobs_2d"]["X"])  # standardised data
    from emdata import load_dataset

    raw = np.asarray(load_dataset("faithful").X, dtype=float)
    mean, sd = raw.mean(axis=0), raw.std(axis=0)
    np.testing.assert_allclose(X, (raw - mean) / sd)
    m0 = fit["trace"].params[0].means * sd + mean
    np.testing.assert_allclose(m0, [[2, 50], [4.5, 85]], atol=1e-9)
    # a typo keeps the page alive with a message
    at.text_input(key="blobs_means").set_value("2 50").run()
    _ok(at)
    assert at.error


def test_display_toggles_and_raw_features():
    at = _app()
    at.toggle(key="blobs_show_ellipses").set_value(False).run()
    at.toggle(key="blobs_show_paths").set_value(False).run()
    at.toggle(key="blobs_show_contours").set_value(False).run()
    _ok(at)
    assert [t.get("name") for t in _main(at)["data"]] == [
        "data (colour = responsibilities)", "means μk"]
    at.toggle(key="blobs_standardise").set_value(False).run()
    _ok(at)
    assert at.session_state["em_fits"]["blobs_2d"]["standardised"] is False
    assert any("Fitted on the raw features" in m.value for m in at.markdown)
    at.button(key="blobs_reset").click().run()
    _ok(at)
    assert at.toggle(key="blobs_standardise").value is True
