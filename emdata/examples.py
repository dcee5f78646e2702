"""Example CSV files a learner can download from the "Your data" page and upload again."""

from __future__ import annotations

import numpy as np

from emdata.datasets import load_dataset
from emdata.export import safe_csv

__all__ = ["EXAMPLES", "example_csv"]

#: key -> (button label, file name)
EXAMPLES = {
    "faithful": ("Old Faithful (2 numeric columns)", "old_faithful.csv"),
    "baskets": ("Shopping baskets (a basket list)", "baskets.csv"),
}


def example_csv(key: str) -> bytes:
    """The bytes of an example file.

    ``"faithful"``: Old Faithful's two columns; ``"baskets"``: the synthetic baskets as a long
    table, one line per (basket, item) with its quantity.
    """
    if key == "faithful":
        d = load_dataset("faithful")
        return safe_csv(d.X, columns=["eruption_min", "waiting_min"])
    if key == "baskets":
        d = load_dataset("synthetic_baskets")
        b, v = np.nonzero(d.X)
        return safe_csv(
            {"basket_id": b + 1, "item": np.asarray(d.feature_names)[v], "quantity": d.X[b, v]}
        )
    raise KeyError(f"unknown example {key!r}; choose one of {sorted(EXAMPLES)}")
