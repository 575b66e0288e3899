"""Evidence images: a content-addressed store of crops and keyframes, and the one lookup the API
and the web view serve images through.

A key is ``ab/<sha256>.jpg`` or ``ab/<sha256>.png``: the hex SHA-256 of the image's bytes under
its first two digits, with the suffix of the format the bytes decode as. Only JPEG and PNG images
that decode whole get in, and only an object of the store named by a well-formed key is ever
served: an observation cannot point at any other file. The store is a local folder or an
S3-compatible bucket (``service.storage``).
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import replace
from pathlib import Path

from PIL import Image, JpegImagePlugin, PngImagePlugin

from service.settings import Settings
from service.storage import ObjectStore, open_store
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


def evidence_store(settings: Settings) -> ObjectStore:
    """The service's evidence store: the folder ``evidence_dir``, or the bucket ``evidence_url`` names."""
    return open_store(settings.evidence_url, settings.evidence_dir, settings)


def store_bytes(store: ObjectStore, data: bytes) -> str:
    """Put an image into ``store`` (EvidenceError unless ``image_suffix`` accepts it); returns its
    key. Storing the same bytes again writes them again under the same key: the object counts as new
    for the cleanup's grace for objects nothing names yet."""
    suffix = image_suffix(data)
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest}{suffix}"
    store.put_bytes(key, data, MEDIA_TYPES[suffix])
    return key


def with_evidence(observation: Observation, work: Path, store: ObjectStore, move: bool = False) -> Observation:
    """The observation with its ``crop`` and ``keyframe`` (paths relative to ``work``) put into
    ``store`` and named by their keys; ``move`` deletes the files from ``work`` then."""

    def stored(name: str | None) -> str | None:
        if not name:
            return None
        key = store_bytes(store, (work / name).read_bytes())
        if move:
            (work / name).unlink()
        return key

    return replace(observation, crop=stored(observation.crop), keyframe=stored(observation.keyframe))


def read_image(store: ObjectStore, key: str) -> bytes | None:
    """The image of ``key`` in ``store``, or None when ``key`` is not a well-formed key or the image
    is missing."""
    return store.read(key) if is_key(key) else None


def has_image(store: ObjectStore, key: str) -> bool:
    """Whether ``key`` is a well-formed key of an image in ``store``."""
    return is_key(key) and store.exists(key)
