"""One notation for the whole app, defined once: the glossary every page shows in its sidebar.

Conventions
-----------
* A **subscript** is a component: θ_k, π_k, μ_k, Σ_k (θ_kv: category v of segment k).
* A **superscript in parentheses** is an iteration: θ⁽ᵗ⁾ (LaTeX ``\\theta^{(t)}``), θ⁽⁰⁾ the start.
* Responsibilities are r_ik; where the proof speaks of the E-step's distribution q_t, it is the
  same numbers: q_t(z_i = k) = r_ik.
* The lower bound is 𝓛 (script L), never a plain L.

``app.py`` draws :func:`sidebar_glossary` before any page runs, so it sits in the sidebar of
every page; the proof panels point to it.
"""

from __future__ import annotations

import streamlit as st

#: (symbol, meaning) in reading order. Every symbol appears exactly once (a test checks).
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("xᵢ", "the i-th data point: a price, a pair of measurements, a basket's counts"),
    ("N", "the number of data points"),
    ("K", "the number of components (segments, on the baskets pages)"),
    ("k", "the index of a component, 1 … K; a subscript always means a component"),
    ("zᵢ", "the hidden label of point i: which component produced it"),
    ("πₖ", "the weight of component k: the chance that a point comes from it"),
    ("θₖ", "the parameters of component k: mean μₖ and covariance Σₖ (variance σₖ² in 1-D), "
           "or for baskets the category probabilities θₖᵥ"),
    ("θ", "all the parameters together: every πₖ and θₖ"),
    ("θ⁽ᵗ⁾", "the parameters after t iterations; θ⁽⁰⁾ is the starting guess. A superscript in "
             "parentheses always means an iteration"),
    ("half-step", "one position of the Step slider: θ⁽⁰⁾, E-step 1, M-step 1, E-step 2, …"),
    ("E-step", "keep θ⁽ᵗ⁾ fixed and compute every responsibility rᵢₖ"),
    ("M-step", "keep the rᵢₖ fixed and choose θ⁽ᵗ⁺¹⁾ to maximise Q (plus log p with a prior)"),
    ("rᵢₖ", "the responsibility p(zᵢ = k | xᵢ, θ⁽ᵗ⁾): how much component k claims point i; "
            "each row sums to 1 (one 1 and zeros in hard EM)"),
    ("qₜ", "the E-step's distribution over all the labels, as the proof writes it: "
           "qₜ(zᵢ = k) = rᵢₖ"),
    ("Nₖ", "Σᵢ rᵢₖ, the effective number of points of component k"),
    ("ℓ(θ)", "the log-likelihood Σᵢ log p(xᵢ | θ): the log of the probability the model "
             "gives the data"),
    ("log p(θ)", "the log prior, or penalty, defined up to a constant: −(reg/2)·tr Σ⁻¹ per "
                 "covariance matrix (an improper prior), or (α − 1) Σ log θₖᵥ for baskets; "
                 "0 when reg = 0 and α = 1"),
    ("ℓ + log p", "the penalised log-likelihood (MAP objective): what EM maximises when "
                  "reg > 0 or α ≠ 1; ℓ alone can then fall"),
    ("ℓ_C", "the classification log-likelihood Σᵢ maxₖ log πₖ p(xᵢ | θₖ): what hard EM "
            "never lowers (ℓ_C + log p with a prior)"),
    ("objective", "whichever of ℓ, ℓ + log p and ℓ_C the fit maximises: EM never lowers it"),
    ("hard EM", "classification EM: each rᵢₖ replaced by 1 for the most likely component "
                "and 0 otherwise. It is k-means only with one shared, fixed spherical "
                "covariance and equal weights"),
    ("reg", "regularisation: added to each covariance's scatter before dividing by Nₖ"),
    ("α", "the Dirichlet prior of the baskets' categories: α − 1 pseudo-counts in every "
          "category of every segment"),
    ("Q(θ | θ⁽ᵗ⁾)", "the expected complete-data log-likelihood Σᵢ Σₖ rᵢₖ log[πₖ p(xᵢ | θₖ)]: "
                    "each point's log joint density, averaged over its responsibilities"),
    ("H(q)", "the entropy of the responsibilities, −Σᵢ Σₖ rᵢₖ log rᵢₖ"),
    ("H(q, p_θ)", "the cross-entropy −Σᵢ Σₖ rᵢₖ log p(zᵢ = k | xᵢ, θ) of q with the "
                  "posterior under θ; equal to H(q) when q is that posterior"),
    ("𝓛(q, θ)", "the lower bound Q + H(q) on ℓ (Bishop's ℒ, the ELBO); the app never "
                "writes it as a plain L"),
    ("KL(q ‖ p)", "the Kullback–Leibler divergence ℓ − 𝓛 ≥ 0: zero right after an E-step"),
    ("nats", "the unit of ℓ, Q, H and KL (natural logarithms); 1 nat ≈ 1.44 bits"),
    ("BIC", "−2ℓ + p·log N with p free parameters; lower is better (R's mclust prints "
            "the opposite sign, higher is better)"),
    ("ICL", "BIC + 2·Σᵢ (−log maxₖ rᵢₖ) (Biernacki, Celeux & Govaert, 2000): also charges "
            "for overlapping components; lower is better"),
)

#: Where the glossary is, for the pages' one-line glosses.
WHERE = "📖 Notation, in the sidebar"


def symbols() -> list[str]:
    """The glossary's symbols, in order."""
    return [sym for sym, _ in GLOSSARY]


def meaning(symbol: str) -> str:
    """The glossary's meaning of ``symbol`` (KeyError if it is not listed)."""
    for sym, text in GLOSSARY:
        if sym == symbol:
            return text
    raise KeyError(symbol)


def glossary_markdown() -> str:
    """The glossary as a Markdown list, one ``- **symbol** — meaning`` line per entry (plain
    Unicode, no LaTeX, so it reads well in a narrow sidebar)."""
    return "\n".join(f"- **{sym}** — {text}" for sym, text in GLOSSARY)


def sidebar_glossary() -> None:
    """A collapsed "📖 Notation" expander in the sidebar (``app.py`` calls it for every page)."""
    with st.sidebar.expander("📖 Notation", expanded=False):
        st.markdown(glossary_markdown())


__all__ = ["GLOSSARY", "WHERE", "symbols", "meaning", "glossary_markdown", "sidebar_glossary"]
