"""Engines (SQLite: WAL, busy timeout, foreign keys), Alembic migrations, scratch PostgreSQL databases."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection

from service import chain  # noqa: F401 - registers the session hooks that append to the evidence chain

if TYPE_CHECKING:
    from service.settings import Settings

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def private_folder(path: Path) -> Path:
    """Create a folder (and missing parents) readable by its owner only (0700); an existing one is left as it is."""
    if not path.is_dir():
        for missing in reversed([path, *path.parents]):
            if not missing.exists():
                missing.mkdir(mode=0o700)
    return path


def make_engine(url: str, busy_timeout_ms: int = 5000) -> Engine:
    """An engine for ``url``; a SQLite file is created owner-only (0600, in a 0700 folder when the
    folder is new) and its pragmas are set per connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        private_folder(path.parent)
        with contextlib.suppress(FileExistsError):  # SQLite takes an empty file as a new database
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: DBAPIConnection, _record: object) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return engine


def alembic_config(engine: Engine, settings: Settings | None = None) -> Config:
    """An Alembic config for the shipped migrations that runs on ``engine``; data migrations find
    the service's folders in ``settings`` (default: read from the environment)."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["engine"] = engine
    config.attributes["settings"] = settings
    return config


def migrate(engine: Engine, settings: Settings | None = None) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already)."""
    command.upgrade(alembic_config(engine, settings), "heads")


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """Create an empty PostgreSQL database on the server of ``server_url``, yield its URL, drop it."""
    name = f"streetscan_scratch_{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def migrated_database(backend: str, server_url: str, folder: Path) -> Iterator[str]:
    """A new database with the newest schema, yielding its URL: a SQLite file in ``folder``
    (``backend`` "sqlite") or a scratch database on the PostgreSQL server of ``server_url``."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'streetscan.db'}"
        _migrate_url(url)
        yield url
        return
    with scratch_database(server_url) as url:
        _migrate_url(url)
        yield url


def _migrate_url(url: str) -> None:
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
