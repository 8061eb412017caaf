"""The AGI wire protocol as pure functions: environment lines, commands, result lines.

No I/O here, so every malformed line Asterisk (or an impostor) could send is testable
without a socket. Lines are `str` without their trailing newline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_LINE_BYTES = 16 * 1024
MAX_ENV_LINES = 256

_ENV_KEY_RE = re.compile(r"^agi_[a-z0-9_]{1,64}$")
_RESULT_RE = re.compile(
    r"^200 result=(?P<result>\S*)(?: \((?P<data>.*)\))?(?P<extra>(?: [A-Za-z_]+=\S*)*)$"
)
_CODE_RE = re.compile(r"^(?P<code>[1-5]\d\d)(?P<sep>[ -])(?P<text>.*)$")


class AgiProtocolError(Exception):
    """A line that does not follow the AGI protocol; the connection cannot be trusted."""


@dataclass(frozen=True)
class Response:
    """One command's answer: `200 result=...` or an error code with its text."""

    code: int
    result: str = ""
    data: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def endpos(self) -> int | None:
        value = self.extra.get("endpos")
        return int(value) if value is not None and value.lstrip("-").isdigit() else None


@dataclass(frozen=True)
class Hangup:
    """Asterisk's `HANGUP` notice: the channel is gone, later commands get 511."""


def parse_env_line(line: str) -> tuple[str, str]:
    """`agi_callerid: 1234` -> ("agi_callerid", "1234")."""
    key, sep, value = line.partition(":")
    if not sep or not _ENV_KEY_RE.match(key):
        raise AgiProtocolError(f"not an AGI environment line: {line[:80]!r}")
    return key, value.removeprefix(" ")


def format_command(*words: str) -> bytes:
    """One command line; arguments quoted as Asterisk's AGI argument parser expects.

    A newline inside an argument would let a caller-controlled value (a caller ID, say)
    inject a second command, so control characters are refused outright.
    """
    if not words or not words[0]:
        raise ValueError("empty AGI command")
    parts: list[str] = []
    for word in words:
        if any(ch in word for ch in "\r\n\0"):
            raise ValueError("AGI arguments cannot contain CR, LF or NUL")
        if word and not any(ch in word for ch in ' \t"\\'):
            parts.append(word)
        else:
            parts.append('"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return (" ".join(parts) + "\n").encode()


class ResponseParser:
    """Feeds result lines one at a time; yields a Response once one is complete.

    Most answers are one line. `520-` opens a usage block that ends with a `520 ` line;
    a `HANGUP` line may arrive at any moment and does not answer the pending command.
    """

    def __init__(self) -> None:
        self._usage: list[str] | None = None

    def feed(self, line: str) -> Response | Hangup | None:
        if self._usage is not None:
            if line.startswith("520 "):
                usage, self._usage = self._usage, None
                return Response(code=520, text="\n".join(usage))
            if len(self._usage) >= MAX_ENV_LINES:
                raise AgiProtocolError("520 usage block too long")
            self._usage.append(line)
            return None
        if line == "HANGUP":
            return Hangup()
        if line.startswith("200 "):
            m = _RESULT_RE.match(line)
            if not m:
                raise AgiProtocolError(f"malformed 200 line: {line[:80]!r}")
            extra = dict(pair.split("=", 1) for pair in m["extra"].split())
            return Response(code=200, result=m["result"], data=m["data"], extra=extra)
        m = _CODE_RE.match(line)
        if not m:
            raise AgiProtocolError(f"not an AGI result line: {line[:80]!r}")
        code = int(m["code"])
        if m["sep"] == "-":
            if code != 520:
                raise AgiProtocolError(f"unexpected continuation line: {line[:80]!r}")
            self._usage = []
            return None
        return Response(code=code, text=m["text"])
