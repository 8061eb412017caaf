"""On every (re)connect: what Asterisk holds in the app against what the flow believes.

Legs the flow knows that vanished are gone; a known agent leg that answered while the
event socket was down is answered now; everything of the app the flow does not know is
handed to adoption (a restart's calls, callers who arrived during the gap), which hangs up
only what it cannot attribute."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ari_app.callflow.adoption import CallFacts
from ari_app.callflow.desk import Desk
from ari_app.callflow.flow import Flow


def reconcile(
    desk: Desk,
    flow: Flow,
    channels: Iterable[Mapping[str, Any]],
    bridges: Iterable[Mapping[str, Any] | str],
    now: float,
    *,
    recordings: Iterable[str] = (),
    facts: Mapping[str, CallFacts] | None = None,
) -> None:
    """`bridges`: the app's bridges (with their `channels`), or just their ids;
    `recordings`: names of the recordings still running; `facts`: the records of calls
    that were live (a restart's adoption reads arrival and answer times from them)."""
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
    _missed_answers(desk, flow, live, now)
    ours = [ch for ch in live.values() if _ours(desk.app, ch)]
    flow.adoption.adopt(
        ours,
        [b if isinstance(b, Mapping) else {"id": b} for b in bridges],
        recordings,
        facts or {},
        now,
    )


def _missed_answers(
    desk: Desk, flow: Flow, live: Mapping[str, Mapping[str, Any]], now: float
) -> None:
    """An agent who answered during the gap: the answer event was lost, the state is not."""
    for call in list(desk.calls.values()):
        offer = call.offer
        if offer is not None and live.get(offer.channel_id, {}).get("state") == "Up":
            desk.count("answers_recovered")
            flow.answering.agent_answered(call, offer.channel_id, now)


def _ours(app: str, ch: Mapping[str, Any]) -> bool:
    dialplan = ch.get("dialplan") or {}
    data = str(dialplan.get("app_data") or "")
    return dialplan.get("app_name") == "Stasis" and data.split(",")[0] == app
