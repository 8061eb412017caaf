"""The `HOTLINE_*` channel variables: the engine tags its channels with them, the dialplan
and FastAGI hooks set or read them, and the KPI fold reads them back from the events.
Defined here only; everything else imports these names."""

from __future__ import annotations

PREFIX = "HOTLINE_"
"""Every variable of ours starts with this (the KPI fold keeps only those)."""

ROLE = "HOTLINE_ROLE"
"""caller, agent, supervisor, snoop, ..."""
CALL_ID = "HOTLINE_CALL_ID"
"""the call a channel belongs to (the caller channel's id)"""
QUEUE = "HOTLINE_QUEUE"
AGENT_ID = "HOTLINE_AGENT_ID"
PRIORITY = "HOTLINE_PRIORITY"
"""set by the FastAGI `route` hook for the dialplan"""
ROUTE = "HOTLINE_ROUTE"
"""set by the FastAGI `route` hook for the dialplan"""

CHANNEL_VARS: tuple[str, ...] = (ROLE, CALL_ID, QUEUE, AGENT_ID)
"""What `ari.conf`'s `channelvars` must list: the KPI fold needs all four on every event."""
