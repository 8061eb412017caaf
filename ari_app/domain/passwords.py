"""Hashing of agent PINs and API passwords: configs hold hashes, never the secrets.

PBKDF2-SHA256 from the standard library: no native dependency, tunable cost, constant-time
comparison. Format: `pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCHEME = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 200_000


def hash_secret(
    secret: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)
    return f"{SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def is_hash(value: str) -> bool:
    parts = value.split("$")
    return len(parts) == 4 and parts[0] == SCHEME and parts[1].isdigit()


def verify_secret(secret: str, stored: str) -> bool:
    """True if `secret` matches the stored hash; False for any malformed hash."""
    if not is_hash(stored):
        return False
    _, iterations, salt_hex, digest_hex = stored.split("$")
    try:
        salt = bytes.fromhex(salt_hex)
        expected = bytes.fromhex(digest_hex)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, int(iterations))
    return hmac.compare_digest(digest, expected)
