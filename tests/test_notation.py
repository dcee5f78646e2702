"""One notation: the glossary lists every symbol exactly once, every page shows it, and the
learner-facing strings use no retired notation (θ₁ for an iteration, ℓ*, "k-means limit", …)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emui import glossary

ROOT = Path(__file__).resolve().parents[1]

#: Every symbol the pages' proof panels, figures and criteria use.
REQUIRED = ["θₖ", "θ⁽ᵗ⁾", "rᵢₖ", "qₜ", "ℓ(θ)", "log p(θ)", "ℓ + log p", "ℓ_C", "objective",
            "Q(θ | θ⁽ᵗ⁾)", "H(q)", "H(q, p_θ)", "𝓛(q, θ)", "KL(q ‖ p)", "nats", "BIC", "ICL",
            "hard EM", "half-step"]


def test_every_symbol_is_listed_exactly_once():
    syms = glossary.symbols()
    assert len(syms) == len(set(syms)), [s for s in syms if syms.count(s) > 1]
    for sym in REQUIRED:
        assert syms.count(sym) == 1, sym
        assert glossary.meaning(sym)
    with pytest.raises(KeyError):
        glossary.meaning("ℓ*")


def test_the_markdown_has_one_line_per_symbol():
    lines = glossary.glossary_markdown().splitlines()
    assert len(lines) == len(glossary.GLOSSARY)
    heads = [re.fullmatch(r"- \*\*(.+?)\*\* — (.+)", line).group(1) for line in lines]
    assert heads == glossary.symbols()
    for sym in glossary.symbols():  # each symbol heads exactly one line
        assert sum(h == sym for h in heads) == 1


def test_glossary_says_what_each_objective_is():
    assert "hard EM" in glossary.meaning("ℓ_C") and "reg > 0" in glossary.meaning("ℓ + log p")
    assert "k-means only with one shared, fixed spherical covariance" in glossary.meaning("hard EM")
    assert "qₜ(zᵢ = k) = rᵢₖ" in glossary.meaning("qₜ")
    assert "iteration" in glossary.meaning("θ⁽ᵗ⁾") and "component" in glossary.meaning("k")


def test_the_home_page_shows_the_glossary_in_its_sidebar():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception

    def glossary_expanders(app):
        return [e for e in app.sidebar.expander if e.label == "📖 Notation"]

    (exp,) = glossary_expanders(at)
    assert exp.markdown[0].value == glossary.glossary_markdown()
    # (AppTest's switch_page drops the entry script's sidebar; the browser test checks that
    # the other pages show it too)


# --- retired notation ---------------------------------------------------------------------------

RETIRED = [
    # θ₀ and θₜ are always iterations (components count from 1); θ₁ … is an iteration when
    # it sits next to an arrow or a conditioning bar (θ₀ → θ₁, Q(θ₂ | θ₁)); θ₁ᵥ is a component
    (re.compile(r"θ[₀ₜ]|θ[₁-₉]+\s*[→|]|[→|]\s*θ[₁-₉]"),
     "θ with a subscript for an iteration: write θ⁽ᵗ⁾"),
    (re.compile(r"θ<sub>(t|\{|\d)"), "θ<sub>t</sub> for an iteration: write θ<sup>(t)</sup>"),
    (re.compile(r"θ_t\b|θ_\{t"), "θ_t: write θ⁽ᵗ⁾"),
    (re.compile(r"\\theta_(t\b|t[,+}]|\{t[},+]|\d|\{\d|\{\{)"), r"\theta_t: write \theta^{(t)}"),
    (re.compile(r"k-means limit", re.I), "hard EM is classification EM, not the k-means limit"),
    (re.compile(r"turns EM into k-means", re.I), "hard EM is classification EM"),
    (re.compile(r"can only raise the log-likelihood"), "true only without a prior, for soft EM"),
    (re.compile(r"ℓ\*|\\ell\^\{?\\ast"), "ℓ*: write ℓ + log p"),
    (re.compile(r"lower bound L\b"), "the bound is 𝓛, not L"),
    (re.compile(r"found the cliff"), "the likelihood is unbounded: a spike, not a cliff"),
    (re.compile(r"and compare ℓ\b"), "ℓ grows with K: it cannot choose K"),
]


def learner_strings(path: Path):
    """(line, text) of every string constant in ``path`` except docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docs.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node.lineno, node.value


SOURCES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")),
           *sorted((ROOT / "emui").glob("*.py")), *sorted((ROOT / "emviz").glob("*.py"))]
#: Pages whose owner is converting them to this notation while this test lands; the mark is
#: not strict, so the test reports XPASS as soon as the page is converted (then drop it).
CONVERTING: set[str] = set()


def _params():
    return [pytest.param(p, marks=pytest.mark.xfail(reason="being converted", strict=False))
            if p.name in CONVERTING else p for p in SOURCES]


@pytest.mark.parametrize("path", _params(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_retired_notation_in_learner_facing_strings(path):
    bad = [f"{path.name}:{line}: {why}: {text[:80]!r}"
           for line, text in learner_strings(path) for rx, why in RETIRED if rx.search(text)]
    assert not bad, "\n".join(bad)


def test_the_retired_patterns_do_catch_the_old_strings():
    old = ["Hard EM (k-means limit)", "Each round can only raise the log-likelihood",
           "θ₀ (start)", r"\ell^{\ast}(\theta_{1})", r"Q(\theta_t\mid\theta_t)", "θ<sub>3</sub>",
           "lower bound L", "EM just found the cliff", "try K = 1, 2, 3 and compare ℓ"]
    old += ["Q(θ₂ | θ₁)", "θₜ₊₁", "θ₃ → θ₄"]
    for text in old:
        assert any(rx.search(text) for rx, _ in RETIRED), text
    for fine in [r"\theta_{kv}", r"\theta_k", r"\theta^{(t)}", "θ⁽¹⁾", "θ<sub>kv</sub>",
                 r"p(x_i\mid\theta_{z_i})", "μ₁", "π₂", "θ₁ᵥ, ML", "θ₁ = (μ₁, Σ₁)"]:
        assert not any(rx.search(fine) for rx, _ in RETIRED), fine


@pytest.mark.parametrize("path", _params(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_iteration_subscript_built_in_an_f_string(path):
    """``f"θ{_sub(t)}"`` builds θ₃ at run time, which the string scan above cannot see."""
    rx = re.compile(r"θ\{(?:_?sub|proof\.sub|t\b|t \+)")
    bad = [f"{path.name}:{i}: {line.strip()[:80]}"
           for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
           if rx.search(line) and not line.lstrip().startswith("#")]
    assert not bad, "\n".join(bad)
