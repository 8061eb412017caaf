"""After a reconnect: what Asterisk holds in the app against what the flow believes.
Legs that vanished are gone; callers still waiting for an agent are taken in again; any
other channel of this app that no call owns is hung up, and stray call bridges destroyed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ari_app.callflow.desk import Desk
from ari_app.callflow.flow import Flow
from ari_app.domain.commands import QUEUE, ROLE, DestroyBridge, Hangup


def reconcile(
    desk: Desk,
    flow: Flow,
    channels: Iterable[Mapping[str, Any]],
    bridge_ids: Iterable[str],
    now: float,
) -> None:
    live: dict[str, Mapping[str, Any]] = {}
    for ch in channels:
        if isinstance(ch, Mapping) and isinstance(ch.get("id"), str):
            live[ch["id"]] = ch
    for channel_id in [c for c in desk.channels() if c not in live]:
        flow.ending.leg_gone(channel_id, {}, now)
    for channel_id in [c for c in flow.monitoring.channels if c not in live]:
        flow.monitoring.leg_gone(channel_id, now)
    for channel_id in [c for c in flow.features.channels if c not in live]:
        flow.features.gone(channel_id, now)
    for channel_id, ch in live.items():
        if (
            desk.owns(channel_id)
            or channel_id in flow.monitoring.channels
            or channel_id in flow.features.channels
        ):
            continue
        if not _ours(desk.app, ch):
            continue
        cvars = ch.get("channelvars") or {}
        if ch.get("state") != "Up" and cvars.get(ROLE, "") in ("", "caller"):
            desk.count("adopted")
            queue = cvars.get(QUEUE) or ""
            flow.arrival.new_call(ch, [queue] if queue else [], now)
        else:
            desk.count("orphans_hung_up")
            desk.emit(Hangup(channel_id))
    for bridge_id in bridge_ids:
        if not desk.owns_bridge(bridge_id) and bridge_id.startswith("br-"):
            desk.count("orphan_bridges")
            desk.emit(DestroyBridge(bridge_id))
    flow.offering.dispatch(now)


def _ours(app: str, ch: Mapping[str, Any]) -> bool:
    dialplan = ch.get("dialplan") or {}
    data = str(dialplan.get("app_data") or "")
    return dialplan.get("app_name") == "Stasis" and data.split(",")[0] == app
