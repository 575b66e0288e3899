"""Images the tests read from disk."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def read_image(path: Path | str | None) -> np.ndarray:
    """The (H, W, 3) BGR uint8 image at ``path``; FileNotFoundError when there is none (None: no path)
    or OpenCV cannot read it."""
    image = cv2.imread(str(path)) if path is not None else None
    if image is None:
        raise FileNotFoundError(f"no readable image at {path}")
    return np.asarray(image)
