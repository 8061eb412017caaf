"""ARI REST requests -> Pbx calls, routed and validated by Asterisk's own Swagger spec.

Unknown paths answer 404 like Asterisk, missing required parameters and values outside a
parameter's allowed list answer 400; parameters may come in the query string or as a JSON
body object (ARI accepts both).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ari_app.ari.spec import AriSpec, Operation
from pbxsim.core import AriError
from pbxsim.pbx import Pbx

# Asterisk's own wording where the resource handler checks a missing parameter itself.
MISSING_MESSAGES = {
    "endpoint": "Endpoint must be specified",
    "variable": "Variable name is required",
    "app": "Application name is required",
    "name": "Recording name is required",
}


@dataclass
class RestResult:
    status: int
    body: Any = None  # JSON-able, or None for 204
    file: Path | None = None


class Params:
    """One request's parameters, merged from query string and JSON body."""

    def __init__(self, op: Operation, path_vars: Mapping[str, str],
                 query: Mapping[str, str], body: Any) -> None:
        self.op = op
        self.path = dict(path_vars)
        self.values: dict[str, Any] = dict(query)
        self.body_vars: dict[str, str] = {}
        self.body = body  # as sent (a body parameter such as eventFilter's `filter`)
        if isinstance(body, dict):
            for key, value in body.items():
                if key == "variables" and isinstance(value, dict):
                    self.body_vars = {str(k): _text(v) for k, v in value.items()}
                elif key in op.params and key not in self.values:
                    self.values[key] = value
        elif body is not None:
            raise AriError(400, "Request body must be a JSON object")
        self._validate()

    def _validate(self) -> None:
        for p in self.op.params.values():
            if p.param_type == "path":
                continue
            if p.param_type == "body":
                if p.required and not self.body_vars:
                    raise AriError(400, f"Missing parameter {p.name}")
                continue
            raw = self.values.get(p.name)
            if raw is None or raw == "":
                if p.required:
                    raise AriError(400, MISSING_MESSAGES.get(p.name, f"Missing parameter {p.name}"))
                continue
            if p.data_type in ("int", "long"):
                try:
                    int(str(raw))
                except ValueError as exc:
                    raise AriError(400, f"Invalid value for {p.name}") from exc
            if p.data_type == "boolean" and _text(raw).lower() not in ("true", "false", "1", "0"):
                raise AriError(400, f"Invalid value for {p.name}")
            if p.allowed_values:
                items = self.items(p.name) if p.allow_multiple else [_text(raw)]
                for item in items:
                    if item not in p.allowed_values:
                        raise AriError(400, f"Invalid value for {p.name}: {item}")

    def text(self, name: str, default: str = "") -> str:
        if name in self.path:
            return self.path[name]
        raw = self.values.get(name)
        return default if raw is None else _text(raw)

    def opt(self, name: str) -> str | None:
        value = self.text(name)
        return value or None

    def number(self, name: str, default: int = 0) -> int:
        raw = self.values.get(name)
        return default if raw in (None, "") else int(str(raw))

    def items(self, name: str) -> list[str]:
        raw = self.values.get(name)
        if raw is None:
            return []
        if isinstance(raw, list):
            return [_text(v) for v in raw]
        return [v for v in _text(raw).split(",") if v]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


Handler = Callable[[Pbx, Params], RestResult]


def _ok(body: Any = None, status: int = 200) -> RestResult:
    return RestResult(status, body)


def _none(_: Any = None) -> RestResult:
    return RestResult(204)


def _originate(pbx: Pbx, p: Params) -> RestResult:
    return _ok(pbx.originate(
        endpoint=p.text("endpoint"), app=p.opt("app"), app_args=p.text("appArgs"),
        channel_id=p.opt("channelId"), timeout=p.number("timeout", 30),
        originator=p.opt("originator"), caller_id=p.opt("callerId"),
        variables=p.body_vars, extension=p.opt("extension"),
    ))


