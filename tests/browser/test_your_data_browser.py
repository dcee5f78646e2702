"""The "Your data" page in a real browser: hostile names stay text, bad files get their
message, and eight sessions on one server each see only their own upload."""

import time

import numpy as np

from tests.browser.conftest import (
    CHARTS,
    assert_no_exception,
    open_page,
    plot_count,
    screenshot,
    wait_for_app,
    wait_for_rerun,
)
from tests.browser.pagecheck import press_step, wait_for_chart

XSS = "<img src=x onerror=alert(1)>"


def _csv(names, seed, n=150):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (n // 2, 2)), rng.normal([4, 3], 0.7, (n - n // 2, 2))])
    body = "\n".join(f"{a:.4f},{b:.4f}" for a, b in X)
    return (",".join(names) + "\n" + body + "\n").encode()


def _upload(pg, name, data):
    pg.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": data}
    )


def _wait_for_plots(pg, n=2, timeout=120_000):
    """Wait until the upload's fit is drawn: at least ``n`` charts (or step player charts
    waiting off screen to be drawn when near) and the script idle.

    The upload may take more than one script run (parse, then fit), so one finished rerun
    is not enough to know the charts are there.
    """
    pg.wait_for_function(
        f"""() => document.querySelectorAll('{CHARTS}').length >= {n} &&
                 document.querySelector('[data-testid="stApp"]')
                         .getAttribute('data-test-script-state') === 'notRunning'""",
        timeout=timeout,
    )
    wait_for_app(pg, timeout=timeout)


def test_hostile_column_name_is_shown_as_text(page, app_server):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_page(page, app_server, "your_data")
    wait_for_rerun(page, lambda: _upload(page, "xss.csv", _csv([XSS, "=cmd|' /C calc'!A0"], 0)))
    _wait_for_plots(page)
    assert_no_exception(page)
    assert plot_count(page) >= 2
    # the name appears literally as text (multiselect chips), and no <img> was created from it
    assert page.get_by_text(XSS, exact=True).count() >= 1
    assert page.locator('img[src="x"]').count() == 0
    # The step player draws the narration, the chart and the proof in the browser: at M-step 1
    # the narration names the columns, as text; the chart's axis title shows the name too.
    assert press_step(page) == "E-step 1"
    assert press_step(page) == "M-step 1"
    story = page.locator(".st-key-yd_player .st-key-narration")
    story.wait_for(timeout=30_000)
    assert XSS in story.inner_text() and story.locator("img").count() == 0
    title = page.locator(".st-key-yd_player .st-key-yd_blobs .xtitle").first.text_content()
    assert title == XSS
    assert page.locator('img[src="x"]').count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []
    assert_no_exception(page)
    screenshot(page, "your_data_xss")


