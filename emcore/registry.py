"""The registry of mixture families and the generic ``fit_mixture``.

A family is a class following ``emcore.family.MixtureFamily`` whose constructor takes its
options as keywords (``GaussianFamily(covariance_type, reg)``, ``MultinomialFamily(alpha)``).
``register_family`` makes it reachable by name from ``fit_mixture``, ``fit_restarts`` and
``select_n_components``, and by parameter type from the functions of θ in ``api.py``,
``selection.py`` and ``sampling.py``. A family's ``fit_spec`` (``emcore.options.FitSpec``,
plain data) declares what a learner may set; ``fit_spec(name)`` returns it and the user
interface builds its controls from it alone.
"""

from __future__ import annotations

import inspect

from .bernoulli import BernoulliFamily
from .em import run_em
from .gaussian import GaussianFamily
from .multinomial import MultinomialFamily
from .options import FitSpec

__all__ = ["register_family", "unregister_family", "family_names", "get_family", "family_class",
           "family_for_params", "fit_mixture", "fit_spec"]

_FAMILIES: dict[str, type] = {}


def register_family(cls):
    """Register a family class under ``cls.name`` (usable as a class decorator)."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError("a family class needs a non-empty string attribute `name`")
    if name in _FAMILIES and _FAMILIES[name] is not cls:
        raise ValueError(f"a different family is already registered as {name!r}")
    spec = getattr(cls, "fit_spec", None)
    if spec is not None:
        if not isinstance(spec, FitSpec):
            raise TypeError(f"{cls.__name__}.fit_spec must be an emcore.options.FitSpec")
        names = _option_names(cls)
        unknown = [o.name for o in spec.options if names is not None and o.name not in names]
        if unknown:
            raise ValueError(f"{cls.__name__}.fit_spec declares {unknown}, which its "
                             "constructor does not take")
    _FAMILIES[name] = cls
    return cls


def unregister_family(name):
    """Remove a family from the registry (the built-in ones included)."""
    _FAMILIES.pop(name, None)


def family_names():
    """Names of the registered families, in registration order."""
    return tuple(_FAMILIES)


def family_class(name):
    """The class registered under ``name``."""
    try:
        return _FAMILIES[name]
    except KeyError:
        names = ", ".join(repr(n) for n in _FAMILIES)
        raise ValueError(f"family must be one of {names}, got {name!r}") from None


def fit_spec(family):
    """What a learner may set for ``family`` (a registered name, class or instance): its
    ``fit_spec``, or a ``FitSpec()`` with the generic initialisations and no options."""
    cls = family_class(family) if isinstance(family, str) else family
    spec = getattr(cls, "fit_spec", None)
    return spec if spec is not None else FitSpec()


def _option_names(cls):
    """Keyword names ``cls``'s constructor takes (None: any)."""
    if cls.__init__ is object.__init__:
        return set()
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return set(params) - {"self"}


def _accepted(cls, options):
    """The subset of ``options`` that ``cls``'s constructor takes (None values dropped)."""
    names = _option_names(cls)
    return {k: v for k, v in options.items() if (names is None or k in names) and v is not None}


def get_family(name, **options):
    """An instance of the family ``name`` with its options (e.g. ``reg=0.1``).

    Raises ``TypeError`` for an option the family does not take.
    """
    cls = family_class(name)
    names = _option_names(cls)
    extra = set() if names is None else set(options) - names
    if extra:
        raise TypeError(f"family {name!r} does not take the option(s) {sorted(extra)}")
    return cls(**options)


def family_for_params(params, **options):
    """The registered family whose parameter type ``params`` is, built with those of
    ``options`` its constructor takes (others are ignored: e.g. ``reg`` for a multinomial)."""
    for cls in _FAMILIES.values():
        if isinstance(params, cls.params_type):
            return cls(**_accepted(cls, options))
    kinds = " or ".join(cls.params_type.__name__ for cls in _FAMILIES.values())
    raise TypeError(f"params must be {kinds}, got {type(params).__name__}")


def fit_mixture(X, n_components, family="gaussian", init=None, max_iter=100, tol=1e-6, seed=None,
                hard=False, **options):
    """Fit a mixture of any registered family by EM and record every iteration.

    Parameters
    ----------
    X : array_like
        The data in the family's format (see its named fitter).
    n_components : int
    family : str or family instance
        A registered name ("gaussian", "multinomial", "bernoulli", …) or an object following
        ``emcore.family.MixtureFamily`` (then ``options`` must be empty).
    init : str, parameters or None
        None: the family's default ("kmeans++" for Gaussians, "random" otherwise).
    max_iter, tol, seed, hard
        As for ``fit_gaussian_mixture``.
    **options
        The family's own settings: ``covariance_type``, ``reg`` (Gaussian), ``alpha``
        (multinomial, Bernoulli).

    Returns
    -------
    Trace
    """
    if isinstance(family, str):
        fam = get_family(family, **options)
    else:
        if options:
            raise TypeError("pass the options to the family's constructor when giving an instance")
        fam = family
    if init is None:
        init = fam.default_init
    return run_em(fam, X, n_components, init, max_iter, tol, seed, hard)


for _cls in (GaussianFamily, MultinomialFamily, BernoulliFamily):
    register_family(_cls)