def _create(pbx: Pbx, p: Params) -> RestResult:
    return _ok(pbx.create(
        endpoint=p.text("endpoint"), app=p.text("app"), app_args=p.text("appArgs"),
        channel_id=p.opt("channelId"), originator=p.opt("originator"), variables=p.body_vars,
    ))


def _channel_get(pbx: Pbx, p: Params) -> RestResult:
    return _ok(pbx.snap(pbx.channel(p.text("channelId"))))


def _play(kind: str) -> Handler:
    def handler(pbx: Pbx, p: Params) -> RestResult:
        target = p.text("channelId" if kind == "channel" else "bridgeId")
        return _ok(pbx.play(kind, target, p.items("media"), p.text("lang"), p.opt("playbackId")),
                   201)
    return handler


def _record(kind: str) -> Handler:
    def handler(pbx: Pbx, p: Params) -> RestResult:
        target = p.text("channelId" if kind == "channel" else "bridgeId")
        return _ok(pbx.record(kind, target, name=p.text("name"), fmt=p.text("format"),
                              max_duration=p.number("maxDurationSeconds"),
                              if_exists=p.text("ifExists", "fail")), 201)
    return handler


def _snoop(pbx: Pbx, p: Params) -> RestResult:
    return _ok(pbx.snoop(p.text("channelId"), app=p.text("app"), app_args=p.text("appArgs"),
                         spy=p.text("spy", "none"), whisper=p.text("whisper", "none"),
                         snoop_id=p.opt("snoopId")))


def _touch(pbx: Pbx, p: Params) -> RestResult:
    pbx.touch(p.text("channelId"))
    return RestResult(204)


def _transfer_progress(pbx: Pbx, p: Params) -> RestResult:
    allowed = {"channel_progress", "channel_answered", "channel_unavailable", "channel_declined"}
    if p.text("states") not in allowed:
        raise AriError(400, "Invalid state")
    pbx.transfer_progress(p.text("channelId"), p.text("states"))
    return RestResult(204)


def _redirect(pbx: Pbx, p: Params) -> RestResult:
    ch = pbx.stasis_channel(p.text("channelId"))
    endpoint = p.text("endpoint")
    if "/" not in endpoint:
        raise AriError(400, "Endpoint parameter is not valid")
    pbx.hangup(ch.id, "normal", None)
    return RestResult(204)


def _bridge_create(pbx: Pbx, p: Params) -> RestResult:
    app = next(iter(pbx.apps), None)
    return _ok(pbx.create_bridge(p.text("type"), p.opt("bridgeId"), p.text("name"), app))


def _stored_file(pbx: Pbx, p: Params) -> RestResult:
    _, path = pbx.stored_recording(p.text("recordingName"))
    return RestResult(200, None, path)


def _info(pbx: Pbx, p: Params) -> RestResult:
    from ari_app.domain.timestamps import format_ari_timestamp

    info = {
        "build": {"os": "Linux", "kernel": "6.1", "machine": "x86_64", "options": "",
                  "date": "2026-11-01 00:00:00 UTC", "user": "pbxsim"},
        "system": {"version": "22.10.1", "entity_id": pbx.config.asterisk_id},
        "config": {"name": "pbxsim", "default_language": "en",
                   "setid": {"user": "asterisk", "group": "asterisk"}},
        "status": {"startup_time": format_ari_timestamp(pbx.started),
                   "last_reload_time": format_ari_timestamp(pbx.started)},
    }
    only = p.items("only")
    return _ok({k: v for k, v in info.items() if not only or k in only})


def _ping(pbx: Pbx, p: Params) -> RestResult:
    from ari_app.domain.timestamps import format_ari_timestamp

    return _ok({"asterisk_id": pbx.config.asterisk_id, "ping": "pong",
                "timestamp": format_ari_timestamp(pbx.wall())})


def _global_get(pbx: Pbx, p: Params) -> RestResult:
    name = p.text("variable")
    if name not in pbx.global_vars:
        raise AriError(404, "Provided variable was not found")
    return _ok({"value": pbx.global_vars[name]})


