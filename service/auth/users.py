"""Users and their credentials: API tokens (random, stored as SHA-256, with an optional expiry,
revocable), salted password hashes (scrypt), disabling a user, role checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime
from functools import cache

from sqlmodel import Session, col, or_, select

from service.auth.sessions import end_user_sessions
from service.inputs import clean_text
from service.models.base import row_id, utcnow
from service.models.users import ApiToken, Role, User

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def new_token() -> str:
    """A fresh random API token (URL-safe text, 256 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def hash_password(password: str) -> str:
    """A salted scrypt hash: ``scrypt$n$r$p$salt$digest`` (base64 parts)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@cache
def _dummy_hash() -> str:
    """A hash no password matches, checked for unknown users so that they cost as much as known ones."""
    return hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches a hash made by ``hash_password``."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8", "surrogatepass"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def issue_token(session: Session, user: User, name: str | None = None, expires_at: datetime | None = None) -> str:
    """Store a new token for ``user`` and return it in clear (the only time it is seen). Does not commit."""
    token = new_token()
    session.add(ApiToken(user_id=row_id(user), token_hash=hash_token(token), name=name, expires_at=expires_at))
    return token


def create_user(
    session: Session, name: str, role: Role, password: str | None = None, with_token: bool = True
) -> tuple[User, str | None]:
    """Add a user with a first API token (unless not ``with_token``: then None); raises
    ValueError when the name is taken. Commits."""
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise ValueError(f"user {name!r} exists already")
    user = User(name=name, role=Role(role), password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    token = issue_token(session, user, "first token") if with_token else None
    session.commit()
    session.refresh(user)
    return user, token


def find_user(session: Session, name: str) -> User:
    """The user called ``name``; LookupError when there is none."""
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise LookupError(f"no user {name!r}")
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Give ``user`` a new password and end all their web sessions. Commits."""
    user.password_hash = hash_password(password)
    session.add(user)
    end_user_sessions(session, row_id(user))
    session.commit()


def set_disabled(session: Session, user: User, disabled: bool) -> None:
    """Disable a user (their sessions end, their tokens stop working) or enable them again
    (their tokens work again; sessions need a new login). Commits."""
    user.disabled = disabled
    session.add(user)
    if disabled:
        end_user_sessions(session, row_id(user))
    session.commit()


def user_for_token(session: Session, token: str, now: datetime | None = None) -> User | None:
    """The enabled user a live token (not revoked, not expired at ``now``) belongs to, or None."""
    now = now or utcnow()
    stmt = (
        select(User)
        .join(ApiToken, col(ApiToken.user_id) == User.id)
        .where(
            ApiToken.token_hash == hash_token(token),
            col(ApiToken.revoked_at).is_(None),
            or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > now),
            ~col(User.disabled),
        )
    )
    return session.exec(stmt).first()


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The enabled user with this name and password, or None (for the web login). An unknown
    name, a user without a password or a disabled one take as long as a wrong password."""
    try:
        user = session.exec(select(User).where(User.name == clean_text(name))).first()
    except ValueError:
        user = None
    matches = verify_password(password, user.password_hash if user and user.password_hash else _dummy_hash())
    return user if user is not None and user.password_hash and matches and not user.disabled else None


def tokens(session: Session, user: User | None = None) -> list[tuple[ApiToken, str]]:
    """Every token (of ``user`` when given) with its user's name, oldest first."""
    stmt = select(ApiToken, User.name).join(User, col(ApiToken.user_id) == User.id).order_by(col(ApiToken.id))
    if user is not None:
        stmt = stmt.where(ApiToken.user_id == user.id)
    return list(session.exec(stmt).all())


def revoke_token(session: Session, token_id: int, now: datetime) -> ApiToken:
    """Revoke a token by id (LookupError when there is none; revoking twice keeps the first time). Commits."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise LookupError(f"no token {token_id}")
    token.revoked_at = token.revoked_at or now
    session.add(token)
    session.commit()
    return token


def has_role(user: User, *roles: Role) -> bool:
    """True when the user holds one of ``roles``; admins hold every role."""
    return user.role == Role.admin or user.role in roles
