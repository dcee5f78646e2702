"""Cached fits: moving the step slider never refits."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import streamlit as st

from emui.settings import FitSettings


def data_fingerprint(X) -> str:
    """A short hash of the data (shape, dtype and bytes; CSR matrices by their arrays)."""
    h = hashlib.sha1()
    if hasattr(X, "tocsr") and not isinstance(X, np.ndarray):
        X = X.tocsr()
        for a in (X.data, X.indices, X.indptr):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(repr(X.shape).encode())
    else:
        a = np.ascontiguousarray(X)
        h.update(a.tobytes())
        h.update(repr((a.shape, a.dtype.str)).encode())
    return h.hexdigest()[:16]


def _init_argument(X, settings: FitSettings):
    """The ``init`` argument for emcore: a method name, or for the "custom" start (offered by
    a family whose θ has means) θ₀ from the learner's means (and spreads)."""
    if settings.init != "custom" or settings.custom_means is None:
        return settings.init if settings.init != "custom" else "kmeans++"
    import emcore

    Xa = np.asarray(X, dtype=float)
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    means = np.asarray(settings.custom_means, dtype=float).reshape(settings.n_components, -1)
    return emcore.params_from_means(Xa, means, sds=settings.custom_sds)


@st.cache_resource(max_entries=64, show_spinner="Running EM…")
def _cached_fit(data_key: str, fingerprint: str, settings_key: str, family: str,
                _X, _settings: FitSettings):
    import emcore

    s = _settings
    return emcore.fit_mixture(
        _X, s.n_components, family=family, init=_init_argument(_X, s), max_iter=s.max_iter,
        tol=s.tol, seed=s.seed, hard=s.hard, **dict(s.options))


def complete(settings: FitSettings, family: str) -> FitSettings:
    """``settings`` with the family's declared option defaults filled in where unset, so
    that ``FitSettings(reg=0.0)`` and the sidebar's full settings share one cached fit."""
    import emcore

    return settings.with_defaults(emcore.fit_spec(family).defaults())


def run_fit(X, settings: FitSettings, data_key: str, family: str = "gaussian"):
    """Fit once per (data, settings) and return the emcore ``Trace`` from the cache afterwards.

    Parameters
    ----------
    X : ndarray (N, D) or (N,), or scipy.sparse (N, V) counts, in the family's format
    settings : FitSettings
        Its ``options`` go to the family as keywords (``emcore.fit_mixture(..., **options)``).
    data_key : str
        A name for the data (e.g. ``"ames"``); the cache key also includes a hash of X, so
        two different arrays never share a fit.
    family : str
        A registered family name (``emcore.family_names()``).
    """
    settings = complete(settings, family)
    return _cached_fit(data_key, data_fingerprint(X), settings.cache_key(), family, X, settings)


def run_restarts(X, settings: FitSettings, data_key: str, n_restarts: int | None = None,
                 family: str = "gaussian") -> list:
    """Fits with seeds ``seed, seed+1, …`` (restart 0 is exactly :func:`run_fit`'s fit).

    With ``init == "custom"`` every restart would start from the same means, so restarts
    1, 2, … use k-means++ instead.
    """
    n = int(n_restarts if n_restarts is not None else settings.n_restarts)
    out = [run_fit(X, settings, data_key, family=family)]
    for i in range(1, n):
        s = replace(settings, seed=settings.seed + i)
        if s.init == "custom":
            s = replace(s, init="kmeans++", custom_means=None, custom_sds=None)
        out.append(run_fit(X, s, data_key, family=family))
    return out


def publish_fit(page_name: str, X, trace, title: str, **extra) -> None:
    """Share the current fit with the "Why EM works" page.

    Stores ``{"page", "title", "X", "trace", **extra}`` in
    ``st.session_state["em_fits"][page_name]`` and records ``page_name`` in
    ``st.session_state["em_last_fit"]`` (the most recently viewed fitting page).

    The entry holds references to the cached fit only, never a per-session copy: ``"X"`` is
    the trace's own data (``trace.X``, held by the fit cache), not the ``X`` passed in, which
    a page may have recomputed on this run (standardised data, an upload prepared in this
    session). ``X`` must have the trace's shape (it is the data the trace was fitted on).
    """
    shape = tuple(np.shape(X)) if not hasattr(X, "tocsr") else tuple(X.shape)
    if shape not in (tuple(trace.X.shape), tuple(trace.X.shape[:1])):
        raise ValueError(f"publish_fit: X has shape {shape}, the trace was fitted on "
                         f"{tuple(trace.X.shape)}")
    fits = st.session_state.setdefault("em_fits", {})
    fits[page_name] = {"page": page_name, "title": title, "X": trace.X, "trace": trace, **extra}
    st.session_state["em_last_fit"] = page_name
