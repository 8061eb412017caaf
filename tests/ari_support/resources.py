"""Typed ARI operations, one class per spec resource (channels, bridges, ...).

Each method is one Swagger operation: the path template and the camelCase parameter
names are the spec's own (a test calls every method and checks what it sent against
`load_spec()`). Python keyword arguments are snake_case; None means "not sent".
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, cast
from urllib.parse import quote

from ari_app.ari.models import (
    Application,
    AsteriskInfo,
    Bridge,
    Channel,
    Endpoint,
    LiveRecording,
    Playback,
    StoredRecording,
    Variable,
)

HangupReason = Literal[
    "normal", "busy", "congestion", "no_answer", "timeout", "rejected", "unallocated",
    "normal_unspecified", "number_incomplete", "codec_mismatch", "interworking", "failure",
    "answered_elsewhere",
]
SnoopDirection = Literal["none", "both", "out", "in"]
MuteDirection = Literal["both", "in", "out"]
IfExists = Literal["fail", "overwrite", "append"]
TerminateOn = Literal["none", "any", "*", "#"]
PlaybackOperation = Literal["restart", "pause", "unpause", "reverse", "forward"]
InfoSection = Literal["build", "system", "config", "status"]
BridgeType = Literal[
    "mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label",
]
"""Bridge type attributes; the spec lists them in the `type` description (comma-joined)."""

ChannelVariables = Mapping[str, str | Mapping[str, Any]]
"""`{"NAME": "value"}` or `{"NAME": {"value": ..., "report_events": true}}`."""


class Requester(Protocol):
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any: ...

    async def request_bytes(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None
    ) -> bytes: ...


def seg(value: str) -> str:
    """One path segment, percent-encoded (ids may hold any character)."""
    return quote(value, safe="")


def query(**params: Any) -> dict[str, Any]:
    """Drop unset (None) parameters; the client serialises the rest."""
    return {k: v for k, v in params.items() if v is not None}


def _variables_body(variables: ChannelVariables | None) -> dict[str, Any] | None:
    return None if variables is None else {"variables": dict(variables)}


class _Resource:
    def __init__(self, requester: Requester) -> None:
        self._r = requester


class Channels(_Resource):
    async def list(self) -> builtins.list[Channel]:
        return cast(builtins.list[Channel], await self._r.request("GET", "/channels"))

    async def get(self, channel_id: str) -> Channel:
        return cast(Channel, await self._r.request("GET", f"/channels/{seg(channel_id)}"))

    async def originate(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: str | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        caller_id: str | None = None,
        timeout: int | None = None,  # noqa: ASYNC109 - Asterisk's ring timeout (s)
        extension: str | None = None,
        context: str | None = None,
        priority: int | None = None,
        label: str | None = None,
        formats: str | None = None,
        variables: ChannelVariables | None = None,
    ) -> Channel:
        """Create and dial a channel (POST /channels); events may precede the response."""
        params = query(
            endpoint=endpoint, app=app, appArgs=app_args, channelId=channel_id,
            otherChannelId=other_channel_id, originator=originator, callerId=caller_id,
            timeout=timeout, extension=extension, context=context, priority=priority,
            label=label, formats=formats,
        )
        return cast(Channel, await self._r.request(
            "POST", "/channels", params=params, body=_variables_body(variables)))

    async def create(
        self,
        endpoint: str,
        app: str,
        *,
        app_args: str | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        formats: str | None = None,
        variables: ChannelVariables | None = None,
    ) -> Channel:
        """Create a channel in Stasis without dialling it; `dial()` it next."""
        params = query(
            endpoint=endpoint, app=app, appArgs=app_args, channelId=channel_id,
            otherChannelId=other_channel_id, originator=originator, formats=formats,
        )
        return cast(Channel, await self._r.request(
            "POST", "/channels/create", params=params, body=_variables_body(variables)))

    async def dial(
        self,
        channel_id: str,
        *,
        caller: str | None = None,
        timeout: int | None = None,  # noqa: ASYNC109 - Asterisk's ring timeout (s)
    ) -> None:
        await self._r.request(
            "POST", f"/channels/{seg(channel_id)}/dial",
            params=query(caller=caller, timeout=timeout))

    async def hangup(
        self,
        channel_id: str,
        *,
        reason: HangupReason | None = None,
        reason_code: str | None = None,
    ) -> None:
        await self._r.request(
            "DELETE", f"/channels/{seg(channel_id)}",
            params=query(reason=reason, reason_code=reason_code))

    async def answer(self, channel_id: str) -> None:
        await self._r.request("POST", f"/channels/{seg(channel_id)}/answer")

    async def ring(self, channel_id: str) -> None:
        await self._r.request("POST", f"/channels/{seg(channel_id)}/ring")

    async def ring_stop(self, channel_id: str) -> None:
        await self._r.request("DELETE", f"/channels/{seg(channel_id)}/ring")

    async def progress(self, channel_id: str) -> None:
        await self._r.request("POST", f"/channels/{seg(channel_id)}/progress")

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
    ) -> Playback:
        """Play media URIs in order (`sound:...`, `digits:...`); give `playback_id` to route
        the Playback events before the response arrives."""
        params = query(media=media, playbackId=playback_id, lang=lang, offsetms=offsetms,
                       skipms=skipms)
        return cast(Playback, await self._r.request(
            "POST", f"/channels/{seg(channel_id)}/play", params=params))

    async def record(
        self,
        channel_id: str,
        name: str,
        format: str,
        *,
        max_duration_seconds: int | None = None,
        max_silence_seconds: int | None = None,
        if_exists: IfExists | None = None,
        beep: bool | None = None,
        terminate_on: TerminateOn | None = None,
    ) -> LiveRecording:
        params = query(
            name=name, format=format, maxDurationSeconds=max_duration_seconds,
            maxSilenceSeconds=max_silence_seconds, ifExists=if_exists, beep=beep,
            terminateOn=terminate_on,
        )
        return cast(LiveRecording, await self._r.request(
            "POST", f"/channels/{seg(channel_id)}/record", params=params))

    async def snoop(
        self,
        channel_id: str,
        app: str,
        *,
        spy: SnoopDirection | None = None,
        whisper: SnoopDirection | None = None,
        app_args: str | None = None,
        snoop_id: str | None = None,
    ) -> Channel:
        """Snoop channel on `channel_id` (its name is `Snoop/<channel_id>-...`)."""
        params = query(app=app, spy=spy, whisper=whisper, appArgs=app_args, snoopId=snoop_id)
        return cast(Channel, await self._r.request(
            "POST", f"/channels/{seg(channel_id)}/snoop", params=params))

    async def hold(self, channel_id: str) -> None:
        await self._r.request("POST", f"/channels/{seg(channel_id)}/hold")

    async def unhold(self, channel_id: str) -> None:
        await self._r.request("DELETE", f"/channels/{seg(channel_id)}/hold")

    async def start_moh(self, channel_id: str, *, moh_class: str | None = None) -> None:
        await self._r.request(
            "POST", f"/channels/{seg(channel_id)}/moh", params=query(mohClass=moh_class))

    async def stop_moh(self, channel_id: str) -> None:
        await self._r.request("DELETE", f"/channels/{seg(channel_id)}/moh")

    async def start_silence(self, channel_id: str) -> None:
        await self._r.request("POST", f"/channels/{seg(channel_id)}/silence")

    async def stop_silence(self, channel_id: str) -> None:
        await self._r.request("DELETE", f"/channels/{seg(channel_id)}/silence")

    async def mute(self, channel_id: str, *, direction: MuteDirection | None = None) -> None:
        await self._r.request(
            "POST", f"/channels/{seg(channel_id)}/mute", params=query(direction=direction))

    async def unmute(self, channel_id: str, *, direction: MuteDirection | None = None) -> None:
        await self._r.request(
            "DELETE", f"/channels/{seg(channel_id)}/mute", params=query(direction=direction))

    async def get_variable(self, channel_id: str, variable: str) -> str:
        found = cast(Variable, await self._r.request(
            "GET", f"/channels/{seg(channel_id)}/variable", params={"variable": variable}))
        return found["value"]

    async def set_variable(
        self, channel_id: str, variable: str, value: str | None = None
    ) -> None:
        await self._r.request(
            "POST", f"/channels/{seg(channel_id)}/variable",
            params=query(variable=variable, value=value))

    async def redirect(self, channel_id: str, endpoint: str) -> None:
        await self._r.request(
            "POST", f"/channels/{seg(channel_id)}/redirect", params={"endpoint": endpoint})

    async def move(self, channel_id: str, app: str, *, app_args: str | None = None) -> None:
        await self._r.request(
            "POST", f"/channels/{seg(channel_id)}/move",
            params=query(app=app, appArgs=app_args))

    async def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        await self._r.request(
            "POST", f"/channels/{seg(channel_id)}/continue",
            params=query(context=context, extension=extension, priority=priority, label=label))

    async def send_dtmf(
        self,
        channel_id: str,
        dtmf: str,
        *,
        before: int | None = None,
        between: int | None = None,
        duration: int | None = None,
        after: int | None = None,
    ) -> None:
        await self._r.request(
            "POST", f"/channels/{seg(channel_id)}/dtmf",
            params=query(dtmf=dtmf, before=before, between=between, duration=duration,
                         after=after))

    async def transfer_progress(self, channel_id: str, states: str) -> None:
        """Report an ARI-handled transfer's progress (e.g. `channel_progress`)."""
        await self._r.request(
            "POST", f"/channels/{seg(channel_id)}/transfer_progress", params={"states": states})


