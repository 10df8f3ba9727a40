"""Authentication (API keys with scopes) and per-key rate limiting.

Requests carry ``Authorization: Bearer sy_<prefix>_<secret>``. The key's record is found by prefix in a
:class:`KeyStore` and the whole key is checked against the stored sha256 in constant time. The SQL store caches
records for ``ttl_s`` seconds so the hot path (forecasts) does not touch PostgreSQL; a revoked key stops working
within that time. ``admin`` grants every scope.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, func, update

from oltp.db import session_scope
from oltp.models import ApiKey
from serving.apikeys import StoredKey, key_matches, lookup_api_key, parse_key

__all__ = [
    "AuthError",
    "InMemoryKeyStore",
    "KeyStore",
    "Principal",
    "RateLimiter",
    "SqlKeyStore",
    "authenticate",
]


class AuthError(Exception):
    """Authentication or authorisation failed.

    Attributes:
        status_code: 401 (no or bad key) or 403 (missing scope).
        message: Reason shown to the client.
    """

    def __init__(self, status_code: int, message: str) -> None:
        """Create the error.

        Args:
            status_code: 401 or 403.
            message: Reason shown to the client.
        """
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True)
class Principal:
    """The authenticated caller.

    Attributes:
        name: Name of the API key.
        prefix: Public prefix of the key (rate-limit bucket, metrics label).
        scopes: Granted scopes.
    """

    name: str
    prefix: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        """Whether this caller may use ``scope``.

        Args:
            scope: A scope name.

        Returns:
            True when granted directly or through ``admin``.
        """
        return scope in self.scopes or "admin" in self.scopes


class KeyStore(Protocol):
    """Where stored keys are looked up (the SQL table in production, a dict in unit tests)."""

    def get(self, prefix: str) -> StoredKey | None:
        """The stored key with this prefix, or ``None``."""
        ...  # pragma: no cover - protocol

    def cached(self, prefix: str) -> tuple[bool, StoredKey | None]:
        """``(hit, key)`` from memory only; ``hit`` is False when :meth:`get` must be called (may block)."""
        ...  # pragma: no cover - protocol


class InMemoryKeyStore:
    """A fixed set of keys held in memory (unit tests, static deployments)."""

    def __init__(self, keys: Iterable[StoredKey] = ()) -> None:
        """Create the store.

        Args:
            keys: Stored keys.
        """
        self._keys = {k.prefix: k for k in keys}

    def add(self, key: StoredKey) -> None:
        """Add or replace a key.

        Args:
            key: The stored key.
        """
        self._keys[key.prefix] = key

    def get(self, prefix: str) -> StoredKey | None:
        """The key with this prefix.

        Args:
            prefix: Key prefix.

        Returns:
            The key or ``None``.
        """
        return self._keys.get(prefix)

    def cached(self, prefix: str) -> tuple[bool, StoredKey | None]:
        """Everything is in memory: always a hit.

        Args:
            prefix: Key prefix.

        Returns:
            ``(True, key or None)``.
        """
        return True, self._keys.get(prefix)


class SqlKeyStore:
    """Keys in the ``api_keys`` table, cached in memory for ``ttl_s`` seconds.

    A database lookup also stamps ``last_used_at``, so the stamp is accurate to about ``ttl_s`` without a write
    per request.
    """

    _MAX_ENTRIES = 10_000

    def __init__(self, engine_factory: Callable[[], Engine], *, ttl_s: float = 30.0) -> None:
        """Create the store.

        Args:
            engine_factory: Returns the OLTP engine (called lazily, on the first lookup).
            ttl_s: Seconds a looked-up record (or its absence) is trusted.
        """
        self._engine_factory = engine_factory
        self._ttl = ttl_s
        self._cache: dict[str, tuple[float, StoredKey | None]] = {}
        self._lock = threading.Lock()

    def cached(self, prefix: str) -> tuple[bool, StoredKey | None]:
        """Cached record, if fresh.

        Args:
            prefix: Key prefix.

        Returns:
            ``(hit, key)``.
        """
        entry = self._cache.get(prefix)
        if entry is not None and entry[0] > time.monotonic():
            return True, entry[1]
        return False, None

    def get(self, prefix: str) -> StoredKey | None:
        """Look the key up in PostgreSQL (blocking) and cache the answer.

        Args:
            prefix: Key prefix.

        Returns:
            The stored key or ``None``.
        """
        hit, key = self.cached(prefix)
        if hit:
            return key
        with session_scope(self._engine_factory()) as session:
            key = lookup_api_key(session=session, prefix=prefix)
            if key is not None and key.is_active:
                session.execute(update(ApiKey).where(ApiKey.prefix == prefix).values(last_used_at=func.now()))
        with self._lock:
            if len(self._cache) >= self._MAX_ENTRIES:
                self._cache.clear()
            self._cache[prefix] = (time.monotonic() + self._ttl, key)
        return key


def authenticate(token: str | None, stored: StoredKey | None) -> Principal:
    """Check a presented key against the record found by its prefix.

    Args:
        token: The bearer token presented, or ``None``.
        stored: The record found for the token's prefix, or ``None``.

    Returns:
        The caller.

    Raises:
        AuthError: 401 when the key is missing, malformed, unknown, revoked or wrong.
    """
    if not token:
        raise AuthError(401, "missing API key: send 'Authorization: Bearer <key>'")
    if stored is None or not stored.is_active or not key_matches(token, stored):
        raise AuthError(401, "invalid or revoked API key")
    return Principal(name=stored.name, prefix=stored.prefix, scopes=stored.scopes)


def prefix_of(token: str | None) -> str | None:
    """The prefix of a presented token, or ``None`` if it is absent or malformed.

    Args:
        token: The bearer token.

    Returns:
        The prefix or ``None``.
    """
    return parse_key(token) if token else None


class RateLimiter:
    """Per-key token buckets: ``per_minute`` tokens a minute, holding at most a minute's worth.

    Thread-safe; state lives in this process (each server process limits on its own).
    """

    def __init__(self, per_minute: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Create the limiter.

        Args:
            per_minute: Sustained requests a minute per key; also the burst size. ``<= 0`` disables limiting.
            clock: Monotonic seconds (injectable for tests).
        """
        self.per_minute = float(per_minute)
        self._rate = self.per_minute / 60.0
        self._capacity = max(1.0, self.per_minute)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Take one token for ``key``.

        Args:
            key: Bucket name (the API key prefix).

        Returns:
            ``None`` when allowed, else the seconds until a token is available (for ``Retry-After``).
        """
        if self._rate <= 0:
            return None
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self._rate

    @staticmethod
    def retry_after_header(seconds: float) -> str:
        """Whole seconds for the ``Retry-After`` header (at least 1).

        Args:
            seconds: Wait time.

        Returns:
            The header value.
        """
        return str(max(1, math.ceil(seconds)))
