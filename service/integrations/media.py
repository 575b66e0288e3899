"""Evidence images for other systems: links signed with the server's secret that stop working at an
expiry time, and the one function that reads the image such a link serves (``media_image``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from service.evidence import read_image
from service.privacy import blurred_key
from service.signed_links import LinkRefused, check_link, expiry, link_signature
from service.storage import ObjectStore

PURPOSE = "media"
"""The purpose of a media link's signature (``service.signed_links``)."""


def media_path(secret: bytes, key: str, now: datetime, ttl_s: int) -> str:
    """The signed path of an evidence image, valid ``ttl_s`` seconds from ``now``."""
    expires = expiry(now, ttl_s)
    return f"/open311/v2/media/{key}?expires={expires}&signature={link_signature(secret, PURPOSE, key, expires)}"


def media_url(base: str, secret: bytes, now: datetime, ttl_s: int) -> Callable[[str], str]:
    """Evidence key -> its signed link on the server at ``base`` (root URL), valid ``ttl_s`` s from ``now``."""
    root = base.rstrip("/")
    return lambda key: root + media_path(secret, key, now, ttl_s)


def link_valid(secret: bytes, key: str, expires: int, signature: str, now: datetime) -> bool:
    """True when ``signature`` signs ``key`` and ``expires`` and that time has not come."""
    try:
        check_link(secret, PURPOSE, key, expires, signature, now)
    except LinkRefused:
        return False
    return True


def media_image(store: ObjectStore, key: str, scene_model: Path) -> bytes:
    """The image bytes a media link serves: the privacy-blurred copy (faces and number plates, found with
    the detector weights ``scene_model`` among others) of image ``key`` of the evidence ``store``, for
    other systems must not see them; LookupError when ``key`` names no image there."""
    data = read_image(store, blurred_key(store, key, scene_model))
    if data is None:
        raise LookupError(f"no image {key}")
    return data
