"""The building blocks of the settings: strict models, secrets, media and time-span
checks, and the one error type that names every bad key."""

from __future__ import annotations

import os
import re
from datetime import date, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

MEDIA_SCHEMES = ("sound:", "digits:", "number:", "recording:", "tone:", "characters:")
PLACEHOLDERS = frozenset({"agent_id", "agent_name", "queue", "organisation"})
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENDPOINT_RE = re.compile(r"^[A-Za-z]+/[^/\s]+(/[^\s]+)?$")
_SPAN_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
# A phone the API may name as a device: `Tech/endpoint`, nothing after it (no `@context`, no
# `/number`: those are dial strings that leave the site). Not `Local/`, which runs dialplan.
PHONE_RE = re.compile(r"(?!Local/)[A-Za-z][A-Za-z0-9]{0,15}/[A-Za-z0-9_.-]{1,64}", re.IGNORECASE)

Role = Literal["agent", "team_lead", "supervisor", "admin"]
Strategy = Literal["longest-idle", "round-robin", "fewest-calls", "skills"]


class ConfigError(Exception):
    """The configuration is unusable; `errors` lists every problem with its key."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors

    def print_errors(self) -> None:
        """One `error: key: problem` line each, as every `hotline` sub-command reports them."""
        for line in self.errors:
            print(f"error: {line}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_media(items: tuple[str, ...]) -> tuple[str, ...]:
    for item in items:
        if not item.startswith(MEDIA_SCHEMES):
            raise ValueError(f"media {item!r} must start with one of {', '.join(MEDIA_SCHEMES)}")
        for name in _PLACEHOLDER_RE.findall(item):
            if name not in PLACEHOLDERS:
                raise ValueError(f"unknown placeholder {{{name}}} in {item!r}")
    return items


MediaList = Annotated[tuple[str, ...], Field(default=())]
_Date = date


def _check_timezone(v: str) -> str:

    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {v!r}") from exc
    return v


def _check_spans(where: str, spans: tuple[str, ...]) -> None:
    for span in spans:
        m = _SPAN_RE.fullmatch(span)
        if not m or (m[1], m[2]) >= (m[3], m[4]):
            raise ValueError(f"{where}: {span!r} is not a HH:MM-HH:MM span")


def _parse_spans(spans: tuple[str, ...]) -> list[tuple[time, time]]:
    out = []
    for span in spans:
        start, end = span.split("-")
        h2, m2 = (int(x) for x in end.split(":"))
        out.append(
            (time.fromisoformat(start), time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2))
        )
    return out


class Secret(_Strict):
    """A secret given inline or, better, by the name of an environment variable."""

    value: str = Field(default="", repr=False)
    env: str = ""

    def resolve(self) -> str:
        if self.env:
            found = os.environ.get(self.env)
            if found is None:
                raise ConfigError([f"environment variable {self.env} is not set"])
            return found
        return self.value

def _dupes(section: str, key: str, values: list[str], errors: list[str]) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            errors.append(f"{section}: duplicate {key} {v!r}")
        seen.add(v)
