"""Server-side web sessions: a random session id given to the browser, kept in the database only
as its SHA-256 digest (``WebSessionRow``). A session is live while its row exists, has not expired
and its user is enabled; logging out, a password change and disabling the user delete rows."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from service.models.users import User, WebSessionRow

TTL = timedelta(hours=12)
"""How long a session lasts from login (the cookie lives as long)."""


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(db: Session, user_id: int, now: datetime) -> str:
    """Store a new session of ``user_id`` lasting TTL (and drop expired ones); its id. Commits."""
    session_id = secrets.token_urlsafe(32)
    db.exec(delete(WebSessionRow).where(col(WebSessionRow.expires_at) <= now))
    db.add(WebSessionRow(id_hash=_digest(session_id), user_id=user_id, created_at=now, expires_at=now + TTL))
    db.commit()
    return session_id


def session_user(db: Session, session_id: str, now: datetime) -> User | None:
    """The enabled user of a live session, or None."""
    return db.exec(
        select(User)
        .join(WebSessionRow, col(WebSessionRow.user_id) == User.id)
        .where(WebSessionRow.id_hash == _digest(session_id), col(WebSessionRow.expires_at) > now, ~col(User.disabled))
    ).first()


def end_session(db: Session, session_id: str) -> None:
    """Delete one session (logout); a copied cookie no longer works. Commits."""
    db.exec(delete(WebSessionRow).where(col(WebSessionRow.id_hash) == _digest(session_id)))
    db.commit()


def end_user_sessions(db: Session, user_id: int) -> None:
    """Delete every session of a user (password change, disabled). Does not commit."""
    db.exec(delete(WebSessionRow).where(col(WebSessionRow.user_id) == user_id))
