"""Share links: a signed, expiring token that lets anyone holding it see one case's evidence record
with faces and plates blurred (no login). The token is ``<case id>.<expiry, Unix s>.<signature>``
(``service.signed_links``, purpose ``PURPOSE``)."""

from __future__ import annotations

from datetime import datetime

from service.signed_links import check_link, expiry, link_signature

PURPOSE = "case share"


def share_token(key: bytes, case_id: int, expires_at: datetime) -> str:
    """The token of a share link to case ``case_id`` valid until ``expires_at`` (aware)."""
    expires = expiry(expires_at, 0)
    return f"{case_id}.{expires}.{link_signature(key, PURPOSE, str(case_id), expires)}"


def shared_case(key: bytes, token: str, now: datetime) -> int:
    """The case id a token shares; ValueError when it is malformed, forged or expired."""
    case_text, _, rest = token.partition(".")
    expires_text, _, signature = rest.partition(".")
    if not (case_text.isdigit() and expires_text.isdigit() and len(case_text) < 12 and len(expires_text) < 14):
        raise ValueError("not a share link")
    check_link(key, PURPOSE, case_text, int(expires_text), signature, now)
    return int(case_text)
