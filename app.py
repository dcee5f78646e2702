"""EM Explorer — entry point: page config, navigation and the Home page.

Run with ``make run`` (or ``streamlit run app.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent

#: (file, title, icon, one-line summary for the Home card). Files that do not exist yet are
#: skipped, so the app always starts.
PAGES: list[tuple[str, str, str, str]] = [
    ("pages/house_prices.py", "1-D house prices", "🏠",
     "Two neighbourhoods hidden in one list of sale prices. Watch two bell curves split the "
     "histogram, and see the E- and M-step formulas with one house's actual numbers."),
    ("pages/blobs_2d.py", "2-D blobs", "🫧",
     "Old Faithful's eruptions in two dimensions: covariance ellipses, density contours, and "
     "hard (classification) EM beside soft EM, and how both relate to k-means."),
    ("pages/baskets.py", "Market baskets", "🛒",
     "A mixture of multinomials finds shopper segments in real grocery baskets; choose the "
     "number of segments with BIC and ICL."),
    ("pages/digits.py", "Handwritten digits", "🔢",
     "A mixture of Bernoullis on 8×8 binary images: average digits emerge from noise, and "
     "the components are compared with the true digits they were never shown."),
    ("pages/why_em_works.py", "Why EM works", "📐",
     "The proof that EM never lowers what it maximises, line by line, with the numbers of "
     "the current fit, and the lower bound that touches and then lifts it."),
    ("pages/derivations.py", "Derivations", "✍️",
     "Where the formulas come from: the log of a sum, Q with the indicator trick, the M-step "
     "by zero gradients and a Lagrange multiplier, two roads to the bound, and the first EM "
     "example of 1977, step by step."),
    ("pages/your_data.py", "Your data", "📁",
     "Upload a CSV: pick columns and the app picks the model, then shows the same views."),
]


#: Set to "1" by ``bench/bench_browser.py`` only: the bare peer page is then served as one more
#: page of this app, so that the benchmark can measure what the app's shell (navigation, the
#: notation, the page-wide scripts) and Streamlit's start on a page URL cost a page.
BENCH_PEER_ENV = "EM_BENCH_PEER_PAGE"
BENCH_PEER_PATH = "bench_peer"


def available_pages() -> list[tuple[str, str, str, str]]:
    """The entries of :data:`PAGES` whose files exist."""
    return [p for p in PAGES if (ROOT / p[0]).exists()]


def _teaser() -> None:
    """A fitted two-component mixture of the Ames prices: the picture the first page builds."""
    import emdata
    import emui
    from emviz.gauss1d import mixture_figure, price_axis

    try:
        ds = emdata.load_dataset("ames")
    except Exception:  # noqa: BLE001 - the home page must render even without the dataset
        return
    x = ds.X[:, 0]
    # The 1-D page's default settings, so this fit is shared with that page through the cache.
    settings = emui.FitSettings(n_components=2, init="kmeans++", seed=0, reg=0.0, max_iter=100,
                                tol=1e-6)
    trace = emui.run_fit(x, settings, "ames")
    last = trace.half_step(trace.n_half_steps - 1)
    # built once per fit for every session (a FrozenFigure: no rebuild or validation per rerun)
    fig = emui.step_figure("home_teaser", trace, last, lambda: mixture_figure(
        x, trace, last, axis=price_axis(x), height=430,
        title="Ames prices: two hidden neighbourhoods"))
    st.plotly_chart(fig, key="home_teaser", theme="streamlit")
    st.caption("Grey bars: the prices. Coloured curves: the two bell curves EM found, each "
               "scaled by its weight π; dashed: their sum. The strip under the bars holds "
               "every house, coloured by how much each curve claims the houses at that price; "
               "the bottom band shows those shares for every price.")


def home() -> None:
    """The Home page: what EM is about, one card per page, how to drive the step slider."""
    st.title("EM Explorer")
    st.markdown(
        "#### Watch the Expectation-Maximization algorithm find hidden groups, one half-step at a time"
    )
    left, right = st.columns([1, 1], gap="large")
    with left:
        st.markdown(
            "A **latent variable** is something that shaped the data but was never recorded: "
            "the neighbourhood a house sits in, the kind of eruption a geyser had, the type of "
            "shopper who filled a basket. A **mixture model** says each observation first drew "
            "such a hidden label $z$ — group $k$ with probability $\\pi_k$ — and was then drawn "
            "from that group's own distribution $p(x \\mid \\theta_k)$:"
        )
        st.latex(r"p(x \mid \theta) = \sum_{k=1}^{K} \pi_k \, p(x \mid \theta_k)")
        st.markdown(
            "If we knew the labels, fitting each group would be easy; if we knew the groups, "
            "guessing the labels would be easy. **EM** alternates the two:\n"
            "- the **E-step** keeps the parameters fixed and gives every point its "
            "*responsibilities* — how likely each group is to have produced it;\n"
            "- the **M-step** keeps those responsibilities fixed and re-estimates every group "
            "from the points, each weighted by its responsibility.\n\n"
            "No round can lower the log-likelihood $\\ell(\\theta)$ — the log of the "
            "probability the model gives the data (every symbol is in *📖 Notation*, in the "
            "sidebar). With a prior or "
            "penalty (regularisation, a Dirichlet α ≠ 1) the quantity that never falls is "
            "$\\ell(\\theta) + \\log p(\\theta)$ instead, and ℓ alone can dip; hard EM "
            "never lowers the classification log-likelihood $\\ell_C$ (plus $\\log p$ with a "
            "prior). The *Why EM works* "
            "page proves it with your fit's own numbers."
        )
    with right:
        _teaser()
    with st.container(border=True):
        st.markdown("**How to use the step slider**")
        a, b = st.columns(2, gap="large")
        a.markdown(
            "Every fitting page records the whole run. The **Step** slider walks through it "
            "in half-steps:\n\n"
            "`θ⁽⁰⁾ (start)` → `E-step 1` → `M-step 1` → `E-step 2` → …\n\n"
            "- **◀ / ▶** move one half-step; drag the slider to jump."
        )
        b.markdown(
            "- On an **E-step** the curves stay put and the colours (responsibilities) change.\n"
            "- On an **M-step** the colours stay put and the curves move.\n"
            "- **▶ Play** under an animated chart replays the run in the browser.\n"
            "- The sidebar holds the fit settings: number of components K, the starting "
            "guess (including your own), the seed, regularisation, iterations, tolerance."
        )
    st.subheader("Pages")
    pages = available_pages()
    per_row = 3
    for start in range(0, len(pages), per_row):
        cols = st.columns(per_row, gap="medium")
        for col, (path, title, icon, summary) in zip(cols, pages[start:start + per_row],
                                                     strict=False):
            with col, st.container(border=True, height="stretch"):
                st.page_link(path, label=f"**{title}**", icon=icon)
                st.markdown(summary)
    missing = [p for p in PAGES if p not in pages]
    if missing:
        st.caption("Coming soon: " + ", ".join(p[1] for p in missing) + ".")
    st.caption(
        "Further reading: the story follows four blog posts on Gaussian mixtures, the EM "
        "algorithm and its lower-bound proof, the closed-form M-step, and multinomial mixtures "
        "for shopper segmentation; Bishop's *Pattern Recognition and Machine Learning*, §9."
    )


def main() -> None:
    st.set_page_config(page_title="EM Explorer", page_icon="📈", layout="wide",
                       initial_sidebar_state="auto")
    from emui.glossary import sidebar_glossary

    pages = [st.Page(home, title="Home", icon="🧭", default=True, url_path="home")]
    pages += [st.Page(path, title=title, icon=icon) for path, title, icon, _ in available_pages()]
    if os.environ.get(BENCH_PEER_ENV) == "1":
        pages.append(st.Page("bench/peer_page.py", title="Benchmark peer", icon="⏱",
                             url_path=BENCH_PEER_PATH))
    import emui._deeplink as deeplink
    from emui import player, screen

    page = st.navigation(pages)
    sidebar_glossary()  # the same notation on every page, under the page menu
    deeplink.mark_routed()  # this run came through app.py (see emui._deeplink)
    screen.apply()  # formula, toolbar and focus fixes; presentation mode
    player.preload()  # Plotly.js for the step players, fetched while the page runs
    page.run()


if __name__ == "__main__":  # Streamlit runs the entry script as __main__
    main()
