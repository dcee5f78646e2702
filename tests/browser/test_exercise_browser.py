"""Exercise mode and the likelihood landscape in a real browser (house prices, one page load):
answer, check, reveal the next half-step; open the landscape, step, re-slice at the new step.
"""

from __future__ import annotations

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_rerun
from tests.browser.pagecheck import click_player, figure, open_app_page, step_label


def _click(pg, locator) -> None:
    wait_for_rerun(pg, locator.first.click)


def test_predict_check_reveal_and_landscape(page, app_server):
    pg = page
    open_app_page(pg, app_server, "house_prices", "hp_mixture")
    _click(pg, pg.get_by_text("Exercise mode: predict, then reveal"))
    assert pg.get_by_text("Predict E-step 1.").count() == 1
    answer = pg.locator('[data-testid="stRadio"]').filter(has_text="Your answer") \
        .locator("label").filter(has=pg.locator("input"))
    assert answer.count() == 2  # component 1, component 2
    _click(pg, answer.nth(1))
    _click(pg, pg.get_by_role("button", name="Check"))
    verdict = pg.locator('[data-testid="stAlert"]').filter(has_text="Right.").count() + \
        pg.locator('[data-testid="stAlert"]').filter(has_text="Not quite").count()
    assert verdict == 1
    assert pg.get_by_text("Score this session:").first.inner_text().endswith("/ 1")
    _click(pg, pg.get_by_role("button", name="Reveal E-step 1"))
    assert step_label(pg) == "E-step 1"
    assert pg.get_by_text("Predict M-step 1.").count() == 1

    _click(pg, pg.get_by_text("Likelihood landscape"))
    fig = figure(pg, "hp_land_fig", min_traces=5)
    assert "σ, π of E-step 1" in fig["title"]
    click_player(pg, "hp", "Next half-step")
    assert step_label(pg) == "M-step 1"
    _click(pg, pg.get_by_role("button", name="Re-slice at the half-step on screen"))
    assert "σ, π of M-step 1" in figure(pg, "hp_land_fig", min_traces=5)["title"]
    figure(pg, "hp_land_spike")
    figure(pg, "hp_land_ga", min_traces=2)
    assert_no_exception(pg)
    screenshot(pg, "exercise_landscape_house_prices")
