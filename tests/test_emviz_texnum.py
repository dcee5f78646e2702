"""emviz.texnum: the one set of number formatters (LaTeX and plain text)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emviz.texnum import fmt, fmt_metric, fmt_plain, fmt_small, fmt_term, sub

SCI = re.compile(r"^(-?\d\.\d\d)\\times 10\^\{(-?\d+)\}$")


def _value(text: str) -> float:
    """Read a formatted LaTeX number back (independent of the formatter's code)."""
    text = text.replace("{,}", "")
    m = SCI.match(text)
    if m:
        return float(f"{m.group(1)}e{m.group(2)}")
    return float(text)


def test_zero_is_plain_zero_and_never_signed():
    assert fmt_small(0.0) == "0" and fmt_small(-0.0) == "0"
    assert fmt_plain(0.0) == "0"
    assert fmt(0.0) == "0.0000" and fmt(-0.0) == "0.0000"
    assert fmt_term(0.0) == " + 0.0000"


def test_fixed_values():
    assert fmt(-1034.123456) == "-1034.1235"
    assert fmt(-1034.123456, grouped=True) == "-1{,}034.1235"
    assert fmt(-209045.59612, decimals=2, grouped=True) == "-209{,}045.60"
    assert fmt(2.5, decimals=1) == "2.5"
    assert fmt_small(0.01234) == "0.01234"
    assert fmt_small(-0.5) == "-0.5"
    assert fmt_small(12.5) == "12.5000"
    assert fmt_plain(0.01234) == "0.01234"


def test_tiny_and_huge_use_powers_of_ten():
    assert fmt_small(3.2e-7) == r"3.20\times 10^{-7}"
    assert fmt_small(-4.05e-6) == r"-4.05\times 10^{-6}"
    assert fmt_small(2.5e7) == r"2.50\times 10^{7}"
    assert fmt_small(1e-300) == r"1.00\times 10^{-300}"
    assert fmt_plain(3.2e-7) == "3.20e-07"
    assert fmt_plain(-2.5e7) == "-2.50e+07"


def test_a_tiny_nonzero_value_never_reads_as_zero():
    assert fmt(-0.00001) == r"-1.00\times 10^{-5}"
    assert fmt(4e-9, grouped=True) == r"4.00\times 10^{-9}"
    assert fmt(-4e-5) == r"-4.00\times 10^{-5}"
    assert fmt(6e-5) == "0.0001"  # rounds to a nonzero digit: fixed point is exact enough
    assert fmt_term(-1.2e-5) == r" - 1.20\times 10^{-5}"
    assert fmt_term(-2.86134) == " - 2.8613"
    assert fmt_term(12345.678) == " + 12{,}345.6780"


def test_round_off_at_the_boundaries():
    # rounding happens once: 9.9996e-4 is 1.00 × 10⁻³, not 10.00 × 10⁻⁴
    assert fmt_small(9.9996e-4) == r"1.00\times 10^{-3}"
    assert fmt_small(1e-3) == "0.001"
    assert fmt_small(999999.0) == "999999.0000"
    assert fmt_small(1e6) == r"1.00\times 10^{6}"
    assert fmt(0.99996) == "1.0000" and fmt(-0.99996, grouped=True) == "-1.0000"
    assert fmt(999.99996, grouped=True) == "1{,}000.0000"


def test_not_finite():
    assert fmt(math.inf) == r"\infty" and fmt(-math.inf) == r"-\infty"
    assert fmt_small(math.nan) == r"\text{NaN}"
    assert fmt_plain(-math.inf) == "−∞"
    assert fmt_metric(math.nan) == "NaN"


def test_metric_drops_decimals_for_big_numbers():
    assert fmt_metric(-1139.25474) == "-1139.2547"
    assert fmt_metric(-209045.5961) == "-209045.60"
    assert fmt_metric(-2.5e6) == "-2500000"


@settings(max_examples=150, deadline=None)
@given(st.floats(-1e9, 1e9, allow_nan=False))
def test_every_format_reads_back_as_the_value(x):
    small = _value(fmt_small(x))
    assert small == pytest.approx(x, rel=5e-3, abs=0 if x == 0 else 5e-5)
    assert (small == 0) == (x == 0)
    fixed = fmt(x, grouped=True)
    assert _value(fixed) == pytest.approx(x, rel=5e-3, abs=5.1e-5)
    assert (_value(fixed) == 0) == (x == 0)  # nonzero never shows as 0.0000
    assert float(fmt_plain(x)) == pytest.approx(x, rel=5e-3, abs=5e-5)
    term = fmt_term(x)
    assert term[:3] in (" + ", " - ") and _value(term[3:]) == pytest.approx(abs(x), rel=5e-3,
                                                                            abs=5.1e-5)


def test_subscripts():
    assert sub(12) == "₁₂" and sub(0) == "₀" and sub(np.int64(7)) == "₇"
