"""The home page renders in a real browser and links to the pages."""

from tests.browser.conftest import assert_no_exception, open_page, screenshot


def test_home_renders(page, app_server):
    open_page(page, app_server)
    assert page.locator("h1").first.is_visible()
    assert_no_exception(page)
    # No horizontal scrolling at projector size.
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    screenshot(page, "home")
