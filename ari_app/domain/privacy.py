"""Caller numbers at rest and in logs: full, masked (last 4 digits) or HMAC-hashed.

Hashing with a keyed HMAC (not a bare SHA-256) matters: phone numbers are few enough to
brute-force, so without the secret salt a hash would be as good as the number.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Literal

Storage = Literal["full", "masked", "hashed"]
HASH_PREFIX = "hmac-sha256:"


def mask(number: str) -> str:
    """Keep at most the last 4 characters: `13800001234` -> `*******1234`. Numbers of
    4 characters or fewer are masked entirely (they would otherwise be shown whole)."""
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]


def hashed(number: str, salt: str) -> str:
    digest = hmac.new(salt.encode(), number.encode(), hashlib.sha256).hexdigest()
    return HASH_PREFIX + digest


@dataclass(frozen=True)
class CallerNumberPolicy:
    """How numbers are stored; the salt never appears in repr or logs."""

    storage: Storage = "masked"
    salt: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.storage not in ("full", "masked", "hashed"):
            raise ValueError(f"caller_number_storage {self.storage!r} is not full|masked|hashed")
        if self.storage == "hashed" and not self.salt:
            raise ValueError(
                "engine.caller_number_storage = 'hashed' needs engine.caller_number_salt"
            )

    def store(self, number: str) -> str:
        if self.storage == "full":
            return number
        if self.storage == "masked":
            return mask(number)
        return hashed(number, self.salt)
