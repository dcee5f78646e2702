"""The fit settings every fitting page collects in its sidebar (plain data, no Streamlit)."""

from __future__ import annotations

from dataclasses import dataclass

#: Initialisation methods and their on-screen names.
INIT_LABELS: dict[str, str] = {
    "kmeans++": "k-means++ (spread-out data points)",
    "random_from_data": "random data points as means",
    "random": "random responsibilities",
    "custom": "my own starting means",
}

#: The same for the multinomial family (a "mean" there is a row's category profile).
MULTINOMIAL_INIT_LABELS: dict[str, str] = {
    "random": "random responsibilities",
    "random_from_data": "random rows as starting profiles",
    "kmeans++": "k-means++ on the rows' profiles",
}

#: The same for the Bernoulli family (a row is a 0/1 vector, e.g. a binary image).
BERNOULLI_INIT_LABELS: dict[str, str] = {
    "random": "random responsibilities",
    "random_from_data": "random rows as starting prototypes",
    "kmeans++": "k-means++ on the rows",
}


@dataclass(frozen=True)
class FitSettings:
    """Everything that determines a fit (hashable, so it can key a cache).

    Parameters
    ----------
    n_components : int
        K, the number of mixture components.
    init : str
        ``"kmeans++"``, ``"random"``, ``"random_from_data"`` or ``"custom"`` (then
        ``custom_means`` holds the learner's starting means).
    seed : int
        Random seed of the initialisation; restart ``i`` uses ``seed + i``.
    reg : float
        Gaussian regularisation (the prior −reg/2·Σ_k tr Σ_k⁻¹); 0 allows collapse.
    max_iter : int
        Maximum number of EM iterations.
    tol : float or None
        Stop when the objective improves by less than ``tol`` per sample; None runs
        ``max_iter`` iterations.
    covariance_type : str
        ``"full"``, ``"diag"``, ``"spherical"`` or ``"tied"`` (Gaussian only).
    hard : bool
        Classification ("hard") EM: responsibilities replaced by one-hot argmax.
    alpha : float
        Dirichlet prior of the multinomial family (1 = plain maximum likelihood).
    custom_means : tuple of tuples of float, shape (K, D), or None
        Starting means when ``init == "custom"``.
    n_restarts : int
        How many restarts (seeds ``seed``, ``seed + 1``, …) to show side by side.
    custom_sds : tuple of float, shape (K,), or None
        Optional starting standard deviations for ``init == "custom"`` (isotropic
        covariances σ_k²·I); None uses the data covariance for every component.
    """

    n_components: int = 2
    init: str = "kmeans++"
    seed: int = 0
    reg: float = 0.0
    max_iter: int = 100
    tol: float | None = 1e-6
    covariance_type: str = "full"
    hard: bool = False
    alpha: float = 1.0
    custom_means: tuple | None = None
    n_restarts: int = 1
    custom_sds: tuple | None = None

    def cache_key(self) -> str:
        """A stable string identifying the fit (n_restarts does not change a single fit)."""
        return repr(
            (self.n_components, self.init, int(self.seed), float(self.reg), int(self.max_iter),
             None if self.tol is None else float(self.tol), self.covariance_type, bool(self.hard),
             float(self.alpha), self.custom_means, self.custom_sds)
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
