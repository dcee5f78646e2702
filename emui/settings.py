"""The fit settings every fitting page collects in its sidebar (plain data, no Streamlit)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, init=False)
class FitSettings:
    """Everything that determines a fit (hashable, so it can key a cache).

    The family's own settings (``reg`` and ``covariance_type`` for Gaussians, ``alpha`` for
    multinomials and Bernoullis, whatever a plug-in family declares in its
    ``emcore.FitSpec``) are keywords too: ``FitSettings(n_components=3, alpha=1.01)``. They
    are kept in ``options`` (sorted ``(name, value)`` pairs), read back as attributes
    (``settings.alpha``) or with :meth:`option`, reach the family as ``name=value``, and
    ``dataclasses.replace(settings, reg=0.1)`` changes one.

    Parameters
    ----------
    n_components : int
        K, the number of mixture components.
    init : str
        An initialisation the family offers (``"kmeans++"``, ``"random"``,
        ``"random_from_data"``) or ``"custom"`` (then ``custom_means`` holds the learner's
        starting means).
    seed : int
        Random seed of the initialisation; restart ``i`` uses ``seed + i``.
    max_iter : int
        Maximum number of EM iterations.
    tol : float or None
        Stop when the objective improves by less than ``tol`` per sample; None runs
        ``max_iter`` iterations.
    hard : bool
        Classification ("hard") EM: responsibilities replaced by one-hot argmax.
    custom_means : tuple of tuples of float, shape (K, D), or None
        Starting means when ``init == "custom"``.
    n_restarts : int
        How many restarts (seeds ``seed``, ``seed + 1``, …) to show side by side.
    custom_sds : tuple of float, shape (K,), or None
        Optional starting standard deviations for ``init == "custom"`` (isotropic
        covariances σ_k²·I); None uses the data covariance for every component.
    options : tuple of (str, value) pairs
        The family's own settings (also accepted as keywords, which win).
    """

    n_components: int = 2
    init: str = "kmeans++"
    seed: int = 0
    max_iter: int = 100
    tol: float | None = 1e-6
    hard: bool = False
    custom_means: tuple | None = None
    n_restarts: int = 1
    custom_sds: tuple | None = None
    options: tuple = ()

    def __init__(self, *, n_components=2, init="kmeans++", seed=0, max_iter=100, tol=1e-6,
                 hard=False, custom_means=None, n_restarts=1, custom_sds=None, options=(),
                 **family_options):
        values = dict(n_components=n_components, init=init, seed=seed, max_iter=max_iter,
                      tol=tol, hard=hard, custom_means=custom_means, n_restarts=n_restarts,
                      custom_sds=custom_sds)
        for name, v in values.items():
            object.__setattr__(self, name, v)
        merged = dict(options)
        merged.update(family_options)
        object.__setattr__(self, "options", tuple(sorted(merged.items())))

    def __getattr__(self, name):
        # only called when normal lookup fails: the family's options read as attributes
        if not name.startswith("_"):
            for k, v in self.__dict__.get("options", ()):
                if k == name:
                    return v
        raise AttributeError(f"FitSettings has no field or family option {name!r}")

    def option(self, name, default=None):
        """The family option ``name`` (``default`` when these settings do not set it)."""
        return dict(self.options).get(name, default)

    def with_defaults(self, defaults: dict) -> FitSettings:
        """These settings with every option of ``defaults`` they do not set filled in (so two
        settings that mean the same fit compare and hash equal)."""
        missing = {k: v for k, v in defaults.items() if k not in dict(self.options)}
        if not missing:
            return self
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["options"] = self.options + tuple(missing.items())
        return FitSettings(**values)

    def cache_key(self) -> str:
        """A stable string identifying the fit (n_restarts does not change a single fit)."""
        return repr(
            (self.n_components, self.init, int(self.seed), int(self.max_iter),
             None if self.tol is None else float(self.tol), bool(self.hard), self.options,
             self.custom_means, self.custom_sds)
        )


def parse_means(text: str, n_components: int, n_features: int) -> tuple[tuple[float, ...], ...]:
    """Parse the learner's starting means.

    One mean per component, separated by ``;`` (or by ``,`` when there is one feature);
    the coordinates of a mean are separated by spaces or commas. ``"5.1, 5.4"`` gives two
    1-D means, ``"2 60; 4.5 80"`` two 2-D means.

    Returns
    -------
    tuple of ``n_components`` tuples of ``n_features`` floats.

    Raises
    ------
    ValueError
        With a one-sentence message saying what is wrong.
    """
    text = (text or "").strip()
    if not text:
        raise ValueError(f"Type {n_components} starting means, e.g. "
                         + _example(n_components, n_features) + ".")
    if n_features == 1:
        parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
        rows = [[p] for p in parts]
    else:
        rows = [[c for c in r.replace(",", " ").split() if c] for r in text.split(";") if r.strip()]
    if len(rows) != n_components:
        raise ValueError(f"Found {len(rows)} starting means but K = {n_components}; give one per "
                         f"component, e.g. {_example(n_components, n_features)}.")
    out = []
    for r in rows:
        if len(r) != n_features:
            raise ValueError(f"Each starting mean needs {n_features} number(s); got '{' '.join(r)}'.")
        try:
            vals = tuple(float(c) for c in r)
        except ValueError:
            raise ValueError(f"'{' '.join(r)}' is not a number.") from None
        if not all(abs(v) < float("inf") for v in vals):
            raise ValueError("Starting means must be finite numbers.")
        out.append(vals)
    return tuple(out)


def _example(n_components: int, n_features: int) -> str:
    if n_features == 1:
        return "'" + ", ".join(f"{1 + i}.5" for i in range(n_components)) + "'"
    return "'" + "; ".join(" ".join(str(i + d) for d in range(n_features))
                           for i in range(n_components)) + "'"
