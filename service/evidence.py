"""Evidence images: a content-addressed store (crops and keyframes by the SHA-256 of their bytes)
and the one path-safe lookup the API and the web view serve images through."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from service.settings import Settings


def store(root: Path, source: Path) -> str:
    """Copy the file ``source`` into the store at ``root``; returns its key ``ab/abcdef….jpg``
    (the hex SHA-256 of the bytes, under its first two digits, with the source's suffix).
    Storing the same bytes again changes nothing."""
    data = source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest}{source.suffix.lower()}"
    target = root / key
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(partial, target)
    return key


def evidence_file(settings: Settings, relative: str) -> Path | None:
    """The image at ``relative``: a key of the evidence store, else a path under the data folder
    (where scanners that post observations themselves put their crops). None when it lies outside
    both folders or does not exist."""
    for root in (settings.evidence_dir, settings.data_dir):
        base = root.resolve()
        path = (base / relative).resolve()
        if path.is_relative_to(base) and path.is_file():
            return path
    return None
