"""Fixed cameras across the worker fleet: each enabled camera runs in exactly one `streetscan worker`
(started with the ``streams`` queue) at a time, by a lease in Redis (the broker's server).

A worker holds camera N while the key ``streetscan:camera:N`` names it. It renews its leases every
sixth of ``camera_lease_s`` and each lease lasts half of it, so when a worker dies its cameras are
free within half the lease time and taken by another within ``camera_lease_s``; a worker that fails
to renew a lease stops that camera at once (before anyone else can take it). A worker takes free
cameras up to its fair share (enabled cameras over live workers, rounded up). Each worker also
writes its cameras' runtime state beside the lease, which is what the API shows (``FleetCameras``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from service.models.base import row_id
from service.models.cameras import Camera
from service.settings import Settings
from service.workers.cameras import CameraRuntime
from service.workers.supervisor import Supervisor
from vision import StreamState

log = logging.getLogger(__name__)

PREFIX = "streetscan:camera:"
WORKERS_KEY = "streetscan:camera-workers"
RUNTIME = TypeAdapter(CameraRuntime)

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1], KEYS[2]) end return 0"


def redis_client(settings: Settings) -> Any:
    """A Redis client on the broker's server (``broker_url`` must be a redis:// URL)."""
    import redis

    return redis.Redis.from_url(settings.broker_url, decode_responses=True)


class CameraLeases:
    """One worker's leases (``worker`` is its name in the fleet); ``ttl_s`` is a lease's life."""

    def __init__(self, client: Any, worker: str, ttl_s: float) -> None:
        self.client, self.worker, self.ttl_ms = client, worker, int(ttl_s * 1000)

    def acquire(self, camera_id: int) -> bool:
        """Take camera ``camera_id`` if no worker holds it."""
        return bool(self.client.set(f"{PREFIX}{camera_id}", self.worker, nx=True, px=self.ttl_ms))

    def renew(self, camera_id: int) -> bool:
        """Extend this worker's lease; False when it no longer holds the camera."""
        return bool(self.client.eval(_RENEW, 1, f"{PREFIX}{camera_id}", self.worker, self.ttl_ms))

    def release(self, camera_id: int) -> None:
        """Give the camera up (and its runtime state) if this worker holds it."""
        self.client.eval(_RELEASE, 2, f"{PREFIX}{camera_id}", f"{PREFIX}{camera_id}:runtime", self.worker)

    def publish(self, camera_id: int, runtime: CameraRuntime) -> None:
        """Write what the camera is doing now, for the API (it lapses with the lease)."""
        self.client.set(f"{PREFIX}{camera_id}:runtime", RUNTIME.dump_json(runtime).decode(), px=self.ttl_ms)

    def live_workers(self) -> int:
        """Workers that ran cameras within a lease's life, this one included (it says so here)."""
        now = time.time()
        with self.client.pipeline() as pipe:
            pipe.zadd(WORKERS_KEY, {self.worker: now})
            pipe.zremrangebyscore(WORKERS_KEY, 0, now - self.ttl_ms / 1000)
            pipe.zcard(WORKERS_KEY)
            return int(pipe.execute()[-1])

    def leave(self) -> None:
        self.client.zrem(WORKERS_KEY, self.worker)


class FleetCameras:
    """The API's view of the fleet's cameras, in place of an in-process supervisor: changes reach
    the workers when they next read the camera table, the runtime state comes from the leases."""

    def __init__(self, settings: Settings) -> None:
        self.client = redis_client(settings)

    def apply(self, camera: Camera) -> None:
        """Nothing to do here: the workers read the camera table every sixth of ``camera_lease_s``."""

    def remove(self, camera_id: int) -> None:
        """Likewise."""

    def stop(self) -> None:
        """Close the connection to Redis (the cameras run on)."""
        self.client.close()

    def runtime(self, camera_id: int) -> CameraRuntime:
        """The state its worker last wrote, with the worker's name; stopped when no worker holds it."""
        worker, state = self.client.mget(f"{PREFIX}{camera_id}", f"{PREFIX}{camera_id}:runtime")
        if worker is None or state is None:
            return CameraRuntime(status=StreamState.stopped, last_error="no worker runs this camera now")
        runtime: CameraRuntime = RUNTIME.validate_json(state)
        return runtime


def run_leased_cameras(engine: Engine, settings: Settings, worker: str, stop: threading.Event) -> None:
    """Run this worker's share of the enabled cameras until ``stop`` is set, then give them up."""
    leases = CameraLeases(redis_client(settings), worker, settings.camera_lease_s / 2)
    supervisor = Supervisor(engine, settings)
    supervisor.writer.start()
    held: set[int] = set()
    try:
        while True:
            try:
                held = _share(engine, leases, held)
                supervisor.sync(held.__contains__)
                for camera_id in held:
                    leases.publish(camera_id, supervisor.runtime(camera_id))
                supervisor.report_states()
            except Exception:
                log.exception("camera leases: a round failed; this worker's cameras stop until the next")
                held = set()
                supervisor.sync(held.__contains__)
            if stop.wait(settings.camera_lease_s / 6):
                break
    finally:
        supervisor.stop()
        for camera_id in held:
            leases.release(camera_id)
        leases.leave()


def _share(engine: Engine, leases: CameraLeases, held: set[int]) -> set[int]:
    """The cameras this worker runs from now: those it still holds and that are enabled, plus free
    ones up to its fair share. Leases of cameras no longer enabled, and of those over its share, are
    given up."""
    with Session(engine) as session:
        enabled = [row_id(c) for c in session.exec(select(Camera).where(col(Camera.enabled)).order_by(col(Camera.id)))]
    kept = {c for c in held if c in enabled and leases.renew(c)}
    for camera_id in held - set(enabled):
        leases.release(camera_id)
    share = math.ceil(len(enabled) / leases.live_workers())
    for camera_id in enabled:
        if len(kept) >= share:
            break
        if camera_id not in kept and (leases.renew(camera_id) or leases.acquire(camera_id)):
            log.info("camera %d: taken by %s", camera_id, leases.worker)
            kept.add(camera_id)
    for camera_id in sorted(kept)[share:]:  # more than its share since other workers joined
        leases.release(camera_id)
        kept.discard(camera_id)
    for camera_id in held - kept:
        log.info("camera %d: given up by %s", camera_id, leases.worker)
    return kept
