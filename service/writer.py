"""How the service writes to its database, the same way on SQLite and PostgreSQL.

Every write (API, web pages, job workers, the camera writer) runs as ``with writer:`` around its
transaction. On SQLite the writer is a process-wide lock: SQLite takes one writer at a time, and
writers queue here instead of failing on a busy database. On PostgreSQL it is no lock at all:
concurrent writers are kept apart by the database itself: a decision locks its case's row
(``service.decisions``), every case update checks the row's version (``Case.version``: a stale
write raises ``StaleDataError``), and the writes that change many cases (matching observations,
placing hotspots) take ``lock_matching`` first, so they never wait on each other in a cycle.
"""

from __future__ import annotations

import threading
from types import TracebackType

from sqlalchemy import Engine, text
from sqlmodel import Session

MATCHING_LOCK_KEY = 0x5354_5245_4554
"""The PostgreSQL advisory lock that serialises observation matching (any constant of the service)."""


class Writer:
    """``with writer:`` around a write transaction; entered and left on one thread."""

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    def __enter__(self) -> Writer:
        if self._lock is not None:
            self._lock.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._lock is not None:
            self._lock.release()


def lock_matching(session: Session) -> None:
    """Make this transaction the only one matching observations to cases or placing hotspots
    until it ends, across processes too (two matchers could otherwise both open a case for one
    object). The first statement of the transaction: PostgreSQL takes a transaction advisory lock;
    SQLite takes its database write lock (waiting up to the busy timeout)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=MATCHING_LOCK_KEY))
    else:
        session.execute(text("UPDATE cases SET id = id WHERE 0"))
