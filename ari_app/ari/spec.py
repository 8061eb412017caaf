"""Asterisk's own ARI specification (Swagger 1.2), read with a few lines of our own.

Generic OpenAPI tools do not read Swagger 1.2. The client and the simulator are both
checked against this, so neither can drift from the real Asterisk.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

RESOURCES = (
    "applications", "asterisk", "bridges", "channels", "deviceStates", "endpoints",
    "events", "mailboxes", "playbacks", "recordings", "sounds",
)


@dataclass(frozen=True)
class Param:
    name: str
    param_type: str  # "query" | "path" | "body"
    data_type: str
    required: bool
    allow_multiple: bool
    allowed_values: tuple[str, ...] | None


@dataclass(frozen=True)
class ErrorResponse:
    code: int
    reason: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # e.g. "/channels/{channelId}/dial"
    nickname: str
    resource: str
    params: Mapping[str, Param]
    errors: tuple[ErrorResponse, ...]
    response_class: str
    pattern: re.Pattern[str] = field(compare=False, repr=False)

    def match(self, path: str) -> dict[str, str] | None:
        """Path variables if `path` (no /ari prefix) is this operation's path."""
        m = self.pattern.fullmatch(path)
        return m.groupdict() if m else None


@dataclass(frozen=True)
class Model:
    id: str
    properties: Mapping[str, Mapping[str, Any]]
    sub_types: tuple[str, ...]

    def required(self) -> frozenset[str]:
        return frozenset(k for k, v in self.properties.items() if v.get("required"))


@dataclass(frozen=True)
class AriSpec:
    operations: tuple[Operation, ...]
    models: Mapping[str, Model]

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation serving `method path`, with its path variables."""
        for op in self._literal_first().get(method, ()):
            found = op.match(path)
            if found is not None:
                return op, found
        return None

    def _literal_first(self) -> dict[str, list[Operation]]:
        """Operations by method, literal paths before templated ones; built once (the
        simulator looks up every request)."""
        cached: dict[str, list[Operation]] | None = self.__dict__.get("_by_method")
        if cached is None:
            cached = {}
            for op in sorted(self.operations, key=lambda o: o.path.count("{")):
                cached.setdefault(op.method, []).append(op)
            object.__setattr__(self, "_by_method", cached)
        return cached

    def event_types(self) -> frozenset[str]:
        return frozenset(self.models["Event"].sub_types)

    def event_fields(self, event_type: str) -> frozenset[str]:
        """All properties of an event type, its own and the base Message/Event ones."""
        names = set(self.models[event_type].properties)
        names |= set(self.models["Event"].properties) | set(self.models["Message"].properties)
        return frozenset(names)


def default_spec_dir() -> Path:
    """`$HOTLINE_ARI_SPEC`, else the spec shipped in the package (`ari_app/ari/api_docs`,
    vendored from Asterisk by `scripts/vendor_ari_spec.py`)."""
    env = os.environ.get("HOTLINE_ARI_SPEC")
    if env:
        return Path(env)
    return Path(str(resources.files("ari_app.ari.api_docs")))


def _compile(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    regex = "".join(
        f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts
    )
    return re.compile(regex)


def _allowed(raw: Mapping[str, Any]) -> tuple[str, ...] | None:
    av = raw.get("allowableValues")
    if isinstance(av, Mapping) and av.get("valueType") == "LIST":
        return tuple(str(v) for v in av.get("values", ()))
    return None


@cache
def load_spec(spec_dir: Path | None = None) -> AriSpec:
    directory = spec_dir or default_spec_dir()
    ops: list[Operation] = []
    models: dict[str, Model] = {}
    for resource in RESOURCES:
        doc = json.loads((directory / f"{resource}.json").read_text(encoding="utf-8"))
        for api in doc.get("apis", ()):
            for raw in api.get("operations", ()):
                params = {
                    p["name"]: Param(
                        name=p["name"],
                        param_type=p.get("paramType", "query"),
                        data_type=p.get("dataType", "string"),
                        required=bool(p.get("required", False)),
                        allow_multiple=bool(p.get("allowMultiple", False)),
                        allowed_values=_allowed(p),
                    )
                    for p in raw.get("parameters", ())
                }
                errors = tuple(
                    ErrorResponse(int(e["code"]), str(e.get("reason", "")))
                    for e in raw.get("errorResponses", ())
                )
                ops.append(
                    Operation(
                        method=raw["httpMethod"],
                        path=api["path"],
                        nickname=raw["nickname"],
                        resource=resource,
                        params=params,
                        errors=errors,
                        response_class=raw.get("responseClass", "void"),
                        pattern=_compile(api["path"]),
                    )
                )
        for name, raw_model in doc.get("models", {}).items():
            models[name] = Model(
                id=name,
                properties=raw_model.get("properties", {}),
                sub_types=tuple(raw_model.get("subTypes", ())),
            )
    return AriSpec(operations=tuple(ops), models=models)
