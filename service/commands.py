"""Service sub-commands of ``streetscan``: ``serve``, ``user add``, ``cameras run`` and ``export-dataset``
(heavy imports in the handlers)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from service.settings import Settings


@contextmanager
def database_session(settings: Settings) -> Iterator[Session]:
    """A session on the configured database, migrated to the latest schema first; the engine is closed after."""
    from sqlmodel import Session

    from service.db import make_engine, migrate

    engine = make_engine(settings.database_url, settings.sqlite_busy_timeout_ms)
    try:
        migrate(engine)
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def add_serve_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the API (and web view); SQLite file by default, see STREETSCAN_DATABASE_URL")
    p.add_argument("--host", default=None, help="address to listen on (default: STREETSCAN_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: STREETSCAN_PORT or 8000)")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app
    from service.settings import Settings

    settings = Settings()
    uvicorn.run(create_app(settings), host=args.host or settings.host, port=args.port or settings.port)
    return 0


def add_user_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("user", help="manage users and their API tokens")
    verbs = p.add_subparsers(dest="user_command", required=True)
    add = verbs.add_parser("add", help="add a user; prints its API token (the last word of the last line)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["admin", "reviewer", "uploader"])
    add.add_argument("--password", default=None, help="lets the user log in to the web view too (8+ characters)")
    add.set_defaults(func=_user_add)


def _user_add(args: argparse.Namespace) -> int:
    import sys

    from pydantic import ValidationError

    from service.auth import create_user
    from service.models import UserCreate, validation_message
    from service.settings import Settings

    try:
        wanted = UserCreate(name=args.name, role=args.role, password=args.password)
    except ValidationError as exc:
        print(f"streetscan user add: {validation_message(exc)}", file=sys.stderr)
        return 2
    try:
        with database_session(Settings()) as session:
            user, token = create_user(session, wanted.name, wanted.role, wanted.password)
    except ValueError as exc:
        print(f"streetscan user add: {exc}", file=sys.stderr)
        return 1
    print(f"added {user.role} {user.name!r} (id {user.id}); API token:")
    print(token)
    return 0


def add_cameras_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cameras", help="fixed street cameras")
    verbs = p.add_subparsers(dest="cameras_command", required=True)
    run = verbs.add_parser(
        "run",
        help="run the camera supervisor on its own (no HTTP) until Ctrl-C; re-reads the camera table every "
        "STREETSCAN_CAMERA_SYNC_S seconds. Run serve with STREETSCAN_CAMERA_SUPERVISOR=false beside it.",
    )
    run.set_defaults(func=_cameras_run)


def _cameras_run(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from service.settings import Settings
    from service.streams.supervisor import run_until

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_until(Settings(), stop)
    return 0


def add_export_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-dataset",
        help="write reviewed observations' keyframes as a YOLO dataset (confirmed and recategorised: boxes; "
        "rejected: hard negatives) for `streetscan train --export DIR`",
    )
    p.add_argument("--out", type=Path, required=True, help="new or empty folder to write")
    p.set_defaults(func=_export_dataset)


def _export_dataset(args: argparse.Namespace) -> int:
    import sys

    from service.dataset_export import ExportError, export_dataset
    from service.settings import Settings
    from vision import Taxonomy

    settings = Settings()
    try:
        with database_session(settings) as session:
            summary = export_dataset(session, settings, args.out, Taxonomy.load(settings.taxonomy_path))
    except (ExportError, OSError) as exc:
        print(f"streetscan export-dataset: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {summary.text()}")
    return 0
