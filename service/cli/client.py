"""Clients of a streetscan server (heavy imports in the handlers):

- ``streetscan upload``: send a patrol batch with a progress bar, then follow its processing;
- ``streetscan post OUT_DIR``: send what ``streetscan scan`` wrote (its images to the evidence
  store, then its observations), and ``streetscan scan --post URL``, which scans, then posts.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

CHUNK = 1024 * 1024
"""Bytes read from a file per step of the upload (memory stays flat whatever the file size)."""
RECONNECT_S = 60.0
"""How long following a batch waits for a server that stopped answering (restarting)."""
DONE = ("done", "failed")
POST_CHUNK = 500
"""Observations per ``POST /api/observations`` request (the server's default limit is 1000)."""
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class UploadFailed(Exception):
    """What went wrong, in one line for the user."""


def _token_argument(p: argparse.ArgumentParser) -> None:
    token = os.environ.get("STREETSCAN_TOKEN")
    p.add_argument("--token", default=token, help="an uploader's API token (default: $STREETSCAN_TOKEN)")


def _server_arguments(p: argparse.ArgumentParser) -> None:
    default = os.environ.get("STREETSCAN_SERVER", "http://127.0.0.1:8000")
    p.add_argument("--server", default=default, help=f"server URL (default: $STREETSCAN_SERVER or {default})")
    _token_argument(p)


def add_upload_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("upload", help="upload patrol videos and GPS tracks to a server and follow their processing")
    p.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="videos and GPS tracks; a track goes with the video of its name",
    )
    _server_arguments(p)
    p.add_argument(
        "--gps",
        action="append",
        default=[],
        metavar="TRACK",
        help="GPS track of the video (with one video), or VIDEO=TRACK; repeatable",
    )
    p.add_argument(
        "--no-follow", dest="follow", action="store_false", help="return once uploaded, without waiting for processing"
    )
    p.add_argument("--poll", type=float, default=1.0, help="seconds between progress checks (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_upload)


def _client(server: str, token: str | None) -> Any:
    """An httpx client for ``server`` sending ``token``; UploadFailed without a token."""
    import httpx

    if not token:
        raise UploadFailed("no API token: pass --token or set STREETSCAN_TOKEN")
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=httpx.Timeout(30.0, read=600.0))


def run_upload(args: argparse.Namespace) -> int:
    """Exit status: 0 when every file was processed, 1 when some file was rejected or failed, 2 on
    a usage, connection or server error."""
    try:
        files, fields = _parts(args.files, args.gps)
        with _client(args.server, args.token) as client:
            batch = _send(client, files, fields, args.quiet)
            print(f"batch {batch['id']}: uploaded {len(files)} files", file=sys.stderr)
            if args.follow:
                batch = _follow(client, batch, args.poll, args.quiet)
    except UploadFailed as exc:
        print(f"streetscan upload: error: {exc}", file=sys.stderr)
        return 2
    for line in result_lines(batch):
        print(line)
    bad = any(f["status"] in ("rejected", "failed") for f in batch["files"])
    return 1 if bad or batch["status"] == "failed" else 0