class Bridges(_Resource):
    async def list(self) -> builtins.list[Bridge]:
        return cast(builtins.list[Bridge], await self._r.request("GET", "/bridges"))

    async def get(self, bridge_id: str) -> Bridge:
        return cast(Bridge, await self._r.request("GET", f"/bridges/{seg(bridge_id)}"))

    async def create(
        self,
        *,
        type: BridgeType | Sequence[BridgeType] | None = None,
        bridge_id: str | None = None,
        name: str | None = None,
    ) -> Bridge:
        """Create a bridge; `type` attributes are comma-joined (`["mixing", "dtmf_events"]`)."""
        return cast(Bridge, await self._r.request(
            "POST", "/bridges", params=query(type=type, bridgeId=bridge_id, name=name)))

    async def destroy(self, bridge_id: str) -> None:
        await self._r.request("DELETE", f"/bridges/{seg(bridge_id)}")

    async def add_channel(
        self,
        bridge_id: str,
        channel: str | Sequence[str],
        *,
        role: str | None = None,
        absorb_dtmf: bool | None = None,
        mute: bool | None = None,
        inhibit_connected_line_updates: bool | None = None,
    ) -> None:
        """Add one or several channels (sent comma-joined, as Asterisk expects)."""
        await self._r.request(
            "POST", f"/bridges/{seg(bridge_id)}/addChannel",
            params=query(channel=channel, role=role, absorbDTMF=absorb_dtmf, mute=mute,
                         inhibitConnectedLineUpdates=inhibit_connected_line_updates))

    async def remove_channel(self, bridge_id: str, channel: str | Sequence[str]) -> None:
        await self._r.request(
            "POST", f"/bridges/{seg(bridge_id)}/removeChannel", params={"channel": channel})

    async def play(
        self,
        bridge_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
        announcer_format: str | None = None,
    ) -> Playback:
        params = query(media=media, playbackId=playback_id, lang=lang, offsetms=offsetms,
                       skipms=skipms, announcer_format=announcer_format)
        return cast(Playback, await self._r.request(
            "POST", f"/bridges/{seg(bridge_id)}/play", params=params))

    async def record(
        self,
        bridge_id: str,
        name: str,
        format: str,
        *,
        max_duration_seconds: int | None = None,
        max_silence_seconds: int | None = None,
        if_exists: IfExists | None = None,
        beep: bool | None = None,
        terminate_on: TerminateOn | None = None,
        recorder_format: str | None = None,
    ) -> LiveRecording:
        params = query(
            name=name, format=format, maxDurationSeconds=max_duration_seconds,
            maxSilenceSeconds=max_silence_seconds, ifExists=if_exists, beep=beep,
            terminateOn=terminate_on, recorder_format=recorder_format,
        )
        return cast(LiveRecording, await self._r.request(
            "POST", f"/bridges/{seg(bridge_id)}/record", params=params))

    async def start_moh(self, bridge_id: str, *, moh_class: str | None = None) -> None:
        await self._r.request(
            "POST", f"/bridges/{seg(bridge_id)}/moh", params=query(mohClass=moh_class))

    async def stop_moh(self, bridge_id: str) -> None:
        await self._r.request("DELETE", f"/bridges/{seg(bridge_id)}/moh")


