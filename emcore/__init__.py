"""emcore: the EM algorithm for mixtures (Gaussian, multinomial, Bernoulli, or any family
registered as a plug-in), with a full iteration trace.

numpy + scipy only (``threadpoolctl``, if installed, keeps BLAS single-threaded during a fit).
See ``docs/CONTRACTS.md`` for the public names and ``Trace`` for the meaning of every recorded
quantity.

Layout
------
``family.py``       the ``MixtureFamily`` protocol (what the loop asks of a family), the shared
                    ``FamilyBase``, ``Degenerate`` and the weight tolerance
``registry.py``     the registry of families and the generic ``fit_mixture``
``options.py``      ``FitSpec`` / ``FitOption``: what a family lets a learner set (plain data)
``em.py``           the generic loop (written once) and ``Trace``; one chunked pass per
                    iteration gives ℓ(θ_t), H(q_t) and the weighted sufficient statistics,
                    from which the family makes θ_{t+1} and Q(θ_{t+1} | θ_t); no (K, N)
                    responsibilities are kept (memory O(chunk·K + K·statistics width))
``gaussian.py``     Gaussian family: Cholesky log-densities, exact ridge-prior M-step for
                    full / diag / spherical / tied, collapse detection
``multinomial.py``  multinomial family with a Dirichlet(alpha) prior, dense or sparse counts
``bernoulli.py``    Bernoulli family (binary features) with a Beta(alpha, alpha) prior
``api.py``          functions of θ and X (densities, E-step, Q, H, log prior, bound curve)
``selection.py``    parameter counts, BIC / AIC / ICL, restarts, K = 1…K_max
``sampling.py``     sampling, ``params_from_means`` and synthetic data with true parameters
``marginal.py``     a Gaussian mixture's marginal on a few coordinates (and a trace seen so)
"""

from .api import (
    bound_curve,
    component_log_density,
    cross_entropy,
    e_step,
    entropy,
    expected_complete_loglik,
    log_likelihood,
    log_prior,
)
from .bernoulli import BernoulliParams, fit_bernoulli_mixture, make_bernoulli_mixture_data
from .em import (
    HalfStep,
    Trace,
    fit_gaussian_mixture,
    fit_multinomial_mixture,
    half_step_label,
    half_step_position,
)
from .family import Degenerate, FamilyBase, MixtureFamily, Responsibilities
from .marginal import MarginalTrace, marginal_params
from .options import FitOption, FitSpec
from .params import COVARIANCE_TYPES, GaussianParams, MultinomialParams
from .registry import (
    family_class,
    family_for_params,
    family_names,
    fit_mixture,
    fit_spec,
    get_family,
    register_family,
    unregister_family,
)
from .sampling import (
    make_gaussian_mixture_data,
    make_multinomial_mixture_data,
    params_from_means,
    sample,
)
from .selection import (
    Selection,
    aic,
    best_trace,
    bic,
    fit_restarts,
    icl,
    n_parameters,
    select_n_components,
)

__all__ = [
    "COVARIANCE_TYPES",
    "GaussianParams",
    "MultinomialParams",
    "BernoulliParams",
    "Trace",
    "HalfStep",
    "half_step_position",
    "half_step_label",
    "fit_gaussian_mixture",
    "fit_multinomial_mixture",
    "fit_bernoulli_mixture",
    "fit_mixture",
    "MixtureFamily",
    "FamilyBase",
    "Responsibilities",
    "Degenerate",
    "register_family",
    "unregister_family",
    "family_names",
    "get_family",
    "family_for_params",
    "family_class",
    "fit_spec",
    "FitSpec",
    "FitOption",
    "component_log_density",
    "e_step",
    "log_likelihood",
    "expected_complete_loglik",
    "entropy",
    "cross_entropy",
    "log_prior",
    "bound_curve",
    "n_parameters",
    "bic",
    "aic",
    "icl",
    "fit_restarts",
    "select_n_components",
    "Selection",
    "best_trace",
    "sample",
    "params_from_means",
    "make_gaussian_mixture_data",
    "make_multinomial_mixture_data",
    "make_bernoulli_mixture_data",
    "marginal_params",
    "MarginalTrace",
]
