"""Families declare what a learner may set (``emcore.FitSpec``); emui builds the controls from it.

* every built-in declaration agrees with its family's constructor (names, defaults, choices
  the constructor accepts);
* a toy family defined only in this file, with one made-up option, gets its widget, its link
  parameter and its cache key, and the option reaches its fit, with no change to emui;
* ``FitSettings`` carries any family's options.
"""

from __future__ import annotations

import inspect
from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import emcore
from emcore.options import FitOption, FitSpec
from emui import urlstate
from emui.settings import FitSettings
from tests.test_emcore_families import PoissonFamily, _PoissonState

# ----------------------------------------------------------------------------------------------
# the built-in declarations
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gaussian", "multinomial", "bernoulli"])
def test_builtin_declarations_match_their_constructors(name):
    cls = emcore.family_class(name)
    spec = emcore.fit_spec(name)
    assert spec is cls.fit_spec
    params = inspect.signature(cls.__init__).parameters
    for o in spec.options:
        assert o.name in params, o.name
        assert o.default == params[o.name].default  # a first visit is the constructor's default
        for c in o.choices:  # every choice is a value the family accepts
            assert cls(**{o.name: c}).options()[o.name] == c
        assert o.label and o.default in o.choices
    assert spec.inits and cls.default_init in spec.inits
    # every initialisation offered runs ("custom" becomes explicit parameters in emui)
    rng = np.random.default_rng(0)
    X = {"gaussian": rng.normal(size=(30, 2)),
         "multinomial": rng.integers(0, 5, size=(30, 4)),
         "bernoulli": (rng.random((30, 5)) < 0.5).astype(np.uint8)}[name]
    for init in spec.inits:
        if init != "custom":
            tr = emcore.fit_mixture(X, 2, family=name, init=init, seed=1, max_iter=3)
            assert tr.n_iter >= 1


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="kind"):
        FitOption("x", "dial", (1, 2), 1, "X")
    with pytest.raises(ValueError, match="not a choice"):
        FitOption("x", "select", ("a", "b"), "c", "X")
    o = FitOption("x", "slider", (0.0, 0.1, 1.0), 0.0, "X", choice_labels={0.0: "off"})
    assert o.nearest(0.3) == 0.1 and o.nearest(7) == 1.0 and o.nearest("?") == 0.0
    assert o.text(0.0) == "off" and o.text(0.1) == "0.1" and o.query_name == "x"

    class Wrong(emcore.FamilyBase):
        name = "wrong_option"
        fit_spec = FitSpec(options=(FitOption("nope", "select", ("a",), "a", "Nope"),))

        def __init__(self, other=1):
            self.other = other

    with pytest.raises(ValueError, match="nope"):
        emcore.register_family(Wrong)
    assert "wrong_option" not in emcore.family_names()
    # a family without a declaration gets the generic initialisations and no options
    assert list(emcore.fit_spec(Wrong).inits) == ["random", "random_from_data", "kmeans++"]


def test_fit_settings_carry_any_family_options():
    a = FitSettings(n_components=3, reg=0.1, covariance_type="diag")
    assert a.reg == 0.1 and a.covariance_type == "diag" and a.option("alpha") is None
    assert a.options == (("covariance_type", "diag"), ("reg", 0.1))
    with pytest.raises(AttributeError):
        a.alpha  # noqa: B018
    b = replace(a, covariance_type="spherical", hard=True)
    assert b.covariance_type == "spherical" and b.reg == 0.1 and b.hard
    assert b.cache_key() != a.cache_key() and hash(a) == hash(replace(a))
    assert a.with_defaults({"reg": 0.0, "shape": 2.0}).options == (
        ("covariance_type", "diag"), ("reg", 0.1), ("shape", 2.0))
    assert FitSettings(reg=0.0).with_defaults({"covariance_type": "full", "reg": 0.0}) \
        == FitSettings(covariance_type="full", reg=0.0)


# ----------------------------------------------------------------------------------------------
# a toy family defined only in the tests: Poisson counts (test_emcore_families) with a made-up
# option, the shape of a Gamma prior on the rates
# ----------------------------------------------------------------------------------------------
class ToyGammaPoisson(PoissonFamily):
    """The emcore tests' toy Poisson family with a made-up option: the log prior
    (shape − 1) Σ log λ, so the M-step is λ = (S + shape − 1) / N_k."""

    name = "toy_gamma_poisson"
    fit_spec = FitSpec(options=(FitOption(
        "shape", "slider", (1.0, 2.0, 3.0), 1.0, "Toy prior shape",
        help="A made-up option: the prior adds shape − 1 to every rate's count.", url="shp"),))

    def __init__(self, shape=1.0):
        self.shape = float(shape)

    @property
    def has_prior(self):
        return self.shape != 1.0

    def options(self):
        return {"shape": self.shape}

    def m_step(self, acc, data, resp=None):
        state, summary = super().m_step(acc, data, resp)  # its checks and its Q summary
        rates = (acc[:, 1:] + self.shape - 1.0) / acc[:, :1]
        return _PoissonState(state.weights, rates), summary

    def log_prior(self, state):
        return float((self.shape - 1.0) * state.log_rates.sum())

    def log_prior_of_params(self, params):
        return float((self.shape - 1.0) * np.log(params.rates).sum())