class Playbacks(_Resource):
    async def get(self, playback_id: str) -> Playback:
        return cast(Playback, await self._r.request("GET", f"/playbacks/{seg(playback_id)}"))

    async def stop(self, playback_id: str) -> None:
        await self._r.request("DELETE", f"/playbacks/{seg(playback_id)}")

    async def control(self, playback_id: str, operation: PlaybackOperation) -> None:
        await self._r.request(
            "POST", f"/playbacks/{seg(playback_id)}/control", params={"operation": operation})


class Recordings(_Resource):
    async def get_live(self, recording_name: str) -> LiveRecording:
        return cast(LiveRecording, await self._r.request(
            "GET", f"/recordings/live/{seg(recording_name)}"))

    async def stop(self, recording_name: str) -> None:
        """Stop and store a live recording."""
        await self._r.request("POST", f"/recordings/live/{seg(recording_name)}/stop")

    async def cancel(self, recording_name: str) -> None:
        """Stop a live recording and discard it."""
        await self._r.request("DELETE", f"/recordings/live/{seg(recording_name)}")

    async def pause(self, recording_name: str) -> None:
        await self._r.request("POST", f"/recordings/live/{seg(recording_name)}/pause")

    async def unpause(self, recording_name: str) -> None:
        await self._r.request("DELETE", f"/recordings/live/{seg(recording_name)}/pause")

    async def mute(self, recording_name: str) -> None:
        await self._r.request("POST", f"/recordings/live/{seg(recording_name)}/mute")

    async def unmute(self, recording_name: str) -> None:
        await self._r.request("DELETE", f"/recordings/live/{seg(recording_name)}/mute")

    async def list_stored(self) -> builtins.list[StoredRecording]:
        found = await self._r.request("GET", "/recordings/stored")
        return cast(builtins.list[StoredRecording], found)

    async def get_stored(self, recording_name: str) -> StoredRecording:
        return cast(StoredRecording, await self._r.request(
            "GET", f"/recordings/stored/{seg(recording_name)}"))

    async def get_stored_file(self, recording_name: str) -> bytes:
        return await self._r.request_bytes(
            "GET", f"/recordings/stored/{seg(recording_name)}/file")

    async def delete_stored(self, recording_name: str) -> None:
        await self._r.request("DELETE", f"/recordings/stored/{seg(recording_name)}")

    async def copy_stored(
        self, recording_name: str, destination_recording_name: str
    ) -> StoredRecording:
        return cast(StoredRecording, await self._r.request(
            "POST", f"/recordings/stored/{seg(recording_name)}/copy",
            params={"destinationRecordingName": destination_recording_name}))


