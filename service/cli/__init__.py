"""The ``streetscan`` command line: one sub-command per verb, heavy imports deferred to the handler."""

from __future__ import annotations

import argparse

from service.cli.client import add_post_parser, add_scan_post_option, add_upload_parser
from service.cli.commands import (
    add_cameras_parser,
    add_evidence_parsers,
    add_export_parser,
    add_hotspots_parser,
    add_report_parser,
    add_serve_parser,
    add_signs_parser,
    add_token_parser,
    add_user_parser,
    add_worker_parser,
)
from vision import add_scan_parser
from vision.training import add_export_model_parser, add_train_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streetscan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_scan_parser(sub)
    add_scan_post_option(sub)
    add_serve_parser(sub)
    add_user_parser(sub)
    add_token_parser(sub)
    add_cameras_parser(sub)
    add_worker_parser(sub)
    add_upload_parser(sub)
    add_post_parser(sub)
    add_train_parser(sub)
    add_export_parser(sub)
    add_report_parser(sub)
    add_evidence_parsers(sub)
    add_signs_parser(sub)
    add_hotspots_parser(sub)
    add_export_model_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)
