"""The 8×8 handwritten digits, shipped with the app (no scikit-learn needed at run time).

``emdata/data/digits8x8.npz`` holds the 1,797 images of scikit-learn's
``sklearn.datasets.load_digits`` (generated once from it; a dev test checks that the file still
equals it): ``images`` (1797, 64) uint8 grey levels 0…16, row by row, and ``labels`` (1797,)
the digit 0…9 each image shows.

Source: "Optical Recognition of Handwritten Digits" (optdigits), E. Alpaydin and C. Kaynak,
UCI Machine Learning Repository (1998), the test part of the preprocessed 8×8 version: 32×32
bitmaps by 43 writers, counted in non-overlapping 4×4 blocks. Licence: CC BY 4.0.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["DIGITS_FILE", "DIGITS_SOURCE", "DIGITS_LICENCE", "DigitsSubset", "load_digits8x8",
           "digits_subset"]

DIGITS_FILE = Path(__file__).with_name("data") / "digits8x8.npz"
DIGITS_SOURCE = ("UCI Machine Learning Repository, 'Optical Recognition of Handwritten Digits' "
                 "(E. Alpaydin, C. Kaynak, 1998), as bundled by scikit-learn (load_digits)")
DIGITS_LICENCE = "CC BY 4.0"
SIDE = 8
MAX_LEVEL = 16


@functools.lru_cache(maxsize=1)
def load_digits8x8() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 images (N, 64) uint8 in 0…16 and their labels (N,) uint8, read-only."""
    with np.load(DIGITS_FILE, allow_pickle=False) as f:
        images = np.array(f["images"], dtype=np.uint8)
        labels = np.array(f["labels"], dtype=np.uint8)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


@dataclass(frozen=True)
class DigitsSubset:
    """Binarised images of some digit classes, ready for a Bernoulli mixture.

    Attributes
    ----------
    X : ndarray (N, 64) uint8
        1 where the grey level is ≥ ``threshold``, else 0.
    labels : ndarray (N,) int
        The digit each row shows.
    grey : ndarray (N, 64) uint8
        The original grey levels 0…16.
    classes : tuple of int
    threshold : int
    """

    X: np.ndarray
    labels: np.ndarray
    grey: np.ndarray
    classes: tuple
    threshold: int
    source: str = DIGITS_SOURCE
    licence: str = DIGITS_LICENCE
    extra: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        counts = ", ".join(f"{int((self.labels == c).sum())} × '{c}'" for c in self.classes)
        return (f"{len(self.labels):,} handwritten digits ({counts}), 8×8 pixels each; a pixel is "
                f"1 (ink) when its grey level is at least {self.threshold} of {MAX_LEVEL}.")


@functools.lru_cache(maxsize=16)
def _subset(classes: tuple, threshold: int) -> DigitsSubset:
    images, labels = load_digits8x8()
    keep = np.isin(labels, np.array(classes))
    grey = images[keep]
    X = (grey >= threshold).astype(np.uint8)
    lab = labels[keep].astype(int)
    for a in (X, lab, grey):
        a.flags.writeable = False
    return DigitsSubset(X, lab, grey, classes, threshold)


def digits_subset(classes=(2, 3, 4), threshold=8) -> DigitsSubset:
    """The images of the given digit classes, binarised at ``threshold`` (1…16).

    Raises ``ValueError`` for an empty or invalid class list or a threshold outside 1…16.
    """
    cls = tuple(sorted({int(c) for c in classes}))
    if not cls or any(c < 0 or c > 9 for c in cls):
        raise ValueError("choose at least one digit class among 0…9")
    t = int(threshold)
    if not 1 <= t <= MAX_LEVEL:
        raise ValueError(f"the threshold must be between 1 and {MAX_LEVEL}")
    return _subset(cls, t)
