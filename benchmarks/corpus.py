"""The shared QR corpus (``shared/qr-corpus``): expected texts and negatives, read one way for the
benchmark and the tests."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_ROOT = Path(__file__).parents[2] / "shared" / "qr-corpus"


def read_corpus(root: Path = DEFAULT_ROOT) -> tuple[dict[str, set[str]], list[str]]:
    """(image path -> accepted texts, paths of images with no code)."""
    expected: dict[str, set[str]] = {}
    with (root / "index.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            expected.setdefault(row["path"], set()).add(row["expected_text"])
    with (root / "negatives.csv").open(encoding="utf-8", newline="") as handle:
        negatives = [row["path"] for row in csv.DictReader(handle)]
    return expected, negatives


def load_gray(root: Path, path: str) -> np.ndarray:
    """An image as 8-bit grayscale (Pillow: OpenCV cannot open the corpus's 1x1 WebP files)."""
    return np.asarray(Image.open(root / path).convert("L"))
