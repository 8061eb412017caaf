"""What Asterisk holds right now, fetched on every (re)connect so the engine can catch up
on what happened while its event socket was down (events in the gap are lost for good).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast
from urllib.parse import quote

from ari_app.ari.client import AriClient
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


async def fetch_snapshot(client: AriClient, connection: int = 1) -> Snapshot:
    application = await client.request("GET", f"/applications/{quote(client.app, safe='')}")
    channels = await client.request("GET", "/channels")
    bridges = await client.request("GET", "/bridges")
    return Snapshot(
        cast(Application, application), cast(list[Channel], list(channels)),
        cast(list[Bridge], list(bridges)), connection,
    )
