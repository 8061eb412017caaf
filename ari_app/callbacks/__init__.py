"""Callbacks: in-queue (keep your place) and scheduled (within N working days). The pure
rules (fairness, attempts, dialling windows) live here; the call flow applies them
(ari_app.callflow.callbacks). docs/callbacks.md."""

from ari_app.callbacks.fairness import by_order, dialable
from ari_app.callbacks.model import (
    OPEN_STATES,
    AttemptResult,
    Callback,
    IllegalMove,
    Kind,
    State,
)
from ari_app.callbacks.windows import deadline, next_opening, working_days_taken

__all__ = [
    "OPEN_STATES",
    "AttemptResult",
    "Callback",
    "IllegalMove",
    "Kind",
    "State",
    "by_order",
    "deadline",
    "dialable",
    "next_opening",
    "working_days_taken",
]
