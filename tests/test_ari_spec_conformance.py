"""Every request the typed client can send exists in Asterisk 22's spec, with valid names
and enum values. Each typed method is called with every optional argument set (and every
Literal value in turn) against a recorder; what it would send is checked with load_spec()."""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest

from ari_app.ari import models
from ari_app.ari.client import encode_params
from ari_app.ari.spec import AriSpec, Operation, load_spec
from tests.ari_support.resources import (
    Applications,
    Asterisk,
    Bridges,
    Channels,
    Endpoints,
    Playbacks,
    Recordings,
)

RESOURCE_CLASSES = (Channels, Bridges, Playbacks, Recordings, Endpoints, Applications, Asterisk)


@dataclass
class Sent:
    method: str
    path: str
    params: dict[str, str]
    body: Any


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        self.sent.append(Sent(method, path, encode_params(params), body))
        return {"value": "v"}

    async def request_bytes(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None
    ) -> bytes:
        self.sent.append(Sent(method, path, encode_params(params), None))
        return b""


def samples(hint: Any) -> list[Any]:
    """Candidate argument values for a type hint: all Literal values, both bools, ..."""
    origin = get_origin(hint)
    if origin is Literal:
        return list(get_args(hint))
    if origin in (Union, types.UnionType):
        out: list[Any] = []
        for member in get_args(hint):
            if member is not type(None):
                out.extend(samples(member))
        return out
    if hint is str:
        return ["id.1"]
    if hint is bool:
        return [True, False]
    if hint is int:
        return [7]
    if origin in (Mapping, dict) or hint is Mapping:
        return [{"HOTLINE_CALL_ID": "c1"}]
    if origin in (Sequence, list):
        (item,) = get_args(hint)
        values = samples(item)
        return [values[:2] if len(values) >= 2 else values * 2]
    raise AssertionError(f"no sample for {hint!r}")


def public_methods(cls: type) -> list[tuple[str, Any]]:
    return [
        (name, fn) for name, fn in inspect.getmembers(cls, inspect.iscoroutinefunction)
        if not name.startswith("_")
    ]


async def exercise(cls: type, name: str) -> list[Sent]:
    """Call `cls.name` with every parameter set, then vary each multi-valued one."""
    recorder = Recorder()
    resource = cls(recorder)
    fn = getattr(resource, name)
    hints = get_type_hints(getattr(cls, name), globalns=vars(inspect.getmodule(cls)))
    params = [p for p in inspect.signature(fn).parameters.values()]
    options = {p.name: samples(hints[p.name]) for p in params}
    base = {k: v[0] for k, v in options.items()}
    await fn(**base)
    for key, values in options.items():
        for value in values[1:]:
            await fn(**{**base, key: value})
    return recorder.sent


@pytest.fixture(scope="module")
def spec() -> AriSpec:
    return load_spec()


def bridge_type_attributes(api_docs: Path) -> frozenset[str]:
    doc = json.loads((api_docs / "bridges.json").read_text())
    for api in doc["apis"]:
        if api["path"] == "/bridges":
            for op in api["operations"]:
                for p in op.get("parameters", ()):
                    if p["name"] == "type":
                        inner = re.search(r"\(([^)]*)\)", p["description"])
                        assert inner
                        return frozenset(x.strip() for x in inner.group(1).split(","))
    raise AssertionError("no bridge type parameter in spec")


ALL_METHODS = [(cls, name) for cls in RESOURCE_CLASSES for name, _ in public_methods(cls)]
METHOD_IDS = [f"{c.__name__}.{n}" for c, n in ALL_METHODS]


@pytest.mark.parametrize(("cls", "name"), ALL_METHODS, ids=METHOD_IDS)
async def test_every_request_matches_spec(
    cls: type, name: str, spec: AriSpec, api_docs_dir: Path
) -> None:
    sent = await exercise(cls, name)
    assert sent, f"{cls.__name__}.{name} sent nothing"
    bridge_types = bridge_type_attributes(api_docs_dir)
    for s in sent:
        found = spec.find(s.method, s.path)
        assert found is not None, f"{s.method} {s.path} is not an ARI operation"
        op, path_vars = found
        assert all(v == "id.1" or v for v in path_vars.values())
        query_names = {n for n, p in op.params.items() if p.param_type == "query"}
        unknown = set(s.params) - query_names
        assert not unknown, f"{op.nickname}: {unknown} not in spec params {sorted(query_names)}"
        missing = {n for n in query_names if op.params[n].required} - set(s.params)
        assert not missing, f"{op.nickname}: required {missing} not sent"
        for pname, value in s.params.items():
            param = op.params[pname]
            parts = value.split(",") if param.allow_multiple else [value]
            if param.allowed_values:
                assert set(parts) <= set(param.allowed_values), (op.nickname, pname, value)
            if op.resource == "bridges" and pname == "type":
                assert set(value.split(",")) <= bridge_types
            if param.data_type in ("int", "long"):
                int(value)
            if param.data_type == "boolean":
                assert value in ("true", "false")
        if s.body is not None:
            body_params = {n for n, p in op.params.items() if p.param_type == "body"}
            assert set(s.body) <= body_params, (op.nickname, s.body)


