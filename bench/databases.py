"""What the database benchmarks share: backend options and the loop over the chosen backends."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """``--backends`` (comma-separated: sqlite, postgres) and ``--postgres`` (server URL)."""
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres", default=os.environ.get("STREETSCAN_TEST_POSTGRES") or LOCAL_POSTGRES)


def each_backend(args: argparse.Namespace, run: Callable[[str, argparse.Namespace, Path], None]) -> None:
    """Call ``run(backend, args, workdir)`` for every chosen backend, with one scratch folder."""
    with tempfile.TemporaryDirectory() as workdir:
        for backend in args.backends.split(","):
            run(backend.strip(), args, Path(workdir))
