"""A channel the engine creates is usable only once it has entered Stasis.

Asterisk answers `POST /channels/create` (and a snoop) before the new channel enters the
app; a `dial` or `addChannel` sent in between fails with "Channel not in Stasis
application" (409/422). So the engine notes every channel it creates before the request
goes out, and any later request that names that channel waits (bounded) for its
StasisStart. A hang-up never waits: a channel can be hung up whether in Stasis or not. A
channel destroyed before it entered Stasis releases its waiters, whose requests then fail
as for any vanished channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ari_app.domain.commands import AddToBridge, AriCommand, CreateChannel, Hangup, Snoop

RELEASING = frozenset({"StasisStart", "StasisEnd", "ChannelDestroyed"})
"""The event types the gate reads (the engine asks Asterisk for them)."""


def created_channel(command: AriCommand) -> str:
    """The channel a command brings into being ("" for none)."""
    if isinstance(command, CreateChannel):
        return command.channel_id
    if isinstance(command, Snoop):
        return command.snoop_id
    return ""


def named_channels(command: AriCommand) -> tuple[str, ...]:
    """The existing channels a command acts on (a hang-up acts on none that must wait)."""
    if isinstance(command, Hangup | CreateChannel):
        return ()
    if isinstance(command, AddToBridge):
        return command.channel_ids
    channel = getattr(command, "channel_id", None)
    return (channel,) if isinstance(channel, str) else ()


class StasisGate:
    """Created channels not yet in Stasis, and the requests waiting for them."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self._pending: dict[str, asyncio.Event] = {}
        self.waits = 0  # requests that had to wait
        self.timeouts = 0  # ... and gave up

    def before_send(self, command: AriCommand) -> None:
        """Call before sending: a channel it creates is pending from now on."""
        channel_id = created_channel(command)
        if channel_id:
            self._pending.setdefault(channel_id, asyncio.Event())

    def create_failed(self, command: AriCommand) -> None:
        event = self._pending.pop(created_channel(command), None)
        if event is not None:
            event.set()

    def seen(self, event: Mapping[str, Any]) -> None:
        """Every ARI event passes here first: StasisStart (or the channel's end) opens it."""
        if event.get("type") not in RELEASING:
            return
        channel = event.get("channel")
        if isinstance(channel, Mapping):
            waiting = self._pending.pop(str(channel.get("id")), None)
            if waiting is not None:
                waiting.set()

    def pending(self, command: AriCommand) -> list[asyncio.Event]:
        return [self._pending[c] for c in named_channels(command) if c in self._pending]

    async def ready(self, command: AriCommand) -> bool:
        """Wait until every channel the command names is in Stasis; False on timeout."""
        waits = self.pending(command)
        if not waits:
            return True
        self.waits += 1
        try:
            async with asyncio.timeout(self.timeout):
                for event in waits:
                    await event.wait()
        except TimeoutError:
            self.timeouts += 1
            return False
        return True

    def __len__(self) -> int:
        return len(self._pending)
