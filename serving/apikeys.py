"""API keys: creation, parsing, hashing and lookup.

A key reads ``sy_<prefix>_<secret>``: ``prefix`` (8 hex characters) is stored in clear and indexes the key,
``secret`` carries 256 bits of randomness. Only ``sha256(key)`` is stored; because the key is high-entropy, a fast
hash is enough (there is nothing to brute-force) and verification is a constant-time compare of two digests.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from oltp.models import ApiKey
from stockyard.errors import ConflictError, ValidationError

__all__ = [
    "SCOPES",
    "StoredKey",
    "create_api_key",
    "hash_key",
    "key_matches",
    "lookup_api_key",
    "parse_key",
    "validate_scopes",
]

SCOPES: frozenset[str] = frozenset(
    {
        "inference:read",
        "orders:write",
        "orders:read",
        "inventory:read",
        "shipments:write",
        "plans:read",
        "admin",
    }
)
_KEY_RE = re.compile(r"^sy_([0-9a-f]{8})_([A-Za-z0-9_-]{32,128})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:@-]{0,99}$")


@dataclass(frozen=True)
class StoredKey:
    """What the server knows about a key: never the key itself.

    Attributes:
        name: Unique human name of the key.
        prefix: The public part of the key, its lookup index.
        key_hash: Hex sha256 of the whole key.
        scopes: Granted scopes.
        is_active: False once revoked.
    """

    name: str
    prefix: str
    key_hash: str
    scopes: frozenset[str]
    is_active: bool = True


def hash_key(key: str) -> str:
    """Hex sha256 of a plaintext key.

    Args:
        key: The plaintext key.

    Returns:
        64 hex characters.
    """
    return hashlib.sha256(key.encode()).hexdigest()


def parse_key(key: str) -> str | None:
    """The prefix of a well-formed key.

    Args:
        key: Candidate plaintext key.

    Returns:
        The 8-character prefix, or ``None`` when ``key`` is not of the form ``sy_<prefix>_<secret>``.
    """
    match = _KEY_RE.match(key)
    return match.group(1) if match else None


def key_matches(key: str, stored: StoredKey) -> bool:
    """Constant-time check of a plaintext key against its stored hash.

    Args:
        key: The plaintext key.
        stored: The stored record found by the key's prefix.

    Returns:
        True when the key hashes to ``stored.key_hash``.
    """
    return hmac.compare_digest(hash_key(key), stored.key_hash)


def validate_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """Check scope names.

    Args:
        scopes: Requested scopes.

    Returns:
        The scopes as a frozen set.

    Raises:
        ValidationError: Empty, or a scope that is not one of :data:`SCOPES`.
    """
    wanted = frozenset(s.strip() for s in scopes)
    if not wanted:
        raise ValidationError("at least one scope is required", field="scopes")
    unknown = sorted(wanted - SCOPES)
    if unknown:
        raise ValidationError(
            f"unknown scope(s) {', '.join(unknown)}; valid: {', '.join(sorted(SCOPES))}",
            field="scopes",
            value=unknown,
        )
    return wanted


def create_api_key(*, session: Session, name: str, scopes: Iterable[str]) -> str:
    """Create a key, store its hash and return the plaintext (the only time it is ever visible).

    Args:
        session: An open session; the caller commits.
        name: Unique name of the key (who or what uses it).
        scopes: Scopes granted, from :data:`SCOPES`.

    Returns:
        The plaintext key ``sy_<prefix>_<secret>``.

    Raises:
        ValidationError: Bad name or scope.
        ConflictError: A key with this name exists.
    """
    if not _NAME_RE.match(name):
        raise ValidationError(
            "name must be 1-100 characters: letters, digits, space and ._:@- (starting with a letter or digit)",
            field="name",
            value=name,
        )
    granted = validate_scopes(scopes)
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ConflictError(f"an API key named {name!r} already exists", field="name", value=name)
    while True:
        prefix = secrets.token_hex(4)
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            break
    key = f"sy_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(ApiKey(name=name, prefix=prefix, key_hash=hash_key(key), scopes=" ".join(sorted(granted))))
    session.flush()
    return key


def lookup_api_key(*, session: Session, prefix: str) -> StoredKey | None:
    """The stored key with this prefix.

    Args:
        session: An open session.
        prefix: The key's public prefix.

    Returns:
        The stored record, or ``None``.
    """
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        return None
    return StoredKey(
        name=row.name,
        prefix=row.prefix,
        key_hash=row.key_hash,
        scopes=frozenset(row.scopes.split()),
        is_active=row.is_active,
    )
