"""Signed, expiring links: one signer for share links and Open311 media links; a signature holds only
for its own subject, expiry and purpose, and only until it expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.integrations.media import link_valid, media_path
from service.share import share_token, shared_case
from service.signed_links import LinkRefused, check_link, expiry, link_signature

KEY = b"k" * 32
NOW = datetime(2025, 5, 12, 1, 0, tzinfo=UTC)


def test_a_signature_holds_for_its_subject_expiry_and_purpose_only() -> None:
    expires = expiry(NOW, 60)
    signature = link_signature(KEY, "media", "ab/cd.jpg", expires)
    assert len(signature) == 43 and "=" not in signature
    check_link(KEY, "media", "ab/cd.jpg", expires, signature, NOW)
    for purpose, subject, until, key in [
        ("case share", "ab/cd.jpg", expires, KEY),  # another purpose
        ("media", "ab/ce.jpg", expires, KEY),  # another image
        ("media", "ab/cd.jpg", expires + 3600, KEY),  # a longer life
        ("media", "ab/cd.jpg", expires, b"x" * 32),  # another server
    ]:
        with pytest.raises(LinkRefused, match="not a valid"):
            check_link(key, purpose, subject, until, signature, NOW)
    with pytest.raises(LinkRefused, match="expired"):
        check_link(KEY, "media", "ab/cd.jpg", expires, signature, NOW + timedelta(seconds=60))


def test_share_and_media_links_sign_with_it_each_for_its_own_purpose() -> None:
    token = share_token(KEY, 7, NOW + timedelta(days=1))
    case, expires, signature = token.split(".")
    assert (case, signature) == ("7", link_signature(KEY, "case share", "7", int(expires)))
    assert shared_case(KEY, token, NOW) == 7
    with pytest.raises(ValueError, match="expired"):
        shared_case(KEY, token, NOW + timedelta(days=1))
    path = media_path(KEY, "ab/cd.jpg", NOW, 600)
    query = dict(part.split("=") for part in path.split("?")[1].split("&"))
    assert link_valid(KEY, "ab/cd.jpg", int(query["expires"]), query["signature"], NOW)
    assert not link_valid(KEY, "ab/cd.jpg", int(expires), signature, NOW)  # a share signature opens no image
    with pytest.raises(ValueError, match="not a valid"):  # nor does a media signature share a case
        shared_case(KEY, f"7.{query['expires']}.{query['signature']}", NOW)
