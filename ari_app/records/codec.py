"""Records as JSON lines (the spool's format) and back, exactly."""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime
from typing import Any

import orjson

from ari_app.records.types import RECORD_TYPES, Record

_BY_NAME: dict[str, type[Record]] = {t.record_type: t for t in RECORD_TYPES}
_DATETIME_FIELDS: dict[str, frozenset[str]] = {
    t.record_type: frozenset(
        name
        for name, hint in typing.get_type_hints(t).items()
        if hint in (datetime, datetime | None)
    )
    for t in RECORD_TYPES
}


class CodecError(ValueError):
    """A spool line that is not a record this code knows."""


def encode(record: Record) -> bytes:
    """One JSON line (with its newline); datetimes as ISO 8601 with offset."""
    body = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    return orjson.dumps({"t": record.record_type, "r": body}) + b"\n"


def decode(line: bytes) -> Record:
    try:
        data = orjson.loads(line)
        cls = _BY_NAME[data["t"]]
        body: dict[str, Any] = dict(data["r"])
        for name in _DATETIME_FIELDS[cls.record_type]:
            if body.get(name) is not None:
                body[name] = datetime.fromisoformat(body[name])
        return cls(**body)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CodecError(f"not a record: {exc}") from None
