"""The first-run setup link: with no user in the database, ``streetscan serve`` prints a one-time
link (like a notebook server's token) that lets whoever started it create the first admin in the
browser. It works once, until TTL after the start, and only while no user exists."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from datetime import datetime, timedelta

TTL = timedelta(hours=1)


class SetupLink:
    """The token is kept only as its SHA-256 digest."""

    def __init__(self, token: str, expires_at: datetime) -> None:
        self._digest = hashlib.sha256(token.encode()).digest()
        self.expires_at = expires_at
        self._used = False
        self._lock = threading.Lock()

    @classmethod
    def new(cls, now: datetime) -> tuple[SetupLink, str]:
        """A fresh link lasting TTL and its token in clear (to print once)."""
        token = secrets.token_urlsafe(32)
        return cls(token, now + TTL), token

    def valid(self, token: str, now: datetime) -> bool:
        """True for this link's token, unused and before its expiry."""
        sent = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        return not self._used and now < self.expires_at and hmac.compare_digest(sent, self._digest)

    def use(self, token: str, now: datetime) -> bool:
        """Spend the link: True the first time a valid token is given, False ever after."""
        with self._lock:
            if not self.valid(token, now):
                return False
            self._used = True
            return True


def setup_url(host: str, port: int, token: str) -> str:
    """The link to print: a wildcard listening address is reached through the loopback one."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}/setup?token={token}"
