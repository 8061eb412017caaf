"""Which events the fold reads, and the cheap test that skips the rest unparsed.

Most of a journal is noise for the KPIs (`BRIDGEPEER`/`RTPAUDIOQOS…` variable sets,
playbacks, bridges, dialplan, connected line). `keep_line` and the `SKIP_KIND` table let
the replay drop those lines before paying for JSON parsing (`kpi.journal.kept_lines` is the
same decision, inlined for batches).
"""

from __future__ import annotations

from ari_app.ari.events import KNOWN_EVENT_TYPES
from ari_app.domain.variables import CHANNEL_VARS

ARI_EVENT_TYPES = KNOWN_EVENT_TYPES  # every event type of Asterisk 22's events.json

# The ARI events the KPIs are computed from; everything else is skipped cheaply.
# ChannelDtmfReceived: the post-call survey's answers (kpi.surveys).
RELEVANT_TYPES = frozenset({
    "StasisStart", "ChannelVarset", "ChannelStateChange", "Dial", "ChannelHangupRequest",
    "ChannelDestroyed", "ChannelHold", "ChannelUnhold", "BridgeBlindTransfer",
    "BridgeAttendedTransfer", "ChannelTransfer", "ChannelDtmfReceived",
})
NOISE_TYPES = ARI_EVENT_TYPES - RELEVANT_TYPES
_NOISE_TYPE_BYTES = frozenset(t.encode() for t in NOISE_TYPES)
# Raw `"type"` value -> True: skip unparsed; False: a ChannelVarset, skipped unless its
# variable is a HOTLINE_* one. One dict probe per line on the replay hot path.
SKIP_KIND: dict[bytes, bool] = {**dict.fromkeys(_NOISE_TYPE_BYTES, True), b"ChannelVarset": False}

# The channel variables the fold reads from snapshots (roles, queue, agent, call; the
# survey's agent): what `ari.conf`'s channelvars lists. Every HOTLINE_* ChannelVarset is
# kept, so the survey's HOTLINE_SURVEY_QUESTION / _RESULT reach the fold as events.
HOTLINE_VARS = CHANNEL_VARS


def _type_at(line: bytes) -> int:
    """Index of the top-level `"type"` key: first in Asterisk's own output, last when keys
    are sorted (as in the recorded traces); both are found without scanning the line."""
    if line.startswith(b'{"type"'):
        return 1
    return line.rfind(b'"type"')


def keep_line(line: bytes) -> bool:
    """Cheap pre-parse filter for journal lines: False only for events the fold ignores.

    Reads the `"type"` value by hand and drops known-irrelevant ARI types, and ChannelVarset
    lines whose variable is not a HOTLINE_* one (BRIDGEPEER, RTPAUDIOQOS… are most of a
    journal). Anything it is unsure about is kept, so the parser and the fold judge it.
    """
    i = _type_at(line)
    if i < 0:
        return True
    j = line.find(b'"', i + 6)
    k = line.find(b'"', j + 1)
    if j < 0 or k < 0:
        return True
    kind = line[j + 1:k]
    if kind == b"ChannelVarset":
        v = line.rfind(b'"variable"')
        return v < 0 or b'"HOTLINE_' in line[v + 10:v + 24]
    return kind not in _NOISE_TYPE_BYTES
