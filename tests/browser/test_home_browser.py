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


def test_every_page_has_the_notation_glossary_in_its_sidebar(page, app_server):
    from emui.glossary import GLOSSARY

    for path in ("", "why_em_works", "baskets"):
        open_page(page, app_server, path)
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert sidebar.get_by_text("📖 Notation").count() == 1, path
    sidebar.get_by_text("📖 Notation").click()
    page.wait_for_timeout(500)
    assert sidebar.get_by_text("the classification log-likelihood", exact=False).first.is_visible()
    assert sidebar.locator("li").count() >= len(GLOSSARY)
