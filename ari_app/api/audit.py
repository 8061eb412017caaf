"""The audit trail of sensitive API actions (the rules' access-rights record).

Rows go to an `AuditSink` — any `ari_app.records.types.RecordSink` is one — before the
action's result is returned to the client. `detail` is `key=value` pairs, `outcome` first:
`ok`, `denied` (403 on a sensitive route), `failed` (the engine refused) or `error`.
"""

from __future__ import annotations

import json
import re
from typing import Protocol

from ari_app.api.auth import Clock, Principal
from ari_app.records.types import AuditRecord

_PLAIN = re.compile(r"^[A-Za-z0-9_.:/@+-]*$")


class AuditSink(Protocol):
    """Takes audit rows; like `RecordSink.submit`, non-blocking and never raising."""

    def submit(self, record: AuditRecord) -> None: ...


def format_detail(outcome: str, fields: dict[str, str]) -> str:
    parts = [f"outcome={outcome}"]
    for key, value in fields.items():
        shown = value if _PLAIN.fullmatch(value) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={shown}")
    return " ".join(parts)


class Auditor:
    def __init__(self, sink: AuditSink, clock: Clock) -> None:
        self._sink = sink
        self._clock = clock

    def write(
        self,
        who: Principal,
        action: str,
        object_type: str,
        object_id: str,
        outcome: str,
        fields: dict[str, str] | None = None,
    ) -> None:
        self._sink.submit(
            AuditRecord(
                actor=who.name,
                role=who.role,
                action=action,
                object_type=object_type,
                object_id=object_id,
                at=self._clock(),
                detail=format_detail(outcome, fields or {}),
            )
        )