class Endpoints(_Resource):
    async def list(self) -> builtins.list[Endpoint]:
        return cast(builtins.list[Endpoint], await self._r.request("GET", "/endpoints"))

    async def list_by_tech(self, tech: str) -> builtins.list[Endpoint]:
        found = await self._r.request("GET", f"/endpoints/{seg(tech)}")
        return cast(builtins.list[Endpoint], found)

    async def get(self, tech: str, resource: str) -> Endpoint:
        return cast(Endpoint, await self._r.request(
            "GET", f"/endpoints/{seg(tech)}/{seg(resource)}"))


class Applications(_Resource):
    async def list(self) -> builtins.list[Application]:
        return cast(builtins.list[Application], await self._r.request("GET", "/applications"))

    async def get(self, application_name: str) -> Application:
        return cast(Application, await self._r.request(
            "GET", f"/applications/{seg(application_name)}"))

    async def subscribe(
        self, application_name: str, event_source: str | Sequence[str]
    ) -> Application:
        """Subscribe to `channel:ID`, `bridge:ID`, `endpoint:TECH/RES`, `deviceState:NAME`."""
        return cast(Application, await self._r.request(
            "POST", f"/applications/{seg(application_name)}/subscription",
            params={"eventSource": event_source}))

    async def unsubscribe(
        self, application_name: str, event_source: str | Sequence[str]
    ) -> Application:
        return cast(Application, await self._r.request(
            "DELETE", f"/applications/{seg(application_name)}/subscription",
            params={"eventSource": event_source}))


class Asterisk(_Resource):
    async def info(
        self, *, only: InfoSection | Sequence[InfoSection] | None = None
    ) -> AsteriskInfo:
        return cast(AsteriskInfo, await self._r.request(
            "GET", "/asterisk/info", params=query(only=only)))

    async def ping(self) -> dict[str, Any]:
        return cast(dict[str, Any], await self._r.request("GET", "/asterisk/ping"))

    async def get_global_variable(self, variable: str) -> str:
        found = cast(Variable, await self._r.request(
            "GET", "/asterisk/variable", params={"variable": variable}))
        return found["value"]

    async def set_global_variable(self, variable: str, value: str | None = None) -> None:
        await self._r.request(
            "POST", "/asterisk/variable", params=query(variable=variable, value=value))


class TypedAri:
    """The typed resources over one client: `typed(client).channels.originate(...)`."""

    def __init__(self, client: Requester) -> None:
        self.channels = Channels(client)
        self.bridges = Bridges(client)
        self.playbacks = Playbacks(client)
        self.recordings = Recordings(client)
        self.endpoints = Endpoints(client)
        self.applications = Applications(client)
        self.asterisk = Asterisk(client)


def typed(client: Requester) -> TypedAri:
    return TypedAri(client)
