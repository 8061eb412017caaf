"""Caller numbers out of the event journal: each event rewritten as the engine's setting says.

With `caller_number_storage = "masked"` or `"hashed"` the journal must not keep what the
records do not keep. ARI events carry the caller's number (and display name) in every
channel snapshot's CallerID objects — `caller` and `connected`, on `channel`, `peer`,
`transferee`, `replace_channel`, `referred_by.source_channel` / `connected_channel`… — and
may repeat it anywhere else as text: a dial string, a channel name, `dialplan.exten`, a
`ChannelVarset` value, Stasis arguments. `CallerRedaction` therefore:

1. passes the `number` and `name` of every `caller` / `connected` object, at any depth,
   through `store` (the engine's `CallerNumberPolicy.store`: mask or HMAC, the same rule as
   the call records);
2. remembers those numbers (digits only, at least `MIN_DIGITS` of them; a bounded set of
   the latest `REMEMBERED`), and in every other string of the event replaces each
   occurrence of a remembered number inside a run of digits by its stored form.

Left unchanged, so the KPI fold reads exactly what it read before: `type`, `timestamp`,
every `id`, and the values of `HOTLINE_*` channel variables (set by the engine: role, queue,
agent id, call id — never a caller's number). Masking and hashing are deterministic, so
duplicate lines stay duplicates. Numbers shorter than `MIN_DIGITS` (internal extensions)
are still stored masked in `caller` / `connected` but not searched for elsewhere, where
they would hit agent ids.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

MIN_DIGITS = 5
REMEMBERED = 65536
_CALLER_ID_KEYS = frozenset({"caller", "connected"})
_KEPT_KEYS = frozenset({"type", "timestamp", "id"})
_DIGIT_RUN = re.compile(rf"\d{{{MIN_DIGITS},}}")
_NOT_DIGIT = re.compile(r"\D")


class CallerRedaction:
    """Rewrites parsed events so that no caller number (or caller name) is left in them.

    `store(text) -> text` is how a number is kept at rest (`CallerNumberPolicy.store`).
    The event given is never modified: a redacted copy is returned.
    """

    def __init__(self, store: Callable[[str], str]) -> None:
        self._store = store
        self._stored: dict[str, str] = {}  # text -> stored form (HMAC is not free)
        self._known: OrderedDict[str, str] = OrderedDict()  # digits -> stored form
        self._sizes: tuple[int, ...] = ()  # lengths of known numbers, longest first

    def event(self, event: Any) -> Any:
        """A copy of `event` (a parsed JSON value) with caller numbers and names stored."""
        self._learn(event)
        if type(event) is dict and event.get("type") == "ChannelVarset":
            var = event.get("variable")
            if type(var) is str and var.startswith("HOTLINE_"):
                return {k: (v if k == "value" else self._copy(k, v)) for k, v in event.items()}
        return self._walk(event)

    def _learn(self, node: Any) -> None:
        if type(node) is dict:
            for key, value in node.items():
                if key in _CALLER_ID_KEYS and type(value) is dict:
                    for field in ("number", "name"):
                        text = value.get(field)
                        if type(text) is str:
                            self._remember(text)
                elif type(value) is dict or type(value) is list:
                    self._learn(value)
        elif type(node) is list:
            for item in node:
                self._learn(item)

    def _remember(self, text: str) -> None:
        digits = _NOT_DIGIT.sub("", text)
        if len(digits) < MIN_DIGITS or digits in self._known:
            return
        self._known[digits] = self._store_text(digits)
        if len(self._known) > REMEMBERED:
            self._known.popitem(last=False)
        if len(digits) not in self._sizes:
            self._sizes = tuple(sorted({*self._sizes, len(digits)}, reverse=True))

    def _walk(self, node: Any) -> Any:
        if type(node) is dict:
            return {k: self._copy(k, v) for k, v in node.items()}
        if type(node) is list:
            return [self._walk(item) for item in node]
        if type(node) is str:
            return self._text(node)
        return node

    def _copy(self, key: str, value: Any) -> Any:
        if key in _KEPT_KEYS:
            return value
        if key in _CALLER_ID_KEYS and type(value) is dict:
            return self._caller_id(value)
        if key == "channelvars" and type(value) is dict:
            return {
                name: (v if type(name) is str and name.startswith("HOTLINE_") else self._walk(v))
                for name, v in value.items()
            }
        return self._walk(value)

    def _caller_id(self, caller_id: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in caller_id.items():
            if key in ("number", "name") and type(value) is str and value:
                out[key] = self._store_text(value)
            else:
                out[key] = self._walk(value)
        return out

    def _store_text(self, text: str) -> str:
        stored = self._stored.get(text)
        if stored is None:
            if len(self._stored) >= REMEMBERED:
                self._stored.clear()
            stored = self._stored[text] = self._store(text)
        return stored

    def _text(self, text: str) -> str:
        if not self._sizes or len(text) < MIN_DIGITS:
            return text
        return _DIGIT_RUN.sub(self._run, text)

    def _run(self, match: re.Match[str]) -> str:
        return self._scrub(match.group())

    def _scrub(self, run: str) -> str:
        """`run` (digits) with every known number inside it replaced, longest first."""
        known = self._known
        for size in self._sizes:
            for i in range(len(run) - size + 1):
                stored = known.get(run[i:i + size])
                if stored is not None:
                    return self._scrub(run[:i]) + stored + self._scrub(run[i + size:])
        return run