def _parts(paths: list[Path], gps: list[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files to send (tracks from --gps added) and the ``gps_for`` fields."""
    from vision import TRACK_SUFFIXES

    files = list(paths)
    fields = []
    videos = [p for p in paths if p.suffix.lower() not in TRACK_SUFFIXES]
    for value in gps:
        video, sep, track = value.rpartition("=")
        if not sep:
            if len(videos) != 1:
                raise UploadFailed(f"--gps {value}: with {len(videos)} videos, say which: --gps VIDEO=TRACK")
            video = videos[0].name
        files.append(Path(track))
        fields.append(("gps_for", f"{Path(video).name}={Path(track).name}"))
    for path in files:
        if not path.is_file():
            raise UploadFailed(f"{path}: no such file")
    return list(dict.fromkeys(files)), fields


def multipart(
    files: list[Path], fields: list[tuple[str, str]], boundary: str, sent: Callable[[int], Any]
) -> tuple[int, Iterator[bytes]]:
    """A ``multipart/form-data`` body, streamed: its length in bytes and a generator of its chunks
    (files read ``CHUNK`` bytes at a time; ``sent`` is called with each chunk's size)."""

    def head(name: str, filename: str | None = None) -> bytes:
        quoted = (
            ""
            if filename is None
            else '; filename="{}"'.format(
                filename.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")
            )
        )
        return f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{quoted}\r\n\r\n'.encode()

    texts = [head(name) + value.encode() + b"\r\n" for name, value in fields]
    heads = [head("files", path.name) for path in files]
    tail = f"--{boundary}--\r\n".encode()
    length = sum(map(len, texts)) + sum(len(h) + p.stat().st_size + 2 for h, p in zip(heads, files)) + len(tail)

    def chunks() -> Iterator[bytes]:
        yield from texts
        for header, path in zip(heads, files):
            yield header
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    sent(len(chunk))
                    yield chunk
            yield b"\r\n"
        yield tail

    return length, chunks()


def _send(client: Any, files: list[Path], fields: list[tuple[str, str]], quiet: bool) -> dict[str, Any]:
    """POST the batch with a byte progress bar on stderr; the server's batch."""
    import httpx
    from tqdm import tqdm

    boundary = secrets.token_hex(16)
    total = sum(p.stat().st_size for p in files)
    with tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="upload", disable=quiet, file=sys.stderr
    ) as bar:
        length, body = multipart(files, fields, boundary, bar.update)
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(length)}
        try:
            response = client.post("/api/batches", content=body, headers=headers)
        except httpx.TransportError as exc:
            raise UploadFailed(f"cannot reach {client.base_url}: {exc}") from None
    return _json(response)


def _follow(client: Any, batch: dict[str, Any], poll: float, quiet: bool) -> dict[str, Any]:
    """Poll the batch until it is done or failed, with a progress bar on stderr."""
    import httpx
    from tqdm import tqdm

    lost_since: float | None = None
    with tqdm(total=100, unit="%", desc="processing", disable=quiet, file=sys.stderr) as bar:
        while True:
            bar.update(round(batch["progress"] * 100) - bar.n)
            if batch["status"] in DONE:
                return batch
            time.sleep(poll)
            try:
                batch = _json(client.get(f"/api/batches/{batch['id']}"))
                lost_since = None
            except httpx.TransportError as exc:
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > RECONNECT_S:
                    raise UploadFailed(f"lost {client.base_url} for {RECONNECT_S:.0f} s: {exc}") from None


def _json(response: Any) -> dict[str, Any]:
    """The response body, or UploadFailed with the server's reason."""
    if response.is_success:
        return cast(dict[str, Any], response.json())
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = response.text.strip()[:200]
    hints = {
        401: "the server refused the token",
        403: "this token's user may not upload",
        413: "too large",
        422: "refused",
    }
    raise UploadFailed(f"{hints.get(response.status_code, 'server error')} ({response.status_code}): {detail}")


def result_lines(batch: dict[str, Any]) -> list[str]:
    """One line per file, then the batch summary with its case ids."""
    lines = []
    for f in batch["files"]:
        parts = [f"{f['name']}: {f['status']}"]
        if f["kind"] == "video" and f["status"] != "rejected":
            parts.append(f"{f['observations']} observations, cases {' '.join(map(str, f['case_ids'])) or 'none'}")
            if f["gps"]:
                parts.append(f"GPS {f['gps']}")
            if f["duplicate"]:
                parts.append(f"already uploaded (job {f['job_id']})")
        if f["error"]:
            parts.append(f["error"])
        lines.append(", ".join(parts))
    cases = " ".join(map(str, batch["case_ids"])) or "none"
    lines.append(f"batch {batch['id']}: {batch['status']}, {batch['observations']} observations, cases {cases}")
    return lines


# --- streetscan post / scan --post --------------------------------------------------------------


def add_post_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "post", help="send what `streetscan scan --out OUT_DIR` wrote to a server: images first, then observations"
    )
    p.add_argument("out", type=Path, metavar="OUT_DIR", help="a scan's output folder (observations.jsonl, images)")
    _server_arguments(p)
    p.add_argument("--source", help="the observations' source name (default: scan-<hash of observations.jsonl>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_post)


def add_scan_post_option(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Give ``streetscan scan`` a ``--post URL`` option: scan, then post the output folder."""
    scan = sub.choices["scan"]
    scan.add_argument(
        "--post", dest="server", metavar="URL", help="then send the observations and images to this server (as `post`)"
    )
    _token_argument(scan)
    scan.set_defaults(func=functools.partial(_scan_then_post, scan.get_default("func")))


def _scan_then_post(scan: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run the scan; with ``--post``, post its output as source ``video-<sha256 prefix>`` (the name
    the server gives an uploaded video, so a video both scanned and uploaded is one source)."""
    status = scan(args)
    if status or not args.server:
        return status
    return post_scan(args.out, args.server, args.token, f"video-{_sha256(args.video)[:16]}", args.quiet)


def run_post(args: argparse.Namespace) -> int:
    jsonl = args.out / "observations.jsonl"
    if not jsonl.is_file():
        print(f"streetscan post: error: {jsonl}: no such file (is {args.out} a scan's output folder?)", file=sys.stderr)
        return 2
    return post_scan(args.out, args.server, args.token, args.source or f"scan-{_sha256(jsonl)[:16]}", args.quiet)


def post_scan(out_dir: Path, server: str, token: str | None, source: str, quiet: bool) -> int:
    """Send a scan's output: each image once to ``POST /api/evidence``, then the observations (with
    the keys it returned) to ``POST /api/observations`` in chunks of POST_CHUNK. Prints one line per
    refused observation and a summary. Exit status: 0 when all were kept, 1 when some were refused,
    2 on a usage, connection or server error."""
    import httpx
    from tqdm import tqdm

    lines = (out_dir / "observations.jsonl").read_text("utf-8").splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    outcomes: Counter[str] = Counter()
    refused = []
    try:
        with (
            _client(server, token) as client,
            tqdm(total=len(items), unit="obs", desc="post", disable=quiet, file=sys.stderr) as bar,
        ):
            keys: dict[Path, str] = {}
            for start in range(0, len(items), POST_CHUNK):
                chunk = [_with_keys(client, out_dir, item, keys) for item in items[start : start + POST_CHUNK]]
                answer = _json(client.post("/api/observations", json={"source": source, "observations": chunk}))
                for result in answer["results"]:
                    outcomes[result["outcome"] or "refused"] += 1
                    if result["error"]:
                        refused.append(f"{result['track_id']}: {result['error']}")
                bar.update(len(chunk))
    except UploadFailed as exc:
        print(f"streetscan post: error: {exc}", file=sys.stderr)
        return 2
    except httpx.TransportError as exc:
        print(f"streetscan post: error: cannot reach {server}: {exc}", file=sys.stderr)
        return 2
    for line in refused:
        print(f"refused {line}", file=sys.stderr)
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "nothing to send"
    print(f"{source}: {len(items)} observations posted to {server}: {counts}")
    return 1 if refused else 0


def _with_keys(client: Any, out_dir: Path, item: dict[str, Any], keys: dict[Path, str]) -> dict[str, Any]:
    """The observation with its ``crop``/``keyframe`` files (paths in ``out_dir``) sent to the
    evidence store and replaced by their keys; ``keys`` remembers the files already sent."""
    item = dict(item)
    for field in ("crop", "keyframe"):
        if not item.get(field):
            continue
        path = (out_dir / item[field]).resolve()
        if not path.is_relative_to(out_dir.resolve()) or not path.is_file():
            raise UploadFailed(f"{item.get('track_id')}: {field} {item[field]!r} is no file in {out_dir}")
        if path not in keys:
            headers = {"Content-Type": IMAGE_TYPES.get(path.suffix.lower(), "application/octet-stream")}
            keys[path] = _json(client.post("/api/evidence", content=path.read_bytes(), headers=headers))["key"]
        item[field] = keys[path]
    return item


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
