"""An S3-compatible server on loopback for the object-storage tests: moto's standalone server, run
as a subprocess for the test session, and a fresh bucket per test."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from service.settings import Settings
from service.storage import s3_client
from tests.e2e.processes import free_port

SECRET = SecretStr("test")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of an S3-compatible server on loopback (up to 30 s to start)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("the S3 test server did not start")
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(10)


@dataclass
class Bucket:
    """A fresh bucket on the test server: its ``name`` and a boto3 ``client`` to look inside."""

    name: str
    client: Any

    def objects(self) -> dict[str, bytes]:
        """Every object in the bucket by key."""
        listing = self.client.list_objects_v2(Bucket=self.name).get("Contents", [])
        return {o["Key"]: self.client.get_object(Bucket=self.name, Key=o["Key"])["Body"].read() for o in listing}


@pytest.fixture
def bucket(s3_endpoint: str) -> Bucket:
    client = s3_client(Settings(s3_endpoint_url=s3_endpoint, s3_access_key_id="test", s3_secret_access_key=SECRET))
    name = f"streetscan-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return Bucket(name, client)


def s3_settings(settings: Settings, endpoint: str, bucket: Bucket, **urls: str) -> Settings:
    """``settings`` with the test server's endpoint and credentials and the store URLs given."""
    return settings.model_copy(
        update={
            "s3_endpoint_url": endpoint,
            "s3_access_key_id": "test",
            "s3_secret_access_key": SECRET,
            **{name: url.format(bucket=bucket.name) for name, url in urls.items()},
        }
    )
