"""CSV exports that stay inert when opened in a spreadsheet (formula injection neutralised)."""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd

__all__ = ["safe_csv", "neutralise_cell"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value):
    """Return ``value`` made inert for spreadsheets.

    A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
    prefixed with a single quote (OWASP's advice), unless the whole cell is a plain number
    such as ``-1.5``, which a spreadsheet reads as that number.  Non-text values (numbers,
    booleans, missing values) are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(_TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_csv(data, columns=None, index: bool = False) -> bytes:
    """Encode a table as UTF-8 CSV bytes with every text cell and header neutralised.

    Parameters
    ----------
    data : DataFrame, ndarray of shape (N, C), or dict of column -> sequence
        The table. Numeric columns stay numeric (written as numbers, never prefixed).
    columns : list of str or None
        Column names (required for an ndarray unless you want 0..C-1); for a DataFrame they
        select and order columns.
    index : bool
        Write the DataFrame index as the first column (neutralised too).

    Returns
    -------
    bytes
        UTF-8 CSV, comma-separated, with a header row; text cells are always quoted (so a
        tab or carriage return inside a cell cannot break a row), numbers never are.
    """
    if isinstance(data, pd.DataFrame):
        df = data if columns is None else data[list(columns)]
    elif isinstance(data, dict):
        df = pd.DataFrame(data, columns=columns)
    else:
        arr = np.asarray(data)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        df = pd.DataFrame(arr, columns=columns)
    df = df.copy()
    for c in df.columns:
        if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])):
            df[c] = df[c].map(neutralise_cell).astype(object)
    df.columns = [neutralise_cell(str(c)) for c in df.columns]
    if index:
        df.index = [neutralise_cell(str(i)) for i in df.index]
        df.index.name = neutralise_cell(str(df.index.name)) if df.index.name else None
    return df.to_csv(index=index, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC).encode("utf-8")
