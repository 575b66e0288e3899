"""Service sub-commands of ``streetscan``: ``serve``, ``user add|disable|enable|passwd``,
``token add|list|revoke``, ``cameras run``, ``export-dataset`` and ``signs import-permits|export`` (heavy
imports in the handlers)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
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
        migrate(engine, settings)
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def add_serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the API (and web view); SQLite file by default, see STREETSCAN_DATABASE_URL")
    p.add_argument("--host", default=None, help="address to listen on (default: STREETSCAN_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: STREETSCAN_PORT or 8000)")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app
    from service.settings import Settings

    overrides = {name: value for name in ("host", "port") if (value := getattr(args, name)) is not None}
    settings = Settings(**overrides)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)
    return 0


def add_user_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("user", help="manage users: add, disable, enable, set a password")
    verbs = p.add_subparsers(dest="user_command", required=True)
    add = verbs.add_parser("add", help="add a user; prints its API token (the last word of the last line)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["admin", "reviewer", "uploader"])
    add.add_argument("--password", default=None, help="lets the user log in to the web view too (8+ characters)")
    add.set_defaults(func=_user_add)
    for verb, text in (
        ("disable", "disable a user: web sessions end at once, API tokens stop working"),
        ("enable", "enable a disabled user again (their tokens work again)"),
    ):
        cmd = verbs.add_parser(verb, help=text)
        cmd.add_argument("name")
        cmd.set_defaults(func=_user_enable, disabled=verb == "disable")
    passwd = verbs.add_parser("passwd", help="set a user's web password (8+ characters); their web sessions end")
    passwd.add_argument("name")
    passwd.add_argument("--password", default=None, help="the new password (default: asked twice on the terminal)")
    passwd.set_defaults(func=_user_passwd)


def add_token_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("token", help="manage API tokens: add, list, revoke")
    verbs = p.add_subparsers(dest="token_command", required=True)
    add = verbs.add_parser("add", help="give a user a new API token; prints it (the last word of the last line)")
    add.add_argument("user")
    add.add_argument("--name", default=None, help="what the token is for, e.g. the laptop it goes on")
    add.add_argument("--expires", type=expiry, help="when it stops working: 30d, 12h, 90m or an ISO-8601 date/time")
    add.set_defaults(func=_token_add)
    listing = verbs.add_parser("list", help="list tokens: id, user, name, created, expires, state")
    listing.add_argument("--user", default=None, help="only this user's")
    listing.set_defaults(func=_token_list)
    revoke = verbs.add_parser("revoke", help="revoke a token by id (see `streetscan token list`)")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=_token_revoke)


_DURATION = re.compile(r"^(\d+)([dhm])$")


def expiry(text: str) -> datetime:
    """``30d``/``12h``/``90m`` from now, or an ISO-8601 date or time (naive: UTC), as aware UTC."""
    from service.inputs import utc_time

    found = _DURATION.match(text.strip())
    if found:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[found.group(2)]
        return datetime.now(UTC) + timedelta(**{unit: int(found.group(1))})
    try:
        return utc_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}; or say 30d, 12h, 90m") from None


def _with_database(command: str, action: Callable[[Session], int]) -> int:
    """Run ``action`` on the configured database; a missing user or token is exit status 1."""
    from service.settings import Settings

    try:
        with database_session(Settings()) as session:
            return action(session)
    except (LookupError, ValueError) as exc:
        print(f"streetscan {command}: {exc}", file=sys.stderr)
        return 1


def _user_add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from service.auth.users import create_user
    from service.models.base import validation_message
    from service.models.users import UserCreate

    try:
        wanted = UserCreate(name=args.name, role=args.role, password=args.password)
    except ValidationError as exc:
        print(f"streetscan user add: {validation_message(exc)}", file=sys.stderr)
        return 2

    def add(session: Session) -> int:
        user, token = create_user(session, wanted.name, wanted.role, wanted.password)
        print(f"added {user.role} {user.name!r} (id {user.id}); API token:")
        print(token)
        return 0

    return _with_database("user add", add)


def _user_enable(args: argparse.Namespace) -> int:
    from service.auth.users import find_user, set_disabled

    def change(session: Session) -> int:
        set_disabled(session, find_user(session, args.name), args.disabled)
        print(f"{args.name}: {'disabled (sessions ended, tokens stopped)' if args.disabled else 'enabled'}")
        return 0

    return _with_database(f"user {'disable' if args.disabled else 'enable'}", change)


def _user_passwd(args: argparse.Namespace) -> int:
    import getpass

    from pydantic import TypeAdapter, ValidationError

    from service.auth.users import find_user, set_password
    from service.models.base import validation_message
    from service.models.users import Password

    password = args.password
    if password is None:
        password = getpass.getpass(f"new password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("streetscan user passwd: the passwords differ", file=sys.stderr)
            return 2
    try:
        TypeAdapter(Password).validate_python(password)
    except ValidationError as exc:
        print(f"streetscan user passwd: password {validation_message(exc)}", file=sys.stderr)
        return 2

    def change(session: Session) -> int:
        set_password(session, find_user(session, args.name), password)
        print(f"{args.name}: password set; their web sessions ended")
        return 0

    return _with_database("user passwd", change)


def _token_add(args: argparse.Namespace) -> int:
    from service.auth.users import find_user, issue_token

    def add(session: Session) -> int:
        user = find_user(session, args.user)
        token = issue_token(session, user, args.name, args.expires)
        session.commit()
        until = f", expires {args.expires:%Y-%m-%d %H:%M} UTC" if args.expires else ""
        print(f"new API token for {user.name!r}{until}:")
        print(token)
        return 0

    return _with_database("token add", add)


def _token_list(args: argparse.Namespace) -> int:
    from service.auth.users import find_user, tokens
    from service.models.base import utcnow

    def show(session: Session) -> int:
        now = utcnow()
        rows = tokens(session, find_user(session, args.user) if args.user else None)
        print(f"{'id':>5}  {'user':<16} {'name':<20} {'created':<16} {'expires':<16} state")
        for token, user_name in rows:
            expired = token.expires_at is not None and token.expires_at <= now
            state = "revoked" if token.revoked_at else "expired" if expired else "active"
            expires = f"{token.expires_at:%Y-%m-%d %H:%M}" if token.expires_at else "never"
            created = f"{token.created_at:%Y-%m-%d %H:%M}"
            print(f"{token.id:>5}  {user_name:<16} {token.name or '':<20} {created} {expires:<16} {state}")
        return 0

    return _with_database("token list", show)


def _token_revoke(args: argparse.Namespace) -> int:
    from service.auth.users import revoke_token
    from service.models.base import utcnow

    def revoke(session: Session) -> int:
        token = revoke_token(session, args.id, utcnow())
        print(f"token {token.id} revoked")
        return 0

    return _with_database("token revoke", revoke)


def add_cameras_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    from service.workers.supervisor import run_until

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_until(Settings(), stop)
    return 0


def add_export_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export-dataset",
        help="write reviewed observations' keyframes as a YOLO dataset (confirmed and recategorised: boxes; "
        "rejected: hard negatives) for `streetscan train --export DIR`",
    )
    p.add_argument("--out", type=Path, required=True, help="new or empty folder to write")
    p.set_defaults(func=_export_dataset)


def _export_dataset(args: argparse.Namespace) -> int:
    from service.integrations.dataset_export import ExportError, export_dataset
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


def add_signs_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("signs", help="the outdoor-ad register: import permits, export the register")
    verbs = p.add_subparsers(dest="verb", required=True)
    permits = verbs.add_parser(
        "import-permits", help="match approvals (CSV or XLSX) to register entries by text and position"
    )
    permits.add_argument("file", type=Path, help="permit_number, shop_name, expiry, address, lat, lon columns")
    permits.set_defaults(func=_signs_import_permits)
    export = verbs.add_parser("export", help="write the register as .csv, .xlsx or .geojson")
    export.add_argument("file", type=Path, help="the file to write; its suffix names the format")
    export.set_defaults(func=_signs_export)


def _signs_import_permits(args: argparse.Namespace) -> int:
    from service.integrations.sign_register import PermitFileError, import_permits, parse_permits, read_rows

    try:
        permits = parse_permits(read_rows(args.file), str(args.file))
    except (PermitFileError, OSError) as exc:
        print(f"streetscan signs import-permits: {exc}", file=sys.stderr)
        return 2

    def run(session: Session) -> int:
        print(import_permits(session, permits, datetime.now(UTC)).text())
        return 0

    return _with_database("signs import-permits", run)


def _signs_export(args: argparse.Namespace) -> int:
    from service.integrations.sign_register import export_register

    def run(session: Session) -> int:
        print(f"{args.file}: {export_register(session, args.file)} signs")
        return 0

    try:
        return _with_database("signs export", run)
    except OSError as exc:
        print(f"streetscan signs export: {exc}", file=sys.stderr)
        return 2
