"""Object storage behind one interface: a local folder (the default) or an S3-compatible bucket, for
the evidence images and the uploaded videos and GPS tracks.

A store holds objects by name (``ab/<sha256>.jpg``, ``<sha256>.mp4``: the callers choose names that
are safe paths). ``open_store`` picks the kind from a URL: empty for the local folder given, or
``s3://bucket/prefix`` with the endpoint and credentials of the settings (boto3, imported only then).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from service.settings import Settings


class ObjectStore(Protocol):
    """Named objects; ``name`` is a relative path of safe parts (no ``..``, no leading ``/``)."""

    def put_bytes(self, name: str, data: bytes, media_type: str) -> None:
        """Store ``data`` as ``name`` (replacing it); readers never see a half-written object."""

    def put_file(self, name: str, path: Path) -> None:
        """Store the file at ``path`` as ``name`` and delete ``path``."""

    def read(self, name: str) -> bytes | None:
        """The bytes of ``name``, or None when there is no such object."""

    def exists(self, name: str) -> bool:
        """Whether ``name`` is stored."""

    def local_copy(self, name: str, folder: Path) -> Path:
        """A local file with the bytes of ``name`` (the stored file itself, or a download into ``folder``,
        which the caller deletes); FileNotFoundError when there is none."""

    def delete(self, name: str) -> None:
        """Remove ``name``; nothing happens when it is not stored."""

    def list(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """Every object whose name starts with ``prefix``, with when it was last written (aware UTC)."""


class LocalStore:
    """Objects as files under ``root``; a name that leads through a link is treated as missing (the
    store never makes one)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, name: str) -> Path | None:
        path = self.root.resolve() / name
        return path if path.resolve() == path and path.is_file() else None

    def put_bytes(self, name: str, data: bytes, media_type: str) -> None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(partial, 0o644)
        os.replace(partial, target)

    def put_file(self, name: str, path: Path) -> None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)

    def read(self, name: str) -> bytes | None:
        path = self._path(name)
        return path.read_bytes() if path else None

    def exists(self, name: str) -> bool:
        return self._path(name) is not None

    def local_copy(self, name: str, folder: Path) -> Path:
        path = self._path(name)
        if path is None:
            raise FileNotFoundError(f"{name} is not stored")
        return path

    def delete(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        folder = self.root / prefix.rpartition("/")[0]
        for parent, _, files in os.walk(folder):  # links to folders are not followed
            for file in files:
                path = Path(parent) / file
                name = path.relative_to(self.root).as_posix()
                if name.startswith(prefix) and not file.startswith(".partial-") and not path.is_symlink():
                    yield name, datetime.fromtimestamp(path.stat().st_mtime, UTC)


class S3Store:
    """Objects in an S3-compatible bucket under ``prefix`` (``client`` is a boto3 S3 client)."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")

    def __repr__(self) -> str:
        return f"S3Store(s3://{self.bucket}/{self.prefix})"

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def put_bytes(self, name: str, data: bytes, media_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data, ContentType=media_type)

    def put_file(self, name: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(name))
        path.unlink()

    def read(self, name: str) -> bytes | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
        except self.client.exceptions.NoSuchKey:
            return None
        return bytes(response["Body"].read())

    def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def local_copy(self, name: str, folder: Path) -> Path:
        if not self.exists(name):
            raise FileNotFoundError(f"{name} is not stored")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / Path(name).name
        self.client.download_file(self.bucket, self._key(name), str(target))
        return target

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def list(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        start = len(self._key(""))
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            for item in page.get("Contents", []):
                yield item["Key"][start:], item["LastModified"]


def open_store(url: str, local_root: Path, settings: Settings) -> ObjectStore:
    """The store ``url`` names: empty for the folder ``local_root``, ``s3://bucket/prefix`` for a
    bucket reached with the ``s3_*`` settings. ValueError for any other URL."""
    if not url:
        return LocalStore(local_root)
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"{url!r}: expected s3://bucket/prefix, or nothing for the local folder")
    return S3Store(s3_client(settings), parts.netloc, parts.path)


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client for the ``s3_*`` settings."""
    secret = settings.s3_secret_access_key.get_secret_value() or None
    return _s3_client(settings.s3_endpoint_url or None, settings.s3_region, settings.s3_access_key_id or None, secret)


@functools.cache
def _s3_client(endpoint: str | None, region: str, key_id: str | None, secret: str | None) -> Any:
    """One boto3 S3 client per endpoint and credentials (clients are thread-safe; making one costs
    tens of milliseconds). Without credentials boto3 reads its usual ``AWS_*`` variables."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"mode": "standard", "max_attempts": 5}, s3={"addressing_style": "path"}),
    )


def upload_store(settings: Settings) -> ObjectStore:
    """Where uploaded videos and GPS tracks are kept for the workers: the folder ``upload_dir``, or the
    bucket ``upload_url`` names."""
    return open_store(settings.upload_url, settings.upload_dir, settings)
