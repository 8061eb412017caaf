"""A thin asyncio layer over Asterisk's REST Interface (ARI): what the engine uses.

`AriClient` (REST requests and the event WebSocket), `SupervisedConnection` (reconnect,
heartbeat, reconcile snapshot), the typed errors and event parsing; see docs/ari-client.md.
"""

from ari_app.ari.client import AriClient, EventSocket
from ari_app.ari.connection import (
    Backoff,
    ConnectionState,
    ConnectionStats,
    SupervisedConnection,
)
from ari_app.ari.errors import (
    AriBadRequest,
    AriConflict,
    AriConnectionError,
    AriError,
    AriHttpError,
    AriNotFound,
    AriNotInStasis,
    AriPreconditionFailed,
    AriRequestInfo,
    AriServerError,
)
from ari_app.ari.events import Event, EventParser, FrameError, parse_frame
from ari_app.ari.reconcile import Snapshot

__all__ = [
    "AriBadRequest",
    "AriClient",
    "AriConflict",
    "AriConnectionError",
    "AriError",
    "AriHttpError",
    "AriNotFound",
    "AriNotInStasis",
    "AriPreconditionFailed",
    "AriRequestInfo",
    "AriServerError",
    "Backoff",
    "ConnectionState",
    "ConnectionStats",
    "Event",
    "EventParser",
    "EventSocket",
    "FrameError",
    "Snapshot",
    "SupervisedConnection",
    "parse_frame",
]
