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

SURVEY = "HOTLINE_SURVEY"
"""set on the caller's channel when the post-call survey starts: the agent it is credited to
(in `channelvars`, so an engine adopting the call after a restart knows the talk was over)"""

CHANNEL_VARS: tuple[str, ...] = (ROLE, CALL_ID, QUEUE, AGENT_ID, SURVEY)
"""What `ari.conf`'s `channelvars` must list: the KPI fold needs the first four on every
event; adoption needs the fifth."""

SURVEY_QUESTION = "HOTLINE_SURVEY_QUESTION"
"""set before each survey question: `<n>/<of>/<keys>`, e.g. `1/2/12345` (the fold reads the
digits that follow as that question's answer)"""
SURVEY_RESULT = "HOTLINE_SURVEY_RESULT"
"""set when the survey ends with the caller still on the line: its outcome"""
CALLBACK = "HOTLINE_CALLBACK"
"""set on a callback's legs: the callback's id (its record keeps the first arrival)"""
