"""From a parsed upload to the matrix a fit uses, counting every row that is left out.

Three shapes of data, as the "Your data" page offers them:

* ``gaussian_matrix``  — chosen numeric columns -> float (N, D) for a Gaussian mixture;
* ``counts_matrix``    — chosen columns of non-negative integer counts -> int (N, V);
* ``long_to_counts``   — a long ``basket_id, item[, quantity]`` table -> int (baskets, items).

Each returns a :class:`Prepared` whose ``notes`` say, one sentence each, what was dropped,
rescaled or sampled (nothing is changed silently), or raises :class:`DataError` with one
message when nothing sensible can be fitted.  ``propose_model`` guesses which of the three
an upload is, and ``check_n_components`` refuses a K larger than the number of distinct
points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from emdata.csvparse import _MISSING, ParsedTable
from emdata.errors import DataError

__all__ = [
    "MAX_FIT_ROWS",
    "MAX_GAUSS_CELLS",
    "MAX_GAUSS_COLUMNS",
    "MAX_FIT_CELLS",
    "SAMPLE_SEED",
    "Prepared",
    "Proposal",
    "gaussian_matrix",
    "counts_matrix",
    "long_to_counts",
    "propose_model",
    "check_n_components",
    "prepare",
    "MODELS",
    "MODEL_LABELS",
    "STANDARDISE_RATIO",
    "left_out_reason",
    "scale_ratio",
    "column_spreads",
    "zscores",
]

#: Gaussian fits use at most this many rows; beyond it a random sample (seed SAMPLE_SEED).
MAX_FIT_ROWS = 200_000
#: ... and at most this many cells (rows x columns), so that a wide table stays interactive.
MAX_GAUSS_CELLS = 400_000
#: Gaussian mixtures fit at most this many columns at once.
MAX_GAUSS_COLUMNS = 20
#: Count matrices are dense: at most this many cells (rows x categories), sampled beyond.
MAX_FIT_CELLS = 4_000_000
#: Long tables keep at most this many distinct items (the most frequent ones).
MAX_ITEMS = 300
SAMPLE_SEED = 0

#: Model names used by the page.
MODELS = {
    "gmm1d": "1-D Gaussian mixture (one numeric column)",
    "gmm": "Gaussian mixture (two or more numeric columns)",
    "counts": "Mixture of multinomials (a counts matrix: one row per basket, one column per item)",
    "long": "Mixture of multinomials (a basket list: basket id, item[, quantity])",
    "binary": "Mixture of Bernoullis (0/1 columns: one row per case, one column per yes/no answer)",
}
#: Short names of the same models, for a narrow picker.
MODEL_LABELS = {
    "gmm1d": "1-D Gaussian mixture",
    "gmm": "Gaussian mixture",
    "counts": "Multinomials: counts matrix",
    "long": "Multinomials: basket list",
    "binary": "Bernoullis: 0/1 columns",
}


@dataclass
class Prepared:
    """Data ready for a fit.

    Attributes
    ----------
    family : {"gaussian", "multinomial", "bernoulli"}
    X : ndarray, shape (N, D) float, (N, V) int64 counts or (N, D) uint8 0/1
    feature_names : list of str
    row_names : list of str or None
        Basket ids for count data; None for Gaussian data.
    line_numbers : ndarray of int, shape (N,) or None
        File line of each row (Gaussian and counts data).
    n_input : int
        Rows (or, for a basket list, lines) before anything was left out.
    dropped : dict of str -> int
        Reason -> number of rows (lines, baskets) left out.
    scale : ndarray, shape (D,) or None
        What each column was divided by (Gaussian data): a power of ten for a column whose
        spread is far from 1 (1 where unchanged), or its standard deviation when standardised.
    center : ndarray, shape (D,) or None
        What was subtracted from each column before dividing (Gaussian data): 0, or the
        column's mean when standardised. ``X = (values - center) / scale``.
    standardised : bool
        Whether ``X`` holds z-scores (each column minus its mean, over its standard deviation).
    notes : list of str
        One sentence per change, for the screen.
    """

    family: str
    X: np.ndarray
    feature_names: list[str]
    row_names: list[str] | None = None
    line_numbers: np.ndarray | None = None
    n_input: int = 0
    dropped: dict = field(default_factory=dict)
    scale: np.ndarray | None = None
    notes: list = field(default_factory=list)
    center: np.ndarray | None = None
    standardised: bool = False

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_dropped(self) -> int:
        return int(sum(self.dropped.values()))


@dataclass
class Proposal:
    """The model the page proposes for an upload (the learner may change it)."""

    model: str  # one of MODELS
    columns: list[str]  # numeric columns for gmm1d / gmm / counts
    basket: str | None = None  # long format
    item: str | None = None
    quantity: str | None = None
    reason: str = ""
    #: numeric columns not proposed -> why (row numbers, ids, years)
    left_out: dict = field(default_factory=dict)
    #: whether standardising the proposed columns is advised (Gaussian models): their
    #: standard deviations differ by more than ``STANDARDISE_RATIO``
    standardise: bool = False
    #: largest / smallest standard deviation of the proposed columns
    scale_ratio: float = 1.0


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _lines(lines: np.ndarray, mask: np.ndarray, k: int = 3) -> str:
    idx = lines[mask]
    shown = ", ".join(str(int(x)) for x in idx[:k])
    return ("line " if len(idx) == 1 else "lines ") + shown + (", …" if len(idx) > k else "")


def _drop_sentence(n_input: int, reasons: list[tuple[str, int, str]], unit: str = "rows") -> str:
    """'Left out 3 of 200 rows: 2 with a missing value (lines 4, 9), 1 with ...'."""
    parts = [f"{n:,} {what}" + (f" ({where})" if where else "") for what, n, where in reasons if n]
    total = sum(n for _, n, _ in reasons)
    return (
        f"Left out {total:,} of {n_input:,} {unit}: " + "; ".join(parts) + ". The other "
        f"{n_input - total:,} {unit} are used; fix those lines in the file if you need them."
    )


def _require_numeric(table: ParsedTable, columns: list[str], purpose: str) -> None:
    for c in columns:
        if c not in table.columns:
            raise DataError(f"There is no column '{c}' in the file. Pick one of its columns.")
        if c not in table.numeric:
            example = next((v for v in table.raw[c] if v.lower() not in _MISSING), "")
            raise DataError(
                f"Column '{c}' holds text (e.g. '{example[:40]}'), not numbers, so it cannot be "
                f"used {purpose}. Pick numeric columns only."
            )


def _sample_rows(n: int, limit: int, what: str, notes: list) -> np.ndarray | None:
    if n <= limit:
        return None
    rng = np.random.default_rng(SAMPLE_SEED)
    idx = np.sort(rng.choice(n, size=limit, replace=False))
    notes.append(
        f"The data have {n:,} usable {what}, more than the {limit:,} this app fits at once; "
        f"a random sample of {limit:,} {what} (seed {SAMPLE_SEED}) is used for the fit."
    )
    return idx


# ----------------------------------------------------------------------------------------------
# Gaussian data
# ----------------------------------------------------------------------------------------------


def gaussian_matrix(table: ParsedTable, columns: list[str], max_rows: int = MAX_FIT_ROWS,
                    standardise: bool = False) -> Prepared:
    """Chosen numeric columns as a float matrix for a Gaussian mixture.

    Parameters
    ----------
    table : ParsedTable
    columns : list of str
        Numeric columns, in the order they become features.
    max_rows : int
        More usable rows than this are sampled (seed ``SAMPLE_SEED``), and the note says so.
    standardise : bool
        Fit z-scores: each column minus its mean, divided by its standard deviation (ddof 0),
        both over all usable rows (before any sampling). The feature names end in " (z)".

    Returns
    -------
    Prepared
        ``X`` of shape (N, D), float64, finite. Unless standardised, columns whose spread is
        far from 1 are divided by a power of ten (``scale``; the feature name and a note say so).

    Raises
    ------
    DataError
        No column chosen, a text column, no usable rows, fewer than two rows, or a constant
        column.
    """
    columns = list(dict.fromkeys(columns))
    if not columns:
        raise DataError("Pick at least one numeric column to fit.")
    if len(columns) > MAX_GAUSS_COLUMNS:
        raise DataError(
            f"{len(columns)} columns are chosen; a Gaussian mixture here fits at most "
            f"{MAX_GAUSS_COLUMNS} at once. Pick the columns that matter most."
        )
    _require_numeric(table, columns, "in a Gaussian mixture")
    notes: list[str] = []
    n = table.n_rows
    V = np.column_stack([table.numeric[c] for c in columns])
    text = np.column_stack([table.text_cells[c] for c in columns]).any(axis=1)
    missing = np.isnan(V).any(axis=1) & ~text
    infinite = np.isinf(V).any(axis=1) & ~text & ~missing
    bad = text | missing | infinite
    lines = table.line_numbers
    if bad.any():
        reasons = []
        if text.any():
            j = int(np.flatnonzero(text)[0])
            col = next(c for c in columns if table.text_cells[c][j])
            reasons.append(
                (f"with text in a numeric column (line {lines[j]}: '{table.raw[col].iat[j][:30]}')",
                 int(text.sum()), "")
            )
        reasons.append(("with a missing value", int(missing.sum()), _lines(lines, missing)))
        reasons.append(("with an infinite value", int(infinite.sum()), _lines(lines, infinite)))
        notes.append(_drop_sentence(n, reasons))
    X = V[~bad]
    kept_lines = lines[~bad]
    if len(X) == 0:
        raise DataError(
            "No row has a number in every chosen column (cells are empty, text or infinite). "
            "Pick other columns or fill in the numbers, then upload again."
        )
    if len(X) == 1:
        raise DataError(
            "Only one row has a number in every chosen column; a mixture needs many rows. "
            "Pick other columns or fill in the missing numbers."
        )
    for j, c in enumerate(columns):
        if np.ptp(X[:, j]) == 0:
            raise DataError(
                f"Column '{c}' has the same value ({X[0, j]:g}) in every usable row, so it "
                "cannot tell groups apart and its variance is zero. Pick another column."
            )
    n_dup = int(pd.DataFrame(X).duplicated().sum())
    if n_dup:
        notes.append(
            f"{n_dup:,} of {len(X):,} rows repeat an earlier row exactly. They are kept as "
            "separate observations; remove them from the file if they are copies by mistake."
        )
    # Rescale columns whose spread is far from 1 by a power of ten (stated, never silent).
    scale = np.ones(len(columns))
    center = np.zeros(len(columns))
    names = list(columns)
    if standardise:
        X, center, scale = zscores(X)
        names = [f"{c} (z)" for c in columns]
    for j, c in enumerate(columns if not standardise else []):
        m = float(np.max(np.abs(X[:, j])))  # > 0: the column is not constant
        sd = float(np.std(X[:, j] / m)) * m  # no overflow for values near 1e308
        if sd >= 1e6 or sd <= 1e-4:
            p = int(np.floor(np.log10(sd)))
            scale[j] = 10.0**p
            names[j] = f"{c} (×1e{p})"
            notes.append(
                f"Column '{c}' has a standard deviation of {sd:.2g}; it is fitted in units of "
                f"1e{p} (values divided by 1e{p}) so that the numbers stay readable and the "
                "regularisation keeps its meaning."
            )
    if not standardise:
        X = X / scale
    idx = _sample_rows(len(X), min(max_rows, MAX_GAUSS_CELLS // X.shape[1]), "rows", notes)
    if idx is not None:
        X, kept_lines = X[idx], kept_lines[idx]
    return Prepared(
        family="gaussian",
        X=np.ascontiguousarray(X, dtype=np.float64),
        feature_names=names,
        line_numbers=kept_lines,
        n_input=n,
        dropped={
            "text": int(text.sum()),
            "missing": int(missing.sum()),
            "infinite": int(infinite.sum()),
        },
        scale=scale,
        notes=notes,
        center=center,
        standardised=bool(standardise),
    )


def zscores(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(Z, mean, sd)``: z-scores ``Z = (X − mean) / sd`` of the columns of ``X`` (N, D), with
    the column means and standard deviations (ddof 0).

    Each column is first divided by its largest absolute value, so that values near 1e308
    do not overflow and large offsets (years, grams) lose no precision. A constant column
    (sd 0) is refused before this is called.
    """
    X = np.asarray(X, dtype=np.float64)
    m = np.max(np.abs(X), axis=0)
    m = np.where(m > 0, m, 1.0)
    U = X / m
    u_mean = U.mean(axis=0)
    u_sd = np.sqrt(np.mean((U - u_mean) ** 2, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):  # sd 0: NaN z, never fitted
        Z = (U - u_mean) / u_sd
    return Z, u_mean * m, u_sd * m


def check_n_components(X: np.ndarray, n_components: int) -> None:
    """Refuse K larger than the number of distinct points (EM would leave components empty).

    Raises
    ------
    DataError
    """
    X = np.asarray(X)
    distinct = int((~pd.DataFrame(X.reshape(len(X), -1)).duplicated()).sum())
    if distinct < n_components:
        raise DataError(
            f"The data have only {distinct} distinct point(s), fewer than the K = {n_components} "
            f"components asked for. Choose K ≤ {distinct}, or upload more varied data."
        )


# ----------------------------------------------------------------------------------------------
# Count data
# ----------------------------------------------------------------------------------------------


def _count_problems(V: np.ndarray, text: np.ndarray):
    missing = np.isnan(V).any(axis=1) & ~text
    infinite = np.isinf(V).any(axis=1) & ~text & ~missing
    ok = ~(text | missing | infinite)
    with np.errstate(invalid="ignore"):
        negative = ok & (V < 0).any(axis=1)
        fractional = ok & ~negative & (np.floor(V) != V).any(axis=1)
    return text, missing, infinite, negative, fractional


def counts_matrix(
    table: ParsedTable,
    columns: list[str],
    id_column: str | None = None,
    max_cells: int = MAX_FIT_CELLS,
) -> Prepared:
    """Chosen columns as a counts matrix (one row per basket, one column per item).

    Rows with a missing, infinite, negative or fractional count, text in a count column, or
    no items at all are left out and counted.

    Parameters
    ----------
    table : ParsedTable
    columns : list of str
        Count columns (at least two).
    id_column : str or None
        Column naming the rows (basket or customer id), if any.
    max_cells : int
        Beyond ``max_cells / len(columns)`` rows a random sample is used (stated).

    Returns
    -------
    Prepared
        ``X`` int64 of shape (N, V).
    """
    columns = [c for c in dict.fromkeys(columns) if c != id_column]
    if len(columns) < 2:
        raise DataError(
            "A counts matrix needs at least two count columns (one per item or category). "
            "Pick more columns."
        )
    _require_numeric(table, columns, "as counts")
    n = table.n_rows
    V = np.column_stack([table.numeric[c] for c in columns])
    text = np.column_stack([table.text_cells[c] for c in columns]).any(axis=1)
    text, missing, infinite, negative, fractional = _count_problems(V, text)
    bad = text | missing | infinite | negative | fractional
    with np.errstate(invalid="ignore", over="ignore"):
        empty = ~bad & (np.nan_to_num(V).sum(axis=1) == 0)
    bad |= empty
    lines = table.line_numbers
    notes: list[str] = []
    if bad.any():
        notes.append(
            _drop_sentence(
                n,
                [
                    ("with text in a count column", int(text.sum()), _lines(lines, text)),
                    ("with a missing count", int(missing.sum()), _lines(lines, missing)),
                    ("with an infinite count", int(infinite.sum()), _lines(lines, infinite)),
                    ("with a negative count", int(negative.sum()), _lines(lines, negative)),
                    ("with a fractional count", int(fractional.sum()), _lines(lines, fractional)),
                    ("with no items at all", int(empty.sum()), _lines(lines, empty)),
                ],
            )
        )
    if (~bad).sum() == 0:
        raise DataError(
            "No row is a valid basket: counts must be whole numbers ≥ 0 with at least one item "
            "per row. Check that you picked the count columns."
        )
    if (V[~bad] > 2**31).any():
        raise DataError(
            "Some counts are larger than two billion; these are not item counts. Check that "
            "you picked the count columns."
        )
    if (~bad).sum() == 1:
        raise DataError(
            "Only one row is a valid basket; a mixture needs many baskets. Check that you "
            "picked the count columns."
        )
    X = V[~bad].astype(np.int64)
    kept_lines = lines[~bad]
    rows = None
    if id_column is not None and id_column in table.columns:
        rows = table.raw[id_column].to_numpy(dtype=object)[~bad].astype(str).tolist()
    idx = _sample_rows(len(X), max(1000, max_cells // X.shape[1]), "rows", notes)
    if idx is not None:
        X, kept_lines = X[idx], kept_lines[idx]
        rows = [rows[i] for i in idx] if rows else None
    return Prepared(
        family="multinomial",
        X=X,
        feature_names=columns,
        row_names=rows,
        line_numbers=kept_lines,
        n_input=n,
        dropped={
            "text": int(text.sum()),
            "missing": int(missing.sum()),
            "infinite": int(infinite.sum()),
            "negative": int(negative.sum()),
            "fractional": int(fractional.sum()),
            "empty": int(empty.sum()),
        },
        notes=notes,
    )


def long_to_counts(
    table: ParsedTable,
    basket: str,
    item: str,
    quantity: str | None = None,
    max_cells: int = MAX_FIT_CELLS,
    max_items: int = MAX_ITEMS,
) -> Prepared:
    """A long ``basket, item[, quantity]`` table as a basket × item counts matrix.

    Lines with no basket id, no item, or a missing / text / infinite / negative /
    fractional quantity are left out and counted; so are baskets left with no items.

    Returns
    -------
    Prepared
        ``X`` int64 of shape (baskets, items); ``row_names`` are the basket ids and
        ``feature_names`` the items (sorted).
    """
    for c in [basket, item] + ([quantity] if quantity else []):
        if c not in table.columns:
            raise DataError(f"There is no column '{c}' in the file. Pick one of its columns.")
    if len({basket, item, quantity} - {None}) < (3 if quantity else 2):
        raise DataError("Pick different columns for the basket id, the item and the quantity.")
    n = table.n_rows
    lines = table.line_numbers
    b = table.raw[basket].to_numpy(dtype=object).astype(str)
    it = table.raw[item].to_numpy(dtype=object).astype(str)
    no_basket = table.raw[basket].str.lower().isin(_MISSING).to_numpy(dtype=bool)
    no_item = ~no_basket & table.raw[item].str.lower().isin(_MISSING).to_numpy(dtype=bool)
    if quantity:
        _require_numeric(table, [quantity], "as a quantity")
        q = table.numeric[quantity].reshape(-1, 1)
        text, missing, infinite, negative, fractional = _count_problems(q, table.text_cells[quantity].copy())
        for m in (text, missing, infinite, negative, fractional):
            m &= ~(no_basket | no_item)
        q = q[:, 0]
    else:
        text = missing = infinite = negative = fractional = np.zeros(n, dtype=bool)
        q = np.ones(n)
    bad = no_basket | no_item | text | missing | infinite | negative | fractional
    df = pd.DataFrame({"b": b[~bad], "i": it[~bad], "q": q[~bad]})
    notes: list[str] = []
    reasons = [
        ("with no basket id", int(no_basket.sum()), _lines(lines, no_basket)),
        ("with no item", int(no_item.sum()), _lines(lines, no_item)),
        ("with text as quantity", int(text.sum()), _lines(lines, text)),
        ("with a missing quantity", int(missing.sum()), _lines(lines, missing)),
        ("with an infinite quantity", int(infinite.sum()), _lines(lines, infinite)),
        ("with a negative quantity", int(negative.sum()), _lines(lines, negative)),
        ("with a fractional quantity", int(fractional.sum()), _lines(lines, fractional)),
    ]
    if bad.any():
        notes.append(_drop_sentence(n, reasons, unit="lines"))
    if df.empty:
        raise DataError(
            "No line has a basket id, an item and a whole, non-negative quantity. Check the "
            "columns you picked for basket, item and quantity."
        )
    totals = df.groupby("i")["q"].sum().sort_values(ascending=False, kind="stable")
    if len(totals) > max_items:
        kept = totals.index[:max_items]
        share = 1 - totals.iloc[:max_items].sum() / max(totals.sum(), 1)
        notes.append(
            f"There are {len(totals):,} distinct items; the {max_items} most frequent are kept "
            f"and the other {len(totals) - max_items:,} ({share:.1%} of all items bought) are "
            "left out."
        )
        df = df[df["i"].isin(kept)]
    counts = df.groupby(["b", "i"])["q"].sum()
    if (counts > 2**31).any():
        raise DataError(
            "Some quantities add up to more than two billion in one basket; these are not item "
            "counts. Check the quantity column."
        )
    mat = counts.unstack(fill_value=0).sort_index(axis=1)
    n_baskets_all = int(pd.Series(b[~no_basket]).nunique())
    nonempty = mat.sum(axis=1) > 0
    n_empty = n_baskets_all - int(nonempty.sum())
    mat = mat[nonempty]
    if n_empty:
        notes.append(
            f"{n_empty:,} of {n_baskets_all:,} baskets had no items left (all quantities 0 "
            "or every line left out) and were left out."
        )
    if mat.shape[0] == 0:
        raise DataError(
            "Every basket is empty (all quantities are 0). Check the quantity column."
        )
    if mat.shape[1] < 2:
        raise DataError(
            f"Only one distinct item ('{mat.columns[0][:40]}') is left; a mixture of "
            "multinomials needs at least two kinds of item. Check the item column."
        )
    if mat.shape[0] < 2:
        raise DataError(
            "Only one basket is left; a mixture needs many baskets. Check the basket id column."
        )
    X = mat.to_numpy(dtype=np.int64)
    rows = [str(r) for r in mat.index]
    idx = _sample_rows(len(X), max(1000, max_cells // X.shape[1]), "baskets", notes)
    if idx is not None:
        X, rows = X[idx], [rows[i] for i in idx]
    return Prepared(
        family="multinomial",
        X=X,
        feature_names=[str(c) for c in mat.columns],
        row_names=rows,
        n_input=n,
        dropped={
            "no_basket": int(no_basket.sum()),
            "no_item": int(no_item.sum()),
            "text": int(text.sum()),
            "missing": int(missing.sum()),
            "infinite": int(infinite.sum()),
            "negative": int(negative.sum()),
            "fractional": int(fractional.sum()),
            "empty_baskets": n_empty,
        },
        notes=notes,
    )


# ----------------------------------------------------------------------------------------------
# Which model?
# ----------------------------------------------------------------------------------------------

_BASKET_NAMES = re.compile(r"basket|order|transaction|receipt|invoice|trip|customer|household|id", re.I)
_ITEM_NAMES = re.compile(r"item|product|category|commodity|sku|department|brand|article|good", re.I)
_QTY_NAMES = re.compile(r"quant|qty|count|units|amount|^n$|number", re.I)
_ID_NAMES = re.compile(r"^(id|index|row|rownames|row ?id|unnamed: ?0|#|no\.?)$", re.I)
#: "customer_id", "Passenger Id", "sample.ID", "PassengerId", "idx": a name that says id
_ID_SUFFIX = re.compile(r"(^|[\s_.\-])(id|idx|key)$|^(id|idx)[\s_.\-]", re.I)
_CAMEL_ID = re.compile(r"(?<=[a-z])I[dD]$")  # case-sensitive: "PassengerId", not "acid"
_YEAR_NAMES = re.compile(r"(^|[^a-z])(year|yr|yyyy|jahr|annee|année|año)s?([^a-z]|$)", re.I)
#: whole numbers in this range, with few distinct values, read as calendar years
YEAR_RANGE = (1800, 2100)
#: scales (standard deviations) differing by more than this factor: standardise by default
STANDARDISE_RATIO = 10.0


def _whole(v: np.ndarray) -> np.ndarray:
    """The finite values of ``v`` if they are all whole numbers (and there are at least 3)."""
    f = v[np.isfinite(v)]
    return f if len(f) >= 3 and bool((np.floor(f) == f).all()) else np.empty(0)


def left_out_reason(table: ParsedTable, c: str) -> str | None:
    """Why a numeric column is not proposed for fitting, or None if it is.

    Left out by default (the learner can still pick them):

    * row numbers: whole numbers counting up by one, n, n+1, n+2, … in file order;
    * ids: a name such as ``id``, ``index``, ``customer_id`` or ``PassengerId`` over whole
      numbers, all different;
    * years: whole numbers within ``YEAR_RANGE`` named like a year (``year``, ``yr``…), or
      with at most 30 distinct values (a survey wave, not a measurement).

    A year or an id is a label, not a measurement: a mixture over it would group the rows
    by when or in which order they were recorded.
    """
    v = table.numeric.get(c)
    name = str(c).strip()
    if v is None:
        return None
    if _ID_NAMES.match(name):
        return "its name marks row numbers or ids"
    w = _whole(v)
    if len(w) == 0:
        return None
    distinct = np.unique(w)
    all_different = len(distinct) == len(w)
    if bool((np.diff(w) == 1).all()):
        return f"row numbers {int(w[0]):,}, {int(w[1]):,}, …, {int(w[-1]):,}"
    if all_different and (_ID_SUFFIX.search(name) or _CAMEL_ID.search(name)):
        return "an id: whole numbers, each different"
    lo, hi = YEAR_RANGE
    if distinct[0] >= lo and distinct[-1] <= hi and (_YEAR_NAMES.search(name) or len(distinct) <= 30):
        span = f"{int(distinct[0])}" if len(distinct) == 1 else f"{int(distinct[0])}–{int(distinct[-1])}"
        return f"calendar years {span}"
    return None


def _is_id_column(table: ParsedTable, c: str) -> bool:
    """Row numbers, ids or years, which should not be fitted by default."""
    return left_out_reason(table, c) is not None


def column_spreads(table: ParsedTable, columns: list[str]) -> dict[str, float]:
    """Standard deviation (ddof 0) of each numeric column over its finite values (NaN if none)."""
    out = {}
    for c in columns:
        v = table.numeric[c]
        f = v[np.isfinite(v)]
        out[c] = float(zscores(f[:, None])[2][0]) if len(f) else float("nan")
    return out


def scale_ratio(table: ParsedTable, columns: list[str]) -> float:
    """Largest over smallest positive standard deviation among ``columns`` (1 for < 2 columns)."""
    sd = np.array([s for s in column_spreads(table, columns).values() if np.isfinite(s) and s > 0])
    return float(sd.max() / sd.min()) if len(sd) >= 2 else 1.0


# ----------------------------------------------------------------------------------------------
# 0/1 data
# ----------------------------------------------------------------------------------------------


def _binary_column(v: np.ndarray) -> bool:
    """Every finite value is 0 or 1, and there is at least one."""
    v = v[np.isfinite(v)]
    return len(v) > 0 and bool(np.all((v == 0) | (v == 1)))


def binary_matrix(table: ParsedTable, columns: list[str], max_rows: int = MAX_FIT_ROWS) -> Prepared:
    """Chosen 0/1 columns as a binary matrix for a mixture of Bernoullis.

    Rows with text, a missing or infinite value, or a value other than 0 and 1 in a chosen
    column are left out and counted.

    Returns
    -------
    Prepared
        ``X`` uint8 of shape (N, D), ``family="bernoulli"``.
    """
    columns = list(dict.fromkeys(columns))
    if len(columns) < 2:
        raise DataError("A mixture of Bernoullis needs at least two 0/1 columns. Pick more columns.")
    _require_numeric(table, columns, "as 0/1 answers")
    n = table.n_rows
    V = np.column_stack([table.numeric[c] for c in columns])
    text = np.column_stack([table.text_cells[c] for c in columns]).any(axis=1)
    missing = np.isnan(V).any(axis=1) & ~text
    infinite = np.isinf(V).any(axis=1) & ~text & ~missing
    ok = ~(text | missing | infinite)
    with np.errstate(invalid="ignore"):
        other = ok & ~((V == 0) | (V == 1)).all(axis=1)
    bad = ~ok | other
    lines = table.line_numbers
    notes: list[str] = []
    if bad.any():
        notes.append(_drop_sentence(n, [
            ("with text in a chosen column", int(text.sum()), _lines(lines, text)),
            ("with a missing value", int(missing.sum()), _lines(lines, missing)),
            ("with an infinite value", int(infinite.sum()), _lines(lines, infinite)),
            ("with a value other than 0 and 1", int(other.sum()), _lines(lines, other)),
        ]))
    if (~bad).sum() < 2:
        raise DataError(
            "Fewer than two rows hold only 0s and 1s in the chosen columns; a mixture of "
            "Bernoullis needs 0/1 answers. Check that you picked the yes/no columns."
        )
    X = V[~bad].astype(np.uint8)
    kept_lines = lines[~bad]
    idx = _sample_rows(len(X), max_rows, "rows", notes)
    if idx is not None:
        X, kept_lines = X[idx], kept_lines[idx]
    return Prepared(
        family="bernoulli", X=X, feature_names=columns, line_numbers=kept_lines, n_input=n,
        dropped={"text": int(text.sum()), "missing": int(missing.sum()),
                 "infinite": int(infinite.sum()), "not 0/1": int(other.sum())},
        notes=notes,
    )


def _integer_counts(v: np.ndarray) -> bool:
    """Mostly (≥ 90 %) whole numbers ≥ 0: a count column, the odd bad cell aside."""
    v = v[np.isfinite(v)]
    return len(v) > 0 and bool(np.mean((v >= 0) & (np.floor(v) == v)) >= 0.9)


def propose_model(table: ParsedTable) -> Proposal:
    """Guess the model for an upload (see ``_propose``), and say which numeric columns are
    left out of the proposal and why (``left_out_reason``), and whether the proposed Gaussian
    columns are on scales so different (more than ``STANDARDISE_RATIO``) that standardising
    them is advised.

    Raises
    ------
    DataError
        When no column holds numbers and the table is not a basket list.
    """
    left_out = {c: r for c in table.numeric_columns if (r := left_out_reason(table, c))}
    proposal = _propose(table, [c for c in table.numeric_columns if c not in left_out])
    proposal.left_out = {c: r for c, r in left_out.items() if c not in proposal.columns}
    if proposal.model in ("gmm", "gmm1d"):
        proposal.scale_ratio = scale_ratio(table, proposal.columns)
        proposal.standardise = proposal.scale_ratio > STANDARDISE_RATIO
    return proposal


def _propose(table: ParsedTable, numeric: list[str]) -> Proposal:
    """Guess the model for an upload from its columns; ``numeric`` are the numeric columns
    that are not row numbers, ids or years.

    One numeric column -> 1-D GMM; two or more columns of only 0s and 1s -> mixture of
    Bernoullis; a long basket list (an id column that repeats, a text
    item column, an optional whole-number quantity) -> multinomial from the long table;
    three or more columns of whole numbers ≥ 0 with many zeros -> multinomial on the counts
    matrix; otherwise two or more numeric columns -> GMM.

    Raises
    ------
    DataError
        When no column holds numbers and the table is not a basket list.
    """
    cols = table.columns
    texts = table.text_columns

    if 2 <= len(cols) <= 3 and texts:
        item = next((c for c in texts if _ITEM_NAMES.search(c)), None)
        others = [c for c in cols if c != (item or texts[-1])]
        item = item or texts[-1]
        basket = next((c for c in others if _BASKET_NAMES.search(c)), others[0])
        rest = [c for c in cols if c not in (basket, item)]
        qty = rest[0] if rest else None
        repeats = table.raw[basket].nunique() < table.n_rows
        qty_ok = qty is None or qty in table.numeric
        if repeats and qty_ok:
            return Proposal(
                "long", [], basket=basket, item=item, quantity=qty,
                reason=(
                    f"'{basket}' repeats across lines and '{item}' holds item names, so this "
                    "looks like a basket list: each basket becomes a row of item counts."
                ),
            )
    if len(numeric) >= 2 and all(_binary_column(table.numeric[c]) for c in numeric):
        return Proposal(
            "binary", numeric,
            reason=(
                f"{len(numeric)} columns hold only 0s and 1s, so this looks like yes/no answers "
                "(one row per case): a mixture of Bernoullis."
            ),
        )
    if len(numeric) >= 3 and all(_integer_counts(table.numeric[c]) for c in numeric):
        V = np.column_stack([table.numeric[c] for c in numeric])
        if np.nanmean(V == 0) >= 0.2:
            return Proposal(
                "counts", numeric,
                reason=(
                    f"{len(numeric)} columns hold whole numbers ≥ 0 with many zeros, so this "
                    "looks like a counts matrix (one row per basket, one column per item)."
                ),
            )
    if len(numeric) == 1:
        return Proposal("gmm1d", numeric, reason=f"One numeric column ('{numeric[0]}'): a 1-D Gaussian mixture.")
    if len(numeric) > MAX_GAUSS_COLUMNS:
        return Proposal(
            "gmm", numeric[:MAX_GAUSS_COLUMNS],
            reason=(
                f"{len(numeric)} numeric columns: a Gaussian mixture, proposed on the first "
                f"{MAX_GAUSS_COLUMNS} (the most it fits at once); change the selection below."
            ),
        )
    if len(numeric) >= 2:
        return Proposal(
            "gmm", numeric,
            reason=f"{len(numeric)} numeric columns: a Gaussian mixture fitted in all of them.",
        )
    if table.numeric_columns:  # only id-like numeric columns: still offer them
        c = table.numeric_columns
        return Proposal("gmm1d" if len(c) == 1 else "gmm", c, reason="Numeric columns found.")
    raise DataError(
        "No column holds numbers, and the table is not a basket list (basket id, item"
        "[, quantity]). Upload numeric columns, a counts matrix, or a basket list."
    )


def prepare(
    table: ParsedTable,
    model: str,
    columns: list[str] | None = None,
    basket: str | None = None,
    item: str | None = None,
    quantity: str | None = None,
    standardise: bool = False,
) -> Prepared:
    """Dispatch to the preparation of ``model`` (a key of ``MODELS``).

    ``gmm1d`` uses the first of ``columns``; ``gmm`` and ``counts`` use all of them;
    ``long`` uses ``basket``, ``item`` and the optional ``quantity``. ``standardise``
    (Gaussian models only) fits z-scores, see ``gaussian_matrix``.
    """
    columns = list(columns or [])
    if model == "gmm1d":
        if not columns:
            raise DataError("Pick one numeric column to fit.")
        return gaussian_matrix(table, columns[:1], standardise=standardise)
    if model == "gmm":
        if len(columns) < 2:
            raise DataError(
                "A Gaussian mixture in several dimensions needs at least two numeric columns. "
                "Pick more columns, or choose the 1-D model."
            )
        return gaussian_matrix(table, columns, standardise=standardise)
    if model == "counts":
        return counts_matrix(table, columns)
    if model == "binary":
        return binary_matrix(table, columns)
    if model == "long":
        if not basket or not item:
            raise DataError("Pick the basket id column and the item column.")
        return long_to_counts(table, basket, item, quantity)
    raise ValueError(f"unknown model {model!r}")
