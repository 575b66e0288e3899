"""Evidence images: a content-addressed store of crops and keyframes, and the one lookup the API
and the web view serve images through.

A key is ``ab/<sha256>.jpg`` or ``ab/<sha256>.png``: the hex SHA-256 of the image's bytes under
its first two digits, with the suffix of the format the bytes decode as. Only JPEG and PNG images
that decode whole get in, and only a file of the store named by a well-formed key is ever served:
an observation cannot point at any other file.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

from PIL import Image, JpegImagePlugin, PngImagePlugin

from service.settings import Settings
from vision import Observation

KEY = re.compile(r"^(?P<prefix>[0-9a-f]{2})/(?P=prefix)[0-9a-f]{62}\.(?:jpg|png)$")
"""A well-formed store key (the folder is the digest's first two digits)."""
SUFFIXES = {"JPEG": ".jpg", "PNG": ".png"}
DECODERS = {b"\xff\xd8\xff": JpegImagePlugin.JpegImageFile, b"\x89PNG\r\n\x1a\n": PngImagePlugin.PngImageFile}
"""Leading bytes of each accepted format, and its decoder."""
MEDIA_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}
IMAGE_HEADERS = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
"""Headers of every evidence image served: cached by the browser only (the image never changes), never sniffed."""
MAX_PIXELS = 64_000_000
"""The largest image (width x height) accepted: well above an 8K frame."""


class EvidenceError(ValueError):
    """Bytes that are not a whole JPEG or PNG image the store accepts."""


def is_key(value: object) -> bool:
    """True for a well-formed store key."""
    return isinstance(value, str) and KEY.match(value) is not None


def image_suffix(data: bytes) -> str:
    """``.jpg`` or ``.png`` when ``data`` is a whole JPEG or PNG image of at most MAX_PIXELS
    (it is decoded to make sure); EvidenceError saying why otherwise.

    The format is told from the leading bytes and read with that format's own decoder
    (``Image.open`` would try every format, and others may patch it to fetch more)."""
    decoder = next((d for magic, d in DECODERS.items() if data.startswith(magic)), None)
    if decoder is None:
        raise EvidenceError("not a JPEG or PNG image: send JPEG or PNG")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with decoder(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise EvidenceError(f"{width}x{height} pixels: the most is {MAX_PIXELS:,} pixels")
                image.load()
                return SUFFIXES[str(image.format)]
    except EvidenceError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise EvidenceError(f"not a readable JPEG or PNG image ({exc})") from None


def store_bytes(root: Path, data: bytes) -> str:
    """Put an image into the store at ``root`` (EvidenceError unless ``image_suffix`` accepts it);
    returns its key. Storing the same bytes again changes nothing but the file's modification time."""
    suffix = image_suffix(data)
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest}{suffix}"
    target = root / key
    if target.is_file():
        os.utime(target)  # stored anew: the cleanup's grace for files nothing names yet starts again
        return key
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(partial, 0o644)
    os.replace(partial, target)
    return key


def store(root: Path, source: Path) -> str:
    """Put the image file ``source`` into the store at ``root`` (see ``store_bytes``); its key."""
    return store_bytes(root, source.read_bytes())


def with_evidence(observation: Observation, work: Path, root: Path, move: bool = False) -> Observation:
    """The observation with its ``crop`` and ``keyframe`` (paths relative to ``work``) put into the
    store at ``root`` and named by their keys; ``move`` deletes the files from ``work`` then."""

    def stored(name: str | None) -> str | None:
        if not name:
            return None
        key = store(root, work / name)
        if move:
            (work / name).unlink()
        return key

    return replace(observation, crop=stored(observation.crop), keyframe=stored(observation.keyframe))


def stored_file(root: Path, key: str) -> Path | None:
    """The image of ``key`` in the store at ``root``, or None when ``key`` is not a well-formed key,
    the file is missing, or anything on the way is a link (the store never makes one)."""
    if not is_key(key):
        return None
    path = root.resolve() / key
    if path.resolve() != path or not path.is_file():
        return None
    return path


def evidence_file(settings: Settings, key: str) -> Path | None:
    """The image of ``key`` in the service's evidence store (see ``stored_file``)."""
    return stored_file(settings.evidence_dir, key)
