"""Failed-login throttling, in memory: after ``max_failures`` failures of one key (an account name,
a client address) it is locked for ``lockout_s``, doubling with each further failure up to
``max_lockout_s``; a success clears the key, and a key left alone for ``max_lockout_s`` after its
last failure is forgotten. At most ``capacity`` keys are kept (the least recently failed go first)."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int
    last: float
    locked_until: float


class Throttle:
    """Times are seconds (Unix time from the app's clock)."""

    def __init__(self, max_failures: int, lockout_s: float, max_lockout_s: float, capacity: int = 10_000) -> None:
        self.max_failures, self.lockout_s, self.max_lockout_s = max_failures, lockout_s, max_lockout_s
        self.capacity = capacity
        self._keys: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str, now: float) -> int:
        """Whole seconds until ``key`` may try again; 0 when it may now."""
        with self._lock:
            failures = self._current(key, now)
            return math.ceil(failures.locked_until - now) if failures and failures.locked_until > now else 0

    def failed(self, key: str, now: float) -> None:
        """Count a failure of ``key``; lock it once it has ``max_failures``."""
        with self._lock:
            failures = self._current(key, now) or _Failures(0, now, 0.0)
            failures.count += 1
            failures.last = now
            if failures.count >= self.max_failures:
                wait = self.lockout_s * 2 ** min(failures.count - self.max_failures, 32)
                failures.locked_until = now + min(wait, self.max_lockout_s)
            self._keys[key] = failures
            self._keys.move_to_end(key)
            while len(self._keys) > self.capacity:
                self._keys.popitem(last=False)

    def succeeded(self, key: str) -> None:
        """Forget the failures of ``key``."""
        with self._lock:
            self._keys.pop(key, None)

    def _current(self, key: str, now: float) -> _Failures | None:
        failures = self._keys.get(key)
        if failures is not None and now - max(failures.last, failures.locked_until) > self.max_lockout_s:
            del self._keys[key]
            return None
        return failures
