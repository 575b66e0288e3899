"""Streaming ``multipart/form-data`` intake: each file part goes straight to a temporary file while
its SHA-256 and size are computed, so an upload never sits whole in memory, and a request that
passes the size limit is stopped as soon as it does."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_FIELD_BYTES = 4096
"""The most a text (non-file) form field may hold."""


class UploadError(ValueError):
    """A request the intake refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ReceivedFile:
    """One uploaded file part: ``name`` is the client's file name (no folders), ``size`` in bytes,
    ``sha256`` the hex digest; its bytes are at ``path``."""

    field: str
    name: str
    path: Path
    size: int
    sha256: str


@dataclass
class Received:
    """The parts of one request: files (in request order) and text fields as (name, value)."""

    files: list[ReceivedFile] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)

    def discard(self) -> None:
        """Delete the temporary files not yet moved elsewhere."""
        for item in self.files:
            item.path.unlink(missing_ok=True)


class _Parts:
    """Callbacks for python-multipart's streaming parser: write file parts to ``folder``."""

    def __init__(self, folder: Path, received: Received) -> None:
        self.folder = folder
        self.received = received
        self.headers: dict[str, bytes] = {}
        self.header_field = b""
        self.header_value = b""
        self.field = ""
        self.name: str | None = None
        self.out: IO[bytes] | None = None
        self.hasher = hashlib.sha256()
        self.size = 0
        self.text = bytearray()
        self.ended = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda data, start, end: self._add("header_field", data[start:end]),
            "on_header_value": lambda data, start, end: self._add("header_value", data[start:end]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": lambda: setattr(self, "ended", True),
        }

    def _add(self, attr: str, chunk: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + chunk)

    def part_begin(self) -> None:
        self.headers, self.header_field, self.header_value = {}, b"", b""

    def header_end(self) -> None:
        self.headers[self.header_field.decode("latin-1").lower()] = self.header_value
        self.header_field, self.header_value = b"", b""

    def headers_finished(self) -> None:
        disposition, options = parse_options_header(self.headers.get("content-disposition", b"").decode("latin-1"))
        if disposition != b"form-data" or b"name" not in options:
            raise UploadError(400, "a multipart part without a form-data name")
        self.field = options[b"name"].decode("utf-8", "replace")
        filename = options.get(b"filename")
        self.name = None if filename is None else _base_name(filename.decode("utf-8", "replace"))
        self.hasher, self.size, self.text = hashlib.sha256(), 0, bytearray()
        if self.name is not None:
            # open across parser callbacks: part_end (or close, for a part cut off) closes it
            self.out = tempfile.NamedTemporaryFile(dir=self.folder, prefix="part-", delete=False)  # noqa: SIM115
            self.received.files.append(ReceivedFile(self.field, self.name, Path(self.out.name), 0, ""))

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.out is None:
            self.text += chunk
            if len(self.text) > MAX_FIELD_BYTES:
                raise UploadError(400, f"form field {self.field!r} is longer than {MAX_FIELD_BYTES} bytes")
            return
        self.out.write(chunk)
        self.hasher.update(chunk)
        self.size += len(chunk)

    def part_end(self) -> None:
        if self.out is None:
            self.received.fields.append((self.field, self.text.decode("utf-8", "replace")))
            return
        self.out.close()
        self.out = None
        item = self.received.files[-1]
        item.size, item.sha256 = self.size, self.hasher.hexdigest()

    def close(self) -> None:
        """Close the file of a part cut off midway."""
        if self.out is not None:
            self.out.close()
            self.out = None


def _base_name(name: str) -> str:
    """A client file name without any folders or control characters, at most 255 characters;
    ``upload`` when empty."""
    printable = "".join(c for c in name if c.isprintable())
    return printable.replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or "upload"


async def receive(
    content_type: str | None, content_length: str | None, body: AsyncIterator[bytes], folder: Path, limit: int
) -> Received:
    """Parse a multipart body into temporary files under ``folder``; ``limit`` is the most bytes the
    body may have. Raises UploadError (413 past the limit, at once when ``content_length`` says so;
    400/415 for a malformed request) after deleting what it wrote."""
    ctype, options = parse_options_header(content_type or "")
    if ctype != b"multipart/form-data" or b"boundary" not in options:
        raise UploadError(415, "expected a multipart/form-data body")
    mib = limit / (1024 * 1024)
    too_large = UploadError(413, f"upload too large: the limit is {mib:g} MiB per request; send fewer or smaller files")
    if content_length and content_length.isdigit() and int(content_length) > limit:
        raise too_large
    folder.mkdir(parents=True, exist_ok=True)
    received = Received()
    parts = _Parts(folder, received)
    parser = MultipartParser(options[b"boundary"], parts.callbacks())
    total = 0
    try:
        async for chunk in body:
            total += len(chunk)
            if total > limit:
                raise too_large
            await run_in_threadpool(parser.write, chunk)
        parser.finalize()
        if not parts.ended:
            raise UploadError(400, "the multipart body ends before its closing boundary")
    except Exception as exc:
        parts.close()
        received.discard()
        if isinstance(exc, UploadError):
            raise
        raise UploadError(400, f"malformed multipart body: {exc}") from None
    return received
