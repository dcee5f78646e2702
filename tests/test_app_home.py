"""AppTest of app.py: the navigation, the Home page and its page cards."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def test_home_renders_with_a_card_per_existing_page():
    import app  # app.py only defines names on import; Streamlit runs it as __main__

    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "EM Explorer"
    text = " ".join(m.value for m in at.markdown)
    assert "latent variable" in text and "mixture model" in text and "E-step" in text
    assert "Step" in text and "◀ / ▶" in text
    assert at.latex  # the mixture density formula
    existing = [p for p in app.PAGES if (ROOT / p[0]).exists()]
    links = at.get("page_link")
    assert len(links) == len(existing)
    assert {lk.proto.label.strip("*") for lk in links} == {p[1] for p in existing}


def test_switching_to_the_house_prices_page():
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/house_prices.py").run()
    assert not at.exception
    assert "House prices" in at.title[0].value



def test_the_benchmark_peer_page_is_served_only_when_the_benchmark_asks(monkeypatch):
    import pytest

    import app

    monkeypatch.setenv(app.BENCH_PEER_ENV, "1")
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("bench/peer_page.py").run()
    assert not at.exception
    assert [s.label for s in at.select_slider] == ["Step"]  # the peer's one step slider
    monkeypatch.delenv(app.BENCH_PEER_ENV)
    at = AppTest.from_file(APP, default_timeout=60).run()
    with pytest.raises(ValueError, match="navigation page"):
        at.switch_page("bench/peer_page.py")
