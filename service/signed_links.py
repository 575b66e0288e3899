"""Signed, expiring links (share links, Open311 media links): an HMAC-SHA256 under the server's
secret key of what a link opens (``subject``), until when (``expires``, Unix seconds), and for what
(``purpose``: a signature made for one purpose is never valid for another, nor as anything else the
key signs, such as session cookies). Signatures are URL-safe base64 without padding (43 characters).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime


class LinkRefused(ValueError):
    """A link whose signature is wrong (forged, or made for another purpose) or whose time is up."""


def link_signature(key: bytes, purpose: str, subject: str, expires: int) -> str:
    """The signature of a link to ``subject`` for ``purpose`` (no line breaks) valid until ``expires``."""
    text = f"streetscan {purpose} link\n{subject}\n{expires}".encode()
    return base64.urlsafe_b64encode(hmac.new(key, text, hashlib.sha256).digest()).rstrip(b"=").decode()


def expiry(now: datetime, ttl_s: float) -> int:
    """The ``expires`` (Unix seconds) of a link made at ``now`` (aware) to work ``ttl_s`` seconds."""
    return int(now.timestamp() + ttl_s)


def check_link(key: bytes, purpose: str, subject: str, expires: int, signature: str, now: datetime) -> None:
    """Nothing when ``signature`` signs ``subject`` for ``purpose`` until ``expires`` and that time has
    not come at ``now``; LinkRefused saying which is wrong otherwise."""
    expected = link_signature(key, purpose, subject, expires)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise LinkRefused(f"not a valid {purpose} link")
    if expires <= now.timestamp():
        raise LinkRefused(f"this {purpose} link has expired")
