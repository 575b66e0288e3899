"""Session cookies for the web view.

The cookie is a small JSON payload (CSRF token, expiry, session id) plus its HMAC-SHA256 under the
server's secret. A logged-in session's id names a server-side session (``service.sessions``),
which logout, a password change or disabling the user ends; the signature alone opens nothing.
Anonymous sessions (no id) only carry the CSRF token the login form needs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import Request, Response

from service.auth.sessions import TTL

COOKIE = "streetscan_session"
SECRET_FILE = "session-secret"


@dataclass(frozen=True)
class WebSession:
    """``session_id`` None: anonymous; ``expires`` is a Unix time in seconds."""

    csrf: str
    expires: int
    session_id: str | None = None

    @classmethod
    def start(cls, now: datetime, session_id: str | None = None) -> WebSession:
        """A fresh cookie session (new CSRF token) lasting TTL from ``now``."""
        return cls(secrets.token_urlsafe(32), int((now + TTL).timestamp()), session_id)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(session: WebSession, key: bytes) -> str:
    """The cookie value: ``payload.signature``, both URL-safe base64."""
    payload = _b64(json.dumps([session.csrf, session.expires, session.session_id]).encode())
    return f"{payload}.{_b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())}"


def decode(value: str | None, key: bytes, now: datetime) -> WebSession | None:
    """The session in a cookie value, or None when it is missing, forged, malformed or expired."""
    payload, _, signature = (value or "").partition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not payload or not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    try:
        session = WebSession(*json.loads(_unb64(payload)))
    except (ValueError, TypeError, binascii.Error):
        return None
    well_formed = (
        isinstance(session.csrf, str)
        and isinstance(session.expires, int)
        and isinstance(session.session_id, str | None)
    )
    return session if well_formed and session.expires > now.timestamp() else None


def set_cookie(response: Response, request: Request, session: WebSession, key: bytes) -> None:
    """HttpOnly, SameSite=Lax, Secure when the request came over https; kept as long as a fresh
    session lasts (the server checks the expiry inside the signed value)."""
    response.set_cookie(
        COOKIE,
        encode(session, key),
        max_age=int(TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")


class SecretKey:
    """The signing key: the configured secret, else one generated once and kept in ``data_dir``.

    Read lazily, so an app that never serves a page never touches the data folder.
    """

    def __init__(self, configured: str, data_dir: Path) -> None:
        self._configured = configured
        self._path = data_dir / SECRET_FILE
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = (self._configured or self._load_or_create()).encode()
            return self._key

    def _load_or_create(self) -> str:
        """Read the secret file, creating it (mode 0600, atomically) when absent."""
        if not self._path.is_file():
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_name(f".{SECRET_FILE}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
            try:
                os.link(tmp, self._path)  # fails if another process won the race: then use its secret
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return self._path.read_text().strip()
