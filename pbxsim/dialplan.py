"""Asterisk extension patterns (`_1XXX`, `_NXX.`), so the simulated dialplan routes like
extensions.conf does: a phone's blind transfer only reaches Stasis when its target matches.
"""

from __future__ import annotations

import re

_CLASSES = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}


class PatternError(ValueError):
    """The pattern is not a valid Asterisk extension pattern."""


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """`_` patterns: X Z N digit classes, [..] sets, `.` one or more, `!` zero or more;
    anything else (and a pattern without `_`) is literal."""
    if not pattern.startswith("_"):
        return re.compile(re.escape(pattern))
    out: list[str] = []
    body = pattern[1:]
    i = 0
    while i < len(body):
        c = body[i]
        if c.upper() in _CLASSES:
            out.append(_CLASSES[c.upper()])
        elif c == "[":
            end = body.find("]", i)
            if end < 0:
                raise PatternError(f"unclosed [ in {pattern!r}")
            members = body[i + 1:end]
            if not members:
                raise PatternError(f"empty [] in {pattern!r}")
            out.append("[" + "".join(ch if ch == "-" else re.escape(ch) for ch in members) + "]")
            i = end
        elif c == ".":
            out.append(".+")
        elif c == "!":
            out.append(".*")
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out))
    except re.error as exc:
        raise PatternError(f"bad pattern {pattern!r}: {exc}") from exc


def exten_matches(pattern: str, exten: str) -> bool:
    return pattern_regex(pattern).fullmatch(exten) is not None