def test_typed_enums_cover_spec_enums(spec: AriSpec) -> None:
    """Each Literal offers exactly the values the spec allows for the parameter it feeds."""
    import asyncio

    seen: dict[tuple[str, str], set[str]] = {}
    ops: dict[tuple[str, str], Operation] = {}
    for cls, name in ALL_METHODS:
        for s in asyncio.run(exercise(cls, name)):
            op, _ = spec.find(s.method, s.path) or (None, None)
            assert op is not None
            for pname, value in s.params.items():
                if op.params[pname].allowed_values:
                    key = (f"{op.resource}.{op.nickname}", pname)
                    ops[key] = op
                    seen.setdefault(key, set()).update(value.split(","))
    assert seen, "no enum parameter exercised"
    for (opname, pname), values in seen.items():
        allowed = ops[(opname, pname)].params[pname].allowed_values
        assert allowed is not None
        assert values == set(allowed), f"{opname} {pname}: ours {values} spec {set(allowed)}"
    # the ones the engine relies on are among them
    for must in [("channels.snoopChannel", "spy"), ("channels.snoopChannel", "whisper"),
                 ("channels.hangup", "reason"), ("playbacks.control", "operation"),
                 ("bridges.record", "ifExists")]:
        assert must in seen


def test_bridge_type_literal_is_spec_list(api_docs_dir: Path) -> None:
    from tests.ari_support.resources import BridgeType

    assert set(get_args(BridgeType)) == bridge_type_attributes(api_docs_dir)


def test_required_operations_are_covered(spec: AriSpec) -> None:
    import asyncio

    hit = set()
    for cls, name in ALL_METHODS:
        for s in asyncio.run(exercise(cls, name)):
            found = spec.find(s.method, s.path)
            assert found
            hit.add(f"{found[0].resource}.{found[0].nickname}")
    wanted = {
        "channels.originate", "channels.create", "channels.dial", "channels.answer",
        "channels.ring", "channels.ringStop", "channels.hangup", "channels.play",
        "channels.record", "channels.snoopChannel", "channels.hold", "channels.unhold",
        "channels.startMoh", "channels.stopMoh", "channels.getChannelVar",
        "channels.setChannelVar", "channels.redirect", "channels.move",
        "channels.continueInDialplan", "channels.sendDTMF", "channels.transfer_progress",
        "channels.list", "channels.get", "bridges.create", "bridges.addChannel",
        "bridges.removeChannel", "bridges.play", "bridges.record", "bridges.destroy",
        "bridges.list", "bridges.get", "bridges.startMoh", "bridges.stopMoh",
        "playbacks.get", "playbacks.stop", "playbacks.control", "recordings.getLive",
        "recordings.stop", "recordings.pause", "recordings.unpause", "recordings.mute",
        "recordings.unmute", "recordings.listStored", "recordings.getStored",
        "recordings.getStoredFile", "recordings.deleteStored", "recordings.copyStored",
        "endpoints.list", "endpoints.get", "applications.get", "applications.subscribe",
        "asterisk.getInfo", "asterisk.getGlobalVar", "asterisk.setGlobalVar",
    }
    assert wanted <= hit, wanted - hit


async def test_trace_requests_are_what_typed_methods_send(traces_dir: Path) -> None:
    """The recorded client's requests, re-issued through typed methods, send the same thing."""
    recorder = Recorder()
    ch, br = Channels(recorder), Bridges(recorder)
    await ch.create("PJSIP/agent1001", "hotline", app_args="agent",
                    channel_id="agent-1001-1795389322.22", originator="1795389322.22",
                    variables={"HOTLINE_AGENT_ID": "1001", "HOTLINE_CALL_ID": "1795389322.22",
                               "HOTLINE_QUEUE": "support", "HOTLINE_ROLE": "agent"})
    await ch.dial("agent-1001-1795389322.22", caller="1795389322.22", timeout=20)
    await ch.play("1795389322.22", ["sound:hello-world", "digits:1001"],
                  playback_id="greet-1795389322.22")
    await br.create(type="mixing", bridge_id="br-1795389322.22", name="hotline-call")
    await br.add_channel("br-1795389322.22", ["1795389322.22", "agent-1001-1795389322.22"])
    await br.record("br-1795389322.22", "call-1795389322.22", "wav", if_exists="overwrite",
                    beep=False)
    probes = [json.loads(line) for line in (traces_dir / "full_call.jsonl").open()]
    probes = [p for p in probes if p.get("probe") == "request"]
    by_path = {(p["method"], p["path"]): p for p in probes}
    for s in recorder.sent:
        p = by_path[(s.method, s.path)]
        assert s.params == {k: str(v) for k, v in p["params"].items()}, s.path
        assert s.body == p["body"]


def test_models_match_spec(spec: AriSpec) -> None:
    for name in ("Channel", "Bridge", "Playback", "LiveRecording", "StoredRecording",
                 "Endpoint", "Application", "Variable", "CallerID", "DialplanCEP"):
        td = getattr(models, name)
        model = spec.models[name]
        assert set(typing.get_type_hints(td)) == set(model.properties), name
        assert td.__required_keys__ == model.required(), name
