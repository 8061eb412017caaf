"""A thin, typed asyncio layer over Asterisk's REST Interface (ARI).

Public names are re-exported here; see docs/ari-client.md.
"""

from ari_app.ari.callkey import NO_CALL, CallKeyFn, CallRouter
from ari_app.ari.client import AriClient, EventSocket
from ari_app.ari.connection import (
    Backoff,
    ConnectionState,
    ConnectionStats,
    SupervisedConnection,
)
from ari_app.ari.dispatcher import Dispatcher, DispatchStats, Handler
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
from ari_app.ari.reconcile import ReconcileReport, Snapshot, compare, seed_router

__all__ = [
    "NO_CALL",
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
    "CallKeyFn",
    "CallRouter",
    "ConnectionState",
    "ConnectionStats",
    "DispatchStats",
    "Dispatcher",
    "Event",
    "EventParser",
    "EventSocket",
    "FrameError",
    "Handler",
    "ReconcileReport",
    "Snapshot",
    "SupervisedConnection",
    "compare",
    "parse_frame",
    "seed_router",
]
