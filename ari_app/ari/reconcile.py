"""What Asterisk holds right now, fetched on every (re)connect so the engine can catch up
on what happened while its event socket was down (events in the gap are lost for good).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ari_app.ari.callkey import CallRouter
from ari_app.ari.client import AriClient
from ari_app.ari.events import channel_var
from ari_app.ari.models import Application, Bridge, Channel


@dataclass(frozen=True)
class Snapshot:
    """GET /applications/{app}, /channels and /bridges, taken after the socket opened."""

    application: Application
    channels: list[Channel]
    bridges: list[Bridge]
    connection: int  # 1 for the first connect, then 2, 3, ... for reconnects

    @property
    def reconnected(self) -> bool:
        return self.connection > 1

    def app_channels(self) -> list[Channel]:
        """Channels currently in our Stasis app (others belong to the dialplan)."""
        ours = set(self.application.get("channel_ids", ()))
        return [c for c in self.channels if c["id"] in ours]

    def app_bridges(self) -> list[Bridge]:
        ours = set(self.application.get("bridge_ids", ()))
        return [b for b in self.bridges if b["id"] in ours or b.get("bridge_class") == "stasis"]


@dataclass(frozen=True)
class ReconcileReport:
    """The engine's view against Asterisk's: what vanished, what it never heard of."""

    gone_channels: frozenset[str]
    new_channels: frozenset[str]
    gone_bridges: frozenset[str]
    new_bridges: frozenset[str]

    @property
    def in_sync(self) -> bool:
        return not (self.gone_channels or self.new_channels or self.gone_bridges
                    or self.new_bridges)


def compare(
    snapshot: Snapshot, known_channels: Iterable[str], known_bridges: Iterable[str]
) -> ReconcileReport:
    """Pure diff of the ids the engine tracks against the snapshot."""
    live_channels = {c["id"] for c in snapshot.channels}
    app_channels = {c["id"] for c in snapshot.app_channels()}
    live_bridges = {b["id"] for b in snapshot.bridges}
    app_bridges = {b["id"] for b in snapshot.app_bridges()}
    kc, kb = set(known_channels), set(known_bridges)
    return ReconcileReport(
        gone_channels=frozenset(kc - live_channels),
        new_channels=frozenset(app_channels - kc),
        gone_bridges=frozenset(kb - live_bridges),
        new_bridges=frozenset(app_bridges - kb),
    )


def seed_router(router: CallRouter, snapshot: Snapshot) -> int:
    """Teach the router the calls of live channels (channelvar) and their bridges."""
    learned = 0
    by_channel: dict[str, str] = {}
    for channel in snapshot.channels:
        key = channel_var(channel, router.call_var) or router.channels.get(channel["id"])
        if key:
            router.register_channel(channel["id"], key)
            by_channel[channel["id"]] = key
            learned += 1
    for bridge in snapshot.bridges:
        if bridge["id"] in router.bridges:
            continue
        for cid in bridge.get("channels", ()):
            if cid in by_channel:
                router.register_bridge(bridge["id"], by_channel[cid])
                learned += 1
                break
    return learned


async def fetch_snapshot(client: AriClient, connection: int = 1) -> Snapshot:
    application = await client.applications.get(client.app)
    channels = await client.channels.list()
    bridges = await client.bridges.list()
    return Snapshot(application, list(channels), list(bridges), connection)
