"""The family plug-in boundary and the Bernoulli family.

* the Bernoulli M-step against a numerical maximisation of Q + log prior (L-BFGS-B on logits);
* ℓ against a brute-force sum with scipy.stats.bernoulli;
* the objective never decreases (hypothesis);
* Goodman's four-item "values" data against poLCA's published latent-class fits;
* every registered family through the one generic loop;
* a toy Poisson family, defined only here, fitted without touching emcore.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.optimize import minimize
from scipy.special import expit, gammaln, log_softmax, logsumexp

import emcore
from emcore.bernoulli import BernoulliFamily

# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------
#: Goodman (1974) "values" data: counts of the patterns over items A, B, C, D, from 1111 down
#: to 0000 in binary order (216 respondents)
GOODMAN_COUNTS = [42, 23, 6, 25, 6, 24, 7, 38, 1, 4, 1, 6, 2, 9, 2, 20]


def goodman_data():
    rows = []
    for j, c in enumerate(GOODMAN_COUNTS):
        code = 15 - j
        pattern = [(code >> (3 - d)) & 1 for d in range(4)]  # A is the most significant bit
        rows += [pattern] * c
    return np.array(rows)


def brute_loglik(X, params):
    """Σ_i log Σ_k π_k Π_d Bernoulli(x_id | μ_kd), term by term with scipy.stats."""
    total = 0.0
    for x in X:
        terms = []
        for k in range(params.n_components):
            pk = np.prod(stats.bernoulli.pmf(x, params.probs[k]))
            terms.append(params.weights[k] * pk)
        total += np.log(np.sum(terms))
    return total


# ----------------------------------------------------------------------------------------------
# Bernoulli: the M-step, ℓ, monotonicity
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [1.0, 2.5])
def test_bernoulli_m_step_maximises_q_plus_log_prior(alpha):
    rng = np.random.default_rng(3)
    N, D, K = 60, 5, 3
    X = (rng.random((N, D)) < rng.uniform(0.2, 0.8, size=D)).astype(float)
    resp = rng.dirichlet(np.ones(K), size=N)  # (N, K)
    fam = BernoulliFamily(alpha)
    data = fam.prepare(X)
    acc = np.zeros((K, fam.stats_width(data)))
    fam.stats_chunk(data, 0, N, np.ascontiguousarray(resp.T), acc)
    state, _ = fam.m_step(acc, data)

    def neg(v):
        logw = log_softmax(v[:K])
        logits = v[K:].reshape(K, D)
        lp, l1p = -np.logaddexp(0, -logits), -np.logaddexp(0, logits)
        comp = X @ lp.T + (1 - X) @ l1p.T + logw  # (N, K)
        q = np.sum(resp * comp)
        prior = (alpha - 1.0) * np.sum(lp + l1p)
        return -(q + prior)

    res = minimize(neg, np.zeros(K + K * D), method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-10})
    w_num = np.exp(log_softmax(res.x[:K]))
    mu_num = expit(res.x[K:].reshape(K, D))
    np.testing.assert_allclose(state.weights, w_num, atol=1e-5)
    np.testing.assert_allclose(state.probs, mu_num, atol=1e-5)
    # and the closed form is at least as good as the optimiser's point
    v_closed = np.concatenate([np.log(state.weights), (np.log(state.probs) - np.log1p(-state.probs)).ravel()])
    assert neg(v_closed) <= res.fun + 1e-9


def test_bernoulli_loglik_equals_brute_force_with_scipy():
    X, _, _ = emcore.make_bernoulli_mixture_data(80, 3, 6, seed=4)
    tr = emcore.fit_bernoulli_mixture(X, 3, seed=1, max_iter=8, tol=None)
    for t in (0, 3, tr.n_iter):
        assert tr.log_likelihood[t] == pytest.approx(brute_loglik(X, tr.params[t]), rel=1e-11)
    p = tr.final_params
    assert emcore.log_likelihood(X, p) == pytest.approx(brute_loglik(X, p), rel=1e-11)
    cld = emcore.component_log_density(X, p)
    want = np.array([[np.sum(stats.bernoulli.logpmf(x, p.probs[k])) for k in range(3)] for x in X])
    np.testing.assert_allclose(cld, want, rtol=1e-12, atol=1e-12)


def test_bernoulli_bound_identities_on_the_digits():
    # near-certain pixels: μ must not round to exactly 1 while q_t still weighs a 0 there
    from emdata.digits import digits_subset

    d = digits_subset((2, 3, 4), 8)
    for init, seed in (("random", 0), ("random_from_data", 2), ("kmeans++", 2)):
        tr = emcore.fit_bernoulli_mixture(d.X, 3, init=init, seed=seed)
        assert np.all(np.isfinite(tr.q)) and np.all(tr.kl >= -1e-8)
        assert np.all(tr.elbo >= tr.objective[:-1] - 1e-8 * np.abs(tr.objective[:-1]))
        assert np.all(tr.elbo <= tr.objective[1:] + 1e-8 * np.abs(tr.objective[1:]))


def test_bernoulli_exact_zero_and_one_probabilities_are_exact():
    # column 0 is always 0 and column 1 always 1: ML gives μ = 0 and μ = 1 exactly
    rng = np.random.default_rng(0)
    X = (rng.random((40, 5)) < 0.5).astype(int)
    X[:, 0], X[:, 1] = 0, 1
    tr = emcore.fit_bernoulli_mixture(X, 2, seed=2, max_iter=20)
    p = tr.final_params
    assert np.all(p.probs[:, 0] == 0) and np.all(p.probs[:, 1] == 1)
    assert tr.log_likelihood[-1] == pytest.approx(brute_loglik(X, p), rel=1e-11)
    Y = X.copy()
    Y[0, 0] = 1  # contradicts μ = 0 in every component: impossible
    assert emcore.log_likelihood(Y, p) == -np.inf
    assert np.all(emcore.component_log_density(Y, p)[0] == -np.inf)
    curve = emcore.bound_curve(tr, 0, n_points=9)
    assert np.all(np.isfinite(curve["objective"])) and np.all(np.isfinite(curve["bound"]))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(8, 40),
    d=st.integers(1, 6),
    k=st.integers(1, 4),
    alpha=st.sampled_from([1.0, 1.5, 4.0]),
    hard=st.booleans(),
    init=st.sampled_from(["random", "kmeans++", "random_from_data"]),
)
def test_bernoulli_objective_never_decreases(seed, n, d, k, alpha, hard, init):
    rng = np.random.default_rng(seed)
    X = (rng.random((n, d)) < rng.uniform(0.1, 0.9, size=d)).astype(np.int8)
    k = min(k, n)
    tr = emcore.fit_bernoulli_mixture(X, k, init=init, alpha=alpha, seed=seed, hard=hard, max_iter=25, tol=None)
    obj = tr.objective
    assert np.all(np.isfinite(obj))
    assert np.all(np.diff(obj) >= -1e-9 * (1 + np.abs(obj[1:])))
    assert np.all(tr.kl >= -1e-9 * (1 + np.abs(obj[1:])))
    # the M-step cannot lower the bound: L(q_t, θ_{t+1}) + log p(θ_{t+1}) ≥ objective(θ_t)
    assert np.all(tr.elbo + tr.log_prior[1:] >= obj[:-1] - 1e-9 * (1 + np.abs(obj[:-1])))
    for p in tr.params:
        assert np.all((p.probs >= 0) & (p.probs <= 1))
        if alpha > 1:
            assert np.all((p.probs > 0) & (p.probs < 1))


# ----------------------------------------------------------------------------------------------
# Goodman's "values" data, poLCA's published fits
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("K", "want_ll"), [(1, -543.6498), (2, -504.4677), (3, -503.3011)])
def test_goodman_values_latent_class_fits(K, want_ll):
    X = goodman_data()
    assert X.shape == (216, 4)
    # K = 3 converges slowly (a nearly flat ridge); tol is per respondent and per iteration
    traces = emcore.fit_restarts(X, K, n_init=4 if K < 3 else 3, seed=0, family="bernoulli",
                                 max_iter=6000, tol=1e-10)
    best = emcore.best_trace(traces)
    assert best.log_likelihood[-1] == pytest.approx(want_ll, abs=1e-4)
    if K == 2:
        shares = np.sort(best.final_params.weights)
        np.testing.assert_allclose(shares, [0.2792, 0.7208], atol=1e-4)
    assert emcore.n_parameters(best) == (K - 1) + 4 * K
    assert emcore.bic(best) == pytest.approx(-2 * best.log_likelihood[-1] + ((K - 1) + 4 * K) * np.log(216))


# ----------------------------------------------------------------------------------------------
# every registered family through the generic loop
# ----------------------------------------------------------------------------------------------
def _gaussian_case():
    X, _, _ = emcore.make_gaussian_mixture_data(150, 2, 2, seed=1)
    return X, {"reg": 0.1}, {}


def _multinomial_case():
    X, _, _ = emcore.make_multinomial_mixture_data(120, 2, 8, seed=1)
    return X, {"alpha": 1.2}, {"n_trials": 10}


def _bernoulli_case():
    X, _, _ = emcore.make_bernoulli_mixture_data(120, 2, 10, seed=1)
    return X, {"alpha": 1.5}, {}


CASES = {"gaussian": _gaussian_case, "multinomial": _multinomial_case, "bernoulli": _bernoulli_case}


def test_every_registered_family_has_a_case_here():
    assert set(emcore.family_names()) == set(CASES)


def _check_generic_trace(tr, X, sample_options):
    N = tr.n_samples
    assert np.all(np.diff(tr.objective) >= -1e-9 * np.abs(tr.objective[1:]))
    assert np.all(tr.kl >= -1e-8)
    # the bound is tight after each E-step: Q(θ_t | θ_t) + H(q_t) = ℓ(θ_t)
    for t in (0, tr.n_iter - 1):
        resp = tr.responsibilities(t)
        q_tt = emcore.expected_complete_loglik(X, resp, tr.params[t])
        assert q_tt + emcore.entropy(resp) == pytest.approx(tr.log_likelihood[t], rel=1e-10)
        assert tr.log_prior[t] == pytest.approx(
            emcore.log_prior(tr.params[t], **tr._family.options()), rel=1e-10, abs=1e-10)
    assert emcore.log_likelihood(X, tr.final_params) == pytest.approx(tr.log_likelihood[-1], rel=1e-10)
    assert tr.has_prior
    curve = emcore.bound_curve(tr, 0, n_points=11)
    i0, i1 = list(curve["a"]).index(0.0), list(curve["a"]).index(1.0)
    assert curve["bound"][i0] == pytest.approx(curve["objective"][i0], rel=1e-10)
    assert curve["bound"][i1] >= curve["bound"].max() - 1e-8 * abs(curve["bound"][i1])
    assert np.all(curve["bound"] <= curve["objective"] + 1e-8 * np.abs(curve["objective"]))
    Xs, z = emcore.sample(tr.final_params, 50, seed=0, **sample_options)
    assert Xs.shape[0] == 50 and z.shape == (50,)
    assert np.isfinite(emcore.bic(tr)) and np.isfinite(emcore.aic(tr)) and np.isfinite(emcore.icl(tr))
    json.dumps(tr.to_dict())
    assert tr.to_dict()["has_prior"] is True
    assert N == X.shape[0]


@pytest.mark.parametrize("name", list(CASES))
def test_every_family_runs_through_the_generic_loop(name):
    X, options, sample_options = CASES[name]()
    fam = emcore.get_family(name, **options)
    assert isinstance(fam, emcore.MixtureFamily)
    tr = emcore.fit_mixture(X, 2, family=name, seed=3, max_iter=30, **options)
    assert tr.family == name and tr.settings["init"] == fam.default_init
    _check_generic_trace(tr, X, sample_options)
    for init in ("kmeans++", "random_from_data"):
        tr2 = emcore.fit_mixture(X, 2, family=name, init=init, seed=3, max_iter=5, **options)
        assert np.all(np.diff(tr2.objective) >= -1e-9 * np.abs(tr2.objective[1:]))
    restarts = emcore.fit_restarts(X, 2, n_init=2, family=name, max_iter=5, **options)
    assert [t.settings["seed"] for t in restarts] == [0, 1]
    # explicit parameters round-trip
    tr3 = emcore.fit_mixture(X, 2, family=name, init=tr.final_params, max_iter=3, **options)
    assert tr3.log_likelihood[0] == pytest.approx(tr.log_likelihood[-1], rel=1e-12)


def test_named_fitters_equal_fit_mixture():
    X, options, _ = _bernoulli_case()
    a = emcore.fit_bernoulli_mixture(X, 3, seed=5, max_iter=10, **options)
    b = emcore.fit_mixture(X, 3, family="bernoulli", seed=5, max_iter=10, **options)
    np.testing.assert_array_equal(a.objective, b.objective)
    Xg, _, _ = emcore.make_gaussian_mixture_data(100, 2, 2, seed=2)
    a = emcore.fit_gaussian_mixture(Xg, 2, "diag", reg=0.2, seed=5, max_iter=10)
    b = emcore.fit_mixture(Xg, 2, covariance_type="diag", reg=0.2, seed=5, max_iter=10)
    np.testing.assert_array_equal(a.objective, b.objective)


def test_registry_errors_are_clear():
    with pytest.raises(ValueError, match="family must be one of"):
        emcore.fit_mixture(np.zeros((4, 2)), 1, family="poisson")
    with pytest.raises(TypeError, match="does not take"):
        emcore.fit_mixture(np.zeros((4, 2)), 1, family="bernoulli", reg=0.1)
    with pytest.raises(ValueError, match="only 0 and 1"):
        emcore.fit_bernoulli_mixture(np.full((4, 2), 2.0), 1)
    with pytest.raises(TypeError, match="BernoulliParams"):
        emcore.fit_bernoulli_mixture(np.zeros((4, 2)), 1,
                                     init=emcore.MultinomialParams([1.0], [[0.5, 0.5]]))
    with pytest.raises(ValueError):
        emcore.BernoulliParams([1.0], [[1.5]])


# ----------------------------------------------------------------------------------------------
# a toy fourth family, defined only here: a mixture of Poisson counts
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PoissonParams:
    weights: np.ndarray
    rates: np.ndarray  # (K, D)

    def __post_init__(self):
        object.__setattr__(self, "weights", np.asarray(self.weights, dtype=float))
        object.__setattr__(self, "rates", np.asarray(self.rates, dtype=float))

    @property
    def n_components(self):
        return self.rates.shape[0]

    @property
    def n_features(self):
        return self.rates.shape[1]

    def to_dict(self):
        return {"weights": self.weights.tolist(), "rates": self.rates.tolist()}


class _PoissonData:
    def __init__(self, X):
        X = np.asarray(X, dtype=float)
        self.X = X[:, None] if X.ndim == 1 else X
        self.n_samples, self.n_features = self.X.shape
        self.logfact = gammaln(self.X + 1.0).sum(axis=1)
        self.mean = self.X.mean(axis=0)


class _PoissonState:
    def __init__(self, weights, rates):
        for k, w in enumerate(weights):
            if not w > 0:
                raise emcore.Degenerate(k, "weight", f"weight {w:.3g}")
        self.weights, self.rates = weights, rates
        self.log_weights, self.log_rates = np.log(weights), np.log(rates)


class PoissonFamily(emcore.FamilyBase):
    name = "toy_poisson"
    params_type = PoissonParams
    default_init = "kmeans++"

    def prepare(self, X):
        return _PoissonData(X)

    def state_from_params(self, params, data, check_collapse=False):
        return _PoissonState(params.weights.copy(), params.rates.copy())

    def params_from_state(self, state, data):
        return PoissonParams(state.weights, state.rates)

    def log_joint_chunk(self, data, lo, hi, state, out, buf, weighted=True):
        Xb = data.X[lo:hi]
        np.matmul(state.log_rates, Xb.T, out=out)
        out -= state.rates.sum(axis=1)[:, None] + data.logfact[lo:hi]
        if weighted:
            out += state.log_weights[:, None]
        return out

    def stats_width(self, data):
        return 1 + data.n_features

    def stats_chunk(self, data, lo, hi, resp, acc):
        acc[:, 0] += resp.sum(axis=1)
        acc[:, 1:] += resp @ data.X[lo:hi]

    def m_step(self, acc, data, resp=None):
        Nk = acc[:, 0]
        for k in range(len(Nk)):
            if not Nk[k] > 1e-13 * data.n_samples:
                raise emcore.Degenerate(k, "weight", f"total responsibility {Nk[k]:.3g}")
        rates = np.maximum(acc[:, 1:] / Nk[:, None], 1e-300)
        return _PoissonState(Nk / Nk.sum(), rates), acc.copy()

    def q_value(self, summary, state, data):
        # Σ_ik q_ik [log π_k + Σ_d (x_id log λ_kd − λ_kd − log x_id!)] from N_k and S_kd
        Nk, S = summary[:, 0], summary[:, 1:]
        return float(np.sum(Nk * state.log_weights) + np.sum(S * state.log_rates)
                     - np.sum(Nk * state.rates.sum(axis=1)) - data.logfact.sum())

    def initial_state(self, acc, data, resp, seeded):
        if seeded:
            rates = 0.5 * acc[:, 1:] / acc[:, :1] + 0.5 * data.mean + 0.1
            return _PoissonState(np.full(acc.shape[0], 1.0 / acc.shape[0]), rates)
        return self.m_step(acc, data)[0]

    def log_prior(self, state):
        return 0.0

    def n_parameters(self, n_components, n_features):
        return (n_components - 1) + n_components * n_features

    def sample_rows(self, params, z, rng, **options):
        return rng.poisson(params.rates[z])

    def to_unconstrained(self, params):
        return np.log(params.weights), np.log(params.rates)

    def from_unconstrained(self, coords):
        logw, logr = coords
        return PoissonParams(np.exp(logw - logsumexp(logw)), np.exp(logr))


def test_a_toy_family_plugs_in_without_touching_emcore():
    rng = np.random.default_rng(0)
    z = rng.random(600) < 0.3
    X = np.where(z[:, None], rng.poisson([2.0, 9.0], size=(600, 2)), rng.poisson([12.0, 1.0], size=(600, 2)))
    fam = PoissonFamily()
    assert isinstance(fam, emcore.MixtureFamily)
    tr = emcore.fit_mixture(X, 2, family=fam, seed=1, max_iter=200, tol=1e-10)
    assert tr.status == "converged"
    assert np.all(np.diff(tr.objective) >= -1e-9 * np.abs(tr.objective[1:]))
    order = np.argsort(tr.final_params.rates[:, 0])
    np.testing.assert_allclose(tr.final_params.rates[order], [[2.0, 9.0], [12.0, 1.0]], rtol=0.15)
    np.testing.assert_allclose(tr.final_params.weights[order], [0.3, 0.7], atol=0.06)
    # ℓ against scipy's Poisson pmf
    p = tr.final_params
    want = np.sum(logsumexp(
        np.log(p.weights) + np.stack([stats.poisson.logpmf(X, p.rates[k]).sum(axis=1) for k in range(2)], 1),
        axis=1))
    assert tr.log_likelihood[-1] == pytest.approx(want, rel=1e-12)
    emcore.register_family(PoissonFamily)
    try:
        assert "toy_poisson" in emcore.family_names()
        by_name = emcore.fit_mixture(X, 2, family="toy_poisson", seed=1, max_iter=200, tol=1e-10)
        np.testing.assert_array_equal(by_name.objective, tr.objective)
        # the rest of emcore finds the family from its parameters
        assert emcore.log_likelihood(X, p) == pytest.approx(want, rel=1e-12)
        assert emcore.n_parameters(p) == 5
        Xs, zs = emcore.sample(p, 30, seed=0)
        assert Xs.shape == (30, 2)
        sel = emcore.select_n_components(X, 2, n_init=1, family="toy_poisson", max_iter=50)
        assert sel.best_k_bic == 2
        curve = emcore.bound_curve(tr, 0, n_points=7)
        assert curve["bound"][list(curve["a"]).index(0.0)] == pytest.approx(
            curve["objective"][list(curve["a"]).index(0.0)], rel=1e-10)
    finally:
        emcore.unregister_family("toy_poisson")
    assert "toy_poisson" not in emcore.family_names()
