"""The exercise panel on the pages (AppTest): off by default, answer, score, reveal, sheet."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emviz import exercises as ex
from tests.playertest import set_step, step_of

PAGES = Path(__file__).resolve().parents[1] / "pages"


def _answer_widget(at, key):
    radios = [r for r in at.radio if r.key and r.key.startswith(f"{key}_ex_")]
    sliders = [r for r in at.slider if r.key and r.key.startswith(f"{key}_ex_")]
    return (radios or sliders)[0]


def _button(at, suffix):
    return next(b for b in at.button if b.key and b.key.endswith(suffix))


def test_house_prices_predict_check_reveal():
    at = AppTest.from_file(str(PAGES / "house_prices.py"), default_timeout=120).run()
    assert not at.exception
    assert at.toggle(key="hp_ex_on").value is False
    assert not [r for r in at.radio if r.key and r.key.startswith("hp_ex_")]
    at.toggle(key="hp_ex_on").set_value(True).run()
    trace = at.session_state["em_fits"]["house_prices"]["trace"]
    q0 = ex.question_for(trace, 0, X=trace.X[:, 0])
    assert any(q0.prompt.split(" mostly")[0] in m.value for m in at.markdown)
    _answer_widget(at, "hp").set_value(q0.answer).run()
    _button(at, "_check").click().run()
    assert not at.exception
    assert any(m.value == "Right." for m in at.success)
    assert any("Score this session: **1 / 1**" in c.value for c in at.caption)
    assert any(q0.explanation == m.value for m in at.markdown), [m.value for m in at.markdown][-4:]
    assert _button(at, "_check").disabled and _answer_widget(at, "hp").disabled
    _button(at, "_reveal").click().run()
    assert step_of(at, "hp") == 1
    q1 = ex.question_for(trace, 1)
    wrong = next(c for c in q1.choices if c != q1.answer)
    _answer_widget(at, "hp").set_value(wrong).run()
    _button(at, "_check").click().run()
    assert at.error and q1.answer in at.error[-1].value
    assert any("Score this session: **1 / 2**" in c.value for c in at.caption)
    labels = [b.label for b in at.get("download_button")]
    assert "Exercise sheet (Markdown)" in labels and "Exercise sheet (PDF)" in labels
    # the last half-step asks about the maximum, with the restarts listed
    set_step(at, "hp", trace.n_half_steps - 1)
    assert not at.exception
    assert any("The run has ended" in m.value for m in at.markdown)
    assert any(c.value.startswith("Restarts (other seeds") for c in at.caption)


@pytest.mark.parametrize("page,key", [("blobs_2d.py", "blobs"), ("baskets.py", "bk"),
                                      ("digits.py", "dg")])
def test_other_pages_have_the_panel(page, key):
    at = AppTest.from_file(str(PAGES / page), default_timeout=180).run()
    assert not at.exception
    at.toggle(key=f"{key}_ex_on").set_value(True).run()
    assert not at.exception
    w = _answer_widget(at, key)
    w.set_value(w.options[0] if hasattr(w, "options") and w.options else 0.5).run()
    _button(at, "_check").click().run()
    assert not at.exception
    assert any("Score this session: **" in c.value for c in at.caption)
    assert any(m.value.startswith("Right") for m in at.success) or at.error


def test_your_data_offers_the_exercise_on_a_2d_fit():
    at = AppTest.from_file(str(PAGES / "your_data.py"), default_timeout=180).run()
    at.button_group(key="yd_example").set_value("faithful").run()
    assert not at.exception
    at.toggle(key="yd_ex_on").set_value(True).run()
    trace = at.session_state["em_fits"]["your_data"]["trace"]
    names = [f"{c} (z)" for c in ("eruption_min", "waiting_min")]  # standardised by default
    q0 = ex.question_for(trace, 0, X=trace.X, feature_names=names)
    assert any(q0.prompt == m.value for m in at.markdown), q0.prompt
    _answer_widget(at, "yd").set_value(q0.answer).run()
    _button(at, "_check").click().run()
    assert not at.exception and any(s.value == "Right." for s in at.success)
    _button(at, "_reveal").click().run()
    assert step_of(at, "yd") == 1