def _global_set(pbx: Pbx, p: Params) -> RestResult:
    pbx.global_vars[p.text("variable")] = p.text("value")
    return RestResult(204)


def _endpoints_by_tech(pbx: Pbx, p: Params) -> RestResult:
    found = [e for e in pbx.endpoint_list() if e["technology"] == p.text("tech")]
    if not found:
        raise AriError(404, "Endpoint not found")
    return _ok(found)


def _do(fn: Callable[[Pbx, Params], object]) -> Handler:
    def handler(pbx: Pbx, p: Params) -> RestResult:
        fn(pbx, p)
        return RestResult(204)
    return handler


HANDLERS: dict[tuple[str, str], Handler] = {
    ("channels", "list"): lambda pbx, p: _ok(pbx.visible_channels()),
    ("channels", "originate"): _originate,
    ("channels", "originateWithId"): lambda pbx, p: _originate(pbx, _with_id(p, "channelId")),
    ("channels", "create"): _create,
    ("channels", "get"): _channel_get,
    ("channels", "hangup"): _do(lambda pbx, p: pbx.hangup(
        p.text("channelId"), p.opt("reason"), p.opt("reason_code"))),
    ("channels", "answer"): _do(lambda pbx, p: pbx.answer(p.text("channelId"))),
    ("channels", "ring"): _do(lambda pbx, p: pbx.ring(p.text("channelId"))),
    ("channels", "ringStop"): _do(lambda pbx, p: pbx.ring(p.text("channelId"))),
    ("channels", "progress"): _do(lambda pbx, p: pbx.ring(p.text("channelId"))),
    ("channels", "dial"): _do(lambda pbx, p: pbx.dial(
        p.text("channelId"), p.opt("caller"), p.number("timeout"))),
    ("channels", "hold"): _do(lambda pbx, p: pbx.hold(p.text("channelId"), True)),
    ("channels", "unhold"): _do(lambda pbx, p: pbx.hold(p.text("channelId"), False)),
    ("channels", "startMoh"): _touch,
    ("channels", "stopMoh"): _touch,
    ("channels", "startSilence"): _touch,
    ("channels", "stopSilence"): _touch,
    ("channels", "mute"): _touch,
    ("channels", "unmute"): _touch,
    ("channels", "sendDTMF"): _touch,
    ("channels", "play"): _play("channel"),
    ("channels", "playWithId"): _play("channel"),
    ("channels", "record"): _record("channel"),
    ("channels", "getChannelVar"): lambda pbx, p: _ok(
        pbx.get_variable(p.text("channelId"), p.text("variable"))),
    ("channels", "setChannelVar"): _do(lambda pbx, p: pbx.set_variable(
        p.text("channelId"), p.text("variable"), p.text("value"))),
    ("channels", "snoopChannel"): _snoop,
    ("channels", "snoopChannelWithId"): _snoop,
    ("channels", "move"): _do(lambda pbx, p: pbx.move(
        p.text("channelId"), p.text("app"), p.text("appArgs"))),
    ("channels", "continueInDialplan"): _do(lambda pbx, p: pbx.continue_in_dialplan(
        p.text("channelId"), p.opt("extension"))),
    ("channels", "redirect"): _redirect,
    ("channels", "transfer_progress"): _transfer_progress,
    ("bridges", "list"): lambda pbx, p: _ok([pbx.bsnap(b) for b in pbx.bridges.values()]),
    ("bridges", "create"): _bridge_create,
    ("bridges", "createWithId"): _bridge_create,
    ("bridges", "get"): lambda pbx, p: _ok(pbx.bsnap(pbx.bridge(p.text("bridgeId")))),
    ("bridges", "destroy"): _do(lambda pbx, p: pbx.destroy_bridge(p.text("bridgeId"))),
    ("bridges", "addChannel"): _do(lambda pbx, p: pbx.add_channels(
        p.text("bridgeId"), p.items("channel"))),
    ("bridges", "removeChannel"): _do(lambda pbx, p: pbx.remove_channels(
        p.text("bridgeId"), p.items("channel"))),
    ("bridges", "startMoh"): _do(lambda pbx, p: pbx.bridge(p.text("bridgeId"))),
    ("bridges", "stopMoh"): _do(lambda pbx, p: pbx.bridge(p.text("bridgeId"))),
    ("bridges", "play"): _play("bridge"),
    ("bridges", "playWithId"): _play("bridge"),
    ("bridges", "record"): _record("bridge"),
    ("playbacks", "get"): lambda pbx, p: _ok(pbx.get_playback(p.text("playbackId"))),
    ("playbacks", "stop"): _do(lambda pbx, p: pbx.stop_playback(p.text("playbackId"))),
    ("playbacks", "control"): _do(lambda pbx, p: pbx.get_playback(p.text("playbackId"))),
    ("recordings", "listStored"): lambda pbx, p: _ok(pbx.stored_recordings()),
    ("recordings", "getStored"): lambda pbx, p: _ok(
        pbx.stored_recording(p.text("recordingName"))[0]),
    ("recordings", "deleteStored"): _do(lambda pbx, p: pbx.delete_stored(p.text("recordingName"))),
    ("recordings", "getStoredFile"): _stored_file,
    ("recordings", "copyStored"): lambda pbx, p: _ok(pbx.copy_stored(
        p.text("recordingName"), p.text("destinationRecordingName"))),
    ("recordings", "getLive"): lambda pbx, p: _ok(_live(pbx, p.text("recordingName"))),
    ("recordings", "stop"): _do(lambda pbx, p: pbx.stop_recording(p.text("recordingName"))),
    ("recordings", "cancel"): _do(lambda pbx, p: pbx.stop_recording(
        p.text("recordingName"), discard=True)),
    ("recordings", "pause"): _do(lambda pbx, p: pbx.pause_recording(p.text("recordingName"), True)),
    ("recordings", "unpause"): _do(lambda pbx, p: pbx.pause_recording(
        p.text("recordingName"), False)),
    ("recordings", "mute"): _do(lambda pbx, p: pbx.live_recording(p.text("recordingName"))),
    ("recordings", "unmute"): _do(lambda pbx, p: pbx.live_recording(p.text("recordingName"))),
    ("endpoints", "list"): lambda pbx, p: _ok(pbx.endpoint_list()),
    ("endpoints", "listByTech"): _endpoints_by_tech,
    ("endpoints", "get"): lambda pbx, p: _ok(pbx.endpoint_json(p.text("tech"), p.text("resource"))),
    ("applications", "list"): lambda pbx, p: _ok([pbx.application(a) for a in sorted(pbx.apps)]),
    ("applications", "get"): lambda pbx, p: _ok(pbx.application(p.text("applicationName"))),
    ("applications", "filter"): lambda pbx, p: _ok(
        pbx.set_event_filter(p.text("applicationName"), p.body)),
    ("asterisk", "getInfo"): _info,
    ("asterisk", "ping"): _ping,
    ("asterisk", "getGlobalVar"): _global_get,
    ("asterisk", "setGlobalVar"): _global_set,
}


def _live(pbx: Pbx, name: str) -> Any:
    from pbxsim.model import recording_snapshot

    return recording_snapshot(pbx.live_recording(name))


def _with_id(p: Params, key: str) -> Params:
    p.values[key] = p.path[key]
    return p


def handle(spec: AriSpec, pbx: Pbx, method: str, path: str, query: Mapping[str, str],
           body: Any) -> RestResult:
    """Serve one ARI request (path without the /ari prefix); never raises AriError."""
    found = spec.find(method, path)
    if found is None:
        if any(op.match(path) is not None for op in spec.operations):
            return RestResult(405, {"message": "Invalid method"})
        return RestResult(404, {"message": "Resource not found"})
    op, path_vars = found
    handler = HANDLERS.get((op.resource, op.nickname))
    if handler is None:
        return RestResult(501, {"message": "Not implemented in pbxsim"})
    try:
        return handler(pbx, Params(op, path_vars, query, body))
    except AriError as exc:
        return RestResult(exc.status, exc.body)
