"""The engine's view of calls against a reconnect's `Snapshot` (`compare`), and a
`CallRouter` taught the calls of live channels (`seed_router`): used by the tests only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ari_app.ari.models import Channel
from ari_app.ari.reconcile import Snapshot
from tests.ari_support.callkey import CallRouter


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


def channel_var(channel: Channel | None, name: str) -> str | None:
    """A channelvar from a snapshot (ari.conf `channelvars`); '' counts as unset."""
    if channel is None:
        return None
    value = channel.get("channelvars", {}).get(name)
    return value or None
