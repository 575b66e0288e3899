"""API tokens (random, stored as SHA-256), salted password hashes (scrypt) and role checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlmodel import Session, select

from service.models import ApiToken, Role, User

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
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches a hash made by ``hash_password``."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def issue_token(session: Session, user: User) -> str:
    """Store a new token for ``user`` and return it in clear (the only time it is seen)."""
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    return token


def create_user(session: Session, name: str, role: Role, password: str | None = None) -> tuple[User, str]:
    """Add a user with a first API token; raises ValueError when the name is taken. Commits."""
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise ValueError(f"user {name!r} exists already")
    user = User(name=name, role=Role(role), password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    token = issue_token(session, user)
    session.commit()
    session.refresh(user)
    return user, token


def user_for_token(session: Session, token: str) -> User | None:
    """The user a token belongs to, or None."""
    stmt = select(User).join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == hash_token(token))
    return session.exec(stmt).first()


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The user with this name and password, or None (for the web login)."""
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None or not verify_password(password, user.password_hash):
        return None
    return user


def has_role(user: User, *roles: Role) -> bool:
    """True when the user holds one of ``roles``; admins hold every role."""
    return user.role == Role.admin or user.role in roles
