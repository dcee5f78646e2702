"""Refresh the README screenshots from the browser tests' full-page shots.

The browser tests (``make test``, or ``pytest tests/browser``) save full-height PNGs of every
page in ``artifacts/screenshots/``. This script copies the ones the README shows into
``docs/screenshots/``, whole pages at most 1280 px wide, reduced to a 256-colour palette
and optimised so that each file stays under 400 KB. ``home.png``, ``house_prices.png`` and
``derivations.png`` are made by hand by the owners of those pages (the house-prices shot sits
at an E-step, with one house's numbers; the derivations shot is the genetic-linkage section at
its first M-step), so they are not listed here.

Run: ``.venv/bin/python docs/screenshots/refresh.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "artifacts" / "screenshots"
TARGET = Path(__file__).resolve().parent
MAX_WIDTH = 1280
MAX_BYTES = 400 * 1024

#: README name -> (test screenshot, top and bottom of the crop in px of the full shot;
#: None = the whole height)
SHOTS = {
    "blobs_2d": ("blobs_2d", 0, None),
    "baskets": ("baskets", 0, None),
    "why_em_works": ("why_em_works", 0, None),
    "digits": ("digits", 0, None),
    "your_data": ("your_data_penguins", 0, None),
}


def optimise(img: Image.Image, path: Path) -> tuple[int, int, int]:
    """Save ``img`` as a palette PNG under ``MAX_BYTES``, shrinking it if needed.

    Returns (bytes, width, height) of the saved file."""
    img = img.convert("RGB")
    while True:
        if img.width > MAX_WIDTH:
            img = img.resize((MAX_WIDTH, round(img.height * MAX_WIDTH / img.width)),
                             Image.LANCZOS)
        pal = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                           dither=Image.Dither.NONE)
        pal.save(path, optimize=True)
        size = path.stat().st_size
        if size <= MAX_BYTES:
            return size, pal.width, pal.height
        img = img.resize((round(img.width * 0.9), round(img.height * 0.9)), Image.LANCZOS)


def main() -> int:
    missing = []
    for name, (shot, top, bottom) in SHOTS.items():
        src = SOURCE / f"{shot}.png"
        if not src.exists():
            missing.append(src.name)
            continue
        img = Image.open(src)
        img = img.crop((0, top, img.width, min(bottom or img.height, img.height)))
        size, w, h = optimise(img, TARGET / f"{name}.png")
        print(f"{name}.png  {w}×{h}  {size / 1024:.0f} KB")
    if missing:
        print("not found (run the browser tests first):", ", ".join(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
