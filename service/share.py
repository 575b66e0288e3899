"""Share links: a signed, expiring token that lets anyone holding it see one case's evidence record
with faces and plates blurred (no login). The token is ``<case id>.<expiry, Unix s>.<signature>``,
the signature an HMAC-SHA256 (URL-safe base64) under the service's secret key."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

PURPOSE = b"streetscan case share\n"
"""Prefix of every signed text: a share signature is never valid as anything else's."""


def _signature(key: bytes, case_id: int, expires: int) -> str:
    digest = hmac.new(key, PURPOSE + f"{case_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def share_token(key: bytes, case_id: int, expires_at: datetime) -> str:
    """The token of a share link to case ``case_id`` valid until ``expires_at`` (aware)."""
    expires = int(expires_at.timestamp())
    return f"{case_id}.{expires}.{_signature(key, case_id, expires)}"


def shared_case(key: bytes, token: str, now: datetime) -> int:
    """The case id a token shares; ValueError when it is malformed, forged or expired."""
    case_text, _, rest = token.partition(".")
    expires_text, _, signature = rest.partition(".")
    if not (case_text.isdigit() and expires_text.isdigit() and len(case_text) < 12 and len(expires_text) < 14):
        raise ValueError("not a share link")
    case_id, expires = int(case_text), int(expires_text)
    if not hmac.compare_digest(signature.encode(), _signature(key, case_id, expires).encode()):
        raise ValueError("not a valid share link")
    if expires <= now.timestamp():
        raise ValueError("this share link has expired")
    return case_id
