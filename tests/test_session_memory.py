"""What one learner's session keeps in memory: no private copy of a big array that a cache holds.

A class of thirty on one server runs thirty sessions. Data sets and fits live once, in the
caches (``emdata.load_dataset``, ``st.cache_resource``); a session may keep *references* to
them, never its own copy. The check: two sessions of the same page with the same inputs
(AppTest, one process, so they share the caches); every array of session B's state that is
at least ``BIG`` bytes must share its memory with an array reachable from session A's state.
A per-session copy (``np.array(x)``, a standardised array recomputed on every run, a
re-read data set) shares nothing and is reported with its path in ``st.session_state``.

The one exception is the "Your data" page's own upload (``yd_parsed``, ``yd_prep``): it
belongs to that session alone and no cache holds it as parsed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
BIG = 4096  # bytes: the default data sets are small (Faithful's 272 × 2 floats are 4.3 kB)


def arrays_in(obj, path: str = "", seen: set | None = None):
    """Every numpy array reachable from ``obj``, as (path, array) pairs.

    Walks dicts, sequences, sets, dataclasses, objects' ``__dict__``, scipy sparse matrices
    (their data/indices/indptr) and pandas objects (their column values).
    """
    seen = set() if seen is None else seen
    if id(obj) in seen or obj is None or isinstance(obj, (str, int, float, bool, type)):
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        yield path, obj
        return
    if isinstance(obj, (bytes, bytearray)):
        yield path, np.frombuffer(obj, dtype=np.uint8)
        return
    if sp.issparse(obj):
        for name in ("data", "indices", "indptr"):
            if hasattr(obj, name):
                yield f"{path}.{name}", getattr(obj, name)
        return
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a runtime requirement
        pd = None
    if pd is not None and isinstance(obj, (pd.DataFrame, pd.Series)):
        frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
        for col in frame.columns:
            yield f"{path}[{col!r}]", np.asarray(frame[col].to_numpy())
        return
    if isinstance(obj, dict):
        for k, v in list(obj.items()):
            yield from arrays_in(v, f"{path}[{k!r}]", seen)
        return
    if isinstance(obj, (list, tuple, set, frozenset)):
        for i, v in enumerate(list(obj)):
            yield from arrays_in(v, f"{path}[{i}]", seen)
        return
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from arrays_in(getattr(obj, f.name, None), f"{path}.{f.name}", seen)
    for k, v in list(getattr(obj, "__dict__", {}).items()):
        yield from arrays_in(v, f"{path}.{k}", seen)


def _nbytes(a: np.ndarray) -> int:
    """Bytes held, counting the Python objects of an object array (e.g. text cells)."""
    if a.dtype == object:
        import sys

        return a.nbytes + sum(sys.getsizeof(v) for v in a.ravel()[:10_000])
    return a.nbytes


def private_big_arrays(state_b: dict, state_a: dict, big: int = BIG,
                       allowed: tuple[str, ...] = ()) -> list[str]:
    """Paths of arrays in ``state_b`` (≥ ``big`` bytes) that share no memory with any array
    reachable from ``state_a``; keys listed in ``allowed`` are skipped."""
    theirs = [a for _, a in arrays_in(state_a)]
    found = []
    for key, value in state_b.items():
        if key in allowed:
            continue
        for path, a in arrays_in(value, key):
            if _nbytes(a) >= big and not any(np.shares_memory(a, b) for b in theirs):
                found.append(f"{path} {a.shape} {a.dtype} ({_nbytes(a) / 1024:.1f} kB)")
    return found


def test_the_check_finds_a_private_copy_and_passes_shared_ones():
    big = np.arange(2048.0)  # 16 kB
    a = {"fits": {"p": {"X": big, "trace": object()}}}
    assert private_big_arrays({"fits": {"p": {"X": big[:, None]}}}, a) == []  # a view
    copy = private_big_arrays({"fits": {"p": {"X": big.copy()}}}, a)
    assert len(copy) == 1 and copy[0].startswith("fits['p']['X'] (2048,) float64")
    assert private_big_arrays({"small": np.arange(10.0)}, a) == []
    nested = private_big_arrays({"obj": dataclasses.make_dataclass("D", ["x"])(big + 1)}, a)
    assert nested and nested[0].startswith("obj.x")
    assert private_big_arrays({"mine": big.copy()}, a, allowed=("mine",)) == []
    csr = sp.csr_matrix(np.eye(200))
    assert private_big_arrays({"m": csr}, {"m": csr}) == []
    assert private_big_arrays({"m": csr.copy()}, {"m": csr}, big=1000)


def _session(page: str, setup=None) -> dict:
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    if setup is not None:
        setup(at)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return {k: at.session_state[k] for k in at.session_state.keys()}


def _blobs_standardised(at):
    at.session_state["blobs_data"] = "faithful"
    at.session_state["blobs_standardise"] = True


def _house_prices_synthetic(at):
    at.session_state["hp_data"] = "synthetic_1d"
    at.session_state["hp_syn_n"] = 3000


@pytest.mark.parametrize("page, setup", [
    ("pages/house_prices.py", None),
    ("pages/house_prices.py", _house_prices_synthetic),
    ("pages/blobs_2d.py", _blobs_standardised),
    ("pages/baskets.py", None),
    ("pages/digits.py", None),
    ("pages/why_em_works.py", None),
    ("pages/derivations.py", None),
], ids=["house_prices", "house_prices_synthetic", "blobs_2d_standardised", "baskets",
        "digits", "why_em_works", "derivations"])
def test_a_session_keeps_no_private_copy_of_cached_data(page, setup):
    a = _session(page, setup)
    b = _session(page, setup)
    assert private_big_arrays(b, a) == []
    if page not in ("pages/why_em_works.py", "pages/derivations.py"):
        (fit,) = b["em_fits"].values()
        assert fit["X"] is fit["trace"].X  # the published data is the cached fit's own


def test_your_data_keeps_only_its_own_upload():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (1500, 2)), rng.normal(4, 1, (1500, 2))])
    data = ("a,b\n" + "\n".join(f"{u:.5f},{v:.5f}" for u, v in X) + "\n").encode()

    def upload(at):
        at.run()
        at.file_uploader(key="yd_file").set_value(("same.csv", data, "text/csv"))

    a = _session("pages/your_data.py", upload)
    b = _session("pages/your_data.py", upload)
    assert "your_data" in b["em_fits"]
    # the same file in two sessions: one fit in the cache; the published data is the fit's
    assert b["em_fits"]["your_data"]["X"] is b["em_fits"]["your_data"]["trace"].X
    assert private_big_arrays(b, a, allowed=("yd_parsed", "yd_prep")) == []


def test_publish_fit_refuses_data_that_is_not_the_fits():
    import emcore
    import emui

    X = np.linspace(0.0, 1.0, 40)[:, None]
    trace = emcore.fit_gaussian_mixture(X, 2, max_iter=3, seed=0)
    with pytest.raises(ValueError, match="fitted on"):
        emui.publish_fit("p", X[:20], trace, "half the data")
