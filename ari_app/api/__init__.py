"""The role-checked HTTP API of the engine (FastAPI, served in the engine's loop)."""

from ari_app.api.app import create_api
from ari_app.api.audit import AuditSink
from ari_app.api.control import (
    Conflict,
    ControlError,
    EngineControl,
    Forbidden,
    InvalidState,
    NotFound,
)
from ari_app.api.server import ApiServer, serve_api

__all__ = [
    "ApiServer",
    "AuditSink",
    "Conflict",
    "ControlError",
    "EngineControl",
    "Forbidden",
    "InvalidState",
    "NotFound",
    "create_api",
    "serve_api",
]
