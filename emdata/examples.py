"""Example tables for the "Your data" page: one click loads one as if it were uploaded (the
same bytes go through the same parser), and each can be downloaded as a CSV file."""

from __future__ import annotations

import numpy as np

from emdata.datasets import load_dataset
from emdata.export import safe_csv

__all__ = ["EXAMPLES", "EXAMPLE_DESCRIPTIONS", "example_csv"]

#: key -> (short label, file name); in the order the page offers them
EXAMPLES = {
    "faithful": ("Old Faithful", "old_faithful.csv"),
    "penguins": ("Penguins", "penguins.csv"),
    "survey": ("0/1 survey", "values_survey.csv"),
    "baskets": ("Baskets", "baskets.csv"),
}

#: key -> one sentence on what the example is and which model it leads to
EXAMPLE_DESCRIPTIONS = {
    "faithful": "Old Faithful: 272 eruptions, their length and the wait to the next one, in "
                "minutes — two numeric columns, a 2-D Gaussian mixture.",
    "penguins": "Palmer penguins, the full table: 344 birds, species, island, bill and "
                "flipper lengths (mm), body mass (g), sex and year — text columns, a year and "
                "scales from millimetres to grams.",
    "survey": "Goodman's values survey: 216 respondents' yes/no answers to four items — "
              "0/1 columns, a mixture of Bernoullis.",
    "baskets": "Synthetic shopping baskets as a list of (basket, item, quantity) lines — a "
               "mixture of multinomials.",
}

#: Goodman's (1974) "values" survey, as tabulated in poLCA's ``values`` data: counts of the 16
#: answer patterns over items A, B, C, D (1 = the universalistic answer), from 1111 down to
#: 0000 in binary order; 216 respondents.
GOODMAN_VALUES_COUNTS = (42, 23, 6, 25, 6, 24, 7, 38, 1, 4, 1, 6, 2, 9, 2, 20)


def goodman_values() -> np.ndarray:
    """The 216 × 4 0/1 matrix of Goodman's "values" survey (items A, B, C, D)."""
    rows = []
    for j, count in enumerate(GOODMAN_VALUES_COUNTS):
        code = 15 - j
        rows += [[(code >> (3 - d)) & 1 for d in range(4)]] * count
    return np.array(rows, dtype=np.int64)


def example_csv(key: str) -> bytes:
    """The bytes of an example file.

    ``"faithful"``: Old Faithful's two columns; ``"penguins"``: the whole palmerpenguins
    table (8 columns, missing values as ``NA``); ``"baskets"``: the synthetic baskets as a long
    table, one line per (basket, item) with its quantity; ``"survey"``: Goodman's four yes/no
    items (A, B, C, D) for 216 respondents, one row each.
    """
    if key == "penguins":
        import palmerpenguins

        return palmerpenguins.load_penguins().to_csv(index=False, na_rep="NA").encode("utf-8")
    if key == "faithful":
        d = load_dataset("faithful")
        return safe_csv(d.X, columns=["eruption_min", "waiting_min"])
    if key == "baskets":
        d = load_dataset("synthetic_baskets")
        b, v = np.nonzero(d.X)
        return safe_csv(
            {"basket_id": b + 1, "item": np.asarray(d.feature_names)[v], "quantity": d.X[b, v]}
        )
    if key == "survey":
        return safe_csv(goodman_values(), columns=["A", "B", "C", "D"])
    raise KeyError(f"unknown example {key!r}; choose one of {sorted(EXAMPLES)}")
