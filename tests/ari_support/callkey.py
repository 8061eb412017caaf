"""Which call an ARI event belongs to: a small state machine fed by the events themselves.

Order of evidence: the channel's `HOTLINE_CALL_ID` channelvar; then what was learned or
registered for its channel / bridge / playback / recording id; then derived links (a snoop
channel belongs to the call of the channel it spies on, `Snoop/<id>-n`; the halves of a
Local channel `Local/x@ctx-n;1|;2` share a call, and a `replace_channel` passes its call to
the channel replacing it); else the channel's (or bridge's, target's) own id.

Events can arrive before the REST response that caused them, so the engine registers the
ids it chooses (channelId, snoopId, bridgeId, playbackId, recording name) *before* the
request. Entries are dropped on ChannelDestroyed / BridgeDestroyed / PlaybackFinished /
RecordingFinished|Failed; channels that left Stasis without a ChannelDestroyed reaching us
(the traces show it) are dropped oldest-first past `linger_limit`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ari_app.ari.events import Event
from ari_app.domain.variables import CALL_ID

CallKeyFn = Callable[[Event], str]
"""Maps an event to the key of the call it belongs to (events of one key run in order)."""

NO_CALL = ""
"""Key of events about no call (endpoints, device states, ApplicationReplaced, ...)."""

CALL_ID_VAR = CALL_ID


def local_base(name: str) -> str | None:
    """`Local/1002@agents-00000003;2` -> `Local/1002@agents-00000003`."""
    if name.startswith("Local/") and len(name) > 2 and name[-2] == ";":
        return name[:-2]
    return None


def snooped_channel_id(name: str) -> str | None:
    """`Snoop/agent-1001-1795389344.28-00000001` -> `agent-1001-1795389344.28`."""
    if name.startswith("Snoop/"):
        head, sep, _ = name[6:].rpartition("-")
        return head if sep else None
    return None


def target_of(uri: Any) -> tuple[str, str] | None:
    """`channel:ID` / `bridge:ID` (playback and recording target_uri) -> (kind, id)."""
    if isinstance(uri, str):
        kind, sep, ident = uri.partition(":")
        if sep and ident:
            return kind, ident
    return None


class CallRouter:
    """Learns id -> call key links; `key_for(event)` is the default CallKeyFn."""

    def __init__(self, call_var: str = CALL_ID_VAR, linger_limit: int = 10_000) -> None:
        self.call_var = call_var
        self.linger_limit = linger_limit
        self.channels: dict[str, str] = {}
        self.bridges: dict[str, str] = {}
        self.playbacks: dict[str, str] = {}
        self.recordings: dict[str, str] = {}
        self.locals: dict[str, str] = {}
        self._ended: dict[str, None] = {}

    # -- registration (before the request that creates the resource) ---------------------

    def register_channel(self, channel_id: str, call_key: str) -> None:
        """channelId of originate/create, or snoopId of a snoop."""
        self.channels[channel_id] = call_key

    def register_bridge(self, bridge_id: str, call_key: str) -> None:
        self.bridges[bridge_id] = call_key

    def register_playback(self, playback_id: str, call_key: str) -> None:
        self.playbacks[playback_id] = call_key

    def register_recording(self, name: str, call_key: str) -> None:
        self.recordings[name] = call_key

    def forget_call(self, call_key: str) -> int:
        """Drop every link to `call_key` (the engine calls it when the call is over)."""
        dropped = 0
        for table in (self.channels, self.bridges, self.playbacks, self.recordings, self.locals):
            stale = [k for k, v in table.items() if v == call_key]
            for k in stale:
                del table[k]
                self._ended.pop(k, None)
            dropped += len(stale)
        return dropped

    def __len__(self) -> int:
        return (len(self.channels) + len(self.bridges) + len(self.playbacks)
                + len(self.recordings) + len(self.locals))

    # -- routing -----------------------------------------------------------------------

    def _channel_key(self, channel: Any) -> str | None:
        """Call of a channel snapshot from evidence only (no fallback); learns links."""
        if type(channel) is not dict:
            return None
        cid = channel.get("id")
        vars_ = channel.get("channelvars")
        if vars_:
            var = vars_.get(self.call_var)
            if var:
                tagged = str(var)
                if cid is not None and self.channels.get(cid) != tagged:
                    self.channels[cid] = tagged
                return tagged
        key: str | None
        if cid is not None:
            key = self.channels.get(cid)
            if key is not None:
                return key
        name = channel.get("name")
        if not name or name[0] not in "LS":
            return None
        base = local_base(name)
        if base is not None:
            key = self.locals.get(base)
        else:
            spied = snooped_channel_id(name)
            key = self.channels.get(spied) if spied is not None else None
        if key is not None and cid is not None:
            self.channels[cid] = key
        return key

    def _learn_local(self, channel: Any, key: str) -> None:
        if type(channel) is dict:
            name = channel.get("name")
            if name and name[0] == "L":
                base = local_base(name)
                if base is not None:
                    self.locals[base] = key
            cid = channel.get("id")
            if cid is not None:
                self.channels[cid] = key

    def _target_key(self, uri: Any) -> tuple[str | None, str | None]:
        target = target_of(uri)
        if target is None:
            return None, None
        kind, ident = target
        if kind == "channel":
            return self.channels.get(ident), ident
        if kind == "bridge":
            return self.bridges.get(ident), ident
        return None, ident

    def key_for(self, event: Event) -> str:
        etype = event["type"]
        channel = event.get("channel")
        if channel is None:
            channel = event.get("peer")  # Dial
        if channel is not None:
            key = self._channel_key(channel)
            if key is None:
                replaced = event.get("replace_channel")
                key = self._channel_key(replaced) if replaced is not None else None
            bridge = event.get("bridge")
            bid = bridge.get("id") if type(bridge) is dict else None
            if key is None and bid is not None:
                key = self.bridges.get(bid)
            if key is None:
                cid = channel.get("id") if type(channel) is dict else None
                return str(cid) if cid else NO_CALL
            self._learn_local(channel, key)
            if bid is not None and bid not in self.bridges:
                self.bridges[bid] = key
            if etype == "ChannelDestroyed":
                self._forget_channel(channel)
            elif etype == "StasisEnd":
                self._linger(channel)
            return key
        bridge = event.get("bridge")
        if type(bridge) is dict:
            return self._bridge_event_key(etype, bridge)
        playback = event.get("playback")
        if type(playback) is dict:
            pid = playback.get("id")
            key = self.playbacks.get(pid) if pid is not None else None
            if key is None:
                key, ident = self._target_key(playback.get("target_uri"))
                if key is None:
                    return ident or str(pid or NO_CALL)
                if pid is not None and etype != "PlaybackFinished":
                    self.playbacks[pid] = key
            if etype == "PlaybackFinished" and pid is not None:
                self.playbacks.pop(pid, None)
            return key
        recording = event.get("recording")
        if type(recording) is dict:
            name = recording.get("name")
            key = self.recordings.get(name) if name is not None else None
            if key is None:
                key, ident = self._target_key(recording.get("target_uri"))
                if key is None:
                    return ident or str(name or NO_CALL)
            if etype in ("RecordingFinished", "RecordingFailed"):
                if name is not None:
                    self.recordings.pop(name, None)
            elif name is not None:
                self.recordings[name] = key
            return key
        if etype == "ChannelTransfer":
            referred = event.get("referred_by")
            if type(referred) is dict:
                source = referred.get("source_channel")
                key = self._channel_key(source)
                if key is None and type(source) is dict:
                    return str(source.get("id") or NO_CALL)
                return key or NO_CALL
        if etype == "BridgeAttendedTransfer":
            key = self._channel_key(event.get("transferer_first_leg"))
            return key or NO_CALL
        return NO_CALL

    def _bridge_event_key(self, etype: str, bridge: dict[str, Any]) -> str:
        bid = bridge.get("id")
        key = self.bridges.get(bid) if bid is not None else None
        if key is None:
            for cid in bridge.get("channels") or ():
                key = self.channels.get(cid)
                if key is not None:
                    break
        if etype == "BridgeDestroyed" and bid is not None:
            self.bridges.pop(bid, None)
        if key is None:
            return str(bid or NO_CALL)
        return key

    def _forget_channel(self, channel: Any) -> None:
        if type(channel) is not dict:
            return
        cid = channel.get("id")
        if cid is not None:
            self.channels.pop(cid, None)
            self._ended.pop(cid, None)
        name = channel.get("name")
        if name:
            base = local_base(name)
            if base is not None:
                self.locals.pop(base, None)

    def _linger(self, channel: Any) -> None:
        """Keep routing a channel that left Stasis, but only for the newest few thousand."""
        if type(channel) is not dict:
            return
        cid = channel.get("id")
        if cid is None:
            return
        self._ended[cid] = None
        while len(self._ended) > self.linger_limit:
            oldest = next(iter(self._ended))
            del self._ended[oldest]
            self.channels.pop(oldest, None)