def toy_data():
    rng = np.random.default_rng(4)
    z = rng.random(200) < 0.4
    return np.where(z[:, None], rng.poisson([2.0, 8.0], (200, 2)), rng.poisson([9.0, 1.0], (200, 2)))


def _toy_app():
    import streamlit as st

    import emcore
    import emui
    from tests.test_fit_spec import ToyGammaPoisson, toy_data

    emcore.register_family(ToyGammaPoisson)
    emui.url_state("toy", page="toy", family="toy_gamma_poisson")
    settings = emui.fit_controls("toy", family="toy_gamma_poisson", defaults={"max_iter": 20})
    trace = emui.run_fit(toy_data(), settings, "toy", family="toy_gamma_poisson")
    emui.save_url("toy")
    st.session_state["out"] = (settings, trace)


@pytest.fixture
def toy_registered():
    yield
    emcore.unregister_family("toy_gamma_poisson")


def test_a_toy_family_gets_its_control_and_its_option_reaches_the_fit(toy_registered):
    at = AppTest.from_function(_toy_app, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    w = at.select_slider(key="toy_shape")
    assert w.label == "Toy prior shape" and w.options == ["1.0", "2.0", "3.0"]
    assert w.value == 1.0 and "made-up option" in w.help
    # the generic initialisations, no own-means box, no hard-EM switch
    assert at.selectbox(key="toy_init").options == [
        "random responsibilities", "random rows as the start", "k-means++ on the rows"]
    assert at.selectbox(key="toy_init").value == "kmeans++"  # the family's default_init
    assert not at.toggle and not at.text_input
    assert dict(at.query_params)["shp"] == "1"

    w.set_value(3.0).run()
    assert not at.exception
    settings, trace = at.session_state["out"]
    assert settings.shape == 3.0 and ("shape", 3.0) in settings.options
    assert dict(at.query_params)["shp"] == "3"
    # the option reached the fit: the last M-step is λ = (Σ r x + shape − 1) / N_k
    X = toy_data()
    R = trace.responsibilities(trace.n_iter - 1)
    want = (R.T @ X + 2.0) / R.sum(axis=0)[:, None]
    np.testing.assert_allclose(trace.params[-1].rates, want, rtol=1e-10)
    assert np.all(np.diff(trace.objective) >= -1e-9 * np.abs(trace.objective[1:]))

    # a link carries it; a bad value falls back to the default with one note
    fresh = AppTest.from_function(_toy_app, default_timeout=60)
    fresh.query_params.update({"shp": "2", "k": "3"})
    fresh.run()
    assert fresh.select_slider(key="toy_shape").value == 2.0
    assert fresh.session_state["out"][0].shape == 2.0
    assert fresh.session_state["out"][0].n_components == 3
    bad = AppTest.from_function(_toy_app, default_timeout=60)
    bad.query_params.update({"shp": "7"})
    bad.run()
    assert bad.select_slider(key="toy_shape").value == 1.0
    assert any("`shp`" in c.value and "not valid" in c.value for c in bad.caption)


def test_link_parameters_follow_the_declaration(toy_registered):
    emcore.register_family(ToyGammaPoisson)
    names = [p.name for p in urlstate.fit_params("t", family="toy_gamma_poisson")]
    assert names == ["k", "init", "seed", "iter", "tol", "shp"]
    gauss1 = [p.name for p in urlstate.fit_params("t", family="gaussian", n_features=1)]
    assert gauss1 == ["k", "init", "means", "seed", "iter", "tol", "reg", "hard"]
    gauss2 = [p.name for p in urlstate.fit_params("t", family="gaussian", n_features=2)]
    assert gauss2 == ["k", "init", "means", "seed", "iter", "tol", "cov", "reg", "hard"]
    for fam in ("multinomial", "bernoulli"):
        assert [p.name for p in urlstate.fit_params("t", family=fam)] == [
            "k", "init", "seed", "iter", "tol", "alpha"]
    shp = urlstate.fit_params("t", family="toy_gamma_poisson")[-1]
    assert shp.state_key == "t_shape" and shp.parse("3") == 3.0 and shp.fmt(3.0) == "3"
    with pytest.raises(urlstate.BadValue):
        shp.parse("2.5")


def test_the_custom_start_takes_means_and_spreads():
    """The Gaussian's "custom" start: θ₀ from the learner's means (data covariance) or, with
    spreads, isotropic covariances σ_k²·I (the house-prices collapse preset)."""
    from emui.fitting import _init_argument

    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 2))
    means = ((0.0, 1.0), (2.0, -1.0))
    p = _init_argument(X, FitSettings(n_components=2, init="custom", custom_means=means))
    np.testing.assert_array_equal(p.means, np.array(means))
    np.testing.assert_allclose(p.covariances[1], np.cov(X.T, bias=True), rtol=1e-12)
    q = _init_argument(X, FitSettings(n_components=2, init="custom", custom_means=means,
                                      custom_sds=(0.5, 3.0)))
    np.testing.assert_array_equal(q.covariances, [[[0.25, 0], [0, 0.25]], [[9.0, 0], [0, 9.0]]])
    np.testing.assert_array_equal(q.weights, [0.5, 0.5])
    assert _init_argument(X, FitSettings(init="custom")) == "kmeans++"  # no means typed yet
    assert _init_argument(X, FitSettings(init="random")) == "random"
