"""AppTest of the 1-D house prices page: every control path, no exception element."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import emdata
from emviz.gauss1d import agreement
from tests.figcheck import values
from tests.playertest import chart, set_step, shown, text, view

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "house_prices.py")


_chart = chart


def _open_tab(at, label_part: str):
    """Open the tab whose label contains ``label_part`` (tabs build only the open panel)."""
    labels = [t.label for t in at.tabs]
    label = next(lab for lab in labels if label_part in lab)
    at.session_state["hp_tab"] = label
    return at.run()


@pytest.fixture(scope="module")
def at():
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not app.exception
    return app


def test_default_page_renders_the_ames_fit(at):
    assert "House prices" in at.title[0].value
    assert at.selectbox(key="hp_data").value == "ames"
    assert at.success and "Converged" in at.success[0].value
    assert shown(at)["step"] == 0 and shown(at)["label"].startswith("θ⁽⁰⁾")
    spec = _chart(at, "hp_mixture")
    assert spec["layout"]["title"]["text"].startswith("θ⁽⁰⁾ (start)")
    house = view(at, "house")["texts"]["hp_house"]  # the chosen house's formulas
    assert "E-step 1" in house and "equal θ⁽¹⁾" in house
    assert "cannot go down" in text(at, "proof") and "ℓ(θ⁽⁰⁾)" in text(at, "narration")
    assert "em_fits" in at.session_state and "house_prices" in at.session_state["em_fits"]


def test_only_the_open_tab_is_built(at):
    # The first tab (one house) is open: no chart of the other tabs is built or sent; the
    # mixture and ℓ charts are the step player's.
    keys = [el.proto.id for el in at.get("plotly_chart")]
    assert keys == [], keys
    assert set(shown(at)["figures"]) == {"hp_mixture", "hp_loglik"}
    _open_tab(at, "μ, σ, π")
    assert not at.exception
    assert [el.proto.id for el in at.get("plotly_chart")] == []
    assert set(view(at, "traj")["figures"]) == {"hp_traj"}
    with pytest.raises(AssertionError):
        view(at, "house")  # the one-house view is not built while its tab is closed
    _open_tab(at, "Animation")
    anim = _chart(at, "hp_anim")
    assert len(anim["frames"]) == at.session_state["em_fits"]["house_prices"]["trace"].n_half_steps
    _open_tab(at, "One house")
    assert not any("hp_anim" in el.proto.id for el in at.get("plotly_chart"))


def test_a_revisited_step_reuses_its_cached_figure(at):
    import emui

    trace = at.session_state["em_fits"]["house_prices"]["trace"]
    calls = []
    fig = emui.step_figure("test_fig", trace, trace.half_step(3), lambda: calls.append(1) or _tiny_figure())
    again = emui.step_figure("test_fig", trace, trace.half_step(3), lambda: calls.append(1) or _tiny_figure())
    assert again is fig and calls == [1]
    other = emui.step_figure("test_fig", trace, trace.half_step(4), lambda: calls.append(1) or _tiny_figure())
    assert other is not fig and calls == [1, 1]
    assert list(fig.to_dict()["data"][0]["y"]) == [1, 2]


def _tiny_figure():
    import plotly.graph_objects as go

    return go.Figure(go.Scatter(y=[1, 2]))


def test_each_half_step_changes_the_figure(at):
    before = _chart(at, "hp_mixture")
    set_step(at, "hp", 1)
    assert shown(at)["step"] == 1 and not at.exception
    e1 = _chart(at, "hp_mixture")
    assert e1["layout"]["title"]["text"].startswith("E-step 1")
    assert e1["data"] != before["data"]
    set_step(at, "hp", 2)
    m1 = _chart(at, "hp_mixture")
    assert m1["layout"]["title"]["text"].startswith("M-step 1")
    assert text(at, "narration").startswith("M-step 1.")
    n = at.session_state["em_fits"]["house_prices"]["trace"].n_half_steps
    set_step(at, "hp", n - 1)
    assert not at.exception
    ring = _chart(at, "hp_loglik")["layout"]["shapes"][-1]
    assert ring["type"] == "circle" and ring["xanchor"] == n - 1


def test_truth_reveal_shows_the_final_fit(at):
    trace = at.session_state["em_fits"]["house_prices"]["trace"]
    set_step(at, "hp", 3)  # whatever the half-step on screen, the tab shows the final fit
    _open_tab(at, "Reveal the truth")
    ds = emdata.load_dataset("ames")
    R = trace.responsibilities(trace.n_iter)
    expected = agreement(ds.labels, R.argmax(1), R.shape[1]).fraction
    metric = at.metric[0]
    assert metric.value == f"{100 * expected:.1f}%"
    assert expected > 0.8
    spec = _chart(at, "hp_truth")
    assert "agreement" in spec["layout"]["title"]["text"]


def test_house_choice_shows_its_numbers(at):
    x = emdata.load_dataset("ames").X[:, 0]
    i = int(np.argmax(x))
    _open_tab(at, "One house")
    at.slider(key="hp_house_rank").set_value(len(x)).run()
    assert not at.exception
    house = view(at, "house")["texts"]["hp_house"]
    assert f"log₁₀(${10 ** x[i]:,.0f})" in house and "equal θ" in house
    # the main chart marks the chosen house (the whole page reran for it)
    marker = [d for d in shown(at)["figures"]["hp_mixture"]["data"]
              if d.get("name") == "chosen house"]
    assert len(marker) == 1 and marker[0]["x"] == [pytest.approx(x[i])]
    # The choice survives a visit to another tab (whose run does not build this slider).
    _open_tab(at, "Downloads")
    _open_tab(at, "One house")
    assert at.slider(key="hp_house_rank").value == len(x)


def test_collapse_preset_degenerates_and_the_fix_recovers():
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    app.button(key="hp_collapse").click().run()
    assert not app.exception
    assert app.select_slider(key="hp_reg").value == 0.0
    assert app.error and "Degenerate" in app.error[0].value
    trace = app.session_state["em_fits"]["house_prices"]["trace"]
    assert trace.status == "degenerate" and trace.n_iter >= 2
    sds = [np.sqrt(p.covariances[0, 0, 0]) for p in trace.params]
    assert sds[-1] < sds[0]  # the spike keeps shrinking
    assert any("What happened" in m.value for m in app.markdown)
    app.button(key="hp_fix").click().run()
    assert not app.exception and not app.error
    assert app.select_slider(key="hp_reg").value == 1e-3
    fixed = app.session_state["em_fits"]["house_prices"]["trace"]
    assert fixed.status == "converged"
    assert shown(app)["step"] == fixed.n_half_steps - 1


@pytest.mark.parametrize("key", ["windsor", "synthetic_1d"])
def test_other_datasets_and_restarts(key):
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    app.selectbox(key="hp_data").set_value(key).run()
    assert not app.exception
    if key == "synthetic_1d":
        assert app.slider(key="hp_n_components").value == 3
        spec = _chart(app, "hp_mixture")
        assert any(d.get("name") == "true mixture" for d in spec["data"])
        app.slider(key="hp_n_restarts").set_value(3).run()
        _open_tab(app, "Restarts")
        assert not app.exception
        names = [d["name"] for d in _chart(app, "hp_restarts")["data"]]
        assert len(names) == 3 and sum("best" in n for n in names) == 1
        # A bigger sample from the generator: the rug strip holds every point.
        app.slider(key="hp_n_restarts").set_value(1).run()
        app.number_input(key="hp_syn_n").set_value(5000).run()
        assert not app.exception
        assert app.session_state["em_fits"]["house_prices"]["trace"].n_samples == 5000
        assert not any("points in the figures" in c.value for c in app.caption)
        rug = next(d for d in _chart(app, "hp_mixture")["data"]
                   if d.get("name") == "points (colour = responsibilities)")
        counts = np.asarray(values(rug["customdata"])[2], dtype=float)[0, :, 0]
        assert np.nansum(counts) == 5000
    else:
        app.selectbox(key="hp_init").set_value("random_from_data").run()
        app.select_slider(key="hp_reg").set_value(1e-4).run()
        _open_tab(app, "Reveal the truth")
        assert not app.exception
        assert any("No known groups" in i.value or "no known groups" in i.value for i in app.info)


def test_own_starting_prices_in_dollars_or_log10():
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    app.selectbox(key="hp_init").set_value("custom").run()
    app.text_input(key="hp_means").input("130000, 260000").run()
    assert not app.exception and not app.error
    start = app.session_state["em_fits"]["house_prices"]["trace"].params[0].means[:, 0]
    np.testing.assert_allclose(start, np.log10([130000, 260000]))
    app.text_input(key="hp_means").input("5.1, 5.4").run()
    start = app.session_state["em_fits"]["house_prices"]["trace"].params[0].means[:, 0]
    np.testing.assert_allclose(start, [5.1, 5.4])
    app.text_input(key="hp_means").input("5.1").run()
    assert "Found 1 starting means but K = 2" in app.error[0].value
