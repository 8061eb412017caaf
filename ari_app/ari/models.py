"""Shapes of ARI resources as Asterisk sends them (spec models), typed for the engine.

They are TypedDicts over the plain dicts orjson produces: typing at no runtime cost.
Required/optional keys mirror the packaged ARI spec, `ari_app/ari/api_docs` (a test checks it).
"""


from typing import Any, NotRequired, TypedDict


class CallerID(TypedDict):
    name: str
    number: str


class DialplanCEP(TypedDict):
    context: str
    exten: str
    priority: int
    app_name: str
    app_data: str


class Channel(TypedDict):
    id: str
    protocol_id: str
    name: str
    state: str
    caller: CallerID
    connected: CallerID
    accountcode: str
    dialplan: DialplanCEP
    creationtime: str
    language: str
    channelvars: NotRequired[dict[str, str]]
    caller_rdnis: NotRequired[str]
    tenantid: NotRequired[str]


class Bridge(TypedDict):
    id: str
    technology: str
    bridge_type: str
    bridge_class: str
    creator: str
    name: str
    channels: list[str]
    creationtime: str
    video_mode: NotRequired[str]
    video_source_id: NotRequired[str]
    bridgevars: NotRequired[dict[str, str]]


class Playback(TypedDict):
    id: str
    media_uri: str
    target_uri: str
    state: str
    next_media_uri: NotRequired[str]
    language: NotRequired[str]


class LiveRecording(TypedDict):
    name: str
    format: str
    target_uri: str
    state: str
    duration: NotRequired[int]
    talking_duration: NotRequired[int]
    silence_duration: NotRequired[int]
    cause: NotRequired[str]


class StoredRecording(TypedDict):
    name: str
    format: str


class Endpoint(TypedDict):
    technology: str
    resource: str
    channel_ids: list[str]
    state: NotRequired[str]


class Application(TypedDict):
    name: str
    channel_ids: list[str]
    bridge_ids: list[str]
    endpoint_ids: list[str]
    device_names: list[str]
    events_allowed: list[dict[str, Any]]
    events_disallowed: list[dict[str, Any]]


class Variable(TypedDict):
    value: str


class AsteriskInfo(TypedDict, total=False):
    build: dict[str, Any]
    system: dict[str, Any]
    config: dict[str, Any]
    status: dict[str, Any]
