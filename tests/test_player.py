"""The client-side step player's payload (emviz.player) and its HTML (emui.player).

The browser rebuilds half-step s from the pooled payload exactly as :func:`unpack` does; these
tests check that the rebuilt figures and texts equal what the page's own builders make for
that half-step, and that the Markdown / LaTeX subsets become safe HTML.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import time

import numpy as np
import pytest

import emcore
from emui import player
from emui.player import proof_html
from emui.steps import describe_half_step, proof_lines
from emviz import player as P
from emviz.common import loglik_figure
from emviz.gauss1d import mixture_figure


@pytest.fixture(scope="module")
def fit():
    x, _, _ = emcore.make_gaussian_mixture_data(300, 2, 1, separation=3.0, seed=4)
    x = x[:, 0]
    return x, emcore.fit_gaussian_mixture(x, 2, seed=0, max_iter=12, tol=None)


def test_pack_unpack_gives_every_half_step_back(fit):
    x, tr = fit
    n = tr.n_half_steps
    figs = {"mix": lambda s: mixture_figure(x, tr, tr.half_step(s)),
            "ll": lambda s: loglik_figure(tr, tr.half_step(s))}
    texts = {"story": lambda s: P.md_html(describe_half_step(tr, tr.half_step(s)))}
    packed = P.decode(P.encode(P.pack(range(n), figs, texts)))
    assert (packed["start"], packed["stop"]) == (0, n)
    for s in (0, 1, 2, n // 2, n - 1):
        got = P.unpack(packed, s)
        for name, build in figs.items():
            want = P.figure_json(build(s))
            assert json.dumps(got["figures"][name], sort_keys=True) == \
                json.dumps(want, sort_keys=True)
        assert got["texts"]["story"] == P.md_html(describe_half_step(tr, tr.half_step(s)))
    # The pool holds each distinct value once: far fewer entries than steps × keys.
    n_refs = sum(len(t) for st in packed["figures"]["mix"] for t in st["d"])
    assert len(packed["pool"]) < n_refs / 2


def test_pool_shares_equal_values():
    figs = {"f": lambda s: {"data": [{"x": [1, 2, 3], "y": [s, s]}], "layout": {"t": "same"}}}
    packed = P.pack(range(3), figs, {})
    assert packed["pool"].count([1, 2, 3]) == 1 and packed["pool"].count("same") == 1
    assert P.unpack(packed, 2)["figures"]["f"]["data"][0]["y"] == [2, 2]


def test_a_window_holds_its_own_half_steps_only(fit):
    """A window packs the half-steps it names, with their absolute positions."""
    x, tr = fit
    figs = {"mix": lambda s: mixture_figure(x, tr, tr.half_step(s))}
    win = P.decode(P.encode(P.pack(range(5, 9), figs, {})))
    assert (win["start"], win["stop"], len(win["figures"]["mix"])) == (5, 9, 4)
    got = P.unpack(win, 7)["figures"]["mix"]
    assert json.dumps(got, sort_keys=True) == json.dumps(P.figure_json(figs["mix"](7)),
                                                         sort_keys=True)
    for outside in (4, 9):
        with pytest.raises(IndexError):
            P.unpack(win, outside)
    with pytest.raises(ValueError):
        P.pack(range(3, 3), figs, {})


def test_figure_json_drops_the_template(fit):
    x, tr = fit
    d = P.figure_json(mixture_figure(x, tr, tr.half_step(1)))
    assert "template" not in d["layout"] and d["data"]


def test_md_html_bold_italic_and_escaping():
    got = P.md_html("**E-step 1.** a *b* `c` <script>alert(1)</script> & x\\_y\n\nnext")
    assert got.startswith("<p><strong>E-step 1.</strong> a <em>b</em> <code>c</code> ")
    assert "<script>" not in got and "&lt;script&gt;" in got and "&amp;" in got
    assert "x_y" in got and got.endswith("<p>next</p>")


def test_md_html_column_names_stay_text():
    evil = '<img src=x onerror="alert(1)">'
    got = P.md_html(f"The mean of {evil} moved.")
    assert "<img" not in got and html.escape(evil) in got


@pytest.mark.parametrize("hard,reg", [(False, 0.0), (False, 1e-2), (True, 0.0), (True, 1e-2)])
def test_every_proof_line_converts(fit, hard, reg):
    x, _ = fit
    tr = emcore.fit_gaussian_mixture(x, 2, seed=0, max_iter=6, tol=None, reg=reg, hard=hard,
                                     covariance_type="spherical" if hard else "full")
    for t in range(tr.n_iter):
        for kind in ("E", "M"):
            for line in proof_lines(tr, t, kind)["latex"]:
                out = P.tex_html(line)
                text = re.sub(r"<[^>]+>", "", out)
                assert "\\" not in text and "{" not in text, (line, out)
                # every number of the LaTeX line is in the HTML, in the same order
                nums = re.findall(r"[0-9]+(?:\{,\}[0-9]+)*\.[0-9]+", line)
                shown = re.findall(r"[0-9]+(?:,[0-9]+)*\.[0-9]+", text)
                assert [n.replace("{,}", ",") for n in nums] == shown


def test_tex_html_pieces():
    assert P.tex_html(r"\ell(\theta^{(3)}) \ge 1{,}234.5") == \
        '<div class="tex">ℓ(θ<sup>(3)</sup>) ≥ 1,234.5</div>'
    assert "𝓛" in P.tex_html(r"\mathcal{L}(q_{2},\theta^{(2)})")
    assert "<br>" in P.tex_html(r"\begin{aligned}a &= b \\ &= c\end{aligned}")
    assert "<span class=\"up\">E: </span>" in P.tex_html(r"\text{E: } x")
    with pytest.raises(P.TexError):
        P.tex_html(r"\unknowncommand{x}")
    assert "&lt;" in P.tex_html(r"\text{<b>}")


def test_proof_html_marks_the_current_lines(fit):
    _, tr = fit
    e = proof_html(tr, tr.half_step(3))   # E-step 2: the E line is current
    m = proof_html(tr, tr.half_step(4))   # M-step 2: the M line and the ℓ line are
    assert e.count('class="tex cur"') == 1 and m.count('class="tex cur"') == 2
    assert e.index('class="tex cur"') < e.index('class="tex"')
    numbers = proof_lines(tr, 1, "M")
    assert f"−{abs(tr.objective[2]):,.4f}" in m
    assert html.escape(numbers["title"].strip("*")) in m


def test_proof_html_without_iterations():
    x = np.linspace(0, 1, 20)
    tr = emcore.fit_gaussian_mixture(x, 2, seed=0, max_iter=0)
    assert "no iterations" in proof_html(tr, tr.half_step(0))


def test_md_html_undoes_every_markdown_escape_of_a_column_name():
    """A page escapes data for Markdown (every ASCII punctuation mark, as CommonMark allows);
    the HTML shows the name itself, with no stray backslash and no markup."""
    import string

    name = "a:b " + string.punctuation + " <i>x</i>"
    escaped = re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", name)
    got = P.md_html(f"The mean of {escaped} moved.")
    assert got == "<p>The mean of " + html.escape(name, quote=True) + " moved.</p>"


@pytest.mark.parametrize("hard,reg", [(False, 0.0), (False, 1e-2), (True, 0.0)])
def test_every_why_em_works_line_converts(fit, hard, reg):
    """The Why-EM-works page's derivation (emviz.proof): each formula and each sentence with
    inline math becomes HTML with no LaTeX left and every number in place."""
    from emviz import proof

    x, _ = fit
    tr = emcore.fit_gaussian_mixture(x, 2, seed=0, max_iter=4, tol=None, reg=reg, hard=hard,
                                     covariance_type="spherical" if hard else "full")
    for t in range(tr.n_iter):
        step = proof.proof_step(x, tr, t)
        lines = proof.derivation_lines(step) + ([] if hard else proof.bishop_lines(step))
        for line in lines:
            text = re.sub(r"<[^>]+>", "", P.tex_html(line.latex))
            assert "\\" not in text and "{" not in text and "[2pt]" not in text, line.latex
            nums = re.findall(r"[0-9]+(?:\{,\}[0-9]+)*\.[0-9]+", line.latex)
            assert [n.replace("{,}", ",") for n in nums] == \
                re.findall(r"[0-9]+(?:,[0-9]+)*\.[0-9]+", text)
            words = re.sub(r"<[^>]+>", "", P.md_tex_html(line.text))
            assert "$" not in words and "\\" not in words, line.text


def test_tex_html_underbrace_colour_and_row_spacing():
    ub = P.tex_html(r"a = \underbrace{b+c}_{Q(\theta)} + d")
    assert '<span class="ub"><span>b + c</span><span>Q(θ)</span></span>' in ub
    col = P.tex_html(r"x \ge y\quad\color{#009E73}{\checkmark\ \text{ok}}")
    assert '<span style="color:#009E73">✓ <span class="up">ok</span></span>' in col
    with pytest.raises(P.TexError):
        P.tex_html(r"\color{red;background:url(x)}{a}")
    rows = P.tex_html(r"\begin{aligned}a &\ge b\\[2pt]1 &\ge 0\end{aligned}")
    assert rows == '<div class="tex">a ≥ b<br>1 ≥ 0</div>'
    assert "‖" in P.tex_html(r"\mathrm{KL}(q\,\|\,p)") and "Δ" in P.tex_html(r"\Delta")


def test_md_tex_html_inline_math_and_escapes():
    got = P.md_tex_html(r"**Gibbs:** $H(q_t) \le H(q_t, p)$ for <b> and \$5")
    assert got.startswith("<p><strong>Gibbs:</strong> <span class=\"tex-i\">H(q<sub>t</sub>)")
    assert "&lt;b&gt;" in got and "$5" in got and "\\" not in got
    with pytest.raises(P.TexError):
        P.md_tex_html(r"$\nosuchcommand$")


def _decoded(v):
    """Typed arrays ({dtype, bdata[, shape]}) as plain lists, recursively (NaN as None)."""
    if isinstance(v, dict):
        if set(v) >= {"dtype", "bdata"}:
            a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
            if "shape" in v:
                a = a.reshape([int(n) for n in str(v["shape"]).split(",")])
            return _decoded(a.tolist())
        return {k: _decoded(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_decoded(x) for x in v]
    if isinstance(v, float) and v != v:
        return None
    return v


@pytest.mark.parametrize("s", [0, 1, 2, 7])
def test_figure_json_equals_plotlys_own_json(fit, s):
    import plotly.io as pio

    x, tr = fit
    for fig in (mixture_figure(x, tr, tr.half_step(s)), loglik_figure(tr, tr.half_step(s))):
        ref = json.loads(pio.to_json(fig, validate=False))
        ref["layout"].pop("template", None)
        got = P.figure_json(fig)
        assert _decoded(got["data"]) == _decoded(ref["data"])
        assert _decoded(got["layout"]) == _decoded(ref["layout"])
        json.dumps(got, allow_nan=False)  # what encode() needs


def _rows_for(x, tr):
    return ((player.Chart("mix", lambda h: mixture_figure(x, tr, h)),
             player.Html("story", lambda h: P.md_html(describe_half_step(tr, h)))),)


def test_publish_writes_every_window_once(fit, tmp_path, monkeypatch):
    """The window of the step on screen is written at once, the others in the background;
    together they hold every half-step, each as its builders draw it."""
    x, tr = fit
    pub = player._Publisher(tmp_path / "salt")
    monkeypatch.setattr(player, "_PUBLISHER", pub)
    monkeypatch.setattr(player, "PUBLISH_DIR", pub.folder)
    n, rows = tr.n_half_steps, _rows_for(x, tr)
    player._publish("v1", rows, tr, s=n - 1)
    last = (n - 1) // player.WINDOW
    assert player.window_path("v1", last).exists()  # written before _publish returned
    deadline = time.time() + 60
    while len(list(pub.folder.glob("v1-*.bin"))) < -(-n // player.WINDOW):
        assert time.time() < deadline, "background windows not written"
        time.sleep(0.05)
    for s in range(n):
        win = P.decode(player.window_path("v1", s // player.WINDOW).read_bytes())
        got = P.unpack(win, s)
        assert json.dumps(got["figures"]["mix"], sort_keys=True) == json.dumps(
            P.figure_json(mixture_figure(x, tr, tr.half_step(s))), sort_keys=True)
        assert got["texts"]["story"] == P.md_html(describe_half_step(tr, tr.half_step(s)))
    before = {f: f.stat().st_mtime_ns for f in pub.folder.glob("*.bin")}
    player._publish("v1", rows, tr, s=0)  # already there: nothing is packed again
    time.sleep(0.2)
    assert {f: f.stat().st_mtime_ns for f in pub.folder.glob("*.bin")} == before


def test_published_windows_stay_under_the_disk_cap(fit, tmp_path, monkeypatch):
    """Beyond the cap the oldest windows go; folders of long-idle processes are removed."""
    x, tr = fit
    stale = tmp_path / "old-process"
    stale.mkdir()
    (stale / "a.bin").write_bytes(b"x")
    old = time.time() - player.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    fresh = tmp_path / "other-live-process"
    fresh.mkdir()
    pub = player._Publisher(tmp_path / "salt")
    monkeypatch.setattr(player, "MAX_PUBLISHED_BYTES", 1)
    pub.ensure("v-0.bin", lambda: b"first")
    assert not stale.exists() and fresh.exists()
    time.sleep(0.02)
    pub.ensure("v-1.bin", lambda: b"second")
    assert sorted(f.name for f in pub.folder.glob("*.bin")) == ["v-1.bin"]
