"""Evidence images for other systems: links signed with the server's secret that stop working at an
expiry time, and the one function that reads the image such a link serves (``media_image``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from service.evidence import read_image
from service.privacy import blurred_key
from service.storage import ObjectStore

_PURPOSE = b"streetscan media link"
"""Mixed into the server secret so a media signature signs nothing else (cookies use the secret too)."""


def media_signature(secret: bytes, key: str, expires: int) -> str:
    """Hex HMAC-SHA256 of an evidence ``key`` and its expiry (Unix seconds) under ``secret``."""
    link_key = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()
    return hmac.new(link_key, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()


def media_path(secret: bytes, key: str, now: datetime, ttl_s: int) -> str:
    """The signed path of an evidence image, valid ``ttl_s`` seconds from ``now``."""
    expires = int(now.timestamp()) + ttl_s
    return f"/open311/v2/media/{key}?expires={expires}&signature={media_signature(secret, key, expires)}"


def media_url(base: str, secret: bytes, now: datetime, ttl_s: int) -> Callable[[str], str]:
    """Evidence key -> its signed link on the server at ``base`` (root URL), valid ``ttl_s`` s from ``now``."""
    root = base.rstrip("/")
    return lambda key: root + media_path(secret, key, now, ttl_s)


def link_valid(secret: bytes, key: str, expires: int, signature: str, now: datetime) -> bool:
    """True when ``signature`` signs ``key`` and ``expires`` and that time has not come."""
    expected = media_signature(secret, key, expires)
    return hmac.compare_digest(signature.encode(), expected.encode()) and now.timestamp() < expires


def media_image(store: ObjectStore, key: str, scene_model: Path) -> bytes:
    """The image bytes a media link serves: the privacy-blurred copy (faces and number plates, found with
    the detector weights ``scene_model`` among others) of image ``key`` of the evidence ``store``, for
    other systems must not see them; LookupError when ``key`` names no image there."""
    data = read_image(store, blurred_key(store, key, scene_model))
    if data is None:
        raise LookupError(f"no image {key}")
    return data