def test_bad_upload_shows_its_message(page, app_server):
    open_page(page, app_server, "your_data")
    wait_for_rerun(page, lambda: _upload(page, "image.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256))))
    alert = page.locator('[data-testid="stAlertContentError"]')
    assert alert.count() == 1
    assert "This file is not text" in alert.inner_text()
    assert_no_exception(page)


def test_eight_sessions_each_see_only_their_own_data(browser, app_server):
    contexts, pages = [], []
    for _ in range(8):
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.console_errors = []
        pg.on("pageerror", lambda exc, pg=pg: pg.console_errors.append(str(exc)))
        pages.append(pg)
    try:
        for pg in pages:
            pg.goto(f"{app_server.url}/your_data", wait_until="domcontentloaded")
        for pg in pages:
            wait_for_app(pg, timeout=120_000)
        t0 = time.time()
        for i, pg in enumerate(pages):  # all uploads go in before any result is awaited
            _upload(pg, f"session{i}.csv", _csv([f"alpha_{i}", f"beta_{i}"], seed=i))
        for pg in pages:  # generous: on a loaded 2-core machine 8 first renders queue up
            _wait_for_plots(pg, timeout=240_000)
        for i, pg in enumerate(pages):
            assert_no_exception(pg)
            assert plot_count(pg) >= 2, f"session {i} did not render"
            assert pg.get_by_text(f"alpha_{i}", exact=True).count() >= 1
            for j in range(8):
                if j != i:
                    assert pg.get_by_text(f"alpha_{j}", exact=True).count() == 0, (i, j)
        screenshot(pages[0], "your_data_session0")
        rss = app_server.rss_mb()
        print(f"\n8 concurrent upload sessions rendered in {time.time() - t0:.0f} s; "
              f"server RSS after them: {rss:.0f} MB")
        assert rss < 2000
    finally:
        for ctx in contexts:
            ctx.close()


def _top_bottom(pg, selector):
    return pg.evaluate(f"""() => {{ const e = document.querySelector('{selector}');
        if (!e) return null; const r = e.getBoundingClientRect(); return [r.top, r.bottom]; }}""")


def test_one_click_example_puts_the_fit_on_the_first_screen(page, app_server):
    """One click on "Penguins" loads the full table and fits it: the step control and the main
    chart are on the first screen at 1280×800 and on a phone (390×844); year is not fitted."""
    open_page(page, app_server, "your_data")
    wait_for_rerun(page, lambda: page.get_by_role("radio", name="Penguins").click())
    _wait_for_plots(page, n=1)
    assert_no_exception(page)
    chips = page.locator('[data-testid="stSidebar"] [data-tag] span[title]').all_inner_texts()
    assert [c.strip() for c in chips] == ["bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                          "body_mass_g"]
    assert page.get_by_text("Left out: 'year' (calendar years 2007–2009)", exact=False).count() == 1
    screenshot(page, "your_data_penguins")  # full page, for the README
    main_chart = '[data-testid="stMain"] .js-plotly-plot'
    for width, height in [(1280, 800), (390, 844)]:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(600)
        step = _top_bottom(page, ".st-key-yd_player .emp-bar")
        chart = _top_bottom(page, main_chart)
        assert step and step[1] <= height, (width, step)
        # the chart starts on the first screen: most of it at 1280, its top part on a phone
        assert chart and chart[0] <= (0.7 if width > 1000 else 0.85) * height, (width, chart)
        screenshot(page, f"your_data_penguins_{width}", full_page=False)


def test_density_ticks_in_grams_carry_no_micro_sign(page, app_server):
    rng = np.random.default_rng(3)
    grams = np.concatenate([rng.normal(3500, 300, 100), rng.normal(5200, 400, 100)])
    data = ("body_mass_g\n" + "\n".join(f"{g:.0f}" for g in grams) + "\n").encode()
    open_page(page, app_server, "your_data")
    wait_for_rerun(page, lambda: _upload(page, "grams.csv", data))
    _wait_for_plots(page, n=1)
    assert_no_exception(page)
    ticks = page.locator('[data-testid="stMain"] .js-plotly-plot').first.locator(
        ".yaxislayer-above .ytick text").evaluate_all("els => els.map(e => e.textContent)")
    assert ticks and not [t for t in ticks if "μ" in t or "µ" in t], ticks
    assert any("0.000" in t or "e-" in t for t in ticks), ticks  # small densities, plainly


def test_the_trajectories_follow_the_player_in_the_browser(page, app_server):
    """Old Faithful: the means over iterations sit in a tab below the player that does not
    rerun on a step; they are a view of the player, so ▶ moves their guide in the browser.
    Off screen, the view waits: it draws the half-step shown when it comes near the screen."""
    open_page(page, app_server, "your_data")
    wait_for_rerun(page, lambda: page.get_by_role("radio", name="Old Faithful").click())
    for key in ("yd_blobs", "yd_loglik", "yd_traj"):  # the last two are drawn when near
        wait_for_chart(page, key, timeout=120_000)
    traj = page.locator(".st-key-yd_traj").first
    title = ".st-key-yd_traj .gtitle"
    page.wait_for_selector(title, timeout=60_000)
    assert page.locator(title).text_content().endswith("θ⁽⁰⁾ shown")
    assert press_step(page) == "E-step 1"
    assert press_step(page) == "M-step 1"
    traj.scroll_into_view_if_needed()
    page.wait_for_function(f"() => document.querySelector('{title}').textContent"
                           ".endsWith('θ⁽¹⁾ shown')", timeout=30_000)
    # a width change redraws the view: its box keeps the figure's height (nothing overlaps)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(1500)
    traj.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box, svg = (_top_bottom(page, f".st-key-yd_traj {sel}") for sel in (".emp-chart", ".main-svg"))
    assert box[1] - box[0] >= svg[1] - svg[0] > 300, (box, svg)
    assert_no_exception(page)
